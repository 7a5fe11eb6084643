//! Plan mode (`dry-run`, the `plan` command, pull requests from forks): the same pipeline over a
//! transport that sends nothing, checked against what a real run sends the simulator.

use std::fmt::Write as _;

use crate::support::*;

/// One request as the plan prints it.
#[derive(Debug)]
struct Printed {
    title: String,
    method: String,
    url: reqwest::Url,
    headers: Vec<String>,
    body: Option<serde_json::Value>,
}

/// Reads the `planned request N: …` blocks off stdout, in order.
fn printed_requests(stdout: &str) -> Vec<Printed> {
    let mut out: Vec<Printed> = Vec::new();
    let mut lines = stdout.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(title) = line.strip_prefix("planned request ") else { continue };
        let first = lines.next().expect("a method and URL line");
        let (method, url) = first.trim().split_once(' ').expect("METHOD URL");
        let mut p = Printed {
            title: title.to_string(),
            method: method.to_string(),
            url: reqwest::Url::parse(url).expect("a URL"),
            headers: Vec::new(),
            body: None,
        };
        while let Some(next) = lines.peek().and_then(|l| l.strip_prefix("  ")) {
            match next.strip_prefix("body: ") {
                Some(body) => p.body = Some(serde_json::from_str(body).expect("a JSON body")),
                None => p.headers.push(next.to_string()),
            }
            lines.next();
        }
        out.push(p);
    }
    out
}

/// The query without the values only a server supplies (sign ids), as `k=v&…`.
fn query_without_sign_ids(pairs: impl Iterator<Item = (String, String)>) -> String {
    pairs
        .map(|(k, v)| if k == "signId" { format!("{k}=<sign id>") } else { format!("{k}={v}") })
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn a_plan_prints_in_order_exactly_what_a_real_run_sends() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    // One request of each kind at a time, so each endpoint's calls go out in a fixed order.
    gate.input("max-concurrency", "1");
    gate.args = vec!["plan".into()];
    let plan = gate.run();
    assert_eq!(plan.code, 0, "{}", plan.debug());
    assert!(sim.state().requests.is_empty(), "a plan sends nothing: {:?}", sim.state().requests);
    let printed = printed_requests(&plan.stdout);

    gate.args = vec!["run".into()];
    let real = gate.run();
    assert_eq!(real.code, 0, "{}", real.debug());
    let mut seen_ids = std::collections::HashSet::new();
    // A real wait asks about a sign id until it is signed; the plan's answer ends it at once.
    let received: Vec<_> = sim
        .state()
        .requests
        .into_iter()
        .filter(|r| {
            let id =
                r.query.as_deref().and_then(|q| q.split('&').find(|p| p.starts_with("signId=")).map(str::to_string));
            id.is_none_or(|id| seen_ids.insert(id))
        })
        .collect();

    // A pre-approval may go out beside the next artifact's pre-qualification (each kind has its
    // own max-concurrency slots), so the two kinds may interleave differently from run to run:
    // the calls are compared endpoint by endpoint, each endpoint's calls in the order sent, and
    // the endpoints in the order they were first called.
    let first_call: Vec<String> = printed.iter().map(|p| p.url.path().to_string()).collect();
    let rank = |path: &str| first_call.iter().position(|f| f == path).unwrap_or(usize::MAX);
    let (mut printed, mut received) = (printed, received);
    printed.sort_by_key(|p| rank(p.url.path()));
    received.sort_by_key(|r| rank(&r.path));
    let summary = |p: &Printed| format!("{} {}", p.method, p.url.path());
    assert_eq!(
        printed.iter().map(summary).collect::<Vec<_>>(),
        received.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>(),
        "the same calls, each endpoint's in the same order"
    );
    assert_eq!(
        printed.len(),
        12,
        "grant, environment, 2 pre-qualifications, 2 pre-approvals, revoke, login, 2 submissions, 2 status asks"
    );
    for (p, r) in printed.iter().zip(&received) {
        assert_eq!(p.body, r.body, "{}: the body, secrets masked on both sides", p.title);
        let real_query = r.query.as_deref().map(|q| {
            query_without_sign_ids(
                q.split('&').map(|kv| kv.split_once('=').unwrap_or((kv, ""))).map(|(k, v)| (k.into(), v.into())),
            )
        });
        let plan_query = p.url.query().map(|_| query_without_sign_ids(p.url.query_pairs().into_owned()));
        assert_eq!(plan_query, real_query, "{}: the query", p.title);
        for h in &p.headers {
            let name = h.split_once(':').map_or(h.as_str(), |(n, _)| n);
            assert!(r.header_names.iter().any(|n| n == name), "{}: header `{name}` is sent too", p.title);
        }
    }
    assert_eq!(
        printed.iter().filter(|p| p.headers.iter().any(|h| h == "authorization: ***")).count(),
        6,
        "every TPP call after the grant carries the bearer, shown as ***"
    );
}

