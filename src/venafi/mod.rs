//! Venafi TPP CodeSign Protect: pre-qualify digests, pre-approve the runner, revoke the token.

pub mod auth;
mod error;
pub mod model;

use std::future::Future;

use reqwest::{Method, Url};

use crate::http::Http;
use crate::http::{field_names, Call, Repeat};
use crate::oidc::OidcAuth;
use crate::secret::Secret;
pub use auth::Grant;
use error::auth_error_text;
pub use error::TppError;
use model::{
    AddPreApprovalRequest, AuthError, GetEnvironmentRequest, JwtRequest, OAuthRequest, PreQualifyRequest, SignResult,
};

/// What the pipeline needs from TPP. The concrete client speaks REST; the seam keeps the
/// orchestration readable and lets it be driven by anything that answers like TPP.
pub trait Tpp: Sync {
    /// The password grant; a refusal is not retried, as TPP counts failed logons.
    fn authorize(
        &self,
        client_id: &str,
        username: &str,
        password: &Secret,
        scope: &str,
    ) -> impl Future<Output = Result<Grant, TppError>> + Send;
    /// Pre-qualifies one digest; `artifact` ties the call to it in the audit record.
    fn prequalify(
        &self,
        token: &Secret,
        body: &PreQualifyRequest,
        artifact: &str,
    ) -> impl Future<Output = Result<Accepted, TppError>> + Send;
    /// Pre-approves the key user; no call can list or revoke it afterwards. `artifact` ties a
    /// pre-approval made for one signing to it in the audit record.
    fn add_preapproval(
        &self,
        token: &Secret,
        body: &AddPreApprovalRequest,
        artifact: Option<&str>,
    ) -> impl Future<Output = Result<Accepted, TppError>> + Send;
    /// Keyless: the job's OIDC token from the runner, exchanged at `/vedauth/authorize/jwt`.
    fn authorize_oidc(&self, oidc: &OidcAuth) -> impl Future<Output = Result<Grant, TppError>> + Send;
    /// Whether the environment exists (`Codesign/GetEnvironment`): a cheap pre-flight that
    /// turns the commonest misconfiguration into one clear error before anything is created.
    fn get_environment(&self, token: &Secret, dn: &str) -> impl Future<Output = Result<(), TppError>> + Send;
    /// Revokes the grant behind `token`, refresh token included; goes out even after a cancellation.
    fn revoke(&self, token: &Secret) -> impl Future<Output = Result<Revoked, TppError>> + Send;
}

/// A Codesign/* or PreQualify/Create call that TPP accepted (`Success: true`), with the Result
/// code when the answer carried one, for the audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// TPP's `Result`; `None` in the documented success, `{"Success": true}`.
    pub result: Option<i64>,
}

/// How a revocation ended well: TPP revoked the grant (200), or the token was already dead
/// (401 `invalid_token`: expired, or revoked elsewhere). Either way it cannot be used any more,
/// but only the first is proof that the gate revoked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revoked {
    /// TPP revoked the grant (200).
    Revoked,
    /// 401 `invalid_token`: the token was already dead.
    AlreadyInvalid,
}

/// Speaks TPP's REST API. Every path is set from the root of `base`, so a pasted `/vedsdk`
/// suffix does no harm.
pub struct TppClient {
    http: Http,
    base: Url,
    /// Each path's URL, made once: a run calls the same few paths once per artifact.
    urls: std::sync::Mutex<Vec<(String, Url)>>,
}

impl TppClient {
    /// Only the scheme, host and port of `base` count.
    pub fn new(http: Http, base: Url) -> Self {
        TppClient { http, base, urls: std::sync::Mutex::default() }
    }

    fn url(&self, path: &str) -> Url {
        let mut urls = self.urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, url)) = urls.iter().find(|(p, _)| p == path) {
            return url.clone();
        }
        let mut url = self.base.clone();
        url.set_path(path);
        urls.push((path.to_string(), url.clone()));
        url
    }

    /// Codesign/* calls answer HTTP 200 even when they refuse; only `Success` says which.
    async fn sign_call(
        &self,
        endpoint: &'static str,
        path: &str,
        token: &Secret,
        body: &impl serde::Serialize,
        artifact: Option<&str>,
    ) -> Result<Accepted, TppError> {
        let mut call = Call::new("tpp", endpoint, Method::POST, self.url(path)).bearer(token).json(body);
        if let Some(a) = artifact {
            call = call.artifact(a);
        }
        call.repeat = match endpoint {
            // A read, though TPP takes it as a POST: safe to send again.
            "Codesign/GetEnvironment" => Repeat::Safe,
            // The same digest pre-qualified twice allows nothing new.
            "Flow/Actions/CodeSign/PreQualify/Create" => Repeat::Idempotent,
            // A second pre-approval would be a second standing permission to sign.
            _ => Repeat::Once,
        };
        let reply = self.http.send(&call).await?;
        parse_sign_result(endpoint, reply.status, &reply.body)
    }
}

