//! HTTPS for the simulator: real TPP is HTTPS-only and some SDKs refuse plain HTTP, so a
//! faithful simulator must be able to present a certificate a client can be told to trust.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::error::Error;

/// `listen` is the address the server binds: a generated certificate names it too, so a client
/// dialling it (in another network namespace, say) can verify the server.
pub(crate) fn acceptor(config: &TlsConfig, listen: IpAddr) -> Result<TlsAcceptor, Error> {
    let (chain, key) = match config {
        TlsConfig::Files { cert_pem_path, key_pem_path } => load(cert_pem_path, key_pem_path)?,
        TlsConfig::Generate { ca_out_path } => generate(ca_out_path, listen)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    // Only HTTP/1.1 is served, so advertise nothing else.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn load(cert_path: &Path, key_path: &Path) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| Error::Tls(format!("{}: {e}", cert_path.display())))?;
    if chain.is_empty() {
        return Err(Error::Tls(format!("{}: no CERTIFICATE block found", cert_path.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| Error::Tls(format!("{}: {e}", key_path.display())))?;
    Ok((chain, key))
}

/// Mints a CA and a server certificate for localhost, 127.0.0.1, `::1` and a specific `listen`
/// address, and writes the CA so the client under test can trust exactly this run's server and
/// nothing else.
fn generate(
    ca_out_path: &Path,
    listen: IpAddr,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let tls = |e: rcgen::Error| Error::Tls(e.to_string());
    let ca_key = KeyPair::generate().map_err(tls)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "signing-sim test CA");
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(tls)?;
    let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    leaf.distinguished_name.push(DnType::CommonName, "signing-sim");
    leaf.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().map_err(tls)?),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    if !listen.is_loopback() && !listen.is_unspecified() {
        leaf.subject_alt_names.push(SanType::IpAddress(listen));
    }
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // As any real CA issues it. Strict X.509 verification refuses a leaf without one: Python 3.13's
    // default context and urllib3 2 on 3.13 (so requests, so pyVenafi) turn it on.
    leaf.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(tls)?;

    if let Some(parent) = ca_out_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io { path: parent.to_path_buf(), source })?;
    }
    std::fs::write(ca_out_path, ca_cert.pem())
        .map_err(|source| Error::Io { path: ca_out_path.to_path_buf(), source })?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((vec![leaf_cert.der().clone(), ca_cert.der().clone()], key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_extension(der: &[u8], oid: &[u8]) -> bool {
        der.windows(oid.len()).any(|w| w == oid)
    }

    /// Strict verifiers (OpenSSL's `X509_V_FLAG_X509_STRICT`, on by default in Python 3.13) need an
    /// Authority Key Identifier in the leaf and a Subject Key Identifier in the CA.
    #[test]
    fn generated_chain_passes_strict_x509_checks() {
        let dir = std::env::temp_dir().join(format!("signing-sim-tls-{}", uuid::Uuid::new_v4()));
        let (chain, _key) = generate(&dir.join("ca.pem"), Ipv4Addr::UNSPECIFIED.into()).expect("generated");
        let _ = std::fs::remove_dir_all(&dir);
        let (aki, ski) = ([0x06, 0x03, 0x55, 0x1d, 0x23], [0x06, 0x03, 0x55, 0x1d, 0x0e]);
        assert_eq!(chain.len(), 2);
        assert!(has_extension(&chain[0], &aki), "leaf has an Authority Key Identifier");
        assert!(has_extension(&chain[1], &ski), "CA has a Subject Key Identifier");
    }
}
