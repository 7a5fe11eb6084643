//! The one line every view gives the run's pre-approvals.

use crate::outcome::{Outcome, StageStatus};

/// One line on the run's pre-approvals for the summary and the terminal table, each value
/// passed through `quote` and the address's source through `text`: how many TPP accepted, and
/// what every one of them names. `None` when none was asked for.
pub(crate) fn preapprovals_line(
    outcome: &Outcome,
    quote: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> Option<String> {
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
        text(&first.ip_source),
        first.hours,
        first.not_before.as_deref().map(|n| format!(", not before {}", quote(n))).unwrap_or_default(),
        first.signing_executable.as_deref().map(|e| format!(", for {}", quote(e))).unwrap_or_default(),
    ))
}
