use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use signing_sim::SimConfig;

use crate::*;

#[tokio::test]
async fn version_needs_no_token_and_paths_match_like_iis() {
    let sim = sim(SimConfig::default()).await;
    for path in ["/vedsdk/SystemStatus/Version", "/VEDSDK/systemstatus/version/", "/vedsdk/SYSTEMSTATUS/Version//"] {
        let resp = client().get(format!("{}{path}", sim.base_url())).send().await.expect("response");
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers().get("server").and_then(|v| v.to_str().ok()), Some("Microsoft-IIS/10.0"));
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["Version"], "24.1.0.2358");
    }
    let (status, _) = send(client().get(format!("{}/vedsdk/Nope", sim.base_url()))).await;
    assert_eq!(status, 404);
    let (status, _) = send(client().post(format!("{}/vedsdk/SystemStatus/Version", sim.base_url()))).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn oauth_success_has_the_documented_fields() {
    let sim = sim(SimConfig::default()).await;
    let (status, body) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    assert_eq!(status, 200);
    for field in ["access_token", "refresh_token", "identity", "scope"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    // Shaped like TPP's (Base64 of 16 bytes): pyVenafi sends a token as `Authorization` only
    // when it ends with "==", and otherwise puts it in the legacy `X-Venafi-API-Key` header.
    for field in ["access_token", "refresh_token"] {
        let t = body[field].as_str().unwrap_or("");
        assert!(t.len() == 24 && t.ends_with("==") && STANDARD.decode(t).is_ok(), "{field} {t:?}");
    }
    assert_eq!(body["scope"], "codesign:approve");
    assert!(body["identity"].as_str().unwrap_or("").starts_with("local:{"));
    let expires = body["expires"].as_i64().expect("expires");
    let refresh_until = body["refresh_until"].as_i64().expect("refresh_until");
    assert!(refresh_until - expires > 80 * 24 * 3600);
    let state = sim.state();
    assert_eq!(state.tpp_tokens.len(), 1);
    assert_eq!(state.tpp_tokens[0].username, "sample-approver");
    assert_eq!(state.tpp_tokens[0].issued_via, "oauth");
    assert!(!state.tpp_tokens[0].revoked && !state.tpp_tokens[0].expired);
}

#[tokio::test]
async fn oauth_refusals() {
    let sim = sim(SimConfig::default()).await;
    let (s, b) = login(&sim, "sample-approver", "wrong", "codesign:approve").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = login(&sim, "nobody", "x", "codesign:approve").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // A scope the integration lacks fails the whole call, even alongside a good one.
    let (s, b) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve;ssh:manage").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    let (s, b) = login(&sim, "sample-approver", "sample-approver-password", "codesign:delete").await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
    // Scope comparison ignores case, as the docs spell it Codesign:Approve.
    let (s, _) = login(&sim, "sample-approver", "sample-approver-password", "Codesign:Approve").await;
    assert_eq!(s, 200);

    let url = format!("{}/vedauth/authorize/oauth", sim.base_url());
    let (s, b) = send(client().post(&url).json(&json!({
        "client_id": "someone-else", "username": "sample-approver",
        "password": "sample-approver-password", "scope": "codesign:approve"
    })))
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_client")));
    let (s, b) = send(client().post(&url).json(&json!({"client_id": "codesign-gate", "username": "x"}))).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    assert!(b["error_description"].as_str().unwrap_or("").contains("missing field"));
    let (s, b) = send(client().post(&url).header("content-type", "application/json").body("{not json")).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    let (s, _) = send(client().post(&url).body("{}")).await;
    assert_eq!(s, 415);
    // Field names are case sensitive.
    let (s, _) = send(client().post(&url).json(&json!({
        "Client_Id": "codesign-gate", "username": "sample-approver",
        "password": "sample-approver-password", "scope": "codesign:approve"
    })))
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_revoke_ends_the_grant() {
    let sim = sim(SimConfig::default()).await;
    let (_, first) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    let url = format!("{}/vedauth/authorize/token", sim.base_url());
    let refresh = |rt: &Value| json!({"client_id": "codesign-gate", "refresh_token": rt});
    let (s, second) = send(client().post(&url).json(&refresh(&first["refresh_token"]))).await;
    assert_eq!(s, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    for field in ["access_token", "refresh_token"] {
        assert!(second[field].as_str().unwrap_or("").ends_with("=="), "{field} shaped like TPP's");
    }
    assert_eq!(second["scope"], "codesign:approve");
    // The old refresh token is single use.
    let (s, b) = send(client().post(&url).json(&refresh(&first["refresh_token"]))).await;
    assert_eq!(s, 400);
    assert_eq!(b["error_description"], "Grant has been revoked, has expired, or the refresh token is invalid");

    let token = second["access_token"].as_str().expect("token");
    let verify = format!("{}/vedauth/authorize/verify", sim.base_url());
    let (s, v) = send(client().get(&verify).bearer_auth(token)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["application"], "codesign-gate");
    assert_eq!(v["scope"], "codesign:approve");
    assert!(v["valid_for"].as_i64().unwrap_or(0) > 3500);
    assert!(v["expires_ISO8601"].as_str().unwrap_or("").ends_with('Z'));

    let resp = client()
        .get(format!("{}/vedauth/revoke/token", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    // Every token of the grant is gone, and so is its refresh token.
    for t in [token, first["access_token"].as_str().expect("t")] {
        let (s, b) = send(client().get(&verify).bearer_auth(t)).await;
        assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")));
    }
    let (s, _) = send(client().post(&url).json(&refresh(&second["refresh_token"]))).await;
    assert_eq!(s, 400);
    let state = sim.state();
    assert_eq!(state.tpp_tokens.len(), 2);
    assert!(state.tpp_tokens.iter().all(|t| t.revoked));
    assert_eq!(state.tpp_tokens[1].issued_via, "refresh");
}

#[tokio::test]
async fn non_rotating_refresh_can_be_configured() {
    let mut config = SimConfig::default();
    config.tpp.rotate_refresh_tokens = false;
    let sim = sim(config).await;
    let (_, first) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    let url = format!("{}/vedauth/authorize/token", sim.base_url());
    for _ in 0..2 {
        let (s, b) = send(
            client().post(&url).json(&json!({"client_id": "codesign-gate", "refresh_token": first["refresh_token"]})),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(b["refresh_token"], first["refresh_token"]);
    }
}

/// The unix milliseconds of a .NET JSON date, `"/Date(<ms>)/"`.
fn dotnet_ms(v: &Value) -> i64 {
    let text = v.as_str().unwrap_or_else(|| panic!("{v} is not a string"));
    let ms = text.strip_prefix("/Date(").and_then(|t| t.strip_suffix(")/")).unwrap_or_else(|| panic!("{text}"));
    ms.parse().unwrap_or_else(|_| panic!("{text}"))
}

/// "GET Authorize/Verify" documents these fields, in this order in its example; `valid_for` is
/// the reference's. Nothing else is answered.
#[tokio::test]
async fn verify_answers_every_documented_field_and_nothing_else() {
    let sim = sim(SimConfig::default()).await;
    let (s, first) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    assert_eq!(s, 200, "{first}");
    sim.advance_time(Duration::from_millis(2500));
    let (s, second) = send(client().post(format!("{}/vedauth/authorize/token", sim.base_url())).json(&json!({
        "client_id": "codesign-gate",
        "refresh_token": first["refresh_token"],
    })))
    .await;
    assert_eq!(s, 200, "{second}");
    let token = second["access_token"].as_str().expect("access_token");
    let (s, text) =
        send_raw(client().get(format!("{}/vedauth/authorize/verify", sim.base_url())).bearer_auth(token)).await;
    assert_eq!(s, 200, "{text}");
    let documented = [
        "access_issued_on",
        "access_issued_on_ISO8601",
        "access_issued_on_unix_time",
        "application",
        "expires",
        "expires_ISO8601",
        "expires_unix_time",
        "grant_issued_on",
        "grant_issued_on_ISO8601",
        "grant_issued_on_unix_time",
        "identity",
        "scope",
        "valid_for",
    ];
    let v: Value = serde_json::from_str(&text).expect("json");
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    let mut sorted = documented.to_vec();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "{text}");
    let positions: Vec<usize> =
        documented.iter().map(|k| text.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k}: {text}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "in the example's order: {text}");

    let access_ms = dotnet_ms(&v["access_issued_on"]);
    let expires_ms = dotnet_ms(&v["expires"]);
    let grant_ms = dotnet_ms(&v["grant_issued_on"]);
    for (ms, prefix) in [(access_ms, "access_issued_on"), (expires_ms, "expires"), (grant_ms, "grant_issued_on")] {
        assert_eq!(v[format!("{prefix}_unix_time")], json!(ms.div_euclid(1000)), "{prefix}: {text}");
        assert!(v[format!("{prefix}_ISO8601")].as_str().is_some_and(|t| t.ends_with('Z')), "{prefix}: {text}");
    }
    assert_eq!(expires_ms - access_ms, 3_600_000, "the access token lives token_lifetime_secs: {text}");
    assert!(access_ms - grant_ms >= 2500, "the grant is older than the refreshed token: {text}");
    assert_eq!(v["expires_unix_time"], second["expires"], "{text}");
    assert_eq!(
        (&v["application"], &v["identity"], &v["scope"]),
        (&json!("codesign-gate"), &second["identity"], &json!("codesign:approve"))
    );
}

#[tokio::test]
async fn bad_bearer_tokens_get_401_invalid_token() {
    let sim = sim(SimConfig::default()).await;
    let expired = sim.issue_token("sample-approver", "codesign:approve", -10);
    let verify = format!("{}/vedauth/authorize/verify", sim.base_url());
    for rb in [
        client().get(&verify).bearer_auth(&expired),
        client().get(&verify).bearer_auth("not-a-token"),
        client().get(&verify),
        client().get(&verify).header("X-Venafi-Api-Key", "legacy"),
    ] {
        let resp = rb.send().await.expect("response");
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().contains_key("www-authenticate"));
        let b: Value = resp.json().await.expect("json");
        assert_eq!(b["error"], "invalid_token");
        assert!(b["error_description"].is_string());
    }
    let (s, b) = post_sdk(&sim, &expired, PREQUALIFY, &prequalify_body()).await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_token")));
    assert!(sim.state().tpp_tokens[0].expired);

    // Tokens expire on the simulator's clock too.
    let token = sim.issue_token("sample-approver", "codesign:approve", 60);
    let (s, _) = send(client().get(&verify).bearer_auth(&token)).await;
    assert_eq!(s, 200);
    sim.advance_time(Duration::from_secs(61));
    let (s, _) = send(client().get(&verify).bearer_auth(&token)).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn prequalify_creates_and_is_recorded() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let mut body = prequalify_body();
    body["Hours"] = json!(2);
    body["SingleUse"] = json!(true);
    body["Data"] = json!(digest_b64(64));
    let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
    assert_eq!(s, 200);
    assert_eq!(b, json!({"Success": true}));
    // Lower-case path and a trailing slash reach the same endpoint.
    let (s, b) = post_sdk(&sim, &token, "/vedsdk/flow/actions/codesign/prequalify/create/", &prequalify_body()).await;
    assert_eq!((s, b["Success"].as_bool()), (200, Some(true)));
    let state = sim.state();
    assert_eq!(state.prequalifications.len(), 2);
    let p = &state.prequalifications[0];
    assert_eq!(p.dn, DN);
    assert_eq!(p.data, digest_b64(64));
    assert_eq!(p.user, "local:sample-cs-user");
    assert_eq!(p.comment, "build 42");
    assert_eq!((p.hours, p.single_use), (Some(2), Some(true)));
    assert_eq!(state.prequalifications[1].hours, None);
}

#[tokio::test]
async fn prequalify_refusals_are_http_200_with_result_codes() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;

    let mut body = prequalify_body();
    body["Dn"] = json!(r"\VED\Code Signing\Projects\Nope");
    let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
    assert_eq!((s, b["Success"].as_bool(), b["Result"].as_i64()), (200, Some(false), Some(7)));
    assert!(b["Error"].as_str().unwrap_or("").contains(r"\VED\Code Signing\Projects\Nope"));

    let mut body = prequalify_body();
    body["User"] = json!("local:nobody");
    let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
    assert_eq!((s, b["Success"].as_bool(), b["Result"].as_i64()), (200, Some(false), Some(1002)));

    // A valid login that is not a Key Use Approver.
    let (_, user) = login(&sim, "sample-user", "sample-user-password", "codesign:approve").await;
    let user_token = user["access_token"].as_str().expect("token");
    let (s, b) = post_sdk(&sim, user_token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!((s, b["Success"].as_bool(), b["Result"].as_i64()), (200, Some(false), Some(2)));
    let (s, b) =
        post_sdk(&sim, user_token, PREAPPROVE, &json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "c"}))
            .await;
    assert_eq!((s, b["Result"].as_i64()), (200, Some(2)));

    // DNs compare without case, like TPP's config tree.
    let mut body = prequalify_body();
    body["Dn"] = json!(DN.to_uppercase());
    let (_, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
    assert_eq!(b["Success"], true);
    assert_eq!(sim.state().prequalifications.len(), 1);
}

#[tokio::test]
async fn prequalify_needs_the_approve_scope() {
    let sim = sim(SimConfig::default()).await;
    let token = sim.issue_token("sample-approver", "certificate:manage", 3600);
    let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!((s, b["error"].as_str()), (403, Some("insufficient_scope")));
    let token = sim.issue_token("sample-approver", "codesign:manage", 3600);
    let (s, _) =
        post_sdk(&sim, &token, PREAPPROVE, &json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "c"})).await;
    assert_eq!(s, 403);
    let token = sim.issue_token("sample-approver", "CODESIGN:APPROVE", 3600);
    let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn prequalify_validates_every_field() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let cases: Vec<(&str, Value)> = vec![
        ("Data", json!("")),
        ("Data", json!("not base64!")),
        ("Data", json!(12)),
        ("Hours", json!(0)),
        ("Hours", json!(-1)),
        ("Hours", json!(1.5)),
        ("Hours", json!("24")),
        ("Hours", json!(8761)),
        ("SingleUse", json!("yes")),
        ("Dn", json!(null)),
        ("Comment", json!(5)),
    ];
    for (field, value) in cases {
        let mut body = prequalify_body();
        body[field] = value.clone();
        let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")), "{field}={value}: {b}");
    }
    for missing in ["Dn", "Data", "User", "Comment"] {
        let mut body = prequalify_body();
        body.as_object_mut().expect("object").remove(missing);
        let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
        assert_eq!(s, 400, "missing {missing}");
    }
    let mut body = prequalify_body();
    let data = body["Data"].clone();
    body.as_object_mut().expect("object").remove("Data");
    body["data"] = data;
    let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
    assert_eq!(s, 400, "field names are case sensitive");
    for ok in [1, 24, 8760] {
        let mut body = prequalify_body();
        body["Hours"] = json!(ok);
        body["Data"] = json!(digest_b64(48));
        let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
        assert_eq!(s, 200, "Hours={ok}");
    }
    assert_eq!(sim.state().prequalifications.len(), 3);
}

