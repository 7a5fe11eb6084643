//! Many runs on one machine: each keeps its own report and signatures, nothing is overwritten.

use std::path::Path;

use crate::support::*;

/// A gate signing the one file `dist/app<i>.exe`, whose content differs per gate.
fn gate_for(sim: &signing_sim::SimHandle, i: usize) -> Gate {
    let mut gate = Gate::empty();
    gate.file(&format!("dist/app{i}.exe"), format!("build {i}").as_bytes());
    gate.input("artifacts", &format!("dist/app{i}.exe"));
    gate.tpp(sim);
    gate.avx(sim);
    gate
}

/// The signature a report claims for each artifact, read from the file it names.
fn signature_of(ran: &Ran, artifact: &str) -> String {
    let entry = ran.report()["artifacts"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == artifact))
        .unwrap_or_else(|| panic!("no `{artifact}` in the report: {}", ran.report_raw));
    let path = entry["sign"]["signature_path"].as_str().unwrap_or_else(|| panic!("no signature path: {entry}"));
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What the simulator signed for the run's one sign request, checked to be `content`'s digest.
fn signature_for(sim: &signing_sim::SimHandle, ran: &Ran, content: &[u8]) -> String {
    let sign_id = ran.report()["artifacts"][0]["sign"]["sign_id"].as_str().expect("sign id").to_string();
    let state = sim.state();
    let request = state.sign_requests.iter().find(|r| r.sign_id == sign_id).expect("the simulator holds the request");
    let digest_info =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &request.file_hash_content).expect("Base64");
    let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(content));
    assert!(digest_info.ends_with(&digest), "sign request {sign_id} is for this run's file");
    sim.signature(&request.signing_key, &request.file_hash_content).expect("the simulator's signature")
}

#[test]
fn gates_sharing_a_workspace_outside_github_each_keep_their_own_results() {
    let sim = sim();
    // One workspace, as two executors of one agent or a shell runner share one: each gate signs
    // its own file there.
    let mut first = gate_for(&sim, 0);
    first.outside_github();
    let ws = first.workspace();
    let gates: Vec<Gate> = (0..6)
        .map(|i| {
            let mut g = gate_for(&sim, i);
            g.outside_github();
            std::fs::write(ws.join(format!("dist/app{i}.exe")), format!("build {i}")).expect("artifact");
            g
        })
        .collect();
    let children: Vec<_> = gates
        .iter()
        .map(|g| {
            let mut cmd = g.command();
            cmd.current_dir(&ws).env("INPUT_WORKING-DIRECTORY", &ws);
            cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            cmd.spawn().expect("the binary runs")
        })
        .collect();
    let runs_folder = ws.join("codesign-gate-runs");
    let mut reports = std::collections::BTreeSet::new();
    for (i, (child, gate)) in children.into_iter().zip(&gates).enumerate() {
        let ran = gate.collect(&child.wait_with_output().expect("output"));
        assert_eq!(ran.code, 0, "{}", ran.debug());
        assert!(ran.report_path.starts_with(&runs_folder), "{}", ran.report_path.display());
        let folder = ran.report_path.parent().expect("run folder").to_string_lossy().into_owned();
        let first_line = ran.stdout.lines().next().unwrap_or_default();
        assert_eq!(first_line, format!("report and signatures: {folder}"), "printed at the start");
        assert!(reports.insert(ran.report_path.clone()), "two runs wrote {}", ran.report_path.display());
        let name = format!("dist/app{i}.exe");
        assert_eq!(ran.report()["artifacts"].as_array().map(Vec::len), Some(1), "{}", ran.report_raw);
        assert_eq!(signature_of(&ran, &name), signature_for(&sim, &ran, format!("build {i}").as_bytes()));
    }
    let listed = std::fs::read_dir(&runs_folder).expect("runs folder").count();
    assert_eq!(listed, 6, "one folder per run");
}

