//! Runs the real binary against the real simulator and collects every channel it writes to.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use sha2::Digest as _;
use signing_sim::{SimConfig, SimHandle};

pub const DN: &str = r"\VED\Code Signing\Projects\Sample\Production Environment";
pub const TPP_PASSWORD: &str = "sample-approver-password";
pub const AVX_PASSWORD: &str = "avx-password";

/// A simulator tuned for tests: sign requests finish after 150 ms.
pub fn sim() -> SimHandle {
    sim_with(|_| {})
}

/// `SIGNING_SIM_VARIANTS=<seed>` runs every test against the simulator's variants mode: answers
/// that vary within the documented envelope (field order, optional fields absent or null, unknown
/// extra fields), which must not change any verdict.
pub fn sim_with(change: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig::default();
    config.appviewx.sign_delay_ms = 150;
    config.variants = std::env::var("SIGNING_SIM_VARIANTS").ok().and_then(|s| s.trim().parse().ok());
    change(&mut config);
    SimHandle::spawn(config).expect("simulator starts")
}

/// One gate run: a temp workspace, the `INPUT_*` env, and the GitHub files.
pub struct Gate {
    pub dir: tempfile::TempDir,
    pub env: BTreeMap<String, String>,
    pub args: Vec<String>,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub summary: String,
    pub outputs_raw: String,
    pub outputs: BTreeMap<String, String>,
    pub report: Option<serde_json::Value>,
    pub report_raw: String,
    /// Where the report was read from.
    pub report_path: PathBuf,
    pub signatures: Vec<(PathBuf, String)>,
}

impl Gate {
    /// Inputs for both vendors pointing at `sim`, the TPP password grant, and two artifacts.
    pub fn full(sim: &SimHandle) -> Gate {
        let mut g = Gate::empty();
        g.file("dist/app.exe", b"the application");
        g.file("dist/lib/helper.dll", b"a helper library");
        g.file("dist/app.pdb", b"symbols");
        g.input("artifacts", "dist/**/*\n!**/*.pdb");
        g.tpp(sim);
        g.avx(sim);
        g
    }

