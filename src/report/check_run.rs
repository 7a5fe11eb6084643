//! The outcome as a GitHub check run (through octocrab): a named status on the commit that
//! branch protection can require, with the summary table and the problems as annotations.

use std::path::Path;

use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel, CheckRunStatus,
};

use super::{github, summary};
use crate::config::CheckRunConfig;
use crate::outcome::{Outcome, Severity};

/// GitHub's limits: 65 535 characters of summary, 50 annotations per request.
const MAX_SUMMARY: usize = 65_535;
const MAX_ANNOTATIONS: usize = 50;

/// What the check run says: pure, so the tests can read it without a GitHub.
pub fn render(
    outcome: &Outcome,
    working_directory: &Path,
    workspace: Option<&Path>,
) -> (CheckRunConclusion, CheckRunOutput) {
    let conclusion = match (outcome.cancelled, outcome.success()) {
        (Some(_), _) => CheckRunConclusion::Cancelled,
        (None, true) => CheckRunConclusion::Success,
        (None, false) => CheckRunConclusion::Failure,
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
            Some(CheckRunOutputAnnotation {
                path: github::workspace_path(name, working_directory, workspace),
                start_line: 1,
                end_line: 1,
                start_column: None,
                end_column: None,
                annotation_level: match p.severity {
                    Severity::Error => CheckRunOutputAnnotationLevel::Failure,
                    Severity::Warning => CheckRunOutputAnnotationLevel::Warning,
                },
                message: p.message.clone(),
                title: Some(format!("codesign-gate: {}", p.stage)),
                raw_details: None,
            })
        })
        .take(MAX_ANNOTATIONS)
        .collect();
    let title =
        format!("{} signed, {} failed of {} artifact(s)", outcome.signed(), outcome.failed(), outcome.artifacts.len());
    (conclusion, CheckRunOutput { title, summary, text: None, annotations, images: Vec::new() })
}

/// Creates the check run; returns its page. A failure here does not change the gate's verdict.
pub async fn publish(
    cfg: &CheckRunConfig,
    outcome: &Outcome,
    working_directory: &Path,
    workspace: Option<&Path>,
) -> Result<Option<String>, String> {
    let client = octocrab::Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(|e| format!("GITHUB_API_URL: {e}"))?
        .personal_token(cfg.token.expose().to_string())
        .build()
        .map_err(|e| format!("cannot set up the GitHub client: {e}"))?;
    let (conclusion, output) = render(outcome, working_directory, workspace);
    let run = client
        .checks(&cfg.owner, &cfg.repo)
        .create_check_run(&cfg.name, &cfg.head_sha)
        .status(CheckRunStatus::Completed)
        .conclusion(conclusion)
        .output(output)
        .send()
        .await
        .map_err(|e| format!("creating check run `{}` failed: {}", cfg.name, one_line(&e.to_string())))?;
    Ok(run.html_url)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
