//! The signing record others can check: an in-toto Statement v1 naming each signed artifact by
//! its digest, with what the run did to it as the predicate
//! (`schemas/signing-predicate.v1.json`), and the same subjects as a `sha256sum` list. Written
//! beside the report, after it and the signatures, for `actions/attest` or any verifier.
//!
//! Like the report, these are the format's own types, built from the outcome; a change here is a
//! change of a public format, so it comes with a new predicate type (`…/signing/v2`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::outputs;
use crate::config::{Config, DigestFiles};
use crate::digest::{hash_file, HashAlgorithm};
use crate::outcome::{ArtifactRecord, Outcome, PreApprovalRecord, SignRecord, SignStatus, StageStatus};

/// The in-toto Statement this is.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// What the predicate is: its major version is in the URI.
pub const PREDICATE_TYPE: &str = "https://github.com/acme/codesign-gate/signing/v1";

/// The files [`write`] made; `None` for each it did not (a plan, nothing signed, or a failure).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// `<report stem>.intoto.json`: the whole Statement.
    pub statement: Option<PathBuf>,
    /// `<report stem>.predicate.json`: the predicate alone, as `actions/attest` reads it.
    pub predicate: Option<PathBuf>,
    /// `<report stem>.sha256` (`.sha384`, `.sha512`): the subjects as `sha256sum` writes them.
    pub checksums: Option<PathBuf>,
}

/// The in-toto Statement v1.
#[derive(Serialize)]
pub struct Statement<'a> {
    #[serde(rename = "_type")]
    kind: &'static str,
    subject: Vec<Subject<'a>>,
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: Predicate<'a>,
}

/// An artifact by name and digest; in-toto names the digest's algorithm as the report does.
#[derive(Serialize)]
struct Subject<'a> {
    name: &'a str,
    digest: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
struct Predicate<'a> {
    gate: Gate,
    run: Run<'a>,
    tpp: Option<Tpp<'a>>,
    artifacts: Vec<Artifact<'a>>,
}

#[derive(Serialize)]
struct Gate {
    name: &'static str,
    version: &'static str,
}

/// `run_id` and `run_attempt` are the report's spellings, however clippy feels about the name.
#[allow(clippy::struct_field_names)]
#[derive(Serialize)]
struct Run<'a> {
    repository: Option<&'a str>,
    sha: Option<&'a str>,
    workflow: Option<&'a str>,
    workflow_ref: Option<&'a str>,
    job: Option<&'a str>,
    run_id: Option<&'a str>,
    run_attempt: Option<&'a str>,
    server_url: Option<&'a str>,
    runner_environment: Option<&'a str>,
    started_at: &'a str,
}

#[derive(Serialize)]
struct Tpp<'a> {
    url: Option<&'a str>,
    environment_dn: &'a str,
    preapproval_mode: Option<&'static str>,
}

/// One subject and what it went through.
#[derive(Serialize)]
struct Artifact<'a> {
    name: &'a str,
    digest: BTreeMap<&'static str, &'a str>,
    prequalification: Prequalification,
    preapproval: Option<PreApproval<'a>>,
    appviewx: AppViewX<'a>,
    signature: Signature<'a>,
}

#[derive(Serialize)]
struct Prequalification {
    status: &'static str,
    result: Option<i64>,
}

#[derive(Serialize)]
struct PreApproval<'a> {
    address: Option<&'a str>,
    single_use: bool,
    hours: u32,
    not_before: Option<&'a str>,
    requested_at: Option<&'a str>,
    result: Option<i64>,
    outcome: &'static str,
}

#[derive(Serialize)]
struct AppViewX<'a> {
    sign_id: Option<&'a str>,
    status: &'static str,
}

#[derive(Serialize)]
struct Signature<'a> {
    file: String,
    format: &'static str,
    sha256: String,
    verification: super::record::VerificationEntry<'a>,
    timestamp: Option<Timestamp<'a>>,
}

#[derive(Serialize)]
struct Timestamp<'a> {
    time: &'a str,
    tsa: &'a str,
}

