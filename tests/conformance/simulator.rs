//! The simulator, held to the same documents: its default answers have the documented shape and
//! no more, and it accepts every documented request example.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use signing_sim::{AvxPolicy, KeyUser, SimConfig, SimHandle, TppClient, TppEnvironment, TppUser};

use crate::data::{json_type, load, Data, Field};

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(sim: &SimHandle) -> Client {
        Client { http: reqwest::Client::new(), base: sim.base_url() }
    }

    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, String) {
        let url = format!("{}{path_and_query}", self.base);
        let mut req = if method == "GET" { self.http.get(&url) } else { self.http.post(&url) };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.expect("the simulator answers");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("a body"))
    }
}

/// Keys of `answer` not in `documented`, documented required keys it lacks, and types that differ.
fn shape_problems(what: &str, answer: &Value, documented: &BTreeMap<String, Field>) -> Vec<String> {
    let Value::Object(map) = answer else { return vec![format!("{what}: not a JSON object: {answer}")] };
    let mut out = Vec::new();
    for (k, v) in map {
        match documented.get(k) {
            None => out.push(format!("{what}: undocumented field `{k}`")),
            Some(f) if !v.is_null() && f.ty != json_type(v) => {
                out.push(format!("{what}: `{k}` is a {}, documented {}", json_type(v), f.ty));
            }
            Some(_) => {}
        }
    }
    for (k, f) in documented {
        if f.required && !map.contains_key(k) {
            out.push(format!("{what}: documented field `{k}` missing"));
        }
    }
    out
}

fn json_of(what: &str, body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"))
}

