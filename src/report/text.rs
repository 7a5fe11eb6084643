//! Free text made safe and short for the renderers: one line that cannot start a workflow
//! command, and the one line every view gives the run's pre-approvals.

use std::fmt::Write as _;

use crate::outcome::{Outcome, StageStatus};

/// Makes one line of free text safe for a stream the GitHub runner reads (stdout and stderr
/// alike): a value from an input, a server or a file name must not be able to start a workflow
/// command. The runner splits lines at CR and LF, reads `::command::` after leading whitespace,
/// and the legacy `##[command]` anywhere in a line. So CR and LF become `\r` and `\n`, every
/// other control character (tab aside) a `\u{..}` escape, a leading `::` gets a backslash in
/// front, and `##[` becomes `##\[`.
pub fn escape_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    let out = out.replace("##[", "##\\[");
    if out.trim_start().starts_with("::") {
        format!("\\{out}")
    } else {
        out
    }
}

/// One line on the run's pre-approvals for the summary and the terminal table, each value
/// passed through `quote`: how many TPP accepted, and what every one of them names. `None`
/// when none was asked for.
pub(crate) fn preapprovals_line(outcome: &Outcome, quote: &dyn Fn(&str) -> String) -> Option<String> {
    let first = outcome.preapprovals.first()?;
    let count = |f: &dyn Fn(&StageStatus) -> bool| outcome.preapprovals.iter().filter(|p| f(&p.outcome)).count();
    let states: Vec<String> = [
        (count(&|s| *s == StageStatus::Done), "created"),
        (count(&|s| *s == StageStatus::Planned), "planned"),
        (count(&StageStatus::is_failed), "FAILED"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let kind = if first.single_use {
        "single use, one per signing".to_string()
    } else {
        format!("shared by {} signing(s), not single use", first.serves.len())
    };
    Some(format!(
        "{}: {} on {} from {} (runner-ip {}) for {} h{}{} ({kind})",
        states.join(", "),
        quote(&first.user),
        quote(&first.dn),
        first.ip_address.as_deref().map_or_else(|| "any address".into(), quote),
        first.ip_source,
        first.hours,
        first.not_before.as_deref().map(|n| format!(", not before {}", quote(n))).unwrap_or_default(),
        first.signing_executable.as_deref().map(|e| format!(", for {}", quote(e))).unwrap_or_default(),
    ))
}
