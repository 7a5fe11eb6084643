//! The job summary: one Markdown table a release engineer can read at a glance.

use std::io::{self, Write};

use super::scrub::{escape_line, md_code as code, md_text as text};
use crate::outcome::{Outcome, Revocation, RunResult, Severity, SignRecord, StageStatus};
use crate::units::{human_ms, human_size};

/// A line of a fenced code block: one line, hidden characters shown, and no fence inside.
fn fenced(s: &str) -> String {
    escape_line(s).replace("```", "`\u{200b}``")
}

/// A TPP stage's cell: a pre-qualification or a pre-approval.
fn mark(s: &StageStatus) -> &'static str {
    match s {
        StageStatus::NotRun => "–",
        StageStatus::Done => "✅",
        StageStatus::Planned => "planned",
        StageStatus::Failed { .. } => "❌",
    }
}

fn sign_cells(s: Option<&SignRecord>) -> (String, String, String) {
    match s {
        None => ("–".into(), "–".into(), "–".into()),
        Some(s) => (
            s.sign_id.as_deref().map_or_else(|| "–".into(), code),
            s.status.label().to_string(),
            s.elapsed_ms.map_or_else(|| "–".into(), human_ms),
        ),
    }
}

/// What became of the tokens the gate obtained; nothing when it obtained none.
fn revocation_line(revocations: &[Revocation]) -> Option<String> {
    let count = |r: Revocation| revocations.iter().filter(|x| **x == r).count();
    let (revoked, dead, failed) =
        (count(Revocation::Revoked), count(Revocation::AlreadyInvalid), count(Revocation::Failed));
    let mut parts = Vec::new();
    if count(Revocation::Planned) > 0 {
        parts.push("planned: obtained, then revoked at the end".to_string());
    }
    if revoked > 0 {
        parts.push(if revoked == 1 { "revoked".to_string() } else { format!("{revoked} revoked") });
    }
    if dead > 0 {
        parts.push(format!("{dead} already invalid (expired or revoked elsewhere)"));
    }
    if failed > 0 {
        parts.push(format!("**{failed} not revoked**: revoke in TPP or let expire"));
    }
    (!parts.is_empty()).then(|| format!("**TPP token** {}", parts.join(", ")))
}

/// A plan's requests, in order: method and URL in the list, headers and body folded away; the
/// first few to each endpoint, then how many more the report holds.
fn planned_requests(outcome: &Outcome, w: &mut dyn Write) -> io::Result<()> {
    let Some(plan) = &outcome.plan else { return Ok(()) };
    writeln!(w, "**Planned requests** ({}, in order; nothing was sent, secrets read `***`)\n", plan.requests.len())?;
    let (shown, more) = plan.shown();
    for (i, r) in &shown {
        let about = r.artifact.as_deref().map(|a| format!(" for {}", code(a))).unwrap_or_default();
        writeln!(w, "{i}. {}{about}", code(&format!("{} {}", r.method, r.url)))?;
    }
    if !more.is_empty() {
        writeln!(w)?;
        for (endpoint, n) in &more {
            writeln!(
                w,
                "- and {n} more `{endpoint}` request(s) like these, one per artifact: the report lists every one"
            )?;
        }
    }
    writeln!(w, "\n<details><summary>Headers and bodies</summary>\n\n```")?;
    for (i, r) in &shown {
        writeln!(w, "{i}. {}", fenced(&format!("{} {}", r.method, r.url)))?;
        for h in &r.headers {
            writeln!(w, "   {}", fenced(h))?;
        }
        if let Some(body) = &r.body {
            writeln!(w, "   {}", fenced(body.text()))?;
        }
    }
    writeln!(w, "```\n\n</details>\n")
}

