use signing_sim::{ApprovalMode, Fault, FaultKind, SignOutcome, SimConfig, TlsConfig};

#[test]
fn default_round_trips_through_toml() {
    let config = SimConfig::default();
    let text = config.to_toml_string().expect("toml");
    assert_eq!(SimConfig::from_toml_str(&text).expect("parse"), config);
    assert_eq!(SimConfig::from_toml_str("").expect("empty"), config);
}

#[test]
fn full_example_parses() {
    let text = r#"
[tpp]
version = "23.3.0.1234"
token_lifetime_secs = 600
max_hours = 48

[[tpp.clients]]
client_id = "ci"
scope = "codesign:approve"

[[tpp.users]]
username = "approver"
password = "pw"

[[tpp.environments]]
dn = '\VED\Code Signing\Projects\App\Prod'
approvers = ["approver"]

[[tpp.key_users]]
name = "local:ci-signer"
guid = "{11111111-2222-3333-4444-555555555555}"

[appviewx]
session_lifetime_secs = 120
sign_delay_ms = 10

[[appviewx.users]]
username = "signer"
password = "pw"
login_attempts = 3

[[appviewx.policies]]
name = "p"
keys = ["k1", "k2"]
outcome = "timeout-error"
allowed_ips = ["127.0.0.1"]

[[faults]]
endpoint = "authorize/oauth"
kind = "latency"
ms = 250

[[faults]]
endpoint = "PreQualify/Create"
kind = "status"
code = 503
retry_after = "2"
times = 2

[[faults]]
endpoint = "code-signing-fetch-status-sync-requests"
kind = "expire-session"
after = 3

[tls]
ca_out_path = "/tmp/sim-ca.pem"
"#;
    let c = SimConfig::from_toml_str(text).expect("parse");
    assert_eq!(c.tpp.token_lifetime_secs, 600);
    assert_eq!(c.tpp.refresh_lifetime_secs, 90 * 24 * 3600, "unset fields keep defaults");
    assert_eq!(c.tpp.key_users[0].name, "local:ci-signer");
    assert_eq!(c.appviewx.users[0].login_attempts, 3);
    assert!(c.appviewx.users[0].can_sign);
    assert_eq!(c.appviewx.policies[0].outcome, SignOutcome::TimeoutError);
    assert_eq!(c.appviewx.policies[0].signed_types, ["Hash Based Signing"]);
    assert_eq!(
        c.faults,
        vec![
            Fault::new("authorize/oauth", FaultKind::Latency { ms: 250 }),
            Fault::new("PreQualify/Create", FaultKind::Status { code: 503, retry_after: Some("2".into()) }).times(2),
            Fault::new("code-signing-fetch-status-sync-requests", FaultKind::ExpireSession).after(3),
        ]
    );
    assert!(matches!(c.tls, Some(TlsConfig::Generate { .. })));
    assert_eq!(SimConfig::from_toml_str(&c.to_toml_string().expect("toml")).expect("reparse"), c);
}

#[test]
fn mistakes_are_reported_at_load_time() {
    for (text, needle) in [
        ("[tpp]\ntoken_lifetme_secs = 5", "token_lifetme_secs"),
        ("[[faults]]\nendpoint = \"x\"\nkind = \"explode\"", "explode"),
        ("[[faults]]\nendpoint = \"x\"\nkind = \"status\"\ncode = 1000", "1000"),
        ("[[tpp.clients]]\nclient_id = \"a\"\nscope = \"code sign\"", "scope"),
        ("[[appviewx.policies]]\nname = \"p\"\nkeys = []\nallowed_ips = [\"nope\"]", "nope"),
        ("[[appviewx.policies]]\nname = \"p\"\nkeys = []\noutcome = \"maybe\"", "maybe"),
        ("[tls]\ncert_pem_path = \"a\"", "tls"),
        ("[oidc]\nrequest_token = \"\"", "oidc.request_token"),
        ("[oidc]\nsubjet = \"x\"", "subjet"),
        (
            "[[tpp.jwt_mappings]]\nissuer = \"i\"\naudience = \"a\"\nsubject = \" \"\nusername = \"u\"",
            "jwt_mappings[0].subject",
        ),
        ("[[tpp.jwt_mappings]]\nissuer = \"i\"\naudience = \"a\"\nsubject = \"s\"", "username"),
    ] {
        let err = SimConfig::from_toml_str(text).expect_err(text).to_string();
        assert!(err.contains(needle), "{text} -> {err}");
    }
}

