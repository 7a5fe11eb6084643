//! Everything the simulated servers hold, and the snapshot of it that tests assert on.
//!
//! The snapshot never contains token strings, session ids or passwords: tests should assert on
//! what the server did, and a snapshot printed in a CI log must not hand out live credentials.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::SignOutcome;
use crate::fault::FaultSlot;

/// What the simulated servers hold, as tests assert on it (also `GET /__sim/state`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Every TPP access token issued, with its grant's standing.
    pub tpp_tokens: Vec<TokenRecord>,
    /// Every PreQualify/Create that succeeded, in order.
    pub prequalifications: Vec<PreQualRecord>,
    /// Every AddPreApproval that succeeded, in order.
    pub preapprovals: Vec<PreApprovalRecord>,
    /// Every AppViewX session opened, live or not.
    pub avx_sessions: Vec<SessionRecord>,
    /// Login attempts left per AppViewX user, to watch the lockout count down.
    pub avx_login_attempts_left: BTreeMap<String, u32>,
    /// Every AppViewX sign request, with its status as of the snapshot.
    pub sign_requests: Vec<SignRecord>,
    /// Every request received, in arrival order, including those a fault answered.
    pub requests: Vec<RequestRecord>,
}

/// One access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The grant's user.
    pub username: String,
    /// The API integration the grant was issued to.
    pub client_id: String,
    /// The grant's scope, as granted.
    pub scope: String,
    /// The grant was revoked (by `revoke/token`); its tokens are dead.
    pub revoked: bool,
    /// The token is past its expiry (by time or an `expire-token` fault).
    pub expired: bool,
    /// `oauth`, `jwt`, `refresh` or `issued` (by `SimHandle::issue_token`).
    pub issued_via: String,
    /// Which grant the token belongs to; refreshes stay in their grant.
    pub grant: u64,
}

/// A pre-qualified hash, field for field as the request carried it, and what used it since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreQualRecord {
    /// The environment DN as sent.
    pub dn: String,
    /// The Base64 `Data` exactly as sent.
    pub data: String,
    /// The key user as sent (PrefixedName or PrefixedUniversal).
    pub user: String,
    /// The approver's comment.
    pub comment: String,
    /// `Hours` as sent; `None` when absent (TPP's default then is 24).
    pub hours: Option<i64>,
    /// `SingleUse` as sent; `None` when absent (then, as with `false`, it serves until `Hours` pass).
    pub single_use: Option<bool>,
    /// Who created it (the token's username).
    pub created_by: String,
    /// When it was created, in unix milliseconds of the simulator's clock: `Hours` count from here.
    #[serde(default)]
    pub created_ms: i64,
    /// The sign ids of the AppViewX signings that used it, in order; a single-use one serves one.
    #[serde(default)]
    pub used_by: Vec<String>,
}

/// A pre-approval, field for field as the request carried it, and what used it since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreApprovalRecord {
    /// The environment DN as sent.
    pub dn: String,
    /// The key user as sent.
    pub user: String,
    /// The approver's comment.
    pub comment: String,
    /// `Hours` as sent; `None` when absent.
    pub hours: Option<i64>,
    /// `IPAddress` as sent; the enforced chain compares it with the submitter's address.
    pub ip_address: Option<String>,
    /// `NotBefore` as sent (not normalised).
    pub not_before: Option<String>,
    /// `SigningExecutable` as sent; stored, never compared (AppViewX hash signing carries no
    /// executable path).
    pub signing_executable: Option<String>,
    /// `SingleUse` as sent; `None` when absent.
    pub single_use: Option<bool>,
    /// Who created it (the token's username).
    pub created_by: String,
    /// When it was created, in unix milliseconds of the simulator's clock: `Hours` count from here.
    #[serde(default)]
    pub created_ms: i64,
    /// The sign ids of the AppViewX signings that used it, in order; a single-use one serves one.
    #[serde(default)]
    pub used_by: Vec<String>,
}

/// An AppViewX session, without its id (a credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The user who logged in.
    pub username: String,
    /// False once the session expired (by time or an `expire-session` fault).
    pub active: bool,
}

