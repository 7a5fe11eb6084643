//! The signing certificate and the chain the user gives with it: read once, checked before any
//! signature is trusted, and carried into the CMS signature as given.

use std::time::SystemTime;

use const_oid::db::rfc5912::ID_KP_CODE_SIGNING;
use der::{Decode as _, Reader as _, SliceReader};
use sha2::Digest as _;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;

use super::input::{self, Split};
use super::key::{self, KeyKind, PublicKey, UnsupportedKey};

/// The smallest RSA key accepted for code signing (CA/Browser Forum code signing requirements
/// ask for 3072 today; 2048 is what older, still valid certificates have).
const MIN_RSA_BITS: usize = 2048;

/// Why a certificate chain was refused; each names the certificate by its subject.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// Nothing that looks like a certificate.
    #[error("no certificate found: give the signing certificate (PEM or DER), then its chain")]
    Empty,
    /// A PEM block that cannot be decoded.
    #[error("PEM block {index} cannot be read ({reason}): expected -----BEGIN CERTIFICATE----- blocks")]
    Pem {
        /// Its place in the input, from 1.
        index: usize,
        /// The PEM decoder's words.
        reason: String,
    },
    /// A PEM block that is not a certificate, such as a private key.
    #[error("PEM block {index} is a {label}, not a CERTIFICATE: give only certificates, leaf first")]
    NotACertificate {
        /// Its place in the input, from 1.
        index: usize,
        /// The block's label.
        label: String,
    },
    /// Bytes that are not a DER X.509 certificate.
    #[error("certificate {index} is not a DER X.509 certificate ({source}): give PEM or DER certificates")]
    Der {
        /// Its place in the input, from 1 (0: the input did not split into DER elements).
        index: usize,
        /// The DER decoder's error.
        source: der::Error,
    },
    /// A key the gate cannot verify with.
    #[error("'{subject}' has an unsupported key ({what}): the gate takes RSA or EC P-256/P-384 keys")]
    UnsupportedKey {
        /// The certificate's subject.
        subject: String,
        /// What the key is.
        what: String,
    },
    /// An RSA key too short for code signing.
    #[error("'{subject}' has a {bits}-bit RSA key: code signing needs 2048 bits or more")]
    WeakKey {
        /// The certificate's subject.
        subject: String,
        /// The modulus's length.
        bits: usize,
    },
    /// Used before its `notBefore`.
    #[error("'{subject}' is not valid until {not_before}: check the runner's clock or wait")]
    NotYetValid {
        /// The certificate's subject.
        subject: String,
        /// Its `notBefore`.
        not_before: String,
    },
    /// Used after its `notAfter`.
    #[error("'{subject}' expired at {not_after}: renew it and give the new chain")]
    Expired {
        /// The certificate's subject.
        subject: String,
        /// Its `notAfter`.
        not_after: String,
    },
    /// A leaf without an extended key usage, which would allow any use.
    #[error("'{subject}' has no extended key usage: a code signing certificate must list codeSigning")]
    NoExtendedKeyUsage {
        /// The leaf's subject.
        subject: String,
    },
    /// A leaf whose extended key usage leaves out code signing.
    #[error("'{subject}' is not for code signing: its extended key usage lacks codeSigning (1.3.6.1.5.5.7.3.3)")]
    NotForCodeSigning {
        /// The leaf's subject.
        subject: String,
    },
    /// A leaf whose key usage forbids signatures.
    #[error("'{subject}' may not sign: its key usage lacks digitalSignature")]
    NoDigitalSignature {
        /// The leaf's subject.
        subject: String,
    },
    /// An extension that does not decode (or is present twice).
    #[error("'{subject}' has a malformed or repeated {extension} extension: {source}")]
    Extension {
        /// The certificate's subject.
        subject: String,
        /// Which extension.
        extension: &'static str,
        /// The DER decoder's error.
        source: der::Error,
    },
    /// The next certificate in the chain is not this one's issuer.
    #[error(
        "'{subject}' was issued by '{issuer}', but the next certificate is '{next}': give the leaf, then each issuer"
    )]
    NotIssuedByNext {
        /// The certificate's subject.
        subject: String,
        /// The issuer it names.
        issuer: String,
        /// The next certificate's subject.
        next: String,
    },
    /// A chain certificate that may not issue certificates.
    #[error("'{subject}' is in the chain as an issuer but is not a CA (basicConstraints cA, keyCertSign)")]
    NotACa {
        /// The issuer's subject.
        subject: String,
    },
    /// A certificate signed with an algorithm the gate does not verify.
    #[error("'{subject}' is signed with {algorithm}: the gate verifies sha256/384/512 with RSA or ECDSA")]
    UnsupportedSignatureAlgorithm {
        /// The certificate's subject.
        subject: String,
        /// The algorithm's OID.
        algorithm: String,
    },
    /// A signature on a certificate that its issuer's key does not verify.
    #[error("the signature on '{subject}' does not verify with the key of '{issuer}': the chain is wrong or altered")]
    BadSignature {
        /// The certificate's subject.
        subject: String,
        /// The next certificate's subject.
        issuer: String,
    },
}

