//! GitHub Actions workflow commands and step outputs.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::Path;

use crate::outcome::{Outcome, Severity};

/// Escapes a command's message: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command property: the data escapes plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation per problem; those about an artifact point at its file, relative to the
/// workspace, so GitHub can link it.
pub fn annotations(
    outcome: &Outcome,
    working_directory: &Path,
    workspace: Option<&Path>,
    w: &mut impl Write,
) -> io::Result<()> {
    for p in &outcome.problems {
        let command = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        };
        let mut props = Vec::new();
        if let Some(name) = &p.artifact {
            let full = working_directory.join(name);
            let file = workspace
                .and_then(|ws| full.strip_prefix(ws).ok())
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_else(|| name.clone());
            props.push(format!("file={}", escape_property(&file)));
        }
        props.push(format!("title={}", escape_property(&format!("codesign-gate: {}", p.stage))));
        writeln!(w, "::{command} {}::{}", props.join(","), escape_data(&p.message))?;
    }
    Ok(())
}

/// A delimiter for `name<<DELIM` blocks that a value cannot guess.
pub fn delimiter() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
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

pub fn outputs(outcome: &Outcome, report_path: &Path, delimiter: &str, w: &mut dyn Write) -> io::Result<()> {
    let artifacts: Vec<serde_json::Value> = outcome
        .artifacts
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name,
                "size": a.size,
                "digest": a.digest.as_ref().map(|d| &d.hex),
                "prequalified": a.prequalify == crate::outcome::StageStatus::Done,
                "sign-id": a.sign.as_ref().and_then(|s| s.sign_id.as_ref()),
                "status": a.sign.as_ref().map(|s| s.status.label()),
                "signature-path": a.sign.as_ref().and_then(|s| s.signature_path.as_ref()),
            })
        })
        .collect();
    let artifacts = serde_json::to_string(&artifacts).map_err(io::Error::other)?;
    output(w, "result", if outcome.success() { "success" } else { "failure" }, delimiter)?;
    output(w, "artifacts", &artifacts, delimiter)?;
    output(w, "count", &outcome.artifacts.len().to_string(), delimiter)?;
    output(w, "prequalified", &outcome.prequalified().to_string(), delimiter)?;
    output(w, "signed", &outcome.signed().to_string(), delimiter)?;
    output(w, "failed", &outcome.failed().to_string(), delimiter)?;
    output(w, "runner-ip", outcome.runner_ip.as_deref().unwrap_or(""), delimiter)?;
    output(w, "report-path", &report_path.to_string_lossy(), delimiter)
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
    fn outputs_are_heredocs_and_refuse_the_delimiter() {
        let mut buf = Vec::new();
        output(&mut buf, "x", "line1\nline2", "EOF_1").unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "x<<EOF_1\nline1\nline2\nEOF_1\n");
        assert!(output(&mut Vec::new(), "x", "a EOF_1 b", "EOF_1").is_err());
        assert_ne!(delimiter(), delimiter());
    }
}