/// An AppViewX sign request, as submitted and as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignRecord {
    /// The id the submit answered, shaped like AppViewX's.
    pub sign_id: String,
    /// `signingPolicy` as sent.
    pub signing_policy: String,
    /// `signingKey` as sent.
    pub signing_key: String,
    /// `signedType` as sent.
    pub signed_type: String,
    /// `fileHashContent` as sent: the DigestInfo `SimHandle::signature` recomputes the signature from.
    pub file_hash_content: String,
    /// `description` as sent (mandatory on submit, so always `Some`).
    pub description: Option<String>,
    /// Accepted as any string; the reference only shows `v1`.
    pub version_number: String,
    /// As a status call would report it now: `Inprogress`, `Signed` or `Failed`.
    pub status: String,
    /// The submitting user; only they may fetch it.
    pub username: String,
    /// Where the request stands in the approval chain, as of the snapshot: `recorded`,
    /// `pre-approved`, `awaiting approval: no live pre-approval for <dn> from <ip>`,
    /// `approved by approver`, `approved by approver (automatic)`, `rejected`,
    /// `failed: approval timed out` or `failed: digest not pre-qualified`.
    #[serde(default)]
    pub approval: String,
    /// Why it could not be pre-approved (`none-for-address`, `not-yet-valid`, `all-used`,
    /// `expired`) or pre-qualified (`none-for-digest`, `all-used`, `expired`); `None` when nothing
    /// was missing.
    #[serde(default)]
    pub approval_reason: Option<String>,
    /// The address it was submitted from, as this server saw it (an IPv4-mapped IPv6 address as
    /// IPv4): what a pre-approval's `IPAddress` is compared with.
    #[serde(default)]
    pub peer: Option<std::net::IpAddr>,
}

/// One request as received, for conformance checks on what a client put on the wire. Header
/// values are never recorded, and the credentials a query or body carries are replaced by `***`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// The path as received (original case), without the query string.
    pub path: String,
    /// The query string as received, except that the value of every `gwkey` parameter (a tenant
    /// key, so a credential) reads `***`.
    pub query: Option<String>,
    /// 0 when no response was sent (reset, hang, or still in flight).
    pub status: u16,
    /// The fault kind's name when a fault hit this request.
    pub fault: Option<String>,
    /// The names of the headers received, lower-case, sorted, each once. Values are not kept.
    #[serde(default)]
    pub header_names: Vec<String>,
    /// The address the request came from, as this server saw it (an IPv4-mapped IPv6 address
    /// as IPv4): after any NAT on the way, so what TPP would compare a pre-approval's
    /// `IPAddress` with.
    #[serde(default)]
    pub peer: Option<std::net::IpAddr>,
    /// The body when it parses as JSON, with the value of every secret field (`password`, `jwt`,
    /// `refresh_token`, `access_token`, `client_secret`, `sessionId`, `otp`, `gwkey`, at any
    /// depth, names compared without case) replaced by `"***"`. `None` for no body, a body that
    /// is not JSON, or a request answered before its body was read.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

/// Body fields whose values never reach a snapshot (compared lower-case).
const SECRET_FIELDS: [&str; 8] =
    ["password", "jwt", "refresh_token", "access_token", "client_secret", "sessionid", "otp", "gwkey"];

/// The body as it is recorded: parsed JSON with secrets replaced, or nothing.
pub(crate) fn recorded_body(body: &[u8]) -> Option<serde_json::Value> {
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    redact(&mut value, false);
    Some(value)
}

/// Replaces every string or number under a secret field (however deep) by `"***"`.
fn redact(value: &mut serde_json::Value, secret: bool) {
    use serde_json::Value;
    if secret && matches!(value, Value::String(_) | Value::Number(_)) {
        *value = Value::String("***".to_string());
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let is_secret = secret || SECRET_FIELDS.contains(&key.to_ascii_lowercase().as_str());
                redact(v, is_secret);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secret)),
        _ => {}
    }
}

