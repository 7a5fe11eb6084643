//! The `variants` mode: answers vary within the documented shapes, never in meaning.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use signing_sim::{AvxPolicy, SignOutcome, SimConfig, SimHandle};

use crate::*;

/// Parses the exact text sent (so a variant must be valid JSON on its own).
async fn exchange(rb: reqwest::RequestBuilder) -> (u16, String, Value) {
    let (status, text) = send_raw(rb).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, text, value)
}

/// `None`, `null` or the given value.
fn absent_null_or(v: &Value, key: &str, allowed: &Value) -> bool {
    v.get(key).is_none_or(|x| x.is_null() || x == allowed)
}

fn config(seed: u64) -> SimConfig {
    // The scenario signs without pre-approvals: the chain is only recorded.
    let mut config = SimConfig { variants: Some(seed), ..recorded() };
    config.appviewx.sign_delay_ms = 60_000;
    config.appviewx.policies.push(AvxPolicy {
        name: "times-out".into(),
        outcome: SignOutcome::TimeoutError,
        ..AvxPolicy::default()
    });
    config
}

fn avx_get_status(sim: &SimHandle, session: &AvxSession, sign_id: &str) -> reqwest::RequestBuilder {
    client()
        .get(format!("{}&signId={sign_id}", avx_url(sim, "code-signing-fetch-status-sync-requests", "api")))
        .header("sessionId", &session.id)
        .header("username", &session.user)
        .header("password", &session.password)
}

