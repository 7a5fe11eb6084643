//! The Venafi TPP side of the setup: integrations, accounts, environments, key users and JWT
//! mappings, and the demo's.

use serde::{Deserialize, Serialize};

use super::oidc::GITHUB_OIDC_ISSUER;

/// The demo environment DN, spelled once so the default config and the docs cannot drift apart.
pub const DEMO_ENVIRONMENT_DN: &str = r"\VED\Code Signing\Projects\Sample\Production Environment";

/// Venafi TPP (VEDAuth + WebSDK) side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TppConfig {
    /// Answered by `GET /vedsdk/SystemStatus/Version`; some SDKs branch on it.
    pub version: String,
    /// How long an access token lives, so tests can reach expiry and refresh.
    pub token_lifetime_secs: i64,
    /// How long a grant can be refreshed (`refresh_until`), fixed when the grant is made.
    pub refresh_lifetime_secs: i64,
    /// Real TPP rotates refresh tokens; turning this off lets a test show what a non-rotating
    /// server would let a sloppy client get away with.
    pub rotate_refresh_tokens: bool,
    /// Upper bound accepted for `Hours`; TPP documents none, so this is the simulator's choice.
    pub max_hours: i64,
    /// The registered API integrations; an unknown `client_id` is `invalid_client`.
    pub clients: Vec<TppClient>,
    /// Accounts the password grant accepts (names compared without case).
    pub users: Vec<TppUser>,
    /// Code signing environments that PreQualify, AddPreApproval and GetEnvironment know.
    pub environments: Vec<TppEnvironment>,
    /// Identities that may be named as `User` (the key user) in PreQualify/AddPreApproval.
    pub key_users: Vec<KeyUser>,
    /// What `POST /vedauth/authorize/jwt` accepts: each maps an external identity to a TPP user.
    pub jwt_mappings: Vec<JwtMapping>,
}

/// An API Integration registered in TPP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TppClient {
    /// Compared with case, as TPP compares it.
    pub client_id: String,
    /// Scopes the integration grants, in TPP syntax: `codesign:approve,manage;certificate:manage`.
    pub scope: String,
}

/// A TPP account for the password grant (and the spelling a JWT mapping's user takes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TppUser {
    /// Matched without case.
    pub username: String,
    /// Compared exactly; printed by `describe`, since every password here is a fake.
    pub password: String,
    /// `local:{guid}`; derived from the username when absent so it is stable across runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A code signing project environment and who may approve on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TppEnvironment {
    /// The environment's DN, compared without case as TPP does.
    pub dn: String,
    /// Usernames that are Key Use Approvers of this environment.
    #[serde(default)]
    pub approvers: Vec<String>,
}

/// A key user that PreQualify and AddPreApproval may name as `User`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUser {
    /// PrefixedName, e.g. `local:sample-cs-user`.
    pub name: String,
    /// The GUID part of the PrefixedUniversal form (`local:{guid}`); derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
}

/// A TPP JWT mapping: a token whose `iss` and `aud` equal these and whose `sub` matches the
/// pattern is exchanged for a grant of `username`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtMapping {
    /// Compared exactly with the token's `iss`.
    pub issuer: String,
    /// Compared exactly with the token's `aud` (or one of its entries).
    pub audience: String,
    /// `*` matches any run of characters, e.g. `repo:acme/*`; compared with case.
    pub subject: String,
    /// The TPP user the grant is for; PreQualify/AddPreApproval still need them as an approver.
    pub username: String,
}

impl Default for TppConfig {
    fn default() -> Self {
        TppConfig {
            version: "24.1.0.2358".to_string(),
            token_lifetime_secs: 3600,
            refresh_lifetime_secs: 90 * 24 * 3600,
            rotate_refresh_tokens: true,
            max_hours: 8760,
            clients: vec![TppClient {
                client_id: "codesign-gate".to_string(),
                scope: "codesign:approve,manage;certificate:manage".to_string(),
            }],
            users: vec![
                TppUser {
                    username: "sample-approver".to_string(),
                    password: "sample-approver-password".to_string(),
                    identity: None,
                },
                TppUser {
                    username: "sample-user".to_string(),
                    password: "sample-user-password".to_string(),
                    identity: None,
                },
            ],
            environments: vec![TppEnvironment {
                dn: DEMO_ENVIRONMENT_DN.to_string(),
                approvers: vec!["sample-approver".to_string()],
            }],
            key_users: vec![KeyUser { name: "local:sample-cs-user".to_string(), guid: None }],
            jwt_mappings: vec![JwtMapping {
                issuer: GITHUB_OIDC_ISSUER.to_string(),
                audience: "codesign-gate".to_string(),
                subject: "repo:acme/*".to_string(),
                username: "sample-approver".to_string(),
            }],
        }
    }
}
