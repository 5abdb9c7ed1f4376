//! The node's HTTP server (warp): the HTML UI ([`ui`]), the JSON API under
//! `/api/v1`, and `/healthz`.
//!
//! warp serves; routing is one explicit table ([`ROUTES`]) so that the
//! OpenAPI description (`specs/http-api.yaml`) can be checked against it,
//! and so that every answer — errors included — has the documented shape
//! `{"error": {"code", "message", "field"?}}` with the right status.
//! Request bodies are read as a stream with a hard limit: a body larger than
//! the limit gets 413 without being read in full.
//!
//! [`serve`] runs the filter on hyper itself rather than through
//! `warp::serve`, which sets no timer: without one hyper applies no header
//! read timeout, and a slow-loris client that trickles its headers (or an
//! idle keep-alive connection) holds its socket for ever.

mod api;
pub mod git;
mod ui;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;

use crate::node::Node;

/// How long a client may take to send a request's head, counted from the
/// moment the server waits for it (so it also bounds an idle keep-alive
/// connection): slower connections are closed.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serve the node's routes on `listener` until `shutdown` completes, then
/// stop accepting and let the requests in flight finish. HTTP/1.1 only:
/// warp's automatic HTTP/2 detection waits for the first bytes with no
/// timeout, so a connection that sends nothing would stay open (browsers
/// speak HTTP/2 only over TLS, which a reverse proxy terminates).
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let service = warp::service(routes(node));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most often: let connections
                    // close before accepting again.
                    tracing::warn!(error = %e, "cannot accept an HTTP connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Every route: method, path pattern (`{name}` for a segment), summary.
/// `/git/…` (git's smart HTTP protocol, [`git`]) is routed apart and
/// documented in `specs/mirrors.md`.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "liveness"),
    (
        "GET",
        "/metrics",
        "metrics for Prometheus (OpenMetrics text), unless `http.metrics = false`",
    ),
    (
        "GET",
        "/api/v1/mirrors",
        "this node's mirrors and running fetches",
    ),
    (
        "POST",
        "/api/v1/mirrors/sync",
        "fetch mirrors now (operator)",
    ),
    ("GET", "/api/v1/status", "the node's state"),
    ("GET", "/api/v1/peers", "connected and remembered peers"),
    ("GET", "/api/v1/search", "search the catalogue"),
    (
        "GET",
        "/api/v1/initiatives/{hub}/{slug}",
        "one initiative: head, history, provenance",
    ),
    ("GET", "/api/v1/hubs", "every hub's profile"),
    ("GET", "/api/v1/records", "signed records, paged"),
    ("POST", "/api/v1/records", "ingest an already-signed record"),
    (
        "POST",
        "/api/v1/publish",
        "sign and publish a record as this hub (operator)",
    ),
    (
        "GET",
        "/api/v1/trust",
        "the trust policy: mode, followed, blocked, trusted hubs, quarantine",
    ),
    (
        "POST",
        "/api/v1/trust",
        "follow, unfollow, block, unblock a hub; accept or reject its quarantine (operator)",
    ),
    (
        "POST",
        "/api/v1/endorse",
        "sign an endorsement as this hub, or revoke one (operator)",
    ),
    (
        "GET",
        "/api/v1/suggest",
        "initiatives that could be replicated in a territory, with reasons",
    ),
];

/// The web UI's pages, as route templates (the `route` label of
/// `/metrics`; keep in step with `ui::dispatch`).
pub const UI_ROUTES: &[&str] = &[
    "/",
    "/map",
    "/i/{hub}/{slug}",
    "/hubs",
    "/hubs/{hub}",
    "/node",
    "/login",
    "/logout",
    "/publish",
    "/trust",
    "/endorse",
    "/territoire",
    "/territoire/{code}",
    "/assets/{name}",
];

/// Largest request body: a JSON view, or a draft.
pub const MAX_BODY_BYTES: usize = essaim_protocol::limits::MAX_JSON_VIEW_BYTES;

/// A request as the API handlers see it.
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, split into percent-decoded segments.
    pub segments: Vec<String>,
    /// The query string's pairs, in order.
    pub query: Vec<(String, String)>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, read within [`MAX_BODY_BYTES`].
    pub body: Bytes,
}

impl Request {
    /// The values of a query parameter.
    pub fn params(&self, name: &str) -> impl Iterator<Item = &str> {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params(name).next()
    }
}