/// Runs one scenario against a simulator in variants mode, checks that every answer keeps its
/// documented meaning, and returns the texts of a few answers to compare across seeds.
async fn scenario(seed: u64) -> Vec<String> {
    let sim = sim(config(seed)).await;
    let base = sim.base_url();
    let mut texts = Vec::new();

    // TPP: the password grant.
    let (s, text, b) = exchange(client().post(format!("{base}/vedauth/authorize/oauth")).json(&json!({
        "client_id": "codesign-gate", "username": "sample-approver",
        "password": "sample-approver-password", "scope": "codesign:approve",
    })))
    .await;
    assert_eq!(s, 200, "{text}");
    let token = b["access_token"].as_str().expect("access_token").to_string();
    assert!(token.ends_with("=="));
    assert!(b["expires"].is_i64(), "{text}");
    assert!(absent_null_or(&b, "token_type", &json!("Bearer")), "{text}");
    assert!(absent_null_or(&b, "scope", &json!("codesign:approve")), "{text}");
    assert!(b.get("refresh_token").is_none_or(|r| r.is_null() || r.is_string()), "{text}");

    let (s, text, b) = exchange(client().post(format!("{base}/vedauth/authorize/oauth")).json(&json!({
        "client_id": "codesign-gate", "username": "sample-approver", "password": "wrong", "scope": "codesign:approve",
    })))
    .await;
    assert_eq!((s, &b["error"]), (400, &json!("invalid_grant")), "{text}");
    assert!(b.get("error_description").is_none_or(|d| d.is_null() || d.is_string()), "{text}");

    // Successes: Success true, Result 1 or absent, Error absent or null.
    let post = |path: &str, body: Value| client().post(format!("{base}{path}")).bearer_auth(&token).json(&body);
    let (s, text, b) = exchange(post(PREQUALIFY, prequalify_body())).await;
    assert_eq!((s, &b["Success"]), (200, &json!(true)), "{text}");
    assert!(absent_null_or(&b, "Result", &json!(1)) && b.get("Result") != Some(&Value::Null), "{text}");
    assert!(absent_null_or(&b, "Error", &Value::Null), "{text}");
    texts.push(text);
    let (s, text, b) =
        exchange(post(PREAPPROVE, json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "c"}))).await;
    assert_eq!((s, &b["Success"]), (200, &json!(true)), "{text}");
    assert!(b.get("Result").is_none_or(|r| r == 1), "{text}");
    assert!(b.get("Error").is_none_or(Value::is_null), "{text}");
    // A refusal: exactly its Success, Result and Error, whatever else comes along.
    let (s, text, b) = exchange(post(PREAPPROVE, json!({"Dn": DN, "User": "local:nobody", "Comment": "c"}))).await;
    assert_eq!(s, 200, "{text}");
    assert_eq!((&b["Success"], &b["Result"]), (&json!(false), &json!(1002)), "{text}");
    assert_eq!(b["Error"], "User 'local:nobody' was not found", "{text}");
    texts.push(text);
    let (s, text, b) = exchange(post("/vedsdk/Codesign/GetEnvironment", json!({"Dn": DN}))).await;
    assert_eq!((s, &b["Success"], &b["CertificateEnvironment"]["Dn"]), (200, &json!(true), &json!(DN)), "{text}");
    let (s, text, b) = exchange(client().get(format!("{base}/vedsdk/SystemStatus/Version"))).await;
    assert_eq!((s, &b["Version"]), (200, &json!("24.1.0.2358")), "{text}");
    let (s, text, b) = exchange(client().get(format!("{base}/vedauth/authorize/verify")).bearer_auth(&token)).await;
    assert_eq!((s, &b["identity"], &b["scope"]), (200, &b["identity"], &json!("codesign:approve")), "{text}");
    assert!(b["identity"].is_string() && b["valid_for"].is_i64() && b["expires_ISO8601"].is_string(), "{text}");
    for key in ["access_issued_on", "expires", "grant_issued_on"] {
        assert!(
            b.get(key).is_none_or(|d| d.is_null() || d.as_str().is_some_and(|d| d.starts_with("/Date("))),
            "{text}"
        );
    }
    let (s, text, b) = exchange(client().get(format!("{base}/vedauth/authorize/verify")).bearer_auth("x==")).await;
    assert_eq!((s, &b["error"]), (401, &json!("invalid_token")), "{text}");

    // AppViewX: the envelope keeps response and appStatusCode; message/tags/headers may go when null.
    let envelope = |b: &Value, text: &str, code: Option<&str>| {
        assert_eq!(b.get("appStatusCode").map(Value::as_str), Some(code), "{text}");
        assert!(b.get("response").is_some(), "{text}");
        for key in ["tags", "headers"] {
            assert!(b.get(key).is_none_or(Value::is_null), "{text}");
        }
    };
    let (s, text, b) = exchange(
        client()
            .post(avx_url(&sim, "login", "external"))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .header("Content-Type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    envelope(&b, &text, None);
    assert!(b.get("message").is_none_or(Value::is_null), "{text}");
    let r = &b["response"];
    assert_eq!(r["status"], "SUCCESS", "{text}");
    assert!(absent_null_or(r, "appStatusCode", &Value::Null) && absent_null_or(r, "statusDescription", &Value::Null));
    assert!(absent_null_or(r, "availableLoginAttemptCount", &json!(10)), "{text}");
    let session = AvxSession {
        id: r["sessionId"].as_str().expect("sessionId").into(),
        user: "avx-user".into(),
        password: "avx-password".into(),
    };
    let (s, text, b) = exchange(
        client()
            .post(avx_url(&sim, "login", "external"))
            .header("username", "avx-user")
            .header("password", "wrong")
            .json(&json!({})),
    )
    .await;
    assert_eq!(s, 401, "{text}");
    envelope(&b, &text, Some("ACCT_MGMT_0001"));
    assert_eq!(b["message"], "Login failed. Invalid credentials.", "{text}");
    assert_eq!(
        (&b["response"]["status"], &b["response"]["availableLoginAttemptCount"]),
        (&json!("FAILURE"), &json!(9))
    );

    let mut ids = Vec::new();
    for policy in ["sample-policy", "times-out"] {
        let (s, text, b) = exchange(
            client()
                .post(avx_url(&sim, "code-signing-generate-hash", "external"))
                .header("sessionId", &session.id)
                .header("username", &session.user)
                .header("password", &session.password)
                .json(&submit_body(policy, "sample-key")),
        )
        .await;
        assert_eq!(s, 200, "{text}");
        envelope(&b, &text, None);
        ids.push(b["response"]["signId"].as_str().expect("signId").to_string());
    }
    let (s, text, b) = exchange(avx_get_status(&sim, &session, &ids[0])).await;
    assert_eq!((s, &b["response"]["status"]), (200, &json!("Inprogress")), "{text}");
    envelope(&b, &text, None);
    assert!(absent_null_or(&b["response"], "noOfInProgressRequests", &json!(2)), "{text}");
    assert!(absent_null_or(&b["response"], "failedDueToTimeoutError", &json!(false)), "{text}");
    assert!(absent_null_or(&b["response"], "encodedHashData", &Value::Null), "{text}");
    let (s, text, b) = exchange(avx_get_status(&sim, &session, "65c47fa41112f940dab1cb12")).await;
    assert_eq!(s, 400, "{text}");
    envelope(&b, &text, Some("CODE_SIGNING_0102"));
    assert_eq!(b["message"], "Data not present for given signId.", "{text}");
    texts.push(text);

    sim.advance_time(Duration::from_secs(61));
    let (s, text, b) = exchange(avx_get_status(&sim, &session, &ids[0])).await;
    assert_eq!((s, &b["response"]["status"]), (200, &json!("Signed")), "{text}");
    envelope(&b, &text, None);
    let expected = sim.signature("sample-key", &digest_info_sha256()).expect("sample-key signs");
    assert_eq!(b["response"]["encodedHashData"], expected.as_str(), "{text}");
    assert!(absent_null_or(&b["response"], "failedDueToTimeoutError", &json!(false)), "{text}");
    assert!(absent_null_or(&b["response"], "noOfInProgressRequests", &Value::Null), "{text}");
    let (s, text, b) = exchange(avx_get_status(&sim, &session, &ids[1])).await;
    assert_eq!((s, &b["response"]["failedDueToTimeoutError"]), (200, &json!(true)), "{text}");
    assert_eq!(b["response"]["status"], "Failed", "{text}");
    envelope(&b, &text, None);
    texts
}

#[tokio::test]
async fn every_variant_parses_and_keeps_its_verdict() {
    let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); 3];
    for seed in 0..40u64 {
        for (i, text) in scenario(seed).await.into_iter().enumerate() {
            seen[i].insert(text);
        }
    }
    // The answers do vary across seeds: order, optional fields, extra fields.
    for (i, texts) in seen.iter().enumerate() {
        assert!(texts.len() > 10, "answer {i} took only {} forms", texts.len());
    }
    let successes: Vec<Value> = seen[0].iter().map(|t| serde_json::from_str(t).expect("json")).collect();
    assert!(successes.iter().any(|b| b.get("Result").is_some()) && successes.iter().any(|b| b.get("Result").is_none()));
    assert!(successes.iter().any(|b| b.as_object().is_some_and(|o| o.len() > 2)), "extra fields appear");
    assert!(seen[0].contains(r#"{"Success":true}"#), "the default is one of the variants");
}

/// Answers without anything random in them, in a fixed order.
async fn deterministic_answers(seed: Option<u64>) -> Vec<(u16, String)> {
    let sim = sim(SimConfig { variants: seed, ..config(0) }).await;
    let base = sim.base_url();
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(send_raw(client().get(format!("{base}/vedsdk/SystemStatus/Version"))).await);
        out.push(send_raw(client().get(format!("{base}/vedauth/authorize/verify")).bearer_auth("x==")).await);
        out.push(
            send_raw(client().post(format!("{base}{PREQUALIFY}")).bearer_auth("x==").json(&prequalify_body())).await,
        );
        out.push(send_raw(client().post(avx_url(&sim, "login", "external")).json(&json!({}))).await);
        out.push(send_raw(client().get(avx_url(&sim, "nowhere", "external"))).await);
        out.push(send_raw(client().get(format!("{base}/vedsdk/Nowhere"))).await);
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_the_same_bytes() {
    let a = deterministic_answers(Some(42)).await;
    assert_eq!(a, deterministic_answers(Some(42)).await);
    let b = deterministic_answers(Some(43)).await;
    assert_ne!(a, b, "another seed gives other variants");
    let plain = deterministic_answers(None).await;
    let statuses = |v: &[(u16, String)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    assert_eq!(statuses(&a), statuses(&plain), "HTTP statuses never vary");
    assert_eq!(statuses(&b), statuses(&plain));
    let changed = a.iter().zip(&plain).filter(|(x, y)| x.1 != y.1).count();
    assert!(changed >= 6, "only {changed} of {} answers varied", a.len());
    // Every value that is not null in the default answer is there, unchanged, in each variant,
    // except error_description, which TPP documents as "if available".
    for ((_, varied), (_, default)) in a.iter().chain(&b).zip(plain.iter().chain(&plain)) {
        let varied: Value = serde_json::from_str(varied).expect("json");
        let default: Value = serde_json::from_str(default).expect("json");
        for (key, value) in default.as_object().expect("object") {
            if value.is_null() || key == "error_description" {
                continue;
            }
            assert_eq!(varied.get(key), Some(value), "{key} in {varied}");
        }
    }
}

/// The simulator's own endpoints never vary: tests read them.
#[tokio::test]
async fn the_state_endpoint_does_not_vary() {
    let sim = sim(config(7)).await;
    for _ in 0..5 {
        let (_, text) = send_raw(client().get(format!("{}/__sim/state", sim.base_url()))).await;
        let state: signing_sim::SimState = serde_json::from_str(&text).expect("SimState");
        assert_eq!(serde_json::to_string(&state).expect("json"), text, "field order and fields as declared");
    }
}
