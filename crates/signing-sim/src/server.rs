//! The listener, per-connection HTTP/1.1 serving, routing to the vendors, and fault injection.
//!
//! hyper is used directly rather than through a framework because several faults live below
//! the level a framework exposes: dropping a connection without an answer, or promising more
//! body than is sent.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::fault::{self, FaultKind, SignatureFault};
use crate::http::{Reply, Req};
use crate::shared::Shared;
use crate::state::{recorded_body, recorded_query, RequestRecord};
use crate::variants::{self, Vendor};
use crate::{avx, chain, oidc, pki, tpp};

/// Request bodies larger than this are refused; real clients send a few hundred bytes.
const MAX_BODY: usize = 1024 * 1024;

/// Accepts connections until `shutdown` fires; dropping the `JoinSet` then aborts every
/// connection still open, including hung ones.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let tls = tls.clone();
                conns.spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(stream, peer, shared).await;
                            }
                        }
                        None => serve_connection(stream, peer, shared).await,
                    }
                });
            }
        }
    }
}

async fn serve_connection<I>(io: I, peer: SocketAddr, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(shared.clone(), peer, req));
    let _ = http1::Builder::new().serve_connection(TokioIo::new(io), service).await;
}

/// Returned by the service to make hyper drop the connection without writing a response.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

/// One request, start to end: record it, let its fault (if any) act, read the body, answer.
async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, DropConnection> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().map(str::to_string);
    let (index, fault) = record_arrival(&shared, &parts, &path, raw_query.as_deref(), peer);

    match &fault {
        Some(FaultKind::Reset) => return Err(DropConnection),
        Some(FaultKind::Hang) => std::future::pending::<()>().await,
        Some(FaultKind::Latency { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        _ => {}
    }

    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            let reply = Reply::json(
                413,
                &serde_json::json!({
                    "error": "invalid_request",
                    "error_description": format!("Request body larger than {MAX_BODY} bytes"),
                }),
            );
            record_status(&shared, index, 413);
            let reply = with_variants(&shared, index, &path, reply);
            return Ok(into_response(reply, None, &path));
        }
        Err(_) => return Err(DropConnection),
    };
    if let Some(body) = recorded_body(&body) {
        if let Some(r) = shared.lock().requests.get_mut(index) {
            r.body = Some(body);
        }
    }
    let req = Req::new(parts.method, &path, raw_query.as_deref(), parts.headers, body, peer);
    let reply = answer(&shared, &req, fault.as_ref());
    let status = match fault {
        Some(FaultKind::MalformedJson) => 200,
        _ => reply.status.as_u16(),
    };
    record_status(&shared, index, status);
    let reply = with_variants(&shared, index, &path, reply);
    Ok(into_response(reply, fault.as_ref(), &path))
}

/// Picks the request's fault and records the request (without its body, not read yet), both
/// under one lock so the log's order is the order faults counted requests in. Returns the
/// record's index.
fn record_arrival(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    path: &str,
    raw_query: Option<&str>,
    peer: SocketAddr,
) -> (usize, Option<FaultKind>) {
    let mut header_names: Vec<String> = parts.headers.keys().map(|k| k.as_str().to_ascii_lowercase()).collect();
    header_names.sort();
    header_names.dedup();
    let mut store = shared.lock();
    let fault = fault::pick(&mut store.faults, path);
    store.requests.push(RequestRecord {
        method: parts.method.to_string(),
        path: path.to_string(),
        query: raw_query.map(recorded_query),
        status: 0,
        fault: fault.as_ref().map(|f| f.name().to_string()),
        header_names,
        peer: Some(peer.ip().to_canonical()),
        body: None,
    });
    (store.requests.len() - 1, fault)
}

/// The reply to a request whose body has been read: a fault's own answer, or the route's (after
/// an `expire-*` fault has expired the credential it carries).
fn answer(shared: &Shared, req: &Req, fault: Option<&FaultKind>) -> Reply {
    match fault {
        Some(FaultKind::Status { code, retry_after }) => {
            let reply = if is_avx(req) { avx::fault_reply(*code) } else { tpp::fault_reply(*code) };
            match retry_after {
                Some(ra) => reply.with_header(RETRY_AFTER, ra),
                None => reply,
            }
        }
        Some(FaultKind::AppStatus { code, app_status_code, message }) => {
            if is_avx(req) {
                avx::app_status_reply(*code, app_status_code, message.as_deref())
            } else {
                tpp::fault_reply(*code)
            }
        }
        Some(FaultKind::ExpireToken) => {
            let now = shared.clock.now_ms();
            tpp::expire_bearer(&mut shared.lock(), req, now);
            route(shared, req, None)
        }
        Some(FaultKind::ExpireSession) => {
            let now = shared.clock.now_ms();
            avx::expire_session(&mut shared.lock(), req, now);
            route(shared, req, None)
        }
        Some(kind) => route(shared, req, kind.signature_fault()),
        None => route(shared, req, None),
    }
}

/// In `variants` mode, the answer's JSON rewritten into one of its documented variants. The
/// simulator's own endpoints (`/__sim/...`) never vary.
fn with_variants(shared: &Shared, index: usize, path: &str, mut reply: Reply) -> Reply {
    let Some(seed) = shared.config.variants else {
        return reply;
    };
    let lower = path.to_ascii_lowercase();
    if lower.starts_with("/__sim/") {
        return reply;
    }
    let vendor = if lower.starts_with("/avxapi/") { Vendor::AppViewX } else { Vendor::Tpp };
    if let Some(body) = variants::vary(seed, index as u64, vendor, &reply.body) {
        reply.body = Bytes::from(body);
    }
    reply
}

