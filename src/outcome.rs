//! The result of one run: pure data that every stage fills and every reporter reads.

use serde::Serialize;

use crate::config::GithubContext;
pub use crate::http::{CallRecord, PlannedRequest};

/// How a TPP call ended, for one artifact (pre-qualification) or the run (pre-approval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum StageStatus {
    /// The stage is disabled or an earlier stage made it pointless.
    NotRun,
    /// TPP accepted it.
    Done,
    /// A plan: it would be sent; nothing was.
    Planned,
    /// Refused, not attempted, or no answer.
    Failed {
        /// Which, and why, on one line for the report and the annotations.
        message: String,
    },
}

impl StageStatus {
    /// Only `Failed` counts: a stage that did not run has failed nothing.
    pub fn is_failed(&self) -> bool {
        matches!(self, StageStatus::Failed { .. })
    }
}

/// Where one sign request stands at the end of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignStatus {
    /// Never sent to AppViewX; the record's message says why. Counts as a failure.
    NotSubmitted,
    /// Submitted but not final: the run was cancelled while waiting. AppViewX may still sign it.
    Pending,
    /// AppViewX returned the signed data.
    Signed,
    /// The submission failed, or AppViewX refused or failed the request.
    Failed,
    /// Still pending when the run's timeout passed.
    TimedOut,
    /// A plan: it would be submitted (or waited for); nothing was sent.
    Planned,
}

impl SignStatus {
    /// The words the summary, the table and the `artifacts` output use.
    pub fn label(self) -> &'static str {
        match self {
            SignStatus::NotSubmitted => "not submitted",
            SignStatus::Pending => "pending",
            SignStatus::Signed => "signed",
            SignStatus::Failed => "failed",
            SignStatus::TimedOut => "timed out",
            SignStatus::Planned => "planned",
        }
    }
}

/// An artifact's digest in the encodings the report and the vendors use.
#[derive(Debug, Clone, Serialize)]
pub struct DigestRecord {
    /// `sha256`, `sha384` or `sha512`.
    pub algorithm: &'static str,
    /// Lower case.
    pub hex: String,
    /// Standard Base64: what TPP was sent as `Data`.
    pub base64: String,
}

/// What became of one sign request, for an artifact or for an id given in `sign-ids`.
#[derive(Debug, Clone, Serialize)]
pub struct SignRecord {
    /// `None` when the request was never accepted.
    pub sign_id: Option<String>,
    /// Final by the end of the run, except a request left pending by a cancellation.
    pub status: SignStatus,
    /// Why it was not submitted, failed or is not final; `None` for a signed request.
    pub message: Option<String>,
    /// Where `encodedHashData` was written.
    pub signature_path: Option<String>,
    /// From submission (or the start of waiting) to the final status.
    pub elapsed_ms: Option<u64>,
    /// The signed data as AppViewX returned it; the report writes it to `signature_path`.
    #[serde(skip)]
    pub encoded: Option<String>,
}

impl SignRecord {
    /// A request with an id, not final yet.
    pub fn pending(sign_id: &str) -> Self {
        SignRecord {
            sign_id: Some(sign_id.to_string()),
            status: SignStatus::Pending,
            message: None,
            signature_path: None,
            elapsed_ms: None,
            encoded: None,
        }
    }

    /// An artifact that was not sent to AppViewX, and why (an empty `why` leaves no message).
    pub fn not_submitted(why: &str) -> Self {
        SignRecord {
            sign_id: None,
            status: SignStatus::NotSubmitted,
            message: Some(why.to_string()).filter(|m| !m.is_empty()),
            signature_path: None,
            elapsed_ms: None,
            encoded: None,
        }
    }
}

