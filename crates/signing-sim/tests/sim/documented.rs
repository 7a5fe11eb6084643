//! The vendor documents' own examples, sent as they are written, and the documented answers.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use signing_sim::{AvxPolicy, AvxUser, Fault, FaultKind, SignOutcome, SimConfig, SimHandle, TppEnvironment};

use crate::*;

/// The environment DN of AddPreApproval's example ("Expedite Flow approval").
const EXAMPLE_DN: &str = r"\VED\Code Signing\Projects\Sample\Development Environment";
/// The bearer token every Venafi example shows.
const EXAMPLE_TOKEN: &str = "4MyGeneratedBearerTknz==";

/// A setup in which the documents' examples name things that exist: both example environments,
/// the key user `local:sample-cs-user`, AppViewX's example users, and a policy whose signed data is
/// a script as in the status document's example.
///
/// The examples sign without pre-qualifying or pre-approving anything, so the chain is only
/// recorded here.
fn documents_config() -> SimConfig {
    let mut config = recorded();
    config.tpp.environments.push(TppEnvironment { dn: EXAMPLE_DN.into(), approvers: vec!["sample-approver".into()] });
    config.appviewx.sign_delay_ms = 60_000;
    config.appviewx.users = vec![
        // "Log Into AppViewX" (2023.1): user appviewxuser, password appviewxpassword.
        AvxUser {
            username: "appviewxuser".into(),
            password: "appviewxpassword".into(),
            login_attempts: 10,
            can_sign: true,
        },
        // The status document's header examples: username "User", password "AppViewX@123".
        AvxUser { username: "User".into(), password: "AppViewX@123".into(), login_attempts: 10, can_sign: true },
    ];
    config.appviewx.policies = vec![
        AvxPolicy { name: "Test_Policy_01".into(), keys: vec!["sample-key".into()], ..AvxPolicy::default() },
        AvxPolicy {
            name: "ps-scripts".into(),
            keys: vec!["sample-key".into()],
            signed_script: Some("Get-PSDrive".into()),
            ..AvxPolicy::default()
        },
        AvxPolicy {
            name: "fetch-fails".into(),
            keys: vec!["sample-key".into()],
            outcome: SignOutcome::FetchError,
            ..AvxPolicy::default()
        },
    ];
    config
}

