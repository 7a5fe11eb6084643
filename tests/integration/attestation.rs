//! The signing record others can check: the in-toto Statement (`attestation-path`), its predicate
//! alone (`predicate-path`) and the subjects' checksum list (`subject-checksums`), judged by
//! `schemas/signing-predicate.v1.json`, by digests the test computes itself, and by the real
//! `sha256sum -c` / `sha512sum -c`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::Digest as _;
use signing_sim::{Fault, FaultKind};

use crate::support::*;

const SCHEMA: &str = include_str!("../../schemas/signing-predicate.v1.json");
const SCHEMA_ID: &str = "https://github.com/acme/codesign-gate/schemas/signing-predicate.v1.json";
const PREDICATE_TYPE: &str = "https://github.com/acme/codesign-gate/signing/v1";
const ARTIFACTS: [(&str, &[u8]); 2] =
    [("dist/app.exe", b"the application"), ("dist/lib/helper.dll", b"a helper library")];

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("schemas/signing-predicate.v1.json is JSON")
}

/// Every way `instance` breaks the schema's definition at `pointer` (`""` for the root, the
/// predicate; `/$defs/statement` for the whole Statement), one line each.
fn schema_errors(pointer: &str, instance: &Value) -> Vec<String> {
    let registry = jsonschema::Registry::new()
        .add(SCHEMA_ID, schema())
        .and_then(jsonschema::RegistryBuilder::prepare)
        .expect("the schema registers");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&json!({"$ref": format!("{SCHEMA_ID}#{pointer}")}))
        .unwrap_or_else(|e| panic!("schemas/signing-predicate.v1.json does not compile: {e}"));
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = std::fmt::Write::write_fmt(&mut hex, format_args!("{b:02x}"));
        hex
    })
}

/// Runs `tool -c <list>` where the artifacts are, as a user would.
fn check(tool: &str, list: &Path, dir: &Path) -> std::process::Output {
    Command::new(tool).arg("-c").arg(list).current_dir(dir).output().unwrap_or_else(|e| panic!("{tool} runs: {e}"))
}

/// A full run whose signatures are verified with the simulator's certificate for `sample-key`.
fn verified_gate(sim: &signing_sim::SimHandle) -> Gate {
    let mut gate = Gate::full(sim);
    let chain = sim.certificate_chain_pem("sample-key").expect("the simulator's chain");
    gate.file("certs/signing.pem", chain.as_bytes());
    gate.input("signing-certificate", "certs/signing.pem");
    gate
}

