//! Where one run's report and signatures go, and how they are written.
//!
//! Several gates often run at once on one machine: a job matrix, two executors of one agent,
//! two gate steps in one job. A shared default path would let one run's report or signature
//! silently replace another's, so every run claims a folder of its own when it starts, and no
//! file is ever overwritten: a name already taken is an error that names the path.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::config::{InputError, ReportTarget};

const REPORT_NAME: &str = "codesign-gate-report.json";
const SIGNATURES_FOLDER: &str = "codesign-gate-signatures";

/// The places this run writes to, claimed before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// The JSON report.
    pub report: PathBuf,
    /// The folder for the `.signed` files.
    pub signatures: PathBuf,
    /// The folder made for this run: the run folder, or with `report-path` the signatures
    /// folder beside the report. Making it is the claim, so two runs cannot both hold it.
    pub claimed: PathBuf,
    /// Whether `claimed` is a run folder (holding the report too).
    run_folder: bool,
}

impl Outputs {
    /// Claims this run's places with `create_dir`, which fails rather than shares when another
    /// run made the same name first. A run folder's name starts with the UTC time to the
    /// millisecond, so `ls` lists runs in the order they started. With `report-path`, the
    /// signatures go to `<report name>-signatures/` beside it, so two reports in one folder
    /// never share signatures.
    pub fn claim(target: &ReportTarget, now: SystemTime) -> Result<Outputs, InputError> {
        match target {
            ReportTarget::File(report) => Self::claim_file(report),
            ReportTarget::RunFolder(base) => Self::claim_run_folder(base, now),
        }
    }

    /// `report-path`: the report's name must be free (not even a dangling link holds it), and
    /// the signatures folder beside it is made.
    fn claim_file(report: &Path) -> Result<Outputs, InputError> {
        let stem = report.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
        let signatures = report.with_file_name(format!("{stem}-signatures"));
        let taken = |what: &Path| {
            clash(format!(
                "`{}` exists (another run's?) and is never overwritten: remove it, give a new file name, \
                 or leave report-path unset so each run gets a folder of its own",
                what.display()
            ))
        };
        // `symlink_metadata`: a dangling link "does not exist" to `exists()`, and the
        // report would then be written through it.
        if std::fs::symlink_metadata(report).is_ok() {
            return Err(taken(report));
        }
        let parent = signatures.parent().unwrap_or(Path::new("."));
        match std::fs::create_dir_all(parent).and_then(|()| std::fs::create_dir(&signatures)) {
            Ok(()) => {
                Ok(Outputs { report: report.to_path_buf(), claimed: signatures.clone(), signatures, run_folder: false })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(taken(&signatures)),
            Err(e) => Err(clash(format!("cannot create `{}` ({e}): give a writable place", signatures.display()))),
        }
    }

    /// A new folder in `base`, which is never a symlink: the run writes where it says.
    fn claim_run_folder(base: &Path, now: SystemTime) -> Result<Outputs, InputError> {
        let cannot = |e: io::Error| {
            clash(format!(
                "cannot create a folder for this run in `{}` ({e}): set report-path to a writable place",
                base.display()
            ))
        };
        if std::fs::symlink_metadata(base).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(clash(format!(
                "`{}` is a symlink, and run folders are never made through one: remove it, \
                 or set report-path to a file name",
                base.display()
            )));
        }
        std::fs::create_dir_all(base).map_err(cannot)?;
        let stem = format!("{}-{}", run_stamp(now), std::process::id());
        for n in 1..=100 {
            let name = if n == 1 { stem.clone() } else { format!("{stem}-{n}") };
            let dir = base.join(name);
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    return Ok(Outputs {
                        report: dir.join(REPORT_NAME),
                        signatures: dir.join(SIGNATURES_FOLDER),
                        claimed: dir,
                        run_folder: true,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(cannot(e)),
            }
        }
        Err(cannot(io::Error::new(io::ErrorKind::AlreadyExists, "100 runs started in the same millisecond")))
    }

    /// The folder to name when telling the user where to look.
    pub fn folder(&self) -> &Path {
        if self.run_folder {
            &self.claimed
        } else {
            self.report.parent().unwrap_or(Path::new("."))
        }
    }

    /// Removes the folder this run made if it holds nothing: after an input error or a failed
    /// setup (an empty folder per typo would litter the workspace), or a run that signed nothing.
    pub fn release_if_empty(&self) {
        // Fails, as it should, when the folder is not empty.
        let _ = std::fs::remove_dir(&self.signatures);
        let _ = std::fs::remove_dir(&self.claimed);
    }
}

fn clash(message: String) -> InputError {
    InputError { input: "report-path", message }
}

/// `20261129T234512.345Z`: sorts as the time does, and is a valid file name on every OS.
fn run_stamp(now: SystemTime) -> String {
    let since = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let civil = crate::civil::format_utc(secs).replace(['-', ':'], "");
    format!("{civil}.{:03}Z", since.subsec_millis())
}

/// Writes a file that must not exist yet, whole or not at all. The bytes go to a temporary
/// file in the same folder, which is then hard-linked to the name: a link fails when the name
/// is taken, where a rename would replace the file on every OS. Where the file system has no
/// hard links, the file is created with `create_new`, which still never replaces one.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_new_with(path, &|w| w.write_all(bytes))
}