#[test]
fn a_plan_sends_nothing_and_reports_planned_without_a_secret() {
    let sim = sim();
    let (github_api, github_seen) = fake_github();
    let mut gate = Gate::full(&sim);
    gate.input("dry-run", "true")
        .input("appviewx-gwkey", "tenant-key-5c1e7")
        .input("check-run", "codesign-gate")
        .input("github-token", "ghs_plan_test_token_0001");
    gate.env.insert("GITHUB_API_URL".into(), github_api.clone());
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(sim.state().requests.is_empty(), "nothing reached TPP or AppViewX");
    assert!(github_seen.lock().expect("log").is_empty(), "no check run is published for a plan");

    assert_eq!(ran.output("result"), "planned");
    assert_eq!((ran.output("prequalified"), ran.output("signed"), ran.output("failed")), ("0", "0", "0"));
    assert_eq!(ran.output("runner-ip"), "127.0.0.1", "the runner IP is resolved as in a real run");
    let artifacts: serde_json::Value = serde_json::from_str(ran.output("artifacts")).expect("JSON");
    for a in artifacts.as_array().expect("array") {
        assert_eq!((a["status"].as_str(), a["sign-id"].as_str()), (Some("planned"), None), "{a}");
        assert!(a["digest"].as_str().is_some_and(|d| d.len() == 64), "artifacts are hashed: {a}");
    }
    let report = ran.report();
    assert_eq!(report["result"], "planned");
    assert_eq!(report["plan"]["reason"], "dry-run");
    assert_eq!(report["calls"].as_array().map(Vec::len), Some(0), "no call was made");
    assert_eq!(report["plan"]["requests"].as_array().map(Vec::len), Some(13), "the 12 of the run and the check run");
    for pa in report["preapprovals"].as_array().expect("pre-approvals") {
        assert_eq!(pa["outcome"]["status"], "planned", "{pa}");
    }
    assert_eq!(report["preapprovals"].as_array().map(Vec::len), Some(2), "one per signing");
    assert_eq!(report["tpp_auth"]["revocations"], serde_json::json!(["planned"]));
    assert!(ran.signatures.is_empty(), "a plan writes no signature");
    assert!(!ran.report_raw.contains("\"signed\""), "nothing is reported signed");
    assert!(ran.summary.contains("codesign-gate planned: nothing was sent"), "{}", ran.summary);
    assert!(ran.summary.contains("**Planned requests** (13,"), "{}", ran.summary);
    assert!(ran.stdout.contains("check run `codesign-gate` not published"), "{}", ran.stdout);
    // The check run is planned like every other call: listed last, its token as ***.
    let printed = printed_requests(&ran.stdout);
    assert_eq!(printed.len(), 13, "{printed:?}");
    let check = printed.last().expect("the check run");
    assert!(check.title.contains("github check-runs"), "{check:?}");
    assert_eq!(
        (check.method.as_str(), check.url.as_str()),
        ("POST", format!("{github_api}/repos/acme/rocket/check-runs").as_str())
    );
    assert!(check.headers.contains(&"authorization: ***".to_string()), "{check:?}");
    assert!(check.headers.contains(&"accept: application/vnd.github+json".to_string()), "{check:?}");
    let body = check.body.as_ref().expect("a body");
    assert_eq!(
        (&body["name"], &body["status"]),
        (&serde_json::json!("codesign-gate"), &serde_json::json!("completed"))
    );
    assert_eq!(report["plan"]["requests"][12]["endpoint"], "check-runs");
    let endpoints = report["plan"]["endpoints"].as_array().expect("the plan's endpoints");
    let check_runs = endpoints.iter().find(|e| e["endpoint"] == "check-runs").expect("check-runs among the endpoints");
    assert_eq!(
        (&check_runs["service"], &check_runs["requests"]),
        (&serde_json::json!("github"), &serde_json::json!(1))
    );
    assert!(ran.stdout.contains("gwkey=***"), "the tenant key in the query is hidden: {}", ran.stdout);
    assert!(ran.stdout.contains(r#""password":"***""#), "{}", ran.stdout);
    assert!(!ran.stdout.contains("::warning"), "a plan asked for is no warning: {}", ran.stdout);
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD, "tenant-key-5c1e7", "ghs_plan_test_token_0001"]);
}