/// The query as it is recorded: as received, with the value of every `gwkey` replaced by `***`.
pub(crate) fn recorded_query(raw: &str) -> String {
    raw.split('&')
        .map(|pair| {
            let raw_key = pair.split_once('=').map_or(pair, |(k, _)| k);
            let key: String = form_urlencoded::parse(raw_key.as_bytes()).map(|(k, _)| k.into_owned()).collect();
            if key.eq_ignore_ascii_case("gwkey") && pair.contains('=') {
                format!("{raw_key}=***")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub id: u64,
    pub username: String,
    pub identity: String,
    pub client_id: String,
    pub scope: String,
    pub issued_at_ms: i64,
    pub refresh_token: Option<String>,
    pub refresh_until_ms: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub token: String,
    pub grant: u64,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    pub issued_via: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub username: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct SignRequest {
    pub record: SignRecord,
    pub created_ms: i64,
    pub delay_ms: u64,
    pub outcome: SignOutcome,
    /// The policy's `signed_script`, when `encodedHashData` is a whole signed script.
    pub script: Option<String>,
    /// What the approval chain decided at submission, and what an approver did since.
    pub chain: Chain,
    /// The decoded `fileHashContent` (a DigestInfo) and where the digest in it starts.
    pub digest_info: Vec<u8>,
    pub digest_at: usize,
    /// The signing key's real signature over it, made at submission.
    pub signature: Vec<u8>,
    /// What a `Signed` answer carries: `signature`, unless a signature fault hit the submission.
    pub answer: Vec<u8>,
}

/// A sign request's standing in the approval chain, fixed at submission except for an
/// approver's decision. Time-driven changes (the automatic approver, the approval timeout) are
/// not stored but computed from the clock, like the signing delay, so advancing the clock
/// reaches them at once and no background task has to run.
#[derive(Debug, Clone)]
pub(crate) enum Chain {
    /// `approval = "recorded"`: nothing was asked.
    Recorded,
    /// A live pre-qualification and a live pre-approval were found and used.
    PreApproved,
    /// No live pre-qualification matched the digest: signing fails at once.
    NotPreQualified { reason: &'static str },
    /// Pre-qualified, but no pre-approval could serve: a manual approval stage holds it.
    Awaiting {
        dn: String,
        peer: std::net::IpAddr,
        reason: &'static str,
        decision: Option<Decision>,
        /// `appviewx.manual_approval_after_ms` at submission.
        auto_after_ms: Option<u64>,
        /// `appviewx.approval_timeout_ms` at submission.
        timeout_ms: u64,
    },
}

/// What an approver did with a waiting request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Approved { at_ms: i64 },
    Rejected,
}

/// Whether a request may be signed at a given instant, and from when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clearance {
    /// Signing runs from `from_ms` (its delay counts from there).
    Cleared { from_ms: i64, by: ClearedBy },
    /// Held for an approver.
    Waiting,
    /// Not pre-qualified, or rejected: it failed, but not for a timeout.
    Refused,
    /// Nobody approved it in time.
    TimedOut,
}

/// Who let a request through, for the snapshot's `approval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClearedBy {
    Nothing,
    PreApproval,
    Approver,
    AutomaticApprover,
}

/// What a status call would say about a sign request at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignPhase {
    InProgress,
    Signed,
    TimedOut,
    FetchFails,
    /// Terminal `Failed` that is not a timeout: not pre-qualified, or rejected by an approver.
    Failed,
}

/// Milliseconds from the config as a clock offset; absurd values saturate instead of wrapping.
fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl SignRequest {
    pub fn clearance(&self, now_ms: i64) -> Clearance {
        match &self.chain {
            Chain::Recorded => Clearance::Cleared { from_ms: self.created_ms, by: ClearedBy::Nothing },
            Chain::PreApproved => Clearance::Cleared { from_ms: self.created_ms, by: ClearedBy::PreApproval },
            Chain::Awaiting { decision: Some(Decision::Approved { at_ms }), .. } => {
                Clearance::Cleared { from_ms: *at_ms, by: ClearedBy::Approver }
            }
            Chain::NotPreQualified { .. } | Chain::Awaiting { decision: Some(Decision::Rejected), .. } => {
                Clearance::Refused
            }
            Chain::Awaiting { decision: None, auto_after_ms, timeout_ms, .. } => {
                // The stand-in approver only acts while the request still waits.
                let auto = auto_after_ms.filter(|after| after < timeout_ms);
                if let Some(at) = auto.map(|after| self.created_ms.saturating_add(ms(after))) {
                    if now_ms >= at {
                        return Clearance::Cleared { from_ms: at, by: ClearedBy::AutomaticApprover };
                    }
                }
                if now_ms >= self.created_ms.saturating_add(ms(*timeout_ms)) {
                    Clearance::TimedOut
                } else {
                    Clearance::Waiting
                }
            }
        }
    }

    pub fn phase(&self, now_ms: i64) -> SignPhase {
        let from_ms = match self.clearance(now_ms) {
            Clearance::Cleared { from_ms, .. } => from_ms,
            Clearance::Waiting => return SignPhase::InProgress,
            Clearance::Refused => return SignPhase::Failed,
            Clearance::TimedOut => return SignPhase::TimedOut,
        };
        let done = now_ms >= from_ms.saturating_add(ms(self.delay_ms));
        match (self.outcome, done) {
            (SignOutcome::Never, _) | (_, false) => SignPhase::InProgress,
            (SignOutcome::Signed, true) => SignPhase::Signed,
            (SignOutcome::TimeoutError, true) => SignPhase::TimedOut,
            (SignOutcome::FetchError, true) => SignPhase::FetchFails,
        }
    }

    /// The snapshot's `approval` and `approval_reason` at a given instant.
    pub fn approval(&self, now_ms: i64) -> (String, Option<String>) {
        let (dn, peer, reason) = match &self.chain {
            Chain::Recorded => return ("recorded".to_string(), None),
            Chain::PreApproved => return ("pre-approved".to_string(), None),
            Chain::NotPreQualified { reason } => {
                return ("failed: digest not pre-qualified".to_string(), Some((*reason).to_string()))
            }
            Chain::Awaiting { dn, peer, reason, .. } => (dn, peer, Some((*reason).to_string())),
        };
        let label = match self.clearance(now_ms) {
            Clearance::Waiting => format!("awaiting approval: no live pre-approval for {dn} from {peer}"),
            Clearance::Cleared { by: ClearedBy::AutomaticApprover, .. } => "approved by approver (automatic)".into(),
            Clearance::Cleared { .. } => "approved by approver".into(),
            Clearance::Refused => "rejected".into(),
            Clearance::TimedOut => "failed: approval timed out".into(),
        };
        (label, reason)
    }
}

impl SignPhase {
    /// The `status` a status call answers in this phase (`Inprogress` until it fails to fetch).
    pub fn label(self) -> &'static str {
        match self {
            SignPhase::InProgress | SignPhase::FetchFails => "Inprogress",
            SignPhase::Signed => "Signed",
            SignPhase::TimedOut | SignPhase::Failed => "Failed",
        }
    }
}