fn record_status(shared: &Shared, index: usize, status: u16) {
    if let Some(r) = shared.lock().requests.get_mut(index) {
        r.status = status;
    }
}

fn is_avx(req: &Req) -> bool {
    req.lpath.starts_with("/avxapi/")
}

/// Routes a request; `signature_fault` reaches the AppViewX signing calls only.
fn route(shared: &Shared, req: &Req, signature_fault: Option<SignatureFault>) -> Reply {
    let l = req.lpath.as_str();
    if l == "/__sim/state" {
        return if req.method == hyper::Method::GET {
            Reply::json(200, &shared.snapshot())
        } else {
            Reply::json(405, &serde_json::json!({"error": "invalid_request", "error_description": "GET only"}))
        };
    }
    if l == "/__sim/oidc/token" {
        return oidc::route(shared, req);
    }
    if l == "/__sim/ip" {
        return echo_ip(req);
    }
    if l == "/__sim/approve" {
        return chain::approve_route(shared, req);
    }
    if l == "/__sim/certificates" {
        return pki::certificates_route(&shared.pki, req);
    }
    if l == "/__sim/ca.pem" {
        return pki::ca_route(&shared.pki, req);
    }
    if l.starts_with("/vedauth/") || l.starts_with("/vedsdk/") {
        return tpp::route(shared, req);
    }
    if is_avx(req) {
        return avx::route(shared, req, signature_fault);
    }
    Reply::json(
        404,
        &serde_json::json!({
            "error": "not_found",
            "error_description": format!("Nothing is simulated at '{}'", req.path),
        }),
    )
}

/// An address-echo endpoint (not a vendor API): the caller's address as this server sees it,
/// as plain text, or as `{"ip":"..."}` with `?format=json`.
fn echo_ip(req: &Req) -> Reply {
    if req.method != hyper::Method::GET {
        return Reply::json(405, &serde_json::json!({"error": "invalid_request", "error_description": "GET only"}));
    }
    let ip = req.peer.ip().to_canonical().to_string();
    if req.query_param("format").is_some_and(|f| f.eq_ignore_ascii_case("json")) {
        Reply::json(200, &serde_json::json!({ "ip": ip }))
    } else {
        Reply::text(200, format!("{ip}\n"))
    }
}

fn into_response(reply: Reply, fault: Option<&FaultKind>, path: &str) -> Response<SimBody> {
    let mut status = reply.status;
    let full = reply.body;
    let body = match fault {
        Some(FaultKind::Truncated) => SimBody::CutShort {
            data: Some(full.slice(..full.len() / 2)),
            pause: Box::pin(tokio::time::sleep(CUT_PAUSE)),
        },
        Some(FaultKind::MalformedJson) => {
            status = hyper::StatusCode::OK;
            let broken = if full.len() >= 2 { full.slice(..full.len() / 2) } else { Bytes::from_static(b"{\"") };
            SimBody::Full(Some(broken))
        }
        _ => SimBody::Full(Some(full.clone())),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in reply.headers {
        headers.append(name, value);
    }
    if matches!(fault, Some(FaultKind::MalformedJson)) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    }
    if matches!(fault, Some(FaultKind::Truncated)) {
        // Promise the whole body (at least one byte more than is sent), then stop.
        let promised = full.len().max(1);
        headers.insert(CONTENT_LENGTH, HeaderValue::from(promised));
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
    }
    let lower = path.to_lowercase();
    if lower.starts_with("/vedauth") || lower.starts_with("/vedsdk") {
        headers.insert(SERVER, HeaderValue::from_static("Microsoft-IIS/10.0"));
    }
    response
}

/// How long a truncated body waits before failing. hyper only flushes what it buffered when the
/// body stalls; failing at once would discard the headers too and look like a reset instead.
const CUT_PAUSE: Duration = Duration::from_millis(50);

/// A response body that is either sent whole or cut short with an error, which makes hyper
/// abort the connection mid-body.
enum SimBody {
    Full(Option<Bytes>),
    CutShort { data: Option<Bytes>, pause: Pin<Box<tokio::time::Sleep>> },
}

#[derive(Debug)]
struct BodyCut;

impl std::fmt::Display for BodyCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response body truncated on purpose")
    }
}

impl std::error::Error for BodyCut {}

impl Body for SimBody {
    type Data = Bytes;
    type Error = BodyCut;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyCut>>> {
        match self.get_mut() {
            SimBody::Full(data) => Poll::Ready(data.take().filter(|d| !d.is_empty()).map(|d| Ok(Frame::data(d)))),
            SimBody::CutShort { data, pause } => match data.take() {
                Some(d) if !d.is_empty() => Poll::Ready(Some(Ok(Frame::data(d)))),
                _ => match pause.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(BodyCut))),
                    Poll::Pending => Poll::Pending,
                },
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SimBody::Full(data) => data.as_ref().is_none_or(Bytes::is_empty),
            SimBody::CutShort { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            // Unknown, so hyper trusts the Content-Length header set for the fault.
            SimBody::CutShort { .. } => SizeHint::default(),
        }
    }
}
