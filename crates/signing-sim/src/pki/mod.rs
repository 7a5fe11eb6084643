//! Real keys behind the AppViewX signing keys: the private keys that sign, the simulator's
//! code-signing CA and the certificates it issues, and the `/__sim/` routes that hand them out.
//!
//! This file only names the parts and re-exports what the rest of the crate uses, so that the
//! parts import each other (`super::keys::PrivateKey`) without a cycle through it:
//! - `keys`: private keys (built-in test keys, PEM files) and their signatures
//! - `certs` (on `keys`): the CA and the leaf certificates
//! - `inventory` (on `keys`, `certs`): every signing key of an instance, ready to sign
//! - `route` (on `inventory`): `GET /__sim/certificates` and `GET /__sim/ca.pem`

mod certs;
mod inventory;
mod keys;
mod route;

pub(crate) use inventory::{KeyEntry, Pki};
pub(crate) use keys::stranger;
pub(crate) use route::{ca as ca_route, certificates as certificates_route};
