//! Sixteen gates at once against one simulator that misbehaves on every endpoint: twelve in
//! plain CI jobs, four as GitHub steps sharing one `$RUNNER_TEMP`. Every run must end with its
//! own complete report and signatures, every token revoked, and the simulator must hold exactly
//! what the reports claim: no record lost, none made twice, none credited to the wrong run.

use std::collections::BTreeMap;

use signing_sim::{Fault, FaultKind, SimHandle};

use crate::support::*;

const GATES: usize = 16;
const ON_GITHUB: usize = 4;

/// Every endpoint the gate calls in a password-grant run.
const ENDPOINTS: &[&str] = &[
    "authorize/oauth",
    "Codesign/GetEnvironment",
    "PreQualify/Create",
    "Codesign/AddPreApproval",
    "revoke/token",
    "avxapi/login",
    "code-signing-generate-hash",
    "code-signing-fetch-status-sync-requests",
];

/// The endpoints the gate may ask again after a reset: reads, and PreQualify/Create (doing it
/// twice allows nothing new). A reset elsewhere ends that run, by design, which is not what
/// this test is about.
const REPEATABLE: &[&str] =
    &["Codesign/GetEnvironment", "PreQualify/Create", "revoke/token", "code-signing-fetch-status-sync-requests"];

fn soak_sim() -> SimHandle {
    let sim = sim();
    // Faults fire in the order they were added; latency last, so it slows every request the
    // others let through.
    for (i, endpoint) in ENDPOINTS.iter().enumerate() {
        let busy = FaultKind::Status { code: 503, retry_after: Some("1".into()) };
        sim.add_fault(Fault::new(*endpoint, busy).times(3).after(u32::try_from(i % 3).unwrap_or(0)));
    }
    for endpoint in REPEATABLE {
        sim.add_fault(Fault::new(*endpoint, FaultKind::Reset).times(3).after(4));
    }
    sim.add_fault(Fault::new("*", FaultKind::Latency { ms: 25 }).times(0));
    sim
}

fn content(i: usize, file: &str) -> Vec<u8> {
    format!("gate {i}: {file}").into_bytes()
}