/// Everything the run did to one artifact, in the audit record and the summary.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactRecord {
    /// Relative to the working directory, with `/` separators.
    pub name: String,
    /// The path it was read from; for an artifact hashed elsewhere, the checksum list naming it.
    pub path: String,
    /// In bytes; `None` when the artifact was hashed elsewhere (`digest-files: list`).
    pub size: Option<u64>,
    /// `None` when the artifact could not be digested; `digest_error` says why.
    pub digest: Option<DigestRecord>,
    /// Why there is no digest.
    pub digest_error: Option<String>,
    /// `NotRun` when TPP or `pre-qualify` is off, or a failed digest kept TPP from running.
    pub prequalify: StageStatus,
    /// TPP's `Result` code for the pre-qualification, when its answer carried one.
    pub prequalify_result: Option<i64>,
    /// How the pre-approval its signing relies on ended; `NotRun` when none was asked for it.
    pub preapproval: StageStatus,
    /// Which pre-approval serves its signing: an index into the report's `preapprovals`.
    pub preapproval_index: Option<usize>,
    /// `None` when AppViewX is not configured, or the run only waits for given sign ids.
    pub sign: Option<SignRecord>,
}

impl ArtifactRecord {
    /// Counted as failed: no digest, a failed pre-qualification or pre-approval, or a sign
    /// request not signed (a request still pending after a cancellation is left to the
    /// cancellation error).
    pub fn failed(&self) -> bool {
        self.digest_error.is_some()
            || self.prequalify.is_failed()
            || self.preapproval.is_failed()
            || self.sign.as_ref().is_some_and(|s| {
                matches!(s.status, SignStatus::Failed | SignStatus::TimedOut | SignStatus::NotSubmitted)
            })
    }
}

/// A pre-approval exactly as it was asked for: there is no API to list or revoke one later,
/// so the audit record is the only place an administrator can find it.
#[derive(Debug, Clone, Serialize)]
pub struct PreApprovalRecord {
    /// The artifacts whose signings it serves: one for a per-signing pre-approval, every
    /// artifact to sign for a shared one.
    pub serves: Vec<String>,
    /// UTC, when the gate sent it; `None` when it was not sent.
    pub requested_at: Option<String>,
    /// TPP's `Dn`: the project environment.
    pub dn: String,
    /// TPP's `User`: the project key user who will sign (`local:name` or `local:{guid}`).
    pub user: String,
    /// TPP's `Comment`: the reason for the pre-approval; a per-signing one names its artifact.
    pub comment: String,
    /// TPP's `Hours`; always sent, so TPP's 24-hour default never applies.
    pub hours: u32,
    /// TPP's `IPAddress`: TPP uses the pre-approval only for a signer at this address.
    pub ip_address: Option<String>,
    /// How the gate found `ip_address`: `auto (route to TPP)`, `from-url <url>`, `given` or `none`.
    pub ip_source: String,
    /// TPP's `NotBefore` (UTC, ISO 8601): the pre-approval is not valid before it.
    pub not_before: Option<String>,
    /// TPP's `SigningExecutable`, when given: it must match the signing client's path exactly.
    pub signing_executable: Option<String>,
    /// TPP's `SingleUse`: `true` allows one signing, `false` any number until it expires.
    pub single_use: bool,
    /// Whether TPP accepted it.
    pub outcome: StageStatus,
    /// TPP's `Result` code, when its answer carried one.
    pub result: Option<i64>,
}

/// How the gate authenticated to TPP.
#[derive(Debug, Clone, Serialize)]
pub struct AuthRecord {
    /// `token`, `password` or `oidc`.
    pub method: &'static str,
    /// The grant's `identity`, when the gate obtained the token and TPP named one.
    pub identity: Option<String>,
    /// The gate obtained the token itself and so owes its revocation.
    pub obtained: bool,
    /// One entry per token the gate obtained (a token renewed mid-run makes two), in order.
    pub revocations: Vec<Revocation>,
    /// Why authentication or a revocation failed.
    pub error: Option<String>,
}

/// How giving back one token ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// TPP revoked the grant (HTTP 200).
    Revoked,
    /// TPP answered 401 `invalid_token`: the token had expired or was revoked elsewhere.
    AlreadyInvalid,
    /// Any other answer, or none: the token may still be valid.
    Failed,
    /// A plan: the token would be obtained and revoked; none was.
    Planned,
}

