use signing_sim::{Fault, FaultKind, SignOutcome, SimHandle};

use crate::support::*;

fn error_lines(ran: &Ran) -> Vec<&str> {
    ran.stdout.lines().filter(|l| l.starts_with("::error")).collect()
}

fn assert_failed_with(ran: &Ran, needle: &str) {
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert_eq!(ran.output("result"), "failure");
    assert!(error_lines(ran).iter().any(|l| l.contains(needle)), "an ::error line mentions {needle}:\n{}", ran.debug());
    assert!(ran.summary.contains("codesign-gate failed") && ran.summary.contains(needle), "{}", ran.summary);
    assert_eq!(ran.report()["result"], "failure");
}

fn with_policy_outcome(outcome: SignOutcome) -> SimHandle {
    sim_with(|c| c.appviewx.policies[0].outcome = outcome)
}

#[test]
fn unknown_environment_is_one_clear_error_and_nothing_is_created() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("environment-dn", r"\VED\Code Signing\Projects\Nope");
    let ran = gate.run();
    assert_failed_with(&ran, "does not exist in TPP (Codesign/GetEnvironment: Result 7 ObjectNotFound)");
    assert_eq!(
        ran.stdout.lines().filter(|l| l.starts_with("::error")).count(),
        1,
        "one error, not one per artifact: {}",
        ran.stdout
    );
    assert_eq!(ran.output("failed"), "2");
    let state = sim.state();
    assert!(state.prequalifications.is_empty() && state.preapprovals.is_empty());
    assert!(!state.requests.iter().any(|r| r.path.contains("PreQualify")), "no pre-qualification attempted");
    assert!(state.sign_requests.is_empty(), "nothing submitted for signing after TPP failed");
    assert!(state.tpp_tokens.iter().all(|t| t.revoked), "token revoked on failure too");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn a_caller_who_is_not_an_approver_is_refused() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("tpp-username", "sample-user").input("tpp-password", "sample-user-password");
    let ran = gate.run();
    assert_failed_with(&ran, "Result 2 InsufficientPermission");
    assert!(
        error_lines(&ran).iter().any(|l| l.contains("file=dist/app.exe")),
        "annotation points at the file: {}",
        ran.stdout
    );
    assert!(sim.state().tpp_tokens.iter().all(|t| t.revoked));
    ran.assert_no_secret(&["sample-user-password", AVX_PASSWORD]);
}

#[test]
fn bad_tpp_credentials_stop_before_anything_is_created() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("tpp-password", "wrong-password");
    let ran = gate.run();
    assert_failed_with(&ran, "refused the token request");
    let state = sim.state();
    assert!(state.tpp_tokens.is_empty() && state.prequalifications.is_empty() && state.sign_requests.is_empty());
    assert_eq!(
        state.requests.iter().filter(|r| r.path.contains("authorize")).count(),
        1,
        "a refused grant is not retried"
    );
    ran.assert_no_secret(&["wrong-password", AVX_PASSWORD]);
}

#[test]
fn an_expired_token_is_reported_and_not_revoked_by_the_gate() {
    let sim = sim();
    let token = sim.issue_token("sample-approver", "codesign:approve", -60);
    let mut gate = Gate::full(&sim);
    gate.unset("tpp-username").unset("tpp-password").unset("tpp-client-id").input("tpp-access-token", &token);
    let ran = gate.run();
    assert_failed_with(&ran, "rejected the access token");
    let state = sim.state();
    assert!(state.prequalifications.is_empty());
    assert!(!state.requests.iter().any(|r| r.path.contains("revoke")), "the caller's token is the caller's to revoke");
    assert!(ran.masks().contains(&token.as_str()));
    ran.assert_no_secret(&[&token, AVX_PASSWORD]);
}

#[test]
fn a_valid_given_token_works_and_is_left_alone() {
    let sim = sim();
    let token = sim.issue_token("sample-approver", "codesign:approve", 600);
    let mut gate = Gate::full(&sim);
    gate.unset("tpp-username").unset("tpp-password").unset("tpp-client-id").input("tpp-access-token", &token);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(sim.state().tpp_tokens.iter().all(|t| !t.revoked));
    ran.assert_no_secret(&[&token, AVX_PASSWORD]);
}

#[test]
fn bad_appviewx_credentials_cost_exactly_one_login_attempt() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("appviewx-password", "wrong-avx-password");
    let ran = gate.run();
    assert_failed_with(&ran, "refused the login");
    let state = sim.state();
    assert_eq!(state.avx_login_attempts_left.get("avx-user"), Some(&9), "{:?}", state.avx_login_attempts_left);
    assert!(state.sign_requests.is_empty());
    assert_eq!(ran.output("prequalified"), "2", "the TPP stages still ran");
    ran.assert_no_secret(&[TPP_PASSWORD, "wrong-avx-password"]);
}

