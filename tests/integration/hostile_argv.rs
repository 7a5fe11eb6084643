//! A command line is readable by every user of the machine (`ps`, `/proc/<pid>/cmdline`): the
//! binary refuses a secret given as a flag, without echoing it, and reads it from its `INPUT_*`
//! variable or from a `--<name>-file FILE` instead.

use crate::support::{sim, Gate, AVX_PASSWORD, TPP_PASSWORD};

/// Each secret input, the variable it may come from instead, and its file flag.
const SECRETS: &[(&str, &str, &str)] = &[
    ("tpp-password", "INPUT_TPP-PASSWORD", "--tpp-password-file FILE"),
    ("tpp-access-token", "INPUT_TPP-ACCESS-TOKEN", "--tpp-access-token-file FILE"),
    ("appviewx-password", "INPUT_APPVIEWX-PASSWORD", "--appviewx-password-file FILE"),
    ("appviewx-gwkey", "INPUT_APPVIEWX-GWKEY", "--appviewx-gwkey-file FILE"),
    ("github-token", "INPUT_GITHUB-TOKEN", "--github-token-file FILE"),
];

const ON_THE_COMMAND_LINE: &str = "hunter2-on-the-command-line";

#[test]
fn a_secret_given_as_a_flag_is_refused_by_name_and_never_echoed() {
    let sim = sim();
    for &(name, var, file_flag) in SECRETS {
        let forms = [
            vec!["run".to_string(), format!("--{name}"), ON_THE_COMMAND_LINE.to_string()],
            vec!["run".to_string(), format!("--{name}={ON_THE_COMMAND_LINE}")],
            vec!["plan".to_string(), format!("--{name}"), ON_THE_COMMAND_LINE.to_string()],
            vec![format!("--{name}"), ON_THE_COMMAND_LINE.to_string()],
        ];
        for args in forms {
            let mut gate = Gate::full(&sim);
            gate.outside_github();
            gate.args = args.clone();
            let ran = gate.run();
            assert_eq!(ran.code, 2, "{args:?}: {}", ran.debug());
            let lines: Vec<&str> = ran.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: one line\n{}", ran.debug());
            let line = lines[0];
            assert!(line.starts_with(&format!("codesign-gate: --{name} is refused")), "{line}");
            assert!(line.contains("readable by every user"), "{line}");
            assert!(line.contains(&format!("the {var} environment variable")), "{line}");
            assert!(line.contains(file_flag), "{line}");
            for channel in [&ran.stdout, &ran.stderr] {
                assert!(!channel.contains(ON_THE_COMMAND_LINE), "{args:?} echoed the secret:\n{}", ran.debug());
            }
        }
    }
    assert!(sim.state().requests.is_empty(), "nothing was sent");
}

#[test]
fn on_github_the_refusal_is_an_annotation_without_the_secret() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.args.extend(["--appviewx-password".to_string(), ON_THE_COMMAND_LINE.to_string()]);
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(
        ran.stdout.starts_with("::error title=codesign-gate: invalid input::--appviewx-password is refused"),
        "{}",
        ran.debug()
    );
    ran.assert_no_secret(&[ON_THE_COMMAND_LINE]);
}

#[test]
fn help_offers_the_file_flags_not_the_plain_ones() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_codesign-gate")).arg("--help").output().expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    for &(name, var, file_flag) in SECRETS {
        let flag = file_flag.trim_end_matches(" FILE");
        assert!(help.contains(&format!("{flag} <FILE>")), "--help lists {flag}:\n{help}");
        assert!(help.contains(&format!("[env: {var}]")), "--help names {var}:\n{help}");
        assert!(!help.contains(&format!("--{name} <VALUE>")), "--help hides --{name}:\n{help}");
    }
}

/// A secret file in the gate's temp folder, outside its workspace.
fn secret_file(gate: &Gate, name: &str, content: &str) -> String {
    let path = gate.dir.path().join(name);
    std::fs::write(&path, content).expect("secret file");
    path.to_string_lossy().into_owned()
}

#[test]
fn password_files_sign_end_to_end_outside_github() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.outside_github().unset("tpp-password").unset("appviewx-password");
    // One trailing newline, as `echo` writes it, is not part of the secret; CRLF neither.
    let tpp = secret_file(&gate, "tpp-password.txt", &format!("{TPP_PASSWORD}\n"));
    let avx = secret_file(&gate, "avx-password.txt", &format!("{AVX_PASSWORD}\r\n"));
    gate.args.extend(["--tpp-password-file".to_string(), tpp, "--appviewx-password-file".to_string(), avx]);
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.report()["result"], "success", "{}", ran.report_raw);
    assert_eq!(sim.state().sign_requests.len(), 2, "both artifacts signed");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

#[test]
fn an_empty_or_unreadable_secret_file_is_refused_by_flag() {
    let sim = sim();
    for (content, why) in
        [(Some(""), "is empty"), (Some("\n"), "is empty"), (Some(" \t\r\n"), "is empty"), (None, "cannot be read")]
    {
        let mut gate = Gate::full(&sim);
        gate.outside_github().unset("tpp-password");
        let path = match content {
            Some(c) => secret_file(&gate, "tpp-password.txt", c),
            None => gate.dir.path().join("no-such-file").to_string_lossy().into_owned(),
        };
        gate.args.extend(["--tpp-password-file".to_string(), path.clone()]);
        let ran = gate.run();
        assert_eq!(ran.code, 2, "{content:?}: {}", ran.debug());
        assert!(
            ran.stderr.starts_with(&format!("codesign-gate: --tpp-password-file {path}: {why}")),
            "{content:?}: {}",
            ran.debug()
        );
    }
    assert!(sim.state().requests.is_empty(), "nothing was sent");
}

#[test]
fn a_secret_file_beside_its_variable_is_ambiguous() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.outside_github();
    let path = secret_file(&gate, "tpp-password.txt", TPP_PASSWORD);
    gate.args.extend(["--tpp-password-file".to_string(), path]);
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(
        ran.stderr.contains("--tpp-password-file and the INPUT_TPP-PASSWORD environment variable are both set"),
        "{}",
        ran.debug()
    );
    ran.assert_no_secret(&[TPP_PASSWORD]);
}
