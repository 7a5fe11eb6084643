//! The raw inputs: the public table of them, the flag-over-env merge, and the error that names one.

use std::collections::BTreeMap;

/// One public input: its name is the action input, the `--flag` and (upper-cased, prefixed with
/// `INPUT_`) the environment variable GitHub sets.
pub struct InputSpec {
    /// One name for all three ways in, so action.yml, `--help` and the environment cannot drift apart.
    pub name: &'static str,
    /// What it does, for `--help`; [`InputSpec::help_text`] adds the default.
    pub help: &'static str,
    /// The one place the input's default lives: the parser, `--help` and the action.yml check
    /// all read it.
    pub default: InputDefault,
}

/// What an input is when it is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputDefault {
    /// Nothing: the input is optional, or required where the help says so.
    None,
    /// This value, as a user would write it; action.yml declares the same.
    Value(&'static str),
    /// Worked out at run time (from the workflow context or the working directory), as described.
    Described(&'static str),
}

impl InputSpec {
    /// The help line `--help` shows: what the input does, then its default.
    pub fn help_text(&self) -> String {
        match self.default {
            InputDefault::None => self.help.to_string(),
            InputDefault::Value(v) | InputDefault::Described(v) => format!("{} [default: {v}]", self.help),
        }
    }
}

/// The public interface, in the order `--help` shows it. action.yml declares the same names.
pub const INPUTS: &[InputSpec] = &[
    InputSpec { name: "artifacts", help: "Newline-separated glob patterns of the files to sign, relative to working-directory; `**` recurses, a line starting with `!` excludes. Required unless sign-ids is set.", default: InputDefault::None },
    InputSpec { name: "working-directory", help: "Directory the patterns are relative to", default: InputDefault::Described("$GITHUB_WORKSPACE, else the current directory") },
    InputSpec { name: "follow-symlinks", help: "Where a symlink in working-directory may lead, for artifacts and every path input: inside (a link whose target resolves outside working-directory is refused with exit 2) | outside (allowed, e.g. for a build that links its output in from elsewhere)", default: InputDefault::Value("inside") },
    InputSpec { name: "if-no-files-found", help: "What to do when no file matches: error | warn | ignore", default: InputDefault::Value("error") },
    InputSpec { name: "hash-algorithm", help: "Digest to pre-qualify and sign: sha256 | sha384 | sha512", default: InputDefault::Value("sha256") },
    InputSpec { name: "digest-files", help: "Digests made elsewhere: false (hash each matched file) | true (each matched file holds one precomputed digest, Base64 or hex, e.g. the .dig files of `signtool sign /dg`) | list (each matched file is a checksum list as sha256sum, shasum or `sha256sum --tag` write it; each line is one artifact, named by its path as written)", default: InputDefault::Value("false") },
    InputSpec { name: "digests-only", help: "true: only hash the artifacts and report their digests, with no TPP or AppViewX (refused when tpp-url or appviewx-url is set). Without it, a run with neither URL is refused with exit 2: a misspelt secret must not make a gate that gates nothing", default: InputDefault::Value("false") },
    InputSpec { name: "tpp-url", help: "Venafi TPP base URL, e.g. https://tpp.example.com (a trailing /vedsdk is accepted). Enables the TPP stages.", default: InputDefault::None },
    InputSpec { name: "tpp-access-token", help: "A TPP bearer token with the codesign:approve scope (instead of username/password)", default: InputDefault::None },
    InputSpec { name: "tpp-username", help: "TPP user (a Key Use Approver) for the OAuth password grant", default: InputDefault::None },
    InputSpec { name: "tpp-password", help: "Password of tpp-username", default: InputDefault::None },
    InputSpec { name: "tpp-client-id", help: "Client id of the TPP API Integration", default: InputDefault::None },
    InputSpec { name: "tpp-oidc-audience", help: "Keyless: exchange the job's GitHub OIDC token (audience as given) for a TPP token through a JWT mapping (TPP 22.4+; needs `permissions: id-token: write` and tpp-client-id)", default: InputDefault::None },
    InputSpec { name: "tpp-scope", help: "OAuth scope to request", default: InputDefault::Value("codesign:approve") },
    InputSpec { name: "environment-dn", help: "CodeSign Protect environment DN, e.g. \\VED\\Code Signing\\Projects\\App\\Production", default: InputDefault::None },
    InputSpec { name: "key-user", help: "The key user who will sign, e.g. local:build-agent", default: InputDefault::None },
    InputSpec { name: "hours", help: "Lifetime of the pre-qualifications and pre-approvals, 1-720", default: InputDefault::Value("1") },
    InputSpec { name: "single-use", help: "Each pre-qualification allows one signing of its digest (the pre-approvals follow pre-approval)", default: InputDefault::Value("true") },
    InputSpec { name: "comment", help: "Comment stored with each TPP record", default: InputDefault::Described("repository, commit, run URL and attempt") },
    InputSpec { name: "runner-ip", help: "IPAddress of the pre-approval, the address TPP will see: auto (local source address of the route to TPP; refused with exit 2 where NAT sits between) | an IP literal (the runner's egress IP) | from-url:<https URL> (an address-echo endpoint answering an IP as text or JSON {\"ip\"}) | none (any address)", default: InputDefault::Value("auto") },
    InputSpec { name: "not-before", help: "Pre-approval start, ISO 8601 with Z or an offset (2026-01-31T12:00:00Z); sent to TPP in UTC", default: InputDefault::None },
    InputSpec { name: "signing-executable", help: "Full path of the signing tool as TPP will see it (the pre-approval is ignored by TPP when it differs)", default: InputDefault::None },
    InputSpec { name: "pre-qualify", help: "Pre-qualify each digest (PreQualify/Create)", default: InputDefault::Value("true") },
    InputSpec { name: "pre-approve", help: "Request pre-approvals for the runner (Codesign/AddPreApproval)", default: InputDefault::Value("true") },
    InputSpec { name: "pre-approval", help: "How many pre-approvals: per-signing (one SingleUse pre-approval per artifact to sign, each used up by its signing: N calls, nothing left open) | shared (one pre-approval with SingleUse false for every signing, open to any signing by key-user from runner-ip until hours pass: one call, for a signing tool that signs many files under one approval)", default: InputDefault::Value("per-signing") },
    InputSpec { name: "appviewx-url", help: "AppViewX gateway URL, e.g. https://avx.example.com:31443. Enables the signing stages.", default: InputDefault::None },
    InputSpec { name: "appviewx-username", help: "AppViewX user", default: InputDefault::None },
    InputSpec { name: "appviewx-password", help: "Password of appviewx-username", default: InputDefault::None },
    InputSpec { name: "appviewx-gwkey", help: "Tenant key of a multi-tenant AppViewX, sent as gwkey on every AppViewX call", default: InputDefault::None },
    InputSpec { name: "appviewx-signing-policy", help: "AppViewX signing policy", default: InputDefault::None },
    InputSpec { name: "appviewx-signing-key", help: "Signing key mapped to the policy", default: InputDefault::None },
    InputSpec { name: "signing-certificate", help: "PEM or DER file: the certificate of appviewx-signing-key, then its chain. Every signature is verified with it before the artifact counts as signed; without it, signatures are reported as not verified", default: InputDefault::None },
    InputSpec { name: "signature-format", help: "raw (encodedHashData as AppViewX sent it, <name>.signed: what signtool sign /di ingests) | cms (a detached CMS signature, <name>.p7s in DER, with the certificates: openssl cms -verify checks it; needs signing-certificate)", default: InputDefault::Value("raw") },
    InputSpec { name: "timestamp-url", help: "RFC 3161 time-stamping authority (cms only): each signature gets a timestamp token, checked against the request, as an unsigned attribute", default: InputDefault::None },
    InputSpec { name: "resume-from", help: "An earlier run's report (its report-path): each artifact whose digest is unchanged and whose sign request did not finally fail is only waited for (no pre-qualification, pre-approval or new submission); the others run afresh. A report of another environment-dn, signing policy, key or hash-algorithm is refused", default: InputDefault::None },
    InputSpec { name: "resume", help: "On a re-run of a job (GITHUB_RUN_ATTEMPT > 1) with check-run set, resume from the sign requests the earlier attempt's check run recorded: true | false", default: InputDefault::Value("true") },
    InputSpec { name: "sign-ids", help: "Newline-separated ids of existing AppViewX sign requests to wait for, instead of submitting new ones", default: InputDefault::None },
    InputSpec { name: "timeout", help: "Longest wait for the signing requests: 90, 90s, 15m, 1h", default: InputDefault::Value("30m") },
    InputSpec { name: "poll-interval", help: "Time between status polls: auto (soon, then less often) or e.g. 5s", default: InputDefault::Value("auto") },
    InputSpec { name: "request-timeout", help: "Limit for one HTTP request", default: InputDefault::Value("30s") },
    InputSpec { name: "max-concurrency", help: "Parallel requests per stage, 1-64", default: InputDefault::Value("16") },
    InputSpec { name: "dry-run", help: "true: plan only. Validate every input, hash the artifacts, resolve the runner IP and print every request the gate would send (secrets as ***), sending nothing to TPP, AppViewX or GitHub (only a runner-ip from-url: echo is asked); result `planned`", default: InputDefault::Value("false") },
    InputSpec { name: "ca-certificates", help: "PEM file of CA certificates to trust besides the system roots", default: InputDefault::None },
    InputSpec { name: "check-run", help: "Also publish the result as a check run of this name on the commit (needs github-token with checks: write)", default: InputDefault::None },
    InputSpec { name: "github-token", help: "Token for the GitHub API, used only for check-run (e.g. secrets.GITHUB_TOKEN)", default: InputDefault::None },
    InputSpec { name: "report-path", help: "A file for the JSON audit report, which must not exist yet; signatures go beside it", default: InputDefault::Described("a new folder per run: $RUNNER_TEMP/codesign-gate/<run>/ on GitHub, codesign-gate-runs/<run>/ in the working directory elsewhere") },
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

    /// The value given (trimmed), else the input's default from [`INPUTS`], the one place
    /// defaults are written. Empty for an input without a literal default (which no parser of
    /// such an input asks for; a test holds every parser's input to having one).
    pub fn value(&self, name: &str) -> &str {
        self.trimmed(name).unwrap_or_else(|| match INPUTS.iter().find(|s| s.name == name).map(|s| s.default) {
            Some(InputDefault::Value(v)) => v,
            _ => "",
        })
    }

    /// The value as given, untrimmed: passwords and tokens may carry meaningful spaces.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(std::string::String::as_str)
    }

    /// Sets a value, as the `demo` command does to point the gate at its simulator.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.insert(name, value.into());
    }

    /// Set to something other than its default: the action passes every input it declares,
    /// defaults included, so only a value that differs says the user asked for it.
    pub(super) fn asked(&self, name: &str) -> bool {
        let default = match INPUTS.iter().find(|s| s.name == name).map(|s| s.default) {
            Some(InputDefault::Value(v)) => Some(v),
            _ => None,
        };
        self.trimmed(name).is_some_and(|v| Some(v) != default)
    }

    /// The value without the blanks YAML block scalars and copy-paste leave around it.
    pub(super) fn trimmed(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim)
    }
}

