//! The working directory, and the paths given relative to it: a symlink in the workspace must
//! not carry a read or a write outside it (`..` and absolute patterns are refused, so a link
//! would be the way around) unless `follow-symlinks: outside` says so.

use std::io::Read as _;
use std::ops::Deref;
use std::path::{Component, Path, PathBuf};

use super::inputs::{bad, InputError, Inputs};

/// Where a symlink in the working directory may lead (`follow-symlinks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowSymlinks {
    /// `inside` (the default): only to somewhere inside the working directory.
    Inside,
    /// `outside`: anywhere, for a build that links its output in from elsewhere.
    Outside,
}

/// The working directory, and how far a symlink in it may lead. It derefs to the directory's
/// path as given, which reports show; [`Workspace::admits`] compares resolved paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    dir: PathBuf,
    /// The directory with every link resolved, which resolved paths are compared with.
    real: PathBuf,
    /// `follow-symlinks`.
    pub follow: FollowSymlinks,
}

impl Deref for Workspace {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.dir
    }
}

impl Workspace {
    /// `dir` must exist: its resolved path is what every other path is held to.
    pub fn new(dir: PathBuf, follow: FollowSymlinks) -> std::io::Result<Workspace> {
        let real = std::fs::canonicalize(&dir)?;
        Ok(Workspace { dir, real, follow })
    }

    /// Whether a resolved (canonical) path may be read or written: one inside the working
    /// directory, or any with `follow-symlinks: outside`.
    pub fn admits(&self, real: &Path) -> bool {
        self.follow == FollowSymlinks::Outside || real.starts_with(&self.real)
    }

    /// Where `path` really leads, when it is written inside the working directory but a symlink
    /// takes it (or the nearest part of it that exists) outside. A path written outside it (an
    /// absolute `/etc/ssl/…`, `$RUNNER_TEMP/…`) is the user's explicit choice, not a link's.
    fn escape(&self, path: &Path) -> Option<PathBuf> {
        let written = lexical(path);
        if self.follow == FollowSymlinks::Outside
            || !(written.starts_with(lexical(&self.dir)) || written.starts_with(&self.real))
        {
            return None;
        }
        let real = path.ancestors().find_map(|p| std::fs::canonicalize(p).ok())?;
        (!self.admits(&real)).then_some(real)
    }

    /// Refuses a path input that a symlink leads out of the working directory.
    pub(super) fn check(&self, input: &'static str, path: &Path) -> Result<(), InputError> {
        match self.escape(path) {
            Some(real) => Err(bad(
                input,
                format!(
                    "`{}` leads through a symlink to `{}`, outside working-directory: give a path that stays \
                     inside it, or set follow-symlinks: outside to allow links out of it",
                    path.display(),
                    real.display()
                ),
            )),
            None => Ok(()),
        }
    }
}

/// `inside` or `outside`.
pub(super) fn follow_symlinks(inputs: &Inputs) -> Result<FollowSymlinks, InputError> {
    match inputs.value("follow-symlinks").to_ascii_lowercase().as_str() {
        "inside" => Ok(FollowSymlinks::Inside),
        "outside" => Ok(FollowSymlinks::Outside),
        v => {
            Err(bad("follow-symlinks", format!("must be inside or outside, not `{}`", super::inputs::truncate(v, 40))))
        }
    }
}

/// `.` and `..` taken away as written, without asking the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The largest certificate file read (`ca-certificates`, `signing-certificate`): a bundle of
/// every public root is about 200 KiB.
const MAX_CERTIFICATES: u64 = 1024 * 1024;

/// Read and checked here so a bad path is an input error, not a TLS failure later.
pub(super) fn ca_certificates(
    inputs: &Inputs,
    cwd: &Path,
    workspace: &Workspace,
) -> Result<Option<Vec<u8>>, InputError> {
    let Some(bytes) = certificate_file(inputs, "ca-certificates", cwd, workspace, "a PEM file of CA certificates")?
    else {
        return Ok(None);
    };
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        let shown = inputs.trimmed("ca-certificates").unwrap_or_default();
        return Err(bad(
            "ca-certificates",
            format!("`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)", cwd.join(shown).display()),
        ));
    }
    Ok(Some(bytes))
}

/// A certificate file an input names: inside the workspace (unless `follow-symlinks` allows
/// otherwise), a regular file of at most 1 MiB, as `/dev/zero` never ends and a FIFO never opens.
pub(super) fn certificate_file(
    inputs: &Inputs,
    input: &'static str,
    cwd: &Path,
    workspace: &Workspace,
    what: &str,
) -> Result<Option<Vec<u8>>, InputError> {
    let Some(p) = inputs.trimmed(input) else {
        return Ok(None);
    };
    let path = cwd.join(p);
    workspace.check(input, &path)?;
    let shown = path.display();
    let cannot = |e: std::io::Error| bad(input, format!("`{shown}` cannot be read ({e})"));
    let meta = std::fs::metadata(&path).map_err(cannot)?;
    if let Some(kind) = crate::digest::not_regular(&meta) {
        return Err(bad(input, format!("`{shown}` {kind}: give {what}")));
    }
    let too_large = || bad(input, format!("`{shown}` is larger than 1 MiB: give {what}, and only that"));
    if meta.len() > MAX_CERTIFICATES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    crate::digest::open_regular(&path)
        .and_then(|f| f.take(MAX_CERTIFICATES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_CERTIFICATES {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// `report-path` names a file that must not exist yet, and is never written through a link: a
/// dangling link would pass a "does not exist" check and then be written through.
pub(super) fn report_file(path: &Path, workspace: &Workspace) -> Result<(), InputError> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(bad(
                "report-path",
                format!("`{shown}` is a symlink, and the report is never written through one: remove it or give a new file name"),
            ))
        }
        Ok(m) if m.is_dir() => {
            return Err(bad("report-path", format!("`{shown}` is a directory: give a file name such as report.json")))
        }
        _ => {}
    }
    workspace.check("report-path", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_drops_dots() {
        assert_eq!(lexical(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_workspace_escapes_unless_allowed() {
        let outside = tempfile::tempdir().unwrap();
        let ws = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.path().join("out")).unwrap();
        std::fs::create_dir(ws.path().join("in")).unwrap();
        let inside = Workspace::new(ws.path().to_path_buf(), FollowSymlinks::Inside).unwrap();
        assert!(inside.escape(&ws.path().join("out/new/r.json")).is_some(), "through an existing link");
        assert!(inside.escape(&ws.path().join("out/../x")).is_some(), "`..` after a link leaves too");
        assert!(inside.escape(&ws.path().join("in/new/r.json")).is_none());
        assert!(inside.escape(&outside.path().join("r.json")).is_none(), "written outside: the user's choice");
        let anywhere = Workspace::new(ws.path().to_path_buf(), FollowSymlinks::Outside).unwrap();
        assert!(anywhere.escape(&ws.path().join("out/r.json")).is_none());
    }
}