#[test]
fn a_signed_run_writes_a_statement_its_predicate_and_checksums_beside_the_report() {
    let sim = sim();
    let mut gate = verified_gate(&sim);
    let workflow_ref = "acme/rocket/.github/workflows/release.yml@refs/tags/v1.0.0";
    gate.env.insert("GITHUB_WORKFLOW_REF".into(), workflow_ref.into());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let statement_path = PathBuf::from(ran.output("attestation-path"));
    let predicate_path = PathBuf::from(ran.output("predicate-path"));
    let checksums = PathBuf::from(ran.output("subject-checksums"));
    let beside = |name: &str| ran.report_path.with_file_name(name);
    assert_eq!(statement_path, beside("codesign-gate-report.intoto.json"));
    assert_eq!(predicate_path, beside("codesign-gate-report.predicate.json"));
    assert_eq!(checksums, beside("codesign-gate-report.sha256"));

    // The in-toto shape, and the schema's.
    let statement = read_json(&statement_path);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], PREDICATE_TYPE);
    assert_eq!(schema_errors("/$defs/statement", &statement), Vec::<String>::new());
    assert_eq!(schema_errors("", &statement["predicate"]), Vec::<String>::new());
    assert_eq!(read_json(&predicate_path), statement["predicate"], "the predicate file is the predicate alone");

    // Each subject's digest is the file's, as this test hashes it.
    let expected: Vec<Value> = ARTIFACTS
        .iter()
        .map(|(name, bytes)| {
            let on_disk = std::fs::read(gate.workspace().join(name)).expect("the artifact");
            assert_eq!(on_disk, *bytes);
            json!({"name": name, "digest": {"sha256": hex(&sha2::Sha256::digest(&on_disk))}})
        })
        .collect();
    assert_eq!(statement["subject"], Value::Array(expected.clone()));

    let predicate = &statement["predicate"];
    assert_eq!(predicate["gate"]["name"], "codesign-gate");
    assert_eq!(predicate["run"]["repository"], "acme/rocket");
    assert_eq!(predicate["run"]["workflow_ref"], workflow_ref);
    assert_eq!(predicate["run"]["sha"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!((&predicate["run"]["run_id"], &predicate["run"]["run_attempt"]), (&json!("4242"), &json!("2")));
    assert_eq!(predicate["tpp"]["environment_dn"], DN);
    assert_eq!(predicate["tpp"]["url"], ran.report()["tpp_url"]);
    assert_eq!(predicate["tpp"]["preapproval_mode"], "per-signing");
    let report_artifacts = ran.report()["artifacts"].as_array().expect("artifacts");
    for (i, entry) in predicate["artifacts"].as_array().expect("artifacts").iter().enumerate() {
        assert_eq!((&entry["name"], &entry["digest"]), (&expected[i]["name"], &expected[i]["digest"]));
        assert_eq!(entry["prequalification"]["status"], "done");
        let pa = &entry["preapproval"];
        assert_eq!((&pa["address"], &pa["single_use"], &pa["hours"]), (&json!("127.0.0.1"), &json!(true), &json!(1)));
        assert_eq!(pa["outcome"], "done");
        let sign = &report_artifacts[i]["sign"];
        assert_eq!(entry["appviewx"], json!({"sign_id": sign["sign_id"], "status": "signed"}));
        // The signature's digest is of the file handed out, as this test reads it.
        let signature = PathBuf::from(sign["signature_path"].as_str().expect("a signature file"));
        let bytes = std::fs::read(&signature).expect("the signature file");
        assert_eq!(entry["signature"]["sha256"], hex(&sha2::Sha256::digest(&bytes)));
        assert_eq!(entry["signature"]["file"], signature.file_name().and_then(|n| n.to_str()).expect("a name"));
        assert_eq!(entry["signature"]["format"], "raw");
        let verification = &entry["signature"]["verification"];
        assert_eq!(verification["status"], "verified", "{verification}");
        assert_eq!(verification["certificate_sha256"], sign["verification"]["certificate_sha256"]);
        assert_eq!(entry["signature"]["timestamp"], Value::Null);
    }

    // The list, line by line, and the real sha256sum's verdict where the artifacts are.
    let list = std::fs::read_to_string(&checksums).expect("the checksum list");
    let lines: Vec<String> = expected
        .iter()
        .map(|s| format!("{}  {}", s["digest"]["sha256"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    let eol = if cfg!(windows) { "\r\n" } else { "\n" };
    assert_eq!(list, format!("{}{eol}", lines.join(eol)));
    let ok = check("sha256sum", &checksums, &gate.workspace());
    assert!(ok.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&ok.stdout));
    let mut changed = std::fs::read(gate.workspace().join("dist/app.exe")).expect("artifact");
    changed[0] ^= 1;
    std::fs::write(gate.workspace().join("dist/app.exe"), changed).expect("change a byte");
    let bad = check("sha256sum", &checksums, &gate.workspace());
    assert!(!bad.status.success(), "a changed artifact fails sha256sum -c");
    assert!(String::from_utf8_lossy(&bad.stdout).contains("dist/app.exe: FAILED"), "{bad:?}");

    let secrets = [TPP_PASSWORD, AVX_PASSWORD];
    ran.assert_no_secret(&secrets);
    for path in [&statement_path, &predicate_path, &checksums] {
        let text = std::fs::read_to_string(path).expect("written");
        assert!(secrets.iter().all(|s| !text.contains(s)), "a secret in {}", path.display());
    }
}

#[test]
fn the_checksum_file_follows_the_hash_algorithm_and_a_given_report_path() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let report = gate.workspace().join("out/release.json");
    gate.input("hash-algorithm", "sha512").input("report-path", &report.to_string_lossy());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(PathBuf::from(ran.output("attestation-path")), gate.workspace().join("out/release.intoto.json"));
    assert_eq!(PathBuf::from(ran.output("predicate-path")), gate.workspace().join("out/release.predicate.json"));
    let checksums = PathBuf::from(ran.output("subject-checksums"));
    assert_eq!(checksums, gate.workspace().join("out/release.sha512"));
    let statement = read_json(&gate.workspace().join("out/release.intoto.json"));
    assert_eq!(schema_errors("/$defs/statement", &statement), Vec::<String>::new());
    let (name, bytes) = ARTIFACTS[0];
    assert_eq!(statement["subject"][0], json!({"name": name, "digest": {"sha512": hex(&sha2::Sha512::digest(bytes))}}));
    assert_eq!(statement["predicate"]["artifacts"][0]["signature"]["verification"]["status"], "verified");
    let ok = check("sha512sum", &checksums, &gate.workspace());
    assert!(ok.status.success(), "sha512sum -c: {ok:?}");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn only_what_was_signed_is_a_subject() {
    let sim = sim();
    sim.add_fault(Fault::new("code-signing-generate-hash", FaultKind::Status { code: 400, retry_after: None }));
    // Bound, so that its workspace outlives the run.
    let gate = Gate::full(&sim);
    let ran = gate.run();
    assert_ne!(ran.code, 0, "one signing was refused: {}", ran.debug());
    let signed: Vec<&Value> = ran.report()["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter(|a| a["sign"]["status"] == "signed")
        .map(|a| &a["name"])
        .collect();
    assert_eq!(signed.len(), 1, "{}", ran.report_raw);
    let statement = read_json(Path::new(ran.output("attestation-path")));
    assert_eq!(schema_errors("/$defs/statement", &statement), Vec::<String>::new());
    let subjects: Vec<&Value> = statement["subject"].as_array().expect("subjects").iter().map(|s| &s["name"]).collect();
    assert_eq!(subjects, signed);
    let list = std::fs::read_to_string(ran.output("subject-checksums")).expect("the checksum list");
    assert_eq!(list.lines().count(), 1, "{list}");
}

#[test]
fn a_plan_or_a_run_that_signed_nothing_writes_no_record() {
    let sim = sim();
    let mut plan = Gate::full(&sim);
    plan.input("dry-run", "true");
    let mut refused = Gate::full(&sim);
    refused.input("hash-algorithm", "sha384");
    sim.add_fault(
        Fault::new("code-signing-generate-hash", FaultKind::Status { code: 400, retry_after: None }).times(0),
    );
    for (what, gate) in [("a plan", &plan), ("a run whose signings were all refused", &refused)] {
        let ran = gate.run();
        for output in ["attestation-path", "predicate-path", "subject-checksums"] {
            assert_eq!(ran.output(output), "", "{what}: {output}");
        }
        let folder = ran.report_path.parent().expect("the report's folder");
        let written: Vec<String> = std::fs::read_dir(folder)
            .expect("the report's folder")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(written, ["codesign-gate-report.json"], "{what}: {}", ran.debug());
        ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
    }
}

#[test]
fn a_list_hashed_elsewhere_comes_back_as_sha256sum_wrote_it_escapes_and_all() {
    let sim = sim();
    let mut gate = Gate::empty();
    // A backslash in a name makes sha256sum escape its line; the gate's list must read back too.
    gate.file("dist/app 1.0.tar.gz", b"a tarball");
    gate.file(r"dist/back\slash.deb", b"a package");
    let made = Command::new("sh")
        .args(["-c", r"sha256sum 'dist/app 1.0.tar.gz' 'dist/back\slash.deb' > SHA256SUMS"])
        .current_dir(gate.workspace())
        .status()
        .expect("sha256sum runs");
    assert!(made.success());
    gate.input("artifacts", "SHA256SUMS").input("digest-files", "list").tpp(&sim).avx(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let statement = read_json(Path::new(ran.output("attestation-path")));
    assert_eq!(schema_errors("/$defs/statement", &statement), Vec::<String>::new());
    let names: Vec<&str> =
        statement["subject"].as_array().expect("subjects").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["dist/app 1.0.tar.gz", r"dist/back\slash.deb"]);
    assert_eq!(statement["subject"][1]["digest"]["sha256"], hex(&sha2::Sha256::digest(b"a package")));
    let ours = std::fs::read_to_string(ran.output("subject-checksums")).expect("the checksum list");
    let theirs = std::fs::read_to_string(gate.workspace().join("SHA256SUMS")).expect("the list");
    assert_eq!(ours, theirs, "the lines sha256sum itself wrote");
    let ok = check("sha256sum", Path::new(ran.output("subject-checksums")), &gate.workspace());
    assert!(ok.status.success(), "sha256sum -c: {ok:?}");
}

#[test]
fn signtool_digests_name_no_file_so_no_record_is_written() {
    let sim = sim();
    let mut gate = Gate::empty();
    gate.file("out/app.exe.dig", b64(&[7u8; 32]).as_bytes());
    gate.input("artifacts", "out/*.dig").input("digest-files", "true").tpp(&sim).avx(&sim);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "1");
    for output in ["attestation-path", "predicate-path", "subject-checksums"] {
        assert_eq!(ran.output(output), "", "{output}: an Authenticode digest is no file's digest");
    }
}

/// Every object schema with properties is closed and every property described, as the report's
/// schema is; and the schema is a valid draft 2020-12 schema.
#[test]
fn the_schema_is_valid_closed_and_described() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["$id"], SCHEMA_ID);
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("schemas/signing-predicate.v1.json breaks the 2020-12 meta-schema at {}: {e}", e.instance_path());
    }
    let mut faults = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![("(root)".into(), &schema)];
    stack.extend(schema["$defs"].as_object().expect("$defs").iter().map(|(k, v)| (k.clone(), v)));
    while let Some((at, node)) = stack.pop() {
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            if node.get("additionalProperties") != Some(&Value::Bool(false)) {
                faults.push(format!("{at}: not closed"));
            }
            for (key, sub) in props {
                if sub.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
                    faults.push(format!("{at}.{key}: no description"));
                }
                stack.push((format!("{at}.{key}"), sub));
            }
        }
        if let Some(items) = node.get("items") {
            stack.push((format!("{at}[]"), items));
        }
    }
    assert!(faults.is_empty(), "{faults:#?}");
    assert_eq!(schema["$defs"]["statement"]["properties"]["predicateType"]["const"], PREDICATE_TYPE);
    // What the gate never writes is refused.
    let statement = json!({"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": PREDICATE_TYPE, "predicate": {}});
    let errors = schema_errors("/$defs/statement", &statement);
    assert!(errors.iter().any(|e| e.starts_with("/subject")), "no subject is refused: {errors:#?}");
    assert!(errors.iter().any(|e| e.starts_with("/predicate")), "an empty predicate is refused: {errors:#?}");
    let digest = json!({"sha256": "ab".repeat(32), "md5": "00"});
    assert!(!schema_errors("/$defs/digest", &digest).is_empty(), "one digest, of a SHA-2 algorithm");
}
