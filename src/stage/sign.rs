//! The signing stage: log in to AppViewX, submit each artifact's DigestInfo (or take the given
//! sign ids), and poll until each is signed, failed, or the timeout passes.

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use super::record::{PreApprovalRecord, SignRecord, SignStatus};
use super::renew::Renewable;
use super::{Context, Problems};
use crate::appviewx::model::GenerateHashRequest;
use crate::appviewx::{self, AvxError, SignState, SigningService};
use crate::config::{AppViewXConfig, AvxWork};
use crate::digest::Digest;
use crate::poll::{self, Final};
use crate::progress::Progress;
use crate::secret::Secret;
use crate::units::{human_ms, millis};

/// What the signing stage is to do with one artifact, as `decide` planned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<'a> {
    /// Sent to AppViewX as the DigestInfo of `digest`.
    Submit {
        /// The artifact's name, for the request's description and the log.
        name: &'a str,
        /// As the digest stage computed it (or read it from a digest file).
        digest: &'a Digest,
        /// The pre-approval asked for it, if any: why its signing may still be waiting at the
        /// timeout, as far as the gate can tell.
        preapproval: Option<&'a PreApprovalRecord>,
    },
    /// Submitted by an earlier run for this very digest (`resume-from`): only waited for.
    Resume {
        /// The artifact's name, for the log.
        name: &'a str,
        /// The digest the earlier request signs, which its signature is verified against.
        digest: &'a Digest,
        /// The earlier request's sign id.
        sign_id: &'a str,
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
    /// Submission and status errors, per artifact or sign id.
    pub problems: Problems,
}

/// The AppViewX session, logged in again once if it expires mid-run.
struct Session<'a, C> {
    client: &'a C,
    log: &'a dyn Progress,
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
    let mut result = SignResult::default();
    let wait_started = Instant::now();
    let nothing_to_submit = !plan.iter().any(|p| matches!(p, Planned::Submit { .. } | Planned::Resume { .. }));
    if nothing_to_submit && matches!(cfg.work, AvxWork::Submit { .. }) {
        // Every artifact was stopped before signing: a session would only be opened and dropped.
        result.artifacts = plan
            .iter()
            .map(|p| match p {
                Planned::Skip(why) => Some(SignRecord::not_submitted(why)),
                Planned::Submit { .. } | Planned::Resume { .. } => None,
            })
            .collect();
        return result;
    }
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
    ctx.log.mask(&session);
    let session = Session { client, log: ctx.log, current: Renewable::new(session) };
    result.artifacts = vec![None; plan.len()];
    let polling = match &cfg.work {
        AvxWork::Await { sign_ids } => {
            result.awaited = sign_ids.iter().map(|id| SignRecord::pending(id)).collect();
            sign_ids.iter().map(|id| (None, id.clone())).collect()
        }
        AvxWork::Submit { signing_policy, signing_key } => {
            let submission = Submission { policy: signing_policy, key: signing_key, plan, started: wait_started };
            submit_all(ctx, &session, &submission, &mut result).await
        }
    };
    if !polling.is_empty() {
        wait_all(ctx, &session, plan, polling, wait_started, &mut result).await;
    }
    result
}

/// What to submit, and with what.
struct Submission<'a> {
    policy: &'a str,
    key: &'a str,
    plan: &'a [Planned<'a>],
    /// Where the wait for a signature starts.
    started: Instant,
}

