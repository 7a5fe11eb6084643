//! Keyless CI authentication: a token from the GitHub OIDC stand-in exchanged at
//! `/vedauth/authorize/jwt` for a TPP grant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use signing_sim::{Fault, FaultKind, JwtMapping, SimConfig, SimHandle, GITHUB_OIDC_ISSUER};

use crate::*;

const REQUEST_TOKEN: &str = "sim-oidc-request-token";

/// What a job does: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with the request token.
async fn fetch_oidc(sim: &SimHandle, audience: Option<&str>, authorization: Option<&str>) -> (u16, Value) {
    let mut url = sim.oidc_request_url();
    if let Some(aud) = audience {
        url.push_str("&audience=");
        url.extend(form_urlencoded::byte_serialize(aud.as_bytes()));
    }
    let mut rb = client().get(url);
    if let Some(value) = authorization {
        rb = rb.header("Authorization", value);
    }
    send(rb).await
}

async fn oidc_jwt(sim: &SimHandle, audience: Option<&str>) -> String {
    let (s, b) = fetch_oidc(sim, audience, Some(&format!("bearer {REQUEST_TOKEN}"))).await;
    assert_eq!(s, 200, "{b}");
    b["value"].as_str().expect("value").to_string()
}

async fn exchange(sim: &SimHandle, jwt: &str, scope: &str) -> (u16, Value) {
    send(
        client()
            .post(format!("{}/vedauth/authorize/jwt", sim.base_url()))
            .json(&json!({"client_id": "codesign-gate", "jwt": jwt, "scope": scope})),
    )
    .await
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The exchange refused the token as `invalid_grant`, said why, and did not echo the token.
fn assert_refused(status: u16, body: &Value, jwt: &str, needle: &str) {
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let description = body["error_description"].as_str().unwrap_or("");
    assert!(description.contains(needle), "{needle:?} not in {description:?}");
    let signature = jwt.rsplit('.').next().unwrap_or(jwt);
    assert!(!description.contains(jwt), "the token is echoed: {description}");
    assert!(signature.len() < 16 || !description.contains(signature), "the signature is echoed: {description}");
}

#[tokio::test]
async fn oidc_token_exchanged_for_a_grant_that_can_prequalify() {
    let sim = sim(SimConfig::default()).await;
    let (s, b) = fetch_oidc(&sim, Some("codesign-gate"), Some(&format!("bearer {REQUEST_TOKEN}"))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 1);
    let jwt = b["value"].as_str().expect("value").to_string();
    assert_eq!(jwt.split('.').count(), 3);
    let c = claims_of(&jwt);
    assert_eq!(c["iss"], GITHUB_OIDC_ISSUER);
    assert_eq!(c["aud"], "codesign-gate");
    assert_eq!(c["sub"], "repo:acme/rocket:ref:refs/heads/main");
    assert_eq!((c["repository"].as_str(), c["ref"].as_str()), (Some("acme/rocket"), Some("refs/heads/main")));
    assert!(c["sha"].as_str().is_some_and(|s| s.len() == 40) && c["run_id"].is_string() && c["jti"].is_string());
    let iat = c["iat"].as_i64().expect("iat");
    assert_eq!(c["exp"].as_i64(), Some(iat + 300));
    assert!(c["nbf"].as_i64().is_some_and(|nbf| nbf <= iat));
    assert!((iat - unix_now()).abs() < 5);

    // IIS-style path tolerance, as on every TPP path.
    let (s, grant) = send(
        client()
            .post(format!("{}/VEDAUTH/Authorize/JWT/", sim.base_url()))
            .json(&json!({"client_id": "codesign-gate", "jwt": jwt, "scope": "codesign:approve"})),
    )
    .await;
    assert_eq!(s, 200, "{grant}");
    let (_, password_grant) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&grant), keys(&password_grant), "same fields as the password grant");
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(grant["scope"], "codesign:approve");
    assert_eq!(grant["identity"], password_grant["identity"], "the mapped user's identity");
    assert!(grant["access_token"].as_str().is_some_and(|t| t.ends_with("==")));

    let token = grant["access_token"].as_str().expect("access_token");
    let (s, b) = post_sdk(&sim, token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!((s, &b), (200, &json!({"Success": true})));
    let (s, v) = send(client().get(format!("{}/vedauth/authorize/verify", sim.base_url())).bearer_auth(token)).await;
    assert_eq!((s, v["application"].as_str()), (200, Some("codesign-gate")));

    let state = sim.state();
    assert_eq!(state.tpp_tokens[0].issued_via, "jwt");
    assert_eq!(state.tpp_tokens[0].username, "sample-approver");
    assert_eq!(state.prequalifications[0].created_by, "sample-approver");
    let oidc = &state.requests[0];
    assert_eq!((oidc.method.as_str(), oidc.path.as_str(), oidc.status), ("GET", "/__sim/oidc/token", 200));
    assert_eq!(oidc.query.as_deref(), Some("api-version=2.0&audience=codesign-gate"));
    assert_eq!((state.requests[1].path.as_str(), state.requests[1].status), ("/VEDAUTH/Authorize/JWT/", 200));
    let text = serde_json::to_string(&state).expect("json");
    assert!(!text.contains(&jwt) && !text.contains(REQUEST_TOKEN), "no credentials in the state");
}

