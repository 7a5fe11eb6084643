//! AppViewX login, the account lockout, and the sessions the signing calls present.

use serde::Serialize;

use crate::avx_codes::{app_code, message};
use crate::config::AvxUser;
use crate::http::{Reply, Req};
use crate::shared::Shared;
use crate::state::{Session, Store};

use super::envelope::{fail, fail_with, ok, unsupported_media_type};

/// The login answer's `response`, in the order of the guides' example; a failure answers the
/// same five keys (the guides show none, so that shape is the simulator's assumption).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    status: &'static str,
    app_status_code: Option<&'static str>,
    status_description: Option<&'static str>,
    session_id: Option<String>,
    available_login_attempt_count: Option<u32>,
}

/// A refused login: 401, and the code and message both in the envelope and in `response`.
fn refused(code: &'static str, message: &'static str, left: Option<u32>) -> Reply {
    let response = LoginResponse {
        status: "FAILURE",
        app_status_code: Some(code),
        status_description: Some(message),
        session_id: None,
        available_login_attempt_count: left,
    };
    fail_with(401, code, message, Some(response))
}

/// A configured account by username, compared exactly.
fn user<'a>(shared: &'a Shared, username: &str) -> Option<&'a AvxUser> {
    shared.config.appviewx.users.iter().find(|u| u.username == username)
}

/// Checks the `sessionId`/`username`/`password` triple every signing call carries.
pub(super) fn authenticate<'a>(shared: &'a Shared, store: &Store, req: &Req, now: i64) -> Result<&'a AvxUser, Reply> {
    let denied = |why: &str| fail(401, app_code::SESSION_INVALID, why.to_string());
    let (Some(session_id), Some(username), Some(password)) =
        (req.header("sessionId"), req.header("username"), req.header("password"))
    else {
        return Err(denied("The sessionId, username and password headers are required"));
    };
    let Some(session) = store.sessions.iter().find(|s| s.id == session_id) else {
        return Err(denied(message::SESSION_INVALID));
    };
    if now >= session.expires_at_ms {
        return Err(denied("Session expired, please log in again"));
    }
    match user(shared, username) {
        Some(u) if session.username == u.username && u.password == password => Ok(u),
        _ => Err(denied("Session does not belong to the given credentials")),
    }
}

/// The `expire-session` fault.
pub(crate) fn expire_session(store: &mut Store, req: &Req, now_ms: i64) {
    if let Some(id) = req.header("sessionId") {
        for s in store.sessions.iter_mut().filter(|s| s.id == id) {
            s.expires_at_ms = s.expires_at_ms.min(now_ms - 1);
        }
    }
}

/// `POST /avxapi/login`: headers `username` and `password`, body `{}`. Checks run
/// `Content-Type` → headers → body → account; a wrong password uses up one attempt.
pub(super) fn login(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    if !req.is_json() {
        return Err(unsupported_media_type(req));
    }
    let header = |name| req.header(name).filter(|v| !v.trim().is_empty());
    let (Some(username), Some(password)) = (header("username"), header("password")) else {
        return Err(fail(400, app_code::LOGIN_HEADERS_MISSING, message::LOGIN_EMPTY));
    };
    if !req.body.iter().all(u8::is_ascii_whitespace) && serde_json::from_slice::<serde_json::Value>(&req.body).is_err()
    {
        return Err(fail(400, app_code::MALFORMED_BODY, "Invalid request body"));
    }
    let Some(account) = user(shared, username) else {
        return Err(refused(app_code::LOGIN_FAILED, message::LOGIN_FAILED, None));
    };
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    let left = store.login_attempts_left.entry(account.username.clone()).or_insert(account.login_attempts);
    if *left == 0 {
        return Err(refused(app_code::ACCOUNT_LOCKED, message::ACCOUNT_LOCKED, Some(0)));
    }
    if account.password != password {
        *left -= 1;
        return Err(refused(app_code::LOGIN_FAILED, message::LOGIN_FAILED, Some(*left)));
    }
    *left = account.login_attempts;
    let session_id = uuid::Uuid::new_v4().to_string();
    let lifetime_ms = shared.config.appviewx.session_lifetime_secs.saturating_mul(1000);
    store.sessions.push(Session {
        id: session_id.clone(),
        username: account.username.clone(),
        expires_at_ms: now.saturating_add(lifetime_ms),
    });
    Ok(ok(LoginResponse {
        status: "SUCCESS",
        app_status_code: None,
        status_description: None,
        session_id: Some(session_id),
        available_login_attempt_count: Some(account.login_attempts),
    }))
}
