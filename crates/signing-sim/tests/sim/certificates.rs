//! Where signing keys come from (built in, or a PEM file the config names, with or without a
//! chain of its own) and how their certificates are handed out: `/__sim/certificates`,
//! `/__sim/ca.pem`, `SimHandle` and `certificates_out_dir`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use signing_sim::{AvxKey, AvxPolicy, KeyAlgorithm, SimConfig};

use crate::signatures::{openssl, p, public_key, raw_verifies, sign, Hash, Work, EC_KEY, RSA_KEY};
use crate::*;

#[tokio::test]
async fn every_key_at_once_and_refusals() {
    let mut config = recorded();
    config.appviewx.policies[0].keys.push("policy-only-key".into());
    let sim = sim(config).await;
    let (s, b) = send(client().get(format!("{}/__sim/certificates", sim.base_url()))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ca"], sim.ca_pem().as_str());
    let keys: Vec<(&str, &str)> = b["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| (k["name"].as_str().expect("name"), k["algorithm"].as_str().expect("algorithm")))
        .collect();
    assert_eq!(keys, [(RSA_KEY, "rsa-3072"), (EC_KEY, "ecdsa-p256"), ("policy-only-key", "rsa-3072")]);
    for k in b["keys"].as_array().expect("keys") {
        let name = k["name"].as_str().expect("name");
        assert_eq!(k["chain"].as_str().map(str::to_string), sim.certificate_chain_pem(name));
    }
    assert_eq!(
        sim.signing_keys(),
        [
            (RSA_KEY.to_string(), KeyAlgorithm::Rsa3072),
            (EC_KEY.to_string(), KeyAlgorithm::EcdsaP256),
            ("policy-only-key".to_string(), KeyAlgorithm::Rsa3072)
        ]
    );

    let (s, b) = send(client().get(format!("{}/__sim/certificates?key=nope", sim.base_url()))).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    let description = b["error_description"].as_str().expect("description");
    assert!(description.contains("sample-key, sample-ec-key, policy-only-key"), "{description}");
    assert_eq!(sim.certificate_chain_pem("nope"), None);
    for path in ["/__sim/certificates", "/__sim/ca.pem"] {
        let resp = client().post(format!("{}{path}", sim.base_url())).send().await.expect("response");
        assert_eq!(resp.status(), 405, "{path}");
        assert_eq!(resp.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    }
    let resp = client().get(format!("{}/__sim/ca.pem", sim.base_url())).send().await.expect("response");
    assert_eq!(resp.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-pem-file"));
}

#[tokio::test]
async fn chains_are_written_where_the_config_says() {
    let work = Work::new();
    let dir = work.path("certs");
    let mut config = recorded();
    config.appviewx.certificates_out_dir = Some(dir.clone());
    config.appviewx.keys.push(AvxKey::builtin("odd name/with:chars", KeyAlgorithm::EcdsaP256));
    let sim = sim(config).await;
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["ca.pem", "odd_name_with_chars.pem", "sample-ec-key.pem", "sample-key.pem"]);
    assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).expect("ca"), sim.ca_pem());
    for (file, key) in [("sample-key.pem", RSA_KEY), ("odd_name_with_chars.pem", "odd name/with:chars")] {
        let text = std::fs::read_to_string(dir.join(file)).expect("chain");
        assert_eq!(Some(text), sim.certificate_chain_pem(key));
        let (ok, out) = openssl(&["verify", "-CAfile", p(&dir.join("ca.pem")), p(&dir.join(file))]);
        assert!(ok, "{out}");
    }
    let again = work.path("again");
    sim.write_certificates(&again).expect("written again");
    assert!(again.join("sample-ec-key.pem").is_file());

    // A key named like the CA's file would overwrite it: refused at start.
    let mut clash = recorded();
    clash.appviewx.certificates_out_dir = Some(work.path("clash"));
    clash.appviewx.keys.push(AvxKey::builtin("ca", KeyAlgorithm::Rsa3072));
    let err = signing_sim::start(clash, "127.0.0.1:0".parse().expect("addr")).await.expect_err("refused");
    assert!(err.to_string().contains("ca.pem"), "{err}");
}

/// `key_pem_path` (an RSA-2048 key made here; its algorithm read from the file) signs, and
/// `cert_chain_pem_path` (a self-signed certificate for it) is served as it reads.
#[tokio::test]
async fn a_key_file_and_its_own_chain() {
    let work = Work::new();
    let key_file = work.path("own.pem");
    let (ok, out) =
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p(&key_file)]);
    assert!(ok, "{out}");
    let cert_file = work.path("own-cert.pem");
    let (ok, out) =
        openssl(&["req", "-x509", "-key", p(&key_file), "-subj", "/CN=own", "-days", "2", "-out", p(&cert_file)]);
    assert!(ok, "{out}");
    let own =
        AvxKey { name: "own".into(), algorithm: None, key_pem_path: Some(key_file.clone()), cert_chain_pem_path: None };
    let with_chain = AvxKey { name: "own-chain".into(), cert_chain_pem_path: Some(cert_file.clone()), ..own.clone() };
    let mut config = recorded();
    config.appviewx.keys = vec![own, with_chain];
    config.appviewx.policies[0].keys = vec!["own".into(), "own-chain".into()];
    let sim = sim(config).await;
    let session = avx_session(&sim).await;
    assert_eq!(sim.signing_keys()[0].1, KeyAlgorithm::Rsa2048);
    let served = sim.certificate_chain_pem("own-chain").expect("chain");
    assert_eq!(served, std::fs::read_to_string(&cert_file).expect("cert"));
    let digest_info = Hash::Sha256.digest_info(&Hash::Sha256.digest(b"own key"));
    for key in ["own", "own-chain"] {
        let (_, signature) = sign(&sim, &session, key, &digest_info).await;
        assert_eq!(signature.len(), 256, "RSA-2048");
        let public = public_key(&work, key, &sim.certificate_chain_pem(key).expect("chain"));
        assert!(raw_verifies(&work, &public, true, &digest_info, &signature), "{key}");
    }
    let issued = sim.certificate_chain_pem("own").expect("chain");
    let leaf = work.write("issued.pem", issued.as_bytes());
    let (ok, out) = openssl(&["verify", "-CAfile", p(&work.write("ca.pem", sim.ca_pem().as_bytes())), p(&leaf)]);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn key_files_that_do_not_fit_are_refused_at_start() {
    let work = Work::new();
    let ec_key = work.path("ec.pem");
    let (ok, out) =
        openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(&ec_key)]);
    assert!(ok, "{out}");
    let other_cert = work.path("other.pem");
    let (ok, out) = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        p(&work.path("other-key.pem")),
        "-subj",
        "/CN=other",
        "-out",
        p(&other_cert),
    ]);
    assert!(ok, "{out}");
    let start = |key: AvxKey| async move {
        let mut config = recorded();
        config.appviewx.keys = vec![key];
        signing_sim::start(config, "127.0.0.1:0".parse().expect("addr")).await.map(|_| ()).expect_err("refused")
    };
    let key = |alg, path: Option<&std::path::Path>, chain: Option<&std::path::Path>| AvxKey {
        name: "k".into(),
        algorithm: alg,
        key_pem_path: path.map(std::path::Path::to_path_buf),
        cert_chain_pem_path: chain.map(std::path::Path::to_path_buf),
    };
    let err = start(key(Some(KeyAlgorithm::Rsa3072), Some(&ec_key), None)).await;
    assert!(err.to_string().contains("ecdsa-p256"), "{err}");
    let err = start(key(None, Some(&ec_key), Some(&other_cert))).await;
    assert!(err.to_string().contains("does not carry the signing key's public key"), "{err}");
    let err = start(key(None, Some(&work.path("missing.pem")), None)).await;
    assert!(matches!(err, signing_sim::Error::Io { .. }), "{err}");
    let err = start(key(None, Some(&other_cert), None)).await;
    assert!(err.to_string().contains("no PRIVATE KEY"), "{err}");
    // No built-in RSA-2048 key: a file is needed, which validation says when loading.
    let toml = "[[appviewx.keys]]\nname = \"k\"\nalgorithm = \"rsa-2048\"";
    let err = SimConfig::from_toml_str(toml).expect_err("refused");
    assert!(err.to_string().contains("no built-in rsa-2048 key"), "{err}");
}

