//! Venafi TPP: VEDAuth bearer tokens and the CodeSign Protect WebSDK calls the gate makes.
//!
//! Wire types are written from the vendor reference alone; field names are case-sensitive,
//! as TPP documents ("All parameter names are case sensitive").

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hyper::header::{ALLOW, WWW_AUTHENTICATE};
use hyper::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{KeyUser, TppConfig};
use crate::http::{Reply, Req};
use crate::scope::Scope;
use crate::shared::Shared;
use crate::state::{AccessToken, Grant, PreApprovalRecord, PreQualRecord, Store};
use crate::timefmt::{dotnet_date, iso8601_utc, parse_not_before};

/// Sign Result Codes used by the simulated calls (pyVenafi `resultcodes.py`).
pub mod result_code {
    pub const SUCCESS: i32 = 1;
    pub const INSUFFICIENT_PERMISSION: i32 = 2;
    pub const OBJECT_NOT_FOUND: i32 = 7;
    pub const USER_NOT_FOUND: i32 = 1002;
}

const REFRESH_INVALID: &str = "Grant has been revoked, has expired, or the refresh token is invalid";

// ---- wire types -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct OAuthRequest {
    client_id: String,
    username: String,
    password: String,
    scope: String,
    // `state` is accepted like any unknown field and not echoed: the documented answer has none.
}

#[derive(Debug, Deserialize)]
struct RefreshRequest {
    client_id: String,
    refresh_token: String,
}

#[derive(Debug, Deserialize)]
struct JwtRequest {
    client_id: String,
    jwt: String,
    scope: String,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires: i64,
    refresh_until: i64,
    identity: String,
    scope: String,
    token_type: &'static str,
}

/// Every field "GET Authorize/Verify" documents, in the order of its example; the
/// `*_issued_on` and `expires` fields are .NET JSON dates (`"/Date(<unix ms>)/"`).
#[derive(Debug, Serialize)]
struct VerifyResponse {
    access_issued_on: String,
    #[serde(rename = "access_issued_on_ISO8601")]
    access_issued_on_iso8601: String,
    access_issued_on_unix_time: i64,
    application: String,
    expires: String,
    #[serde(rename = "expires_ISO8601")]
    expires_iso8601: String,
    expires_unix_time: i64,
    grant_issued_on: String,
    #[serde(rename = "grant_issued_on_ISO8601")]
    grant_issued_on_iso8601: String,
    grant_issued_on_unix_time: i64,
    identity: String,
    scope: String,
    valid_for: i64,
}

#[derive(Debug, Serialize)]
struct OAuthError<'a> {
    error: &'a str,
    error_description: String,
}

#[derive(Debug, Deserialize)]
struct PreQualifyRequest {
    #[serde(rename = "Dn")]
    dn: String,
    #[serde(rename = "Data")]
    data: String,
    #[serde(rename = "User")]
    user: String,
    #[serde(rename = "Comment")]
    comment: String,
    #[serde(rename = "Hours", default)]
    hours: Option<i64>,
    #[serde(rename = "SingleUse", default)]
    single_use: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct AddPreApprovalRequest {
    #[serde(rename = "Dn")]
    dn: String,
    #[serde(rename = "User")]
    user: String,
    #[serde(rename = "Comment")]
    comment: String,
    #[serde(rename = "Hours", default)]
    hours: Option<i64>,
    #[serde(rename = "IPAddress", default)]
    ip_address: Option<String>,
    #[serde(rename = "NotBefore", default)]
    not_before: Option<String>,
    #[serde(rename = "SigningExecutable", default)]
    signing_executable: Option<String>,
    #[serde(rename = "SingleUse", default)]
    single_use: Option<bool>,
}

/// TPP documents "specify one of" `Dn`, `Guid` or `Id`; pyVenafi's `GetEnvironment.post` offers
/// all three and leaves out the ones not given.
#[derive(Debug, Deserialize)]
struct GetEnvironmentRequest {
    #[serde(rename = "Dn", default)]
    dn: Option<String>,
    #[serde(rename = "Guid", default)]
    guid: Option<String>,
    #[serde(rename = "Id", default)]
    id: Option<i64>,
}

/// A refusal: HTTP 200 with `Success:false`, the Sign Result Code and its explanation.
#[derive(Debug, Serialize)]
struct SignResult {
    #[serde(rename = "Success")]
    success: bool,
    #[serde(rename = "Result")]
    result: i32,
    #[serde(rename = "Error")]
    error: String,
}

#[derive(Debug, Serialize)]
struct EnvironmentInfo {
    #[serde(rename = "Dn")]
    dn: String,
    #[serde(rename = "Guid")]
    guid: String,
    #[serde(rename = "Id")]
    id: i64,
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Debug, Serialize)]
struct GetEnvironmentResponse {
    #[serde(rename = "CertificateEnvironment", skip_serializing_if = "Option::is_none")]
    environment: Option<EnvironmentInfo>,
    #[serde(rename = "Success")]
    success: bool,
    #[serde(rename = "Result")]
    result: i32,
    #[serde(rename = "Error", skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct VersionResponse {
    #[serde(rename = "Version")]
    version: String,
}

