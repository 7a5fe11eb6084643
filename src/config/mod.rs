//! Inputs → a validated, typed [`Config`].
//!
//! Every input is checked here, before the first network call, so a typo never leaves a
//! half-done pre-approval behind on the server. Each problem is one line that names the input
//! and says how to fix it; the binary maps it to exit code 2.
//!
//! One file per concern: `inputs` holds the raw values, `values` the parsers of single values,
//! `artifacts`, `tpp`, `appviewx` and `github` one part of the [`Config`] each.

mod appviewx;
mod artifacts;
mod fork;
mod github;
mod inputs;
mod paths;
mod resume;
mod signature;
mod tpp;
mod values;

use std::path::Path;
use std::time::Duration;

pub use appviewx::{AppViewXConfig, AvxWork};
pub use artifacts::{ArtifactsConfig, DigestFiles, IfNoFilesFound, Pattern};
pub use github::{CheckRunConfig, GithubContext};
pub use inputs::{env_name, InputDefault, InputError, InputSpec, Inputs, INPUTS};
pub use paths::{FollowSymlinks, Workspace};
pub use resume::{earlier, EarlierReport, Resumable, Resume};
pub use signature::{SignatureConfig, SignatureFormat};
pub use tpp::{OidcAuth, PreApprovalMode, TppAuth, TppConfig};
pub use values::{parse_duration, PollInterval, ReportTarget, RunnerIp, RUNS_FOLDER};

/// Everything a run needs, validated before the first network call.
#[derive(Debug, Clone)]
pub struct Config {
    /// What to sign and how to digest it.
    pub artifacts: ArtifactsConfig,
    /// None without `tpp-url`: a gate may sign without pre-approving.
    pub tpp: Option<TppConfig>,
    /// None without `appviewx-url`: a gate may only pre-approve, for a signing step after it.
    pub appviewx: Option<AppViewXConfig>,
    /// What is checked and written of each signature.
    pub signature: SignatureConfig,
    /// `resume-from`: the sign requests of an earlier run to wait for instead of asking anew.
    pub resume: Option<Resume>,
    /// `resume`: whether a re-run of a job looks for the earlier attempt's check run.
    pub resume_reruns: bool,
    /// Counted from the start of the run; at most 72h, as GitHub cancels jobs long before that.
    pub timeout: Duration,
    /// When to ask about a sign request again: `auto` follows the service, or a fixed 100ms to 10m.
    pub poll_interval: PollInterval,
    /// Limit for one HTTP request, so a hung call cannot use up the whole timeout.
    pub request_timeout: Duration,
    /// Parallel requests per stage, 1 to 64, to bound the load on TPP and AppViewX.
    pub max_concurrency: usize,
    /// The PEM bytes of `ca-certificates`, read and checked here so a bad path is an input error.
    pub ca_certificates: Option<Vec<u8>>,
    /// Where the JSON audit report and the signatures go; checked here, as the report is written
    /// whatever else fails.
    pub report: ReportTarget,
    /// None unless `check-run` is set: publishing needs a token with `checks: write`.
    pub check_run: Option<CheckRunConfig>,
    /// Read once, so the comment, the report and the check run tell the same story.
    pub github: GithubContext,
    /// Set when the run only plans: it sends nothing and says what it would send.
    pub plan: Option<PlanConfig>,
}

/// Why a run only plans, and the credentials it stood in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    /// `dry-run` asked for it, or a pull request from a fork got no secrets.
    pub reason: PlanReason,
    /// Credential inputs a pull request from a fork did not get; empty for `dry-run`.
    pub withheld: Vec<&'static str>,
}

/// Why a run only plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanReason {
    /// `dry-run: true`, or the `plan` command.
    DryRun,
    /// A `pull_request` run from a fork, which GitHub gives no secrets, lacked credentials.
    ForkPullRequest,
}

impl PlanReason {
    /// As the report names it.
    pub fn name(self) -> &'static str {
        match self {
            PlanReason::DryRun => "dry-run",
            PlanReason::ForkPullRequest => "fork-pull-request",
        }
    }
}

