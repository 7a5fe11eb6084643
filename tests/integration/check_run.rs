//! The check run, published through octocrab to a stand-in for the GitHub API on loopback.

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
    }
    let mut secrets = ran.masks();
    secrets.extend([TPP_PASSWORD, AVX_PASSWORD]);
    assert!(secrets.contains(&GITHUB_TOKEN), "the GitHub token is masked");
    ran.assert_no_secret(&secrets);

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
