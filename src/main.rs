//! The binary's edge: parse the command line, run, map the result to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgMatches, Command};

use codesign_gate::cancel::Cancel;
use codesign_gate::config::{self, Config, Inputs, INPUTS};
use codesign_gate::report::outputs::Outputs;
use codesign_gate::report::{self, github, Log};
use codesign_gate::RunError;

mod demo;

/// Every enabled stage succeeded for every artifact.
const EXIT_OK: u8 = 0;
/// A service refused, failed or timed out.
const EXIT_FAILED: u8 = 1;
/// An input is wrong; nothing was sent.
const EXIT_INPUT: u8 = 2;
/// Stopped by SIGINT / SIGTERM (128 + signal number, as shells report it).
const EXIT_SIGINT: u8 = 130;
const EXIT_SIGTERM: u8 = 143;

fn input_args() -> Vec<Arg> {
    INPUTS
        .iter()
        .map(|i| {
            Arg::new(i.name).long(i.name).value_name("VALUE").help(format!(
                "{} [env: {}]",
                i.help_text(),
                config::env_name(i.name)
            ))
        })
        .collect()
}

fn cli() -> Command {
    Command::new("codesign-gate")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Pre-qualify, pre-approve and sign release artifacts with Venafi TPP and AppViewX.\nEvery input can be given as --flag or as the INPUT_* variable GitHub sets; a flag wins.")
        .args(input_args())
        .args_conflicts_with_subcommands(true)
        .subcommand(Command::new("run").about("Run the gate (the default)").args(input_args()))
        .subcommand(
            Command::new("plan")
                .about("Validate, hash and print every request the gate would send, sending nothing to TPP, AppViewX or GitHub (the dry-run input)")
                .args(input_args()),
        )
        .subcommand(
            Command::new("demo")
                .about("Run the whole gate against an embedded simulator, with sample artifacts")
                .arg(Arg::new("artifacts").long("artifacts").value_name("DIR").help("Sign the files in DIR instead of generated samples")),
        )
        .subcommand(
            Command::new("simulator")
                .about("Serve the Venafi TPP and AppViewX simulator, for testing workflows without a TPP")
                .arg(Arg::new("listen").long("listen").value_name("ADDR").default_value("127.0.0.1:8080").help("Address to listen on"))
                .arg(Arg::new("config").long("config").value_name("FILE").help("TOML file with users, environments, policies and faults"))
                .arg(Arg::new("tls-ca-out").long("tls-ca-out").value_name("FILE").help("Serve https with a generated CA, writing the CA certificate (PEM) here")),
        )
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            fail(&format!("cannot start: {e}"));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let result = match matches.subcommand() {
        Some(("demo", m)) => runtime.block_on(demo::demo(m.get_one::<String>("artifacts").map(PathBuf::from))),
        Some(("simulator", m)) => runtime.block_on(demo::simulator(m)),
        Some(("run", m)) => return runtime.block_on(run(m, false)),
        Some(("plan", m)) => return runtime.block_on(run(m, true)),
        _ => return runtime.block_on(run(&matches, false)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            fail(&format!("{e:#}"));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// `plan`: the `plan` command, which is the main command with `dry-run` set.
async fn run(matches: &ArgMatches, plan: bool) -> ExitCode {
    let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let mut inputs = Inputs::gather(|name| matches.get_one::<String>(name).cloned(), |var| std::env::var(var).ok());
    if plan {
        inputs.set("dry-run", "true");
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config = match Config::from_inputs(&inputs, &|k| std::env::var(k).ok(), &cwd) {
        Ok(c) => c,
        Err(e) => return input_error(&e.to_string(), github),
    };
    let places = match Outputs::claim(&config.report, std::time::SystemTime::now()) {
        Ok(p) => p,
        Err(e) => return input_error(&e.to_string(), github),
    };
    let log = Log::new(Box::new(std::io::stdout()), github);
    let log = if config.plan.is_some() { log.planning() } else { log };
    log.info(&format!("report and signatures: {}", places.folder().display()));
    match run_gate(&config, &places, &log).await {
        Ok(code) => ExitCode::from(code),
        Err(RunError::Input(e)) => {
            places.release_if_empty();
            input_error(&e.to_string(), github)
        }
        Err(e) => {
            places.release_if_empty();
            fail(&e.to_string());
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Runs the pipeline and writes every report; the exit code follows the outcome.
pub async fn run_gate(config: &Config, places: &Outputs, log: &Log) -> Result<u8, RunError> {
    let cancel = listen_for_signals();
    let mut outcome = codesign_gate::run(config, log, &cancel).await?;
    let failures = report::finish(&mut outcome, config, places, log, &cancel).await;
    for f in &failures {
        fail(f);
    }
    Ok(match outcome.cancelled {
        Some("SIGINT") => EXIT_SIGINT,
        Some(_) => EXIT_SIGTERM,
        None if outcome.success() && failures.is_empty() => EXIT_OK,
        None => EXIT_FAILED,
    })
}

/// A cancelled job gets SIGINT (then SIGTERM): the run stops waiting, revokes, reports.
fn listen_for_signals() -> Cancel {
    let (canceller, cancel) = Cancel::new();
    tokio::spawn(async move {
        if let Some(reason) = next_signal().await {
            canceller.cancel(reason);
        }
    });
    cancel
}

#[cfg(unix)]
async fn next_signal() -> Option<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut int, mut term) = (signal(SignalKind::interrupt()).ok()?, signal(SignalKind::terminate()).ok()?);
    tokio::select! {
        _ = int.recv() => Some("SIGINT"),
        _ = term.recv() => Some("SIGTERM"),
    }
}

#[cfg(not(unix))]
async fn next_signal() -> Option<&'static str> {
    tokio::signal::ctrl_c().await.ok().map(|()| "SIGINT")
}

fn input_error(message: &str, github: bool) -> ExitCode {
    if github {
        println!("::error title=codesign-gate: invalid input::{}", github::escape_data(message));
    }
    fail(message);
    ExitCode::from(EXIT_INPUT)
}

/// One line on stderr, which the runner reads for workflow commands as it reads stdout.
pub fn fail(message: &str) {
    eprintln!("codesign-gate: {}", report::escape_line(message));
}
