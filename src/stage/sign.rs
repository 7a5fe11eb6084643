//! The signing stage: log in to AppViewX, submit each artifact's DigestInfo (or take the given
//! sign ids), and poll until each is signed, failed, or the timeout passes.

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use super::renew::Renewable;
use super::{Context, Problems};
use crate::appviewx::model::GenerateHashRequest;
use crate::appviewx::{self, AvxError, SignState, SigningService};
use crate::config::{AppViewXConfig, AvxWork};
use crate::digest::Digest;
use crate::outcome::{SignRecord, SignStatus};
use crate::poll::{self, Final};
use crate::report::Log;
use crate::secret::Secret;
use crate::units::{human_ms, millis};

/// What the signing stage is to do with one artifact, as [`crate::decide`] planned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<'a> {
    Submit {
        name: &'a str,
        digest: &'a Digest,
    },
    /// Not submitted, and why.
    Skip(&'static str),
}

/// What the signing stage did.
#[derive(Debug, Clone, Default)]
pub struct SignResult {
    /// Per artifact, in order; `None` when the run only waits for given sign ids.
    pub artifacts: Vec<Option<SignRecord>>,
    /// One per id given in `sign-ids`.
    pub awaited: Vec<SignRecord>,
    pub problems: Problems,
}

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

/// Logs in, submits every planned artifact (or takes the given sign ids), and waits for each
/// until it is signed, failed, or the deadline passes.
pub async fn run(
    ctx: &Context<'_>,
    cfg: &AppViewXConfig,
    client: &impl SigningService,
    plan: &[Planned<'_>],
) -> SignResult {
    let (config, log, deadline, cancel) = (ctx.config, ctx.log, ctx.deadline, ctx.cancel);
    let mut result = SignResult::default();
    let wait_started = Instant::now();
    let session = match client.login().await {
        Ok(s) => s,
        Err(e) => {
            result.problems.error("appviewx-login", None, e.to_string());
            result.artifacts =
                plan.iter().map(|_| Some(SignRecord::not_submitted("not submitted: AppViewX login failed"))).collect();
            if let AvxWork::Await { sign_ids } = &cfg.work {
                result.awaited = sign_ids
                    .iter()
                    .map(|id| SignRecord {
                        sign_id: Some(id.clone()),
                        ..SignRecord::not_submitted("AppViewX login failed")
                    })
                    .collect();
            }
            return result;
        }
    };
    log.mask(&session);
    let session = Session { client, log, current: Renewable::new(session) };
    result.artifacts = vec![None; plan.len()];

    // (index into the plan, or None for an awaited id) → sign id still to poll.
    let mut polling: Vec<(Option<usize>, String)> = Vec::new();
    match &cfg.work {
        AvxWork::Await { sign_ids } => {
            for id in sign_ids {
                result.awaited.push(SignRecord::pending(id));
                polling.push((None, id.clone()));
            }
        }
        AvxWork::Submit { signing_policy, signing_key } => {
            for (slot, p) in result.artifacts.iter_mut().zip(plan) {
                if let Planned::Skip(why) = p {
                    *slot = Some(SignRecord::not_submitted(why));
                }
            }
            let jobs: Vec<(usize, &str, GenerateHashRequest)> = plan
                .iter()
                .enumerate()
                .filter_map(|(i, p)| match p {
                    Planned::Submit { name, digest } => Some((
                        i,
                        *name,
                        GenerateHashRequest {
                            signing_policy: signing_policy.clone(),
                            signing_key: signing_key.clone(),
                            version_number: "v1",
                            description: format!(
                                "{name} ({})",
                                config.github.repository.as_deref().unwrap_or("codesign-gate")
                            ),
                            signed_type: "Hash Based Signing",
                            file_hash_content: digest.digest_info_base64(),
                        },
                    )),
                    Planned::Skip(_) => None,
                })
                .collect();
            let session = &session;
            let submitted: Vec<(usize, &str, Result<appviewx::Submitted, AvxError>)> = stream::iter(jobs)
                .map(|(i, name, body)| async move {
                    let r = session
                        .call(|s| {
                            let body = &body;
                            async move { client.submit(&s, body, name).await }
                        })
                        .await;
                    (i, name, r)
                })
                .buffered(config.max_concurrency)
                .collect()
                .await;
            for (i, name, answer) in submitted {
                match answer {
                    Ok(sub) => {
                        log.info(&format!("submitted {name}: sign id {}", sub.sign_id));
                        let mut record = SignRecord::pending(&sub.sign_id);
                        match sub.state {
                            SignState::Pending => polling.push((Some(i), sub.sign_id)),
                            SignState::Signed { encoded } => {
                                record.status = SignStatus::Signed;
                                record.encoded = Some(encoded);
                                record.elapsed_ms = Some(millis(wait_started.elapsed()));
                            }
                            SignState::Failed(m) => {
                                result.problems.error("sign", Some(name), m.clone());
                                record.status = SignStatus::Failed;
                                record.message = Some(m);
                            }
                        }
                        result.artifacts[i] = Some(record);
                    }
                    Err(e) => {
                        result.problems.error("sign", Some(name), e.to_string());
                        result.artifacts[i] = Some(SignRecord {
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
            let name = slot.and_then(|i| match &plan[i] {
                Planned::Submit { name, .. } => Some(*name),
                Planned::Skip(_) => None,
            });
            let mut record = SignRecord::pending(&id);
            match fin {
                Final::Signed { encoded, elapsed } => {
                    log.info(&format!("signed {} ({id})", name.unwrap_or("request")));
                    record.status = SignStatus::Signed;
                    record.encoded = Some(encoded);
                    record.elapsed_ms = Some(millis(elapsed));
                }
                Final::Failed { message, elapsed } => {
                    result.problems.error("sign", name, format!("sign id {id}: {message}"));
                    record.status = SignStatus::Failed;
                    record.message = Some(message);
                    record.elapsed_ms = Some(millis(elapsed));
                }
                Final::Cancelled(reason) => {
                    let message = format!("sign id {id}: stopped waiting ({reason})");
                    result.problems.error("sign", name, message.clone());
                    record.status = SignStatus::Pending;
                    record.message = Some(message);
                }
                Final::TimedOut { last_error } => {
                    let message = format!(
                        "sign id {id} still not signed after {} (timeout {}){}",
                        human_ms(millis(wait_started.elapsed())),
                        human_ms(millis(config.timeout)),
                        last_error.map(|e| format!("; last error: {e}")).unwrap_or_default()
                    );
                    result.problems.error("sign", name, message.clone());
                    record.status = SignStatus::TimedOut;
                    record.message = Some(message);
                    record.elapsed_ms = Some(millis(wait_started.elapsed()));
                }
            }
            match slot {
                Some(i) => result.artifacts[i] = Some(record),
                None => {
                    if let Some(r) = result.awaited.iter_mut().find(|r| r.sign_id.as_deref() == Some(&id)) {
                        *r = record;
                    }
                }
            }
        }
    }
    result
}