/// Submits every planned artifact side by side; the body is built here. Returns the sign ids
/// still to wait for, each with its artifact's index.
async fn submit_all<C: SigningService>(
    ctx: &Context<'_>,
    session: &Session<'_, C>,
    s: &Submission<'_>,
    result: &mut SignResult,
) -> Vec<(Option<usize>, String)> {
    let repository = ctx.config.github.repository.as_deref().unwrap_or("codesign-gate");
    let mut jobs = Vec::new();
    let mut resumed = Vec::new();
    for (i, p) in s.plan.iter().enumerate() {
        match p {
            Planned::Skip(why) => result.artifacts[i] = Some(SignRecord::not_submitted(why)),
            Planned::Resume { name, sign_id, .. } => {
                ctx.log.item("resumed", format_args!("resumed {name}: waiting for the earlier sign id {sign_id}"));
                result.artifacts[i] = Some(SignRecord::pending(sign_id));
                resumed.push((Some(i), (*sign_id).to_string()));
            }
            Planned::Submit { name, digest, .. } => jobs.push((i, *name, request(s, name, digest, repository))),
        }
    }
    let answers: Vec<(usize, &str, Result<appviewx::Submitted, AvxError>)> = stream::iter(jobs)
        .map(|(i, name, body)| async move {
            let body = &body;
            let r = session.call(|t| async move { session.client.submit(&t, body, name).await }).await;
            (i, name, r)
        })
        .buffered(ctx.config.max_concurrency)
        .collect()
        .await;
    let mut polling = resumed;
    for (i, name, answer) in answers {
        let record = match answer {
            Ok(sub) => {
                ctx.log.item("submitted", format_args!("submitted {name}: sign id {}", sub.sign_id));
                let mut record = SignRecord::pending(&sub.sign_id);
                match sub.state {
                    SignState::Pending => polling.push((Some(i), sub.sign_id)),
                    state => settled(&mut record, state, name, s.started, &mut result.problems),
                }
                record
            }
            Err(e) => {
                result.problems.error("sign", Some(name), e.to_string());
                SignRecord { status: SignStatus::Failed, message: Some(e.to_string()), ..SignRecord::not_submitted("") }
            }
        };
        result.artifacts[i] = Some(record);
    }
    polling
}

/// The body of one sign request: where the AppViewX request is built.
fn request(s: &Submission<'_>, name: &str, digest: &Digest, repository: &str) -> GenerateHashRequest {
    GenerateHashRequest {
        signing_policy: s.policy.to_string(),
        signing_key: s.key.to_string(),
        version_number: "v1",
        description: format!("{name} ({repository})"),
        signed_type: "Hash Based Signing",
        file_hash_content: digest.digest_info_base64(),
    }
}

/// A submission AppViewX answered as already signed or failed: no wait needed.
fn settled(record: &mut SignRecord, state: SignState, name: &str, started: Instant, problems: &mut Problems) {
    match state {
        SignState::Pending => {}
        SignState::Signed { encoded } => {
            record.status = SignStatus::Signed;
            record.encoded = Some(encoded);
            record.elapsed_ms = Some(millis(started.elapsed()));
        }
        SignState::Failed(m) => {
            problems.error("sign", Some(name), m.clone());
            record.status = SignStatus::Failed;
            record.message = Some(m);
        }
    }
}

/// What the gate knows of why a signing may still wait; put in words only for a timeout.
#[derive(Clone, Copy)]
enum IfWaiting<'a> {
    /// A sign id given in `sign-ids`.
    Unknown,
    /// Submitted by the run this one resumed.
    Resumed,
    /// Submitted by this run, after asking for this pre-approval, if any.
    Asked(Option<&'a PreApprovalRecord>),
}

impl IfWaiting<'_> {
    fn why(self) -> Option<String> {
        match self {
            IfWaiting::Unknown => None,
            IfWaiting::Resumed => Some("it was submitted by the run this one resumed".into()),
            IfWaiting::Asked(preapproval) => Some(if_waiting(preapproval)),
        }
    }
}

/// Why a signing may still be waiting when the run's timeout passes, as far as the gate can
/// tell from what it asked TPP for: the AppViewX status says only `Inprogress`.
fn if_waiting(preapproval: Option<&PreApprovalRecord>) -> String {
    let Some(p) = preapproval else {
        return "no pre-approval was asked for it, so it waits for a Key Use Approver in TPP".to_string();
    };
    let address = p.ip_address.as_deref().map_or_else(|| "any address".to_string(), |ip| format!("the address {ip}"));
    let at = p.requested_at.as_deref().unwrap_or("this run");
    let used_up = if p.single_use {
        "another signing used up this single-use pre-approval".to_string()
    } else {
        format!("its {} h had passed", p.hours)
    };
    format!(
        "the pre-approval made for it at {at} was not used: TPP uses it only for a signer at {address} (runner-ip){}, and not once {used_up}; so it waits for a Key Use Approver in TPP",
        p.not_before.as_deref().map(|n| format!(" after {n}")).unwrap_or_default(),
    )
}

