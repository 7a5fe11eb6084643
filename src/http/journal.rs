//! What the client keeps of every call: the journal the audit record lists, and a plan's
//! requests as they would have gone out.

use serde::Serialize;

/// One HTTP exchange, as the audit record lists them.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    /// `tpp`, `appviewx`, `github` (the job's OIDC token) or `runner-ip` (the address echo of `from-url:`).
    pub service: &'static str,
    /// The vendor's name for the call, without host or query (which may hold a tenant key).
    pub endpoint: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The artifact the call was about, if any.
    pub artifact: Option<String>,
    /// 1 for the first try; retries of one call share its endpoint and count up.
    pub attempt: u32,
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Until the whole answer was read, or the attempt failed.
    pub duration_ms: u64,
    /// `None` when no answer came.
    pub http_status: Option<u16>,
    /// Why the attempt got no answer; an HTTP error status is not one.
    pub error: Option<String>,
}

/// A request a plan would have sent, with every secret as `***`.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRequest {
    /// `tpp`, `appviewx` or `github`.
    pub service: &'static str,
    /// The vendor's name for the call.
    pub endpoint: &'static str,
    /// The artifact the call is about, if any.
    pub artifact: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// In full, a credential in the query (`gwkey`) as `***`.
    pub url: String,
    /// `name: value`, credentials as `***`.
    pub headers: Vec<String>,
    /// The JSON body, fields in the order sent, credentials as `***`.
    pub body: Option<super::plan::Body>,
}