fn envelope_problems(data: &Data, endpoint: &str, body: &str) -> Vec<String> {
    let e = data.endpoint(endpoint);
    let v = json_of(endpoint, body);
    let mut out = shape_problems(endpoint, &v, &e.response_fields);
    out.extend(shape_problems(&format!("{endpoint} response"), &v["response"], &e.response_inner_fields));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn default_answers_have_the_documented_shape_and_no_more() {
    let data = load();
    let sim = SimHandle::spawn(SimConfig::default()).expect("simulator");
    let c = Client::new(&sim);
    let mut wrong = Vec::new();

    let oauth = json!({"client_id": "codesign-gate", "username": "sample-approver",
        "password": "sample-approver-password", "scope": "codesign:approve"});
    let (status, body) = c.send("POST", "/vedauth/authorize/oauth", &[], Some(&oauth.to_string())).await;
    assert_eq!(status, 200, "{body}");
    let grant = json_of("oauth", &body);
    wrong.extend(shape_problems("authorize/oauth", &grant, &data.endpoint("authorize/oauth").response_fields));
    let token = grant["access_token"].as_str().expect("a token").to_string();
    let bearer = format!("Bearer {token}");

    let jwt = json!({"client_id": "codesign-gate", "jwt": sim.oidc_token(Some("codesign-gate")), "scope": "codesign:approve"});
    let (status, body) = c.send("POST", "/vedauth/authorize/jwt", &[], Some(&jwt.to_string())).await;
    assert_eq!(status, 200, "{body}");
    wrong.extend(shape_problems(
        "authorize/jwt",
        &json_of("jwt", &body),
        &data.endpoint("authorize/jwt").response_fields,
    ));

    let (status, body) = c.send("GET", "/vedauth/authorize/verify", &[("authorization", &bearer)], None).await;
    assert_eq!(status, 200, "{body}");
    wrong.extend(shape_problems(
        "authorize/verify",
        &json_of("verify", &body),
        &data.endpoint("authorize/verify").response_fields,
    ));

    let dn = signing_sim::DEMO_ENVIRONMENT_DN;
    let (status, body) = c
        .send(
            "POST",
            "/vedsdk/Codesign/GetEnvironment",
            &[("authorization", &bearer)],
            Some(&json!({"Dn": dn}).to_string()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wrong.extend(shape_problems(
        "Codesign/GetEnvironment",
        &json_of("GetEnvironment", &body),
        &data.endpoint("Codesign/GetEnvironment").response_fields,
    ));

    let digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let prequalify = json!({"Dn": dn, "Data": digest, "User": "local:sample-cs-user", "Comment": "c", "Hours": 1, "SingleUse": true});
    let (status, body) = c
        .send(
            "POST",
            "/vedsdk/Flow/Actions/CodeSign/PreQualify/Create",
            &[("authorization", &bearer)],
            Some(&prequalify.to_string()),
        )
        .await;
    assert_eq!((status, json_of("PreQualify", &body)), (200, json!({"Success": true})), "the documented success");
    let preapproval = json!({"Dn": dn, "User": "local:sample-cs-user", "Comment": "c", "Hours": 1, "SingleUse": true});
    let (status, body) = c
        .send("POST", "/vedsdk/Codesign/AddPreApproval", &[("authorization", &bearer)], Some(&preapproval.to_string()))
        .await;
    assert_eq!((status, json_of("AddPreApproval", &body)), (200, json!({"Success": true})), "the documented success");
    let (status, _) = c.send("GET", "/vedauth/revoke/token", &[("authorization", &bearer)], None).await;
    assert_eq!(status, 200);

    let login_headers = [("username", "avx-user"), ("password", "avx-password")];
    let (status, body) = c.send("POST", "/avxapi/login?gwsource=external", &login_headers, Some("{}")).await;
    assert_eq!(status, 200, "{body}");
    wrong.extend(envelope_problems(&data, "login", &body));
    let session = json_of("login", &body)["response"]["sessionId"].as_str().expect("a session").to_string();
    let auth = [("sessionId", session.as_str()), ("username", "avx-user"), ("password", "avx-password")];

    let digest_info = "MDEwDQYJYIZIAWUDBAIBBQAEIOOwxEKY/BwUmvv0yJlvuSQnrkHkZJuTTKSVmRt4UrhV";
    let submit = json!({"signingPolicy": "sample-policy", "signingKey": "sample-key", "versionNumber": "v1",
        "description": "d", "signedType": "Hash Based Signing", "fileHashContent": digest_info});
    let (status, body) =
        c.send("POST", "/avxapi/code-signing-generate-hash?gwsource=external", &auth, Some(&submit.to_string())).await;
    assert_eq!(status, 200, "{body}");
    wrong.extend(envelope_problems(&data, "code-signing-generate-hash", &body));
    let sign_id = json_of("submit", &body)["response"]["signId"].as_str().expect("a sign id").to_string();

    let status_path = format!("/avxapi/code-signing-fetch-status-sync-requests?gwsource=api&signId={sign_id}");
    let mut status_headers = auth.to_vec();
    status_headers.push(("content-type", "application/json"));
    let (status, pending) = c.send("GET", &status_path, &status_headers, None).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(json_of("status", &pending)["response"]["status"], "Inprogress");
    wrong.extend(envelope_problems(&data, "code-signing-fetch-status-sync-requests", &pending));
    sim.advance_time(std::time::Duration::from_secs(60));
    let (status, signed) = c.send("GET", &status_path, &status_headers, None).await;
    assert_eq!(status, 200, "{signed}");
    let signed_json = json_of("status", &signed);
    assert_eq!(signed_json["response"]["status"], "Signed");
    assert_eq!(
        signed_json["response"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["encodedHashData".to_string(), "status".to_string()]),
        "the documented signed answer carries exactly these"
    );
    wrong.extend(envelope_problems(&data, "code-signing-fetch-status-sync-requests", &signed));

    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A simulator that knows every object the documents' examples name.
fn documented_world() -> SimConfig {
    let mut c = SimConfig::default();
    c.tpp.clients.push(TppClient { client_id: "websdk".into(), scope: "certificate:manage;codesign:approve".into() });
    c.tpp.users.push(TppUser { username: "Admin".into(), password: "myPassw0rd@".into(), identity: None });
    for dn in [
        r"\VED\Code Signing\Projects\Sample\Development Environment",
        r"\VED\Code Signing\Projects\Per User\User Certificate Environment",
    ] {
        c.tpp.environments.push(TppEnvironment { dn: dn.into(), approvers: vec!["sample-approver".into()] });
    }
    if !c.tpp.key_users.iter().any(|k| k.name == "local:sample-cs-user") {
        c.tpp.key_users.push(KeyUser { name: "local:sample-cs-user".into(), guid: None });
    }
    let mut policy = c.appviewx.policies[0].clone();
    policy.name = "Test_Policy_01".into();
    policy.keys = vec![
        "Google CA Code Signing Certificate_Demo=A5:09:C1:6C:3F:72: 81:61:59:3A:58:EA:ED:33:11:ED:64:91:DC".into(),
    ];
    c.appviewx.policies.push(AvxPolicy { ..policy });
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_request_example_is_accepted() {
    let data = load();
    let sim = SimHandle::spawn(documented_world()).expect("simulator");
    let c = Client::new(&sim);
    let token = sim.issue_token("sample-approver", "codesign:approve", 3600);
    let bearer = format!("Bearer {token}");
    let (_, login) = c
        .send(
            "POST",
            "/avxapi/login?gwsource=external",
            &[("username", "avx-user"), ("password", "avx-password")],
            Some("{}"),
        )
        .await;
    let session = json_of("login", &login)["response"]["sessionId"].as_str().expect("a session").to_string();
    let avx = [("sessionId", session.as_str()), ("username", "avx-user"), ("password", "avx-password")];
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    let mut sign_id: Option<String> = None;
    // Submissions before the status example, which needs a real sign id; the revocation last.
    let mut examples: Vec<_> = data.example.iter().filter(|x| x.direction == "request").collect();
    examples.sort_by_key(|x| (x.endpoint == "revoke/token", x.endpoint == "code-signing-fetch-status-sync-requests"));
    for x in examples {
        let e = data.endpoint(&x.endpoint);
        let body = match x.body_format.as_deref() {
            // The documents show a placeholder JWT: the simulator's runner stand-in mints a real one.
            Some("json") if e.name == "authorize/jwt" => x.json().map(|mut v| {
                v["jwt"] = Value::String(sim.oidc_token(Some("codesign-gate")));
                v.to_string()
            }),
            Some("json") => Some(x.body.clone().unwrap_or_default()),
            Some("none") | None => None,
            Some(_) => {
                table.push(format!("not sent (the document's sample is a fragment): {}", x.label()));
                continue;
            }
        };
        let mut headers: Vec<(&str, String)> = Vec::new();
        let mut query = x.query.clone().unwrap_or_default();
        match (e.service.as_str(), e.name.as_str()) {
            (_, "check-runs") => {
                table.push(format!("not sent (GitHub's API, which the simulator does not serve): {}", x.label()));
                continue;
            }
            (_, "oidc-token") => {
                headers.push(("authorization", format!("bearer {}", sim.config().oidc.request_token)));
            }
            ("tpp", "authorize/oauth" | "authorize/jwt") => {}
            ("tpp", _) => headers.push(("authorization", bearer.clone())),
            ("appviewx", "login") => {
                headers.extend([("username", "avx-user".to_string()), ("password", "avx-password".to_string())]);
            }
            ("appviewx", _) => {
                headers.extend(avx.iter().map(|(k, v)| (*k, v.to_string())));
                headers.push(("content-type", "application/json".into()));
                if let Some(id) = &sign_id {
                    query = query.replace("<signId>", id);
                }
            }
            _ => {}
        }
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = match (e.name.as_str(), query.is_empty()) {
            // The runner hands out the token URL; the client appends `&audience=...` to it.
            ("oidc-token", _) => format!("{}&{query}", sim.oidc_request_url().trim_start_matches(c.base.as_str())),
            (_, true) => e.path.clone(),
            (_, false) => format!("{}?{query}", e.path),
        };
        let (status, answer) = c.send(&e.method, &path, &h, body.as_deref()).await;
        let parsed: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let accepted = status == 200
            && match e.service.as_str() {
                "tpp" if e.name.starts_with("authorize/") => {
                    parsed["access_token"].is_string() || parsed["identity"].is_string()
                }
                "tpp" if e.name == "revoke/token" => true,
                "tpp" => parsed["Success"] == json!(true),
                "github" => parsed["value"].as_str().is_some_and(|jwt| jwt.split('.').count() == 3),
                _ => parsed["appStatusCode"].is_null() && parsed["response"].is_object(),
            };
        if e.name == "code-signing-generate-hash" {
            sign_id = parsed["response"]["signId"].as_str().map(str::to_string);
        }
        table.push(format!("{}: {}", if accepted { "accepted" } else { "REFUSED" }, x.label()));
        if !accepted {
            wrong.push(format!("{}: HTTP {status} {answer}", x.label()));
        }
    }
    println!("{}", table.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(table.iter().filter(|l| l.starts_with("accepted")).count() >= 11, "{}", table.join("\n"));
}
