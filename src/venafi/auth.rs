//! Getting and giving back a TPP bearer token.

use super::error::{auth_error_text, TppError};
use super::model::TokenResponse;
use crate::http::field_names;
use crate::secret::Secret;

/// A token the gate obtained. The refresh token is kept only so that it can be masked: refresh
/// tokens rotate, so sharing or persisting one would break a parallel job.
pub struct Grant {
    /// The bearer token; the gate owes its revocation.
    pub access_token: Secret,
    /// Kept only to be masked (see above).
    pub refresh_token: Option<Secret>,
    /// Whom TPP says the token belongs to, when it says.
    pub identity: Option<String>,
    /// The OIDC token exchanged for this grant, if any: short-lived, but a credential all the same.
    pub presented: Option<Secret>,
}

/// Reads the answer of a grant (password or JWT: both answer alike).
pub fn parse_grant(endpoint: &'static str, status: u16, body: &[u8]) -> Result<Grant, TppError> {
    match status {
        200 => {
            let t: TokenResponse = serde_json::from_slice(body)
                .ok()
                .filter(|t: &TokenResponse| !t.access_token.is_empty())
                .ok_or_else(|| TppError::Unexpected {
                    endpoint,
                    detail: format!("HTTP 200 without a token ({})", field_names(body)),
                })?;
            Ok(Grant {
                access_token: Secret::new(t.access_token),
                refresh_token: t.refresh_token.map(Secret::new),
                identity: t.identity,
                presented: None,
            })
        }
        400 | 401 => Err(TppError::GrantRefused(format!("HTTP {status}, {}", auth_error_text(body)))),
        status => Err(TppError::Unexpected { endpoint, detail: format!("HTTP {status} ({})", field_names(body)) }),
    }
}
