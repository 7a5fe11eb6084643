//! Pull requests from forks: GitHub gives their `pull_request` runs no secrets, so a gate wired
//! into such a workflow can only fail. When the credentials it needs are missing for that reason
//! alone, the run becomes a plan: it sends nothing and shows what it would send.

use std::cell::RefCell;

use serde_json::Value;

use super::inputs::Inputs;
use crate::secret::Secret;

/// Whether the run is a `pull_request` run whose head lies in another repository than its base.
///
/// Only `pull_request` counts: that is the event GitHub runs without secrets for a fork.
/// `pull_request_target` runs in the base repository's context, with its secrets, so a secret
/// missing there is a configuration mistake like any other. A payload that cannot be read, is
/// not JSON or lacks either repository name is not taken as a fork: the missing secret then
/// stays an input error, rather than a real problem turning silently into a plan.
pub fn is_fork_pull_request(event_name: Option<&str>, payload: Option<&str>) -> bool {
    if event_name.map(str::trim) != Some("pull_request") {
        return false;
    }
    let Some(event) = payload.and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        return false;
    };
    let name = |side: &str| {
        event
            .pointer(&format!("/pull_request/{side}/repo/full_name"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .filter(|n| !n.is_empty())
    };
    matches!((name("head"), name("base")), (Some(head), Some(base)) if head != base)
}

/// The credentials a pull request from a fork did not get. Outside such a run it stands in for
/// nothing, and a missing credential is the input error it always was.
#[derive(Debug, Default)]
pub(super) struct Withheld {
    fork: bool,
    names: RefCell<Vec<&'static str>>,
}

impl Withheld {
    pub(super) fn new(fork: bool) -> Self {
        Withheld { fork, names: RefCell::new(Vec::new()) }
    }

    /// Whether a missing credential may be stood in for.
    pub(super) fn fork(&self) -> bool {
        self.fork
    }

    /// An empty placeholder for a credential the run did not get, noted by the input's name.
    /// Empty, so that nothing is masked or shown in its place.
    pub(super) fn placeholder(&self, name: &'static str) -> Secret {
        let mut names = self.names.borrow_mut();
        if !names.contains(&name) {
            names.push(name);
        }
        Secret::new("")
    }

    /// The credential input as given; in a pull request from a fork, a placeholder when missing.
    pub(super) fn credential(&self, inputs: &Inputs, name: &'static str) -> Option<Secret> {
        match inputs.get(name) {
            Some(v) => Some(Secret::new(v)),
            None if self.fork => Some(self.placeholder(name)),
            None => None,
        }
    }

    /// What was stood in for, in the order it was met.
    pub(super) fn into_names(self) -> Vec<&'static str> {
        self.names.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(head: &str, base: &str) -> String {
        serde_json::json!({"pull_request": {"head": {"repo": {"full_name": head}}, "base": {"repo": {"full_name": base}}}})
            .to_string()
    }

    #[test]
    fn a_fork_is_a_pull_request_whose_head_repository_differs() {
        let fork = payload("someone/rocket", "acme/rocket");
        assert!(is_fork_pull_request(Some("pull_request"), Some(&fork)));
        assert!(!is_fork_pull_request(Some("pull_request"), Some(&payload("acme/rocket", "acme/rocket"))));
        assert!(
            !is_fork_pull_request(Some("pull_request"), Some(&payload("Acme/Rocket", "acme/rocket"))),
            "GitHub names compare without case"
        );
        assert!(!is_fork_pull_request(Some("pull_request_target"), Some(&fork)), "runs with the base's secrets");
        assert!(!is_fork_pull_request(Some("push"), Some(&fork)));
        assert!(!is_fork_pull_request(None, Some(&fork)));
    }

    #[test]
    fn an_unreadable_payload_is_not_a_fork() {
        let pr = Some("pull_request");
        assert!(!is_fork_pull_request(pr, None), "no event file");
        assert!(!is_fork_pull_request(pr, Some("{not json")), "malformed JSON");
        assert!(!is_fork_pull_request(pr, Some("[]")), "not an object");
        assert!(!is_fork_pull_request(pr, Some(r#"{"pull_request":{}}"#)), "no repositories");
        let no_base = r#"{"pull_request":{"head":{"repo":{"full_name":"someone/rocket"}},"base":{"repo":{}}}}"#;
        assert!(!is_fork_pull_request(pr, Some(no_base)), "no base repository name");
        let deleted_fork = r#"{"pull_request":{"head":{"repo":null},"base":{"repo":{"full_name":"acme/rocket"}}}}"#;
        assert!(!is_fork_pull_request(pr, Some(deleted_fork)), "head repository gone");
        assert!(!is_fork_pull_request(pr, Some(&payload("", "acme/rocket"))), "empty name");
        assert!(!is_fork_pull_request(
            pr,
            Some(r#"{"pull_request":{"head":{"repo":{"full_name":7}},"base":{"repo":{"full_name":"acme/rocket"}}}}"#)
        ));
    }
}
