//! Venafi TPP: where it is, how the gate authenticates, and what the pre-qualifications and the
//! pre-approval allow.

use reqwest::Url;

use super::fork::Withheld;
use super::github::GithubContext;
use super::inputs::{bad, env_var, none_without, truncate, InputError, Inputs};
use super::values::{self, https_or_loopback, parse_bool, service_url, RunnerIp};
pub use crate::oidc::OidcAuth;
use crate::secret::Secret;

/// How the gate authenticates to TPP, which also decides whose the token is to revoke.
#[derive(Debug, Clone)]
pub enum TppAuth {
    /// A token the caller owns: used as is and never revoked by the gate.
    Token(Secret),
    /// The OAuth password grant; the token it yields is the gate's to revoke.
    Password {
        /// A Key Use Approver: only an approver may pre-approve.
        username: String,
        /// Kept as a secret so the log masks it.
        password: Secret,
        /// The TPP API Integration the grant is made for.
        client_id: String,
        /// The narrowest scope that does the job, codesign:approve unless set.
        scope: String,
    },
    /// The job's OIDC token exchanged at `/vedauth/authorize/jwt`: no stored TPP secret at all.
    Oidc(OidcAuth),
}

/// The TPP inputs, checked; present only when `tpp-url` is set.
#[derive(Debug, Clone)]
pub struct TppConfig {
    /// Scheme, host and port, without a trailing slash or `/vedsdk`.
    pub base_url: Url,
    /// Exactly one way in: the inputs of two ways at once are refused as ambiguous.
    pub auth: TppAuth,
    /// Checked for the mangling YAML causes, which TPP would only report as "object not found".
    pub environment_dn: String,
    /// The key user who will sign, prefixed with its identity provider as TPP names identities.
    pub key_user: String,
    /// Lifetime of the pre-qualifications and the pre-approvals, kept short on purpose.
    pub hours: u32,
    /// Each pre-qualification allows one signing of its digest, so what this run approved cannot
    /// be reused by another.
    pub single_use: bool,
    /// One single-use pre-approval per signing, or one shared by all of them.
    pub pre_approval: PreApprovalMode,
    /// Stored with each record so an administrator can trace it back to the run.
    pub comment: String,
    /// The address the pre-approval is limited to.
    pub runner_ip: RunnerIp,
    /// Already in UTC and without an offset, the form TPP's documentation shows.
    pub not_before: Option<String>,
    /// Passed through as is: TPP ignores the pre-approval when the signing tool's path differs.
    pub signing_executable: Option<String>,
    /// Pre-qualify each digest (PreQualify/Create); at least one of the two stages is on.
    pub pre_qualify: bool,
    /// Request pre-approvals for the runner (Codesign/AddPreApproval).
    pub pre_approve: bool,
}

/// How many pre-approvals a run asks for. TPP's `SingleUse: true` allows exactly one signing, so
/// a run that signs N artifacts under single-use approval needs N of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreApprovalMode {
    /// One `SingleUse: true` pre-approval per artifact to sign: each is used up by its own
    /// signing, so nothing is left open once the run is done.
    PerSigning,
    /// One `SingleUse: false` pre-approval for the whole run: one call, but an approval open to
    /// any signing by the key user from the runner's address until `hours` pass.
    Shared,
}

impl PreApprovalMode {
    /// The input's spelling, for the report.
    pub fn name(self) -> &'static str {
        match self {
            PreApprovalMode::PerSigning => "per-signing",
            PreApprovalMode::Shared => "shared",
        }
    }
}

/// Inputs that mean something only with `tpp-url`.
const TPP_ONLY: &[&str] = &[
    "tpp-access-token",
    "tpp-oidc-audience",
    "tpp-username",
    "tpp-password",
    "tpp-client-id",
    "tpp-scope",
    "environment-dn",
    "key-user",
    "hours",
    "single-use",
    "comment",
    "runner-ip",
    "not-before",
    "signing-executable",
    "pre-qualify",
    "pre-approve",
    "pre-approval",
];

/// None when `tpp-url` is unset; its dependent inputs are then refused rather than ignored.
pub(super) fn tpp_config(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    github: &GithubContext,
    withheld: &Withheld,
) -> Result<Option<TppConfig>, InputError> {
    let Some(url) = inputs.trimmed("tpp-url") else {
        return none_without(inputs, "tpp-url", TPP_ONLY, "the TPP stages").map(|()| None);
    };
    let base_url = service_url("tpp-url", url, &["vedsdk", "vedauth"])?;
    let auth = tpp_auth(inputs, env, withheld)?;
    let (pre_qualify, pre_approve) = stages(inputs)?;
    let environment_dn = environment_dn(inputs)?;
    let key_user = key_user(inputs)?;
    let hours = values::hours(inputs)?;
    let runner_ip = values::runner_ip(inputs)?;
    let not_before = values::not_before(inputs)?;
    let signing_executable = inputs.trimmed("signing-executable").map(str::to_string);
    let comment = comment(inputs, github)?;
    let single_use = parse_bool(inputs, "single-use")?;
    let pre_approval = pre_approval(inputs, pre_approve)?;
    Ok(Some(TppConfig {
        base_url,
        auth,
        environment_dn,
        key_user,
        hours,
        single_use,
        pre_approval,
        comment,
        runner_ip,
        not_before,
        signing_executable,
        pre_qualify,
        pre_approve,
    }))
}

