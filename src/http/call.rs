//! A request described as data: what to send, which parts are secret, and whether sending it
//! twice can do harm, so the client can retry it, journal it and plan it without its secrets.

use reqwest::{Method, Url};

use crate::secret::Secret;

/// Whether sending a request twice can do harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads and revocations: any transient failure is retried.
    Safe,
    /// Calls that create something that must not exist twice (a pre-approval, a sign request)
    /// or count against an account (a login): retried only when the request provably did not
    /// reach the server (connect failure) or the server said 429/503.
    Once,
    /// Calls whose repetition allows nothing new (pre-qualifying a digest that may already be
    /// pre-qualified): retried like a read, each retry after an answer that may have reached the
    /// server flagged in the report as a possible duplicate. A user would re-run the job anyway.
    Idempotent,
}

/// A request described as data, so it can be sent again and logged without its secrets.
pub struct Call {
    /// `tpp`, `appviewx`, `github` or `runner-ip` (the address echo), for the audit record.
    pub service: &'static str,
    /// The vendor's name for the call: errors and the audit record show this, never the URL.
    pub endpoint: &'static str,
    /// The audit record names GET, POST, PUT and DELETE; any other method as `OTHER`.
    pub method: Method,
    /// May hold a tenant key (`gwkey`), so it never goes into a log or an error.
    pub url: Url,
    /// Sent as given; [`Header::Secret`] values are marked sensitive.
    pub headers: Vec<(&'static str, Header)>,
    /// The body, sent as `content_type`.
    pub body: Option<Vec<u8>>,
    /// `application/json` unless the call says otherwise (an RFC 3161 timestamp query).
    pub content_type: &'static str,
    /// Top-level body fields that hold a credential, named where the body is built: a plan
    /// shows them as `***`.
    pub secret_fields: Vec<&'static str>,
    /// Query parameters that hold a credential (`gwkey`): a plan shows them as `***`.
    pub secret_query: Vec<&'static str>,
    /// Sent even in a plan: an address echo, whose answer a plan needs to show the pre-approval,
    /// and which is sent no secret and nothing to TPP or AppViewX.
    pub sent_in_plans: bool,
    /// The artifact the call is about, for the audit record and notes.
    pub artifact: Option<String>,
    /// Defaults from the method; a POST that only reads may be marked `Safe`.
    pub repeat: Repeat,
    /// Clean-up calls (revoking a token) still go out after the run was cancelled.
    pub cleanup: bool,
}

/// A header value, kept apart by whether it is a credential.
pub enum Header {
    /// Not a credential.
    Plain(String),
    /// A password, token or session id: marked sensitive on the request.
    Secret(Secret),
}

impl Call {
    /// A call without headers or body; GET is safe to repeat, anything else only once.
    pub fn new(service: &'static str, endpoint: &'static str, method: Method, url: Url) -> Self {
        let repeat = if method == Method::GET { Repeat::Safe } else { Repeat::Once };
        Call {
            service,
            endpoint,
            method,
            url,
            headers: Vec::new(),
            body: None,
            content_type: "application/json",
            secret_fields: Vec::new(),
            secret_query: Vec::new(),
            sent_in_plans: false,
            artifact: None,
            repeat,
            cleanup: false,
        }
    }

    /// Adds a header that holds no credential.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, Header::Plain(value.into())));
        self
    }

    /// Adds a header that holds a credential.
    pub fn secret_header(mut self, name: &'static str, value: &Secret) -> Self {
        self.headers.push((name, Header::Secret(value.clone())));
        self
    }

    /// `Authorization: Bearer <token>`, as a secret header.
    pub fn bearer(self, token: &Secret) -> Self {
        let value = Secret::new(format!("Bearer {}", token.expose()));
        self.secret_header("authorization", &value)
    }

    /// Sets the body; the content type is added when it is sent.
    pub fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serialising our own plain structs cannot fail; an empty body would be refused loudly.
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    /// Sets a body that is not JSON, with its content type.
    pub fn bytes(mut self, body: Vec<u8>, content_type: &'static str) -> Self {
        self.body = Some(body);
        self.content_type = content_type;
        self
    }

    /// Names a body field that holds a credential, so a plan never shows its value.
    pub fn secret_field(mut self, name: &'static str) -> Self {
        self.secret_fields.push(name);
        self
    }

    /// Names a query parameter that holds a credential, so a plan never shows its value.
    pub fn secret_query(mut self, name: &'static str) -> Self {
        self.secret_query.push(name);
        self
    }

    /// Marks a call that a plan sends too (see [`Call::sent_in_plans`]).
    pub fn sent_in_plans(mut self) -> Self {
        self.sent_in_plans = true;
        self
    }

    /// Ties the call to an artifact in the audit record and in notes.
    pub fn artifact(mut self, name: &str) -> Self {
        self.artifact = Some(name.to_string());
        self
    }

    /// Marks a clean-up call: it still goes out after a cancellation, with a short timeout.
    pub fn cleanup(mut self) -> Self {
        self.cleanup = true;
        self
    }
}
