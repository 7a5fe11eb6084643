//! AppViewX SIGN+: log in, submit DigestInfos for hash-based signing, read their status.

pub mod model;

use std::future::Future;

use reqwest::{Method, Url};

use crate::http::{field_names, json_kind, Call, Http, HttpError};
use crate::secret::Secret;
use model::{documented_message, Envelope, GenerateHashRequest, LoginResponse, SignStatusResponse};

/// Why an AppViewX call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AvxError {
    /// The login was refused (400, 401, 403, or no session id); never retried.
    #[error("AppViewX refused the login for `{user}` (HTTP {status}{}){}; not retried, to protect the account from lockout", detail.as_deref().map(|d| format!(", {d}")).unwrap_or_default(), attempts.map(|n| format!(", {n} attempts left")).unwrap_or_default())]
    LoginRefused {
        /// The account, so that the log says which one risks lockout.
        user: String,
        /// The HTTP status.
        status: u16,
        /// `appStatusCode: message`, or why the answer did not count as a login.
        detail: Option<String>,
        /// `availableLoginAttemptCount`, when AppViewX gave it.
        attempts: Option<i64>,
    },
    /// 401: the session id is no longer valid; the gate logs in again once.
    #[error("the AppViewX session is no longer valid")]
    SessionExpired,
    /// A non-null `appStatusCode`, or a status outside 2xx.
    #[error("{endpoint} failed: HTTP {status}, {}", app_text(code.as_deref(), message.as_deref()))]
    App {
        /// The call, as the error's first words name it.
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// `appStatusCode`, e.g. `CODE_SIGNING_0056`.
        code: Option<String>,
        /// `message`, or the documented message for the code when the answer carried none.
        message: Option<String>,
    },
    /// An answer that is not the envelope, or of unknown shape.
    #[error("{endpoint}: unexpected answer, {detail}")]
    Unexpected {
        /// The call, as the error's first words name it.
        endpoint: &'static str,
        /// What was seen instead, by field name; never a value.
        detail: String,
    },
    /// No usable answer at all.
    #[error("{0}")]
    Http(#[from] HttpError),
}

/// `CODE_SIGNING_0056: Signing policy not found`, from whatever of code and message is present.
fn app_text(code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => format!("no appStatusCode: {m}"),
        (None, None) => "no appStatusCode".to_string(),
    }
}

/// What an error of the status call means for the wait, as AppViewX documents its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusError {
    /// Worth asking again while time remains: transport trouble, or 500 `CODE_SIGNING_0101`
    /// (error fetching the status) and `CODE_SIGNING_0103` (fetching the signed data failed).
    Transient,
    /// 400 `CODE_SIGNING_0102` (no data for the sign id): final, except just after the gate
    /// submitted the request itself, which the server may not show yet.
    NotVisibleYet,
    /// Anything else: `CODE_SIGNING_0105` (no sign id), `CODE_SIGNING_00109` (no permission),
    /// an answer of unknown shape, a session that could not be renewed.
    Final,
}

impl AvxError {
    /// What this error means for waiting on a sign id.
    pub fn status_error(&self) -> StatusError {
        match self {
            AvxError::Http(e) if e.is_transient() => StatusError::Transient,
            AvxError::App { code: Some(code), .. } => match code.as_str() {
                "CODE_SIGNING_0101" | "CODE_SIGNING_0103" => StatusError::Transient,
                "CODE_SIGNING_0102" => StatusError::NotVisibleYet,
                _ => StatusError::Final,
            },
            _ => StatusError::Final,
        }
    }
}

/// Where one sign request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignState {
    /// Not final yet: ask again.
    Pending,
    /// Final: the signed data is here.
    Signed {
        /// `encodedHashData`, byte for byte: a Base64 signature or a whole signed script.
        encoded: String,
    },
    /// Final: AppViewX reports a failure (a status such as `Failed`, or `failedDueToTimeoutError`).
    Failed(String),
}

/// What a submission gave back: usually an id to poll; some servers sign at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Letters, digits, `-` and `_` only: it goes into URLs, file names and logs.
    pub sign_id: String,
    /// Usually `Pending`; some servers sign at once.
    pub state: SignState,
}

/// What the pipeline needs from AppViewX.
pub trait SigningService: Sync {
    /// A new session id; a refusal is never retried, as every failed login counts toward lockout.
    fn login(&self) -> impl Future<Output = Result<Secret, AvxError>> + Send;
    /// Submits one DigestInfo; `artifact` ties the call to it in the audit record.
    fn submit(
        &self,
        session: &Secret,
        body: &GenerateHashRequest,
        artifact: &str,
    ) -> impl Future<Output = Result<Submitted, AvxError>> + Send;
    /// Where the request behind `sign_id` stands.
    fn status(&self, session: &Secret, sign_id: &str) -> impl Future<Output = Result<SignState, AvxError>> + Send;
}

/// Where AppViewX is and the service account it is spoken to with.
pub struct AvxAccount {
    /// The gateway's scheme, host and port.
    pub base_url: Url,
    /// The service account, sent as the `username` header on every call.
    pub username: String,
    /// Sent as the `password` header on every call.
    pub password: Secret,
    /// A multi-tenant install's tenant key (`gwkey`), on every call.
    pub gwkey: Option<Secret>,
}

