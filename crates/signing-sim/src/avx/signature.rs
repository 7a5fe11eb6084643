//! The signatures AppViewX answers: made at submission by the signing key over the submitted
//! DigestInfo, changed by a signature fault (`wrong-key`, `swapped-signature`,
//! `truncated-signature`), and shaped as `encodedHashData`: the Base64 of the raw signature, or a
//! whole signed script for a policy with `signed_script`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::avx_codes::{app_code, message};
use crate::fault::SignatureFault;
use crate::http::Reply;
use crate::pki::{stranger, KeyEntry, Pki};
use crate::state::SignRequest;

use super::envelope::fail;

/// 500 `CODE_SIGNING_0073`, "Certificate is not present in the cert inventory": a key no
/// inventory entry backs. Every key a policy maps has one, so only a key that fails to sign
/// (which the built-in and accepted keys never do) leads here.
fn no_certificate() -> Reply {
    fail(500, app_code::CERT_NOT_IN_INVENTORY, message::CERT_NOT_IN_INVENTORY)
}

/// The signing key's signature over a submitted DigestInfo.
pub(super) fn sign(pki: &Pki, key: &str, digest_info: &[u8], digest_at: usize) -> Result<Vec<u8>, Reply> {
    let entry = pki.key(key).ok_or_else(no_certificate)?;
    entry.key.sign(digest_info, digest_at).map_err(|_| no_certificate())
}

/// What a signature fault makes of the signature of the request at `at` in `signs` (or of a
/// request about to be added, `at == signs.len()`): another key's signature of the same
/// DigestInfo, the signature of another request, or the first half of the right one.
pub(super) fn tampered(
    entry: &KeyEntry,
    signs: &[SignRequest],
    at: usize,
    (digest_info, digest_at, genuine): (&[u8], usize, &[u8]),
    fault: SignatureFault,
) -> Result<Vec<u8>, String> {
    match fault {
        SignatureFault::WrongKey => stranger(entry.algorithm).sign(digest_info, digest_at),
        SignatureFault::Truncated => Ok(genuine.get(..genuine.len() / 2).unwrap_or_default().to_vec()),
        SignatureFault::Swapped => {
            // The nearest other request of this key with another DigestInfo, earlier ones
            // first; with none, the DigestInfo with every digest byte inverted.
            let other = |s: &&SignRequest| s.record.signing_key == entry.name && s.digest_info != digest_info;
            let earlier = signs.get(..at.min(signs.len())).and_then(|e| e.iter().rev().find(other));
            let later = signs.get(at.saturating_add(1)..).and_then(|l| l.iter().find(other));
            if let Some(s) = earlier.or(later) {
                return Ok(s.signature.clone());
            }
            let mut inverted = digest_info.to_vec();
            inverted.iter_mut().skip(digest_at).for_each(|b| *b = !*b);
            entry.key.sign(&inverted, digest_at)
        }
    }
}

/// What a submission hit by a signature fault will answer once signed; `signs` are the
/// requests submitted before it.
pub(super) fn at_submission(
    pki: &Pki,
    signs: &[SignRequest],
    key: &str,
    submitted: (&[u8], usize, &[u8]),
    fault: SignatureFault,
) -> Result<Vec<u8>, Reply> {
    let entry = pki.key(key).ok_or_else(no_certificate)?;
    tampered(entry, signs, signs.len(), submitted, fault).map_err(|_| no_certificate())
}

/// The `encodedHashData` of a signed request, with the answer's own signature fault (if any)
/// applied over what the submission left.
pub(super) fn encoded_hash_data(
    pki: &Pki,
    signs: &[SignRequest],
    sign: &SignRequest,
    fault: Option<SignatureFault>,
) -> Result<String, Reply> {
    let signature = match fault {
        None => sign.answer.clone(),
        Some(fault) => {
            let entry = pki.key(&sign.record.signing_key).ok_or_else(no_certificate)?;
            let at = signs.iter().position(|s| s.record.sign_id == sign.record.sign_id).unwrap_or(signs.len());
            tampered(entry, signs, at, (&sign.digest_info, sign.digest_at, &sign.signature), fault)
                .map_err(|_| fail(500, app_code::FETCH_SIGN_DATA_FAILED, message::FETCH_SIGN_DATA_FAILED))?
        }
    };
    Ok(shaped(sign.script.as_deref(), &signature))
}

/// `encodedHashData` for a raw signature: its Base64, or the policy's script signed with it.
pub(super) fn shaped(script: Option<&str>, signature: &[u8]) -> String {
    let encoded = STANDARD.encode(signature);
    match script {
        Some(script) => signed_script(script, &encoded),
        None => encoded,
    }
}

/// What `encodedHashData` is for a policy with `signed_script`: the script text, then a
/// signature block around the Base64 signature in lines of 64 characters, shaped like the status
/// document's example (`\r\n` line ends, `# ` prefixes).
#[must_use]
pub fn signed_script(script: &str, signature_base64: &str) -> String {
    let mut out = String::with_capacity(script.len() + signature_base64.len() + 128);
    out.push_str(script);
    out.push_str("\r\n# SIG # Begin signature block\r\n");
    for line in signature_base64.as_bytes().chunks(64) {
        out.push_str("# ");
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out.push_str("# SIG # End signature block\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_script_wraps_lines_of_64() {
        let sig = "A".repeat(130);
        let text = signed_script("Get-PSDrive", &sig);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "Get-PSDrive");
        assert_eq!(lines[1], "# SIG # Begin signature block");
        assert_eq!(lines[2].len(), 66);
        assert_eq!(lines[4], "# AA");
        assert_eq!(lines[5], "# SIG # End signature block");
        assert_eq!(shaped(None, &[1, 2, 3]), "AQID");
    }
}
