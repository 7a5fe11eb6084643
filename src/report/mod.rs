//! Everything the user sees: progress lines, workflow commands, the job summary, step
//! outputs, the JSON audit record and the signature files. Renderers write to `impl Write` so
//! tests can assert their exact bytes.

pub mod attestation;
pub mod check_run;
pub mod github;
mod items;
pub mod json;
pub mod outputs;
pub mod record;
pub mod scrub;
pub mod summary;
pub mod terminal;
mod text;

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::cancel::Cancel;
use crate::config::{CheckRunConfig, Config};
use crate::github::{GithubClient, Repository};
use crate::http::{Http, HttpOptions};
use crate::outcome::Outcome;
use crate::secret::Secret;
use outputs::Outputs;
pub use scrub::escape_line;
use scrub::Secrets;

/// The progress stream (stdout). On GitHub it speaks workflow commands; elsewhere plain text.
/// It remembers every secret it was asked to mask, and redacts them from everything it writes
/// and from the outcome before the report is rendered ([`scrub`]).
pub struct Log {
    out: Mutex<Box<dyn Write + Send>>,
    github: bool,
    plan: bool,
    secrets: Mutex<Secrets>,
    items: Mutex<items::Items>,
}

impl Log {
    /// `github`: speak workflow commands rather than plain text.
    pub fn new(out: Box<dyn Write + Send>, github: bool) -> Self {
        Log {
            out: Mutex::new(out),
            github,
            plan: false,
            secrets: Mutex::new(Secrets::default()),
            items: Mutex::new(items::Items::default()),
        }
    }

    /// A plan's log: every progress line starts with `[plan]`, as a plan's stages run on
    /// placeholder answers and nothing they report was done.
    pub fn planning(mut self) -> Self {
        self.plan = true;
        self
    }

    /// Whether the log speaks workflow commands (the run is on GitHub Actions).
    pub fn github(&self) -> bool {
        self.github
    }

    /// Every secret it was asked to mask so far, to redact them from what it did not write.
    pub fn secrets(&self) -> Secrets {
        self.secrets.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The text with every known secret as `***`.
    fn redact(&self, text: &str) -> String {
        match self.secrets.lock() {
            Ok(secrets) => secrets.redact(text).into_owned(),
            // A thread panicked holding it: hide everything rather than risk a secret.
            Err(_) => scrub::HIDDEN.to_string(),
        }
    }

    fn write(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            // A closed stdout must not abort a signing run; the report files still carry it all.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// One progress line, escaped so that it cannot start a workflow command.
    pub fn info(&self, line: &str) {
        let label = if self.plan { "[plan] " } else { "" };
        self.write(&format!("{label}{}\n", escape_line(&self.redact(line))));
    }

    /// One line about one artifact: shown while its kind has lines left in this stage
    /// ([`items`]).
    pub fn item(&self, kind: &'static str, line: std::fmt::Arguments<'_>) {
        if self.items.lock().map_or(true, |mut items| items.admit(kind)) {
            self.info(&line.to_string());
        }
    }

    /// Says how many per-artifact lines the stage left out.
    fn close_items(&self) {
        let left_out = self.items.lock().map(|mut items| items.close()).unwrap_or_default();
        for line in left_out {
            self.info(&line);
        }
    }

    /// Tells the runner to hide a value from every later log line, and remembers it so that
    /// this run redacts it itself from every channel (the runner masks the log only). Outside
    /// GitHub there is no runner to tell, and printing the value would defeat the purpose.
    pub fn mask(&self, secret: &Secret) {
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.add(secret.expose());
        }
        if self.github {
            for line in secret.expose().lines().map(str::trim).filter(|l| !l.is_empty()) {
                // The value as it is, so that the runner masks exactly it.
                self.write(&format!("::add-mask::{}\n", scrub::percent_data(line)));
            }
        }
    }

    /// A warning annotation on GitHub; a `warning:` line elsewhere.
    pub fn warning(&self, message: &str) {
        if self.github {
            self.write(&format!("::warning title=codesign-gate::{}\n", github::escape_data(&self.redact(message))));
        } else {
            self.write(&format!("warning: {}\n", escape_line(&self.redact(message))));
        }
    }

    /// Opens a collapsible group in GitHub's log; elsewhere, a heading line.
    pub fn group(&self, name: &str) {
        self.close_items();
        if self.github {
            self.write(&format!("::group::{}\n", github::escape_data(&self.redact(name))));
        } else {
            self.write(&format!("── {}\n", escape_line(&self.redact(name))));
        }
    }

    /// Closes the group; nothing to close elsewhere.
    pub fn endgroup(&self) {
        self.close_items();
        if self.github {
            self.write("::endgroup::\n");
        }
    }

    /// Writes text unescaped (secrets aside): for the annotations and tables the report renders
    /// itself, each of its values already escaped for the log.
    pub fn raw(&self, text: &str) {
        self.write(&self.redact(text));
    }
}

impl crate::progress::Progress for Log {
    fn info(&self, line: &str) {
        Log::info(self, line);
    }

