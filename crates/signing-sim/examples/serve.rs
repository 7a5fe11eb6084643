//! Runs the simulator until interrupted, for poking at it with curl or a vendor SDK:
//! `cargo run -p signing-sim --example serve -- [--write-certificates DIR] [config.toml|-] [127.0.0.1:8443]`.
//!
//! `--write-certificates DIR` writes every AppViewX signing key's certificate chain (`<key>.pem`,
//! leaf first) and the simulator's code-signing CA (`ca.pem`) into DIR at start, as the config's
//! `appviewx.certificates_out_dir` does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut certificates_dir: Option<PathBuf> = None;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--write-certificates" {
            let dir = args.next().ok_or("--write-certificates needs a folder")?;
            certificates_dir = Some(PathBuf::from(dir));
        } else if let Some(dir) = arg.strip_prefix("--write-certificates=") {
            certificates_dir = Some(PathBuf::from(dir));
        } else {
            positional.push(arg);
        }
    }
    let mut positional = positional.into_iter();
    let mut config = match positional.next() {
        Some(path) if path != "-" => signing_sim::SimConfig::from_toml_file(Path::new(&path))?,
        _ => signing_sim::SimConfig::default(),
    };
    if certificates_dir.is_some() {
        config.appviewx.certificates_out_dir = certificates_dir;
    }
    let listen: SocketAddr = positional.next().as_deref().unwrap_or("127.0.0.1:0").parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let sim = signing_sim::start(config.clone(), listen).await?;
        print!("{}", config.describe());
        println!("listening on {}", sim.base_url());
        std::future::pending::<()>().await;
        Ok::<(), signing_sim::Error>(())
    })?;
    Ok(())
}
