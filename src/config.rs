//! Inputs → a validated, typed [`Config`].
//!
//! Every input is checked here, before the first network call, so a typo never leaves a
//! half-done pre-approval behind on the server. Each problem is one line that names the input
//! and says how to fix it; the binary maps it to exit code 2.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::digest::HashAlgorithm;
use crate::secret::Secret;

/// One public input: its name is the action input, the `--flag` and (upper-cased, prefixed with
/// `INPUT_`) the environment variable GitHub sets.
pub struct InputSpec {
    pub name: &'static str,
    pub help: &'static str,
}

/// The public interface, in the order `--help` shows it. action.yml declares the same names.
pub const INPUTS: &[InputSpec] = &[
    InputSpec { name: "artifacts", help: "Newline-separated glob patterns of the files to sign, relative to working-directory; `**` recurses, a line starting with `!` excludes. Required unless sign-ids is set." },
    InputSpec { name: "working-directory", help: "Directory the patterns are relative to [default: $GITHUB_WORKSPACE, else the current directory]" },
    InputSpec { name: "if-no-files-found", help: "What to do when no file matches: error | warn | ignore [default: error]" },
    InputSpec { name: "hash-algorithm", help: "Digest to pre-qualify and sign: sha256 | sha384 | sha512 [default: sha256]" },
    InputSpec { name: "digest-files", help: "true: each matched file holds a precomputed digest (Base64 or hex, e.g. the .dig files of `signtool sign /dg`) instead of being hashed [default: false]" },
    InputSpec { name: "tpp-url", help: "Venafi TPP base URL, e.g. https://tpp.example.com (a trailing /vedsdk is accepted). Enables the TPP stages." },
    InputSpec { name: "tpp-access-token", help: "A TPP bearer token with the codesign:approve scope (instead of username/password)" },
    InputSpec { name: "tpp-username", help: "TPP user (a Key Use Approver) for the OAuth password grant" },
    InputSpec { name: "tpp-password", help: "Password of tpp-username" },
    InputSpec { name: "tpp-client-id", help: "Client id of the TPP API Integration" },
    InputSpec { name: "tpp-oidc-audience", help: "Keyless: exchange the job's GitHub OIDC token (audience as given) for a TPP token through a JWT mapping (TPP 22.4+; needs `permissions: id-token: write` and tpp-client-id)" },
    InputSpec { name: "tpp-scope", help: "OAuth scope to request [default: codesign:approve]" },
    InputSpec { name: "environment-dn", help: "CodeSign Protect environment DN, e.g. \\VED\\Code Signing\\Projects\\App\\Production" },
    InputSpec { name: "key-user", help: "The key user who will sign, e.g. local:build-agent" },
    InputSpec { name: "hours", help: "Lifetime of the pre-qualifications and the pre-approval, 1-720 [default: 1]" },
    InputSpec { name: "single-use", help: "Each pre-qualification/pre-approval allows one signing [default: true]" },
    InputSpec { name: "comment", help: "Comment stored with each TPP record [default: repository, commit, run URL and attempt]" },
    InputSpec { name: "runner-ip", help: "IPAddress of the pre-approval: auto (local source address of the route to TPP) | an IP literal | none [default: auto]" },
    InputSpec { name: "not-before", help: "Pre-approval start, ISO 8601 with Z or an offset (2026-01-31T12:00:00Z); sent to TPP in UTC" },
    InputSpec { name: "signing-executable", help: "Full path of the signing tool as TPP will see it (the pre-approval is ignored by TPP when it differs)" },
    InputSpec { name: "pre-qualify", help: "Pre-qualify each digest (PreQualify/Create) [default: true]" },
    InputSpec { name: "pre-approve", help: "Request a pre-approval for the runner (Codesign/AddPreApproval) [default: true]" },
    InputSpec { name: "appviewx-url", help: "AppViewX gateway URL, e.g. https://avx.example.com:31443. Enables the signing stages." },
    InputSpec { name: "appviewx-username", help: "AppViewX user" },
    InputSpec { name: "appviewx-password", help: "Password of appviewx-username" },
    InputSpec { name: "appviewx-gwkey", help: "Tenant key of a multi-tenant AppViewX, sent as gwkey on every AppViewX call" },
    InputSpec { name: "appviewx-signing-policy", help: "AppViewX signing policy" },
    InputSpec { name: "appviewx-signing-key", help: "Signing key mapped to the policy" },
    InputSpec { name: "sign-ids", help: "Newline-separated ids of existing AppViewX sign requests to wait for, instead of submitting new ones" },
    InputSpec { name: "timeout", help: "Longest wait for the signing requests: 90, 90s, 15m, 1h [default: 30m]" },
    InputSpec { name: "poll-interval", help: "Time between status polls [default: 5s]" },
    InputSpec { name: "request-timeout", help: "Limit for one HTTP request [default: 30s]" },
    InputSpec { name: "max-concurrency", help: "Parallel requests per stage, 1-64 [default: 16]" },
    InputSpec { name: "ca-certificates", help: "PEM file of CA certificates to trust besides the system roots" },
    InputSpec { name: "check-run", help: "Also publish the result as a check run of this name on the commit (needs github-token with checks: write)" },
    InputSpec { name: "github-token", help: "Token for the GitHub API, used only for check-run (e.g. secrets.GITHUB_TOKEN)" },
    InputSpec { name: "report-path", help: "Where to write the JSON audit report [default: $RUNNER_TEMP/codesign-gate-report.json]" },
];

