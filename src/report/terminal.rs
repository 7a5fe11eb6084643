//! A plain table for terminals and CI systems other than GitHub.

use std::io::{self, Write};

use super::scrub::escape_line;
use crate::outcome::{ArtifactRecord, Outcome, RunResult, Severity, StageStatus};
use crate::units::{human_ms, human_size};

/// The table's cells: a header, then one row per artifact shown ([`super::text::table_rows`])
/// and per given sign id.
fn rows(shown: &[&ArtifactRecord], outcome: &Outcome) -> Vec<[String; 7]> {
    let mut rows: Vec<[String; 7]> =
        vec![["ARTIFACT", "SIZE", "DIGEST", "PRE-QUALIFIED", "PRE-APPROVED", "SIGN ID", "STATUS"].map(String::from)];
    let mark = |s: &StageStatus| -> String {
        match s {
            StageStatus::NotRun => "-".into(),
            StageStatus::Done => "yes".into(),
            StageStatus::Planned => "planned".into(),
            StageStatus::Failed { .. } => "FAILED".into(),
        }
    };
    for a in shown {
        rows.push([
            escape_line(&a.name),
            a.size.map_or_else(|| "-".into(), human_size),
            a.digest.as_ref().map_or_else(|| "-".into(), |d| format!("{}…", &d.hex[..16])),
            mark(&a.prequalify),
            mark(&a.preapproval),
            a.sign.as_ref().and_then(|s| s.sign_id.as_deref()).map_or_else(|| "-".into(), escape_line),
            a.sign.as_ref().map_or_else(|| "-".into(), |s| s.status.label().to_string()),
        ]);
    }
    for s in &outcome.awaited {
        rows.push([
            "(sign id)".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            escape_line(s.sign_id.as_deref().unwrap_or_default()),
            s.status.label().into(),
        ]);
    }
    rows
}

/// The per-artifact table, then the problems, for a log that is not GitHub's.
pub fn table(outcome: &Outcome, w: &mut impl Write) -> io::Result<()> {
    let (shown, left_out) = super::text::table_rows(outcome);
    let rows = rows(&shown, outcome);
    let widths: Vec<usize> = (0..7).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    writeln!(w)?;
    for r in &rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(v, wd)| format!("{v:<wd$}")).collect();
        writeln!(w, "{}", escape_line(line.join("  ").trim_end()))?;
    }
    if let Some(line) = left_out {
        writeln!(w, "{}", escape_line(&line))?;
    }
    writeln!(w)?;
    if let Some(line) = super::text::preapprovals_line(outcome, &escape_line, &escape_line) {
        writeln!(w, "pre-approvals: {line}")?;
    }
    if let Some(line) = super::text::resumed_line(outcome, &escape_line) {
        writeln!(w, "resumed: {line}")?;
    }
    if let Some(line) = super::text::signatures_line(outcome, &escape_line) {
        writeln!(w, "signatures: {line}")?;
    }
    for p in outcome.problems.iter().take(super::text::PROBLEMS_SHOWN) {
        let tag = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let subject = p.artifact.as_deref().map(|a| format!("{a}: ")).unwrap_or_default();
        writeln!(w, "{}", escape_line(&format!("{tag}: {subject}{} ({})", p.message, p.stage)))?;
    }
    if let Some(line) = super::text::problems_left_out(outcome) {
        writeln!(w, "{line}")?;
    }
    writeln!(
        w,
        "{}: {} artifact(s), {} pre-qualified, {} pre-approved, {} signed, {} failed in {}",
        match outcome.result() {
            RunResult::Planned => "PLANNED (nothing was sent)",
            RunResult::Success => "PASSED",
            RunResult::Failure => "FAILED",
        },
        outcome.artifacts.len(),
        outcome.prequalified(),
        outcome.preapproved(),
        outcome.signed(),
        outcome.failed(),
        human_ms(outcome.duration_ms)
    )
}

/// The requests a plan would have sent, in order: method and URL, headers, then the body on
/// one line, secrets as `***`; the first few to each endpoint, then how many more the report
/// holds. Each line is escaped, as URLs and bodies carry user input.
pub fn planned_requests(outcome: &Outcome, w: &mut impl Write) -> io::Result<()> {
    let Some(plan) = &outcome.plan else { return Ok(()) };
    writeln!(w, "{} planned request(s); nothing was sent:", plan.requests.len())?;
    let (shown, more) = plan.shown();
    for (i, r) in shown {
        let about = r.artifact.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
        writeln!(w, "{}", escape_line(&format!("planned request {i}: {} {}{about}", r.service, r.endpoint)))?;
        writeln!(w, "  {}", escape_line(&format!("{} {}", r.method, r.url)))?;
        for h in &r.headers {
            writeln!(w, "  {}", escape_line(h))?;
        }
        if let Some(body) = &r.body {
            writeln!(w, "  {}", escape_line(&format!("body: {}", body.text())))?;
        }
    }
    for (endpoint, n) in more {
        writeln!(w, "… and {n} more {endpoint} request(s) like these, one per artifact: the report lists every one")?;
    }
    Ok(())
}