/// [`write_new`], with the content written by `write` through a buffer: a report of many
/// artifacts is streamed to its file rather than built whole in memory first.
pub fn write_new_with(path: &Path, write: &dyn Fn(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    // Short, so that a name near the file system's 255-byte limit still has a temporary file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".cg-{}-{}.tmp", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let written = write_synced(&tmp, write, false).and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => write_synced(path, write, true),
        linked => linked,
    });
    let _ = std::fs::remove_file(&tmp);
    written.map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => {
            io::Error::new(e.kind(), "it exists already (written by another run?) and was left as it was")
        }
        _ => e,
    })
}

/// Writes a file whole, replacing one of that name: the bytes go to a temporary file beside it,
/// which is then renamed over the name. A rename replaces a link at the name, never the file a
/// link points to.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".cg-{}-r{}.tmp", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let written = write_synced(&tmp, &|w| w.write_all(bytes), true).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_synced(path: &Path, write: &dyn Fn(&mut dyn Write) -> io::Result<()>, create_new: bool) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    let mut file = io::BufWriter::with_capacity(1 << 16, options.open(path)?);
    write(&mut file)?;
    file.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn run_folders_are_unique_and_sort_by_time() {
        let base = tempfile::tempdir().unwrap();
        let target = ReportTarget::RunFolder(base.path().join("codesign-gate"));
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_996_800_123);
        let first = Outputs::claim(&target, t).unwrap();
        let second = Outputs::claim(&target, t).unwrap();
        let later = Outputs::claim(&target, t + Duration::from_millis(1)).unwrap();
        let name = |o: &Outputs| o.folder().file_name().unwrap().to_string_lossy().into_owned();
        let pid = std::process::id();
        assert_eq!(name(&first), format!("20261130T000000.123Z-{pid}"));
        assert_eq!(name(&second), format!("20261130T000000.123Z-{pid}-2"));
        assert!(name(&later) > name(&second), "{} sorts after {}", name(&later), name(&second));
        assert_eq!(first.report, first.folder().join("codesign-gate-report.json"));
        assert_eq!(first.signatures, first.folder().join("codesign-gate-signatures"));
        assert_eq!(first.claimed, first.folder());
        first.release_if_empty();
        assert!(!first.folder().exists());
        std::fs::write(second.folder().join("x"), "kept").unwrap();
        second.release_if_empty();
        assert!(second.folder().exists(), "a folder with something in it stays");
    }

    #[test]
    fn a_given_report_path_claims_its_own_signatures_folder() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("out/r.json");
        let target = ReportTarget::File(report.clone());
        let first = Outputs::claim(&target, SystemTime::now()).unwrap();
        assert_eq!(first.signatures, dir.path().join("out/r-signatures"));
        assert!(first.signatures.is_dir(), "made when claimed");
        assert_eq!(first.folder(), dir.path().join("out"));
        // A second run with the same report-path, while the first still runs: refused.
        let e = Outputs::claim(&target, SystemTime::now()).unwrap_err();
        assert_eq!(e.input, "report-path");
        assert!(e.message.contains(&first.signatures.display().to_string()), "{e}");
        // Another report in the same folder has signatures of its own.
        let other = Outputs::claim(&ReportTarget::File(dir.path().join("out/s.json")), SystemTime::now()).unwrap();
        assert_eq!(other.signatures, dir.path().join("out/s-signatures"));
        // Once the first run wrote its report and signed nothing, its path stays taken.
        std::fs::write(&report, "{}").unwrap();
        first.release_if_empty();
        assert!(!first.signatures.exists(), "an empty signatures folder is removed");
        let e = Outputs::claim(&target, SystemTime::now()).unwrap_err();
        assert!(e.message.contains(&report.display().to_string()), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_never_followed_to_a_report_or_a_run_folder() {
        let dir = tempfile::tempdir().unwrap();
        let dangling = dir.path().join("r.json");
        std::os::unix::fs::symlink(dir.path().join("nowhere.json"), &dangling).unwrap();
        let e = Outputs::claim(&ReportTarget::File(dangling), SystemTime::now()).unwrap_err();
        assert_eq!(e.input, "report-path");
        assert!(!dir.path().join("nowhere.json").exists());
        let elsewhere = tempfile::tempdir().unwrap();
        let base = dir.path().join("codesign-gate");
        std::os::unix::fs::symlink(elsewhere.path(), &base).unwrap();
        let e = Outputs::claim(&ReportTarget::RunFolder(base), SystemTime::now()).unwrap_err();
        assert!(e.message.contains("is a symlink"), "{e}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing made through the link");
    }

    #[test]
    fn write_new_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.signed");
        write_new(&path, b"first").unwrap();
        let e = write_new(&path, b"second").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let left: Vec<_> =
            std::fs::read_dir(dir.path().join("sub")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("a.signed")], "no temporary file is left behind");
    }
}
