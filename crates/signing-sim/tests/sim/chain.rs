//! The approval chain (enforced by default): AppViewX signs what TPP pre-qualified and
//! pre-approved, holds the rest for an approver, and fails what was not pre-qualified.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use signing_sim::{AvxPolicy, SignRecord, SimConfig, SimHandle, TppEnvironment};

use crate::*;

const SHA256_PREFIX: [u8; 19] =
    [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
const SIGN_DELAY_MS: u64 = 1_000;

/// A SHA-256 digest made of one repeated byte: its DigestInfo (what AppViewX gets) and the bare
/// digest (what a PreQualify `Data` may carry instead), both Base64.
fn sha256(fill: u8) -> (String, String) {
    let digest = [fill; 32];
    let mut info = SHA256_PREFIX.to_vec();
    info.extend(digest);
    (STANDARD.encode(info), STANDARD.encode(digest))
}

fn enforced() -> SimConfig {
    let mut config = SimConfig::default();
    config.appviewx.sign_delay_ms = SIGN_DELAY_MS;
    // Long enough for the clock pushes below (pre-approvals last hours).
    config.appviewx.session_lifetime_secs = 3 * 86_400;
    config
}

async fn prequalify(sim: &SimHandle, token: &str, data: &str, extra: Value) {
    let mut body = json!({"Dn": DN, "Data": data, "User": "local:sample-cs-user", "Comment": "build 42"});
    merge(&mut body, extra);
    let (s, b) = post_sdk(sim, token, PREQUALIFY, &body).await;
    assert_eq!((s, &b), (200, &json!({"Success": true})), "{body}");
}

async fn preapprove(sim: &SimHandle, token: &str, extra: Value) {
    let mut body = json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "release"});
    merge(&mut body, extra);
    let (s, b) = post_sdk(sim, token, PREAPPROVE, &body).await;
    assert_eq!((s, &b), (200, &json!({"Success": true})), "{body}");
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

async fn sign(sim: &SimHandle, session: &AvxSession, digest_info: &str) -> String {
    sign_under(sim, session, "sample-policy", digest_info).await
}

async fn sign_under(sim: &SimHandle, session: &AvxSession, policy: &str, digest_info: &str) -> String {
    let mut body = submit_body(policy, "sample-key");
    body["fileHashContent"] = json!(digest_info);
    let (s, b) = avx_submit(sim, session, &body).await;
    assert_eq!(s, 200, "{b}");
    b["response"]["signId"].as_str().expect("signId").to_string()
}

/// The status call's `response`.
async fn status(sim: &SimHandle, session: &AvxSession, sign_id: &str) -> Value {
    let (s, b) = avx_status(sim, session, sign_id).await;
    assert_eq!(s, 200, "{b}");
    b["response"].clone()
}

fn record(sim: &SimHandle, sign_id: &str) -> SignRecord {
    sim.state().sign_requests.into_iter().find(|r| r.sign_id == sign_id).expect("sign request recorded")
}

async fn approve_over_http(sim: &SimHandle, body: Value) -> (u16, Value) {
    send(client().post(format!("{}/__sim/approve", sim.base_url())).json(&body)).await
}

fn awaiting(dn: &str) -> String {
    format!("awaiting approval: no live pre-approval for {dn} from 127.0.0.1")
}

