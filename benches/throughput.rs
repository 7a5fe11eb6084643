//! Speed and memory figures, printed as ratios so they mean something on a shared machine:
//! `cargo bench --bench throughput`.
//!
//! - streaming SHA-256 of a large file vs hashing the same bytes already in memory (≈1: the
//!   streaming costs nothing), and the growth of peak memory while doing it (≈ the read buffer);
//! - hashing many files on all cores vs on one (the parallel speed-up);
//! - a full run against the simulator with `max-concurrency` 16 vs 1 (what side-by-side calls buy);
//! - one pre-approval per signing vs one shared: 500 artifacts through TPP at 50 ms per call, and
//!   1, 3 and 50 artifacts end to end against the simulator enforcing the approval chain;
//! - verifying signatures: one `verify` per key type, and 500 artifacts end to end without a
//!   signing certificate, verified (raw), as CMS, and as CMS with an RFC 3161 timestamp from a
//!   loopback TSA (`openssl ts -reply`, the tests' own);
//! - a plan of a 10,000- and a 100,000-line checksum list, the binary end to end with its log
//!   and report (the time of 100,000 over 10,000 lines: ≈ 10 when linear).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codesign_gate::cancel::Cancel;
use codesign_gate::config::{Config, Inputs};
use codesign_gate::digest::{digest_all, hash_file, HashAlgorithm};
use codesign_gate::report::Log;
use sha2::Digest as _;

// The integration tests' stand-ins, for the TSA: the same code, not a second copy.
#[allow(dead_code, clippy::pedantic)]
#[path = "../tests/integration/support.rs"]
mod support;
#[allow(dead_code, clippy::pedantic)]
#[path = "../tests/integration/tsa.rs"]
mod tsa;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Peak resident memory of this process in KiB (Linux); None elsewhere.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn write_file(path: &Path, size: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let chunk: Vec<u8> = (0..64 << 10).map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 7).to_le_bytes()[0]).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    f.flush().expect("flush");
}

/// A simulator that signs at once and answers every call after `ms` milliseconds.
fn slow_simulator(ms: u64) -> signing_sim::SimHandle {
    let mut sim_config = signing_sim::SimConfig::default();
    sim_config.appviewx.sign_delay_ms = 0;
    sim_config.faults.push(signing_sim::Fault {
        endpoint: "*".into(),
        kind: signing_sim::FaultKind::Latency { ms },
        times: 0,
        after: 0,
    });
    signing_sim::SimHandle::spawn(sim_config).expect("simulator")
}

