//! Scripted misbehaviour, so a client's retry, timeout and re-authentication paths can be tested
//! deterministically instead of waiting for a real server to have a bad day.

use serde::{Deserialize, Serialize};

/// One armed fault. It watches requests whose path contains `endpoint` (case-insensitively),
/// lets the first `after` of them through, then hits the next `times` of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Substring of the request path; `""` or `"*"` matches every request.
    pub endpoint: String,
    /// What happens to the requests the fault hits.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// `0` means no limit: every matching request after `after` is hit.
    #[serde(default = "one")]
    pub times: u32,
    /// Matching requests let through before the first hit, to fail a later call of a sequence.
    #[serde(default)]
    pub after: u32,
}

fn one() -> u32 {
    1
}

/// What a fault does, one kind per way a real server or network misbehaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaultKind {
    /// Wait, then answer normally.
    Latency {
        /// How long to wait before handling the request.
        ms: u64,
    },
    /// Answer with this status and the vendor's error body, without processing the request.
    Status {
        /// The HTTP status to answer.
        code: u16,
        /// Sent verbatim as `Retry-After` (seconds or an HTTP-date).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
    },
    /// Answer AppViewX's envelope with this HTTP status and `appStatusCode`, without processing
    /// the request. The message is the one AppViewX documents for the code (see
    /// `app_status_message`) unless `message` overrides it. On a TPP path it answers like
    /// `status` with `code`.
    AppStatus {
        /// The HTTP status to answer.
        code: u16,
        /// The `appStatusCode` in the envelope.
        app_status_code: String,
        /// Overrides the documented message, and is required for a code with none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Close the connection without answering; the request is not processed.
    Reset,
    /// Process the request, then send headers promising the whole body but only half of it.
    Truncated,
    /// Process the request, then answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Never answer (until the simulator shuts down); the request is not processed.
    Hang,
    /// Expire the bearer token of this request just before handling it.
    ExpireToken,
    /// Expire the AppViewX session of this request just before handling it.
    ExpireSession,
    /// Process the request; the signature it concerns is made by a key that is not the signing
    /// key's (a built-in stranger key of the same family). On `code-signing-generate-hash` it
    /// marks the new sign request, whose every `Signed` answer then carries it; on a status or
    /// download call it changes that one answer (if it is `Signed`). Elsewhere it does nothing.
    WrongKey,
    /// As `wrong-key`, with the signing key's signature of another sign request (another
    /// DigestInfo) instead; see the README for which one.
    SwappedSignature,
    /// As `wrong-key`, with the right signature cut to its first half.
    TruncatedSignature,
}

/// What a signature fault does to the signature it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureFault {
    WrongKey,
    Swapped,
    Truncated,
}

impl FaultKind {
    /// Stable name used in `RequestRecord::fault` and in TOML (`kind = "..."`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Status { .. } => "status",
            FaultKind::AppStatus { .. } => "app-status",
            FaultKind::Reset => "reset",
            FaultKind::Truncated => "truncated",
            FaultKind::MalformedJson => "malformed-json",
            FaultKind::Hang => "hang",
            FaultKind::ExpireToken => "expire-token",
            FaultKind::ExpireSession => "expire-session",
            FaultKind::WrongKey => "wrong-key",
            FaultKind::SwappedSignature => "swapped-signature",
            FaultKind::TruncatedSignature => "truncated-signature",
        }
    }

    /// What the kind does to a signature, for the kinds that change one.
    pub(crate) fn signature_fault(&self) -> Option<SignatureFault> {
        match self {
            FaultKind::WrongKey => Some(SignatureFault::WrongKey),
            FaultKind::SwappedSignature => Some(SignatureFault::Swapped),
            FaultKind::TruncatedSignature => Some(SignatureFault::Truncated),
            _ => None,
        }
    }
}

impl Fault {
    /// A fault that hits the first matching request once.
    pub fn new(endpoint: impl Into<String>, kind: FaultKind) -> Self {
        Fault { endpoint: endpoint.into(), kind, times: 1, after: 0 }
    }

    /// Hits this many matching requests (`0` = every one), e.g. to outlast a client's retries.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Lets this many matching requests through first, e.g. to fail the second poll only.
    #[must_use]
    pub fn after(mut self, after: u32) -> Self {
        self.after = after;
        self
    }