    pub fn empty() -> Gate {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("ws")).expect("workspace");
        std::fs::create_dir_all(dir.path().join("runner-temp")).expect("runner temp");
        let mut env = BTreeMap::new();
        let ws = dir.path().join("ws");
        for (k, v) in [
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_WORKSPACE", ws.to_string_lossy().into_owned()),
            ("RUNNER_TEMP", dir.path().join("runner-temp").to_string_lossy().into_owned()),
            ("GITHUB_OUTPUT", dir.path().join("output.txt").to_string_lossy().into_owned()),
            ("GITHUB_STEP_SUMMARY", dir.path().join("summary.md").to_string_lossy().into_owned()),
            ("GITHUB_REPOSITORY", "acme/rocket".into()),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567".into()),
            ("GITHUB_RUN_ID", "4242".into()),
            ("GITHUB_RUN_ATTEMPT", "2".into()),
            ("GITHUB_SERVER_URL", "https://github.com".into()),
        ] {
            env.insert(k.to_string(), v);
        }
        env.insert("INPUT_POLL-INTERVAL".into(), "100ms".into());
        env.insert("INPUT_TIMEOUT".into(), "20s".into());
        Gate { dir, env, args: vec!["run".into()] }
    }

    /// A plain CI job (GitLab, Jenkins, a shell): no GitHub variables at all.
    pub fn outside_github(&mut self) -> &mut Self {
        self.env.retain(|k, _| !k.starts_with("GITHUB_") && !k.starts_with("RUNNER_"));
        self
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn file(&mut self, rel: &str, content: &[u8]) -> PathBuf {
        let path = self.workspace().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write artifact");
        path
    }

    pub fn input(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.insert(format!("INPUT_{}", name.to_uppercase()), value.to_string());
        self
    }

    pub fn unset(&mut self, name: &str) -> &mut Self {
        self.env.remove(&format!("INPUT_{}", name.to_uppercase()));
        self
    }

    pub fn tpp(&mut self, sim: &SimHandle) -> &mut Self {
        self.input("tpp-url", &sim.base_url())
            .input("tpp-username", "sample-approver")
            .input("tpp-password", TPP_PASSWORD)
            .input("tpp-client-id", "codesign-gate")
            .input("environment-dn", DN)
            .input("key-user", "local:sample-cs-user")
    }

    /// AppViewX at the simulator, signing with `sample-key`, whose certificate the gate is given
    /// (outside the workspace, where no pattern matches it): every signature is verified unless
    /// a test unsets `signing-certificate`.
    pub fn avx(&mut self, sim: &SimHandle) -> &mut Self {
        let certificate = self.dir.path().join("signing-certificate.pem");
        std::fs::write(&certificate, sim.certificate_chain_pem("sample-key").expect("sample-key's chain"))
            .expect("the signing certificate");
        self.input("appviewx-url", &sim.base_url())
            .input("appviewx-username", "avx-user")
            .input("appviewx-password", AVX_PASSWORD)
            .input("appviewx-signing-policy", "sample-policy")
            .input("appviewx-signing-key", "sample-key")
            .input("signing-certificate", &certificate.to_string_lossy())
    }

    pub fn command(&self) -> Command {
        self.command_in(&[])
    }

    /// The same run started through `wrapper`, e.g. `ip netns exec NAME`.
    pub fn command_in(&self, wrapper: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_codesign-gate");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(bin);
                cmd
            }
            None => Command::new(bin),
        };
        cmd.env_clear().args(&self.args).current_dir(self.workspace());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.envs(&self.env);
        cmd
    }

    /// The folder that holds one folder per run: `$RUNNER_TEMP/codesign-gate` on GitHub,
    /// `codesign-gate-runs` in the workspace elsewhere.
    pub fn runs_folder(&self) -> PathBuf {
        match self.env.get("RUNNER_TEMP") {
            Some(temp) => PathBuf::from(temp).join("codesign-gate"),
            None => self.workspace().join("codesign-gate-runs"),
        }
    }

    /// The report of the latest run: the given `report-path`, or the report in the run folder
    /// that sorts last (run folders are named by the time they started).
    pub fn report_path(&self) -> PathBuf {
        if let Some(path) = self.env.get("INPUT_REPORT-PATH") {
            return PathBuf::from(path);
        }
        let mut runs: Vec<PathBuf> =
            std::fs::read_dir(self.runs_folder()).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        runs.sort();
        runs.pop().unwrap_or_else(|| self.runs_folder().join("none")).join("codesign-gate-report.json")
    }

    pub fn run(&self) -> Ran {
        self.collect(&run_with_watchdog(self.command()))
    }

    /// Runs through `wrapper`, as [`Gate::command_in`].
    pub fn run_in(&self, wrapper: &[&str]) -> Ran {
        self.collect(&run_with_watchdog(self.command_in(wrapper)))
    }

    /// Reads every channel the run wrote, given how the process ended.
    pub fn collect(&self, out: &std::process::Output) -> Ran {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let outputs_raw = read("output.txt");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // The path the run printed last, as a user would read it; else where it would be.
        let printed = stdout.lines().rev().find_map(|l| l.strip_prefix("report: ")).map(PathBuf::from);
        let report_path = printed.unwrap_or_else(|| self.report_path());
        let report_raw = std::fs::read_to_string(&report_path).unwrap_or_default();
        // Beside a given report-path, `<name>-signatures`; in a run folder, `codesign-gate-signatures`.
        let sig_dir = match (self.env.contains_key("INPUT_REPORT-PATH"), report_path.file_stem()) {
            (true, Some(stem)) => report_path.with_file_name(format!("{}-signatures", stem.to_string_lossy())),
            _ => report_path.parent().expect("report dir").join("codesign-gate-signatures"),
        };
        let mut signatures = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&sig_dir) {
            for e in entries.flatten() {
                signatures.push((e.path(), std::fs::read_to_string(e.path()).unwrap_or_default()));
            }
        }
        signatures.sort();
        let report = serde_json::from_str(&report_raw).ok();
        if let Some(report) = &report {
            assert_report_schema(report, &report_path);
        }
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: stdout.into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            summary: read("summary.md"),
            outputs: parse_outputs(&outputs_raw),
            outputs_raw,
            report,
            report_raw,
            report_path,
            signatures,
        }
    }
}