/// One way to authenticate and only one, so the gate never guesses which the user meant.
fn tpp_auth(inputs: &Inputs, env: &dyn Fn(&str) -> Option<String>, withheld: &Withheld) -> Result<TppAuth, InputError> {
    let token = inputs.get("tpp-access-token");
    let username = inputs.trimmed("tpp-username");
    let mut password = inputs.get("tpp-password").map(Secret::new);
    let client_id = inputs.trimmed("tpp-client-id");
    let scope = inputs.value("tpp-scope").to_string();
    if inputs.get("tpp-oidc-audience").is_some() {
        if token.is_some() || username.is_some() || password.is_some() {
            return Err(bad(
                "tpp-oidc-audience",
                "conflicts with tpp-access-token/tpp-username/tpp-password: give one way to authenticate",
            ));
        }
        return oidc_auth(inputs, env, client_id, &scope, withheld);
    }
    // A pull request from a fork gets no secret: the one its inputs point at is stood in for.
    if withheld.fork() && token.is_none() && password.is_none() {
        match username {
            Some(_) => password = Some(withheld.placeholder("tpp-password")),
            None => return Ok(TppAuth::Token(withheld.placeholder("tpp-access-token"))),
        }
    }
    match (token, username, password, client_id) {
        (Some(_), Some(_), _, _) | (Some(_), _, Some(_), _) => {
            Err(bad("tpp-access-token", "conflicts with tpp-username/tpp-password: give one way to authenticate"))
        }
        (Some(t), None, None, _) => Ok(TppAuth::Token(Secret::new(t.trim()))),
        (None, Some(u), Some(p), Some(c)) => {
            Ok(TppAuth::Password { username: u.to_string(), password: p, client_id: c.to_string(), scope })
        }
        (None, None, None, _) => {
            Err(bad("tpp-access-token", "is required with tpp-url (or tpp-username, tpp-password and tpp-client-id)"))
        }
        (None, None, Some(_), _) => Err(bad("tpp-username", "is required with tpp-password")),
        (None, Some(_), None, _) => Err(bad("tpp-password", "is required with tpp-username")),
        (None, Some(_), Some(_), None) => {
            Err(bad("tpp-client-id", "is required for the password grant: the client id of the TPP API Integration"))
        }
    }
}