/// `2030-01-02T03:04:05Z` for unix milliseconds, as `NotBefore` takes it.
fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `SingleUse: true`, "Used only once": N single-use pre-approvals serve N signings, one each, and
/// the signing after them waits for an approver.
#[tokio::test]
async fn n_single_use_preapprovals_serve_n_signings() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    for fill in 1..=4u8 {
        prequalify(&sim, &token, &sha256(fill).0, json!({"SingleUse": true})).await;
    }
    for _ in 0..3 {
        preapprove(&sim, &token, json!({"SingleUse": true, "IPAddress": "127.0.0.1", "Hours": 1})).await;
    }
    let session = avx_session(&sim).await;
    let mut ids = Vec::new();
    for fill in 1..=3u8 {
        ids.push(sign(&sim, &session, &sha256(fill).0).await);
    }
    let fourth = sign(&sim, &session, &sha256(4).0).await;
    sim.advance_time(Duration::from_millis(SIGN_DELAY_MS));
    for id in &ids {
        let r = status(&sim, &session, id).await;
        assert_eq!(r["status"], "Signed", "{r}");
        let rec = record(&sim, id);
        assert_eq!((rec.approval.as_str(), rec.approval_reason), ("pre-approved", None));
        assert_eq!(rec.peer, Some("127.0.0.1".parse().expect("ip")));
    }
    assert_eq!(status(&sim, &session, &fourth).await["status"], "Inprogress");
    let rec = record(&sim, &fourth);
    assert_eq!((rec.approval, rec.approval_reason.as_deref()), (awaiting(DN), Some("all-used")));
    let state = sim.state();
    let used: Vec<Vec<String>> = state.preapprovals.iter().map(|p| p.used_by.clone()).collect();
    assert_eq!(used, ids.iter().map(|id| vec![id.clone()]).collect::<Vec<_>>(), "oldest first, one each");
    let prequal_used: Vec<&[String]> = state.prequalifications.iter().map(|p| p.used_by.as_slice()).collect();
    assert_eq!(prequal_used, [&ids[..1], &ids[1..2], &ids[2..3], std::slice::from_ref(&fourth)]);
    assert!(state.preapprovals.iter().all(|p| p.created_ms > 0));
    assert!(state.prequalifications.iter().all(|p| p.created_ms > 0));
}

/// One single-use pre-approval, two signings: the second waits (`Inprogress`) until an approver
/// acts through `POST /__sim/approve`, then signs after the usual delay, counted from then.
#[tokio::test]
async fn one_single_use_preapproval_serves_one_signing_and_the_second_waits_for_the_approver() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, digest) = sha256(7);
    prequalify(&sim, &token, &digest, json!({"SingleUse": false})).await;
    preapprove(&sim, &token, json!({"SingleUse": true})).await;
    let session = avx_session(&sim).await;
    let first = sign(&sim, &session, &info).await;
    let second = sign(&sim, &session, &info).await;
    sim.advance_time(Duration::from_secs(600));
    assert_eq!(status(&sim, &session, &first).await["status"], "Signed");
    assert_eq!(
        status(&sim, &session, &second).await,
        json!({"status": "Inprogress", "noOfInProgressRequests": 1, "failedDueToTimeoutError": false})
    );
    let rec = record(&sim, &second);
    assert_eq!((rec.approval, rec.approval_reason.as_deref()), (awaiting(DN), Some("all-used")));
    assert_eq!(sim.state().preapprovals[0].used_by, std::slice::from_ref(&first));
    assert_eq!(sim.state().prequalifications[0].used_by, [first.clone(), second.clone()]);

    // The approver's route: refusals first, in the simulator's {"error","error_description"} shape.
    let (s, b) = approve_over_http(&sim, json!({"signId": "65c47fa41112f940dab1cb12"})).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")), "{b}");
    let (s, b) = approve_over_http(&sim, json!({"signId": first})).await;
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")), "{b}");
    assert!(b["error_description"].as_str().is_some_and(|d| d.contains("pre-approved")), "{b}");
    let (s, b) = approve_over_http(&sim, json!({"signId": second, "decision": "maybe"})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")), "{b}");
    let (s, _) = approve_over_http(&sim, json!({"sign_id": second})).await;
    assert_eq!(s, 400);
    let (s, _) = send(client().get(format!("{}/__sim/approve", sim.base_url()))).await;
    assert_eq!(s, 405);
    assert_eq!(status(&sim, &session, &second).await["status"], "Inprogress", "refusals decide nothing");

    let (s, b) = approve_over_http(&sim, json!({"signId": second, "decision": "approve"})).await;
    assert_eq!((s, b), (200, json!({"signId": second, "approval": "approved by approver", "status": "Inprogress"})));
    assert_eq!(record(&sim, &second).approval, "approved by approver");
    assert_eq!(status(&sim, &session, &second).await["status"], "Inprogress", "the delay runs from the approval");
    let (s, _) = approve_over_http(&sim, json!({"signId": second})).await;
    assert_eq!(s, 409, "decided once");
    sim.advance_time(Duration::from_millis(SIGN_DELAY_MS));
    let r = status(&sim, &session, &second).await;
    assert_eq!(r, json!({"encodedHashData": sim.signature("sample-key", &info).expect("signs"), "status": "Signed"}));
    assert_eq!(sim.state().preapprovals[0].used_by, [first], "an approval uses no pre-approval");
}