// ---- helpers ----------------------------------------------------------------------------------

fn oauth_error(status: u16, error: &str, description: impl Into<String>) -> Reply {
    Reply::json(status, &OAuthError { error, error_description: description.into() })
}

fn invalid_token(description: &str) -> Reply {
    oauth_error(401, "invalid_token", description)
        .with_header(WWW_AUTHENTICATE, &format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
}

fn bad_request(description: impl Into<String>) -> Reply {
    oauth_error(400, "invalid_request", description)
}

fn refusal(result: i32, error: String) -> Reply {
    Reply::json(200, &SignResult { success: false, result, error })
}

/// Decodes a JSON body into a wire type, mapping every failure to TPP's 400 shape.
fn parse_body<T: DeserializeOwned>(req: &Req) -> Result<T, Reply> {
    if !req.is_json() {
        let ct = req.header("content-type").unwrap_or("application/octet-stream");
        return Err(oauth_error(
            415,
            "invalid_request",
            format!("The request entity's media type '{ct}' is not supported; send application/json"),
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| bad_request(format!("The request body is not valid: {e}")))
}

/// A GUID that is stable for a given name, so identities look real and survive restarts.
pub(crate) fn stable_guid(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{{{}-{}-{}-{}-{}}}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn random_token() -> String {
    STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

fn identity_for(config: &TppConfig, username: &str) -> String {
    config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(username))
        .and_then(|u| u.identity.clone())
        .unwrap_or_else(|| format!("local:{}", stable_guid(&format!("user:{username}"))))
}

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

/// The bearer token of a request. Only `Authorization: Bearer`: the legacy `X-Venafi-Api-Key`
/// belongs to the API-key login that TPP deprecated and the reference says not to use.
pub(crate) fn bearer(req: &Req) -> Option<&str> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().trim_matches('"')).filter(|t| !t.is_empty())
}

/// Who is calling, once the bearer token checked out.
struct Caller {
    username: String,
    scope: Scope,
}

fn authenticate(store: &Store, req: &Req, now_ms: i64) -> Result<Caller, Reply> {
    let Some(token) = bearer(req) else {
        return Err(invalid_token("The Authorization header did not include a bearer token"));
    };
    let Some(t) = store.tokens.iter().find(|t| t.token == token) else {
        return Err(invalid_token("The access token is not valid"));
    };
    let Some(grant) = store.grants.iter().find(|g| g.id == t.grant) else {
        return Err(invalid_token("The access token is not valid"));
    };
    if grant.revoked {
        return Err(invalid_token("The access token has been revoked"));
    }
    if now_ms >= t.expires_at_ms {
        return Err(invalid_token("The access token has expired"));
    }
    let scope = Scope::parse(&grant.scope).map_err(|_| invalid_token("The access token carries no usable scope"))?;
    Ok(Caller { username: grant.username.clone(), scope })
}

fn require_scope(caller: &Caller, name: &str, restriction: Option<&str>) -> Result<(), Reply> {
    if caller.scope.has(name, restriction) {
        return Ok(());
    }
    let wanted = match restriction {
        Some(r) => format!("{name}:{r}"),
        None => name.to_string(),
    };
    // 403 as TPP 20.4 and later answer; earlier releases used 401 for this.
    Err(oauth_error(
        403,
        "insufficient_scope",
        format!("The grant does not have the scope required for this call ({wanted})"),
    )
    .with_header(WWW_AUTHENTICATE, &format!("Bearer error=\"insufficient_scope\", scope=\"{wanted}\"")))
}

pub(crate) struct GrantRequest<'a> {
    pub username: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub lifetime_secs: i64,
    pub via: &'static str,
}

/// Issues a token in a new grant; shared by the oauth call and `SimHandle::issue_token`.
pub(crate) fn new_grant(
    store: &mut Store,
    config: &TppConfig,
    r: GrantRequest<'_>,
    now_ms: i64,
) -> (String, String, Grant) {
    let GrantRequest { username, client_id, scope, lifetime_secs, via } = r;
    store.next_grant += 1;
    let refresh = random_token();
    let grant = Grant {
        id: store.next_grant,
        username: username.to_string(),
        identity: identity_for(config, username),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        issued_at_ms: now_ms,
        refresh_token: Some(refresh.clone()),
        refresh_until_ms: now_ms.saturating_add(config.refresh_lifetime_secs.saturating_mul(1000)),
        revoked: false,
    };
    let access = random_token();
    store.tokens.push(AccessToken {
        token: access.clone(),
        grant: grant.id,
        issued_at_ms: now_ms,
        expires_at_ms: now_ms.saturating_add(lifetime_secs.saturating_mul(1000)),
        issued_via: via,
    });
    store.grants.push(grant.clone());
    (access, refresh, grant)
}

/// The `expire-token` fault: the token stops working a moment before the request is handled.
pub(crate) fn expire_bearer(store: &mut Store, req: &Req, now_ms: i64) {
    if let Some(token) = bearer(req) {
        for t in store.tokens.iter_mut().filter(|t| t.token == token) {
            t.expires_at_ms = t.expires_at_ms.min(now_ms - 1);
        }
    }
}

fn validate_hours(hours: Option<i64>, max: i64) -> Result<(), Reply> {
    match hours {
        Some(h) if h < 1 || h > max => {
            Err(bad_request(format!("Hours must be a whole number of hours between 1 and {max}; got {h}")))
        }
        _ => Ok(()),
    }
}

// ---- routing ----------------------------------------------------------------------------------

type Handler = fn(&Shared, &Req) -> Reply;

pub(crate) fn route(shared: &Shared, req: &Req) -> Reply {
    let endpoint: (&[Method], Handler) = match req.lpath.as_str() {
        "/vedauth/authorize/oauth" => (&[Method::POST], oauth),
        "/vedauth/authorize/token" => (&[Method::POST], refresh),
        "/vedauth/authorize/jwt" => (&[Method::POST], jwt),
        "/vedauth/authorize/verify" => (&[Method::GET], verify),
        "/vedauth/revoke/token" => (&[Method::GET], revoke),
        "/vedsdk/systemstatus/version" => (&[Method::GET], version),
        "/vedsdk/flow/actions/codesign/prequalify/create" => (&[Method::POST], prequalify),
        "/vedsdk/codesign/addpreapproval" => (&[Method::POST], add_preapproval),
        "/vedsdk/codesign/getenvironment" => (&[Method::POST], get_environment),
        _ => {
            return oauth_error(
                404,
                "not_found",
                format!("No HTTP resource was found that matches the request URI '{}'", req.path),
            )
        }
    };
    let (methods, handler) = endpoint;
    if !methods.contains(&req.method) {
        let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
        return oauth_error(
            405,
            "invalid_request",
            format!("The requested resource does not support http method '{}'", req.method),
        )
        .with_header(ALLOW, &allow.join(", "));
    }
    handler(shared, req)
}

fn oauth(shared: &Shared, req: &Req) -> Reply {
    let body: OAuthRequest = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let config = &shared.config.tpp;
    if let Err(r) = check_client_and_scope(config, &body.client_id, &body.scope) {
        return r;
    }
    let user_ok =
        config.users.iter().any(|u| u.username.eq_ignore_ascii_case(&body.username) && u.password == body.password);
    if !user_ok {
        return oauth_error(400, "invalid_grant", "Username/password combination not valid");
    }
    let canonical_user = config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(&body.username))
        .map_or(body.username.clone(), |u| u.username.clone());
    grant_reply(shared, &canonical_user, &body.client_id, &body.scope, "oauth")
}

