//! The approval chain: what an AppViewX signing takes from TPP's pre-qualifications and
//! pre-approvals when the chain is enforced, and what an approver does with a signing that
//! found no pre-approval.
//!
//! Neither vendor documents this link; each document describes its own side. The model (the
//! README's "The approval chain") reads the TPP documents literally: a digest that does not match
//! a pre-qualified hash fails ("code signing fails"), a pre-approval that does not match is "not
//! used" (so the Flow's approval stage holds the signing for an approver), and what is single use
//! serves one signing. Everything is decided under the store's one lock at submission, so two
//! signings racing for one single-use record cannot both get it.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

use crate::http::{Reply, Req};
use crate::shared::Shared;
use crate::state::{Chain, Clearance, Decision, PreApprovalRecord, PreQualRecord, Store};
use crate::timefmt::parse_not_before;

/// Both documents: "If absent, [it] expires 24 hours after this API call occurs."
const DEFAULT_HOURS: i64 = 24;
const HOUR_MS: i64 = 3_600_000;

/// What a signing brings to the chain, as AppViewX received it.
pub(crate) struct Submission<'a> {
    /// The governing environment's DN (compared without case, as TPP compares DNs).
    pub dn: &'a str,
    /// The decoded `fileHashContent`: the whole DigestInfo.
    pub digest_info: &'a [u8],
    /// The digest inside it.
    pub digest: &'a [u8],
    /// The submitter's address as this server saw it, IPv4-mapped addresses as IPv4.
    pub peer: IpAddr,
    pub sign_id: &'a str,
    pub now_ms: i64,
    /// `appviewx.manual_approval_after_ms`, kept with the request.
    pub auto_after_ms: Option<u64>,
    /// `appviewx.approval_timeout_ms`, kept with the request.
    pub timeout_ms: u64,
}

/// Why one record cannot serve a signing now, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unusable {
    Expired,
    Used,
    NotYetValid,
}

fn expires_at_ms(created_ms: i64, hours: Option<i64>) -> i64 {
    created_ms.saturating_add(hours.unwrap_or(DEFAULT_HOURS).saturating_mul(HOUR_MS))
}

/// "Sign once" / "Used only once": one sign id in `used_by` uses it up.
fn used_up(single_use: Option<bool>, used_by: &[String]) -> bool {
    single_use == Some(true) && !used_by.is_empty()
}

fn prequal_standing(p: &PreQualRecord, now_ms: i64) -> Result<(), Unusable> {
    if now_ms >= expires_at_ms(p.created_ms, p.hours) {
        Err(Unusable::Expired)
    } else if used_up(p.single_use, &p.used_by) {
        Err(Unusable::Used)
    } else {
        Ok(())
    }
}

fn preapproval_standing(p: &PreApprovalRecord, now_ms: i64) -> Result<(), Unusable> {
    if now_ms >= expires_at_ms(p.created_ms, p.hours) {
        Err(Unusable::Expired)
    } else if used_up(p.single_use, &p.used_by) {
        Err(Unusable::Used)
    } else if p.not_before.as_deref().is_some_and(|nb| parse_not_before(nb).map_or(true, |at| now_ms < at)) {
        // AddPreApproval validated it, so a parse failure cannot happen; if it did, never valid.
        Err(Unusable::NotYetValid)
    } else {
        Ok(())
    }
}

/// "A hash, digest, or data that will match the signing tool hash": the bare digest or the whole
/// DigestInfo, byte for byte.
fn prequal_matches(p: &PreQualRecord, s: &Submission<'_>) -> bool {
    p.dn.eq_ignore_ascii_case(s.dn)
        && STANDARD.decode(p.data.as_bytes()).is_ok_and(|data| data == s.digest_info || data == s.digest)
}

/// Same environment, and no `IPAddress` or the submitter's. `User` and `SigningExecutable` are
/// not compared: AppViewX knows neither TPP's key user nor the executable.
fn preapproval_matches(p: &PreApprovalRecord, s: &Submission<'_>) -> bool {
    p.dn.eq_ignore_ascii_case(s.dn)
        && p.ip_address.as_deref().is_none_or(|ip| ip.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical() == s.peer))
}

