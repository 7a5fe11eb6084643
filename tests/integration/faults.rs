//! The fault matrix: every fault kind on every endpoint the gate calls. Each case ends either
//! in success, with the retries visible in the simulator's log, or in a clean failure (exit 1)
//! whose message names the endpoint; never a hang, never a panic, never a leaked secret.

use signing_sim::{Fault, FaultKind};

use crate::support::*;

/// (substring the simulator matches, the gate's name for it, is it a GET, base request count)
type Endpoint = (&'static str, &'static str, bool, Option<usize>);

const ENDPOINTS: &[Endpoint] = &[
    ("authorize/oauth", "authorize/oauth", false, Some(1)),
    ("Codesign/GetEnvironment", "Codesign/GetEnvironment", false, Some(1)),
    ("PreQualify/Create", "Flow/Actions/CodeSign/PreQualify/Create", false, Some(2)),
    ("Codesign/AddPreApproval", "Codesign/AddPreApproval", false, Some(2)),
    ("revoke/token", "revoke/token", true, Some(1)),
    ("avxapi/login", "login", false, Some(1)),
    ("code-signing-generate-hash", "code-signing-generate-hash", false, Some(2)),
    ("code-signing-fetch-status-sync-requests", "code-signing-fetch-status-sync-requests", true, None),
];

/// Called only with keyless authentication (`tpp-oidc-audience`).
const OIDC_ENDPOINTS: &[Endpoint] =
    &[("oidc/token", "oidc-token", true, Some(1)), ("authorize/jwt", "authorize/jwt", false, Some(1))];

#[derive(Debug, PartialEq)]
enum Expect {
    /// Exit 0 after this many extra requests to the endpoint.
    Success { retries: usize },
    /// Exit 1, and an error that names the endpoint and contains this.
    Failure(&'static str),
    /// The fault does not apply to this endpoint.
    NotApplicable,
}

/// One row per fault kind, as the table it is: rows that happen to agree stay apart.
#[allow(clippy::match_same_arms)]
fn expect(kind: &FaultKind, endpoint: &str, safe: bool) -> Expect {
    use Expect::*;
    let bearer =
        ["Codesign/GetEnvironment", "PreQualify/Create", "Codesign/AddPreApproval", "revoke/token"].contains(&endpoint);
    // The pre-flight is a read (retried like a GET), and when it fails for any reason but a
    // missing environment the run goes on with a warning.
    let preflight = endpoint == "Codesign/GetEnvironment";
    let session = ["code-signing-generate-hash", "code-signing-fetch-status-sync-requests"].contains(&endpoint);
    // Pre-qualifying a digest twice allows nothing new: retried like a read, flagged in the report.
    let idempotent = endpoint == "PreQualify/Create";
    match kind {
        FaultKind::Latency { .. } => Success { retries: 0 },
        FaultKind::Status { code: 500, .. } | FaultKind::MalformedJson if preflight => Success { retries: 0 },
        FaultKind::Status { code: 503 | 429, .. } => Success { retries: 1 },
        FaultKind::Status { code: 502, .. } if safe || idempotent => Success { retries: 1 },
        FaultKind::Status { code: 502, .. } => Failure("HTTP 502"),
        FaultKind::Status { code, .. } if *code == 500 && endpoint == "revoke/token" => Failure("HTTP 500"),
        FaultKind::Status { .. } => Failure("HTTP 500"),
        FaultKind::Reset | FaultKind::Truncated | FaultKind::Hang if safe || idempotent => Success { retries: 1 },
        FaultKind::Reset | FaultKind::Truncated => Failure(""),
        FaultKind::Hang => Failure("no answer within"),
        FaultKind::MalformedJson if endpoint == "revoke/token" => Success { retries: 0 },
        FaultKind::MalformedJson => Failure("not JSON"),
        // A token that died before its revocation needs no revoking.
        FaultKind::ExpireToken if endpoint == "revoke/token" => Success { retries: 0 },
        FaultKind::ExpireToken if bearer => Success { retries: 1 },
        FaultKind::ExpireSession if session => Success { retries: 1 },
        FaultKind::ExpireToken | FaultKind::ExpireSession => NotApplicable,
        // AppViewX's own error codes; their meanings are covered by the conformance suite.
        FaultKind::AppStatus { .. } => NotApplicable,
        // Signatures that do not verify: tests/integration/verify.rs.
        FaultKind::WrongKey | FaultKind::SwappedSignature | FaultKind::TruncatedSignature => NotApplicable,
    }
}

fn kinds() -> Vec<FaultKind> {
    vec![
        FaultKind::Latency { ms: 300 },
        FaultKind::Status { code: 503, retry_after: Some("1".into()) },
        FaultKind::Status { code: 429, retry_after: None },
        FaultKind::Status { code: 502, retry_after: None },
        FaultKind::Status { code: 500, retry_after: None },
        FaultKind::Reset,
        FaultKind::Truncated,
        FaultKind::MalformedJson,
        FaultKind::Hang,
        FaultKind::ExpireToken,
        FaultKind::ExpireSession,
    ]
}

fn run_case(kind: &FaultKind, (pattern, name, get, base): Endpoint, keyless: bool) -> Option<String> {
    let expected = expect(kind, pattern, get || pattern == "Codesign/GetEnvironment");
    if expected == Expect::NotApplicable {
        return None;
    }
    let label = match &kind {
        FaultKind::Status { code, .. } => format!("status {code} on {pattern}"),
        other => format!("{} on {pattern}", other.name()),
    };
    let label = if keyless { format!("{label} (keyless)") } else { label };
    let sim = sim();
    // The first matching request takes the fault, except for status polls: the second one, so
    // the fault lands mid-poll.
    let after = u32::from(pattern.contains("fetch-status"));
    sim.add_fault(Fault { endpoint: pattern.into(), kind: kind.clone(), times: 1, after });
    let mut gate = Gate::full(&sim);
    gate.input("request-timeout", "1s").input("timeout", "15s");
    if keyless {
        gate.unset("tpp-username").unset("tpp-password").input("tpp-oidc-audience", "codesign-gate");
        gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), sim.oidc_request_url());
        gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), sim.config().oidc.request_token.clone());
    }
    let started = std::time::Instant::now();
    let ran = gate.run();
    let elapsed = started.elapsed();
    let state = sim.state();
    let hits = state.requests.iter().filter(|r| r.path.to_lowercase().contains(&pattern.to_lowercase())).count();
    let faulted = state.requests.iter().filter(|r| r.fault.as_deref() == Some(kind.name())).count();

    let mut secrets: Vec<&str> = ran.masks();
    secrets.extend([TPP_PASSWORD, AVX_PASSWORD]);
    ran.assert_no_secret(&secrets);
    assert!(!ran.stderr.contains("panicked"), "{label}: {}", ran.debug());
    assert!(
        elapsed < std::time::Duration::from_secs(15 + 1 + 5),
        "{label}: ran {elapsed:?}, past timeout + request-timeout"
    );
    assert_eq!(faulted, 1, "{label}: the fault fired once: {:?}", state.requests);
    match expected {
        Expect::Success { retries } => {
            assert_eq!(ran.code, 0, "{label}: {}", ran.debug());
            let renews = matches!(kind, FaultKind::ExpireToken | FaultKind::ExpireSession) && retries > 0;
            if let Some(base) = base {
                // An expired credential fails every call in flight with it; each is sent again
                // after the one renewal.
                let most = if renews { base * 2 } else { base + retries };
                assert!((base + retries..=most).contains(&hits), "{label}: {retries} retries: {:?}", state.requests);
            }
            if renews {
                let logins = state
                    .requests
                    .iter()
                    .filter(|r| r.path.ends_with("authorize/oauth") || r.path.ends_with("avxapi/login"))
                    .count();
                assert_eq!(logins, 3, "{label}: one renewal: {:?}", state.requests);
            }
            assert!(
                state.tpp_tokens.iter().all(|t| t.revoked || t.expired),
                "{label}: tokens revoked: {:?}",
                state.tpp_tokens
            );
            assert_eq!(ran.output("signed"), "2", "{label}");
        }
        Expect::Failure(cause) => {
            assert_eq!(ran.code, 1, "{label}: {}", ran.debug());
            let error = ran.stdout.lines().find(|l| l.starts_with("::error") && l.contains(name));
            let Some(error) = error else { panic!("{label}: no ::error names {name}: {}", ran.debug()) };
            assert!(error.contains(cause), "{label}: the error says `{cause}`: {error}");
            assert_eq!(hits, base.unwrap_or(hits), "{label}: not retried: {:?}", state.requests);
            if !["authorize/oauth", "authorize/jwt", "oidc/token", "revoke/token"].contains(&pattern) {
                assert!(
                    state.tpp_tokens.iter().all(|t| t.revoked),
                    "{label}: tokens revoked on failure: {:?}",
                    state.tpp_tokens
                );
            }
        }
        Expect::NotApplicable => {}
    }
    Some(format!("{label}: exit {} in {:.1}s, {hits} request(s)", ran.code, elapsed.as_secs_f64()))
}

