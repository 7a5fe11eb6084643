//! Streaming SHA-2 digests of the artifacts, in parallel, and the encodings the vendors want.

use std::fs::File;
use std::io::{self, BufRead as _, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::Engine as _;

/// The SHA-2 digests both vendors take; the DigestInfo prefixes below exist only for these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256 (32 bytes), the default.
    Sha256,
    /// SHA-384 (48 bytes).
    Sha384,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl HashAlgorithm {
    /// Reads `hash-algorithm`: case and hyphens do not matter (`SHA-256`, `sha256`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Lower case and without a hyphen, as inputs, outputs and the report spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// In bytes; tells the algorithm of a precomputed digest by its length.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    fn from_len(len: usize) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|a| a.digest_len() == len)
    }

    /// The DER prefix of a PKCS#1 v1.5 DigestInfo (AlgorithmIdentifier with NULL parameters,
    /// then the OCTET STRING header), as RFC 8017 §9.2 lists it.
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
                0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
                0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
                0x04, 0x40,
            ],
        }
    }
}

/// One artifact's digest; the encodings each vendor wants are derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The algorithm that made `bytes`; their length matches it.
    pub algorithm: HashAlgorithm,
    /// Raw, not encoded.
    pub bytes: Vec<u8>,
}

impl Digest {
    /// Lower-case hex, as logs, the summary and the `artifacts` output show it.
    pub fn hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Standard Base64 with padding: TPP's `Data` for pre-qualification.
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }

    /// DER DigestInfo, what AppViewX's hash-based signing takes as `fileHashContent`.
    pub fn digest_info(&self) -> Vec<u8> {
        let mut out = self.algorithm.digest_info_prefix().to_vec();
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Standard Base64 of [`Digest::digest_info`], AppViewX's `fileHashContent`.
    pub fn digest_info_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.digest_info())
    }
}

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
    let mut file = File::open(path)?;
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
    let meta = std::fs::metadata(path)?;
    if meta.len() > 4096 {
        return Err(DigestError::NotADigest);
    }
    let raw = std::fs::read(path)?;
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

/// One line of a checksum list: an artifact hashed elsewhere, named by the path the line gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The path exactly as the line writes it; reports and signature files use it as the name.
    pub name: String,
    /// From 1, as editors count, so an error or a duplicate can point at the line.
    pub line: usize,
    /// As the line gives it, checked against `hash-algorithm`.
    pub digest: Digest,
}

/// Why one line of a checksum list is unusable. Each says what the line should look like, as
/// the list was made by a tool on another machine and the fix is there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// Not UTF-8, so the name could not be shown or matched.
    #[error("is not UTF-8 text: write the list as UTF-8 (sha256sum does for UTF-8 names)")]
    NotUtf8,
    /// Far longer than a digest and a path: likely not a checksum list at all.
    #[error("is longer than {MAX_LINE} bytes: is this file a checksum list?")]
    TooLong,
    /// The first field is not an even number of hex digits.
    #[error("`{0}` is not a hex digest: {FORMS}")]
    NotHex(String),
    /// The digest and the name are not separated the way `sha256sum` separates them.
    #[error("expected two spaces or ` *` between the digest and the path: {FORMS}")]
    NoSeparator,
    /// A `SHA256 (` line without `) = <hex>` at its end.
    #[error("is not a complete BSD line: expected `{0} (<path>) = <hex>`")]
    BsdIncomplete(String),
    /// Nothing after the separator.
    #[error("names no file after the digest: {FORMS}")]
    NoName,
    /// A digest of another length than `hash-algorithm` makes.
    #[error("{found}, but hash-algorithm is {expected}: {fix}")]
    WrongLength {
        /// The digest as found, e.g. `a 48-byte (sha384) digest`.
        found: String,
        /// `hash-algorithm`.
        expected: &'static str,
        /// What to change.
        fix: String,
    },
    /// A BSD line naming another algorithm than `hash-algorithm`.
    #[error("is a {named} line, but hash-algorithm is {expected}: {fix}")]
    AlgorithmMismatch {
        /// As the line names it (`SHA384`, `MD5`).
        named: String,
        /// `hash-algorithm`.
        expected: &'static str,
        /// What to change.
        fix: String,
    },
    /// `sha256sum` escaped a newline or carriage return in the name.
    #[error("names a file with a line break (sha256sum escapes it with a leading `\\`): rename the file, names with line breaks are not accepted")]
    LineBreakInName,
    /// A `\` escape that `sha256sum` never writes, so the name cannot be recovered.
    #[error("has an escape `\\{0}` that sha256sum does not write: only `\\\\` is accepted in an escaped name")]
    UnknownEscape(char),
    /// A control character other than tab would let a name rewrite the log it is shown in.
    #[error("names a file with a control character: rename the file")]
    ControlInName,
}

