//! What the simulated servers know: accounts, environments, policies, faults and TLS.
//!
//! Everything is plain data so a user can describe a setup in TOML and a test can build one in
//! Rust; `Default` is the demo setup the gate's `demo` command and its tests rely on.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::fault::Fault;
use crate::scope::Scope;

/// The demo environment DN, spelled once so the default config and the docs cannot drift apart.
pub const DEMO_ENVIRONMENT_DN: &str = r"\VED\Code Signing\Projects\Sample\Production Environment";

/// Complete description of one simulator instance; `Default` is the demo setup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of the `variants` mode: every JSON answer then varies deterministically (from the
    /// seed and the request's index) within the documented shape, never in meaning: key order,
    /// optional fields absent or `null`, unknown extra fields. `None` answers the default shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<u64>,
    /// Whether an AppViewX signing needs TPP's pre-qualification and pre-approval (our model of a
    /// deployment where CodeSign Protect approves what AppViewX signs), or only records them as
    /// before, for tests that exercise AppViewX alone.
    pub approval: ApprovalMode,
    /// The Venafi side: who may log in, which environments and key users exist.
    pub tpp: TppConfig,
    /// The AppViewX side: accounts, policies and how signing ends.
    pub appviewx: AvxConfig,
    /// The stand-in for GitHub Actions' OIDC token endpoint (`GET /__sim/oidc/token`).
    pub oidc: OidcConfig,
    /// Faults armed from the start; more can be added at run time with `SimHandle::add_fault`.
    pub faults: Vec<Fault>,
    /// `None` serves plain HTTP, which is what most tests want.
    pub tls: Option<TlsConfig>,
}

/// How the simulator links TPP's approvals to AppViewX's signing. Neither vendor documents the
/// link, so `Enforced` is the simulator's model of it (see the README's "The approval chain").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalMode {
    /// A signing needs a live pre-qualification of its digest and a live pre-approval for the
    /// submitter's address on its policy's environment, or an approver's decision; what it
    /// uses is consumed.
    #[default]
    Enforced,
    /// PreQualify/Create and AddPreApproval are recorded and never asked for: every signing that
    /// passes AppViewX's own checks proceeds.
    Recorded,
}

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
    /// status example: this text, `\r\n`, then `# SIG # Begin signature block`, the fake
    /// signature in Base64 lines of 64 characters each prefixed with `# `, and
    /// `# SIG # End signature block`, every line ending in `\r\n`. See `fake_signed_script`.
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
    /// `Signed` after the delay, with the fake signature.
    #[default]
    Signed,
    /// Terminal `failedDueToTimeoutError: true`.
    TimeoutError,
    /// Status calls answer 500 `CODE_SIGNING_0103` once the delay has passed.
    FetchError,
    /// Stays `Inprogress` forever, for client deadlines.
    Never,
}

/// Either serve a certificate the user brings, or mint a throwaway CA and server certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum TlsConfig {
    /// A certificate chain and key the user brings, e.g. one their clients already trust.
    Files {
        /// PEM chain, leaf first.
        cert_pem_path: PathBuf,
        /// PEM private key (PKCS#8, PKCS#1 or SEC1).
        key_pem_path: PathBuf,
    },
    /// A CA and leaf minted at every start, so nothing has to be provisioned.
    Generate {
        /// Where the generated CA certificate (PEM) is written for clients to trust.
        ca_out_path: PathBuf,
    },
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
            policies: vec![AvxPolicy { environment_dn: Some(DEMO_ENVIRONMENT_DN.to_string()), ..AvxPolicy::default() }],
            approval_timeout_ms: 3_600_000,
            manual_approval_after_ms: None,
        }
    }
}

