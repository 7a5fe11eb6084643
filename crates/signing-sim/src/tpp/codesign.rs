//! The `Codesign/*` WebSDK calls (AddPreApproval, GetEnvironment) and `SystemStatus/Version`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::TppEnvironment;
use crate::http::{Reply, Req};
use crate::shared::Shared;
use crate::state::PreApprovalRecord;
use crate::timefmt::parse_not_before;

use super::approver::{approver_checks, authenticated_approver, find_environment, success, validate_hours};
use super::common::{authenticate, bad_request, parse_body, refusal, require_scope, result_code, stable_guid};

/// The body the document lists; everything but `Dn`, `User` and `Comment` is optional.
#[derive(Debug, Deserialize)]
struct AddPreApprovalRequest {
    #[serde(rename = "Dn")]
    dn: String,
    #[serde(rename = "User")]
    user: String,
    #[serde(rename = "Comment")]
    comment: String,
    #[serde(rename = "Hours", default)]
    hours: Option<i64>,
    #[serde(rename = "IPAddress", default)]
    ip_address: Option<String>,
    #[serde(rename = "NotBefore", default)]
    not_before: Option<String>,
    #[serde(rename = "SigningExecutable", default)]
    signing_executable: Option<String>,
    #[serde(rename = "SingleUse", default)]
    single_use: Option<bool>,
}

/// TPP documents "specify one of" `Dn`, `Guid` or `Id`; pyVenafi's `GetEnvironment.post` offers
/// all three and leaves out the ones not given.
#[derive(Debug, Deserialize)]
struct GetEnvironmentRequest {
    #[serde(rename = "Dn", default)]
    dn: Option<String>,
    #[serde(rename = "Guid", default)]
    guid: Option<String>,
    #[serde(rename = "Id", default)]
    id: Option<i64>,
}

/// The environment as GetEnvironment describes it.
#[derive(Debug, Serialize)]
struct EnvironmentInfo {
    #[serde(rename = "Dn")]
    dn: String,
    #[serde(rename = "Guid")]
    guid: String,
    #[serde(rename = "Id")]
    id: i64,
    #[serde(rename = "Name")]
    name: String,
}

/// GetEnvironment's success; a refusal is the common `{"Success":false,"Result","Error"}`.
#[derive(Debug, Serialize)]
struct GetEnvironmentResponse {
    #[serde(rename = "CertificateEnvironment")]
    environment: EnvironmentInfo,
    #[serde(rename = "Success")]
    success: bool,
    #[serde(rename = "Result")]
    result: i32,
}

/// `SystemStatus/Version`'s answer.
#[derive(Debug, Serialize)]
struct VersionResponse {
    #[serde(rename = "Version")]
    version: String,
}

/// Answered without a token: SDKs ask for it before authenticating to pick an auth method.
// Every route in `tpp`'s table has the same signature, this one included, though it cannot fail.
#[allow(clippy::unnecessary_wraps)]
pub(super) fn version(shared: &Shared, _req: &Req) -> Result<Reply, Reply> {
    Ok(Reply::json(200, &VersionResponse { version: shared.config.tpp.version.clone() }))
}

/// `POST /vedsdk/Codesign/AddPreApproval`: stores the pre-approval after checking every field.
pub(super) fn add_preapproval(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let caller = authenticated_approver(shared, req)?;
    let body: AddPreApprovalRequest = parse_body(req)?;
    validate_hours(body.hours, shared.config.tpp.max_hours)?;
    if let Some(ip) = &body.ip_address {
        if ip.parse::<IpAddr>().is_err() {
            return Err(bad_request(format!("IPAddress '{ip}' is not an IPv4 or IPv6 address")));
        }
    }
    if let Some(nb) = &body.not_before {
        parse_not_before(nb).map_err(bad_request)?;
    }
    if body.signing_executable.as_deref().is_some_and(str::is_empty) {
        return Err(bad_request("SigningExecutable must not be empty when present"));
    }
    approver_checks(shared, &caller, &body.dn, &body.user)?;
    let now = shared.clock.now_ms();
    shared.lock().preapprovals.push(PreApprovalRecord {
        dn: body.dn,
        user: body.user,
        comment: body.comment,
        hours: body.hours,
        ip_address: body.ip_address,
        not_before: body.not_before,
        signing_executable: body.signing_executable,
        single_use: body.single_use,
        created_by: caller.username,
        created_ms: now,
        used_by: Vec::new(),
    });
    Ok(success())
}

/// The GUID an environment answers to in GetEnvironment, stable for its DN.
fn environment_guid(env: &TppEnvironment) -> String {
    stable_guid(&format!("env:{}", env.dn.to_lowercase()))
}

/// The numeric object id an environment answers to, stable for its DN (TPP ids are positive).
fn environment_id(env: &TppEnvironment) -> i64 {
    let h = Sha256::digest(format!("env-id:{}", env.dn.to_lowercase()).as_bytes());
    i64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]) & 0x00ff_ffff) + 1
}

/// Any `codesign` grant may look an environment up; only creating things needs `approve`.
pub(super) fn get_environment(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let now = shared.clock.now_ms();
    let caller = authenticate(&shared.lock(), req, now)?;
    require_scope(&caller, "codesign", None)?;
    let body: GetEnvironmentRequest = parse_body(req)?;
    let config = &shared.config.tpp;
    let env = match (&body.dn, &body.guid, body.id) {
        (Some(dn), _, _) => find_environment(config, dn)?,
        (None, Some(guid), _) => {
            let bare = |g: &str| g.trim().trim_matches(|c| c == '{' || c == '}').to_ascii_lowercase();
            config.environments.iter().find(|e| bare(&environment_guid(e)) == bare(guid)).ok_or_else(|| {
                refusal(result_code::OBJECT_NOT_FOUND, format!("No code signing environment has the GUID '{guid}'"))
            })?
        }
        (None, None, Some(id)) => config.environments.iter().find(|e| environment_id(e) == id).ok_or_else(|| {
            refusal(result_code::OBJECT_NOT_FOUND, format!("No code signing environment has the Id {id}"))
        })?,
        (None, None, None) => return Err(bad_request("Specify the environment by Dn, Guid or Id")),
    };
    let name = env.dn.rsplit('\\').next().unwrap_or_default().to_string();
    Ok(Reply::json(
        200,
        &GetEnvironmentResponse {
            environment: EnvironmentInfo {
                dn: env.dn.clone(),
                guid: environment_guid(env),
                id: environment_id(env),
                name,
            },
            success: true,
            result: result_code::SUCCESS,
        },
    ))
}
