//! Every request the gate sends, as the simulator recorded it from real runs of the binary, has
//! exactly the documented method, names, casing, types, mandatory query parameters and headers.

use std::collections::BTreeSet;

use serde_json::Value;
use signing_sim::{RequestRecord, SimHandle};

use crate::data::{json_type, load, Data, Endpoint};
use crate::support::*;

const GWKEY: &str = "tenant-key-4711";

/// The documented endpoint a recorded request was for. TPP matches paths without case (IIS).
fn endpoint_of<'a>(data: &'a Data, r: &RequestRecord) -> Option<&'a Endpoint> {
    if r.path.to_ascii_lowercase().ends_with("/oidc/token") {
        return Some(data.endpoint("oidc-token"));
    }
    data.endpoint.iter().find(|e| match e.service.as_str() {
        "tpp" => e.path.eq_ignore_ascii_case(&r.path),
        _ => e.path == r.path,
    })
}

/// What is wrong with one request, against its documented form.
fn problems(
    e: &Endpoint,
    method: &str,
    query: &[(String, String)],
    headers: &[String],
    body: Option<&Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    if method != e.method {
        out.push(format!("method {method}, documented {}", e.method));
    }
    let names: BTreeSet<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    for q in &e.query_required {
        if !names.contains(q.as_str()) {
            out.push(format!("mandatory query parameter `{q}` missing"));
        }
    }
    for (k, v) in query {
        // The runner hands out the OIDC URL with its own opaque query; the gate appends to it.
        let runner_owned = e.name == "oidc-token" && k == "api-version";
        if !runner_owned && !e.query_required.contains(k) && !e.query_optional.contains(k) {
            out.push(format!("undocumented query parameter `{k}`"));
        }
        if v.is_empty() {
            out.push(format!("query parameter `{k}` is empty"));
        }
    }
    for h in &e.headers_required {
        if !headers.iter().any(|x| x.eq_ignore_ascii_case(h)) {
            out.push(format!("mandatory header `{h}` missing (sent: {headers:?})"));
        }
    }
    match (e.body.as_str(), body) {
        ("none", Some(b)) => out.push(format!("a body where none is documented: {b}")),
        ("json", None) => out.push("no JSON body".into()),
        ("json", Some(Value::Object(map))) => {
            for (k, v) in map {
                match e.fields.get(k) {
                    None => out.push(format!("undocumented body field `{k}`")),
                    Some(f) if f.ty != json_type(v) => {
                        out.push(format!("field `{k}` is a {}, documented {}", json_type(v), f.ty));
                    }
                    Some(_) => {}
                }
            }
            for (k, f) in &e.fields {
                if f.required && !map.contains_key(k) {
                    out.push(format!("required body field `{k}` missing"));
                }
            }
            if !e.one_of.is_empty() && e.one_of.iter().filter(|k| map.contains_key(*k)).count() != 1 {
                out.push(format!("exactly one of {:?} must be given", e.one_of));
            }
        }
        ("json", Some(other)) => out.push(format!("the body is a JSON {}, not an object", json_type(other))),
        _ => {}
    }
    out
}

fn check_recorded(data: &Data, sim: &SimHandle, seen: &mut BTreeSet<String>, run: &str) -> Vec<String> {
    let mut out = Vec::new();
    for r in sim.state().requests {
        let Some(e) = endpoint_of(data, &r) else {
            out.push(format!("{run}: {} {} is no documented endpoint", r.method, r.path));
            continue;
        };
        seen.insert(e.name.clone());
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(r.query.as_deref().unwrap_or_default().as_bytes()).into_owned().collect();
        for p in problems(e, &r.method, &query, &r.header_names, r.body.as_ref()) {
            out.push(format!("{run}: {} {}: {p}", e.name, r.path));
        }
    }
    out
}

