//! codesign-gate: hash release artifacts, pre-qualify and pre-approve them with Venafi TPP
//! CodeSign Protect, have AppViewX sign them, and report it all to the workflow.
//!
//! The pipeline is [`run`]: config → `discover` → `stage::digest` → `stage::tpp` →
//! `stage::sign` → [`outcome::Outcome`] → [`report`]. Each stage returns a typed result;
//! `decide` says which stage runs next and builds the outcome from the results, so the token
//! is revoked and the report written whatever failed. A plan ([`http::plan`]) runs the same
//! pipeline over a transport that sends nothing.
//!
//! The modules stand on floors: each imports from its own floor and the floors below, never up,
//! and no two modules (nor two files) import each other; `.ci/floors.py` checks both.
//! - 0 ground: `units`, `secret`, `civil` (dates), `cancel`, `digest` (hashing, checksum lists),
//!   `progress` (the sink the stages report to), `signature` (certificate chain, raw signature,
//!   detached CMS and RFC 3161 timestamp checks)
//! - 1: `http` (the one client: retry policy, deadline, call journal, and the plan transport)
//! - 2 vendor clients: `venafi`, `appviewx`, `oidc`, `github`, each with its own small types
//! - 3: `config` (inputs to typed options; what each input means)
//! - 4 stages: `discover`, `stage` (digest, TPP, signing, and the records they fill), `poll`,
//!   `runner_ip`
//! - 5: `decide` (which stage runs next, and the outcome built from their results), `outcome`
//! - 6: `report` (renderers, and the one place that writes files)
//!
//! This file (`run`) stands on top; `main.rs` and `demo.rs` are the binary's, above it. Only
//! what the binary, the tests and the benchmarks use is public; the stages, the decisions and
//! the ground they stand on are the crate's own.

#![warn(missing_docs)]

pub mod appviewx;
pub mod cancel;
pub(crate) mod civil;
pub mod config;
pub(crate) mod decide;
pub mod digest;
pub(crate) mod discover;
pub mod github;
pub mod http;
pub mod oidc;
pub mod outcome;
pub mod poll;
pub(crate) mod progress;
pub mod report;
pub(crate) mod runner_ip;
pub mod secret;
pub mod signature;
pub(crate) mod stage;
pub(crate) mod units;
pub mod venafi;

use std::time::SystemTime;

use tokio::time::Instant;

use appviewx::{AvxAccount, AvxClient};
use cancel::Cancel;
pub use config::RunError;
use config::{AppViewXConfig, Config, InputError, TppAuth, TppConfig};
use decide::{Enabled, Results, Signed, Signing};
use http::{Http, HttpOptions};
use outcome::Outcome;
use report::Log;
use venafi::TppClient;

/// Runs the whole gate. Service failures land in the returned outcome; only problems found
/// before anything was sent come back as errors. Waiting ends at `timeout` after the start (a
/// request under way may take one `request-timeout` more) or when `cancel` fires.
pub async fn run(config: &Config, log: &Log, cancel: &Cancel) -> Result<Outcome, RunError> {
    let started_at = outcome::utc_timestamp(SystemTime::now());
    let started = Instant::now();
    let deadline = started + config.timeout;
    let enabled = Enabled::of(config);
    mask_inputs(config, log);

    let found = discover::discover(&config.artifacts.working_directory, &config.artifacts.patterns)?;
    let discover_warning = discover::nothing_found(&config.artifacts, &found)?;
    let mut digested = stage::digest::run(found, &config.artifacts, log, cancel).await?;

    let http = client(config, deadline, cancel)?;
    let ctx = stage::Context { config, log, deadline, cancel };
    let (rerun, resume_warning) = match &config.check_run {
        Some(check) => match stage::rerun::earlier_attempt(&ctx, check, &http).await {
            Ok(found) => (found, None),
            Err(warning) => (None, Some(warning)),
        },
        None => (None, None),
    };
    let resume = config.resume.as_ref().or(rerun.as_ref());
    decide::resume(&mut digested, resume);
    let tpp = match &config.tpp {
        Some(cfg) if decide::tpp_runs(enabled, &digested) => Some(tpp_stage(&ctx, cfg, &http, &digested).await?),
        _ => None,
    };
    let signed = match (decide::signing(enabled, &digested, tpp.as_ref()), &config.appviewx) {
        (Signing::Run(plan), Some(cfg)) => {
            let mut result = sign_stage(&ctx, cfg, &http, &plan).await;
            stage::verify::run(&ctx, &config.signature, &http, &plan, &mut result).await;
            Signed::Ran(result)
        }
        (Signing::Skipped(why), _) => Signed::Skipped(why),
        _ => Signed::NotRun,
    };
    Ok(decide::outcome(
        config,
        enabled,
        Results {
            started_at,
            discover_warning,
            resumed_from: resume.map(|r| r.from.clone()),
            resume_warning,
            digested: &digested,
            tpp,
            signed,
            notes: http.notes(),
            cancelled: cancel.reason(),
            calls: http.calls(),
            plan: config.plan.as_ref().map(|p| outcome::PlanRecord {
                reason: p.reason.name(),
                withheld: p.withheld.clone(),
                requests: http.take_planned(),
            }),
            duration_ms: crate::units::millis(started.elapsed()),
        },
    ))
}