/// The mutable heart of the simulator, behind one mutex: requests are few and handlers never
/// await while holding it, so one lock keeps every cross-vendor invariant trivially consistent.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub grants: Vec<Grant>,
    pub tokens: Vec<AccessToken>,
    pub prequalifications: Vec<PreQualRecord>,
    pub preapprovals: Vec<PreApprovalRecord>,
    pub sessions: Vec<Session>,
    pub login_attempts_left: BTreeMap<String, u32>,
    pub signs: Vec<SignRequest>,
    pub requests: Vec<RequestRecord>,
    pub faults: Vec<FaultSlot>,
    pub next_grant: u64,
    pub sign_counter: u32,
    /// Set by `SimHandle::set_oidc_subject`; `None` mints for `oidc.subject` from the config.
    pub oidc_subject: Option<String>,
}

impl Store {
    pub fn snapshot(&self, now_ms: i64) -> SimState {
        let tpp_tokens = self
            .tokens
            .iter()
            .map(|t| {
                let grant = self.grants.iter().find(|g| g.id == t.grant);
                TokenRecord {
                    username: grant.map(|g| g.username.clone()).unwrap_or_default(),
                    client_id: grant.map(|g| g.client_id.clone()).unwrap_or_default(),
                    scope: grant.map(|g| g.scope.clone()).unwrap_or_default(),
                    revoked: grant.is_none_or(|g| g.revoked),
                    expired: now_ms >= t.expires_at_ms,
                    issued_via: t.issued_via.to_string(),
                    grant: t.grant,
                }
            })
            .collect();
        SimState {
            tpp_tokens,
            prequalifications: self.prequalifications.clone(),
            preapprovals: self.preapprovals.clone(),
            avx_sessions: self
                .sessions
                .iter()
                .map(|s| SessionRecord { username: s.username.clone(), active: now_ms < s.expires_at_ms })
                .collect(),
            avx_login_attempts_left: self.login_attempts_left.clone(),
            sign_requests: self
                .signs
                .iter()
                .map(|s| {
                    let mut r = s.record.clone();
                    r.status = s.phase(now_ms).label().to_string();
                    (r.approval, r.approval_reason) = s.approval(now_ms);
                    r
                })
                .collect(),
            requests: self.requests.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gwkey_is_masked_wherever_it_is() {
        assert_eq!(recorded_query("gwsource=external&gwkey=f000ca01"), "gwsource=external&gwkey=***");
        assert_eq!(recorded_query("gwkey=a&gwkey=b&signId=1"), "gwkey=***&gwkey=***&signId=1");
        assert_eq!(recorded_query("GWKEY=a&%67wkey=b&gwkey"), "GWKEY=***&%67wkey=***&gwkey");
        assert_eq!(recorded_query("gwkeys=a&x=gwkey"), "gwkeys=a&x=gwkey");
        assert_eq!(recorded_query(""), "");
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let got = recorded_body(
            br#"{"client_id":"c","password":"p","nested":{"Refresh_Token":"r","list":[{"jwt":"j"}]},"otp":123456,"access_token":null,"client_secret":["a",{"b":"c"}]}"#,
        );
        assert_eq!(
            got,
            Some(
                serde_json::json!({"client_id":"c","password":"***","nested":{"Refresh_Token":"***","list":[{"jwt":"***"}]},"otp":"***","access_token":null,"client_secret":["***",{"b":"***"}]})
            )
        );
        assert_eq!(recorded_body(b"not json"), None);
        assert_eq!(recorded_body(b""), None);
    }
}