/// `tpp-url` → `INPUT_TPP-URL`: GitHub upper-cases the name, turns spaces into `_` and keeps hyphens.
pub fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.to_uppercase().replace(' ', "_"))
}

/// A service's own inputs given without its URL are a mistake to report, not to ignore: the user
/// meant that service to run.
pub(super) fn none_without(
    inputs: &Inputs,
    url_input: &'static str,
    dependents: &[&str],
    enables: &str,
) -> Result<(), InputError> {
    match dependents.iter().find(|n| inputs.get(n).is_some()) {
        Some(name) => Err(bad(
            url_input,
            format!("is not set, but `{name}` is: set {url_input} to enable {enables}, or remove `{name}`"),
        )),
        None => Ok(()),
    }
}

/// A runner variable, where an empty value counts as unset.
pub(super) fn env_var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

/// A bad input: which one, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}`: {message}")]
pub struct InputError {
    /// The input to fix, named as the user wrote it in the workflow.
    pub input: &'static str,
    /// What is wrong and how to fix it, on one line so a log shows it whole.
    pub message: String,
}

/// Shorthand for the error every check returns.
pub(super) fn bad(input: &'static str, message: impl Into<String>) -> InputError {
    InputError { input, message: message.into() }
}

/// Keeps echoed user input short enough for a one-line error.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