/// "The Base64 encoding of a hash, digest, or data": any length is accepted and stored as sent;
/// what is not standard Base64 with padding, or is empty, is 400 `invalid_request`.
#[tokio::test]
async fn prequalify_data_is_any_non_empty_base64() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    digest_info.extend([0x5a; 32]);
    let accepted =
        [digest_b64(20), digest_b64(31), digest_b64(1), digest_b64(200), STANDARD.encode(&digest_info), "+/8=".into()];
    for data in &accepted {
        let mut body = prequalify_body();
        body["Data"] = json!(data);
        let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
        assert_eq!((s, &b), (200, &json!({"Success": true})), "Data={data}");
    }
    let stored: Vec<String> = sim.state().prequalifications.into_iter().map(|p| p.data).collect();
    assert_eq!(stored, accepted);
    for data in ["", " ", "not base64!", "q83v7w", "q83v7w=", "-_8=", "q83v\n7w==", "=", "q83v7w==="] {
        let mut body = prequalify_body();
        body["Data"] = json!(data);
        let (s, b) = post_sdk(&sim, &token, PREQUALIFY, &body).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")), "Data={data:?}: {b}");
    }
    assert_eq!(sim.state().prequalifications.len(), accepted.len());
}

#[tokio::test]
async fn add_preapproval_stores_every_field_and_validates_them() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let guid_user = {
        // The PrefixedUniversal form of the key user works too.
        let mut c = SimConfig::default();
        c.tpp.key_users[0].guid = Some("{11111111-2222-3333-4444-555555555555}".into());
        c
    };
    let full = json!({
        "Dn": DN,
        "User": "local:sample-cs-user",
        "Comment": "release 1.2",
        "Hours": 1,
        "IPAddress": "192.0.2.10",
        "NotBefore": "2021-12-31T00:52:50.5387438",
        "SigningExecutable": r"C:\Program Files (x86)\Windows Kits\10\bin\x64\signtool.exe",
        "SingleUse": false,
    });
    let (s, b) = post_sdk(&sim, &token, PREAPPROVE, &full).await;
    assert_eq!((s, b), (200, json!({"Success": true})));
    let (s, _) = post_sdk(&sim, &token, PREAPPROVE, &json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "x", "IPAddress": "::1", "NotBefore": "2030-01-01T00:00:00Z"})).await;
    assert_eq!(s, 200);
    let state = sim.state();
    assert_eq!(state.preapprovals.len(), 2);
    let p = &state.preapprovals[0];
    assert_eq!(p.ip_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(p.not_before.as_deref(), Some("2021-12-31T00:52:50.5387438"));
    assert!(p.signing_executable.as_deref().unwrap_or("").ends_with("signtool.exe"));
    assert_eq!((p.hours, p.single_use), (Some(1), Some(false)));
    assert_eq!(p.created_by, "sample-approver");

    for (field, value) in [
        ("IPAddress", json!("192.0.2.300")),
        ("IPAddress", json!("runner.example.com")),
        ("IPAddress", json!(3_232_235_777_u32)),
        ("NotBefore", json!("2021-12-31")),
        ("NotBefore", json!("31/12/2021 00:52:50")),
        ("NotBefore", json!("2021-12-31T00:52:50+0200")),
        ("Hours", json!(0)),
        ("SigningExecutable", json!("")),
        ("SingleUse", json!(1)),
    ] {
        let mut body = full.clone();
        body[field] = value.clone();
        let (s, b) = post_sdk(&sim, &token, PREAPPROVE, &body).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")), "{field}={value}");
    }
    let mut body = full.clone();
    body["Dn"] = json!(r"\VED\Elsewhere");
    let (_, b) = post_sdk(&sim, &token, PREAPPROVE, &body).await;
    assert_eq!(b["Result"], 7);
    assert_eq!(sim.state().preapprovals.len(), 2);

    let sim2 = crate::sim(guid_user).await;
    let token = approver_token(&sim2).await;
    let mut body = full.clone();
    body["User"] = json!("local:{11111111-2222-3333-4444-555555555555}");
    let (_, b) = post_sdk(&sim2, &token, PREAPPROVE, &body).await;
    assert_eq!(b["Success"], true, "{b}");
}

