//! The TPP stage: authenticate, pre-qualify every digest, pre-approve the runner, and revoke
//! every token the gate obtained.

use std::time::SystemTime;

use futures_util::stream::StreamExt;
use tokio::sync::Semaphore;

use super::digest::Digested;
use super::record::{AuthRecord, PreApprovalRecord, Revocation, StageStatus};
use super::renew::Renewable;
use super::tokens::{obtain, Grantor, Tokens};
use super::{Context, Problems};
use crate::civil::utc_timestamp;
use crate::config::{PreApprovalMode, TppAuth, TppConfig};
use crate::digest::Digest;
use crate::http;
use crate::progress::Progress;
use crate::runner_ip::RunnerAddress;
use crate::secret::Secret;
use crate::venafi::model::{AddPreApprovalRequest, PreQualifyRequest};
use crate::venafi::{Accepted, Revoked, Tpp, TppError};

/// What the TPP stage did.
#[derive(Debug, Clone)]
pub struct TppResult {
    /// How the gate authenticated, and the revocation of every token it obtained.
    pub auth: AuthRecord,
    /// Per artifact, in order: its pre-qualification, and TPP's `Result` code when the answer
    /// carried one.
    pub prequalify: Vec<(StageStatus, Option<i64>)>,
    /// Every pre-approval asked for, in the order sent; empty when pre-approval is off or was
    /// never reached.
    pub preapprovals: Vec<PreApprovalRecord>,
    /// Per artifact, in order: the index in `preapprovals` of the one that serves its signing.
    pub preapproval_of: Vec<Option<usize>>,
    /// The address the pre-approvals were asked for.
    pub runner_ip: Option<String>,
    /// How that address was found: `auto (route to TPP)`, `from-url <url>`, `given` or `none`.
    pub runner_ip_source: Option<String>,
    /// Authentication, pre-flight, pre-qualification, pre-approval and revocation problems.
    pub problems: Problems,
    /// Whether signing can still succeed for the artifacts that TPP accepted.
    pub may_sign: bool,
}

impl TppResult {
    /// How the pre-approval that serves artifact `i` ended; `NotRun` when none was asked for it.
    pub fn preapproval(&self, i: usize) -> Option<&PreApprovalRecord> {
        self.preapproval_of.get(i).copied().flatten().and_then(|k| self.preapprovals.get(k))
    }
}

impl TppResult {
    /// Nothing done yet, for `count` artifacts.
    fn new(cfg: &TppConfig, count: usize) -> Self {
        TppResult {
            auth: AuthRecord {
                method: match cfg.auth {
                    TppAuth::Token(_) => "token",
                    TppAuth::Password { .. } => "password",
                    TppAuth::Oidc(_) => "oidc",
                },
                identity: None,
                obtained: false,
                revocations: Vec::new(),
                error: None,
            },
            prequalify: vec![(StageStatus::NotRun, None); count],
            preapprovals: Vec::new(),
            preapproval_of: vec![None; count],
            runner_ip: None,
            runner_ip_source: None,
            problems: Problems::default(),
            may_sign: false,
        }
    }
}

/// The token to use: the caller's, or a new one from the grantor (recorded, as the gate then
/// owes its revocation). `None` when the grant was refused; the result says why.
async fn authenticate(
    client: &impl Tpp,
    grantor: Result<Grantor<'_>, &Secret>,
    log: &dyn Progress,
    result: &mut TppResult,
) -> Option<Secret> {
    let grantor = match grantor {
        Err(given) => return Some(given.clone()),
        Ok(grantor) => grantor,
    };
    match obtain(client, grantor, log).await {
        Ok(grant) => {
            log.info(&format!("authenticated to TPP as {}", grant.identity.as_deref().unwrap_or("the API user")));
            result.auth.identity = grant.identity;
            result.auth.obtained = true;
            Some(grant.access_token)
        }
        Err(e) => {
            result.problems.error("tpp-auth", None, e.to_string());
            result.auth.error = Some(e.to_string());
            None
        }
    }
}

