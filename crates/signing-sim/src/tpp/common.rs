//! What every TPP call shares: the error shapes, the body binding, and the bearer-token and
//! scope checks.

use std::fmt::Write as _;

use hyper::header::WWW_AUTHENTICATE;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::http::{Reply, Req};
use crate::scope::Scope;
use crate::state::{AccessToken, Grant, Store};

/// Sign Result Codes used by the simulated calls (pyVenafi `resultcodes.py`).
pub mod result_code {
    /// `Success:true`; only GetEnvironment answers it, the creating calls answer `Success` alone.
    pub const SUCCESS: i32 = 1;
    /// The caller is not a Key Use Approver of the environment.
    pub const INSUFFICIENT_PERMISSION: i32 = 2;
    /// No environment with that DN, GUID or Id.
    pub const OBJECT_NOT_FOUND: i32 = 7;
    /// No key user of that name.
    pub const USER_NOT_FOUND: i32 = 1002;
}

#[derive(Debug, Serialize)]
struct OAuthError<'a> {
    error: &'a str,
    error_description: String,
}

/// A refusal: HTTP 200 with `Success:false`, the Sign Result Code and its explanation.
#[derive(Debug, Serialize)]
struct SignResult {
    #[serde(rename = "Success")]
    success: bool,
    #[serde(rename = "Result")]
    result: i32,
    #[serde(rename = "Error")]
    error: String,
}

/// TPP's error shape for HTTP errors, `{"error","error_description"}`.
pub(crate) fn oauth_error(status: u16, error: &str, description: impl Into<String>) -> Reply {
    Reply::json(status, &OAuthError { error, error_description: description.into() })
}

/// 401 `invalid_token` with the `WWW-Authenticate` challenge a bearer-token failure carries.
pub(super) fn invalid_token(description: &str) -> Reply {
    oauth_error(401, "invalid_token", description)
        .with_header(WWW_AUTHENTICATE, &format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
}

/// 400 `invalid_request`: a body TPP cannot bind or a field it refuses.
pub(super) fn bad_request(description: impl Into<String>) -> Reply {
    oauth_error(400, "invalid_request", description)
}

/// HTTP 200 with `Success:false`: how the WebSDK calls refuse a well-formed request.
pub(super) fn refusal(result: i32, error: String) -> Reply {
    Reply::json(200, &SignResult { success: false, result, error })
}

/// Decodes a JSON body into a wire type, mapping every failure to TPP's 400 shape.
pub(super) fn parse_body<T: DeserializeOwned>(req: &Req) -> Result<T, Reply> {
    if !req.is_json() {
        let ct = req.header("content-type").unwrap_or("application/octet-stream");
        return Err(oauth_error(
            415,
            "invalid_request",
            format!("The request entity's media type '{ct}' is not supported; send application/json"),
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| bad_request(format!("The request body is not valid: {e}")))
}

/// A GUID that is stable for a given name, so identities look real and survive restarts.
pub(super) fn stable_guid(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let hex = h.iter().take(16).fold(String::with_capacity(32), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("{{{}-{}-{}-{}-{}}}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The bearer token of a request. Only `Authorization: Bearer`: the legacy `X-Venafi-Api-Key`
/// belongs to the API-key login that TPP deprecated and the reference says not to use.
pub(super) fn bearer(req: &Req) -> Option<&str> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().trim_matches('"')).filter(|t| !t.is_empty())
}

/// Who is calling, once the bearer token checked out.
pub(super) struct Caller {
    pub username: String,
    scope: Scope,
}

/// The request's access token and its grant, or 401 `invalid_token` saying why the token does
/// not work (missing, unknown, revoked or expired).
pub(super) fn live_token<'a>(store: &'a Store, req: &Req, now_ms: i64) -> Result<(&'a AccessToken, &'a Grant), Reply> {
    let Some(token) = bearer(req) else {
        return Err(invalid_token("The Authorization header did not include a bearer token"));
    };
    let Some(t) = store.tokens.iter().find(|t| t.token == token) else {
        return Err(invalid_token("The access token is not valid"));
    };
    let Some(grant) = store.grants.iter().find(|g| g.id == t.grant) else {
        return Err(invalid_token("The access token is not valid"));
    };
    if grant.revoked {
        return Err(invalid_token("The access token has been revoked"));
    }
    if now_ms >= t.expires_at_ms {
        return Err(invalid_token("The access token has expired"));
    }
    Ok((t, grant))
}

/// The caller of a bearer-token call, or 401 `invalid_token` saying why the token does not work.
pub(super) fn authenticate(store: &Store, req: &Req, now_ms: i64) -> Result<Caller, Reply> {
    let (_, grant) = live_token(store, req, now_ms)?;
    let scope = Scope::parse(&grant.scope).map_err(|_| invalid_token("The access token carries no usable scope"))?;
    Ok(Caller { username: grant.username.clone(), scope })
}

/// 403 `insufficient_scope` unless the caller's grant carries `name` (and `restriction`).
pub(super) fn require_scope(caller: &Caller, name: &str, restriction: Option<&str>) -> Result<(), Reply> {
    if caller.scope.has(name, restriction) {
        return Ok(());
    }
    let wanted = match restriction {
        Some(r) => format!("{name}:{r}"),
        None => name.to_string(),
    };
    // 403 as TPP 20.4 and later answer; earlier releases used 401 for this.
    Err(oauth_error(
        403,
        "insufficient_scope",
        format!("The grant does not have the scope required for this call ({wanted})"),
    )
    .with_header(WWW_AUTHENTICATE, &format!("Bearer error=\"insufficient_scope\", scope=\"{wanted}\"")))
}

/// Body for a `status` fault on a TPP path: the OAuth-style error TPP uses for HTTP errors.
pub(crate) fn fault_reply(code: u16) -> Reply {
    let error = match code {
        400 => "invalid_request",
        401 => "invalid_token",
        403 => "insufficient_scope",
        404 => "not_found",
        _ => "server_error",
    };
    oauth_error(code, error, format!("Simulated fault: HTTP {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_guid_is_stable_and_shaped() {
        let g = stable_guid("x");
        assert_eq!(g, stable_guid("x"));
        assert_eq!(g.len(), 38);
        assert!(g.starts_with('{') && g.ends_with('}'));
    }
}