#[test]
fn a_keyless_plan_asks_github_for_no_oidc_token() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.unset("tpp-username").unset("tpp-password").input("tpp-oidc-audience", "codesign-gate");
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), sim.oidc_request_url());
    gate.env.insert("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), "oidc-request-token-77".into());
    gate.args = vec!["plan".into()];
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(sim.state().requests.is_empty(), "neither the OIDC endpoint nor TPP was asked");
    let printed = printed_requests(&ran.stdout);
    assert!(printed[0].title.contains("github oidc-token"), "{printed:?}");
    assert!(printed[0].headers.contains(&"authorization: ***".to_string()), "{printed:?}");
    assert_eq!(printed[1].body.as_ref().map(|b| b["jwt"].clone()), Some(serde_json::json!("***")));
    ran.assert_no_secret(&["oidc-request-token-77", AVX_PASSWORD]);
}

/// A `pull_request` event payload, as the runner leaves it at `GITHUB_EVENT_PATH`.
fn pull_request(gate: &mut Gate, event: &str, head: &str) {
    let payload = serde_json::json!({
        "action": "synchronize",
        "pull_request": {"number": 7, "head": {"repo": {"full_name": head}}, "base": {"repo": {"full_name": "acme/rocket"}}}
    });
    let path = gate.dir.path().join("event.json");
    std::fs::write(&path, payload.to_string()).expect("event payload");
    gate.env.insert("GITHUB_EVENT_NAME".into(), event.into());
    gate.env.insert("GITHUB_EVENT_PATH".into(), path.to_string_lossy().into_owned());
}

#[test]
fn a_pull_request_from_a_fork_without_secrets_runs_as_a_plan_and_says_so_once() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.unset("tpp-password").unset("appviewx-password");
    pull_request(&mut gate, "pull_request", "someone/rocket");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(sim.state().requests.is_empty(), "a fork's run sends nothing");
    let warnings: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with("::warning")).collect();
    assert_eq!(warnings.len(), 1, "{}", ran.stdout);
    assert!(
        warnings[0].contains("pull request from a fork") && warnings[0].contains("tpp-password, appviewx-password"),
        "{}",
        warnings[0]
    );
    assert_eq!(ran.output("result"), "planned");
    let report = ran.report();
    assert_eq!(report["result"], "planned");
    assert_eq!(report["plan"]["reason"], "fork-pull-request");
    assert_eq!(report["plan"]["withheld"], serde_json::json!(["tpp-password", "appviewx-password"]));
    assert_eq!(printed_requests(&ran.stdout).len(), 12, "the whole run is planned");
}