    fn item(&self, kind: &'static str, line: std::fmt::Arguments<'_>) {
        Log::item(self, kind, line);
    }

    fn mask(&self, secret: &Secret) {
        Log::mask(self, secret);
    }

    fn group(&self, name: &str) {
        Log::group(self, name);
    }

    fn endgroup(&self) {
        Log::endgroup(self);
    }
}

/// Writes the signature files, publishes the check run when one is asked for, then writes the
/// JSON report and the workflow's views of the outcome. Returns the problems met on the way (the
/// run's result is already decided by then; a check run that cannot be created is a warning).
pub async fn finish(
    outcome: &mut Outcome,
    config: &Config,
    places: &Outputs,
    log: &Log,
    cancel: &Cancel,
) -> Vec<String> {
    log.close_items();
    let mut failures = Vec::new();
    let beside_digest_files = config.artifacts.digest_files == crate::config::DigestFiles::PerFile;
    write_signatures(outcome, &places.signatures, beside_digest_files);
    // Once, before any renderer reads the outcome: after the signature files are named (they
    // carry the artifacts' own names), before the check run's body is rendered.
    let secrets = log.secrets();
    secrets.redact_outcome(outcome);
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from);
    // Before the report is written, so that its journal (or its plan) lists the check run's call.
    let before = scrub::Added::now(outcome);
    let check_run = match &config.check_run {
        Some(check) => Some(publish_check_run(check, outcome, config, workspace.as_deref(), cancel).await),
        None => None,
    };
    // Only the check run's own calls, warnings and planned request joined the outcome since.
    secrets.redact_added(outcome, before);
    if let Err(e) = outputs::write_new_with(&places.report, &|w| json::write(outcome, w)) {
        failures.push(format!("report-path: cannot write `{}`: {e}", places.report.display()));
    }
    let attested = attestation::write(outcome, config, &places.report, &mut failures);
    // A run that signed nothing leaves no empty signatures folder behind.
    places.release_if_empty();
    log_views(outcome, config, workspace.as_deref(), log);
    if let Some(path) = &config.github.summary_file {
        if let Err(e) = append_file(path, |w| summary::markdown(outcome, w)) {
            failures.push(format!("cannot append to GITHUB_STEP_SUMMARY `{}`: {e}", path.display()));
        }
    }
    if let Some(path) = &config.github.output_file {
        let delimiter = github::delimiter();
        if let Err(e) = append_file(path, |w| github::outputs(outcome, &places.report, &attested, &delimiter, w)) {
            failures.push(format!("cannot append to GITHUB_OUTPUT `{}`: {e}", path.display()));
        }
    }
    log.info(&format!("report: {}", places.report.display()));
    match check_run {
        Some(Ok(line)) => log.info(&line),
        // The signing verdict stands; the check run is a view of it.
        Some(Err(e)) => log.warning(&e),
        None => {}
    }
    failures
}

/// The log's views of the outcome: the planned requests, then annotations on GitHub (where the
/// table is in the summary) or the table elsewhere.
fn log_views(outcome: &Outcome, config: &Config, workspace: Option<&Path>, log: &Log) {
    let mut buf = Vec::new();
    let _ = terminal::planned_requests(outcome, &mut buf);
    log.raw(&String::from_utf8_lossy(&buf));
    let mut buf = Vec::new();
    if log.github() {
        let _ = github::annotations(outcome, &config.artifacts.working_directory, workspace, &mut buf);
        log.raw(&String::from_utf8_lossy(&buf));
        // The table, which says it outside GitHub, is in the summary here; the log says it too.
        if let Some(line) = text::signatures_line(outcome, &|s: &str| s.to_string()) {
            log.info(&format!("signatures: {line}"));
        }
    } else {
        let _ = terminal::table(outcome, &mut buf);
        log.raw(&String::from_utf8_lossy(&buf));
    }
}