impl Config {
    /// Validates every input. `env` reads the process environment (the GitHub context);
    /// `cwd` is the directory relative paths start from.
    pub fn from_inputs(
        inputs: &Inputs,
        env: &dyn Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> Result<Config, InputError> {
        // The checks run in a fixed order: of several bad inputs, the same one is reported each time.
        let github = GithubContext::from_env(env);
        let withheld = fork::Withheld::new(github.fork_pull_request);
        let follow = paths::follow_symlinks(inputs)?;
        let working_directory = artifacts::working_directory(inputs, env, cwd, follow)?;
        let sign_ids = inputs.get("sign-ids").map(appviewx::parse_sign_ids).transpose()?;
        let artifacts = artifacts::artifacts_config(inputs, working_directory, sign_ids.is_some())?;
        let tpp = tpp::tpp_config(inputs, env, &github, &withheld)?;
        let appviewx = appviewx::appviewx_config(inputs, sign_ids, &withheld)?;
        vendors(inputs, tpp.is_some() || appviewx.is_some())?;
        let signature = signature::signature_config(inputs, cwd, &artifacts.working_directory, appviewx.is_some())?;
        let resume = resume::resume_from(
            inputs,
            cwd,
            &artifacts.working_directory,
            tpp.as_ref(),
            appviewx.as_ref(),
            artifacts.hash_algorithm,
        )?;
        let resume_reruns = values::parse_bool(inputs, "resume")?;
        let (timeout, poll_interval, request_timeout) = values::timings(inputs)?;
        let max_concurrency = values::max_concurrency(inputs)?;
        let ca_certificates = paths::ca_certificates(inputs, cwd, &artifacts.working_directory)?;
        let report = values::report_target(inputs, env, cwd, &artifacts.working_directory)?;
        let check_run = github::check_run_config(inputs, env, &github, &withheld)?;
        let dry_run = values::parse_bool(inputs, "dry-run")?;
        // Credentials missing from a fork's pull request make a plan of it, even with dry-run
        // set, so the warning says which; a plan sends nothing, so no placeholder goes anywhere.
        let withheld = withheld.into_names();
        let plan = match (withheld.is_empty(), dry_run) {
            (false, _) => Some(PlanConfig { reason: PlanReason::ForkPullRequest, withheld }),
            (true, true) => Some(PlanConfig { reason: PlanReason::DryRun, withheld }),
            (true, false) => None,
        };
        Ok(Config {
            artifacts,
            tpp,
            appviewx,
            signature,
            resume,
            resume_reruns,
            timeout,
            poll_interval,
            request_timeout,
            max_concurrency,
            ca_certificates,
            report,
            check_run,
            github,
            plan,
        })
    }
}

/// A gate with no vendor gates nothing: it would pass every build. That is what a misspelt secret
/// name does (`${{ secrets.TPP_ULR }}` is empty), so it is refused unless `digests-only` asks
/// for just the digests; with a vendor set, `digests-only` contradicts it.
fn vendors(inputs: &Inputs, configured: bool) -> Result<(), InputError> {
    match (values::parse_bool(inputs, "digests-only")?, configured) {
        (false, false) => Err(inputs::bad(
            "tpp-url",
            "neither tpp-url nor appviewx-url is set, so nothing would be pre-qualified or signed: \
             check that the secrets holding the URLs exist and are spelt right, or set digests-only: true \
             to only hash the artifacts",
        )),
        (true, true) => Err(inputs::bad(
            "digests-only",
            "is true, but tpp-url or appviewx-url is set too: remove digests-only to pre-qualify and sign, \
             or remove the URLs to only hash the artifacts",
        )),
        _ => Ok(()),
    }
}

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An input is missing or invalid; the error names it.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The gate could not set itself up (the hashing pool, the HTTP client): no input to fix.
    #[error("{0}")]
    Setup(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::HashAlgorithm;

    const DN: &str = "\\VED\\Code Signing\\Projects\\Sample\\Production Environment";

    pub(super) fn base() -> Vec<(&'static str, String)> {
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

    pub(super) fn with(changes: &[(&'static str, &str)]) -> Result<Config, InputError> {
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
        assert_eq!(tpp.pre_approval, PreApprovalMode::PerSigning);
        let shared = with(&[("pre-approval", "Shared")]).unwrap().tpp.unwrap();
        assert_eq!(shared.pre_approval, PreApprovalMode::Shared);
        assert_eq!(tpp.runner_ip, RunnerIp::Auto);
        assert!(matches!(tpp.auth, TppAuth::Password { ref scope, .. } if scope == "codesign:approve"));
        assert_eq!(c.timeout, Duration::from_secs(1800));
        assert_eq!(c.poll_interval, PollInterval::Auto);
        assert_eq!(c.max_concurrency, 16);
        assert!(matches!(c.appviewx.unwrap().work, AvxWork::Submit { .. }));
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
            (&[("runner-ip", "from-url:")], "runner-ip"),
            (&[("runner-ip", "from-url:echo.example.com")], "runner-ip"),
            (&[("runner-ip", "from-url:http://echo.example.com/ip")], "runner-ip"),
            (&[("runner-ip", "from-url:https://user:pw@echo.example.com/ip")], "runner-ip"),
            (&[("not-before", "tomorrow")], "not-before"),
            (&[("not-before", "2026-13-01T00:00:00Z")], "not-before"),
            (&[("not-before", "2026-02-30T00:00:00Z")], "not-before"),
            (&[("not-before", "2026-02-01T00:00:00+25:00")], "not-before"),
            (&[("pre-qualify", "false"), ("pre-approve", "false")], "pre-approve"),
            (&[("pre-approval", "each")], "pre-approval"),
            (&[("pre-approval", "shared"), ("pre-approve", "false")], "pre-approval"),
            (&[("timeout", "soon")], "timeout"),
            (&[("timeout", "0")], "timeout"),
            (&[("timeout", "1000h")], "timeout"),
            (&[("timeout", "15x")], "timeout"),
            (&[("poll-interval", "1ms")], "poll-interval"),
            (&[("max-concurrency", "0")], "max-concurrency"),
            (&[("dry-run", "maybe")], "dry-run"),
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
        assert_eq!(c.poll_interval, PollInterval::Fixed(Duration::from_millis(250)));
        assert_eq!(c.artifacts.hash_algorithm, HashAlgorithm::Sha384);
        assert_eq!(c.appviewx.unwrap().base_url.as_str(), "http://localhost:9000/");
    }

    #[test]
    fn runner_ip_from_url_keeps_the_url_as_written() {
        let url = |v: &str| with(&[("runner-ip", v)]).unwrap().tpp.unwrap().runner_ip;
        let Ok(expected) = reqwest::Url::parse("https://echo.example.com/My/IP?format=json") else { panic!() };
        assert_eq!(url("FROM-URL: https://echo.example.com/My/IP?format=json"), RunnerIp::FromUrl(expected));
        assert!(matches!(url("from-url:http://127.0.0.1:8080/ip"), RunnerIp::FromUrl(_)), "loopback may use http");
        assert_eq!(url("2001:db8::7").to_string(), "2001:db8::7");
    }
}
