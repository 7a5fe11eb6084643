//! The audit record: the whole outcome as JSON. It holds no secret because the outcome holds
//! none (tokens and session ids never enter it).

use std::io::{self, Write};

use crate::outcome::Outcome;

/// Writes the report: `result` (`success`, `failure` or `planned`) first, then the outcome's fields.
pub fn write(outcome: &Outcome, w: &mut dyn Write) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Report<'a> {
        result: &'static str,
        #[serde(flatten)]
        outcome: &'a Outcome,
    }
    let report = Report { result: outcome.result().name(), outcome };
    serde_json::to_writer_pretty(&mut *w, &report).map_err(io::Error::other)?;
    writeln!(w)
}
