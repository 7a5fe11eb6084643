//! `Flow/Actions/CodeSign/PreQualify/Create`: a hash pre-qualified for High Assurance Signing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

use crate::http::{Reply, Req};
use crate::shared::Shared;
use crate::state::PreQualRecord;

use super::approver::{approver_checks, authenticated_approver, success, validate_hours};
use super::common::{bad_request, parse_body};

/// The body the document lists; `Hours` and `SingleUse` are optional.
#[derive(Debug, Deserialize)]
struct PreQualifyRequest {
    #[serde(rename = "Dn")]
    dn: String,
    #[serde(rename = "Data")]
    data: String,
    #[serde(rename = "User")]
    user: String,
    #[serde(rename = "Comment")]
    comment: String,
    #[serde(rename = "Hours", default)]
    hours: Option<i64>,
    #[serde(rename = "SingleUse", default)]
    single_use: Option<bool>,
}

/// `POST /vedsdk/Flow/Actions/CodeSign/PreQualify/Create`: stores the pre-qualified hash.
pub(super) fn prequalify(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let caller = authenticated_approver(shared, req)?;
    let body: PreQualifyRequest = parse_body(req)?;
    // "The Base64 encoding of a hash, digest, or data": any length, so a DigestInfo or a SHA-1
    // digest too; only what is not Base64, or encodes nothing, is refused.
    if body.data.is_empty() || STANDARD.decode(body.data.as_bytes()).is_err() {
        return Err(bad_request("Data must be the Base64 encoding of a hash, digest, or data"));
    }
    validate_hours(body.hours, shared.config.tpp.max_hours)?;
    approver_checks(shared, &caller, &body.dn, &body.user)?;
    let now = shared.clock.now_ms();
    shared.lock().prequalifications.push(PreQualRecord {
        dn: body.dn,
        data: body.data,
        user: body.user,
        comment: body.comment,
        hours: body.hours,
        single_use: body.single_use,
        created_by: caller.username,
        created_ms: now,
        used_by: Vec::new(),
    });
    Ok(success())
}