/// `SingleUse: false`: "Multiple uses until the pre-approval expires", `Hours` after creation.
#[tokio::test]
async fn a_shared_preapproval_serves_many_until_its_hours_pass() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, digest) = sha256(9);
    prequalify(&sim, &token, &digest, json!({"Hours": 48})).await;
    preapprove(&sim, &token, json!({"SingleUse": false, "Hours": 2})).await;
    let session = avx_session(&sim).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(sign(&sim, &session, &info).await);
    }
    sim.advance_time(Duration::from_secs(3600));
    ids.push(sign(&sim, &session, &info).await);
    sim.advance_time(Duration::from_millis(SIGN_DELAY_MS));
    for id in &ids {
        assert_eq!(status(&sim, &session, id).await["status"], "Signed", "{id}");
    }
    assert_eq!(sim.state().preapprovals[0].used_by, ids);
    sim.advance_time(Duration::from_secs(3600));
    let late = sign(&sim, &session, &info).await;
    assert_eq!(status(&sim, &session, &late).await["status"], "Inprogress");
    let rec = record(&sim, &late);
    assert_eq!((rec.approval, rec.approval_reason.as_deref()), (awaiting(DN), Some("expired")));
    assert_eq!(sim.state().preapprovals[0].used_by.len(), 4);
}

/// "Pre-approval will not be valid until this time": before `NotBefore` a signing waits (here
/// the approver rejects it: `Failed`, not a timeout); after it, the same pre-approval serves.
#[tokio::test]
async fn a_not_before_in_the_future_holds_the_signing() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(3);
    prequalify(&sim, &token, &info, json!({})).await;
    let in_an_hour = iso_utc(wall_ms() + 3_600_000);
    preapprove(&sim, &token, json!({"NotBefore": in_an_hour, "SingleUse": true})).await;
    let session = avx_session(&sim).await;
    let early = sign(&sim, &session, &info).await;
    assert_eq!(status(&sim, &session, &early).await["status"], "Inprogress");
    let rec = record(&sim, &early);
    assert_eq!((rec.approval, rec.approval_reason.as_deref()), (awaiting(DN), Some("not-yet-valid")));
    sim.reject(&early).expect("it waits");
    assert_eq!(
        status(&sim, &session, &early).await,
        json!({"status": "Failed", "noOfInProgressRequests": 0, "failedDueToTimeoutError": false})
    );
    assert_eq!(record(&sim, &early).approval, "rejected");
    assert!(sim.approve(&early).is_err(), "a rejection is final");

    sim.advance_time(Duration::from_secs(3600 + 60));
    let on_time = sign(&sim, &session, &info).await;
    assert_eq!(record(&sim, &on_time).approval, "pre-approved");
    assert_eq!(sim.state().preapprovals[0].used_by, [on_time]);
}

/// "If present, the IP address must match ... Otherwise, pre-approval will not be used": the
/// address compared is the submitter's as this server sees it (an IPv4-mapped IPv6 spelling of
/// it matches too).
#[tokio::test]
async fn an_ip_address_other_than_the_submitters_holds_the_signing() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(5);
    prequalify(&sim, &token, &info, json!({})).await;
    preapprove(&sim, &token, json!({"IPAddress": "192.0.2.7"})).await;
    let session = avx_session(&sim).await;
    let elsewhere = sign(&sim, &session, &info).await;
    let rec = record(&sim, &elsewhere);
    assert_eq!((rec.approval, rec.approval_reason.as_deref()), (awaiting(DN), Some("none-for-address")));
    sim.advance_time(Duration::from_secs(60));
    assert_eq!(status(&sim, &session, &elsewhere).await["status"], "Inprogress");
    sim.approve(&elsewhere).expect("it waits");
    sim.advance_time(Duration::from_millis(SIGN_DELAY_MS));
    assert_eq!(status(&sim, &session, &elsewhere).await["status"], "Signed");

    preapprove(&sim, &token, json!({"IPAddress": "::ffff:127.0.0.1", "SingleUse": true})).await;
    let here = sign(&sim, &session, &info).await;
    assert_eq!(record(&sim, &here).approval, "pre-approved");
    let used: Vec<Vec<String>> = sim.state().preapprovals.into_iter().map(|p| p.used_by).collect();
    assert_eq!(used, [vec![], vec![here]]);
}

