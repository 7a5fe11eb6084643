//! GitHub's REST API, the two calls the gate makes to it: "Create a check run", and on a re-run of
//! a job "List check runs for a Git reference", to find the earlier attempt's. They go through
//! the run's [`Http`] like every vendor call, so the retry policy, the deadline, `ca-certificates`
//! (GitHub Enterprise Server behind a private CA), the journal and the plan all see it.

pub mod model;

use reqwest::{Method, Url};

use crate::http::{field_names, Call, Http, HttpError, Repeat};
use crate::secret::Secret;
pub use model::{Annotation, AnnotationLevel, Conclusion, ListedCheckRun, ListedOutput, NewCheckRun, Output, Status};
use model::{CreatedAnswer, ErrorAnswer, ListAnswer};

/// The service and endpoint names the journal and a plan show for the call.
const SERVICE: &str = "github";
const CHECK_RUNS: &str = "check-runs";
const LIST_CHECK_RUNS: &str = "list-check-runs";
/// The REST API version the body is written against; GitHub answers in that version's shape.
const API_VERSION: &str = "2022-11-28";
/// GitHub's error messages are one sentence; anything longer is not worth a log line.
const MAX_MESSAGE: usize = 300;

/// The repository a check run is created in, and the token allowed to (`checks: write`).
#[derive(Debug, Clone)]
pub struct Repository {
    /// `GITHUB_API_URL`; a GitHub Enterprise Server's ends in `/api/v3`, which is kept.
    pub api_url: Url,
    /// The owner, as in `owner/repo`.
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// Sent as the bearer; never shown.
    pub token: Secret,
}

/// Why a check run was not created.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GithubError {
    /// GitHub answered, but not with 201 Created.
    #[error("{CHECK_RUNS}: GitHub answered HTTP {status}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// GitHub's `message`, on one line and cut short; else the answer's field names.
        message: Option<String>,
    },
    /// `GITHUB_API_URL` cannot take a path (such as `mailto:`).
    #[error("{CHECK_RUNS}: GITHUB_API_URL `{0}` cannot take the check-runs path")]
    BadUrl(String),
    /// No usable answer at all, after whatever retries the policy allowed.
    #[error("{0}")]
    Http(#[from] HttpError),
}

/// A check run GitHub created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its page; GitHub documents it as nullable.
    pub html_url: Option<String>,
}

/// Speaks GitHub's REST API for one repository.
pub struct GithubClient {
    http: Http,
    repository: Repository,
}

impl GithubClient {
    /// A client for `repository`, over the run's HTTP client (or one built from its options).
    pub fn new(http: Http, repository: Repository) -> Self {
        GithubClient { http, repository }
    }

    /// Creates a check run. Sent at most once after an answer that may have reached GitHub (a
    /// second POST would show a second check on the commit), like a pre-approval.
    pub async fn create_check_run(&self, body: &NewCheckRun) -> Result<Created, GithubError> {
        let mut call = Call::new(SERVICE, CHECK_RUNS, Method::POST, check_runs_url(&self.repository)?)
            .header("accept", "application/vnd.github+json")
            .bearer(&self.repository.token)
            .header("x-github-api-version", API_VERSION)
            // GitHub refuses requests without one; the client sets the same, a plan shows it.
            .header("user-agent", concat!("codesign-gate/", env!("CARGO_PKG_VERSION")))
            .json(body)
            // A cancelled run's verdict (`cancelled`) is still worth showing on the commit: the
            // call goes out after a cancellation, with the short timeout clean-up calls get.
            .cleanup();
        call.repeat = Repeat::Once;
        let reply = self.http.send(&call).await?;
        parse_created(reply.status, &reply.body)
    }

    /// The check runs of this name on `head_sha` (the first 100: one per attempt of a job).
    pub async fn list_check_runs(&self, head_sha: &str, name: &str) -> Result<Vec<ListedCheckRun>, GithubError> {
        let mut url = commit_check_runs_url(&self.repository, head_sha)?;
        url.query_pairs_mut()
            .append_pair("check_name", name)
            .append_pair("filter", "all")
            .append_pair("per_page", "100");
        let call = Call::new(SERVICE, LIST_CHECK_RUNS, Method::GET, url)
            .header("accept", "application/vnd.github+json")
            .bearer(&self.repository.token)
            .header("x-github-api-version", API_VERSION)
            .header("user-agent", concat!("codesign-gate/", env!("CARGO_PKG_VERSION")));
        let reply = self.http.send(&call).await?;
        if reply.status != 200 {
            let Err(GithubError::Refused { message, .. }) = parse_created(reply.status, &reply.body) else {
                return Err(GithubError::Refused { status: reply.status, message: None });
            };
            return Err(GithubError::Refused { status: reply.status, message });
        }
        serde_json::from_slice::<ListAnswer>(&reply.body).map(|a| a.check_runs).map_err(|e| GithubError::Refused {
            status: reply.status,
            message: Some(format!("not the documented list of check runs ({e})")),
        })
    }
}

/// The first line of the block in a check run's `output.text` that a re-run reads back: the
/// report's fields that `resume-from` reads, as JSON, then `-->` on a line of its own.
pub const RESUME_MARK: &str = "<!-- codesign-gate resume v1";

/// The JSON of the resume block in a check run's `output.text`, if it has one.
pub fn resume_block(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once(RESUME_MARK)?;
    let (json, _) = rest.split_once("\n-->")?;
    Some(json.trim())
}

/// What identifies one gate step across attempts of a workflow run: the run, the workflow, the
/// job and the TPP environment. A re-run keeps `GITHUB_RUN_ID` and bumps the attempt, so the
/// earlier attempt's check run carries the same key; another job, workflow or environment
/// never does. Hashed, as GitHub keeps `external_id` short and the names may be long.
pub fn resume_key(run_id: &str, workflow: &str, job: &str, environment: &str) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in [run_id, workflow, job, environment] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex = h.finalize().iter().take(16).fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("codesign-gate:{hex}")
}