/// The raw input values, after the flag-over-env merge; an empty value means unset.
#[derive(Debug, Clone, Default)]
pub struct Inputs(BTreeMap<&'static str, String>);

impl Inputs {
    /// Merges CLI flags over `INPUT_*` environment variables. GitHub sets every declared input,
    /// unset ones as empty strings, so empty and whitespace-only values count as unset.
    pub fn gather(flag: impl Fn(&str) -> Option<String>, env: impl Fn(&str) -> Option<String>) -> Self {
        let mut values = BTreeMap::new();
        for spec in INPUTS {
            let value = flag(spec.name).or_else(|| env(&env_name(spec.name)));
            if let Some(v) = value {
                if !v.trim().is_empty() {
                    values.insert(spec.name, v);
                }
            }
        }
        Inputs(values)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.as_str())
    }

    /// Sets a value, as the `demo` command does to point the gate at its simulator.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.insert(name, value.into());
    }

    fn trimmed(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim)
    }
}

/// `tpp-url` → `INPUT_TPP-URL`: GitHub upper-cases the name, turns spaces into `_` and keeps hyphens.
pub fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.to_uppercase().replace(' ', "_"))
}

/// A bad input: which one, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}`: {message}")]
pub struct InputError {
    pub input: &'static str,
    pub message: String,
}