/// The inputs of a run against `sim`: TPP always, AppViewX when `sign`, then `extra`.
fn inputs_for(sim: &signing_sim::SimHandle, sign: bool, extra: &[(&'static str, &str)]) -> Inputs {
    let mut inputs = Inputs::default();
    for (k, v) in [
        ("artifacts", "dist/*.exe"),
        ("tpp-username", "sample-approver"),
        ("tpp-password", "sample-approver-password"),
        ("tpp-client-id", "codesign-gate"),
        ("environment-dn", r"\VED\Code Signing\Projects\Sample\Production Environment"),
        ("key-user", "local:sample-cs-user"),
    ] {
        inputs.set(k, v);
    }
    inputs.set("tpp-url", sim.base_url());
    if sign {
        for (k, v) in [
            ("appviewx-username", "avx-user"),
            ("appviewx-password", "avx-password"),
            ("appviewx-signing-policy", "sample-policy"),
            ("appviewx-signing-key", "sample-key"),
        ] {
            inputs.set(k, v);
        }
        inputs.set("appviewx-url", sim.base_url());
    }
    for &(k, v) in extra {
        inputs.set(k, v);
    }
    inputs
}

/// The large file of the streaming measurement.
const BIG: usize = 256 << 20;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    // 1. Streaming vs in-memory, and memory growth.
    let big = dir.path().join("big.bin");
    // The high-water mark before the file is even written: hashing may add its read buffer to
    // it, not the file.
    let rss_before = peak_rss_kib();
    write_file(&big, BIG);
    let streaming = best_of(3, || hash_file(&big, HashAlgorithm::Sha256).expect("hash"));
    let rss_after = peak_rss_kib();
    let bytes = std::fs::read(&big).expect("read");
    let in_memory = best_of(3, || sha2::Sha256::digest(&bytes));
    drop(bytes);
    let mib_s = |d: Duration| BIG as f64 / f64::from(1 << 20) / d.as_secs_f64();
    println!("sha256 streaming  {:>8.0} MiB/s", mib_s(streaming));
    println!("sha256 in memory  {:>8.0} MiB/s", mib_s(in_memory));
    println!(
        "ratio streaming/in-memory throughput: {:.2} (target >= 0.85)",
        in_memory.as_secs_f64() / streaming.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "peak memory growth hashing a {} MiB file: {} KiB (ratio to file size {:.4}, target < 0.01)",
            BIG >> 20,
            after.saturating_sub(before),
            after.saturating_sub(before) as f64 / (BIG >> 10) as f64
        );
    }

    // 2. Many files: all cores vs one.
    let files: Vec<PathBuf> = (0..64)
        .map(|i| {
            let p = dir.path().join(format!("f{i}.bin"));
            write_file(&p, 4 << 20);
            p
        })
        .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let one = best_of(3, || digest_all(&refs, HashAlgorithm::Sha256, false, 1, &|| false));
    let all = best_of(3, || digest_all(&refs, HashAlgorithm::Sha256, false, cores, &|| false));
    println!(
        "64 x 4 MiB on {cores} core(s) vs 1: speed-up {:.2} (target >= {:.1})",
        one.as_secs_f64() / all.as_secs_f64(),
        0.8 * cores as f64
    );

    // 3. A whole run against the simulator: concurrency 16 vs 1.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ws = dir.path().join("ws");
    for i in 0..100 {
        let p = ws.join(format!("dist/a{i:03}.exe"));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, format!("artifact {i}")).expect("write");
    }
    let sim = slow_simulator(5);
    let run = |concurrency: &str| {
        let mut inputs = inputs_for(&sim, true, &[("poll-interval", "100ms"), ("max-concurrency", concurrency)]);
        inputs.set("report-path", dir.path().join("report.json").to_string_lossy());
        let config = Config::from_inputs(&inputs, &|_| None, &ws).expect("config");
        let log = Log::new(Box::new(std::io::sink()), false);
        let outcome = runtime.block_on(codesign_gate::run(&config, &log, &Cancel::never())).expect("run");
        assert!(outcome.success(), "{:?}", outcome.problems);
    };
    let serial = best_of(2, || run("1"));
    let parallel = best_of(2, || run("16"));
    println!(
        "100 artifacts end to end (5 ms per call): concurrency 1 {:.2} s, 16 {:.2} s, speed-up {:.1} (target >= 4)",
        serial.as_secs_f64(),
        parallel.as_secs_f64(),
        serial.as_secs_f64() / parallel.as_secs_f64()
    );

    // 5. Pre-approvals at 50 ms per call: TPP alone for 500 artifacts, then the whole run for 1, 3
    //    and 50 against the simulator that enforces the approval chain (its default).
    let workspace = |n: usize| {
        let ws = dir.path().join(format!("ws{n}"));
        for i in 0..n {
            let p = ws.join(format!("dist/b{i:03}.exe"));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, format!("{n} artifacts, number {i}")).expect("write");
        }
        ws
    };
    let mut report = 0;
    // Each run on a simulator of its own, so no run uses what another left in TPP.
    // Returns (wall time, calls made, AddPreApproval calls, artifacts signed).
    let mut timed = |ws: &Path, mode: &str, sign: bool| {
        let sim = slow_simulator(50);
        let mut inputs = inputs_for(&sim, sign, &[("pre-approval", mode), ("timeout", "60s")]);
        report += 1;
        inputs.set("report-path", dir.path().join(format!("report{report}.json")).to_string_lossy());
        let config = Config::from_inputs(&inputs, &|_| None, ws).expect("config");
        let log = Log::new(Box::new(std::io::sink()), false);
        let started = Instant::now();
        let outcome = runtime.block_on(codesign_gate::run(&config, &log, &Cancel::never())).expect("run");
        let wall = started.elapsed();
        assert!(outcome.success(), "{:?}", outcome.problems);
        let approvals = outcome.calls.iter().filter(|c| c.endpoint == "Codesign/AddPreApproval").count();
        (wall, outcome.calls.len(), approvals, outcome.signed())
    };
    let ws500 = workspace(500);
    let (per_signing, calls_p, approvals_p, _) = timed(&ws500, "per-signing", false);
    let (shared, calls_s, approvals_s, _) = timed(&ws500, "shared", false);
    println!(
        "500 artifacts through TPP (50 ms per call, concurrency 16): per-signing {:.2} s ({calls_p} calls, {approvals_p} pre-approvals), shared {:.2} s ({calls_s} calls, {approvals_s}), ratio {:.2} (target: per-signing < 2 s)",
        per_signing.as_secs_f64(),
        shared.as_secs_f64(),
        per_signing.as_secs_f64() / shared.as_secs_f64()
    );
    println!("whole runs against the simulator enforcing the approval chain (50 ms per call):");
    for n in [1, 3, 50] {
        let ws = workspace(n);
        for mode in ["per-signing", "shared"] {
            let (wall, calls, approvals, signed) = timed(&ws, mode, true);
            println!(
                "  {n:>2} artifact(s), {mode:<11}: {:.2} s, {calls:>3} calls ({approvals:>2} AddPreApproval), {signed} signed without an approver",
                wall.as_secs_f64()
            );
        }
    }

    plan_of_lists(dir.path());
    verification(dir.path(), &runtime);

    // 4. Waiting for a signature, on the simulated clock of the poll schedule: when a signing
    //    that takes T is noticed, and how many status requests that costs, `auto` vs a fixed 5 s.
    let asks_until = |schedule: &mut dyn Iterator<Item = Duration>, t: Duration| {
        let mut count = 0u32;
        for at in schedule {
            count += 1;
            if at >= t {
                return (at, count);
            }
        }
        (Duration::MAX, count)
    };
    let fixed = || (0u32..).map(|k| Duration::from_secs(5) * k);
    println!("poll lag and status requests per sign id (auto vs fixed 5s):");
    for t in [2, 12, 120, 1200].map(Duration::from_secs) {
        let (auto_at, auto_asks) = asks_until(&mut codesign_gate::poll::auto_schedule(), t);
        let (fixed_at, fixed_asks) = asks_until(&mut fixed(), t);
        println!(
            "  signed after {:>6}: auto noticed at {:>7.1} s ({:>2} requests, lag ratio {:.3}), fixed 5s at {:>7.1} s ({:>3} requests)",
            format!("{} s", t.as_secs()),
            auto_at.as_secs_f64(),
            auto_asks,
            auto_at.as_secs_f64() / t.as_secs_f64(),
            fixed_at.as_secs_f64(),
            fixed_asks
        );
    }
    let half_hour = Duration::from_secs(30 * 60);
    println!(
        "  a 30-minute wait: auto {} requests (target <= 60), fixed 5s {} requests",
        codesign_gate::poll::auto_schedule().take_while(|t| *t <= half_hour).count(),
        fixed().take_while(|t| *t <= half_hour).count()
    );
}