/// The checks the password and JWT grants share, in TPP's order: client, then scope.
fn check_client_and_scope(config: &TppConfig, client_id: &str, scope: &str) -> Result<(), Reply> {
    let Some(client) = config.clients.iter().find(|c| c.client_id == client_id) else {
        return Err(oauth_error(400, "invalid_client", format!("Client ID '{client_id}' is not registered")));
    };
    let requested =
        Scope::parse(scope).map_err(|e| oauth_error(400, "invalid_scope", format!("Invalid scope: {e}")))?;
    // A client's scope is checked when the config is loaded; one that does not parse allows nothing.
    if !Scope::parse(&client.scope).is_ok_and(|allowed| allowed.allows(&requested)) {
        return Err(oauth_error(
            400,
            "invalid_scope",
            format!("The requested scope '{scope}' is not allowed for client '{client_id}'"),
        ));
    }
    Ok(())
}

/// A new grant and the answer the password and JWT grants both give.
fn grant_reply(shared: &Shared, username: &str, client_id: &str, scope: &str, via: &'static str) -> Reply {
    let config = &shared.config.tpp;
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    let (access, refresh, grant) = new_grant(
        &mut store,
        config,
        GrantRequest { username, client_id, scope: scope.trim(), lifetime_secs: config.token_lifetime_secs, via },
        now,
    );
    Reply::json(
        200,
        &TokenResponse {
            access_token: access,
            refresh_token: Some(refresh),
            expires: (now / 1000).saturating_add(config.token_lifetime_secs),
            refresh_until: grant.refresh_until_ms / 1000,
            identity: grant.identity,
            scope: grant.scope,
            token_type: "Bearer",
        },
    )
}

