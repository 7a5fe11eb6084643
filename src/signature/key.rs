//! The public keys and hashes the gate verifies with, and the object identifiers that name them:
//! one place that maps a certificate's key and an algorithm identifier to a check, so the leaf,
//! the chain and the timestamp token are verified alike.

use std::fmt;

use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_SHA_256, ID_SHA_384, ID_SHA_512,
    RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use der::asn1::ObjectIdentifier;
use der::Decode as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use rsa::traits::PublicKeyParts as _;
use sha2::Digest as _;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::digest::HashAlgorithm;

/// The largest RSA modulus read: rsa's own default (4096) would turn away the 8192-bit roots
/// some CAs still use, while a bound keeps a hostile certificate from costing minutes.
const MAX_RSA_BITS: usize = 16_384;

/// What kind of key signs, as the report names it; the gate takes only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA, PKCS#1 v1.5 signatures.
    Rsa {
        /// The modulus's length in bits.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA {bits}"),
            Self::EcP256 => f.write_str("ECDSA P-256"),
            Self::EcP384 => f.write_str("ECDSA P-384"),
        }
    }
}

/// A key read from a certificate, ready to verify.
#[derive(Debug, Clone)]
pub(super) enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

/// Why a `SubjectPublicKeyInfo` cannot be used: said as what it is, for the caller's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnsupportedKey(pub String);

/// The two signature families; a signature algorithm must match the key it is checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Rsa,
    Ecdsa,
}

/// Why a signature did not verify; the callers say over what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rejected {
    /// Not a DER `ECDSA-Sig-Value` for the key's curve.
    MalformedEcdsa,
    /// Not as long as the RSA modulus.
    RsaLength { expected: usize },
    /// Well formed, but made by another key or over other bytes.
    Mismatch,
}

impl PublicKey {
    /// Reads RSA and EC P-256/P-384 keys; anything else is named for the error.
    pub(super) fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, UnsupportedKey> {
        let bits = spki.subject_public_key.as_bytes().ok_or_else(|| UnsupportedKey("malformed".into()))?;
        match spki.algorithm.oid {
            RSA_ENCRYPTION => rsa_key(bits).map(Self::Rsa),
            ID_EC_PUBLIC_KEY => {
                let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match curve {
                    Some(SECP_256_R_1) => p256::ecdsa::VerifyingKey::from_sec1_bytes(bits).map(Self::P256),
                    Some(SECP_384_R_1) => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits).map(Self::P384),
                    Some(other) => return Err(UnsupportedKey(format!("EC key on curve {other}"))),
                    None => return Err(UnsupportedKey("EC key without a named curve".into())),
                }
                .map_err(|_| UnsupportedKey("malformed EC".into()))
            }
            other => Err(UnsupportedKey(format!("{other} (neither RSA nor EC)"))),
        }
    }

    pub(super) fn kind(&self) -> KeyKind {
        match self {
            Self::Rsa(key) => KeyKind::Rsa { bits: key.n().bits() },
            Self::P256(_) => KeyKind::EcP256,
            Self::P384(_) => KeyKind::EcP384,
        }
    }

    pub(super) fn family(&self) -> Family {
        match self {
            Self::Rsa(_) => Family::Rsa,
            Self::P256(_) | Self::P384(_) => Family::Ecdsa,
        }
    }

    /// Verifies `signature` over a digest already made: RSA PKCS#1 v1.5 over the DigestInfo of
    /// `algorithm`, or a DER `ECDSA-Sig-Value` over `digest` as the prehash (truncated or padded
    /// to the curve as ECDSA does, so P-256 with SHA-512 verifies as OpenSSL signs it).
    pub(super) fn verify_digest(
        &self,
        algorithm: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), Rejected> {
        match self {
            Self::Rsa(key) => {
                if signature.len() != key.size() {
                    return Err(Rejected::RsaLength { expected: key.size() });
                }
                let scheme = match algorithm {
                    HashAlgorithm::Sha256 => rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
                    HashAlgorithm::Sha384 => rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha384>(),
                    HashAlgorithm::Sha512 => rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha512>(),
                };
                key.verify(scheme, digest, signature).map_err(|_| Rejected::Mismatch)
            }
            Self::P256(key) => {
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| Rejected::MalformedEcdsa)?;
                key.verify_prehash(digest, &sig).map_err(|_| Rejected::Mismatch)
            }
            Self::P384(key) => {
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| Rejected::MalformedEcdsa)?;
                key.verify_prehash(digest, &sig).map_err(|_| Rejected::Mismatch)
            }
        }
    }
}

/// An `RSAPublicKey` (PKCS#1) from the `SubjectPublicKeyInfo`'s bit string, within [`MAX_RSA_BITS`].
fn rsa_key(bits: &[u8]) -> Result<rsa::RsaPublicKey, UnsupportedKey> {
    let malformed = |_| UnsupportedKey("malformed RSA".into());
    let parsed = rsa::pkcs1::RsaPublicKey::from_der(bits).map_err(malformed)?;
    let n = rsa::BigUint::from_bytes_be(parsed.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(parsed.public_exponent.as_bytes());
    rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS).map_err(|e| UnsupportedKey(format!("RSA ({e})")))
}

/// The digest of `data` with `algorithm`.
pub(super) fn hash(algorithm: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

/// id-sha256/384/512 (RFC 5754), as CMS and RFC 3161 name a digest.
pub(super) fn digest_oid(algorithm: HashAlgorithm) -> ObjectIdentifier {
    match algorithm {
        HashAlgorithm::Sha256 => ID_SHA_256,
        HashAlgorithm::Sha384 => ID_SHA_384,
        HashAlgorithm::Sha512 => ID_SHA_512,
    }
}

/// The algorithm a digest OID names, if it is one of ours.
pub(super) fn digest_of_oid(oid: ObjectIdentifier) -> Option<HashAlgorithm> {
    [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512].into_iter().find(|&a| digest_oid(a) == oid)
}

/// ecdsa-with-SHA256/384/512 (RFC 5758): the ECDSA signature algorithm for a digest.
pub(super) fn ecdsa_oid(algorithm: HashAlgorithm) -> ObjectIdentifier {
    match algorithm {
        HashAlgorithm::Sha256 => ECDSA_WITH_SHA_256,
        HashAlgorithm::Sha384 => ECDSA_WITH_SHA_384,
        HashAlgorithm::Sha512 => ECDSA_WITH_SHA_512,
    }
}

/// The hash and key family a signature algorithm names (shaNWithRSAEncryption,
/// ecdsa-with-SHAN); `None` for others (PSS, SHA-1, MD5), which the gate does not verify.
pub(super) fn signature_algorithm(oid: ObjectIdentifier) -> Option<(HashAlgorithm, Family)> {
    let all = [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];
    let rsa = |a| match a {
        HashAlgorithm::Sha256 => SHA_256_WITH_RSA_ENCRYPTION,
        HashAlgorithm::Sha384 => SHA_384_WITH_RSA_ENCRYPTION,
        HashAlgorithm::Sha512 => SHA_512_WITH_RSA_ENCRYPTION,
    };
    all.into_iter().find_map(|a| {
        if rsa(a) == oid {
            Some((a, Family::Rsa))
        } else if ecdsa_oid(a) == oid {
            Some((a, Family::Ecdsa))
        } else {
            None
        }
    })
}
