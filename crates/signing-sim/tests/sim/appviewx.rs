use std::time::Duration;

use serde_json::{json, Value};
use signing_sim::{AvxPolicy, AvxUser, SignOutcome, SimConfig};

use crate::*;

fn assert_envelope(b: &Value) {
    let obj = b.as_object().expect("envelope object");
    for key in ["response", "message", "appStatusCode", "tags", "headers"] {
        assert!(obj.contains_key(key), "{key} missing in {b}");
    }
}

fn extra_policy(name: &str, outcome: SignOutcome) -> AvxPolicy {
    AvxPolicy {
        name: name.into(),
        keys: vec!["k".into()],
        signed_types: vec!["Hash Based Signing".into()],
        allowed_ips: vec![],
        outcome,
        sign_delay_ms: Some(1000),
    }
}

#[tokio::test]
async fn login_success_and_lockout() {
    let mut config = SimConfig::default();
    config.appviewx.users[0].login_attempts = 3;
    let sim = sim(config).await;
    let (s, b) = avx_login(&sim, "avx-user", "avx-password").await;
    assert_eq!(s, 200);
    assert_envelope(&b);
    assert_eq!(b["response"]["status"], "SUCCESS");
    assert_eq!(b["response"]["availableLoginAttemptCount"], 3);
    assert!(b["appStatusCode"].is_null());
    let sid = b["response"]["sessionId"].as_str().expect("sessionId");
    assert!(uuid_like(sid), "{sid}");

    let (s, b) = avx_login(&sim, "avx-user", "nope").await;
    assert_eq!(s, 401);
    assert_envelope(&b);
    assert!(b["appStatusCode"].is_string());
    assert_eq!(b["response"]["availableLoginAttemptCount"], 2);
    // A success restores the count.
    avx_login(&sim, "avx-user", "avx-password").await;
    assert_eq!(sim.state().avx_login_attempts_left["avx-user"], 3);
    for left in [2, 1, 0] {
        let (_, b) = avx_login(&sim, "avx-user", "nope").await;
        assert_eq!(b["response"]["availableLoginAttemptCount"], left);
    }
    // Locked: even the right password fails now.
    let (s, b) = avx_login(&sim, "avx-user", "avx-password").await;
    assert_eq!(s, 401);
    assert_eq!(b["appStatusCode"], "ACCT_MGMT_0002");
    assert_eq!(sim.state().avx_login_attempts_left["avx-user"], 0);
    assert_eq!(sim.state().avx_sessions.len(), 2);
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn gateway_rules_gwsource_method_and_headers() {
    let sim = sim(SimConfig::default()).await;
    let url = format!("{}/avxapi/acctmgmt-perform-login", sim.base_url());
    let (s, b) =
        send(client().post(&url).header("username", "avx-user").header("password", "avx-password").json(&json!({})))
            .await;
    assert_eq!((s, b["appStatusCode"].as_str()), (400, Some("GATEWAY_0001")));
    let (s, b) = send(client().get(avx_url(&sim, "acctmgmt-perform-login", "external"))).await;
    assert_eq!(s, 405);
    assert_envelope(&b);
    let (s, _) = send(client().post(avx_url(&sim, "acctmgmt-perform-login", "external")).json(&json!({}))).await;
    assert_eq!(s, 400, "username/password headers are required");
    let (s, _) = send(client().post(avx_url(&sim, "no-such-endpoint", "external"))).await;
    assert_eq!(s, 404);
    let (s, _) = send(
        client()
            .post(avx_url(&sim, "acctmgmt-perform-login", "external"))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .body("{}"),
    )
    .await;
    assert_eq!(s, 415);
}

#[tokio::test]
async fn submit_then_poll_until_signed() {
    let mut config = SimConfig::default();
    config.appviewx.sign_delay_ms = 60_000;
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let (s, b) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!(s, 200, "{b}");
    assert_envelope(&b);
    assert_eq!(b["response"]["status"], "Inprogress");
    let sign_id = b["response"]["signId"].as_str().expect("signId").to_string();
    assert_eq!(sign_id.len(), 24);
    assert!(sign_id.chars().all(|c| c.is_ascii_hexdigit()));

    let (s, b) = avx_status(&sim, &session, &sign_id).await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"response": {"status": "Inprogress", "noOfInProgressRequests": 1, "failedDueToTimeoutError": false},
               "message": null, "appStatusCode": null, "tags": null, "headers": null})
    );
    assert_eq!(sim.state().sign_requests[0].status, "Inprogress");

    sim.advance_time(Duration::from_secs(61));
    let (s, b) = avx_status(&sim, &session, &sign_id).await;
    assert_eq!(s, 200);
    assert_eq!(b["response"]["status"], "Signed");
    let expected = signing_sim::fake_signature("sample-key", &digest_info_sha256());
    assert_eq!(b["response"]["encodedHashData"], expected.as_str());

    let (s, b) = send(
        client()
            .post(avx_url(&sim, "code-signing-download-signed-file", "external"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&json!({"signId": sign_id})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["response"]["encodedHashData"], expected.as_str());

    let state = sim.state();
    let r = &state.sign_requests[0];
    assert_eq!(
        (r.signing_policy.as_str(), r.signing_key.as_str(), r.status.as_str()),
        ("sample-policy", "sample-key", "Signed")
    );
    assert_eq!(r.file_hash_content, digest_info_sha256());
    assert_eq!(r.description.as_deref(), Some("artifact.bin"));
    assert_eq!(r.signed_type, "Hash Based Signing");
}

#[tokio::test]
async fn real_time_delay_also_finishes_signing() {
    let mut config = SimConfig::default();
    config.appviewx.sign_delay_ms = 150;
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let (_, b) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    let sign_id = b["response"]["signId"].as_str().expect("signId").to_string();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (_, b) = avx_status(&sim, &session, &sign_id).await;
    assert_eq!(b["response"]["status"], "Signed");
}

#[tokio::test]
async fn submit_refusals_use_appviewx_codes() {
    let mut config = SimConfig::default();
    config.appviewx.users.push(AvxUser {
        username: "viewer".into(),
        password: "viewer-password".into(),
        login_attempts: 10,
        can_sign: false,
    });
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let cases = [
        (submit_body("nope", "sample-key"), 500, "CODE_SIGNING_0056"),
        (submit_body("sample-policy", "other-key"), 500, "CODE_SIGNING_0070"),
        (
            {
                let mut b = submit_body("sample-policy", "sample-key");
                b["signedType"] = json!("File Based Signing");
                b
            },
            500,
            "CODE_SIGNING_0063",
        ),
        (
            {
                let mut b = submit_body("sample-policy", "sample-key");
                b["fileHashContent"] = json!(digest_b64(32));
                b
            },
            400,
            "CODE_SIGNING_9002",
        ),
        (
            {
                let mut b = submit_body("sample-policy", "sample-key");
                b["fileHashContent"] = json!("%%%");
                b
            },
            400,
            "CODE_SIGNING_9002",
        ),
        (
            {
                let mut b = submit_body("sample-policy", "sample-key");
                b.as_object_mut().map(|o| o.remove("signingKey"));
                b
            },
            400,
            "CODE_SIGNING_9001",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = avx_submit(&sim, &session, &body).await;
        assert_envelope(&b);
        assert_eq!((s, b["appStatusCode"].as_str()), (status, Some(code)), "{b}");
        assert!(b["message"].is_string());
    }
    let (_, b) = avx_login(&sim, "viewer", "viewer-password").await;
    let viewer = AvxSession {
        id: b["response"]["sessionId"].as_str().expect("sid").into(),
        user: "viewer".into(),
        password: "viewer-password".into(),
    };
    let (s, b) = avx_submit(&sim, &viewer, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!((s, b["appStatusCode"].as_str()), (403, Some("CODE_SIGNING_0032")));
    assert!(sim.state().sign_requests.is_empty());
}

#[tokio::test]
async fn sessions_are_checked_and_expire() {
    let mut config = SimConfig::default();
    config.appviewx.session_lifetime_secs = 60;
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let bad = [
        AvxSession {
            id: "00000000-0000-0000-0000-000000000000".into(),
            user: session.user.clone(),
            password: session.password.clone(),
        },
        AvxSession { id: session.id.clone(), user: session.user.clone(), password: "wrong".into() },
    ];
    for s in &bad {
        let (status, b) = avx_submit(&sim, s, &submit_body("sample-policy", "sample-key")).await;
        assert_eq!(status, 401);
        assert_envelope(&b);
    }
    let (status, _) = send(
        client()
            .post(avx_url(&sim, "code-signing-generate-hash", "external"))
            .json(&submit_body("sample-policy", "sample-key")),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!(status, 200);
    sim.advance_time(Duration::from_secs(61));
    let (status, b) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!(status, 401, "{b}");
    assert!(!sim.state().avx_sessions[0].active);
}

#[tokio::test]
async fn status_errors() {
    let mut config = SimConfig::default();
    config.appviewx.users.push(AvxUser {
        username: "other".into(),
        password: "other-pw".into(),
        login_attempts: 10,
        can_sign: true,
    });
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let (_, b) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    let sign_id = b["response"]["signId"].as_str().expect("signId").to_string();

    let (s, b) = send(
        client()
            .get(avx_url(&sim, "code-signing-fetch-status-sync-requests", "api"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password),
    )
    .await;
    assert_eq!(
        (s, b["appStatusCode"].as_str(), b["message"].as_str()),
        (400, Some("CODE_SIGNING_0105"), Some("SIGN_ID Not present."))
    );
    let (s, b) = avx_status(&sim, &session, "65c47fa41112f940dab1cb12").await;
    assert_eq!(
        (s, b["appStatusCode"].as_str(), b["message"].as_str()),
        (400, Some("CODE_SIGNING_0102"), Some("Data not present for given signId."))
    );
    let (_, b) = avx_login(&sim, "other", "other-pw").await;
    let other = AvxSession {
        id: b["response"]["sessionId"].as_str().expect("sid").into(),
        user: "other".into(),
        password: "other-pw".into(),
    };
    let (s, b) = avx_status(&sim, &other, &sign_id).await;
    assert_eq!((s, b["appStatusCode"].as_str()), (403, Some("CODE_SIGNING_00109")));
}

#[tokio::test]
async fn per_policy_outcomes() {
    let mut config = SimConfig::default();
    config.appviewx.policies.push(extra_policy("timeout", SignOutcome::TimeoutError));
    config.appviewx.policies.push(extra_policy("fetch", SignOutcome::FetchError));
    config.appviewx.policies.push(extra_policy("never", SignOutcome::Never));
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let mut ids = Vec::new();
    for policy in ["timeout", "fetch", "never"] {
        let (s, b) = avx_submit(&sim, &session, &submit_body(policy, "k")).await;
        assert_eq!(s, 200, "{b}");
        ids.push(b["response"]["signId"].as_str().expect("signId").to_string());
    }
    for id in &ids {
        let (s, b) = avx_status(&sim, &session, id).await;
        assert_eq!((s, b["response"]["status"].as_str()), (200, Some("Inprogress")));
        assert_eq!(b["response"]["noOfInProgressRequests"], 3);
    }
    sim.advance_time(Duration::from_secs(60));
    let (s, b) = avx_status(&sim, &session, &ids[0]).await;
    assert_eq!(s, 200);
    assert_eq!(b["response"]["failedDueToTimeoutError"], true);
    assert!(b["response"]["encodedHashData"].is_null());
    let (s, b) = avx_status(&sim, &session, &ids[1]).await;
    assert_eq!(
        (s, b["appStatusCode"].as_str(), b["message"].as_str()),
        (500, Some("CODE_SIGNING_0103"), Some("Fetching Encoded Sign Data Failed."))
    );
    let (s, b) = avx_status(&sim, &session, &ids[2]).await;
    assert_eq!((s, b["response"]["status"].as_str()), (200, Some("Inprogress")));
    let statuses: Vec<String> = sim.state().sign_requests.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["Failed", "Inprogress", "Inprogress"]);
}

#[tokio::test]
async fn policy_ip_allow_list() {
    let mut config = SimConfig::default();
    let mut closed = extra_policy("closed", SignOutcome::Signed);
    closed.allowed_ips = vec!["192.0.2.1".into()];
    let mut open = extra_policy("loopback", SignOutcome::Signed);
    open.allowed_ips = vec!["127.0.0.1".into()];
    config.appviewx.policies.extend([closed, open]);
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let (s, b) = avx_submit(&sim, &session, &submit_body("closed", "k")).await;
    assert_eq!((s, b["appStatusCode"].as_str()), (500, Some("CODE_SIGNING_0083")));
    let (s, _) = avx_submit(&sim, &session, &submit_body("loopback", "k")).await;
    assert_eq!(s, 200);
}
