//! The check run, published through octocrab to a stand-in for the GitHub API on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::*;

struct Request {
    line: String,
    headers: Vec<String>,
    body: serde_json::Value,
}

/// Answers every request like `POST /repos/{owner}/{repo}/check-runs` does, and keeps them.
fn fake_github() -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            let mut length = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push(h.trim_end().to_string());
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let answer = serde_json::json!({
                "id": 4, "node_id": "CR_1", "details_url": null, "head_sha": body["head_sha"],
                "url": "https://api.github.com/repos/acme/rocket/check-runs/4",
                "html_url": "https://github.com/acme/rocket/runs/4", "conclusion": body["conclusion"],
                "output": {"title": body["output"]["title"], "summary": null, "text": null, "annotations_count": 0,
                           "annotations_url": "https://api.github.com/repos/acme/rocket/check-runs/4/annotations"},
                "started_at": null, "completed_at": null, "name": body["name"], "pull_requests": []
            })
            .to_string();
            log.lock().expect("log").push(Request { line: line.trim_end().to_string(), headers, body });
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, seen)
}

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
