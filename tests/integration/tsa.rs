//! A real RFC 3161 time-stamping authority on loopback for the verification tests: minimal
//! HTTP/1.1 in front of `openssl ts -reply`, with a CA and a TSA certificate of its own, and
//! ways to misbehave. The OpenSSL CLI is also the tests' independent judge ([`openssl`]).

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::support::read_request;

/// Extensions for the certificates OpenSSL makes here and the TSA's settings (`-section tsa_config`).
const CONFIG: &str = include_str!("../openssl.cnf");

/// Runs the OpenSSL CLI in `dir` with the config `dir/openssl.cnf` when there is one (so the
/// machine's does not matter); the caller judges the exit status. A missing CLI fails the test.
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(args).current_dir(dir);
    let config = dir.join("openssl.cnf");
    if config.exists() {
        cmd.env("OPENSSL_CONF", config);
    }
    cmd.output().unwrap_or_else(|e| panic!("the openssl CLI must be installed to judge these tests: {e}"))
}

/// As [`openssl`], and the command must succeed.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> Output {
    let out = openssl(dir, args);
    assert!(out.status.success(), "openssl {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    out
}

/// How the TSA answers each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `openssl ts -reply` to the request received.
    Honest,
    /// This HTTP status, and no body.
    Status(u16),
    /// A genuine, well-signed reply, to another query made at start.
    Stale,
    /// 200 with bytes that are no DER at all.
    Garbage,
}

/// One request the TSA received (its DER), and the body it answered (empty with a status answer).
#[derive(Debug, Clone)]
pub struct Served {
    pub query: Vec<u8>,
    pub reply: Vec<u8>,
}

pub struct Tsa {
    pub url: String,
    dir: tempfile::TempDir,
    served: Arc<Mutex<Vec<Served>>>,
}

impl Tsa {
    /// Makes the TSA's CA and certificate, and serves on 127.0.0.1 until the test ends.
    pub fn start(behaviour: Behaviour) -> Tsa {
        let dir = tempfile::tempdir().expect("tsa dir");
        let at = dir.path();
        std::fs::write(at.join("openssl.cnf"), CONFIG).expect("tsa config");
        std::fs::write(at.join("tsaserial"), "01\n").expect("tsa serial");
        make_certificates(at);
        // The stale query is of other data, with its own nonce: a reply to it answers no one else.
        std::fs::write(at.join("stale.txt"), "another request's data\n").expect("stale data");
        openssl_ok(at, &["ts", "-query", "-data", "stale.txt", "-sha256", "-cert", "-out", "stale-query.der"]);
        reply(at, "stale-query.der", "stale-reply.der");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tsa");
        let url = format!("http://{}/tsr", listener.local_addr().expect("tsa addr"));
        let served = Arc::new(Mutex::new(Vec::new()));
        let (log, work) = (served.clone(), at.to_path_buf());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &work, behaviour, &log);
            }
        });
        Tsa { url, dir, served }
    }

    /// Where the TSA works: `tsaca.pem` (its CA), `stale-query.der`, `stale-reply.der`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its CA certificate, for `openssl ts -verify -CAfile`.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("tsaca.pem")
    }

    /// Every request answered so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.served.lock().expect("tsa log").clone()
    }
}

/// `tsaca.pem` (P-256, self-signed CA) and `tsa.key`/`tsa.pem`, which it issues with the critical
/// extended key usage timeStamping that RFC 3161 section 2.3 asks of a TSA's certificate.
fn make_certificates(at: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "tsaca.key", "-out", "tsaca.pem", "-days", "2", "-subj", "/CN=Loopback TSA Root"]);
    ca.extend(["-extensions", "ca_ext"]);
    openssl_ok(at, &ca);
    let mut csr = vec!["req", "-new"];
    csr.extend(ec);
    csr.extend(["-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/O=Gate Tests/CN=Loopback TSA"]);
    openssl_ok(at, &csr);
    openssl_ok(
        at,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "tsaca.pem",
            "-CAkey",
            "tsaca.key",
            "-set_serial",
            "7",
            "-days",
            "2",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "tsa_ext",
            "-out",
            "tsa.pem",
        ],
    );
}

/// `openssl ts -reply` to the query in `query`, written to `out`; its DER.
fn reply(at: &Path, query: &str, out: &str) -> Vec<u8> {
    openssl_ok(
        at,
        &[
            "ts",
            "-reply",
            "-config",
            "openssl.cnf",
            "-section",
            "tsa_config",
            "-queryfile",
            query,
            "-inkey",
            "tsa.key",
            "-signer",
            "tsa.pem",
            "-out",
            out,
        ],
    );
    std::fs::read(at.join(out)).expect("the tsa's reply")
}

/// Answers one connection's request, then closes it.
fn serve(stream: TcpStream, at: &Path, behaviour: Behaviour, log: &Mutex<Vec<Served>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the tsa stream"));
    let Some((_line, _headers, query)) = read_request(&mut reader) else { return };
    let n = log.lock().expect("tsa log").len();
    let (status, body) = match behaviour {
        Behaviour::Honest => {
            let (q, r) = (format!("query-{n}.der"), format!("reply-{n}.der"));
            std::fs::write(at.join(&q), &query).expect("write the query");
            (200, reply(at, &q, &r))
        }
        Behaviour::Status(code) => (code, Vec::new()),
        Behaviour::Stale => (200, std::fs::read(at.join("stale-reply.der")).expect("stale reply")),
        Behaviour::Garbage => (200, b"\x30\x80 this is no timestamp reply".to_vec()),
    };
    log.lock().expect("tsa log").push(Served { query, reply: body.clone() });
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {status} TSA\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
}
