//! The outcome as a GitHub check run: a named status on the commit that branch protection can
//! require, with the summary table and the problems as annotations. Rendering only, so the
//! tests can read it without a GitHub; [`crate::github`] sends it, through the run's HTTP client.

use std::path::Path;

use super::{github, scrub, summary};
use crate::config::CheckRunConfig;
use crate::github::{Annotation, AnnotationLevel, Conclusion, NewCheckRun, Output, Status};
use crate::outcome::{Outcome, Severity};

/// GitHub's limits: 65 535 characters of summary, 50 annotations per request.
const MAX_SUMMARY: usize = 65_535;
const MAX_ANNOTATIONS: usize = 50;

/// The check run's body: finished, with the run's verdict as its conclusion.
pub fn render(
    cfg: &CheckRunConfig,
    outcome: &Outcome,
    working_directory: &Path,
    workspace: Option<&Path>,
) -> NewCheckRun {
    let conclusion = match (outcome.cancelled, outcome.success()) {
        (Some(_), _) => Conclusion::Cancelled,
        (None, true) => Conclusion::Success,
        (None, false) => Conclusion::Failure,
    };
    let mut markdown = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = summary::markdown(outcome, &mut markdown);
    let mut summary = String::from_utf8_lossy(&markdown).into_owned();
    if summary.len() > MAX_SUMMARY {
        let mut cut = MAX_SUMMARY - 40;
        while !summary.is_char_boundary(cut) {
            cut -= 1;
        }
        summary.truncate(cut);
        summary.push_str("\n\n… (cut: see the job summary)");
    }
    // GitHub needs a path for an annotation: problems of the run as a whole stay in the summary.
    let annotations = outcome
        .problems
        .iter()
        .filter_map(|p| {
            let name = p.artifact.as_deref()?;
            Some(Annotation {
                path: github::workspace_path(name, working_directory, workspace),
                start_line: 1,
                end_line: 1,
                annotation_level: match p.severity {
                    Severity::Error => AnnotationLevel::Failure,
                    Severity::Warning => AnnotationLevel::Warning,
                },
                message: scrub::plain(&p.message),
                title: Some(format!("codesign-gate: {}", p.stage)),
            })
        })
        .take(MAX_ANNOTATIONS)
        .collect();
    let title =
        format!("{} signed, {} failed of {} artifact(s)", outcome.signed(), outcome.failed(), outcome.artifacts.len());
    NewCheckRun {
        name: cfg.name.clone(),
        head_sha: cfg.head_sha.clone(),
        external_id: key(outcome),
        status: Status::Completed,
        conclusion,
        output: Output { title, summary, text: resume_text(outcome), annotations },
    }
}

/// This step's [`crate::github::resume_key`], when the run knows what it needs.
fn key(outcome: &Outcome) -> Option<String> {
    let g = &outcome.github;
    let environment = outcome.environment_dn.as_deref().unwrap_or_default();
    Some(crate::github::resume_key(g.run_id.as_deref()?, g.workflow.as_deref()?, g.job.as_deref()?, environment))
}

/// The sign requests, as an HTML comment (invisible on the check's page) holding the fields of
/// the report that `resume-from` reads, so a re-run of the job can wait for them instead of
/// submitting again. `None` when nothing was submitted, or the list would not fit.
fn resume_text(outcome: &Outcome) -> Option<String> {
    let artifacts: Vec<serde_json::Value> = outcome
        .artifacts
        .iter()
        .filter_map(|a| {
            let sign = a.sign.as_ref()?;
            Some(serde_json::json!({
                "name": a.name,
                "digest": a.digest.as_ref().map(|d| serde_json::json!({"hex": d.hex})),
                "sign": {"sign_id": sign.sign_id, "status": super::record::sign_status(sign.status)},
            }))
        })
        .collect();
    if outcome.appviewx_signing_key.is_none() || !artifacts.iter().any(|a| !a["sign"]["sign_id"].is_null()) {
        return None;
    }
    let record = serde_json::json!({
        "report_version": super::record::VERSION,
        "run_attempt": outcome.github.run_attempt,
        "hash_algorithm": outcome.hash_algorithm,
        "environment_dn": outcome.environment_dn,
        "appviewx_signing_policy": outcome.appviewx_signing_policy,
        "appviewx_signing_key": outcome.appviewx_signing_key,
        "artifacts": artifacts,
    });
    // `-->` cannot occur in JSON text outside a string, and serde_json escapes nothing that
    // would make one inside; `--` in a name still could, so it is written as `-\u002d`.
    let json = serde_json::to_string(&record).ok()?.replace("--", "-\\u002d");
    let text = format!("{}\n{json}\n-->\n", crate::github::RESUME_MARK);
    (text.len() <= MAX_SUMMARY).then_some(text)
}