/// Answer an API request in-process, as the HTTP server would: the CLI uses
/// this when no node runs on the data directory, so both paths give the same
/// answers. `path_and_query` is e.g. `/api/v1/search?q=velo`.
pub async fn call(
    node: &Node,
    method: Method,
    path_and_query: &str,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, serde_json::Value) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let request = Request {
        method,
        segments: split_path(path),
        query: parse_query(query),
        headers,
        body,
    };
    let response = api::dispatch(node, request).await;
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    (status, value)
}

/// Split a path into percent-decoded segments (RFC 3986: `+` and `&` are
/// themselves in a path). A segment that does not decode to UTF-8 is kept
/// as an impossible value (a NUL), so that it matches no route or slug.
fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s).unwrap_or_else(|| "\0".to_owned()))
        .collect()
}

fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Entry points of the HTTP layer for [`crate::fuzzing`].
pub(crate) mod fuzz_hooks {
    pub(crate) use super::api::search_request_or_error;
    pub(crate) use super::parse_query;
    pub(crate) use super::ui::search_page_params;
}

/// Most query parameters a request may carry.
pub const MAX_QUERY_PARAMS: usize = 64;

pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .take(MAX_QUERY_PARAMS + 1)
        .collect()
}

/// The warp filter that serves the node.
pub fn routes(node: Node) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let ui = std::sync::Arc::new(ui::UiState::default());
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and(warp::any().map(move || (node.clone(), ui.clone())))
        .then(
            |method: Method,
             path: warp::path::FullPath,
             query: String,
             headers: HeaderMap,
             body,
             (node, ui): (Node, std::sync::Arc<ui::UiState>)| async move {
                // Counted by route template, never by raw path.
                let started = std::time::Instant::now();
                let route = crate::metrics::route_label(path.as_str());
                let counted = method.clone();
                let response =
                    handle(&node, &ui, method, path.as_str(), query, headers, body).await;
                node.metrics().http_request(
                    route,
                    &counted,
                    response.status().as_u16(),
                    started.elapsed(),
                );
                response
            },
        )
}

async fn handle<S, B>(
    node: &Node,
    ui: &ui::UiState,
    method: Method,
    path: &str,
    query: String,
    headers: HeaderMap,
    body: S,
) -> Response
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin + 'static,
    B: warp::Buf + Send + 'static,
{
    // Clones stream their bodies and are routed on the raw path.
    if path.starts_with("/git/") {
        return git::serve(node, method, path, &query, headers, body).await;
    }
    // Off (`http.metrics = false`), the path is unknown like any other; on,
    // other methods get the API's 405.
    let metrics = path == "/metrics" && node.config().http_metrics;
    if metrics && (method == Method::GET || method == Method::HEAD) {
        return crate::metrics::serve(node).await;
    }
    let segments = split_path(path);
    let query = parse_query(&query);
    let is_ui = ui::is_ui_path(&segments) && !metrics;
    // Writes as this hub need the operator: refuse before reading a body.
    if method == Method::POST {
        let operator_only = matches!(
            segments
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["api", "v1", "publish" | "trust" | "endorse"] | ["api", "v1", "mirrors", "sync"]
        );
        if operator_only && !api::is_operator(node, &headers) {
            return api::unauthorized();
        }
        if is_ui && ui::post_needs_session(&segments) && !ui::has_session(ui, &headers) {
            return ui::forbidden_without_session();
        }
    }
    let body = if method == Method::POST {
        match read_limited(&headers, body).await {
            Ok(body) => body,
            Err(response) => return response,
        }
    } else {
        Bytes::new()
    };
    let request = Request {
        method,
        segments,
        query,
        headers,
        body,
    };
    if is_ui {
        ui::dispatch(node, ui, request, path).await
    } else {
        api::dispatch(node, request).await
    }
}

/// Read a body within [`MAX_BODY_BYTES`]; 413 as soon as it is exceeded
/// (announced by `Content-Length` or found while reading).
async fn read_limited<S, B>(headers: &HeaderMap, mut stream: S) -> Result<Bytes, Response>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: warp::Buf,
{
    let too_large = || {
        api::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            None,
        )
    };
    let announced = headers
        .get(warp::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(0) as usize);
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|e| {
            api::error(
                StatusCode::BAD_REQUEST,
                "bad_body",
                &format!("cannot read the request body: {e}"),
                None,
            )
        })?;
        while chunk.has_remaining() {
            let part = chunk.chunk();
            if body.len() + part.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(Bytes::from(body))
}