/// One certificate, parsed, with the DER it came as (hashed and embedded as given).
#[derive(Debug, Clone)]
pub(super) struct Parsed {
    pub(super) cert: Certificate,
    pub(super) der: Vec<u8>,
}

impl Parsed {
    fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }
}

/// The certificate AppViewX signs with, and the chain up from it as the user gave it.
#[derive(Debug, Clone)]
pub struct SigningCertificate {
    pub(super) leaf: Parsed,
    pub(super) chain: Vec<Parsed>,
    pub(super) key: PublicKey,
}

impl SigningCertificate {
    /// Reads PEM (one or more CERTIFICATE blocks) or DER (one certificate, or several back to
    /// back): the leaf first, then its chain. Fails on a leaf whose key cannot verify at all;
    /// everything else about fitness for code signing is [`SigningCertificate::check`]'s.
    pub fn parse(bytes: &[u8]) -> Result<Self, CertificateError> {
        let ders = input::certificates(bytes).map_err(|e| match e {
            Split::Pem { index, reason } => CertificateError::Pem { index, reason },
            Split::Label { index, label } => CertificateError::NotACertificate { index, label },
            Split::Der(source) => CertificateError::Der { index: 1, source },
        })?;
        let mut parsed = Vec::with_capacity(ders.len());
        for (i, der) in ders.into_iter().enumerate() {
            let cert = Certificate::from_der(&der).map_err(|source| CertificateError::Der { index: i + 1, source })?;
            parsed.push(Parsed { cert, der });
        }
        let mut all = parsed.into_iter();
        let leaf = all.next().ok_or(CertificateError::Empty)?;
        let key = public_key(&leaf)?;
        Ok(Self { leaf, chain: all.collect(), key })
    }

    /// Checks what a code signing certificate needs: the leaf and every chain certificate valid
    /// at `now`; the leaf's extended key usage present and listing `codeSigning`, its key usage
    /// (if any) allowing `digitalSignature`, its key RSA of 2048 bits or more or EC P-256/P-384;
    /// and each certificate issued by the next (the issuer name is the next one's subject, the
    /// next one is a CA, and its key verifies the signature). There is no trust anchor: the
    /// chain is the user's, and whether its top is trusted is for whoever verifies the CMS
    /// signature; this catches a wrong, expired or misordered chain before anything is signed.
    pub fn check(&self, now: SystemTime) -> Result<(), CertificateError> {
        for parsed in std::iter::once(&self.leaf).chain(&self.chain) {
            valid_at(parsed, now)?;
        }
        for_code_signing(&self.leaf)?;
        if let KeyKind::Rsa { bits } = self.key.kind() {
            if bits < MIN_RSA_BITS {
                return Err(CertificateError::WeakKey { subject: self.subject(), bits });
            }
        }
        for (child, issuer) in std::iter::once(&self.leaf).chain(&self.chain).zip(&self.chain) {
            issued_by(child, issuer)?;
        }
        Ok(())
    }

    /// SHA-256 of the leaf's DER: how the report and the vendors' consoles name a certificate.
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        sha2::Sha256::digest(&self.leaf.der).into()
    }

    /// The leaf's subject as RFC 4514 writes it (most specific first), for logs and the report.
    pub fn subject(&self) -> String {
        self.leaf.subject()
    }

    /// When the leaf expires: a signature must be timestamped before then to outlive it.
    pub fn not_after(&self) -> SystemTime {
        self.leaf.cert.tbs_certificate.validity.not_after.to_system_time()
    }

    /// The leaf's key, as the report names it.
    pub fn key(&self) -> KeyKind {
        self.key.kind()
    }
}