#[test]
fn two_gate_steps_in_one_job_keep_both_results() {
    let sim = sim();
    let mut gate = gate_for(&sim, 1);
    let inner = gate.run();
    assert_eq!(inner.code, 0, "{}", inner.debug());
    // The same job signs its installer next, with the same RUNNER_TEMP.
    gate.file("dist/setup.exe", b"the installer");
    gate.input("artifacts", "dist/setup.exe");
    let installer = gate.run();
    assert_eq!(installer.code, 0, "{}", installer.debug());

    let temp = gate.runs_folder();
    assert_ne!(inner.report_path, installer.report_path);
    for ran in [&inner, &installer] {
        assert!(ran.report_path.starts_with(&temp), "{} under $RUNNER_TEMP", ran.report_path.display());
        assert_eq!(Path::new(ran.output("report-path")), ran.report_path);
    }
    assert_eq!(inner.report()["artifacts"][0]["name"], "dist/app1.exe");
    assert_eq!(installer.report()["artifacts"][0]["name"], "dist/setup.exe");
    assert_eq!(signature_of(&inner, "dist/app1.exe"), signature_for(&sim, &inner, b"build 1"));
    assert_eq!(signature_of(&installer, "dist/setup.exe"), signature_for(&sim, &installer, b"the installer"));
    let mut runs: Vec<_> = std::fs::read_dir(&temp).expect("runs").flatten().map(|e| e.path()).collect();
    runs.sort();
    assert_eq!(runs, [inner.report_path.parent().unwrap(), installer.report_path.parent().unwrap()], "sorted by time");
}

#[test]
fn an_existing_report_is_an_input_error_and_nothing_is_sent() {
    let sim = sim();
    let mut gate = gate_for(&sim, 2);
    let report = gate.workspace().join("out/report.json");
    gate.input("report-path", "out/report.json");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "an explicit report-path works: {}", ran.debug());
    assert_eq!(Path::new(ran.output("report-path")), report);
    assert!(report.parent().unwrap().join("report-signatures/dist%2Fapp2.exe.signed").is_file());
    let before = std::fs::read(&report).expect("report");
    let requests = sim.state().requests.len();

    let again = gate.run();
    assert_eq!(again.code, 2, "{}", again.debug());
    let line = again.stderr.lines().find(|l| l.contains("report-path")).unwrap_or_else(|| panic!("{}", again.debug()));
    assert!(line.contains(&report.display().to_string()), "names the path: {line}");
    assert_eq!(std::fs::read(&report).expect("report"), before, "left as it was");
    assert_eq!(sim.state().requests.len(), requests, "nothing sent");
}

#[test]
fn a_run_stopped_by_an_input_error_leaves_no_folder() {
    let sim = sim();
    let mut gate = gate_for(&sim, 3);
    gate.outside_github();
    gate.input("artifacts", "nothing/*.exe");
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    let left = std::fs::read_dir(gate.runs_folder()).map_or(0, Iterator::count);
    assert_eq!(left, 0, "no empty run folder is left behind");
    assert!(sim.state().requests.is_empty());
}

#[test]
fn an_earlier_runs_files_are_never_signed_by_a_later_run() {
    let sim = sim();
    let mut gate = gate_for(&sim, 4);
    gate.outside_github();
    gate.input("artifacts", "**/*");
    let first = gate.run();
    assert_eq!(first.code, 0, "{}", first.debug());
    assert!(first.report_path.starts_with(gate.workspace().join("codesign-gate-runs")));
    let second = gate.run();
    assert_eq!(second.code, 0, "{}", second.debug());
    let names: Vec<&str> =
        second.report()["artifacts"].as_array().expect("artifacts").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["dist/app4.exe"], "the first run's report and signatures are not artifacts");
}

