//! The signing keys of one simulator instance: each key's private key and certificate chain,
//! built once at start from `appviewx.keys` and the keys the policies map, and the CA.

use std::collections::BTreeMap;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::{AvxConfig, KeyAlgorithm};
use crate::error::Error;

use super::certs::{self, Ca};
use super::keys::{self, PrivateKey};

/// One signing key, ready to sign.
#[derive(Debug, Clone)]
pub(crate) struct KeyEntry {
    pub name: String,
    pub algorithm: KeyAlgorithm,
    pub key: PrivateKey,
    /// PEM, leaf first: the issued leaf and the CA, or the configured chain file as it reads.
    pub chain_pem: String,
}

/// Every signing key and the CA that issued their certificates.
#[derive(Debug)]
pub(crate) struct Pki {
    ca: Ca,
    keys: Vec<KeyEntry>,
}

impl Pki {
    /// Loads or picks each key (in `appviewx.keys` order, then the keys only policies name, in
    /// policy order) and gives it a certificate chain; writes the chains when
    /// `certificates_out_dir` asks for it.
    ///
    /// # Errors
    /// `Error::Io` for a key or chain file that cannot be read (or a folder not written),
    /// `Error::Config` for one that holds no usable key or chain, `Error::Tls` when a
    /// certificate cannot be made.
    pub fn build(config: &AvxConfig) -> Result<Pki, Error> {
        let days = config.certificate_validity_days.max(1);
        let ca = certs::new_ca(days).map_err(|e| Error::Tls(format!("code signing CA: {e}")))?;
        let mut keys: Vec<KeyEntry> = Vec::new();
        for k in &config.keys {
            let key = match &k.key_pem_path {
                Some(path) => key_from_file(path, k.algorithm)?,
                None => builtin(&k.name, k.algorithm.unwrap_or(KeyAlgorithm::Rsa3072))?,
            };
            let chain_pem = match &k.cert_chain_pem_path {
                Some(path) => chain_from_file(path, &key)?,
                None => issued_chain(&ca, &k.name, &key, days)?,
            };
            keys.push(KeyEntry {
                name: k.name.clone(),
                algorithm: key.algorithm().map_err(Error::Config)?,
                key,
                chain_pem,
            });
        }
        for name in config.policies.iter().flat_map(|p| &p.keys) {
            if keys.iter().all(|k| &k.name != name) {
                let key = builtin(name, KeyAlgorithm::Rsa3072)?;
                let chain_pem = issued_chain(&ca, name, &key, days)?;
                keys.push(KeyEntry { name: name.clone(), algorithm: KeyAlgorithm::Rsa3072, key, chain_pem });
            }
        }
        let pki = Pki { ca, keys };
        if let Some(dir) = &config.certificates_out_dir {
            pki.write_certificates(dir)?;
        }
        Ok(pki)
    }

    pub fn key(&self, name: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.name == name)
    }

    pub fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca.pem
    }

    /// Writes `<key>.pem` (the chain, leaf first) for every key and `ca.pem` into `dir`, creating
    /// it. A key's file name is its name with every character other than ASCII letters, digits,
    /// `.`, `-` and `_` replaced by `_`; two keys (or a key and the CA) that would share a file
    /// are refused rather than overwrite each other.
    ///
    /// # Errors
    /// `Error::Io` when the folder or a file cannot be written, `Error::Config` for a clash.
    pub fn write_certificates(&self, dir: &Path) -> Result<(), Error> {
        let mut files: BTreeMap<String, (&str, &str)> = BTreeMap::new();
        files.insert("ca.pem".to_string(), ("the CA", &self.ca.pem));
        for k in &self.keys {
            let file = format!("{}.pem", file_stem(&k.name));
            if let Some((other, _)) = files.insert(file.clone(), (&k.name, &k.chain_pem)) {
                return Err(Error::Config(format!(
                    "certificates_out_dir: key {:?} and {other:?} would both be written to {file}",
                    k.name
                )));
            }
        }
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        for (file, (_, pem)) in files {
            let path = dir.join(file);
            std::fs::write(&path, pem).map_err(|source| Error::Io { path, source })?;
        }
        Ok(())
    }
}

/// A key's name as a file name.
pub(crate) fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

fn builtin(name: &str, algorithm: KeyAlgorithm) -> Result<PrivateKey, Error> {
    keys::builtin(algorithm).ok_or_else(|| {
        Error::Config(format!(
            "appviewx key {name:?}: there is no built-in {} key; give key_pem_path",
            algorithm.name()
        ))
    })
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

fn key_from_file(path: &Path, expected: Option<KeyAlgorithm>) -> Result<PrivateKey, Error> {
    let bad = |why: String| Error::Config(format!("{}: {why}", path.display()));
    let key = keys::from_pem(&read(path)?).map_err(bad)?;
    let found = key.algorithm().map_err(bad)?;
    match expected {
        Some(alg) if alg != found => {
            Err(bad(format!("the key is {}, the config says algorithm = {:?}", found.name(), alg.name())))
        }
        _ => Ok(key),
    }
}

/// The configured chain, as the file reads, once its first certificate is seen to carry the
/// key's public key (its `SubjectPublicKeyInfo` appears verbatim in the certificate's DER).
fn chain_from_file(path: &Path, key: &PrivateKey) -> Result<String, Error> {
    let bad = |why: String| Error::Config(format!("{}: {why}", path.display()));
    let text = read(path)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("not a PEM certificate chain: {e}")))?;
    let leaf = chain.first().ok_or_else(|| bad("no CERTIFICATE block found".to_string()))?;
    let spki = certs::subject_public_key_info(key.public_key_bits().map_err(bad)?);
    if !leaf.windows(spki.len()).any(|w| w == spki.as_slice()) {
        return Err(bad("the first certificate does not carry the signing key's public key".to_string()));
    }
    Ok(text)
}

fn issued_chain(ca: &Ca, name: &str, key: &PrivateKey, days: u32) -> Result<String, Error> {
    let public = key.public_key_bits().map_err(Error::Config)?;
    let leaf = certs::issue(ca, name, public, days)
        .map_err(|e| Error::Tls(format!("certificate for signing key {name:?}: {e}")))?;
    Ok(format!("{leaf}{}", ca.pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_stem("sample-key"), "sample-key");
        assert_eq!(file_stem("Google CA=A5:09/../x"), "Google_CA_A5_09_.._x");
    }
}
