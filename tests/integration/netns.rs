//! `runner-ip` on a real network: the runner, a router and TPP each in a network namespace,
//! joined by veth pairs, with or without NAT (nftables masquerade) on the router. The simulator
//! records the address it really sees, which is what TPP compares a pre-approval's `IPAddress`
//! with.
//!
//! Each test builds its namespaces (names unique per process and test, removed by a guard even
//! when the test fails), then runs itself again inside the TPP namespace (`ip netns exec`), where
//! it serves the simulator on TPP's address and runs the gate in the runner's namespace. Where
//! namespaces cannot be made (not Linux, not root, no `ip` or `nft`), each test prints
//! `skipped: <why>` and passes.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use signing_sim::{SimConfig, SimHandle, TlsConfig};

use crate::support::*;

/// Set in the run inside the TPP namespace: `<runner namespace> <TPP address>`.
const INNER: &str = "CODESIGN_GATE_NETNS_INNER";

/// The runner's subnet, behind the router in both topologies.
const RUNNER_IP: &str = "10.10.1.2";

/// Runs `program args…`; the error holds its stderr.
fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).map_err(|e| format!("{program}: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args, None)
}

/// Why namespaces cannot be used on this machine, if they cannot; probed once per process.
fn unavailable() -> Option<String> {
    static PROBED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    PROBED.get_or_init(probe).clone()
}

fn probe() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("network namespaces are Linux-only".into());
    }
    for (tool, package) in [("ip", "iproute2"), ("nft", "nftables")] {
        if run(tool, &["-V"], None).is_err() {
            return Some(format!("`{tool}` is not installed (Debian package {package})"));
        }
    }
    let probe = format!("cg-probe-{}", std::process::id());
    match ip(&["netns", "add", &probe]) {
        Ok(()) => {
            let _ = ip(&["netns", "del", &probe]);
            None
        }
        Err(e) => Some(format!("network namespaces are not permitted here (needs root): {e}")),
    }
}

