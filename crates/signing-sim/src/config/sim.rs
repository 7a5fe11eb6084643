//! The whole setup of one simulator instance, and reading and writing it as TOML.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::fault::Fault;

use super::avx::{AvxConfig, AvxPolicy};
use super::oidc::OidcConfig;
use super::tls::TlsConfig;
use super::tpp::{TppConfig, TppEnvironment};

/// Complete description of one simulator instance; `Default` is the demo setup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of the `variants` mode: every JSON answer then varies deterministically (from the
    /// seed and the request's index) within the documented shape, never in meaning: key order,
    /// optional fields absent or `null`, unknown extra fields. `None` answers the default shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<u64>,
    /// Whether an AppViewX signing needs TPP's pre-qualification and pre-approval (our model of a
    /// deployment where CodeSign Protect approves what AppViewX signs), or only records them as
    /// before, for tests that exercise AppViewX alone.
    pub approval: ApprovalMode,
    /// The Venafi side: who may log in, which environments and key users exist.
    pub tpp: TppConfig,
    /// The AppViewX side: accounts, policies and how signing ends.
    pub appviewx: AvxConfig,
    /// The stand-in for GitHub Actions' OIDC token endpoint (`GET /__sim/oidc/token`).
    pub oidc: OidcConfig,
    /// Faults armed from the start; more can be added at run time with `SimHandle::add_fault`.
    pub faults: Vec<Fault>,
    /// `None` serves plain HTTP, which is what most tests want.
    pub tls: Option<TlsConfig>,
}

/// How the simulator links TPP's approvals to AppViewX's signing. Neither vendor documents the
/// link, so `Enforced` is the simulator's model of it (see the README's "The approval chain").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalMode {
    /// A signing needs a live pre-qualification of its digest and a live pre-approval for the
    /// submitter's address on its policy's environment, or an approver's decision; what it
    /// uses is consumed.
    #[default]
    Enforced,
    /// PreQualify/Create and AddPreApproval are recorded and never asked for: every signing that
    /// passes AppViewX's own checks proceeds.
    Recorded,
}

impl SimConfig {
    /// Reads a config from TOML text, refusing unknown keys so a typo cannot fall back to a default.
    ///
    /// # Errors
    /// `Error::Config` for TOML that does not parse into a config, or a config `validate` refuses.
    pub fn from_toml_str(s: &str) -> Result<Self, Error> {
        let config: SimConfig = toml::from_str(s).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a config file; errors name the file.
    ///
    /// # Errors
    /// `Error::Io` when the file cannot be read, `Error::Config` as for `from_toml_str`.
    pub fn from_toml_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config(msg) => Error::Config(format!("{}: {msg}", path.display())),
            other => other,
        })
    }

    /// Renders the config as TOML, e.g. to start a custom file from the demo setup.
    ///
    /// # Errors
    /// `Error::Config` if the TOML serializer refuses a value.
    pub fn to_toml_string(&self) -> Result<String, Error> {
        toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))
    }

    /// The environment whose approvals govern a policy: its `environment_dn` as configured in
    /// `tpp.environments`, else the first environment. `None` when there is none to govern it.
    pub(crate) fn governing_environment(&self, policy: &AvxPolicy) -> Option<&TppEnvironment> {
        match &policy.environment_dn {
            Some(dn) => self.tpp.environments.iter().find(|e| e.dn.eq_ignore_ascii_case(dn)),
            None => self.tpp.environments.first(),
        }
    }
}