/// Why a checksum list cannot be used; nothing is sent to any server when one is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// The list could not be read.
    #[error("`{file}` cannot be read ({message})")]
    Read {
        /// The list, as discovered.
        file: String,
        /// The operating system's words.
        message: String,
    },
    /// A list with no checksum line: a hashing step that found nothing.
    #[error("`{file}` has no checksum lines: write one `<hex>  <path>` line per artifact, e.g. with `sha256sum dist/* > SHA256SUMS`")]
    Empty {
        /// The list, as discovered.
        file: String,
    },
    /// One line is unusable.
    #[error("`{file}` line {line}: {problem}")]
    Line {
        /// The list, as discovered.
        file: String,
        /// From 1.
        line: usize,
        /// What is wrong with it.
        problem: LineProblem,
    },
    /// The same artifact twice would be pre-qualified and signed twice, or with two digests.
    #[error("`{file}` line {line}: `{name}` is already listed in `{first_file}` line {first_line}: keep one line per artifact")]
    Duplicate {
        /// The artifact's name as the second line writes it.
        name: String,
        /// Where it is listed again.
        file: String,
        /// From 1.
        line: usize,
        /// Where it is listed first.
        first_file: String,
        /// From 1.
        first_line: usize,
    },
}

/// Room for the longest SHA-512 BSD line with a 4 KiB path; anything longer is not a list.
const MAX_LINE: usize = 8192;

const FORMS: &str = "each line is `<hex>  <path>`, `<hex> *<path>` or `SHA256 (<path>) = <hex>`";

/// Reads a checksum list as `sha256sum`, `shasum` or `sha256sum --tag` write it. `file` names
/// the list in errors. Empty lines are skipped; an empty list is an error, as is any bad line.
pub fn read_list(path: &Path, file: &str, algorithm: HashAlgorithm) -> Result<Vec<Listed>, ListError> {
    let read_error = |e: io::Error| ListError::Read { file: file.to_string(), message: e.to_string() };
    let reader = io::BufReader::new(File::open(path).map_err(read_error)?);
    parse_list(reader, file, algorithm)
}

/// [`read_list`] from any reader; reads a line at a time, so a large binary matched by mistake
/// stops at its first long line instead of filling memory.
pub fn parse_list(reader: impl io::BufRead, file: &str, algorithm: HashAlgorithm) -> Result<Vec<Listed>, ListError> {
    let mut listed = Vec::new();
    let mut reader = reader.take(0);
    let mut buf = Vec::new();
    for line in 1.. {
        buf.clear();
        reader.set_limit(MAX_LINE as u64 + 1);
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| ListError::Read { file: file.to_string(), message: e.to_string() })?;
        if n == 0 {
            break;
        }
        let bad = |problem| ListError::Line { file: file.to_string(), line, problem };
        if buf.last() != Some(&b'\n') && n > MAX_LINE {
            return Err(bad(LineProblem::TooLong));
        }
        let mut bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if line == 1 {
            bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        }
        if let Some((name, digest)) = parse_line(bytes, algorithm).map_err(bad)? {
            listed.push(Listed { name, line, digest });
        }
    }
    if listed.is_empty() {
        return Err(ListError::Empty { file: file.to_string() });
    }
    Ok(listed)
}