/// Says why a test did not run where `cargo test` shows it even for a passing test. Where CI
/// promises namespaces (`CODESIGN_GATE_REQUIRE_NETNS=1`), a skip is a failure instead.
fn skip(why: &str) {
    assert!(std::env::var_os("CODESIGN_GATE_REQUIRE_NETNS").is_none(), "network namespace tests required, but {why}");
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// The three namespaces of one test, deleted (with their veth pairs) when dropped.
struct Net {
    runner: String,
    router: String,
    tpp: String,
}

impl Net {
    /// runner 10.10.1.2/24 ─ router ─ TPP at `tpp_ip`/24 (router at `router_ip` on that side).
    /// With `nat`, the router masquerades what leaves towards TPP, and TPP has no route back
    /// to the runner's subnet; without, TPP routes back through the router.
    fn build(tag: &str, router_ip: &str, tpp_ip: &str, nat: bool) -> Result<Net, String> {
        let id = std::process::id();
        let net = Net {
            runner: format!("cg-{id}-{tag}-runner"),
            router: format!("cg-{id}-{tag}-router"),
            tpp: format!("cg-{id}-{tag}-tpp"),
        };
        for ns in [&net.runner, &net.router, &net.tpp] {
            ip(&["netns", "add", ns])?;
        }
        let (r, n, t) = (net.runner.as_str(), net.router.as_str(), net.tpp.as_str());
        ip(&["link", "add", "r0", "netns", r, "type", "veth", "peer", "name", "n0", "netns", n])?;
        ip(&["link", "add", "n1", "netns", n, "type", "veth", "peer", "name", "t0", "netns", t])?;
        let tpp_cidr = format!("{tpp_ip}/24");
        for (ns, dev, addr) in [(r, "r0", "10.10.1.2/24"), (n, "n0", "10.10.1.1/24"), (t, "t0", tpp_cidr.as_str())] {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        ip(&["-n", n, "addr", "add", &format!("{router_ip}/24"), "dev", "n1"])?;
        ip(&["-n", n, "link", "set", "n1", "up"])?;
        ip(&["-n", r, "route", "add", "default", "via", "10.10.1.1"])?;
        run("ip", &["netns", "exec", n, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"], None)?;
        if nat {
            let rules = "add table ip nat\nadd chain ip nat post { type nat hook postrouting priority 100 ; }\nadd rule ip nat post oifname \"n1\" masquerade\n";
            run("ip", &["netns", "exec", n, "nft", "-f", "-"], Some(rules))?;
        } else {
            ip(&["-n", t, "route", "add", "10.10.1.0/24", "via", router_ip])?;
        }
        Ok(net)
    }

    /// Runs `test` of this binary again inside the TPP namespace and passes its verdict on.
    fn run_inside(&self, test: &str, tpp_ip: &str) {
        let exe = std::env::current_exe().expect("the test binary");
        let exe = exe.to_str().expect("a UTF-8 path");
        let out = Command::new("ip")
            .args(["netns", "exec", &self.tpp, exe, test, "--exact", "--nocapture", "--test-threads", "1"])
            .env(INNER, format!("{} {tpp_ip}", self.runner))
            .output()
            .expect("ip netns exec");
        let said = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "inside {}: {said}", self.tpp);
        assert!(said.contains("1 passed"), "the test ran inside the namespace: {said}");
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.runner, &self.router, &self.tpp] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// In the TPP namespace: the runner's namespace and TPP's address, from the outer run.
fn inner() -> Option<(String, String)> {
    let value = std::env::var(INNER).ok()?;
    let (runner, tpp) = value.split_once(' ')?;
    Some((runner.to_string(), tpp.to_string()))
}

/// The outer run: builds the network and runs `test` inside it, or says why it cannot.
fn outer(test: &str, tag: &str, router_ip: &str, tpp_ip: &str, nat: bool) {
    if let Some(why) = unavailable() {
        skip(&why);
        return;
    }
    let net = match Net::build(tag, router_ip, tpp_ip, nat) {
        Ok(net) => net,
        Err(e) => panic!("namespaces are permitted, but building the network failed: {e}"),
    };
    net.run_inside(test, tpp_ip);
}

/// The simulator on TPP's address over https (tpp-url must be https off loopback), and a gate
/// pointed at it with the simulator's CA.
fn tpp_at(tpp_ip: &str) -> (SimHandle, Gate) {
    let mut gate = Gate::empty();
    let ca = gate.dir.path().join("sim-ca.pem");
    let config = SimConfig { tls: Some(TlsConfig::Generate { ca_out_path: ca.clone() }), ..SimConfig::default() };
    let listen: SocketAddr = format!("{tpp_ip}:0").parse().expect("address");
    let sim = SimHandle::spawn_on(config, listen).expect("the simulator serves on TPP's address");
    gate.file("dist/app.exe", b"the application");
    gate.input("artifacts", "dist/*").input("ca-certificates", ca.to_str().expect("UTF-8"));
    gate.tpp(&sim);
    (sim, gate)
}

/// The pre-approval's `IPAddress` and the address the simulator saw its request come from.
fn preapproval_and_peer(sim: &SimHandle) -> (Option<String>, Option<String>) {
    let state = sim.state();
    assert_eq!(state.preapprovals.len(), 1, "one pre-approval");
    let request = state.requests.iter().find(|r| r.path == "/vedsdk/Codesign/AddPreApproval").expect("AddPreApproval");
    (state.preapprovals[0].ip_address.clone(), request.peer.map(|p| p.to_string()))
}

#[test]
fn without_nat_auto_pre_approves_the_address_tpp_sees() {
    let Some((runner, tpp_ip)) = inner() else {
        return outer(
            "netns::without_nat_auto_pre_approves_the_address_tpp_sees",
            "plain",
            "10.20.2.1",
            "10.20.2.10",
            false,
        );
    };
    let (sim, mut gate) = tpp_at(&tpp_ip);
    gate.env.insert("RUNNER_ENVIRONMENT".into(), "self-hosted".into());
    let ran = gate.run_in(&["ip", "netns", "exec", &runner]);
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let (preapproved, seen) = preapproval_and_peer(&sim);
    assert_eq!(seen.as_deref(), Some(RUNNER_IP), "no NAT: TPP sees the runner's own address");
    assert_eq!(preapproved, seen, "auto pre-approved what TPP sees");
    assert_eq!(ran.report()["runner_ip_source"], "auto (route to TPP)");
}

#[test]
fn behind_nat_auto_refuses_and_from_url_pre_approves_the_address_tpp_sees() {
    let Some((runner, tpp_ip)) = inner() else {
        return outer(
            "netns::behind_nat_auto_refuses_and_from_url_pre_approves_the_address_tpp_sees",
            "nat",
            "203.0.113.1",
            "203.0.113.10",
            true,
        );
    };
    let wrapper = ["ip", "netns", "exec", runner.as_str()];

    // auto: a private runner address towards a public TPP; nothing is sent.
    for hosted in ["github-hosted", "self-hosted"] {
        let (sim, mut gate) = tpp_at(&tpp_ip);
        gate.env.insert("RUNNER_ENVIRONMENT".into(), hosted.into());
        let ran = gate.run_in(&wrapper);
        assert_eq!(ran.code, 2, "{hosted}: {}", ran.debug());
        let line = ran.stderr.trim();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        for part in ["runner-ip", RUNNER_IP, &tpp_ip, "NAT", "egress IP", "from-url:", "none"] {
            assert!(line.contains(part), "{hosted}: `{part}` in {line}");
        }
        assert_eq!(line.contains("GitHub-hosted"), hosted == "github-hosted", "{line}");
        assert!(sim.state().requests.is_empty(), "{hosted}: the simulator recorded nothing");
    }

    // from-url: the echo sees what TPP sees, the router's address.
    let (sim, mut gate) = tpp_at(&tpp_ip);
    gate.env.insert("RUNNER_ENVIRONMENT".into(), "github-hosted".into());
    let echo = format!("{}/__sim/ip", sim.base_url());
    gate.input("runner-ip", &format!("from-url:{echo}"));
    let ran = gate.run_in(&wrapper);
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let (preapproved, seen) = preapproval_and_peer(&sim);
    assert_eq!(seen.as_deref(), Some("203.0.113.1"), "TPP sees the NAT's address");
    assert_eq!(preapproved, seen, "from-url pre-approved what TPP sees");
    assert_eq!(ran.report()["runner_ip_source"], format!("from-url {echo}").as_str());
}