#[test]
fn a_missing_secret_outside_a_fork_stays_an_input_error() {
    let sim = sim();
    // The same repository's pull request, a push, and pull_request_target (which runs with the
    // base repository's secrets) all get their secrets: one missing is a mistake to fix.
    for (event, head, missing) in [
        ("pull_request", "acme/rocket", "tpp-password"),
        ("push", "someone/rocket", "appviewx-password"),
        ("pull_request_target", "someone/rocket", "tpp-password"),
    ] {
        let mut gate = Gate::full(&sim);
        gate.unset(missing);
        pull_request(&mut gate, event, head);
        let ran = gate.run();
        assert_eq!(ran.code, 2, "{event}: {}", ran.debug());
        assert!(ran.stderr.contains(&format!("input `{missing}`")), "{event}: {}", ran.stderr);
        assert!(ran.report.is_none(), "{event}: an input error writes no report");
    }
    assert!(sim.state().requests.is_empty());
}

#[test]
fn a_pull_request_from_a_fork_with_its_secrets_runs_for_real() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    pull_request(&mut gate, "pull_request", "someone/rocket");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("result"), "success");
    assert_eq!(ran.output("signed"), "2");
    assert!(ran.report().get("plan").is_none(), "not a plan");
    assert_eq!(sim.state().sign_requests.len(), 2);
    assert!(!ran.stdout.contains("::warning"), "{}", ran.stdout);
}

/// The plan of a checksum list of `lines` lines, `dist/fileNNNN.bin`, checked to send nothing.
fn plan_of_a_list(lines: usize) -> Ran {
    let sim = sim();
    let mut gate = Gate::empty();
    let list = (0..lines).fold(String::new(), |mut list, i| {
        let _ = writeln!(list, "{:064x}  dist/file{i:04}.bin", i + 1);
        list
    });
    gate.file("SHA256SUMS", list.as_bytes());
    gate.input("artifacts", "SHA256SUMS").input("digest-files", "list").tpp(&sim).avx(&sim);
    gate.input("dry-run", "true");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(sim.state().requests.is_empty(), "a plan sends nothing");
    ran
}

/// A plan of many artifacts shows the first few requests to each endpoint in the log and the
/// summary, and says how many more; the report keeps every request, each endpoint's shared
/// method, URL and headers once, and per request only what differs.
#[test]
fn a_large_plan_shows_a_few_requests_per_endpoint_and_reports_every_one() {
    let ran = plan_of_a_list(7);

    let printed = printed_requests(&ran.stdout);
    let shown = |endpoint: &str| printed.iter().filter(|p| p.title.contains(&format!(" {endpoint}"))).count();
    assert_eq!(shown("Flow/Actions/CodeSign/PreQualify/Create"), 5, "{printed:?}");
    assert_eq!(shown("code-signing-fetch-status-sync-requests"), 5, "{printed:?}");
    assert_eq!(shown("authorize/oauth"), 1, "{printed:?}");
    for endpoint in ["Flow/Actions/CodeSign/PreQualify/Create", "Codesign/AddPreApproval", "code-signing-generate-hash"]
    {
        let line =
            format!("… and 2 more {endpoint} request(s) like these, one per artifact: the report lists every one");
        assert!(ran.stdout.contains(&line), "{line}: {}", ran.stdout);
        assert!(ran.summary.contains(&format!("- and 2 more `{endpoint}` request(s)")), "{}", ran.summary);
    }
    // Numbered as in the whole plan: the last shown fetch-status is the 5th of 7.
    assert!(printed.last().is_some_and(|p| p.url.as_str().ends_with("signId=planned-sign-id-5")), "{printed:?}");

    let report = ran.report();
    let requests = report["plan"]["requests"].as_array().expect("requests");
    let endpoints = report["plan"]["endpoints"].as_array().expect("endpoints");
    let total: u64 = endpoints.iter().map(|e| e["requests"].as_u64().expect("a count")).sum();
    assert_eq!(total, requests.len() as u64, "every request is counted under its endpoint");
    let prequalified: Vec<&serde_json::Value> =
        requests.iter().filter(|r| r["endpoint"] == "Flow/Actions/CodeSign/PreQualify/Create").collect();
    assert_eq!(prequalified.len(), 7, "the report keeps every request");
    // Each request names only what differs from its endpoint's first call: here, the digest.
    let first =
        endpoints.iter().find(|e| e["endpoint"] == "Flow/Actions/CodeSign/PreQualify/Create").expect("endpoint");
    let data: std::collections::BTreeSet<&str> = prequalified
        .iter()
        .map(|r| r.get("fields").unwrap_or(&first["body"])["Data"].as_str().expect("Data"))
        .collect();
    assert_eq!(data.len(), 7, "each with its own digest");
    assert!(
        prequalified.iter().all(|r| r.get("url").is_none() && r.get("headers").is_none() && r.get("body").is_none()),
        "{prequalified:?}"
    );
    assert!(
        prequalified.iter().skip(1).all(|r| r["fields"].as_object().is_some_and(|f| f.len() == 1)),
        "{prequalified:?}"
    );
    let status = endpoints.iter().find(|e| e["endpoint"] == "code-signing-fetch-status-sync-requests").expect("status");
    assert_eq!(status["method"], "GET");
    let own_urls: Vec<&str> = requests
        .iter()
        .filter(|r| r["endpoint"] == "code-signing-fetch-status-sync-requests")
        .filter_map(|r| r["url"].as_str())
        .collect();
    assert_eq!(own_urls.len(), 6, "the first sign id's URL is the endpoint's; the other six differ: {own_urls:?}");
    ran.assert_no_secret(&[TPP_PASSWORD, AVX_PASSWORD]);
}

