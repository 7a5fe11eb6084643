//! The workflow run the gate is part of, and where to publish its check run.

use std::path::PathBuf;

use reqwest::Url;

use super::fork::Withheld;
use super::inputs::{bad, env_var, InputError, Inputs};
use super::values::https_or_loopback;
use crate::secret::Secret;

/// Facts about the workflow run, for the default comment and the audit record.
#[derive(Debug, Clone, Default)]
pub struct GithubContext {
    /// `GITHUB_ACTIONS`: whether the record comes from a GitHub Actions job or a local run.
    pub actions: bool,
    /// `GITHUB_REPOSITORY` (owner/repo), so a record can be traced back to its source.
    pub repository: Option<String>,
    /// `GITHUB_SHA`, the commit the signed artifacts were built from.
    pub sha: Option<String>,
    /// `GITHUB_RUN_ID`, for the link to the run.
    pub run_id: Option<String>,
    /// `GITHUB_RUN_ATTEMPT`, as a re-run shares the run id with the attempt before it.
    pub run_attempt: Option<String>,
    /// `GITHUB_SERVER_URL`, so links point at GitHub Enterprise Server when that is where the run is.
    pub server_url: Option<String>,
    /// `GITHUB_WORKFLOW`, for the audit record.
    pub workflow: Option<String>,
    /// `GITHUB_WORKFLOW_REF` (`owner/repo/.github/workflows/release.yml@refs/tags/v1`): which
    /// workflow file, at which ref, ran the signing, for the signing record.
    pub workflow_ref: Option<String>,
    /// `GITHUB_JOB`, for the audit record.
    pub job: Option<String>,
    /// `RUNNER_ENVIRONMENT` (`github-hosted` or `self-hosted`): a GitHub-hosted runner always
    /// reaches the internet through NAT, which decides what `runner-ip: auto` may pre-approve.
    pub runner_environment: Option<String>,
    /// `GITHUB_OUTPUT`: a runner path, kept out of the report.
    pub output_file: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: a runner path, kept out of the report.
    pub summary_file: Option<PathBuf>,
    /// A `pull_request` run from a fork (`GITHUB_EVENT_NAME` and the payload at
    /// `GITHUB_EVENT_PATH`), which GitHub gives no secrets; the plan in the report says so.
    pub fork_pull_request: bool,
}

impl GithubContext {
    /// Reads the variables the runner sets; blank ones count as unset, as outside a workflow.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        GithubContext {
            actions: get("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            repository: get("GITHUB_REPOSITORY"),
            sha: get("GITHUB_SHA"),
            run_id: get("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT"),
            server_url: get("GITHUB_SERVER_URL"),
            workflow: get("GITHUB_WORKFLOW"),
            workflow_ref: get("GITHUB_WORKFLOW_REF"),
            job: get("GITHUB_JOB"),
            runner_environment: get("RUNNER_ENVIRONMENT"),
            output_file: get("GITHUB_OUTPUT").map(PathBuf::from),
            summary_file: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            fork_pull_request: super::fork::is_fork_pull_request(
                get("GITHUB_EVENT_NAME").as_deref(),
                get("GITHUB_EVENT_PATH").and_then(|path| std::fs::read_to_string(path).ok()).as_deref(),
            ),
        }
    }

    /// Whether the job runs on a GitHub-hosted runner, whose private address is always behind NAT.
    pub fn github_hosted(&self) -> bool {
        self.runner_environment.as_deref().is_some_and(|e| e.trim().eq_ignore_ascii_case("github-hosted"))
    }

    /// The run's page, when known: the default TPP comment links it so a record leads back to the run.
    pub fn run_url(&self) -> Option<String> {
        let server = self.server_url.as_deref().unwrap_or("https://github.com");
        Some(format!(
            "{}/{}/actions/runs/{}",
            server.trim_end_matches('/'),
            self.repository.as_ref()?,
            self.run_id.as_ref()?
        ))
    }

    /// What a TPP administrator reading the pre-approval later needs to trace it back.
    pub(super) fn default_comment(&self) -> String {
        let mut parts = vec!["codesign-gate".to_string()];
        if let Some(repo) = &self.repository {
            match &self.sha {
                Some(sha) => parts.push(format!("{repo}@{}", sha.chars().take(12).collect::<String>())),
                None => parts.push(repo.clone()),
            }
        }
        if let Some(url) = self.run_url() {
            parts.push(url);
        }
        if let Some(attempt) = &self.run_attempt {
            parts.push(format!("attempt {attempt}"));
        }
        parts.join(" ")
    }
}

/// Where and as what to publish a check run.
#[derive(Debug, Clone)]
pub struct CheckRunConfig {
    /// The check's name, which branch protection rules can require.
    pub name: String,
    /// Needs `checks: write`; masked like any other secret.
    pub token: Secret,
    /// `GITHUB_API_URL`, so GitHub Enterprise Server works; held to the https rule as the token travels to it.
    pub api_url: Url,
    /// From `GITHUB_REPOSITORY`: a check run belongs to the repository the workflow runs in.
    pub owner: String,
    /// From `GITHUB_REPOSITORY`.
    pub repo: String,
    /// `GITHUB_SHA`: the commit the check is shown on.
    pub head_sha: String,
}

/// A check run exists only inside a workflow, so the GitHub context must be complete.
pub(super) fn check_run_config(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    github: &GithubContext,
    withheld: &Withheld,
) -> Result<Option<CheckRunConfig>, InputError> {
    let Some(name) = inputs.trimmed("check-run") else {
        return Ok(None);
    };
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(bad("check-run", "must be a short name such as `codesign-gate`"));
    }
    let token =
        withheld.credential(inputs, "github-token").map(|t| Secret::new(t.expose().trim())).ok_or_else(|| {
            bad(
                "github-token",
                "is required with check-run: pass `${{ secrets.GITHUB_TOKEN }}` and grant `checks: write`",
            )
        })?;
    let (owner, repo) = github
        .repository
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| bad("check-run", "needs GITHUB_REPOSITORY (owner/repo): it runs only inside a workflow"))?;
    let head_sha =
        github.sha.clone().ok_or_else(|| bad("check-run", "needs GITHUB_SHA: it runs only inside a workflow"))?;
    let raw = env_var(env, "GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
    let api_url =
        Url::parse(&raw).map_err(|e| bad("check-run", format!("GITHUB_API_URL `{raw}` is not a URL ({e})")))?;
    if !https_or_loopback(&api_url) {
        return Err(bad("check-run", "GITHUB_API_URL must use https"));
    }
    Ok(Some(CheckRunConfig {
        name: name.to_string(),
        token,
        api_url,
        owner: owner.into(),
        repo: repo.into(),
        head_sha,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_odd_github_sha_cannot_panic_the_default_comment() {
        let env = |k: &str| match k {
            "GITHUB_REPOSITORY" => Some("acme/rocket".to_string()),
            "GITHUB_SHA" => Some("ééééééééééééé".to_string()),
            _ => None,
        };
        assert!(GithubContext::from_env(&env).default_comment().starts_with("codesign-gate acme/rocket@éééééééééééé"));
    }
}
