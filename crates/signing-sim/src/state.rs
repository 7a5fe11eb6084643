//! Everything the simulated servers hold, and the snapshot of it that tests assert on.
//!
//! The snapshot never contains token strings, session ids or passwords: tests should assert on
//! what the server did, and a snapshot printed in a CI log must not hand out live credentials.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::SignOutcome;
use crate::fault::FaultSlot;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    pub tpp_tokens: Vec<TokenRecord>,
    pub prequalifications: Vec<PreQualRecord>,
    pub preapprovals: Vec<PreApprovalRecord>,
    pub avx_sessions: Vec<SessionRecord>,
    pub avx_login_attempts_left: BTreeMap<String, u32>,
    pub sign_requests: Vec<SignRecord>,
    /// Every request received, in arrival order, including those a fault answered.
    pub requests: Vec<RequestRecord>,
}

/// One access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub revoked: bool,
    pub expired: bool,
    /// `oauth`, `jwt`, `refresh` or `issued` (by `SimHandle::issue_token`).
    pub issued_via: String,
    /// Which grant the token belongs to; refreshes stay in their grant.
    pub grant: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreQualRecord {
    pub dn: String,
    /// The Base64 `Data` exactly as sent.
    pub data: String,
    pub user: String,
    pub comment: String,
    pub hours: Option<i64>,
    pub single_use: Option<bool>,
    /// Who created it (the token's username).
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreApprovalRecord {
    pub dn: String,
    pub user: String,
    pub comment: String,
    pub hours: Option<i64>,
    pub ip_address: Option<String>,
    pub not_before: Option<String>,
    pub signing_executable: Option<String>,
    pub single_use: Option<bool>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub username: String,
    /// False once the session expired (by time or an `expire-session` fault).
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignRecord {
    pub sign_id: String,
    pub signing_policy: String,
    pub signing_key: String,
    pub signed_type: String,
    pub file_hash_content: String,
    pub description: Option<String>,
    /// Accepted as any string; the reference only shows `v1`.
    pub version_number: String,
    /// As a status call would report it now: `Inprogress`, `Signed` or `Failed`.
    pub status: String,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// The path as received (original case), without the query string.
    pub path: String,
    pub query: Option<String>,
    /// 0 when no response was sent (reset, hang, or still in flight).
    pub status: u16,
    /// The fault kind's name when a fault hit this request.
    pub fault: Option<String>,
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
    pub key: String,
}

/// What a status call would say about a sign request at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignPhase {
    InProgress,
    Signed,
    TimedOut,
    FetchFails,
}

impl SignRequest {
    pub fn phase(&self, now_ms: i64) -> SignPhase {
        let delay = i64::try_from(self.delay_ms).unwrap_or(i64::MAX);
        let done = now_ms >= self.created_ms.saturating_add(delay);
        match (self.outcome, done) {
            (SignOutcome::Never, _) | (_, false) => SignPhase::InProgress,
            (SignOutcome::Signed, true) => SignPhase::Signed,
            (SignOutcome::TimeoutError, true) => SignPhase::TimedOut,
            (SignOutcome::FetchError, true) => SignPhase::FetchFails,
        }
    }
}

pub(crate) fn phase_label(p: SignPhase) -> &'static str {
    match p {
        SignPhase::InProgress | SignPhase::FetchFails => "Inprogress",
        SignPhase::Signed => "Signed",
        SignPhase::TimedOut => "Failed",
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
                    r.status = phase_label(s.phase(now_ms)).to_string();
                    r
                })
                .collect(),
            requests: self.requests.clone(),
        }
    }
}
