//! The digest stage: every discovered artifact hashed (or its precomputed digest read) on
//! worker threads, off the async runtime, so a cancellation still reaches the rest of the run.
//! With `digest-files: list` the discovered files are checksum lists and each line becomes one
//! artifact; a bad list is an input error, found before anything is sent.

use crate::cancel::Cancel;
use crate::config::{ArtifactsConfig, DigestFiles, InputError, RunError};
use crate::digest::{self, Digest, HashAlgorithm, ListError, Listed};
use crate::discover::Artifact;
use crate::progress::Progress;

/// One artifact and its digest, or why it has none.
#[derive(Debug, Clone)]
pub struct Digested {
    /// As discovered, or as a checksum list names it.
    pub artifact: Artifact,
    /// `Err` holds why there is none, worded for the report.
    pub digest: Result<Digest, String>,
    /// The sign id of an earlier run's request for this very digest (`resume-from`): the
    /// artifact is then only waited for, with nothing new asked of TPP or AppViewX.
    pub resumed: Option<String>,
}

/// Digests every artifact; results keep the artifacts' order (for lists: the lists' order, then
/// their lines'). Fails when a checksum list is unusable, or when the worker pool itself cannot run.
pub async fn run(
    found: Vec<Artifact>,
    cfg: &ArtifactsConfig,
    log: &dyn Progress,
    cancel: &Cancel,
) -> Result<Vec<Digested>, RunError> {
    if cfg.digest_files == DigestFiles::List {
        return run_lists(found, cfg.hash_algorithm, log).await;
    }
    log.group(&format!("Digest {} artifact(s) ({})", found.len(), cfg.hash_algorithm.name()));
    let paths: Vec<std::path::PathBuf> = found.iter().map(|a| a.path.clone()).collect();
    let (algorithm, digest_files) = (cfg.hash_algorithm, cfg.digest_files == DigestFiles::PerFile);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let stop = cancel.clone();
    let results = tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = paths.iter().map(std::path::PathBuf::as_path).collect();
        digest::digest_all(&refs, algorithm, digest_files, workers, &|| stop.reason().is_some())
    })
    .await
    .map_err(|e| RunError::Setup(format!("hashing failed: {e}")))?;
    let digested: Vec<Digested> = found
        .into_iter()
        .zip(results)
        .map(|(artifact, result)| {
            if let Ok(d) = &result {
                log.item("digest", format_args!("{}  {}", d.hex(), artifact.name));
            }
            Digested { artifact, digest: result.map_err(|e| e.to_string()), resumed: None }
        })
        .collect();
    log.endgroup();
    Ok(digested)
}

/// Reads every list, then checks names across them, before any artifact is returned: a run
/// signs all the listed artifacts or, when one line is wrong, none.
async fn run_lists(
    lists: Vec<Artifact>,
    algorithm: HashAlgorithm,
    log: &dyn Progress,
) -> Result<Vec<Digested>, RunError> {
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<(Artifact, Vec<Listed>)>, ListError> {
        let read: Vec<(Artifact, Vec<Listed>)> = lists
            .into_iter()
            .map(|list| digest::read_list(&list.path, &list.name, algorithm).map(|listed| (list, listed)))
            .collect::<Result<_, _>>()?;
        digest::check_duplicates(read.iter().map(|(list, listed)| (list.name.as_str(), listed.as_slice())))?;
        Ok(read)
    })
    .await
    .map_err(|e| RunError::Setup(format!("reading the checksum lists failed: {e}")))?
    .map_err(|e| InputError { input: "digest-files", message: e.to_string() })?;
    let count: usize = read.iter().map(|(_, listed)| listed.len()).sum();
    log.group(&format!("Digests of {count} artifact(s) from {} checksum list(s) ({})", read.len(), algorithm.name()));
    let mut digested = Vec::with_capacity(count);
    for (list, listed) in read {
        for l in listed {
            log.item("digest", format_args!("{}  {}  ({} line {})", l.digest.hex(), l.name, list.name, l.line));
            let artifact = Artifact { path: list.path.clone(), name: l.name, size: None };
            digested.push(Digested { artifact, digest: Ok(l.digest), resumed: None });
        }
    }
    log.endgroup();
    Ok(digested)
}