/// The binary planning a checksum list of `lines` lines, log and report written; the wall time.
fn plan_list(dir: &Path, lines: usize) -> Duration {
    let ws = dir.join(format!("plan{lines}"));
    std::fs::create_dir_all(&ws).expect("mkdir");
    let mut list = std::io::BufWriter::new(std::fs::File::create(ws.join("SHA256SUMS")).expect("list"));
    for i in 0..lines {
        writeln!(list, "{:064x}  dist/file{i:06}.bin", i + 1).expect("write");
    }
    list.flush().expect("flush");
    drop(list);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_codesign-gate"));
    command.current_dir(&ws).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    for (k, v) in [
        ("artifacts", "SHA256SUMS"),
        ("digest-files", "list"),
        ("dry-run", "true"),
        ("tpp-url", "https://tpp.example.com"),
        ("tpp-username", "u"),
        ("tpp-password", "p4ssw0rd"),
        ("tpp-client-id", "c"),
        ("environment-dn", r"\VED\Code Signing\Env"),
        ("key-user", "local:u"),
        ("runner-ip", "192.0.2.7"),
        ("appviewx-url", "https://avx.example.com"),
        ("appviewx-username", "u"),
        ("appviewx-password", "p4ssw0rd"),
        ("appviewx-signing-policy", "p"),
        ("appviewx-signing-key", "k"),
    ] {
        command.env(format!("INPUT_{}", k.to_ascii_uppercase()), v);
    }
    command.env("INPUT_REPORT-PATH", ws.join("report.json"));
    let started = Instant::now();
    let status = command.status().expect("the binary");
    let wall = started.elapsed();
    assert!(status.success(), "the plan of {lines} lines failed: {status}");
    std::fs::remove_dir_all(&ws).expect("clean up");
    wall
}

