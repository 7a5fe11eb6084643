//! Why a TPP call failed, and the words for TPP's own error shapes.

use super::model::{self, AuthError};
use crate::http::{field_names, HttpError};

/// Why a TPP call failed, worded so that the user knows what to fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TppError {
    /// The password grant or the JWT exchange was refused (400 or 401).
    #[error("TPP refused the token request ({0}); check tpp-username, tpp-password, tpp-client-id and tpp-scope")]
    GrantRefused(String),
    /// The runner would not hand out the job's OIDC token.
    #[error("the job's OIDC token could not be had: {0}")]
    Oidc(String),
    /// 401 `invalid_token`: a token the gate obtained is replaced once, a given one is final.
    #[error("TPP rejected the access token ({0}): it is expired or revoked")]
    InvalidToken(String),
    /// 403: the token lacks a scope the call needs.
    #[error("{endpoint} forbidden ({detail}): the token lacks the scope; tpp-scope needs codesign:approve")]
    Forbidden {
        /// The call, as the error's first words name it.
        endpoint: &'static str,
        /// VEDAuth's `error: error_description`, or the field names of an answer of another shape.
        detail: String,
    },
    /// HTTP 200 with `Success: false`.
    #[error("{endpoint} refused: {}{}", result_text(*code), error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Refused {
        /// The call, as the error's first words name it.
        endpoint: &'static str,
        /// TPP's `Result`, when the answer carried one.
        code: Option<i64>,
        /// TPP's `Error`, when the answer carried one.
        error: Option<String>,
    },
    /// 400: TPP took the request as malformed.
    #[error("{endpoint} rejected the request as malformed: {detail}")]
    BadRequest {
        /// The call, as the error's first words name it.
        endpoint: &'static str,
        /// VEDAuth's `error: error_description`, or the field names of an answer of another shape.
        detail: String,
    },
    /// An answer of unexpected status or shape.
    #[error("{endpoint}: unexpected answer, {detail}")]
    Unexpected {
        /// The call, as the error's first words name it.
        endpoint: &'static str,
        /// The status, and VEDAuth's error or the answer's field names; never a token.
        detail: String,
    },
    /// No usable answer at all.
    #[error("{0}")]
    Http(#[from] HttpError),
}

/// `Result 7 ObjectNotFound`, or what is known when the refusal carried no code.
fn result_text(code: Option<i64>) -> String {
    match code {
        Some(code) => format!("Result {code} {}", model::result_name(code)),
        None => "Success false without a Result code".to_string(),
    }
}

/// `error: error_description` from VEDAuth's error shape, or the field names when it is not.
pub(super) fn auth_error_text(body: &[u8]) -> String {
    match serde_json::from_slice::<AuthError>(body) {
        Ok(AuthError { error, error_description: Some(d) }) => format!("{error}: {d}"),
        Ok(AuthError { error, error_description: None }) => error,
        Err(_) => field_names(body),
    }
}
