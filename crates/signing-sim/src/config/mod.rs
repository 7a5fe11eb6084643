//! What the simulated servers know: accounts, environments, policies, faults and TLS.
//!
//! Everything is plain data so a user can describe a setup in TOML and a test can build one in
//! Rust; `Default` is the demo setup the gate's `demo` command and its tests rely on.
//!
//! This file only names the parts and re-exports their types, so that the parts can import each
//! other (`super::tpp::TppConfig`) without an import cycle through it:
//! - `sim`: the whole setup (`SimConfig`, `ApprovalMode`) and reading it from TOML
//! - `tpp`, `avx`, `keys`, `oidc`, `tls`: each side's types and its part of the demo setup (`avx` on
//!   `keys`, the signing keys)
//! - `validate`: the load-time checks; `describe`: the human summary

mod avx;
mod describe;
mod keys;
mod oidc;
mod sim;
mod tls;
mod tpp;
mod validate;

pub use avx::{AvxConfig, AvxPolicy, AvxUser, SignOutcome};
pub use keys::{AvxKey, KeyAlgorithm};
pub use oidc::{OidcConfig, GITHUB_OIDC_ISSUER};
pub use sim::{ApprovalMode, SimConfig};
pub use tls::TlsConfig;
pub use tpp::{JwtMapping, KeyUser, TppClient, TppConfig, TppEnvironment, TppUser, DEMO_ENVIRONMENT_DN};