/// `Codesign/AddPreApproval`, "Example: Expedite Flow approval": the request as the document
/// prints it (no `Hours`, a `SigningExecutable` with spaces, `IPAddress`, `SingleUse` true), the answer
/// exactly `{"Success": true}` (compact on the wire).
#[tokio::test]
async fn add_preapproval_example_request_and_answer() {
    let sim = sim(documents_config()).await;
    sim.issue_token_value(EXAMPLE_TOKEN, "sample-approver", "codesign:approve", 3600);
    let body = r#"{
   "Dn":"\\VED\\Code Signing\\Projects\\Sample\\Development Environment",
   "User": "local:sample-cs-user",
   "SingleUse":true,
   "SigningExecutable":"c:\\Program Files (x86)\\Windows Kits\\10\\bin\\10.0.17763.0\\x64 signtool.exe",
   "IPAddress":"9.5.45.11",
   "Comment":"Override this Flow and approve signing for Product A."
}"#;
    let (s, text) = send_raw(
        client()
            .post(format!("{}/vedsdk/Codesign/AddPreApproval", sim.base_url()))
            .header("Authorization", format!("Bearer {EXAMPLE_TOKEN}"))
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!((s, text.as_str()), (200, r#"{"Success":true}"#));
    let state = sim.state();
    let p = &state.preapprovals[0];
    assert_eq!(p.dn, EXAMPLE_DN);
    assert_eq!(p.user, "local:sample-cs-user");
    assert_eq!(p.single_use, Some(true));
    assert_eq!(
        p.signing_executable.as_deref(),
        Some(r"c:\Program Files (x86)\Windows Kits\10\bin\10.0.17763.0\x64 signtool.exe")
    );
    assert_eq!(p.ip_address.as_deref(), Some("9.5.45.11"));
    assert_eq!(p.hours, None, "absent: 24 hours by the document");
    assert_eq!(p.comment, "Override this Flow and approve signing for Product A.");
    assert_eq!(state.requests[0].body, Some(serde_json::from_str(body).expect("json")));
}

/// `Flow/Actions/CodeSign/PreQualify/Create`, "Pre-authorize a hash; store it to use for only
/// one code signing". The document as kept has only the example's `Dn` and `Comment` lines (its
/// other lines and the answer body are lost); `Data`, `User` and `SingleUse` are filled in from
/// its parameter table. The answer is the documented success.
#[tokio::test]
async fn prequalify_example_request_and_answer() {
    let sim = sim(documents_config()).await;
    sim.issue_token_value(EXAMPLE_TOKEN, "sample-approver", "codesign:approve", 3600);
    let data = STANDARD.encode([0x5b; 32]);
    let body = format!(
        r#"{{
   "Dn":"\\VED\\Code Signing\\Projects\\Sample\\Production Environment",
   "Comment":"File pre-authorized on 03/09/2021 19:23:19",
   "Data":"{data}",
   "User":"local:sample-cs-user",
   "SingleUse":true
}}"#
    );
    let (s, text) = send_raw(
        client()
            .post(format!("{}/vedsdk/Flow/Actions/CodeSign/PreQualify/Create", sim.base_url()))
            .header("Authorization", format!("Bearer {EXAMPLE_TOKEN}"))
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!((s, text.as_str()), (200, r#"{"Success":true}"#));
    let p = &sim.state().prequalifications[0];
    assert_eq!((p.dn.as_str(), p.comment.as_str()), (DN, "File pre-authorized on 03/09/2021 19:23:19"));
    assert_eq!((p.data.as_str(), p.single_use), (data.as_str(), Some(true)));
}

async fn example_login(sim: &SimHandle, user: &str, password: &str) -> AvxSession {
    // "Retrieve the Session ID": POST .../avxapi/login?gwsource=external, payload {}.
    let (s, text) = send_raw(
        client()
            .post(format!("{}/avxapi/login?gwsource=external", sim.base_url()))
            .header("username", user)
            .header("password", password)
            .header("Content-Type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let b: serde_json::Value = serde_json::from_str(&text).expect("json");
    let id = b["response"]["sessionId"].as_str().expect("sessionId").to_string();
    assert_eq!(
        text,
        format!(
            r#"{{"response":{{"status":"SUCCESS","appStatusCode":null,"statusDescription":null,"sessionId":"{id}","availableLoginAttemptCount":10}},"message":null,"appStatusCode":null,"tags":null,"headers":null}}"#
        )
    );
    AvxSession { id, user: user.into(), password: password.into() }
}

async fn submit(sim: &SimHandle, s: &AvxSession, policy: &str) -> String {
    let (status, b) = avx_submit(sim, s, &submit_body(policy, "sample-key")).await;
    assert_eq!(status, 200, "{b}");
    b["response"]["signId"].as_str().expect("signId").to_string()
}

/// The status document's sample URL (`?gwsource=api&signId=<signId>`) with its four headers.
fn sample_status_request(sim: &SimHandle, s: &AvxSession, sign_id: Option<&str>) -> reqwest::RequestBuilder {
    let query = match sign_id {
        Some(id) => format!("gwsource=api&signId={id}"),
        None => "gwsource=api".to_string(),
    };
    client()
        .get(format!("{}/avxapi/code-signing-fetch-status-sync-requests?{query}", sim.base_url()))
        .header("sessionId", &s.id)
        .header("username", &s.user)
        .header("password", &s.password)
        .header("Content-Type", "application/json")
}

fn envelope_error(code: &str, message: &str) -> String {
    format!(r#"{{"response":null,"message":"{message}","appStatusCode":"{code}","tags":null,"headers":null}}"#)
}

/// Both sample answers of the status document, byte for byte (compact): `Inprogress`, then
/// `Signed` with a whole signed script as `encodedHashData`.
#[tokio::test]
async fn fetch_status_sample_request_and_answers() {
    let sim = sim(documents_config()).await;
    let session = example_login(&sim, "User", "AppViewX@123").await;
    let sign_id = submit(&sim, &session, "ps-scripts").await;
    let (s, text) = send_raw(sample_status_request(&sim, &session, Some(&sign_id))).await;
    assert_eq!(
        (s, text.as_str()),
        (
            200,
            r#"{"response":{"status":"Inprogress","noOfInProgressRequests":1,"failedDueToTimeoutError":false},"message":null,"appStatusCode":null,"tags":null,"headers":null}"#
        )
    );
    sim.advance_time(Duration::from_secs(61));
    let signature = sim.signature("sample-key", &digest_info_sha256()).expect("sample-key signs");
    let script = signing_sim::signed_script("Get-PSDrive", &signature);
    assert_eq!(sim.encoded_hash_data(&sign_id).as_deref(), Some(script.as_str()));
    let (s, text) = send_raw(sample_status_request(&sim, &session, Some(&sign_id))).await;
    assert_eq!(
        (s, text),
        (
            200,
            format!(
                r#"{{"response":{{"encodedHashData":{},"status":"Signed"}},"message":null,"appStatusCode":null,"tags":null,"headers":null}}"#,
                serde_json::to_string(&script).expect("json")
            )
        )
    );
    // Shaped like the example: the script, then the block, "\r\n" line ends, "# " prefixes.
    let lines: Vec<&str> = script.split("\r\n").collect();
    assert_eq!(lines[..2], ["Get-PSDrive", "# SIG # Begin signature block"]);
    assert_eq!(lines[lines.len() - 2..], ["# SIG # End signature block", ""]);
    let b64: String = lines[2..lines.len() - 2]
        .iter()
        .map(|l| {
            let body = l.strip_prefix("# ").expect("# prefix");
            assert!(body.len() <= 64, "{l}");
            body
        })
        .collect();
    assert_eq!(b64, signature);
    assert_eq!(STANDARD.decode(&b64).map(|v| v.len()).ok(), Some(384), "an RSA-3072 signature");
    // Downloading gives the same data.
    let (s, b) = send(
        client()
            .post(avx_url(&sim, "code-signing-download-signed-file", "external"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&json!({"signId": sign_id})),
    )
    .await;
    assert_eq!((s, b["response"]["encodedHashData"].as_str()), (200, Some(script.as_str())));
}

/// Every row of the status document's table, with its HTTP code, appStatusCode and message.
#[tokio::test]
async fn fetch_status_documented_errors() {
    let sim = sim(documents_config()).await;
    let user = example_login(&sim, "User", "AppViewX@123").await;
    let other = example_login(&sim, "appviewxuser", "appviewxpassword").await;
    let theirs = submit(&sim, &other, "Test_Policy_01").await;
    let failing = submit(&sim, &user, "fetch-fails").await;
    let cases = [
        (sample_status_request(&sim, &user, None), 400, "CODE_SIGNING_0105", "SIGN_ID Not present."),
        (
            sample_status_request(&sim, &user, Some("65c47fa41112f940dab1cb12")),
            400,
            "CODE_SIGNING_0102",
            "Data not present for given signId.",
        ),
        (
            sample_status_request(&sim, &user, Some(&theirs)),
            403,
            "CODE_SIGNING_00109",
            "Permissions are not there to fetch status for given signId.",
        ),
    ];
    for (rb, status, code, message) in cases {
        assert_eq!(send_raw(rb).await, (status, envelope_error(code, message)));
    }
    sim.add_fault(Fault::new(
        "code-signing-fetch-status-sync-requests",
        FaultKind::AppStatus { code: 500, app_status_code: "CODE_SIGNING_0101".into(), message: None },
    ));
    assert_eq!(
        send_raw(sample_status_request(&sim, &user, Some(&failing))).await,
        (500, envelope_error("CODE_SIGNING_0101", "Error in Fetching the status for the requested SignId."))
    );
    sim.advance_time(Duration::from_secs(61));
    assert_eq!(
        send_raw(sample_status_request(&sim, &user, Some(&failing))).await,
        (500, envelope_error("CODE_SIGNING_0103", "Fetching Encoded Sign Data Failed."))
    );
}

/// A request just submitted may not be visible yet: 400 `CODE_SIGNING_0102` until
/// `visibility_delay_ms` has passed, for status and download alike.
#[tokio::test]
async fn a_fresh_request_is_not_visible_before_the_visibility_delay() {
    let mut config = documents_config();
    config.appviewx.visibility_delay_ms = 10_000;
    config.appviewx.sign_delay_ms = 1_000;
    let sim = sim(config).await;
    let session = example_login(&sim, "User", "AppViewX@123").await;
    let sign_id = submit(&sim, &session, "Test_Policy_01").await;
    let not_there = envelope_error("CODE_SIGNING_0102", "Data not present for given signId.");
    assert_eq!(send_raw(sample_status_request(&sim, &session, Some(&sign_id))).await, (400, not_there.clone()));
    // The clock also runs in real time, so stay well short of the delay.
    sim.advance_time(Duration::from_secs(9));
    assert_eq!(send_raw(sample_status_request(&sim, &session, Some(&sign_id))).await, (400, not_there.clone()));
    let download = || {
        client()
            .post(avx_url(&sim, "code-signing-download-signed-file", "external"))
            .header("sessionId", &session.id)
            .header("username", &session.user)
            .header("password", &session.password)
            .json(&json!({"signId": sign_id}))
    };
    assert_eq!(send_raw(download()).await, (400, not_there));
    // The request existed all along: the state shows it, and signing was not held up.
    assert_eq!(sim.state().sign_requests.len(), 1);
    sim.advance_time(Duration::from_secs(1));
    let (s, b) = send(sample_status_request(&sim, &session, Some(&sign_id))).await;
    assert_eq!((s, b["response"]["status"].as_str()), (200, Some("Signed")));
    let (s, _) = send(download()).await;
    assert_eq!(s, 200);
}

/// An `app-status` fault answers the envelope with the documented message for its code, `times`
/// times, without processing the request; `message` overrides the text; on TPP it is a status.
#[tokio::test]
async fn app_status_faults() {
    let sim = sim(documents_config()).await;
    let session = example_login(&sim, "User", "AppViewX@123").await;
    sim.add_fault(
        Fault::new(
            "code-signing-generate-hash",
            FaultKind::AppStatus { code: 500, app_status_code: "CODE_SIGNING_0073".into(), message: None },
        )
        .times(2),
    );
    for _ in 0..2 {
        let (s, text) = send_raw(
            client()
                .post(avx_url(&sim, "code-signing-generate-hash", "external"))
                .header("sessionId", &session.id)
                .header("username", &session.user)
                .header("password", &session.password)
                .json(&submit_body("Test_Policy_01", "sample-key")),
        )
        .await;
        assert_eq!(
            (s, text),
            (500, envelope_error("CODE_SIGNING_0073", "Certificate is not present in the cert inventory"))
        );
    }
    assert!(sim.state().sign_requests.is_empty(), "not processed");
    submit(&sim, &session, "Test_Policy_01").await;

    sim.add_fault(Fault::new(
        "code-signing-fetch-status",
        FaultKind::AppStatus { code: 503, app_status_code: "GATEWAY_0503".into(), message: Some("Try later".into()) },
    ));
    assert_eq!(
        send_raw(sample_status_request(&sim, &session, Some("65c47fa41112f940dab1cb12"))).await,
        (503, envelope_error("GATEWAY_0503", "Try later"))
    );
    sim.add_fault(Fault::new(
        "SystemStatus/Version",
        FaultKind::AppStatus { code: 502, app_status_code: "CODE_SIGNING_0101".into(), message: None },
    ));
    let (s, b) = send(client().get(format!("{}/vedsdk/SystemStatus/Version", sim.base_url()))).await;
    assert_eq!((s, b["error"].as_str()), (502, Some("server_error")));
    let faults: Vec<Option<String>> = sim.state().requests.into_iter().map(|r| r.fault).collect();
    assert_eq!(faults.iter().filter(|f| f.as_deref() == Some("app-status")).count(), 4);
}
