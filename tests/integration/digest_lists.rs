//! `digest-files: list`: checksum lists made on another machine are signed line by line, and a
//! bad list stops the run before anything is sent.

use sha2::Digest as _;

use crate::support::*;

/// A digest in both of the forms the tests need: hex for the list, raw for the wire checks.
struct Made {
    name: &'static str,
    bytes: Vec<u8>,
}

impl Made {
    fn sha256(name: &'static str) -> Made {
        Made { name, bytes: sha2::Sha256::digest(name.as_bytes()).to_vec() }
    }

    fn sha384(name: &'static str) -> Made {
        Made { name, bytes: sha2::Sha384::digest(name.as_bytes()).to_vec() }
    }

    fn hex(&self) -> String {
        self.bytes.iter().fold(String::new(), |mut hex, b| {
            let _ = std::fmt::Write::write_fmt(&mut hex, format_args!("{b:02x}"));
            hex
        })
    }
}

/// A gate for both vendors whose `artifacts` match the lists under `sums/`.
fn list_gate(sim: &signing_sim::SimHandle, lists: &[(&str, &[u8])]) -> Gate {
    let mut gate = Gate::empty();
    for (name, content) in lists {
        gate.file(&format!("sums/{name}"), content);
    }
    gate.input("artifacts", "sums/*").input("digest-files", "list").tpp(sim).avx(sim);
    gate
}

fn decode(text: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).expect("base64")
}