/// "If the software hash does not match the pre-qualified hash, code signing fails": at once,
/// not for a timeout, and without using the pre-approval that was there for it.
#[tokio::test]
async fn a_digest_not_pre_qualified_fails_and_consumes_no_preapproval() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, digest) = sha256(1);
    prequalify(&sim, &token, &sha256(2).1, json!({})).await;
    preapprove(&sim, &token, json!({"SingleUse": true, "IPAddress": "127.0.0.1"})).await;
    let session = avx_session(&sim).await;
    let refused = sign(&sim, &session, &info).await;
    let (s, text) = send_raw(
        client()
            .get(format!("{}&signId={refused}", avx_url(&sim, "code-signing-fetch-status-sync-requests", "api")))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password),
    )
    .await;
    assert_eq!(
        (s, text.as_str()),
        (
            200,
            r#"{"response":{"status":"Failed","noOfInProgressRequests":0,"failedDueToTimeoutError":false},"message":null,"appStatusCode":null,"tags":null,"headers":null}"#
        )
    );
    let rec = record(&sim, &refused);
    assert_eq!(
        (rec.status.as_str(), rec.approval.as_str(), rec.approval_reason.as_deref()),
        ("Failed", "failed: digest not pre-qualified", Some("none-for-digest"))
    );
    let state = sim.state();
    assert!(state.preapprovals[0].used_by.is_empty() && state.prequalifications[0].used_by.is_empty());
    let (s, b) = send(
        client()
            .post(avx_url(&sim, "code-signing-download-signed-file", "external"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&json!({"signId": refused})),
    )
    .await;
    assert_eq!((s, b["appStatusCode"].as_str()), (400, Some("CODE_SIGNING_9003")));
    assert!(sim.approve(&refused).is_err(), "there is nothing to approve");

    // Pre-qualified as the bare digest, the same submission now takes the pre-approval.
    prequalify(&sim, &token, &digest, json!({})).await;
    let signed = sign(&sim, &session, &info).await;
    assert_eq!(record(&sim, &signed).approval, "pre-approved");
    assert_eq!(sim.state().preapprovals[0].used_by, [signed]);
}

/// PreQualify's `SingleUse: true` is "Sign once": a second signing of the same digest fails,
/// even with a pre-approval that would serve it.
#[tokio::test]
async fn a_single_use_prequalification_cannot_serve_a_second_signing_of_its_digest() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(4);
    prequalify(&sim, &token, &info, json!({"SingleUse": true})).await;
    preapprove(&sim, &token, json!({"SingleUse": false})).await;
    let session = avx_session(&sim).await;
    let first = sign(&sim, &session, &info).await;
    let again = sign(&sim, &session, &info).await;
    sim.advance_time(Duration::from_millis(SIGN_DELAY_MS));
    assert_eq!(status(&sim, &session, &first).await["status"], "Signed");
    let r = status(&sim, &session, &again).await;
    assert_eq!((&r["status"], &r["failedDueToTimeoutError"]), (&json!("Failed"), &json!(false)));
    let rec = record(&sim, &again);
    assert_eq!(
        (rec.approval.as_str(), rec.approval_reason.as_deref()),
        ("failed: digest not pre-qualified", Some("all-used"))
    );
    let state = sim.state();
    assert_eq!(
        (&state.prequalifications[0].used_by, &state.preapprovals[0].used_by),
        (&vec![first.clone()], &vec![first])
    );
}