fn public_key(parsed: &Parsed) -> Result<PublicKey, CertificateError> {
    PublicKey::from_spki(&parsed.cert.tbs_certificate.subject_public_key_info)
        .map_err(|UnsupportedKey(what)| CertificateError::UnsupportedKey { subject: parsed.subject(), what })
}

fn valid_at(parsed: &Parsed, now: SystemTime) -> Result<(), CertificateError> {
    let validity = &parsed.cert.tbs_certificate.validity;
    if now < validity.not_before.to_system_time() {
        return Err(CertificateError::NotYetValid {
            subject: parsed.subject(),
            not_before: validity.not_before.to_string(),
        });
    }
    if now > validity.not_after.to_system_time() {
        return Err(CertificateError::Expired { subject: parsed.subject(), not_after: validity.not_after.to_string() });
    }
    Ok(())
}

/// An extension by type; a malformed or repeated one is an error, as RFC 5280 makes it.
fn extension<'a, T>(parsed: &'a Parsed, name: &'static str) -> Result<Option<T>, CertificateError>
where
    T: der::Decode<'a> + const_oid::AssociatedOid,
{
    match parsed.cert.tbs_certificate.get::<T>() {
        Ok(found) => Ok(found.map(|(_critical, value)| value)),
        Err(source) => Err(CertificateError::Extension { subject: parsed.subject(), extension: name, source }),
    }
}

fn for_code_signing(leaf: &Parsed) -> Result<(), CertificateError> {
    let subject = || leaf.subject();
    let eku = extension::<ExtendedKeyUsage>(leaf, "extendedKeyUsage")?
        .ok_or_else(|| CertificateError::NoExtendedKeyUsage { subject: subject() })?;
    if !eku.0.contains(&ID_KP_CODE_SIGNING) {
        return Err(CertificateError::NotForCodeSigning { subject: subject() });
    }
    if let Some(usage) = extension::<KeyUsage>(leaf, "keyUsage")? {
        if !usage.digital_signature() {
            return Err(CertificateError::NoDigitalSignature { subject: subject() });
        }
    }
    Ok(())
}

/// `child` names `issuer` as its issuer, `issuer` may issue certificates, and its key verifies
/// the signature on `child`'s `TBSCertificate` as `child`'s DER holds it.
fn issued_by(child: &Parsed, issuer: &Parsed) -> Result<(), CertificateError> {
    let tbs = &child.cert.tbs_certificate;
    if tbs.issuer != issuer.cert.tbs_certificate.subject {
        return Err(CertificateError::NotIssuedByNext {
            subject: child.subject(),
            issuer: tbs.issuer.to_string(),
            next: issuer.subject(),
        });
    }
    let is_ca = extension::<BasicConstraints>(issuer, "basicConstraints")?.is_some_and(|b| b.ca);
    let may_sign_certs = extension::<KeyUsage>(issuer, "keyUsage")?.is_none_or(|u| u.key_cert_sign());
    if !is_ca || !may_sign_certs {
        return Err(CertificateError::NotACa { subject: issuer.subject() });
    }
    let algorithm = &child.cert.signature_algorithm.oid;
    let unsupported = || CertificateError::UnsupportedSignatureAlgorithm {
        subject: child.subject(),
        algorithm: algorithm.to_string(),
    };
    let (hash_algorithm, family) = key::signature_algorithm(*algorithm).ok_or_else(unsupported)?;
    let issuer_key = public_key(issuer)?;
    let bad = || CertificateError::BadSignature { subject: child.subject(), issuer: issuer.subject() };
    let signed = raw_tbs(&child.der).map_err(|_| bad())?;
    let signature = child.cert.signature.as_bytes().ok_or_else(bad)?;
    if issuer_key.family() != family {
        return Err(bad());
    }
    issuer_key.verify_digest(hash_algorithm, &key::hash(hash_algorithm, signed), signature).map_err(|_| bad())
}