#[test]
fn sixteen_gates_at_once_each_keep_their_own_complete_results() {
    let sim = soak_sim();
    let shared_temp = tempfile::tempdir().expect("tempdir");
    let gates: Vec<Gate> = (0..GATES)
        .map(|i| {
            let mut g = Gate::empty();
            g.file("dist/app.exe", &content(i, "app.exe"));
            g.file("dist/lib/helper.dll", &content(i, "helper.dll"));
            g.input("artifacts", "dist/**/*");
            g.tpp(&sim).avx(&sim);
            g.input("comment", &format!("soak gate {i}"));
            g.input("timeout", "45s");
            g.input("poll-interval", "auto");
            if i < ON_GITHUB {
                g.env.insert("RUNNER_TEMP".into(), shared_temp.path().to_string_lossy().into_owned());
            } else {
                g.outside_github();
            }
            g
        })
        .collect();

    let started = std::time::Instant::now();
    let runs = run_together(&gates.iter().collect::<Vec<_>>());
    let elapsed = started.elapsed();

    let state = sim.state();
    let mut claimed_prequal = Vec::new();
    let mut claimed_preapproval = Vec::new();
    let mut claimed_sign = BTreeMap::new();
    let mut calls = 0;
    let mut report_paths = std::collections::BTreeSet::new();
    for (i, ran) in runs.iter().enumerate() {
        assert_eq!(ran.code, 0, "gate {i}: {}", ran.debug());
        let report = ran.report();
        assert_eq!(report["result"], "success", "gate {i}");
        assert!(report_paths.insert(ran.report_path.clone()), "two runs share {}", ran.report_path.display());
        if i < ON_GITHUB {
            assert!(ran.report_path.starts_with(shared_temp.path().join("codesign-gate")), "gate {i}");
        } else {
            assert!(ran.report_path.starts_with(gates[i].workspace().join("codesign-gate-runs")), "gate {i}");
        }
        assert_eq!(report["tpp_auth"]["revocations"], serde_json::json!(["revoked"]), "gate {i}");
        let comment = format!("soak gate {i}");
        let preapprovals = report["preapprovals"].as_array().expect("pre-approvals");
        assert_eq!(preapprovals.len(), 2, "gate {i}: one per signing");
        for pa in preapprovals {
            assert_eq!(pa["outcome"]["status"], "done", "gate {i}");
            let text = pa["comment"].as_str().expect("comment");
            assert!(text.starts_with(&format!("{comment}; signing ")), "gate {i}: {text}");
            claimed_preapproval.push(text.to_string());
        }
        let artifacts = report["artifacts"].as_array().expect("artifacts");
        assert_eq!(artifacts.len(), 2, "gate {i}");
        let mut signature_files = Vec::new();
        for a in artifacts {
            let name = a["name"].as_str().expect("name");
            let file = name.rsplit('/').next().unwrap_or(name);
            let digest = sha256_b64(&content(i, file));
            assert_eq!(a["digest"]["base64"], digest.as_str(), "gate {i} {name}");
            assert_eq!(a["prequalify"]["status"], "done", "gate {i} {name}");
            assert_eq!(a["preapproval"]["status"], "done", "gate {i} {name}");
            claimed_prequal.push((digest.clone(), comment.clone()));
            assert_eq!(a["sign"]["status"], "signed", "gate {i} {name}");
            let sign_id = a["sign"]["sign_id"].as_str().expect("sign id");
            claimed_sign.insert(sign_id.to_string(), digest);
            let path = a["sign"]["signature_path"].as_str().expect("signature path");
            let record = state.sign_requests.iter().find(|r| r.sign_id == sign_id).expect("sign request");
            let expected =
                sim.signature(&record.signing_key, &record.file_hash_content).expect("the simulator's signature");
            assert_eq!(std::fs::read_to_string(path).expect("signature file"), expected, "gate {i} {name}");
            signature_files.push(std::path::PathBuf::from(path));
        }
        let mut on_disk: Vec<_> = std::fs::read_dir(signature_files[0].parent().expect("signatures folder"))
            .expect("signatures folder")
            .flatten()
            .map(|e| e.path())
            .collect();
        on_disk.sort();
        signature_files.sort();
        assert_eq!(on_disk, signature_files, "gate {i}: its own signatures and nothing else");
        calls += report["calls"].as_array().map_or(0, Vec::len);
    }

    // The simulator holds exactly what the reports claim.
    let mut held_prequal: Vec<(String, String)> =
        state.prequalifications.iter().map(|p| (p.data.clone(), p.comment.clone())).collect();
    held_prequal.sort();
    claimed_prequal.sort();
    assert_eq!(held_prequal, claimed_prequal, "pre-qualifications");
    let mut held_preapproval: Vec<String> = state.preapprovals.iter().map(|p| p.comment.clone()).collect();
    held_preapproval.sort();
    claimed_preapproval.sort();
    assert_eq!(held_preapproval, claimed_preapproval, "pre-approvals");
    let held_sign: BTreeMap<String, String> = state
        .sign_requests
        .iter()
        .map(|r| {
            let info = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &r.file_hash_content)
                .expect("Base64 DigestInfo");
            (r.sign_id.clone(), b64(&info[info.len() - 32..]))
        })
        .collect();
    assert_eq!(held_sign, claimed_sign, "sign requests, each for the digest its report names");
    assert_eq!(state.tpp_tokens.len(), GATES, "one token per gate");
    assert!(state.tpp_tokens.iter().all(|t| t.revoked), "every token revoked: {:?}", state.tpp_tokens);
    // Every request the simulator saw is a call some report accounts for, faults included.
    assert_eq!(state.requests.len(), calls, "requests seen vs calls reported");
    let faulted = state.requests.iter().filter(|r| r.fault.as_deref().is_some_and(|f| f != "latency")).count();
    assert_eq!(faulted, ENDPOINTS.len() * 3 + REPEATABLE.len() * 3, "every armed fault fired");
    // Bounded: sixteen runs of twelve-odd calls each, plus a retry per fault and a few polls.
    assert!(calls <= GATES * 25, "{calls} requests for {GATES} gates");
    // Enforced approval: every signing used one pre-approval, and none was left over.
    assert!(state.sign_requests.iter().all(|r| r.approval == "pre-approved"), "{:?}", state.sign_requests);
    assert!(state.preapprovals.iter().all(|p| p.used_by.len() == 1), "{:?}", state.preapprovals);
    println!(
        "soak: {GATES} gates ({ON_GITHUB} sharing one RUNNER_TEMP), {faulted} faults, {} requests, {} signatures, {:.1} s",
        state.requests.len(),
        state.sign_requests.len(),
        elapsed.as_secs_f64()
    );
}
