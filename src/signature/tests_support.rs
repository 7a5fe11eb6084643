//! The OpenSSL CLI as the independent judge of the signature module's tests: it makes the keys,
//! certificates, signatures and timestamp answers the module reads, and verifies what the
//! module builds. Every command runs in one temporary directory, with a config file of its own
//! so the machine's openssl.cnf does not matter.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Extensions and TSA settings the tests name with `-extensions` and `-section`.
const CONFIG: &str = include_str!("../../tests/openssl.cnf");

/// A key type OpenSSL makes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Alg {
    Rsa(u32),
    P256,
    P384,
    Ed25519,
}

/// A temporary directory where OpenSSL works; files are named relative to it.
pub(super) struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub(super) fn new() -> Self {
        let pki = Self { dir: tempfile::tempdir().expect("temp dir") };
        pki.write("openssl.cnf", CONFIG.as_bytes());
        pki.write("tsaserial", b"01\n");
        pki
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(super) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    pub(super) fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }

    /// Runs openssl in the directory; the caller judges the exit status.
    pub(super) fn try_openssl(&self, args: &[&str]) -> Output {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .env("OPENSSL_CONF", self.path("openssl.cnf"))
            .output()
            .expect("openssl runs (is the openssl CLI installed?)");
        output
    }

    /// Runs openssl and fails the test if it fails.
    pub(super) fn openssl(&self, args: &[&str]) -> Output {
        let output = self.try_openssl(args);
        assert!(
            output.status.success(),
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `name.key`, a new private key.
    pub(super) fn key(&self, name: &str, alg: Alg) {
        let out = format!("{name}.key");
        let bits;
        let mut args = vec!["genpkey", "-out", &out, "-algorithm"];
        match alg {
            Alg::Rsa(n) => {
                bits = format!("rsa_keygen_bits:{n}");
                args.extend(["RSA", "-pkeyopt", &bits]);
            }
            Alg::P256 => args.extend(["EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            Alg::P384 => args.extend(["EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            Alg::Ed25519 => args.push("ED25519"),
        }
        self.openssl(&args);
    }

    /// `name.key` and `name.pem`, a self-signed certificate with `extensions` (a CA with
    /// `ca_ext`), valid for `days`.
    pub(super) fn self_signed(&self, name: &str, alg: Alg, subject: &str, extensions: &str, days: u32) {
        self.key(name, alg);
        let (key, pem, days) = (format!("{name}.key"), format!("{name}.pem"), days.to_string());
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-config",
            "openssl.cnf",
            "-extensions",
            extensions,
            "-key",
            &key,
            "-subj",
            subject,
            "-days",
            &days,
            "-sha256",
            "-out",
            &pem,
        ]);
    }

    /// `name.key` and `name.pem`, issued by `issuer` (its `.key` and `.pem`).
    pub(super) fn issue(&self, name: &str, alg: Alg, subject: &str, issuer: &str, extensions: &str, days: u32) {
        self.key(name, alg);
        let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        self.openssl(&["req", "-new", "-config", "openssl.cnf", "-key", &key, "-subj", subject, "-out", &csr]);
        let (ca, ca_key, days) = (format!("{issuer}.pem"), format!("{issuer}.key"), days.to_string());
        // Unique per certificate, so that no two share an issuer and serial number.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos());
        let serial = format!("0x{nanos:x}");
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-set_serial",
            &serial,
            "-days",
            &days,
            "-extfile",
            "openssl.cnf",
            "-extensions",
            extensions,
            "-sha256",
            "-out",
            &pem,
        ]);
    }

    /// The certificate `name.pem` as DER.
    pub(super) fn der(&self, name: &str) -> Vec<u8> {
        let pem = format!("{name}.pem");
        self.openssl(&["x509", "-in", &pem, "-outform", "DER"]).stdout
    }

    /// PEM files concatenated, leaf first.
    pub(super) fn bundle(&self, names: &[&str]) -> Vec<u8> {
        names.iter().flat_map(|n| self.read(&format!("{n}.pem"))).collect()
    }

    /// `openssl dgst -<digest> -sign <key>.key` over the file `data`: a raw signature as
    /// AppViewX returns it (PKCS#1 v1.5 over the DigestInfo, or DER ECDSA).
    pub(super) fn sign(&self, key: &str, digest: &str, data: &str) -> Vec<u8> {
        let (key, flag) = (format!("{key}.key"), format!("-{digest}"));
        self.openssl(&["dgst", &flag, "-sign", &key, "-out", "sig.bin", data]);
        self.read("sig.bin")
    }
}

/// `openssl cms -verify` of `p7s` against the file `content`, chained to `ca.pem`; `-purpose
/// any` since OpenSSL's default purpose (S/MIME signing) is not a code signing certificate's,
/// while the chain itself is still verified.
pub(super) fn openssl_cms_verify(pki: &Pki, p7s: &[u8], content: &str) -> Output {
    pki.write("sig.p7s", p7s);
    pki.try_openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "sig.p7s",
        "-content",
        content,
        "-CAfile",
        "ca.pem",
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ])
}
