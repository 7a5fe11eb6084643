//! Checksum lists as `sha256sum`, `shasum` and `sha256sum --tag` write them: one artifact
//! hashed elsewhere per line, named by the path the line gives.

use std::io::{self, BufRead as _};
use std::path::Path;

use super::algorithm::{Digest, HashAlgorithm};

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
    let reader = io::BufReader::new(super::file::open_regular(path).map_err(read_error)?);
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

#[cfg(test)]
mod tests {
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
