//! The detached CMS signature (RFC 5652 `SignedData`) the gate hands out beside an artifact:
//! AppViewX's raw signature as the one `SignerInfo`'s signature, so that `openssl cms -verify`
//! (or any CMS verifier) checks it against the artifact with the chain it carries.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use const_oid::db::rfc5912::RSA_ENCRYPTION;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode as _, Encode as _};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::digest::HashAlgorithm;

use super::cert::SigningCertificate;
use super::key::{self, Family};

/// id-aa-timeStampToken (RFC 3161 Appendix A): the unsigned attribute that carries a
/// timestamp over the `SignerInfo`'s signature.
pub(super) const ID_AA_TIME_STAMP_TOKEN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// Why the CMS signature could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// The timestamp token given is not a CMS `ContentInfo` holding `SignedData`.
    #[error("the timestamp token is not a DER CMS SignedData ({0}): give the token check_timestamp_response returned")]
    Token(String),
    /// The encoder refused a value (a length past DER's limits).
    #[error("cannot encode the CMS signature: {0}")]
    Encode(#[from] der::Error),
}

/// A detached CMS `SignedData` (DER `ContentInfo`): the content is the artifact, left out
/// (id-data, no `eContent`); the certificates are the leaf and its chain; the one `SignerInfo`
/// names the leaf by issuer and serial number, has `algorithm` as its digest algorithm and
/// no signed attributes, so its signature is exactly AppViewX's over the artifact's digest.
/// The signature algorithm is `rsaEncryption` for RSA (RFC 3370 §3.2, which OpenSSL, Windows
/// and Java all verify without signed attributes) or ecdsa-with-SHA256/384/512 matching
/// `algorithm` (RFC 5753). A timestamp token (from [`super::check_timestamp_response`]) rides
/// as the unsigned attribute id-aa-timeStampToken, where verifiers look for it.
pub fn detached_cms(
    cert: &SigningCertificate,
    algorithm: HashAlgorithm,
    signature: &[u8],
    timestamp_token: Option<&[u8]>,
) -> Result<Vec<u8>, CmsError> {
    // RFC 5754 §2: SHA-2 digest identifiers go without parameters.
    let digest_alg = AlgorithmIdentifierOwned { oid: key::digest_oid(algorithm), parameters: None };
    let signature_algorithm = match cert.key.family() {
        Family::Rsa => AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(Any::null()) },
        Family::Ecdsa => AlgorithmIdentifierOwned { oid: key::ecdsa_oid(algorithm), parameters: None },
    };
    let leaf = &cert.leaf.cert.tbs_certificate;
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.issuer.clone(),
            serial_number: leaf.serial_number.clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: None,
        signature_algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: timestamp_token.map(token_attribute).transpose()?,
    };
    let certificates = std::iter::once(&cert.leaf).chain(&cert.chain);
    let signed_data = SignedData {
        // RFC 5652 §5.1: 1, as there are no attribute certificates, only issuerAndSerialNumber
        // and id-data.
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None },
        certificates: Some(CertificateSet::try_from(
            certificates.map(|p| CertificateChoices::Certificate(p.cert.clone())).collect::<Vec<_>>(),
        )?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer])?,
    };
    let content_info = ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? };
    Ok(content_info.to_der()?)
}

/// The unsigned attribute holding the token, checked to be a `ContentInfo` with `SignedData`.
fn token_attribute(token: &[u8]) -> Result<SetOfVec<Attribute>, CmsError> {
    let parsed = ContentInfo::from_der(token).map_err(|e| CmsError::Token(e.to_string()))?;
    if parsed.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Token(format!("content type {}", parsed.content_type)));
    }
    // As the TSA encoded it, byte for byte: its signature is over parts of these bytes.
    let value = Any::from_der(token).map_err(|e| CmsError::Token(e.to_string()))?;
    let attribute = Attribute { oid: ID_AA_TIME_STAMP_TOKEN, values: SetOfVec::try_from(vec![value])? };
    Ok(SetOfVec::try_from(vec![attribute])?)
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::{openssl_cms_verify, Alg, Pki};
    use super::*;

    fn openssl_verifies_it(leaf: Alg, chain: &[&str]) {
        let pki = Pki::new();
        pki.self_signed("ca", Alg::P256, "/CN=Gate Test Root", "ca_ext", 30);
        pki.issue("inter", Alg::Rsa(2048), "/CN=Gate Test Intermediate", "ca", "ca_ext", 30);
        pki.issue("leaf", leaf, "/CN=Leaf", chain[0], "leaf_ext", 30);
        pki.write("artifact.bin", b"the artifact's bytes\n");
        pki.write("other.bin", b"another artifact\n");
        let names: Vec<&str> = std::iter::once("leaf").chain(chain.iter().copied()).collect();
        let cert = SigningCertificate::parse(&pki.bundle(&names)).unwrap();
        for algorithm in [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
            let signature = pki.sign("leaf", algorithm.name(), "artifact.bin");
            let p7s = detached_cms(&cert, algorithm, &signature, None).unwrap();
            let ok = openssl_cms_verify(&pki, &p7s, "artifact.bin");
            assert!(ok.status.success(), "{:?} {algorithm:?}: {}", leaf, String::from_utf8_lossy(&ok.stderr));
            let wrong = openssl_cms_verify(&pki, &p7s, "other.bin");
            assert!(!wrong.status.success(), "openssl accepted the signature for other content");
        }
    }

    #[test]
    fn openssl_verifies_an_rsa_signature_through_an_intermediate() {
        openssl_verifies_it(Alg::Rsa(3072), &["inter", "ca"]);
    }

    #[test]
    fn openssl_verifies_an_ecdsa_signature() {
        openssl_verifies_it(Alg::P256, &["ca"]);
        openssl_verifies_it(Alg::P384, &["inter", "ca"]);
    }

    #[test]
    fn the_signature_is_the_only_signer_info_without_signed_attributes() {
        let pki = Pki::new();
        pki.self_signed("ca", Alg::P256, "/CN=Gate Test Root", "ca_ext", 30);
        pki.issue("leaf", Alg::P256, "/CN=Leaf", "ca", "leaf_ext", 30);
        let cert = SigningCertificate::parse(&pki.bundle(&["leaf", "ca"])).unwrap();
        let p7s = detached_cms(&cert, HashAlgorithm::Sha256, b"not checked here", None).unwrap();
        let content = ContentInfo::from_der(&p7s).unwrap();
        assert_eq!(content.content_type, ID_SIGNED_DATA);
        let signed: SignedData = content.content.decode_as().unwrap();
        assert_eq!(signed.encap_content_info, EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None });
        assert_eq!(signed.certificates.unwrap().0.len(), 2);
        let [info] = signed.signer_infos.0.as_slice() else { panic!("one signer") };
        assert!(info.signed_attrs.is_none() && info.unsigned_attrs.is_none());
        assert_eq!(info.signature.as_bytes(), b"not checked here");
        assert_eq!(info.signature_algorithm.oid, const_oid::db::rfc5912::ECDSA_WITH_SHA_256);
        let not_a_token = detached_cms(&cert, HashAlgorithm::Sha256, b"x", Some(&p7s[..10])).unwrap_err();
        assert!(matches!(not_a_token, CmsError::Token(_)), "{not_a_token}");
    }
}
