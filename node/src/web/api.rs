//! The JSON API's handlers. Shapes are described in `specs/http-api.yaml`.

use essaim_protocol::{Address, Body, HubId, Kind, RecordError, SignedRecord, Territory};
use serde_json::{Value, json};
use warp::http::{Method, StatusCode, header};
use warp::reply::Response;

use super::Request;
use crate::index::{Filters, MAX_LIMIT, SearchRequest, Sort};
use crate::node::{Node, PublishError};
use crate::store::{Inserted, Source, StoredRecord};
use crate::unix_now;

/// Largest page of `/api/v1/records`.
pub(crate) const MAX_RECORDS_PAGE: usize = 1_000;

/// Route a request to its handler.
pub(super) async fn dispatch(node: &Node, request: Request) -> Response {
    if request.query.len() > super::MAX_QUERY_PARAMS {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_parameter",
            &format!("more than {} query parameters", super::MAX_QUERY_PARAMS),
            None,
        );
    }
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let method = &request.method;
    let result = match (method, segments.as_slice()) {
        (&Method::GET, ["healthz"]) => return text(StatusCode::OK, "ok\n"),
        (&Method::GET, ["api", "v1", "status"]) => match only_known(&request, &[]) {
            Ok(()) => status(node).await,
            Err(e) => Err(e),
        },
        (&Method::GET, ["api", "v1", "peers"]) => match only_known(&request, &[]) {
            Ok(()) => Ok(json_response(
                StatusCode::OK,
                &crate::p2p::peers_json(node).await,
            )),
            Err(e) => Err(e),
        },
        (&Method::GET, ["api", "v1", "search"]) => search(node, &request).await,
        (&Method::GET, ["api", "v1", "initiatives", hub, slug]) => {
            initiative(node, hub, slug).await
        }
        (&Method::GET, ["api", "v1", "hubs"]) => match only_known(&request, &[]) {
            Ok(()) => hubs(node).await,
            Err(e) => Err(e),
        },
        (&Method::GET, ["api", "v1", "mirrors"]) => match only_known(&request, &[]) {
            Ok(()) => crate::mirror::view::mirrors_json(node)
                .await
                .map(|v| json_response(StatusCode::OK, &v))
                .map_err(ApiError::internal),
            Err(e) => Err(e),
        },
        (&Method::POST, ["api", "v1", "mirrors", "sync"]) => mirror_sync(node, &request),
        (&Method::GET, ["api", "v1", "records"]) => records(node, &request).await,
        (&Method::POST, ["api", "v1", "records"]) => ingest(node, &request).await,
        (&Method::POST, ["api", "v1", "publish"]) => publish(node, &request).await,
        (&Method::GET, ["api", "v1", "trust"]) => match only_known(&request, &[]) {
            Ok(()) => trust_state(node).await,
            Err(e) => Err(e),
        },
        (&Method::POST, ["api", "v1", "trust"]) => trust_change(node, &request).await,
        (&Method::POST, ["api", "v1", "endorse"]) => endorse(node, &request).await,
        (&Method::GET, ["api", "v1", "suggest"]) => suggest(node, &request).await,
        (_, path) => {
            let allowed: Vec<&str> = super::ROUTES
                .iter()
                .filter(|(_, pattern, _)| matches(pattern, path))
                .map(|(method, _, _)| *method)
                .collect();
            if !allowed.is_empty() {
                let mut response = error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    &format!("this path answers {}", allowed.join(", ")),
                    None,
                );
                if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                return response;
            }
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see specs/http-api.yaml",
            ))
        }
    };
    match result {
        Ok(response) => response,
        Err(e) => error(e.status, e.code, &e.message, e.field.as_deref()),
    }
}

fn matches(pattern: &str, path: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    parts.len() == path.len()
        && parts
            .iter()
            .zip(path)
            .all(|(p, s)| p.starts_with('{') || p == s)
}

