//! What to sign: the patterns, the directory they start from, and how to digest the files.

use std::path::{Component, Path, PathBuf};

use super::inputs::{bad, env_var, truncate, InputError, Inputs};
use super::paths::{FollowSymlinks, Workspace};
use crate::digest::HashAlgorithm;

/// What an empty match means: usually a broken build, sometimes a legitimately empty release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IfNoFilesFound {
    /// Stop before anything is sent: a gate that signs nothing must not look green.
    Error,
    /// Carry on, with a warning in the log and the report.
    Warn,
    /// Carry on silently, for workflows where nothing to sign is normal.
    Ignore,
}

/// What the matched files are: the artifacts themselves, or digests of artifacts made elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestFiles {
    /// `false` (the default): the files are the artifacts, hashed here.
    Off,
    /// `true`: each file holds one precomputed digest (e.g. a `.dig` from `signtool sign /dg`)
    /// and names the artifact itself.
    PerFile,
    /// `list`: each file is a `sha256sum`-style checksum list, one artifact per line, for
    /// pipelines that hash on another machine.
    List,
}

/// One line of `artifacts`, relative to the working directory and with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Files to sign.
    Include(String),
    /// A `!` line: files the includes would match that must not be signed (e.g. `**/*.pdb`).
    Exclude(String),
}

/// The artifact inputs, checked and resolved.
#[derive(Debug, Clone)]
pub struct ArtifactsConfig {
    /// Empty only when sign-ids waits for existing requests and nothing new is hashed.
    pub patterns: Vec<Pattern>,
    /// Checked to be a readable directory before anything is sent; it carries `follow-symlinks`,
    /// how far a symlink in it may lead.
    pub working_directory: Workspace,
    /// Decided here, applied after discovery.
    pub if_no_files_found: IfNoFilesFound,
    /// The same digest is pre-qualified and signed, so one algorithm serves both stages.
    pub hash_algorithm: HashAlgorithm,
    /// Whether the files are hashed, or hold digests made elsewhere (one each, or a list).
    pub digest_files: DigestFiles,
}

/// `working-directory`, else `$GITHUB_WORKSPACE`, else `cwd`; it must exist before anything is sent.
pub(super) fn working_directory(
    inputs: &Inputs,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    follow: FollowSymlinks,
) -> Result<Workspace, InputError> {
    let dir = match inputs.trimmed("working-directory") {
        Some(d) => cwd.join(d),
        None => env_var(env, "GITHUB_WORKSPACE").map_or_else(|| cwd.to_path_buf(), PathBuf::from),
    };
    let cannot = |e: std::io::Error| bad("working-directory", format!("`{}` cannot be read ({e})", dir.display()));
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Workspace::new(dir.clone(), follow).map_err(cannot),
        Ok(_) => Err(bad("working-directory", format!("`{}` is not a directory", dir.display()))),
        Err(e) => Err(cannot(e)),
    }
}

/// `artifacts` may be left out only when `sign-ids` gives existing requests to wait for.
pub(super) fn artifacts_config(
    inputs: &Inputs,
    working_directory: Workspace,
    has_sign_ids: bool,
) -> Result<ArtifactsConfig, InputError> {
    let patterns = match inputs.get("artifacts") {
        Some(text) => parse_patterns(text, &working_directory)?,
        None if has_sign_ids => Vec::new(),
        None => return Err(bad("artifacts", "is required: give newline-separated glob patterns such as `dist/*.exe`")),
    };
    let if_no_files_found = match inputs.value("if-no-files-found").to_ascii_lowercase().as_str() {
        "error" => IfNoFilesFound::Error,
        "warn" | "warning" => IfNoFilesFound::Warn,
        "ignore" => IfNoFilesFound::Ignore,
        other => return Err(bad("if-no-files-found", format!("must be error, warn or ignore, not `{other}`"))),
    };
    let algorithm = inputs.value("hash-algorithm");
    let hash_algorithm = HashAlgorithm::parse(algorithm)
        .ok_or_else(|| bad("hash-algorithm", format!("must be sha256, sha384 or sha512, not `{algorithm}`")))?;
    let digest_files = match inputs.value("digest-files").to_ascii_lowercase().as_str() {
        "false" => DigestFiles::Off,
        "true" => DigestFiles::PerFile,
        "list" => DigestFiles::List,
        v => return Err(bad("digest-files", format!("must be true, false or list, not `{}`", truncate(v, 40)))),
    };
    Ok(ArtifactsConfig { patterns, working_directory, if_no_files_found, hash_algorithm, digest_files })
}

/// Patterns are kept inside the working directory: a `..` that climbs out of it would sign
/// whatever happens to lie beside the checkout.
fn parse_patterns(text: &str, working_directory: &Path) -> Result<Vec<Pattern>, InputError> {
    let mut patterns = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (exclude, pat) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if pat.is_empty() {
            return Err(bad("artifacts", "a `!` line needs a pattern after it, e.g. `!**/*.pdb`"));
        }
        if let Err(e) = glob::Pattern::new(pat) {
            return Err(bad("artifacts", format!("`{pat}` is not a valid glob pattern: {}", e.msg)));
        }
        let relative = inside(pat, working_directory)?;
        // Windows users write `dist\*.exe`; elsewhere a backslash escapes a glob character.
        let text = if cfg!(windows) {
            relative.to_string_lossy().replace('\\', "/")
        } else {
            relative.to_string_lossy().into_owned()
        };
        patterns.push(if exclude { Pattern::Exclude(text) } else { Pattern::Include(text) });
    }
    if !patterns.iter().any(|p| matches!(p, Pattern::Include(_))) {
        return Err(bad(
            "artifacts",
            "has no pattern to include (only empty or `!` lines): add one such as `dist/**/*.exe`",
        ));
    }
    Ok(patterns)
}

/// The pattern relative to the working directory, refused when it starts or climbs outside it.
fn inside<'a>(pat: &'a str, working_directory: &Path) -> Result<&'a Path, InputError> {
    let path = Path::new(pat);
    let relative = match path.strip_prefix(working_directory) {
        Ok(rest) => rest,
        Err(_) if path.is_absolute() => {
            return Err(bad(
                "artifacts",
                format!(
                    "`{pat}` is outside working-directory `{}`: use a path relative to it",
                    working_directory.display()
                ),
            ));
        }
        Err(_) => path,
    };
    let mut depth: i32 = 0;
    for c in relative.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(bad(
                "artifacts",
                format!("`{pat}` climbs out of working-directory with `..`: set working-directory instead"),
            ));
        }
    }
    Ok(relative)
}

#[cfg(test)]
mod tests {
    use super::DigestFiles;
    use crate::config::tests::with;

    #[test]
    fn digest_files_is_false_true_or_list() {
        for (value, expected) in [
            ("", DigestFiles::Off),
            ("false", DigestFiles::Off),
            ("True", DigestFiles::PerFile),
            (" list\n", DigestFiles::List),
            ("LIST", DigestFiles::List),
        ] {
            assert_eq!(with(&[("digest-files", value)]).unwrap().artifacts.digest_files, expected, "{value:?}");
        }
        for value in ["yes", "lists", "sha256sum"] {
            let err = with(&[("digest-files", value)]).unwrap_err();
            assert_eq!(err.input, "digest-files");
            assert_eq!(err.message, format!("must be true, false or list, not `{value}`"));
        }
    }
}
