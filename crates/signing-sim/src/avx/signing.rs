//! AppViewX hash signing: submitting a DigestInfo, polling its status, downloading the result.
//! The signatures themselves (real ones, by the signing key) are `signature`'s.

use std::fmt::Write as _;
use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::avx_codes::{app_code, message};
use crate::chain::{self, Submission};
use crate::config::{ApprovalMode, AvxPolicy, AvxUser, SimConfig};
use crate::fault::SignatureFault;
use crate::http::{Reply, Req};
use crate::shared::Shared;
use crate::state::{Chain, SignPhase, SignRecord, SignRequest, Store};

use super::envelope::{fail, ok, parse_json};
use super::login::authenticate;
use super::signature;

/// DER prefixes of PKCS#1 v1.5 DigestInfo, paired with the digest length that must follow. The
/// AppViewX SIGN guides 2024.x ("Generate Digital Signature for Hash") describe the payload for
/// SHA-1, SHA-256, SHA-384 and SHA-512.
const DIGEST_INFO_PREFIXES: [(&str, &[u8], usize); 4] = [
    ("SHA-1", &[0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14], 20),
    (
        "SHA-256",
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ],
        32,
    ),
    (
        "SHA-384",
        &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
            0x30,
        ],
        48,
    ),
    (
        "SHA-512",
        &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
            0x40,
        ],
        64,
    ),
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateHashRequest {
    signing_policy: String,
    signing_key: String,
    version_number: String,
    /// "(Mandatory)" in the 2024.x and later guides, like every other payload field.
    description: String,
    signed_type: String,
    file_hash_content: String,
}

/// The documents give no example of the submit answer; the reference infers `response.signId`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubmitResponse {
    sign_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    encoded_hash_data: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_of_in_progress_requests: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_due_to_timeout_error: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadRequest {
    #[serde(default)]
    sign_id: Option<String>,
}

/// Undocumented; the same as the status document's `Signed` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadResponse {
    encoded_hash_data: String,
    status: &'static str,
}

/// 24 hex digits shaped like a MongoDB ObjectId (time, random, counter), as AppViewX's are.
fn new_sign_id(store: &mut Store, now_ms: i64) -> String {
    store.sign_counter = store.sign_counter.wrapping_add(1) & 0x00ff_ffff;
    let secs = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
    let random = uuid::Uuid::new_v4();
    let mut bytes = Vec::with_capacity(12);
    bytes.extend_from_slice(&secs.to_be_bytes());
    bytes.extend_from_slice(&random.as_bytes()[..5]);
    bytes.extend_from_slice(&store.sign_counter.to_be_bytes()[1..]);
    bytes.iter().fold(String::with_capacity(24), |mut id, b| {
        let _ = write!(id, "{b:02x}");
        id
    })
}

/// `fileHashContent` must be the Base64 of a SHA-1/256/384/512 DigestInfo with the digest
/// length its prefix announces, as the 2024.x guides describe the payload. Returns the decoded
/// DigestInfo and where its digest starts, which the approval chain matches pre-qualified hashes
/// against.
pub(super) fn validate_file_hash(content: &str) -> Result<(Vec<u8>, usize), Reply> {
    let bad = |why: String| {
        fail(
            400,
            app_code::BAD_FILE_HASH,
            format!("fileHashContent must be the Base64 of a SHA-1/256/384/512 DigestInfo: {why}"),
        )
    };
    let der = STANDARD.decode(content.as_bytes()).map_err(|_| bad("not valid Base64".to_string()))?;
    for (name, prefix, len) in DIGEST_INFO_PREFIXES {
        if der.starts_with(prefix) {
            let got = der.len() - prefix.len();
            return if got == len {
                Ok((der, prefix.len()))
            } else {
                Err(bad(format!("{name} prefix followed by {got} bytes, not {len}")))
            };
        }
    }
    Err(bad(format!("no known DigestInfo prefix ({} bytes given)", der.len())))
}

