//! The job's OIDC token, as GitHub's runner hands it out to jobs granted `id-token: write`:
//! `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…` with the request token as bearer, answering
//! `{"value": "<jwt>"}`.

use reqwest::{Method, Url};

use crate::http::{field_names, Call, Http};
use crate::secret::Secret;

/// Where the runner hands out the job's OIDC token, and what to ask TPP for with it.
#[derive(Debug, Clone)]
pub struct OidcAuth {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`, held to the https rule as the request token travels to it.
    pub request_url: Url,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, a secret of the job's own.
    pub request_token: Secret,
    /// The `aud` the TPP JWT mapping expects, so a token minted for another service is refused.
    pub audience: String,
    /// The TPP API Integration the JWT mapping belongs to.
    pub client_id: String,
    /// The narrowest scope that does the job, codesign:approve unless set.
    pub scope: String,
}

#[derive(serde::Deserialize)]
struct IdTokenResponse {
    value: Option<String>,
}

/// Asks the runner for the job's OIDC token, minted for `oidc.audience`.
pub async fn id_token(http: &Http, oidc: &OidcAuth) -> Result<Secret, String> {
    let mut url = oidc.request_url.clone();
    url.query_pairs_mut().append_pair("audience", &oidc.audience);
    let call = Call::new("github", "oidc-token", Method::GET, url).bearer(&oidc.request_token);
    let reply = http.send(&call).await.map_err(|e| e.to_string())?;
    parse_id_token(reply.status, &reply.body)
}

/// Reads the runner's answer: `{"value": "<jwt>"}` (other fields, such as `count`, are ignored).
pub fn parse_id_token(status: u16, body: &[u8]) -> Result<Secret, String> {
    if status != 200 {
        return Err(format!("oidc-token: the runner answered HTTP {status} ({})", field_names(body)));
    }
    match serde_json::from_slice::<IdTokenResponse>(body) {
        Ok(IdTokenResponse { value: Some(jwt) }) if jwt.split('.').count() == 3 => Ok(Secret::new(jwt)),
        _ => Err(format!("oidc-token: the runner's answer holds no token ({})", field_names(body))),
    }
}
