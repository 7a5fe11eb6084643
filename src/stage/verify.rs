//! The verification stage: each signature AppViewX returned is checked with the signing
//! certificate's key over the digest that was pre-qualified before the artifact counts as
//! signed; with `signature-format: cms` it is wrapped as a detached CMS signature, timestamped
//! first when `timestamp-url` is set.
//!
//! Without this, a signature by the wrong key, a truncated answer or two sign ids answered with
//! each other's signatures would all be handed out as "signed".

use base64::Engine as _;
use futures_util::stream::{self, StreamExt};
use reqwest::{Method, Url};

use super::record::{SignRecord, SignStatus, TimestampRecord, Verification};
use super::sign::{Planned, SignResult};
use super::{Context, Problems};
use crate::config::{SignatureConfig, SignatureFormat};
use crate::digest::Digest;
use crate::http::{Call, Http, Repeat};
use crate::signature::{self, SigningCertificate};

/// What a signed script's `encodedHashData` holds instead of a Base64 signature.
const SCRIPT_SIGNATURE_BLOCK: &str = "# SIG # Begin signature block";

/// Checks (and wraps, and timestamps) every signature in `result`, in place. A signature that
/// does not verify fails its artifact: its status becomes `failed` and no file is written.
pub async fn run(ctx: &Context<'_>, cfg: &SignatureConfig, http: &Http, plan: &[Planned<'_>], result: &mut SignResult) {
    // A plan's signatures are placeholders: there is nothing to verify, wrap or timestamp.
    if ctx.config.plan.is_some() {
        return;
    }
    let mut problems = Problems::default();
    let mut work = Vec::new();
    for (i, record) in result.artifacts.iter_mut().enumerate() {
        let Some(record) = record.as_mut().filter(|r| r.status == SignStatus::Signed) else { continue };
        let Some(Planned::Submit { name, digest, .. } | Planned::Resume { name, digest, .. }) = plan.get(i) else {
            continue;
        };
        if let Some(signature) = check(cfg.certificate.as_ref(), digest, record, name, &mut problems) {
            work.push((*name, *digest, record, signature));
        }
    }
    for record in result.awaited.iter_mut().filter(|r| r.status == SignStatus::Signed) {
        record.verification = Verification::Unchecked("a sign id given in sign-ids comes without the digest it signs");
    }
    if let (SignatureFormat::Cms, Some(certificate)) = (cfg.format, cfg.certificate.as_ref()) {
        let stamped = stream::iter(work.iter().map(|(name, digest, _, signature)| async move {
            match &cfg.timestamp_url {
                Some(url) => timestamp(http, url, name, digest, signature).await.map(Some),
                None => Ok(None),
            }
        }))
        .buffered(ctx.config.max_concurrency)
        .collect::<Vec<_>>()
        .await;
        for ((name, digest, record, signature), stamp) in work.into_iter().zip(stamped) {
            seal(certificate, name, digest, record, &signature, stamp, &mut problems);
        }
    }
    if !problems.0.is_empty() {
        ctx.log.info(&format!("{} signature(s) refused", problems.0.len()));
    }
    result.problems.0.extend(problems.0);
}

/// Verifies one signed record; the raw signature when it may be handed out.
fn check(
    certificate: Option<&SigningCertificate>,
    digest: &Digest,
    record: &mut SignRecord,
    name: &str,
    problems: &mut Problems,
) -> Option<Vec<u8>> {
    let encoded = record.encoded.as_deref()?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim());
    let signature = match (decoded, certificate) {
        (Ok(bytes), _) => bytes,
        (Err(_), _) if encoded.contains(SCRIPT_SIGNATURE_BLOCK) => {
            record.verification = Verification::SignedScript;
            return None;
        }
        (Err(_), None) => {
            record.verification = Verification::Unchecked("no signing-certificate was given");
            return None;
        }
        (Err(e), Some(_)) => {
            refuse(record, name, format!("AppViewX's signature is neither Base64 nor a signed script ({e})"), problems);
            return None;
        }
    };
    let Some(certificate) = certificate else {
        record.verification = Verification::Unchecked("no signing-certificate was given");
        return Some(signature);
    };
    match signature::verify(certificate, digest.algorithm, &digest.bytes, &signature) {
        Ok(()) => {
            record.verification = Verification::Verified {
                certificate_sha256: hex(&certificate.sha256_fingerprint()),
                subject: certificate.subject(),
                key: certificate.key().to_string(),
            };
            Some(signature)
        }
        Err(e) => {
            let message = format!(
                "the signature AppViewX returned does not verify with signing-certificate `{}` over this artifact's {} digest: {e}",
                certificate.subject(),
                digest.algorithm.name()
            );
            refuse(record, name, message, problems);
            None
        }
    }
}

/// Fails a signed record: nothing of it is handed out as a signature.
fn refuse(record: &mut SignRecord, name: &str, message: String, problems: &mut Problems) {
    problems.error("verify", Some(name), message.clone());
    record.status = SignStatus::Failed;
    record.verification = Verification::Failed(message.clone());
    record.message = Some(message);
    record.encoded = None;
}

/// Wraps a verified signature (and its timestamp) as a detached CMS signature.
fn seal(
    certificate: &SigningCertificate,
    name: &str,
    digest: &Digest,
    record: &mut SignRecord,
    signature: &[u8],
    stamp: Result<Option<signature::Timestamp>, String>,
    problems: &mut Problems,
) {
    let stamp = match stamp {
        Ok(stamp) => stamp,
        Err(e) => {
            problems.error("timestamp", Some(name), e.clone());
            record.status = SignStatus::Failed;
            record.message = Some(e);
            record.encoded = None;
            return;
        }
    };
    match signature::detached_cms(certificate, digest.algorithm, signature, stamp.as_ref().map(|t| t.token.as_slice()))
    {
        Ok(der) => {
            record.detached = Some(der);
            record.timestamp =
                stamp.map(|t| TimestampRecord { time: crate::civil::utc_timestamp(t.gen_time), tsa: t.tsa });
        }
        Err(e) => {
            let message = format!("cannot build the CMS signature: {e}");
            problems.error("verify", Some(name), message.clone());
            record.status = SignStatus::Failed;
            record.message = Some(message);
            record.encoded = None;
        }
    }
}

/// Asks the TSA for a token over `signature` and checks it answers this request.
async fn timestamp(
    http: &Http,
    url: &Url,
    name: &str,
    digest: &Digest,
    signature: &[u8],
) -> Result<signature::Timestamp, String> {
    let request = signature::timestamp_request(digest.algorithm, signature).map_err(|e| e.to_string())?;
    let mut call = Call::new("tsa", "timestamp", Method::POST, url.clone())
        .header("accept", "application/timestamp-reply")
        .bytes(request.der.clone(), "application/timestamp-query")
        .artifact(name);
    // A second query only gets a second token; the first is simply never used.
    call.repeat = Repeat::Safe;
    let reply = http.send(&call).await.map_err(|e| format!("timestamp-url: {e}"))?;
    if reply.status != 200 {
        return Err(format!("timestamp-url: the TSA answered HTTP {}", reply.status));
    }
    signature::check_timestamp_response(&request, &reply.body).map_err(|e| format!("timestamp-url: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}
