//! The stages of a run after discovery: digest, TPP, signing. Each is a function from typed
//! inputs to a typed result; [`crate::decide`] says which run and builds the outcome from what
//! they return.

pub mod digest;
mod renew;
pub mod sign;
pub mod tpp;

use tokio::time::Instant;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::outcome::{Problem, Severity};
use crate::report::Log;

/// What every network stage needs besides its own client and inputs.
pub struct Context<'a> {
    pub config: &'a Config,
    pub log: &'a Log,
    /// The end of waiting for the whole run.
    pub deadline: Instant,
    pub cancel: &'a Cancel,
}

/// The problems one stage met, in the order it met them; the outcome lists every stage's.
#[derive(Debug, Default, Clone)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn error(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Error, stage, artifact, message.into());
    }

    pub fn warning(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Warning, stage, artifact, message.into());
    }

    fn push(&mut self, severity: Severity, stage: &'static str, artifact: Option<&str>, message: String) {
        self.0.push(Problem { severity, stage, artifact: artifact.map(str::to_string), message });
    }
}
