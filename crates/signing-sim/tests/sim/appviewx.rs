use std::time::Duration;

use serde_json::{json, Value};
use signing_sim::{AvxPolicy, AvxUser, SignOutcome, SimConfig};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::*;

fn assert_envelope(b: &Value) {
    let obj = b.as_object().expect("envelope object");
    for key in ["response", "message", "appStatusCode", "tags", "headers"] {
        assert!(obj.contains_key(key), "{key} missing in {b}");
    }
}

fn extra_policy(name: &str, outcome: SignOutcome) -> AvxPolicy {
    AvxPolicy { name: name.into(), keys: vec!["k".into()], outcome, sign_delay_ms: Some(1000), ..AvxPolicy::default() }
}

fn login_request(sim: &signing_sim::SimHandle, user: Option<&str>, password: Option<&str>) -> reqwest::RequestBuilder {
    let mut rb = client()
        .post(format!("{}/avxapi/login?gwsource=external", sim.base_url()))
        .header("Content-Type", "application/json")
        .body("{}");
    if let Some(u) = user {
        rb = rb.header("username", u);
    }
    if let Some(p) = password {
        rb = rb.header("password", p);
    }
    rb
}

/// `POST /avxapi/login?gwsource=external` as the AppViewX API guides show it, answered with the
/// guides' exact shape.
#[tokio::test]
async fn login_at_the_documented_path_answers_the_documented_shape() {
    let sim = sim(SimConfig::default()).await;
    let (s, text) = send_raw(login_request(&sim, Some("avx-user"), Some("avx-password"))).await;
    assert_eq!(s, 200, "{text}");
    let b: Value = serde_json::from_str(&text).expect("json");
    let sid = b["response"]["sessionId"].as_str().expect("sessionId");
    assert!(uuid_like(sid), "{sid}");
    assert_eq!(
        text,
        format!(
            r#"{{"response":{{"status":"SUCCESS","appStatusCode":null,"statusDescription":null,"sessionId":"{sid}","availableLoginAttemptCount":10}},"message":null,"appStatusCode":null,"tags":null,"headers":null}}"#
        )
    );
    assert_eq!(sim.state().avx_sessions.len(), 1);
}

#[tokio::test]
async fn login_failures_use_the_documented_messages() {
    let mut config = SimConfig::default();
    config.appviewx.users[0].login_attempts = 3;
    let sim = sim(config).await;
    let empty = r#"{"response":null,"message":"Username or password cannot be null or empty","appStatusCode":"ACCT_MGMT_0003","tags":null,"headers":null}"#;
    for (user, password) in [
        (None, None),
        (Some("avx-user"), None),
        (None, Some("avx-password")),
        (Some("avx-user"), Some("")),
        (Some(""), Some("avx-password")),
    ] {
        let (s, text) = send_raw(login_request(&sim, user, password)).await;
        assert_eq!((s, text.as_str()), (400, empty), "{user:?} {password:?}");
    }
    let wrong = |left: u32| {
        format!(
            r#"{{"response":{{"status":"FAILURE","appStatusCode":"ACCT_MGMT_0001","statusDescription":"Login failed. Invalid credentials.","sessionId":null,"availableLoginAttemptCount":{left}}},"message":"Login failed. Invalid credentials.","appStatusCode":"ACCT_MGMT_0001","tags":null,"headers":null}}"#
        )
    };
    let (s, text) = send_raw(login_request(&sim, Some("avx-user"), Some("nope"))).await;
    assert_eq!((s, text), (401, wrong(2)));
    // A success restores the count.
    let (s, b) = avx_login(&sim, "avx-user", "avx-password").await;
    assert_eq!((s, b["response"]["availableLoginAttemptCount"].as_u64()), (200, Some(3)));
    assert_eq!(sim.state().avx_login_attempts_left["avx-user"], 3);
    for left in [2, 1, 0] {
        let (s, text) = send_raw(login_request(&sim, Some("avx-user"), Some("nope"))).await;
        assert_eq!((s, text), (401, wrong(left)));
    }
    // Locked: even the right password fails now.
    let (s, text) = send_raw(login_request(&sim, Some("avx-user"), Some("avx-password"))).await;
    assert_eq!(
        (s, text.as_str()),
        (
            401,
            r#"{"response":{"status":"FAILURE","appStatusCode":"ACCT_MGMT_0002","statusDescription":"Login failed. The account is locked after too many failed login attempts.","sessionId":null,"availableLoginAttemptCount":0},"message":"Login failed. The account is locked after too many failed login attempts.","appStatusCode":"ACCT_MGMT_0002","tags":null,"headers":null}"#
        )
    );
    assert_eq!(sim.state().avx_login_attempts_left["avx-user"], 0);
    assert_eq!(sim.state().avx_sessions.len(), 1);
    // An unknown user: the same 401, with no count to show.
    let (s, text) = send_raw(login_request(&sim, Some("nobody"), Some("x"))).await;
    assert_eq!(s, 401);
    assert_eq!(
        text,
        r#"{"response":{"status":"FAILURE","appStatusCode":"ACCT_MGMT_0001","statusDescription":"Login failed. Invalid credentials.","sessionId":null,"availableLoginAttemptCount":null},"message":"Login failed. Invalid credentials.","appStatusCode":"ACCT_MGMT_0001","tags":null,"headers":null}"#
    );
}

