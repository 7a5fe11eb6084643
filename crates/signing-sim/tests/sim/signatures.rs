//! The AppViewX signatures are real: OpenSSL's command line, an independent judge, verifies each
//! `encodedHashData` with the public key of the certificate the simulator hands out, and refuses
//! what the signature faults answer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use signing_sim::{Fault, FaultKind, SimHandle};

use crate::*;

pub const RSA_KEY: &str = "sample-key";
pub const EC_KEY: &str = "sample-ec-key";

#[derive(Debug, Clone, Copy)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

pub const HASHES: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];

impl Hash {
    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha256 => "sha256",
            Hash::Sha384 => "sha384",
            Hash::Sha512 => "sha512",
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The DigestInfo of a digest: the DER prefix (`AlgorithmIdentifier` with NULL parameters,
    /// then the OCTET STRING header) and the digest.
    pub fn digest_info(self, digest: &[u8]) -> Vec<u8> {
        let (outer, oid_last, len) = match self {
            Hash::Sha256 => (0x31, 0x01, 0x20),
            Hash::Sha384 => (0x41, 0x02, 0x30),
            Hash::Sha512 => (0x51, 0x03, 0x40),
        };
        let mut v = vec![
            0x30, outer, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, oid_last, 0x05, 0x00,
            0x04, len,
        ];
        v.extend_from_slice(digest);
        v
    }
}

/// A scratch folder for the files OpenSSL reads.
pub struct Work(tempfile::TempDir);

impl Work {
    pub fn new() -> Work {
        Work(tempfile::tempdir().expect("tempdir"))
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// Runs `openssl` and answers whether it succeeded, and what it printed.
pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("the openssl command line runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The public key of the first certificate of a PEM chain, as `openssl x509 -pubkey` reads it.
pub fn public_key(work: &Work, name: &str, chain_pem: &str) -> PathBuf {
    let chain = work.write(&format!("{name}-chain.pem"), chain_pem.as_bytes());
    let public = work.path(&format!("{name}-pub.pem"));
    let (ok, text) = openssl(&["x509", "-pubkey", "-noout", "-in", p(&chain), "-out", p(&public)]);
    assert!(ok, "{text}");
    public
}

/// What `openssl dgst -<hash> -verify` says of a signature over a file.
fn file_verifies(work: &Work, public: &Path, hash: Hash, file: &Path, signature: &[u8]) -> bool {
    let sig = work.write("file.sig", signature);
    openssl(&["dgst", &format!("-{}", hash.name()), "-verify", p(public), "-signature", p(&sig), p(file)]).0
}

/// Whether a raw signature verifies. RSA: `openssl pkeyutl -verifyrecover` (PKCS#1 v1.5 padding
/// checked) must recover exactly the DigestInfo (`pkeyutl -verify` refuses inputs over 64 bytes
/// as "too long to be a hash", so a SHA-384/512 DigestInfo cannot be its input). ECDSA:
/// `openssl pkeyutl -verify` over the digest.
pub fn raw_verifies(work: &Work, public: &Path, rsa: bool, digest_info: &[u8], signature: &[u8]) -> bool {
    let sig = work.write("raw.sig", signature);
    if rsa {
        let out = Command::new("openssl")
            .args(["pkeyutl", "-verifyrecover", "-pubin", "-inkey", p(public), "-in", p(&sig)])
            .output()
            .expect("the openssl command line runs");
        return out.status.success() && out.stdout == digest_info;
    }
    let data = work.write("digest.bin", &digest_info[19..]);
    openssl(&["pkeyutl", "-verify", "-pubin", "-inkey", p(public), "-in", p(&data), "-sigfile", p(&sig)]).0
}

/// Submits a DigestInfo for `key` under the demo policy (approval chain recorded), lets it sign,
/// and answers its sign id and the decoded `encodedHashData`.
pub async fn sign(sim: &SimHandle, session: &AvxSession, key: &str, digest_info: &[u8]) -> (String, Vec<u8>) {
    let body = json!({
        "signingPolicy": "sample-policy",
        "signingKey": key,
        "versionNumber": "v1",
        "description": "artifact.bin",
        "signedType": "Hash Based Signing",
        "fileHashContent": STANDARD.encode(digest_info),
    });
    let (s, b) = avx_submit(sim, session, &body).await;
    assert_eq!(s, 200, "{b}");
    let sign_id = b["response"]["signId"].as_str().expect("signId").to_string();
    sim.advance_time(Duration::from_secs(2));
    let (s, b) = avx_status(sim, session, &sign_id).await;
    assert_eq!((s, b["response"]["status"].as_str()), (200, Some("Signed")), "{b}");
    let data = b["response"]["encodedHashData"].as_str().expect("encodedHashData");
    (sign_id, STANDARD.decode(data).expect("Base64 signature"))
}

/// Each key, each SHA-2 digest: the answer verifies with the handed-out certificate's key as a
/// signature over the file (`openssl dgst -verify`) and over the raw DigestInfo or digest
/// (`openssl pkeyutl -verify`), equals `SimHandle::signature`, and for RSA is byte for byte what
/// `openssl dgst -sign` makes with the same (built-in, public) key.
#[tokio::test]
async fn every_key_and_digest_verifies_with_openssl() {
    let sim = sim(recorded()).await;
    let session = avx_session(&sim).await;
    let work = Work::new();
    let builtin_rsa = concat!(env!("CARGO_MANIFEST_DIR"), "/keys/rsa-3072.pem");
    for (key, rsa, size) in [(RSA_KEY, true, Some(384)), (EC_KEY, false, None)] {
        let chain = sim.certificate_chain_pem(key).expect("a chain for every key");
        let public = public_key(&work, key, &chain);
        for hash in HASHES {
            let content = format!("artifact signed by {key} over {}", hash.name());
            let file = work.write("artifact.bin", content.as_bytes());
            let digest_info = hash.digest_info(&hash.digest(content.as_bytes()));
            let (_, signature) = sign(&sim, &session, key, &digest_info).await;
            let what = format!("{key} {}", hash.name());
            if let Some(size) = size {
                assert_eq!(signature.len(), size, "{what}");
            } else {
                assert_eq!(signature.first(), Some(&0x30), "{what}: a DER ECDSA-Sig-Value");
            }
            assert!(file_verifies(&work, &public, hash, &file, &signature), "{what}: openssl dgst -verify");
            assert!(raw_verifies(&work, &public, rsa, &digest_info, &signature), "{what}: openssl pkeyutl -verify");
            let b64 = STANDARD.encode(&signature);
            assert_eq!(sim.signature(key, &STANDARD.encode(&digest_info)), Some(b64), "{what}");
            if rsa {
                let out = work.path("openssl.sig");
                let alg = format!("-{}", hash.name());
                let (ok, text) = openssl(&["dgst", &alg, "-sign", builtin_rsa, "-out", p(&out), p(&file)]);
                assert!(ok, "{text}");
                assert_eq!(std::fs::read(&out).expect("signature"), signature, "{what}: as openssl dgst -sign");
            }
        }
    }
}

/// The chain verifies to the CA the simulator hands out, and the leaf is a code-signing
/// certificate for the key: CN = its name, digitalSignature, codeSigning, CA:FALSE.
#[tokio::test]
async fn certificates_chain_to_the_ca_and_are_for_code_signing() {
    let sim = sim(recorded()).await;
    let work = Work::new();
    let (s, ca) = send_raw(client().get(format!("{}/__sim/ca.pem", sim.base_url()))).await;
    assert_eq!((s, ca.as_str()), (200, sim.ca_pem().as_str()));
    let ca_file = work.write("ca.pem", ca.as_bytes());
    let (ok, text) = openssl(&["x509", "-in", p(&ca_file), "-noout", "-ext", "basicConstraints,keyUsage"]);
    assert!(ok && text.contains("CA:TRUE") && text.contains("Certificate Sign"), "{text}");
    for key in [RSA_KEY, EC_KEY] {
        let url = format!("{}/__sim/certificates?key={key}", sim.base_url());
        let (s, chain) = send_raw(client().get(url)).await;
        assert_eq!((s, Some(chain.clone())), (200, sim.certificate_chain_pem(key)));
        assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2, "leaf, then the CA");
        let leaf_pem = chain.strip_suffix(ca.as_str()).expect("leaf, then the CA");
        let leaf = work.write(&format!("{key}.pem"), leaf_pem.as_bytes());
        let (ok, text) = openssl(&["verify", "-x509_strict", "-CAfile", p(&ca_file), p(&leaf)]);
        assert!(ok, "{key}: {text}");
        let (ok, text) = openssl(&[
            "x509",
            "-in",
            p(&leaf),
            "-noout",
            "-subject",
            "-ext",
            "basicConstraints,keyUsage,extendedKeyUsage",
        ]);
        assert!(ok, "{text}");
        for needle in [&format!("CN = {key}") as &str, "CA:FALSE", "Digital Signature", "Code Signing"] {
            assert!(text.contains(needle), "{key}: {needle} missing from {text}");
        }
        // Another CA does not vouch for it.
        let (ok, _) = openssl(&["verify", "-CAfile", p(&leaf), p(&leaf)]);
        assert!(!ok, "{key}: the leaf is no CA");
    }
}

/// `wrong-key` on the submission: every answer for that request carries a signature of another
/// key, which the key's certificate refuses; `truncated-signature` on one status answer: that
/// answer alone is cut, the next one is whole again.
#[tokio::test]
async fn wrong_key_and_truncated_signatures_are_refused() {
    let sim = sim(recorded()).await;
    let session = avx_session(&sim).await;
    let work = Work::new();
    let digest_info = Hash::Sha256.digest_info(&Hash::Sha256.digest(b"release.zip"));
    for (key, rsa) in [(RSA_KEY, true), (EC_KEY, false)] {
        let public = public_key(&work, key, &sim.certificate_chain_pem(key).expect("chain"));
        let genuine = STANDARD.decode(sim.signature(key, &STANDARD.encode(&digest_info)).expect("signs")).expect("b64");

        sim.add_fault(Fault::new("code-signing-generate-hash", FaultKind::WrongKey));
        let (sign_id, wrong) = sign(&sim, &session, key, &digest_info).await;
        assert_ne!(wrong, genuine, "{key}");
        assert!(!raw_verifies(&work, &public, rsa, &digest_info, &wrong), "{key}: another key's signature");
        let (_, again) = avx_status(&sim, &session, &sign_id).await;
        assert_eq!(again["response"]["encodedHashData"], STANDARD.encode(&wrong), "{key}: it sticks");
        assert_eq!(sim.encoded_hash_data(&sign_id), Some(STANDARD.encode(&wrong)));

        let (_, sign_id) = {
            let (s, b) = avx_submit(&sim, &session, &submit_body_for(key, &digest_info)).await;
            (s, b["response"]["signId"].as_str().expect("signId").to_string())
        };
        sim.advance_time(Duration::from_secs(2));
        sim.add_fault(Fault::new("code-signing-fetch-status", FaultKind::TruncatedSignature));
        let (_, cut) = avx_status(&sim, &session, &sign_id).await;
        let cut = STANDARD.decode(cut["response"]["encodedHashData"].as_str().expect("data")).expect("b64");
        assert_eq!(cut, genuine[..genuine.len() / 2], "{key}: the first half");
        assert!(!raw_verifies(&work, &public, rsa, &digest_info, &cut), "{key}: a truncated signature");
        let (_, whole) = avx_status(&sim, &session, &sign_id).await;
        assert_eq!(whole["response"]["encodedHashData"], STANDARD.encode(&genuine), "{key}: one answer only");
        assert!(raw_verifies(&work, &public, rsa, &digest_info, &genuine), "{key}");
    }
    let faults: Vec<String> = sim.state().requests.into_iter().filter_map(|r| r.fault).collect();
    assert_eq!(faults, ["wrong-key", "truncated-signature", "wrong-key", "truncated-signature"]);
}

fn submit_body_for(key: &str, digest_info: &[u8]) -> serde_json::Value {
    let mut body = submit_body("sample-policy", key);
    body["fileHashContent"] = json!(STANDARD.encode(digest_info));
    body
}

/// `swapped-signature`: the answer is the key's signature of the previous request of that key,
/// which verifies for that request's digest and not for this one's; with no other request, of
/// the DigestInfo with its digest inverted.
#[tokio::test]
async fn a_swapped_signature_verifies_for_the_other_digest_only() {
    let sim = sim(recorded()).await;
    let session = avx_session(&sim).await;
    let work = Work::new();
    for (key, rsa) in [(RSA_KEY, true), (EC_KEY, false)] {
        let public = public_key(&work, key, &sim.certificate_chain_pem(key).expect("chain"));
        let first = Hash::Sha384.digest_info(&Hash::Sha384.digest(format!("{key} first").as_bytes()));
        let second = Hash::Sha384.digest_info(&Hash::Sha384.digest(format!("{key} second").as_bytes()));
        let (_, first_signature) = sign(&sim, &session, key, &first).await;
        sim.add_fault(Fault::new("code-signing-generate-hash", FaultKind::SwappedSignature));
        let (_, swapped) = sign(&sim, &session, key, &second).await;
        assert_eq!(swapped, first_signature, "{key}: the previous request's signature");
        assert!(raw_verifies(&work, &public, rsa, &first, &swapped), "{key}: verifies for the other digest");
        assert!(!raw_verifies(&work, &public, rsa, &second, &swapped), "{key}: not for its own");
    }

    // Alone: the inverted digest's signature.
    let alone = crate::sim(recorded()).await;
    let session = avx_session(&alone).await;
    let public = public_key(&work, "alone", &alone.certificate_chain_pem(RSA_KEY).expect("chain"));
    let digest_info = Hash::Sha512.digest_info(&Hash::Sha512.digest(b"only one"));
    alone.add_fault(Fault::new("code-signing-generate-hash", FaultKind::SwappedSignature));
    let (_, swapped) = sign(&alone, &session, RSA_KEY, &digest_info).await;
    let mut inverted = digest_info.clone();
    inverted.iter_mut().skip(19).for_each(|b| *b = !*b);
    assert!(!raw_verifies(&work, &public, true, &digest_info, &swapped));
    assert!(raw_verifies(&work, &public, true, &inverted, &swapped));
}
