//! `runner-ip`: how the pre-approval's address is found, and that the summary and report say so.
//! The simulator's address echo (`/__sim/ip`) stands in for an organisation's echo endpoint.

use crate::support::*;

/// The pre-approval TPP holds, and the address its AddPreApproval request came from.
fn preapproved(sim: &signing_sim::SimHandle) -> (Option<String>, Option<String>) {
    let state = sim.state();
    assert_eq!(state.preapprovals.len(), 1, "one pre-approval");
    let request = state.requests.iter().find(|r| r.path == "/vedsdk/Codesign/AddPreApproval").expect("AddPreApproval");
    (state.preapprovals[0].ip_address.clone(), request.peer.map(|ip| ip.to_string()))
}

fn tpp_only(sim: &signing_sim::SimHandle) -> Gate {
    let mut g = Gate::empty();
    g.file("dist/app.exe", b"the application");
    g.input("artifacts", "dist/*");
    g.tpp(sim);
    g
}

#[test]
fn from_url_pre_approves_what_the_echo_answers_as_text_or_json() {
    for (path, shape) in [("/__sim/ip", "text"), ("/__sim/ip?format=json", "json")] {
        let sim = sim();
        let url = format!("{}{path}", sim.base_url());
        let mut gate = tpp_only(&sim);
        gate.input("runner-ip", &format!("from-url:{url}"));
        let ran = gate.run();
        assert_eq!(ran.code, 0, "{shape}: {}", ran.debug());
        let (ip, peer) = preapproved(&sim);
        assert_eq!(ip.as_deref(), Some("127.0.0.1"), "{shape}");
        assert_eq!(ip, peer, "{shape}: the pre-approved address is the one TPP saw");
        assert_eq!(ran.output("runner-ip"), "127.0.0.1");
        let source = format!("from-url {url}");
        assert_eq!(ran.report()["runner_ip_source"], source.as_str(), "{shape}");
        assert_eq!(ran.report()["preapprovals"][0]["ip_source"], source.as_str(), "{shape}");
        assert!(ran.summary.contains(&format!("from `127.0.0.1` (runner-ip {source})")), "{}", ran.summary);
        // The echo is asked first and is told nothing secret.
        let state = sim.state();
        let echo = &state.requests[0];
        assert_eq!((echo.method.as_str(), echo.path.as_str()), ("GET", "/__sim/ip"), "{shape}");
        assert!(!echo.header_names.iter().any(|h| h == "authorization" || h == "cookie"), "{:?}", echo.header_names);
        assert!(echo.body.is_none());
        let first = &ran.report()["calls"][0];
        assert_eq!((&first["service"], &first["endpoint"]), (&"runner-ip".into(), &"from-url".into()), "audited");
        ran.assert_no_secret(&[TPP_PASSWORD]);
    }
}

#[test]
fn an_echo_answer_that_is_not_an_address_stops_before_tpp() {
    let sim = sim();
    let base = sim.base_url();
    for (path, expected) in [
        ("/vedsdk/SystemStatus/Version", "not an IP address"),
        ("/__sim/nothing-here", "answered HTTP 404"),
        ("/__sim/state", "bytes, not an IP address"),
    ] {
        let mut gate = tpp_only(&sim);
        let url = format!("{base}{path}");
        gate.input("runner-ip", &format!("from-url:{url}"));
        let ran = gate.run();
        assert_eq!(ran.code, 2, "{path}: {}", ran.debug());
        let line = ran.stderr.trim();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        assert!(line.contains("runner-ip") && line.contains(&url) && line.contains(expected), "{line}");
    }
    let state = sim.state();
    assert!(
        state.requests.iter().all(|r| r.method == "GET" && !r.path.starts_with("/vedauth")),
        "only the echo was asked"
    );
    assert!(state.prequalifications.is_empty() && state.preapprovals.is_empty());
}

