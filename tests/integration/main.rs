//! Integration tests: the built binary against the in-process simulator over loopback HTTP.

mod action;
mod check_run;
mod documented;
mod failures;
mod faults;
mod happy;
mod inputs;
mod netns;
mod oidc;
mod parsers;
mod runner_ip;
mod stderr;
mod support;
mod transport;
