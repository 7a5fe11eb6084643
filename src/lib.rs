//! codesign-gate: hash release artifacts, pre-qualify and pre-approve them with Venafi TPP
//! CodeSign Protect, have AppViewX sign them, and report it all to the workflow.
//!
//! The pipeline is [`run`]: config → discover → digest → [`stage::tpp`] → [`stage::sign`] →
//! [`outcome::Outcome`] → [`report`]. Stages record what happened in the outcome instead of
//! returning early, so the token is revoked and the report written whatever failed.

pub mod appviewx;
pub mod cancel;
pub mod civil;
pub mod config;
pub mod digest;
pub mod discover;
pub mod http;
pub mod oidc;
pub mod outcome;
pub mod poll;
pub mod report;
pub mod secret;
pub mod stage;
pub mod venafi;

use std::time::SystemTime;

use tokio::time::Instant;

use appviewx::AvxClient;
use cancel::Cancel;
use config::{AvxWork, Config, IfNoFilesFound, InputError, TppAuth};
use digest::Digest;
use http::{Http, HttpOptions};
use outcome::{ArtifactRecord, DigestRecord, Outcome, SignRecord, StageStatus};
use report::Log;
use venafi::TppClient;

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Setup(String),
}

/// Runs the whole gate. Service failures land in the returned outcome; only problems found
/// before anything was sent come back as errors. Waiting ends at `timeout` after the start (a
/// request under way may take one `request-timeout` more) or when `cancel` fires.
pub async fn run(config: &Config, log: &Log, cancel: &Cancel) -> Result<Outcome, RunError> {
    let started_at = outcome::utc_timestamp(SystemTime::now());
    let started = Instant::now();
    let deadline = started + config.timeout;
    mask_inputs(config, log);

    let found = discover::discover(&config.artifacts.working_directory, &config.artifacts.patterns)?;
    let mut outcome = Outcome::new(started_at, config.github.clone(), config.artifacts.hash_algorithm.name());
    outcome.tpp_url = config.tpp.as_ref().map(|t| t.base_url.to_string());
    outcome.appviewx_url = config.appviewx.as_ref().map(|a| a.base_url.to_string());
    if found.is_empty() && !config.artifacts.patterns.is_empty() {
        let patterns = config.artifacts.patterns.iter().map(|p| match p {
            config::Pattern::Include(s) => s.clone(),
            config::Pattern::Exclude(s) => format!("!{s}"),
        });
        let message = format!(
            "no file matched {} in `{}`",
            patterns.collect::<Vec<_>>().join(", "),
            config.artifacts.working_directory.display()
        );
        match config.artifacts.if_no_files_found {
            IfNoFilesFound::Error => {
                return Err(InputError {
                    input: "artifacts",
                    message: format!(
                        "{message}: check the patterns and working-directory, or set if-no-files-found to warn"
                    ),
                }
                .into())
            }
            IfNoFilesFound::Warn => outcome.warning("discover", None, message),
            IfNoFilesFound::Ignore => {}
        }
    }

    log.group(&format!("Digest {} artifact(s) ({})", found.len(), config.artifacts.hash_algorithm.name()));
    let paths: Vec<std::path::PathBuf> = found.iter().map(|a| a.path.clone()).collect();
    let (algorithm, digest_files) = (config.artifacts.hash_algorithm, config.artifacts.digest_files);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let hashing_cancel = cancel.clone();
    let results = tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        digest::digest_all(&refs, algorithm, digest_files, workers, &|| hashing_cancel.reason().is_some())
    })
    .await
    .map_err(|e| RunError::Setup(format!("hashing failed: {e}")))?;
    let mut digests: Vec<Option<Digest>> = Vec::new();
    for (artifact, result) in found.iter().zip(results) {
        let (digest, digest_error) = match result {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e.to_string())),
        };
        if let Some(d) = &digest {
            log.info(&format!("{}  {}", d.hex(), artifact.name));
        }
        if let Some(e) = &digest_error {
            outcome.error("digest", Some(&artifact.name), e.clone());
        }
        outcome.artifacts.push(ArtifactRecord {
            name: artifact.name.clone(),
            path: artifact.path.to_string_lossy().into_owned(),
            size: artifact.size,
            digest: digest.as_ref().map(|d| DigestRecord {
                algorithm: d.algorithm.name(),
                hex: d.hex(),
                base64: d.base64(),
            }),
            digest_error,
            prequalify: StageStatus::NotRun,
            prequalify_result: None,
            sign: None,
        });
        digests.push(digest);
    }
    log.endgroup();

    let http = Http::new(HttpOptions {
        request_timeout: config.request_timeout,
        ca_pem: config.ca_certificates.clone(),
        deadline,
        cancel: cancel.clone(),
    })
    .map_err(|message| match config.ca_certificates {
        Some(_) => RunError::Input(InputError { input: "ca-certificates", message }),
        None => RunError::Setup(message),
    })?;
    let ctx = stage::Context { config, log, deadline, cancel };
    // A run that already failed must not leave pre-qualifications or a pre-approval behind.
    let undigested = outcome.artifacts.iter().filter(|a| a.digest_error.is_some()).count();
    if undigested > 0 && (config.tpp.is_some() || config.appviewx.is_some()) {
        outcome.error(
            "digest",
            None,
            format!("{undigested} artifact(s) could not be digested: nothing was sent to TPP or AppViewX"),
        );
        for a in &mut outcome.artifacts {
            a.sign = config.appviewx.as_ref().map(|_| SignRecord::not_submitted("skipped: a digest failed"));
        }
    }
    let mut may_sign = undigested == 0;
    if let Some(tpp) = &config.tpp {
        if !outcome.artifacts.is_empty() && may_sign {
            log.group("Venafi TPP");
            let client = TppClient::new(http.clone(), tpp.base_url.clone());
            may_sign = stage::tpp::run(&ctx, tpp, &client, &digests, &mut outcome).await;
            log.endgroup();
        }
    }
    if let Some(avx) = &config.appviewx {
        let has_work = matches!(avx.work, AvxWork::Await { .. }) || !outcome.artifacts.is_empty();
        if !may_sign {
            for a in outcome.artifacts.iter_mut().filter(|a| a.sign.is_none()) {
                a.sign = Some(SignRecord::not_submitted("skipped: the TPP stage failed"));
            }
        } else if has_work {
            log.group("AppViewX signing");
            let client = AvxClient::new(http.clone(), avx);
            stage::sign::run(&ctx, avx, &client, &digests, &mut outcome).await;
            log.endgroup();
        }
    }
    for note in http.notes() {
        outcome.warning("http", note.artifact.as_deref(), format!("{}: {}", note.endpoint, note.message));
    }
    if let Some(reason) = cancel.reason() {
        outcome.cancelled = Some(reason);
        outcome.error(
            "cancel",
            None,
            format!("the run was cancelled ({reason}): it stopped waiting, cleaned up and wrote this report"),
        );
    }
    outcome.calls = http.calls();
    outcome.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
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
