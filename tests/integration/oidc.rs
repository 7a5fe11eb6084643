//! Keyless TPP authentication: the job's OIDC token (from the simulator's stand-in for the
//! runner's token endpoint) exchanged at /vedauth/authorize/jwt.

use signing_sim::{Fault, FaultKind, SimHandle};

use crate::support::*;

fn keyless(sim: &SimHandle) -> Gate {
    let mut gate = Gate::full(sim);
    gate.unset("tpp-username").unset("tpp-password").input("tpp-oidc-audience", "codesign-gate");
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), sim.oidc_request_url());
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), sim.config().oidc.request_token.clone());
    gate
}

fn secrets<'a>(ran: &'a Ran, sim: &'a SimHandle) -> Vec<&'a str> {
    let mut s = ran.masks();
    s.extend([AVX_PASSWORD, sim.config().oidc.request_token.as_str()]);
    s
}

#[test]
fn the_jobs_oidc_token_replaces_any_stored_tpp_secret() {
    let sim = sim();
    let ran = keyless(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "2");
    let state = sim.state();
    assert_eq!(state.tpp_tokens.len(), 1);
    assert_eq!(
        (state.tpp_tokens[0].issued_via.as_str(), state.tpp_tokens[0].revoked),
        ("jwt", true),
        "exchanged, then revoked"
    );
    assert_eq!(state.prequalifications.len(), 2);
    let oidc = state.requests.iter().find(|r| r.path.contains("oidc/token")).expect("the runner was asked for a token");
    assert!(oidc.query.as_deref().unwrap_or_default().contains("audience=codesign-gate"), "{oidc:?}");
    assert!(ran.masks().iter().any(|m| m.split('.').count() == 3), "the JWT is masked: {:?}", ran.masks());
    assert_eq!(ran.report()["tpp_auth"]["method"], "oidc");
    ran.assert_no_secret(&secrets(&ran, &sim));
}

#[test]
fn a_jwt_the_mapping_refuses_names_the_audience() {
    let sim = sim();
    let mut gate = keyless(&sim);
    gate.input("tpp-oidc-audience", "someone-else");
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let error = ran.stdout.lines().find(|l| l.starts_with("::error")).expect("an error");
    assert!(error.contains("invalid_grant") && error.contains("JWT mapping for audience `someone-else`"), "{error}");
    assert!(sim.state().tpp_tokens.is_empty());
    ran.assert_no_secret(&secrets(&ran, &sim));

    sim.set_oidc_subject("repo:mallory/fork:ref:refs/heads/main");
    let ran = keyless(&sim).run();
    assert_eq!(ran.code, 1, "a subject outside the mapping is refused: {}", ran.debug());
    assert!(sim.state().prequalifications.is_empty());
}

#[test]
fn a_wrong_request_token_is_a_clean_failure() {
    let sim = sim();
    let mut gate = keyless(&sim);
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), "not-the-runners-token".into());
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(
        ran.stdout.contains("the job's OIDC token could not be had: oidc-token: the runner answered HTTP 401"),
        "{}",
        ran.stdout
    );
    ran.assert_no_secret(&[AVX_PASSWORD, "not-the-runners-token"]);
}

#[test]
fn a_token_that_dies_mid_run_is_replaced_by_a_fresh_exchange() {
    let sim = sim();
    sim.add_fault(Fault { endpoint: "AddPreApproval".into(), kind: FaultKind::ExpireToken, times: 1, after: 0 });
    let ran = keyless(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(state.requests.iter().filter(|r| r.path.contains("oidc/token")).count(), 2, "a fresh OIDC token");
    assert_eq!(state.tpp_tokens.iter().filter(|t| t.issued_via == "jwt").count(), 2);
    assert!(state.tpp_tokens.iter().all(|t| t.revoked || t.expired));
    ran.assert_no_secret(&secrets(&ran, &sim));
}
