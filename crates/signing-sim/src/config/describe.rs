//! The human summary of a setup that `codesign-gate simulator` prints.

use std::fmt::Write as _;

use super::avx::{AvxPolicy, SignOutcome};
use super::keys::KeyAlgorithm;
use super::sim::{ApprovalMode, SimConfig};
use super::tls::TlsConfig;

impl SimConfig {
    /// Human summary for `codesign-gate simulator`: what a user needs to point a client at it.
    /// Printing the passwords is deliberate: they are fake, and without them the demo is useless.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = String::new();
        self.describe_tpp(&mut s);
        self.describe_oidc(&mut s);
        self.describe_appviewx(&mut s);
        self.describe_rest(&mut s);
        s
    }

    /// The TPP part of `describe`: integrations, users, environments, key users, JWT mappings.
    fn describe_tpp(&self, s: &mut String) {
        let t = &self.tpp;
        let _ = writeln!(s, "Venafi TPP (version {}):", t.version);
        let _ = writeln!(
            s,
            "  token lifetime {} s, refresh token lifetime {} s, refresh tokens {}",
            t.token_lifetime_secs,
            t.refresh_lifetime_secs,
            if t.rotate_refresh_tokens { "rotate (single use)" } else { "reusable" }
        );
        for c in &t.clients {
            let _ = writeln!(s, "  client_id {:?} allows scope {:?}", c.client_id, c.scope);
        }
        for u in &t.users {
            let _ = writeln!(s, "  user {:?} password {:?}", u.username, u.password);
        }
        for e in &t.environments {
            let _ = writeln!(s, "  environment {}", e.dn);
            let _ = writeln!(s, "    approvers: {}", join_or_none(&e.approvers));
        }
        let key_users: Vec<String> = t.key_users.iter().map(|k| k.name.clone()).collect();
        let _ = writeln!(s, "  key users: {}", join_or_none(&key_users));
        if t.jwt_mappings.is_empty() {
            let _ = writeln!(s, "  JWT mappings: (none; POST /vedauth/authorize/jwt refuses every token)");
        } else {
            let _ = writeln!(s, "  JWT mappings (POST /vedauth/authorize/jwt, HS256 tokens minted by the simulator):");
        }
        for m in &t.jwt_mappings {
            let _ =
                writeln!(s, "    iss {:?} aud {:?} sub {:?} -> user {:?}", m.issuer, m.audience, m.subject, m.username);
        }
    }

    /// The OIDC stand-in part of `describe`.
    fn describe_oidc(&self, s: &mut String) {
        let o = &self.oidc;
        let _ = writeln!(s, "GitHub Actions OIDC stand-in (GET /__sim/oidc/token?api-version=2.0&audience=AUD):");
        let _ = writeln!(s, "  request token {:?} (send as Authorization: bearer)", o.request_token);
        let _ = writeln!(s, "  tokens: iss {:?} sub {:?}, valid 5 minutes", o.issuer, o.subject);
    }

    /// The AppViewX part of `describe`: tenant key, users, policies.
    fn describe_appviewx(&self, s: &mut String) {
        let a = &self.appviewx;
        let _ = writeln!(
            s,
            "AppViewX (POST /avxapi/login?gwsource=external; session lifetime {} s, signing takes {} ms):",
            a.session_lifetime_secs, a.sign_delay_ms
        );
        if let Some(key) = &a.gwkey {
            let _ = writeln!(s, "  multi-tenant: every call needs gwkey={key}");
        }
        self.describe_approval(s);
        if a.visibility_delay_ms > 0 {
            let _ = writeln!(
                s,
                "  a sign request is visible to status calls {} ms after it was submitted",
                a.visibility_delay_ms
            );
        }
        for u in &a.users {
            let _ = writeln!(
                s,
                "  user {:?} password {:?}, {} login attempts{}",
                u.username,
                u.password,
                u.login_attempts,
                if u.can_sign { "" } else { ", NOT allowed to sign" }
            );
        }
        for p in &a.policies {
            self.describe_policy(s, p);
        }
        self.describe_keys(s);
    }

    /// The signing keys: what signs for each, and where a verifier finds the certificates.
    fn describe_keys(&self, s: &mut String) {
        let a = &self.appviewx;
        let _ = writeln!(
            s,
            "  signing keys (real signatures; certificates at GET /__sim/certificates?key=NAME, CA at GET /__sim/ca.pem):"
        );
        for k in &a.keys {
            let algorithm = k.algorithm.map_or("from its key file", KeyAlgorithm::name);
            let source = match &k.key_pem_path {
                Some(path) => format!("key {}", path.display()),
                None => "the built-in PUBLIC test key".to_string(),
            };
            let _ = writeln!(s, "    key {:?}: {algorithm}, {source}", k.name);
        }
        let implicit: Vec<String> = a
            .policies
            .iter()
            .flat_map(|p| &p.keys)
            .filter(|name| a.keys.iter().all(|k| &k.name != *name))
            .cloned()
            .collect();
        if !implicit.is_empty() {
            let _ = writeln!(s, "    rsa-3072 with the built-in PUBLIC test key: {}", implicit.join(", "));
        }
        if let Some(dir) = &a.certificates_out_dir {
            let _ = writeln!(s, "    certificate chains written to {} (<key>.pem, ca.pem)", dir.display());
        }
    }

    /// How a signing gets approved is the first thing a demo user trips over (a signing that
    /// waits for an approver looks hung), so the summary spells out the chain and who approves.
    fn describe_approval(&self, s: &mut String) {
        let a = &self.appviewx;
        match self.approval {
            ApprovalMode::Enforced => {
                let approver = match a.manual_approval_after_ms {
                    Some(ms) => format!("an approver approves it {ms} ms after submission"),
                    None => "approve it with POST /__sim/approve {\"signId\":\"...\"}".to_string(),
                };
                let _ = writeln!(
                    s,
                    "  approval chain enforced: a signing needs a live pre-qualification of its digest (else Failed) \
                     and a live pre-approval for the submitter's address, else it waits up to {} ms; {approver}",
                    a.approval_timeout_ms
                );
            }
            ApprovalMode::Recorded => {
                let _ =
                    writeln!(s, "  approval chain recorded only: signing needs no pre-qualification or pre-approval");
            }
        }
    }

    /// One policy's line, and under it what only matters for that policy: which TPP environment
    /// approves its signings and whether it answers with a signed script.
    fn describe_policy(&self, s: &mut String, p: &AvxPolicy) {
        let _ = writeln!(
            s,
            "  policy {:?}: keys {}, signed types {}, IP allow-list {}, outcome {}{}",
            p.name,
            join_or_none(&p.keys),
            join_or_none(&p.signed_types),
            join_or_none(&p.allowed_ips),
            outcome_name(p.outcome),
            p.sign_delay_ms.map(|ms| format!(" after {ms} ms")).unwrap_or_default()
        );
        if self.approval == ApprovalMode::Enforced {
            let governing = self.governing_environment(p).map_or("(none)", |e| e.dn.as_str());
            let _ = writeln!(s, "    approvals from TPP environment {governing}");
        }
        if let Some(script) = &p.signed_script {
            let _ = writeln!(s, "    encodedHashData: the signed script {script:?} with a signature block");
        }
    }

    /// The variants mode, the armed faults and TLS.
    fn describe_rest(&self, s: &mut String) {
        if let Some(seed) = self.variants {
            let _ = writeln!(s, "Answers vary (seed {seed}): key order, optional fields absent or null, extra fields");
        }
        if !self.faults.is_empty() {
            let _ = writeln!(s, "Faults armed:");
            for f in &self.faults {
                let _ = writeln!(s, "  {}", f.describe());
            }
        }
        match &self.tls {
            None => {
                let _ = writeln!(s, "TLS: off (plain http)");
            }
            Some(TlsConfig::Files { cert_pem_path, .. }) => {
                let _ = writeln!(s, "TLS: certificate {}", cert_pem_path.display());
            }
            Some(TlsConfig::Generate { ca_out_path }) => {
                let _ = writeln!(s, "TLS: generated; trust the CA written to {}", ca_out_path.display());
            }
        }
    }
}

fn outcome_name(o: SignOutcome) -> &'static str {
    match o {
        SignOutcome::Signed => "signed",
        SignOutcome::TimeoutError => "timeout-error",
        SignOutcome::FetchError => "fetch-error",
        SignOutcome::Never => "never",
    }
}

fn join_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}