fn bad(input: &'static str, message: impl Into<String>) -> InputError {
    InputError { input, message: message.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IfNoFilesFound {
    Error,
    Warn,
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Include(String),
    Exclude(String),
}

#[derive(Debug, Clone)]
pub struct ArtifactsConfig {
    pub patterns: Vec<Pattern>,
    pub working_directory: PathBuf,
    pub if_no_files_found: IfNoFilesFound,
    pub hash_algorithm: HashAlgorithm,
    pub digest_files: bool,
}

#[derive(Debug, Clone)]
pub enum TppAuth {
    /// A token the caller owns: used as is and never revoked by the gate.
    Token(Secret),
    /// The OAuth password grant; the token it yields is the gate's to revoke.
    Password { username: String, password: Secret, client_id: String, scope: String },
    /// The job's OIDC token exchanged at `/vedauth/authorize/jwt`: no stored TPP secret at all.
    Oidc(OidcAuth),
}

/// Where the runner hands out the job's OIDC token, and what to ask TPP for with it.
#[derive(Debug, Clone)]
pub struct OidcAuth {
    pub request_url: Url,
    pub request_token: Secret,
    pub audience: String,
    pub client_id: String,
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerIp {
    Auto,
    Fixed(IpAddr),
    Omit,
}

#[derive(Debug, Clone)]
pub struct TppConfig {
    /// Scheme, host and port, without a trailing slash or `/vedsdk`.
    pub base_url: Url,
    pub auth: TppAuth,
    pub environment_dn: String,
    pub key_user: String,
    pub hours: u32,
    pub single_use: bool,
    pub comment: String,
    pub runner_ip: RunnerIp,
    pub not_before: Option<String>,
    pub signing_executable: Option<String>,
    pub pre_qualify: bool,
    pub pre_approve: bool,
}

#[derive(Debug, Clone)]
pub enum AvxWork {
    Submit { signing_policy: String, signing_key: String },
    Await { sign_ids: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct AppViewXConfig {
    pub base_url: Url,
    pub username: String,
    pub password: Secret,
    /// The tenant key (`gwkey`) of a multi-tenant install; masked like a password.
    pub gwkey: Option<Secret>,
    pub work: AvxWork,
}

/// Facts about the workflow run, for the default comment and the audit record.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GithubContext {
    pub actions: bool,
    pub repository: Option<String>,
    pub sha: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub server_url: Option<String>,
    pub workflow: Option<String>,
    pub job: Option<String>,
    #[serde(skip)]
    pub output_file: Option<PathBuf>,
    #[serde(skip)]
    pub summary_file: Option<PathBuf>,
}

impl GithubContext {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        GithubContext {
            actions: get("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            repository: get("GITHUB_REPOSITORY"),
            sha: get("GITHUB_SHA"),
            run_id: get("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT"),
            server_url: get("GITHUB_SERVER_URL"),
            workflow: get("GITHUB_WORKFLOW"),
            job: get("GITHUB_JOB"),
            output_file: get("GITHUB_OUTPUT").map(PathBuf::from),
            summary_file: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        }
    }

    pub fn run_url(&self) -> Option<String> {
        let server = self.server_url.as_deref().unwrap_or("https://github.com");
        Some(format!(
            "{}/{}/actions/runs/{}",
            server.trim_end_matches('/'),
            self.repository.as_ref()?,
            self.run_id.as_ref()?
        ))
    }

    /// What a TPP administrator reading the pre-approval later needs to trace it back.
    fn default_comment(&self) -> String {
        let mut parts = vec!["codesign-gate".to_string()];
        if let Some(repo) = &self.repository {
            match &self.sha {
                Some(sha) => parts.push(format!("{repo}@{}", sha.chars().take(12).collect::<String>())),
                None => parts.push(repo.clone()),
            }
        }
        if let Some(url) = self.run_url() {
            parts.push(url);
        }
        if let Some(attempt) = &self.run_attempt {
            parts.push(format!("attempt {attempt}"));
        }
        parts.join(" ")
    }
}

/// Where and as what to publish a check run.
#[derive(Debug, Clone)]
pub struct CheckRunConfig {
    pub name: String,
    pub token: Secret,
    pub api_url: Url,
    pub owner: String,
    pub repo: String,
    pub head_sha: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub artifacts: ArtifactsConfig,
    pub tpp: Option<TppConfig>,
    pub appviewx: Option<AppViewXConfig>,
    pub timeout: Duration,
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    pub max_concurrency: usize,
    /// The PEM bytes of `ca-certificates`, read and checked here so a bad path is an input error.
    pub ca_certificates: Option<Vec<u8>>,
    pub report_path: PathBuf,
    pub check_run: Option<CheckRunConfig>,
    pub github: GithubContext,
}

impl Config {
    /// Validates every input. `env` reads the process environment (the GitHub context);
    /// `cwd` is the directory relative paths start from.
    pub fn from_inputs(
        inputs: &Inputs,
        env: &dyn Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> Result<Config, InputError> {
        let github = GithubContext::from_env(env);
        let working_directory = working_directory(inputs, env, cwd)?;
        let sign_ids = inputs.get("sign-ids").map(parse_sign_ids).transpose()?;
        let patterns = match inputs.get("artifacts") {
            Some(text) => parse_patterns(text, &working_directory)?,
            None if sign_ids.is_some() => Vec::new(),
            None => {
                return Err(bad("artifacts", "is required: give newline-separated glob patterns such as `dist/*.exe`"))
            }
        };
        let artifacts = ArtifactsConfig {
            patterns,
            working_directory,
            if_no_files_found: match inputs.trimmed("if-no-files-found").map(str::to_ascii_lowercase).as_deref() {
                None | Some("error") => IfNoFilesFound::Error,
                Some("warn") | Some("warning") => IfNoFilesFound::Warn,
                Some("ignore") => IfNoFilesFound::Ignore,
                Some(other) => {
                    return Err(bad("if-no-files-found", format!("must be error, warn or ignore, not `{other}`")))
                }
            },
            hash_algorithm: match inputs.trimmed("hash-algorithm") {
                None => HashAlgorithm::Sha256,
                Some(v) => HashAlgorithm::parse(v)
                    .ok_or_else(|| bad("hash-algorithm", format!("must be sha256, sha384 or sha512, not `{v}`")))?,
            },
            digest_files: parse_bool(inputs, "digest-files", false)?,
        };

        let tpp = tpp_config(inputs, env, &github)?;
        let appviewx = appviewx_config(inputs, sign_ids)?;

        let timeout = duration_input(inputs, "timeout", Duration::from_secs(30 * 60))?;
        let poll_interval = duration_input(inputs, "poll-interval", Duration::from_secs(5))?;
        let request_timeout = duration_input(inputs, "request-timeout", Duration::from_secs(30))?;
        if timeout > Duration::from_secs(72 * 3600) {
            return Err(bad("timeout", "must be at most 72h (GitHub cancels jobs long before that)"));
        }
        if poll_interval < Duration::from_millis(100) || poll_interval > Duration::from_secs(600) {
            return Err(bad("poll-interval", "must be between 100ms and 10m"));
        }
        if request_timeout < Duration::from_millis(100) || request_timeout > Duration::from_secs(600) {
            return Err(bad("request-timeout", "must be between 100ms and 10m"));
        }
        let max_concurrency = match inputs.trimmed("max-concurrency") {
            None => 16,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => return Err(bad("max-concurrency", format!("must be a whole number from 1 to 64, not `{v}`"))),
            },
        };
        let ca_certificates = match inputs.trimmed("ca-certificates") {
            None => None,
            Some(p) => Some(read_pem(&cwd.join(p))?),
        };
        let report_path = match inputs.trimmed("report-path") {
            Some(p) => cwd.join(p),
            None => env("RUNNER_TEMP")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir)
                .join("codesign-gate-report.json"),
        };
        if report_path.is_dir() {
            return Err(bad(
                "report-path",
                format!("`{}` is a directory: give a file name such as report.json", report_path.display()),
            ));
        }
        let check_run = check_run_config(inputs, env, &github)?;
        Ok(Config {
            check_run,
            artifacts,
            tpp,
            appviewx,
            timeout,
            poll_interval,
            request_timeout,
            max_concurrency,
            ca_certificates,
            report_path,
            github,
        })
    }
}

fn working_directory(inputs: &Inputs, env: &dyn Fn(&str) -> Option<String>, cwd: &Path) -> Result<PathBuf, InputError> {
    let dir = match inputs.trimmed("working-directory") {
        Some(d) => cwd.join(d),
        None => {
            env("GITHUB_WORKSPACE").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| cwd.to_path_buf())
        }
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(bad("working-directory", format!("`{}` is not a directory", dir.display()))),
        Err(e) => Err(bad("working-directory", format!("`{}` cannot be read ({e})", dir.display()))),
    }
}

/// Patterns are kept inside the working directory: a `..` that climbs out of it would sign
/// whatever happens to lie beside the checkout.
fn parse_patterns(text: &str, working_directory: &Path) -> Result<Vec<Pattern>, InputError> {
    let mut patterns = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (exclude, pat) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if pat.is_empty() {
            return Err(bad("artifacts", "a `!` line needs a pattern after it, e.g. `!**/*.pdb`"));
        }
        if let Err(e) = glob::Pattern::new(pat) {
            return Err(bad("artifacts", format!("`{pat}` is not a valid glob pattern: {}", e.msg)));
        }
        let path = Path::new(pat);
        let relative = match path.strip_prefix(working_directory) {
            Ok(rest) => rest,
            Err(_) if path.is_absolute() => {
                return Err(bad(
                    "artifacts",
                    format!(
                        "`{pat}` is outside working-directory `{}`: use a path relative to it",
                        working_directory.display()
                    ),
                ));
            }
            Err(_) => path,
        };
        let mut depth: i32 = 0;
        for c in relative.components() {
            match c {
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                _ => {}
            }
            if depth < 0 {
                return Err(bad(
                    "artifacts",
                    format!("`{pat}` climbs out of working-directory with `..`: set working-directory instead"),
                ));
            }
        }
        // Windows users write `dist\*.exe`; elsewhere a backslash escapes a glob character.
        let text = match cfg!(windows) {
            true => relative.to_string_lossy().replace('\\', "/"),
            false => relative.to_string_lossy().into_owned(),
        };
        patterns.push(if exclude { Pattern::Exclude(text) } else { Pattern::Include(text) });
    }
    if !patterns.iter().any(|p| matches!(p, Pattern::Include(_))) {
        return Err(bad(
            "artifacts",
            "has no pattern to include (only empty or `!` lines): add one such as `dist/**/*.exe`",
        ));
    }
    Ok(patterns)
}

fn check_run_config(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    github: &GithubContext,
) -> Result<Option<CheckRunConfig>, InputError> {
    let Some(name) = inputs.trimmed("check-run") else {
        return Ok(None);
    };
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(bad("check-run", "must be a short name such as `codesign-gate`"));
    }
    let token = inputs.get("github-token").map(|t| Secret::new(t.trim())).ok_or_else(|| {
        bad("github-token", "is required with check-run: pass `${{ secrets.GITHUB_TOKEN }}` and grant `checks: write`")
    })?;
    let (owner, repo) = github
        .repository
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| bad("check-run", "needs GITHUB_REPOSITORY (owner/repo): it runs only inside a workflow"))?;
    let head_sha =
        github.sha.clone().ok_or_else(|| bad("check-run", "needs GITHUB_SHA: it runs only inside a workflow"))?;
    let raw = env("GITHUB_API_URL").filter(|v| !v.is_empty()).unwrap_or_else(|| "https://api.github.com".into());
    let api_url =
        Url::parse(&raw).map_err(|e| bad("check-run", format!("GITHUB_API_URL `{raw}` is not a URL ({e})")))?;
    if api_url.scheme() != "https" && !(api_url.scheme() == "http" && is_loopback(&api_url)) {
        return Err(bad("check-run", "GITHUB_API_URL must use https"));
    }
    Ok(Some(CheckRunConfig {
        name: name.to_string(),
        token,
        api_url,
        owner: owner.into(),
        repo: repo.into(),
        head_sha,
    }))
}