/// The run succeeded, and the simulator received exactly the listed digests (pre-qualified as
/// given, signed as their DigestInfo), each named in the report by its listed path.
fn assert_signed_as_listed(label: &str, ran: &Ran, sim: &signing_sim::SimHandle, listed: &[&Made]) {
    assert_eq!(ran.code, 0, "{label}: {}", ran.debug());
    let state = sim.state();
    let mut expected: Vec<Vec<u8>> = listed.iter().map(|m| m.bytes.clone()).collect();
    expected.sort();
    let mut prequalified: Vec<Vec<u8>> = state.prequalifications.iter().map(|p| decode(&p.data)).collect();
    prequalified.sort();
    assert_eq!(prequalified, expected, "{label}: TPP pre-qualified exactly the listed digests");
    let mut signed: Vec<Vec<u8>> = state
        .sign_requests
        .iter()
        .map(|r| {
            let info = decode(&r.file_hash_content);
            assert_eq!(info[1] as usize, info.len() - 2, "{label}: a DigestInfo");
            info[info.len() - listed[0].bytes.len()..].to_vec()
        })
        .collect();
    signed.sort();
    assert_eq!(signed, expected, "{label}: AppViewX signed exactly the listed digests");
    for m in listed {
        let request = state
            .sign_requests
            .iter()
            .find(|r| decode(&r.file_hash_content).ends_with(&m.bytes))
            .unwrap_or_else(|| panic!("{label}: no sign request for {}", m.name));
        assert_eq!(request.description.as_deref(), Some(format!("{} (acme/rocket)", m.name).as_str()), "{label}");
    }

    let report = ran.report();
    let names: Vec<&str> =
        report["artifacts"].as_array().expect("array").iter().map(|a| a["name"].as_str().expect("name")).collect();
    let listed_names: Vec<&str> = listed.iter().map(|m| m.name).collect();
    assert_eq!(names, listed_names, "{label}: the report names each artifact by its listed path, in list order");
    for (a, m) in report["artifacts"].as_array().expect("array").iter().zip(listed) {
        assert_eq!(a["digest"]["hex"], m.hex(), "{label}");
        assert!(a["size"].is_null(), "{label}: no size for an artifact that is not here: {a}");
        assert_eq!(a["sign"]["status"], "signed", "{label}: {a}");
    }
    let outputs: serde_json::Value = serde_json::from_str(ran.output("artifacts")).expect("artifacts output");
    let output_names: Vec<&str> =
        outputs.as_array().expect("array").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(output_names, listed_names, "{label}");
    assert_eq!(ran.output("signed"), listed.len().to_string(), "{label}");
    for m in listed {
        assert!(ran.summary.contains(&format!("`{}`", m.name)), "{label}: summary names {}:\n{}", m.name, ran.summary);
        let stem = m.name.replace('/', "%2F");
        assert!(
            ran.signatures.iter().any(|(p, _)| p.file_name().is_some_and(|f| f == format!("{stem}.signed").as_str())),
            "{label}: a signature file named after {}: {:?}",
            m.name,
            ran.signatures
        );
    }
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn every_list_format_is_signed_as_listed() {
    let app = Made::sha256("dist/app.exe");
    let lib = Made::sha256("dist/lib/helper.dll");
    let spaced = Made::sha256("release notes/My Setup.msi");
    let (a, l, s) = (app.hex(), lib.hex(), spaced.hex());
    let cases: Vec<(&str, String)> = vec![
        ("GNU text", format!("{a}  dist/app.exe\n{l}  dist/lib/helper.dll\n{s}  release notes/My Setup.msi\n")),
        ("GNU binary", format!("{a} *dist/app.exe\n{l} *dist/lib/helper.dll\n{s} *release notes/My Setup.msi\n")),
        (
            "CRLF, mixed markers, blank lines",
            format!("{a}  dist/app.exe\r\n\r\n{l} *dist/lib/helper.dll\r\n{s}  release notes/My Setup.msi\r\n\r\n"),
        ),
        (
            "BSD",
            format!(
                "SHA256 (dist/app.exe) = {a}\nSHA256 (dist/lib/helper.dll) = {l}\nSHA256 (release notes/My Setup.msi) = {s}"
            ),
        ),
    ];
    for (label, list) in cases {
        let sim = sim();
        let ran = list_gate(&sim, &[("SHA256SUMS", list.as_bytes())]).run();
        assert_signed_as_listed(label, &ran, &sim, &[&app, &lib, &spaced]);
    }
}

#[test]
fn a_sha384_list_is_signed_with_hash_algorithm_sha384() {
    let sim = sim();
    let app = Made::sha384("dist/app.exe");
    let lib = Made::sha384("dist/lib/helper.dll");
    let list = format!("{}  dist/app.exe\n{} *dist/lib/helper.dll\n", app.hex(), lib.hex());
    let mut gate = list_gate(&sim, &[("SHA384SUMS", list.as_bytes())]);
    gate.input("hash-algorithm", "sha384");
    let ran = gate.run();
    assert_signed_as_listed("SHA-384", &ran, &sim, &[&app, &lib]);
    for r in &sim.state().sign_requests {
        assert_eq!(&decode(&r.file_hash_content)[..2], &[0x30, 0x41], "a SHA-384 DigestInfo");
    }
    assert!(ran.summary.contains("SHA-384"), "{}", ran.summary);
}

#[test]
fn several_lists_are_signed_in_list_then_line_order() {
    let sim = sim();
    let (a, b, c) = (Made::sha256("linux/app"), Made::sha256("linux/app.so"), Made::sha256("windows/app.exe"));
    let linux = format!("{}  linux/app\n{}  linux/app.so\n", a.hex(), b.hex());
    let windows = format!("SHA256 (windows/app.exe) = {}\r\n", c.hex());
    let ran = list_gate(&sim, &[("windows.sha256", windows.as_bytes()), ("linux.sha256", linux.as_bytes())]).run();
    assert_signed_as_listed("two lists", &ran, &sim, &[&a, &b, &c]);
}

/// Lists written by the real tools, where they are installed, including `sha256sum`'s escaped
/// line for a name with a backslash.
#[cfg(unix)]
#[test]
fn lists_written_by_sha256sum_and_shasum_are_read() {
    let mut made = 0;
    let tools: [(&str, &[&str]); 4] =
        [("sha256sum", &[]), ("sha256sum", &["--tag"]), ("sha256sum", &["--binary"]), ("shasum", &["-a", "256"])];
    for (tool, args) in tools {
        let sim = sim();
        let mut gate = list_gate(&sim, &[]);
        gate.file("build/app.exe", b"the application");
        gate.file("build/back\\slash.dll", b"a helper library");
        let out = std::process::Command::new(tool)
            .args(args)
            .args(["build/app.exe", "build/back\\slash.dll"])
            .current_dir(gate.workspace())
            .output();
        let Ok(out) = out.map_err(|e| eprintln!("{tool} not run ({e}); its format is covered by the other tests"))
        else {
            continue;
        };
        assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        gate.file("sums/SHA256SUMS", &out.stdout);
        let ran = gate.run();
        let app = Made { name: "build/app.exe", bytes: sha2::Sha256::digest(b"the application").to_vec() };
        let lib = Made { name: "build/back\\slash.dll", bytes: sha2::Sha256::digest(b"a helper library").to_vec() };
        assert_eq!(ran.code, 0, "{tool} {args:?} wrote:\n{}\n{}", String::from_utf8_lossy(&out.stdout), ran.debug());
        let names: Vec<&str> =
            ran.report()["artifacts"].as_array().expect("array").iter().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, [app.name, lib.name], "{tool} {args:?}");
        let mut prequalified: Vec<Vec<u8>> = sim.state().prequalifications.iter().map(|p| decode(&p.data)).collect();
        prequalified.sort();
        let mut expected = vec![app.bytes.clone(), lib.bytes.clone()];
        expected.sort();
        assert_eq!(prequalified, expected, "{tool} {args:?}");
        made += 1;
    }
    eprintln!("{made} lists from real tools signed as listed");
    // GNU coreutils is on every Linux CI machine: there the test must have checked something.
    if cfg!(target_os = "linux") {
        assert!(made > 0, "no checksum tool could be run");
    }
}

