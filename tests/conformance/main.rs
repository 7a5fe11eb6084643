//! Conformance with the vendors' own documents. `exchanges.toml` writes down every documented
//! example exchange of every endpoint the gate calls or the simulator serves, with its source.
//! They are checked both ways:
//! - `answers`: every documented answer, fed to the gate's parsers, means what the documents say;
//! - `requests`: every request the gate sends (recorded by the simulator from real runs of the
//!   binary) has exactly the documented names, casing, types, query parameters and headers;
//! - `simulator`: the simulator's default answers have the documented shape and no more, and
//!   it accepts every documented request example;
//! - `envelope`: answers that vary within what the documents leave open reach the same verdict.

mod answers;
mod data;
mod envelope;
mod requests;
mod simulator;
#[allow(dead_code)]
#[path = "../integration/support.rs"]
mod support;
