use std::time::{Duration, Instant};

use serde_json::Value;
use signing_sim::{Fault, FaultKind, SimConfig};

use crate::*;

fn faults_seen(sim: &signing_sim::SimHandle) -> Vec<(String, u16, Option<String>)> {
    sim.state().requests.into_iter().map(|r| (r.path, r.status, r.fault)).collect()
}

#[tokio::test]
async fn latency_delays_then_answers_normally() {
    let sim = sim(SimConfig::default()).await;
    sim.add_fault(Fault::new("systemstatus/version", FaultKind::Latency { ms: 300 }));
    let url = format!("{}/vedsdk/SystemStatus/Version", sim.base_url());
    let t = Instant::now();
    let (s, b) = send(client().get(&url)).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!((s, b["Version"].is_string()), (200, true));
    send(client().get(&url)).await;
    let seen = faults_seen(&sim);
    assert_eq!(seen[0].2.as_deref(), Some("latency"));
    assert_eq!(seen[0].1, 200);
    assert_eq!(seen[1].2, None);
}

#[tokio::test]
async fn status_uses_each_vendors_error_shape_and_retry_after() {
    let sim = sim(SimConfig::default()).await;
    sim.add_fault(Fault::new("PreQualify/Create", FaultKind::Status { code: 503, retry_after: Some("2".into()) }));
    sim.add_fault(Fault::new(
        "code-signing-generate-hash",
        FaultKind::Status { code: 429, retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()) },
    ));
    let token = approver_token(&sim).await;
    let resp = client()
        .post(format!("{}{PREQUALIFY}", sim.base_url()))
        .bearer_auth(&token)
        .json(&prequalify_body())
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("2"));
    let b: Value = resp.json().await.expect("json");
    assert!(b["error"].is_string() && b["error_description"].is_string());
    assert!(sim.state().prequalifications.is_empty(), "a status fault does not process the request");
    let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!(s, 200);

    let session = avx_session(&sim).await;
    let resp = client()
        .post(avx_url(&sim, "code-signing-generate-hash", "external"))
        .header("sessionId", &session.id)
        .header("username", &session.user)
        .header("password", &session.password)
        .json(&submit_body("sample-policy", "sample-key"))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("Wed, 21 Oct 2015 07:28:00 GMT"));
    let b: Value = resp.json().await.expect("json");
    for key in ["response", "message", "appStatusCode", "tags", "headers"] {
        assert!(b.as_object().is_some_and(|o| o.contains_key(key)), "{key}");
    }
    assert!(b["appStatusCode"].is_string());
    let seen = faults_seen(&sim);
    assert!(seen.contains(&(PREQUALIFY.to_string(), 503, Some("status".into()))));
    assert!(seen.contains(&("/avxapi/code-signing-generate-hash".to_string(), 429, Some("status".into()))));
}

#[tokio::test]
async fn reset_closes_without_answer_and_does_not_process() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    sim.add_fault(Fault::new("prequalify/create", FaultKind::Reset));
    let err = client()
        .post(format!("{}{PREQUALIFY}", sim.base_url()))
        .bearer_auth(&token)
        .json(&prequalify_body())
        .send()
        .await
        .expect_err("no response");
    assert!(!err.is_timeout(), "{err}");
    assert!(sim.state().prequalifications.is_empty());
    let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!(s, 200);
    let seen = faults_seen(&sim);
    assert_eq!(seen[1], (PREQUALIFY.to_string(), 0, Some("reset".into())));
}

#[tokio::test]
async fn truncated_processes_then_cuts_the_body_short() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    sim.add_fault(Fault::new("PREQUALIFY", FaultKind::Truncated));
    let resp = client()
        .post(format!("{}{PREQUALIFY}", sim.base_url()))
        .bearer_auth(&token)
        .json(&prequalify_body())
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), 200);
    let promised: usize = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    assert!(promised > 0);
    assert!(resp.bytes().await.is_err(), "body must end early");
    assert_eq!(sim.state().prequalifications.len(), 1, "the server did the work");
    assert_eq!(faults_seen(&sim)[1].2.as_deref(), Some("truncated"));
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let sim = sim(SimConfig::default()).await;
    sim.add_fault(Fault::new("authorize/oauth", FaultKind::MalformedJson));
    let resp = client()
        .post(format!("{}/vedauth/authorize/oauth", sim.base_url()))
        .json(&serde_json::json!({"client_id": "codesign-gate", "username": "sample-approver", "password": "sample-approver-password", "scope": "codesign:approve"}))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("complete body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(faults_seen(&sim)[0], ("/vedauth/authorize/oauth".into(), 200, Some("malformed-json".into())));
}