fn refresh(shared: &Shared, req: &Req) -> Reply {
    let body: RefreshRequest = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let config = &shared.config.tpp;
    if !config.clients.iter().any(|c| c.client_id == body.client_id) {
        return oauth_error(400, "invalid_client", format!("Client ID '{}' is not registered", body.client_id));
    }
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    let Some(grant) = store.grants.iter_mut().find(|g| {
        g.refresh_token.as_deref() == Some(body.refresh_token.as_str())
            && g.client_id == body.client_id
            && !g.revoked
            && now < g.refresh_until_ms
    }) else {
        return oauth_error(400, "invalid_grant", REFRESH_INVALID);
    };
    if config.rotate_refresh_tokens {
        grant.refresh_token = Some(random_token());
    }
    let grant = grant.clone();
    let access = random_token();
    store.tokens.push(AccessToken {
        token: access.clone(),
        grant: grant.id,
        issued_at_ms: now,
        expires_at_ms: now.saturating_add(config.token_lifetime_secs.saturating_mul(1000)),
        issued_via: "refresh",
    });
    Reply::json(
        200,
        &TokenResponse {
            access_token: access,
            refresh_token: grant.refresh_token.clone(),
            expires: (now / 1000).saturating_add(config.token_lifetime_secs),
            refresh_until: grant.refresh_until_ms / 1000,
            identity: grant.identity,
            scope: grant.scope,
            token_type: "Bearer",
        },
    )
}

/// Exchanges an external JWT for a grant of the user its JWT mapping names. Checks run in the
/// order body → client → scope → token (shape, algorithm, signature, times, iss, aud, sub);
/// every token failure is `invalid_grant` naming what did not match, never the token itself.
fn jwt(shared: &Shared, req: &Req) -> Reply {
    let body: JwtRequest = match parse_body(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.jwt.trim().is_empty() {
        return bad_request("The jwt field must not be empty");
    }
    let config = &shared.config.tpp;
    if let Err(r) = check_client_and_scope(config, &body.client_id, &body.scope) {
        return r;
    }
    let now_secs = shared.clock.now_ms().div_euclid(1000);
    let mapping = crate::jwt::verify(&shared.jwt_key, body.jwt.trim()).and_then(|claims| {
        crate::jwt::check_times(&claims, now_secs)?;
        crate::jwt::find_mapping(&config.jwt_mappings, &claims).cloned()
    });
    let mapping = match mapping {
        Ok(m) => m,
        Err(description) => return oauth_error(400, "invalid_grant", description),
    };
    let canonical_user = config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(&mapping.username))
        .map_or(mapping.username.clone(), |u| u.username.clone());
    grant_reply(shared, &canonical_user, &body.client_id, &body.scope, "jwt")
}