#[tokio::test]
async fn get_environment_reports_found_and_not_found() {
    let sim = sim(SimConfig::default()).await;
    let token = sim.issue_token("sample-user", "codesign", 3600);
    let path = "/vedsdk/Codesign/GetEnvironment";
    let (s, b) = post_sdk(&sim, &token, path, &json!({"Dn": DN})).await;
    assert_eq!(s, 200);
    assert_eq!((b["Success"].as_bool(), b["Result"].as_i64()), (Some(true), Some(1)));
    assert_eq!(b["CertificateEnvironment"]["Dn"], DN);
    let (s, b) = post_sdk(&sim, &token, path, &json!({"Dn": r"\VED\Missing"})).await;
    assert_eq!((s, b["Success"].as_bool(), b["Result"].as_i64()), (200, Some(false), Some(7)));
    assert!(b["Error"].as_str().unwrap_or("").contains(r"\VED\Missing"));
    let token = sim.issue_token("sample-user", "certificate:manage", 3600);
    let (s, _) = post_sdk(&sim, &token, path, &json!({"Dn": DN})).await;
    assert_eq!(s, 403);
}

/// TPP takes one of `Dn`, `Guid` or `Id`; pyVenafi's `GetEnvironment.post(guid=...)` sends only
/// the one given.
#[tokio::test]
async fn get_environment_by_guid_or_id() {
    let sim = sim(SimConfig::default()).await;
    let token = sim.issue_token("sample-user", "codesign", 3600);
    let path = "/vedsdk/Codesign/GetEnvironment";
    let (_, by_dn) = post_sdk(&sim, &token, path, &json!({"Dn": DN})).await;
    let env = &by_dn["CertificateEnvironment"];
    let guid = env["Guid"].as_str().expect("Guid").to_string();
    let id = env["Id"].as_i64().expect("Id");
    assert!(id > 0);
    let bare_upper = guid.trim_matches(|c| c == '{' || c == '}').to_uppercase();
    for body in [json!({"Guid": guid}), json!({"Guid": bare_upper}), json!({"Id": id})] {
        let (s, b) = post_sdk(&sim, &token, path, &body).await;
        assert_eq!((s, b["Success"].as_bool()), (200, Some(true)), "{body}: {b}");
        assert_eq!(b["CertificateEnvironment"], *env, "{body}");
    }
    for body in [json!({"Guid": "{00000000-0000-0000-0000-000000000000}"}), json!({"Id": id + 1})] {
        let (s, b) = post_sdk(&sim, &token, path, &body).await;
        assert_eq!((s, b["Success"].as_bool(), b["Result"].as_i64()), (200, Some(false), Some(7)), "{body}");
    }
    let (s, b) = post_sdk(&sim, &token, path, &json!({})).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn state_endpoint_matches_the_rust_snapshot_and_hides_secrets() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
    let (s, body) = send(client().get(format!("{}/__sim/state", sim.base_url()))).await;
    assert_eq!(s, 200);
    let served: signing_sim::SimState = serde_json::from_value(body.clone()).expect("SimState");
    let now = sim.state();
    assert_eq!(served.prequalifications, now.prequalifications);
    assert_eq!(served.tpp_tokens, now.tpp_tokens);
    let text = body.to_string();
    assert!(!text.contains(&token));
    assert!(!text.contains("sample-approver-password"));
    let paths: Vec<&str> = now.requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/vedauth/authorize/oauth", PREQUALIFY, "/__sim/state"]);
    assert_eq!(now.requests[1].status, 200);
}