/// Nobody approves within `approval_timeout_ms`: `Failed` with `failedDueToTimeoutError: true`,
/// and it is too late for an approver.
#[tokio::test]
async fn an_unanswered_approval_times_out() {
    let mut config = enforced();
    config.appviewx.approval_timeout_ms = 60_000;
    let sim = sim(config).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(6);
    prequalify(&sim, &token, &info, json!({})).await;
    let session = avx_session(&sim).await;
    let id = sign(&sim, &session, &info).await;
    let rec = record(&sim, &id);
    assert_eq!((rec.approval, rec.approval_reason.as_deref()), (awaiting(DN), Some("none-for-address")));
    sim.advance_time(Duration::from_secs(55));
    assert_eq!(status(&sim, &session, &id).await["status"], "Inprogress");
    sim.advance_time(Duration::from_secs(6));
    assert_eq!(
        status(&sim, &session, &id).await,
        json!({"status": "Failed", "noOfInProgressRequests": 0, "failedDueToTimeoutError": true})
    );
    assert_eq!(record(&sim, &id).approval, "failed: approval timed out");
    let (s, b) = approve_over_http(&sim, json!({"signId": id})).await;
    assert_eq!(s, 409, "{b}");
    let err = sim.approve(&id).expect_err("too late").to_string();
    assert!(err.contains("approval timed out"), "{err}");
}

/// `manual_approval_after_ms`: a stand-in approver approves every waiting signing that long after
/// its submission; signing then takes its usual delay. One that never waited is left alone.
#[tokio::test]
async fn the_automatic_approver_approves_waiting_signings() {
    let mut config = enforced();
    config.appviewx.manual_approval_after_ms = Some(5_000);
    let sim = sim(config).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(8);
    prequalify(&sim, &token, &info, json!({})).await;
    let session = avx_session(&sim).await;
    let waiting = sign(&sim, &session, &info).await;
    preapprove(&sim, &token, json!({})).await;
    let pre_approved = sign(&sim, &session, &info).await;
    assert_eq!(record(&sim, &waiting).approval, awaiting(DN));
    sim.advance_time(Duration::from_secs(4));
    assert_eq!(status(&sim, &session, &waiting).await["status"], "Inprogress");
    assert_eq!(status(&sim, &session, &pre_approved).await["status"], "Signed");
    sim.advance_time(Duration::from_millis(1_500));
    assert_eq!(record(&sim, &waiting).approval, "approved by approver (automatic)");
    assert_eq!(record(&sim, &pre_approved).approval, "pre-approved");
    assert!(sim.approve(&waiting).is_err(), "already approved");
    // Approved at 5 s, signed at 6 s: the delay runs from the approval.
    assert_eq!(status(&sim, &session, &waiting).await["status"], "Inprogress");
    sim.advance_time(Duration::from_millis(600));
    assert_eq!(status(&sim, &session, &waiting).await["status"], "Signed");
}

/// A policy linked to another environment takes that environment's approvals only.
#[tokio::test]
async fn a_policy_is_governed_by_its_linked_environment() {
    const OTHER: &str = r"\VED\Code Signing\Projects\Sample\Other Environment";
    let mut config = enforced();
    config.tpp.environments.push(TppEnvironment { dn: OTHER.into(), approvers: vec!["sample-approver".into()] });
    config.appviewx.policies.push(AvxPolicy {
        name: "other-policy".into(),
        environment_dn: Some(OTHER.to_lowercase()),
        ..AvxPolicy::default()
    });
    let sim = sim(config).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(2);
    prequalify(&sim, &token, &info, json!({})).await;
    preapprove(&sim, &token, json!({})).await;
    let session = avx_session(&sim).await;
    let refused = sign_under(&sim, &session, "other-policy", &info).await;
    assert_eq!(record(&sim, &refused).approval, "failed: digest not pre-qualified");
    prequalify(&sim, &token, &info, json!({"Dn": OTHER})).await;
    let held = sign_under(&sim, &session, "other-policy", &info).await;
    assert_eq!(record(&sim, &held).approval, awaiting(OTHER), "the DN as configured");
    preapprove(&sim, &token, json!({"Dn": OTHER.to_uppercase()})).await;
    let served = sign_under(&sim, &session, "other-policy", &info).await;
    assert_eq!(record(&sim, &served).approval, "pre-approved");
    let used: Vec<usize> = sim.state().preapprovals.iter().map(|p| p.used_by.len()).collect();
    assert_eq!(used, [0, 1]);
}