/// 6. Plan mode of large checksum lists: linear, and 100,000 lines in under 2 s.
fn plan_of_lists(dir: &Path) {
    let ten = (0..2).map(|_| plan_list(dir, 10_000)).min().unwrap_or_default();
    let hundred = (0..3).map(|_| plan_list(dir, 100_000)).min().unwrap_or_default();
    println!(
        "plan of a checksum list: 10,000 lines {:.2} s, 100,000 lines {:.2} s, ratio {:.1} (linear ≈ 10; target: 100,000 lines < 2 s)",
        ten.as_secs_f64(),
        hundred.as_secs_f64(),
        hundred.as_secs_f64() / ten.as_secs_f64()
    );
}

/// 7. What verifying costs: one signature per key type, then 500 artifacts end to end.
fn verification(dir: &Path, runtime: &tokio::runtime::Runtime) {
    use codesign_gate::digest::Digest;
    use codesign_gate::signature::{self, SigningCertificate};
    let mut sim_config = signing_sim::SimConfig::default();
    sim_config.appviewx.sign_delay_ms = 0;
    let sim = signing_sim::SimHandle::spawn(sim_config).expect("simulator");
    for key in ["sample-key", "sample-ec-key"] {
        let chain = sim.certificate_chain_pem(key).expect("the key's chain");
        let certificate = SigningCertificate::parse(chain.as_bytes()).expect("the chain");
        let digest = Digest { algorithm: HashAlgorithm::Sha256, bytes: sha2::Sha256::digest(b"an artifact").to_vec() };
        let encoded = sim.signature(key, &digest.digest_info_base64()).expect("a signature");
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).expect("Base64");
        let one = best_of(3, || {
            for _ in 0..200 {
                signature::verify(&certificate, digest.algorithm, &digest.bytes, &raw).expect("verifies");
            }
        }) / 200;
        let cms = best_of(3, || {
            for _ in 0..200 {
                signature::detached_cms(&certificate, digest.algorithm, &raw, None).expect("a CMS");
            }
        }) / 200;
        println!("verify one signature ({}): {:.3} ms; build its CMS: {:.3} ms", certificate.key(), ms(one), ms(cms));
    }
    let ws = dir.join("ws-verify");
    for i in 0..500 {
        let p = ws.join(format!("dist/v{i:03}.exe"));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, format!("verified artifact {i}")).expect("write");
    }
    std::fs::write(ws.join("cert.pem"), sim.certificate_chain_pem("sample-key").expect("chain")).expect("cert");
    let authority = tsa::Tsa::start(tsa::Behaviour::Honest);
    let mut report = 0;
    let mut run = |extra: &[(&'static str, &str)]| {
        let mut inputs = inputs_for(&sim, true, &[("poll-interval", "100ms"), ("timeout", "120s")]);
        for &(k, v) in extra {
            inputs.set(k, v);
        }
        report += 1;
        inputs.set("report-path", dir.join(format!("verify-report{report}.json")).to_string_lossy());
        let config = Config::from_inputs(&inputs, &|_| None, &ws).expect("config");
        let log = Log::new(Box::new(std::io::sink()), false);
        let started = Instant::now();
        let outcome = runtime.block_on(codesign_gate::run(&config, &log, &Cancel::never())).expect("run");
        let wall = started.elapsed();
        assert!(outcome.success(), "{:?}", outcome.problems);
        (wall, outcome.verified())
    };
    let (plain, _) = run(&[]);
    let (raw, verified) = run(&[("signing-certificate", "cert.pem")]);
    let (cms, _) = run(&[("signing-certificate", "cert.pem"), ("signature-format", "cms")]);
    let (stamped, _) = run(&[
        ("signing-certificate", "cert.pem"),
        ("signature-format", "cms"),
        ("timestamp-url", authority.url.as_str()),
    ]);
    println!(
        "500 artifacts end to end (RSA 3072): not verified {:.2} s, verified {:.2} s ({verified} verified, +{:.2} ms per artifact), CMS {:.2} s, CMS + timestamp {:.2} s (the loopback TSA runs openssl once per token)",
        plain.as_secs_f64(),
        raw.as_secs_f64(),
        (raw.as_secs_f64() - plain.as_secs_f64()) * 1000.0 / 500.0,
        cms.as_secs_f64(),
        stamped.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
