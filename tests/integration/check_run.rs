//! The check run, published through the run's HTTP client to a stand-in for the GitHub API on
//! loopback.

use serde_json::json;

use crate::support::*;

const GITHUB_TOKEN: &str = "ghs_fakeTokenForTheCheckRunTest123";

#[test]
fn a_check_run_carries_the_verdict_summary_and_annotations() {
    let sim = sim();
    let (api, seen) = fake_github();
    let mut gate = Gate::full(&sim);
    gate.input("check-run", "codesign-gate").input("github-token", GITHUB_TOKEN);
    gate.env.insert("GITHUB_API_URL".into(), api.clone());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(ran.stdout.contains("check run `codesign-gate`: https://github.com/acme/rocket/runs/4"), "{}", ran.stdout);
    {
        let requests = seen.lock().expect("log");
        assert_eq!(requests.len(), 1);
        let r = &requests[0];
        assert_eq!(r.line, "POST /repos/acme/rocket/check-runs HTTP/1.1");
        assert!(
            r.headers.iter().any(|h| h.eq_ignore_ascii_case(&format!("authorization: Bearer {GITHUB_TOKEN}"))),
            "{:?}",
            r.headers
        );
        assert_eq!(r.body["name"], "codesign-gate");
        assert_eq!(r.body["head_sha"], "0123456789abcdef0123456789abcdef01234567");
        assert_eq!((r.body["status"].as_str(), r.body["conclusion"].as_str()), (Some("completed"), Some("success")));
        assert_eq!(r.body["output"]["title"], "2 signed, 0 failed of 2 artifact(s)");
        assert!(r.body["output"]["summary"].as_str().expect("summary").contains("| `dist/app.exe` |"));
        for header in ["accept: application/vnd.github+json", "x-github-api-version: 2022-11-28"] {
            assert!(r.headers.iter().any(|h| h.eq_ignore_ascii_case(header)), "{header} in {:?}", r.headers);
        }
        assert!(
            r.headers.iter().any(|h| h.to_ascii_lowercase().starts_with("user-agent: codesign-gate/")),
            "{:?}",
            r.headers
        );
    }
    // The check run is in the run's journal like any vendor call, and it comes last.
    let calls = ran.report()["calls"].as_array().expect("calls").clone();
    let last = calls.last().expect("a call");
    assert_eq!(
        (&last["service"], &last["endpoint"], &last["method"], &last["attempt"], &last["http_status"]),
        (&json!("github"), &json!("check-runs"), &json!("POST"), &json!(1), &json!(201)),
        "{calls:?}"
    );
    assert_eq!(calls.iter().filter(|c| c["service"] == "github").count(), 1, "{calls:?}");
    let mut secrets = ran.masks();
    secrets.extend([TPP_PASSWORD, AVX_PASSWORD]);
    assert!(secrets.contains(&GITHUB_TOKEN), "the GitHub token is masked");
    ran.assert_no_secret(&secrets);
    ran.assert_no_secret(&[GITHUB_TOKEN]);

    // A failing run: conclusion failure, one annotation per artifact problem.
    let mut gate = Gate::full(&sim);
    gate.input("check-run", "codesign-gate")
        .input("github-token", GITHUB_TOKEN)
        .input("tpp-username", "sample-user")
        .input("tpp-password", "sample-user-password");
    gate.env.insert("GITHUB_API_URL".into(), api);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let requests = seen.lock().expect("log");
    let body = &requests[1].body;
    assert_eq!(body["conclusion"], "failure");
    let annotations =
        body["output"]["annotations"].as_array().unwrap_or_else(|| panic!("annotations in {body}\n{}", ran.debug()));
    assert_eq!(annotations.len(), 2, "{annotations:?}");
    assert_eq!(annotations[0]["path"], "dist/app.exe");
    assert_eq!(annotations[0]["annotation_level"], "failure");
}

#[test]
fn check_run_needs_a_token() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("check-run", "codesign-gate");
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(ran.stderr.contains("input `github-token`"), "{}", ran.stderr);
}

#[test]
fn a_check_run_answered_503_is_retried_after_retry_after_and_flagged() {
    let sim = sim();
    let (api, seen) = fake_github_unavailable(1);
    let mut gate = Gate::full(&sim);
    gate.input("check-run", "codesign-gate").input("github-token", GITHUB_TOKEN);
    gate.env.insert("GITHUB_API_URL".into(), api);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(ran.stdout.contains("check run `codesign-gate`: https://github.com/acme/rocket/runs/4"), "{}", ran.stdout);
    {
        let requests = seen.lock().expect("log");
        assert_eq!(requests.len(), 2, "one 503, then the retry");
        assert_eq!(requests[0].body, requests[1].body, "the same check run, sent again");
    }
    let report = ran.report();
    let github: Vec<&serde_json::Value> =
        report["calls"].as_array().expect("calls").iter().filter(|c| c["service"] == "github").collect();
    assert_eq!(
        github.iter().map(|c| (c["attempt"].as_u64(), c["http_status"].as_u64())).collect::<Vec<_>>(),
        [(Some(1), Some(503)), (Some(2), Some(201))],
        "{github:?}"
    );
    let waited = github[1]["at_ms"].as_u64().unwrap_or(0).saturating_sub(github[0]["at_ms"].as_u64().unwrap_or(0));
    assert!(waited >= 1000, "Retry-After: 1 is honoured, waited {waited} ms");
    // A POST retried after an answer may have been applied twice: the report says so.
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|p| p["severity"] == "warning"
            && p["message"].as_str().is_some_and(|m| m.starts_with("check-runs: retried after HTTP 503"))),
        "{problems:?}"
    );
    let mut secrets = ran.masks();
    secrets.extend([TPP_PASSWORD, AVX_PASSWORD, GITHUB_TOKEN]);
    ran.assert_no_secret(&secrets);
}

#[test]
fn a_check_run_github_refuses_is_a_warning_without_the_token() {
    let sim = sim();
    let (api, seen) = fake_github_unavailable(usize::MAX);
    let mut gate = Gate::full(&sim);
    gate.input("check-run", "codesign-gate").input("github-token", GITHUB_TOKEN).input("timeout", "5s");
    gate.env.insert("GITHUB_API_URL".into(), api);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "the signing verdict stands: {}", ran.debug());
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.starts_with("::warning") && l.contains("creating check run `codesign-gate` failed")),
        "{}",
        ran.stdout
    );
    let attempts = seen.lock().expect("log").len();
    let report = ran.report();
    let github = report["calls"].as_array().expect("calls").iter().filter(|c| c["service"] == "github").count();
    assert_eq!(github, attempts, "every attempt is journaled");
    assert!((1..=5).contains(&attempts), "bounded by the policy and the deadline: {attempts}");
    let mut secrets = ran.masks();
    secrets.extend([TPP_PASSWORD, AVX_PASSWORD, GITHUB_TOKEN]);
    ran.assert_no_secret(&secrets);
}