fn parse_sign_ids(text: &str) -> Result<Vec<String>, InputError> {
    let mut ids: Vec<String> = Vec::new();
    for id in text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()) {
        if id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad(
                "sign-ids",
                format!(
                    "`{}` is not a sign id (expected letters and digits such as 65c47fa41112f940dab1cb12)",
                    truncate(id, 40)
                ),
            ));
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(bad("sign-ids", "is set but lists no id"));
    }
    Ok(ids)
}

fn tpp_config(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    github: &GithubContext,
) -> Result<Option<TppConfig>, InputError> {
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
    ];
    let Some(url) = inputs.trimmed("tpp-url") else {
        if let Some(name) = TPP_ONLY.iter().find(|n| inputs.get(n).is_some()) {
            return Err(bad(
                "tpp-url",
                format!("is not set, but `{name}` is: set tpp-url to enable the TPP stages, or remove `{name}`"),
            ));
        }
        return Ok(None);
    };
    let base_url = service_url("tpp-url", url, &["vedsdk", "vedauth"])?;
    let token = inputs.get("tpp-access-token");
    let username = inputs.trimmed("tpp-username");
    let password = inputs.get("tpp-password");
    let client_id = inputs.trimmed("tpp-client-id");
    let scope = inputs.trimmed("tpp-scope").unwrap_or("codesign:approve").to_string();
    if inputs.get("tpp-oidc-audience").is_some() && (token.is_some() || username.is_some() || password.is_some()) {
        return Err(bad(
            "tpp-oidc-audience",
            "conflicts with tpp-access-token/tpp-username/tpp-password: give one way to authenticate",
        ));
    }
    let auth = match (token, username, password, client_id) {
        _ if inputs.get("tpp-oidc-audience").is_some() => oidc_auth(inputs, env, client_id, &scope)?,
        (Some(_), Some(_), _, _) | (Some(_), _, Some(_), _) => {
            return Err(bad(
                "tpp-access-token",
                "conflicts with tpp-username/tpp-password: give one way to authenticate",
            ));
        }
        (Some(t), None, None, _) => TppAuth::Token(Secret::new(t.trim())),
        (None, Some(u), Some(p), Some(c)) => TppAuth::Password {
            username: u.to_string(),
            password: Secret::new(p),
            client_id: c.to_string(),
            scope: scope.clone(),
        },
        (None, None, None, _) => {
            return Err(bad(
                "tpp-access-token",
                "is required with tpp-url (or tpp-username, tpp-password and tpp-client-id)",
            ))
        }
        (None, None, Some(_), _) => return Err(bad("tpp-username", "is required with tpp-password")),
        (None, Some(_), None, _) => return Err(bad("tpp-password", "is required with tpp-username")),
        (None, Some(_), Some(_), None) => {
            return Err(bad(
                "tpp-client-id",
                "is required for the password grant: the client id of the TPP API Integration",
            ))
        }
    };
    let pre_qualify = parse_bool(inputs, "pre-qualify", true)?;
    let pre_approve = parse_bool(inputs, "pre-approve", true)?;
    if !pre_qualify && !pre_approve {
        return Err(bad(
            "pre-approve",
            "and pre-qualify are both false, so tpp-url has nothing to do: enable one or remove tpp-url",
        ));
    }
    let environment_dn = match inputs.trimmed("environment-dn") {
        None => {
            return Err(bad(
                "environment-dn",
                "is required with tpp-url, e.g. \\VED\\Code Signing\\Projects\\App\\Production",
            ))
        }
        Some(dn) => check_dn(dn)?,
    };
    let key_user = match inputs.trimmed("key-user") {
        None => return Err(bad("key-user", "is required with tpp-url, e.g. local:build-agent")),
        Some(u) if !u.contains(':') || u.starts_with(':') || u.ends_with(':') || u.chars().any(char::is_control) => {
            return Err(bad(
                "key-user",
                format!("`{}` is not a prefixed name such as local:build-agent or AD+corp:svc-build", truncate(u, 60)),
            ));
        }
        Some(u) => u.to_string(),
    };
    let hours = match inputs.trimmed("hours") {
        None => 1,
        Some(v) => match v.parse::<i64>() {
            Ok(h) if (1..=720).contains(&h) => h as u32,
            Ok(_) => return Err(bad("hours", format!("must be from 1 to 720, not {v}: keep pre-approvals short"))),
            Err(_) => return Err(bad("hours", format!("must be a whole number of hours, not `{}`", truncate(v, 40)))),
        },
    };
    let runner_ip = match inputs.trimmed("runner-ip").map(str::to_ascii_lowercase).as_deref() {
        None | Some("auto") => RunnerIp::Auto,
        Some("none") => RunnerIp::Omit,
        Some(v) => match v.parse::<IpAddr>() {
            Ok(ip) if !ip.is_unspecified() && !ip.is_multicast() => RunnerIp::Fixed(ip),
            _ => {
                return Err(bad("runner-ip", format!("must be auto, none or an IP address, not `{}`", truncate(v, 60))))
            }
        },
    };
    let not_before = match inputs.trimmed("not-before") {
        None => None,
        Some(v) => match normalize_not_before(v) {
            Some(utc) => Some(utc),
            None => {
                return Err(bad(
                    "not-before",
                    format!(
                        "must be a time like 2026-01-31T12:00:00Z or 2026-01-31T14:00:00+02:00, not `{}`",
                        truncate(v, 60)
                    ),
                ))
            }
        },
    };
    let signing_executable = inputs.trimmed("signing-executable").map(str::to_string);
    let comment = inputs.trimmed("comment").map(str::to_string).unwrap_or_else(|| github.default_comment());
    if comment.chars().count() > 1000 {
        return Err(bad("comment", "is longer than 1000 characters"));
    }
    Ok(Some(TppConfig {
        base_url,
        auth,
        environment_dn,
        key_user,
        hours,
        single_use: parse_bool(inputs, "single-use", true)?,
        comment,
        runner_ip,
        not_before,
        signing_executable,
        pre_qualify,
        pre_approve,
    }))
}

