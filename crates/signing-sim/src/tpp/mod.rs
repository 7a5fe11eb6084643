//! Venafi TPP: VEDAuth bearer tokens and the CodeSign Protect WebSDK calls the gate makes.
//!
//! Wire types are written from the vendor documents alone; field names are case-sensitive, as
//! TPP documents ("All parameter names are case sensitive"). This file only routes: `auth` holds
//! the VEDAuth calls, `flow` PreQualify/Create, `codesign` the `Codesign/*` calls and the version,
//! `approver` the checks the two creating calls share, and `common` the error shapes and the
//! bearer-token check every call uses.

mod approver;
mod auth;
mod codesign;
mod common;
mod flow;

use hyper::header::ALLOW;
use hyper::Method;

use crate::http::{Reply, Req};
use crate::shared::Shared;

pub(crate) use auth::{expire_bearer, new_grant, GrantRequest};
pub(crate) use common::fault_reply;
use common::oauth_error;
pub use common::result_code;

/// A handler answers `Ok` or `Err` with a reply either way, so it can stop at the first failed
/// check with `?`.
type Handler = fn(&Shared, &Req) -> Result<Reply, Reply>;

/// Paths are matched as IIS matches them: without case, trailing slashes ignored (`Req::lpath`).
pub(crate) fn route(shared: &Shared, req: &Req) -> Reply {
    let (method, handler): (Method, Handler) = match req.lpath.as_str() {
        "/vedauth/authorize/oauth" => (Method::POST, auth::oauth),
        "/vedauth/authorize/token" => (Method::POST, auth::refresh),
        "/vedauth/authorize/jwt" => (Method::POST, auth::jwt),
        "/vedauth/authorize/verify" => (Method::GET, auth::verify),
        "/vedauth/revoke/token" => (Method::GET, auth::revoke),
        "/vedsdk/systemstatus/version" => (Method::GET, codesign::version),
        "/vedsdk/flow/actions/codesign/prequalify/create" => (Method::POST, flow::prequalify),
        "/vedsdk/codesign/addpreapproval" => (Method::POST, codesign::add_preapproval),
        "/vedsdk/codesign/getenvironment" => (Method::POST, codesign::get_environment),
        _ => {
            return oauth_error(
                404,
                "not_found",
                format!("No HTTP resource was found that matches the request URI '{}'", req.path),
            )
        }
    };
    if req.method != method {
        return oauth_error(
            405,
            "invalid_request",
            format!("The requested resource does not support http method '{}'", req.method),
        )
        .with_header(ALLOW, method.as_str());
    }
    handler(shared, req).unwrap_or_else(|refused| refused)
}
