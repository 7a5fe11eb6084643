//! What the stages record of each call they made, as the outcome and the audit record list it.

/// How a TPP call ended, for one artifact (pre-qualification) or the run (pre-approval).
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// What became of one sign request, for an artifact or for an id given in `sign-ids`.
#[derive(Debug, Clone)]
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
    /// The signed data as AppViewX returned it; the report writes it to `signature_path`
    /// unless `detached` holds the file to hand out instead.
    pub encoded: Option<String>,
    /// What became of checking the signature.
    pub verification: Verification,
    /// The RFC 3161 timestamp over the signature, when one was asked for and checked.
    pub timestamp: Option<TimestampRecord>,
    /// The detached CMS signature (DER) around `encoded`, for `signature-format: cms`.
    pub detached: Option<Vec<u8>>,
    /// Where the signature was also written for `signtool sign /di` (`<file>.dig.signed`
    /// beside each `.dig` of `digest-files: true`).
    pub signtool_path: Option<String>,
}

/// Whether a signature was checked before the artifact counted as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Nothing to check: not signed (yet), or a plan.
    NotSigned,
    /// Signed and not checked, and why (no `signing-certificate`; a sign id given without the
    /// digest it signs).
    Unchecked(&'static str),
    /// Verified with the signing certificate's key over the digest that was pre-qualified.
    Verified {
        /// SHA-256 of the certificate (DER), lower-case hex.
        certificate_sha256: String,
        /// The certificate's subject, RFC 4514.
        subject: String,
        /// `RSA 3072`, `ECDSA P-256`, …
        key: String,
    },
    /// AppViewX answered a whole signed script: its signature is the script's own Authenticode
    /// block, which PowerShell's `Get-AuthenticodeSignature` checks, not a hash signature.
    SignedScript,
    /// Checked and refused: the artifact failed, and no file is its signature.
    Failed(String),
}

/// A timestamp token checked against the request that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRecord {
    /// When the TSA says the signature existed, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
    /// The TSA's name from the token, or its certificate's subject.
    pub tsa: String,
}

impl SignRecord {
    /// Signed, and its signature verified with the signing certificate.
    pub fn verified(&self) -> bool {
        self.status == SignStatus::Signed && matches!(self.verification, Verification::Verified { .. })
    }

    /// A request with an id, not final yet.
    pub fn pending(sign_id: &str) -> Self {
        SignRecord {
            sign_id: Some(sign_id.to_string()),
            status: SignStatus::Pending,
            message: None,
            signature_path: None,
            elapsed_ms: None,
            encoded: None,
            verification: Verification::NotSigned,
            timestamp: None,
            detached: None,
            signtool_path: None,
        }
    }

    /// An artifact that was not sent to AppViewX, and why (an empty `why` leaves no message).
    pub fn not_submitted(why: &str) -> Self {
        SignRecord {
            sign_id: None,
            status: SignStatus::NotSubmitted,
            message: Some(why.to_string()).filter(|m| !m.is_empty()),
            ..SignRecord::pending("")
        }
    }
}

/// A pre-approval exactly as it was asked for: there is no API to list or revoke one later,
/// so the audit record is the only place an administrator can find it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Only errors fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the run.
    Error,
    /// Reported, but leaves the result alone.
    Warning,
}

/// One thing that went wrong, as the summary, annotations and audit record list it.
#[derive(Debug, Clone)]
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
