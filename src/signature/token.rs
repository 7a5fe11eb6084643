//! The TSA's own signature on a timestamp token (RFC 3161 §2.4.2, RFC 5652 §5.4): made over
//! the signed attributes, which bind the `TSTInfo` by its digest. Checked against the signer
//! certificate the token carries (the request asks for it), so a damaged or spliced token is
//! caught; whether that TSA is trusted is left to whoever verifies the signature later, as the
//! gate has no list of trusted TSAs.

use std::time::SystemTime;

use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST};
use const_oid::db::rfc5912::{ID_KP_TIME_STAMPING, RSA_ENCRYPTION};
use der::asn1::ObjectIdentifier;
use der::{Any, Encode as _, Tag, Tagged as _};
use x509_cert::attr::Attributes;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_cert::Certificate;

use super::key::{self, Family, PublicKey, UnsupportedKey};

/// id-ct-TSTInfo (RFC 3161 §2.4.2): the content type of a timestamp token's `SignedData`.
pub(super) const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Why the TSA's signature on the token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenProblem {
    /// Not exactly one `SignerInfo`.
    Signers(usize),
    /// No certificate in the token matches the signer.
    NoSignerCertificate,
    /// The signer's certificate is not for timestamping (RFC 3161 §2.3) or not valid then.
    NotTsaCertificate(String),
    /// A digest or signature algorithm the gate does not verify.
    Algorithm(String),
    /// Signed attributes missing, or not binding this `TSTInfo`.
    Attributes(&'static str),
    /// The signature does not verify with the signer certificate's key.
    Signature,
}

/// Checks the token's one signature over `tst_info` (the `eContent` octets) and returns its
/// signer's subject. The signed attributes are hashed as DER re-encodes them (as OpenSSL does);
/// the ESS signing-certificate attribute is not checked, as the signer is found by its id.
pub(super) fn verify(signed_data: &SignedData, tst_info: &[u8], gen_time: SystemTime) -> Result<String, TokenProblem> {
    let signers = signed_data.signer_infos.0.as_slice();
    let [signer] = signers else { return Err(TokenProblem::Signers(signers.len())) };
    let cert = signer_certificate(signed_data, &signer.sid).ok_or(TokenProblem::NoSignerCertificate)?;
    let subject = cert.tbs_certificate.subject.to_string();
    for_timestamping(cert, gen_time).map_err(|why| TokenProblem::NotTsaCertificate(format!("'{subject}' {why}")))?;
    let algorithm = key::digest_of_oid(signer.digest_alg.oid)
        .ok_or_else(|| TokenProblem::Algorithm(format!("digest {}", signer.digest_alg.oid)))?;
    let attrs = signer.signed_attrs.as_ref().ok_or(TokenProblem::Attributes("no signed attributes"))?;
    let content_type = attribute(attrs, ID_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if content_type != Some(ID_CT_TST_INFO) {
        return Err(TokenProblem::Attributes("content-type is not id-ct-TSTInfo"));
    }
    let message_digest = attribute(attrs, ID_MESSAGE_DIGEST).filter(|v| v.tag() == Tag::OctetString);
    if message_digest.map(Any::value) != Some(key::hash(algorithm, tst_info).as_slice()) {
        return Err(TokenProblem::Attributes("message-digest does not match the TSTInfo"));
    }
    let public_key = PublicKey::from_spki(&cert.tbs_certificate.subject_public_key_info)
        .map_err(|UnsupportedKey(what)| TokenProblem::Algorithm(format!("{what} key")))?;
    check_signature_algorithm(signer, algorithm, public_key.family())?;
    let attrs_der = attrs.to_der().map_err(|_| TokenProblem::Signature)?;
    public_key
        .verify_digest(algorithm, &key::hash(algorithm, &attrs_der), signer.signature.as_bytes())
        .map_err(|_| TokenProblem::Signature)?;
    Ok(subject)
}

/// The certificate the `SignerIdentifier` names, among those the token carries.
fn signer_certificate<'a>(signed_data: &'a SignedData, sid: &SignerIdentifier) -> Option<&'a Certificate> {
    let certs = signed_data.certificates.as_ref()?;
    certs.0.iter().find_map(|choice| {
        let cms::cert::CertificateChoices::Certificate(cert) = choice else { return None };
        let tbs = &cert.tbs_certificate;
        let matches = match sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => {
                id.issuer == tbs.issuer && id.serial_number == tbs.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                matches!(tbs.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
            }
        };
        matches.then_some(cert)
    })
}

/// RFC 3161 §2.3: the TSA's certificate has one extended key usage, id-kp-timeStamping,
/// marked critical; and it was valid when it stamped.
fn for_timestamping(cert: &Certificate, gen_time: SystemTime) -> Result<(), &'static str> {
    match cert.tbs_certificate.get::<ExtendedKeyUsage>() {
        Ok(Some((true, eku))) if eku.0.contains(&ID_KP_TIME_STAMPING) => {}
        _ => return Err("has no critical extended key usage timeStamping"),
    }
    let validity = &cert.tbs_certificate.validity;
    if gen_time < validity.not_before.to_system_time() || gen_time > validity.not_after.to_system_time() {
        return Err("was not valid at the token's genTime");
    }
    Ok(())
}

/// The one value of a signed attribute; `None` if absent or not single-valued.
fn attribute(attrs: &Attributes, oid: ObjectIdentifier) -> Option<&Any> {
    let found = attrs.iter().find(|a| a.oid == oid)?;
    match found.values.as_slice() {
        [value] => Some(value),
        _ => None,
    }
}

/// `rsaEncryption`, or a `shaNWithRSA` / ecdsa-with-SHAN that agrees with the digest algorithm and
/// the key: a token that names one hash and signs with another is not verified.
fn check_signature_algorithm(
    signer: &SignerInfo,
    algorithm: crate::digest::HashAlgorithm,
    family: Family,
) -> Result<(), TokenProblem> {
    let oid = signer.signature_algorithm.oid;
    let agrees = if oid == RSA_ENCRYPTION {
        family == Family::Rsa
    } else {
        key::signature_algorithm(oid) == Some((algorithm, family))
    };
    if agrees {
        Ok(())
    } else {
        Err(TokenProblem::Algorithm(format!("signature {oid} with a {family:?} key")))
    }
}
