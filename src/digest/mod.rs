//! Streaming SHA-2 digests of the artifacts, in parallel, and the encodings the vendors want;
//! digests made elsewhere come from `.dig` files or checksum lists (`list`).

mod algorithm;
mod file;
mod list;

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::Engine as _;

pub use algorithm::{Digest, HashAlgorithm};
pub use file::{not_regular, open_regular};
pub use list::{check_duplicates, parse_line, parse_list, read_list, LineProblem, ListError, Listed};

/// Why one artifact could not be digested.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The artifact (or its digest file) could not be opened or read.
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    /// A digest file that is neither hex nor Base64 of a SHA-2 digest, or is larger than 4 KiB.
    #[error("does not hold a digest: expected the Base64 or hex of a 32, 48 or 64-byte SHA-2 digest")]
    NotADigest,
    /// A digest file of another SHA-2 algorithm than `hash-algorithm`.
    #[error("holds a {found}-byte digest, but hash-algorithm is {expected}")]
    WrongLength {
        /// The digest's length in bytes.
        found: usize,
        /// `hash-algorithm`, by name.
        expected: &'static str,
    },
    /// Stopped before the end, or never started, because the run was cancelled.
    #[error("not digested: the run was cancelled")]
    Cancelled,
}

const BUFFER: usize = 256 * 1024;

/// A digest file is a line of Base64 or hex; anything longer is not one.
const MAX_DIGEST_FILE: u64 = 4096;

/// Chunks between two looks at the stop flag (16 MiB).
const CHUNKS_PER_CHECK: usize = 64;

/// Hashes a file in fixed-size chunks: memory stays flat whatever the artifact's size.
pub fn hash_file(path: &Path, algorithm: HashAlgorithm) -> Result<Digest, DigestError> {
    hash_file_until(path, algorithm, &|| false)
}