    /// What would make this fault contradict itself, for `SimConfig::validate`.
    pub(crate) fn check(&self) -> Result<(), String> {
        match &self.kind {
            FaultKind::Status { code, .. } | FaultKind::AppStatus { code, .. } if !(100..=599).contains(code) => {
                Err(format!("fault on {:?}: status code {code} is not an HTTP status", self.endpoint))
            }
            FaultKind::AppStatus { app_status_code, message, .. } => {
                if app_status_code.trim().is_empty() {
                    Err(format!("fault on {:?}: app_status_code must not be empty", self.endpoint))
                } else if message.is_none() && crate::avx_codes::app_status_message(app_status_code).is_none() {
                    Err(format!(
                        "fault on {:?}: no message is known for {app_status_code:?}; give one with `message`",
                        self.endpoint
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Whether a request path is one this fault watches.
    fn matches(&self, path: &str) -> bool {
        let pattern = self.endpoint.trim();
        pattern.is_empty() || pattern == "*" || path.to_lowercase().contains(&pattern.to_lowercase())
    }

    pub(crate) fn describe(&self) -> String {
        let kind = match &self.kind {
            FaultKind::Latency { ms } => format!("latency {ms} ms"),
            FaultKind::Status { code, retry_after: Some(ra) } => format!("status {code} (Retry-After: {ra})"),
            FaultKind::Status { code, .. } => format!("status {code}"),
            FaultKind::AppStatus { code, app_status_code, .. } => format!("app-status {code} {app_status_code}"),
            other => other.name().to_string(),
        };
        let times = if self.times == 0 { "every time".to_string() } else { format!("{} time(s)", self.times) };
        format!("{kind} on {:?}, {times}, after {} request(s)", self.endpoint, self.after)
    }
}

/// An armed fault plus its counters.
#[derive(Debug, Clone)]
pub(crate) struct FaultSlot {
    pub fault: Fault,
    /// Matching requests seen, whether or not this fault fired on them.
    pub seen: u32,
    pub fired: u32,
}

impl FaultSlot {
    pub fn new(fault: Fault) -> Self {
        FaultSlot { fault, seen: 0, fired: 0 }
    }
}

/// Picks the fault for one request. Every matching slot counts the request (so `after` means
/// "the Nth matching request" regardless of other faults), but only the first eligible slot, in
/// the order the faults were added, fires and uses up one of its `times`.
pub(crate) fn pick(slots: &mut [FaultSlot], path: &str) -> Option<FaultKind> {
    let mut chosen = None;
    for slot in slots.iter_mut() {
        if !slot.fault.matches(path) {
            continue;
        }
        slot.seen = slot.seen.saturating_add(1);
        let past_skip = slot.seen > slot.fault.after;
        let has_budget = slot.fault.times == 0 || slot.fired < slot.fault.times;
        if chosen.is_none() && past_skip && has_budget {
            slot.fired += 1;
            chosen = Some(slot.fault.kind.clone());
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_and_times_count_matching_requests_only() {
        let mut slots = vec![FaultSlot::new(Fault::new("prequalify/create", FaultKind::Reset).after(1).times(2))];
        let p = "/vedsdk/Flow/Actions/CodeSign/PreQualify/Create";
        assert_eq!(pick(&mut slots, "/vedauth/authorize/oauth"), None);
        assert_eq!(pick(&mut slots, p), None);
        assert_eq!(pick(&mut slots, p), Some(FaultKind::Reset));
        assert_eq!(pick(&mut slots, p), Some(FaultKind::Reset));
        assert_eq!(pick(&mut slots, p), None);
    }

    #[test]
    fn first_eligible_fault_wins_and_others_wait_their_turn() {
        let mut slots = vec![
            FaultSlot::new(Fault::new("oauth", FaultKind::Reset)),
            FaultSlot::new(Fault::new("oauth", FaultKind::Hang)),
        ];
        assert_eq!(pick(&mut slots, "/vedauth/authorize/oauth"), Some(FaultKind::Reset));
        assert_eq!(pick(&mut slots, "/vedauth/authorize/oauth"), Some(FaultKind::Hang));
        assert_eq!(pick(&mut slots, "/vedauth/authorize/oauth"), None);
    }

    #[test]
    fn zero_times_means_unlimited_and_star_matches_all() {
        let mut slots = vec![FaultSlot::new(Fault::new("*", FaultKind::Latency { ms: 1 }).times(0))];
        for _ in 0..5 {
            assert!(pick(&mut slots, "/anything").is_some());
        }
    }
}
