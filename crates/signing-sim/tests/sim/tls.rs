use std::time::Duration;

use serde_json::Value;
use signing_sim::{SimConfig, TlsConfig};

fn client_trusting(pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem).expect("pem"))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test]
async fn generated_ca_is_written_and_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_path = dir.path().join("nested").join("ca.pem");
    let config = SimConfig { tls: Some(TlsConfig::Generate { ca_out_path: ca_path.clone() }), ..SimConfig::default() };
    let sim = crate::sim(config).await;
    let port = sim.addr().port();
    assert_eq!(sim.base_url(), format!("https://127.0.0.1:{port}"));
    let pem = std::fs::read(&ca_path).expect("CA written");
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN CERTIFICATE"));
    let client = client_trusting(&pem);
    for base in [sim.base_url(), format!("https://localhost:{port}")] {
        let b: Value = client
            .get(format!("{base}/vedsdk/SystemStatus/Version"))
            .send()
            .await
            .expect("https works")
            .json()
            .await
            .expect("json");
        assert!(b["Version"].is_string());
    }
    // An untrusting client refuses the certificate.
    let strict = reqwest::Client::builder().tls_built_in_root_certs(false).build().expect("client");
    assert!(strict.get(format!("{}/vedsdk/SystemStatus/Version", sim.base_url())).send().await.is_err());
    // Plain HTTP against the TLS port does not get an answer.
    assert!(crate::client().get(format!("http://127.0.0.1:{port}/vedsdk/SystemStatus/Version")).send().await.is_err());
}

#[tokio::test]
async fn user_supplied_certificate_files() {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let dir = tempfile::tempdir().expect("tempdir");
    let cert_pem_path = dir.path().join("cert.pem");
    let key_pem_path = dir.path().join("key.pem");
    std::fs::write(&cert_pem_path, leaf.pem()).expect("write");
    std::fs::write(&key_pem_path, leaf_key.serialize_pem()).expect("write");
    let config = SimConfig {
        tls: Some(TlsConfig::Files { cert_pem_path, key_pem_path: key_pem_path.clone() }),
        ..SimConfig::default()
    };
    let sim = crate::sim(config.clone()).await;
    let client = client_trusting(ca.pem().as_bytes());
    let resp = client.get(format!("{}/vedsdk/SystemStatus/Version", sim.base_url())).send().await.expect("https works");
    assert_eq!(resp.status(), 200);

    std::fs::write(&key_pem_path, "garbage").expect("write");
    let err = signing_sim::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect_err("bad key");
    assert!(err.to_string().contains("key.pem"), "{err}");
}
