//! The setup of the GitHub Actions OIDC stand-in.

use serde::{Deserialize, Serialize};

/// GitHub Actions' OIDC token endpoint, as a job with `permissions: id-token: write` reaches it
/// through `$ACTIONS_ID_TOKEN_REQUEST_URL` and `$ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// What `Authorization: bearer ...` must carry (`$ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub request_token: String,
    /// The `sub` claim of minted tokens; `SimHandle::set_oidc_subject` changes it at run time.
    pub subject: String,
    /// The `iss` claim of minted tokens.
    pub issuer: String,
}

/// GitHub's issuer for Actions OIDC tokens on github.com.
pub const GITHUB_OIDC_ISSUER: &str = "https://token.actions.githubusercontent.com";

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            request_token: "sim-oidc-request-token".to_string(),
            subject: "repo:acme/rocket:ref:refs/heads/main".to_string(),
            issuer: GITHUB_OIDC_ISSUER.to_string(),
        }
    }
}