/// `POST /avxapi/code-signing-generate-hash`: submits a DigestInfo for signing. Checks run
/// session → may sign → body → policy → key → signedType → IP allow-list → `fileHashContent`;
/// the approval chain comes last, because it never refuses the submission: what it lacks shows
/// in the request's status (`Failed`, or `Inprogress` while an approver is awaited).
pub(super) fn generate_hash(shared: &Shared, req: &Req, fault: Option<SignatureFault>) -> Result<Reply, Reply> {
    let now = shared.clock.now_ms();
    let account = authenticate(shared, &shared.lock(), req, now)?;
    if !account.can_sign {
        return Err(fail(403, app_code::NO_PERMISSION, message::NO_PERMISSION));
    }
    let body: GenerateHashRequest = parse_json(req)?;
    let policy = policy_allowing(&shared.config, &body, req)?;
    let (digest_info, digest_at) = validate_file_hash(&body.file_hash_content)?;
    // An RSA signature takes milliseconds: made before the lock is taken.
    let genuine = signature::sign(&shared.pki, &body.signing_key, &digest_info, digest_at)?;
    let peer = req.peer.ip().to_canonical();
    let mut store = shared.lock();
    let answer = match fault {
        None => genuine.clone(),
        Some(fault) => signature::at_submission(
            &shared.pki,
            &store.signs,
            &body.signing_key,
            (&digest_info, digest_at, &genuine),
            fault,
        )?,
    };
    let sign_id = new_sign_id(&mut store, now);
    let chain = approval_chain(&shared.config, policy, &mut store, (&digest_info, digest_at), peer, &sign_id, now);
    let delay_ms = policy.sign_delay_ms.unwrap_or(shared.config.appviewx.sign_delay_ms);
    let record = new_sign_record(body, sign_id.clone(), account.username.clone(), peer);
    store.signs.push(SignRequest {
        record,
        created_ms: now,
        delay_ms,
        outcome: policy.outcome,
        script: policy.signed_script.clone(),
        chain,
        digest_info,
        digest_at,
        signature: genuine,
        answer,
    });
    Ok(ok(SubmitResponse { sign_id }))
}

/// What the approval chain makes of a submission (nothing asked when it is only recorded).
fn approval_chain(
    config: &SimConfig,
    policy: &AvxPolicy,
    store: &mut Store,
    (digest_info, digest_at): (&[u8], usize),
    peer: IpAddr,
    sign_id: &str,
    now: i64,
) -> Chain {
    match config.approval {
        ApprovalMode::Recorded => Chain::Recorded,
        ApprovalMode::Enforced => {
            // `validate` refuses a policy no environment governs; were there none, no
            // pre-qualification could match the empty DN and the signing would fail.
            let dn = config.governing_environment(policy).map_or("", |e| e.dn.as_str());
            chain::submit(
                store,
                &Submission {
                    dn,
                    digest: digest_info.get(digest_at..).unwrap_or_default(),
                    digest_info,
                    peer,
                    sign_id,
                    now_ms: now,
                    auto_after_ms: config.appviewx.manual_approval_after_ms,
                    timeout_ms: config.appviewx.approval_timeout_ms,
                },
            )
        }
    }
}