/// Authenticates, checks the environment, pre-qualifies every digest, pre-approves each
/// signing (or once for all) for the runner at `runner` (found before the stage, present when
/// pre-approval is on; `Err` says why it could not be found, and then nothing is sent) and
/// revokes every token it obtained, whatever failed.
pub async fn run(
    ctx: &Context<'_>,
    cfg: &TppConfig,
    client: &impl Tpp,
    digested: &[Digested],
    runner: Option<&Result<RunnerAddress, String>>,
) -> TppResult {
    let log = ctx.log;
    let mut result = TppResult::new(cfg, digested.len());
    let not_attempted = |result: &mut TppResult, why: &str| {
        for (slot, d) in result.prequalify.iter_mut().zip(digested) {
            if d.digest.is_ok() && d.resumed.is_none() && cfg.pre_qualify {
                slot.0 = StageStatus::Failed { message: format!("not attempted: {why}") };
            }
        }
    };
    if let Some(Err(message)) = runner {
        // A pre-approval for an unknown address would be useless, and pre-qualifying without one
        // would leave half the work on the server.
        result.problems.error("runner-ip", None, message.clone());
        not_attempted(&mut result, "the runner's address is unknown");
        return result;
    }
    let grantor = Grantor::of(&cfg.auth);
    let Some(first) = authenticate(client, grantor, log, &mut result).await else {
        not_attempted(&mut result, "TPP authentication failed");
        return result;
    };
    let tokens = Tokens {
        client,
        grantor: grantor.ok(),
        log,
        current: Renewable::new(first.clone()),
        obtained: std::sync::Mutex::new(if result.auth.obtained { vec![first] } else { Vec::new() }),
    };

    result.may_sign = if let Err(why) = preflight(cfg, &tokens, &mut result.problems).await {
        not_attempted(&mut result, why);
        false
    } else {
        let runner = runner.and_then(|r| r.as_ref().ok());
        approve_all(ctx, cfg, &tokens, digested, runner, &mut result).await;
        true
    };

    let owed = tokens.obtained.lock().map(|o| o.clone()).unwrap_or_default();
    revoke_all(client, &owed, log, &mut result).await;
    result
}

/// Gives back every token the gate obtained, whatever failed before, and records how each ended.
async fn revoke_all(client: &impl Tpp, owed: &[Secret], log: &dyn Progress, result: &mut TppResult) {
    let mut failures = Vec::new();
    for token in owed {
        result.auth.revocations.push(match client.revoke(token).await {
            Ok(Revoked::Revoked) => Revocation::Revoked,
            Ok(Revoked::AlreadyInvalid) => {
                log.info("the TPP token was already invalid (expired or revoked elsewhere) when revoked");
                Revocation::AlreadyInvalid
            }
            Err(e) => {
                failures.push(e.to_string());
                Revocation::Failed
            }
        });
    }
    if !failures.is_empty() {
        // A live token with codesign:approve outlasting the job is what revoking prevents:
        // the step fails so that someone revokes it in TPP.
        let message =
            format!("could not revoke the TPP token ({}): revoke it in TPP or let it expire", failures.join("; "));
        result.problems.error("tpp-revoke", None, message.clone());
        result.auth.error = Some(message);
    }
}

/// An environment that does not exist is one clear error instead of one per artifact. Any
/// other trouble with the pre-flight (an older TPP, a narrower scope) is only a warning: the
/// calls that matter will say what is wrong.
/// Returns why nothing more is attempted, when the run cannot go on.
async fn preflight<C: Tpp>(
    cfg: &TppConfig,
    tokens: &Tokens<'_, C>,
    problems: &mut Problems,
) -> Result<(), &'static str> {
    let dn = cfg.environment_dn.as_str();
    match tokens.call(|t| async move { tokens.client.get_environment(&t, dn).await }).await {
        Ok(()) => Ok(()),
        Err(TppError::Refused { code: Some(7), .. }) => {
            problems.error("tpp-environment", None, format!("environment-dn `{dn}` does not exist in TPP (Codesign/GetEnvironment: Result 7 ObjectNotFound): check its spelling and the project"));
            Err("the environment does not exist")
        }
        Err(TppError::Http(e)) if matches!(e.kind, http::ErrorKind::Cancelled(_)) => Err("the run was cancelled"),
        Err(e) => {
            problems.warning("tpp-environment", None, format!("pre-flight check of environment-dn skipped: {e}"));
            Ok(())
        }
    }
}

/// What TPP answered for one artifact: its index, its pre-qualification (`None` when off) and
/// its per-signing pre-approval (`None` when none was asked for it).
type Answers = (usize, Option<Result<Accepted, TppError>>, Option<PreApprovalRecord>);