/// An API error: status, stable code, message, and the field or parameter at fault.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn param(name: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(name.to_owned()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "bad_parameter", message)
        }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        // The details (file paths…) go to the operator's log, not to clients.
        tracing::error!(error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node failed to answer; its operator will find the reason in its log",
        )
    }

    /// A write the node could not make: 507 when its disk is full (the
    /// operator must free space; the client may retry later), else 500.
    fn node(e: crate::node::NodeError) -> ApiError {
        if e.is_disk_full() {
            // `NodeError::DiskFull` and the group commit log the path.
            tracing::error!(error = %e, "request refused: the disk of the data directory is full");
            ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "disk_full",
                "the node's disk is full: nothing was stored; retry once its operator has freed space",
            )
        } else {
            ApiError::internal(e)
        }
    }

    fn record(e: &RecordError) -> ApiError {
        let status = match e {
            RecordError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
            field: e.field().map(str::to_owned),
        }
    }
}

type Result<T = Response> = std::result::Result<T, ApiError>;

/// A JSON error response.
pub(super) fn error(
    status: StatusCode,
    code: &str,
    message: &str,
    field: Option<&str>,
) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let Some(field) = field {
        error["field"] = json!(field);
    }
    json_response(status, &json!({ "error": error }))
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Run blocking store or index work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, ApiError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// The JSON view of a stored record, with where this node got it.
fn stored_view(stored: &StoredRecord) -> Value {
    let mut view = serde_json::to_value(stored.record.to_json_view()).unwrap_or(Value::Null);
    view["change"] = json!(stored.change);
    view["received_at"] = json!(stored.received_at);
    view["source"] = json!(stored.source);
    view
}

async fn status(node: &Node) -> Result {
    let worker = node.clone();
    let (counts, docs) = blocking(move || {
        let counts = worker.store().counts().map_err(ApiError::internal)?;
        Ok((counts, worker.index().num_docs()))
    })
    .await?;
    let own = Address {
        author: node.hub_id(),
        kind: Kind::Hub,
        slug: "profile".parse().map_err(|_| ApiError::internal("slug"))?,
    };
    let worker = node.clone();
    let name = blocking(move || {
        Ok(
            match worker.store().head(&own).map_err(ApiError::internal)? {
                Some(head) => match head.record.body() {
                    Body::Hub(hub) => hub.name.clone(),
                    _ => String::new(),
                },
                None => String::new(),
            },
        )
    })
    .await?;
    let watermark = node.indexed();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "hub": node.hub_id().to_string(),
            "name": name,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_secs": node.uptime().as_secs(),
            "store": counts,
            "index": {
                "documents": docs,
                "watermark": watermark,
                "behind": counts.last_change.saturating_sub(watermark),
                "rebuilt_at_start": node.rebuilt_index(),
            },
            "sync": crate::p2p::status_json(node).await,
            "mirrors": crate::mirror::view::status_json(node).await,
        }),
    ))
}

/// The API's reading of search parameters, for [`crate::fuzzing`]: the
/// request, or the status, code and field of the error.
pub(crate) fn search_request_or_error(
    request: &Request,
) -> std::result::Result<SearchRequest, (StatusCode, &'static str, Option<String>)> {
    search_request(request).map_err(|e| (e.status, e.code, e.field))
}

/// Parse the search parameters.
pub(crate) fn search_request(request: &Request) -> Result<SearchRequest> {
    let mut filters = Filters::default();
    only_once(request, &["q", "sort", "limit", "offset"])?;
    for (name, value) in &request.query {
        match name.as_str() {
            "q" | "sort" | "limit" | "offset" => {}
            "theme" => filters.themes.push(
                essaim_protocol::vocab::Theme::from_code(value)
                    .ok_or_else(|| ApiError::param("theme", format!("`{value}` is not a theme code (see specs/records.md)")))?
                    .code()
                    .to_owned(),
            ),
            "stage" => filters.stages.push(
                essaim_protocol::vocab::Stage::from_code(value)
                    .ok_or_else(|| ApiError::param("stage", format!("`{value}` is not a stage: emergence, experimentation, evaluation, consolidation or essaimage")))?
                    .code()
                    .to_owned(),
            ),
            "licence" => filters.licences.push(value.clone()),
            "hub" => filters.hubs.push(value.clone()),
            "label" => filters.labels.push(value.clone()),
            "labelled_by" => filters.labelled_by.push(value.clone()),
            "territory" => filters.territories.push(
                Territory::parse(value).map_err(|e| ApiError::param("territory", e.to_string()))?,
            ),
            other => {
                return Err(ApiError::param(
                    other,
                    format!(
                        "unknown parameter `{other}`: use q, theme, territory, stage, licence, hub, label, labelled_by, sort, limit, offset"
                    ),
                ));
            }
        }
    }
    let number = |name: &str, default: usize, max: usize| -> Result<usize> {
        match request.param(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    ApiError::param(name, format!("`{name}` is a whole number from 0 to {max}"))
                }),
        }
    };
    let sort = match request.param("sort") {
        None | Some("relevance") => Sort::Relevance,
        Some("newest") => Sort::Newest,
        Some(other) => {
            return Err(ApiError::param(
                "sort",
                format!("`sort={other}`: use relevance or newest"),
            ));
        }
    };
    Ok(SearchRequest {
        q: request.param("q").unwrap_or("").to_owned(),
        filters,
        sort,
        limit: number("limit", 20, MAX_LIMIT)?,
        offset: number("offset", 0, crate::index::MAX_OFFSET)?,
    })
}