/// The policy a submission names, once its key, signed type and the caller's address pass it.
/// These are AppViewX's own refusals, each with its documented code, and they come before the
/// `fileHashContent` check because that is the order a client sees them in.
fn policy_allowing<'a>(config: &'a SimConfig, body: &GenerateHashRequest, req: &Req) -> Result<&'a AvxPolicy, Reply> {
    let Some(policy) = config.appviewx.policies.iter().find(|p| p.name == body.signing_policy) else {
        return Err(fail(500, app_code::POLICY_NOT_FOUND, message::POLICY_NOT_FOUND));
    };
    if !policy.keys.contains(&body.signing_key) {
        return Err(fail(500, app_code::KEY_NOT_MAPPED, message::KEY_NOT_MAPPED));
    }
    if !policy.signed_types.contains(&body.signed_type) {
        return Err(fail(500, app_code::SIGNED_TYPE_NOT_SUPPORTED, message::SIGNED_TYPE_NOT_SUPPORTED));
    }
    if !policy.allowed_ips.is_empty() {
        let caller = req.peer.ip().to_canonical();
        let allowed =
            policy.allowed_ips.iter().filter_map(|ip| ip.parse::<IpAddr>().ok()).any(|ip| ip.to_canonical() == caller);
        if !allowed {
            return Err(fail(500, app_code::IP_NOT_ALLOWED, message::IP_NOT_ALLOWED));
        }
    }
    Ok(policy)
}

/// What the snapshot shows of a new submission. The approval fields start empty because the
/// snapshot derives them from the request's chain and the clock each time it is taken.
fn new_sign_record(body: GenerateHashRequest, sign_id: String, username: String, peer: IpAddr) -> SignRecord {
    SignRecord {
        sign_id,
        signing_policy: body.signing_policy,
        signing_key: body.signing_key,
        signed_type: body.signed_type,
        file_hash_content: body.file_hash_content,
        description: Some(body.description),
        version_number: body.version_number,
        status: "Inprogress".to_string(),
        username,
        approval: String::new(),
        approval_reason: None,
        peer: Some(peer),
    }
}

/// Finds a sign request the caller may see, with AppViewX's errors for the other cases. A
/// request younger than `visibility_delay_ms` is not there yet.
fn owned_sign<'a>(
    shared: &Shared,
    store: &'a Store,
    account: &AvxUser,
    sign_id: Option<&str>,
    now_ms: i64,
) -> Result<&'a SignRequest, Reply> {
    let Some(sign_id) = sign_id.filter(|s| !s.trim().is_empty()) else {
        return Err(fail(400, app_code::SIGN_ID_MISSING, message::SIGN_ID_MISSING));
    };
    let visible_after = i64::try_from(shared.config.appviewx.visibility_delay_ms).unwrap_or(i64::MAX);
    let Some(sign) = store
        .signs
        .iter()
        .find(|s| s.record.sign_id == sign_id && now_ms >= s.created_ms.saturating_add(visible_after))
    else {
        return Err(fail(400, app_code::SIGN_DATA_NOT_PRESENT, message::SIGN_DATA_NOT_PRESENT));
    };
    if sign.record.username != account.username {
        return Err(fail(403, app_code::NO_STATUS_PERMISSION, message::NO_STATUS_PERMISSION));
    }
    Ok(sign)
}

/// `GET /avxapi/code-signing-fetch-status-sync-requests?signId=...`: where a request stands now.
pub(super) fn fetch_status(shared: &Shared, req: &Req, fault: Option<SignatureFault>) -> Result<Reply, Reply> {
    let now = shared.clock.now_ms();
    let store = shared.lock();
    let account = authenticate(shared, &store, req, now)?;
    let sign = owned_sign(shared, &store, account, req.query_param("signId"), now)?;
    let in_progress = store
        .signs
        .iter()
        .filter(|s| s.record.username == account.username)
        .filter(|s| s.phase(now) == SignPhase::InProgress)
        .count();
    match sign.phase(now) {
        SignPhase::InProgress => Ok(ok(StatusResponse {
            encoded_hash_data: None,
            status: "Inprogress",
            no_of_in_progress_requests: Some(in_progress),
            failed_due_to_timeout_error: Some(false),
        })),
        SignPhase::Signed => Ok(ok(StatusResponse {
            encoded_hash_data: Some(signature::encoded_hash_data(&shared.pki, &store.signs, sign, fault)?),
            status: "Signed",
            no_of_in_progress_requests: None,
            failed_due_to_timeout_error: None,
        })),
        SignPhase::TimedOut => Ok(ok(StatusResponse {
            encoded_hash_data: None,
            status: SignPhase::TimedOut.label(),
            no_of_in_progress_requests: Some(in_progress),
            failed_due_to_timeout_error: Some(true),
        })),
        SignPhase::Failed => Ok(ok(StatusResponse {
            encoded_hash_data: None,
            status: SignPhase::Failed.label(),
            no_of_in_progress_requests: Some(in_progress),
            failed_due_to_timeout_error: Some(false),
        })),
        SignPhase::FetchFails => Err(fail(500, app_code::FETCH_SIGN_DATA_FAILED, message::FETCH_SIGN_DATA_FAILED)),
    }
}