/// GitHub sets the two variables only for jobs granted `id-token: write`.
fn oidc_auth(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    client_id: Option<&str>,
    scope: &str,
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
    let raw = env("ACTIONS_ID_TOKEN_REQUEST_URL")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad("tpp-oidc-audience", format!("{needs} (ACTIONS_ID_TOKEN_REQUEST_URL is not set)")))?;
    let request_token = env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad("tpp-oidc-audience", format!("{needs} (ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set)")))?;
    let request_url = Url::parse(&raw)
        .map_err(|e| bad("tpp-oidc-audience", format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL ({e})")))?;
    if request_url.scheme() != "https" && !(request_url.scheme() == "http" && is_loopback(&request_url)) {
        return Err(bad("tpp-oidc-audience", "ACTIONS_ID_TOKEN_REQUEST_URL must use https"));
    }
    Ok(TppAuth::Oidc(OidcAuth {
        request_url,
        request_token: Secret::new(request_token),
        audience: audience.to_string(),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
    }))
}

fn appviewx_config(inputs: &Inputs, sign_ids: Option<Vec<String>>) -> Result<Option<AppViewXConfig>, InputError> {
    const AVX_ONLY: &[&str] = &[
        "appviewx-username",
        "appviewx-password",
        "appviewx-gwkey",
        "appviewx-signing-policy",
        "appviewx-signing-key",
        "sign-ids",
    ];
    let Some(url) = inputs.trimmed("appviewx-url") else {
        if let Some(name) = AVX_ONLY.iter().find(|n| inputs.get(n).is_some()) {
            return Err(bad(
                "appviewx-url",
                format!("is not set, but `{name}` is: set appviewx-url to enable signing, or remove `{name}`"),
            ));
        }
        return Ok(None);
    };
    let base_url = service_url("appviewx-url", url, &["avxapi"])?;
    let username =
        inputs.trimmed("appviewx-username").ok_or_else(|| bad("appviewx-username", "is required with appviewx-url"))?;
    let password =
        inputs.get("appviewx-password").ok_or_else(|| bad("appviewx-password", "is required with appviewx-url"))?;
    // AppViewX takes these as HTTP headers, which carry printable ASCII only.
    for (name, value) in [("appviewx-username", username), ("appviewx-password", password)] {
        if !value.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return Err(bad(
                name,
                "has characters an HTTP header cannot carry (only printable ASCII): AppViewX sends it as a header",
            ));
        }
    }
    let gwkey = match inputs.trimmed("appviewx-gwkey") {
        Some("") | None => None,
        Some(key) if key.chars().all(|c| c.is_ascii_graphic()) => Some(Secret::new(key)),
        Some(_) => {
            return Err(bad(
                "appviewx-gwkey",
                "must be the tenant key as AppViewX shows it: printable ASCII, no spaces",
            ))
        }
    };
    let work = match sign_ids {
        Some(sign_ids) => {
            for name in ["appviewx-signing-policy", "appviewx-signing-key"] {
                if inputs.get(name).is_some() {
                    return Err(bad(
                        "sign-ids",
                        format!("conflicts with `{name}`: either wait for existing sign ids or submit new requests"),
                    ));
                }
            }
            AvxWork::Await { sign_ids }
        }
        None => AvxWork::Submit {
            signing_policy: inputs
                .trimmed("appviewx-signing-policy")
                .ok_or_else(|| bad("appviewx-signing-policy", "is required with appviewx-url (or give sign-ids)"))?
                .to_string(),
            signing_key: inputs
                .trimmed("appviewx-signing-key")
                .ok_or_else(|| bad("appviewx-signing-key", "is required with appviewx-url (or give sign-ids)"))?
                .to_string(),
        },
    };
    Ok(Some(AppViewXConfig { base_url, username: username.to_string(), password: Secret::new(password), gwkey, work }))
}

