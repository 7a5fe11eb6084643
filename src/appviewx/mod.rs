//! AppViewX SIGN+: log in, submit DigestInfos for hash-based signing, read their status.

pub mod model;

use std::future::Future;

use reqwest::{Method, Url};

use crate::http::{field_names, json_kind, Call, Http, HttpError};
use crate::secret::Secret;
use model::{Envelope, GenerateHashRequest, LoginResponse, SignStatusResponse};

#[derive(Debug, Clone, thiserror::Error)]
pub enum AvxError {
    #[error("AppViewX refused the login for `{user}`{}; not retried, to protect the account from lockout", attempts.map(|n| format!(" ({n} attempts left)")).unwrap_or_default())]
    LoginRefused { user: String, attempts: Option<i64> },
    #[error("the AppViewX session is no longer valid")]
    SessionExpired,
    #[error("{endpoint} failed: HTTP {status}, {detail}")]
    App { endpoint: &'static str, status: u16, detail: String },
    #[error("{endpoint}: unexpected answer, {detail}")]
    Unexpected { endpoint: &'static str, detail: String },
    #[error("{0}")]
    Http(#[from] HttpError),
}

/// Where one sign request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignState {
    Pending,
    Signed { encoded: String },
    Failed(String),
}

/// What a submission gave back: usually an id to poll; some servers sign at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub sign_id: String,
    pub state: SignState,
}

/// What the pipeline needs from AppViewX.
pub trait SigningService: Sync {
    fn login(&self) -> impl Future<Output = Result<Secret, AvxError>> + Send;
    fn submit(
        &self,
        session: &Secret,
        body: &GenerateHashRequest,
        artifact: &str,
    ) -> impl Future<Output = Result<Submitted, AvxError>> + Send;
    fn status(&self, session: &Secret, sign_id: &str) -> impl Future<Output = Result<SignState, AvxError>> + Send;
}

pub struct AvxClient {
    http: Http,
    base: Url,
    username: String,
    password: Secret,
}

const LOGIN: &str = "acctmgmt-perform-login";
const GENERATE: &str = "code-signing-generate-hash";
const STATUS: &str = "code-signing-fetch-status-sync-requests";

impl AvxClient {
    pub fn new(http: Http, base: Url, username: String, password: Secret) -> Self {
        AvxClient { http, base, username, password }
    }

    fn url(&self, endpoint: &str, gwsource: &str, sign_id: Option<&str>) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("avxapi/{endpoint}"));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("gwsource", gwsource);
            if let Some(id) = sign_id {
                q.append_pair("signId", id);
            }
        }
        url
    }

    fn authenticated(&self, call: Call, session: &Secret) -> Call {
        call.secret_header("sessionid", session)
            .header("username", self.username.clone())
            .secret_header("password", &self.password)
    }
}

/// Parses the envelope; a non-null `appStatusCode` or a 401 is a failure whatever the status.
fn envelope(endpoint: &'static str, status: u16, body: &[u8]) -> Result<Value, AvxError> {
    let env: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if status == 401 => return Err(AvxError::SessionExpired),
        Err(_) => {
            return Err(AvxError::Unexpected {
                endpoint,
                detail: format!("HTTP {status}, not the AppViewX envelope ({})", field_names(body)),
            })
        }
    };
    if status == 401 {
        return Err(AvxError::SessionExpired);
    }
    if let Some(detail) = env.error_text() {
        return Err(AvxError::App { endpoint, status, detail });
    }
    if !(200..300).contains(&status) {
        return Err(AvxError::App { endpoint, status, detail: "no appStatusCode".into() });
    }
    Ok(env.response)
}

use serde_json::Value;

fn sign_state(endpoint: &'static str, r: &SignStatusResponse) -> Result<SignState, AvxError> {
    if r.failed_due_to_timeout_error == Some(true) {
        return Ok(SignState::Failed("AppViewX reports failedDueToTimeoutError".into()));
    }
    match r.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("signed") => match &r.encoded_hash_data {
            Some(data) if !data.is_empty() => Ok(SignState::Signed { encoded: data.clone() }),
            _ => Err(AvxError::Unexpected { endpoint, detail: "status Signed without encodedHashData".into() }),
        },
        Some("inprogress" | "in progress" | "pending" | "submitted" | "waiting for approval" | "approved") => {
            Ok(SignState::Pending)
        }
        Some(s @ ("failed" | "rejected" | "error" | "cancelled" | "expired")) => {
            Ok(SignState::Failed(format!("AppViewX status `{s}`")))
        }
        Some(other) => Err(AvxError::Unexpected {
            endpoint,
            detail: format!("unknown status `{}`", other.chars().take(40).collect::<String>()),
        }),
        None => Err(AvxError::Unexpected { endpoint, detail: "no status".into() }),
    }
}