/// One sign id whose wait ended, and what its message needs.
struct Waited<'a> {
    id: &'a str,
    /// The artifact's name; `None` for a sign id given in `sign-ids`.
    name: Option<&'a str>,
    /// Why the gate thinks a signing still waits, for a timeout's message.
    if_waiting: IfWaiting<'a>,
    started: Instant,
    timeout: std::time::Duration,
}

/// The record of a sign id whose wait ended, and the problem it is when it did not end signed.
fn finished(log: &dyn Progress, w: &Waited<'_>, fin: Final, problems: &mut Problems) -> SignRecord {
    let (id, name) = (w.id, w.name);
    let mut record = SignRecord::pending(id);
    match fin {
        Final::Signed { encoded, elapsed } => {
            log.item("signed", format_args!("signed {} ({id})", name.unwrap_or("request")));
            record.status = SignStatus::Signed;
            record.encoded = Some(encoded);
            record.elapsed_ms = Some(millis(elapsed));
        }
        Final::Failed { message, elapsed } => {
            problems.error("sign", name, format!("sign id {id}: {message}"));
            record.status = SignStatus::Failed;
            record.message = Some(message);
            record.elapsed_ms = Some(millis(elapsed));
        }
        Final::Cancelled(reason) => {
            let message = format!("sign id {id}: stopped waiting ({reason})");
            problems.error("sign", name, message.clone());
            record.status = SignStatus::Pending;
            record.message = Some(message);
        }
        Final::TimedOut { last_error } => {
            let message = format!(
                "sign id {id} still not signed after {} (timeout {}){}{}",
                human_ms(millis(w.started.elapsed())),
                human_ms(millis(w.timeout)),
                last_error.map(|e| format!("; last error: {e}")).unwrap_or_default(),
                w.if_waiting.why().map(|why| format!("; {why}")).unwrap_or_default()
            );
            problems.error("sign", name, message.clone());
            record.status = SignStatus::TimedOut;
            record.message = Some(message);
            record.elapsed_ms = Some(millis(w.started.elapsed()));
        }
    }
    record
}

/// Polls every sign id side by side until each is final, the deadline passes or the run is
/// cancelled, and records how each ended.
async fn wait_all<C: SigningService>(
    ctx: &Context<'_>,
    session: &Session<'_, C>,
    plan: &[Planned<'_>],
    polling: Vec<(Option<usize>, String)>,
    started: Instant,
    result: &mut SignResult,
) {
    let config = ctx.config;
    ctx.log.info(&format!("waiting up to {}s for {} sign request(s)", config.timeout.as_secs(), polling.len()));
    let ids: Vec<String> = polling.iter().map(|(_, id)| id.clone()).collect();
    let submitted: Vec<bool> = polling.iter().map(|(slot, _)| slot.is_some()).collect();
    let ids_ref = &ids;
    let finals = poll::poll_all(
        &submitted,
        started,
        ctx.deadline,
        config.poll_interval,
        config.max_concurrency,
        ctx.cancel,
        |k| async move { session.call(|s| async move { session.client.status(&s, &ids_ref[k]).await }).await },
    )
    .await;
    for ((slot, id), fin) in polling.into_iter().zip(finals) {
        let (name, if_waiting) = match slot.map(|i| &plan[i]) {
            Some(Planned::Submit { name, preapproval, .. }) => (Some(*name), IfWaiting::Asked(*preapproval)),
            Some(Planned::Resume { name, .. }) => (Some(*name), IfWaiting::Resumed),
            _ => (None, IfWaiting::Unknown),
        };
        let waited = Waited { id: &id, name, if_waiting, started, timeout: config.timeout };
        let record = finished(ctx.log, &waited, fin, &mut result.problems);
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
