//! The bad-input matrix: each case exits 2 with one line naming the input, leaks no secret,
//! and sends nothing to either service.

use crate::support::*;

type Setup = fn(&mut Gate);

struct Case {
    inputs: &'static [(&'static str, &'static str)],
    names: &'static str,
    setup: Option<Setup>,
}

const fn case(inputs: &'static [(&'static str, &'static str)], names: &'static str) -> Case {
    Case { inputs, names, setup: None }
}

const fn with_setup(inputs: &'static [(&'static str, &'static str)], names: &'static str, setup: Setup) -> Case {
    Case { inputs, names, setup: Some(setup) }
}

fn cases() -> Vec<Case> {
    vec![
        // Missing and conflicting inputs.
        case(&[("artifacts", "")], "artifacts"),
        case(&[("artifacts", "  \n  ")], "artifacts"),
        case(&[("artifacts", "!**/*.pdb")], "artifacts"),
        case(&[("tpp-access-token", "a-token")], "tpp-access-token"),
        case(&[("tpp-password", "")], "tpp-password"),
        case(&[("tpp-client-id", "")], "tpp-client-id"),
        case(&[("key-user", "")], "key-user"),
        case(&[("environment-dn", "")], "environment-dn"),
        case(&[("appviewx-signing-key", "")], "appviewx-signing-key"),
        case(&[("sign-ids", "65c47fa41112f940dab1cb12")], "sign-ids"),
        case(&[("tpp-url", "")], "tpp-url"),
        case(&[("pre-qualify", "false"), ("pre-approve", "false")], "pre-approve"),
        // Malformed values.
        case(&[("tpp-url", "not a url")], "tpp-url"),
        case(&[("tpp-url", "http://tpp.example.com")], "tpp-url"),
        case(&[("tpp-url", "https://tpp.example.com/?x=1")], "tpp-url"),
        case(&[("appviewx-url", "https://avx.example.com/some/path")], "appviewx-url"),
        case(&[("environment-dn", r"\\VED\\Code Signing\\X")], "environment-dn"),
        case(&[("environment-dn", "/VED/Code Signing/X")], "environment-dn"),
        case(&[("key-user", "nobody")], "key-user"),
        case(&[("hours", "0")], "hours"),
        case(&[("hours", "-1")], "hours"),
        case(&[("hours", "99999")], "hours"),
        case(&[("runner-ip", "10.0.0.300")], "runner-ip"),
        case(&[("runner-ip", "auto,1.2.3.4")], "runner-ip"),
        case(&[("not-before", "yesterday")], "not-before"),
        case(&[("timeout", "forever")], "timeout"),
        case(&[("timeout", "0")], "timeout"),
        case(&[("poll-interval", "0")], "poll-interval"),
        case(&[("request-timeout", "1h")], "request-timeout"),
        case(&[("single-use", "maybe")], "single-use"),
        case(&[("digest-files", "sometimes")], "digest-files"),
        case(&[("hash-algorithm", "sha1")], "hash-algorithm"),
        case(&[("if-no-files-found", "panic")], "if-no-files-found"),
        case(&[("max-concurrency", "1000")], "max-concurrency"),
        case(&[("sign-ids", "abc?x=1")], "sign-ids"),
        case(&[("appviewx-password", "pässwort")], "appviewx-password"),
        // Files and paths.
        case(&[("ca-certificates", "missing.pem")], "ca-certificates"),
        with_setup(&[("ca-certificates", "not-a-cert.pem")], "ca-certificates", |g| {
            g.file("not-a-cert.pem", b"hello");
        }),
        case(&[("report-path", ".")], "report-path"),
        case(&[("working-directory", "missing-dir")], "working-directory"),
        case(&[("artifacts", "../outside/*")], "artifacts"),
        case(&[("artifacts", "dist/../../*")], "artifacts"),
        case(&[("artifacts", "/etc/*")], "artifacts"),
        case(&[("artifacts", "dist")], "artifacts"),
        case(&[("artifacts", "dist/[*.exe")], "artifacts"),
        with_setup(&[], "artifacts", |g| {
            g.file("dist/empty.exe", b"");
        }),
        with_setup(&[], "artifacts", |g| {
            #[cfg(unix)]
            std::os::unix::fs::symlink("missing-target.exe", g.workspace().join("dist/dangling.exe")).expect("symlink");
        }),
        with_setup(&[], "artifacts", |g| {
            #[cfg(unix)]
            {
                let ws = g.workspace();
                std::os::unix::fs::symlink("loop-b.exe", ws.join("dist/loop-a.exe")).expect("symlink");
                std::os::unix::fs::symlink("loop-a.exe", ws.join("dist/loop-b.exe")).expect("symlink");
            }
        }),
        with_setup(&[], "artifacts", |g| {
            #[cfg(unix)]
            std::os::unix::fs::symlink("..", g.workspace().join("dist/lib/up")).expect("symlink");
        }),
        with_setup(&[], "artifacts", |g| {
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStrExt;
                let name = std::ffi::OsStr::from_bytes(b"bad-\xff-name.exe");
                std::fs::write(g.workspace().join("dist").join(name), b"x").expect("non-UTF-8 file");
            }
        }),
    ]
}

#[test]
fn bad_inputs_exit_2_with_one_line_and_touch_no_server() {
    let sim = sim();
    let cases = cases();
    for Case { inputs, names, setup } in &cases {
        let mut gate = Gate::full(&sim);
        for (input, value) in *inputs {
            if value.is_empty() {
                gate.unset(input)
            } else {
                gate.input(input, value)
            };
        }
        if let Some(setup) = setup {
            setup(&mut gate);
        }
        let ran = gate.run();
        let label = format!("{inputs:?}");
        assert_eq!(ran.code, 2, "{label}: {}", ran.debug());
        assert_eq!(ran.stderr.lines().count(), 1, "{label}: one line: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("input `{names}`")), "{label}: names `{names}`: {}", ran.stderr);
        assert!(
            ran.stdout.lines().any(|l| l.starts_with("::error title=codesign-gate: invalid input::")),
            "{label}: {}",
            ran.stdout
        );
        ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD, "a-token"]);
        assert!(ran.report.is_none(), "{label}: no report for a run that never started");
    }
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let state = sim.state();
    assert!(state.requests.is_empty(), "bad input must send nothing: {:?}", state.requests);
    eprintln!("bad-input matrix: {} cases, all exit 2 with nothing sent", cases.len());
}