/// The old path is in none of the AppViewX guides: it is an unknown path like any other.
#[tokio::test]
async fn the_undocumented_login_path_is_unknown() {
    let sim = sim(SimConfig::default()).await;
    let (s, text) = send_raw(
        client()
            .post(avx_url(&sim, "acctmgmt-perform-login", "external"))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .json(&json!({})),
    )
    .await;
    assert_eq!(
        (s, text.as_str()),
        (
            404,
            r#"{"response":null,"message":"No route for /avxapi/acctmgmt-perform-login","appStatusCode":"GATEWAY_0404","tags":null,"headers":null}"#
        )
    );
    assert!(sim.state().avx_sessions.is_empty());
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn gateway_rules_gwsource_method_and_headers() {
    let sim = sim(SimConfig::default()).await;
    let url = format!("{}/avxapi/login", sim.base_url());
    let (s, text) = send_raw(
        client().post(&url).header("username", "avx-user").header("password", "avx-password").json(&json!({})),
    )
    .await;
    assert_eq!(
        (s, text.as_str()),
        (
            400,
            r#"{"response":null,"message":"The gwsource query parameter is required","appStatusCode":"GATEWAY_0001","tags":null,"headers":null}"#
        )
    );
    let (s, _) = send(client().post(format!("{url}?gwsource=")).json(&json!({}))).await;
    assert_eq!(s, 400, "an empty gwsource is no gwsource");
    let (s, b) = send(client().get(avx_url(&sim, "login", "external"))).await;
    assert_eq!(s, 405);
    assert_envelope(&b);
    let (s, _) = send(client().post(avx_url(&sim, "no-such-endpoint", "external"))).await;
    assert_eq!(s, 404);
    let (s, _) = send(
        client()
            .post(avx_url(&sim, "login", "external"))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .body("{}"),
    )
    .await;
    assert_eq!(s, 415);
    // Any gwsource will do (the guides show external, api and web).
    for source in ["external", "api", "web", "API"] {
        let (s, _) = send(
            client()
                .post(avx_url(&sim, "login", source))
                .header("username", "avx-user")
                .header("password", "avx-password")
                .json(&json!({})),
        )
        .await;
        assert_eq!(s, 200, "{source}");
    }
}

#[tokio::test]
async fn submit_then_poll_until_signed() {
    let mut config = recorded();
    config.appviewx.sign_delay_ms = 60_000;
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    let (s, b) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!(s, 200, "{b}");
    let sign_id = b["response"]["signId"].as_str().expect("signId").to_string();
    assert_eq!(sign_id.len(), 24);
    assert!(sign_id.chars().all(|c| c.is_ascii_hexdigit()));
    // Only the sign id: the documents show no submit answer, the reference infers response.signId.
    assert_eq!(
        b,
        json!({"response": {"signId": sign_id}, "message": null, "appStatusCode": null, "tags": null, "headers": null})
    );

    let (s, b) = avx_status(&sim, &session, &sign_id).await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"response": {"status": "Inprogress", "noOfInProgressRequests": 1, "failedDueToTimeoutError": false},
               "message": null, "appStatusCode": null, "tags": null, "headers": null})
    );
    assert_eq!(sim.state().sign_requests[0].status, "Inprogress");

    sim.advance_time(Duration::from_secs(61));
    let expected = sim.signature("sample-key", &digest_info_sha256()).expect("sample-key signs");
    assert_eq!(STANDARD.decode(&expected).map(|v| v.len()).ok(), Some(384), "RSA-3072");
    let signed = format!(
        r#"{{"response":{{"encodedHashData":"{expected}","status":"Signed"}},"message":null,"appStatusCode":null,"tags":null,"headers":null}}"#
    );
    let (s, text) = send_raw(
        client()
            .get(format!("{}&signId={sign_id}", avx_url(&sim, "code-signing-fetch-status-sync-requests", "api")))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!((s, &text), (200, &signed));

    let (s, text) = send_raw(
        client()
            .post(avx_url(&sim, "code-signing-download-signed-file", "external"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&json!({"signId": sign_id})),
    )
    .await;
    // The download answer is undocumented: the simulator answers like the Signed status.
    assert_eq!((s, &text), (200, &signed));

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
    let mut config = recorded();
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
        if let Some(documented) = signing_sim::app_status_message(code).filter(|_| code < "CODE_SIGNING_9") {
            assert_eq!(
                b,
                json!({"response": null, "message": documented, "appStatusCode": code, "tags": null, "headers": null})
            );
        }
    }
    let (_, b) = avx_login(&sim, "viewer", "viewer-password").await;
    let viewer = AvxSession {
        id: b["response"]["sessionId"].as_str().expect("sid").into(),
        user: "viewer".into(),
        password: "viewer-password".into(),
    };
    let (s, b) = avx_submit(&sim, &viewer, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!((s, b["appStatusCode"].as_str()), (403, Some("CODE_SIGNING_0032")));
    assert_eq!(b["message"], "Permissions are not there to sign the hash of a file");
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
    let mut config = recorded();
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
    assert_eq!(
        b["message"],
        "The retrieved IP address is not valid. The selected policy does not support the obtained IP address."
    );
    let (s, _) = avx_submit(&sim, &session, &submit_body("loopback", "k")).await;
    assert_eq!(s, 200);
}

/// A multi-tenant install: every call carries `gwkey=<tenant key>` next to `gwsource`.
#[tokio::test]
async fn gwkey_when_configured_is_required_on_every_call() {
    let mut config = recorded();
    config.appviewx.gwkey = Some("f000ca01".into());
    let sim = sim(config).await;
    let login_at = |query: &str| {
        client()
            .post(format!("{}/avxapi/login?{query}", sim.base_url()))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .json(&json!({}))
    };
    let missing = r#"{"response":null,"message":"The gwkey query parameter (tenant key) is required","appStatusCode":"GATEWAY_0002","tags":null,"headers":null}"#;
    let invalid = r#"{"response":null,"message":"Invalid gwkey (tenant key)","appStatusCode":"GATEWAY_0003","tags":null,"headers":null}"#;
    for (query, status, body) in [
        ("gwsource=external", 400, missing),
        ("gwsource=external&gwkey=", 400, missing),
        ("gwsource=external&gwkey=F000CA01", 401, invalid),
        ("gwsource=external&gwkey=other", 401, invalid),
    ] {
        let (s, text) = send_raw(login_at(query)).await;
        assert_eq!((s, text.as_str()), (status, body), "{query}");
    }
    // gwsource is still checked first, and still mandatory.
    let (s, b) = send(login_at("gwkey=f000ca01")).await;
    assert_eq!((s, b["appStatusCode"].as_str()), (400, Some("GATEWAY_0001")));
    assert!(sim.state().avx_sessions.is_empty());

    let (s, b) = send(login_at("gwsource=external&gwkey=f000ca01")).await;
    assert_eq!(s, 200, "{b}");
    let session = AvxSession {
        id: b["response"]["sessionId"].as_str().expect("sessionId").into(),
        user: "avx-user".into(),
        password: "avx-password".into(),
    };
    // The signing calls need it too.
    let (s, text) = send_raw(
        client()
            .post(avx_url(&sim, "code-signing-generate-hash", "external"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&submit_body("sample-policy", "sample-key")),
    )
    .await;
    assert_eq!((s, text.as_str()), (400, missing));
    let (s, b) = send(
        client()
            .post(format!("{}&gwkey=f000ca01", avx_url(&sim, "code-signing-generate-hash", "external")))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&submit_body("sample-policy", "sample-key")),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let sign_id = b["response"]["signId"].as_str().expect("signId").to_string();
    let (s, text) = send_raw(
        client()
            .get(format!("{}&signId={sign_id}", avx_url(&sim, "code-signing-fetch-status-sync-requests", "api")))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password),
    )
    .await;
    assert_eq!((s, text.as_str()), (400, missing));
    let (s, b) = send(
        client()
            .get(format!(
                "{}&signId={sign_id}&gwkey=f000ca01",
                avx_url(&sim, "code-signing-fetch-status-sync-requests", "api")
            ))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password),
    )
    .await;
    assert_eq!((s, b["response"]["status"].as_str()), (200, Some("Inprogress")));
    // The tenant key never reaches the request log.
    let state = sim.state();
    assert!(state.requests.iter().all(|r| !r.query.as_deref().unwrap_or("").contains("f000ca01")));
    assert_eq!(state.requests[3].query.as_deref(), Some("gwsource=external&gwkey=***"));
    assert_eq!(state.requests[4].query.as_deref(), Some("gwkey=***"));
}

