//! Signature verification end to end (`signing-certificate`, `signature-format`, `timestamp-url`):
//! the gate against the simulator's real signatures, with the OpenSSL CLI as the independent
//! judge of every signature, certificate, CMS file and timestamp the gate accepts or refuses.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use signing_sim::{Fault, FaultKind, SimHandle};

use crate::support::*;
use crate::tsa::{openssl, openssl_ok, Behaviour, Tsa};

/// The submission call, where the simulator's signature faults are armed.
const SIGN: &str = "code-signing-generate-hash";

/// The two artifacts `Gate::full` signs.
const ARTIFACTS: [&str; 2] = ["dist/app.exe", "dist/lib/helper.dll"];

/// Where the tests put the signing certificate in the workspace.
const CERTIFICATE: &str = "certs/signing.pem";

/// Microsoft's signtool documentation, sign command options, `/di`
/// (<https://learn.microsoft.com/en-us/windows/win32/seccrypto/signtool>): the name signtool reads
/// a signed digest from, which the gate's copy beside a digest file must have.
const SIGNTOOL_DI: &str = r"/di <Path>: Creates the signature by ingesting the signed digest to the unsigned file. The input signed digest file path is: <Path>\<file>.dig.signed.";

/// The judge's OpenSSL config: certificate extensions, and `openssl ca` for back-dated certificates.
const JUDGE_CONFIG: &str = include_str!("../openssl.cnf");

/// A temporary directory where OpenSSL judges; files are named relative to it.
struct Judge(tempfile::TempDir);

impl Judge {
    fn new() -> Judge {
        let judge = Judge(tempfile::tempdir().expect("judge dir"));
        judge.write("openssl.cnf", JUDGE_CONFIG.as_bytes());
        judge.write("index.txt", b"");
        judge.write("serial", b"01\n");
        judge
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    fn run(&self, args: &[&str]) -> Output {
        openssl(self.0.path(), args)
    }

    fn ok(&self, args: &[&str]) -> Output {
        openssl_ok(self.0.path(), args)
    }

    /// `openssl dgst -<hash> -verify pub.pem -signature <signature> <file>`.
    fn dgst_verifies(&self, hash: &str, signature: &str, file: &Path) -> bool {
        let flag = format!("-{hash}");
        self.run(&["dgst", &flag, "-verify", "pub.pem", "-signature", signature, &text(file)]).status.success()
    }

    /// `openssl cms -verify` of a detached signature over `content`, chained to `ca.pem`; `-purpose
    /// any` since OpenSSL's default (S/MIME signing) is no code signing certificate's purpose.
    fn cms_verifies(&self, p7s: &Path, content: &Path) -> bool {
        let (p7s, content) = (text(p7s), text(content));
        let args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", &p7s, "-content", &content];
        let rest = ["-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"];
        self.run(&[&args[..], &rest[..]].concat()).status.success()
    }

    /// `chain.pem` written; its leaf's public key as `pub.pem`; the leaf's SHA-256 (of its DER) in hex.
    fn chain(&self, chain_pem: &str) -> String {
        self.write("chain.pem", chain_pem.as_bytes());
        let public = self.ok(&["x509", "-in", "chain.pem", "-pubkey", "-noout"]).stdout;
        self.write("pub.pem", &public);
        sha256_hex(&self.ok(&["x509", "-in", "chain.pem", "-outform", "DER"]).stdout)
    }

    /// The leaf's subject as RFC 4514 orders it (most specific first).
    fn subject(&self) -> String {
        let out = self.ok(&["x509", "-in", "chain.pem", "-noout", "-subject", "-nameopt", "RFC2253"]).stdout;
        String::from_utf8_lossy(&out).trim().trim_start_matches("subject=").to_string()
    }

    /// `name.key` (P-256) and `name.pem`, a self-signed CA certificate.
    fn ca(&self, name: &str, subject: &str) {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let new = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", &key];
        self.ok(&[&new[..], &["-out", &pem, "-days", "2", "-subj", subject, "-extensions", "ca_ext"]].concat());
    }

    /// `name.csr` for a new P-256 key `name.key`.
    fn csr(&self, name: &str) -> String {
        let (key, csr, subject) = (format!("{name}.key"), format!("{name}.csr"), format!("/CN={name}"));
        let new = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", &key];
        self.ok(&[&new[..], &["-out", &csr, "-subj", &subject]].concat());
        csr
    }

    /// `name.pem`, issued by `ca` with `extensions`, valid from now for a day.
    fn issue(&self, name: &str, ca: &str, extensions: &str) {
        let (csr, pem, ca_pem, ca_key) =
            (self.csr(name), format!("{name}.pem"), format!("{ca}.pem"), format!("{ca}.key"));
        let sign = ["x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-set_serial", "2", "-days", "1"];
        self.ok(&[&sign[..], &["-extfile", "openssl.cnf", "-extensions", extensions, "-out", &pem]].concat());
    }

    /// `name.pem`, issued by `ca` for code signing, valid only on 1 January 2020.
    fn issue_expired(&self, name: &str, ca: &str) {
        let (csr, pem, ca_pem, ca_key) =
            (self.csr(name), format!("{name}.pem"), format!("{ca}.pem"), format!("{ca}.key"));
        let dates = ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"];
        let ca_args = ["ca", "-batch", "-config", "openssl.cnf", "-notext", "-in", &csr, "-cert", &ca_pem];
        let rest = ["-keyfile", &ca_key, "-extfile", "openssl.cnf", "-extensions", "leaf_ext", "-out", &pem];
        self.ok(&[&ca_args[..], &dates[..], &rest[..]].concat());
    }

    /// PEM files concatenated, leaf first.
    fn bundle(&self, names: &[&str]) -> Vec<u8> {
        names.iter().flat_map(|n| self.read(&format!("{n}.pem"))).collect()
    }
}

fn text(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_string()
}

/// Puts `key`'s chain from the simulator into the workspace as `signing-certificate`, and signs
/// with that key; the chain's PEM.
fn with_certificate(gate: &mut Gate, sim: &SimHandle, key: &str) -> String {
    let chain = sim.certificate_chain_pem(key).expect("the simulator's chain for the key");
    gate.file(CERTIFICATE, chain.as_bytes());
    gate.input("signing-certificate", CERTIFICATE).input("appviewx-signing-key", key);
    chain
}

/// The report's sign record of the artifact `name`.
fn sign_record<'a>(ran: &'a Ran, name: &str) -> &'a serde_json::Value {
    let artifacts = ran.report()["artifacts"].as_array().expect("artifacts");
    let artifact = artifacts.iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("{name} in the report"));
    &artifact["sign"]
}