fn verify(shared: &Shared, req: &Req) -> Reply {
    let now = shared.clock.now_ms();
    let store = shared.lock();
    if let Err(r) = authenticate(&store, req, now) {
        return r;
    }
    let token = bearer(req).unwrap_or_default();
    let Some(t) = store.tokens.iter().find(|t| t.token == token) else {
        return invalid_token("The access token is not valid");
    };
    let Some(g) = store.grants.iter().find(|g| g.id == t.grant) else {
        return invalid_token("The access token is not valid");
    };
    Reply::json(
        200,
        &VerifyResponse {
            access_issued_on: dotnet_date(t.issued_at_ms),
            access_issued_on_iso8601: iso8601_utc(t.issued_at_ms / 1000),
            access_issued_on_unix_time: t.issued_at_ms / 1000,
            application: g.client_id.clone(),
            expires: dotnet_date(t.expires_at_ms),
            expires_iso8601: iso8601_utc(t.expires_at_ms / 1000),
            expires_unix_time: t.expires_at_ms / 1000,
            grant_issued_on: dotnet_date(g.issued_at_ms),
            grant_issued_on_iso8601: iso8601_utc(g.issued_at_ms / 1000),
            grant_issued_on_unix_time: g.issued_at_ms / 1000,
            identity: g.identity.clone(),
            scope: g.scope.clone(),
            valid_for: (t.expires_at_ms - now).max(0) / 1000,
        },
    )
}

/// Revokes the whole grant: every access token issued in it and its refresh token.
fn revoke(shared: &Shared, req: &Req) -> Reply {
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    if let Err(r) = authenticate(&store, req, now) {
        return r;
    }
    let token = bearer(req).unwrap_or_default();
    let grant_id = store.tokens.iter().find(|t| t.token == token).map(|t| t.grant);
    for g in store.grants.iter_mut().filter(|g| Some(g.id) == grant_id) {
        g.revoked = true;
        g.refresh_token = None;
    }
    Reply::empty(200)
}

/// Answered without a token: SDKs ask for it before authenticating to pick an auth method.
fn version(shared: &Shared, _req: &Req) -> Reply {
    Reply::json(200, &VersionResponse { version: shared.config.tpp.version.clone() })
}

fn find_environment<'a>(config: &'a TppConfig, dn: &str) -> Result<&'a crate::config::TppEnvironment, Reply> {
    config.environments.iter().find(|e| e.dn.eq_ignore_ascii_case(dn)).ok_or_else(|| {
        refusal(
            result_code::OBJECT_NOT_FOUND,
            format!("Environment '{dn}' does not exist or is not a code signing environment"),
        )
    })
}

/// The checks PreQualify/Create and AddPreApproval share, in the order TPP would meet them:
/// token, scope, body, environment, the caller's approver right, then the key user.
fn approver_checks(shared: &Shared, caller: &Caller, dn: &str, user: &str) -> Result<(), Reply> {
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
fn success() -> Reply {
    Reply::json(200, &serde_json::json!({ "Success": true }))
}

fn authenticated_approver(shared: &Shared, req: &Req) -> Result<Caller, Reply> {
    let now = shared.clock.now_ms();
    let caller = authenticate(&shared.lock(), req, now)?;
    require_scope(&caller, "codesign", Some("approve"))?;
    Ok(caller)
}

fn prequalify(shared: &Shared, req: &Req) -> Reply {
    match prequalify_inner(shared, req) {
        Ok(r) | Err(r) => r,
    }
}

fn prequalify_inner(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let caller = authenticated_approver(shared, req)?;
    let body: PreQualifyRequest = parse_body(req)?;
    // "The Base64 encoding of a hash, digest, or data": any length, so a DigestInfo or a SHA-1
    // digest too; only what is not Base64, or encodes nothing, is refused.
    if body.data.is_empty() || STANDARD.decode(body.data.as_bytes()).is_err() {
        return Err(bad_request("Data must be the Base64 encoding of a hash, digest, or data"));
    }
    validate_hours(body.hours, shared.config.tpp.max_hours)?;
    approver_checks(shared, &caller, &body.dn, &body.user)?;
    shared.lock().prequalifications.push(PreQualRecord {
        dn: body.dn,
        data: body.data,
        user: body.user,
        comment: body.comment,
        hours: body.hours,
        single_use: body.single_use,
        created_by: caller.username,
    });
    Ok(success())
}

fn add_preapproval(shared: &Shared, req: &Req) -> Reply {
    match add_preapproval_inner(shared, req) {
        Ok(r) | Err(r) => r,
    }
}

fn add_preapproval_inner(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let caller = authenticated_approver(shared, req)?;
    let body: AddPreApprovalRequest = parse_body(req)?;
    validate_hours(body.hours, shared.config.tpp.max_hours)?;
    if let Some(ip) = &body.ip_address {
        if ip.parse::<IpAddr>().is_err() {
            return Err(bad_request(format!("IPAddress '{ip}' is not an IPv4 or IPv6 address")));
        }
    }
    if let Some(nb) = &body.not_before {
        parse_not_before(nb).map_err(bad_request)?;
    }
    if body.signing_executable.as_deref().is_some_and(str::is_empty) {
        return Err(bad_request("SigningExecutable must not be empty when present"));
    }
    approver_checks(shared, &caller, &body.dn, &body.user)?;
    shared.lock().preapprovals.push(PreApprovalRecord {
        dn: body.dn,
        user: body.user,
        comment: body.comment,
        hours: body.hours,
        ip_address: body.ip_address,
        not_before: body.not_before,
        signing_executable: body.signing_executable,
        single_use: body.single_use,
        created_by: caller.username,
    });
    Ok(success())
}

/// The GUID an environment answers to in GetEnvironment, stable for its DN.
fn environment_guid(env: &crate::config::TppEnvironment) -> String {
    stable_guid(&format!("env:{}", env.dn.to_lowercase()))
}

/// The numeric object id an environment answers to, stable for its DN (TPP ids are positive).
fn environment_id(env: &crate::config::TppEnvironment) -> i64 {
    let h = Sha256::digest(format!("env-id:{}", env.dn.to_lowercase()).as_bytes());
    i64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]) & 0x00ff_ffff) + 1
}

