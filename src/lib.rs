//! codesign-gate: hash release artifacts, pre-qualify and pre-approve them with Venafi TPP
//! CodeSign Protect, have AppViewX sign them, and report it all to the workflow.
//!
//! The pipeline is [`run`]: config → discover → digest → venafi → appviewx → [`outcome::Outcome`].
//! Stages record what happened in the outcome instead of returning early, so the token is
//! revoked and the report written whatever failed.

pub mod appviewx;
pub mod config;
pub mod digest;
pub mod discover;
pub mod http;
pub mod outcome;
pub mod poll;
pub mod report;
pub mod secret;
pub mod venafi;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use appviewx::model::GenerateHashRequest;
use appviewx::{AvxClient, AvxError, SignState, SigningService};
use config::{AppViewXConfig, AvxWork, Config, IfNoFilesFound, InputError, RunnerIp, TppAuth, TppConfig};
use digest::Digest;
use http::{Http, HttpOptions};
use outcome::{
    ArtifactRecord, AuthRecord, DigestRecord, Outcome, PreApprovalRecord, SignRecord, SignStatus, StageStatus,
};
use poll::Final;
use report::Log;
use secret::Secret;
use venafi::model::{AddPreApprovalRequest, PreQualifyRequest};
use venafi::{Tpp, TppClient};

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Setup(String),
}

/// Runs the whole gate. Service failures land in the returned outcome; only problems found
/// before anything was sent come back as errors.
pub async fn run(config: &Config, log: &Log) -> Result<Outcome, RunError> {
    let started_at = outcome::utc_timestamp(SystemTime::now());
    let started = Instant::now();
    mask_inputs(config, log);

    let found = discover::discover(&config.artifacts.working_directory, &config.artifacts.patterns)?;
    let mut outcome = Outcome {
        tool: "codesign-gate",
        version: env!("CARGO_PKG_VERSION"),
        started_at,
        duration_ms: 0,
        github: config.github.clone(),
        hash_algorithm: config.artifacts.hash_algorithm.name(),
        tpp_url: config.tpp.as_ref().map(|t| t.base_url.to_string()),
        appviewx_url: config.appviewx.as_ref().map(|a| a.base_url.to_string()),
        runner_ip: None,
        artifacts: Vec::new(),
        awaited: Vec::new(),
        tpp_auth: None,
        preapproval: None,
        problems: Vec::new(),
        calls: Vec::new(),
    };
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
    let results = tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        digest::digest_all(&refs, algorithm, digest_files, workers)
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
            sign: None,
        });
        digests.push(digest);
    }
    log.endgroup();

    let http =
        Http::new(&HttpOptions { request_timeout: config.request_timeout, ca_pem: config.ca_certificates.clone() })
            .map_err(RunError::Setup)?;
    let mut may_sign = true;
    if let Some(tpp) = &config.tpp {
        if !outcome.artifacts.is_empty() {
            log.group("Venafi TPP");
            let client = TppClient::new(http.clone(), tpp.base_url.clone());
            may_sign = tpp_stage(tpp, &client, &digests, &mut outcome, log, config.max_concurrency).await;
            log.endgroup();
        }
    }
    if let Some(avx) = &config.appviewx {
        let has_work = matches!(avx.work, AvxWork::Await { .. }) || !outcome.artifacts.is_empty();
        if !may_sign {
            for a in &mut outcome.artifacts {
                a.sign = Some(SignRecord::not_submitted("skipped: the TPP stage failed"));
            }
        } else if has_work {
            log.group("AppViewX signing");
            let client = AvxClient::new(http.clone(), avx.base_url.clone(), avx.username.clone(), avx.password.clone());
            appviewx_stage(avx, &client, &digests, &mut outcome, log, config).await;
            log.endgroup();
        }
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
        }
    }
    if let Some(avx) = &config.appviewx {
        log.mask(&avx.password);
    }
}