/// Signings racing for one single-use pre-approval: exactly one gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_signings_race_for_one_single_use_preapproval() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(11);
    prequalify(&sim, &token, &info, json!({})).await;
    preapprove(&sim, &token, json!({"SingleUse": true})).await;
    let session = avx_session(&sim).await;
    let mut body = submit_body("sample-policy", "sample-key");
    body["fileHashContent"] = json!(info);
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let rb = client()
                .post(avx_url(&sim, "code-signing-generate-hash", "external"))
                .header("sessionId", &session.id)
                .header("username", &session.user)
                .header("password", &session.password)
                .json(&body);
            tokio::spawn(send(rb))
        })
        .collect();
    for job in jobs {
        assert_eq!(job.await.expect("join").0, 200);
    }
    let state = sim.state();
    let approvals: Vec<&str> = state.sign_requests.iter().map(|r| r.approval.as_str()).collect();
    assert_eq!(approvals.iter().filter(|a| **a == "pre-approved").count(), 1, "{approvals:?}");
    assert_eq!(approvals.iter().filter(|a| a.starts_with("awaiting approval")).count(), 7, "{approvals:?}");
    assert_eq!(state.preapprovals[0].used_by.len(), 1);
    assert_eq!(state.prequalifications[0].used_by.len(), 8);
}

/// `approval = "recorded"`: today's behaviour, nothing asked or used.
#[tokio::test]
async fn recorded_mode_signs_without_anything() {
    let mut config = recorded();
    config.appviewx.sign_delay_ms = SIGN_DELAY_MS;
    let sim = sim(config).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(12);
    prequalify(&sim, &token, &info, json!({"SingleUse": true})).await;
    preapprove(&sim, &token, json!({"SingleUse": true, "IPAddress": "192.0.2.1"})).await;
    let session = avx_session(&sim).await;
    let ids = [sign(&sim, &session, &info).await, sign(&sim, &session, &sha256(13).0).await];
    sim.advance_time(Duration::from_millis(SIGN_DELAY_MS));
    for id in &ids {
        assert_eq!(status(&sim, &session, id).await["status"], "Signed");
        let rec = record(&sim, id);
        assert_eq!((rec.approval.as_str(), rec.approval_reason), ("recorded", None));
        assert!(sim.approve(id).is_err(), "nothing waits in recorded mode");
    }
    let state = sim.state();
    assert!(state.prequalifications[0].used_by.is_empty() && state.preapprovals[0].used_by.is_empty());
}

/// The new snapshot fields travel through `GET /__sim/state`, and a snapshot written before they
/// existed still parses.
#[tokio::test]
async fn the_state_endpoint_shows_the_chain_and_old_snapshots_parse() {
    let sim = sim(enforced()).await;
    let token = approver_token(&sim).await;
    let (info, _) = sha256(14);
    prequalify(&sim, &token, &info, json!({})).await;
    let session = avx_session(&sim).await;
    let id = sign(&sim, &session, &info).await;
    let (s, body) = send(client().get(format!("{}/__sim/state", sim.base_url()))).await;
    assert_eq!(s, 200);
    let served: signing_sim::SimState = serde_json::from_value(body.clone()).expect("SimState");
    assert_eq!(served.sign_requests, sim.state().sign_requests);
    assert_eq!(served.prequalifications, sim.state().prequalifications);
    let r = &body["sign_requests"][0];
    assert_eq!(
        (&r["approval"], &r["approval_reason"], &r["peer"]),
        (&json!(awaiting(DN)), &json!("none-for-address"), &json!("127.0.0.1"))
    );
    assert_eq!(body["prequalifications"][0]["used_by"], json!([id]));
    assert!(body["prequalifications"][0]["created_ms"].is_i64());

    let mut old = body;
    for (list, fields) in [
        ("sign_requests", &["approval", "approval_reason", "peer"][..]),
        ("prequalifications", &["created_ms", "used_by"][..]),
    ] {
        for item in old[list].as_array_mut().expect("list") {
            for field in fields {
                item.as_object_mut().expect("object").remove(*field);
            }
        }
    }
    let parsed: signing_sim::SimState = serde_json::from_value(old).expect("an older snapshot parses");
    assert_eq!((parsed.sign_requests[0].approval.as_str(), parsed.prequalifications[0].created_ms), ("", 0));
}