/// One line of a list, without its `\n`: `None` for a blank line, else the name and digest.
/// A trailing `\r` (a list written on Windows) is dropped.
pub fn parse_line(bytes: &[u8], algorithm: HashAlgorithm) -> Result<Option<(String, Digest)>, LineProblem> {
    let text = std::str::from_utf8(bytes).map_err(|_| LineProblem::NotUtf8)?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.trim().is_empty() {
        return Ok(None);
    }
    // sha256sum starts a line with `\` when it escaped `\` or a line break in the name.
    let (escaped, text) = match text.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (hex, raw_name) = match bsd_algorithm(text) {
        Some(named) => bsd_fields(text, named, algorithm)?,
        None => gnu_fields(text)?,
    };
    let name = if escaped { unescape(raw_name)? } else { raw_name.to_string() };
    if name.is_empty() {
        return Err(LineProblem::NoName);
    }
    if name.chars().any(|c| c.is_control() && c != '\t') {
        return Err(LineProblem::ControlInName);
    }
    Ok(Some((name, listed_digest(hex, algorithm)?)))
}

/// The algorithm word of a BSD line (`SHA256 (`), when the line starts like one. A GNU line
/// starts with hex, which no algorithm name is.
fn bsd_algorithm(text: &str) -> Option<&str> {
    let (word, _) = text.split_once(" (")?;
    let is_word = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    (is_word && !word.bytes().all(|b| b.is_ascii_hexdigit())).then_some(word)
}

/// `SHA256 (<path>) = <hex>`; the path may itself hold `) = `, the hex never does.
fn bsd_fields<'a>(text: &'a str, named: &str, algorithm: HashAlgorithm) -> Result<(&'a str, &'a str), LineProblem> {
    if HashAlgorithm::parse(named) != Some(algorithm) {
        return Err(LineProblem::AlgorithmMismatch {
            named: named.to_string(),
            expected: algorithm.name(),
            fix: match HashAlgorithm::parse(named) {
                Some(other) => {
                    format!("set hash-algorithm: {} or make the list with {}", other.name(), tool(algorithm))
                }
                None => format!("make the list with {} --tag", tool(algorithm)),
            },
        });
    }
    let rest = &text[named.len() + 2..];
    let (name, hex) = rest.rsplit_once(") = ").ok_or_else(|| LineProblem::BsdIncomplete(named.to_string()))?;
    Ok((hex, name))
}

/// `<hex>  <path>` or `<hex> *<path>`.
fn gnu_fields(text: &str) -> Result<(&str, &str), LineProblem> {
    let end = text.find([' ', '\t']).unwrap_or(text.len());
    let (hex, rest) = text.split_at(end);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() % 2 != 0 {
        return Err(not_hex(hex));
    }
    match rest.strip_prefix(' ').and_then(|r| r.strip_prefix([' ', '*'])) {
        Some("") => Err(LineProblem::NoName),
        Some(name) => Ok((hex, name)),
        None if rest.trim().is_empty() => Err(LineProblem::NoName),
        None => Err(LineProblem::NoSeparator),
    }
}

/// Undoes `sha256sum`'s escaping: `\\` is a backslash; `\n` and `\r` are line breaks, which no
/// artifact name may hold.
fn unescape(name: &str) -> Result<String, LineProblem> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n' | 'r') => return Err(LineProblem::LineBreakInName),
            Some(other) => return Err(LineProblem::UnknownEscape(other)),
            None => return Err(LineProblem::UnknownEscape(' ')),
        }
    }
    Ok(out)
}

/// The start of what should have been a digest, short enough for a one-line error.
fn not_hex(field: &str) -> LineProblem {
    let shown: String = field.chars().take(20).collect();
    LineProblem::NotHex(if field.chars().count() > 20 { format!("{shown}…") } else { shown })
}

fn listed_digest(hex: &str, algorithm: HashAlgorithm) -> Result<Digest, LineProblem> {
    if hex.is_empty() || hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_hex(hex));
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| not_hex(hex)))
        .collect::<Result<_, _>>()?;
    if bytes.len() == algorithm.digest_len() {
        return Ok(Digest { algorithm, bytes });
    }
    let (found, fix) = match HashAlgorithm::from_len(bytes.len()) {
        Some(other) => (
            format!("holds a {}-byte ({}) digest", bytes.len(), other.name()),
            format!("set hash-algorithm: {} or make the list with {}", other.name(), tool(algorithm)),
        ),
        None => (
            format!("holds a {}-byte digest", bytes.len()),
            format!(
                "{} takes {} bytes: make the list with {}",
                algorithm.name(),
                algorithm.digest_len(),
                tool(algorithm)
            ),
        ),
    };
    Err(LineProblem::WrongLength { found, expected: algorithm.name(), fix })
}

