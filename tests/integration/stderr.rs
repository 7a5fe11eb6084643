//! The runner reads workflow commands from stderr as from stdout: `::command::` at the start of a
//! line (after leading whitespace) and, in a line that is no `::` command, the legacy
//! `##[command]` anywhere. A newline in any input value must not let that value start a command
//! on either stream.

use codesign_gate::config::INPUTS;

use crate::support::*;

/// A line break of each kind the runner splits at, each followed by a command of each form.
const INJECTION: &str =
    "\n::warning::INJECTED-LF\r::error::INJECTED-CR\r\n  ::notice::INJECTED-CRLF ##[error]INJECTED-LEGACY";

/// The commands the gate itself writes; anything else that reads as a command was injected.
const MEANT: &[&str] = &[
    "::add-mask::",
    "::group::",
    "::endgroup::",
    "::error title=codesign-gate",
    "::warning title=codesign-gate",
    "::notice title=codesign-gate",
    "::error file=",
    "::warning file=",
    "::notice file=",
];

fn unmeant_commands(stream: &str) -> Vec<String> {
    // The runner splits lines at CR as well as LF.
    stream
        .split(['\n', '\r'])
        .filter(|line| {
            let l = line.trim_start();
            // A line that parses as a `::` command is not tried as a legacy one.
            let meant = MEANT.iter().any(|m| l.starts_with(m));
            (l.starts_with("::") || line.contains("##[")) && !meant
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn no_input_value_starts_a_workflow_command_on_stdout_or_stderr() {
    let sim = sim();
    let mut echoed = Vec::new();
    for input in INPUTS {
        let mut gate = Gate::full(&sim);
        // A closed port: check-run fails fast instead of reaching out.
        gate.env.insert("GITHUB_API_URL".into(), "http://127.0.0.1:9".into());
        gate.input("request-timeout", "5s");
        let base = gate.env.get(&format!("INPUT_{}", input.name.to_uppercase())).cloned().unwrap_or_default();
        gate.input(input.name, &format!("{base}{INJECTION}"));
        let ran = gate.run();
        for (name, stream) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
            let bad = unmeant_commands(stream);
            assert!(
                bad.is_empty(),
                "input `{}`: {name} starts a command it did not mean: {bad:?}\n{}",
                input.name,
                ran.debug()
            );
        }
        if ran.stdout.contains("INJECTED") || ran.stderr.contains("INJECTED") {
            echoed.push(input.name);
        }
    }
    // The test means something only if values do come back in messages.
    assert!(echoed.len() >= 5, "only these inputs were echoed: {echoed:?}");
}

#[test]
fn an_echoed_value_stays_readable_on_one_line() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("key-user", "local:x\n::warning::INJECTED");
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    let line = ran.stderr.lines().find(|l| l.contains("INJECTED")).unwrap_or_else(|| panic!("{}", ran.debug()));
    assert!(line.starts_with("codesign-gate: "), "{line}");
    assert!(line.contains("local:x\\n::warning::INJECTED"), "{line}");
}
