//! The check of AppViewX's answer: a raw signature that must verify with the leaf's key over
//! the digest the gate sent, before it is wrapped, timestamped or reported as signed.

use crate::digest::HashAlgorithm;

use super::cert::SigningCertificate;
use super::key::{KeyKind, Rejected};

/// Why a raw signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The digest given is not as long as the algorithm makes: a mix-up of algorithms.
    #[error("the digest is {found} bytes, but {algorithm} makes {expected}: the digest and hash-algorithm disagree")]
    DigestLength {
        /// The algorithm's name.
        algorithm: &'static str,
        /// Its digest's length.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// An RSA signature of another length than the key's modulus.
    #[error("the signature is {found} bytes, but {key} signatures are {expected}: truncated, or from another key")]
    RsaLength {
        /// The leaf's key.
        key: KeyKind,
        /// The modulus's length in bytes.
        expected: usize,
        /// The signature's length.
        found: usize,
    },
    /// Not a DER `ECDSA-Sig-Value`.
    #[error("the signature is not a DER ECDSA signature for {key}: truncated, or not an ECDSA signature")]
    MalformedEcdsa {
        /// The leaf's key.
        key: KeyKind,
    },
    /// Well formed, but not by this key over this digest.
    #[error("the signature does not verify with '{subject}' over this digest: another key signed, or another digest")]
    Mismatch {
        /// The leaf's subject.
        subject: String,
    },
}

/// Verifies `signature`, raw as AppViewX returns it (RSA PKCS#1 v1.5 over the DigestInfo, or a
/// DER `ECDSA-Sig-Value` over the digest as prehash), by the leaf's key over `digest`, the bare
/// digest computed with `algorithm`. Only the key is used: whether the certificate may sign is
/// [`SigningCertificate::check`]'s.
pub fn verify(
    cert: &SigningCertificate,
    algorithm: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    if digest.len() != algorithm.digest_len() {
        return Err(VerifyError::DigestLength {
            algorithm: algorithm.name(),
            expected: algorithm.digest_len(),
            found: digest.len(),
        });
    }
    cert.key.verify_digest(algorithm, digest, signature).map_err(|rejected| match rejected {
        Rejected::RsaLength { expected } => {
            VerifyError::RsaLength { key: cert.key(), expected, found: signature.len() }
        }
        Rejected::MalformedEcdsa => VerifyError::MalformedEcdsa { key: cert.key() },
        Rejected::Mismatch => VerifyError::Mismatch { subject: cert.subject() },
    })
}

#[cfg(test)]
mod tests {
    use super::super::key::hash;
    use super::super::tests_support::{Alg, Pki};
    use super::*;

    const ALGORITHMS: [HashAlgorithm; 3] = [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512];

    /// Two self-signed code signing certificates of one kind, and a file to sign.
    fn fixture(alg: Alg) -> (Pki, SigningCertificate) {
        let pki = Pki::new();
        pki.self_signed("leaf", alg, "/CN=Leaf", "leaf_ext", 30);
        pki.key("other", alg);
        pki.write("artifact.bin", b"the artifact's bytes\n");
        let cert = SigningCertificate::parse(&pki.read("leaf.pem")).unwrap();
        (pki, cert)
    }

    fn accepts_openssl_signatures_and_nothing_else(alg: Alg) {
        let (pki, cert) = fixture(alg);
        let content = pki.read("artifact.bin");
        for algorithm in ALGORITHMS {
            let digest = hash(algorithm, &content);
            let signature = pki.sign("leaf", algorithm.name(), "artifact.bin");
            verify(&cert, algorithm, &digest, &signature).unwrap();

            let by_other = pki.sign("other", algorithm.name(), "artifact.bin");
            assert!(matches!(verify(&cert, algorithm, &digest, &by_other), Err(VerifyError::Mismatch { .. })));
            let other_digest = hash(algorithm, b"another artifact");
            assert!(matches!(verify(&cert, algorithm, &other_digest, &signature), Err(VerifyError::Mismatch { .. })));
            let mut flipped = signature.clone();
            *flipped.last_mut().unwrap() ^= 0x01;
            assert!(matches!(verify(&cert, algorithm, &digest, &flipped), Err(VerifyError::Mismatch { .. })));
            let truncated = verify(&cert, algorithm, &digest, &signature[..signature.len() - 1]).unwrap_err();
            assert!(
                matches!(truncated, VerifyError::RsaLength { .. } | VerifyError::MalformedEcdsa { .. }),
                "{truncated}"
            );
            let short = verify(&cert, algorithm, &digest[1..], &signature).unwrap_err();
            assert!(matches!(short, VerifyError::DigestLength { .. }), "{short}");
        }
        // The same signature does not pass for another algorithm's digest of the same file.
        let signature = pki.sign("leaf", "sha384", "artifact.bin");
        let sha512 = hash(HashAlgorithm::Sha512, &content);
        assert!(verify(&cert, HashAlgorithm::Sha512, &sha512, &signature).is_err());
    }

    #[test]
    fn rsa_signatures_from_openssl_verify_over_each_digest() {
        accepts_openssl_signatures_and_nothing_else(Alg::Rsa(3072));
    }

    #[test]
    fn p256_signatures_from_openssl_verify_over_each_digest() {
        accepts_openssl_signatures_and_nothing_else(Alg::P256);
    }

    #[test]
    fn p384_signatures_from_openssl_verify_over_each_digest() {
        accepts_openssl_signatures_and_nothing_else(Alg::P384);
    }

    #[test]
    fn errors_name_the_key_and_the_lengths() {
        let (pki, cert) = fixture(Alg::Rsa(2048));
        let digest = hash(HashAlgorithm::Sha256, &pki.read("artifact.bin"));
        let err = verify(&cert, HashAlgorithm::Sha256, &digest, &[0; 255]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the signature is 255 bytes, but RSA 2048 signatures are 256: truncated, or from another key"
        );
        let err = verify(&cert, HashAlgorithm::Sha384, &digest, &[0; 256]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the digest is 32 bytes, but sha384 makes 48: the digest and hash-algorithm disagree"
        );
    }

    /// A rough cost of one `verify`: `cargo test --release --lib verify_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn verify_timing() {
        for alg in [Alg::Rsa(2048), Alg::Rsa(3072), Alg::Rsa(4096), Alg::P256, Alg::P384] {
            let (pki, cert) = fixture(alg);
            let digest = hash(HashAlgorithm::Sha256, &pki.read("artifact.bin"));
            let signature = pki.sign("leaf", "sha256", "artifact.bin");
            let rounds = 200;
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                verify(&cert, HashAlgorithm::Sha256, &digest, &signature).unwrap();
            }
            println!("{}: {:?} per verify", cert.key(), start.elapsed() / rounds);
        }
    }
}