/// The `TBSCertificate` exactly as the certificate's DER holds it: the bytes the issuer signed.
fn raw_tbs(cert_der: &[u8]) -> der::Result<&[u8]> {
    let outer = der::asn1::AnyRef::from_der(cert_der)?;
    SliceReader::new(outer.value())?.tlv_bytes()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::tests_support::{Alg, Pki};
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    /// What openssl prints for `-noout -<what>` of `name.pem`, after the `=`.
    fn openssl_says(pki: &Pki, name: &str, what: &[&str]) -> String {
        let pem = format!("{name}.pem");
        let mut args = vec!["x509", "-in", &pem, "-noout"];
        args.extend(what);
        let out = String::from_utf8(pki.openssl(&args).stdout).unwrap();
        out.trim().split_once('=').unwrap().1.to_string()
    }

    #[test]
    fn rsa_and_ec_leaves_with_their_chains_pass_and_read_as_openssl_reads_them() {
        let pki = Pki::new();
        pki.self_signed("root", Alg::Rsa(3072), "/CN=Gate Test Root/O=Gate Tests", "ca_ext", 30);
        pki.issue("inter", Alg::P384, "/CN=Gate Test Intermediate/O=Gate Tests", "root", "ca_ext", 30);
        pki.issue("rsa", Alg::Rsa(3072), "/CN=Leaf RSA/O=Gate Tests, Inc.", "root", "leaf_ext", 30);
        pki.issue("p256", Alg::P256, "/CN=Leaf P-256/O=Gate Tests", "inter", "leaf_ext", 30);
        pki.issue("p384", Alg::P384, "/CN=Leaf P-384/O=Gate Tests", "inter", "leaf_ext", 30);
        let now = SystemTime::now();

        let rsa = SigningCertificate::parse(&pki.bundle(&["rsa", "root"])).unwrap();
        rsa.check(now).unwrap();
        assert_eq!(rsa.key(), KeyKind::Rsa { bits: 3072 });
        assert_eq!(rsa.key().to_string(), "RSA 3072");
        assert_eq!(rsa.subject(), openssl_says(&pki, "rsa", &["-subject", "-nameopt", "RFC2253"]));
        let fingerprint: String =
            rsa.sha256_fingerprint().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
        assert_eq!(fingerprint, openssl_says(&pki, "rsa", &["-fingerprint", "-sha256"]));
        let left = rsa.not_after().duration_since(now).unwrap();
        assert!(left > 29 * DAY && left <= 30 * DAY, "{left:?}");

        for (name, kind) in [("p256", KeyKind::EcP256), ("p384", KeyKind::EcP384)] {
            let pem = SigningCertificate::parse(&pki.bundle(&[name, "inter", "root"])).unwrap();
            pem.check(now).unwrap();
            assert_eq!(pem.key(), kind);
            let der: Vec<u8> = [pki.der(name), pki.der("inter"), pki.der("root")].concat();
            let der = SigningCertificate::parse(&der).unwrap();
            der.check(now).unwrap();
            assert_eq!(der.sha256_fingerprint(), pem.sha256_fingerprint());
            assert_eq!(der.chain.len(), 2);
        }
        assert_eq!(KeyKind::EcP256.to_string(), "ECDSA P-256");
        // A leaf alone is its own chain: nothing to check above it.
        SigningCertificate::parse(&pki.der("p256")).unwrap().check(now).unwrap();
    }

    #[test]
    fn a_leaf_not_for_code_signing_is_refused() {
        let pki = Pki::new();
        pki.self_signed("ca", Alg::P256, "/CN=Gate Test CA", "ca_ext", 30);
        pki.issue("server", Alg::P256, "/CN=Server", "ca", "server_ext", 30);
        pki.issue("no_eku", Alg::P256, "/CN=No EKU", "ca", "no_eku_ext", 30);
        pki.issue("no_sign", Alg::P256, "/CN=No Sign", "ca", "no_sign_ext", 30);
        pki.issue("weak", Alg::Rsa(1024), "/CN=Weak", "ca", "leaf_ext", 30);
        let check =
            |name: &str| SigningCertificate::parse(&pki.bundle(&[name, "ca"])).unwrap().check(SystemTime::now());
        assert!(matches!(check("server"), Err(CertificateError::NotForCodeSigning { .. })));
        assert!(matches!(check("no_eku"), Err(CertificateError::NoExtendedKeyUsage { .. })));
        assert!(matches!(check("no_sign"), Err(CertificateError::NoDigitalSignature { .. })));
        let weak = check("weak").unwrap_err();
        assert!(matches!(weak, CertificateError::WeakKey { bits: 1024, .. }), "{weak}");
        assert_eq!(weak.to_string(), "'CN=Weak' has a 1024-bit RSA key: code signing needs 2048 bits or more");
        pki.self_signed("ed", Alg::Ed25519, "/CN=Edwards", "leaf_ext", 30);
        let ed = SigningCertificate::parse(&pki.read("ed.pem")).unwrap_err();
        assert!(matches!(ed, CertificateError::UnsupportedKey { .. }), "{ed}");
    }

    #[test]
    fn validity_is_checked_for_the_leaf_and_the_chain() {
        let pki = Pki::new();
        pki.self_signed("ca", Alg::P256, "/CN=Gate Test CA", "ca_ext", 30);
        pki.self_signed("short_ca", Alg::P256, "/CN=Short CA", "ca_ext", 1);
        pki.issue("leaf", Alg::P256, "/CN=Leaf", "ca", "leaf_ext", 1);
        pki.issue("long", Alg::P256, "/CN=Long Leaf", "short_ca", "leaf_ext", 30);
        let now = SystemTime::now();
        let leaf = SigningCertificate::parse(&pki.bundle(&["leaf", "ca"])).unwrap();
        leaf.check(now).unwrap();
        let expired = leaf.check(now + 2 * DAY).unwrap_err();
        assert!(matches!(&expired, CertificateError::Expired { subject, .. } if subject == "CN=Leaf"), "{expired}");
        let early = leaf.check(now - 2 * DAY).unwrap_err();
        assert!(matches!(early, CertificateError::NotYetValid { .. }), "{early}");
        let chain = SigningCertificate::parse(&pki.bundle(&["long", "short_ca"])).unwrap();
        chain.check(now).unwrap();
        let expired = chain.check(now + 2 * DAY).unwrap_err();
        assert!(matches!(&expired, CertificateError::Expired { subject, .. } if subject == "CN=Short CA"), "{expired}");
    }

    #[test]
    fn a_chain_that_did_not_issue_the_leaf_is_refused() {
        let pki = Pki::new();
        pki.self_signed("ca", Alg::P256, "/CN=Gate Test CA", "ca_ext", 30);
        pki.self_signed("twin", Alg::P256, "/CN=Gate Test CA", "ca_ext", 30);
        pki.self_signed("other", Alg::Rsa(2048), "/CN=Other CA", "ca_ext", 30);
        pki.self_signed("not_ca", Alg::P256, "/CN=Not A CA", "leaf_ext", 30);
        pki.issue("leaf", Alg::P256, "/CN=Leaf", "ca", "leaf_ext", 30);
        pki.issue("under_leaf", Alg::P256, "/CN=Under", "not_ca", "leaf_ext", 30);
        let check = |names: &[&str]| SigningCertificate::parse(&pki.bundle(names)).unwrap().check(SystemTime::now());
        check(&["leaf", "ca"]).unwrap();
        // Same name, another key: only the signature tells them apart.
        let twin = check(&["leaf", "twin"]).unwrap_err();
        assert!(matches!(twin, CertificateError::BadSignature { .. }), "{twin}");
        let other = check(&["leaf", "other"]).unwrap_err();
        assert!(matches!(&other, CertificateError::NotIssuedByNext { next, .. } if next == "CN=Other CA"), "{other}");
        let reversed = check(&["ca", "leaf"]).unwrap_err();
        assert!(matches!(reversed, CertificateError::NoExtendedKeyUsage { .. }), "{reversed}");
        let not_ca = check(&["under_leaf", "not_ca"]).unwrap_err();
        assert!(matches!(not_ca, CertificateError::NotACa { .. }), "{not_ca}");
    }

    #[test]
    fn input_that_is_not_certificates_is_named() {
        assert!(matches!(SigningCertificate::parse(b""), Err(CertificateError::Empty)));
        assert!(matches!(SigningCertificate::parse(b"hello"), Err(CertificateError::Der { index: 1, .. })));
        assert!(matches!(
            SigningCertificate::parse(&[0x30, 0x03, 0x02, 0x01, 0x01]),
            Err(CertificateError::Der { index: 1, .. })
        ));
        let pki = Pki::new();
        pki.self_signed("leaf", Alg::P256, "/CN=Leaf", "leaf_ext", 30);
        let with_key = [pki.read("leaf.pem"), pki.read("leaf.key")].concat();
        let err = SigningCertificate::parse(&with_key).unwrap_err();
        assert!(
            matches!(&err, CertificateError::NotACertificate { index: 2, label } if label == "PRIVATE KEY"),
            "{err}"
        );
        let der = pki.der("leaf");
        let truncated = SigningCertificate::parse(&der[..der.len() - 1]).unwrap_err();
        assert!(matches!(truncated, CertificateError::Der { .. }), "{truncated}");
    }
}