/// The TOML spelling of keys, and that the demo's two keys are what the docs say.
#[tokio::test]
async fn keys_in_toml_and_the_demo_keys() {
    let toml = r#"
approval = "recorded"
[appviewx]
certificate_validity_days = 30
[[appviewx.keys]]
name = "ec"
algorithm = "ecdsa-p256"
[[appviewx.policies]]
name = "p"
keys = ["ec", "implicit"]
"#;
    let config = SimConfig::from_toml_str(toml).expect("parse");
    assert_eq!(config.appviewx.keys, [AvxKey::builtin("ec", KeyAlgorithm::EcdsaP256)]);
    assert_eq!(SimConfig::from_toml_str(&config.to_toml_string().expect("toml")).expect("reparse"), config);
    let sim = sim(config).await;
    let work = Work::new();
    let leaf = work.write("ec.pem", sim.certificate_chain_pem("ec").expect("chain").as_bytes());
    let day = 24 * 3600;
    let (ok, out) = openssl(&["x509", "-in", p(&leaf), "-noout", "-checkend", &(29 * day).to_string()]);
    assert!(ok, "valid for more than 29 days: {out}");
    let (ok, out) = openssl(&["x509", "-in", p(&leaf), "-noout", "-checkend", &(30 * day + 60).to_string()]);
    assert!(!ok, "expires within 30 days: {out}");
    assert_eq!(sim.signing_keys()[1], ("implicit".to_string(), KeyAlgorithm::Rsa3072));
    let content = STANDARD.encode(Hash::Sha256.digest_info(&[1; 32]));
    assert_eq!(sim.signature("implicit", &content).map(|s| STANDARD.decode(s).expect("b64").len()), Some(384));
    assert_eq!(sim.signature("nope", &content), None);
    assert_eq!(sim.signature("ec", "bm90IGEgRGlnZXN0SW5mbw=="), None);

    let demo = SimConfig::default();
    assert_eq!(
        demo.appviewx.keys,
        [AvxKey::builtin(RSA_KEY, KeyAlgorithm::Rsa3072), AvxKey::builtin(EC_KEY, KeyAlgorithm::EcdsaP256)]
    );
    assert_eq!(demo.appviewx.policies[0].keys, [RSA_KEY, EC_KEY]);
    assert_eq!(AvxPolicy::default().keys, [RSA_KEY]);
    let text = demo.describe();
    assert!(text.contains("key \"sample-ec-key\": ecdsa-p256, the built-in PUBLIC test key"), "{text}");
}
