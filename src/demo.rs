//! `demo` and `simulator`: the gate against the embedded simulator.

use std::path::PathBuf;

use clap::ArgMatches;

pub async fn demo(_artifacts: Option<PathBuf>) -> anyhow::Result<u8> {
    anyhow::bail!("demo: not yet")
}

pub async fn simulator(_m: &ArgMatches) -> anyhow::Result<u8> {
    anyhow::bail!("simulator: not yet")
}