/// Creates the check run and adds its call to the outcome's journal; answers the line to log.
///
/// `run` has returned and dropped its `Http` by now, so the check run gets one of its own, built
/// from the same options: `ca-certificates`, `request-timeout`, the deadline `timeout` set (what
/// the run left of it), the plan transport, and the run's cancellation (a check run is a
/// clean-up call, so it still goes out after one). Its calls, notes and planned requests then
/// join the run's, so the report reads as if one client had made them all. A plan records the
/// request and publishes nothing: a check run is a verdict on the commit, and a plan has none.
async fn publish_check_run(
    check: &CheckRunConfig,
    outcome: &mut Outcome,
    config: &Config,
    workspace: Option<&Path>,
    cancel: &Cancel,
) -> Result<String, String> {
    let body = check_run::render(check, outcome, &config.artifacts.working_directory, workspace);
    let run_so_far = Duration::from_millis(outcome.duration_ms);
    let http = Http::new(HttpOptions {
        request_timeout: config.request_timeout,
        ca_pem: config.ca_certificates.clone(),
        deadline: Instant::now() + config.timeout.saturating_sub(run_so_far),
        cancel: cancel.clone(),
        plan: config.plan.is_some(),
    })
    .map_err(|e| format!("check run `{}` not published: {e}", check.name))?;
    let repository = Repository {
        api_url: check.api_url.clone(),
        owner: check.owner.clone(),
        repo: check.repo.clone(),
        token: check.token.clone(),
    };
    let created = GithubClient::new(http.clone(), repository).create_check_run(&body).await;
    // This client started when the run ended: its times count on from there.
    outcome.calls.extend(http.calls().into_iter().map(|mut call| {
        call.at_ms += outcome.duration_ms;
        call
    }));
    for note in http.notes() {
        outcome.warning("http", note.artifact.as_deref(), format!("{}: {}", note.endpoint, note.message));
    }
    if let Some(plan) = outcome.plan.as_mut() {
        plan.requests.append(&http.take_planned());
        return Ok(format!("check run `{}` not published: this run is a plan", check.name));
    }
    match created {
        Ok(run) => Ok(format!("check run `{}`: {}", check.name, run.html_url.as_deref().unwrap_or("created"))),
        Err(e) => Err(format!("creating check run `{}` failed: {e}", check.name)),
    }
}

/// Appends to a file the runner reads (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`).
fn append_file(path: &Path, render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut w = std::io::BufWriter::new(file);
    render(&mut w)?;
    w.flush()
}

