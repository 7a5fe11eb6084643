//! The one HTTP client every vendor call goes through, with the one retry policy: timeouts,
//! retries with capped exponential backoff and full jitter, `Retry-After`, the run's deadline,
//! cancellation, and the journal of calls that ends up in the audit record.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use tokio::time::Instant;

use crate::cancel::Cancel;

mod call;
mod journal;
pub mod plan;
pub mod planned;

pub use call::{Call, Header, Repeat};
pub use journal::CallRecord;
pub use plan::PlannedRequest;
pub use planned::Planned;

/// Bodies larger than this are not a vendor answer; refuse rather than buffer them.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Attempts per call, the first included.
const MAX_ATTEMPTS: u32 = 5;
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// A whole answer, whatever its status: what the status means is the vendor client's business.
#[derive(Debug)]
pub struct Reply {
    /// Any status, 4xx and 5xx included.
    pub status: u16,
    /// Read whole; at most 16 MiB.
    pub body: Vec<u8>,
}

/// A call that got no usable answer, after whatever retries the policy allowed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: {kind}{}", if *attempts > 1 { format!(" (after {attempts} attempts)") } else { String::new() })]
pub struct HttpError {
    /// As [`Call::endpoint`] names it; never the URL.
    pub endpoint: &'static str,
    /// Why the last attempt failed.
    pub kind: ErrorKind,
    /// Attempts made, the first included; 0 when the request could not even be built.
    pub attempts: u32,
}

/// Why an attempt got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// No answer within `request-timeout`; retried only when the call is safe to repeat.
    #[error("no answer within {0:?} (request-timeout)")]
    Timeout(Duration),
    /// The server was not reached: always retried, since the request cannot have been applied.
    #[error("could not connect: {0}")]
    Connect(String),
    /// A certificate or handshake failure: never retried, asking again would not make it trusted.
    #[error("TLS failed: {0}; if the server uses a private CA, give it in ca-certificates")]
    Tls(String),
    /// Any other transport failure; retried only when the call is safe to repeat.
    #[error("{0}")]
    Transport(String),
    /// An answer over 16 MiB, which no vendor sends.
    #[error("answer larger than {MAX_BODY} bytes")]
    TooLarge,
    /// A header value HTTP cannot carry; names the header, never its value.
    #[error("a header value has characters HTTP cannot carry (`{0}`)")]
    BadHeader(&'static str),
    /// The run was cancelled before or during the attempt; holds the signal.
    #[error("cancelled ({0})")]
    Cancelled(&'static str),
}

impl HttpError {
    /// Worth asking again later (a poll): the service may simply be unreachable for a while.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_) | ErrorKind::Connect(_) | ErrorKind::Transport(_))
    }
}

/// What [`Http::new`] needs from the configuration and the run.
pub struct HttpOptions {
    /// Per attempt; the connect timeout is the same, at most 15 s.
    pub request_timeout: Duration,
    /// `ca-certificates`: PEM roots to trust, for servers behind a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// No retry is started that would wait past this instant.
    pub deadline: Instant,
    /// Stops waiting and drops requests under way; clean-up calls still go out.
    pub cancel: Cancel,
    /// Send nothing: record each call and answer it as the service documents its success.
    pub plan: bool,
}

/// Something the audit record should say about a call that succeeded in the end.
#[derive(Debug, Clone)]
pub struct Note {
    /// As the call named it.
    pub endpoint: &'static str,
    /// The artifact the call was about, if any.
    pub artifact: Option<String>,
    /// What happened, e.g. a retry that may have applied a request twice.
    pub message: String,
}

#[derive(Default)]
struct Journal {
    calls: Vec<CallRecord>,
    notes: Vec<Note>,
    planned: Planned,
    /// Calls planned so far, per endpoint: which placeholder the next answer carries.
    planned_per_endpoint: std::collections::HashMap<&'static str, usize>,
}

/// Cheap to clone: every clone shares one journal, so all stages' calls land in one record.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    request_timeout: Duration,
    deadline: Instant,
    cancel: Cancel,
    journal: Arc<Mutex<Journal>>,
    started: Instant,
    plan: bool,
}

/// What to do after one attempt.
enum Next {
    Done,
    Retry { delay: Option<Duration>, reason: String, maybe_applied: bool },
}