/// Writes the Statement, the predicate alone and the checksum list beside the report, never over
/// an existing file, when the run signed something. A plan, a run that signed nothing, and
/// `digest-files: true` (signtool's Authenticode digests name no file's content) write nothing.
/// A file that cannot be written adds to `failures`, as the report's own would.
pub fn write(outcome: &Outcome, config: &Config, report: &Path, failures: &mut Vec<String>) -> Written {
    if outcome.plan.is_some() || config.artifacts.digest_files == DigestFiles::PerFile || subjects(outcome).is_empty() {
        return Written::default();
    }
    let statement = match Statement::of(outcome, config) {
        Ok(statement) => statement,
        Err(e) => {
            failures.push(format!("attestation-path: {e}"));
            return Written::default();
        }
    };
    let stem = report.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let beside = |suffix: &str| report.with_file_name(format!("{stem}{suffix}"));
    let checksums = format!(".{}", outcome.hash_algorithm);
    Written {
        statement: put("attestation-path", &beside(".intoto.json"), pretty(&statement), failures),
        predicate: put("predicate-path", &beside(".predicate.json"), pretty(&statement.predicate), failures),
        checksums: put("subject-checksums", &beside(&checksums), Ok(checksum_list(outcome).into_bytes()), failures),
    }
}

fn pretty(value: &impl Serialize) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes one file whole and new; the path for its output, or the failure that names it.
fn put(output: &str, path: &Path, bytes: std::io::Result<Vec<u8>>, failures: &mut Vec<String>) -> Option<PathBuf> {
    match bytes.and_then(|b| outputs::write_new(path, &b)) {
        Ok(()) => Some(path.to_path_buf()),
        Err(e) => {
            failures.push(format!("{output}: cannot write `{}`: {e}", path.display()));
            None
        }
    }
}

/// The artifacts that ended signed, with their digests, in discovery order.
fn subjects(o: &Outcome) -> Vec<(&ArtifactRecord, &str, &SignRecord)> {
    o.artifacts
        .iter()
        .filter_map(|a| {
            let sign = a.sign.as_ref().filter(|s| s.status == SignStatus::Signed && s.signature_path.is_some())?;
            Some((a, a.digest.as_ref()?.hex.as_str(), sign))
        })
        .collect()
}

impl<'a> Statement<'a> {
    /// The Statement of what `o` signed. Each signature's SHA-256 is read from the file the
    /// report names, so it is of the bytes handed out; an unreadable one is an error.
    pub fn of(o: &'a Outcome, config: &'a Config) -> Result<Self, String> {
        let alg = o.hash_algorithm;
        let mut subject = Vec::new();
        let mut artifacts = Vec::new();
        for (a, hex, sign) in subjects(o) {
            subject.push(Subject { name: &a.name, digest: BTreeMap::from([(alg, hex)]) });
            artifacts.push(artifact(o, a, hex, sign)?);
        }
        let g = &o.github;
        let run = Run {
            repository: g.repository.as_deref(),
            sha: g.sha.as_deref(),
            workflow: g.workflow.as_deref(),
            workflow_ref: g.workflow_ref.as_deref(),
            job: g.job.as_deref(),
            run_id: g.run_id.as_deref(),
            run_attempt: g.run_attempt.as_deref(),
            server_url: g.server_url.as_deref(),
            runner_environment: g.runner_environment.as_deref(),
            started_at: &o.started_at,
        };
        let tpp = config.tpp.as_ref().map(|t| Tpp {
            url: o.tpp_url.as_deref(),
            // As sent: the pre-approval's, after the report's scrubbing; else the input.
            environment_dn: o.preapprovals.first().map_or(t.environment_dn.as_str(), |p| p.dn.as_str()),
            preapproval_mode: o.preapproval_mode,
        });
        Ok(Statement {
            kind: STATEMENT_TYPE,
            subject,
            predicate_type: PREDICATE_TYPE,
            predicate: Predicate { gate: Gate { name: o.tool, version: o.version }, run, tpp, artifacts },
        })
    }
}

