//! The digest stage: every discovered artifact hashed (or its precomputed digest read) on
//! worker threads, off the async runtime, so a cancellation still reaches the rest of the run.

use crate::cancel::Cancel;
use crate::config::ArtifactsConfig;
use crate::digest::{self, Digest};
use crate::discover::Artifact;
use crate::report::Log;

/// One artifact and its digest, or why it has none.
#[derive(Debug, Clone)]
pub struct Digested {
    /// As discovered.
    pub artifact: Artifact,
    /// `Err` holds why there is none, worded for the report.
    pub digest: Result<Digest, String>,
}

/// Digests every artifact; results keep the artifacts' order. Fails only when the worker pool
/// itself cannot run.
pub async fn run(
    found: Vec<Artifact>,
    cfg: &ArtifactsConfig,
    log: &Log,
    cancel: &Cancel,
) -> Result<Vec<Digested>, String> {
    log.group(&format!("Digest {} artifact(s) ({})", found.len(), cfg.hash_algorithm.name()));
    let paths: Vec<std::path::PathBuf> = found.iter().map(|a| a.path.clone()).collect();
    let (algorithm, digest_files) = (cfg.hash_algorithm, cfg.digest_files);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let stop = cancel.clone();
    let results = tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::path::Path> = paths.iter().map(std::path::PathBuf::as_path).collect();
        digest::digest_all(&refs, algorithm, digest_files, workers, &|| stop.reason().is_some())
    })
    .await
    .map_err(|e| format!("hashing failed: {e}"))?;
    let digested: Vec<Digested> = found
        .into_iter()
        .zip(results)
        .map(|(artifact, result)| {
            if let Ok(d) = &result {
                log.info(&format!("{}  {}", d.hex(), artifact.name));
            }
            Digested { artifact, digest: result.map_err(|e| e.to_string()) }
        })
        .collect();
    log.endgroup();
    Ok(digested)
}