#[test]
fn blocking_spawn_serves_and_shuts_down() {
    let sim = signing_sim::SimHandle::spawn(SimConfig::default()).expect("spawn");
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    let addr = sim.addr();
    let token = sim.issue_token("sample-approver", "codesign:approve", 3600);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        let (s, _) = post_sdk(&sim, &token, PREQUALIFY, &prequalify_body()).await;
        assert_eq!(s, 200);
    });
    assert_eq!(sim.state().prequalifications.len(), 1);
    sim.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn parallel_refreshes_with_one_token_race_and_only_one_wins() {
    let sim = sim(SimConfig::default()).await;
    let (_, first) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    let url = format!("{}/vedauth/authorize/token", sim.base_url());
    let body = json!({"client_id": "codesign-gate", "refresh_token": first["refresh_token"]});
    let jobs: Vec<_> = (0..4).map(|_| send(client().post(&url).json(&body))).collect();
    let mut statuses: Vec<u16> = Vec::new();
    for job in jobs {
        statuses.push(job.await.0);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400, 400, 400]);
}

#[tokio::test]
async fn quoted_bearer_as_in_venafi_docs_and_oversized_bodies() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let verify = format!("{}/vedauth/authorize/verify", sim.base_url());
    let (s, _) = send(client().get(&verify).header("Authorization", format!("Bearer \"{token}\""))).await;
    assert_eq!(s, 200);
    let (s, _) = send(client().get(&verify).header("Authorization", format!("bearer {token}"))).await;
    assert_eq!(s, 200);
    let big = "x".repeat(2 * 1024 * 1024);
    let (s, b) = send(client().post(format!("{}{PREQUALIFY}", sim.base_url())).bearer_auth(&token).body(big)).await;
    assert_eq!((s, b["error"].as_str()), (413, Some("invalid_request")));
    let (s, _) = send(client().get(format!("{}/elsewhere", sim.base_url()))).await;
    assert_eq!(s, 404);
}

