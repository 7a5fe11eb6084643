//! GitHub REST "Create a check run", as the gate speaks it: the body fields it sends and the one
//! answer field it reads. Written from GitHub's documentation, not from a client library, so a
//! misspelt field cannot agree with itself.

use serde::{Deserialize, Serialize};

/// The body of `POST /repos/{owner}/{repo}/check-runs`. Fields in the order they are sent, so a
/// plan shows the request as it goes out.
#[derive(Debug, Clone, Serialize)]
pub struct NewCheckRun {
    /// The check's name, which branch protection can require.
    pub name: String,
    /// The commit the check is shown on.
    pub head_sha: String,
    /// The gate's own reference: which run, workflow, job and environment the check is for, so
    /// a re-run of the job finds it ([`crate::github::resume_key`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The gate reports a finished run, so always [`Status::Completed`] in practice.
    pub status: Status,
    /// Documented as required once the status is `completed`.
    pub conclusion: Conclusion,
    /// What the check's page shows.
    pub output: Output,
}

/// `status`, as GitHub documents its values for a check run an app creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting to start.
    Queued,
    /// Started, not finished.
    InProgress,
    /// Finished: a conclusion is required.
    Completed,
}

/// `conclusion`: the values GitHub lets a creator set (`stale` only GitHub itself sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Every enabled stage succeeded.
    Success,
    /// At least one error.
    Failure,
    /// Neither a pass nor a fail.
    Neutral,
    /// The run was stopped by a signal.
    Cancelled,
    /// Skipped on purpose.
    Skipped,
    /// Ran out of time.
    TimedOut,
    /// Needs someone to act on the check's page.
    ActionRequired,
}

/// `output`: title and summary are required; `annotations` is left out when there are none, as
/// GitHub needs each one to name a file.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    /// One line, shown beside the check's name.
    pub title: String,
    /// Markdown, at most 65 535 characters.
    pub summary: String,
    /// Markdown, at most 65 535 characters: the sign requests, in a form a re-run reads back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// At most 50 per request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
}

/// One entry of `output.annotations`: every field GitHub requires, and its optional `title`.
#[derive(Debug, Clone, Serialize)]
pub struct Annotation {
    /// Relative to the repository's root; GitHub refuses an annotation without one.
    pub path: String,
    /// 1-based.
    pub start_line: u32,
    /// 1-based, at least `start_line`.
    pub end_line: u32,
    /// How the check's page marks it.
    pub annotation_level: AnnotationLevel,
    /// At most 64 KB.
    pub message: String,
    /// Left out when absent rather than sent as `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `annotation_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationLevel {
    /// Information only.
    Notice,
    /// A problem that does not fail the check.
    Warning,
    /// A problem that fails the check.
    Failure,
}

/// The one field of GitHub's 201 answer the gate uses; documented as nullable.
#[derive(Debug, Deserialize)]
pub(super) struct CreatedAnswer {
    pub(super) html_url: Option<String>,
}

/// "List check runs for a Git reference": the fields a re-run reads of each check run.
#[derive(Debug, Deserialize)]
pub(super) struct ListAnswer {
    pub(super) check_runs: Vec<ListedCheckRun>,
}

/// One check run GitHub listed.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListedCheckRun {
    /// GitHub's id.
    pub id: u64,
    /// What the creator set; documented as nullable.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Its output; only `text` is read.
    pub output: ListedOutput,
}

/// `output` of a listed check run.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListedOutput {
    /// Documented as nullable.
    #[serde(default)]
    pub text: Option<String>,
}

/// GitHub's error answer, `{"message": …, "documentation_url": …}`; only the message is shown.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorAnswer {
    pub(super) message: Option<String>,
}
