use crate::support::*;

#[test]
fn full_run_prequalifies_preapproves_signs_and_revokes() {
    let sim = sim();
    let gate = Gate::full(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());

    // Outputs, parsed back as the runner does.
    assert_eq!(ran.output("result"), "success");
    assert_eq!(ran.output("count"), "2");
    assert_eq!(ran.output("prequalified"), "2");
    assert_eq!(ran.output("signed"), "2");
    assert_eq!(ran.output("failed"), "0");
    assert_eq!(ran.output("runner-ip"), "127.0.0.1");
    let artifacts: serde_json::Value = serde_json::from_str(ran.output("artifacts")).expect("artifacts output is JSON");
    let names: Vec<&str> =
        artifacts.as_array().expect("array").iter().map(|a| a["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["dist/app.exe", "dist/lib/helper.dll"], "sorted, .pdb excluded");
    assert!(ran.output("report-path").ends_with("codesign-gate-report.json"));

    // What the server holds: one pre-qualification per digest, with TPP's field values.
    let state = sim.state();
    let mut data: Vec<&str> = state.prequalifications.iter().map(|p| p.data.as_str()).collect();
    data.sort_unstable();
    let mut expected = vec![sha256_b64(b"the application"), sha256_b64(b"a helper library")];
    expected.sort();
    assert_eq!(data, expected);
    for p in &state.prequalifications {
        assert_eq!(p.dn, DN);
        assert_eq!(p.user, "local:sample-cs-user");
        assert_eq!(p.hours, Some(1));
        assert_eq!(p.single_use, Some(true));
        assert!(p.comment.contains("acme/rocket@0123456789ab"), "comment traces the run: {}", p.comment);
        assert!(p.comment.contains("https://github.com/acme/rocket/actions/runs/4242"), "{}", p.comment);
    }
    // One single-use pre-approval per signing, each naming its artifact, each used by it.
    assert_eq!(state.preapprovals.len(), 2);
    let mut comments: Vec<&str> = state.preapprovals.iter().map(|p| p.comment.as_str()).collect();
    comments.sort_unstable();
    assert!(comments[0].ends_with("; signing 1/2: dist/app.exe"), "{comments:?}");
    assert!(comments[1].ends_with("; signing 2/2: dist/lib/helper.dll"), "{comments:?}");
    for pa in &state.preapprovals {
        assert_eq!(
            (pa.dn.as_str(), pa.user.as_str(), pa.ip_address.as_deref()),
            (DN, "local:sample-cs-user", Some("127.0.0.1"))
        );
        assert_eq!(
            (pa.hours, pa.single_use, pa.not_before.as_deref(), pa.signing_executable.as_deref()),
            (Some(1), Some(true), None, None)
        );
        assert_eq!(pa.used_by.len(), 1, "used by exactly one signing: {pa:?}");
    }
    for r in &state.sign_requests {
        assert_eq!(r.approval, "pre-approved", "{r:?}");
    }

    // The token the gate obtained was revoked.
    assert_eq!(state.tpp_tokens.len(), 1);
    assert!(state.tpp_tokens[0].revoked, "token revoked: {:?}", state.tpp_tokens);

    // AppViewX got each artifact's DigestInfo.
    assert_eq!(state.sign_requests.len(), 2);
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    let mut app = prefix.to_vec();
    app.extend_from_slice(&sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(b"the application")));
    assert!(state.sign_requests.iter().any(|r| r.file_hash_content == b64(&app)), "DigestInfo of app.exe submitted");
    for r in &state.sign_requests {
        assert_eq!(
            (r.signing_policy.as_str(), r.signing_key.as_str(), r.signed_type.as_str()),
            ("sample-policy", "sample-key", "Hash Based Signing")
        );
    }

    // The summary table and the signature files.
    assert!(
        ran.summary.contains("| Artifact | Size | SHA-256 | Pre-qualified | Pre-approved | Sign id | Status | Time |"),
        "{}",
        ran.summary
    );
    assert!(ran.summary.contains("| `dist/app.exe` | 15 B |"), "{}", ran.summary);
    assert_eq!(ran.summary.matches("| signed |").count(), 2, "{}", ran.summary);
    assert_eq!(ran.signatures.len(), 2, "one signature file per artifact");
    let names: Vec<String> =
        ran.signatures.iter().map(|(p, _)| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["dist%2Fapp.exe.signed", "dist%2Flib%2Fhelper.dll.signed"]);
    for (path, content) in &ran.signatures {
        assert!(!content.is_empty(), "{} is empty", path.display());
    }
    let sig_path = artifacts[0]["signature-path"].as_str().expect("signature path output");
    assert!(std::path::Path::new(sig_path).exists());

    // The audit record.
    let report = ran.report();
    assert_eq!(report["result"], "success");
    assert_eq!(report["github"]["run_id"], "4242");
    assert_eq!(report["artifacts"][0]["digest"]["base64"], sha256_b64(b"the application"));
    assert_eq!(report["preapproval_mode"], "per-signing");
    for (i, name) in ["dist/app.exe", "dist/lib/helper.dll"].into_iter().enumerate() {
        let index = report["artifacts"][i]["preapproval_index"].as_u64().expect("a pre-approval serves it");
        let pa = &report["preapprovals"][usize::try_from(index).expect("index")];
        assert_eq!(pa["serves"], serde_json::json!([name]));
        assert_eq!((pa["ip_address"].as_str(), pa["single_use"].as_bool()), (Some("127.0.0.1"), Some(true)));
        assert_eq!(pa["outcome"]["status"], "done");
        assert!(pa["requested_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{pa}");
        assert!(pa["comment"].as_str().is_some_and(|c| c.ends_with(name)), "{pa}");
    }
    assert_eq!(ran.output("preapproved"), "2");
    assert_eq!(report["tpp_auth"]["revocations"], serde_json::json!(["revoked"]));
    let endpoints: Vec<&str> =
        report["calls"].as_array().expect("calls").iter().map(|c| c["endpoint"].as_str().expect("endpoint")).collect();
    for e in [
        "authorize/oauth",
        "Flow/Actions/CodeSign/PreQualify/Create",
        "Codesign/AddPreApproval",
        "revoke/token",
        "login",
        "code-signing-generate-hash",
        "code-signing-fetch-status-sync-requests",
    ] {
        assert!(endpoints.contains(&e), "call {e} recorded: {endpoints:?}");
    }

    // Secrets: masked, and nowhere else.
    assert!(
        ran.masks().contains(&TPP_PASSWORD) && ran.masks().contains(&AVX_PASSWORD),
        "inputs masked: {:?}",
        ran.masks()
    );
    assert!(ran.masks().len() >= 4, "token and session id masked too: {:?}", ran.masks());
    let mut secrets: Vec<String> = ran.masks().iter().map(std::string::ToString::to_string).collect();
    secrets.push(TPP_PASSWORD.into());
    secrets.push(AVX_PASSWORD.into());
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    ran.assert_no_secret(&refs);
}

#[test]
fn existing_sign_ids_are_awaited() {
    let sim = sim();
    let first = Gate::full(&sim).run();
    assert_eq!(first.code, 0, "{}", first.debug());
    let ids: Vec<String> = sim.state().sign_requests.iter().map(|r| r.sign_id.clone()).collect();

    let mut gate = Gate::empty();
    gate.avx(&sim).unset("appviewx-signing-policy").unset("appviewx-signing-key").input("sign-ids", &ids.join("\n"));
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "2");
    assert_eq!(ran.output("count"), "0");
    assert_eq!(sim.state().sign_requests.len(), 2, "nothing new submitted");
    assert_eq!(ran.signatures.len(), 2);
}

#[test]
fn precomputed_digests_are_prequalified_as_given() {
    let sim = sim();
    let mut gate = Gate::empty();
    let digest = [7u8; 32];
    gate.file("out/app.exe.dig", format!("{}\r\n", b64(&digest)).as_bytes());
    gate.input("artifacts", "out/*.dig").input("digest-files", "true").tpp(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let state = sim.state();
    assert_eq!(state.prequalifications.len(), 1);
    assert_eq!(state.prequalifications[0].data, b64(&digest));
}

#[test]
fn sha384_digests_and_digest_info() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("hash-algorithm", "sha384");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let state = sim.state();
    for p in &state.prequalifications {
        assert_eq!(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &p.data).expect("base64").len(),
            48
        );
    }
    for r in &state.sign_requests {
        let der =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &r.file_hash_content).expect("base64");
        assert_eq!(&der[..2], &[0x30, 0x41]);
        assert_eq!(der.len(), 19 + 48);
    }
    assert!(ran.summary.contains("SHA-384"));
}

