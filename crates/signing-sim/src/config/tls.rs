//! How the listener serves TLS, if at all.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Either serve a certificate the user brings, or mint a throwaway CA and server certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum TlsConfig {
    /// A certificate chain and key the user brings, e.g. one their clients already trust.
    Files {
        /// PEM chain, leaf first.
        cert_pem_path: PathBuf,
        /// PEM private key (PKCS#8, PKCS#1 or SEC1).
        key_pem_path: PathBuf,
    },
    /// A CA and leaf minted at every start, so nothing has to be provisioned.
    Generate {
        /// Where the generated CA certificate (PEM) is written for clients to trust.
        ca_out_path: PathBuf,
    },
}