/// One row per artifact and per given sign id, nothing when there is neither.
fn table(outcome: &Outcome, w: &mut dyn Write) -> io::Result<()> {
    if outcome.artifacts.is_empty() && outcome.awaited.is_empty() {
        return Ok(());
    }
    let alg = outcome.hash_algorithm.to_uppercase().replace("SHA", "SHA-");
    writeln!(w, "| Artifact | Size | {alg} | Pre-qualified | Pre-approved | Sign id | Status | Time |")?;
    writeln!(w, "|---|---:|---|:---:|:---:|---|---|---:|")?;
    let (shown, left_out) = super::text::table_rows(outcome);
    for a in shown {
        let digest = match (&a.digest, &a.digest_error) {
            (Some(d), _) => format!("`{}…`", &d.hex[..16]),
            (None, Some(e)) => text(e),
            (None, None) => "–".into(),
        };
        let (id, status, time) = sign_cells(a.sign.as_ref());
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            code(&a.name),
            a.size.map_or_else(|| "–".into(), human_size),
            digest,
            mark(&a.prequalify),
            mark(&a.preapproval),
            id,
            status,
            time
        )?;
    }
    for s in &outcome.awaited {
        let (id, status, time) = sign_cells(Some(s));
        writeln!(w, "| (sign id) | – | – | – | – | {id} | {status} | {time} |")?;
    }
    writeln!(w)?;
    if let Some(line) = left_out {
        writeln!(w, "_{}_\n", text(&line))?;
    }
    Ok(())
}