/// The run's one HTTP client; a CA bundle it cannot use is the `ca-certificates` input's fault.
fn client(config: &Config, deadline: Instant, cancel: &Cancel) -> Result<Http, RunError> {
    Http::new(HttpOptions {
        request_timeout: config.request_timeout,
        ca_pem: config.ca_certificates.clone(),
        deadline,
        cancel: cancel.clone(),
        plan: config.plan.is_some(),
    })
    .map_err(|message| match config.ca_certificates {
        Some(_) => RunError::Input(InputError { input: "ca-certificates", message }),
        None => RunError::Setup(message),
    })
}

/// The TPP stage, after finding the runner's address: before anything is sent to TPP, as a
/// pre-approval for the wrong address is silently not used.
async fn tpp_stage(
    ctx: &stage::Context<'_>,
    cfg: &TppConfig,
    http: &Http,
    digested: &[stage::digest::Digested],
) -> Result<stage::tpp::TppResult, RunError> {
    let runner = if cfg.pre_approve {
        match runner_ip::find(cfg, ctx.config.github.github_hosted(), http).await {
            Ok(address) => Some(Ok(address)),
            // No input to fix (TPP's name did not resolve, the echo did not answer): the run
            // fails and reports it, still before anything is sent to TPP.
            Err(RunError::Setup(message)) => Some(Err(message)),
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    ctx.log.group("Venafi TPP");
    let client = TppClient::new(http.clone(), cfg.base_url.clone());
    let result = stage::tpp::run(ctx, cfg, &client, digested, runner.as_ref()).await;
    ctx.log.endgroup();
    Ok(result)
}

/// The signing stage, with a client for the configured AppViewX account.
async fn sign_stage(
    ctx: &stage::Context<'_>,
    cfg: &AppViewXConfig,
    http: &Http,
    plan: &[stage::sign::Planned<'_>],
) -> stage::sign::SignResult {
    ctx.log.group("AppViewX signing");
    let account = AvxAccount {
        base_url: cfg.base_url.clone(),
        username: cfg.username.clone(),
        password: cfg.password.clone(),
        gwkey: cfg.gwkey.clone(),
    };
    let result = stage::sign::run(ctx, cfg, &AvxClient::new(http.clone(), account), plan).await;
    ctx.log.endgroup();
    result
}

/// GitHub masks `secrets.*` itself, but an input may come from anywhere; masking costs nothing.
fn mask_inputs(config: &Config, log: &Log) {
    if let Some(tpp) = &config.tpp {
        match &tpp.auth {
            TppAuth::Token(t) => log.mask(t),
            TppAuth::Password { password, .. } => log.mask(password),
            TppAuth::Oidc(oidc) => log.mask(&oidc.request_token),
        }
    }
    if let Some(avx) = &config.appviewx {
        log.mask(&avx.password);
        if let Some(key) = &avx.gwkey {
            log.mask(key);
        }
    }
    if let Some(check) = &config.check_run {
        log.mask(&check.token);
    }
}