#[test]
fn every_fault_on_every_endpoint() {
    let cases: Vec<(FaultKind, Endpoint, bool)> = kinds()
        .into_iter()
        .flat_map(|k| {
            let password = ENDPOINTS.iter().map(|e| (k.clone(), *e, false));
            let keyless = OIDC_ENDPOINTS.iter().map(|e| (k.clone(), *e, true));
            password.chain(keyless).collect::<Vec<_>>()
        })
        .collect();
    let results: Vec<Option<String>> = std::thread::scope(|scope| {
        let chunks: Vec<_> = cases.chunks(cases.len().div_ceil(8)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || chunk.iter().map(|(k, e, keyless)| run_case(k, *e, *keyless)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let ran: Vec<String> = results.into_iter().flatten().collect();
    eprintln!("fault matrix: {} cases\n{}", ran.len(), ran.join("\n"));
    assert!(ran.len() >= 90, "the matrix covers every kind on every endpoint it applies to: {}", ran.len());
}

/// A truncated answer to PreQualify/Create: TPP did create it, the gate cannot know, asks again
/// (a second pre-qualification of the same digest allows nothing new) and says so in the report.
#[test]
fn a_prequalification_whose_answer_was_lost_is_sent_again_and_flagged() {
    let sim = sim();
    sim.add_fault(Fault::new("PreQualify/Create", FaultKind::Truncated));
    let ran = Gate::full(&sim).run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(sim.state().prequalifications.len(), 3, "two digests, one of them created twice");
    let problems = ran.report()["problems"].as_array().expect("problems").clone();
    let flagged: Vec<_> = problems
        .iter()
        .filter(|p| {
            p["severity"] == "warning"
                && p["message"].as_str().is_some_and(|m| m.contains("applied this request twice"))
        })
        .collect();
    assert_eq!(flagged.len(), 1, "{problems:?}");
    assert!(flagged[0]["artifact"].is_string(), "names the artifact: {:?}", flagged[0]);
}