/// `{api}/repos/{owner}/{repo}/check-runs`, appended to the API URL's own path so that a GitHub
/// Enterprise Server's `/api/v3` stays; owner and repository are percent-encoded.
fn check_runs_url(repository: &Repository) -> Result<Url, GithubError> {
    repository_url(repository, &["check-runs"])
}

/// `{api}/repos/{owner}/{repo}/commits/{sha}/check-runs`.
fn commit_check_runs_url(repository: &Repository, head_sha: &str) -> Result<Url, GithubError> {
    repository_url(repository, &["commits", head_sha, "check-runs"])
}

/// `{api}/repos/{owner}/{repo}/` and then `path`, each segment percent-encoded.
fn repository_url(repository: &Repository, path: &[&str]) -> Result<Url, GithubError> {
    let mut url = repository.api_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| GithubError::BadUrl(repository.api_url.to_string()))?
        .pop_if_empty()
        .extend(["repos", &repository.owner, &repository.repo])
        .extend(path);
    Ok(url)
}

/// Reads GitHub's answer to "Create a check run". 201 is the verdict: the check run exists even
/// when its page's address cannot be read from the answer.
pub fn parse_created(status: u16, body: &[u8]) -> Result<Created, GithubError> {
    if status == 201 {
        let html_url = serde_json::from_slice::<CreatedAnswer>(body).ok().and_then(|a| a.html_url);
        return Ok(Created { html_url });
    }
    let message = match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer { message: Some(m) }) => Some(one_line(&m)),
        _ if body.is_empty() => None,
        _ => Some(field_names(body)),
    };
    Err(GithubError::Refused { status, message })
}

/// GitHub's message comes from the server: one line, no control characters, cut short.
fn one_line(s: &str) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(MAX_MESSAGE).collect();
    if line.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> NewCheckRun {
        NewCheckRun {
            name: "codesign-gate".into(),
            head_sha: "0123".into(),
            external_id: None,
            status: Status::Completed,
            conclusion: Conclusion::Failure,
            output: Output {
                title: "t".into(),
                summary: "s".into(),
                text: None,
                annotations: vec![Annotation {
                    path: "dist/app.exe".into(),
                    start_line: 1,
                    end_line: 1,
                    annotation_level: AnnotationLevel::Failure,
                    message: "m".into(),
                    title: Some("codesign-gate: tpp".into()),
                }],
            },
        }
    }

    #[test]
    fn the_body_has_the_documented_names_in_order() {
        let json = serde_json::to_string(&body()).unwrap();
        assert_eq!(
            json,
            r#"{"name":"codesign-gate","head_sha":"0123","status":"completed","conclusion":"failure","output":{"title":"t","summary":"s","annotations":[{"path":"dist/app.exe","start_line":1,"end_line":1,"annotation_level":"failure","message":"m","title":"codesign-gate: tpp"}]}}"#
        );
        let mut quiet = body();
        quiet.output.annotations.clear();
        quiet.conclusion = Conclusion::Cancelled;
        let json = serde_json::to_value(&quiet).unwrap();
        assert_eq!(json["conclusion"], "cancelled");
        assert!(json["output"].get("annotations").is_none(), "no empty list is sent");
    }

    #[test]
    fn the_path_is_appended_to_the_api_url() {
        let client = |api: &str, owner: &str| {
            let repository = Repository {
                api_url: Url::parse(api).unwrap(),
                owner: owner.into(),
                repo: "rocket".into(),
                token: Secret::new("t"),
            };
            check_runs_url(&repository).map(|u| u.to_string())
        };
        assert_eq!(
            client("https://api.github.com", "acme").unwrap(),
            "https://api.github.com/repos/acme/rocket/check-runs"
        );
        assert_eq!(
            client("https://ghe.example.com/api/v3/", "acme").unwrap(),
            "https://ghe.example.com/api/v3/repos/acme/rocket/check-runs"
        );
        assert_eq!(
            client("https://ghe.example.com/api/v3?x=1", "a/b").unwrap(),
            "https://ghe.example.com/api/v3/repos/a%2Fb/rocket/check-runs"
        );
        assert!(matches!(client("mailto:someone@example.com", "acme"), Err(GithubError::BadUrl(_))));
    }

    #[test]
    fn answers_are_read_as_documented() {
        let created = br#"{"id":4,"html_url":"https://github.com/acme/rocket/runs/4","output":{}}"#;
        assert_eq!(
            parse_created(201, created).unwrap().html_url.as_deref(),
            Some("https://github.com/acme/rocket/runs/4")
        );
        assert_eq!(parse_created(201, br#"{"id":4,"html_url":null}"#).unwrap().html_url, None);
        assert_eq!(parse_created(201, b"").unwrap().html_url, None, "201 means created, whatever the body");
        let refused =
            br#"{"message":"Resource not accessible\nby integration","documentation_url":"https://docs.github.com"}"#;
        assert_eq!(
            parse_created(403, refused).unwrap_err().to_string(),
            "check-runs: GitHub answered HTTP 403 (Resource not accessible by integration)"
        );
        assert_eq!(
            parse_created(502, b"<html>").unwrap_err().to_string(),
            "check-runs: GitHub answered HTTP 502 (6 bytes that are not JSON)"
        );
        assert_eq!(parse_created(500, b"").unwrap_err().to_string(), "check-runs: GitHub answered HTTP 500");
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert!(parse_created(422, long.as_bytes()).unwrap_err().to_string().len() < 400);
    }
}