#[test]
fn reports_given_in_one_folder_keep_their_own_signatures_and_one_path_is_one_run() {
    let sim = sim();
    let out = tempfile::tempdir().expect("tempdir");
    let mut a = gate_for(&sim, 5);
    a.input("report-path", &out.path().join("a.json").to_string_lossy());
    let mut b = gate_for(&sim, 6);
    b.input("report-path", &out.path().join("b.json").to_string_lossy());
    let runs = run_together(&[&a, &b]);
    for (ran, (name, content)) in runs.iter().zip([("a", "build 5"), ("b", "build 6")]) {
        assert_eq!(ran.code, 0, "{}", ran.debug());
        let artifact = ran.report()["artifacts"][0]["name"].as_str().expect("name").to_string();
        let signature = signature_of(ran, &artifact);
        assert_eq!(signature, signature_for(&sim, ran, content.as_bytes()));
        let path = ran.report()["artifacts"][0]["sign"]["signature_path"].as_str().expect("path").to_string();
        assert!(Path::new(&path).starts_with(out.path().join(format!("{name}-signatures"))), "{path}");
    }

    // The same report-path twice at once: one run signs, the other stops before sending anything.
    let sim = signing_sim::SimHandle::spawn(signing_sim::SimConfig::default()).expect("simulator");
    let same = out.path().join("same.json").to_string_lossy().into_owned();
    let mut c = gate_for(&sim, 7);
    c.input("report-path", &same);
    let mut d = gate_for(&sim, 8);
    d.input("report-path", &same);
    let runs = run_together(&[&c, &d]);
    let mut codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    codes.sort_unstable();
    assert_eq!(codes, [0, 2], "{}\n{}", runs[0].debug(), runs[1].debug());
    let refused = runs.iter().find(|r| r.code == 2).expect("one refused");
    assert!(refused.stderr.contains("same"), "names the path: {}", refused.stderr);
    assert_eq!(sim.state().tpp_tokens.len(), 1, "only one run talked to TPP");
}

#[test]
fn a_signature_that_cannot_be_written_fails_its_artifact_and_the_others_are_kept() {
    let sim = sim();
    let mut gate = Gate::empty();
    // A valid file name whose signature name (`dist%2F…​.signed`) is over the 255-byte limit.
    let long = format!("dist/{}.exe", "a".repeat(246));
    gate.file(&long, b"long name");
    gate.file("dist/b.exe", b"short name");
    gate.input("artifacts", "dist/*.exe");
    gate.tpp(&sim).avx(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert_eq!(ran.output("result"), "failure");
    assert_eq!(ran.output("signed"), "1", "{}", ran.outputs_raw);
    assert_eq!(ran.output("failed"), "1", "{}", ran.outputs_raw);
    let artifacts = ran.report()["artifacts"].as_array().expect("artifacts").clone();
    let failed = artifacts.iter().find(|a| a["name"] == long.as_str()).expect("the long name");
    assert_eq!(failed["sign"]["status"], "failed", "{failed}");
    let message = failed["sign"]["message"].as_str().expect("why");
    assert!(message.contains("AppViewX signed it") && message.contains("cannot be written"), "{message}");
    assert!(ran.stdout.contains("cannot be written"), "annotated: {}", ran.stdout);
    let kept = artifacts.iter().find(|a| a["name"] == "dist/b.exe").expect("b.exe");
    assert_eq!(kept["sign"]["status"], "signed");
    assert!(!signature_of(&ran, "dist/b.exe").is_empty());
}

#[test]
fn names_that_differ_only_in_case_get_two_signature_files() {
    let sim = sim();
    let mut gate = Gate::empty();
    let (upper, lower) = (sha256_hex(b"upper"), sha256_hex(b"lower"));
    gate.file("SHA256SUMS", format!("{upper}  dist/App.exe\n{lower}  dist/app.exe\n").as_bytes());
    gate.input("artifacts", "SHA256SUMS").input("digest-files", "list");
    gate.tpp(&sim).avx(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let mut names: Vec<String> =
        ran.signatures.iter().filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    names.sort();
    // One folder on Windows and macOS holds both, as they compare names without case.
    assert_eq!(names, ["dist%2FApp.exe.signed", "dist%2Fapp.exe~2.signed"]);
    assert!(!signature_of(&ran, "dist/App.exe").is_empty() && !signature_of(&ran, "dist/app.exe").is_empty());
}