async fn search(node: &Node, request: &Request) -> Result {
    let search = search_request(request)?;
    let worker = node.clone();
    let response = blocking(move || {
        worker.index().search(&search).map_err(|e| match e {
            crate::index::IndexError::BadQuery { .. } => ApiError::param("q", e.to_string()),
            other => ApiError::internal(other),
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &response))
}

async fn initiative(node: &Node, hub: &str, slug: &str) -> Result {
    let author = HubId::parse_lenient(hub)
        .map_err(|rule| ApiError::param("hub", format!("`{hub}`: {rule}")))?;
    let slug = slug
        .parse()
        .map_err(|rule| ApiError::param("slug", format!("`{slug}`: {rule}")))?;
    let address = Address {
        author,
        kind: Kind::Initiative,
        slug,
    };
    let worker = node.clone();
    let found = blocking(move || {
        let store = worker.store();
        let Some(head) = store.head(&address).map_err(ApiError::internal)? else {
            return Ok(None);
        };
        let history = store.history(&address).map_err(ApiError::internal)?;
        let endorsements = store
            .endorsements_of(&address.to_string())
            .map_err(ApiError::internal)?;
        let hub = store
            .head(&Address {
                author,
                kind: Kind::Hub,
                slug: "profile".parse().map_err(|_| ApiError::internal("slug"))?,
            })
            .map_err(ApiError::internal)?;
        Ok(Some((address, head, history, endorsements, hub)))
    })
    .await?;
    let Some((address, head, history, endorsements, hub)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no initiative at this address on this node",
        ));
    };
    let retracted = matches!(head.record.body(), Body::Retraction(_));
    let repositories = match head.record.body() {
        Body::Initiative(i) => crate::mirror::view::repositories_json(node, i).await,
        _ => Vec::new(),
    };
    let now = unix_now();
    let value = json!({
        "address": address.to_string(),
        "short": address.short(),
        "retracted": retracted,
        "head": stored_view(&head),
        "history": history.iter().map(|h| json!({
            "id": h.record.id().to_string(),
            "seq": h.record.body().seq(),
            "created": h.record.body().created(),
            "kind": h.record.body().kind().code(),
            "received_at": h.received_at,
            "source": h.source,
        })).collect::<Vec<_>>(),
        "endorsements": endorsements.iter().map(|e| {
            let mut view = stored_view(e);
            if let Body::Endorsement(body) = e.record.body() {
                let valid = !body.revoked && body.valid_until.is_none_or(|until| until > now);
                view["valid"] = json!(valid);
            }
            view
        }).collect::<Vec<_>>(),
        "hub": hub.as_ref().map(stored_view),
        "repositories": repositories,
        "provenance": {
            "id": head.record.id().to_string(),
            "author": address.author.to_string(),
            "signature": "verified",
            "received_from": head.source,
            "received_at": head.received_at,
        },
    });
    let status = if retracted {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, &value))
}

/// `POST /api/v1/mirrors/sync`: `{"initiative": "hub/slug"}` or `{}` for all.
fn mirror_sync(node: &Node, request: &Request) -> Result {
    let body: Value = if request.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&request.body)
            .map_err(|e| ApiError::param("body", format!("not JSON: {e}")))?
    };
    let initiative = match body.get("initiative").and_then(Value::as_str) {
        None => None,
        Some(text) => {
            let address = Address::parse_initiative(text)
                .map_err(|rule| ApiError::param("initiative", format!("`{text}`: {rule}")))?;
            Some((address.author.short(), address.slug.to_string()))
        }
    };
    if !node.mirrors().enabled() {
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({
                "accepted": false,
                "reason": "mirrors are off on this node (mirror.enabled = false)",
            }),
        ));
    }
    node.mirrors().request_sync(initiative);
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({"accepted": true}),
    ))
}