#[tokio::test]
async fn oidc_endpoint_wants_the_request_token() {
    let sim = sim(SimConfig::default()).await;
    for auth in [None, Some("bearer wrong"), Some("Basic c2ltOng="), Some(REQUEST_TOKEN), Some("bearer")] {
        let (s, b) = fetch_oidc(&sim, Some("codesign-gate"), auth).await;
        assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")), "{auth:?}: {b}");
        assert!(b.get("value").is_none());
    }
    // The scheme is matched without case.
    let (s, b) = fetch_oidc(&sim, Some("codesign-gate"), Some(&format!("BEARER {REQUEST_TOKEN}"))).await;
    assert_eq!(s, 200, "{b}");
    // Without an audience GitHub uses the repository owner's URL.
    let c = claims_of(&oidc_jwt(&sim, None).await);
    assert_eq!(c["aud"], "https://github.com/acme");
    let resp = client()
        .post(sim.oidc_request_url())
        .header("Authorization", format!("Bearer {REQUEST_TOKEN}"))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    let statuses: Vec<u16> = sim.state().requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 200, 200, 405], "every request is recorded");
}

#[tokio::test]
async fn expired_jwt_is_refused_and_exp_follows_the_simulated_clock() {
    let sim = sim(SimConfig::default()).await;
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    sim.advance_time(Duration::from_secs(299));
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_eq!(s, 200, "still valid for a second: {b}");
    sim.advance_time(Duration::from_secs(2));
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_refused(s, &b, &jwt, "expired");

    // A token minted now carries the simulated time, so it is good again.
    let fresh = oidc_jwt(&sim, Some("codesign-gate")).await;
    let exp = claims_of(&fresh)["exp"].as_i64().expect("exp");
    assert!((exp - (unix_now() + 301 + 300)).abs() < 5, "exp {exp} is on the simulator's clock");
    let (s, b) = exchange(&sim, &fresh, "codesign:approve").await;
    assert_eq!(s, 200, "{b}");

    // nbf/iat in the future and a missing exp are refused too.
    let now = unix_now() + 301;
    let claims = |extra: Value| {
        let mut c = json!({"iss": GITHUB_OIDC_ISSUER, "aud": "codesign-gate", "sub": "repo:acme/rocket"});
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        c
    };
    for (extra, needle) in [
        (json!({"exp": now + 600, "nbf": now + 300}), "nbf"),
        (json!({"exp": now + 600, "iat": now + 300}), "iat"),
        (json!({}), "'exp'"),
        (json!({"exp": "tomorrow"}), "'exp'"),
    ] {
        let jwt = sim.mint_jwt(&claims(extra));
        let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
        assert_refused(s, &b, &jwt, needle);
    }
}

