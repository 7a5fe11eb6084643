//! What the vendors' documents say the gate must do, end to end: the status call's documented
//! codes, a signature that is a whole signed script, revocations told apart, tenant keys.

use signing_sim::{Fault, FaultKind};

use crate::support::*;

const STATUS: &str = "code-signing-fetch-status-sync-requests";

fn app_status(code: u16, app_status_code: &str) -> FaultKind {
    FaultKind::AppStatus { code, app_status_code: app_status_code.into(), message: None }
}

#[test]
fn a_signed_script_is_written_byte_for_byte_under_a_name_that_claims_no_encoding() {
    let sim = sim_with(|c| c.appviewx.policies[0].signed_script = Some("Get-PSDrive".into()));
    let gate = Gate::full(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(ran.signatures.len(), 2, "{:?}", ran.signatures);
    for (path, content) in &ran.signatures {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(name.ends_with(".signed"), "{name}");
        let bytes = std::fs::read(path).expect("signature file");
        assert_eq!(bytes, content.as_bytes());
        assert!(content.starts_with("Get-PSDrive\r\n# SIG # Begin signature block\r\n"), "{content:?}");
        assert!(
            state.sign_requests.iter().any(|r| sim.encoded_hash_data(&r.sign_id).as_deref() == Some(content.as_str())),
            "exactly what AppViewX sent: {content:?}"
        );
    }
}

#[test]
fn status_codes_0101_and_0103_are_asked_again_until_signed() {
    let sim = sim();
    sim.add_fault(Fault::new(STATUS, app_status(500, "CODE_SIGNING_0101")).times(2));
    sim.add_fault(Fault::new(STATUS, app_status(500, "CODE_SIGNING_0103")).times(2));
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "2");
    let answered_500 = sim.state().requests.iter().filter(|r| r.path.ends_with(STATUS) && r.status == 500).count();
    assert_eq!(answered_500, 4);
}

#[test]
fn a_request_not_yet_visible_is_waited_for() {
    let sim = sim_with(|c| c.appviewx.visibility_delay_ms = 250);
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "2");
    let not_visible = sim.state().requests.iter().filter(|r| r.path.ends_with(STATUS) && r.status == 400).count();
    assert!(not_visible >= 2, "the first polls met 0102: {not_visible}");
}

#[test]
fn a_request_that_never_shows_up_fails_with_the_documented_message() {
    let sim = sim();
    sim.add_fault(Fault::new(STATUS, app_status(400, "CODE_SIGNING_0102")).times(0));
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let polls = sim.state().requests.iter().filter(|r| r.path.ends_with(STATUS)).count();
    assert_eq!(polls, 2 * 4, "three answers tolerated per request, the fourth is final");
    assert!(ran.summary.contains("CODE_SIGNING_0102: Data not present for given signId."), "{}", ran.summary);
}

#[test]
fn no_permission_for_the_status_is_final_at_once() {
    let sim = sim();
    sim.add_fault(Fault::new(STATUS, app_status(403, "CODE_SIGNING_00109")).times(0));
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let polls = sim.state().requests.iter().filter(|r| r.path.ends_with(STATUS)).count();
    assert_eq!(polls, 2, "one answer each, no second ask");
    assert!(
        ran.summary.contains("CODE_SIGNING_00109: Permissions are not there to fetch status for given signId."),
        "{}",
        ran.summary
    );
}

#[test]
fn a_token_already_dead_at_revocation_is_told_apart_from_a_revoked_one() {
    let sim = sim();
    sim.add_fault(Fault::new("revoke/token", FaultKind::ExpireToken));
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.report()["tpp_auth"]["revocations"], serde_json::json!(["already-invalid"]));
    assert!(ran.summary.contains("**TPP token** 1 already invalid"), "{}", ran.summary);

    let fresh = crate::support::sim();
    let ran = Gate::full(&fresh).run();
    assert_eq!(ran.report()["tpp_auth"]["revocations"], serde_json::json!(["revoked"]));
    assert!(ran.summary.contains("**TPP token** revoked"), "{}", ran.summary);
}

#[test]
fn a_multi_tenant_appviewx_needs_its_tenant_key() {
    let sim = sim_with(|c| c.appviewx.gwkey = Some("tenant-7".into()));
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 1, "without appviewx-gwkey: {}", ran.debug());
    assert!(sim.state().sign_requests.is_empty());

    let mut gate = Gate::full(&sim);
    gate.input("appviewx-gwkey", "tenant-7");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(ran.masks().contains(&"tenant-7"), "the tenant key is masked");
    ran.assert_no_secret(&["tenant-7", TPP_PASSWORD, AVX_PASSWORD]);
}