/// Why a run was a plan, and what it would have sent.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRecord {
    /// `dry-run`, or `fork-pull-request` when a pull request from a fork got no secrets.
    pub reason: &'static str,
    /// The credentials the run did not get, each stood in for by a placeholder.
    pub withheld: Vec<&'static str>,
    /// Every request the run would have sent, in order.
    pub requests: Vec<PlannedRequest>,
}

/// What a run comes to, as the `result` output and the report name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    /// No error.
    Success,
    /// At least one error; a plan that met one fails too, as the real run would.
    Failure,
    /// A plan that met no error: nothing was sent, so nothing succeeded either.
    Planned,
}

impl RunResult {
    /// `success`, `failure` or `planned`.
    pub fn name(self) -> &'static str {
        match self {
            RunResult::Success => "success",
            RunResult::Failure => "failure",
            RunResult::Planned => "planned",
        }
    }
}

/// Only errors fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the run.
    Error,
    /// Reported, but leaves the result alone.
    Warning,
}

/// One thing that went wrong, as the summary, annotations and audit record list it.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Whether it fails the run.
    pub severity: Severity,
    /// Where in the run it happened (`digest`, `tpp-auth`, `sign`, `http`, …).
    pub stage: &'static str,
    /// The artifact it concerns, which annotations attach it to.
    pub artifact: Option<String>,
    /// One line; it never holds a secret.
    pub message: String,
}

/// Everything one run did; the JSON report is this, serialised.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Always `codesign-gate`, so that a report identifies its producer.
    pub tool: &'static str,
    /// The gate's version.
    pub version: &'static str,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started_at: String,
    /// The whole run, reporting aside.
    pub duration_ms: u64,
    /// Repository, commit, workflow run: which build the artifacts came from.
    pub github: GithubContext,
    /// As [`crate::digest::HashAlgorithm::name`] spells it.
    pub hash_algorithm: &'static str,
    /// `None` when TPP is not configured.
    pub tpp_url: Option<String>,
    /// `None` when AppViewX is not configured.
    pub appviewx_url: Option<String>,
    /// The address the pre-approval was asked for (`runner-ip`).
    pub runner_ip: Option<String>,
    /// How that address was found: `auto (route to TPP)`, `from-url <url>`, `given` or `none`.
    pub runner_ip_source: Option<String>,
    /// In discovery order.
    pub artifacts: Vec<ArtifactRecord>,
    /// Sign ids given through `sign-ids`, which belong to no artifact of this run.
    pub awaited: Vec<SignRecord>,
    /// `None` when TPP did not run.
    pub tpp_auth: Option<AuthRecord>,
    /// `per-signing` or `shared` (the `pre-approval` input); `None` when pre-approval is off.
    pub preapproval_mode: Option<&'static str>,
    /// Every pre-approval asked for, in the order they were sent; each artifact's
    /// `preapproval_index` points into it.
    pub preapprovals: Vec<PreApprovalRecord>,
    /// The signal that stopped the run early.
    pub cancelled: Option<&'static str>,
    /// In the order the run met them.
    pub problems: Vec<Problem>,
    /// Every HTTP attempt, in the order they started; none in a plan.
    pub calls: Vec<CallRecord>,
    /// Present only in a plan: then nothing was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRecord>,
}

impl Outcome {
    /// An outcome with nothing recorded yet.
    pub fn new(started_at: String, github: GithubContext, hash_algorithm: &'static str) -> Self {
        Outcome {
            tool: "codesign-gate",
            version: env!("CARGO_PKG_VERSION"),
            started_at,
            duration_ms: 0,
            github,
            hash_algorithm,
            tpp_url: None,
            appviewx_url: None,
            runner_ip: None,
            runner_ip_source: None,
            artifacts: Vec::new(),
            awaited: Vec::new(),
            tpp_auth: None,
            preapproval_mode: None,
            preapprovals: Vec::new(),
            cancelled: None,
            problems: Vec::new(),
            calls: Vec::new(),
            plan: None,
        }
    }