#[tokio::test]
async fn hang_never_answers_until_the_client_gives_up() {
    let sim = sim(SimConfig::default()).await;
    sim.add_fault(Fault::new("code-signing-fetch-status-sync-requests", FaultKind::Hang));
    let session = avx_session(&sim).await;
    let t = Instant::now();
    let err = client()
        .get(format!("{}&signId=x", avx_url(&sim, "code-signing-fetch-status-sync-requests", "api")))
        .header("sessionId", &session.id)
        .timeout(Duration::from_millis(400))
        .send()
        .await
        .expect_err("hangs");
    assert!(err.is_timeout(), "{err}");
    assert!(t.elapsed() >= Duration::from_millis(400));
    let seen = faults_seen(&sim);
    assert_eq!(seen[1].1, 0);
    assert_eq!(seen[1].2.as_deref(), Some("hang"));
    // Other requests are unaffected while one hangs.
    let (s, _) = avx_status(&sim, &session, "abc").await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn expire_token_turns_a_valid_token_into_401() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    sim.add_fault(Fault::new("AddPreApproval", FaultKind::ExpireToken));
    let body = serde_json::json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "c"});
    let (s, b) = post_sdk(&sim, &token, PREAPPROVE, &body).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")));
    // The token stays expired: the client must refresh.
    let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!(s, 401);
    let state = sim.state();
    assert!(state.tpp_tokens[0].expired);
    assert!(state.preapprovals.is_empty());
    assert_eq!(state.requests[1].fault.as_deref(), Some("expire-token"));
}

#[tokio::test]
async fn expire_session_turns_a_valid_session_into_401() {
    let sim = sim(SimConfig::default()).await;
    let session = avx_session(&sim).await;
    sim.add_fault(Fault::new("code-signing-generate-hash", FaultKind::ExpireSession));
    let (s, b) = avx_submit(&sim, &session, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!(s, 401);
    assert!(b["appStatusCode"].is_string());
    assert!(!sim.state().avx_sessions[0].active);
    // Logging in again gives a working session.
    let fresh = avx_session(&sim).await;
    let (s, _) = avx_submit(&sim, &fresh, &submit_body("sample-policy", "sample-key")).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn after_and_times_from_toml() {
    let config = SimConfig::from_toml_str(
        r#"
        [[faults]]
        endpoint = "SystemStatus/Version"
        kind = "status"
        code = 502
        after = 1
        times = 2
        "#,
    )
    .expect("config");
    let sim = sim(config).await;
    let url = format!("{}/vedsdk/SystemStatus/Version", sim.base_url());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(send(client().get(&url)).await.0);
    }
    assert_eq!(statuses, [200, 502, 502, 200, 200]);
    let faults: Vec<Option<String>> = sim.state().requests.into_iter().map(|r| r.fault).collect();
    assert_eq!(faults, [None, Some("status".into()), Some("status".into()), None, None]);
}

/// Nothing a client sends may crash a handler: every garbage body gets the vendor's error shape.
#[tokio::test]
async fn garbage_never_panics_and_always_gets_an_error_shape() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let session = avx_session(&sim).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{".to_vec(),
        b"\"text\"".to_vec(),
        b"{\"Dn\":{},\"Data\":[],\"signId\":5,\"signingPolicy\":null}".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        b"{\"Hours\":1e400}".to_vec(),
    ];
    let tpp_paths = [
        "/vedauth/authorize/oauth",
        "/vedauth/authorize/token",
        "/vedauth/authorize/jwt",
        PREQUALIFY,
        PREAPPROVE,
        "/vedsdk/Codesign/GetEnvironment",
    ];
    for path in tpp_paths {
        for body in &bodies {
            let (s, b) = send(
                client()
                    .post(format!("{}{path}", sim.base_url()))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone()),
            )
            .await;
            assert_eq!(s, 400, "{path} {body:?}");
            assert!(b["error"].is_string(), "{path} {body:?}: {b}");
        }
    }
    for endpoint in ["code-signing-generate-hash", "code-signing-download-signed-file"] {
        for body in &bodies {
            let (s, b) = send(
                client()
                    .post(avx_url(&sim, endpoint, "external"))
                    .header("sessionId", &session.id)
                    .header("username", &session.user)
                    .header("password", &session.password)
                    .header("content-type", "application/json")
                    .body(body.clone()),
            )
            .await;
            assert_eq!(s, 400, "{endpoint} {body:?}");
            assert!(b["appStatusCode"].is_string(), "{endpoint} {body:?}: {b}");
        }
    }
    let (s, _) = send(
        client()
            .post(avx_url(&sim, "login", "external"))
            .header("username", b"\xff\xfe".as_slice())
            .header("password", "x")
            .json(&serde_json::json!({})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(sim.state().requests.iter().all(|r| r.status != 0), "every request was answered");
}
