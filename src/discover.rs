//! Glob patterns → the list of artifacts, deduplicated and in a stable order.

use std::path::{Path, PathBuf};

use crate::config::{ArtifactsConfig, IfNoFilesFound, InputError, Pattern, Workspace};

/// One file the patterns matched. Every later stage keeps the artifacts in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Where to read it (for an artifact hashed elsewhere: the checksum list that names it).
    pub path: PathBuf,
    /// Relative to the working directory with `/` separators, or as a checksum list writes it:
    /// what reports and annotations show.
    pub name: String,
    /// In bytes, when discovered; `None` for an artifact hashed elsewhere, which is not here.
    pub size: Option<u64>,
}

/// When the patterns matched nothing: an input error (`if-no-files-found: error`, the default),
/// a warning to report (`warn`), or nothing (`ignore`).
pub fn nothing_found(cfg: &ArtifactsConfig, found: &[Artifact]) -> Result<Option<String>, InputError> {
    if !found.is_empty() || cfg.patterns.is_empty() {
        return Ok(None);
    }
    let patterns: Vec<String> = cfg
        .patterns
        .iter()
        .map(|p| match p {
            Pattern::Include(s) => s.clone(),
            Pattern::Exclude(s) => format!("!{s}"),
        })
        .collect();
    let message = format!("no file matched {} in `{}`", patterns.join(", "), cfg.working_directory.display());
    match cfg.if_no_files_found {
        IfNoFilesFound::Error => {
            Err(bad(format!("{message}: check the patterns and working-directory, or set if-no-files-found to warn")))
        }
        IfNoFilesFound::Warn => Ok(Some(message)),
        IfNoFilesFound::Ignore => Ok(None),
    }
}

fn bad(message: String) -> InputError {
    InputError { input: "artifacts", message }
}