/// Authenticates, pre-qualifies every digest, pre-approves the runner and revokes the token it
/// obtained. Returns whether signing can still succeed.
async fn tpp_stage(
    cfg: &TppConfig,
    client: &impl Tpp,
    digests: &[Option<Digest>],
    outcome: &mut Outcome,
    log: &Log,
    concurrency: usize,
) -> bool {
    let (token, mut auth) = match &cfg.auth {
        TppAuth::Token(t) => {
            (t.clone(), AuthRecord { method: "token", identity: None, obtained: false, revoked: None, error: None })
        }
        TppAuth::Password { username, password, client_id, scope } => {
            match client.authorize(client_id, username, password, scope).await {
                Ok(grant) => {
                    log.mask(&grant.access_token);
                    if let Some(r) = &grant.refresh_token {
                        log.mask(r);
                    }
                    log.info(&format!("authenticated to TPP as {}", grant.identity.as_deref().unwrap_or(username)));
                    (
                        grant.access_token,
                        AuthRecord {
                            method: "password",
                            identity: grant.identity,
                            obtained: true,
                            revoked: None,
                            error: None,
                        },
                    )
                }
                Err(e) => {
                    outcome.error("tpp-auth", None, e.to_string());
                    outcome.tpp_auth = Some(AuthRecord {
                        method: "password",
                        identity: None,
                        obtained: false,
                        revoked: None,
                        error: Some(e.to_string()),
                    });
                    for a in &mut outcome.artifacts {
                        if a.digest.is_some() && cfg.pre_qualify {
                            a.prequalify =
                                StageStatus::Failed { message: "not attempted: TPP authentication failed".into() };
                        }
                    }
                    return false;
                }
            }
        }
    };

    let mut ok = true;
    if cfg.pre_qualify {
        let jobs: Vec<(usize, PreQualifyRequest)> = digests
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
            .map(|(i, d)| {
                (
                    i,
                    PreQualifyRequest {
                        dn: cfg.environment_dn.clone(),
                        data: d.base64(),
                        user: cfg.key_user.clone(),
                        comment: cfg.comment.clone(),
                        hours: cfg.hours,
                        single_use: cfg.single_use,
                    },
                )
            })
            .collect();
        let names: Vec<String> = outcome.artifacts.iter().map(|a| a.name.clone()).collect();
        let token_ref = &token;
        let results: Vec<(usize, Result<(), venafi::TppError>)> = stream::iter(jobs)
            .map(|(i, body)| {
                let name = &names[i];
                async move { (i, client.prequalify(token_ref, &body, name).await) }
            })
            .buffered(concurrency)
            .collect()
            .await;
        for (i, result) in results {
            let name = names[i].clone();
            match result {
                Ok(()) => {
                    log.info(&format!("pre-qualified {name}"));
                    outcome.artifacts[i].prequalify = StageStatus::Done;
                }
                Err(e) => {
                    ok = false;
                    outcome.error("prequalify", Some(&name), e.to_string());
                    outcome.artifacts[i].prequalify = StageStatus::Failed { message: e.to_string() };
                }
            }
        }
    }

    if cfg.pre_approve && ok {
        let ip = match &cfg.runner_ip {
            RunnerIp::Fixed(ip) => Ok(Some(ip.to_string())),
            RunnerIp::Omit => Ok(None),
            RunnerIp::Auto => http::local_address_towards(&cfg.base_url).await.map(|ip| Some(ip.to_string())),
        };
        let mut record = PreApprovalRecord {
            dn: cfg.environment_dn.clone(),
            user: cfg.key_user.clone(),
            comment: cfg.comment.clone(),
            hours: cfg.hours,
            ip_address: None,
            not_before: cfg.not_before.clone(),
            signing_executable: cfg.signing_executable.clone(),
            single_use: cfg.single_use,
            outcome: StageStatus::NotRun,
        };
        match ip {
            Err(message) => {
                ok = false;
                let message = format!("runner-ip auto: {message}; set runner-ip to an address or none");
                outcome.error("preapprove", None, message.clone());
                record.outcome = StageStatus::Failed { message };
            }
            Ok(ip) => {
                outcome.runner_ip = ip.clone();
                record.ip_address = ip.clone();
                let body = AddPreApprovalRequest {
                    dn: record.dn.clone(),
                    user: record.user.clone(),
                    comment: record.comment.clone(),
                    hours: record.hours,
                    ip_address: ip,
                    not_before: record.not_before.clone(),
                    signing_executable: record.signing_executable.clone(),
                    single_use: record.single_use,
                };
                match client.add_preapproval(&token, &body).await {
                    Ok(()) => {
                        log.info(&format!(
                            "pre-approved {} for {} on {} for {}h{}",
                            record.user,
                            record.ip_address.as_deref().unwrap_or("any address"),
                            record.dn,
                            record.hours,
                            if record.single_use { ", single use" } else { "" }
                        ));
                        record.outcome = StageStatus::Done;
                    }
                    Err(e) => {
                        ok = false;
                        outcome.error("preapprove", None, e.to_string());
                        record.outcome = StageStatus::Failed { message: e.to_string() };
                    }
                }
            }
        }
        outcome.preapproval = Some(record);
    }

    if auth.obtained {
        match client.revoke(&token).await {
            Ok(()) => auth.revoked = Some(true),
            Err(e) => {
                auth.revoked = Some(false);
                auth.error = Some(e.to_string());
                outcome.warning(
                    "tpp-revoke",
                    None,
                    format!("could not revoke the TPP token: {e}; it expires on its own"),
                );
            }
        }
    }
    outcome.tpp_auth = Some(auth);
    ok
}

