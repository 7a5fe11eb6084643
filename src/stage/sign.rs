//! The signing stage: log in to AppViewX, submit each artifact's DigestInfo (or take the given
//! sign ids), and poll until each is signed, failed, or the timeout passes.

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use super::renew::Renewable;
use super::Context;
use crate::appviewx::model::GenerateHashRequest;
use crate::appviewx::{self, AvxError, SignState, SigningService};
use crate::config::{AppViewXConfig, AvxWork};
use crate::digest::Digest;
use crate::outcome::{Outcome, SignRecord, SignStatus};
use crate::poll::{self, Final};
use crate::report::Log;
use crate::secret::Secret;

/// The AppViewX session, logged in again once if it expires mid-run.
struct Session<'a, C> {
    client: &'a C,
    log: &'a Log,
    current: Renewable,
}

impl<C: SigningService> Session<'_, C> {
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, AvxError>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, AvxError>>,
    {
        let renew = || {
            Some(async {
                let fresh = self.client.login().await?;
                self.log.mask(&fresh);
                self.log.info("AppViewX session expired; logged in again");
                Ok(fresh)
            })
        };
        self.current.call(f, |e| matches!(e, AvxError::SessionExpired), renew).await
    }
}

pub async fn run(
    ctx: &Context<'_>,
    cfg: &AppViewXConfig,
    client: &impl SigningService,
    digests: &[Option<Digest>],
    outcome: &mut Outcome,
) {
    let (config, log, deadline, cancel) = (ctx.config, ctx.log, ctx.deadline, ctx.cancel);
    let wait_started = Instant::now();
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
    let session = Session { client, log, current: Renewable::new(session) };

    // (index into outcome.artifacts, or None for an awaited id) → sign id still to poll.
    let mut polling: Vec<(Option<usize>, String)> = Vec::new();
    match &cfg.work {
        AvxWork::Await { sign_ids } => {
            for id in sign_ids {
                outcome.awaited.push(SignRecord::pending(id));
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
                        let mut record = SignRecord::pending(&sub.sign_id);
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
        let submitted: Vec<bool> = polling.iter().map(|(slot, _)| slot.is_some()).collect();
        let session = &session;
        let ids_ref = &ids;
        let finals = poll::poll_all(
            &submitted,
            wait_started,
            deadline,
            config.poll_interval,
            config.max_concurrency,
            cancel,
            |k| async move { session.call(|s| async move { client.status(&s, &ids_ref[k]).await }).await },
        )
        .await;
        for ((slot, id), fin) in polling.into_iter().zip(finals) {
            let name = slot.map(|i| outcome.artifacts[i].name.clone());
            let mut record = SignRecord::pending(&id);
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
                Final::Cancelled(reason) => {
                    let message = format!("sign id {id}: stopped waiting ({reason})");
                    outcome.error("sign", name.as_deref(), message.clone());
                    record.status = SignStatus::Pending;
                    record.message = Some(message);
                }
                Final::TimedOut { last_error } => {
                    let message = format!(
                        "sign id {id} still not signed after {} (timeout {}){}",
                        crate::report::human_ms(wait_started.elapsed().as_millis() as u64),
                        crate::report::human_ms(config.timeout.as_millis() as u64),
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