/// The coreutils command that writes lists of this algorithm.
fn tool(algorithm: HashAlgorithm) -> String {
    format!("{}sum", algorithm.name())
}

/// Refuses a name listed twice, in one list or across lists, naming both places: a demanding
/// reader would not want one artifact pre-qualified and signed twice, or with two digests.
/// `./` in front of a name does not make another artifact.
pub fn check_duplicates<'a>(lists: impl IntoIterator<Item = (&'a str, &'a [Listed])>) -> Result<(), ListError> {
    let mut seen: std::collections::HashMap<&str, (&str, usize)> = std::collections::HashMap::new();
    for (file, listed) in lists {
        for l in listed {
            let mut key = l.name.as_str();
            while let Some(rest) = key.strip_prefix("./") {
                key = rest;
            }
            if let Some((first_file, first_line)) = seen.insert(key, (file, l.line)) {
                return Err(ListError::Duplicate {
                    name: l.name.clone(),
                    file: file.to_string(),
                    line: l.line,
                    first_file: first_file.to_string(),
                    first_line,
                });
            }
        }
    }
    Ok(())
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
        let data: Vec<u8> = (0..(BUFFER * 3 + 17)).map(|i| (i % 251) as u8).collect();
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

#[cfg(test)]
mod list_tests {
    use super::*;
    use HashAlgorithm::{Sha256, Sha384, Sha512};

    fn hex(byte: u8, len: usize) -> String {
        format!("{byte:02x}").repeat(len)
    }

    #[test]
    fn every_accepted_form_gives_the_name_as_written_and_the_digest() {
        let h256 = hex(0xab, 32);
        let h384 = hex(0xcd, 48);
        let h512 = hex(0xef, 64);
        let upper = h256.to_uppercase();
        let cases: Vec<(&str, String, HashAlgorithm, &str, u8)> = vec![
            ("GNU text", format!("{h256}  dist/app.exe"), Sha256, "dist/app.exe", 0xab),
            ("GNU binary", format!("{h256} *dist/app.exe"), Sha256, "dist/app.exe", 0xab),
            ("CRLF", format!("{h256}  dist/app.exe\r"), Sha256, "dist/app.exe", 0xab),
            ("upper-case hex", format!("{upper}  app.exe"), Sha256, "app.exe", 0xab),
            ("shasum -a 384", format!("{h384}  out/lib.so"), Sha384, "out/lib.so", 0xcd),
            ("shasum -a 512 -b", format!("{h512} *setup.msi"), Sha512, "setup.msi", 0xef),
            ("spaces kept in the name", format!("{h256}  My App.exe"), Sha256, "My App.exe", 0xab),
            ("leading ./ kept", format!("{h256}  ./dist/app.exe"), Sha256, "./dist/app.exe", 0xab),
            ("Windows separators kept", format!("{h256} *dist\\app.exe"), Sha256, "dist\\app.exe", 0xab),
            ("BSD", format!("SHA256 (dist/app.exe) = {h256}"), Sha256, "dist/app.exe", 0xab),
            ("BSD CRLF", format!("SHA256 (dist/app.exe) = {h256}\r"), Sha256, "dist/app.exe", 0xab),
            ("BSD SHA384", format!("SHA384 (a.dll) = {h384}"), Sha384, "a.dll", 0xcd),
            ("BSD SHA512", format!("SHA512 (a.dll) = {h512}"), Sha512, "a.dll", 0xef),
            ("BSD SHA-256", format!("SHA-256 (a.dll) = {h256}"), Sha256, "a.dll", 0xab),
            ("BSD path with ) = ", format!("SHA256 (odd) = name) = {h256}"), Sha256, "odd) = name", 0xab),
            ("escaped backslash", format!("\\{h256}  dir\\\\app.exe"), Sha256, "dir\\app.exe", 0xab),
            ("escaped BSD", format!("\\SHA256 (a\\\\b) = {h256}"), Sha256, "a\\b", 0xab),
        ];
        for (what, line, alg, name, byte) in cases {
            let got = parse_line(line.as_bytes(), alg).unwrap_or_else(|e| panic!("{what}: {e}"));
            let (got_name, digest) = got.unwrap_or_else(|| panic!("{what}: taken for a blank line"));
            assert_eq!(got_name, name, "{what}");
            assert_eq!(digest, Digest { algorithm: alg, bytes: vec![byte; alg.digest_len()] }, "{what}");
        }
    }

