//! The result of one run: pure data that every stage fills and every reporter reads.

use serde::Serialize;

use crate::config::GithubContext;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum StageStatus {
    /// The stage is disabled or an earlier stage made it pointless.
    NotRun,
    Done,
    Failed {
        message: String,
    },
}

impl StageStatus {
    pub fn is_failed(&self) -> bool {
        matches!(self, StageStatus::Failed { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignStatus {
    NotSubmitted,
    Pending,
    Signed,
    Failed,
    TimedOut,
}

impl SignStatus {
    pub fn label(self) -> &'static str {
        match self {
            SignStatus::NotSubmitted => "not submitted",
            SignStatus::Pending => "pending",
            SignStatus::Signed => "signed",
            SignStatus::Failed => "failed",
            SignStatus::TimedOut => "timed out",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestRecord {
    pub algorithm: &'static str,
    pub hex: String,
    pub base64: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignRecord {
    pub sign_id: Option<String>,
    pub status: SignStatus,
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

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactRecord {
    pub name: String,
    pub path: String,
    pub size: u64,
    pub digest: Option<DigestRecord>,
    pub digest_error: Option<String>,
    pub prequalify: StageStatus,
    /// TPP's `Result` code for the pre-qualification, when its answer carried one.
    pub prequalify_result: Option<i64>,
    pub sign: Option<SignRecord>,
}

impl ArtifactRecord {
    pub fn failed(&self) -> bool {
        self.digest_error.is_some()
            || self.prequalify.is_failed()
            || self.sign.as_ref().is_some_and(|s| {
                matches!(s.status, SignStatus::Failed | SignStatus::TimedOut | SignStatus::NotSubmitted)
            })
    }
}

/// The pre-approval exactly as it was asked for: there is no API to list or revoke one later,
/// so the audit record is the only place an administrator can find it.
#[derive(Debug, Clone, Serialize)]
pub struct PreApprovalRecord {
    pub dn: String,
    pub user: String,
    pub comment: String,
    pub hours: u32,
    pub ip_address: Option<String>,
    pub not_before: Option<String>,
    pub signing_executable: Option<String>,
    pub single_use: bool,
    pub outcome: StageStatus,
    /// TPP's `Result` code, when its answer carried one.
    pub result: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthRecord {
    pub method: &'static str,
    pub identity: Option<String>,
    /// The gate obtained the token itself and so owes its revocation.
    pub obtained: bool,
    /// One entry per token the gate obtained (a token renewed mid-run makes two), in order.
    pub revocations: Vec<Revocation>,
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
}

/// One HTTP exchange, as the audit record lists them.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub service: &'static str,
    pub endpoint: &'static str,
    pub method: &'static str,
    pub artifact: Option<String>,
    pub attempt: u32,
    /// Milliseconds since the run started.
    pub at_ms: u64,
    pub duration_ms: u64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub stage: &'static str,
    pub artifact: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub tool: &'static str,
    pub version: &'static str,
    pub started_at: String,
    pub duration_ms: u64,
    pub github: GithubContext,
    pub hash_algorithm: &'static str,
    pub tpp_url: Option<String>,
    pub appviewx_url: Option<String>,
    pub runner_ip: Option<String>,
    pub artifacts: Vec<ArtifactRecord>,
    /// Sign ids given through `sign-ids`, which belong to no artifact of this run.
    pub awaited: Vec<SignRecord>,
    pub tpp_auth: Option<AuthRecord>,
    pub preapproval: Option<PreApprovalRecord>,
    /// The signal that stopped the run early.
    pub cancelled: Option<&'static str>,
    pub problems: Vec<Problem>,
    pub calls: Vec<CallRecord>,
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
            artifacts: Vec::new(),
            awaited: Vec::new(),
            tpp_auth: None,
            preapproval: None,
            cancelled: None,
            problems: Vec::new(),
            calls: Vec::new(),
        }
    }

    pub fn success(&self) -> bool {
        !self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    pub fn prequalified(&self) -> usize {
        self.artifacts.iter().filter(|a| a.prequalify == StageStatus::Done).count()
    }

    fn sign_records(&self) -> impl Iterator<Item = &SignRecord> {
        self.artifacts.iter().filter_map(|a| a.sign.as_ref()).chain(&self.awaited)
    }

    pub fn signed(&self) -> usize {
        self.sign_records().filter(|s| s.status == SignStatus::Signed).count()
    }

    pub fn failed(&self) -> usize {
        self.artifacts.iter().filter(|a| a.failed()).count()
            + self.awaited.iter().filter(|s| s.status != SignStatus::Signed).count()
    }

    pub fn error(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            stage,
            artifact: artifact.map(str::to_string),
            message: message.into(),
        });
    }

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