/// The first (oldest) matching record that is live, or the reason none is, from the standings of
/// those that match: the one closest to usable wins (`not-yet-valid`, then `all-used`, then
/// `expired`); with no matching record at all, `none`.
fn pick<T>(
    records: &[T],
    matches: impl Fn(&T) -> bool,
    standing: impl Fn(&T) -> Result<(), Unusable>,
    none: &'static str,
) -> Result<usize, &'static str> {
    let mut seen = Vec::new();
    for (i, r) in records.iter().enumerate().filter(|(_, r)| matches(r)) {
        match standing(r) {
            Ok(()) => return Ok(i),
            Err(why) => seen.push(why),
        }
    }
    Err(if seen.is_empty() {
        none
    } else if seen.contains(&Unusable::NotYetValid) {
        "not-yet-valid"
    } else if seen.contains(&Unusable::Used) {
        "all-used"
    } else {
        "expired"
    })
}

/// Runs the chain for one signing and consumes what it uses. Without a live pre-qualification
/// nothing is consumed and the signing fails. With one, the pre-qualification is used by this
/// signing whether or not a pre-approval serves it (a signing held for an approver will sign
/// that digest, and "Sign once" must not let a second one in meanwhile); a pre-approval is used
/// only alongside a pre-qualification.
pub(crate) fn submit(store: &mut Store, s: &Submission<'_>) -> Chain {
    let prequal = match pick(
        &store.prequalifications,
        |p| prequal_matches(p, s),
        |p| prequal_standing(p, s.now_ms),
        "none-for-digest",
    ) {
        Ok(i) => i,
        Err(reason) => return Chain::NotPreQualified { reason },
    };
    let preapproval = pick(
        &store.preapprovals,
        |p| preapproval_matches(p, s),
        |p| preapproval_standing(p, s.now_ms),
        "none-for-address",
    );
    if let Some(p) = store.prequalifications.get_mut(prequal) {
        p.used_by.push(s.sign_id.to_string());
    }
    match preapproval {
        Ok(i) => {
            if let Some(p) = store.preapprovals.get_mut(i) {
                p.used_by.push(s.sign_id.to_string());
            }
            Chain::PreApproved
        }
        Err(reason) => Chain::Awaiting {
            dn: s.dn.to_string(),
            peer: s.peer,
            reason,
            decision: None,
            auto_after_ms: s.auto_after_ms,
            timeout_ms: s.timeout_ms,
        },
    }
}

/// Why an approver's decision was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No sign request has that id.
    Unknown,
    /// It is not waiting for an approver; carries its `approval` as the snapshot shows it.
    NotAwaiting(String),
}

impl Refused {
    pub fn describe(&self, sign_id: &str) -> String {
        match self {
            Refused::Unknown => format!("no sign request has the id {sign_id:?}"),
            Refused::NotAwaiting(approval) => {
                format!("sign request {sign_id:?} is not awaiting approval (approval: {approval})")
            }
        }
    }
}

/// An approver approves (signing starts now, its delay counted from now) or rejects (it fails)
/// a request that is still waiting; anything else is refused, so a decision cannot overturn a
/// pre-approval, a timeout or an earlier decision.
pub(crate) fn decide(store: &mut Store, sign_id: &str, approve: bool, now_ms: i64) -> Result<String, Refused> {
    let sign = store.signs.iter_mut().find(|s| s.record.sign_id == sign_id).ok_or(Refused::Unknown)?;
    if sign.clearance(now_ms) != Clearance::Waiting {
        return Err(Refused::NotAwaiting(sign.approval(now_ms).0));
    }
    if let Chain::Awaiting { decision, .. } = &mut sign.chain {
        *decision = Some(if approve { Decision::Approved { at_ms: now_ms } } else { Decision::Rejected });
    }
    Ok(sign.approval(now_ms).0)
}

/// The body of `POST /__sim/approve`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApproveRequest {
    sign_id: String,
    #[serde(default)]
    decision: Option<String>,
}

fn sim_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(status, &serde_json::json!({ "error": error, "error_description": description }))
}

