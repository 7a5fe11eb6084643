//! `resume-from`: an earlier run's report, whose sign requests this run waits for instead of
//! asking TPP and AppViewX for everything again. A re-run after a timeout would otherwise make
//! new pre-qualifications, pre-approvals and sign requests, and approvers would see duplicates.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::appviewx::{AppViewXConfig, AvxWork};
use super::inputs::{bad, InputError, Inputs};
use super::paths::Workspace;
use super::tpp::TppConfig;
use crate::digest::HashAlgorithm;

/// A report is a few hundred bytes per artifact: this is far beyond any real one.
const MAX_REPORT: u64 = 256 * 1024 * 1024;

/// The sign requests of an earlier run that this run may wait for instead of submitting anew.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Where it was read from, or the earlier check run it came from.
    pub from: String,
    /// Each artifact the earlier run submitted and that did not finally fail.
    pub requests: Vec<Resumable>,
}

/// One earlier sign request, and the artifact it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumable {
    /// The artifact's name, as the report gives it.
    pub name: String,
    /// Its digest, lower-case hex: a changed file is not resumed.
    pub hex: String,
    /// AppViewX's sign id.
    pub sign_id: String,
}

/// What of a report (`report_version` 1) resuming reads; everything else is ignored.
#[derive(Debug, Deserialize)]
pub struct EarlierReport {
    report_version: u32,
    hash_algorithm: String,
    #[serde(default)]
    environment_dn: Option<String>,
    #[serde(default)]
    appviewx_signing_policy: Option<String>,
    #[serde(default)]
    appviewx_signing_key: Option<String>,
    #[serde(default)]
    artifacts: Vec<EarlierArtifact>,
}

#[derive(Debug, Deserialize)]
struct EarlierArtifact {
    name: String,
    digest: Option<EarlierDigest>,
    sign: Option<EarlierSign>,
}

#[derive(Debug, Deserialize)]
struct EarlierDigest {
    hex: String,
}

#[derive(Debug, Deserialize)]
struct EarlierSign {
    sign_id: Option<String>,
    status: String,
}

/// Reads `resume-from`; `None` without it.
pub(super) fn resume_from(
    inputs: &Inputs,
    cwd: &Path,
    workspace: &Workspace,
    tpp: Option<&TppConfig>,
    appviewx: Option<&AppViewXConfig>,
    algorithm: HashAlgorithm,
) -> Result<Option<Resume>, InputError> {
    let Some(p) = inputs.trimmed("resume-from") else {
        return Ok(None);
    };
    let path = cwd.join(p);
    workspace.check("resume-from", &path)?;
    let report = read(&path)?;
    let shown = path.display().to_string();
    earlier(report, &shown, "resume-from", tpp, appviewx, algorithm).map(Some)
}

fn read(path: &PathBuf) -> Result<EarlierReport, InputError> {
    let shown = path.display();
    let cannot = |e: std::io::Error| {
        bad("resume-from", format!("`{shown}` cannot be read ({e}): give the report of an earlier run"))
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if let Some(kind) = crate::digest::not_regular(&meta) {
        return Err(bad("resume-from", format!("`{shown}` {kind}: give the report (JSON) of an earlier run")));
    }
    let mut bytes = Vec::new();
    crate::digest::open_regular(path).and_then(|f| f.take(MAX_REPORT).read_to_end(&mut bytes)).map_err(cannot)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        bad(
            "resume-from",
            format!("`{shown}` is not a codesign-gate report ({e}): give the report-path of an earlier run"),
        )
    })
}

/// The sign requests of an earlier run's record, once it is shown to be for the same
/// environment, policy, key and hash algorithm as this run.
pub fn earlier(
    report: EarlierReport,
    from: &str,
    input: &'static str,
    tpp: Option<&TppConfig>,
    appviewx: Option<&AppViewXConfig>,
    algorithm: HashAlgorithm,
) -> Result<Resume, InputError> {
    if report.report_version != 1 {
        return Err(bad(
            input,
            format!("`{from}` is a report of version {}; this gate reads version 1", report.report_version),
        ));
    }
    let Some(AvxWork::Submit { signing_policy, signing_key }) = appviewx.map(|a| &a.work) else {
        return Err(bad(
            input,
            "needs appviewx-url, appviewx-signing-policy and appviewx-signing-key: resuming waits for sign requests",
        ));
    };
    let differences = [
        ("hash-algorithm", Some(report.hash_algorithm.as_str()), Some(algorithm.name())),
        ("environment-dn", report.environment_dn.as_deref(), tpp.map(|t| t.environment_dn.as_str())),
        ("appviewx-signing-policy", report.appviewx_signing_policy.as_deref(), Some(signing_policy.as_str())),
        ("appviewx-signing-key", report.appviewx_signing_key.as_deref(), Some(signing_key.as_str())),
    ];
    for (name, then, now) in differences {
        if then != now {
            let show = |v: Option<&str>| v.map_or_else(|| "none".to_string(), |v| format!("`{v}`"));
            return Err(bad(
                input,
                format!(
                    "`{from}` was made with {name} {}, this run has {}: its sign requests are not this run's to wait for; \
                     give a report of this environment, policy and key, or remove {input}",
                    show(then),
                    show(now)
                ),
            ));
        }
    }
    let requests = report
        .artifacts
        .into_iter()
        .filter_map(|a| {
            let sign = a.sign?;
            // Signed, still pending or timed out: AppViewX may still answer it signed.
            let alive = matches!(sign.status.as_str(), "signed" | "pending" | "timed-out");
            Some(Resumable {
                name: a.name,
                hex: a.digest?.hex.to_ascii_lowercase(),
                sign_id: sign.sign_id.filter(|_| alive)?,
            })
        })
        .collect();
    Ok(Resume { from: from.to_string(), requests })
}
