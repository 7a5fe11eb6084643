//! The checks PreQualify/Create and AddPreApproval share, and their documented success.

use crate::config::{KeyUser, TppConfig, TppEnvironment};
use crate::http::{Reply, Req};
use crate::shared::Shared;

use super::common::{authenticate, bad_request, refusal, require_scope, result_code, stable_guid, Caller};

/// `Hours`, when given, from 1 to `max_hours`; TPP documents no upper bound.
pub(super) fn validate_hours(hours: Option<i64>, max: i64) -> Result<(), Reply> {
    match hours {
        Some(h) if h < 1 || h > max => {
            Err(bad_request(format!("Hours must be a whole number of hours between 1 and {max}; got {h}")))
        }
        _ => Ok(()),
    }
}

/// An environment by DN, compared without case, or the Result 7 refusal.
pub(super) fn find_environment<'a>(config: &'a TppConfig, dn: &str) -> Result<&'a TppEnvironment, Reply> {
    config.environments.iter().find(|e| e.dn.eq_ignore_ascii_case(dn)).ok_or_else(|| {
        refusal(
            result_code::OBJECT_NOT_FOUND,
            format!("Environment '{dn}' does not exist or is not a code signing environment"),
        )
    })
}

/// A key user by PrefixedName (without case) or PrefixedUniversal (`prefix:{guid}`).
fn key_user_matches(k: &KeyUser, user: &str) -> bool {
    if k.name.eq_ignore_ascii_case(user) {
        return true;
    }
    let prefix = k.name.split_once(':').map_or("local", |(p, _)| p);
    let guid = k.guid.clone().unwrap_or_else(|| stable_guid(&format!("key-user:{}", k.name.to_lowercase())));
    let guid = guid.trim_matches(|c| c == '{' || c == '}');
    match user.split_once(':') {
        Some((p, g)) => {
            p.eq_ignore_ascii_case(prefix) && g.trim_matches(|c| c == '{' || c == '}').eq_ignore_ascii_case(guid)
        }
        None => false,
    }
}

/// The refusals PreQualify/Create and AddPreApproval share, met after the token, scope and body
/// checks: the environment (Result 7), the caller's approver right (2), then the key user (1002).
pub(super) fn approver_checks(shared: &Shared, caller: &Caller, dn: &str, user: &str) -> Result<(), Reply> {
    let config = &shared.config.tpp;
    let env = find_environment(config, dn)?;
    if !env.approvers.iter().any(|a| a.eq_ignore_ascii_case(&caller.username)) {
        return Err(refusal(
            result_code::INSUFFICIENT_PERMISSION,
            format!("'{}' is not a Key Use Approver of '{}'", caller.username, env.dn),
        ));
    }
    if !config.key_users.iter().any(|k| key_user_matches(k, user)) {
        return Err(refusal(result_code::USER_NOT_FOUND, format!("User '{user}' was not found")));
    }
    Ok(())
}

/// The documented success of PreQualify/Create and AddPreApproval: exactly `{"Success":true}`
/// (AddPreApproval's example answer); `Result` and `Error` only explain a refusal.
pub(super) fn success() -> Reply {
    Reply::json(200, &serde_json::json!({ "Success": true }))
}

/// The token and scope checks of the two creating calls: a live token with `codesign:approve`.
pub(super) fn authenticated_approver(shared: &Shared, req: &Req) -> Result<Caller, Reply> {
    let now = shared.clock.now_ms();
    let caller = authenticate(&shared.lock(), req, now)?;
    require_scope(&caller, "codesign", Some("approve"))?;
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_user_by_name_or_universal() {
        let k = KeyUser { name: "local:sample-cs-user".into(), guid: Some("{ABC}".into()) };
        assert!(key_user_matches(&k, "LOCAL:sample-cs-user"));
        assert!(key_user_matches(&k, "local:{abc}"));
        assert!(!key_user_matches(&k, "ad:{abc}"));
        assert!(!key_user_matches(&k, "local:someone-else"));
    }
}