/// Pre-qualifies every digest and pre-approves every signing that may follow, side by side:
/// at most `max-concurrency` pre-qualifications and as many per-signing pre-approvals in
/// flight, each artifact's pre-approval sent as soon as its pre-qualification is accepted. A
/// shared pre-approval is sent once the pre-qualifications are done, if any signing may follow.
async fn approve_all<C: Tpp>(
    ctx: &Context<'_>,
    cfg: &TppConfig,
    tokens: &Tokens<'_, C>,
    digested: &[Digested],
    runner: Option<&RunnerAddress>,
    result: &mut TppResult,
) {
    let runner = runner.filter(|_| cfg.pre_approve);
    if let Some(runner) = runner {
        result.runner_ip = runner.ip.map(|ip| ip.to_string());
        result.runner_ip_source = Some(runner.source.clone());
        announce(cfg, runner, &mut result.problems, ctx.log);
    }
    let per_signing = runner.filter(|_| cfg.pre_approval == PreApprovalMode::PerSigning);
    let answers = chains(ctx, cfg, tokens, digested, per_signing).await;
    let shared_for = record_answers(digested, answers, result);
    if let Some(runner) = runner.filter(|_| cfg.pre_approval == PreApprovalMode::Shared && !shared_for.is_empty()) {
        let serves = shared_for.iter().map(|&i| digested[i].artifact.name.clone()).collect();
        let record = preapprove(tokens, request(cfg, runner, cfg.comment.clone(), false, serves), None).await;
        log_preapproved(&record, None, ctx.log);
        if let StageStatus::Failed { message } = &record.outcome {
            result.problems.error("preapprove", None, message.clone());
        }
        for i in shared_for {
            result.preapproval_of[i] = Some(result.preapprovals.len());
        }
        result.preapprovals.push(record);
    }
}

/// Every digested artifact's chain (its pre-qualification, then its per-signing pre-approval
/// when `per_signing` names the runner), four chains per `max-concurrency` slot under way at a
/// time, each call waiting for a slot of its kind: a pre-approval never waits for another
/// artifact's pre-qualification, nor the other way round, while chains remain to fill both. Not
/// every chain at once: each holds a kilobyte of state, and a checksum list may have 100,000
/// lines. Answers come in artifact order.
async fn chains<C: Tpp>(
    ctx: &Context<'_>,
    cfg: &TppConfig,
    tokens: &Tokens<'_, C>,
    digested: &[Digested],
    per_signing: Option<&RunnerAddress>,
) -> Vec<Answers> {
    let max = ctx.config.max_concurrency;
    // A resumed artifact's request was pre-qualified and pre-approved by the run it came from.
    let targets: Vec<(usize, &Digest)> = digested
        .iter()
        .enumerate()
        .filter(|(_, d)| d.resumed.is_none())
        .filter_map(|(i, d)| d.digest.as_ref().ok().map(|digest| (i, digest)))
        .collect();
    let count = targets.len();
    let (prequalify_slots, preapprove_slots) = (&Semaphore::new(max), &Semaphore::new(max));
    let mut answers: Vec<Answers> = futures_util::stream::iter(targets.into_iter().enumerate())
        .map(|(k, (i, digest))| async move {
            let name = digested[i].artifact.name.as_str();
            let prequalified = if cfg.pre_qualify {
                let _slot = prequalify_slots.acquire().await;
                Some(prequalify(cfg, tokens, name, digest).await)
            } else {
                None
            };
            if let Some(Ok(accepted)) = &prequalified {
                ctx.log.item("pre-qualified", format_args!("pre-qualified {name}{}", result_note(*accepted)));
            }
            let approval = match (&prequalified, per_signing) {
                (Some(Err(_)), _) | (_, None) => None,
                (_, Some(runner)) => {
                    let comment = per_signing_comment(&cfg.comment, k + 1, count, name);
                    let record = request(cfg, runner, comment, true, vec![name.to_string()]);
                    let _slot = preapprove_slots.acquire().await;
                    let record = preapprove(tokens, record, Some(name)).await;
                    log_preapproved(&record, Some(name), ctx.log);
                    Some(record)
                }
            };
            (i, prequalified, approval)
        })
        .buffer_unordered(4 * max)
        .collect()
        .await;
    answers.sort_by_key(|(i, _, _)| *i);
    answers
}

/// Records what TPP answered for each artifact; returns the artifacts a shared pre-approval
/// would serve (pre-qualified, or not pre-qualified at all, and without one of their own).
fn record_answers(digested: &[Digested], answers: Vec<Answers>, result: &mut TppResult) -> Vec<usize> {
    let mut shared_for = Vec::new();
    result.preapprovals.reserve_exact(answers.iter().filter(|(_, _, approval)| approval.is_some()).count());
    for (i, prequalified, approval) in answers {
        let name = &digested[i].artifact.name;
        match prequalified {
            Some(Ok(accepted)) => result.prequalify[i] = (StageStatus::Done, accepted.result),
            Some(Err(e)) => {
                result.problems.error("prequalify", Some(name), e.to_string());
                result.prequalify[i] = (StageStatus::Failed { message: e.to_string() }, None);
                continue;
            }
            None => {}
        }
        match approval {
            Some(record) => {
                if let StageStatus::Failed { message } = &record.outcome {
                    result.problems.error("preapprove", Some(name), message.clone());
                }
                result.preapproval_of[i] = Some(result.preapprovals.len());
                result.preapprovals.push(record);
            }
            None => shared_for.push(i),
        }
    }
    shared_for
}

