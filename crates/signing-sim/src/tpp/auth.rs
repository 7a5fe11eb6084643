//! VEDAuth: the password, refresh and JWT grants, token verification and revocation, and the
//! grants and tokens they keep in the store.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::config::TppConfig;
use crate::http::{Reply, Req};
use crate::scope::Scope;
use crate::shared::Shared;
use crate::state::{AccessToken, Grant, Store};
use crate::timefmt::{dotnet_date, iso8601_utc};

use super::common::{authenticate, bad_request, bearer, live_token, oauth_error, parse_body, stable_guid};

const REFRESH_INVALID: &str = "Grant has been revoked, has expired, or the refresh token is invalid";

/// The password grant's body.
#[derive(Debug, Deserialize)]
struct OAuthRequest {
    client_id: String,
    username: String,
    password: String,
    scope: String,
    // `state` is accepted like any unknown field and not echoed: the documented answer has none.
}

/// The refresh grant's body.
#[derive(Debug, Deserialize)]
struct RefreshRequest {
    client_id: String,
    refresh_token: String,
}

/// The JWT grant's body.
#[derive(Debug, Deserialize)]
struct JwtRequest {
    client_id: String,
    jwt: String,
    scope: String,
}

/// What every grant answers: the reference's fields, in its order.
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
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

/// Base64 of 16 random bytes, so it ends in `==` like TPP's (pyVenafi sends a token as a bearer
/// token only when it does).
fn random_token() -> String {
    STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// The configured identity of a user, else `local:{guid}` derived from the name.
fn identity_for(config: &TppConfig, username: &str) -> String {
    config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(username))
        .and_then(|u| u.identity.clone())
        .unwrap_or_else(|| format!("local:{}", stable_guid(&format!("user:{username}"))))
}

/// The user's name as `tpp.users` spells it, since TPP matches usernames without case.
fn canonical_user(config: &TppConfig, username: &str) -> String {
    config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(username))
        .map_or_else(|| username.to_string(), |u| u.username.clone())
}

/// Who a new grant is for and how its first access token came about.
pub(crate) struct GrantRequest<'a> {
    pub username: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub lifetime_secs: i64,
    /// `oauth`, `jwt` or `issued`, as the snapshot reports it.
    pub via: &'static str,
}

/// Issues an access token in a new grant, for the password and JWT grants and for
/// `SimHandle::issue_token`; returns the token and the grant (its refresh token included).
pub(crate) fn new_grant(store: &mut Store, config: &TppConfig, r: &GrantRequest<'_>, now_ms: i64) -> (String, Grant) {
    let &GrantRequest { username, client_id, scope, lifetime_secs, via } = r;
    store.next_grant += 1;
    let grant = Grant {
        id: store.next_grant,
        username: username.to_string(),
        identity: identity_for(config, username),
        client_id: client_id.to_string(),
        scope: scope.to_string(),
        issued_at_ms: now_ms,
        refresh_token: Some(random_token()),
        refresh_until_ms: now_ms.saturating_add(config.refresh_lifetime_secs.saturating_mul(1000)),
        revoked: false,
    };
    let access = issue_access_token(store, grant.id, now_ms, lifetime_secs, via);
    store.grants.push(grant.clone());
    (access, grant)
}

/// Adds an access token to a grant.
fn issue_access_token(store: &mut Store, grant: u64, now_ms: i64, lifetime_secs: i64, via: &'static str) -> String {
    let token = random_token();
    store.tokens.push(AccessToken {
        token: token.clone(),
        grant,
        issued_at_ms: now_ms,
        expires_at_ms: now_ms.saturating_add(lifetime_secs.saturating_mul(1000)),
        issued_via: via,
    });
    token
}

/// The answer of every grant, for a token issued at `now_ms` in `grant`.
fn token_reply(config: &TppConfig, access_token: String, refresh_token: String, grant: Grant, now_ms: i64) -> Reply {
    Reply::json(
        200,
        &TokenResponse {
            access_token,
            refresh_token,
            expires: (now_ms / 1000).saturating_add(config.token_lifetime_secs),
            refresh_until: grant.refresh_until_ms / 1000,
            identity: grant.identity,
            scope: grant.scope,
            token_type: "Bearer",
        },
    )
}

/// The `expire-token` fault: the token stops working a moment before the request is handled.
pub(crate) fn expire_bearer(store: &mut Store, req: &Req, now_ms: i64) {
    if let Some(token) = bearer(req) {
        for t in store.tokens.iter_mut().filter(|t| t.token == token) {
            t.expires_at_ms = t.expires_at_ms.min(now_ms - 1);
        }
    }
}