fn artifact<'a>(
    o: &'a Outcome,
    a: &'a ArtifactRecord,
    hex: &'a str,
    s: &'a SignRecord,
) -> Result<Artifact<'a>, String> {
    let path = s.signature_path.as_deref().unwrap_or_default();
    let sha256 = hash_file(Path::new(path), HashAlgorithm::Sha256)
        .map_err(|e| format!("cannot hash the signature `{path}` of `{}`: {e}", a.name))?
        .hex();
    let preapproval =
        a.preapproval_index.and_then(|i| o.preapprovals.get(i)).map(|p: &PreApprovalRecord| PreApproval {
            address: p.ip_address.as_deref(),
            single_use: p.single_use,
            hours: p.hours,
            not_before: p.not_before.as_deref(),
            requested_at: p.requested_at.as_deref(),
            result: p.result,
            outcome: status(&p.outcome),
        });
    Ok(Artifact {
        name: &a.name,
        digest: BTreeMap::from([(o.hash_algorithm, hex)]),
        prequalification: Prequalification { status: status(&a.prequalify), result: a.prequalify_result },
        preapproval,
        appviewx: AppViewX { sign_id: s.sign_id.as_deref(), status: "signed" },
        signature: Signature {
            file: Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            format: if s.detached.is_some() { "cms" } else { "raw" },
            sha256,
            verification: super::record::verification(&s.verification),
            timestamp: s.timestamp.as_ref().map(|t| Timestamp { time: &t.time, tsa: &t.tsa }),
        },
    })
}

/// As the report spells a TPP stage's status; a signed artifact's is `done` or `not-run`.
fn status(s: &StageStatus) -> &'static str {
    match s {
        StageStatus::NotRun => "not-run",
        StageStatus::Done => "done",
        StageStatus::Planned => "planned",
        StageStatus::Failed { .. } => "failed",
    }
}

/// The subjects as `sha256sum` (`sha384sum`, `sha512sum`) writes them: `<hex>  <name>`, and a
/// name holding `\` or a line break escaped the way it escapes one (a leading `\`, then `\\`,
/// `\n`, `\r`), so `sha256sum -c` reads every line back. Lines end as the platform's do: GNU
/// `sha256sum -c` reads both, and `actions/attest` splits the file at the platform's line end.
fn checksum_list(o: &Outcome) -> String {
    let eol = if cfg!(windows) { "\r\n" } else { "\n" };
    let mut out = String::new();
    for (a, hex, _) in subjects(o) {
        let _ = write!(out, "{}{eol}", checksum_line(hex, &a.name));
    }
    out
}

fn checksum_line(hex: &str, name: &str) -> String {
    if !name.contains(['\\', '\n', '\r']) {
        return format!("{hex}  {name}");
    }
    let escaped = name.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r");
    format!("\\{hex}  {escaped}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Verification;

    #[test]
    fn checksum_lines_escape_as_sha256sum_does() {
        let hex = "ab".repeat(32);
        assert_eq!(checksum_line(&hex, "dist/app.exe"), format!("{hex}  dist/app.exe"));
        assert_eq!(checksum_line(&hex, "tab\there"), format!("{hex}  tab\there"));
        assert_eq!(checksum_line(&hex, r"a\b"), format!(r"\{hex}  a\\b"));
        assert_eq!(checksum_line(&hex, "a\nb\rc"), format!(r"\{hex}  a\nb\rc"));
    }

    #[test]
    fn the_escaped_lines_read_back_as_the_names() {
        for name in ["dist/app.exe", r"C\dist\app.exe", "tab\there", r"end\"] {
            let line = checksum_line(&"0f".repeat(32), name);
            let (read, _) = crate::digest::parse_line(line.as_bytes(), HashAlgorithm::Sha256).unwrap().unwrap();
            assert_eq!(read, name);
        }
    }

    #[test]
    fn statuses_and_verifications_read_as_in_the_report() {
        assert_eq!(status(&StageStatus::Done), "done");
        assert_eq!(status(&StageStatus::NotRun), "not-run");
        let v =
            Verification::Verified { certificate_sha256: "5e".into(), subject: "CN=A".into(), key: "RSA 3072".into() };
        let entry = serde_json::to_value(crate::report::record::verification(&v)).unwrap();
        assert_eq!(
            entry,
            serde_json::json!({"status": "verified", "reason": null, "certificate_sha256": "5e", "subject": "CN=A", "key": "RSA 3072"})
        );
        let unchecked =
            serde_json::to_value(crate::report::record::verification(&Verification::Unchecked("no certificate")))
                .unwrap();
        assert_eq!(unchecked["status"], "not-verified");
        assert_eq!(unchecked["reason"], "no certificate");
    }
}
