//! The TPP token a run works with: the caller's, or one the gate obtained (and so owes a
//! revocation), renewed once when TPP rejects it mid-run.

use super::renew::Renewable;
use crate::config::{OidcAuth, TppAuth};
use crate::progress::Progress;
use crate::secret::Secret;
use crate::venafi::{Grant, Tpp, TppError};

/// How the gate gets a token of its own, which it then owes a revocation: the password grant
/// or the OIDC exchange. A token given in `tpp-access-token` has no grantor: it is the caller's.
#[derive(Clone, Copy)]
pub(super) enum Grantor<'a> {
    Password { client_id: &'a str, username: &'a str, password: &'a Secret, scope: &'a str },
    Oidc(&'a OidcAuth),
}

impl<'a> Grantor<'a> {
    /// The grantor behind `auth`, or the token the caller gave.
    pub(super) fn of(auth: &'a TppAuth) -> Result<Self, &'a Secret> {
        match auth {
            TppAuth::Token(given) => Err(given),
            TppAuth::Password { username, password, client_id, scope } => {
                Ok(Grantor::Password { client_id, username, password, scope })
            }
            TppAuth::Oidc(oidc) => Ok(Grantor::Oidc(oidc)),
        }
    }
}

/// A new token; everything the grant yields is masked before anything else is printed.
pub(super) async fn obtain(client: &impl Tpp, grantor: Grantor<'_>, log: &dyn Progress) -> Result<Grant, TppError> {
    let grant = match grantor {
        Grantor::Password { client_id, username, password, scope } => {
            client.authorize(client_id, username, password, scope).await?
        }
        Grantor::Oidc(oidc) => client.authorize_oidc(oidc).await?,
    };
    for secret in
        [Some(&grant.access_token), grant.refresh_token.as_ref(), grant.presented.as_ref()].into_iter().flatten()
    {
        log.mask(secret);
    }
    Ok(grant)
}

/// The bearer token in use. A token TPP rejects mid-run (expired, revoked elsewhere) is
/// replaced once by a fresh grant when the gate holds credentials; a token the caller gave is
/// the caller's, and its rejection is final.
pub(super) struct Tokens<'a, C> {
    pub(super) client: &'a C,
    /// `None` for a token the caller gave: its rejection is final.
    pub(super) grantor: Option<Grantor<'a>>,
    pub(super) log: &'a dyn Progress,
    pub(super) current: Renewable,
    /// Every token obtained, each owed a revocation.
    pub(super) obtained: std::sync::Mutex<Vec<Secret>>,
}

impl<C: Tpp> Tokens<'_, C> {
    pub(super) async fn call<T, F, Fut>(&self, f: F) -> Result<T, TppError>
    where
        F: Fn(Secret) -> Fut,
        Fut: std::future::Future<Output = Result<T, TppError>>,
    {
        let renew = || {
            let grantor = self.grantor?;
            Some(async move {
                let grant = obtain(self.client, grantor, self.log).await?;
                self.log.info("TPP rejected the token mid-run; authenticated again");
                if let Ok(mut obtained) = self.obtained.lock() {
                    obtained.push(grant.access_token.clone());
                }
                Ok(grant.access_token)
            })
        };
        self.current.call(f, |e| matches!(e, TppError::InvalidToken(_)), renew).await
    }
}