/// A plan of thousands of artifacts (a checksum list) keeps the log and the job summary
/// readable, and the summary under GitHub's 1 MiB: the first 1,000 lines of each kind and the
/// first 1,000 rows, then how many more, by status. The report has every artifact, each on one
/// line of its own.
#[test]
fn a_plan_of_thousands_keeps_the_log_and_the_summary_readable() {
    let ran = plan_of_a_list(2500);

    for kind in ["pre-qualified", "pre-approved", "submitted", "signed"] {
        let lines = ran.stdout.lines().filter(|l| l.starts_with(&format!("[plan] {kind} dist/"))).count();
        assert_eq!(lines, 1000, "{kind}");
        let more =
            format!("[plan] … and 1500 more `{kind}` line(s) like these, one per artifact: the report has every one");
        assert!(ran.stdout.lines().any(|l| l == more), "{more}");
    }
    let digests = ran.stdout.lines().filter(|l| l.contains("  (SHA256SUMS line ")).count();
    assert_eq!(digests, 1000, "digest lines");
    assert!(ran.stdout.lines().count() < 6000, "{} lines", ran.stdout.lines().count());

    let rows = ran.summary.lines().filter(|l| l.starts_with("| `dist/file")).count();
    assert_eq!(rows, 1000, "table rows");
    assert!(
        ran.summary.contains("… and 1500 more artifact(s) (1500 planned): the report lists every one"),
        "{}",
        ran.summary
    );
    assert!(ran.summary.len() < 1 << 20, "GitHub refuses a summary over 1 MiB: {} bytes", ran.summary.len());

    let report = ran.report();
    assert_eq!(report["artifacts"].as_array().map(Vec::len), Some(2500));
    let one_per_line = ran.report_raw.lines().filter(|l| l.starts_with("    {\"name\":\"dist/file")).count();
    assert_eq!(one_per_line, 2500, "each artifact on a line of its own");
    let total: u64 =
        report["plan"]["endpoints"].as_array().expect("endpoints").iter().filter_map(|e| e["requests"].as_u64()).sum();
    assert_eq!(total, report["plan"]["requests"].as_array().map_or(0, |r| r.len() as u64));
    assert!(total > 4 * 2500, "every planned request is in the report: {total}");
}