async fn hubs(node: &Node) -> Result {
    let worker = node.clone();
    let heads = blocking(move || {
        worker
            .store()
            .heads_of_kind(Kind::Hub, None, 0, u64::MAX, 10_000)
            .map_err(ApiError::internal)
    })
    .await?;
    let hubs: Vec<Value> = heads
        .iter()
        .filter_map(|head| match head.record.body() {
            Body::Hub(hub) => Some(json!({
                "id": hub.author.to_string(),
                "name": hub.name,
                "hub_kind": hub.hub_kind.code(),
                "territories": hub.territories,
                "record": stored_view(head),
            })),
            _ => None,
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "hubs": hubs })))
}

/// Refuse parameters given twice where one value is expected.
fn only_once(request: &Request, names: &[&str]) -> Result<()> {
    for name in names {
        if request.params(name).count() > 1 {
            return Err(ApiError::param(
                name,
                format!("`{name}` is given more than once"),
            ));
        }
    }
    Ok(())
}

/// Refuse parameters a route does not know.
fn only_known(request: &Request, known: &[&str]) -> Result<()> {
    match request
        .query
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()))
    {
        Some((name, _)) => Err(ApiError::param(
            name,
            format!(
                "unknown parameter `{name}`: this route takes {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        )),
        None => Ok(()),
    }
}

async fn records(node: &Node, request: &Request) -> Result {
    only_known(request, &["since", "limit"])?;
    only_once(request, &["since", "limit"])?;
    let since = match request.param("since") {
        None => 0,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| {
                ApiError::param(
                    "since",
                    "`since` is a change number (a whole number below 2^63)",
                )
            })?,
    };
    let limit = match request.param("limit") {
        None => 100,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_RECORDS_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::param("limit", format!("`limit` is from 1 to {MAX_RECORDS_PAGE}"))
            })?,
    };
    let worker = node.clone();
    let page = blocking(move || {
        worker
            .store()
            .records_since(since, limit)
            .map_err(ApiError::internal)
    })
    .await?;
    let next = page.last().map_or(since, |r| r.change);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "records": page.iter().map(stored_view).collect::<Vec<_>>(),
            "next": next,
            "more": page.len() == limit,
        }),
    ))
}

fn is_cbor(request: &Request) -> bool {
    request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/cbor"))
}

fn outcome_response(record: &SignedRecord, inserted: Inserted) -> Response {
    let (status, outcome) = match inserted {
        Inserted::Head { .. } => (StatusCode::CREATED, "head"),
        Inserted::History { .. } => (StatusCode::CREATED, "history"),
        Inserted::Duplicate => (StatusCode::OK, "duplicate"),
        Inserted::Quarantined => (StatusCode::ACCEPTED, "quarantined"),
        Inserted::Refused(refusal) => {
            let (status, message) = match refusal {
                crate::trust::Refusal::Blocked => (
                    StatusCode::FORBIDDEN,
                    "this node's operator blocked the record's hub: its records are refused",
                ),
                crate::trust::Refusal::HourlyQuota => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "the record's hub sent more records in the last hour than this node accepts: try again in an hour",
                ),
                crate::trust::Refusal::TotalQuota => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "the record's hub has as many records on this node as it accepts from a hub it does not follow",
                ),
                crate::trust::Refusal::QuarantineFull => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "this node's quarantine is full: try again later, or ask its operator to follow the record's hub",
                ),
            };
            let mut response = error(status, refusal.code(), message, None);
            if matches!(
                refusal,
                crate::trust::Refusal::HourlyQuota | crate::trust::Refusal::QuarantineFull
            ) {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from_static("3600"),
                );
            }
            return response;
        }
    };
    json_response(
        status,
        &json!({
            "id": record.id().to_string(),
            "address": record.address().to_string(),
            "outcome": outcome,
            "record": record.to_json_view(),
        }),
    )
}

