//! Bad input: exit 2, one line naming the input, and nothing sent to either service.

use crate::support::*;

#[test]
fn bad_inputs_exit_2_with_one_line_and_touch_no_server() {
    let sim = sim();
    let cases: &[(&str, &str, &str)] = &[
        ("artifacts", "", "artifacts"),
        ("artifacts", "../outside/*", "artifacts"),
        ("artifacts", "dist", "artifacts"),
        ("tpp-url", "http://tpp.example.com", "tpp-url"),
        ("tpp-url", "not a url", "tpp-url"),
        ("environment-dn", r"\\VED\\Code Signing\\X", "environment-dn"),
        ("key-user", "nobody", "key-user"),
        ("hours", "0", "hours"),
        ("hours", "-1", "hours"),
        ("hours", "99999", "hours"),
        ("runner-ip", "10.0.0.300", "runner-ip"),
        ("not-before", "yesterday", "not-before"),
        ("timeout", "forever", "timeout"),
        ("poll-interval", "0", "poll-interval"),
        ("single-use", "maybe", "single-use"),
        ("hash-algorithm", "sha1", "hash-algorithm"),
        ("if-no-files-found", "panic", "if-no-files-found"),
        ("ca-certificates", "missing.pem", "ca-certificates"),
        ("report-path", ".", "report-path"),
        ("appviewx-url", "https://avx.example.com/some/path", "appviewx-url"),
        ("sign-ids", "abc", "sign-ids"),
        ("max-concurrency", "1000", "max-concurrency"),
        ("working-directory", "missing-dir", "working-directory"),
    ];
    for (input, value, named) in cases {
        let mut gate = Gate::full(&sim);
        gate.input(input, value);
        if value.is_empty() {
            gate.unset(input);
        }
        let ran = gate.run();
        assert_eq!(ran.code, 2, "{input}={value:?}: {}", ran.debug());
        assert_eq!(ran.stderr.lines().count(), 1, "{input}={value:?}: one line: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("input `{named}`")), "{input}={value:?}: names the input: {}", ran.stderr);
        assert!(
            ran.stdout.lines().any(|l| l.starts_with("::error title=codesign-gate: invalid input::")),
            "{input}: {}",
            ran.stdout
        );
        ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
    }
    let state = sim.state();
    assert!(state.requests.is_empty(), "bad input must send nothing: {:?}", state.requests);
}

#[test]
fn an_empty_artifact_is_refused_before_any_request() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.file("dist/empty.exe", b"");
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(ran.stderr.contains("dist/empty.exe") && ran.stderr.contains("empty"), "{}", ran.stderr);
    assert!(sim.state().requests.is_empty());
}
