//! Runs the simulator until interrupted, for poking at it with curl or a vendor SDK:
//! `cargo run -p signing-sim --example serve -- [config.toml] [127.0.0.1:8443]`.

use std::net::SocketAddr;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config = match args.next() {
        Some(path) if path != "-" => signing_sim::SimConfig::from_toml_file(Path::new(&path))?,
        _ => signing_sim::SimConfig::default(),
    };
    let listen: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:0").parse()?;
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