/// The media types `POST /api/v1/records` takes. None of them is one a
/// cross-site form or a `fetch` without CORS preflight can send
/// (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`
/// or no type at all), so a web page cannot make a visitor's browser push
/// records into a node on their machine.
const INGEST_TYPES: [&str; 3] = [
    "application/json",
    "application/cbor",
    "application/octet-stream",
];

async fn ingest(node: &Node, request: &Request) -> Result {
    let media_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if !media_type
        .as_deref()
        .is_some_and(|t| INGEST_TYPES.contains(&t))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a record is posted with `Content-Type: application/json` (its JSON view) or `application/cbor` (its envelope bytes)",
        ));
    }
    let now = unix_now();
    let verified = if is_cbor(request) {
        essaim_protocol::verify(&request.body, now)
    } else {
        essaim_protocol::verify_any(&request.body, now)
    };
    let record = verified.map_err(|e| {
        node.metrics().rejected_record(&e);
        ApiError::record(&e)
    })?;
    let inserted = node
        .ingest(vec![(record.clone(), Source::Http)])
        .await
        .map_err(ApiError::node)?
        .pop()
        .unwrap_or(Inserted::Duplicate);
    Ok(outcome_response(&record, inserted))
}

/// Whether the request carries the operator token (`Authorization: Bearer
/// <token>`, the scheme name in any case).
pub(super) fn is_operator(node: &Node, headers: &warp::http::HeaderMap) -> bool {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    node.is_operator(token)
}

/// 401, with the challenge HTTP requires.
pub(super) fn unauthorized() -> Response {
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "publishing needs the operator token: `Authorization: Bearer <the content of operator.token in the data directory>`",
        None,
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"essaim\""),
    );
    response
}

async fn publish(node: &Node, request: &Request) -> Result {
    if !is_operator(node, &request.headers) {
        return Ok(unauthorized());
    }
    let text = std::str::from_utf8(&request.body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "the draft is not UTF-8 text",
        )
    })?;
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = if content_type.contains("toml") {
        crate::draft::Format::Toml
    } else if content_type.contains("yaml") {
        crate::draft::Format::Yaml
    } else if content_type.contains("json") {
        crate::draft::Format::Json
    } else {
        crate::draft::Format::detect(None, text)
    };
    let body = crate::draft::parse_with_seq(
        text,
        format,
        &node.hub_id(),
        unix_now(),
        crate::unix_now_ms(),
    )
    .map_err(|e| match e {
        crate::draft::DraftError::Record(e) => {
            node.metrics().rejected_record(&e);
            ApiError::record(&e)
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, other.code(), other.to_string()),
    })?;
    let (record, inserted) = node.publish(body).await.map_err(|e| match e {
        PublishError::Record(e) => ApiError::record(&e),
        PublishError::Node(e) => ApiError::node(e),
    })?;
    Ok(outcome_response(&record, inserted))
}

/// `GET /api/v1/trust`: the policy and who is in it.
async fn trust_state(node: &Node) -> Result {
    let worker = node.clone();
    let value = blocking(move || trust_json(&worker).map_err(ApiError::internal)).await?;
    Ok(json_response(StatusCode::OK, &value))
}

/// The trust state as JSON (also what `POST /api/v1/trust` answers).
pub(crate) fn trust_json(node: &Node) -> std::result::Result<Value, crate::node::NodeError> {
    let store = node.store();
    let circle = node.circle()?;
    let standings = store.standings()?;
    let held = store.held_hubs()?;
    let refused = store.refused_counts()?;
    let mut hubs: Vec<HubId> = circle.trusted.keys().copied().collect();
    hubs.extend(circle.blocked.iter().copied());
    hubs.extend(
        held.iter()
            .filter_map(|h| HubId::parse_lenient(&h.hub).ok()),
    );
    let names = hub_names(store, &hubs)?;
    let name = |hub: &str| names.get(hub).cloned();
    let since = |hub: &str| standings.iter().find(|s| s.hub == hub).map(|s| s.since);
    Ok(json!({
        "policy": node.trust().policy(),
        "own": node.hub_id().to_string(),
        "followed": circle.followed.iter().filter(|h| **h != node.hub_id()).map(|h| {
            let id = h.to_string();
            json!({"hub": id, "name": name(&id), "since": since(&id)})
        }).collect::<Vec<_>>(),
        "blocked": circle.blocked.iter().map(|h| {
            let id = h.to_string();
            json!({"hub": id, "name": name(&id), "since": since(&id)})
        }).collect::<Vec<_>>(),
        "trusted": circle.trusted.iter().map(|(h, t)| {
            let id = h.to_string();
            json!({"hub": id, "name": name(&id), "depth": t.depth, "via": t.via.map(|v| v.to_string())})
        }).collect::<Vec<_>>(),
        "quarantine": held.iter().filter(|h| h.reason == crate::store::HELD_QUARANTINE).map(|h| {
            json!({"hub": h.hub, "name": name(&h.hub), "records": h.records,
                   "first_received": h.first_received, "last_received": h.last_received})
        }).collect::<Vec<_>>(),
        "held_blocked": held.iter().filter(|h| h.reason == crate::store::HELD_BLOCKED).map(|h| {
            json!({"hub": h.hub, "records": h.records})
        }).collect::<Vec<_>>(),
        "refused": refused.iter().map(|(hub, reason, count)| {
            json!({"hub": hub, "reason": reason, "records": count})
        }).collect::<Vec<_>>(),
    }))
}