/// Each `encodedHashData` goes, byte for byte as AppViewX sent it, to
/// `<signatures folder>/<artifact>.signed`, the artifact's relative path
/// percent-encoded into one name (`dist%2Fapp.exe.signed`) so that two `setup.exe` in different
/// folders, or `a/b` and `a__b`, cannot collide. The name claims no encoding: the value may be
/// Base64 of a signature or a whole signed script (the status document shows both). Each file
/// is written whole or not at all, and never over another run's. A signature that cannot be
/// written fails its artifact (AppViewX signed it, but the user has nothing to use) and the
/// others are still written.
///
/// With `beside_digest_files` (`digest-files: true`), each raw signature is also written beside
/// its digest file as `<digest file>.signed`: for `app.exe.dig` from `signtool sign /dg`, that is
/// `app.exe.dig.signed`, the name `signtool sign /di` reads. That copy replaces an older one,
/// as the `.dig` it answers was just made anew.
fn write_signatures(outcome: &mut Outcome, dir: &Path, beside_digest_files: bool) {
    let mut targets: Vec<(Option<String>, Option<String>, String, &mut crate::outcome::SignRecord)> = Vec::new();
    // Only records with a signature to write (none in a plan), named before anything else.
    let has_signature = |s: &crate::outcome::SignRecord| s.detached.is_some() || s.encoded.is_some();
    for a in &mut outcome.artifacts {
        if let Some(s) = a.sign.as_mut().filter(|s| has_signature(s)) {
            let beside = beside_digest_files.then(|| format!("{}.signed", a.path));
            targets.push((Some(a.name.clone()), beside, signature_stem(&a.name), s));
        }
    }
    for s in outcome.awaited.iter_mut().filter(|s| has_signature(s)) {
        let stem = signature_stem(s.sign_id.as_deref().unwrap_or_default());
        targets.push((None, None, stem, s));
    }
    // Windows and macOS compare names without case: `App.exe` and `app.exe` from a list made
    // on Linux would be one file there.
    let mut taken = std::collections::HashSet::new();
    let mut failed = Vec::new();
    for (artifact, beside, stem, record) in targets {
        let (bytes, extension) = match (&record.detached, &record.encoded) {
            (Some(der), _) => (der.clone(), "p7s"),
            (None, Some(encoded)) => (encoded.as_bytes().to_vec(), "signed"),
            (None, None) => continue,
        };
        let mut name = format!("{stem}.{extension}");
        for n in 2.. {
            if taken.insert(name.to_lowercase()) {
                break;
            }
            name = format!("{stem}~{n}.{extension}");
        }
        let path = dir.join(name);
        let written = outputs::write_new(&path, &bytes).map_err(|e| (path.clone(), e)).and_then(|()| {
            record.signature_path = Some(path.to_string_lossy().into_owned());
            match beside.filter(|_| record.detached.is_none()) {
                Some(beside) => {
                    let beside = PathBuf::from(beside);
                    outputs::write_replacing(&beside, &bytes).map_err(|e| (beside.clone(), e))?;
                    record.signtool_path = Some(beside.to_string_lossy().into_owned());
                    Ok(())
                }
                None => Ok(()),
            }
        });
        if let Err((path, e)) = written {
            let message =
                format!("AppViewX signed it, but its signature cannot be written to `{}`: {e}", path.display());
            record.status = crate::outcome::SignStatus::Failed;
            record.message = Some(message.clone());
            failed.push((artifact, message));
        }
    }
    for (artifact, message) in failed {
        outcome.error("signature", artifact.as_deref(), message);
    }
}

/// Names Windows reserves for devices, whatever the extension: `NUL.exe.signed` cannot be made.
const DEVICE_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt1", "lpt2",
    "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// The artifact's relative path as one file name, the same on every OS: `%`, the separators
/// and every character Windows refuses in a name (`:*?"<>|`, control characters) become `%XX`,
/// and so does the first letter of a device name (`NUL`), so a name from a checksum list made on
/// Linux still gets its file on a Windows runner.
fn signature_stem(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    let base = out.split('.').next().unwrap_or_default().trim_end().to_ascii_lowercase();
    if DEVICE_NAMES.contains(&base.as_str()) {
        let first = out.remove(0);
        out.insert_str(0, &format!("%{:02X}", first as u32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_line, signature_stem};

    #[test]
    fn signature_names_are_one_portable_file_name() {
        assert_eq!(signature_stem("dist/app.exe"), "dist%2Fapp.exe");
        assert_eq!(signature_stem("a\\b:c%d"), "a%5Cb%3Ac%25d");
        assert_eq!(signature_stem("what?*\"<>|.exe"), "what%3F%2A%22%3C%3E%7C.exe");
        assert_eq!(signature_stem("tab\there"), "tab%09here");
        assert_eq!(signature_stem("dist/ünïcode.exe"), "dist%2Fünïcode.exe");
        assert_eq!(signature_stem("NUL.exe"), "%4EUL.exe");
        assert_eq!(signature_stem("com1"), "%63om1");
        assert_eq!(signature_stem("console.exe"), "console.exe");
    }

    #[test]
    fn escaped_lines_start_no_workflow_command() {
        assert_eq!(escape_line("key-user `x\n::warning::hi`"), "key-user `x\\n::warning::hi`");
        assert_eq!(escape_line("::error::x"), "\\::error::x");
        assert_eq!(escape_line("  ::error::x"), "\\  ::error::x");
        assert_eq!(escape_line("a ##[error]b"), "a ##\\[error]b");
        assert_eq!(escape_line("bell\u{7}\u{1b}[31mred\tok\r"), "bell\\u{7}\\u{1b}[31mred\tok\\r");
        assert_eq!(escape_line("plain: 50% done"), "plain: 50% done");
    }
}