/// Reads the answer of a Codesign/* call or PreQualify/Create. They answer HTTP 200 even when
/// they refuse: `Success` alone is the verdict (the documented success is `{"Success": true}`
/// without a `Result`); `Result` and `Error` explain a refusal and are reported when present.
pub fn parse_sign_result(endpoint: &'static str, status: u16, body: &[u8]) -> Result<Accepted, TppError> {
    match status {
        200 => {
            let r: SignResult = serde_json::from_slice(body).map_err(|_| TppError::Unexpected {
                endpoint,
                detail: format!("HTTP 200 without a boolean Success ({})", field_names(body)),
            })?;
            if r.success {
                Ok(Accepted { result: r.result })
            } else {
                Err(TppError::Refused { endpoint, code: r.result, error: r.error })
            }
        }
        400 => Err(TppError::BadRequest { endpoint, detail: auth_error_text(body) }),
        401 => Err(TppError::InvalidToken(auth_error_text(body))),
        403 => Err(TppError::Forbidden { endpoint, detail: auth_error_text(body) }),
        status => Err(TppError::Unexpected { endpoint, detail: format!("HTTP {status} ({})", field_names(body)) }),
    }
}

/// Reads the answer of `GET /vedauth/revoke/token`: 200 revoked it; 401 `invalid_token` means
/// it was already dead; anything else (a 403 for a missing scope, a 5xx) leaves it alive.
pub fn parse_revoke(status: u16, body: &[u8]) -> Result<Revoked, TppError> {
    const ENDPOINT: &str = "revoke/token";
    match status {
        200 => Ok(Revoked::Revoked),
        401 => match serde_json::from_slice::<AuthError>(body) {
            Ok(e) if e.error == "invalid_token" => Ok(Revoked::AlreadyInvalid),
            _ => Err(TppError::Unexpected {
                endpoint: ENDPOINT,
                detail: format!("HTTP 401 without invalid_token ({})", field_names(body)),
            }),
        },
        status => Err(TppError::Unexpected {
            endpoint: ENDPOINT,
            detail: format!("HTTP {status} ({}); the token may still be valid", auth_error_text(body)),
        }),
    }
}

impl Tpp for TppClient {
    async fn authorize(
        &self,
        client_id: &str,
        username: &str,
        password: &Secret,
        scope: &str,
    ) -> Result<Grant, TppError> {
        // A refused grant is not retried (`Repeat::Once`): TPP counts failed logons.
        let body = OAuthRequest { client_id, username, password: password.expose(), scope };
        let call = Call::new("tpp", "authorize/oauth", Method::POST, self.url("vedauth/authorize/oauth"))
            .json(&body)
            .secret_field("password");
        let reply = self.http.send(&call).await?;
        auth::parse_grant("authorize/oauth", reply.status, &reply.body)
    }

    async fn prequalify(&self, token: &Secret, body: &PreQualifyRequest, artifact: &str) -> Result<Accepted, TppError> {
        self.sign_call(
            "Flow/Actions/CodeSign/PreQualify/Create",
            "vedsdk/Flow/Actions/CodeSign/PreQualify/Create",
            token,
            body,
            Some(artifact),
        )
        .await
    }

    async fn add_preapproval(
        &self,
        token: &Secret,
        body: &AddPreApprovalRequest,
        artifact: Option<&str>,
    ) -> Result<Accepted, TppError> {
        self.sign_call("Codesign/AddPreApproval", "vedsdk/Codesign/AddPreApproval", token, body, artifact).await
    }

    async fn authorize_oidc(&self, oidc: &OidcAuth) -> Result<Grant, TppError> {
        let jwt = crate::oidc::id_token(&self.http, oidc).await.map_err(TppError::Oidc)?;
        let body = JwtRequest { client_id: &oidc.client_id, jwt: jwt.expose(), scope: &oidc.scope };
        let call = Call::new("tpp", "authorize/jwt", Method::POST, self.url("vedauth/authorize/jwt"))
            .json(&body)
            .secret_field("jwt");
        let reply = self.http.send(&call).await?;
        let mut grant = auth::parse_grant("authorize/jwt", reply.status, &reply.body).map_err(|e| match e {
            TppError::GrantRefused(why) => {
                TppError::GrantRefused(format!("{why}; check the JWT mapping for audience `{}` in TPP", oidc.audience))
            }
            other => other,
        })?;
        grant.presented = Some(jwt);
        Ok(grant)
    }

    async fn get_environment(&self, token: &Secret, dn: &str) -> Result<(), TppError> {
        let body = GetEnvironmentRequest { dn: dn.to_string() };
        self.sign_call("Codesign/GetEnvironment", "vedsdk/Codesign/GetEnvironment", token, &body, None).await?;
        Ok(())
    }

    /// Revokes the grant behind `token`, refresh token included. It still goes out after a
    /// cancellation.
    async fn revoke(&self, token: &Secret) -> Result<Revoked, TppError> {
        // The document lists Content-Type among the call's headers, GET as it is.
        let call = Call::new("tpp", "revoke/token", Method::GET, self.url("vedauth/revoke/token"))
            .bearer(token)
            .header("content-type", "application/json")
            .cleanup();
        let reply = self.http.send(&call).await?;
        parse_revoke(reply.status, &reply.body)
    }
}