/// GitHub sets the two variables only for jobs granted `id-token: write`.
fn oidc_auth(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    client_id: Option<&str>,
    scope: &str,
    withheld: &Withheld,
) -> Result<TppAuth, InputError> {
    let audience = inputs.trimmed("tpp-oidc-audience").unwrap_or_default();
    if audience.chars().count() > 200 || audience.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "tpp-oidc-audience",
            "must be one word such as `codesign-gate` (the audience the TPP JWT mapping expects)",
        ));
    }
    let client_id = client_id.ok_or_else(|| {
        bad("tpp-client-id", "is required with tpp-oidc-audience: the client id of the TPP API Integration")
    })?;
    let needs = "needs `permissions: id-token: write` in the workflow job";
    let (raw, request_token) =
        match (env_var(env, "ACTIONS_ID_TOKEN_REQUEST_URL"), env_var(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")) {
            (Some(url), Some(token)) => (url, Secret::new(token)),
            // A pull request from a fork never gets an OIDC token: a reserved name stands in.
            (url, _) if withheld.fork() => (
                url.unwrap_or_else(|| "https://actions-id-token-request.invalid/".into()),
                withheld.placeholder("the job's OIDC token (id-token: write)"),
            ),
            (None, _) => {
                return Err(bad("tpp-oidc-audience", format!("{needs} (ACTIONS_ID_TOKEN_REQUEST_URL is not set)")))
            }
            (_, None) => {
                return Err(bad("tpp-oidc-audience", format!("{needs} (ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set)")))
            }
        };
    let request_url = Url::parse(&raw)
        .map_err(|e| bad("tpp-oidc-audience", format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL ({e})")))?;
    if !https_or_loopback(&request_url) {
        return Err(bad("tpp-oidc-audience", "ACTIONS_ID_TOKEN_REQUEST_URL must use https"));
    }
    Ok(TppAuth::Oidc(OidcAuth {
        request_url,
        request_token,
        audience: audience.to_string(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
    }))
}

/// `pre-qualify` and `pre-approve`: with both off, tpp-url would do nothing.
fn stages(inputs: &Inputs) -> Result<(bool, bool), InputError> {
    let pre_qualify = parse_bool(inputs, "pre-qualify")?;
    let pre_approve = parse_bool(inputs, "pre-approve")?;
    if !pre_qualify && !pre_approve {
        return Err(bad(
            "pre-approve",
            "and pre-qualify are both false, so tpp-url has nothing to do: enable one or remove tpp-url",
        ));
    }
    Ok((pre_qualify, pre_approve))
}

/// `per-signing` or `shared`; meaningless, so refused, when no pre-approval is asked for.
fn pre_approval(inputs: &Inputs, pre_approve: bool) -> Result<PreApprovalMode, InputError> {
    let value = inputs.value("pre-approval");
    let mode = match value.to_ascii_lowercase().as_str() {
        "per-signing" => PreApprovalMode::PerSigning,
        "shared" => PreApprovalMode::Shared,
        _ => return Err(bad("pre-approval", format!("must be per-signing or shared, not `{}`", truncate(value, 40)))),
    };
    if !pre_approve && inputs.trimmed("pre-approval").is_some() {
        return Err(bad("pre-approval", "has no effect with pre-approve: false: remove one of the two"));
    }
    Ok(mode)
}

/// A DN as TPP prints it. YAML's double-quoted strings need `\\`; a DN that still contains
/// doubled backslashes or forward slashes was mangled on the way and would only yield
/// "object not found" from the server.
fn environment_dn(inputs: &Inputs) -> Result<String, InputError> {
    let Some(dn) = inputs.trimmed("environment-dn") else {
        return Err(bad(
            "environment-dn",
            "is required with tpp-url, e.g. \\VED\\Code Signing\\Projects\\App\\Production",
        ));
    };
    if dn.contains("\\\\") {
        return Err(bad(
            "environment-dn",
            "contains `\\\\`: write single backslashes (in YAML use a plain or single-quoted string)",
        ));
    }
    if !dn.starts_with("\\VED\\") || dn.ends_with('\\') || dn.chars().any(char::is_control) {
        return Err(bad(
            "environment-dn",
            format!("`{}` is not a TPP DN such as \\VED\\Code Signing\\Projects\\App\\Production", truncate(dn, 80)),
        ));
    }
    Ok(dn.to_string())
}

/// TPP names identities with their provider's prefix (`local:`, `AD+corp:`), so a bare name is a mistake.
fn key_user(inputs: &Inputs) -> Result<String, InputError> {
    match inputs.trimmed("key-user") {
        None => Err(bad("key-user", "is required with tpp-url, e.g. local:build-agent")),
        Some(u) if !u.contains(':') || u.starts_with(':') || u.ends_with(':') || u.chars().any(char::is_control) => {
            Err(bad(
                "key-user",
                format!("`{}` is not a prefixed name such as local:build-agent or AD+corp:svc-build", truncate(u, 60)),
            ))
        }
        Some(u) => Ok(u.to_string()),
    }
}

/// What a TPP administrator reading the record later needs to trace it back, 1000 characters at most.
fn comment(inputs: &Inputs, github: &GithubContext) -> Result<String, InputError> {
    let comment = inputs.trimmed("comment").map_or_else(|| github.default_comment(), str::to_string);
    if comment.chars().count() > 1000 {
        return Err(bad("comment", "is longer than 1000 characters"));
    }
    Ok(comment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{base, with};
    use crate::config::{env_name, Config};

    #[test]
    fn oidc_needs_the_runner_variables_and_a_client_id() {
        let mut pairs = base();
        pairs.retain(|(k, _)| !matches!(*k, "tpp-username" | "tpp-password"));
        pairs.push(("tpp-oidc-audience", "codesign-gate".into()));
        let inputs = {
            let env: Vec<(String, String)> = pairs.iter().map(|(k, v)| (env_name(k), v.clone())).collect();
            Inputs::gather(|_| None, |var| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()))
        };
        let dir = std::env::temp_dir();
        let e = Config::from_inputs(&inputs, &|_| None, &dir).unwrap_err();
        assert_eq!(e.input, "tpp-oidc-audience");
        assert!(e.message.contains("id-token: write"), "{e}");
        let runner = |k: &str| match k {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => {
                Some("https://pipelines.actions.githubusercontent.com/x?api-version=2.0".to_string())
            }
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("request-token".to_string()),
            _ => None,
        };
        let c = Config::from_inputs(&inputs, &runner, &dir).unwrap();
        let Some(TppConfig { auth: TppAuth::Oidc(oidc), .. }) = c.tpp else { panic!("expected OIDC auth") };
        assert_eq!(
            (oidc.audience.as_str(), oidc.client_id.as_str(), oidc.scope.as_str()),
            ("codesign-gate", "codesign-gate", "codesign:approve")
        );
        assert_eq!(
            with(&[("tpp-oidc-audience", "codesign-gate")]).unwrap_err().input,
            "tpp-oidc-audience",
            "conflicts with a password"
        );
    }
}