#[test]
fn an_echo_that_cannot_be_reached_fails_the_run_naming_it() {
    let sim = sim();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/ip", closed.local_addr().expect("addr"));
    drop(closed);
    let mut gate = tpp_only(&sim);
    gate.input("runner-ip", &format!("from-url:{url}")).input("request-timeout", "1s").input("timeout", "3s");
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let annotation = ran.stdout.lines().find(|l| l.starts_with("::error") && l.contains(&url));
    assert!(annotation.is_some_and(|l| l.contains("runner-ip")), "{}", ran.debug());
    assert!(sim.state().requests.is_empty(), "nothing was sent to TPP");
    // The run still reports: the failure, and that nothing was pre-qualified.
    assert_eq!(ran.report()["result"], "failure");
    assert!(ran.report_raw.contains(&url), "the report names the echo: {}", ran.report_raw);
    assert_eq!(ran.report()["artifacts"][0]["prequalify"]["status"], "failed", "{}", ran.report_raw);
}

#[test]
fn auto_on_loopback_given_and_none_say_how_the_address_was_found() {
    let sim = sim();
    let ran = tpp_only(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(preapproved(&sim), (Some("127.0.0.1".into()), Some("127.0.0.1".into())));
    assert_eq!(ran.report()["runner_ip_source"], "auto (route to TPP)");

    let sim = signing_sim::SimHandle::spawn(signing_sim::SimConfig::default()).expect("simulator");
    let mut gate = tpp_only(&sim);
    gate.input("runner-ip", "203.0.113.7");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(preapproved(&sim).0.as_deref(), Some("203.0.113.7"));
    assert_eq!(ran.report()["preapprovals"][0]["ip_source"], "given");
    assert!(ran.summary.contains("from `203.0.113.7` (runner-ip given)"), "{}", ran.summary);

    let sim = signing_sim::SimHandle::spawn(signing_sim::SimConfig::default()).expect("simulator");
    let mut gate = tpp_only(&sim);
    gate.input("runner-ip", "none");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "a warning leaves the result alone: {}", ran.debug());
    assert_eq!(preapproved(&sim).0, None);
    assert_eq!(ran.report()["runner_ip_source"], "none");
    assert!(ran.summary.contains("from any address (runner-ip none)"), "{}", ran.summary);
    let warning = ran.stdout.lines().find(|l| l.starts_with("::warning")).expect("an annotation");
    assert!(warning.contains("hold for a signer at any address"), "{warning}");
}

#[test]
fn a_plan_asks_the_echo_and_plans_the_pre_approval_for_its_answer() {
    let sim = sim();
    let url = format!("{}/__sim/ip", sim.base_url());
    let mut gate = tpp_only(&sim);
    gate.input("runner-ip", &format!("from-url:{url}")).input("dry-run", "true");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("result"), "planned");
    let paths: Vec<String> = sim.state().requests.iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/__sim/ip"], "only the echo is asked; nothing goes to TPP");
    // The plan's record gives each endpoint's first body whole.
    let endpoints = ran.report()["plan"]["endpoints"].as_array().expect("planned endpoints").clone();
    let preapproval = endpoints
        .iter()
        .find(|r| r["endpoint"] == "Codesign/AddPreApproval")
        .unwrap_or_else(|| panic!("no AddPreApproval planned: {endpoints:?}"));
    assert_eq!(preapproval["body"]["IPAddress"], "127.0.0.1", "{preapproval}");
    assert_eq!(ran.report()["runner_ip_source"], format!("from-url {url}").as_str());
    let calls = ran.report()["calls"].as_array().expect("calls").clone();
    let endpoints: Vec<&str> = calls.iter().filter_map(|c| c["endpoint"].as_str()).collect();
    assert_eq!(endpoints, ["from-url"], "the audit record lists the one call that was made");
}

#[test]
fn an_echo_that_is_down_fails_the_run_with_a_report() {
    let sim = sim();
    let busy = signing_sim::FaultKind::Status { code: 503, retry_after: None };
    sim.add_fault(signing_sim::Fault::new("__sim/ip", busy).times(0));
    let url = format!("{}/__sim/ip", sim.base_url());
    let mut gate = tpp_only(&sim);
    gate.input("runner-ip", &format!("from-url:{url}")).input("timeout", "5s");
    let ran = gate.run();
    assert_eq!(ran.code, 1, "not an input to fix: {}", ran.debug());
    assert_eq!(ran.report()["result"], "failure");
    assert!(ran.report_raw.contains("HTTP 503"), "{}", ran.report_raw);
    let state = sim.state();
    assert!(state.requests.len() > 1, "the echo was asked again");
    assert!(state.requests.iter().all(|r| r.path == "/__sim/ip"), "nothing was sent to TPP");
}
