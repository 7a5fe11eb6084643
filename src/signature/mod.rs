//! Signatures as the gate hands them out: the signing certificate and its chain, checked before
//! anything is signed; AppViewX's raw signature, verified before it is believed; a detached CMS
//! signature around it for the artifact; and an RFC 3161 timestamp over that signature.
//!
//! Pure: bytes in, bytes out. Fetching the chain, asking AppViewX and posting to the TSA are
//! the stages' work; what the vendors and the TSA answer is untrusted input here, so every
//! problem is a typed error and nothing panics on it.

mod cert;
mod detached;
mod input;
mod key;
mod timestamp;
mod token;
mod tst_info;
mod verify;

#[cfg(test)]
mod tests_support;

pub use cert::{CertificateError, SigningCertificate};
pub use detached::{detached_cms, CmsError};
pub use key::KeyKind;
pub use timestamp::{check_timestamp_response, timestamp_request, Timestamp, TimestampError, TimestampRequest};
pub use verify::{verify, VerifyError};