impl SimConfig {
    /// Reads a config from TOML text, refusing unknown keys so a typo cannot fall back to a default.
    ///
    /// # Errors
    /// `Error::Config` for TOML that does not parse into a config, or a config `validate` refuses.
    pub fn from_toml_str(s: &str) -> Result<Self, Error> {
        let config: SimConfig = toml::from_str(s).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a config file; errors name the file.
    ///
    /// # Errors
    /// `Error::Io` when the file cannot be read, `Error::Config` as for `from_toml_str`.
    pub fn from_toml_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config(msg) => Error::Config(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Renders the config as TOML, e.g. to start a custom file from the demo setup.
    ///
    /// # Errors
    /// `Error::Config` if the TOML serializer refuses a value.
    pub fn to_toml_string(&self) -> Result<String, Error> {
        toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))
    }

    /// Catches setups that would make the simulator contradict itself at run time, so the
    /// mistake surfaces when the file is loaded rather than as a puzzling HTTP answer.
    ///
    /// # Errors
    /// `Error::Config` listing every problem found, separated by `; `.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        self.tpp.check(&mut problems);
        self.oidc.check(&mut problems);
        let t = &self.tpp;
        dupes("tpp client", t.clients.iter().map(|c| c.client_id.clone()), &mut problems);
        dupes("tpp user", t.users.iter().map(|u| u.username.to_lowercase()), &mut problems);
        dupes("tpp environment", t.environments.iter().map(|e| e.dn.to_lowercase()), &mut problems);
        self.appviewx.check(&mut problems);
        self.check_governance(&mut problems);
        for f in &self.faults {
            if let Err(e) = f.check() {
                problems.push(e);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }

    /// The environment whose approvals govern a policy: its `environment_dn` as configured in
    /// `tpp.environments`, else the first environment. `None` when there is none to govern it.
    pub(crate) fn governing_environment(&self, policy: &AvxPolicy) -> Option<&TppEnvironment> {
        match &policy.environment_dn {
            Some(dn) => self.tpp.environments.iter().find(|e| e.dn.eq_ignore_ascii_case(dn)),
            None => self.tpp.environments.first(),
        }
    }

    /// A policy linked to an environment that does not exist, or (when the chain is enforced)
    /// governed by none, could never sign: say so at load time.
    fn check_governance(&self, problems: &mut Vec<String>) {
        for p in &self.appviewx.policies {
            match &p.environment_dn {
                Some(dn) if self.governing_environment(p).is_none() => problems.push(format!(
                    "appviewx policy {:?}: environment_dn {dn:?} is not one of tpp.environments",
                    p.name
                )),
                None if self.approval == ApprovalMode::Enforced && self.tpp.environments.is_empty() => {
                    problems.push(format!(
                        "appviewx policy {:?}: no TPP environment governs it (tpp.environments is empty); \
                         add one or set approval = \"recorded\"",
                        p.name
                    ));
                }
                _ => {}
            }
        }
    }

    /// Human summary for `codesign-gate simulator`: what a user needs to point a client at it.
    /// Printing the passwords is deliberate: they are fake, and without them the demo is useless.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = String::new();
        self.describe_tpp(&mut s);
        self.describe_oidc(&mut s);
        self.describe_appviewx(&mut s);
        self.describe_rest(&mut s);
        s
    }

    /// The TPP part of `describe`: integrations, users, environments, key users, JWT mappings.
    fn describe_tpp(&self, s: &mut String) {
        let t = &self.tpp;
        let _ = writeln!(s, "Venafi TPP (version {}):", t.version);
        let _ = writeln!(
            s,
            "  token lifetime {} s, refresh token lifetime {} s, refresh tokens {}",
            t.token_lifetime_secs,
            t.refresh_lifetime_secs,
            if t.rotate_refresh_tokens { "rotate (single use)" } else { "reusable" }
        );
        for c in &t.clients {
            let _ = writeln!(s, "  client_id {:?} allows scope {:?}", c.client_id, c.scope);
        }
        for u in &t.users {
            let _ = writeln!(s, "  user {:?} password {:?}", u.username, u.password);
        }
        for e in &t.environments {
            let _ = writeln!(s, "  environment {}", e.dn);
            let _ = writeln!(s, "    approvers: {}", join_or_none(&e.approvers));
        }
        let key_users: Vec<String> = t.key_users.iter().map(|k| k.name.clone()).collect();
        let _ = writeln!(s, "  key users: {}", join_or_none(&key_users));
        if t.jwt_mappings.is_empty() {
            let _ = writeln!(s, "  JWT mappings: (none; POST /vedauth/authorize/jwt refuses every token)");
        } else {
            let _ = writeln!(s, "  JWT mappings (POST /vedauth/authorize/jwt, HS256 tokens minted by the simulator):");
        }
        for m in &t.jwt_mappings {
            let _ =
                writeln!(s, "    iss {:?} aud {:?} sub {:?} -> user {:?}", m.issuer, m.audience, m.subject, m.username);
        }
    }

