//! AppViewX wire types. Every answer is wrapped in the same envelope, and `appStatusCode` is
//! non-null exactly when the call failed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The envelope around every answer; its `tags` and `headers` are not read.
#[derive(Deserialize)]
pub struct Envelope {
    /// `response`: the call's own answer.
    #[serde(default)]
    pub response: Value,
    /// `message`: read only when it is text ([`Envelope::message`]).
    #[serde(default)]
    pub message: Option<Value>,
    /// `appStatusCode`: read through [`Envelope::code`].
    #[serde(rename = "appStatusCode", default)]
    pub app_status_code: Option<Value>,
}

impl Envelope {
    /// The application status code, when the answer carries one (a failure). Only text and
    /// numbers are taken as they are: a structured value could carry anything.
    pub fn code(&self) -> Option<String> {
        match self.app_status_code.as_ref()? {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => Some(format!("(a JSON {})", crate::http::json_kind(other))),
        }
    }

    /// The message, when it is text.
    pub fn message(&self) -> Option<String> {
        match &self.message {
            Some(Value::String(m)) if !m.trim().is_empty() => Some(m.clone()),
            _ => None,
        }
    }
}

/// The messages AppViewX documents for the status call's codes ("Fetching the status of the
/// signing request", Status Codes), shown when an answer carries the code without a message.
pub fn documented_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "CODE_SIGNING_0105" => "SIGN_ID Not present.",
        "CODE_SIGNING_0102" => "Data not present for given signId.",
        "CODE_SIGNING_00109" => "Permissions are not there to fetch status for given signId.",
        "CODE_SIGNING_0101" => "Error in Fetching the status for the requested SignId.",
        "CODE_SIGNING_0103" => "Fetching Encoded Sign Data Failed.",
        _ => return None,
    })
}

/// The login answer inside the envelope. `availableLoginAttemptCount` may be `null`.
#[derive(Deserialize)]
pub struct LoginResponse {
    /// `sessionId`: sent as a header with every later call.
    #[serde(rename = "sessionId", default)]
    pub session_id: Option<String>,
    /// `availableLoginAttemptCount`: logins left before lockout; a number, text or `null`.
    #[serde(rename = "availableLoginAttemptCount", default)]
    pub available_login_attempt_count: Option<Value>,
}

/// `code-signing-generate-hash` body: hash-based signing of one DigestInfo.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateHashRequest {
    /// `signingPolicy` (`appviewx-signing-policy`).
    #[serde(rename = "signingPolicy")]
    pub signing_policy: String,
    /// `signingKey` (`appviewx-signing-key`): must be mapped to the policy.
    #[serde(rename = "signingKey")]
    pub signing_key: String,
    /// `versionNumber`: always `v1`.
    #[serde(rename = "versionNumber")]
    pub version_number: &'static str,
    /// `description`: the artifact's name and the repository, to find the request in AppViewX.
    pub description: String,
    /// `signedType`: always `Hash Based Signing`.
    #[serde(rename = "signedType")]
    pub signed_type: &'static str,
    /// Base64 of the DER DigestInfo.
    #[serde(rename = "fileHashContent")]
    pub file_hash_content: String,
}

/// The status answer, and (as far as the public docs let one tell) the submit answer.
#[derive(Deserialize, Default)]
pub struct SignStatusResponse {
    /// `signId`: only the submit answer carries it; text, though a number is taken too.
    #[serde(rename = "signId", default)]
    pub sign_id: Option<Value>,
    /// `status` (`Inprogress`, `Signed`, …), compared regardless of case.
    #[serde(default)]
    pub status: Option<String>,
    /// `encodedHashData`: the signed data, once `status` is `Signed`.
    #[serde(rename = "encodedHashData", default)]
    pub encoded_hash_data: Option<String>,
    /// `failedDueToTimeoutError`: `true` is a final failure, whatever `status` says.
    #[serde(rename = "failedDueToTimeoutError", default)]
    pub failed_due_to_timeout_error: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_code_and_message() {
        let e: Envelope = serde_json::from_str(r#"{"response":null,"message":"Policy not found","appStatusCode":"CODE_SIGNING_0056","tags":null,"headers":null}"#).unwrap();
        assert_eq!(
            (e.code().as_deref(), e.message().as_deref()),
            (Some("CODE_SIGNING_0056"), Some("Policy not found"))
        );
        let ok: Envelope =
            serde_json::from_str(r#"{"response":{"status":"Signed"},"message":null,"appStatusCode":null}"#).unwrap();
        assert_eq!((ok.code(), ok.message()), (None, None));
        let nested: Envelope = serde_json::from_str(r#"{"appStatusCode":{"x":"secret"}}"#).unwrap();
        assert_eq!(nested.code().as_deref(), Some("(a JSON object)"));
    }
}