/// Hub names from their profiles, for the hubs that have one here or in quarantine.
fn hub_names(
    store: &crate::store::Store,
    hubs: &[HubId],
) -> std::result::Result<std::collections::HashMap<String, String>, crate::store::StoreError> {
    let mut names = std::collections::HashMap::new();
    for hub in hubs {
        let id = hub.to_string();
        if names.contains_key(&id) {
            continue;
        }
        let address = Address {
            author: *hub,
            kind: Kind::Hub,
            slug: "profile".parse().expect("`profile` is a valid slug"),
        };
        let body = match store.head(&address)? {
            Some(head) => Some(head.record.body().clone()),
            // A hub waiting in quarantine: its profile is there too.
            None => store
                .held_records(&id, 200)?
                .into_iter()
                .map(|r| r.record.body().clone())
                .find(|b| matches!(b, Body::Hub(_))),
        };
        if let Some(Body::Hub(profile)) = body {
            names.insert(id, profile.name);
        }
    }
    Ok(names)
}

/// What `POST /api/v1/trust` takes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustChange {
    action: String,
    hub: String,
}

/// A trust action on a hub, as the CLI, the API and the UI name them.
pub(crate) fn apply_trust_action(
    node: &Node,
    action: &str,
    hub: &str,
) -> std::result::Result<crate::trust::Reevaluation, (StatusCode, &'static str, String)> {
    use crate::trust::Standing;
    let bad = |field: &str, message: String| {
        let _ = field;
        (StatusCode::BAD_REQUEST, "bad_parameter", message)
    };
    let hub = crate::trust::parse_hub(hub).map_err(|m| bad("hub", m))?;
    let standing = match action {
        "follow" | "accept" | "unblock-and-follow" => Some(Standing::Followed),
        "block" | "reject" => Some(Standing::Blocked),
        "unfollow" | "unblock" => None,
        other => {
            return Err(bad(
                "action",
                format!(
                    "`{other}` is not a trust action: follow, unfollow, block, unblock, accept or reject"
                ),
            ));
        }
    };
    if hub == node.hub_id() {
        return Err(bad(
            "hub",
            "this is this node's own hub: it is always trusted".to_owned(),
        ));
    }
    // Unfollowing a blocked hub, or unblocking a followed one, changes nothing.
    let current = node
        .store()
        .standings()
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .into_iter()
        .find(|s| s.hub == hub.to_string())
        .map(|s| s.standing);
    let standing = match (action, current) {
        ("unfollow", Some(Standing::Blocked)) | ("unblock", Some(Standing::Followed)) => current,
        _ => standing,
    };
    node.set_standing(&hub, standing)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// `POST /api/v1/trust` (operator).
async fn trust_change(node: &Node, request: &Request) -> Result {
    let change: TrustChange = serde_json::from_slice(&request.body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the body must be {{\"action\": \"follow\", \"hub\": \"z6Mk…\"}}: {e}"),
        )
    })?;
    let worker = node.clone();
    let value = blocking(move || {
        let done = apply_trust_action(&worker, &change.action, &change.hub).map_err(
            |(status, code, message)| {
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    ApiError::internal(message)
                } else {
                    ApiError {
                        field: Some(
                            if code == "bad_parameter" && message.contains("trust action") {
                                "action"
                            } else {
                                "hub"
                            }
                            .to_owned(),
                        ),
                        ..ApiError::new(status, code, message)
                    }
                }
            },
        )?;
        let mut state = trust_json(&worker).map_err(ApiError::internal)?;
        state["changed"] = json!({"released": done.released, "held": done.held});
        Ok(state)
    })
    .await?;
    Ok(json_response(StatusCode::OK, &value))
}