/// The report's published schema, `schemas/report.v1.json`, as written.
pub const REPORT_SCHEMA: &str = include_str!("../../schemas/report.v1.json");

/// The report's schema (draft 2020-12), compiled once for every test in the binary.
pub fn report_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(REPORT_SCHEMA).expect("schemas/report.v1.json is JSON");
        jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("schemas/report.v1.json does not compile: {e}"))
    })
}

/// Every way `report` breaks the schema, one `instance path: error` line each; empty when it conforms.
pub fn schema_errors(report: &serde_json::Value) -> Vec<String> {
    report_schema()
        .iter_errors(report)
        .map(|e| {
            let at = e.instance_path().as_str();
            format!("{}: {e}", if at.is_empty() { "(the report)" } else { at })
        })
        .collect()
}

/// Every report a test reads passes through here ([`Gate::collect`]): a field, a value or a shape
/// the schema does not describe fails the test until `schemas/report.v1.json` says it.
pub fn assert_report_schema(report: &serde_json::Value, path: &Path) {
    let errors = schema_errors(report);
    assert!(
        errors.is_empty(),
        "the report at {} does not match schemas/report.v1.json:\n{}",
        path.display(),
        errors.join("\n")
    );
}

/// Parses `name<<DELIM\nvalue\nDELIM\n` blocks the way the runner does.
pub fn parse_outputs(raw: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = raw.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line.split_once("<<").unwrap_or_else(|| panic!("not a heredoc output line: {line}"));
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

impl Ran {
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or_else(|| panic!("no output `{name}` in {:?}", self.outputs_raw), String::as_str)
    }

    pub fn report(&self) -> &serde_json::Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no JSON report; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// Every channel a user or a log collector can see. `::add-mask::` lines are how the runner
    /// learns what to hide, so they are the one place a secret may stand.
    pub fn assert_no_secret(&self, secrets: &[&str]) {
        let stdout: String =
            self.stdout.lines().filter(|l| !l.starts_with("::add-mask::")).collect::<Vec<_>>().join("\n");
        let mut channels = vec![
            ("stdout", stdout),
            ("stderr", self.stderr.clone()),
            ("summary", self.summary.clone()),
            ("outputs", self.outputs_raw.clone()),
            ("report", self.report_raw.clone()),
        ];
        for (path, content) in &self.signatures {
            channels.push(("signature file", format!("{}\n{content}", path.display())));
        }
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            for (name, text) in &channels {
                assert!(!text.contains(secret), "a secret leaked into {name}:\n{text}");
            }
        }
    }

    pub fn masks(&self) -> Vec<&str> {
        self.stdout.lines().filter_map(|l| l.strip_prefix("::add-mask::")).collect()
    }

    pub fn debug(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}\n--- summary\n{}",
            self.code, self.stdout, self.stderr, self.summary
        )
    }
}

pub fn sha256_b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(data))
}

pub fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data).iter().fold(String::new(), |mut hex, b| {
        let _ = std::fmt::Write::write_fmt(&mut hex, format_args!("{b:02x}"));
        hex
    })
}

