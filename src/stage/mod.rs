//! The network stages of a run, each recording what happened in the outcome.

mod renew;
pub mod sign;
pub mod tpp;

use tokio::time::Instant;

use crate::cancel::Cancel;
use crate::config::Config;
use crate::report::Log;

/// What every stage needs besides its own client and inputs.
pub struct Context<'a> {
    pub config: &'a Config,
    pub log: &'a Log,
    /// The end of waiting for the whole run.
    pub deadline: Instant,
    pub cancel: &'a Cancel,
}