impl Http {
    /// TLS by rustls, and no redirects: credentials ride in headers and must not follow one.
    /// Fails on an unusable `ca-certificates` bundle.
    pub fn new(options: HttpOptions) -> Result<Http, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("codesign-gate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.request_timeout.min(Duration::from_secs(15)))
            .timeout(options.request_timeout)
            // Credentials ride in headers; a redirect must never carry them anywhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &options.ca_pem {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("not a usable PEM bundle ({e})"))?;
            if certs.is_empty() {
                return Err("the file holds no certificate".into());
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http {
            client,
            request_timeout: options.request_timeout,
            deadline: options.deadline,
            cancel: options.cancel,
            journal: Arc::default(),
            started: Instant::now(),
            plan: options.plan,
        })
    }

    /// Sends a call, retrying as the policy allows, and reads the whole answer. Every attempt is
    /// journaled. An answer with an HTTP error status is still an `Ok(Reply)`: what it means is
    /// the vendor client's business.
    pub async fn send(&self, call: &Call) -> Result<Reply, HttpError> {
        if self.plan && !call.sent_in_plans {
            // A header the real run could not send fails the plan the same way.
            Self::header_values(call).try_for_each(|v| v.map(drop))?;
            return self.planned_answer(call);
        }
        let headers = Self::headers(call)?;
        // Boxed: the exchange's state (reqwest's, the retry loop's) is large, and every future
        // that awaits a call would carry it otherwise, moved with it, though a plan never sends.
        Box::pin(self.exchange_with_retries(call, headers)).await
    }