#[tokio::test]
async fn tampered_or_foreign_tokens_fail_the_signature_check() {
    let sim = sim(SimConfig::default()).await;
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    let parts: Vec<&str> = jwt.split('.').collect();

    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature");
    sig[0] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    let (s, b) = exchange(&sim, &flipped, "codesign:approve").await;
    assert_refused(s, &b, &flipped, "signature");

    // Another repository's claims under the original signature.
    let mut claims = claims_of(&jwt);
    claims["sub"] = json!("repo:acme/other:ref:refs/heads/main");
    let swapped = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
    let (s, b) = exchange(&sim, &swapped, "codesign:approve").await;
    assert_refused(s, &b, &swapped, "signature");

    // The same claims minted by another simulator (another key).
    let other = crate::sim(SimConfig::default()).await;
    let foreign = other.oidc_token(Some("codesign-gate"));
    let (s, b) = exchange(&sim, &foreign, "codesign:approve").await;
    assert_refused(s, &b, &foreign, "signature");

    let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let (s, b) = exchange(&sim, &unsigned, "codesign:approve").await;
    assert_refused(s, &b, &unsigned, "'none'");
    for garbage in ["not-a-jwt", "a.b.c", &format!("{jwt}.extra")] {
        let (s, b) = exchange(&sim, garbage, "codesign:approve").await;
        assert_refused(s, &b, garbage, "JWT");
    }
    assert!(sim.state().tpp_tokens.is_empty());
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_eq!(s, 200, "the untouched token still works: {b}");
}