/// Any `codesign` grant may look an environment up; only creating things needs `approve`.
fn get_environment(shared: &Shared, req: &Req) -> Reply {
    let inner = || -> Result<Reply, Reply> {
        let now = shared.clock.now_ms();
        let caller = authenticate(&shared.lock(), req, now)?;
        require_scope(&caller, "codesign", None)?;
        let body: GetEnvironmentRequest = parse_body(req)?;
        let config = &shared.config.tpp;
        let env = match (&body.dn, &body.guid, body.id) {
            (Some(dn), _, _) => find_environment(config, dn)?,
            (None, Some(guid), _) => {
                let bare = |g: &str| g.trim().trim_matches(|c| c == '{' || c == '}').to_ascii_lowercase();
                config.environments.iter().find(|e| bare(&environment_guid(e)) == bare(guid)).ok_or_else(|| {
                    refusal(result_code::OBJECT_NOT_FOUND, format!("No code signing environment has the GUID '{guid}'"))
                })?
            }
            (None, None, Some(id)) => {
                config.environments.iter().find(|e| environment_id(e) == id).ok_or_else(|| {
                    refusal(result_code::OBJECT_NOT_FOUND, format!("No code signing environment has the Id {id}"))
                })?
            }
            (None, None, None) => return Err(bad_request("Specify the environment by Dn, Guid or Id")),
        };
        let name = env.dn.rsplit('\\').next().unwrap_or_default().to_string();
        Ok(Reply::json(
            200,
            &GetEnvironmentResponse {
                environment: Some(EnvironmentInfo {
                    dn: env.dn.clone(),
                    guid: environment_guid(env),
                    id: environment_id(env),
                    name,
                }),
                success: true,
                result: result_code::SUCCESS,
                error: None,
            },
        ))
    };
    match inner() {
        Ok(r) | Err(r) => r,
    }
}

/// Body for a `status` fault on a TPP path: the OAuth-style error TPP uses for HTTP errors.
pub(crate) fn fault_reply(code: u16) -> Reply {
    let error = match code {
        400 => "invalid_request",
        401 => "invalid_token",
        403 => "insufficient_scope",
        404 => "not_found",
        _ => "server_error",
    };
    oauth_error(code, error, format!("Simulated fault: HTTP {code}"))
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

    #[test]
    fn stable_guid_is_stable_and_shaped() {
        let g = stable_guid("x");
        assert_eq!(g, stable_guid("x"));
        assert_eq!(g.len(), 38);
        assert!(g.starts_with('{') && g.ends_with('}'));
    }
}
