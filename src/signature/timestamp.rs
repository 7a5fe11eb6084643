//! RFC 3161 timestamps over a signature: the request the gate sends a TSA, and the check of
//! its answer before the token goes into the CMS signature. A timestamp lets the signature be
//! trusted after the signing certificate expires, as it proves the signature existed before.

use std::time::SystemTime;

use cmpv2::status::PkiStatus;
use cms::signed_data::SignedData;
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use der::asn1::{Int, OctetString, Uint};
use der::{Any, AnyRef, Decode as _, Encode as _, Reader as _, SliceReader, Tag, Tagged as _};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use crate::digest::HashAlgorithm;

use super::key;
use super::token::{self, TokenProblem, ID_CT_TST_INFO};
use super::tst_info::{self, TstInfo};

/// Why a timestamp could not be asked for, or its answer was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TimestampError {
    /// The OS gave no random bytes for the nonce.
    #[error("cannot draw the timestamp nonce from the OS: {0}")]
    Random(getrandom::Error),
    /// The encoder refused a value (cannot happen with SHA-2 digests; kept typed all the same).
    #[error("cannot encode the timestamp request: {0}")]
    Encode(der::Error),
    /// The answer is not a `TimeStampResp`.
    #[error("the TSA's answer is not a DER TimeStampResp ({0}): check the timestamp URL points at an RFC 3161 TSA")]
    Response(der::Error),
    /// The TSA said no.
    #[error("the TSA refused the request: status {status}{text}")]
    Refused {
        /// `PKIStatus`, by name.
        status: String,
        /// The TSA's own words, if any, after a colon.
        text: String,
    },
    /// Granted, but no token.
    #[error("the TSA granted the request but sent no timestamp token")]
    NoToken,
    /// The token is not the `SignedData` over a `TSTInfo` that RFC 3161 makes it.
    #[error("the timestamp token is malformed ({0}): the TSA answered with something other than an RFC 3161 token")]
    Token(String),
    /// The token stamps another hash than the one asked for.
    #[error("the timestamp token covers another hash than the request's: an answer to another request")]
    ImprintMismatch,
    /// The token's nonce is not the request's.
    #[error("the timestamp token's nonce is not the request's: an answer to another request, or a replay")]
    NonceMismatch,
    /// The TSA's signature on the token does not hold.
    #[error("the TSA's signature on the timestamp token does not verify: {0}")]
    Signature(String),
}

/// An RFC 3161 request, with what its answer must echo.
#[derive(Debug, Clone)]
pub struct TimestampRequest {
    /// The DER `TimeStampReq`, to POST as `application/timestamp-query`.
    pub der: Vec<u8>,
    nonce: Int,
    imprint: MessageImprint,
}

/// A checked timestamp.
#[derive(Debug, Clone)]
pub struct Timestamp {
    /// The token (a DER `ContentInfo` with `SignedData`), for [`super::detached_cms`].
    pub token: Vec<u8>,
    /// When the TSA says the signature existed.
    pub gen_time: SystemTime,
    /// The TSA's name from the token, or its signing certificate's subject.
    pub tsa: String,
}

/// A request over `signature` (its hash with `algorithm`): RFC 3161 Appendix A timestamps the
/// `SignerInfo`'s signature value, so the token proves when that signature existed. A random
/// 64-bit nonce ties the answer to this request; `certReq` asks the TSA to include its
/// certificate, so the token can be verified without fetching it. The hash algorithm carries
/// NULL parameters, as OpenSSL's own requests do, since TSAs are tested against those.
pub fn timestamp_request(algorithm: HashAlgorithm, signature: &[u8]) -> Result<TimestampRequest, TimestampError> {
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random).map_err(TimestampError::Random)?;
    let nonce = Int::from(Uint::new(&random).map_err(TimestampError::Encode)?);
    let imprint = MessageImprint {
        hash_algorithm: AlgorithmIdentifier { oid: key::digest_oid(algorithm), parameters: Some(Any::null()) },
        hashed_message: OctetString::new(key::hash(algorithm, signature)).map_err(TimestampError::Encode)?,
    };
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint.clone(),
        req_policy: None,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    };
    let der = request.to_der().map_err(TimestampError::Encode)?;
    Ok(TimestampRequest { der, nonce, imprint })
}

