//! What the client keeps of every call: the journal the audit record lists.

/// One HTTP exchange, as the audit record lists them.
#[derive(Debug, Clone)]
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