#[test]
fn outside_github_prints_a_table_and_no_workflow_commands() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.env.remove("GITHUB_ACTIONS");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(!ran.stdout.contains("::"), "no workflow commands: {}", ran.stdout);
    assert!(ran.stdout.contains("ARTIFACT") && ran.stdout.contains("PASSED: 2 artifact(s)"), "{}", ran.stdout);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn cli_flags_override_env() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("key-user", "local:nobody");
    gate.args.extend([
        "--key-user".to_string(),
        "local:sample-cs-user".to_string(),
        "--hours".to_string(),
        "3".to_string(),
    ]);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(sim.state().prequalifications.iter().all(|p| p.user == "local:sample-cs-user" && p.hours == Some(3)));
}

#[test]
fn auto_polling_asks_soon_then_less_often() {
    // Signed 1.8 s after submission: asked at 0, 1 s (pending) and 2.1 s (signed), with room for
    // a slow login and submission before the first ask.
    let sim = sim_with(|c| c.appviewx.sign_delay_ms = 1800);
    let mut gate = Gate::full(&sim);
    gate.input("poll-interval", "auto");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let polls =
        sim.state().requests.iter().filter(|r| r.path.ends_with("code-signing-fetch-status-sync-requests")).count();
    assert_eq!(polls, 2 * 3, "{}", ran.debug());
}
