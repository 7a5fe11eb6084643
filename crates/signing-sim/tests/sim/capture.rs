//! What the request log keeps for conformance checks, and what it never keeps.

use serde_json::{json, Value};
use signing_sim::SimConfig;

use crate::*;

#[tokio::test]
async fn requests_keep_header_names_and_bodies_with_secrets_masked() {
    let mut config = SimConfig::default();
    config.appviewx.gwkey = Some("f000ca01".into());
    let sim = sim(config).await;
    let (_, grant) = login(&sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    let access = grant["access_token"].as_str().expect("access_token").to_string();
    let refresh = grant["refresh_token"].as_str().expect("refresh_token").to_string();
    let (_, refreshed) = send(
        client()
            .post(format!("{}/vedauth/authorize/token", sim.base_url()))
            .json(&json!({"client_id": "codesign-gate", "refresh_token": refresh})),
    )
    .await;
    let jwt = sim.oidc_token(Some("codesign-gate"));
    let (s, _) = send(
        client()
            .post(format!("{}/vedauth/authorize/jwt", sim.base_url()))
            .json(&json!({"client_id": "codesign-gate", "jwt": jwt, "scope": "codesign:approve"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = post_sdk(&sim, &access, PREQUALIFY, &prequalify_body()).await;
    assert_eq!(s, 200);
    let (s, b) = send(
        client()
            .post(format!("{}/avxapi/login?gwsource=external&gwkey=f000ca01", sim.base_url()))
            .header("username", "avx-user")
            .header("password", "avx-password")
            .header("Content-Type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let session_id = b["response"]["sessionId"].as_str().expect("sessionId").to_string();
    let (s, _) = send(
        client()
            .get(format!(
                "{}/avxapi/code-signing-fetch-status-sync-requests?gwsource=api&gwkey=f000ca01&signId=65c47fa41112f940dab1cb12",
                sim.base_url()
            ))
            .header("sessionId", &session_id)
            .header("username", "avx-user")
            .header("password", "avx-password")
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(s, 400, "an unknown signId");

    let state = sim.state();
    let r = &state.requests;
    assert_eq!(r.len(), 6);
    assert_eq!(r[0].header_names, ["accept", "content-length", "content-type", "host"]);
    assert_eq!(
        r[0].body,
        Some(
            json!({"client_id": "codesign-gate", "username": "sample-approver", "password": "***", "scope": "codesign:approve"})
        )
    );
    assert_eq!(r[1].body, Some(json!({"client_id": "codesign-gate", "refresh_token": "***"})));
    assert_eq!(r[2].body, Some(json!({"client_id": "codesign-gate", "jwt": "***", "scope": "codesign:approve"})));
    assert_eq!(r[3].header_names, ["accept", "authorization", "content-length", "content-type", "host"]);
    assert_eq!(r[3].body, Some(prequalify_body()));
    assert_eq!(r[4].query.as_deref(), Some("gwsource=external&gwkey=***"));
    assert_eq!(r[4].header_names, ["accept", "content-length", "content-type", "host", "password", "username"]);
    assert_eq!(r[4].body, Some(json!({})));
    assert_eq!(r[5].method, "GET");
    assert_eq!(r[5].query.as_deref(), Some("gwsource=api&gwkey=***&signId=65c47fa41112f940dab1cb12"));
    assert_eq!(r[5].header_names, ["accept", "content-type", "host", "password", "sessionid", "username"]);
    assert_eq!(r[5].body, None);

    // Neither the Rust snapshot nor /__sim/state holds a credential.
    let (_, served) = send(client().get(format!("{}/__sim/state", sim.base_url()))).await;
    let served_text = served.to_string();
    let snapshot_text = serde_json::to_string(&state).expect("json");
    let secrets = [
        access.as_str(),
        refresh.as_str(),
        refreshed["access_token"].as_str().expect("access_token"),
        refreshed["refresh_token"].as_str().expect("refresh_token"),
        jwt.as_str(),
        session_id.as_str(),
        "sample-approver-password",
        "avx-password",
        "f000ca01",
    ];
    for text in [&served_text, &snapshot_text] {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    let again: signing_sim::SimState = serde_json::from_value(served).expect("SimState");
    assert_eq!(again.requests[..6], state.requests[..]);
}

/// Bodies that are not JSON are not kept; a request a fault answered before reading its body
/// has none either.
#[tokio::test]
async fn non_json_bodies_are_not_kept() {
    let sim = sim(SimConfig::default()).await;
    let (s, _) = send(
        client()
            .post(format!("{}/vedauth/authorize/oauth", sim.base_url()))
            .header("content-type", "application/json")
            .body("password=hunter2"),
    )
    .await;
    assert_eq!(s, 400);
    let state = sim.state();
    assert_eq!(state.requests[0].body, None::<Value>);
    assert!(!serde_json::to_string(&state).expect("json").contains("hunter2"));
}

#[tokio::test]
async fn the_echo_endpoint_and_the_request_log_show_the_peer_address() {
    let sim = sim(SimConfig::default()).await;
    let (status, text) = send_raw(client().get(format!("{}/__sim/ip", sim.base_url()))).await;
    assert_eq!((status, text.as_str()), (200, "127.0.0.1\n"));
    let (status, body) = send(client().get(format!("{}/__sim/IP?format=json", sim.base_url()))).await;
    assert_eq!((status, body), (200, json!({"ip": "127.0.0.1"})));
    let (status, _) = send(client().post(format!("{}/__sim/ip", sim.base_url()))).await;
    assert_eq!(status, 405);
    let (status, _) = send(client().get(format!("{}/vedsdk/SystemStatus/Version", sim.base_url()))).await;
    assert_eq!(status, 200);
    let peers: Vec<Option<std::net::IpAddr>> = sim.state().requests.iter().map(|r| r.peer).collect();
    assert_eq!(peers, vec![Some(std::net::Ipv4Addr::LOCALHOST.into()); 4]);
}
