//! The one error type of the crate's public API: what can go wrong before the simulator serves.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start (once it serves, problems are HTTP answers instead), or
/// why it refused an approver's decision given through `SimHandle`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config contradicts itself or is not valid TOML.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A file the config names could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The listen address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The certificate or key could not be loaded or generated.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The background runtime or thread of `SimHandle::spawn` could not start.
    #[error("cannot start the simulator: {0}")]
    Runtime(String),
    /// `SimHandle::approve`/`reject` on an unknown sign id, or one not awaiting approval: a test
    /// that decides what nobody waits for has a wrong picture of the chain.
    #[error("approval refused: {0}")]
    Approval(String),
}