/// Speaks AppViewX's `/avxapi` with the service account's credentials on every call.
pub struct AvxClient {
    http: Http,
    base: Url,
    username: String,
    password: Secret,
    gwkey: Option<Secret>,
    /// Each endpoint's URL without a sign id, made once: a run calls two endpoints once per
    /// artifact.
    urls: std::sync::Mutex<Vec<((&'static str, &'static str), Url)>>,
}

/// The endpoints, as the AppViewX API guides name them ("Log Into AppViewX", "Generate Digital
/// Signature for Hash", "Fetching the status of the signing request").
const LOGIN: &str = "login";
const GENERATE: &str = "code-signing-generate-hash";
const STATUS: &str = "code-signing-fetch-status-sync-requests";

impl AvxClient {
    /// A client for `account`, over the run's one HTTP client.
    pub fn new(http: Http, account: AvxAccount) -> Self {
        AvxClient {
            http,
            base: account.base_url,
            username: account.username,
            password: account.password,
            gwkey: account.gwkey,
            urls: std::sync::Mutex::default(),
        }
    }

    /// `/avxapi/<endpoint>?gwsource=<source>[&gwkey=<tenant key>][&signId=<id>]`. The guides
    /// use `gwsource=external` for login and submission and `gwsource=api` in the status call's
    /// sample URL; a multi-tenant install needs its tenant key on every call.
    fn url(&self, endpoint: &'static str, gwsource: &'static str, sign_id: Option<&str>) -> Url {
        let mut urls = self.urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut url = if let Some((_, url)) = urls.iter().find(|(k, _)| *k == (endpoint, gwsource)) {
            url.clone()
        } else {
            let mut url = self.base.clone();
            url.set_path(&format!("avxapi/{endpoint}"));
            url.query_pairs_mut().append_pair("gwsource", gwsource);
            if let Some(key) = &self.gwkey {
                url.query_pairs_mut().append_pair("gwkey", key.expose());
            }
            urls.push(((endpoint, gwsource), url.clone()));
            url
        };
        if let Some(id) = sign_id {
            url.query_pairs_mut().append_pair("signId", id);
        }
        url
    }

    /// A call to `endpoint`; the tenant key in its query is marked as the credential it is.
    fn call(&self, endpoint: &'static str, method: Method, gwsource: &'static str, sign_id: Option<&str>) -> Call {
        let call = Call::new("appviewx", endpoint, method, self.url(endpoint, gwsource, sign_id));
        if self.gwkey.is_some() {
            call.secret_query("gwkey")
        } else {
            call
        }
    }

    fn authenticated(&self, call: Call, session: &Secret) -> Call {
        call.secret_header("sessionid", session)
            .header("username", self.username.clone())
            .secret_header("password", &self.password)
    }
}

/// Parses the envelope; a non-null `appStatusCode`, a 401 or a status outside 2xx is a failure.
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
    let code = env.code();
    if code.is_some() || !(200..300).contains(&status) {
        let message = env.message().or_else(|| code.as_deref().and_then(documented_message).map(str::to_string));
        return Err(AvxError::App { endpoint, status, code, message });
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
        let call = self
            .call(LOGIN, Method::POST, "external", None)
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
            .authenticated(self.call(GENERATE, Method::POST, "external", None), session)
            .json(body)
            .artifact(artifact);
        let reply = self.http.send(&call).await?;
        parse_submit(reply.status, &reply.body)
    }

    async fn status(&self, session: &Secret, sign_id: &str) -> Result<SignState, AvxError> {
        let call = self
            .authenticated(self.call(STATUS, Method::GET, "api", Some(sign_id)), session)
            .header("content-type", "application/json");
        let reply = self.http.send(&call).await?;
        parse_status(reply.status, &reply.body)
    }
}

/// Reads the login answer: a session id, or a refusal with the attempts left before lockout.
/// The guides document refusals as 400 ("Username or password cannot be null or empty",
/// "Login failed. Invalid credentials.") and 401 ("Login failed. Invalid Credentials").
pub fn parse_login(user: &str, status: u16, body: &[u8]) -> Result<Secret, AvxError> {
    let parsed: Option<Envelope> = serde_json::from_slice(body).ok();
    let attempts = parsed
        .as_ref()
        .and_then(|e| serde_json::from_value::<LoginResponse>(e.response.clone()).ok())
        .and_then(|l| l.available_login_attempt_count)
        .and_then(|n| n.as_i64().or_else(|| n.as_str().and_then(|s| s.trim().parse().ok())));
    let refused = |detail: Option<String>| AvxError::LoginRefused { user: user.to_string(), status, detail, attempts };
    if matches!(status, 400 | 401 | 403) {
        let detail = parsed.as_ref().map(|e| app_text(e.code().as_deref(), e.message().as_deref()));
        return Err(refused(detail.filter(|d| d != "no appStatusCode")));
    }
    let response = envelope(LOGIN, status, body)?;
    let login: LoginResponse = serde_json::from_value(response.clone()).map_err(|_| AvxError::Unexpected {
        endpoint: LOGIN,
        detail: format!("response is a {}", json_kind(&response)),
    })?;
    match login.session_id {
        Some(id) if !id.trim().is_empty() => Ok(Secret::new(id)),
        _ => Err(refused(Some("no sessionId in the answer".into()))),
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