    /// The one word the report, the outputs and the summary give the run.
    pub fn result(&self) -> RunResult {
        match (self.success(), self.plan.is_some()) {
            (false, _) => RunResult::Failure,
            (true, true) => RunResult::Planned,
            (true, false) => RunResult::Success,
        }
    }

    /// Makes this the outcome of a plan. Its stages ran on placeholder answers, so every
    /// success they recorded becomes "planned": nothing is reported as done or signed, no
    /// placeholder sign id or signature is kept, and no identity is claimed.
    pub fn into_plan(mut self, plan: PlanRecord) -> Self {
        let planned = |s: &mut StageStatus| {
            if *s == StageStatus::Done {
                *s = StageStatus::Planned;
            }
        };
        let planned_sign = |s: &mut SignRecord, placeholder_id: bool| {
            if s.status == SignStatus::Signed {
                s.status = SignStatus::Planned;
                s.encoded = None;
                s.elapsed_ms = None;
            }
            if placeholder_id {
                s.sign_id = None;
            }
        };
        for a in &mut self.artifacts {
            planned(&mut a.prequalify);
            planned(&mut a.preapproval);
            a.prequalify_result = None;
            if let Some(s) = a.sign.as_mut() {
                planned_sign(s, true);
            }
        }
        for s in &mut self.awaited {
            planned_sign(s, false);
        }
        for p in &mut self.preapprovals {
            planned(&mut p.outcome);
            p.result = None;
        }
        if let Some(auth) = self.tpp_auth.as_mut() {
            auth.identity = None;
            for r in &mut auth.revocations {
                if *r == Revocation::Revoked {
                    *r = Revocation::Planned;
                }
            }
        }
        // `calls` stays: planned calls never enter it, and a call a plan does send (the
        // address echo) was made.
        self.plan = Some(plan);
        self
    }

    /// No error among the problems; warnings do not count.
    pub fn success(&self) -> bool {
        !self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// Artifacts TPP pre-qualified.
    pub fn prequalified(&self) -> usize {
        self.artifacts.iter().filter(|a| a.prequalify == StageStatus::Done).count()
    }

    /// Artifacts whose signing a pre-approval TPP accepted serves.
    pub fn preapproved(&self) -> usize {
        self.artifacts.iter().filter(|a| a.preapproval == StageStatus::Done).count()
    }

    fn sign_records(&self) -> impl Iterator<Item = &SignRecord> {
        self.artifacts.iter().filter_map(|a| a.sign.as_ref()).chain(&self.awaited)
    }

    /// Sign requests that ended signed, given sign ids included.
    pub fn signed(&self) -> usize {
        self.sign_records().filter(|s| s.status == SignStatus::Signed).count()
    }

    /// Failed artifacts ([`ArtifactRecord::failed`]) plus given sign ids that did not end signed.
    pub fn failed(&self) -> usize {
        self.artifacts.iter().filter(|a| a.failed()).count()
            + self.awaited.iter().filter(|s| !matches!(s.status, SignStatus::Signed | SignStatus::Planned)).count()
    }

    /// Records a problem that fails the run.
    pub fn error(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            stage,
            artifact: artifact.map(str::to_string),
            message: message.into(),
        });
    }

    /// Records a problem that leaves the result alone.
    pub fn warning(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Warning,
            stage,
            artifact: artifact.map(str::to_string),
            message: message.into(),
        });
    }
}

/// UTC `YYYY-MM-DDTHH:MM:SSZ`, the report's one timestamp format.
pub fn utc_timestamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{}Z", crate::civil::format_utc(i64::try_from(secs).unwrap_or(i64::MAX)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// An outcome with nothing in it, for renderer tests.
    pub(crate) fn empty_outcome() -> Outcome {
        Outcome::new("2026-01-01T00:00:00Z".into(), GithubContext::default(), "sha256")
    }

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_709_251_199)), "2024-02-29T23:59:59Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(4_102_444_800)), "2100-01-01T00:00:00Z");
    }
}