#[tokio::test]
async fn wrong_audience_or_issuer_is_refused() {
    let sim = sim(SimConfig::default()).await;
    let jwt = oidc_jwt(&sim, Some("some-other-service")).await;
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_refused(s, &b, &jwt, "audience 'some-other-service'");
    assert!(b["error_description"].as_str().unwrap_or("").contains("expected 'codesign-gate'"), "{b}");
    // GitHub's default audience is not the mapping's either.
    let jwt = oidc_jwt(&sim, None).await;
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_refused(s, &b, &jwt, "audience 'https://github.com/acme'");

    let exp = unix_now() + 300;
    let jwt = sim.mint_jwt(&json!({
        "iss": "https://gitlab.example.com", "aud": "codesign-gate", "sub": "repo:acme/rocket", "exp": exp
    }));
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_refused(s, &b, &jwt, "issuer 'https://gitlab.example.com'");
    // An audience list is matched if any entry matches.
    let jwt = sim.mint_jwt(&json!({
        "iss": GITHUB_OIDC_ISSUER, "aud": ["x", "codesign-gate"], "sub": "repo:acme/rocket", "exp": exp
    }));
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn subject_outside_the_mapping_is_refused() {
    let sim = sim(SimConfig::default()).await;
    sim.set_oidc_subject("repo:evil/rocket:ref:refs/heads/main");
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    assert_eq!(claims_of(&jwt)["repository"], "evil/rocket");
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_refused(s, &b, &jwt, "subject 'repo:evil/rocket:ref:refs/heads/main'");
    assert!(b["error_description"].as_str().unwrap_or("").contains("repo:acme/*"), "{b}");
    // Any branch or environment of an acme repository is mapped.
    sim.set_oidc_subject("repo:acme/booster:environment:production");
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    assert_eq!(claims_of(&jwt)["environment"], "production");
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn mapped_user_who_is_not_an_approver_gets_result_2() {
    let mut config = SimConfig::default();
    config.tpp.jwt_mappings[0].username = "sample-user".into();
    let sim = sim(config).await;
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    let (s, grant) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_eq!(s, 200, "{grant}");
    let token = grant["access_token"].as_str().expect("access_token");
    let (s, b) = post_sdk(&sim, token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!((s, &b["Success"], &b["Result"]), (200, &json!(false), &json!(2)), "{b}");
    assert!(b["Error"].as_str().unwrap_or("").contains("sample-user"), "{b}");
    let mut approval = prequalify_body();
    if let Some(o) = approval.as_object_mut() {
        o.remove("Data");
    }
    let (s, b) = post_sdk(&sim, token, PREAPPROVE, &approval).await;
    assert_eq!((s, &b["Result"]), (200, &json!(2)), "{b}");
    assert!(sim.state().prequalifications.is_empty() && sim.state().preapprovals.is_empty());
    assert_eq!(sim.state().tpp_tokens[0].username, "sample-user");
}

#[tokio::test]
async fn a_jwt_grant_refreshes_and_revokes_like_any_other() {
    let sim = sim(SimConfig::default()).await;
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    let (_, grant) = exchange(&sim, &jwt, "codesign:approve").await;
    let refresh_url = format!("{}/vedauth/authorize/token", sim.base_url());
    let (s, refreshed) = send(
        client()
            .post(&refresh_url)
            .json(&json!({"client_id": "codesign-gate", "refresh_token": grant["refresh_token"]})),
    )
    .await;
    assert_eq!(s, 200, "{refreshed}");
    let token = refreshed["access_token"].as_str().expect("access_token");
    let resp = client()
        .get(format!("{}/vedauth/revoke/token", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    for t in [token, grant["access_token"].as_str().unwrap_or("")] {
        let (s, b) = post_sdk(&sim, t, PREQUALIFY, &prequalify_body()).await;
        assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")));
    }
    let (s, _) = send(
        client()
            .post(&refresh_url)
            .json(&json!({"client_id": "codesign-gate", "refresh_token": refreshed["refresh_token"]})),
    )
    .await;
    assert_eq!(s, 400);
    let tokens = sim.state().tpp_tokens;
    let via: Vec<&str> = tokens.iter().map(|t| t.issued_via.as_str()).collect();
    assert_eq!(via, ["jwt", "refresh"]);
    assert!(tokens.iter().all(|t| t.revoked));
    // The same OIDC token can be exchanged again (it is not single use), for a new grant.
    let (s, again) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_eq!(s, 200, "{again}");
    assert_ne!(sim.state().tpp_tokens[2].grant, tokens[0].grant);
}

#[tokio::test]
async fn request_checks_run_before_the_token_is_looked_at() {
    let sim = sim(SimConfig::default()).await;
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    let url = format!("{}/vedauth/authorize/jwt", sim.base_url());
    for (body, error) in [
        (json!({"client_id": "nobody", "jwt": jwt, "scope": "codesign:approve"}), "invalid_client"),
        (json!({"client_id": "codesign-gate", "jwt": jwt, "scope": "ssh:manage"}), "invalid_scope"),
        (json!({"client_id": "codesign-gate", "jwt": jwt, "scope": "code sign"}), "invalid_scope"),
        (json!({"client_id": "codesign-gate", "jwt": jwt, "scope": ""}), "invalid_scope"),
        (json!({"client_id": "codesign-gate", "jwt": jwt}), "invalid_request"),
        (json!({"client_id": "codesign-gate", "jwt": 5, "scope": "codesign:approve"}), "invalid_request"),
        (json!({"client_id": "codesign-gate", "jwt": "", "scope": "codesign:approve"}), "invalid_request"),
        (json!({"client_id": "codesign-gate", "JWT": jwt, "scope": "codesign:approve"}), "invalid_request"),
        // A bad token with a bad client: the client is reported.
        (json!({"client_id": "nobody", "jwt": "x.y.z", "scope": "codesign:approve"}), "invalid_client"),
    ] {
        let (s, b) = send(client().post(&url).json(&body)).await;
        assert_eq!((s, b["error"].as_str()), (400, Some(error)), "{body}: {b}");
        assert!(!b.to_string().contains(&jwt), "the token is echoed: {b}");
    }
    let (s, _) = send(client().post(&url).body(json!({"client_id": "codesign-gate"}).to_string())).await;
    assert_eq!(s, 415);
    let (s, _) = send(client().get(&url)).await;
    assert_eq!(s, 405);
    // Scopes compare without case, as for the password grant.
    let (s, b) = exchange(&sim, &jwt, "Codesign:Approve").await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn no_mapping_configured_refuses_every_token() {
    let mut config = SimConfig::default();
    config.tpp.jwt_mappings.clear();
    let sim = sim(config).await;
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;
    let (s, b) = exchange(&sim, &jwt, "codesign:approve").await;
    assert_refused(s, &b, &jwt, "No JWT mapping");
}

#[tokio::test]
async fn mappings_and_the_oidc_stand_in_come_from_toml() {
    let config = SimConfig::from_toml_str(
        r#"
[oidc]
request_token = "rt"
issuer = "https://ghes.example.com/_services/token"
subject = "repo:shop/cart:environment:release"

[[tpp.jwt_mappings]]
issuer = "https://ghes.example.com/_services/token"
audience = "https://tpp.example.com"
subject = "repo:shop/cart:environment:*"
username = "sample-approver"
"#,
    )
    .expect("config");
    let sim = sim(config).await;
    let (s, _) = fetch_oidc(&sim, Some("https://tpp.example.com"), Some(&format!("Bearer {REQUEST_TOKEN}"))).await;
    assert_eq!(s, 401, "the request token is the configured one");
    let (s, b) = fetch_oidc(&sim, Some("https://tpp.example.com"), Some("Bearer rt")).await;
    assert_eq!(s, 200, "{b}");
    let jwt = b["value"].as_str().expect("value");
    assert_eq!(claims_of(jwt)["iss"], "https://ghes.example.com/_services/token");
    let (s, b) = exchange(&sim, jwt, "codesign:approve").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        sim.config().tpp.jwt_mappings,
        [JwtMapping {
            issuer: "https://ghes.example.com/_services/token".into(),
            audience: "https://tpp.example.com".into(),
            subject: "repo:shop/cart:environment:*".into(),
            username: "sample-approver".into(),
        }]
    );
}

#[tokio::test]
async fn faults_hit_the_oidc_and_jwt_endpoints_too() {
    let sim = sim(SimConfig::default()).await;
    sim.add_fault(Fault::new("oidc/token", FaultKind::Status { code: 503, retry_after: Some("1".into()) }));
    sim.add_fault(Fault::new("authorize/jwt", FaultKind::Reset));
    sim.add_fault(Fault::new("authorize/jwt", FaultKind::MalformedJson));
    sim.add_fault(Fault::new("authorize/jwt", FaultKind::Status { code: 500, retry_after: None }));

    let resp = client()
        .get(format!("{}&audience=codesign-gate", sim.oidc_request_url()))
        .header("Authorization", format!("bearer {REQUEST_TOKEN}"))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let jwt = oidc_jwt(&sim, Some("codesign-gate")).await;

    let body = json!({"client_id": "codesign-gate", "jwt": jwt, "scope": "codesign:approve"});
    let url = format!("{}/vedauth/authorize/jwt", sim.base_url());
    assert!(client().post(&url).json(&body).send().await.is_err(), "reset: no answer");
    assert!(sim.state().tpp_tokens.is_empty(), "reset does not process the request");
    let resp = client().post(&url).json(&body).send().await.expect("response");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "malformed-json: {text}");
    assert_eq!(sim.state().tpp_tokens.len(), 1, "malformed-json does the work");
    let (s, b) = send(client().post(&url).json(&body)).await;
    assert_eq!((s, b["error"].as_str()), (500, Some("server_error")));
    let (s, _) = send(client().post(&url).json(&body)).await;
    assert_eq!(s, 200);

    let seen: Vec<(String, u16, Option<String>)> =
        sim.state().requests.into_iter().map(|r| (r.path, r.status, r.fault)).collect();
    let fault = |f: &str| Some(f.to_string());
    assert_eq!(
        seen,
        [
            ("/__sim/oidc/token".into(), 503, fault("status")),
            ("/__sim/oidc/token".into(), 200, None),
            ("/vedauth/authorize/jwt".into(), 0, fault("reset")),
            ("/vedauth/authorize/jwt".into(), 200, fault("malformed-json")),
            ("/vedauth/authorize/jwt".into(), 500, fault("status")),
            ("/vedauth/authorize/jwt".into(), 200, None),
        ]
    );
}
