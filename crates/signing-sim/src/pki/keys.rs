//! The private keys behind AppViewX signing keys, and the signatures they make over a submitted
//! DigestInfo: RSA PKCS#1 v1.5 whose padded block holds exactly that DigestInfo, or ECDSA P-256
//! over the digest inside it, DER-encoded.
//!
//! The built-in keys are the public test keys in the crate's `keys/` folder (never to be trusted:
//! anyone with the source has them). They are parsed once per process and shared, because parsing
//! an RSA-3072 key is not free and tests start many simulators.

use std::sync::{Arc, OnceLock};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, SigningKey as EcdsaKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};

use crate::config::KeyAlgorithm;

/// PUBLIC TEST KEYS (see `keys/README.md`): compiled in so that no RSA key is generated at start.
const RSA_3072_PEM: &str = include_str!("../../keys/rsa-3072.pem");
const ECDSA_P256_PEM: &str = include_str!("../../keys/ecdsa-p256.pem");
/// Assigned to no signing key: what the `wrong-key` fault signs with.
const RSA_3072_STRANGER_PEM: &str = include_str!("../../keys/rsa-3072-stranger.pem");
const ECDSA_P256_STRANGER_PEM: &str = include_str!("../../keys/ecdsa-p256-stranger.pem");

/// A signing key's private key. Cheap to clone (RSA keys are shared).
#[derive(Clone)]
pub(crate) enum PrivateKey {
    Rsa(Arc<RsaPrivateKey>),
    Ecdsa(EcdsaKey),
}

/// Never prints key material.
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.algorithm() {
            Ok(alg) => write!(f, "PrivateKey({})", alg.name()),
            Err(_) => f.write_str("PrivateKey(rsa)"),
        }
    }
}

/// The public half as a certificate carries it: the `subjectPublicKey` bits (an `RSAPublicKey`,
/// or an uncompressed EC point) and whether it is RSA (else ECDSA P-256).
pub(crate) struct PublicKeyBits {
    pub bits: Vec<u8>,
    pub rsa: bool,
}

impl PrivateKey {
    /// The algorithm, from the key itself; RSA moduli other than 2048, 3072 and 4096 bits are
    /// refused.
    pub fn algorithm(&self) -> Result<KeyAlgorithm, String> {
        match self {
            PrivateKey::Ecdsa(_) => Ok(KeyAlgorithm::EcdsaP256),
            PrivateKey::Rsa(key) => match key.size() * 8 {
                2048 => Ok(KeyAlgorithm::Rsa2048),
                3072 => Ok(KeyAlgorithm::Rsa3072),
                4096 => Ok(KeyAlgorithm::Rsa4096),
                bits => Err(format!("an RSA key of {bits} bits is not supported (2048, 3072 or 4096)")),
            },
        }
    }

    /// The raw signature over a DigestInfo whose digest starts at `digest_at`: RSA signs the
    /// whole DigestInfo as the PKCS#1 v1.5 block's content (what `openssl dgst -sign` produces
    /// for a file with that digest); ECDSA signs the digest as a prehash (a digest longer than
    /// 32 bytes is truncated to its leftmost 32, as ECDSA prescribes and OpenSSL does) and
    /// answers the DER `ECDSA-Sig-Value`.
    pub fn sign(&self, digest_info: &[u8], digest_at: usize) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::Rsa(key) => {
                key.sign(Pkcs1v15Sign::new_unprefixed(), digest_info).map_err(|e| format!("RSA signing failed: {e}"))
            }
            PrivateKey::Ecdsa(key) => {
                let digest = digest_info.get(digest_at..).unwrap_or_default();
                let signature: DerSignature =
                    key.sign_prehash(digest).map_err(|e| format!("ECDSA signing failed: {e}"))?;
                Ok(signature.as_bytes().to_vec())
            }
        }
    }

    pub fn public_key_bits(&self) -> Result<PublicKeyBits, String> {
        match self {
            PrivateKey::Rsa(key) => {
                let der = key.to_public_key().to_pkcs1_der().map_err(|e| format!("RSA public key: {e}"))?;
                Ok(PublicKeyBits { bits: der.as_bytes().to_vec(), rsa: true })
            }
            PrivateKey::Ecdsa(key) => {
                Ok(PublicKeyBits { bits: key.verifying_key().to_encoded_point(false).as_bytes().to_vec(), rsa: false })
            }
        }
    }
}

/// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`, RSA or P-256), PKCS#1 (`RSA PRIVATE KEY`) or
/// SEC1 (`EC PRIVATE KEY`). Text before the first `-----BEGIN` (a comment) is ignored.
pub(crate) fn from_pem(text: &str) -> Result<PrivateKey, String> {
    let pem = text.find("-----BEGIN").map_or(text, |at| &text[at..]);
    let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(pem).map(|k| PrivateKey::Rsa(Arc::new(k))).map_err(|e| e.to_string())?
    } else if pem.starts_with("-----BEGIN EC PRIVATE KEY-----") {
        let secret = p256::SecretKey::from_sec1_pem(pem).map_err(|e| format!("not a P-256 key: {e}"))?;
        PrivateKey::Ecdsa(EcdsaKey::from(secret))
    } else if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        match RsaPrivateKey::from_pkcs8_pem(pem) {
            Ok(k) => PrivateKey::Rsa(Arc::new(k)),
            Err(rsa_error) => EcdsaKey::from_pkcs8_pem(pem)
                .map(PrivateKey::Ecdsa)
                .map_err(|ec_error| format!("neither RSA ({rsa_error}) nor P-256 ({ec_error})"))?,
        }
    } else {
        return Err("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block found".to_string());
    };
    key.algorithm()?;
    Ok(key)
}

/// The built-in test key of an algorithm, `None` when none ships for it.
pub(crate) fn builtin(algorithm: KeyAlgorithm) -> Option<PrivateKey> {
    static RSA: OnceLock<PrivateKey> = OnceLock::new();
    static ECDSA: OnceLock<PrivateKey> = OnceLock::new();
    match algorithm {
        KeyAlgorithm::Rsa3072 => Some(RSA.get_or_init(|| shipped(RSA_3072_PEM)).clone()),
        KeyAlgorithm::EcdsaP256 => Some(ECDSA.get_or_init(|| shipped(ECDSA_P256_PEM)).clone()),
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa4096 => None,
    }
}

/// The key of no signing key, of the same family (RSA or ECDSA) as `algorithm`: a signature it
/// makes is "another key's signature".
pub(crate) fn stranger(algorithm: KeyAlgorithm) -> PrivateKey {
    static RSA: OnceLock<PrivateKey> = OnceLock::new();
    static ECDSA: OnceLock<PrivateKey> = OnceLock::new();
    if algorithm.rsa_bits().is_some() {
        RSA.get_or_init(|| shipped(RSA_3072_STRANGER_PEM)).clone()
    } else {
        ECDSA.get_or_init(|| shipped(ECDSA_P256_STRANGER_PEM)).clone()
    }
}

/// A key compiled into the crate; the unit tests below parse every one, so this cannot fail in
/// a build whose tests pass.
fn shipped(pem: &str) -> PrivateKey {
    from_pem(pem).unwrap_or_else(|e| panic!("a built-in test key of signing-sim does not parse: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_keys_parse_and_have_their_algorithms() {
        for alg in [KeyAlgorithm::Rsa3072, KeyAlgorithm::EcdsaP256] {
            let key = builtin(alg).expect("built in");
            assert_eq!(key.algorithm(), Ok(alg));
            assert_eq!(stranger(alg).algorithm(), Ok(alg));
            assert_ne!(
                key.public_key_bits().expect("public").bits,
                stranger(alg).public_key_bits().expect("public").bits,
                "the stranger is another key"
            );
        }
        assert!(builtin(KeyAlgorithm::Rsa2048).is_none());
    }

    #[test]
    fn signatures_are_deterministic_and_sized() {
        let mut digest_info = vec![
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ];
        digest_info.extend([7u8; 32]);
        let rsa = builtin(KeyAlgorithm::Rsa3072).expect("rsa");
        let a = rsa.sign(&digest_info, 19).expect("signed");
        assert_eq!(a.len(), 384);
        assert_eq!(a, rsa.sign(&digest_info, 19).expect("signed"));
        let ec = builtin(KeyAlgorithm::EcdsaP256).expect("ec");
        let b = ec.sign(&digest_info, 19).expect("signed");
        assert_eq!(b.first(), Some(&0x30), "DER SEQUENCE");
        assert_eq!(b, ec.sign(&digest_info, 19).expect("signed"), "RFC 6979");
    }

    #[test]
    fn pem_forms_and_refusals() {
        assert!(from_pem("nothing here").is_err());
        assert!(from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
        assert!(format!("{:?}", builtin(KeyAlgorithm::Rsa3072).expect("rsa")).contains("rsa-3072"));
    }
}
