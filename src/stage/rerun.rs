//! A re-run of a job resumes from the earlier attempt's check run: it finds the check run the
//! gate published then (same commit, name and [`crate::github::resume_key`]: run, workflow, job
//! and environment), reads the sign requests it recorded, and waits for them as `resume-from`
//! would, so a job re-run after a timeout does not submit everything again.

use super::Context;
use crate::config::{self, CheckRunConfig, Resume};
use crate::github::{self, GithubClient, Repository};
use crate::http::Http;

/// The earlier attempt's sign requests, when this is a re-run that may resume from them. What
/// goes wrong on the way is an `Err` for a warning, and the run goes on afresh: resuming saves
/// work, it never decides a verdict.
pub async fn earlier_attempt(ctx: &Context<'_>, check: &CheckRunConfig, http: &Http) -> Result<Option<Resume>, String> {
    let config = ctx.config;
    let g = &config.github;
    let Some(attempt) = g.run_attempt.as_deref().and_then(|a| a.parse::<u32>().ok()) else { return Ok(None) };
    if attempt < 2 || !config.resume_reruns || config.resume.is_some() {
        return Ok(None);
    }
    let (Some(run_id), Some(workflow), Some(job)) = (g.run_id.as_deref(), g.workflow.as_deref(), g.job.as_deref())
    else {
        return Ok(None);
    };
    let environment = config.tpp.as_ref().map_or("", |t| t.environment_dn.as_str());
    let key = github::resume_key(run_id, workflow, job, environment);
    let repository = Repository {
        api_url: check.api_url.clone(),
        owner: check.owner.clone(),
        repo: check.repo.clone(),
        token: check.token.clone(),
    };
    let listed = match GithubClient::new(http.clone(), repository).list_check_runs(&check.head_sha, &check.name).await {
        Ok(listed) => listed,
        Err(e) => {
            return Err(format!(
                "re-run attempt {attempt}: the earlier check runs cannot be listed ({e}); running afresh"
            ));
        }
    };
    // GitHub lists the newest first: the latest earlier attempt that recorded sign requests.
    let Some((id, block)) = listed.iter().filter(|c| c.external_id.as_deref() == Some(key.as_str())).find_map(|c| {
        let block = github::resume_block(c.output.text.as_deref()?)?;
        Some((c.id, block))
    }) else {
        ctx.log.info(&format!(
            "re-run attempt {attempt}: no earlier check run `{}` recorded sign requests; running afresh",
            check.name
        ));
        return Ok(None);
    };
    let from = format!("check run {id} of an earlier attempt");
    let read = serde_json::from_str::<config::EarlierReport>(block).map_err(|e| e.to_string()).and_then(|report| {
        let (tpp, avx) = (config.tpp.as_ref(), config.appviewx.as_ref());
        config::earlier(report, &from, "resume", tpp, avx, config.artifacts.hash_algorithm).map_err(|e| e.to_string())
    });
    match read {
        Ok(resume) => {
            ctx.log.info(&format!(
                "re-run attempt {attempt}: resuming {} sign request(s) from {from} (resume: false to run afresh)",
                resume.requests.len()
            ));
            Ok(Some(resume))
        }
        Err(e) => Err(format!("re-run attempt {attempt}: {from} cannot be resumed ({e}); running afresh")),
    }
}