#[test]
fn unknown_policy_and_unmapped_key_name_the_appviewx_code() {
    let sim = sim();
    for (input, value, code) in [
        ("appviewx-signing-policy", "no-such-policy", "CODE_SIGNING_0056"),
        ("appviewx-signing-key", "no-such-key", "CODE_SIGNING_0070"),
    ] {
        let mut gate = Gate::full(&sim);
        gate.input(input, value);
        let ran = gate.run();
        assert_failed_with(&ran, code);
        assert_eq!(ran.output("signed"), "0");
    }
    assert!(sim.state().sign_requests.is_empty());
}

#[test]
fn a_sign_request_that_never_finishes_times_out() {
    let sim = with_policy_outcome(SignOutcome::Never);
    let mut gate = Gate::full(&sim);
    gate.input("timeout", "1s").input("poll-interval", "200ms");
    let ran = gate.run();
    assert_failed_with(&ran, "still not signed after");
    assert_eq!(ran.output("failed"), "2");
    assert_eq!(ran.report()["artifacts"][0]["sign"]["status"], "timed-out");
    assert!(ran.summary.contains("| timed out |"), "{}", ran.summary);
}

#[test]
fn terminal_sign_failures_are_reported() {
    let sim = with_policy_outcome(SignOutcome::TimeoutError);
    let ran = Gate::full(&sim).run();
    assert_failed_with(&ran, "failedDueToTimeoutError");
    assert_eq!(ran.report()["artifacts"][0]["sign"]["status"], "failed");
}

/// `CODE_SIGNING_0103` (fetching the signed data failed) is documented as a 500: the server's
/// trouble, asked again until the timeout, which then names it as the last error.
#[test]
fn a_signature_that_cannot_be_fetched_times_out_naming_the_last_error() {
    let sim = with_policy_outcome(SignOutcome::FetchError);
    let mut gate = Gate::full(&sim);
    gate.input("timeout", "2s");
    let ran = gate.run();
    assert_failed_with(&ran, "last error: code-signing-fetch-status-sync-requests failed: HTTP 500, CODE_SIGNING_0103");
    assert_eq!(ran.report()["artifacts"][0]["sign"]["status"], "timed-out");
}

#[test]
fn an_unknown_sign_id_fails_with_the_servers_code() {
    let sim = sim();
    let mut gate = Gate::empty();
    gate.avx(&sim)
        .unset("appviewx-signing-policy")
        .unset("appviewx-signing-key")
        .input("sign-ids", "65c47fa41112f940dab1cb12");
    let ran = gate.run();
    assert_failed_with(&ran, "CODE_SIGNING_0102");
}

#[test]
fn an_appviewx_session_that_expires_mid_poll_is_renewed_once() {
    let sim = sim_with(|c| c.appviewx.sign_delay_ms = 400);
    sim.add_fault(Fault {
        endpoint: "code-signing-fetch-status-sync-requests".into(),
        kind: FaultKind::ExpireSession,
        times: 1,
        after: 1,
    });
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let logins = sim.state().requests.iter().filter(|r| r.path == "/avxapi/login").count();
    assert_eq!(logins, 2, "logged in again exactly once");
    let mut secrets: Vec<&str> = ran.masks();
    secrets.push(AVX_PASSWORD);
    ran.assert_no_secret(&secrets);
}

#[test]
fn no_matching_files_in_each_mode() {
    let sim = sim();
    for (mode, code) in [("error", 2), ("warn", 0), ("ignore", 0)] {
        let mut gate = Gate::full(&sim);
        gate.input("artifacts", "release/*.msi").input("if-no-files-found", mode);
        let ran = gate.run();
        assert_eq!(ran.code, code, "{mode}: {}", ran.debug());
        match mode {
            "error" => {
                assert!(ran.stderr.contains("input `artifacts`: no file matched release/*.msi"), "{}", ran.stderr);
                assert_eq!(ran.stderr.lines().count(), 1, "one line: {}", ran.stderr);
            }
            "warn" => {
                assert!(
                    ran.stdout.lines().any(|l| l.starts_with("::warning") && l.contains("no file matched")),
                    "{}",
                    ran.stdout
                );
                assert_eq!(ran.output("count"), "0");
                assert_eq!(ran.output("result"), "success");
            }
            _ => {
                assert!(!ran.stdout.contains("::warning"), "{}", ran.stdout);
                assert_eq!(ran.output("count"), "0");
            }
        }
    }
    assert!(sim.state().requests.is_empty(), "no request for an empty artifact list: {:?}", sim.state().requests);
}

#[test]
fn an_artifact_that_cannot_be_digested_stops_the_run_before_any_request() {
    let sim = sim();
    let mut gate = Gate::empty();
    gate.file("out/good.exe.dig", b64(&[1u8; 32]).as_bytes());
    gate.file("out/bad.exe.dig", b"this is not a digest");
    gate.input("artifacts", "out/*.dig").input("digest-files", "true").tpp(&sim).avx(&sim);
    let ran = gate.run();
    assert_failed_with(&ran, "does not hold a digest");
    assert!(ran.stdout.lines().any(|l| l.starts_with("::error file=out/bad.exe.dig")), "{}", ran.stdout);
    assert!(sim.state().requests.is_empty(), "nothing half-done on the server: {:?}", sim.state().requests);
    assert_eq!(ran.output("failed"), "2");
}
