//! The result of one run: pure data that every stage fills and every reporter reads.

pub use crate::civil::utc_timestamp;
use crate::config::GithubContext;
pub use crate::http::{CallRecord, Planned, PlannedRequest};
pub use crate::stage::record::{
    AuthRecord, PreApprovalRecord, Problem, Revocation, Severity, SignRecord, SignStatus, StageStatus, TimestampRecord,
    Verification,
};

/// An artifact's digest in the encodings the report and the vendors use.
#[derive(Debug, Clone)]
pub struct DigestRecord {
    /// `sha256`, `sha384` or `sha512`.
    pub algorithm: &'static str,
    /// Lower case.
    pub hex: String,
    /// Standard Base64: what TPP was sent as `Data`.
    pub base64: String,
}

/// Everything the run did to one artifact, in the audit record and the summary.
#[derive(Debug, Clone)]
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
    /// Its sign request came from an earlier run (`resume-from`): it was only waited for.
    pub resumed: bool,
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

/// Why a run was a plan, and what it would have sent.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    /// `dry-run`, or `fork-pull-request` when a pull request from a fork got no secrets.
    pub reason: &'static str,
    /// The credentials the run did not get, each stood in for by a placeholder.
    pub withheld: Vec<&'static str>,
    /// Every request the run would have sent, in order.
    pub requests: Planned,
}

/// The requests of a plan a log shows (numbered as in the whole plan), and per endpoint how many
/// more the report holds.
pub type Shown = (Vec<(usize, PlannedRequest)>, Vec<(&'static str, usize)>);

impl PlanRecord {
    /// How many requests to each endpoint a log or a summary shows in full. A plan of thousands
    /// of artifacts makes thousands of calls to each per-artifact endpoint, all alike but for the
    /// artifact: showing them all would make a log of hundreds of megabytes (and a summary past
    /// GitHub's 1 MiB limit) that no one reads. The report keeps every one.
    pub const SHOWN_PER_ENDPOINT: usize = 5;

    /// The requests a log shows, with their numbers in the whole plan, and, per endpoint in the
    /// order first called, how many more the report holds.
    pub fn shown(&self) -> Shown {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        let mut shown = Vec::new();
        for (i, r) in self.requests.requests.iter().enumerate() {
            let endpoint = self.requests.endpoints[r.endpoint].first.endpoint;
            let at = counts.iter().position(|(e, _)| *e == endpoint).unwrap_or_else(|| {
                counts.push((endpoint, 0));
                counts.len() - 1
            });
            let n = &mut counts[at].1;
            *n += 1;
            if *n <= Self::SHOWN_PER_ENDPOINT {
                shown.extend(self.requests.full(i).map(|r| (i + 1, r)));
            }
        }
        let more = counts
            .into_iter()
            .filter(|(_, n)| *n > Self::SHOWN_PER_ENDPOINT)
            .map(|(e, n)| (e, n - Self::SHOWN_PER_ENDPOINT))
            .collect();
        (shown, more)
    }
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

/// Everything one run did; the JSON report is built from it (`report::record`).
#[derive(Debug, Clone)]
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
    /// `environment-dn`: what a resumed run must share with this one.
    pub environment_dn: Option<String>,
    /// `appviewx-signing-policy`, when this run submitted.
    pub appviewx_signing_policy: Option<String>,
    /// `appviewx-signing-key`, when this run submitted.
    pub appviewx_signing_key: Option<String>,
    /// The report (or check run) this run resumed from.
    pub resumed_from: Option<String>,
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
            environment_dn: None,
            appviewx_signing_policy: None,
            appviewx_signing_key: None,
            resumed_from: None,
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

    /// Signed requests whose signature was verified with the signing certificate (one that
    /// verified and then failed, at its timestamp or its file, does not count).
    pub fn verified(&self) -> usize {
        self.sign_records().filter(|s| s.verified()).count()
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
