//! `demo` and `simulator`: the gate against the embedded simulator, with nothing to set up.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::ArgMatches;
use codesign_gate::config::{Config, Inputs};
use codesign_gate::report::{summary, Log};
use signing_sim::{SimConfig, TlsConfig};

/// Runs the full pipeline (TPP pre-qualify and pre-approve, AppViewX sign and poll) against a
/// simulator on a loopback port, then prints the job summary a workflow would show.
pub async fn demo(artifacts: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut sim_config = SimConfig::default();
    sim_config.appviewx.sign_delay_ms = 1200;
    let sim = signing_sim::start(sim_config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("starting the simulator")?;
    let work = tempfile::Builder::new().prefix("codesign-gate-demo-").tempdir().context("creating a temp dir")?.keep();
    let artifact_dir = if let Some(dir) = artifacts {
        std::path::absolute(&dir).with_context(|| format!("--artifacts {}", dir.display()))?
    } else {
        let dir = work.join("dist");
        write_samples(&dir)?;
        dir
    };
    println!("codesign-gate demo: simulator at {}, artifacts in {}\n", sim.base_url(), artifact_dir.display());

    // The simulator's certificate for its key, as a user would download theirs from TPP: every
    // signature is verified with it, then written as a CMS signature that openssl can check
    // against the simulator's CA.
    let chain = sim.certificate_chain_pem("sample-key").context("the simulator's certificate for sample-key")?;
    let certificate = work.join("signing-certificate.pem");
    std::fs::write(&certificate, chain).context("writing the signing certificate")?;
    let ca = work.join("simulator-ca.pem");
    std::fs::write(&ca, sim.ca_pem()).context("writing the simulator's CA")?;
    let mut inputs = demo_inputs(&sim.base_url(), &artifact_dir, &work);
    inputs.set("signing-certificate", certificate.to_string_lossy());
    inputs.set("signature-format", "cms");
    // The demo is self-contained: no workflow context leaks in from the environment.
    let config = Config::from_inputs(&inputs, &|_| None, &artifact_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let log = Log::new(Box::new(std::io::stdout()), false);
    let mut outcome = codesign_gate::run(&config, &log, &codesign_gate::cancel::Cancel::never())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let places = codesign_gate::report::outputs::Outputs::claim(&config.report, std::time::SystemTime::now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let failures =
        codesign_gate::report::finish(&mut outcome, &config, &places, &log, &codesign_gate::cancel::Cancel::never())
            .await;

    let mut out = std::io::stdout().lock();
    writeln!(out, "\nThe job summary a workflow would show:\n")?;
    summary::markdown(&outcome, &mut out)?;
    writeln!(out, "{}", holds(&sim.state()))?;
    if let Some((artifact, p7s)) = outcome.artifacts.iter().find_map(|a| {
        let path = a.sign.as_ref()?.signature_path.as_ref()?;
        Some((artifact_dir.join(&a.name), path.clone()))
    }) {
        writeln!(
            out,
            "Check a signature yourself: openssl cms -verify -binary -inform DER -in '{p7s}' -content '{}' -CAfile '{}' -purpose any -out /dev/null",
            artifact.display(),
            ca.display()
        )?;
    }
    for f in &failures {
        crate::fail(f);
    }
    Ok(u8::from(!(outcome.success() && failures.is_empty())))
}

/// The inputs of the demo run: both vendors at the simulator, every artifact in `artifact_dir`.
fn demo_inputs(base_url: &str, artifact_dir: &std::path::Path, work: &std::path::Path) -> Inputs {
    let mut inputs = Inputs::default();
    for (name, value) in [
        ("artifacts", "**/*\n!**/*.pdb"),
        ("tpp-username", "sample-approver"),
        ("tpp-password", "sample-approver-password"),
        ("tpp-client-id", "codesign-gate"),
        ("environment-dn", r"\VED\Code Signing\Projects\Sample\Production Environment"),
        ("key-user", "local:sample-cs-user"),
        ("comment", "codesign-gate demo"),
        ("appviewx-username", "avx-user"),
        ("appviewx-password", "avx-password"),
        ("appviewx-signing-policy", "sample-policy"),
        ("appviewx-signing-key", "sample-key"),
        ("timeout", "2m"),
        ("poll-interval", "500ms"),
    ] {
        inputs.set(name, value);
    }
    inputs.set("tpp-url", base_url);
    inputs.set("appviewx-url", base_url);
    inputs.set("working-directory", artifact_dir.to_string_lossy());
    inputs.set("report-path", work.join("codesign-gate-report.json").to_string_lossy());
    inputs
}

/// What the simulator holds after the run. It enforces the approval chain: a signing
/// pre-approved by TPP used one pre-qualification and one pre-approval; any other waited for
/// an approver.
fn holds(state: &signing_sim::SimState) -> String {
    format!(
        "The simulator now holds {} pre-qualification(s), {} pre-approval(s) ({} used), {} sign request(s) ({} pre-approved, {} waiting for an approver); tokens revoked: {}/{}.",
        state.prequalifications.len(),
        state.preapprovals.len(),
        state.preapprovals.iter().filter(|p| !p.used_by.is_empty()).count(),
        state.sign_requests.len(),
        state.sign_requests.iter().filter(|r| r.approval == "pre-approved").count(),
        state.sign_requests.iter().filter(|r| r.approval.starts_with("awaiting")).count(),
        state.tpp_tokens.iter().filter(|t| t.revoked).count(),
        state.tpp_tokens.len()
    )
}

fn write_samples(dir: &std::path::Path) -> anyhow::Result<()> {
    let samples: [(&str, usize); 4] =
        [("app.exe", 3 << 20), ("lib/helper.dll", 200 << 10), ("installer.msi", 1 << 20), ("app.pdb", 4096)];
    for (name, size) in samples {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let bytes: Vec<u8> = (0..size).map(|i| (i.wrapping_mul(31) ^ name.len()).to_le_bytes()[0]).collect();
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Serves the simulator until interrupted, printing what it accepts.
pub async fn simulator(m: &ArgMatches) -> anyhow::Result<u8> {
    let listen: SocketAddr = m
        .get_one::<String>("listen")
        .map_or("127.0.0.1:8080", String::as_str)
        .parse()
        .context("--listen: expected an address such as 127.0.0.1:8080")?;
    let mut config = match m.get_one::<String>("config") {
        Some(path) => {
            SimConfig::from_toml_file(std::path::Path::new(path)).with_context(|| format!("--config {path}"))?
        }
        None => SimConfig::default(),
    };
    if let Some(ca_out) = m.get_one::<String>("tls-ca-out") {
        config.tls = Some(TlsConfig::Generate { ca_out_path: PathBuf::from(ca_out) });
    }
    let description = config.describe();
    let sim = signing_sim::start(config, listen).await.context("starting the simulator")?;
    println!("codesign-gate simulator listening on {}\n", sim.base_url());
    println!("{description}");
    println!("State: {}/__sim/state   Stop: Ctrl-C", sim.base_url());
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(0)
}
