//! A stand-in for GitHub Actions' OIDC token endpoint, the one a job with
//! `permissions: id-token: write` calls through `$ACTIONS_ID_TOKEN_REQUEST_URL`.
//!
//! GitHub answers `{"count":…,"value":"<jwt>"}` to `GET <url>&audience=<aud>` with
//! `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`. The token minted here is signed with
//! the simulator's own HS256 key, so `POST /vedauth/authorize/jwt` can verify it.

use std::fmt::Write as _;

use hyper::header::{ALLOW, WWW_AUTHENTICATE};
use hyper::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::http::{Reply, Req};
use crate::jwt;
use crate::shared::Shared;

/// How long a minted token lives, as on GitHub.
const TOKEN_LIFETIME_SECS: i64 = 300;

/// The query string `$ACTIONS_ID_TOKEN_REQUEST_URL` carries on GitHub; clients append
/// `&audience=...` to it.
pub(crate) const REQUEST_URL_PATH: &str = "/__sim/oidc/token?api-version=2.0";

#[derive(Debug, Serialize)]
struct TokenAnswer {
    count: u32,
    value: String,
}

#[derive(Debug, Serialize)]
struct ErrorAnswer<'a> {
    error: &'a str,
    error_description: &'a str,
}

fn unauthorized(description: &str) -> Reply {
    Reply::json(401, &ErrorAnswer { error: "invalid_token", error_description: description })
        .with_header(WWW_AUTHENTICATE, "Bearer")
}

/// `GET /__sim/oidc/token?audience=<aud>`.
pub(crate) fn route(shared: &Shared, req: &Req) -> Reply {
    if req.method != Method::GET {
        return Reply::json(
            405,
            &ErrorAnswer { error: "invalid_request", error_description: "The OIDC token endpoint answers GET only" },
        )
        .with_header(ALLOW, "GET");
    }
    let Some(value) = req.header("authorization").map(str::trim).filter(|v| !v.is_empty()) else {
        return unauthorized(
            "The Authorization header with the request token ($ACTIONS_ID_TOKEN_REQUEST_TOKEN) is missing",
        );
    };
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return unauthorized("The Authorization header must use the bearer scheme"),
    };
    if token != shared.config.oidc.request_token {
        return unauthorized("The request token is not valid for this job");
    }
    let audience = req.query_param("audience").filter(|a| !a.is_empty());
    Reply::json(200, &TokenAnswer { count: 1, value: mint(shared, audience) })
}

/// The subject tokens are minted for right now: the run-time override, else the config.
fn current_subject(shared: &Shared) -> String {
    shared.lock().oidc_subject.clone().unwrap_or_else(|| shared.config.oidc.subject.clone())
}

/// Mints a token as the endpoint would, on the simulator's clock.
pub(crate) fn mint(shared: &Shared, audience: Option<&str>) -> String {
    let subject = current_subject(shared);
    let now = shared.clock.now_ms().div_euclid(1000);
    let claims = claims(&shared.config.oidc.issuer, &subject, audience, now);
    jwt::sign(&shared.jwt_key, &claims)
}

/// What a `repo:OWNER/NAME:...` subject says about the run; other subjects give nothing.
struct Repo<'a> {
    repository: &'a str,
    owner: &'a str,
    context: &'a str,
}

fn parse_subject(subject: &str) -> Option<Repo<'_>> {
    let rest = subject.strip_prefix("repo:")?;
    let (repository, context) = rest.split_once(':').unwrap_or((rest, ""));
    let (owner, name) = repository.split_once('/')?;
    (!owner.is_empty() && !name.is_empty()).then_some(Repo { repository, owner, context })
}

/// GitHub's claims, derived from the subject where it carries them (`repository`, `ref`,
/// `environment`, the event); run numbers and the commit are fixed fakes.
fn claims(issuer: &str, subject: &str, audience: Option<&str>, now_secs: i64) -> Value {
    let repo = parse_subject(subject);
    let owner = repo.as_ref().map_or("acme", |r| r.owner);
    // GitHub's default audience is the URL of the repository owner.
    let audience = audience.map_or_else(|| format!("https://github.com/{owner}"), str::to_string);
    let mut c = Map::new();
    c.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    c.insert("sub".into(), json!(subject));
    c.insert("aud".into(), json!(audience));
    c.insert("iss".into(), json!(issuer));
    c.insert("iat".into(), json!(now_secs));
    c.insert("nbf".into(), json!(now_secs));
    c.insert("exp".into(), json!(now_secs.saturating_add(TOKEN_LIFETIME_SECS)));
    if let Some(r) = repo {
        let git_ref = r.context.strip_prefix("ref:").unwrap_or("refs/heads/main");
        let event = if r.context == "pull_request" { "pull_request" } else { "push" };
        let sha = Sha256::digest(subject.as_bytes()).iter().take(20).fold(String::with_capacity(40), |mut sha, b| {
            let _ = write!(sha, "{b:02x}");
            sha
        });
        c.insert("repository".into(), json!(r.repository));
        c.insert("repository_owner".into(), json!(r.owner));
        c.insert("ref".into(), json!(git_ref));
        c.insert("ref_type".into(), json!(if git_ref.starts_with("refs/tags/") { "tag" } else { "branch" }));
        c.insert("sha".into(), json!(sha));
        c.insert("event_name".into(), json!(event));
        c.insert("actor".into(), json!(r.owner));
        c.insert("workflow".into(), json!("CI"));
        c.insert("job_workflow_ref".into(), json!(format!("{}/.github/workflows/ci.yml@{git_ref}", r.repository)));
        c.insert("run_id".into(), json!("4242424242"));
        c.insert("run_number".into(), json!("42"));
        c.insert("run_attempt".into(), json!("1"));
        c.insert("runner_environment".into(), json!("github-hosted"));
        if let Some(env) = r.context.strip_prefix("environment:") {
            c.insert("environment".into(), json!(env));
        }
    }
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_the_subject() {
        let c = claims("https://iss", "repo:acme/rocket:ref:refs/tags/v1", Some("tpp"), 1000);
        assert_eq!(c["repository"], "acme/rocket");
        assert_eq!(c["ref"], "refs/tags/v1");
        assert_eq!(c["ref_type"], "tag");
        assert_eq!(c["aud"], "tpp");
        assert_eq!(c["exp"], 1300);
        assert_eq!(c["sha"].as_str().map(str::len), Some(40));
        let c = claims("https://iss", "repo:octo/app:environment:prod", None, 0);
        assert_eq!(c["aud"], "https://github.com/octo");
        assert_eq!(c["environment"], "prod");
        assert_eq!(c["ref"], "refs/heads/main");
        let c = claims("https://iss", "something-else", None, 0);
        assert_eq!(c["aud"], "https://github.com/acme");
        assert!(c.get("repository").is_none());
    }
}
