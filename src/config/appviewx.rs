//! AppViewX: where the gateway is, who logs in, and whether to submit new sign requests or wait
//! for existing ones.

use reqwest::Url;

use super::fork::Withheld;
use super::inputs::{bad, none_without, truncate, InputError, Inputs};
use super::values::service_url;
use crate::secret::Secret;

/// What the signing stages do: a workflow either signs its own digests or collects requests
/// an earlier job submitted.
#[derive(Debug, Clone)]
pub enum AvxWork {
    /// Submit one sign request per digest.
    Submit {
        /// The AppViewX policy the requests are made under.
        signing_policy: String,
        /// The key mapped to that policy.
        signing_key: String,
    },
    /// Wait for requests submitted before, without hashing anything.
    Await {
        /// Deduplicated, in the order given, so each request is polled once.
        sign_ids: Vec<String>,
    },
}

/// The AppViewX inputs, checked; present only when `appviewx-url` is set.
#[derive(Debug, Clone)]
pub struct AppViewXConfig {
    /// Scheme, host and port, without a trailing slash or `/avxapi`.
    pub base_url: Url,
    /// Printable ASCII only, as AppViewX takes it in an HTTP header.
    pub username: String,
    /// Printable ASCII only, as AppViewX takes it in an HTTP header.
    pub password: Secret,
    /// The tenant key (`gwkey`) of a multi-tenant install; masked like a password.
    pub gwkey: Option<Secret>,
    /// Submit new requests or wait for given ones, never both.
    pub work: AvxWork,
}

/// Inputs that mean something only with `appviewx-url`.
const AVX_ONLY: &[&str] = &[
    "appviewx-username",
    "appviewx-password",
    "appviewx-gwkey",
    "appviewx-signing-policy",
    "appviewx-signing-key",
    "sign-ids",
];

/// `sign_ids` is parsed by the caller, as it also decides whether `artifacts` is required.
pub(super) fn appviewx_config(
    inputs: &Inputs,
    sign_ids: Option<Vec<String>>,
    withheld: &Withheld,
) -> Result<Option<AppViewXConfig>, InputError> {
    let Some(url) = inputs.trimmed("appviewx-url") else {
        return none_without(inputs, "appviewx-url", AVX_ONLY, "signing").map(|()| None);
    };
    let base_url = service_url("appviewx-url", url, &["avxapi"])?;
    let (username, password) = credentials(inputs, withheld)?;
    let gwkey = gwkey(inputs)?;
    let work = work(inputs, sign_ids)?;
    Ok(Some(AppViewXConfig { base_url, username: username.to_string(), password, gwkey, work }))
}

/// AppViewX takes these as HTTP headers, which carry printable ASCII only.
fn credentials<'a>(inputs: &'a Inputs, withheld: &Withheld) -> Result<(&'a str, Secret), InputError> {
    let username =
        inputs.trimmed("appviewx-username").ok_or_else(|| bad("appviewx-username", "is required with appviewx-url"))?;
    let password = withheld
        .credential(inputs, "appviewx-password")
        .ok_or_else(|| bad("appviewx-password", "is required with appviewx-url"))?;
    for (name, value) in [("appviewx-username", username), ("appviewx-password", password.expose())] {
        if !value.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return Err(bad(
                name,
                "has characters an HTTP header cannot carry (only printable ASCII): AppViewX sends it as a header",
            ));
        }
    }
    Ok((username, password))
}

/// Sent on every AppViewX call, so it must be printable ASCII without spaces.
fn gwkey(inputs: &Inputs) -> Result<Option<Secret>, InputError> {
    match inputs.trimmed("appviewx-gwkey") {
        Some("") | None => Ok(None),
        Some(key) if key.chars().all(|c| c.is_ascii_graphic()) => Ok(Some(Secret::new(key))),
        Some(_) => {
            Err(bad("appviewx-gwkey", "must be the tenant key as AppViewX shows it: printable ASCII, no spaces"))
        }
    }
}

/// Waiting for `sign-ids` and submitting under a policy exclude each other.
fn work(inputs: &Inputs, sign_ids: Option<Vec<String>>) -> Result<AvxWork, InputError> {
    if let Some(sign_ids) = sign_ids {
        for name in ["appviewx-signing-policy", "appviewx-signing-key"] {
            if inputs.get(name).is_some() {
                return Err(bad(
                    "sign-ids",
                    format!("conflicts with `{name}`: either wait for existing sign ids or submit new requests"),
                ));
            }
        }
        return Ok(AvxWork::Await { sign_ids });
    }
    Ok(AvxWork::Submit {
        signing_policy: inputs
            .trimmed("appviewx-signing-policy")
            .ok_or_else(|| bad("appviewx-signing-policy", "is required with appviewx-url (or give sign-ids)"))?
            .to_string(),
        signing_key: inputs
            .trimmed("appviewx-signing-key")
            .ok_or_else(|| bad("appviewx-signing-key", "is required with appviewx-url (or give sign-ids)"))?
            .to_string(),
    })
}

/// Ids go into request URLs, so only the characters AppViewX ids are made of pass.
pub(super) fn parse_sign_ids(text: &str) -> Result<Vec<String>, InputError> {
    let mut ids: Vec<String> = Vec::new();
    for id in text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()) {
        if id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(bad(
                "sign-ids",
                format!(
                    "`{}` is not a sign id (expected letters and digits such as 65c47fa41112f940dab1cb12)",
                    truncate(id, 40)
                ),
            ));
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(bad("sign-ids", "is set but lists no id"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use crate::config::tests::with;
    use crate::config::AvxWork;

    #[test]
    fn sign_ids_replace_policy_and_key() {
        let c = with(&[
            ("artifacts", ""),
            ("appviewx-signing-policy", ""),
            ("appviewx-signing-key", ""),
            ("sign-ids", "65c47fa41112f940dab1cb12\n65c47fa41112f940dab1cb13, 65c47fa41112f940dab1cb12"),
        ])
        .unwrap();
        let AvxWork::Await { sign_ids } = c.appviewx.unwrap().work else { panic!("expected Await") };
        assert_eq!(sign_ids, ["65c47fa41112f940dab1cb12", "65c47fa41112f940dab1cb13"]);
    }
}