    #[test]
    fn blank_lines_are_skipped() {
        for line in ["", "\r", "   ", " \t \r"] {
            assert_eq!(parse_line(line.as_bytes(), Sha256), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn every_malformed_kind_is_named() {
        let h256 = hex(0xab, 32);
        let h384 = hex(0xcd, 48);
        let wrong_len = |found: &str, expected, fix: &str| LineProblem::WrongLength {
            found: found.into(),
            expected,
            fix: fix.into(),
        };
        let cases: Vec<(&str, Vec<u8>, HashAlgorithm, LineProblem)> = vec![
            (
                "not hex",
                format!("zz{}  a.exe", &h256[2..]).into_bytes(),
                Sha256,
                LineProblem::NotHex(format!("zz{}…", &h256[2..20])),
            ),
            (
                "odd hex",
                format!("{}  a.exe", &h256[1..]).into_bytes(),
                Sha256,
                LineProblem::NotHex(format!("{}…", &h256[1..21])),
            ),
            ("name only", b"a.exe".to_vec(), Sha256, LineProblem::NotHex("a.exe".into())),
            (
                "sha384 digest for sha256",
                format!("{h384}  a.exe").into_bytes(),
                Sha256,
                wrong_len(
                    "holds a 48-byte (sha384) digest",
                    "sha256",
                    "set hash-algorithm: sha384 or make the list with sha256sum",
                ),
            ),
            (
                "sha1 digest",
                format!("{}  a.exe", hex(1, 20)).into_bytes(),
                Sha256,
                wrong_len("holds a 20-byte digest", "sha256", "sha256 takes 32 bytes: make the list with sha256sum"),
            ),
            (
                "sha256 digest for sha512",
                format!("{h256}  a.exe").into_bytes(),
                Sha512,
                wrong_len(
                    "holds a 32-byte (sha256) digest",
                    "sha512",
                    "set hash-algorithm: sha256 or make the list with sha512sum",
                ),
            ),
            ("one space", format!("{h256} a.exe").into_bytes(), Sha256, LineProblem::NoSeparator),
            ("a tab", format!("{h256}\ta.exe").into_bytes(), Sha256, LineProblem::NoSeparator),
            ("digest only", h256.clone().into_bytes(), Sha256, LineProblem::NoName),
            ("digest and separator only", format!("{h256}  ").into_bytes(), Sha256, LineProblem::NoName),
            ("binary marker only", format!("{h256} *").into_bytes(), Sha256, LineProblem::NoName),
            (
                "BSD of another algorithm",
                format!("SHA384 (a.exe) = {h384}").into_bytes(),
                Sha256,
                LineProblem::AlgorithmMismatch {
                    named: "SHA384".into(),
                    expected: "sha256",
                    fix: "set hash-algorithm: sha384 or make the list with sha256sum".into(),
                },
            ),
            (
                "BSD MD5",
                b"MD5 (a.exe) = d41d8cd98f00b204e9800998ecf8427e".to_vec(),
                Sha256,
                LineProblem::AlgorithmMismatch {
                    named: "MD5".into(),
                    expected: "sha256",
                    fix: "make the list with sha256sum --tag".into(),
                },
            ),
            ("BSD without digest", b"SHA256 (a.exe)".to_vec(), Sha256, LineProblem::BsdIncomplete("SHA256".into())),
            ("BSD with bad digest", b"SHA256 (a.exe) = xyz".to_vec(), Sha256, LineProblem::NotHex("xyz".into())),
            ("BSD empty name", format!("SHA256 () = {h256}").into_bytes(), Sha256, LineProblem::NoName),
            ("escaped newline", format!("\\{h256}  a\\nb.exe").into_bytes(), Sha256, LineProblem::LineBreakInName),
            (
                "escaped carriage return",
                format!("\\{h256}  a\\rb.exe").into_bytes(),
                Sha256,
                LineProblem::LineBreakInName,
            ),
            (
                "escaped newline, BSD",
                format!("\\SHA256 (a\\nb) = {h256}").into_bytes(),
                Sha256,
                LineProblem::LineBreakInName,
            ),
            ("unknown escape", format!("\\{h256}  a\\tb.exe").into_bytes(), Sha256, LineProblem::UnknownEscape('t')),
            ("control character", format!("{h256}  a\u{1b}[31m.exe").into_bytes(), Sha256, LineProblem::ControlInName),
            ("not UTF-8", [h256.as_bytes(), b"  a\xff.exe"].concat(), Sha256, LineProblem::NotUtf8),
        ];
        for (what, line, alg, problem) in cases {
            assert_eq!(parse_line(&line, alg), Err(problem), "{what}");
        }
    }

    #[test]
    fn lists_keep_line_order_and_numbers_and_skip_blank_lines() {
        let text = format!("\u{feff}{}  b.exe\r\n\r\n{} *a.exe\r\n", hex(1, 32), hex(2, 32));
        let listed = parse_list(text.as_bytes(), "SHA256SUMS", Sha256).unwrap();
        let got: Vec<(&str, usize)> = listed.iter().map(|l| (l.name.as_str(), l.line)).collect();
        assert_eq!(got, [("b.exe", 1), ("a.exe", 3)]);
        assert_eq!(listed[1].digest.bytes, vec![2; 32]);
    }

    #[test]
    fn list_errors_name_the_file_and_line() {
        let text = format!("{}  a.exe\n{} b.exe\n", hex(1, 32), hex(2, 32));
        let err = parse_list(text.as_bytes(), "out/SHA256SUMS", Sha256).unwrap_err();
        assert_eq!(err, ListError::Line { file: "out/SHA256SUMS".into(), line: 2, problem: LineProblem::NoSeparator });
        assert!(err.to_string().starts_with("`out/SHA256SUMS` line 2: expected two spaces"), "{err}");
        for empty in ["", "\n\r\n  \n"] {
            assert_eq!(
                parse_list(empty.as_bytes(), "empty.sha256", Sha256),
                Err(ListError::Empty { file: "empty.sha256".into() })
            );
        }
        let long = format!("{}  {}\n", hex(1, 32), "a".repeat(MAX_LINE));
        assert!(matches!(
            parse_list(long.as_bytes(), "x", Sha256),
            Err(ListError::Line { line: 1, problem: LineProblem::TooLong, .. })
        ));
        let just_fits = format!("{}  {}", hex(1, 32), "a".repeat(MAX_LINE - 66));
        assert_eq!(parse_list(just_fits.as_bytes(), "x", Sha256).unwrap().len(), 1);
        for err in [err, ListError::Empty { file: "e".into() }] {
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn a_name_listed_twice_names_both_places() {
        let one = |name: &str, line| Listed {
            name: name.into(),
            line,
            digest: Digest { algorithm: Sha256, bytes: vec![1; 32] },
        };
        let a = [one("app.exe", 1), one("lib.dll", 2)];
        let b = [one("other.exe", 1), one("./lib.dll", 4)];
        assert_eq!(
            check_duplicates([("a.sha256", &a[..]), ("b.sha256", &b[..])]),
            Err(ListError::Duplicate {
                name: "./lib.dll".into(),
                file: "b.sha256".into(),
                line: 4,
                first_file: "a.sha256".into(),
                first_line: 2,
            })
        );
        let twice = [one("app.exe", 1), one("app.exe", 3)];
        let err = check_duplicates([("SUMS", &twice[..])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`SUMS` line 3: `app.exe` is already listed in `SUMS` line 1: keep one line per artifact"
        );
        assert_eq!(check_duplicates([("a", &a[..]), ("c", &[one("App.exe", 1)][..])]), Ok(()));
    }
}
