//! The AppViewX signing keys: which private key stands behind each `signingKey` a policy maps,
//! and where its certificate comes from; and the demo's two keys.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One signing key, named as policies name it in `keys` (and a client in `signingKey`). A key a
/// policy maps without an entry here is an RSA-3072 key backed by the built-in test key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvxKey {
    /// What `signingKey` must equal (compared exactly); the CN of the issued certificate.
    pub name: String,
    /// The key's algorithm. Absent: read from `key_pem_path`, else `rsa-3072`. With a key file,
    /// the file's key must be of this algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<KeyAlgorithm>,
    /// A PEM private key (PKCS#8, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`) to sign
    /// with. Absent: the built-in public test key of the algorithm (`keys/` in the crate), which
    /// every key of that algorithm without a file shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pem_path: Option<PathBuf>,
    /// A PEM certificate chain for that key, leaf first, served instead of a certificate the
    /// simulator's CA issues. Its leaf must carry the key's public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_chain_pem_path: Option<PathBuf>,
}

/// The algorithms a signing key can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus (needs `key_pem_path`: no built-in key).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA with a 3072-bit modulus, the default.
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// RSA with a 4096-bit modulus (needs `key_pem_path`: no built-in key).
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// ECDSA on NIST P-256 (secp256r1).
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

impl KeyAlgorithm {
    /// The name used in TOML and in `/__sim/certificates`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa3072 => "rsa-3072",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
        }
    }

    /// The RSA modulus size in bits, `None` for ECDSA.
    #[must_use]
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyAlgorithm::Rsa2048 => Some(2048),
            KeyAlgorithm::Rsa3072 => Some(3072),
            KeyAlgorithm::Rsa4096 => Some(4096),
            KeyAlgorithm::EcdsaP256 => None,
        }
    }

    /// Whether the simulator ships a built-in test key of this algorithm.
    #[must_use]
    pub fn has_builtin_key(self) -> bool {
        matches!(self, KeyAlgorithm::Rsa3072 | KeyAlgorithm::EcdsaP256)
    }
}

impl AvxKey {
    /// A key of this name and algorithm backed by the built-in test key.
    pub fn builtin(name: impl Into<String>, algorithm: KeyAlgorithm) -> Self {
        AvxKey { name: name.into(), algorithm: Some(algorithm), key_pem_path: None, cert_chain_pem_path: None }
    }
}

/// The demo's keys: `sample-key` (RSA-3072) and `sample-ec-key` (ECDSA P-256).
pub(super) fn demo_keys() -> Vec<AvxKey> {
    vec![
        AvxKey::builtin("sample-key", KeyAlgorithm::Rsa3072),
        AvxKey::builtin("sample-ec-key", KeyAlgorithm::EcdsaP256),
    ]
}

pub(super) fn default_certificate_validity_days() -> u32 {
    365
}
