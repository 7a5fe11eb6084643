//! TPP wire types, field for field as the REST API spells them.

use serde::{Deserialize, Serialize};

/// `POST /vedauth/authorize/oauth`, the password grant.
#[derive(Serialize)]
pub struct OAuthRequest<'a> {
    /// `client_id`: the API integration's id registered in TPP.
    pub client_id: &'a str,
    /// `username`: the caller, who must be a key use approver for the calls that follow.
    pub username: &'a str,
    /// `password`, out of its [`crate::secret::Secret`] only for this body.
    pub password: &'a str,
    /// `scope`, e.g. `codesign:approve`; a scope the integration lacks fails the whole grant.
    pub scope: &'a str,
}

/// `POST /vedauth/authorize/jwt`: an external JWT (the job's OIDC token) for a TPP token.
#[derive(Serialize)]
pub struct JwtRequest<'a> {
    /// `client_id`: the API integration's id, as for the password grant.
    pub client_id: &'a str,
    /// `jwt`: the job's OIDC token.
    pub jwt: &'a str,
    /// `scope`, as for the password grant.
    pub scope: &'a str,
}

/// The grant. Its `expires` is not read: the run is far shorter than a token's life, and a
/// token that dies anyway shows up as 401 `invalid_token`.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// `access_token`: the bearer token; an empty one counts as none.
    pub access_token: String,
    /// `refresh_token`: read only to be masked.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `identity`: whom the token belongs to, for the log and the report.
    #[serde(default)]
    pub identity: Option<String>,
}

/// VEDAuth's error shape (400 on a bad grant, 401 `invalid_token` on a dead token).
#[derive(Deserialize)]
pub struct AuthError {
    /// `error`, e.g. `invalid_token`.
    pub error: String,
    /// `error_description`, when TPP gives one.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// `POST /vedsdk/Flow/Actions/CodeSign/PreQualify/Create`: one digest per call.
#[derive(Debug, Clone, Serialize)]
pub struct PreQualifyRequest {
    /// `Dn`: the project environment (`\VED\Code Signing\Projects\…`).
    #[serde(rename = "Dn")]
    pub dn: String,
    /// Base64 of the digest the signing tool will present.
    #[serde(rename = "Data")]
    pub data: String,
    /// `User`: the project key user who will sign (`local:name` or `local:{guid}`).
    #[serde(rename = "User")]
    pub user: String,
    /// `Comment`: the approver's note, e.g. why the hash is pre-qualified.
    #[serde(rename = "Comment")]
    pub comment: String,
    /// `Hours`; always sent, so TPP's 24-hour default never applies.
    #[serde(rename = "Hours")]
    pub hours: u32,
    /// `SingleUse`: `true` allows one signing with this hash, `false` any number until it expires.
    #[serde(rename = "SingleUse")]
    pub single_use: bool,
}

/// `POST /vedsdk/Codesign/AddPreApproval`. Optional fields are left out rather than sent
/// empty: an empty `IPAddress` or `SigningExecutable` would make TPP ignore the pre-approval.
#[derive(Debug, Clone, Serialize)]
pub struct AddPreApprovalRequest {
    /// `Dn`: the project environment where the private key is used.
    #[serde(rename = "Dn")]
    pub dn: String,
    /// `User`: the project key user who will sign; a person, not a group.
    #[serde(rename = "User")]
    pub user: String,
    /// `Comment`: the reason for the pre-approval.
    #[serde(rename = "Comment")]
    pub comment: String,
    /// `Hours`; always sent (TPP's default is 24). Nothing can revoke a pre-approval: keep it short.
    #[serde(rename = "Hours")]
    pub hours: u32,
    /// `IPAddress`: unless it matches the signer's address, TPP does not use the pre-approval.
    #[serde(rename = "IPAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// `NotBefore`: UTC, ISO 8601; the pre-approval is not valid before it.
    #[serde(rename = "NotBefore", skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// `SigningExecutable`: the signing tool's full path as the client presents it; must match exactly.
    #[serde(rename = "SigningExecutable", skip_serializing_if = "Option::is_none")]
    pub signing_executable: Option<String>,
    /// `SingleUse`: `true` allows one signing, `false` any number until it expires.
    #[serde(rename = "SingleUse")]
    pub single_use: bool,
}

/// `POST /vedsdk/Codesign/GetEnvironment`; only `Success`/`Result` of the answer are read.
#[derive(Debug, Clone, Serialize)]
pub struct GetEnvironmentRequest {
    /// `Dn`: the environment to look for.
    #[serde(rename = "Dn")]
    pub dn: String,
}

/// The answer of Codesign/* calls and PreQualify/Create; a refusal is also HTTP 200. `Success`
/// is the verdict: the documented success is `{"Success": true}` alone, so `Result` and `Error`
/// are optional (and may be `null`); unknown fields are ignored.
#[derive(Deserialize)]
pub struct SignResult {
    /// `Success`: the verdict.
    #[serde(rename = "Success")]
    pub success: bool,
    /// `Result`: a Sign Result Code ([`result_name`]); absent from the documented success.
    #[serde(rename = "Result", default)]
    pub result: Option<i64>,
    /// `Error`: present only when `Success` is false.
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
