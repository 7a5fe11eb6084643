//! Talks to the simulator over real HTTP on loopback, the way the gate and the vendor SDKs do.

mod appviewx;
mod capture;
mod certificates;
mod chain;
mod config;
mod documented;
mod faults;
mod jwt;
mod signatures;
mod tls;
mod tpp;
mod variants;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use signing_sim::{ApprovalMode, SimConfig, SimHandle};

pub const DN: &str = signing_sim::DEMO_ENVIRONMENT_DN;

pub async fn sim(config: SimConfig) -> SimHandle {
    signing_sim::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("simulator starts")
}

/// The demo setup with the approval chain recorded only, for tests of AppViewX alone: they sign
/// without pre-qualifying or pre-approving anything.
pub fn recorded() -> SimConfig {
    SimConfig { approval: ApprovalMode::Recorded, ..SimConfig::default() }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client")
}

/// Status and parsed JSON body (`Value::Null` when the body is empty or not JSON).
pub async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Status and the body exactly as sent, for asserting answers byte for byte.
pub async fn send_raw(rb: reqwest::RequestBuilder) -> (u16, String) {
    let resp = rb.send().await.expect("response");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

pub async fn login(sim: &SimHandle, user: &str, password: &str, scope: &str) -> (u16, Value) {
    send(client().post(format!("{}/vedauth/authorize/oauth", sim.base_url())).json(&json!({
        "client_id": "codesign-gate",
        "username": user,
        "password": password,
        "scope": scope,
    })))
    .await
}

pub async fn approver_token(sim: &SimHandle) -> String {
    let (status, body) = login(sim, "sample-approver", "sample-approver-password", "codesign:approve").await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("access_token").to_string()
}

pub fn digest_b64(len: usize) -> String {
    STANDARD.encode(vec![0xab; len])
}

pub fn prequalify_body() -> Value {
    json!({
        "Dn": DN,
        "Data": digest_b64(32),
        "User": "local:sample-cs-user",
        "Comment": "build 42",
    })
}

pub async fn post_sdk(sim: &SimHandle, token: &str, path: &str, body: &Value) -> (u16, Value) {
    send(client().post(format!("{}{path}", sim.base_url())).bearer_auth(token).json(body)).await
}

pub const PREQUALIFY: &str = "/vedsdk/Flow/Actions/CodeSign/PreQualify/Create";
pub const PREAPPROVE: &str = "/vedsdk/Codesign/AddPreApproval";

/// DigestInfo for SHA-256 over a fixed digest, Base64, as AppViewX expects it.
pub fn digest_info_sha256() -> String {
    let mut v = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    v.extend([0x5a; 32]);
    STANDARD.encode(v)
}

pub fn avx_url(sim: &SimHandle, endpoint: &str, gwsource: &str) -> String {
    format!("{}/avxapi/{endpoint}?gwsource={gwsource}", sim.base_url())
}

pub async fn avx_login(sim: &SimHandle, user: &str, password: &str) -> (u16, Value) {
    send(
        client()
            .post(avx_url(sim, "login", "external"))
            .header("username", user)
            .header("password", password)
            .json(&json!({})),
    )
    .await
}

pub struct AvxSession {
    pub id: String,
    pub user: String,
    pub password: String,
}

pub async fn avx_session(sim: &SimHandle) -> AvxSession {
    let (status, body) = avx_login(sim, "avx-user", "avx-password").await;
    assert_eq!(status, 200, "{body}");
    AvxSession {
        id: body["response"]["sessionId"].as_str().expect("sessionId").to_string(),
        user: "avx-user".into(),
        password: "avx-password".into(),
    }
}

pub fn submit_body(policy: &str, key: &str) -> Value {
    json!({
        "signingPolicy": policy,
        "signingKey": key,
        "versionNumber": "v1",
        "description": "artifact.bin",
        "signedType": "Hash Based Signing",
        "fileHashContent": digest_info_sha256(),
    })
}

pub async fn avx_submit(sim: &SimHandle, s: &AvxSession, body: &Value) -> (u16, Value) {
    send(
        client()
            .post(avx_url(sim, "code-signing-generate-hash", "external"))
            .header("sessionId", &s.id)
            .header("username", &s.user)
            .header("password", &s.password)
            .json(body),
    )
    .await
}

pub async fn avx_status(sim: &SimHandle, s: &AvxSession, sign_id: &str) -> (u16, Value) {
    send(
        client()
            .get(format!("{}&signId={sign_id}", avx_url(sim, "code-signing-fetch-status-sync-requests", "api")))
            .header("sessionId", &s.id)
            .header("username", &s.user)
            .header("password", &s.password)
            .header("Content-Type", "application/json"),
    )
    .await
}
