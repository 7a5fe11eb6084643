//! TLS, proxies, cancellation and deadlines: the transport around the vendor calls.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use signing_sim::{Fault, FaultKind, SignOutcome, TlsConfig};

use crate::support::*;

fn tls_sim(dir: &std::path::Path) -> (signing_sim::SimHandle, std::path::PathBuf) {
    let ca = dir.join("sim-ca.pem");
    let sim = sim_with(|c| c.tls = Some(TlsConfig::Generate { ca_out_path: ca.clone() }));
    (sim, ca)
}

#[test]
fn https_with_a_private_ca_from_ca_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, ca) = tls_sim(dir.path());
    assert!(sim.base_url().starts_with("https://"));
    let mut gate = Gate::full(&sim);
    gate.input("ca-certificates", &ca.to_string_lossy());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "2");
}

#[test]
fn an_untrusted_certificate_is_a_clean_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, _ca) = tls_sim(dir.path());
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    let error = ran.stdout.lines().find(|l| l.starts_with("::error")).expect("an error annotation");
    assert!(error.contains("authorize/oauth: TLS failed") && error.contains("certificate"), "{error}");
    assert!(
        error.contains("ca-certificates") && !error.contains("attempts"),
        "says what to do, and was not retried: {error}"
    );
    assert!(sim.state().tpp_tokens.is_empty(), "no credentials went to an untrusted server");
}

/// A CONNECT proxy that records the targets it was asked for.
fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
    let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let target = line.split_whitespace().nth(1).unwrap_or_default().to_string();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                        break;
                    }
                }
                log.lock().expect("log").push(target.clone());
                let Ok(upstream) = TcpStream::connect(&target) else { return };
                let mut client = client;
                if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
                    return;
                }
                let (mut up_read, mut up_write) = (upstream.try_clone().expect("clone"), upstream);
                let mut client_write = client.try_clone().expect("clone");
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_read, &mut client_write);
                });
                let _ = up_write.write_all(reader.buffer());
                let mut rest = reader.into_inner();
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = rest.read(&mut buf) {
                    if n == 0 || up_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    (url, seen)
}

#[test]
fn https_proxy_is_honoured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, ca) = tls_sim(dir.path());
    let (proxy, seen) = connect_proxy();
    let mut gate = Gate::full(&sim);
    gate.input("ca-certificates", &ca.to_string_lossy());
    gate.env.insert("HTTPS_PROXY".into(), proxy);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let targets = seen.lock().expect("log").clone();
    assert!(
        !targets.is_empty() && targets.iter().all(|t| *t == sim.addr().to_string()),
        "tunnelled through the proxy: {targets:?}"
    );

    // NO_PROXY takes the host back out.
    let before = targets.len();
    let mut gate = Gate::full(&sim);
    gate.input("ca-certificates", &ca.to_string_lossy());
    gate.env.insert("HTTPS_PROXY".into(), "http://127.0.0.1:9".into());
    gate.env.insert("NO_PROXY".into(), "127.0.0.1".into());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(seen.lock().expect("log").len(), before);
}

/// A cancelled job: SIGTERM while waiting stops the wait, still revokes and reports.
#[cfg(unix)]
fn cancel_when(gate: &Gate, line_starts: &str) -> Ran {
    let mut child = gate.command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read stdout");
        assert!(n > 0, "the gate ended before `{line_starts}`:\n{seen}");
        seen.push_str(&line);
        if line.starts_with(line_starts) {
            break;
        }
    }
    let status = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("rest of stdout");
    let mut out = child.wait_with_output().expect("wait");
    out.stdout = format!("{seen}{rest}").into_bytes();
    gate.collect(&out)
}

