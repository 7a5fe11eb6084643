//! The binary's edge: parse the command line, run, map the result to an exit code.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
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

/// The inputs that hold a secret, each with the flag that reads it from a file. A command line is
/// readable by every user of the machine (`ps`, `/proc/<pid>/cmdline`), so a secret is never
/// taken as a plain `--flag`: only from its `INPUT_*` variable or from a file.
const SECRET_FILE_FLAGS: &[(&str, &str)] = &[
    ("tpp-access-token", "tpp-access-token-file"),
    ("tpp-password", "tpp-password-file"),
    ("appviewx-password", "appviewx-password-file"),
    ("appviewx-gwkey", "appviewx-gwkey-file"),
    ("github-token", "github-token-file"),
];

/// The most a secret file may hold: a password or a token, never a large file read by mistake.
const SECRET_FILE_LIMIT: u64 = 64 * 1024;

fn is_secret(name: &str) -> bool {
    SECRET_FILE_FLAGS.iter().any(|(secret, _)| *secret == name)
}

fn input_args() -> Vec<Arg> {
    let mut args: Vec<Arg> = INPUTS
        .iter()
        .map(|i| {
            // A secret's plain flag is still parsed, so that it is refused by name (exit 2), but
            // --help shows only its -file flag.
            Arg::new(i.name).long(i.name).value_name("VALUE").hide(is_secret(i.name)).help(format!(
                "{} [env: {}]",
                i.help_text(),
                config::env_name(i.name)
            ))
        })
        .collect();
    args.extend(SECRET_FILE_FLAGS.iter().map(|&(name, file_flag)| {
        let help = INPUTS.iter().find(|i| i.name == name).map_or("", |i| i.help);
        Arg::new(file_flag).long(file_flag).value_name("FILE").value_parser(clap::value_parser!(PathBuf)).help(format!(
            "{help}, read from FILE (one trailing newline dropped); never as --{name}, which every user of the machine could read [env: {}]",
            config::env_name(name)
        ))
    }));
    args
}

fn cli() -> Command {
    Command::new("codesign-gate")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Pre-qualify, pre-approve and sign release artifacts with Venafi TPP and AppViewX.\nEvery input can be given as --flag or as the INPUT_* variable GitHub sets; a flag wins.\nA secret (password, token, gwkey) is taken only from its INPUT_* variable or a --<name>-file FILE: never as a --flag, which every user of the machine can read.")
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
    let secrets = match secret_files(matches, &|var| std::env::var(var).ok()) {
        Ok(s) => s,
        Err(e) => return input_error(&e, github),
    };
    let mut inputs = Inputs::gather(
        |name| secrets.get(name).cloned().or_else(|| matches.get_one::<String>(name).cloned()),
        |var| std::env::var(var).ok(),
    );
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

/// The secrets given in files, by input name. A secret given as a plain flag is refused, naming
/// the flag and never its value; so are a file that cannot be read or is empty, and a file given
/// beside the secret's environment variable (which of the two was meant?).
fn secret_files(
    matches: &ArgMatches,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<&'static str, String>, String> {
    let mut found = BTreeMap::new();
    for &(name, file_flag) in SECRET_FILE_FLAGS {
        let var = config::env_name(name);
        if matches.get_one::<String>(name).is_some() {
            return Err(format!(
                "--{name} is refused: a command line is readable by every user of this machine (ps, /proc/<pid>/cmdline). Give it in the {var} environment variable, or in a file with --{file_flag} FILE"
            ));
        }
        let Some(path) = matches.get_one::<PathBuf>(file_flag) else { continue };
        if env(&var).is_some_and(|v| !v.trim().is_empty()) {
            return Err(format!(
                "--{file_flag} and the {var} environment variable are both set: give {name} one way only"
            ));
        }
        found.insert(name, read_secret_file(file_flag, path)?);
    }
    Ok(found)
}

/// A secret file's content, less one trailing newline (`\n` or `\r\n`), as `echo` and editors
/// leave it; every other character is the secret's.
fn read_secret_file(flag: &str, path: &Path) -> Result<String, String> {
    let refuse = |why: &str| format!("--{flag} {}: {why}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SECRET_FILE_LIMIT + 1).read_to_end(&mut bytes))
        .map_err(|e| refuse(&format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > SECRET_FILE_LIMIT {
        return Err(refuse("is larger than 64 KiB, which no password or token is"));
    }
    let mut secret = String::from_utf8(bytes).map_err(|_| refuse("is not UTF-8 text"))?;
    if secret.ends_with('\n') {
        secret.pop();
        if secret.ends_with('\r') {
            secret.pop();
        }
    }
    if secret.trim().is_empty() {
        return Err(refuse("is empty"));
    }
    Ok(secret)
}

/// Runs the pipeline and writes every report; the exit code follows the outcome.
pub async fn run_gate(config: &Config, places: &Outputs, log: &Log) -> Result<u8, RunError> {
    let cancel = listen_for_signals();
    let mut outcome = codesign_gate::run(config, log, &cancel).await?;
    let failures = report::finish(&mut outcome, config, places, log, &cancel).await;
    for f in &failures {
        fail(f);
    }
    let code = match outcome.cancelled {
        Some("SIGINT") => EXIT_SIGINT,
        Some(_) => EXIT_SIGTERM,
        None if outcome.success() && failures.is_empty() => EXIT_OK,
        None => EXIT_FAILED,
    };
    // The process exits next: freeing an outcome of many artifacts (a plan of 100,000 holds
    // 400,000 requests) piece by piece would only cost time.
    std::mem::forget(outcome);
    Ok(code)
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
