//! The job summary: one Markdown table a release engineer can read at a glance.

use std::io::{self, Write};

use super::{human_ms, human_size};
use crate::outcome::{Outcome, Severity, SignRecord, StageStatus};

/// Markdown table cells: a `|` would split the cell (even inside a code span), a newline would
/// end the row. Backslashes stay as they are: DNs are full of them and code spans show them as is.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn code(s: &str) -> String {
    if s.contains('`') {
        cell(s)
    } else {
        format!("`{}`", cell(s))
    }
}

fn prequalified(s: &StageStatus) -> &'static str {
    match s {
        StageStatus::NotRun => "–",
        StageStatus::Done => "✅",
        StageStatus::Failed { .. } => "❌",
    }
}

fn sign_cells(s: Option<&SignRecord>) -> (String, String, String) {
    match s {
        None => ("–".into(), "–".into(), "–".into()),
        Some(s) => (
            s.sign_id.as_deref().map(code).unwrap_or_else(|| "–".into()),
            s.status.label().to_string(),
            s.elapsed_ms.map(human_ms).unwrap_or_else(|| "–".into()),
        ),
    }
}

pub fn markdown(outcome: &Outcome, w: &mut dyn Write) -> io::Result<()> {
    let (icon, verdict) = if outcome.success() { ("✅", "passed") } else { ("❌", "failed") };
    writeln!(w, "### {icon} codesign-gate {verdict}\n")?;
    writeln!(
        w,
        "{} artifact(s) · {} pre-qualified · {} signed · {} failed · {}\n",
        outcome.artifacts.len(),
        outcome.prequalified(),
        outcome.signed(),
        outcome.failed(),
        human_ms(outcome.duration_ms)
    )?;
    let alg = outcome.hash_algorithm.to_uppercase().replace("SHA", "SHA-");
    if !outcome.artifacts.is_empty() || !outcome.awaited.is_empty() {
        writeln!(w, "| Artifact | Size | {alg} | Pre-qualified | Sign id | Status | Time |")?;
        writeln!(w, "|---|---:|---|:---:|---|---|---:|")?;
        for a in &outcome.artifacts {
            let digest = match (&a.digest, &a.digest_error) {
                (Some(d), _) => format!("`{}…`", &d.hex[..16]),
                (None, Some(e)) => cell(e),
                (None, None) => "–".into(),
            };
            let (id, status, time) = sign_cells(a.sign.as_ref());
            writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                code(&a.name),
                human_size(a.size),
                digest,
                prequalified(&a.prequalify),
                id,
                status,
                time
            )?;
        }
        for s in &outcome.awaited {
            let (id, status, time) = sign_cells(Some(s));
            writeln!(w, "| (sign id) | – | – | – | {id} | {status} | {time} |")?;
        }
        writeln!(w)?;
    }
    if let Some(p) = &outcome.preapproval {
        let state = match &p.outcome {
            StageStatus::Done => "created",
            StageStatus::Failed { .. } => "**failed**",
            StageStatus::NotRun => "not requested",
        };
        writeln!(
            w,
            "**Pre-approval** {state}: {} on {} from {} for {} h{}{}{}\n",
            code(&p.user),
            code(&p.dn),
            p.ip_address.as_deref().map(code).unwrap_or_else(|| "any address".into()),
            p.hours,
            if p.single_use { ", single use" } else { "" },
            p.not_before.as_deref().map(|n| format!(", not before {}", code(n))).unwrap_or_default(),
            p.signing_executable.as_deref().map(|e| format!(", for {}", code(e))).unwrap_or_default(),
        )?;
    }
    let problems: Vec<_> = outcome.problems.iter().collect();
    if !problems.is_empty() {
        writeln!(w, "**Problems**\n")?;
        for p in problems {
            let mark = match p.severity {
                Severity::Error => "❌",
                Severity::Warning => "⚠️",
                Severity::Notice => "ℹ️",
            };
            let subject = p.artifact.as_deref().map(|a| format!("{} ", code(a))).unwrap_or_default();
            writeln!(w, "- {mark} {subject}({}) {}", p.stage, cell(&p.message))?;
        }
        writeln!(w)?;
    }
    Ok(())
}
