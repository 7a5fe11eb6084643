//! A certificate chain as users hand it over: a PEM bundle (text around the blocks, as
//! `openssl x509 -text` or a CA's download leaves it, is skipped) or DER, one certificate or
//! several back to back. Each certificate comes back as its own DER, to be parsed and hashed as is.

use der::{Reader as _, SliceReader};

/// Why the input could not be split into certificates; `index` counts from 1, leaf first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Split {
    /// A PEM block whose armour or Base64 is broken.
    Pem { index: usize, reason: String },
    /// A PEM block of another kind (a key, a CSR).
    Label { index: usize, label: String },
    /// DER that does not split into whole TLVs.
    Der(der::Error),
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// The DER of each certificate, in the order given.
pub(super) fn certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Split> {
    if find(bytes, BEGIN).is_some() {
        pem_blocks(bytes)
    } else {
        der_sequence(bytes).map_err(Split::Der)
    }
}

/// Each `-----BEGIN X-----` … `-----END X-----` block, decoded; text between blocks is skipped.
fn pem_blocks(mut rest: &[u8]) -> Result<Vec<Vec<u8>>, Split> {
    let mut out = Vec::new();
    while let Some(start) = find(rest, BEGIN) {
        let index = out.len() + 1;
        let unterminated = || Split::Pem { index, reason: "no -----END line".into() };
        let block = &rest[start..];
        let end_at = find(block, END).ok_or_else(unterminated)?;
        let after_end = end_at + END.len();
        let close = find(&block[after_end..], DASHES).ok_or_else(unterminated)? + after_end + DASHES.len();
        let (label, der) =
            der::pem::decode_vec(&block[..close]).map_err(|e| Split::Pem { index, reason: e.to_string() })?;
        if label != "CERTIFICATE" {
            return Err(Split::Label { index, label: label.to_string() });
        }
        out.push(der);
        rest = &block[close..];
    }
    Ok(out)
}

/// DER certificates back to back, each taken as its whole TLV.
fn der_sequence(bytes: &[u8]) -> der::Result<Vec<Vec<u8>>> {
    let mut reader = SliceReader::new(bytes)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(reader.tlv_bytes()?.to_vec());
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM_A: &str = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    const PEM_B: &str = "-----BEGIN CERTIFICATE-----\r\nMAMCAQI=\r\n-----END CERTIFICATE-----\r\n";

    #[test]
    fn pem_blocks_come_back_in_order_with_text_between_skipped() {
        let bundle = format!("subject=CN = leaf\n{PEM_A}\nissuer: whoever\n{PEM_B}trailing words");
        let got = certificates(bundle.as_bytes()).unwrap();
        assert_eq!(got, vec![vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![0x30, 0x03, 0x02, 0x01, 0x02]]);
    }

    #[test]
    fn der_back_to_back_splits_into_whole_tlvs() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x01, 0x30, 0x00];
        assert_eq!(certificates(&der).unwrap(), vec![der[..5].to_vec(), der[5..].to_vec()]);
        assert_eq!(certificates(&[]).unwrap(), Vec::<Vec<u8>>::new());
        assert!(matches!(certificates(&der[..4]), Err(Split::Der(_))));
    }

    #[test]
    fn a_key_block_or_broken_armour_is_named_by_its_place() {
        let key = "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n";
        let got = certificates(format!("{PEM_A}{key}").as_bytes());
        assert_eq!(got, Err(Split::Label { index: 2, label: "PRIVATE KEY".into() }));
        let open = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n";
        assert!(matches!(certificates(open.as_bytes()), Err(Split::Pem { index: 1, .. })));
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(certificates(bad.as_bytes()), Err(Split::Pem { index: 1, .. })));
    }
}
