//! AppViewX wire types. Every answer is wrapped in the same envelope, and `appStatusCode` is
//! non-null exactly when the call failed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub response: Value,
    #[serde(default)]
    pub message: Option<Value>,
    #[serde(rename = "appStatusCode", default)]
    pub app_status_code: Option<Value>,
}

impl Envelope {
    /// `CODE_SIGNING_0056: policy not found`, from whatever of code and message is present.
    /// Only text and numbers are shown: a structured value could carry anything.
    pub fn error_text(&self) -> Option<String> {
        let code = match self.app_status_code.as_ref()? {
            Value::Null => return None,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => format!("(a JSON {})", crate::http::json_kind(other)),
        };
        Some(match &self.message {
            Some(Value::String(m)) if !m.is_empty() => format!("{code}: {m}"),
            _ => code,
        })
    }
}

#[derive(Deserialize)]
pub struct LoginResponse {
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
    #[serde(rename = "availableLoginAttemptCount", default)]
    pub available_login_attempt_count: Option<i64>,
}

/// `code-signing-generate-hash` body: hash-based signing of one DigestInfo.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateHashRequest {
    #[serde(rename = "signingPolicy")]
    pub signing_policy: String,
    #[serde(rename = "signingKey")]
    pub signing_key: String,
    #[serde(rename = "versionNumber")]
    pub version_number: &'static str,
    pub description: String,
    #[serde(rename = "signedType")]
    pub signed_type: &'static str,
    /// Base64 of the DER DigestInfo.
    #[serde(rename = "fileHashContent")]
    pub file_hash_content: String,
}

/// The status answer, and (as far as the public docs let one tell) the submit answer.
#[derive(Deserialize, Default)]
pub struct SignStatusResponse {
    #[serde(rename = "signId", default)]
    pub sign_id: Option<Value>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(rename = "encodedHashData", default)]
    pub encoded_hash_data: Option<String>,
    #[serde(rename = "failedDueToTimeoutError", default)]
    pub failed_due_to_timeout_error: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_error_text() {
        let e: Envelope = serde_json::from_str(r#"{"response":null,"message":"Policy not found","appStatusCode":"CODE_SIGNING_0056","tags":null,"headers":null}"#).unwrap();
        assert_eq!(e.error_text().as_deref(), Some("CODE_SIGNING_0056: Policy not found"));
        let ok: Envelope =
            serde_json::from_str(r#"{"response":{"status":"Signed"},"message":null,"appStatusCode":null}"#).unwrap();
        assert_eq!(ok.error_text(), None);
    }
}