/// Accepts a `TimeStampResp` (DER) for `request`: status granted or `grantedWithMods`; the token a
/// `SignedData` over a `TSTInfo` with the request's message imprint (algorithm and hash) and nonce;
/// and the TSA's signature on the token verified with the certificate the token carries (which
/// must be for timestamping and valid at `genTime`). The TSA's certificate is not chained to a
/// trust anchor: the gate has none, and verifiers of the CMS signature judge the TSA.
pub fn check_timestamp_response(request: &TimestampRequest, response_der: &[u8]) -> Result<Timestamp, TimestampError> {
    let response = TimeStampResp::from_der(response_der).map_err(TimestampError::Response)?;
    granted(&response)?;
    let token = response.time_stamp_token.ok_or(TimestampError::NoToken)?;
    let malformed = |what: &str| TimestampError::Token(what.to_string());
    if token.content_type != ID_SIGNED_DATA {
        return Err(malformed("not SignedData"));
    }
    let signed_data: SignedData = token.content.decode_as().map_err(|e| malformed(&e.to_string()))?;
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(malformed("its content is not a TSTInfo"));
    }
    let tst_der =
        encap.econtent.as_ref().filter(|c| c.tag() == Tag::OctetString).ok_or_else(|| malformed("no TSTInfo"))?.value();
    let tst = TstInfo::from_der(tst_der).map_err(|e| malformed(&e.to_string()))?;
    let asked = &request.imprint;
    if tst.message_imprint.hash_algorithm.oid != asked.hash_algorithm.oid
        || tst.message_imprint.hashed_message != asked.hashed_message
    {
        return Err(TimestampError::ImprintMismatch);
    }
    if tst.nonce.as_ref() != Some(&request.nonce) {
        return Err(TimestampError::NonceMismatch);
    }
    let gen_time =
        tst_info::gen_time(&tst.gen_time).ok_or_else(|| malformed("genTime is not a UTC GeneralizedTime"))?;
    let signer = token::verify(&signed_data, tst_der, gen_time).map_err(|p| TimestampError::Signature(describe(&p)))?;
    let tsa = match tst.tsa {
        Some(GeneralName::DirectoryName(name)) => name.to_string(),
        _ => signer,
    };
    let token = raw_token(response_der).map_err(|e| malformed(&e.to_string()))?.to_vec();
    Ok(Timestamp { token, gen_time, tsa })
}

/// granted (0) or `grantedWithMods` (1), RFC 3161 §2.4.2; anything else is a refusal.
fn granted(response: &TimeStampResp<'_>) -> Result<(), TimestampError> {
    let status = &response.status;
    if matches!(status.status, PkiStatus::Accepted | PkiStatus::GrantedWithMods) {
        return Ok(());
    }
    let words: Vec<&str> = status.status_string.iter().flatten().map(|s| s.as_str()).collect();
    let text = if words.is_empty() { String::new() } else { format!(": {}", words.join("; ")) };
    Err(TimestampError::Refused { status: format!("{:?}", status.status), text })
}

/// The token exactly as the TSA encoded it (the response's second element), so the bytes its
/// signature covers reach the CMS signature unchanged.
fn raw_token(response_der: &[u8]) -> der::Result<&[u8]> {
    let outer = AnyRef::from_der(response_der)?;
    let mut reader = SliceReader::new(outer.value())?;
    reader.tlv_bytes()?;
    reader.tlv_bytes()
}