    /// Sends `call` until it is answered or its retries are spent.
    async fn exchange_with_retries(&self, call: &Call, headers: HeaderMap) -> Result<Reply, HttpError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let fail = |kind| HttpError { endpoint: call.endpoint, kind, attempts: attempt };
            if let (Some(reason), false) = (self.cancel.reason(), call.cleanup) {
                return Err(fail(ErrorKind::Cancelled(reason)));
            }
            let mut request = self.client.request(call.method.clone(), call.url.clone()).headers(headers.clone());
            if let Some(body) = &call.body {
                request = request.header(CONTENT_TYPE, call.content_type).body(body.clone());
            }
            if call.cleanup && self.cancel.reason().is_some() {
                // The runner kills a cancelled step a few seconds after SIGINT: be quick.
                request = request.timeout(self.request_timeout.min(Duration::from_secs(5)));
            }
            let start = Instant::now();
            let result = if call.cleanup {
                self.exchange(request).await
            } else {
                tokio::select! {
                    r = self.exchange(request) => r,
                    () = self.cancel.cancelled() => Err(ErrorKind::Cancelled(self.cancel.reason().unwrap_or("cancelled"))),
                }
            };
            self.record(call, attempt, start, &result);
            let next = decide(call.repeat, &result);
            let Next::Retry { delay, reason, maybe_applied } = next else {
                return result.map(|(reply, _)| reply).map_err(fail);
            };
            let delay = delay.unwrap_or_else(|| backoff(attempt));
            if attempt >= MAX_ATTEMPTS || Instant::now() + delay > self.deadline {
                return result.map(|(reply, _)| reply).map_err(fail);
            }
            if maybe_applied {
                self.note(call, format!("retried after {reason}: the server may have applied this request twice"));
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.cancel.cancelled(), if !call.cleanup => {}
            }
        }
    }

    /// The plan transport: the call is recorded, not sent, and answered as the service
    /// documents its success. Nothing enters the journal of calls: none was made.
    fn planned_answer(&self, call: &Call) -> Result<Reply, HttpError> {
        let fail = |kind| HttpError { endpoint: call.endpoint, kind, attempts: 0 };
        if let (Some(reason), false) = (self.cancel.reason(), call.cleanup) {
            return Err(fail(ErrorKind::Cancelled(reason)));
        }
        let mut journal = self.journal.lock().map_err(|_| fail(ErrorKind::Transport("the plan is unusable".into())))?;
        // How many calls to this endpoint came before: a count per endpoint, as scanning every
        // planned request per call made a plan of N artifacts take time N².
        let nth = journal.planned_per_endpoint.entry(call.endpoint).or_default();
        let nth = std::mem::replace(nth, *nth + 1);
        journal.planned.record(call);
        let (status, body) = plan::answer(call.endpoint, nth)
            .ok_or_else(|| fail(ErrorKind::Transport("a plan has no answer for this call".into())))?;
        Ok(Reply { status, body })
    }

    /// Each header's value as sent, secrets marked sensitive; a value no header can carry (a
    /// line break in a password) is an error naming the header.
    fn header_values(call: &Call) -> impl Iterator<Item = Result<(&'static str, HeaderValue), HttpError>> + '_ {
        call.headers.iter().map(|(name, value)| {
            let mut v = match value {
                Header::Plain(s) => HeaderValue::from_str(s),
                Header::Secret(s) => HeaderValue::from_str(s.expose()),
            }
            .map_err(|_| HttpError {
                endpoint: call.endpoint,
                kind: ErrorKind::BadHeader(name),
                attempts: 0,
            })?;
            if matches!(value, Header::Secret(_)) {
                v.set_sensitive(true);
            }
            Ok((*name, v))
        })
    }

    fn headers(call: &Call) -> Result<HeaderMap, HttpError> {
        let mut headers = HeaderMap::new();
        for header in Self::header_values(call) {
            let (name, v) = header?;
            headers.insert(HeaderName::from_static(name), v);
        }
        Ok(headers)
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<(Reply, Option<String>), ErrorKind> {
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ErrorKind::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((Reply { status, body }, retry_after))
    }

    fn classify(&self, e: reqwest::Error) -> ErrorKind {
        // The URL may carry a tenant key (AppViewX `gwkey`): no message may show it.
        let e = e.without_url();
        if e.is_timeout() {
            return ErrorKind::Timeout(self.request_timeout);
        }
        // reqwest's own message names the URL only; the cause is further down the chain.
        let mut cause = String::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = source {
            cause = s.to_string();
            source = s.source();
        }
        if cause.is_empty() {
            cause = e.to_string();
        }
        // A certificate the gate does not trust will not become trusted by asking again.
        if cause.contains("certificate") || cause.contains("handshake") {
            ErrorKind::Tls(cause)
        } else if e.is_connect() {
            ErrorKind::Connect(cause)
        } else {
            ErrorKind::Transport(cause)
        }
    }

    fn record(&self, call: &Call, attempt: u32, start: Instant, result: &Result<(Reply, Option<String>), ErrorKind>) {
        let record = CallRecord {
            service: call.service,
            endpoint: call.endpoint,
            method: method_name(&call.method),
            artifact: call.artifact.clone(),
            attempt,
            at_ms: crate::units::millis(start.duration_since(self.started)),
            duration_ms: crate::units::millis(start.elapsed()),
            http_status: result.as_ref().ok().map(|(r, _)| r.status),
            error: result.as_ref().err().map(std::string::ToString::to_string),
        };
        if let Ok(mut journal) = self.journal.lock() {
            journal.calls.push(record);
        }
    }

    fn note(&self, call: &Call, message: String) {
        if let Ok(mut journal) = self.journal.lock() {
            journal.notes.push(Note { endpoint: call.endpoint, artifact: call.artifact.clone(), message });
        }
    }

    /// Every attempt so far, in the order they started.
    pub fn calls(&self) -> Vec<CallRecord> {
        let mut calls = self.journal.lock().map(|j| j.calls.clone()).unwrap_or_default();
        calls.sort_by_key(|c| c.at_ms);
        calls
    }

    /// Every call a plan recorded instead of sending, in the order they were made, taken out
    /// of the journal: a plan of many artifacts records hundreds of thousands, too many to copy.
    pub fn take_planned(&self) -> Planned {
        self.journal.lock().map(|mut j| std::mem::take(&mut j.planned)).unwrap_or_default()
    }

    /// What the audit record should say about calls that succeeded in the end.
    pub fn notes(&self) -> Vec<Note> {
        self.journal.lock().map(|j| j.notes.clone()).unwrap_or_default()
    }
}

/// The retry policy, in one place.
fn decide(repeat: Repeat, result: &Result<(Reply, Option<String>), ErrorKind>) -> Next {
    let retry = |delay, reason: String, maybe_applied| Next::Retry { delay, reason, maybe_applied };
    match result {
        Err(ErrorKind::Connect(e)) => retry(None, format!("a connect failure ({e})"), false),
        Err(e @ (ErrorKind::Timeout(_) | ErrorKind::Transport(_))) if repeat != Repeat::Once => {
            retry(None, e.to_string(), repeat == Repeat::Idempotent)
        }
        Err(_) => Next::Done,
        Ok((reply, retry_after)) => {
            let delay = retry_after.as_deref().and_then(parse_retry_after);
            match (reply.status, repeat) {
                (429, _) => retry(delay, "HTTP 429".into(), false),
                (503, _) => retry(delay, "HTTP 503".into(), repeat != Repeat::Safe),
                (502 | 504, Repeat::Safe | Repeat::Idempotent) => {
                    retry(delay, format!("HTTP {}", reply.status), repeat == Repeat::Idempotent)
                }
                _ => Next::Done,
            }
        }
    }
}

/// Capped exponential backoff with full jitter: a uniformly random wait in
/// `[0, min(cap, base·2^(attempt-1))]`, so parallel jobs that failed together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(BACKOFF_CAP);
    let random = RandomState::new().hash_one(std::time::SystemTime::now());
    ceiling.mul_f64((random % 10_001) as f64 / 10_000.0)
}

