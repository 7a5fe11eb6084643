//! The approval chain against a simulator that enforces it (its default): a signing is
//! pre-approved only when TPP holds a live pre-qualification of its digest and a live
//! pre-approval for the address it comes from; otherwise it waits for an approver (or fails,
//! for a digest never pre-qualified). These are the runs that would have caught a gate asking
//! one single-use pre-approval for many signings.

use signing_sim::SimHandle;

use crate::support::*;

/// A gate with `n` artifacts, both vendors configured.
fn gate_with(sim: &SimHandle, n: usize) -> Gate {
    let mut g = Gate::empty();
    for i in 0..n {
        g.file(&format!("dist/a{i:02}.exe"), format!("artifact number {i}").as_bytes());
    }
    g.input("artifacts", "dist/*");
    g.tpp(sim).avx(sim);
    g
}

fn count(state: &signing_sim::SimState, path: &str) -> usize {
    state.requests.iter().filter(|r| r.path.ends_with(path)).count()
}

#[test]
fn one_three_and_fifty_artifacts_sign_without_an_approver() {
    for n in [1, 3, 50] {
        let sim = sim();
        let ran = gate_with(&sim, n).run();
        assert_eq!(ran.code, 0, "{n} artifact(s): {}", ran.debug());
        assert_eq!(ran.output("signed"), n.to_string());
        assert_eq!(ran.output("preapproved"), n.to_string());
        let state = sim.state();
        assert_eq!(count(&state, "Codesign/AddPreApproval"), n, "one AddPreApproval per signing");
        assert_eq!(state.preapprovals.len(), n);
        for p in &state.preapprovals {
            assert_eq!((p.single_use, p.used_by.len()), (Some(true), 1), "single use, used once: {p:?}");
        }
        for r in &state.sign_requests {
            assert_eq!(r.approval, "pre-approved", "{n} artifact(s): {r:?}");
        }
        // Each signing used its own pre-approval: the one asked for it before its submission.
        let report = ran.report();
        for a in report["artifacts"].as_array().expect("artifacts") {
            let index = a["preapproval_index"].as_u64().and_then(|i| usize::try_from(i).ok()).expect("an index");
            assert_eq!(report["preapprovals"][index]["serves"], serde_json::json!([a["name"]]));
        }
    }
}

#[test]
fn a_shared_pre_approval_is_one_call_for_every_signing() {
    let sim = sim();
    let mut gate = gate_with(&sim, 3);
    gate.input("pre-approval", "shared").input("hours", "2");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(count(&state, "Codesign/AddPreApproval"), 1);
    let shared = &state.preapprovals[0];
    assert_eq!((shared.single_use, shared.hours), (Some(false), Some(2)), "{shared:?}");
    assert_eq!(shared.used_by.len(), 3, "it served every signing");
    assert!(state.sign_requests.iter().all(|r| r.approval == "pre-approved"), "{:?}", state.sign_requests);
    let report = ran.report();
    assert_eq!(report["preapproval_mode"], "shared");
    assert_eq!(report["preapprovals"][0]["serves"].as_array().map(Vec::len), Some(3));
    for a in report["artifacts"].as_array().expect("artifacts") {
        assert_eq!(a["preapproval_index"], 0, "{a}");
    }
    assert!(ran.summary.contains("(shared by 3 signing(s), not single use)"), "{}", ran.summary);
}

