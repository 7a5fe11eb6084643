//! The AppViewX side of the setup: accounts, signing policies and how a signing ends, and the
//! demo's.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::keys::{default_certificate_validity_days, demo_keys, AvxKey};
use super::tpp::DEMO_ENVIRONMENT_DN;

/// AppViewX SIGN+ side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvxConfig {
    /// AppViewX does not document it; short values let tests exercise re-login.
    pub session_lifetime_secs: i64,
    /// How long a sign request stays `Inprogress` unless its policy overrides it.
    pub sign_delay_ms: u64,
    /// The tenant key of a multi-tenant install. When set, every `/avxapi` call must carry the
    /// query parameter `gwkey` equal to it; when unset, `gwkey` is ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gwkey: Option<String>,
    /// For this long after its submission a sign request is not visible yet: status and
    /// download calls answer 400 `CODE_SIGNING_0102` "Data not present for given signId.".
    pub visibility_delay_ms: u64,
    /// Accounts that can log in; setting the list replaces the demo account.
    pub users: Vec<AvxUser>,
    /// Signing policies; setting the list replaces the demo policy.
    pub policies: Vec<AvxPolicy>,
    /// How long a signing without a usable pre-approval waits for an approver before it ends as
    /// `Failed` with `failedDueToTimeoutError: true`; TPP documents no such limit, so it is ours.
    pub approval_timeout_ms: u64,
    /// A stand-in approver who approves every waiting signing this long after its submission
    /// (unless it timed out first). `None`: nobody approves but `POST /__sim/approve`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_approval_after_ms: Option<u64>,
    /// The signing keys and the private keys behind them; a key a policy maps without an entry
    /// here is RSA-3072 with the built-in test key. Setting the list replaces the demo keys.
    pub keys: Vec<AvxKey>,
    /// How long the certificates the simulator's CA issues to the signing keys are valid, from
    /// now (they start a day ago, for clocks that lag).
    pub certificate_validity_days: u32,
    /// When set, the simulator writes every signing key's certificate chain (`<key>.pem`, leaf
    /// first) and its CA (`ca.pem`) into this folder at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificates_out_dir: Option<PathBuf>,
}

/// An AppViewX account with its lockout budget and signing right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvxUser {
    /// Compared exactly, as the `username` header must match it.
    pub username: String,
    /// Compared exactly; a wrong one uses up a login attempt.
    pub password: String,
    /// Failed logins allowed before lockout; a successful login restores it.
    #[serde(default = "default_login_attempts")]
    pub login_attempts: u32,
    /// `false` gives 403 `CODE_SIGNING_0032` on submit.
    #[serde(default = "default_true")]
    pub can_sign: bool,
}

/// A signing policy: which keys and signing types it offers, who may use it, how it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvxPolicy {
    /// What `signingPolicy` must equal (compared exactly).
    pub name: String,
    /// The `signingKey` values mapped to the policy; any other is `CODE_SIGNING_0070`.
    pub keys: Vec<String>,
    /// The `signedType` values the policy supports; any other is `CODE_SIGNING_0063`.
    #[serde(default = "default_signed_types")]
    pub signed_types: Vec<String>,
    /// Caller IPs allowed to sign; empty means no allow-list.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// How requests under this policy end, so each client path can be reached.
    #[serde(default)]
    pub outcome: SignOutcome,
    /// Overrides `appviewx.sign_delay_ms` for this policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_delay_ms: Option<u64>,
    /// When set, `encodedHashData` is a whole signed PowerShell-style script, as in AppViewX's
    /// status example: this text, `\r\n`, then `# SIG # Begin signature block`, the signature
    /// in Base64 lines of 64 characters each prefixed with `# `, and
    /// `# SIG # End signature block`, every line ending in `\r\n`. See `signed_script`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_script: Option<String>,
    /// The TPP environment (DN, compared without case) whose approvals govern this policy's keys
    /// in the enforced approval chain. `None`: the first of `tpp.environments`, so a setup with
    /// one environment needs no link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_dn: Option<String>,
}

/// The demo policy's rules, so a test can write `AvxPolicy { name: "p".into(), ..AvxPolicy::default() }`.
/// It is not linked to an environment (the demo config links its copy), so it follows whatever
/// environments a test configures instead of naming one that may not exist there.
impl Default for AvxPolicy {
    fn default() -> Self {
        AvxPolicy {
            name: "sample-policy".to_string(),
            keys: vec!["sample-key".to_string()],
            signed_types: default_signed_types(),
            allowed_ips: Vec::new(),
            outcome: SignOutcome::Signed,
            sign_delay_ms: None,
            signed_script: None,
            environment_dn: None,
        }
    }
}

/// How a sign request submitted under a policy ends, so every client path can be exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignOutcome {
    /// `Signed` after the delay, with the signature.
    #[default]
    Signed,
    /// Terminal `failedDueToTimeoutError: true`.
    TimeoutError,
    /// Status calls answer 500 `CODE_SIGNING_0103` once the delay has passed.
    FetchError,
    /// Stays `Inprogress` forever, for client deadlines.
    Never,
}

fn default_login_attempts() -> u32 {
    10
}
fn default_true() -> bool {
    true
}
fn default_signed_types() -> Vec<String> {
    vec!["Hash Based Signing".to_string()]
}

impl Default for AvxConfig {
    fn default() -> Self {
        AvxConfig {
            session_lifetime_secs: 3600,
            sign_delay_ms: 1500,
            gwkey: None,
            visibility_delay_ms: 0,
            users: vec![AvxUser {
                username: "avx-user".to_string(),
                password: "avx-password".to_string(),
                login_attempts: 10,
                can_sign: true,
            }],
            policies: vec![AvxPolicy {
                keys: demo_keys().into_iter().map(|k| k.name).collect(),
                environment_dn: Some(DEMO_ENVIRONMENT_DN.to_string()),
                ..AvxPolicy::default()
            }],
            approval_timeout_ms: 3_600_000,
            manual_approval_after_ms: None,
            keys: demo_keys(),
            certificate_validity_days: default_certificate_validity_days(),
            certificates_out_dir: None,
        }
    }
}