#[test]
fn from_file_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sim.toml");
    std::fs::write(&path, "[tpp]\nversion = 5").expect("write");
    let err = SimConfig::from_toml_file(&path).expect_err("bad type").to_string();
    assert!(err.contains("sim.toml"), "{err}");
    std::fs::write(&path, "[appviewx]\nsign_delay_ms = 5").expect("write");
    assert_eq!(SimConfig::from_toml_file(&path).expect("ok").appviewx.sign_delay_ms, 5);
    assert!(SimConfig::from_toml_file(&dir.path().join("missing.toml")).is_err());
}

#[test]
fn describe_lists_what_a_user_needs() {
    let text = SimConfig::default().describe();
    for needle in [
        "codesign-gate",
        "codesign:approve,manage;certificate:manage",
        "sample-approver",
        "sample-approver-password",
        "sample-user-password",
        signing_sim::DEMO_ENVIRONMENT_DN,
        "local:sample-cs-user",
        "avx-user",
        "avx-password",
        "sample-policy",
        "sample-key",
        "Hash Based Signing",
        "/vedauth/authorize/jwt",
        "https://token.actions.githubusercontent.com",
        "repo:acme/*",
        "/__sim/oidc/token",
        "sim-oidc-request-token",
        "repo:acme/rocket:ref:refs/heads/main",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn readme_example_is_a_valid_config() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```toml\n").expect("toml block") + "```toml\n".len();
    let len = readme[start..].find("```").expect("end of block");
    let config = SimConfig::from_toml_str(&readme[start..start + len]).expect("README example parses");
    assert_eq!(config.faults.len(), 2);
    assert_eq!(config.faults[1].kind.name(), "app-status");
    assert_eq!(config.tpp.clients, SimConfig::default().tpp.clients);
    assert_eq!(config.tpp.jwt_mappings, SimConfig::default().tpp.jwt_mappings);
    assert_eq!(config.oidc, SimConfig::default().oidc);
}

#[test]
fn new_keys_parse_and_round_trip() {
    let text = r#"
variants = 42

[appviewx]
gwkey = "f000ca01"
visibility_delay_ms = 250

[[appviewx.policies]]
name = "scripts"
keys = ["k"]
signed_script = "Get-PSDrive"

[[faults]]
endpoint = "code-signing-fetch-status-sync-requests"
kind = "app-status"
code = 500
app_status_code = "CODE_SIGNING_0101"
times = 2

[[faults]]
endpoint = "code-signing-generate-hash"
kind = "app-status"
code = 503
app_status_code = "GATEWAY_0503"
message = "Service unavailable"
"#;
    let c = SimConfig::from_toml_str(text).expect("parse");
    assert_eq!(c.variants, Some(42));
    assert_eq!(c.appviewx.gwkey.as_deref(), Some("f000ca01"));
    assert_eq!(c.appviewx.visibility_delay_ms, 250);
    assert_eq!(c.appviewx.policies[0].signed_script.as_deref(), Some("Get-PSDrive"));
    assert_eq!(
        c.faults[0],
        Fault::new(
            "code-signing-fetch-status-sync-requests",
            FaultKind::AppStatus { code: 500, app_status_code: "CODE_SIGNING_0101".into(), message: None }
        )
        .times(2)
    );
    assert_eq!(c.faults[1].kind.name(), "app-status");
    assert_eq!(SimConfig::from_toml_str(&c.to_toml_string().expect("toml")).expect("reparse"), c);
    let defaults = SimConfig::default();
    assert_eq!((defaults.variants, defaults.appviewx.gwkey, defaults.appviewx.visibility_delay_ms), (None, None, 0));

    for (text, needle) in [
        ("[appviewx]\ngwkey = \" \"", "appviewx.gwkey"),
        ("[[faults]]\nendpoint = \"x\"\nkind = \"app-status\"\ncode = 500\napp_status_code = \"NOPE_1\"", "NOPE_1"),
        (
            "[[faults]]\nendpoint = \"x\"\nkind = \"app-status\"\ncode = 5000\napp_status_code = \"CODE_SIGNING_0101\"",
            "5000",
        ),
        ("[[faults]]\nendpoint = \"x\"\nkind = \"app-status\"\ncode = 500\napp_status_code = \"\"", "app_status_code"),
        ("variants = \"x\"", "variants"),
    ] {
        let err = SimConfig::from_toml_str(text).expect_err(text).to_string();
        assert!(err.contains(needle), "{text} -> {err}");
    }
}

#[test]
fn approval_keys_parse_and_policy_links_are_checked() {
    let defaults = SimConfig::default();
    assert_eq!(defaults.approval, ApprovalMode::Enforced);
    assert_eq!(defaults.appviewx.policies[0].environment_dn.as_deref(), Some(signing_sim::DEMO_ENVIRONMENT_DN));
    assert_eq!((defaults.appviewx.approval_timeout_ms, defaults.appviewx.manual_approval_after_ms), (3_600_000, None));
    assert!(defaults.describe().contains("approval chain enforced"));

    let text = r#"
approval = "recorded"

[appviewx]
approval_timeout_ms = 90000
manual_approval_after_ms = 2500

[[appviewx.policies]]
name = "p"
keys = ["k"]
environment_dn = '\ved\code signing\projects\sample\production environment'
"#;
    let c = SimConfig::from_toml_str(text).expect("parse");
    assert_eq!(c.approval, ApprovalMode::Recorded);
    assert_eq!((c.appviewx.approval_timeout_ms, c.appviewx.manual_approval_after_ms), (90_000, Some(2_500)));
    assert!(c.appviewx.policies[0].environment_dn.is_some(), "DNs are compared without case");
    assert_eq!(SimConfig::from_toml_str(&c.to_toml_string().expect("toml")).expect("reparse"), c);
    // Without a link, the first environment governs: nothing to refuse.
    let unlinked = "[[appviewx.policies]]\nname = \"p\"\nkeys = []";
    assert_eq!(SimConfig::from_toml_str(unlinked).expect("parse").appviewx.policies[0].environment_dn, None);
    // With no environment at all, only the recorded mode can sign; the demo policy's link to the
    // demo environment is refused there too.
    let no_env = "[tpp]\nenvironments = []\n[[appviewx.policies]]\nname = \"p\"\nkeys = []";
    assert!(SimConfig::from_toml_str(&format!("approval = \"recorded\"\n{no_env}")).is_ok());
    let err = SimConfig::from_toml_str("approval = \"recorded\"\n[tpp]\nenvironments = []").expect_err("link");
    assert!(err.to_string().contains("is not one of tpp.environments"), "{err}");

    for (text, needle) in [
        ("approval = \"strict\"", "strict"),
        (no_env, "no TPP environment governs"),
        ("[[appviewx.policies]]\nname = \"p\"\nkeys = []\nenvironment_dn = 'nowhere'", "nowhere"),
        ("[appviewx]\napproval_timeout_ms = 0", "appviewx.approval_timeout_ms"),
        ("[appviewx]\nmanual_approval_after = 5", "manual_approval_after"),
    ] {
        let err = SimConfig::from_toml_str(text).expect_err(text).to_string();
        assert!(err.contains(needle), "{text} -> {err}");
    }
}