/// The current AppViewX session, renewed at most once when the server says it expired.
struct Session<'a, C> {
    client: &'a C,
    current: tokio::sync::Mutex<(Secret, u32)>,
    renewed: AtomicBool,
    log: &'a Log,
}

impl<C: SigningService> Session<'_, C> {
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, AvxError>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, AvxError>>,
    {
        let (secret, generation) = self.current.lock().await.clone();
        match f(secret).await {
            Err(AvxError::SessionExpired) => {
                let mut guard = self.current.lock().await;
                if guard.1 == generation {
                    if self.renewed.swap(true, Ordering::SeqCst) {
                        return Err(AvxError::SessionExpired);
                    }
                    let fresh = self.client.login().await?;
                    self.log.mask(&fresh);
                    self.log.info("AppViewX session expired; logged in again");
                    *guard = (fresh, generation + 1);
                }
                let secret = guard.0.clone();
                drop(guard);
                f(secret).await
            }
            other => other,
        }
    }
}

async fn appviewx_stage(
    cfg: &AppViewXConfig,
    client: &impl SigningService,
    digests: &[Option<Digest>],
    outcome: &mut Outcome,
    log: &Log,
    config: &Config,
) {
    let wait_started = Instant::now();
    let deadline = wait_started + config.timeout;
    let session = match client.login().await {
        Ok(s) => s,
        Err(e) => {
            outcome.error("appviewx-login", None, e.to_string());
            for a in &mut outcome.artifacts {
                a.sign = Some(SignRecord::not_submitted("not submitted: AppViewX login failed"));
            }
            if let AvxWork::Await { sign_ids } = &cfg.work {
                outcome.awaited = sign_ids
                    .iter()
                    .map(|id| SignRecord {
                        sign_id: Some(id.clone()),
                        ..SignRecord::not_submitted("AppViewX login failed")
                    })
                    .collect();
            }
            return;
        }
    };
    log.mask(&session);
    let session =
        Session { client, current: tokio::sync::Mutex::new((session, 0)), renewed: AtomicBool::new(false), log };

    // (index into outcome.artifacts, or None for an awaited id) → sign id still to poll.
    let mut polling: Vec<(Option<usize>, String)> = Vec::new();
    match &cfg.work {
        AvxWork::Await { sign_ids } => {
            for id in sign_ids {
                outcome.awaited.push(SignRecord {
                    sign_id: Some(id.clone()),
                    status: SignStatus::Pending,
                    message: None,
                    signature_path: None,
                    elapsed_ms: None,
                    encoded: None,
                });
                polling.push((None, id.clone()));
            }
        }
        AvxWork::Submit { signing_policy, signing_key } => {
            let mut jobs = Vec::new();
            for (i, a) in outcome.artifacts.iter_mut().enumerate() {
                match &digests[i] {
                    None => a.sign = Some(SignRecord::not_submitted("not submitted: no digest")),
                    Some(_) if a.prequalify.is_failed() => {
                        a.sign = Some(SignRecord::not_submitted("not submitted: pre-qualification failed"))
                    }
                    Some(d) => jobs.push((
                        i,
                        a.name.clone(),
                        GenerateHashRequest {
                            signing_policy: signing_policy.clone(),
                            signing_key: signing_key.clone(),
                            version_number: "v1",
                            description: format!(
                                "{} ({})",
                                a.name,
                                config.github.repository.as_deref().unwrap_or("codesign-gate")
                            ),
                            signed_type: "Hash Based Signing",
                            file_hash_content: d.digest_info_base64(),
                        },
                    )),
                }
            }
            let session = &session;
            let results: Vec<(usize, String, Result<appviewx::Submitted, AvxError>)> = stream::iter(jobs)
                .map(|(i, name, body)| async move {
                    let r = session
                        .call(|s| {
                            let (body, name) = (&body, &name);
                            async move { client.submit(&s, body, name).await }
                        })
                        .await;
                    (i, name, r)
                })
                .buffered(config.max_concurrency)
                .collect()
                .await;
            for (i, name, result) in results {
                match result {
                    Ok(sub) => {
                        log.info(&format!("submitted {name}: sign id {}", sub.sign_id));
                        let mut record = SignRecord {
                            sign_id: Some(sub.sign_id.clone()),
                            status: SignStatus::Pending,
                            message: None,
                            signature_path: None,
                            elapsed_ms: None,
                            encoded: None,
                        };
                        match sub.state {
                            SignState::Pending => polling.push((Some(i), sub.sign_id)),
                            SignState::Signed { encoded } => {
                                record.status = SignStatus::Signed;
                                record.encoded = Some(encoded);
                                record.elapsed_ms = Some(wait_started.elapsed().as_millis() as u64);
                            }
                            SignState::Failed(m) => {
                                outcome.error("sign", Some(&name), m.clone());
                                record.status = SignStatus::Failed;
                                record.message = Some(m);
                            }
                        }
                        outcome.artifacts[i].sign = Some(record);
                    }
                    Err(e) => {
                        outcome.error("sign", Some(&name), e.to_string());
                        outcome.artifacts[i].sign = Some(SignRecord {
                            status: SignStatus::Failed,
                            message: Some(e.to_string()),
                            ..SignRecord::not_submitted("")
                        });
                    }
                }
            }
        }
    }

    if !polling.is_empty() {
        log.info(&format!("waiting up to {}s for {} sign request(s)", config.timeout.as_secs(), polling.len()));
        let ids: Vec<String> = polling.iter().map(|(_, id)| id.clone()).collect();
        let session = &session;
        let ids_ref = &ids;
        let finals = poll::poll_all(
            ids.len(),
            wait_started,
            deadline,
            config.poll_interval,
            config.max_concurrency,
            |k| async move { session.call(|s| async move { client.status(&s, &ids_ref[k]).await }).await },
        )
        .await;
        for ((slot, id), fin) in polling.into_iter().zip(finals) {
            let name = slot.map(|i| outcome.artifacts[i].name.clone());
            let mut record = SignRecord {
                sign_id: Some(id.clone()),
                status: SignStatus::Pending,
                message: None,
                signature_path: None,
                elapsed_ms: None,
                encoded: None,
            };
            match fin {
                Final::Signed { encoded, elapsed } => {
                    log.info(&format!("signed {} ({id})", name.as_deref().unwrap_or("request")));
                    record.status = SignStatus::Signed;
                    record.encoded = Some(encoded);
                    record.elapsed_ms = Some(elapsed.as_millis() as u64);
                }
                Final::Failed { message, elapsed } => {
                    outcome.error("sign", name.as_deref(), format!("sign id {id}: {message}"));
                    record.status = SignStatus::Failed;
                    record.message = Some(message);
                    record.elapsed_ms = Some(elapsed.as_millis() as u64);
                }
                Final::TimedOut { last_error } => {
                    let message = format!(
                        "sign id {id} still not signed after {}s (timeout){}",
                        config.timeout.as_secs(),
                        last_error.map(|e| format!("; last error: {e}")).unwrap_or_default()
                    );
                    outcome.error("sign", name.as_deref(), message.clone());
                    record.status = SignStatus::TimedOut;
                    record.message = Some(message);
                    record.elapsed_ms = Some(wait_started.elapsed().as_millis() as u64);
                }
            }
            match slot {
                Some(i) => outcome.artifacts[i].sign = Some(record),
                None => {
                    if let Some(r) = outcome.awaited.iter_mut().find(|r| r.sign_id.as_deref() == Some(&id)) {
                        *r = record;
                    }
                }
            }
        }
    }
}