#[cfg(unix)]
#[test]
fn sigterm_while_waiting_for_signatures() {
    let sim = sim_with(|c| c.appviewx.policies[0].outcome = SignOutcome::Never);
    let mut gate = Gate::full(&sim);
    gate.input("timeout", "10m").input("poll-interval", "1s");
    let ran = cancel_when(&gate, "waiting up to");
    assert_eq!(ran.code, 143, "{}", ran.debug());
    assert_eq!(ran.output("result"), "failure");
    assert_eq!(ran.report()["cancelled"], "SIGTERM");
    assert!(ran.stdout.contains("cancelled (SIGTERM)"), "{}", ran.stdout);
    assert!(sim.state().tpp_tokens.iter().all(|t| t.revoked));
}

#[cfg(unix)]
#[test]
fn sigterm_during_tpp_still_revokes_the_token() {
    let sim = sim();
    sim.add_fault(Fault { endpoint: "AddPreApproval".into(), kind: FaultKind::Hang, times: 1, after: 0 });
    let mut gate = Gate::full(&sim);
    gate.input("timeout", "10m").input("request-timeout", "5m");
    let ran = cancel_when(&gate, "pre-qualified dist/lib/helper.dll");
    assert_eq!(ran.code, 143, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(state.tpp_tokens.len(), 1);
    assert!(state.tpp_tokens[0].revoked, "revoked after the cancel: {:?}", state.requests);
    assert!(state.sign_requests.is_empty(), "nothing submitted after the cancel");
    let report = ran.report();
    let failed = report["preapprovals"]
        .as_array()
        .expect("pre-approvals")
        .iter()
        .filter(|p| p["outcome"]["status"] == "failed")
        .count();
    assert!(failed >= 1, "the hung one was cut short: {}", report["preapprovals"]);
}

#[test]
fn a_retry_after_past_the_deadline_is_not_waited_for() {
    let sim = sim();
    sim.add_fault(Fault {
        endpoint: "PreQualify/Create".into(),
        kind: FaultKind::Status { code: 503, retry_after: Some("3600".into()) },
        times: 1,
        after: 0,
    });
    let mut gate = Gate::full(&sim);
    gate.input("timeout", "30s");
    let started = std::time::Instant::now();
    let ran = gate.run();
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "did not wait an hour");
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(ran.stdout.lines().any(|l| l.starts_with("::error") && l.contains("HTTP 503")), "{}", ran.stdout);
}

#[test]
fn a_post_retried_after_503_is_flagged_in_the_report() {
    let sim = sim();
    sim.add_fault(Fault {
        endpoint: "AddPreApproval".into(),
        kind: FaultKind::Status { code: 503, retry_after: Some("0".into()) },
        times: 1,
        after: 0,
    });
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(
        ran.stdout.lines().any(|l| l.starts_with("::warning") && l.contains("may have applied this request twice")),
        "{}",
        ran.stdout
    );
    assert!(ran.report_raw.contains("may have applied this request twice"));
    let attempts: Vec<u64> = ran.report()["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["endpoint"] == "Codesign/AddPreApproval")
        .map(|c| c["attempt"].as_u64().expect("attempt"))
        .collect();
    assert_eq!(attempts.iter().filter(|a| **a == 1).count(), 2, "one pre-approval per signing: {attempts:?}");
    assert_eq!(attempts.iter().filter(|a| **a == 2).count(), 1, "the one that met the 503 was sent again");
}

/// Answers every request with a redirect to `target`, and records whether it was followed.
fn redirector(target: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let mut stream = stream;
            let _ = write!(stream, "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    url
}

#[test]
fn redirects_are_not_followed_with_credentials() {
    let thief = TcpListener::bind("127.0.0.1:0").expect("bind");
    let thief_url = format!("http://localhost:{}", thief.local_addr().expect("addr").port());
    thief.set_nonblocking(true).expect("nonblocking");
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("tpp-url", &redirector(thief_url));
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(
        ran.stdout.lines().any(|l| l.starts_with("::error") && l.contains("authorize/oauth") && l.contains("HTTP 307")),
        "{}",
        ran.stdout
    );
    assert!(thief.accept().is_err(), "the redirect target was never contacted");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}