/// Renders the whole summary, as it is appended to `GITHUB_STEP_SUMMARY`.
pub fn markdown(outcome: &Outcome, w: &mut dyn Write) -> io::Result<()> {
    let (icon, verdict) = match outcome.result() {
        RunResult::Planned => ("📝", "planned: nothing was sent"),
        RunResult::Success => ("✅", "passed"),
        RunResult::Failure => ("❌", "failed"),
    };
    writeln!(w, "### {icon} codesign-gate {verdict}\n")?;
    writeln!(
        w,
        "{} artifact(s) · {} pre-qualified · {} pre-approved · {} signed · {} failed · {}\n",
        outcome.artifacts.len(),
        outcome.prequalified(),
        outcome.preapproved(),
        outcome.signed(),
        outcome.failed(),
        human_ms(outcome.duration_ms)
    )?;
    table(outcome, w)?;
    if let Some(line) = super::text::preapprovals_line(outcome, &code, &text) {
        writeln!(w, "**Pre-approvals** {line}\n")?;
    }
    if let Some(line) = super::text::resumed_line(outcome, &code) {
        writeln!(w, "**Resumed** {line}\n")?;
    }
    if let Some(line) = super::text::signatures_line(outcome, &code) {
        writeln!(w, "**Signatures** {line}\n")?;
    }
    if let Some(line) = outcome.tpp_auth.as_ref().and_then(|a| revocation_line(&a.revocations)) {
        writeln!(w, "{line}\n")?;
    }
    planned_requests(outcome, w)?;
    if !outcome.problems.is_empty() {
        writeln!(w, "**Problems**\n")?;
        for p in outcome.problems.iter().take(super::text::PROBLEMS_SHOWN) {
            let mark = match p.severity {
                Severity::Error => "❌",
                Severity::Warning => "⚠️",
            };
            let subject = p.artifact.as_deref().map(|a| format!("{} ", code(a))).unwrap_or_default();
            writeln!(w, "- {mark} {subject}({}) {}", p.stage, text(&p.message))?;
        }
        if let Some(line) = super::text::problems_left_out(outcome) {
            writeln!(w, "- {}", text(&line))?;
        }
        writeln!(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::tests::empty_outcome;
    use crate::outcome::{ArtifactRecord, DigestRecord, PreApprovalRecord, SignRecord, SignStatus};

    #[test]
    fn the_table_as_a_release_engineer_reads_it() {
        let mut o = empty_outcome();
        o.duration_ms = 2400;
        let artifact = |name: &str, prequalify, preapproval, sign| ArtifactRecord {
            name: name.into(),
            path: format!("/ws/{name}"),
            size: Some(1536),
            digest: Some(DigestRecord { algorithm: "sha256", hex: "ab".repeat(32), base64: String::new() }),
            digest_error: None,
            prequalify,
            prequalify_result: None,
            preapproval,
            preapproval_index: None,
            sign,
            resumed: false,
        };
        let signed = SignRecord {
            status: SignStatus::Signed,
            elapsed_ms: Some(1250),
            ..SignRecord::pending("65c47fa41112f940dab1cb12")
        };
        o.artifacts.push(artifact("dist/app.exe", StageStatus::Done, StageStatus::Done, Some(signed)));
        o.artifacts.push(artifact(
            "dist/a|b.dll",
            StageStatus::Failed { message: "no".into() },
            StageStatus::NotRun,
            Some(SignRecord::not_submitted("x")),
        ));
        o.preapprovals.push(PreApprovalRecord {
            serves: vec!["dist/app.exe".into()],
            requested_at: Some("2026-01-01T00:00:01Z".into()),
            dn: r"\VED\Code Signing\P".into(),
            user: "local:u".into(),
            comment: String::new(),
            hours: 1,
            ip_address: Some("10.0.0.7".into()),
            ip_source: "auto (route to TPP)".into(),
            not_before: None,
            signing_executable: None,
            single_use: true,
            outcome: StageStatus::Done,
            result: None,
        });
        o.error("prequalify", Some("dist/a|b.dll"), "refused:\nResult 2");
        let mut out = Vec::new();
        markdown(&o, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "### ❌ codesign-gate failed\n\n\
             2 artifact(s) · 1 pre-qualified · 1 pre-approved · 1 signed · 1 failed · 2.4 s\n\n\
             | Artifact | Size | SHA-256 | Pre-qualified | Pre-approved | Sign id | Status | Time |\n\
             |---|---:|---|:---:|:---:|---|---|---:|\n\
             | `dist/app.exe` | 1.5 KiB | `abababababababab…` | ✅ | ✅ | `65c47fa41112f940dab1cb12` | signed | 1.2 s |\n\
             | `dist/a\\|b.dll` | 1.5 KiB | `abababababababab…` | ❌ | – | – | not submitted | – |\n\n\
             **Pre-approvals** 1 created: `local:u` on `\\VED\\Code Signing\\P` from `10.0.0.7` (runner-ip auto (route to TPP)) for 1 h (single use, one per signing)\n\n\
             **Problems**\n\n\
             - ❌ `dist/a\\|b.dll` (prequalify) refused: Result 2\n\n"
        );
    }

    #[test]
    fn a_plan_says_planned_and_lists_its_requests_in_order() {
        use crate::outcome::{PlanRecord, PlannedRequest};
        let request = |method: &str, url: &str| PlannedRequest {
            service: "tpp",
            endpoint: "x",
            artifact: None,
            method: method.into(),
            url: url.into(),
            headers: vec!["authorization: ***".into()],
            body: None,
        };
        let plan = PlanRecord {
            reason: "dry-run",
            withheld: Vec::new(),
            requests: [
                request("POST", "https://tpp.example.com/vedauth/authorize/oauth"),
                request("GET", "https://tpp.example.com/vedauth/revoke/token"),
            ]
            .into_iter()
            .collect(),
        };
        let o = empty_outcome().into_plan(plan);
        let mut out = Vec::new();
        markdown(&o, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("### 📝 codesign-gate planned: nothing was sent\n"), "{text}");
        assert!(
            text.contains("1. `POST https://tpp.example.com/vedauth/authorize/oauth`\n2. `GET https://tpp.example.com/vedauth/revoke/token`\n"),
            "{text}"
        );
        assert!(text.contains("   authorization: ***\n"), "{text}");
    }

    #[test]
    fn revocations_say_what_became_of_each_token() {
        use Revocation::*;
        assert_eq!(revocation_line(&[]), None);
        assert_eq!(revocation_line(&[Revoked]).as_deref(), Some("**TPP token** revoked"));
        assert_eq!(
            revocation_line(&[AlreadyInvalid, Revoked]).as_deref(),
            Some("**TPP token** revoked, 1 already invalid (expired or revoked elsewhere)")
        );
        assert_eq!(
            revocation_line(&[Failed]).as_deref(),
            Some("**TPP token** **1 not revoked**: revoke in TPP or let expire")
        );
    }
}
