//! Single values and their parsers: booleans, durations, counts, addresses, URLs and paths,
//! each checked against the range the gate can honour.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use super::inputs::{bad, env_var, truncate, InputError, Inputs};
use super::paths::Workspace;

/// When to ask about a sign request again (`poll-interval`); the schedule `Auto` follows is the
/// poll stage's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollInterval {
    /// Soon after submitting, then less and less often: a request that finishes at time T is
    /// noticed by 1.1·T + 1 s, and a 30-minute wait costs at most 60 asks per sign id.
    Auto,
    /// A fixed interval, as the user asked.
    Fixed(Duration),
}

/// The folder, in the working directory, that holds one folder per run outside GitHub.
/// Discovery never looks inside it, so a later `**/*` does not sign an earlier run's report.
pub const RUNS_FOLDER: &str = "codesign-gate-runs";

/// The pre-approval's `IPAddress`: the address the signing request is expected to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerIp {
    /// Found at run time (the local source address of the route to TPP): a runner's address is
    /// rarely known in advance. Refused where NAT sits between the runner and TPP.
    Auto,
    /// Given by the user, for when TPP sees another address than the runner's own (NAT, a proxy).
    Fixed(IpAddr),
    /// Asked at run time from an address-echo endpoint the organisation trusts, for runners
    /// behind NAT whose egress address changes from job to job.
    FromUrl(Url),
    /// No `IPAddress` sent at all, for when no single address is known to be right.
    Omit,
}

impl fmt::Display for RunnerIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunnerIp::Auto => f.write_str("auto"),
            RunnerIp::Fixed(ip) => write!(f, "{ip}"),
            RunnerIp::FromUrl(url) => write!(f, "from-url:{url}"),
            RunnerIp::Omit => f.write_str("none"),
        }
    }
}

/// Only `true` or `false`, in any case: a `yes` is refused rather than guessed at.
pub(super) fn parse_bool(inputs: &Inputs, name: &'static str) -> Result<bool, InputError> {
    match inputs.value(name).to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        v => Err(bad(name, format!("must be true or false, not `{}`", truncate(v, 40)))),
    }
}

fn duration_input(inputs: &Inputs, name: &'static str) -> Result<Duration, InputError> {
    let v = inputs.value(name);
    match parse_duration(v) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(bad(name, format!("`{}` is not a duration: use e.g. 90, 90s, 15m, 1h or 1h30m", truncate(v, 40)))),
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

/// `timeout`, `poll-interval` and `request-timeout`: all three are parsed before any is
/// range-checked, so the first unreadable one is reported before an out-of-range one.
pub(super) fn timings(inputs: &Inputs) -> Result<(Duration, PollInterval, Duration), InputError> {
    let timeout = duration_input(inputs, "timeout")?;
    // `auto` follows the service; a duration is a fixed interval.
    let poll_interval = match inputs.value("poll-interval") {
        v if v.eq_ignore_ascii_case("auto") => None,
        _ => Some(duration_input(inputs, "poll-interval")?),
    };
    let request_timeout = duration_input(inputs, "request-timeout")?;
    if timeout > Duration::from_secs(72 * 3600) {
        return Err(bad("timeout", "must be at most 72h (GitHub cancels jobs long before that)"));
    }
    for (name, value) in [("poll-interval", poll_interval), ("request-timeout", Some(request_timeout))] {
        if value.is_some_and(|v| v < Duration::from_millis(100) || v > Duration::from_secs(600)) {
            return Err(bad(name, "must be between 100ms and 10m"));
        }
    }
    Ok((timeout, poll_interval.map_or(PollInterval::Auto, PollInterval::Fixed), request_timeout))
}

/// 1 to 64 parallel requests per stage.
pub(super) fn max_concurrency(inputs: &Inputs) -> Result<usize, InputError> {
    let v = inputs.value("max-concurrency");
    match v.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(bad("max-concurrency", format!("must be a whole number from 1 to 64, not `{v}`"))),
    }
}

/// 1 to 720: a pre-approval is standing permission to sign, so it is kept short.
pub(super) fn hours(inputs: &Inputs) -> Result<u32, InputError> {
    let v = inputs.value("hours");
    match v.parse::<i64>() {
        Ok(h) if (1..=720).contains(&h) => Ok(u32::try_from(h).unwrap_or(1)),
        Ok(_) => Err(bad("hours", format!("must be from 1 to 720, not {v}: keep pre-approvals short"))),
        Err(_) => Err(bad("hours", format!("must be a whole number of hours, not `{}`", truncate(v, 40)))),
    }
}

