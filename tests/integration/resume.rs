//! `resume-from`: a run that timed out waiting is resumed from its report, and the resumed run
//! asks TPP and AppViewX for nothing new for the artifacts whose digests did not change.

use signing_sim::{SimHandle, SimState};

use crate::support::*;

/// A simulator that signs 3 s after a request arrives: long enough for a run with a 1 s
/// timeout to give up waiting.
fn slow_sim() -> SimHandle {
    sim_with(|c| c.appviewx.sign_delay_ms = 3000)
}

fn gate(sim: &SimHandle) -> Gate {
    let mut g = Gate::empty();
    g.file("dist/app.exe", b"the application");
    g.file("dist/lib.dll", b"a library");
    g.input("artifacts", "dist/*").input("poll-interval", "200ms");
    g.tpp(sim).avx(sim);
    g
}

/// What the simulator holds of each kind: the counts a resumed run must not raise.
fn held(state: &SimState) -> (usize, usize, usize, usize) {
    (state.prequalifications.len(), state.preapprovals.len(), state.sign_requests.len(), state.tpp_tokens.len())
}

/// The first run gives up waiting; its report is copied where the next run's inputs name it.
fn timed_out_run(sim: &SimHandle, gate: &mut Gate) -> Ran {
    gate.input("timeout", "1s");
    let first = gate.run();
    assert_eq!(first.code, 1, "{}", first.debug());
    let statuses: Vec<&str> = first.report()["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["sign"]["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(statuses, ["timed-out", "timed-out"], "{}", first.debug());
    assert_eq!(held(&sim.state()), (2, 2, 2, 1));
    gate.file("earlier-report.json", first.report_raw.as_bytes());
    gate.input("timeout", "30s").input("resume-from", "earlier-report.json");
    first
}

#[test]
fn a_resumed_run_waits_for_the_earlier_requests_and_asks_for_nothing_new() {
    let sim = slow_sim();
    let mut gate = gate(&sim);
    let first = timed_out_run(&sim, &mut gate);
    let before = held(&sim.state());
    let requests_before = sim.state().requests.len();
    let resumed = gate.run();
    assert_eq!(resumed.code, 0, "{}", resumed.debug());
    assert_eq!(held(&sim.state()), before, "no new pre-qualification, pre-approval, sign request or TPP token");
    let paths: Vec<String> = sim.state().requests[requests_before..].iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p.ends_with("/login") || p.contains("code-signing-fetch-status-sync-requests")),
        "only an AppViewX login and status requests: {paths:?}"
    );
    let report = resumed.report();
    for (a, earlier) in report["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .zip(first.report()["artifacts"].as_array().expect("earlier"))
    {
        assert_eq!(a["resumed"], true, "{a}");
        assert_eq!(a["sign"]["sign_id"], earlier["sign"]["sign_id"], "the earlier request, waited for");
        assert_eq!(a["sign"]["status"], "signed");
        assert_eq!(a["prequalify"]["status"], "not-run");
        assert_eq!(a["preapproval"]["status"], "not-run");
    }
    assert!(report["resumed_from"].as_str().is_some_and(|f| f.ends_with("earlier-report.json")), "{report}");
    assert_eq!(resumed.output("signed"), "2");
    assert!(resumed.summary.contains("**Resumed** 2 artifact(s) from"), "{}", resumed.summary);
    assert!(resumed.stdout.contains("resumed dist/app.exe: waiting for the earlier sign id"), "{}", resumed.stdout);
    resumed.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn a_changed_file_is_not_resumed_and_runs_afresh() {
    let sim = slow_sim();
    let mut gate = gate(&sim);
    timed_out_run(&sim, &mut gate);
    gate.file("dist/lib.dll", b"a library, rebuilt");
    let (prequalified, preapproved, submitted, tokens) = held(&sim.state());
    let resumed = gate.run();
    assert_eq!(resumed.code, 0, "{}", resumed.debug());
    assert_eq!(
        held(&sim.state()),
        (prequalified + 1, preapproved + 1, submitted + 1, tokens + 1),
        "exactly one new chain, for the changed file"
    );
    let report = resumed.report();
    let by_name = |name: &str| {
        report["artifacts"].as_array().expect("artifacts").iter().find(|a| a["name"] == name).expect("artifact").clone()
    };
    assert_eq!(by_name("dist/app.exe")["resumed"], true);
    let fresh = by_name("dist/lib.dll");
    assert_eq!(fresh["resumed"], false);
    assert_eq!(
        (&fresh["prequalify"]["status"], &fresh["sign"]["status"]),
        (&serde_json::json!("done"), &serde_json::json!("signed"))
    );
    assert!(resumed.summary.contains("1 ran afresh"), "{}", resumed.summary);
}

#[test]
fn a_record_of_another_environment_policy_or_key_is_refused_before_anything_is_sent() {
    let sim = sim();
    let first = gate(&sim).run();
    assert_eq!(first.code, 0, "{}", first.debug());
    for (field, other, input) in [
        ("environment_dn", "\\VED\\Code Signing\\Other", "environment-dn"),
        ("appviewx_signing_policy", "another-policy", "appviewx-signing-policy"),
        ("appviewx_signing_key", "another-key", "appviewx-signing-key"),
        ("hash_algorithm", "sha384", "hash-algorithm"),
    ] {
        let mut earlier = first.report().clone();
        earlier[field] = serde_json::json!(other);
        let sent = sim.state().requests.len();
        let mut again = gate(&sim);
        again.file("earlier.json", earlier.to_string().as_bytes());
        again.input("resume-from", "earlier.json");
        let ran = again.run();
        assert_eq!(ran.code, 2, "{field}: {}", ran.debug());
        assert!(ran.stderr.contains("input `resume-from`") && ran.stderr.contains(input), "{field}: {}", ran.stderr);
        assert!(ran.stderr.contains(other), "names the difference: {}", ran.stderr);
        assert_eq!(sim.state().requests.len(), sent, "{field}: nothing sent");
    }
    let mut garbage = gate(&sim);
    garbage.file("earlier.json", b"{\"not\": \"a report\"}");
    garbage.input("resume-from", "earlier.json");
    let ran = garbage.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(ran.stderr.contains("is not a codesign-gate report"), "{}", ran.stderr);
}

const GITHUB_TOKEN: &str = "ghs_resumeTestToken0123456789";

/// A gate publishing check run `codesign-gate` to the stand-in GitHub, as attempt `attempt`
/// of run 4242's job `sign` in workflow `release`.
fn on_github(gate: &mut Gate, api: &str, attempt: &str) {
    gate.input("check-run", "codesign-gate").input("github-token", GITHUB_TOKEN);
    for (k, v) in [
        ("GITHUB_API_URL", api),
        ("GITHUB_RUN_ATTEMPT", attempt),
        ("GITHUB_WORKFLOW", "release"),
        ("GITHUB_JOB", "sign"),
    ] {
        gate.env.insert(k.into(), v.into());
    }
}

#[test]
fn a_re_run_of_the_job_resumes_from_the_earlier_attempts_check_run() {
    let sim = slow_sim();
    let (api, seen) = fake_github();
    let mut gate = gate(&sim);
    on_github(&mut gate, &api, "1");
    gate.input("timeout", "1s");
    let first = gate.run();
    assert_eq!(first.code, 1, "{}", first.debug());
    {
        let requests = seen.lock().expect("requests");
        let created = &requests.last().expect("the first attempt's check run").body;
        let text = created["output"]["text"].as_str().expect("the sign requests, in output.text");
        assert!(text.starts_with("<!-- codesign-gate resume v1\n"), "{text}");
        assert!(created["external_id"].as_str().is_some_and(|k| k.starts_with("codesign-gate:")), "{created}");
    }
    let before = held(&sim.state());

    on_github(&mut gate, &api, "2");
    gate.input("timeout", "30s");
    let rerun = gate.run();
    assert_eq!(rerun.code, 0, "{}", rerun.debug());
    assert_eq!(held(&sim.state()), before, "the re-run asked TPP and AppViewX for nothing new");
    let report = rerun.report();
    assert!(
        report["resumed_from"].as_str().is_some_and(|f| f.starts_with("check run 4 of an earlier attempt")),
        "{report}"
    );
    assert!(report["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .all(|a| a["resumed"] == true && a["sign"]["status"] == "signed"));
    {
        let requests = seen.lock().expect("requests");
        let list = requests.iter().find(|r| r.line.starts_with("GET ")).expect("the re-run listed the check runs");
        assert!(
            list.line.starts_with("GET /repos/acme/rocket/commits/0123456789abcdef0123456789abcdef01234567/check-runs?check_name=codesign-gate"),
            "{}",
            list.line
        );
    }
    assert!(rerun.stdout.contains("re-run attempt 2: resuming 2 sign request(s) from check run 4"), "{}", rerun.stdout);
    rerun.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD, GITHUB_TOKEN]);

    // With resume: false, or from another job (another key), a re-run starts afresh.
    for (resume, job) in [("false", "sign"), ("true", "another-job")] {
        on_github(&mut gate, &api, "3");
        gate.env.insert("GITHUB_JOB".into(), job.into());
        gate.input("resume", resume);
        let (_, _, submitted, _) = held(&sim.state());
        let ran = gate.run();
        assert_eq!(ran.code, 0, "{job}: {}", ran.debug());
        assert_eq!(held(&sim.state()).2, submitted + 2, "{job}: submitted afresh");
        assert!(ran.report()["resumed_from"].is_null(), "{job}");
    }
}