/// Parses a service URL and reduces it to scheme, host and port. Plain http is refused except
/// for loopback hosts (a local simulator): credentials must not cross a network in clear text.
fn service_url(input: &'static str, raw: &str, api_roots: &[&str]) -> Result<Url, InputError> {
    let mut url = Url::parse(raw).map_err(|e| {
        bad(input, format!("`{}` is not a URL ({e}): give e.g. https://host.example.com", truncate(raw, 80)))
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(bad(input, "must use https (plain http is allowed only for loopback addresses)")),
        other => return Err(bad(input, format!("has scheme `{other}`: use https://"))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad(input, "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(input, "must not carry credentials: use the username/password inputs"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(input, "must not have a query or fragment"));
    }
    let path = url.path().trim_matches('/');
    if !path.is_empty() && !api_roots.iter().any(|r| path.eq_ignore_ascii_case(r)) {
        return Err(bad(input, format!("has an unexpected path `/{path}`: give only the scheme, host and port")));
    }
    url.set_path("");
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A DN as TPP prints it. YAML's double-quoted strings need `\\`; a DN that still contains
/// doubled backslashes or forward slashes was mangled on the way and would only yield
/// "object not found" from the server.
fn check_dn(dn: &str) -> Result<String, InputError> {
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

fn parse_bool(inputs: &Inputs, name: &'static str, default: bool) -> Result<bool, InputError> {
    match inputs.trimmed(name).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(bad(name, format!("must be true or false, not `{}`", truncate(v, 40)))),
    }
}

fn duration_input(inputs: &Inputs, name: &'static str, default: Duration) -> Result<Duration, InputError> {
    match inputs.trimmed(name) {
        None => Ok(default),
        Some(v) => match parse_duration(v) {
            Some(d) if !d.is_zero() => Ok(d),
            _ => Err(bad(name, format!("`{}` is not a duration: use e.g. 90, 90s, 15m, 1h or 1h30m", truncate(v, 40)))),
        },
    }
}

/// `90` (seconds), `500ms`, `90s`, `15m`, `1h`, `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok().filter(|s| *s <= 1_000_000).map(Duration::from_secs);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 7 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return None,
        };
        total += part;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by `Z`, `±HH:MM` or nothing (UTC), as `date -u
/// -Iseconds` and most tools print it. Returns the UTC time in the form TPP's docs show (no
/// offset), or None when it is not a real time.
fn normalize_not_before(v: &str) -> Option<String> {
    let (t, offset_secs) = if let Some(t) = v.strip_suffix('Z') {
        (t, 0)
    } else if v.len() > 19 && matches!(v.as_bytes()[v.len() - 6], b'+' | b'-') && v.as_bytes()[v.len() - 3] == b':' {
        let (t, off) = v.split_at(v.len() - 6);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (h, m): (i64, i64) = (off.get(1..3)?.parse().ok()?, off.get(4..6)?.parse().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        (t, sign * (h * 3600 + m * 60))
    } else {
        (v, 0)
    };
    let (main, frac) = match t.split_once('.') {
        Some((m, f)) if (1..=7).contains(&f.len()) && f.bytes().all(|c| c.is_ascii_digit()) => (m, Some(f)),
        Some(_) => return None,
        None => (t, None),
    };
    let b = main.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        main.get(r).filter(|s| s.bytes().all(|c| c.is_ascii_digit())).and_then(|s| s.parse::<u32>().ok())
    };
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let y = i64::from(y);
    if !(1..=12).contains(&mo) || d == 0 || d > crate::civil::days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let local = crate::civil::days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    let utc = crate::civil::format_utc(local - offset_secs);
    Some(match frac {
        Some(f) => format!("{utc}.{f}"),
        None => utc,
    })
}

fn read_pem(path: &Path) -> Result<Vec<u8>, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad("ca-certificates", format!("`{}` cannot be read ({e})", path.display())))?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Err(bad(
            "ca-certificates",
            format!("`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()),
        ));
    }
    Ok(bytes)
}

/// Keeps echoed user input short enough for a one-line error.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

impl fmt::Display for RunnerIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunnerIp::Auto => f.write_str("auto"),
            RunnerIp::Fixed(ip) => write!(f, "{ip}"),
            RunnerIp::Omit => f.write_str("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DN: &str = "\\VED\\Code Signing\\Projects\\Sample\\Production Environment";

    fn base() -> Vec<(&'static str, String)> {
        vec![
            ("artifacts", "dist/*.exe".into()),
            ("tpp-url", "https://tpp.example.com/vedsdk/".into()),
            ("tpp-username", "approver".into()),
            ("tpp-password", "pw".into()),
            ("tpp-client-id", "codesign-gate".into()),
            ("environment-dn", DN.into()),
            ("key-user", "local:sample-cs-user".into()),
            ("appviewx-url", "https://avx.example.com:31443".into()),
            ("appviewx-username", "u".into()),
            ("appviewx-password", "p".into()),
            ("appviewx-signing-policy", "pol".into()),
            ("appviewx-signing-key", "key".into()),
        ]
    }

    fn parse(pairs: &[(&'static str, String)]) -> Result<Config, InputError> {
        let dir = std::env::temp_dir();
        let env: Vec<(String, String)> = pairs.iter().map(|(k, v)| (env_name(k), v.clone())).collect();
        let inputs = Inputs::gather(|_| None, |var| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()));
        Config::from_inputs(&inputs, &|_| None, &dir)
    }

    fn with(changes: &[(&'static str, &str)]) -> Result<Config, InputError> {
        let mut pairs = base();
        for (k, v) in changes {
            pairs.retain(|(name, _)| name != k);
            if !v.is_empty() {
                pairs.push((k, v.to_string()));
            }
        }
        parse(&pairs)
    }

    #[test]
    fn a_full_configuration_parses_with_defaults() {
        let c = parse(&base()).unwrap();
        let tpp = c.tpp.unwrap();
        assert_eq!(tpp.base_url.as_str(), "https://tpp.example.com/");
        assert_eq!((tpp.hours, tpp.single_use, tpp.pre_qualify, tpp.pre_approve), (1, true, true, true));
        assert_eq!(tpp.runner_ip, RunnerIp::Auto);
        assert!(matches!(tpp.auth, TppAuth::Password { ref scope, .. } if scope == "codesign:approve"));
        assert_eq!(c.timeout, Duration::from_secs(1800));
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert_eq!(c.max_concurrency, 16);
        assert!(matches!(c.appviewx.unwrap().work, AvxWork::Submit { .. }));
    }

    #[test]
    fn an_odd_github_sha_cannot_panic_the_default_comment() {
        let env = |k: &str| match k {
            "GITHUB_REPOSITORY" => Some("acme/rocket".to_string()),
            "GITHUB_SHA" => Some("ééééééééééééé".to_string()),
            _ => None,
        };
        assert!(GithubContext::from_env(&env).default_comment().starts_with("codesign-gate acme/rocket@éééééééééééé"));
    }

    #[test]
    fn env_names_keep_hyphens() {
        assert_eq!(env_name("tpp-url"), "INPUT_TPP-URL");
    }

    #[test]
    fn flags_win_over_env_and_empty_means_unset() {
        let inputs = Inputs::gather(
            |n| (n == "timeout").then(|| "10s".to_string()),
            |v| match v {
                "INPUT_TIMEOUT" => Some("1h".into()),
                "INPUT_HOURS" => Some("  ".into()),
                _ => None,
            },
        );
        assert_eq!(inputs.get("timeout"), Some("10s"));
        assert_eq!(inputs.get("hours"), None);
    }

    /// Each bad input is refused, and the error names the input the user has to fix.
    #[test]
    fn bad_inputs_name_the_input() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("artifacts", "")], "artifacts"),
            (&[("artifacts", "!*.pdb")], "artifacts"),
            (&[("artifacts", "../secrets/*")], "artifacts"),
            (&[("artifacts", "a/../../b")], "artifacts"),
            (&[("artifacts", "/etc/passwd")], "artifacts"),
            (&[("artifacts", "dist/[*.exe")], "artifacts"),
            (&[("tpp-url", "tpp.example.com")], "tpp-url"),
            (&[("tpp-url", "http://tpp.example.com")], "tpp-url"),
            (&[("tpp-url", "ftp://tpp.example.com")], "tpp-url"),
            (&[("tpp-url", "https://user:pw@tpp.example.com")], "tpp-url"),
            (&[("tpp-url", "https://tpp.example.com/other")], "tpp-url"),
            (&[("tpp-url", "")], "tpp-url"),
            (&[("tpp-access-token", "t")], "tpp-access-token"),
            (&[("tpp-username", "")], "tpp-username"),
            (&[("tpp-password", "")], "tpp-password"),
            (&[("tpp-client-id", "")], "tpp-client-id"),
            (&[("environment-dn", "")], "environment-dn"),
            (&[("environment-dn", "\\\\VED\\\\Code Signing\\\\P")], "environment-dn"),
            (&[("environment-dn", "/VED/Code Signing/P")], "environment-dn"),
            (&[("key-user", "sample-cs-user")], "key-user"),
            (&[("hours", "0")], "hours"),
            (&[("hours", "-3")], "hours"),
            (&[("hours", "100000")], "hours"),
            (&[("hours", "two")], "hours"),
            (&[("single-use", "yes please")], "single-use"),
            (&[("runner-ip", "300.1.1.1")], "runner-ip"),
            (&[("runner-ip", "0.0.0.0")], "runner-ip"),
            (&[("not-before", "tomorrow")], "not-before"),
            (&[("not-before", "2026-13-01T00:00:00Z")], "not-before"),
            (&[("not-before", "2026-02-30T00:00:00Z")], "not-before"),
            (&[("not-before", "2026-02-01T00:00:00+25:00")], "not-before"),
            (&[("pre-qualify", "false"), ("pre-approve", "false")], "pre-approve"),
            (&[("timeout", "soon")], "timeout"),
            (&[("timeout", "0")], "timeout"),
            (&[("timeout", "1000h")], "timeout"),
            (&[("timeout", "15x")], "timeout"),
            (&[("poll-interval", "1ms")], "poll-interval"),
            (&[("max-concurrency", "0")], "max-concurrency"),
            (&[("hash-algorithm", "md5")], "hash-algorithm"),
            (&[("if-no-files-found", "explode")], "if-no-files-found"),
            (&[("ca-certificates", "/nonexistent/ca.pem")], "ca-certificates"),
            (&[("appviewx-url", "http://avx.example.com")], "appviewx-url"),
            (&[("appviewx-password", "")], "appviewx-password"),
            (&[("appviewx-password", "pässwort")], "appviewx-password"),
            (&[("appviewx-signing-key", "")], "appviewx-signing-key"),
            (&[("sign-ids", "abc\ndef?x=1")], "sign-ids"),
            (&[("sign-ids", "65c47fa41112f940dab1cb12")], "sign-ids"),
            (&[("appviewx-url", "")], "appviewx-url"),
            (&[("working-directory", "/nonexistent/dir")], "working-directory"),
            (
                &[("tpp-url", ""), ("tpp-username", ""), ("tpp-password", ""), ("tpp-client-id", ""), ("key-user", "")],
                "tpp-url",
            ),
        ];
        for (changes, input) in cases {
            match with(changes) {
                Ok(_) => panic!("{changes:?} was accepted"),
                Err(e) => {
                    assert_eq!(e.input, *input, "{changes:?}: {e}");
                    assert!(!e.to_string().contains('\n'), "one line: {e}");
                }
            }
        }
    }

    #[test]
    fn loopback_http_and_options_are_accepted() {
        let c = with(&[
            ("tpp-url", "http://127.0.0.1:8080"),
            ("appviewx-url", "http://localhost:9000/avxapi"),
            ("runner-ip", "none"),
            ("not-before", "2021-12-31T00:52:50.5387438"),
            ("hours", "24"),
            ("timeout", "1h30m"),
            ("poll-interval", "250ms"),
            ("hash-algorithm", "SHA-384"),
        ])
        .unwrap();
        let tpp = c.tpp.unwrap();
        assert_eq!(tpp.runner_ip, RunnerIp::Omit);
        assert_eq!(tpp.not_before.as_deref(), Some("2021-12-31T00:52:50.5387438"));
        assert_eq!(c.timeout, Duration::from_secs(5400));
        assert_eq!(c.poll_interval, Duration::from_millis(250));
        assert_eq!(c.artifacts.hash_algorithm, HashAlgorithm::Sha384);
        assert_eq!(c.appviewx.unwrap().base_url.as_str(), "http://localhost:9000/");
    }

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

    #[test]
    fn sign_ids_replace_policy_and_key() {
        let c = with(&[
            ("artifacts", ""),
            ("appviewx-signing-policy", ""),
            ("appviewx-signing-key", ""),
            ("sign-ids", "65c47fa41112f940dab1cb12\n65c47fa41112f940dab1cb13, 65c47fa41112f940dab1cb12"),
        ])
        .unwrap();
        let AvxWork::Await { sign_ids } = c.appviewx.unwrap().work else { panic!("expected Await") };
        assert_eq!(sign_ids, ["65c47fa41112f940dab1cb12", "65c47fa41112f940dab1cb13"]);
    }

    #[test]
    fn not_before_offsets_become_utc() {
        let nb = |v| normalize_not_before(v);
        assert_eq!(nb("2021-12-31T00:52:50.5387438").as_deref(), Some("2021-12-31T00:52:50.5387438"));
        assert_eq!(nb("2026-01-31T12:00:00Z").as_deref(), Some("2026-01-31T12:00:00"));
        assert_eq!(nb("2026-03-01T01:30:00+02:00").as_deref(), Some("2026-02-28T23:30:00"));
        assert_eq!(nb("2024-12-31T23:00:00-01:00").as_deref(), Some("2025-01-01T00:00:00"));
        assert_eq!(nb("2024-02-29T00:00:00Z").as_deref(), Some("2024-02-29T00:00:00"));
        for bad in [
            "2025-02-29T00:00:00Z",
            "2026-01-31T12:00:00+0200",
            "2026-01-31 12:00:00",
            "2026-01-31T12:00:00.Z",
            "2026-01-31T24:00:00",
        ] {
            assert_eq!(nb(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        for bad in ["", "s", "1.5h", "-1s", "1 h", "99999999999s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
