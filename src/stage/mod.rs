//! The stages of a run after discovery: digest, TPP, signing. Each is a function from typed
//! inputs to a typed result; `decide` (a floor up) says which run and builds the outcome from what
//! they return.

pub mod digest;
pub mod record;
mod renew;
pub mod rerun;
pub mod sign;
mod tokens;
pub mod tpp;
pub mod verify;

use tokio::time::Instant;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::progress::Progress;
use record::{Problem, Severity};

/// What every network stage needs besides its own client and inputs.
pub struct Context<'a> {
    /// For the settings every stage shares (concurrency, poll interval, timeout, GitHub context).
    pub config: &'a Config,
    /// Progress, and masking every secret a stage obtains before anything else prints.
    pub log: &'a dyn Progress,
    /// The end of waiting for the whole run.
    pub deadline: Instant,
    /// Waiting stops when it fires; clean-up calls still go out.
    pub cancel: &'a Cancel,
}

/// The problems one stage met, in the order it met them; the outcome lists every stage's.
#[derive(Debug, Default, Clone)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// An error fails the run.
    pub fn error(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Error, stage, artifact, message.into());
    }

    /// A warning is reported but leaves the result alone.
    pub fn warning(&mut self, stage: &'static str, artifact: Option<&str>, message: impl Into<String>) {
        self.push(Severity::Warning, stage, artifact, message.into());
    }

    fn push(&mut self, severity: Severity, stage: &'static str, artifact: Option<&str>, message: String) {
        self.0.push(Problem { severity, stage, artifact: artifact.map(str::to_string), message });
    }
}
