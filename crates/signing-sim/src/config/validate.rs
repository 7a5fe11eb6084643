//! The checks `SimConfig::validate` runs when a config is loaded, so a setup that would make the
//! simulator contradict itself fails there rather than as a puzzling HTTP answer.

use std::collections::BTreeSet;

use crate::error::Error;
use crate::scope::Scope;

use super::avx::AvxConfig;
use super::oidc::OidcConfig;
use super::sim::{ApprovalMode, SimConfig};
use super::tpp::TppConfig;

impl SimConfig {
    /// Catches setups that would make the simulator contradict itself at run time, so the
    /// mistake surfaces when the file is loaded rather than as a puzzling HTTP answer.
    ///
    /// # Errors
    /// `Error::Config` listing every problem found, separated by `; `.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        self.tpp.check(&mut problems);
        self.oidc.check(&mut problems);
        let t = &self.tpp;
        dupes("tpp client", t.clients.iter().map(|c| c.client_id.clone()), &mut problems);
        dupes("tpp user", t.users.iter().map(|u| u.username.to_lowercase()), &mut problems);
        dupes("tpp environment", t.environments.iter().map(|e| e.dn.to_lowercase()), &mut problems);
        self.appviewx.check(&mut problems);
        self.check_governance(&mut problems);
        for f in &self.faults {
            if let Err(e) = f.check() {
                problems.push(e);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }

    /// A policy linked to an environment that does not exist, or (when the chain is enforced)
    /// governed by none, could never sign: say so at load time.
    fn check_governance(&self, problems: &mut Vec<String>) {
        for p in &self.appviewx.policies {
            match &p.environment_dn {
                Some(dn) if self.governing_environment(p).is_none() => problems.push(format!(
                    "appviewx policy {:?}: environment_dn {dn:?} is not one of tpp.environments",
                    p.name
                )),
                None if self.approval == ApprovalMode::Enforced && self.tpp.environments.is_empty() => {
                    problems.push(format!(
                        "appviewx policy {:?}: no TPP environment governs it (tpp.environments is empty); \
                         add one or set approval = \"recorded\"",
                        p.name
                    ));
                }
                _ => {}
            }
        }
    }
}

impl TppConfig {
    /// `validate`'s checks of the TPP lifetimes, the integrations' scopes and the JWT mappings.
    fn check(&self, problems: &mut Vec<String>) {
        if self.token_lifetime_secs <= 0 {
            problems.push("tpp.token_lifetime_secs must be positive".to_string());
        }
        if self.refresh_lifetime_secs <= 0 {
            problems.push("tpp.refresh_lifetime_secs must be positive".to_string());
        }
        if self.max_hours <= 0 {
            problems.push("tpp.max_hours must be positive".to_string());
        }
        for c in &self.clients {
            if let Err(e) = Scope::parse(&c.scope) {
                problems.push(format!("tpp client {:?}: scope: {e}", c.client_id));
            }
        }
        for (i, m) in self.jwt_mappings.iter().enumerate() {
            for (field, value) in
                [("issuer", &m.issuer), ("audience", &m.audience), ("subject", &m.subject), ("username", &m.username)]
            {
                if value.trim().is_empty() {
                    problems.push(format!("tpp.jwt_mappings[{i}].{field} must not be empty"));
                }
            }
        }
    }
}

impl OidcConfig {
    /// `validate`'s check that the stand-in has a request token, a subject and an issuer.
    fn check(&self, problems: &mut Vec<String>) {
        for (field, value) in
            [("request_token", &self.request_token), ("subject", &self.subject), ("issuer", &self.issuer)]
        {
            if value.trim().is_empty() {
                problems.push(format!("oidc.{field} must not be empty"));
            }
        }
    }
}

impl AvxConfig {
    /// `validate`'s checks of the session lifetime, duplicates, allow-lists and the tenant key.
    fn check(&self, problems: &mut Vec<String>) {
        if self.session_lifetime_secs <= 0 {
            problems.push("appviewx.session_lifetime_secs must be positive".to_string());
        }
        dupes("appviewx user", self.users.iter().map(|u| u.username.clone()), problems);
        dupes("appviewx policy", self.policies.iter().map(|p| p.name.clone()), problems);
        for p in &self.policies {
            for ip in &p.allowed_ips {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    problems
                        .push(format!("appviewx policy {:?}: allowed_ips entry {ip:?} is not an IP address", p.name));
                }
            }
        }
        if self.approval_timeout_ms == 0 {
            problems.push("appviewx.approval_timeout_ms must be positive".to_string());
        }
        if self.gwkey.as_deref().is_some_and(|k| k.trim().is_empty()) {
            problems
                .push("appviewx.gwkey must not be empty when set (leave it out for a single-tenant install)".into());
        }
        self.check_keys(problems);
    }

    /// `validate`'s checks of the signing keys: names, built-in keys, certificate validity.
    fn check_keys(&self, problems: &mut Vec<String>) {
        dupes("appviewx key", self.keys.iter().map(|k| k.name.clone()), problems);
        for k in &self.keys {
            if k.name.is_empty() {
                problems.push("appviewx.keys: a key's name must not be empty".to_string());
            }
            if let Some(alg) = k.algorithm.filter(|a| !a.has_builtin_key() && k.key_pem_path.is_none()) {
                problems.push(format!(
                    "appviewx key {:?}: there is no built-in {} key; give key_pem_path (built in: rsa-3072, ecdsa-p256)",
                    k.name,
                    alg.name()
                ));
            }
        }
        if self.certificate_validity_days == 0 {
            problems.push("appviewx.certificate_validity_days must be positive".to_string());
        }
    }
}

fn dupes(what: &str, items: impl Iterator<Item = String>, problems: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for item in items {
        if !seen.insert(item.clone()) {
            problems.push(format!("{what} {item:?} is listed twice"));
        }
    }
}