/// [`hash_file`] that gives up when `stop` says so: a cancelled job must not first read
/// gigabytes to the end.
fn hash_file_until(
    path: &Path,
    algorithm: HashAlgorithm,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Digest, DigestError> {
    let mut file = open_regular(path)?;
    let mut buf = vec![0u8; BUFFER];
    let bytes = match algorithm {
        HashAlgorithm::Sha256 => stream::<sha2::Sha256>(&mut file, &mut buf, stop)?,
        HashAlgorithm::Sha384 => stream::<sha2::Sha384>(&mut file, &mut buf, stop)?,
        HashAlgorithm::Sha512 => stream::<sha2::Sha512>(&mut file, &mut buf, stop)?,
    };
    Ok(Digest { algorithm, bytes })
}

fn stream<D: sha2::Digest>(
    reader: &mut impl Read,
    buf: &mut [u8],
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<u8>, DigestError> {
    let mut hasher = D::new();
    let mut chunks = 0usize;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(hasher.finalize().to_vec()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        chunks += 1;
        if chunks % CHUNKS_PER_CHECK == 0 && stop() {
            return Err(DigestError::Cancelled);
        }
    }
}

/// Reads a precomputed digest such as the Base64 line `signtool sign /dg` writes into a `.dig`
/// file. For Authenticode that digest, not the file's own hash, is what the signer presents.
pub fn read_digest_file(path: &Path, algorithm: HashAlgorithm) -> Result<Digest, DigestError> {
    let mut raw = Vec::new();
    open_regular(path)?.take(MAX_DIGEST_FILE + 1).read_to_end(&mut raw)?;
    if raw.len() as u64 > MAX_DIGEST_FILE {
        return Err(DigestError::NotADigest);
    }
    let text = String::from_utf8_lossy(&raw);
    let text: String = text.trim_start_matches('\u{feff}').chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = decode_digest_text(&text).ok_or(DigestError::NotADigest)?;
    match HashAlgorithm::from_len(bytes.len()) {
        Some(found) if found == algorithm => Ok(Digest { algorithm, bytes }),
        Some(_) => Err(DigestError::WrongLength { found: bytes.len(), expected: algorithm.name() }),
        None => Err(DigestError::NotADigest),
    }
}

fn decode_digest_text(text: &str) -> Option<Vec<u8>> {
    let is_hex = text.len() % 2 == 0
        && HashAlgorithm::from_len(text.len() / 2).is_some()
        && text.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect();
    }
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Digests many files on up to `workers` threads, until `stop` says otherwise. Results keep
/// the input order.
pub fn digest_all(
    paths: &[&Path],
    algorithm: HashAlgorithm,
    digest_files: bool,
    workers: usize,
    stop: &(dyn Fn() -> bool + Sync),
) -> Vec<Result<Digest, DigestError>> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Digest, DigestError>>>> = paths.iter().map(|_| Mutex::new(None)).collect();
    let workers = workers.clamp(1, paths.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let result = match (stop(), digest_files) {
                    (true, _) => Err(DigestError::Cancelled),
                    (false, true) => read_digest_file(path, algorithm),
                    (false, false) => hash_file_until(path, algorithm, stop),
                };
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(DigestError::Io(io::Error::other("hashing thread panicked"))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            hash_file(&p, HashAlgorithm::Sha256).unwrap().hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hash_file(&p, HashAlgorithm::Sha384).unwrap().hex(),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
        assert!(hash_file(&p, HashAlgorithm::Sha512).unwrap().hex().starts_with("ddaf35a193617aba"));
    }

    #[test]
    fn streaming_matches_one_shot_across_buffer_boundaries() {
        use sha2::Digest as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let data: Vec<u8> = (0..(BUFFER * 3 + 17)).map(|i| u8::try_from(i % 251).unwrap_or(0)).collect();
        std::fs::write(&p, &data).unwrap();
        let expected = sha2::Sha256::digest(&data).to_vec();
        assert_eq!(hash_file(&p, HashAlgorithm::Sha256).unwrap().bytes, expected);
    }

    #[test]
    fn digest_info_has_the_documented_prefix() {
        let d = Digest { algorithm: HashAlgorithm::Sha256, bytes: vec![0xab; 32] };
        let info = d.digest_info();
        assert_eq!(info.len(), 19 + 32);
        assert_eq!(&info[..4], &[0x30, 0x31, 0x30, 0x0d]);
        assert_eq!(info[1] as usize, info.len() - 2, "outer SEQUENCE length covers the rest");
        for alg in [HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
            let info = Digest { algorithm: alg, bytes: vec![1; alg.digest_len()] }.digest_info();
            assert_eq!(info[1] as usize, info.len() - 2);
            assert_eq!(info[18] as usize, alg.digest_len());
        }
    }

    #[test]
    fn digest_files_accept_base64_and_hex_and_check_length() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = dir.path().join("a.dig");
        std::fs::write(&b64, "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\r\n").unwrap();
        assert_eq!(read_digest_file(&b64, HashAlgorithm::Sha256).unwrap().bytes, vec![0xab; 32]);
        let hex = dir.path().join("b.dig");
        std::fs::write(&hex, "ab".repeat(48)).unwrap();
        assert_eq!(read_digest_file(&hex, HashAlgorithm::Sha384).unwrap().bytes, vec![0xab; 48]);
        assert!(matches!(
            read_digest_file(&hex, HashAlgorithm::Sha256),
            Err(DigestError::WrongLength { found: 48, .. })
        ));
        let junk = dir.path().join("c.dig");
        std::fs::write(&junk, "not a digest").unwrap();
        assert!(matches!(read_digest_file(&junk, HashAlgorithm::Sha256), Err(DigestError::NotADigest)));
    }

    #[test]
    fn a_stop_ends_hashing_early() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![0u8; BUFFER * CHUNKS_PER_CHECK * 2]).unwrap();
        let looked = std::sync::atomic::AtomicUsize::new(0);
        let stop = || looked.fetch_add(1, Ordering::Relaxed) >= 1;
        let results = digest_all(&[p.as_path(), p.as_path()], HashAlgorithm::Sha256, false, 1, &stop);
        assert!(matches!(results[0], Err(DigestError::Cancelled)), "stopped mid-file");
        assert!(matches!(results[1], Err(DigestError::Cancelled)), "the next file is not started");
    }

    #[test]
    fn parallel_results_keep_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = (0..20)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, format!("{i}")).unwrap();
                p
            })
            .collect();
        let refs: Vec<&Path> = paths.iter().map(std::path::PathBuf::as_path).collect();
        let all = digest_all(&refs, HashAlgorithm::Sha256, false, 4, &|| false);
        for (p, r) in refs.iter().zip(all) {
            assert_eq!(r.unwrap(), hash_file(p, HashAlgorithm::Sha256).unwrap());
        }
    }
}