#[test]
fn a_failed_pre_approval_stops_its_own_artifact_only() {
    let sim = sim();
    sim.add_fault(signing_sim::Fault {
        endpoint: "Codesign/AddPreApproval".into(),
        kind: signing_sim::FaultKind::Status { code: 500, retry_after: None },
        times: 1,
        after: 1,
    });
    let mut gate = gate_with(&sim, 3);
    // One call at a time, so the second pre-approval is the one refused.
    gate.input("max-concurrency", "1");
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert_eq!((ran.output("signed"), ran.output("failed")), ("2", "1"));
    let report = ran.report();
    let refused: Vec<&serde_json::Value> = report["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter(|a| a["preapproval"]["status"] == "failed")
        .collect();
    assert_eq!(refused.len(), 1, "{}", report["artifacts"]);
    assert_eq!(refused[0]["sign"]["status"], "not-submitted");
    assert_eq!(refused[0]["sign"]["message"], "not submitted: pre-approval failed");
    assert_eq!(sim.state().sign_requests.len(), 2, "the others went on");
}

#[test]
fn a_signer_at_another_address_waits_and_the_report_says_why() {
    let sim = sim();
    let mut gate = gate_with(&sim, 1);
    gate.input("runner-ip", "203.0.113.7").input("timeout", "2s");
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let state = sim.state();
    assert!(state.sign_requests[0].approval.starts_with("awaiting approval"), "{:?}", state.sign_requests);
    assert!(state.preapprovals[0].used_by.is_empty(), "nothing used the pre-approval");
    let message = ran.report()["artifacts"][0]["sign"]["message"].as_str().expect("a message").to_string();
    assert!(message.contains("still not signed after"), "{message}");
    assert!(
        message.contains("was not used: TPP uses it only for a signer at the address 203.0.113.7 (runner-ip)"),
        "{message}"
    );
    assert!(message.contains("waits for a Key Use Approver in TPP"), "{message}");
}

#[test]
fn a_pre_approval_not_yet_valid_holds_the_signing_until_an_approver_acts() {
    let sim = sim();
    let mut gate = gate_with(&sim, 1);
    gate.input("not-before", "2099-01-01T00:00:00Z").input("timeout", "20s");
    let ran = std::thread::scope(|scope| {
        let running = scope.spawn(|| gate.run());
        // The approver acts once the signing waits for them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let waiting = loop {
            let state = sim.state();
            if let Some(r) = state.sign_requests.iter().find(|r| r.approval.starts_with("awaiting")) {
                break r.sign_id.clone();
            }
            assert!(std::time::Instant::now() < deadline, "no signing waited: {:?}", state.sign_requests);
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        sim.approve(&waiting).expect("the approver approves");
        running.join().expect("the gate ran")
    });
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(state.sign_requests[0].approval, "approved by approver");
    assert!(state.preapprovals[0].used_by.is_empty(), "the pre-approval was not valid yet");
}

#[test]
fn a_used_pre_approval_is_not_used_again_and_a_rerun_asks_anew() {
    let sim = sim();
    // A first step only pre-qualifies (for many signings) and pre-approves; signing comes later.
    let mut approve = Gate::empty();
    approve.file("dist/app.exe", b"the application");
    approve.input("artifacts", "dist/*").input("single-use", "false").input("hours", "3");
    approve.tpp(&sim);
    let ran = approve.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());

    // A signing step without TPP uses that pre-approval; a second one finds it used up.
    let mut sign = Gate::empty();
    sign.file("dist/app.exe", b"the application");
    sign.input("artifacts", "dist/*").input("timeout", "2s");
    sign.avx(&sim);
    assert_eq!(sign.run().code, 0, "the pre-approval serves the first signing");
    let again = sign.run();
    assert_eq!(again.code, 1, "{}", again.debug());
    let state = sim.state();
    assert_eq!(state.sign_requests[1].approval_reason.as_deref(), Some("all-used"), "{:?}", state.sign_requests);
    let message = again.report()["artifacts"][0]["sign"]["message"].as_str().expect("message").to_string();
    assert!(message.contains("no pre-approval was asked for it"), "{message}");

    // A full re-run within the hours asks for pre-approvals of its own; none is reused.
    let rerun = {
        let mut g = Gate::empty();
        g.file("dist/app.exe", b"the application");
        g.input("artifacts", "dist/*");
        g.tpp(&sim).avx(&sim);
        g.run()
    };
    assert_eq!(rerun.code, 0, "{}", rerun.debug());
    let state = sim.state();
    let newest = state.preapprovals.last().expect("the re-run's pre-approval");
    let signed_by_rerun = rerun.report()["artifacts"][0]["sign"]["sign_id"].as_str().expect("sign id").to_string();
    assert_eq!(newest.used_by, [signed_by_rerun], "the re-run used its own pre-approval");
    assert!(state.preapprovals.iter().all(|p| p.used_by.len() <= 1), "{:?}", state.preapprovals);
}

#[test]
fn an_expired_pre_approval_is_not_used() {
    let sim = sim();
    let mut tpp = Gate::empty();
    tpp.file("dist/app.exe", b"the application");
    tpp.input("artifacts", "dist/*");
    tpp.tpp(&sim);
    // The digest pre-qualified for three hours, then a pre-approval for one.
    tpp.input("hours", "3").input("single-use", "false").input("pre-approve", "false");
    assert_eq!(tpp.run().code, 0);
    tpp.input("hours", "1").input("pre-qualify", "false").unset("pre-approve");
    assert_eq!(tpp.run().code, 0);
    sim.advance_time(std::time::Duration::from_secs(3700));

    let mut sign = Gate::empty();
    sign.file("dist/app.exe", b"the application");
    sign.input("artifacts", "dist/*").input("timeout", "2s");
    sign.avx(&sim);
    let ran = sign.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(state.sign_requests[0].approval_reason.as_deref(), Some("expired"), "{:?}", state.sign_requests);
    assert_eq!(ran.report()["artifacts"][0]["sign"]["status"], "timed-out");
}

#[test]
fn a_digest_never_pre_qualified_fails_its_signing_as_the_document_says() {
    let sim = sim();
    let mut gate = gate_with(&sim, 1);
    gate.input("pre-qualify", "false");
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(state.sign_requests[0].approval, "failed: digest not pre-qualified", "{:?}", state.sign_requests);
    assert!(state.preapprovals[0].used_by.is_empty(), "a failed signing uses no pre-approval");
    assert_eq!(ran.report()["artifacts"][0]["sign"]["status"], "failed");
}