/// `POST /vedauth/authorize/oauth`: the password grant. Checks run body → client → scope →
/// credentials.
pub(super) fn oauth(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let body: OAuthRequest = parse_body(req)?;
    let config = &shared.config.tpp;
    check_client_and_scope(config, &body.client_id, &body.scope)?;
    let user_ok =
        config.users.iter().any(|u| u.username.eq_ignore_ascii_case(&body.username) && u.password == body.password);
    if !user_ok {
        return Err(oauth_error(400, "invalid_grant", "Username/password combination not valid"));
    }
    Ok(grant_reply(shared, &canonical_user(config, &body.username), &body.client_id, &body.scope, "oauth"))
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
    let (access, grant) = new_grant(
        &mut store,
        config,
        &GrantRequest { username, client_id, scope: scope.trim(), lifetime_secs: config.token_lifetime_secs, via },
        now,
    );
    let refresh = grant.refresh_token.clone().unwrap_or_default();
    token_reply(config, access, refresh, grant, now)
}

/// `POST /vedauth/authorize/token`: a new access token in the same grant, for a live refresh token
/// of the same client; the refresh token rotates unless `rotate_refresh_tokens` is off.
pub(super) fn refresh(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let body: RefreshRequest = parse_body(req)?;
    let config = &shared.config.tpp;
    if !config.clients.iter().any(|c| c.client_id == body.client_id) {
        return Err(oauth_error(400, "invalid_client", format!("Client ID '{}' is not registered", body.client_id)));
    }
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    let Some(grant) = store.grants.iter_mut().find(|g| {
        g.refresh_token.as_deref() == Some(body.refresh_token.as_str())
            && g.client_id == body.client_id
            && !g.revoked
            && now < g.refresh_until_ms
    }) else {
        return Err(oauth_error(400, "invalid_grant", REFRESH_INVALID));
    };
    let refresh = if config.rotate_refresh_tokens { random_token() } else { body.refresh_token };
    grant.refresh_token = Some(refresh.clone());
    let grant = grant.clone();
    let access = issue_access_token(&mut store, grant.id, now, config.token_lifetime_secs, "refresh");
    Ok(token_reply(config, access, refresh, grant, now))
}

/// `POST /vedauth/authorize/jwt`: exchanges an external JWT for a grant of the user its JWT
/// mapping names. Checks run in the order body → client → scope → token (shape, algorithm,
/// signature, times, iss, aud, sub); every token failure is `invalid_grant` naming what did not
/// match, never the token itself.
pub(super) fn jwt(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let body: JwtRequest = parse_body(req)?;
    if body.jwt.trim().is_empty() {
        return Err(bad_request("The jwt field must not be empty"));
    }
    let config = &shared.config.tpp;
    check_client_and_scope(config, &body.client_id, &body.scope)?;
    let now_secs = shared.clock.now_ms().div_euclid(1000);
    let mapping = crate::jwt::verify(&shared.jwt_key, body.jwt.trim())
        .and_then(|claims| {
            crate::jwt::check_times(&claims, now_secs)?;
            crate::jwt::find_mapping(&config.jwt_mappings, &claims).cloned()
        })
        .map_err(|description| oauth_error(400, "invalid_grant", description))?;
    Ok(grant_reply(shared, &canonical_user(config, &mapping.username), &body.client_id, &body.scope, "jwt"))
}

/// `GET /vedauth/authorize/verify`: what the store knows about the caller's token and grant.
pub(super) fn verify(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let now = shared.clock.now_ms();
    let store = shared.lock();
    authenticate(&store, req, now)?;
    let (t, g) = live_token(&store, req, now)?;
    Ok(Reply::json(
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
    ))
}

/// `GET /vedauth/revoke/token`: revokes the whole grant, every access token issued in it and its
/// refresh token.
pub(super) fn revoke(shared: &Shared, req: &Req) -> Result<Reply, Reply> {
    let now = shared.clock.now_ms();
    let mut store = shared.lock();
    authenticate(&store, req, now)?;
    let grant_id = live_token(&store, req, now)?.1.id;
    for g in store.grants.iter_mut().filter(|g| g.id == grant_id) {
        g.revoked = true;
        g.refresh_token = None;
    }
    Ok(Reply::empty(200))
}
