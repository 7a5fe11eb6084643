//! AppViewX's response envelope, which every answer wears, and the errors built on it.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::avx_codes::{app_code, app_status_message};
use crate::http::{Reply, Req};

/// Every AppViewX answer, success or not, is this envelope; all five keys are always present,
/// and the simulator never fills `tags` or `headers`.
#[derive(Debug, Serialize)]
struct Envelope<'a, T: Serialize> {
    response: Option<T>,
    message: Option<String>,
    #[serde(rename = "appStatusCode")]
    app_status_code: Option<&'a str>,
    tags: Option<()>,
    headers: Option<()>,
}

/// A success: HTTP 200, the `response`, and `null` everywhere else.
pub(super) fn ok<T: Serialize>(response: T) -> Reply {
    Reply::json(
        200,
        &Envelope { response: Some(response), message: None, app_status_code: None, tags: None, headers: None },
    )
}

/// A failure with `response: null`.
pub(super) fn fail(status: u16, code: &str, message: impl Into<String>) -> Reply {
    fail_with::<()>(status, code, message, None)
}

/// A failure that still carries a `response` (a failed login does).
pub(super) fn fail_with<T: Serialize>(
    status: u16,
    code: &str,
    message: impl Into<String>,
    response: Option<T>,
) -> Reply {
    Reply::json(
        status,
        &Envelope { response, message: Some(message.into()), app_status_code: Some(code), tags: None, headers: None },
    )
}

/// Decodes a JSON body, with the simulator's 415 and 400 for what is not one.
pub(super) fn parse_json<T: DeserializeOwned>(req: &Req) -> Result<T, Reply> {
    if !req.is_json() {
        return Err(unsupported_media_type(req));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| fail(400, app_code::MALFORMED_BODY, format!("Invalid request body: {e}")))
}

/// 415 for a body not declared `application/json`; the guides mark the header mandatory.
pub(super) fn unsupported_media_type(req: &Req) -> Reply {
    fail(
        415,
        app_code::UNSUPPORTED_MEDIA_TYPE,
        format!("Content type '{}' not supported; send application/json", req.header("content-type").unwrap_or("")),
    )
}

/// Body for a `status` fault on an AppViewX path: the usual envelope.
pub(crate) fn fault_reply(code: u16) -> Reply {
    fail(code, "SIM_FAULT", format!("Simulated fault: HTTP {code}"))
}

/// Body for an `app-status` fault: the envelope with the given code and its message.
pub(crate) fn app_status_reply(code: u16, app_status_code: &str, message: Option<&str>) -> Reply {
    let message = message.or_else(|| app_status_message(app_status_code)).unwrap_or("Simulated fault");
    fail(code, app_status_code, message)
}
