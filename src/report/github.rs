//! GitHub Actions workflow commands and step outputs.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::Path;

use super::attestation::Written;
use super::scrub;
use crate::outcome::{Outcome, Severity};

/// Escapes a command's message: hidden characters shown, `##[` defused, then `%`, CR and LF
/// ([`scrub::command_data`]).
pub fn escape_data(s: &str) -> String {
    scrub::command_data(s)
}

/// Escapes a command property: the data escapes plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub shows at most 10 error and 10 warning annotations of a step; more are dropped.
const MAX_PER_LEVEL: usize = 10;

/// Where an artifact lies relative to the workspace, as GitHub links files.
pub fn workspace_path(name: &str, working_directory: &Path, workspace: Option<&Path>) -> String {
    let full = working_directory.join(name);
    workspace
        .and_then(|ws| full.strip_prefix(ws).ok())
        .map_or_else(|| name.to_string(), |r| r.to_string_lossy().replace('\\', "/"))
}

/// One annotation per problem; those about an artifact point at its file. Past GitHub's limit
/// per level, the last annotation says how many more the job summary lists.
pub fn annotations(
    outcome: &Outcome,
    working_directory: &Path,
    workspace: Option<&Path>,
    w: &mut impl Write,
) -> io::Result<()> {
    for (severity, command) in [(Severity::Error, "error"), (Severity::Warning, "warning")] {
        let problems: Vec<_> = outcome.problems.iter().filter(|p| p.severity == severity).collect();
        let shown = if problems.len() > MAX_PER_LEVEL { MAX_PER_LEVEL - 1 } else { problems.len() };
        for p in &problems[..shown] {
            let mut props = Vec::new();
            if let Some(name) = &p.artifact {
                props.push(format!("file={}", escape_property(&workspace_path(name, working_directory, workspace))));
            }
            props.push(format!("title={}", escape_property(&format!("codesign-gate: {}", p.stage))));
            writeln!(w, "::{command} {}::{}", props.join(","), escape_data(&p.message))?;
        }
        if shown < problems.len() {
            let more = problems.len() - shown;
            writeln!(
                w,
                "::{command} title=codesign-gate::{more} more {command}(s): see the job summary and the report"
            )?;
        }
    }
    Ok(())
}

/// A delimiter for `name<<DELIM` blocks that a value cannot guess.
pub fn delimiter() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    let a = h.finish();
    let b = RandomState::new().build_hasher().finish();
    format!("ghadelimiter_{a:016x}{b:016x}")
}

/// Appends one output; a value containing the delimiter would end the block early, so it is refused.
pub fn output(w: &mut dyn Write, name: &str, value: &str, delimiter: &str) -> io::Result<()> {
    if value.contains(delimiter) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("output `{name}` contains the delimiter")));
    }
    write!(w, "{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Appends the step outputs: `result` (`success`, `failure` or `planned`), `artifacts` (JSON), the counts, `runner-ip`,
/// `report-path`, and the signing record's files (`attestation-path`, `predicate-path`, `subject-checksums`: empty when
/// not written).
pub fn outputs(
    outcome: &Outcome,
    report_path: &Path,
    attested: &Written,
    delimiter: &str,
    w: &mut dyn Write,
) -> io::Result<()> {
    let artifacts: Vec<serde_json::Value> = outcome
        .artifacts
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name,
                "size": a.size,
                "digest": a.digest.as_ref().map(|d| &d.hex),
                "prequalified": a.prequalify == crate::outcome::StageStatus::Done,
                "preapproved": a.preapproval == crate::outcome::StageStatus::Done,
                "sign-id": a.sign.as_ref().and_then(|s| s.sign_id.as_ref()),
                "status": a.sign.as_ref().map(|s| s.status.label()),
                "signature-path": a.sign.as_ref().and_then(|s| s.signature_path.as_ref()),
                "signtool-path": a.sign.as_ref().and_then(|s| s.signtool_path.as_ref()),
                "verified": a.sign.as_ref().is_some_and(crate::outcome::SignRecord::verified),
            })
        })
        .collect();
    let artifacts = serde_json::to_string(&artifacts).map_err(io::Error::other)?;
    output(w, "result", outcome.result().name(), delimiter)?;
    output(w, "artifacts", &artifacts, delimiter)?;
    output(w, "count", &outcome.artifacts.len().to_string(), delimiter)?;
    output(w, "prequalified", &outcome.prequalified().to_string(), delimiter)?;
    output(w, "preapproved", &outcome.preapproved().to_string(), delimiter)?;
    output(w, "signed", &outcome.signed().to_string(), delimiter)?;
    output(w, "verified", &outcome.verified().to_string(), delimiter)?;
    output(w, "failed", &outcome.failed().to_string(), delimiter)?;
    output(w, "runner-ip", outcome.runner_ip.as_deref().unwrap_or(""), delimiter)?;
    output(w, "report-path", &report_path.to_string_lossy(), delimiter)?;
    let path =
        |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    output(w, "attestation-path", &path(&attested.statement), delimiter)?;
    output(w, "predicate-path", &path(&attested.predicate), delimiter)?;
    output(w, "subject-checksums", &path(&attested.checksums), delimiter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("C:\\a,b"), "C%3A\\a%2Cb");
    }

    #[test]
    fn annotations_stay_within_githubs_ten_per_level() {
        let mut outcome = crate::outcome::tests::empty_outcome();
        for i in 0..25 {
            outcome.error("sign", Some(&format!("dist/a{i}.exe")), "refused");
        }
        outcome.warning("http", None, "retried");
        let mut buf = Vec::new();
        annotations(&outcome, Path::new("/ws"), Some(Path::new("/ws")), &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 10);
        assert_eq!(errors[0], "::error file=dist/a0.exe,title=codesign-gate%3A sign::refused");
        assert_eq!(errors[9], "::error title=codesign-gate::16 more error(s): see the job summary and the report");
        assert_eq!(text.lines().filter(|l| l.starts_with("::warning")).count(), 1);
    }

    #[test]
    fn outputs_are_heredocs_and_refuse_the_delimiter() {
        let mut buf = Vec::new();
        output(&mut buf, "x", "line1\nline2", "EOF_1").unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "x<<EOF_1\nline1\nline2\nEOF_1\n");
        assert!(output(&mut Vec::new(), "x", "a EOF_1 b", "EOF_1").is_err());
        assert_ne!(delimiter(), delimiter());
    }
}
