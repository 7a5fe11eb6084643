//! AppViewX SIGN+ hash signing behind the AppViewX gateway (`/avxapi/<endpoint>?gwsource=...`).
//!
//! This file routes and makes the gateway's checks (`gwsource`, `gwkey`); `login` holds the login
//! and the sessions, `signing` the signing calls, `signature` the signatures they answer (real
//! ones, by the signing key's private key), and `envelope` the answer every call wears.
//! Sign requests finish lazily: their state is computed from the clock whenever someone asks, so
//! no background task has to run and advancing the simulator's clock finishes them at once.

mod envelope;
mod login;
mod signature;
mod signing;

use hyper::header::ALLOW;
use hyper::Method;

use crate::avx_codes::{app_code, message};
use crate::fault::SignatureFault;
use crate::http::{Reply, Req};
use crate::shared::Shared;

use envelope::fail;
pub(crate) use envelope::{app_status_reply, fault_reply};
pub(crate) use login::expire_session;
pub use signature::signed_script;
pub(crate) use signing::{encoded_hash_data_of, expected_signature};

/// A handler answers `Ok` or `Err` with a reply either way, so it can stop at the first failed
/// check with `?`. The signing calls also take the signature fault that hit the request.
type Handler = fn(&Shared, &Req, Option<SignatureFault>) -> Result<Reply, Reply>;

fn login_route(shared: &Shared, req: &Req, _: Option<SignatureFault>) -> Result<Reply, Reply> {
    login::login(shared, req)
}

/// AppViewX sits behind a Java gateway, so unlike TPP its paths are matched exactly. Routing
/// comes first (404, 405), then `gwsource`, then `gwkey`, then the endpoint's own checks.
pub(crate) fn route(shared: &Shared, req: &Req, fault: Option<SignatureFault>) -> Reply {
    let (method, handler): (Method, Handler) = match req.path.as_str() {
        "/avxapi/login" => (Method::POST, login_route),
        "/avxapi/code-signing-generate-hash" => (Method::POST, signing::generate_hash),
        "/avxapi/code-signing-fetch-status-sync-requests" => (Method::GET, signing::fetch_status),
        "/avxapi/code-signing-download-signed-file" => (Method::POST, signing::download),
        _ => return fail(404, app_code::NOT_FOUND, format!("No route for {}", req.path)),
    };
    if req.method != method {
        return fail(405, app_code::METHOD_NOT_ALLOWED, format!("Request method '{}' not supported", req.method))
            .with_header(ALLOW, method.as_str());
    }
    if is_blank(req.query_param("gwsource")) {
        return fail(400, app_code::GWSOURCE_MISSING, message::GWSOURCE_MISSING);
    }
    if let Some(expected) = &shared.config.appviewx.gwkey {
        match req.query_param("gwkey") {
            k if is_blank(k) => return fail(400, app_code::GWKEY_MISSING, message::GWKEY_MISSING),
            Some(k) if k == expected => {}
            _ => return fail(401, app_code::GWKEY_INVALID, message::GWKEY_INVALID),
        }
    }
    handler(shared, req, fault).unwrap_or_else(|refused| refused)
}

/// A query parameter that is absent, empty or only spaces counts as not given.
fn is_blank(value: Option<&str>) -> bool {
    value.is_none_or(|s| s.trim().is_empty())
}