/// `POST /avxapi/code-signing-download-signed-file` with `{"signId"}`: the signed data once there
/// is some.
pub(super) fn download(shared: &Shared, req: &Req, fault: Option<SignatureFault>) -> Result<Reply, Reply> {
    let now = shared.clock.now_ms();
    let store = shared.lock();
    let account = authenticate(shared, &store, req, now)?;
    let body: DownloadRequest = parse_json(req)?;
    let sign = owned_sign(shared, &store, account, body.sign_id.as_deref(), now)?;
    match sign.phase(now) {
        SignPhase::Signed => Ok(ok(DownloadResponse {
            encoded_hash_data: signature::encoded_hash_data(&shared.pki, &store.signs, sign, fault)?,
            status: "Signed",
        })),
        SignPhase::FetchFails => Err(fail(500, app_code::FETCH_SIGN_DATA_FAILED, message::FETCH_SIGN_DATA_FAILED)),
        SignPhase::InProgress | SignPhase::TimedOut | SignPhase::Failed => {
            Err(fail(400, app_code::NOT_SIGNED, message::NOT_SIGNED))
        }
    }
}

/// `SimHandle::signature`: the Base64 signature a signed request of this key and
/// `fileHashContent` answers, without faults; `None` for an unknown key or content the submit
/// call refuses.
pub(crate) fn expected_signature(shared: &Shared, signing_key: &str, file_hash_content: &str) -> Option<String> {
    let (digest_info, digest_at) = validate_file_hash(file_hash_content).ok()?;
    let raw = signature::sign(&shared.pki, signing_key, &digest_info, digest_at).ok()?;
    Some(STANDARD.encode(raw))
}

/// `SimHandle::encoded_hash_data`: what a status call answers as `encodedHashData` for a sign
/// request once it is signed, including what a signature fault on its submission did.
pub(crate) fn encoded_hash_data_of(shared: &Shared, sign_id: &str) -> Option<String> {
    let store = shared.lock();
    let sign = store.signs.iter().find(|s| s.record.sign_id == sign_id)?;
    Some(signature::shaped(sign.script.as_deref(), &sign.answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_info(prefix_idx: usize, len: usize) -> String {
        let mut v = DIGEST_INFO_PREFIXES[prefix_idx].1.to_vec();
        v.extend(std::iter::repeat_n(7u8, len));
        STANDARD.encode(v)
    }

    #[test]
    fn digest_info_validation() {
        let (der, at) = validate_file_hash(&digest_info(0, 20)).expect("valid");
        assert_eq!((der.len(), at), (35, 15));
        assert!(validate_file_hash(&digest_info(1, 32)).is_ok());
        assert!(validate_file_hash(&digest_info(2, 48)).is_ok());
        assert!(validate_file_hash(&digest_info(3, 64)).is_ok());
        assert!(validate_file_hash(&digest_info(0, 32)).is_err());
        assert!(validate_file_hash(&digest_info(1, 31)).is_err());
        assert!(validate_file_hash(&digest_info(3, 32)).is_err());
        assert!(validate_file_hash(&STANDARD.encode([0u8; 32])).is_err());
        assert!(validate_file_hash("not base64!").is_err());
        assert!(validate_file_hash("").is_err());
    }
}
