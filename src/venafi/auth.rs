//! Getting and giving back a TPP bearer token.

use reqwest::Method;

use super::model::{OAuthRequest, TokenResponse};
use super::{auth_error_text, TppClient, TppError};
use crate::http::{field_names, Call};
use crate::secret::Secret;

/// A token the gate obtained. The refresh token is kept only so that it can be masked: refresh
/// tokens rotate, so sharing or persisting one would break a parallel job.
pub struct Grant {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub identity: Option<String>,
    pub scope: Option<String>,
}

impl TppClient {
    /// The OAuth password grant. A refused grant is not retried: TPP counts failed logons.
    pub async fn authorize(
        &self,
        client_id: &str,
        username: &str,
        password: &Secret,
        scope: &str,
    ) -> Result<Grant, TppError> {
        let body = OAuthRequest { client_id, username, password: password.expose(), scope };
        let call = Call::new("tpp", "authorize/oauth", Method::POST, self.url("vedauth/authorize/oauth")).json(&body);
        let reply = self.http.send(&call).await?;
        parse_grant(reply.status, &reply.body)
    }

    /// Revokes the grant behind `token`, refresh token included. It still goes out after a
    /// cancellation; a 401 means the token is already dead, which is what revoking wants.
    pub async fn revoke(&self, token: &Secret) -> Result<(), TppError> {
        let call =
            Call::new("tpp", "revoke/token", Method::GET, self.url("vedauth/revoke/token")).bearer(token).cleanup();
        let reply = self.http.send(&call).await?;
        match reply.status {
            200 | 401 => Ok(()),
            status => Err(TppError::Unexpected { endpoint: "revoke/token", detail: format!("HTTP {status}") }),
        }
    }
}

/// Reads the answer of the password grant.
pub fn parse_grant(status: u16, body: &[u8]) -> Result<Grant, TppError> {
    match status {
        200 => {
            let t: TokenResponse = serde_json::from_slice(body)
                .ok()
                .filter(|t: &TokenResponse| !t.access_token.is_empty())
                .ok_or_else(|| TppError::Unexpected {
                    endpoint: "authorize/oauth",
                    detail: format!("HTTP 200 without a token ({})", field_names(body)),
                })?;
            Ok(Grant {
                access_token: Secret::new(t.access_token),
                refresh_token: t.refresh_token.map(Secret::new),
                identity: t.identity,
                scope: t.scope,
            })
        }
        400 | 401 => Err(TppError::GrantRefused(format!("HTTP {status}, {}", auth_error_text(body)))),
        status => Err(TppError::Unexpected {
            endpoint: "authorize/oauth",
            detail: format!("HTTP {status} ({})", field_names(body)),
        }),
    }
}
