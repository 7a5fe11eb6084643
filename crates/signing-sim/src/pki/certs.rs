//! The simulator's code-signing CA, minted at every start (ECDSA P-256), and the certificates it
//! issues to the signing keys: CN = the key's name, `digitalSignature`, EKU `codeSigning`,
//! `CA:FALSE`, valid from a day ago for the configured number of days.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PublicKeyData, SerialNumber, SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256,
};
use time::{Duration, OffsetDateTime};

use super::keys::PublicKeyBits;

/// The organisation every certificate names, so nobody mistakes one for a real one.
const ORGANIZATION: &str = "signing-sim (test certificates, never trust)";

/// The CA: its certificate (PEM) and what signs the leaves.
pub(crate) struct Ca {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A public key rcgen can put into a certificate it signs for someone else.
struct SubjectKey {
    bits: Vec<u8>,
    algorithm: &'static SignatureAlgorithm,
}

impl PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    /// Only the key's half counts here: rcgen writes its `oids_sign_alg` (rsaEncryption, or
    /// `id-ecPublicKey` with `prime256v1`) into the `SubjectPublicKeyInfo`.
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.algorithm
    }
}

/// The `SubjectPublicKeyInfo` DER of a key, as a certificate carrying it contains it verbatim.
pub(crate) fn subject_public_key_info(key: PublicKeyBits) -> Vec<u8> {
    subject_key(key).subject_public_key_info()
}

fn subject_key(key: PublicKeyBits) -> SubjectKey {
    let algorithm = if key.rsa { &PKCS_RSA_SHA256 } else { &PKCS_ECDSA_P256_SHA256 };
    SubjectKey { bits: key.bits, algorithm }
}

/// A positive 16-byte serial, random, so two certificates for one public key differ.
fn random_serial() -> SerialNumber {
    let mut bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&bytes)
}

/// Mints the CA, valid from a day ago until a day after the leaves it will issue expire.
pub(crate) fn new_ca(validity_days: u32) -> Result<Ca, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, "signing-sim code signing CA");
    params.distinguished_name.push(DnType::OrganizationName, ORGANIZATION);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(i64::from(validity_days) + 1);
    params.serial_number = Some(random_serial());
    let cert = params.self_signed(&key)?;
    Ok(Ca { pem: cert.pem(), issuer: Issuer::new(params, key) })
}

/// Issues a code-signing certificate for `name`'s public key; answers its PEM.
pub(crate) fn issue(ca: &Ca, name: &str, key: PublicKeyBits, validity_days: u32) -> Result<String, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.distinguished_name.push(DnType::OrganizationName, ORGANIZATION);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(i64::from(validity_days));
    params.serial_number = Some(random_serial());
    Ok(params.signed_by(&subject_key(key), &ca.issuer)?.pem())
}