/// Runs the gates at once, each in its own process, and collects them in order.
pub fn run_together(gates: &[&Gate]) -> Vec<Ran> {
    std::thread::scope(|s| {
        let handles: Vec<_> = gates.iter().map(|g| s.spawn(|| g.run())).collect();
        handles.into_iter().map(|h| h.join().expect("a gate thread")).collect()
    })
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// No run may outlive its deadline by much; one that hangs is killed and fails the test
/// instead of hanging the suite.
fn run_with_watchdog(mut cmd: Command) -> std::process::Output {
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("the binary runs");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    if let Ok(out) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
        out.expect("the binary's output")
    } else {
        let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        panic!("the gate ran for more than 60 s: a hang");
    }
}

/// A request the stand-in GitHub API received.
pub struct Request {
    pub line: String,
    pub headers: Vec<String>,
    pub body: serde_json::Value,
}

/// Answers every request like `POST /repos/{owner}/{repo}/check-runs` does, and keeps them.
pub fn fake_github() -> (String, Arc<Mutex<Vec<Request>>>) {
    fake_github_unavailable(0)
}

/// One HTTP/1.1 request as a stand-in server reads it: the request line, the header lines as
/// received (with their line ends) and the body its `Content-Length` announces. `None` when the
/// connection ends before a request line.
pub fn read_request(reader: &mut impl BufRead) -> Option<(String, Vec<String>, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).map_or(true, |n| n == 0) {
        return None;
    }
    let (mut headers, mut length) = (Vec::new(), 0);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        headers.push(h);
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    Some((line, headers, body))
}

/// As [`fake_github`], but the first `times` requests are answered `503` with `Retry-After: 1`
/// (and kept too), as GitHub does while it is degraded.
pub fn fake_github_unavailable(times: usize) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        // Every check run created so far, answered (newest first) to "List check runs for a
        // Git reference", as GitHub documents the list.
        let mut created: Vec<serde_json::Value> = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let Some((line, headers, body)) = read_request(&mut reader) else { continue };
            let headers = headers.iter().map(|h| h.trim_end().to_string()).collect();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let unavailable = {
                let mut log = log.lock().expect("log");
                log.push(Request { line: line.trim_end().to_string(), headers, body: body.clone() });
                log.len() <= times
            };
            let mut stream = stream;
            if unavailable {
                let _ = write!(
                    stream,
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                continue;
            }
            let (status, answer) = if line.starts_with("GET ") {
                ("200 OK", listed(&line, &created))
            } else {
                let run = check_run(created.len() + 4, &body);
                created.push(run.clone());
                ("201 Created", run.to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, seen)
}

/// A check run as GitHub answers it, made from the body that created it.
fn check_run(id: usize, body: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "id": id, "node_id": "CR_1", "details_url": null, "head_sha": body["head_sha"],
        "external_id": body["external_id"],
        "url": format!("https://api.github.com/repos/acme/rocket/check-runs/{id}"),
        "html_url": format!("https://github.com/acme/rocket/runs/{id}"), "conclusion": body["conclusion"],
        "output": {"title": body["output"]["title"], "summary": body["output"]["summary"], "text": body["output"]["text"],
                   "annotations_count": 0,
                   "annotations_url": format!("https://api.github.com/repos/acme/rocket/check-runs/{id}/annotations")},
        "started_at": null, "completed_at": null, "name": body["name"], "pull_requests": []
    })
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs?check_name=…`: the created check runs on
/// that commit with that name, newest first.
fn listed(line: &str, created: &[serde_json::Value]) -> String {
    let target = line.split_whitespace().nth(1).unwrap_or_default();
    let url = reqwest::Url::parse(&format!("http://stand-in{target}")).expect("a request target");
    let sha = url.path_segments().and_then(|mut s| s.nth(4)).unwrap_or_default().to_string();
    let name = url.query_pairs().find(|(k, _)| k == "check_name").map(|(_, v)| v.into_owned());
    let runs: Vec<&serde_json::Value> = created
        .iter()
        .rev()
        .filter(|r| r["head_sha"] == sha.as_str() && name.as_deref().is_none_or(|n| r["name"] == n))
        .collect();
    serde_json::json!({"total_count": runs.len(), "check_runs": runs}).to_string()
}