/// One PreQualify/Create; the body is built here.
async fn prequalify<C: Tpp>(
    cfg: &TppConfig,
    tokens: &Tokens<'_, C>,
    name: &str,
    digest: &Digest,
) -> Result<Accepted, TppError> {
    let body = PreQualifyRequest {
        dn: cfg.environment_dn.clone(),
        data: digest.base64(),
        user: cfg.key_user.clone(),
        comment: cfg.comment.clone(),
        hours: cfg.hours,
        single_use: cfg.single_use,
    };
    let body = &body;
    tokens.call(|t| async move { tokens.client.prequalify(&t, body, name).await }).await
}

/// Says once what every pre-approval of the run will name, and warns when it names no address.
fn announce(cfg: &TppConfig, runner: &RunnerAddress, problems: &mut Problems, log: &dyn Progress) {
    let ip = runner.ip.map_or_else(|| "any address".to_string(), |ip| ip.to_string());
    if runner.ip.is_none() {
        problems.warning(
            "preapprove",
            None,
            "runner-ip is none: the pre-approvals hold for a signer at any address, not only this runner",
        );
    }
    let how = match cfg.pre_approval {
        PreApprovalMode::PerSigning => "one single-use pre-approval per signing",
        PreApprovalMode::Shared => "one shared pre-approval (not single use) for every signing",
    };
    log.info(&format!(
        "pre-approving {how}: {} from {ip} ({}) on {} for {}h",
        cfg.key_user, runner.source, cfg.environment_dn, cfg.hours
    ));
}

/// A per-signing pre-approval's `Comment`: the run's comment, then which signing it is for, so
/// that an administrator reading TPP's records can match each to its artifact.
fn per_signing_comment(comment: &str, k: usize, count: usize, name: &str) -> String {
    let name: String = match name.chars().count() {
        n if n > 200 => format!("…{}", name.chars().skip(n - 199).collect::<String>()),
        _ => name.to_string(),
    };
    format!("{comment}; signing {k}/{count}: {name}")
}

/// A pre-approval not sent yet, exactly as it will be asked for.
fn request(
    cfg: &TppConfig,
    runner: &RunnerAddress,
    comment: String,
    single_use: bool,
    serves: Vec<String>,
) -> PreApprovalRecord {
    PreApprovalRecord {
        serves,
        requested_at: None,
        dn: cfg.environment_dn.clone(),
        user: cfg.key_user.clone(),
        comment,
        hours: cfg.hours,
        ip_address: runner.ip.map(|ip| ip.to_string()),
        ip_source: runner.source.clone(),
        not_before: cfg.not_before.clone(),
        signing_executable: cfg.signing_executable.clone(),
        single_use,
        outcome: StageStatus::NotRun,
        result: None,
    }
}

/// One Codesign/AddPreApproval; the body is built here, from the record it fills in.
async fn preapprove<C: Tpp>(
    tokens: &Tokens<'_, C>,
    mut record: PreApprovalRecord,
    artifact: Option<&str>,
) -> PreApprovalRecord {
    let body = AddPreApprovalRequest {
        dn: record.dn.clone(),
        user: record.user.clone(),
        comment: record.comment.clone(),
        hours: record.hours,
        ip_address: record.ip_address.clone(),
        not_before: record.not_before.clone(),
        signing_executable: record.signing_executable.clone(),
        single_use: record.single_use,
    };
    let body = &body;
    record.requested_at = Some(utc_timestamp(SystemTime::now()));
    match tokens.call(|t| async move { tokens.client.add_preapproval(&t, body, artifact).await }).await {
        Ok(accepted) => {
            record.outcome = StageStatus::Done;
            record.result = accepted.result;
        }
        Err(e) => record.outcome = StageStatus::Failed { message: e.to_string() },
    }
    record
}

/// Logs a pre-approval TPP accepted, for `artifact` or every signing, as soon as it is.
fn log_preapproved(record: &PreApprovalRecord, artifact: Option<&str>, log: &dyn Progress) {
    if record.outcome == StageStatus::Done {
        log.item(
            "pre-approved",
            format_args!(
                "pre-approved {}{}",
                artifact.map_or_else(|| format!("{} artifact(s)", record.serves.len()), str::to_string),
                result_note(Accepted { result: record.result })
            ),
        );
    }
}

/// ` (Result 1 Success)` when TPP's answer carried a Result code; the documented success has none.
fn result_note(accepted: Accepted) -> String {
    accepted
        .result
        .map(|code| format!(" (Result {code} {})", crate::venafi::model::result_name(code)))
        .unwrap_or_default()
}