/// The `artifacts` output's entry for `name`.
fn output_entry(ran: &Ran, name: &str) -> serde_json::Value {
    let all: Vec<serde_json::Value> = serde_json::from_str(ran.output("artifacts")).expect("artifacts output is JSON");
    all.into_iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("{name} in the artifacts output"))
}

fn signature_path(sign: &serde_json::Value) -> PathBuf {
    PathBuf::from(sign["signature_path"].as_str().unwrap_or_else(|| panic!("a signature file: {sign}")))
}

fn decode(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).expect("Base64")
}

fn the_other(name: &str) -> &'static str {
    if name == ARTIFACTS[0] {
        ARTIFACTS[1]
    } else {
        ARTIFACTS[0]
    }
}

/// Every raw signature verified by the gate, and by `openssl dgst -verify` over the artifact
/// (and not over the other artifact, so the judge can say no).
fn raw_signatures_verified(key: &str, expected_key: &str) {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let chain = with_certificate(&mut gate, &sim, key);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let judge = Judge::new();
    let fingerprint = judge.chain(&chain);
    let subject = judge.subject();
    for name in ARTIFACTS {
        let sign = sign_record(&ran, name);
        let verification = &sign["verification"];
        assert_eq!(
            (sign["status"].as_str(), sign["signature_format"].as_str()),
            (Some("signed"), Some("raw")),
            "{sign}"
        );
        assert_eq!(verification["status"], "verified", "{name}: {verification}");
        assert_eq!(verification["certificate_sha256"], fingerprint.as_str(), "{name}: the leaf's SHA-256");
        assert_eq!(verification["subject"], subject.as_str(), "{name}: {verification}");
        assert_eq!(verification["key"], expected_key, "{name}: {verification}");
        assert!(verification["reason"].is_null(), "{verification}");
        let encoded = std::fs::read_to_string(signature_path(sign)).expect("the .signed file");
        judge.write("sig.bin", &decode(&encoded));
        assert!(judge.dgst_verifies("sha256", "sig.bin", &gate.workspace().join(name)), "openssl: {name}'s signature");
        let other = gate.workspace().join(the_other(name));
        assert!(
            !judge.dgst_verifies("sha256", "sig.bin", &other),
            "openssl refuses {name}'s signature for another file"
        );
        assert_eq!(output_entry(&ran, name)["verified"], true);
    }
    assert_eq!((ran.output("count"), ran.output("signed"), ran.output("verified")), ("2", "2", "2"));
    assert!(ran.summary.contains("**Signatures** 2 verified"), "{}", ran.summary);
    assert!(ran.summary.contains(&fingerprint[..16]), "the summary shows the fingerprint: {}", ran.summary);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn rsa_signatures_are_verified_and_openssl_agrees() {
    raw_signatures_verified("sample-key", "RSA 3072");
}

#[test]
fn ecdsa_signatures_are_verified_and_openssl_agrees() {
    raw_signatures_verified("sample-ec-key", "ECDSA P-256");
}

#[test]
fn without_a_certificate_signatures_are_said_not_verified() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.unset("signing-certificate");
    // Off GitHub, so the terminal table (and its `signatures:` line) is printed; the summary and
    // the outputs files are still written.
    gate.env.remove("GITHUB_ACTIONS");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    for name in ARTIFACTS {
        let sign = sign_record(&ran, name);
        assert_eq!(sign["status"], "signed", "{sign}");
        assert_eq!(sign["verification"]["status"], "not-verified", "{sign}");
        let reason = sign["verification"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("signing-certificate"), "a reason that names the input: {sign}");
        assert!(sign["verification"]["certificate_sha256"].is_null(), "{sign}");
        assert_eq!(output_entry(&ran, name)["verified"], false);
    }
    assert_eq!((ran.output("signed"), ran.output("verified"), ran.output("failed")), ("2", "0", "0"));
    let summary = ran.summary.lines().find(|l| l.starts_with("**Signatures**")).unwrap_or_default();
    assert!(summary.starts_with("**Signatures** 2 NOT verified"), "{}", ran.summary);
    assert!(summary.contains("set signing-certificate"), "{summary}");
    let terminal = ran.stdout.lines().find(|l| l.starts_with("signatures: ")).unwrap_or_default();
    assert!(terminal.starts_with("signatures: 2 NOT verified"), "{}", ran.stdout);
    assert!(terminal.contains("set signing-certificate"), "{terminal}");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

/// A signature fault on one submission: that artifact fails, with no signature file, and the
/// other is still verified and written. OpenSSL confirms what AppViewX answered does not verify.
fn a_bad_signature_fails_its_artifact(kind: &FaultKind, after: u32) {
    let sim = sim();
    sim.add_fault(Fault::new(SIGN, kind.clone()).after(after));
    let mut gate = Gate::full(&sim);
    let chain = with_certificate(&mut gate, &sim, "sample-key");
    let ran = gate.run();
    let label = kind.name();
    assert_eq!(ran.code, 1, "{label}: {}", ran.debug());
    let hit =
        sim.state().requests.iter().filter(|r| r.path.contains(SIGN) && r.fault.as_deref() == Some(label)).count();
    assert_eq!(hit, 1, "{label}: the fault hit one submission");
    let failed: Vec<&str> = ARTIFACTS.into_iter().filter(|n| sign_record(&ran, n)["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{label}: exactly the faulted artifact fails: {}", ran.report());
    let (name, good) = (failed[0], the_other(failed[0]));
    let sign = sign_record(&ran, name);
    assert_eq!(sign["verification"]["status"], "failed", "{label}: {sign}");
    assert!(sign["verification"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{label}: {sign}");
    assert!(sign["signature_path"].is_null() && sign["signature_format"].is_null(), "{label}: no file: {sign}");
    assert_eq!(sign_record(&ran, good)["verification"]["status"], "verified", "{label}");
    let files: Vec<String> =
        ran.signatures.iter().map(|(p, _)| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    assert_eq!(files, [format!("{}.signed", good.replace('/', "%2F"))], "{label}: only the good one is written");
    let annotation = format!("::error file={name},title=codesign-gate%3A verify::");
    assert!(ran.stdout.lines().any(|l| l.starts_with(&annotation)), "{label}: {annotation}…\n{}", ran.stdout);
    let problems = ran.report()["problems"].as_array().expect("problems").clone();
    assert!(problems.iter().any(|p| p["stage"] == "verify" && p["artifact"] == name), "{label}: {problems:?}");
    assert_eq!((ran.output("failed"), ran.output("signed"), ran.output("verified")), ("1", "1", "1"), "{label}");
    // The judge: what AppViewX answered for it does not verify over the artifact.
    let judge = Judge::new();
    judge.chain(&chain);
    let answered = sim.encoded_hash_data(sign["sign_id"].as_str().expect("sign id")).expect("an answer");
    judge.write("sig.bin", &decode(&answered));
    assert!(!judge.dgst_verifies("sha256", "sig.bin", &gate.workspace().join(name)), "{label}: openssl refuses it too");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn a_signature_by_another_key_fails_its_artifact() {
    a_bad_signature_fails_its_artifact(&FaultKind::WrongKey, 0);
}

#[test]
fn another_requests_signature_fails_its_artifact() {
    // The second submission is answered with the first one's signature.
    a_bad_signature_fails_its_artifact(&FaultKind::SwappedSignature, 1);
}

#[test]
fn a_truncated_signature_fails_its_artifact() {
    a_bad_signature_fails_its_artifact(&FaultKind::TruncatedSignature, 0);
}

/// The judge's certificates: `ca`, and under it `good` (code signing), `noeku` (no extended key
/// usage) and `expired`; `other` (another CA) and `twin` (the same name as `ca`, another key).
fn bad_certificates() -> Judge {
    let judge = Judge::new();
    judge.ca("ca", "/CN=Judge CA");
    judge.ca("other", "/CN=Judge Other CA");
    judge.ca("twin", "/CN=Judge CA");
    judge.issue("good", "ca", "leaf_ext");
    judge.issue("noeku", "ca", "no_eku_ext");
    judge.issue_expired("expired", "ca");
    // The judge agrees on what is wrong with each.
    judge.ok(&["verify", "-CAfile", "ca.pem", "good.pem"]);
    assert!(!judge.run(&["verify", "-CAfile", "ca.pem", "expired.pem"]).status.success());
    assert!(!judge.run(&["verify", "-CAfile", "twin.pem", "good.pem"]).status.success());
    let eku = judge.ok(&["x509", "-in", "noeku.pem", "-noout", "-ext", "extendedKeyUsage"]).stdout;
    assert!(!String::from_utf8_lossy(&eku).contains("Code Signing"), "{}", String::from_utf8_lossy(&eku));
    judge
}

/// One refused input: exit 2, one line naming `input` (and `needle`), no report.
fn assert_refused(label: &str, ran: &Ran, input: &str, needle: &str) {
    assert_eq!(ran.code, 2, "{label}: {}", ran.debug());
    assert_eq!(ran.stderr.lines().count(), 1, "{label}: one line: {}", ran.stderr);
    assert!(ran.stderr.contains(&format!("input `{input}`")), "{label}: names {input}: {}", ran.stderr);
    assert!(ran.stderr.contains(needle), "{label}: says {needle:?}: {}", ran.stderr);
    let invalid = "::error title=codesign-gate: invalid input::";
    assert!(ran.stdout.lines().any(|l| l.starts_with(invalid)), "{label}: {}", ran.stdout);
    assert!(ran.report.is_none(), "{label}: no report for a run that never started");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn bad_signing_certificates_are_refused_before_anything_is_sent() {
    let judge = bad_certificates();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("expired", judge.bundle(&["expired", "ca"]), "expired at 2020-01-02"),
        ("no codeSigning", judge.bundle(&["noeku", "ca"]), "has no extended key usage"),
        ("chain: another CA", judge.bundle(&["good", "other"]), "but the next certificate is 'CN=Judge Other CA'"),
        ("chain: same name, another key", judge.bundle(&["good", "twin"]), "does not verify with the key of"),
        ("not a certificate", b"this is no certificate\n".to_vec(), "not a DER X.509 certificate"),
        ("a private key", judge.read("good.key"), "PRIVATE KEY"),
        ("empty", Vec::new(), "no certificate"),
    ];
    let sim = sim();
    for (label, bytes, needle) in &cases {
        let mut gate = Gate::full(&sim);
        gate.file(CERTIFICATE, bytes);
        gate.input("signing-certificate", CERTIFICATE);
        assert_refused(label, &gate.run(), "signing-certificate", needle);
    }
    let mut gate = Gate::full(&sim);
    gate.input("signing-certificate", "/dev/zero");
    assert_refused("/dev/zero", &gate.run(), "signing-certificate", "is a device");
    let mut gate = Gate::full(&sim);
    gate.input("signature-format", "cms").unset("signing-certificate");
    assert_refused("cms without a certificate", &gate.run(), "signature-format", "signing-certificate");
    let mut gate = Gate::full(&sim);
    with_certificate(&mut gate, &sim, "sample-key");
    gate.input("timestamp-url", "http://127.0.0.1:9/tsr");
    assert_refused("timestamp-url without cms", &gate.run(), "timestamp-url", "cms");
    assert!(sim.state().requests.is_empty(), "nothing sent: {:?}", sim.state().requests);

    // The control: the good chain, made the same way, is accepted as an input; it is another
    // key's, so every signature is refused after signing.
    let sim = crate::support::sim();
    let mut gate = Gate::full(&sim);
    gate.file(CERTIFICATE, &judge.bundle(&["good", "ca"]));
    gate.input("signing-certificate", CERTIFICATE);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    for name in ARTIFACTS {
        assert_eq!(sign_record(&ran, name)["verification"]["status"], "failed", "{}", ran.report());
    }
    assert!(ran.signatures.is_empty(), "{:?}", ran.signatures);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

/// `signature-format: cms`: each `.p7s` passes `openssl cms -verify` over its artifact, chained to
/// the simulator's CA, and fails over the other artifact; it names `hash` as its digest.
fn cms_signatures_verify(key: &str, hash: &str) {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    with_certificate(&mut gate, &sim, key);
    gate.input("signature-format", "cms").input("hash-algorithm", hash);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let judge = Judge::new();
    judge.write("ca.pem", sim.ca_pem().as_bytes());
    for name in ARTIFACTS {
        let sign = sign_record(&ran, name);
        assert_eq!(
            (sign["signature_format"].as_str(), sign["verification"]["status"].as_str()),
            (Some("cms"), Some("verified"))
        );
        let p7s = signature_path(sign);
        assert_eq!(p7s.extension().and_then(|e| e.to_str()), Some("p7s"), "{sign}");
        assert!(judge.cms_verifies(&p7s, &gate.workspace().join(name)), "openssl cms -verify: {name} ({key}, {hash})");
        assert!(!judge.cms_verifies(&p7s, &gate.workspace().join(the_other(name))), "{name}'s .p7s over another file");
        let printed = judge.ok(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &text(&p7s)]).stdout;
        let printed = String::from_utf8_lossy(&printed);
        assert!(printed.contains(&format!("algorithm: {hash} ")), "the digest is {hash}: {printed}");
        assert!(sign["timestamp"].is_null(), "{sign}");
    }
    assert_eq!(ran.signatures.len(), 2, "{:?}", ran.signatures);
    assert!(ran.summary.contains("**Signatures** 2 verified") && ran.summary.contains("CMS (.p7s)"), "{}", ran.summary);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn cms_signatures_pass_openssl_cms_verify_rsa_sha256() {
    cms_signatures_verify("sample-key", "sha256");
}

#[test]
fn cms_signatures_pass_openssl_cms_verify_rsa_sha384() {
    cms_signatures_verify("sample-key", "sha384");
}

#[test]
fn cms_signatures_pass_openssl_cms_verify_ecdsa_sha384() {
    cms_signatures_verify("sample-ec-key", "sha384");
}

/// A gate set up for CMS signatures timestamped by `tsa`.
fn timestamped(sim: &SimHandle, tsa: &Tsa) -> Gate {
    let mut gate = Gate::full(sim);
    with_certificate(&mut gate, sim, "sample-key");
    gate.input("signature-format", "cms").input("timestamp-url", &tsa.url);
    gate
}

#[test]
fn a_timestamp_from_a_real_tsa_rides_in_each_cms_signature() {
    let tsa = Tsa::start(Behaviour::Honest);
    let sim = sim();
    let gate = timestamped(&sim, &tsa);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let served = tsa.served();
    assert_eq!(served.len(), 2, "one query per artifact");
    let judge = Judge::new();
    judge.write("ca.pem", sim.ca_pem().as_bytes());
    let tsa_ca = text(&tsa.ca());
    let mut tokens = Vec::new();
    for (i, s) in served.iter().enumerate() {
        // The TSA's answer is good for the gate's query, by OpenSSL's reading of both.
        let (query, reply, token) = (format!("query-{i}.der"), format!("reply-{i}.der"), format!("token-{i}.der"));
        judge.write(&query, &s.query);
        judge.write(&reply, &s.reply);
        judge.ok(&["ts", "-verify", "-in", &reply, "-queryfile", &query, "-CAfile", &tsa_ca]);
        judge.ok(&["ts", "-reply", "-in", &reply, "-token_out", "-out", &token]);
        tokens.push((reply, judge.read(&token)));
    }
    for name in ARTIFACTS {
        let sign = sign_record(&ran, name);
        let stamp = &sign["timestamp"];
        // RFC 3339 UTC, no earlier than the run's start (to the second).
        let (time, started) = (stamp["time"].as_str().unwrap_or_default(), ran.report()["started_at"].as_str());
        assert!(time.ends_with('Z') && started.is_some_and(|s| time.get(..19) >= s.get(..19)), "{time} {started:?}");
        assert!(stamp["tsa"].as_str().is_some_and(|t| t.contains("CN=Loopback TSA")), "{sign}");
        let p7s = signature_path(sign);
        assert!(judge.cms_verifies(&p7s, &gate.workspace().join(name)), "openssl cms -verify: {name}");
        let printed = judge.ok(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &text(&p7s)]).stdout;
        assert!(String::from_utf8_lossy(&printed).contains("id-smime-aa-timeStampToken"), "{name}: no token");
        // Exactly one of the served tokens is in it, and it covers the signature AppViewX answered.
        let bytes = std::fs::read(&p7s).expect("the .p7s");
        let inside: Vec<&String> =
            tokens.iter().filter(|(_, t)| bytes.windows(t.len()).any(|w| w == t.as_slice())).map(|(r, _)| r).collect();
        assert_eq!(inside.len(), 1, "{name}: one served token inside: {inside:?}");
        let answered = sim.encoded_hash_data(sign["sign_id"].as_str().expect("sign id")).expect("answer");
        judge.write("sig.bin", &decode(&answered));
        judge.ok(&["ts", "-verify", "-in", inside[0], "-data", "sig.bin", "-CAfile", &tsa_ca]);
    }
    assert!(ran.summary.contains("2 timestamped"), "{}", ran.summary);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

/// A TSA that misbehaves fails every artifact at the `timestamp` stage: exit 1, no `.p7s`.
fn a_bad_tsa_fails_every_artifact(behaviour: Behaviour) {
    let tsa = Tsa::start(behaviour);
    let sim = sim();
    let ran = timestamped(&sim, &tsa).run();
    let label = format!("{behaviour:?}");
    assert_eq!(ran.code, 1, "{label}: {}", ran.debug());
    assert!(tsa.served().len() >= 2, "{label}: the TSA was asked for each artifact");
    let problems = ran.report()["problems"].as_array().expect("problems").clone();
    for name in ARTIFACTS {
        let sign = sign_record(&ran, name);
        assert_eq!(sign["status"], "failed", "{label}: {sign}");
        assert!(sign["signature_path"].is_null() && sign["timestamp"].is_null(), "{label}: {sign}");
        assert!(problems.iter().any(|p| p["stage"] == "timestamp" && p["artifact"] == name), "{label}: {problems:?}");
        let annotation = format!("::error file={name},title=codesign-gate%3A timestamp::");
        assert!(ran.stdout.lines().any(|l| l.starts_with(&annotation)), "{label}: {}", ran.stdout);
    }
    assert!(ran.signatures.is_empty(), "{label}: no .p7s: {:?}", ran.signatures);
    assert_eq!((ran.output("signed"), ran.output("failed")), ("0", "2"), "{label}");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn a_tsa_answering_500_fails_every_artifact() {
    a_bad_tsa_fails_every_artifact(Behaviour::Status(500));
}

#[test]
fn a_tsa_answering_another_request_fails_every_artifact() {
    a_bad_tsa_fails_every_artifact(Behaviour::Stale);
    // The stale reply is itself genuine, for its own query: refused for answering another one.
    let tsa = Tsa::start(Behaviour::Stale);
    let ca = text(&tsa.ca());
    openssl_ok(
        tsa.dir(),
        &["ts", "-verify", "-in", "stale-reply.der", "-queryfile", "stale-query.der", "-CAfile", &ca],
    );
}

#[test]
fn a_tsa_answering_garbage_fails_every_artifact() {
    a_bad_tsa_fails_every_artifact(Behaviour::Garbage);
}

#[test]
fn a_signed_script_is_reported_as_one_even_with_a_certificate() {
    let sim = sim_with(|c| c.appviewx.policies[0].signed_script = Some("Get-PSDrive".into()));
    let mut gate = Gate::full(&sim);
    with_certificate(&mut gate, &sim, "sample-key");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    for name in ARTIFACTS {
        let sign = sign_record(&ran, name);
        assert_eq!(
            (sign["status"].as_str(), sign["verification"]["status"].as_str()),
            (Some("signed"), Some("signed-script"))
        );
        let content = std::fs::read_to_string(signature_path(sign)).expect("the .signed file");
        assert!(content.starts_with("Get-PSDrive\r\n# SIG # Begin signature block\r\n"), "{content:?}");
        assert_eq!(
            sim.encoded_hash_data(sign["sign_id"].as_str().expect("sign id")).as_deref(),
            Some(content.as_str())
        );
    }
    assert_eq!(ran.output("verified"), "0");
    assert!(ran.summary.contains("2 signed script(s)"), "{}", ran.summary);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn with_digest_files_the_signature_lies_beside_each_under_signtools_name() {
    // `<Path>\<file>.dig.signed`, for `<file>` = app.exe: the name signtool /di reads.
    let pattern = SIGNTOOL_DI.rsplit_once('\\').map(|(_, tail)| tail.trim_end_matches('.')).expect("a file pattern");
    let expected = pattern.replace("<file>", "app.exe");
    assert_eq!(expected, "app.exe.dig.signed", "read from: {SIGNTOOL_DI}");

    let unsigned = b"the unsigned application";
    let sim = sim();
    let mut gate = Gate::empty();
    gate.file("dist/digests/app.exe.dig", format!("{}\r\n", sha256_b64(unsigned)).as_bytes());
    gate.file("unsigned/app.exe", unsigned);
    gate.input("artifacts", "dist/digests/*.dig").input("digest-files", "true").tpp(&sim).avx(&sim);
    let chain = with_certificate(&mut gate, &sim, "sample-key");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    let name = "dist/digests/app.exe.dig";
    let sign = sign_record(&ran, name);
    assert_eq!(sign["verification"]["status"], "verified", "{sign}");
    let beside = gate.workspace().join("dist/digests").join(&expected);
    let copy = std::fs::read(&beside).unwrap_or_else(|e| panic!("{} for signtool /di: {e}", beside.display()));
    assert_eq!(copy, std::fs::read(signature_path(sign)).expect("the signature file"), "the same bytes");
    let named = output_entry(&ran, name)["signtool-path"].as_str().map(|p| gate.workspace().join(p));
    assert_eq!(named.as_deref(), Some(beside.as_path()), "the signtool-path output");
    assert_eq!(sign["signtool_path"].as_str().map(|p| gate.workspace().join(p)), Some(beside.clone()));
    // What signtool would ingest is the signature of the unsigned file's digest.
    let judge = Judge::new();
    judge.chain(&chain);
    judge.write("sig.bin", &decode(&String::from_utf8_lossy(&copy)));
    assert!(judge.dgst_verifies("sha256", "sig.bin", &gate.workspace().join("unsigned/app.exe")));
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}