fn describe(problem: &TokenProblem) -> String {
    match problem {
        TokenProblem::Signers(n) => format!("it has {n} signers, not one"),
        TokenProblem::NoSignerCertificate => "it does not carry its signer's certificate".into(),
        TokenProblem::NotTsaCertificate(why) => format!("its signer {why}"),
        TokenProblem::Algorithm(what) => format!("unsupported {what}"),
        TokenProblem::Attributes(what) => format!("its signed attributes are wrong: {what}"),
        TokenProblem::Signature => "the signature does not match the signer's certificate".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cms::signed_data::SignerInfos;
    use der::asn1::OctetString;

    use super::super::cert::SigningCertificate;
    use super::super::detached::detached_cms;
    use super::super::tests_support::{openssl_cms_verify, Alg, Pki};
    use super::*;

    /// A code signing leaf under `ca`, a TSA with its own CA, and a signature over a file.
    fn fixture(tsa: Alg) -> (Pki, SigningCertificate, Vec<u8>) {
        let pki = Pki::new();
        pki.self_signed("ca", Alg::P256, "/CN=Gate Test Root", "ca_ext", 30);
        pki.issue("leaf", Alg::P256, "/CN=Leaf", "ca", "leaf_ext", 30);
        pki.self_signed("tsaca", Alg::P256, "/CN=Gate Test TSA Root", "ca_ext", 30);
        pki.issue("tsa", tsa, "/CN=Gate Test TSA/O=Gate Tests", "tsaca", "tsa_ext", 30);
        pki.write("artifact.bin", b"the artifact's bytes\n");
        let cert = SigningCertificate::parse(&pki.bundle(&["leaf", "ca"])).unwrap();
        let signature = pki.sign("leaf", "sha256", "artifact.bin");
        pki.write("signature.bin", &signature);
        (pki, cert, signature)
    }

    /// `openssl ts -reply` to the request in `req.der`, as the TSA `tsa.key`/`tsa.pem`.
    fn openssl_reply(pki: &Pki, request: &TimestampRequest, section: &str) -> Vec<u8> {
        pki.write("req.der", &request.der);
        pki.openssl(&[
            "ts",
            "-reply",
            "-config",
            "openssl.cnf",
            "-section",
            section,
            "-queryfile",
            "req.der",
            "-inkey",
            "tsa.key",
            "-signer",
            "tsa.pem",
            "-out",
            "resp.der",
        ]);
        pki.read("resp.der")
    }

    fn a_real_tsa_answer_is_accepted_and_openssl_agrees(tsa: Alg) {
        let (pki, cert, signature) = fixture(tsa);
        let request = timestamp_request(HashAlgorithm::Sha256, &signature).unwrap();
        let response = openssl_reply(&pki, &request, "tsa_config");
        let stamp = check_timestamp_response(&request, &response).unwrap();
        let age = SystemTime::now().duration_since(stamp.gen_time).unwrap_or_default();
        assert!(age < Duration::from_secs(60), "{age:?}");
        assert_eq!(stamp.tsa, "O=Gate Tests,CN=Gate Test TSA");
        // OpenSSL reads our request, and finds its answer covers the signature's bytes.
        pki.openssl(&["ts", "-verify", "-in", "resp.der", "-queryfile", "req.der", "-CAfile", "tsaca.pem"]);
        pki.openssl(&["ts", "-verify", "-in", "resp.der", "-data", "signature.bin", "-CAfile", "tsaca.pem"]);
        // The token rides in the CMS signature, which OpenSSL still verifies.
        let p7s = detached_cms(&cert, HashAlgorithm::Sha256, &signature, Some(&stamp.token)).unwrap();
        let verified = openssl_cms_verify(&pki, &p7s, "artifact.bin");
        assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
        let printed = pki.openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.p7s"]).stdout;
        assert!(String::from_utf8_lossy(&printed).contains("id-smime-aa-timeStampToken"));
        // The token alone, as OpenSSL reads a token.
        pki.write("token.der", &stamp.token);
        pki.openssl(&[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-data",
            "signature.bin",
            "-CAfile",
            "tsaca.pem",
        ]);
    }

    #[test]
    fn an_rsa_tsa_answer_is_accepted() {
        a_real_tsa_answer_is_accepted_and_openssl_agrees(Alg::Rsa(2048));
    }

    #[test]
    fn an_ecdsa_tsa_answer_is_accepted() {
        a_real_tsa_answer_is_accepted_and_openssl_agrees(Alg::P384);
    }

    /// The `TSTInfo` inside a response, as the TSA encoded it.
    fn tst_der(response: &[u8]) -> Vec<u8> {
        let token = TimeStampResp::from_der(response).unwrap().time_stamp_token.unwrap();
        let signed: SignedData = token.content.decode_as().unwrap();
        signed.encap_content_info.econtent.unwrap().value().to_vec()
    }

    #[test]
    fn a_gen_time_with_fractional_seconds_is_read() {
        let (pki, _, signature) = fixture(Alg::P256);
        // OpenSSL leaves out a fraction of .000; a few tries make one all but certain.
        for _ in 0..5 {
            let request = timestamp_request(HashAlgorithm::Sha256, &signature).unwrap();
            let response = openssl_reply(&pki, &request, "tsa_millis");
            let tst = tst_der(&response);
            let stamp = check_timestamp_response(&request, &response).unwrap();
            let age = SystemTime::now().duration_since(stamp.gen_time).unwrap_or_default();
            assert!(age < Duration::from_secs(60), "{age:?}");
            let gen_time = TstInfo::from_der(&tst).unwrap().gen_time;
            if gen_time.value().contains(&b'.') {
                // x509-tsp 0.1 alone refuses it; hence tst_info.rs.
                assert!(x509_tsp::TstInfo::from_der(&tst).is_err());
                assert_ne!(stamp.gen_time.duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos(), 0);
                return;
            }
        }
        panic!("OpenSSL never wrote a fractional genTime");
    }

    #[test]
    fn an_answer_to_another_request_is_refused() {
        let (pki, _, signature) = fixture(Alg::P256);
        let first = timestamp_request(HashAlgorithm::Sha256, &signature).unwrap();
        let second = timestamp_request(HashAlgorithm::Sha256, &signature).unwrap();
        assert_ne!(first.der, second.der, "each request has its own nonce");
        let response = openssl_reply(&pki, &first, "tsa_config");
        check_timestamp_response(&first, &response).unwrap();
        let err = check_timestamp_response(&second, &response).unwrap_err();
        assert!(matches!(err, TimestampError::NonceMismatch), "{err}");
        let other = timestamp_request(HashAlgorithm::Sha256, b"another signature").unwrap();
        let err = check_timestamp_response(&other, &response).unwrap_err();
        assert!(matches!(err, TimestampError::ImprintMismatch), "{err}");
    }

    #[test]
    fn a_refusal_or_no_answer_at_all_is_named() {
        let (pki, _, signature) = fixture(Alg::P256);
        let request = timestamp_request(HashAlgorithm::Sha256, &signature).unwrap();
        let refused = openssl_reply(&pki, &request, "tsa_sha512_only");
        let err = check_timestamp_response(&request, &refused).unwrap_err();
        assert!(matches!(&err, TimestampError::Refused { status, .. } if status == "Rejection"), "{err}");
        let err = check_timestamp_response(&request, b"<html>not a TSA</html>").unwrap_err();
        assert!(matches!(err, TimestampError::Response(_)), "{err}");
    }

    #[test]
    fn a_token_whose_tsa_signature_does_not_hold_is_refused() {
        let (pki, _, signature) = fixture(Alg::P256);
        let request = timestamp_request(HashAlgorithm::Sha256, &signature).unwrap();
        let response = openssl_reply(&pki, &request, "tsa_config");
        let mut parsed = TimeStampResp::from_der(&response).unwrap();
        let token = parsed.time_stamp_token.as_mut().unwrap();
        let mut signed: SignedData = token.content.decode_as().unwrap();
        let mut signers = signed.signer_infos.0.into_vec();
        let mut bytes = signers[0].signature.as_bytes().to_vec();
        *bytes.last_mut().unwrap() ^= 1;
        signers[0].signature = OctetString::new(bytes).unwrap();
        signed.signer_infos = SignerInfos::try_from(signers).unwrap();
        token.content = Any::encode_from(&signed).unwrap();
        let tampered = parsed.to_der().unwrap();
        let err = check_timestamp_response(&request, &tampered).unwrap_err();
        assert!(matches!(err, TimestampError::Signature(_)), "{err}");
    }
}
