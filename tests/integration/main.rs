//! Integration tests: the built binary against the in-process simulator over loopback HTTP.

mod action;
mod approval;
mod check_run;
mod digest_lists;
mod documented;
mod failures;
mod faults;
mod happy;
mod hostile_argv;
mod hostile_files;
mod hostile_text;
mod inputs;
mod netns;
mod oidc;
mod outputs;
mod parsers;
mod plan;
mod resume;
mod runner_ip;
mod schema;
mod soak;
mod stderr;
mod support;
mod transport;
mod tsa;
mod verify;
