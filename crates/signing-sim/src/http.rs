//! The request/response types handlers work with, independent of hyper, so vendor logic stays
//! synchronous, testable and free of transport concerns.

use std::net::SocketAddr;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Method, StatusCode};
use serde::Serialize;

/// A fully read request.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: Method,
    /// As received, without the query.
    pub path: String,
    /// Lower-cased with trailing slashes removed, for IIS-style matching.
    pub lpath: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
}

impl Req {
    pub fn new(
        method: Method,
        path: &str,
        raw_query: Option<&str>,
        headers: HeaderMap,
        body: Bytes,
        peer: SocketAddr,
    ) -> Req {
        let mut lpath = path.to_lowercase();
        while lpath.len() > 1 && lpath.ends_with('/') {
            lpath.pop();
        }
        let query = raw_query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        Req { method, path: path.to_string(), lpath, query, headers, body, peer }
    }

    /// A header's value; header names are case-insensitive in HTTP, so `sessionId` and
    /// `sessionid` are the same header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the body was declared as JSON; both vendors bind request bodies by media type.
    pub fn is_json(&self) -> bool {
        self.header(CONTENT_TYPE.as_str())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|mt| mt.trim().eq_ignore_ascii_case("application/json"))
    }
}

/// A response before it is handed to hyper (and possibly mangled by a fault).
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"))],
            body: Bytes::from(body),
        }
    }

    pub fn text(status: u16, text: String) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            body: Bytes::from(text),
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }
}