/// An unspecified or multicast address could never be the runner's.
pub(super) fn runner_ip(inputs: &Inputs) -> Result<RunnerIp, InputError> {
    let v = inputs.value("runner-ip");
    if v.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("from-url:")) {
        return echo_url(v[9..].trim()).map(RunnerIp::FromUrl);
    }
    match v.to_ascii_lowercase().as_str() {
        "auto" => Ok(RunnerIp::Auto),
        "none" => Ok(RunnerIp::Omit),
        lower => match lower.parse::<IpAddr>() {
            Ok(ip) if !ip.is_unspecified() && !ip.is_multicast() => Ok(RunnerIp::Fixed(ip)),
            _ => Err(bad(
                "runner-ip",
                format!("must be auto, none, an IP address or from-url:<https URL>, not `{}`", truncate(v, 60)),
            )),
        },
    }
}

/// The address-echo endpoint of `from-url:`. No secret is sent to it, but what it answers is
/// pre-approved, so it is held to the rule of every other URL: https, or http to loopback.
fn echo_url(raw: &str) -> Result<Url, InputError> {
    let url = Url::parse(raw).map_err(|_| {
        bad(
            "runner-ip",
            format!(
                "from-url: needs the URL of an address-echo endpoint, e.g. from-url:https://echo.example.com/ip, not `{}`",
                truncate(raw, 60)
            ),
        )
    })?;
    if !https_or_loopback(&url) {
        return Err(bad("runner-ip", "from-url: must use https (plain http is allowed only for loopback addresses)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("runner-ip", "from-url: has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(bad(
            "runner-ip",
            "from-url: must not carry credentials or a fragment: nothing secret is sent to it",
        ));
    }
    Ok(url)
}

/// Sent to TPP in UTC, so an offset given by the user cannot be misread by the server.
pub(super) fn not_before(inputs: &Inputs) -> Result<Option<String>, InputError> {
    let Some(v) = inputs.trimmed("not-before") else {
        return Ok(None);
    };
    crate::civil::normalize_not_before(v).map(Some).ok_or_else(|| {
        bad(
            "not-before",
            format!("must be a time like 2026-01-31T12:00:00Z or 2026-01-31T14:00:00+02:00, not `{}`", truncate(v, 60)),
        )
    })
}

/// Where the JSON report and the signature files go. Many gates may run at once on one
/// machine (a job matrix, two executors of one agent, two gate steps in one job), so unless
/// `report-path` names a file, each run gets a folder of its own, claimed when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTarget {
    /// `report-path` names the report; the signatures go in `codesign-gate-signatures` beside it.
    File(PathBuf),
    /// A new folder for this run inside this one: `$RUNNER_TEMP/codesign-gate` on GitHub
    /// (the runner empties it after the job), `codesign-gate-runs` in the working directory
    /// elsewhere, where CI systems collect artifacts.
    RunFolder(PathBuf),
}

pub(super) fn report_target(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    workspace: &Workspace,
) -> Result<ReportTarget, InputError> {
    let Some(p) = inputs.trimmed("report-path") else {
        return Ok(ReportTarget::RunFolder(match env_var(env, "RUNNER_TEMP") {
            Some(temp) => PathBuf::from(temp).join("codesign-gate"),
            None => workspace.join(RUNS_FOLDER),
        }));
    };
    let report_path = cwd.join(p);
    super::paths::report_file(&report_path, workspace)?;
    Ok(ReportTarget::File(report_path))
}

/// Parses a service URL and reduces it to scheme, host and port. Plain http is refused except
/// for loopback hosts (a local simulator): credentials must not cross a network in clear text.
pub(super) fn service_url(input: &'static str, raw: &str, api_roots: &[&str]) -> Result<Url, InputError> {
    let mut url = Url::parse(raw).map_err(|e| {
        bad(input, format!("`{}` is not a URL ({e}): give e.g. https://host.example.com", truncate(raw, 80)))
    })?;
    if !https_or_loopback(&url) {
        return Err(match url.scheme() {
            "http" => bad(input, "must use https (plain http is allowed only for loopback addresses)"),
            other => bad(input, format!("has scheme `{other}`: use https://")),
        });
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

/// Https, or http only to a loopback host: every URL the gate sends a secret to obeys this, so
/// a secret never crosses a network in clear text while a local simulator still works.
pub(super) fn https_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
