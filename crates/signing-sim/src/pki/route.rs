//! `GET /__sim/certificates` and `GET /__sim/ca.pem` (simulator facilities, not vendor APIs): the
//! certificates a verifier of the signatures needs.

use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::Method;
use serde::Serialize;

use crate::http::{Reply, Req};

use super::inventory::Pki;

#[derive(Serialize)]
struct AllKeys<'a> {
    ca: &'a str,
    keys: Vec<KeyChain<'a>>,
}

#[derive(Serialize)]
struct KeyChain<'a> {
    name: &'a str,
    algorithm: &'static str,
    chain: &'a str,
}

fn sim_error(status: u16, error: &str, description: &str) -> Reply {
    Reply::json(status, &serde_json::json!({ "error": error, "error_description": description }))
}

fn get_only(req: &Req) -> Option<Reply> {
    (req.method != Method::GET).then(|| sim_error(405, "invalid_request", "GET only").with_header(ALLOW, "GET"))
}

fn pem(text: &str) -> Reply {
    let mut reply = Reply::text(200, text.to_string());
    reply.headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"))];
    reply
}

/// `?key=<name>`: that key's chain as PEM, leaf first, then the CA (404 naming the keys there
/// are for an unknown one). Without `key`: `{"ca": PEM, "keys": [{"name","algorithm","chain"}]}`
/// for every key, in config order.
pub(crate) fn certificates(pki: &Pki, req: &Req) -> Reply {
    if let Some(refused) = get_only(req) {
        return refused;
    }
    let Some(name) = req.query_param("key") else {
        let keys = pki
            .keys()
            .iter()
            .map(|k| KeyChain { name: &k.name, algorithm: k.algorithm.name(), chain: &k.chain_pem })
            .collect();
        return Reply::json(200, &AllKeys { ca: pki.ca_pem(), keys });
    };
    if let Some(k) = pki.key(name) {
        return pem(&k.chain_pem);
    }
    let names: Vec<&str> = pki.keys().iter().map(|k| k.name.as_str()).collect();
    sim_error(404, "not_found", &format!("no signing key {name:?}; the keys are: {}", names.join(", ")))
}

/// The CA certificate alone, PEM.
pub(crate) fn ca(pki: &Pki, req: &Req) -> Reply {
    get_only(req).unwrap_or_else(|| pem(pki.ca_pem()))
}
