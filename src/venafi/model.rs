//! TPP wire types, field for field as the REST API spells them.

use serde::{Deserialize, Serialize};

/// `POST /vedauth/authorize/oauth`, the password grant.
#[derive(Serialize)]
pub struct OAuthRequest<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub scope: &'a str,
}

/// `POST /vedauth/authorize/jwt`: an external JWT (the job's OIDC token) for a TPP token.
#[derive(Serialize)]
pub struct JwtRequest<'a> {
    pub client_id: &'a str,
    pub jwt: &'a str,
    pub scope: &'a str,
}

/// The grant. Its `expires` is not read: the run is far shorter than a token's life, and a
/// token that dies anyway shows up as 401 `invalid_token`.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub identity: Option<String>,
}

/// VEDAuth's error shape (400 on a bad grant, 401 `invalid_token` on a dead token).
#[derive(Deserialize)]
pub struct AuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// `POST /vedsdk/Flow/Actions/CodeSign/PreQualify/Create`: one digest per call.
#[derive(Debug, Clone, Serialize)]
pub struct PreQualifyRequest {
    #[serde(rename = "Dn")]
    pub dn: String,
    /// Base64 of the digest the signing tool will present.
    #[serde(rename = "Data")]
    pub data: String,
    #[serde(rename = "User")]
    pub user: String,
    #[serde(rename = "Comment")]
    pub comment: String,
    #[serde(rename = "Hours")]
    pub hours: u32,
    #[serde(rename = "SingleUse")]
    pub single_use: bool,
}

/// `POST /vedsdk/Codesign/AddPreApproval`. Optional fields are left out rather than sent
/// empty: an empty `IPAddress` or `SigningExecutable` would make TPP ignore the pre-approval.
#[derive(Debug, Clone, Serialize)]
pub struct AddPreApprovalRequest {
    #[serde(rename = "Dn")]
    pub dn: String,
    #[serde(rename = "User")]
    pub user: String,
    #[serde(rename = "Comment")]
    pub comment: String,
    #[serde(rename = "Hours")]
    pub hours: u32,
    #[serde(rename = "IPAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(rename = "NotBefore", skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(rename = "SigningExecutable", skip_serializing_if = "Option::is_none")]
    pub signing_executable: Option<String>,
    #[serde(rename = "SingleUse")]
    pub single_use: bool,
}

/// `POST /vedsdk/Codesign/GetEnvironment`; only `Success`/`Result` of the answer are read.
#[derive(Debug, Clone, Serialize)]
pub struct GetEnvironmentRequest {
    #[serde(rename = "Dn")]
    pub dn: String,
}

/// The answer of Codesign/* calls and PreQualify/Create; a refusal is also HTTP 200. `Success`
/// is the verdict: the documented success is `{"Success": true}` alone, so `Result` and `Error`
/// are optional (and may be `null`); unknown fields are ignored.
#[derive(Deserialize)]
pub struct SignResult {
    #[serde(rename = "Success")]
    pub success: bool,
    #[serde(rename = "Result", default)]
    pub result: Option<i64>,
    #[serde(rename = "Error", default)]
    pub error: Option<String>,
}

/// Sign Result Codes, as Venafi's own SDK lists them.
pub fn result_name(code: i64) -> &'static str {
    match code {
        0 => "None",
        1 => "Success",
        2 => "InsufficientPermission",
        3 => "CreateFailure",
        4 => "UpdateFailure",
        5 => "DeleteFailure",
        6 => "RenameFailure",
        7 => "ObjectNotFound",
        8 => "IncorrectObjectType",
        9 => "ObjectHasChildren",
        10 => "AssignPermissionFailure",
        11 => "RelatedObjectNotSaved",
        12 => "RemoteError",
        1000 => "AssignProjectPermissionFailure",
        1001 => "DuplicateUserAssignment",
        1002 => "UserNotFound",
        2000 => "ObjectInGroup",
        2001 => "ObjectNotInGroup",
        2002 => "ObjectAlreadyExists",
        3000 => "EnvironmentMoveRestricted",
        3001 => "ValueProhibitedByTemplate",
        3002 => "KeyAccessFailure",
        3003 => "QueryFailure",
        3004 => "ImportFailure",
        3005 => "ObjectsPending",
        _ => "unknown result code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preapproval_body_uses_tpp_field_names_and_omits_unset_fields() {
        let body = AddPreApprovalRequest {
            dn: "\\VED\\Code Signing\\P".into(),
            user: "local:u".into(),
            comment: "c".into(),
            hours: 1,
            ip_address: Some("10.0.0.1".into()),
            not_before: None,
            signing_executable: None,
            single_use: true,
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Dn": "\\VED\\Code Signing\\P", "User": "local:u", "Comment": "c", "Hours": 1, "IPAddress": "10.0.0.1", "SingleUse": true})
        );
        assert_eq!(serde_json::to_string(&body).unwrap().matches("\\\\").count(), 3, "backslashes escaped in JSON");
    }
}