/// `POST /__sim/approve` with `{"signId","decision"}` (`approve`, the default, or `reject`): the
/// approver of a manual approval stage, for clients that cannot reach `SimHandle`.
pub(crate) fn approve_route(shared: &Shared, req: &Req) -> Reply {
    if req.method != hyper::Method::POST {
        return sim_error(405, "invalid_request", "POST only").with_header(hyper::header::ALLOW, "POST");
    }
    let body: ApproveRequest = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => {
            return sim_error(400, "invalid_request", &format!("expected {{\"signId\",\"decision\"?}}: {e}"));
        }
    };
    let approve = match body.decision.as_deref() {
        None | Some("approve") => true,
        Some("reject") => false,
        Some(other) => {
            return sim_error(
                400,
                "invalid_request",
                &format!("decision {other:?} is neither \"approve\" nor \"reject\""),
            )
        }
    };
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    match decide(&mut store, &body.sign_id, approve, now) {
        Ok(approval) => {
            let status = store
                .signs
                .iter()
                .find(|s| s.record.sign_id == body.sign_id)
                .map_or("Inprogress", |s| s.phase(now).label());
            Reply::json(200, &serde_json::json!({ "signId": body.sign_id, "approval": approval, "status": status }))
        }
        Err(refused @ Refused::Unknown) => sim_error(404, "not_found", &refused.describe(&body.sign_id)),
        Err(refused) => sim_error(409, "conflict", &refused.describe(&body.sign_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prequal(data: &[u8], single_use: Option<bool>) -> PreQualRecord {
        PreQualRecord {
            dn: r"\VED\E".into(),
            data: STANDARD.encode(data),
            user: "local:u".into(),
            comment: "c".into(),
            hours: None,
            single_use,
            created_by: "a".into(),
            created_ms: 0,
            used_by: Vec::new(),
        }
    }

    fn preapproval(ip: Option<&str>, not_before: Option<&str>, single_use: Option<bool>) -> PreApprovalRecord {
        PreApprovalRecord {
            dn: r"\ved\e".into(),
            user: "local:u".into(),
            comment: "c".into(),
            hours: Some(1),
            ip_address: ip.map(str::to_string),
            not_before: not_before.map(str::to_string),
            signing_executable: None,
            single_use,
            created_by: "a".into(),
            created_ms: 0,
            used_by: Vec::new(),
        }
    }

    fn submission(sign_id: &str, now_ms: i64) -> Submission<'_> {
        Submission {
            dn: r"\VED\E",
            digest_info: b"PREFIXdigest",
            digest: b"digest",
            peer: IpAddr::from([127, 0, 0, 1]),
            sign_id,
            now_ms,
            auto_after_ms: None,
            timeout_ms: 1000,
        }
    }

    #[test]
    fn a_digest_matches_bare_or_as_digest_info_and_single_use_serves_once() {
        let mut store = Store::default();
        store.prequalifications.push(prequal(b"PREFIXdigest", Some(true)));
        store.preapprovals.push(preapproval(None, None, None));
        assert!(matches!(submit(&mut store, &submission("a", 0)), Chain::PreApproved));
        let second = submit(&mut store, &submission("b", 0));
        assert!(matches!(second, Chain::NotPreQualified { reason: "all-used" }), "{second:?}");
        store.prequalifications.push(prequal(b"digest", None));
        assert!(matches!(submit(&mut store, &submission("c", 0)), Chain::PreApproved));
        assert_eq!(store.prequalifications[0].used_by, ["a"]);
        assert_eq!(store.prequalifications[1].used_by, ["c"]);
        assert_eq!(store.preapprovals[0].used_by, ["a", "c"], "shared, and not used by the failed one");
        let late = submit(&mut store, &submission("d", DEFAULT_HOURS * HOUR_MS));
        assert!(matches!(late, Chain::NotPreQualified { reason: "expired" }), "{late:?}");
    }

    #[test]
    fn reasons_name_the_pre_approval_closest_to_usable() {
        let reason = |records: Vec<PreApprovalRecord>, now_ms: i64| {
            let mut store = Store::default();
            store.prequalifications.push(prequal(b"digest", None));
            store.preapprovals = records;
            match submit(&mut store, &submission("x", now_ms)) {
                Chain::Awaiting { reason, .. } => reason,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(reason(vec![], 0), "none-for-address");
        assert_eq!(reason(vec![preapproval(Some("192.0.2.1"), None, None)], 0), "none-for-address");
        // An IPv4-mapped IPv6 `IPAddress` is the IPv4 peer: it matches, and is only too old.
        assert_eq!(reason(vec![preapproval(Some("::ffff:127.0.0.1"), None, None)], HOUR_MS), "expired");
        let mut used = preapproval(None, None, Some(true));
        used.used_by.push("earlier".into());
        let mut old = preapproval(None, None, None);
        old.created_ms = -2 * HOUR_MS;
        assert_eq!(reason(vec![old, used.clone()], 0), "all-used");
        let future = preapproval(None, Some("2999-01-01T00:00:00Z"), None);
        assert_eq!(reason(vec![used, future], 0), "not-yet-valid");
    }
}