    /// The OIDC stand-in part of `describe`.
    fn describe_oidc(&self, s: &mut String) {
        let o = &self.oidc;
        let _ = writeln!(s, "GitHub Actions OIDC stand-in (GET /__sim/oidc/token?api-version=2.0&audience=AUD):");
        let _ = writeln!(s, "  request token {:?} (send as Authorization: bearer)", o.request_token);
        let _ = writeln!(s, "  tokens: iss {:?} sub {:?}, valid 5 minutes", o.issuer, o.subject);
    }

    /// The AppViewX part of `describe`: tenant key, users, policies.
    fn describe_appviewx(&self, s: &mut String) {
        let a = &self.appviewx;
        let _ = writeln!(
            s,
            "AppViewX (POST /avxapi/login?gwsource=external; session lifetime {} s, signing takes {} ms):",
            a.session_lifetime_secs, a.sign_delay_ms
        );
        if let Some(key) = &a.gwkey {
            let _ = writeln!(s, "  multi-tenant: every call needs gwkey={key}");
        }
        match self.approval {
            ApprovalMode::Enforced => {
                let approver = match a.manual_approval_after_ms {
                    Some(ms) => format!("an approver approves it {ms} ms after submission"),
                    None => "approve it with POST /__sim/approve {\"signId\":\"...\"}".to_string(),
                };
                let _ = writeln!(
                    s,
                    "  approval chain enforced: a signing needs a live pre-qualification of its digest (else Failed) \
                     and a live pre-approval for the submitter's address, else it waits up to {} ms; {approver}",
                    a.approval_timeout_ms
                );
            }
            ApprovalMode::Recorded => {
                let _ =
                    writeln!(s, "  approval chain recorded only: signing needs no pre-qualification or pre-approval");
            }
        }
        if a.visibility_delay_ms > 0 {
            let _ = writeln!(
                s,
                "  a sign request is visible to status calls {} ms after it was submitted",
                a.visibility_delay_ms
            );
        }
        for u in &a.users {
            let _ = writeln!(
                s,
                "  user {:?} password {:?}, {} login attempts{}",
                u.username,
                u.password,
                u.login_attempts,
                if u.can_sign { "" } else { ", NOT allowed to sign" }
            );
        }
        for p in &a.policies {
            let _ = writeln!(
                s,
                "  policy {:?}: keys {}, signed types {}, IP allow-list {}, outcome {}{}",
                p.name,
                join_or_none(&p.keys),
                join_or_none(&p.signed_types),
                join_or_none(&p.allowed_ips),
                outcome_name(p.outcome),
                p.sign_delay_ms.map(|ms| format!(" after {ms} ms")).unwrap_or_default()
            );
            if self.approval == ApprovalMode::Enforced {
                let governing = self.governing_environment(p).map_or("(none)", |e| e.dn.as_str());
                let _ = writeln!(s, "    approvals from TPP environment {governing}");
            }
            if let Some(script) = &p.signed_script {
                let _ = writeln!(s, "    encodedHashData: the signed script {script:?} with a signature block");
            }
        }
    }