/// Expands the include patterns, drops what an exclude matches, sorts by name.
///
/// The walk is our own rather than `glob::glob`'s, which silently skips names that are not
/// UTF-8 and follows directory symlink loops forty levels deep: here such names are matched
/// (lossily) and refused, and a loop is an error. Each pattern's walk starts below its literal
/// prefix and goes no deeper than the pattern can match.
///
/// Directories that a wildcard happens to match are skipped (`dist/*` means the files in
/// `dist`); a pattern without wildcards that names a directory is a mistake and says so.
/// Files that cannot be signed meaningfully (empty, unreadable, unnamed in UTF-8, a FIFO or a
/// device, which are told by their metadata and never opened) are input errors here rather than
/// surprises on the server or a hang. So is a file a symlink leads to outside the working
/// directory, unless `follow-symlinks: outside` allows it.
pub fn discover(working_directory: &Workspace, patterns: &[Pattern]) -> Result<Vec<Artifact>, InputError> {
    let excludes: Vec<glob::Pattern> = patterns
        .iter()
        .filter_map(|p| match p {
            Pattern::Exclude(e) => Some(e),
            Pattern::Include(_) => None,
        })
        .map(|e| glob::Pattern::new(e).map_err(|err| bad(format!("`!{e}` is not a valid glob pattern: {}", err.msg))))
        .collect::<Result<_, _>>()?;
    let mut found: Vec<Artifact> = Vec::new();
    for pattern in patterns {
        let Pattern::Include(text) = pattern else { continue };
        let include =
            glob::Pattern::new(text).map_err(|e| bad(format!("`{text}` is not a valid glob pattern: {}", e.msg)))?;
        let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
        let literal = parts.iter().take_while(|p| !p.contains(['*', '?', '['])).count();
        let prefix: PathBuf = parts[..literal].iter().collect();
        if literal == parts.len() {
            literal_match(working_directory, &prefix, text, &excludes, &mut found)?;
            continue;
        }
        let rest = &parts[literal..];
        let depth = if rest.contains(&"**") { usize::MAX } else { rest.len() };
        let start = working_directory.join(&prefix);
        if !start.is_dir() {
            continue;
        }
        let mut walk = Walk { include: &include, excludes: &excludes, found: &mut found, ancestors: Vec::new() };
        walk.dir(&start, &prefix, depth)?;
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    // The same file under two names (through a symlinked directory, say) would be
    // pre-qualified and signed twice.
    let mut seen: std::collections::HashMap<PathBuf, &str> = std::collections::HashMap::new();
    for a in &found {
        let real = std::fs::canonicalize(&a.path).map_err(|e| bad(format!("`{}` cannot be read ({e})", a.name)))?;
        if !working_directory.admits(&real) {
            return Err(bad(format!(
                "`{}` leads through a symlink to `{}`, outside working-directory: move the file into it, \
                 exclude it with `!{}`, or set follow-symlinks: outside to sign what the link points to",
                a.name,
                real.display(),
                a.name
            )));
        }
        if let Some(first) = seen.insert(real, &a.name) {
            return Err(bad(format!("`{}` is `{first}` again, through a symlink: exclude one with `!`", a.name)));
        }
    }
    Ok(found)
}

const OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: !cfg!(windows),
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// `/`-separated, with any byte that is not UTF-8 shown as U+FFFD so that `*` still matches it.
fn display_name(rel: &Path) -> String {
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn excluded(name: &str, excludes: &[glob::Pattern]) -> bool {
    excludes.iter().any(|x| x.matches_with(name, OPTIONS))
}

/// A pattern with no wildcard names one file.
fn literal_match(
    root: &Path,
    rel: &Path,
    text: &str,
    excludes: &[glob::Pattern],
    found: &mut Vec<Artifact>,
) -> Result<(), InputError> {
    let path = root.join(rel);
    let name = display_name(rel);
    if excluded(&name, excludes) || std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    let meta = std::fs::metadata(&path).map_err(|e| bad(format!("`{name}` cannot be read ({e})")))?;
    if meta.is_dir() {
        return Err(bad(format!("`{text}` is a directory: use `{text}/**/*` to sign the files in it")));
    }
    accept(path, rel, name, &meta, found)
}

fn accept(
    path: PathBuf,
    rel: &Path,
    name: String,
    meta: &std::fs::Metadata,
    found: &mut Vec<Artifact>,
) -> Result<(), InputError> {
    if rel.to_str().is_none() {
        return Err(bad(format!("`{name}` is not a UTF-8 file name: rename it or exclude it with `!`")));
    }
    // A newline in a name would let a file write workflow commands into the log.
    if name.chars().any(char::is_control) {
        return Err(bad(format!("`{}` has a control character in its name: rename it", name.escape_debug())));
    }
    // A FIFO or a device has no size to go by: read, it would hang the run or never end.
    if let Some(kind) = crate::digest::not_regular(meta) {
        return Err(bad(format!("`{name}` {kind}, not a file that can be signed: exclude it with `!{name}`")));
    }
    let size = meta.len();
    if size == 0 {
        return Err(bad(format!(
            "`{name}` is empty (0 bytes): a failed build step? exclude it with `!{name}` if intended"
        )));
    }
    found.push(Artifact { path, name, size: Some(size) });
    Ok(())
}

struct Walk<'a> {
    include: &'a glob::Pattern,
    excludes: &'a [glob::Pattern],
    found: &'a mut Vec<Artifact>,
    /// Canonical paths of the directories being walked, to tell a symlink loop.
    ancestors: Vec<PathBuf>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, rel: &Path, depth: usize) -> Result<(), InputError> {
        if depth == 0 {
            return Ok(());
        }
        let shown = display_name(rel);
        let canonical = std::fs::canonicalize(dir).map_err(|e| bad(format!("cannot read `{shown}` ({e})")))?;
        if self.ancestors.contains(&canonical) {
            return Err(bad(format!(
                "`{shown}` is a symlink loop (it leads back to a directory above it): exclude it with `!{shown}`"
            )));
        }
        self.ancestors.push(canonical);
        let entries = std::fs::read_dir(dir).map_err(|e| bad(format!("cannot read directory `{shown}` ({e})")))?;
        for entry in entries {
            let entry = entry.map_err(|e| bad(format!("cannot read directory `{shown}` ({e})")))?;
            let path = entry.path();
            let child = rel.join(entry.file_name());
            let name = display_name(&child);
            if excluded(&name, self.excludes) || name == crate::config::RUNS_FOLDER {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path, &child, depth.saturating_sub(1))?,
                Ok(meta) if self.include.matches_with(&name, OPTIONS) => {
                    accept(path, &child, name, &meta, self.found)?;
                }
                // A dangling symlink or a file loop: it cannot be signed, and skipping it would
                // be a silent green.
                Err(e) if self.include.matches_with(&name, OPTIONS) => {
                    return Err(bad(format!("`{name}` cannot be read ({e})")))
                }
                Ok(_) | Err(_) => {}
            }
        }
        self.ancestors.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in ["dist/a.exe", "dist/b.exe", "dist/b.pdb", "dist/sub/c.exe", "dist/sub/c.dll", "other/d.exe"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f).unwrap();
        }
        dir
    }

    fn ws(dir: &Path) -> Workspace {
        Workspace::new(dir.to_path_buf(), crate::config::FollowSymlinks::Inside).unwrap()
    }

    fn names(found: Vec<Artifact>) -> Vec<String> {
        found.into_iter().map(|a| a.name).collect()
    }

    #[test]
    fn globs_excludes_dedupes_and_sorts() {
        let dir = tree();
        let pats = vec![
            Pattern::Include("dist/**/*".into()),
            Pattern::Include("dist/*.exe".into()),
            Pattern::Exclude("**/*.pdb".into()),
            Pattern::Exclude("dist/sub/*.dll".into()),
        ];
        assert_eq!(names(discover(&ws(dir.path()), &pats).unwrap()), ["dist/a.exe", "dist/b.exe", "dist/sub/c.exe"]);
    }

    #[test]
    fn star_does_not_cross_directories() {
        let dir = tree();
        assert_eq!(
            names(discover(&ws(dir.path()), &[Pattern::Include("*/*.exe".into())]).unwrap()),
            ["dist/a.exe", "dist/b.exe", "other/d.exe"]
        );
    }

    #[test]
    fn literal_directory_and_empty_file_are_errors() {
        let dir = tree();
        let e = discover(&ws(dir.path()), &[Pattern::Include("dist".into())]).unwrap_err();
        assert!(e.message.contains("dist/**/*"), "{e}");
        std::fs::write(dir.path().join("dist/empty.exe"), b"").unwrap();
        let e = discover(&ws(dir.path()), &[Pattern::Include("dist/*.exe".into())]).unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_an_error_not_forty_copies() {
        let dir = tree();
        std::os::unix::fs::symlink("..", dir.path().join("dist/sub/up")).unwrap();
        let e = discover(&ws(dir.path()), &[Pattern::Include("dist/**/*.exe".into())]).unwrap_err();
        assert!(e.message.contains("symlink loop"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_matched_and_refused() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tree();
        std::fs::write(dir.path().join("dist").join(std::ffi::OsStr::from_bytes(b"bad-\xff.exe")), b"x").unwrap();
        let e = discover(&ws(dir.path()), &[Pattern::Include("dist/*.exe".into())]).unwrap_err();
        assert!(e.message.contains("not a UTF-8 file name"), "{e}");
    }

    #[test]
    fn a_newline_in_a_name_is_refused() {
        let dir = tree();
        std::fs::write(dir.path().join("dist/evil\n::error::x.exe"), b"x").unwrap();
        let e = discover(&ws(dir.path()), &[Pattern::Include("dist/*.exe".into())]).unwrap_err();
        assert!(e.message.contains("control character") && !e.message.contains('\n'), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_workspace_is_refused_unless_allowed() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.exe"), b"not ours").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.exe"), dir.path().join("dist/link.exe")).unwrap();
        let pats = [Pattern::Include("dist/*.exe".into())];
        let e = discover(&ws(dir.path()), &pats).unwrap_err();
        assert!(
            e.message.contains("`dist/link.exe` leads through a symlink")
                && e.message.contains("follow-symlinks: outside"),
            "{e}"
        );
        let anywhere = Workspace::new(dir.path().to_path_buf(), crate::config::FollowSymlinks::Outside).unwrap();
        assert_eq!(names(discover(&anywhere, &pats).unwrap()), ["dist/a.exe", "dist/b.exe", "dist/link.exe"]);
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_named_not_called_empty() {
        let dir = tree();
        let made = std::process::Command::new("mkfifo").arg(dir.path().join("dist/pipe.exe")).status().unwrap();
        assert!(made.success());
        let e = discover(&ws(dir.path()), &[Pattern::Include("dist/*.exe".into())]).unwrap_err();
        assert!(e.message.contains("`dist/pipe.exe` is a FIFO"), "{e}");
        std::os::unix::fs::symlink("/dev/null", dir.path().join("other/null.exe")).unwrap();
        let anywhere = Workspace::new(dir.path().to_path_buf(), crate::config::FollowSymlinks::Outside).unwrap();
        let e = discover(&anywhere, &[Pattern::Include("other/null.exe".into())]).unwrap_err();
        assert!(e.message.contains("`other/null.exe` is a device"), "{e}");
    }

    #[test]
    fn no_match_is_an_empty_list() {
        let dir = tree();
        assert!(discover(&ws(dir.path()), &[Pattern::Include("*.msi".into())]).unwrap().is_empty());
    }
}