/// Every default answer is the documented shape and no more: `{"Success":true}` for a success of
/// PreQualify/Create and AddPreApproval, `Success`/`Result`/`Error` for a refusal, the token
/// fields of the reference for a grant (no `state` echoed).
#[tokio::test]
async fn default_answers_are_the_documented_shapes_byte_for_byte() {
    let sim = sim(SimConfig::default()).await;
    let token = approver_token(&sim).await;
    let post =
        |path: &str, body: Value| client().post(format!("{}{path}", sim.base_url())).bearer_auth(&token).json(&body);
    assert_eq!(send_raw(post(PREQUALIFY, prequalify_body())).await, (200, r#"{"Success":true}"#.to_string()));
    let preapproval = json!({"Dn": DN, "User": "local:sample-cs-user", "Comment": "c"});
    assert_eq!(send_raw(post(PREAPPROVE, preapproval.clone())).await, (200, r#"{"Success":true}"#.to_string()));
    let mut unknown = preapproval.clone();
    unknown["User"] = json!("local:nobody");
    assert_eq!(
        send_raw(post(PREAPPROVE, unknown)).await,
        (200, r#"{"Success":false,"Result":1002,"Error":"User 'local:nobody' was not found"}"#.to_string())
    );
    let mut elsewhere = prequalify_body();
    elsewhere["Dn"] = json!(r"\VED\Nowhere");
    assert_eq!(
        send_raw(post(PREQUALIFY, elsewhere)).await,
        (
            200,
            r#"{"Success":false,"Result":7,"Error":"Environment '\\VED\\Nowhere' does not exist or is not a code signing environment"}"#
                .to_string()
        )
    );
    let (s, text) = send_raw(post("/vedsdk/Codesign/GetEnvironment", json!({"Dn": DN}))).await;
    assert_eq!(s, 200);
    let b: Value = serde_json::from_str(&text).expect("json");
    let env = &b["CertificateEnvironment"];
    assert_eq!(
        text,
        format!(
            r#"{{"CertificateEnvironment":{{"Dn":{},"Guid":"{}","Id":{},"Name":"Production Environment"}},"Success":true,"Result":1}}"#,
            serde_json::to_string(DN).expect("dn"),
            env["Guid"].as_str().expect("Guid"),
            env["Id"].as_i64().expect("Id"),
        )
    );
    let (s, text) = send_raw(client().get(format!("{}/vedsdk/SystemStatus/Version", sim.base_url()))).await;
    assert_eq!((s, text.as_str()), (200, r#"{"Version":"24.1.0.2358"}"#));

    // The password grant: the documented fields only, in any case without an echoed `state`.
    let (s, b) = send(client().post(format!("{}/vedauth/authorize/oauth", sim.base_url())).json(&json!({
        "client_id": "codesign-gate", "username": "sample-approver",
        "password": "sample-approver-password", "scope": "codesign:approve", "state": "xyz",
    })))
    .await;
    assert_eq!(s, 200);
    let sorted_keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let keys = sorted_keys(&b);
    assert_eq!(keys, ["access_token", "expires", "identity", "refresh_token", "refresh_until", "scope", "token_type"]);
    let (s, b) = send(client().post(format!("{}/vedauth/authorize/token", sim.base_url())).json(&json!({
        "client_id": "codesign-gate", "refresh_token": b["refresh_token"],
    })))
    .await;
    assert_eq!(s, 200);
    assert_eq!(sorted_keys(&b), keys);
    let (s, text) =
        send_raw(client().get(format!("{}/vedauth/authorize/verify", sim.base_url())).bearer_auth("nope==")).await;
    assert_eq!(
        (s, text.as_str()),
        (401, r#"{"error":"invalid_token","error_description":"The access token is not valid"}"#)
    );
}