    /// The variants mode, the armed faults and TLS.
    fn describe_rest(&self, s: &mut String) {
        if let Some(seed) = self.variants {
            let _ = writeln!(s, "Answers vary (seed {seed}): key order, optional fields absent or null, extra fields");
        }
        if !self.faults.is_empty() {
            let _ = writeln!(s, "Faults armed:");
            for f in &self.faults {
                let _ = writeln!(s, "  {}", f.describe());
            }
        }
        match &self.tls {
            None => {
                let _ = writeln!(s, "TLS: off (plain http)");
            }
            Some(TlsConfig::Files { cert_pem_path, .. }) => {
                let _ = writeln!(s, "TLS: certificate {}", cert_pem_path.display());
            }
            Some(TlsConfig::Generate { ca_out_path }) => {
                let _ = writeln!(s, "TLS: generated; trust the CA written to {}", ca_out_path.display());
            }
        }
    }
}

impl TppConfig {
    /// `validate`'s checks of the TPP lifetimes, the integrations' scopes and the JWT mappings.
    fn check(&self, problems: &mut Vec<String>) {
        if self.token_lifetime_secs <= 0 {
            problems.push("tpp.token_lifetime_secs must be positive".to_string());
        }
        if self.refresh_lifetime_secs <= 0 {
            problems.push("tpp.refresh_lifetime_secs must be positive".to_string());
        }
        if self.max_hours <= 0 {
            problems.push("tpp.max_hours must be positive".to_string());
        }
        for c in &self.clients {
            if let Err(e) = Scope::parse(&c.scope) {
                problems.push(format!("tpp client {:?}: scope: {e}", c.client_id));
            }
        }
        for (i, m) in self.jwt_mappings.iter().enumerate() {
            for (field, value) in
                [("issuer", &m.issuer), ("audience", &m.audience), ("subject", &m.subject), ("username", &m.username)]
            {
                if value.trim().is_empty() {
                    problems.push(format!("tpp.jwt_mappings[{i}].{field} must not be empty"));
                }
            }
        }
    }
}

impl OidcConfig {
    /// `validate`'s check that the stand-in has a request token, a subject and an issuer.
    fn check(&self, problems: &mut Vec<String>) {
        for (field, value) in
            [("request_token", &self.request_token), ("subject", &self.subject), ("issuer", &self.issuer)]
        {
            if value.trim().is_empty() {
                problems.push(format!("oidc.{field} must not be empty"));
            }
        }
    }
}

impl AvxConfig {
    /// `validate`'s checks of the session lifetime, duplicates, allow-lists and the tenant key.
    fn check(&self, problems: &mut Vec<String>) {
        if self.session_lifetime_secs <= 0 {
            problems.push("appviewx.session_lifetime_secs must be positive".to_string());
        }
        dupes("appviewx user", self.users.iter().map(|u| u.username.clone()), problems);
        dupes("appviewx policy", self.policies.iter().map(|p| p.name.clone()), problems);
        for p in &self.policies {
            for ip in &p.allowed_ips {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    problems
                        .push(format!("appviewx policy {:?}: allowed_ips entry {ip:?} is not an IP address", p.name));
                }
            }
        }
        if self.approval_timeout_ms == 0 {
            problems.push("appviewx.approval_timeout_ms must be positive".to_string());
        }
        if self.gwkey.as_deref().is_some_and(|k| k.trim().is_empty()) {
            problems
                .push("appviewx.gwkey must not be empty when set (leave it out for a single-tenant install)".into());
        }
    }
}

fn outcome_name(o: SignOutcome) -> &'static str {
    match o {
        SignOutcome::Signed => "signed",
        SignOutcome::TimeoutError => "timeout-error",
        SignOutcome::FetchError => "fetch-error",
        SignOutcome::Never => "never",
    }
}

fn join_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

fn dupes(what: &str, items: impl Iterator<Item = String>, problems: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for item in items {
        if !seen.insert(item.clone()) {
            problems.push(format!("{what} {item:?} is listed twice"));
        }
    }
}
