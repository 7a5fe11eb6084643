//! The one HTTP client every vendor call goes through: TLS roots, timeouts, redirects, and the
//! journal of calls that ends up in the audit record.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, Url};
use tokio::time::Instant;

use crate::outcome::CallRecord;
use crate::secret::Secret;

/// Bodies larger than this are not a vendor answer; refuse rather than buffer them.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request described as data, so it can be sent again and logged without its secrets.
pub struct Call {
    pub service: &'static str,
    pub endpoint: &'static str,
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(&'static str, Header)>,
    pub json: Option<Vec<u8>>,
    pub artifact: Option<String>,
}

pub enum Header {
    Plain(String),
    Secret(Secret),
}

impl Call {
    pub fn new(service: &'static str, endpoint: &'static str, method: Method, url: Url) -> Self {
        Call { service, endpoint, method, url, headers: Vec::new(), json: None, artifact: None }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, Header::Plain(value.into())));
        self
    }

    pub fn secret_header(mut self, name: &'static str, value: &Secret) -> Self {
        self.headers.push((name, Header::Secret(value.clone())));
        self
    }

    pub fn bearer(self, token: &Secret) -> Self {
        let value = Secret::new(format!("Bearer {}", token.expose()));
        self.secret_header("authorization", &value)
    }

    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serialising our own plain structs cannot fail; an empty body would be refused loudly.
        self.json = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    pub fn artifact(mut self, name: &str) -> Self {
        self.artifact = Some(name.to_string());
        self
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    #[error("no answer within {0:?} (request-timeout)")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Transport(String),
    #[error("answer larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("a header value has characters HTTP cannot carry (`{0}`)")]
    BadHeader(&'static str),
}

pub struct HttpOptions {
    pub request_timeout: Duration,
    pub ca_pem: Option<Vec<u8>>,
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    request_timeout: Duration,
    journal: Arc<Mutex<Vec<CallRecord>>>,
    started: Instant,
}

impl Http {
    pub fn new(options: &HttpOptions) -> Result<Http, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("codesign-gate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.request_timeout.min(Duration::from_secs(15)))
            .timeout(options.request_timeout)
            // Credentials ride in headers; a redirect must never carry them anywhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &options.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("ca-certificates: not a usable PEM bundle ({e})"))?;
            if certs.is_empty() {
                return Err("ca-certificates: the file holds no certificate".into());
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http { client, request_timeout: options.request_timeout, journal: Arc::default(), started: Instant::now() })
    }

    /// Sends one request and reads the whole answer. Every attempt is journaled.
    pub async fn send(&self, call: &Call) -> Result<Reply, HttpError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &call.headers {
            let mut v = match value {
                Header::Plain(s) => HeaderValue::from_str(s),
                Header::Secret(s) => HeaderValue::from_str(s.expose()),
            }
            .map_err(|_| HttpError::BadHeader(name))?;
            if matches!(value, Header::Secret(_)) {
                v.set_sensitive(true);
            }
            headers.insert(HeaderName::from_static(name), v);
        }
        let mut request = self.client.request(call.method.clone(), call.url.clone()).headers(headers);
        if let Some(body) = &call.json {
            request = request.header(CONTENT_TYPE, "application/json").body(body.clone());
        }
        let start = Instant::now();
        let result = self.exchange(request).await;
        self.record(call, start, &result);
        result
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Reply, HttpError> {
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, body })
    }

    fn classify(&self, e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            return HttpError::Timeout(self.request_timeout);
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
        if e.is_connect() {
            HttpError::Connect(cause)
        } else {
            HttpError::Transport(cause)
        }
    }

    fn record(&self, call: &Call, start: Instant, result: &Result<Reply, HttpError>) {
        let record = CallRecord {
            service: call.service,
            endpoint: call.endpoint,
            method: method_name(&call.method),
            artifact: call.artifact.clone(),
            attempt: 1,
            at_ms: start.duration_since(self.started).as_millis() as u64,
            duration_ms: start.elapsed().as_millis() as u64,
            http_status: result.as_ref().ok().map(|r| r.status),
            error: result.as_ref().err().map(|e| e.to_string()),
        };
        if let Ok(mut journal) = self.journal.lock() {
            journal.push(record);
        }
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        let mut calls = self.journal.lock().map(|j| j.clone()).unwrap_or_default();
        calls.sort_by_key(|c| c.at_ms);
        calls
    }
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

/// The source address this machine uses to reach `url`'s host: what TPP sees when no NAT sits
/// between them. Connecting a UDP socket picks the route without sending a packet.
pub async fn local_address_towards(url: &Url) -> Result<std::net::IpAddr, String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the URL has no host".into()),
    };
    let addrs =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let attempt = std::net::UdpSocket::bind(bind).and_then(|s| {
            s.connect(addr)?;
            s.local_addr()
        });
        match attempt {
            Ok(local) => return Ok(local.ip()),
            Err(e) => last = format!("no route to {addr}: {e}"),
        }
    }
    Err(last)
}