/// `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // IMF-fixdate, or the obsolete RFC 850 and asctime forms a recipient must still accept.
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// Names the top-level fields of a JSON answer (never their values), for errors about an
/// answer of unexpected shape.
pub fn field_names(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            let names: Vec<&str> = map.keys().map(String::as_str).collect();
            format!("fields: {}", if names.is_empty() { "none".to_string() } else { names.join(", ") })
        }
        Ok(other) => format!("a JSON {}", json_kind(&other)),
        Err(_) => format!("{} bytes that are not JSON", body.len()),
    }
}

/// The kind of a JSON value, for errors that must not show the value itself.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In the shape `decide` takes, beside the errors it is given.
    #[allow(clippy::unnecessary_wraps)]
    fn reply(status: u16, retry_after: Option<&str>) -> Result<(Reply, Option<String>), ErrorKind> {
        Ok((Reply { status, body: Vec::new() }, retry_after.map(str::to_string)))
    }

    fn retries(next: &Next) -> Option<(Option<Duration>, bool)> {
        match next {
            Next::Done => None,
            Next::Retry { delay, maybe_applied, .. } => Some((*delay, *maybe_applied)),
        }
    }

    #[test]
    fn policy_retries_what_is_safe_to_retry() {
        use Repeat::{Idempotent, Once, Safe};
        assert_eq!(retries(&decide(Idempotent, &Err(ErrorKind::Transport("reset".into())))), Some((None, true)));
        assert_eq!(retries(&decide(Idempotent, &Err(ErrorKind::Timeout(Duration::from_secs(1))))), Some((None, true)));
        assert_eq!(retries(&decide(Idempotent, &reply(502, None))), Some((None, true)));
        assert_eq!(retries(&decide(Idempotent, &reply(503, None))), Some((None, true)));
        assert_eq!(retries(&decide(Idempotent, &reply(500, None))), None);
        assert_eq!(retries(&decide(Safe, &reply(503, Some("2")))), Some((Some(Duration::from_secs(2)), false)));
        assert_eq!(
            retries(&decide(Once, &reply(503, None))),
            Some((None, true)),
            "a POST retried after 503 may be applied twice"
        );
        assert_eq!(retries(&decide(Once, &reply(429, None))), Some((None, false)));
        assert_eq!(retries(&decide(Safe, &reply(502, None))), Some((None, false)));
        assert_eq!(retries(&decide(Once, &reply(502, None))), None, "a POST that reached a gateway is not repeated");
        assert_eq!(retries(&decide(Safe, &reply(500, None))), None);
        assert_eq!(retries(&decide(Safe, &reply(401, None))), None);
        assert_eq!(retries(&decide(Once, &Err(ErrorKind::Connect("refused".into())))), Some((None, false)));
        assert_eq!(retries(&decide(Once, &Err(ErrorKind::Transport("reset".into())))), None);
        assert_eq!(retries(&decide(Safe, &Err(ErrorKind::Transport("reset".into())))), Some((None, false)));
        assert_eq!(retries(&decide(Once, &Err(ErrorKind::Timeout(Duration::from_secs(1))))), None);
        assert_eq!(retries(&decide(Safe, &Err(ErrorKind::Cancelled("SIGTERM")))), None);
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            assert!(d <= BACKOFF_CAP, "{attempt}: {d:?}");
            assert!(d <= BACKOFF_BASE * 2u32.pow(attempt.min(10) - 1), "{attempt}: {d:?}");
        }
        let samples: std::collections::HashSet<Duration> = (0..20).map(|_| backoff(5)).collect();
        assert!(samples.len() > 1, "jitter varies the wait");
    }

    #[test]
    fn retry_after_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        // The three forms RFC 9110 asks a recipient to accept, all in the past: now.
        for form in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert_eq!(parse_retry_after(form), Some(Duration::ZERO), "{form}: a date in the past means now");
        }
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let wait = parse_retry_after(&later).expect("an IMF-fixdate");
        assert!((Duration::from_secs(115)..=Duration::from_secs(120)).contains(&wait), "{wait:?}");
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT"), None);
    }
}