/// Without `appviewx.gwkey`, a `gwkey` parameter is ignored (and still masked in the log).
#[tokio::test]
async fn gwkey_is_ignored_when_not_configured() {
    let sim = sim(SimConfig::default()).await;
    let (s, _) = send(
        client()
            .post(format!("{}/avxapi/login?gwsource=external&gwkey=anything", sim.base_url()))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .json(&json!({})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(sim.state().requests[0].query.as_deref(), Some("gwsource=external&gwkey=***"));
}

/// The 2024.x guides describe the payload for SHA-1 too, and mark every payload field mandatory,
/// `description` included.
#[tokio::test]
async fn sha1_digest_info_is_accepted_and_description_is_mandatory() {
    let sim = sim(SimConfig::default()).await;
    let session = avx_session(&sim).await;
    let mut sha1 = vec![0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14];
    sha1.extend([0x11; 20]);
    let mut body = submit_body("sample-policy", "sample-key");
    body["fileHashContent"] = json!(STANDARD.encode(&sha1));
    let (s, b) = avx_submit(&sim, &session, &body).await;
    assert_eq!(s, 200, "{b}");
    body.as_object_mut().map(|o| o.remove("description"));
    let (s, b) = avx_submit(&sim, &session, &body).await;
    assert_eq!((s, b["appStatusCode"].as_str()), (400, Some("CODE_SIGNING_9001")), "{b}");
    assert_eq!(sim.state().sign_requests.len(), 1);
}
