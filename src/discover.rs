//! Glob patterns → the list of artifacts, deduplicated and in a stable order.

use std::path::{Path, PathBuf};

use crate::config::{InputError, Pattern};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Where to read it.
    pub path: PathBuf,
    /// Relative to the working directory with `/` separators: what reports and annotations show.
    pub name: String,
    pub size: u64,
}

fn bad(message: String) -> InputError {
    InputError { input: "artifacts", message }
}

/// Expands the include patterns, drops what an exclude matches, sorts by name.
///
/// Directories that a wildcard happens to match are skipped (`dist/*` means the files in
/// `dist`); a pattern without wildcards that names a directory is a mistake and says so.
/// Files that cannot be signed meaningfully — empty ones, names that are not UTF-8 — are input
/// errors here rather than surprises on the server.
pub fn discover(working_directory: &Path, patterns: &[Pattern]) -> Result<Vec<Artifact>, InputError> {
    let options = glob::MatchOptions {
        case_sensitive: cfg!(not(windows)),
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let excludes: Vec<glob::Pattern> = patterns
        .iter()
        .filter_map(|p| match p {
            Pattern::Exclude(e) => Some(e),
            Pattern::Include(_) => None,
        })
        .map(|e| glob::Pattern::new(e).map_err(|err| bad(format!("`!{e}` is not a valid glob pattern: {}", err.msg))))
        .collect::<Result<_, _>>()?;
    let root = glob::Pattern::escape(&working_directory.to_string_lossy());
    let mut found: Vec<Artifact> = Vec::new();
    for pattern in patterns {
        let Pattern::Include(pat) = pattern else {
            continue;
        };
        let has_wildcard = pat.contains(['*', '?', '[']);
        let full = format!("{}/{}", root.trim_end_matches(['/', '\\']), pat);
        let paths = glob::glob_with(&full, options)
            .map_err(|e| bad(format!("`{pat}` is not a valid glob pattern: {}", e.msg)))?;
        for entry in paths {
            let path = entry.map_err(|e| {
                bad(format!("cannot read `{}` while expanding `{pat}`: {}", e.path().display(), e.error()))
            })?;
            let rel = path.strip_prefix(working_directory).unwrap_or(&path);
            let Some(name) = rel.to_str().map(|s| s.replace('\\', "/")) else {
                return Err(bad(format!(
                    "`{}` is not a UTF-8 file name: rename it or exclude it with `!`",
                    rel.to_string_lossy()
                )));
            };
            if excludes.iter().any(|x| x.matches_with(&name, options)) {
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(|e| bad(format!("`{name}` cannot be read ({e})")))?;
            if meta.is_dir() {
                if has_wildcard {
                    continue;
                }
                return Err(bad(format!("`{pat}` is a directory: use `{pat}/**/*` to sign the files in it")));
            }
            if meta.len() == 0 {
                return Err(bad(format!(
                    "`{name}` is empty (0 bytes): a failed build step? exclude it with `!{name}` if intended"
                )));
            }
            found.push(Artifact { path, name, size: meta.len() });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    Ok(found)
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
        assert_eq!(names(discover(dir.path(), &pats).unwrap()), ["dist/a.exe", "dist/b.exe", "dist/sub/c.exe"]);
    }

    #[test]
    fn star_does_not_cross_directories() {
        let dir = tree();
        assert_eq!(
            names(discover(dir.path(), &[Pattern::Include("*/*.exe".into())]).unwrap()),
            ["dist/a.exe", "dist/b.exe", "other/d.exe"]
        );
    }

    #[test]
    fn literal_directory_and_empty_file_are_errors() {
        let dir = tree();
        let e = discover(dir.path(), &[Pattern::Include("dist".into())]).unwrap_err();
        assert!(e.message.contains("dist/**/*"), "{e}");
        std::fs::write(dir.path().join("dist/empty.exe"), b"").unwrap();
        let e = discover(dir.path(), &[Pattern::Include("dist/*.exe".into())]).unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
    }

    #[test]
    fn no_match_is_an_empty_list() {
        let dir = tree();
        assert!(discover(dir.path(), &[Pattern::Include("*.msi".into())]).unwrap().is_empty());
    }
}