/// Sign an endorsement (or a revocation) as this hub and publish it.
pub(crate) async fn endorse_as_operator(
    node: &Node,
    revoke: Option<&str>,
    request: Option<crate::trust::endorse::EndorseRequest>,
) -> std::result::Result<(SignedRecord, Inserted), crate::trust::endorse::EndorseError> {
    use crate::trust::endorse;
    let now = unix_now();
    let seq = crate::unix_now_ms();
    let body = match (revoke, request) {
        (Some(address), _) => {
            let address = endorse::parse_endorsement_address(address)?;
            let worker = node.clone();
            let own = node.hub_id();
            tokio::task::spawn_blocking(move || {
                endorse::revoke(worker.store(), own, &address, now, seq)
            })
            .await
            .map_err(|e| endorse::EndorseError::NotFound(e.to_string()))??
        }
        (None, Some(request)) => endorse::build(&request, node.hub_id(), now, seq)?,
        (None, None) => {
            return Err(endorse::EndorseError::Field {
                field: "type",
                message: "say what to endorse, or `revoke`".into(),
            });
        }
    };
    node.publish(body).await.map_err(|e| match e {
        PublishError::Record(e) => endorse::EndorseError::Record(e),
        PublishError::Node(e) => endorse::EndorseError::NotFound(e.to_string()),
    })
}

/// `POST /api/v1/endorse` (operator).
async fn endorse(node: &Node, request: &Request) -> Result {
    let mut map: serde_json::Map<String, Value> =
        serde_json::from_slice(&request.body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("the body must be a JSON object (see specs/http-api.yaml): {e}"),
            )
        })?;
    let revoke = match map.remove("revoke") {
        None => None,
        Some(Value::String(address)) if map.is_empty() => Some(address),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "`revoke` comes alone, with the address of the endorsement to withdraw as text",
            ));
        }
    };
    let parsed = match revoke {
        Some(_) => None,
        None => Some(
            serde_json::from_value::<crate::trust::endorse::EndorseRequest>(Value::Object(map))
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.to_string()))?,
        ),
    };
    match endorse_as_operator(node, revoke.as_deref(), parsed).await {
        Ok((record, inserted)) => Ok(outcome_response(&record, inserted)),
        Err(crate::trust::endorse::EndorseError::Record(e)) => Err(ApiError::record(&e)),
        Err(e @ crate::trust::endorse::EndorseError::NotFound(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            e.to_string(),
        )),
        Err(e) => Err(ApiError {
            field: e.field().map(str::to_owned),
            ..ApiError::new(StatusCode::BAD_REQUEST, "bad_parameter", e.to_string())
        }),
    }
}

/// The ranking for a territory (blocking: reads the store).
pub(crate) fn territory_report(
    node: &Node,
    territory: &Territory,
) -> std::result::Result<crate::trust::suggest::TerritoryReport, crate::node::NodeError> {
    let now = unix_now();
    let circle = node.circle()?;
    let catalogue = crate::trust::suggest::Catalogue::load(node.store(), now)?;
    Ok(crate::trust::suggest::suggest(
        &catalogue, &circle, territory,
    ))
}

/// `GET /api/v1/suggest?territory=dep:69`.
async fn suggest(node: &Node, request: &Request) -> Result {
    only_known(request, &["territory"])?;
    only_once(request, &["territory"])?;
    let text = request
        .param("territory")
        .ok_or_else(|| ApiError::param("territory", "give a territory: ?territory=dep:69"))?;
    let territory =
        Territory::parse(text).map_err(|e| ApiError::param("territory", e.to_string()))?;
    if territory == Territory::NATIONAL {
        return Err(ApiError::param(
            "territory",
            "choose a région, a département or a commune (FR covers everything)",
        ));
    }
    let worker = node.clone();
    let report =
        blocking(move || territory_report(&worker, &territory).map_err(ApiError::internal)).await?;
    Ok(json_response(StatusCode::OK, &report))
}
