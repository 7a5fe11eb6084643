//! The SHA-2 algorithms both vendors take, and one digest in the encodings each wants.

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

    pub(super) fn from_len(len: usize) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|a| a.digest_len() == len)
    }

    /// The DER prefix of a PKCS#1 v1.5 DigestInfo (`AlgorithmIdentifier` with NULL parameters,
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
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(self.bytes.len() * 2);
        for b in &self.bytes {
            hex.push(char::from(DIGITS[usize::from(b >> 4)]));
            hex.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
        hex
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