impl SigningService for AvxClient {
    /// Never retried on refusal: every failed login counts toward the account's lockout.
    async fn login(&self) -> Result<Secret, AvxError> {
        let call = Call::new("appviewx", LOGIN, Method::POST, self.url(LOGIN, "external", None))
            .header("username", self.username.clone())
            .secret_header("password", &self.password)
            .json(&serde_json::json!({}));
        let reply = self.http.send(&call).await?;
        parse_login(&self.username, reply.status, &reply.body)
    }

    async fn submit(
        &self,
        session: &Secret,
        body: &GenerateHashRequest,
        artifact: &str,
    ) -> Result<Submitted, AvxError> {
        let call = self
            .authenticated(Call::new("appviewx", GENERATE, Method::POST, self.url(GENERATE, "external", None)), session)
            .json(body)
            .artifact(artifact);
        let reply = self.http.send(&call).await?;
        parse_submit(reply.status, &reply.body)
    }

    async fn status(&self, session: &Secret, sign_id: &str) -> Result<SignState, AvxError> {
        let call = self
            .authenticated(Call::new("appviewx", STATUS, Method::GET, self.url(STATUS, "api", Some(sign_id))), session)
            .header("content-type", "application/json");
        let reply = self.http.send(&call).await?;
        parse_status(reply.status, &reply.body)
    }
}

/// Reads the login answer: a session id, or a refusal with the attempts left before lockout.
pub fn parse_login(user: &str, status: u16, body: &[u8]) -> Result<Secret, AvxError> {
    let parsed: Option<Envelope> = serde_json::from_slice(body).ok();
    let attempts = parsed
        .as_ref()
        .and_then(|e| serde_json::from_value::<LoginResponse>(e.response.clone()).ok())
        .and_then(|l| l.available_login_attempt_count);
    if status == 401 || status == 403 {
        return Err(AvxError::LoginRefused { user: user.to_string(), attempts });
    }
    let response = envelope(LOGIN, status, body)?;
    let login: LoginResponse = serde_json::from_value(response.clone()).map_err(|_| AvxError::Unexpected {
        endpoint: LOGIN,
        detail: format!("response is a {}", json_kind(&response)),
    })?;
    match login.session_id {
        Some(id) if !id.is_empty() => Ok(Secret::new(id)),
        _ => Err(AvxError::LoginRefused { user: user.to_string(), attempts }),
    }
}

/// Reads the answer to a submission. The public docs do not show it: take `signId`, accept an
/// immediate signature, and otherwise name the fields seen (never their values).
pub fn parse_submit(status: u16, body: &[u8]) -> Result<Submitted, AvxError> {
    let response = envelope(GENERATE, status, body)?;
    let shape = || match &response {
        Value::Object(m) => format!("response fields: {}", m.keys().cloned().collect::<Vec<_>>().join(", ")),
        other => format!("response is a {}", json_kind(other)),
    };
    let parsed: SignStatusResponse = serde_json::from_value(response.clone()).unwrap_or_default();
    let sign_id = match &parsed.sign_id {
        Some(Value::String(s)) if is_sign_id(s) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(AvxError::Unexpected { endpoint: GENERATE, detail: "a signId that is not an id".into() })
        }
        None => return Err(AvxError::Unexpected { endpoint: GENERATE, detail: format!("no signId ({})", shape()) }),
    };
    let state = if parsed.status.is_some() { sign_state(GENERATE, &parsed)? } else { SignState::Pending };
    Ok(Submitted { sign_id, state })
}

/// A sign id goes into URLs, file names and log lines: letters, digits, `-` and `_` only.
fn is_sign_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads a status answer.
pub fn parse_status(status: u16, body: &[u8]) -> Result<SignState, AvxError> {
    let response = envelope(STATUS, status, body)?;
    let parsed: SignStatusResponse = serde_json::from_value(response.clone()).map_err(|_| AvxError::Unexpected {
        endpoint: STATUS,
        detail: format!("response is a {}", json_kind(&response)),
    })?;
    sign_state(STATUS, &parsed)
}