#[test]
fn every_request_the_gate_sends_is_documented() {
    let data = load();
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();

    // The password grant, every optional pre-approval field, a multi-tenant AppViewX.
    // The pre-approval names another address and a start in the future, so a simulator that
    // enforces the approval chain would hold the signings for an approver: this run is about
    // what goes on the wire, so the chain is only recorded.
    let sim = sim_with(|c| {
        c.appviewx.gwkey = Some(GWKEY.into());
        c.approval = signing_sim::ApprovalMode::Recorded;
    });
    let mut gate = Gate::full(&sim);
    gate.input("appviewx-gwkey", GWKEY)
        .input("runner-ip", "9.5.45.11")
        .input("not-before", "2030-01-02T03:04:05Z")
        .input("signing-executable", r"C:\Program Files (x86)\Windows Kits\10\bin\x64\signtool.exe");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    wrong.extend(check_recorded(&data, &sim, &mut seen, "password grant"));
    let avx_calls: Vec<_> = sim.state().requests.into_iter().filter(|r| r.path.starts_with("/avxapi/")).collect();
    assert!(avx_calls.len() >= 4, "{avx_calls:?}");
    assert!(
        avx_calls.iter().all(|r| r.query.as_deref().is_some_and(|q| q.contains("gwkey="))),
        "gwkey on every AppViewX call: {avx_calls:?}"
    );
    ran.assert_no_secret(&[GWKEY, TPP_PASSWORD, AVX_PASSWORD]);

    // Keyless: the runner's OIDC token exchanged at authorize/jwt.
    let sim = crate::support::sim();
    let mut gate = Gate::full(&sim);
    gate.unset("tpp-username").unset("tpp-password").input("tpp-oidc-audience", "codesign-gate");
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), sim.oidc_request_url());
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), sim.config().oidc.request_token.clone());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    wrong.extend(check_recorded(&data, &sim, &mut seen, "keyless"));

    // The check run, through the gate's HTTP client to a stand-in GitHub API.
    let sim = crate::support::sim();
    let (api, github) = fake_github();
    let mut gate = Gate::full(&sim);
    gate.input("check-run", "codesign-gate").input("github-token", "ghs_conformanceToken0123456789");
    gate.env.insert("GITHUB_API_URL".into(), api);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let e = data.endpoint("check-runs");
    for r in github.lock().expect("log").iter() {
        seen.insert(e.name.clone());
        let mut parts = r.line.split(' ');
        let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        if path != "/repos/acme/rocket/check-runs" {
            wrong.push(format!("check run sent to {path}"));
        }
        let headers: Vec<String> =
            r.headers.iter().filter_map(|h| h.split_once(':')).map(|(n, _)| n.trim().to_ascii_lowercase()).collect();
        for p in problems(e, method, &[], &headers, Some(&r.body)) {
            wrong.push(format!("check-runs: {p}"));
        }
    }

    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let called: BTreeSet<String> = data.endpoint.iter().map(|e| e.name.clone()).collect();
    let not_seen: Vec<&String> =
        called.iter().filter(|n| !seen.contains(*n) && !["authorize/verify"].contains(&n.as_str())).collect();
    assert!(not_seen.is_empty(), "the gate never called {not_seen:?}; seen {seen:?}");
}

#[test]
fn the_check_catches_a_misspelt_field() {
    let data = load();
    let e = data.endpoint("Codesign/AddPreApproval");
    let body = serde_json::json!({"DN": "x", "User": "u", "Comment": "c", "Hours": "1"});
    let p = problems(e, "POST", &[], &["authorization".into(), "content-type".into()], Some(&body));
    assert!(p.iter().any(|p| p.contains("undocumented body field `DN`")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("required body field `Dn` missing")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("field `Hours` is a string")), "{p:?}");
    let e = data.endpoint("code-signing-fetch-status-sync-requests");
    let p = problems(e, "GET", &[("signId".into(), "x".into())], &[], None);
    assert!(p.iter().any(|p| p.contains("`gwsource` missing")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("header `sessionid` missing")), "{p:?}");
}