#[test]
fn bad_lists_exit_2_naming_the_file_and_line_and_send_nothing() {
    // (what, the lists by name, where the error must point, what it must say)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str, &'a str);
    let sim = sim();
    let good = Made::sha256("dist/app.exe").hex();
    let sha384 = Made::sha384("dist/lib.dll").hex();
    let cases: Vec<Case> = vec![
        (
            "bad hex",
            vec![("SHA256SUMS", format!("{good}  dist/app.exe\nxyz{}  dist/lib.dll\n", &good[3..]))],
            "`sums/SHA256SUMS` line 2:",
            "is not a hex digest",
        ),
        (
            "wrong length for the algorithm",
            vec![("SHA256SUMS", format!("{good}  dist/app.exe\r\n\r\n{sha384}  dist/lib.dll\r\n"))],
            "`sums/SHA256SUMS` line 3:",
            "holds a 48-byte (sha384) digest, but hash-algorithm is sha256",
        ),
        (
            "missing separator",
            vec![("SHA256SUMS", format!("{good} dist/app.exe\n"))],
            "`sums/SHA256SUMS` line 1:",
            "expected two spaces or ` *` between the digest and the path",
        ),
        (
            "BSD algorithm mismatch",
            vec![("SHA256SUMS", format!("SHA256 (dist/app.exe) = {good}\nSHA384 (dist/lib.dll) = {sha384}\n"))],
            "`sums/SHA256SUMS` line 2:",
            "is a SHA384 line, but hash-algorithm is sha256",
        ),
        (
            "escaped name with a newline",
            vec![("SHA256SUMS", format!("{good}  dist/app.exe\n\\{good}  dist/evil\\n::error::x.exe\n"))],
            "`sums/SHA256SUMS` line 2:",
            "names a file with a line break",
        ),
        (
            "empty list",
            vec![("SHA256SUMS", "\r\n\n".to_string())],
            "`sums/SHA256SUMS` has no checksum lines",
            "sha256sum",
        ),
        (
            "a name listed twice in one list",
            vec![("SHA256SUMS", format!("{good}  dist/app.exe\n{good} *dist/app.exe\n"))],
            "`sums/SHA256SUMS` line 2: `dist/app.exe` is already listed in `sums/SHA256SUMS` line 1",
            "keep one line per artifact",
        ),
        (
            "a name listed in two lists",
            vec![("a.sha256", format!("{good}  dist/app.exe\n")), ("b.sha256", format!("\n{good}  ./dist/app.exe\n"))],
            "`sums/b.sha256` line 2: `./dist/app.exe` is already listed in `sums/a.sha256` line 1",
            "keep one line per artifact",
        ),
    ];
    for (label, lists, place, what) in &cases {
        let lists: Vec<(&str, &[u8])> = lists.iter().map(|(n, c)| (*n, c.as_bytes())).collect();
        let ran = list_gate(&sim, &lists).run();
        assert_eq!(ran.code, 2, "{label}: {}", ran.debug());
        assert_eq!(ran.stderr.lines().count(), 1, "{label}: one line: {}", ran.stderr);
        let line = ran.stderr.trim_end();
        assert!(line.contains("input `digest-files`: "), "{label}: {line}");
        assert!(line.contains(place), "{label}: names the place {place}: {line}");
        assert!(line.contains(what), "{label}: says {what}: {line}");
        assert!(!line.contains("::error::x"), "{label}: no workflow command from a listed name: {line}");
        assert!(
            ran.stdout.lines().any(|l| l.starts_with("::error title=codesign-gate: invalid input::")),
            "{label}: {}",
            ran.stdout
        );
        assert!(ran.report.is_none(), "{label}: no report for a run that never started");
        ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
        assert!(sim.state().requests.is_empty(), "{label}: nothing sent: {:?}", sim.state().requests);
    }
    eprintln!("bad lists: {} cases, all exit 2 with nothing sent", cases.len());
}

#[test]
fn digest_files_takes_three_values() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("digest-files", "lists");
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(ran.stderr.contains("input `digest-files`: must be true, false or list, not `lists`"), "{}", ran.stderr);
    assert!(sim.state().requests.is_empty());
}
