//! `/git/{hub}/{slug}/{repo}.git/…`: the mirrors served over git's smart
//! HTTP protocol, read-only, through `git http-backend` run as a CGI.
//!
//! Neither git2 nor gitoxide implements the server side of upload-pack, so
//! the request is handed to `git http-backend`. Only two requests are
//! served: `GET info/refs?service=git-upload-pack` and `POST
//! git-upload-pack`; pushes (`git-receive-pack`) get 403, the dumb protocol
//! and anything else 404. The repository's directory is built from a hub
//! id and two slugs that were parsed and then looked up in the store
//! ([`crate::mirror::Mirrors::path`]), never from the request's text: a path
//! with `%`, `..` or an unknown repository gets a 4xx before any process
//! starts.
//!
//! Both directions stream: the request body (gunzipped on the fly when the
//! client sent `Content-Encoding: gzip`, as git does above 1 KiB, capped at
//! [`MAX_REQUEST_BYTES`] decompressed) is piped into the CGI's stdin while
//! its stdout is streamed back; no pack is held in memory. The client's
//! `Git-Protocol` header is passed on as `GIT_PROTOCOL` (protocol v2).
//! At most `mirror.serve_concurrency` requests run at once; more get 503
//! with `Retry-After`. Each request has `mirror.serve_timeout_secs` in all:
//! past it, a request still waiting for the CGI's answer gets 504, one
//! already streaming is cut (the connection is reset, so the client sees an
//! error, never a short pack taken as whole), and in both cases the process
//! is killed and the slot freed.

use std::process::Stdio;

use bytes::Bytes;
use essaim_protocol::HubId;
use essaim_protocol::record::Slug;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use warp::Reply;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

use crate::node::Node;

/// Largest request body after decompression (the wants and haves of a
/// negotiation, not a pack: upload-pack requests are small).
pub const MAX_REQUEST_BYTES: u64 = 32 * 1024 * 1024;
/// Largest header block a CGI may write before its body.
const MAX_CGI_HEADER: usize = 64 * 1024;

/// The two requests served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `GET …/info/refs?service=git-upload-pack`.
    InfoRefs,
    /// `POST …/git-upload-pack`.
    UploadPack,
}

/// A parsed `/git/` request: which mirror, which service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitRequest {
    /// The initiative's hub.
    pub hub: HubId,
    /// The initiative's slug.
    pub slug: Slug,
    /// The repository's name.
    pub repo: Slug,
    /// The service.
    pub service: Service,
}

/// Parse a `/git/` path and query; the error is the status and a reason.
pub fn parse(
    method: &Method,
    path: &str,
    query: &str,
) -> Result<GitRequest, (StatusCode, &'static str)> {
    let bad = |reason| Err((StatusCode::BAD_REQUEST, reason));
    let Some(rest) = path.strip_prefix("/git/") else {
        return Err((StatusCode::NOT_FOUND, "not a /git/ path"));
    };
    // No percent-encoding at all: an encoded slash or dot must not become
    // a path separator anywhere downstream.
    if rest.contains('%') || rest.contains('\\') || rest.contains('\0') {
        return bad("encoded or escaped characters are not allowed in /git/ paths");
    }
    let parts: Vec<&str> = rest.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return bad("empty, `.` or `..` segments are not allowed in /git/ paths");
    }
    let [hub, slug, repo, service @ ..] = parts.as_slice() else {
        return Err((
            StatusCode::NOT_FOUND,
            "expected /git/{hub}/{slug}/{repo}.git/…",
        ));
    };
    let not_found = (StatusCode::NOT_FOUND, "no such repository on this node");
    // Hubs are written in their short form (`z6Mk…`), like everywhere in URLs.
    if !hub.starts_with('z') {
        return Err(not_found);
    }
    let hub = HubId::parse_lenient(hub).map_err(|_| not_found)?;
    let slug: Slug = slug.parse().map_err(|_| not_found)?;
    let repo: Slug = repo
        .strip_suffix(".git")
        .ok_or(not_found)?
        .parse()
        .map_err(|_| not_found)?;
    let push = (
        StatusCode::FORBIDDEN,
        "this node serves mirrors read-only: pushing is not possible",
    );
    let service = match (method, service) {
        (&Method::GET, ["info", "refs"]) => match query {
            "service=git-upload-pack" => Service::InfoRefs,
            "service=git-receive-pack" => return Err(push),
            _ => {
                return Err((
                    StatusCode::FORBIDDEN,
                    "only git's smart HTTP protocol is served (service=git-upload-pack)",
                ));
            }
        },
        (&Method::POST, ["git-upload-pack"]) => Service::UploadPack,
        (_, ["git-receive-pack"]) => return Err(push),
        (_, ["info", "refs"] | ["git-upload-pack"]) => {
            return Err((StatusCode::METHOD_NOT_ALLOWED, "wrong method for this path"));
        }
        _ => return Err((StatusCode::NOT_FOUND, "not a smart HTTP request")),
    };
    Ok(GitRequest {
        hub,
        slug,
        repo,
        service,
    })
}

fn plain(status: StatusCode, message: &str) -> Response {
    let mut response = warp::reply::with_status(format!("{message}\n"), status).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Serve a `/git/` request.
pub async fn serve<S, B>(
    node: &Node,
    method: Method,
    path: &str,
    query: &str,
    headers: HeaderMap,
    body: S,
) -> Response
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin + 'static,
    B: warp::Buf + Send + 'static,
{
    let request = match parse(&method, path, query) {
        Ok(r) => r,
        Err((status, message)) => return plain(status, message),
    };
    // Only a mirror this node knows and has fetched at least once.
    let worker = node.clone();
    let (hub, slug, repo) = (
        request.hub.short(),
        request.slug.to_string(),
        request.repo.to_string(),
    );
    let row = tokio::task::spawn_blocking(move || worker.store().mirror(&hub, &slug, &repo))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let dir = node
        .mirrors()
        .path(&request.hub, &request.slug, &request.repo);
    if row.is_none_or(|r| r.last_success.is_none()) || !dir.join("HEAD").is_file() {
        return plain(StatusCode::NOT_FOUND, "no such repository on this node");
    }
    let Ok(permit) = node.mirrors().serve_permits().clone().try_acquire_owned() else {
        let mut response = plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many clones at once on this node: retry in a few seconds",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    };
    let suffix = match request.service {
        Service::InfoRefs => "info/refs",
        Service::UploadPack => "git-upload-pack",
    };
    // `dir` is <root>/<hub>/<slug>/<repo>.git, from validated values.
    let root = dir
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.parent())
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let path_info = format!(
        "/{}/{}/{}.git/{suffix}",
        request.hub.short(),
        request.slug,
        request.repo
    );
    let limit = std::time::Duration::from_secs(node.config().mirror_serve_timeout_secs);
    backend(
        &root,
        &path_info,
        request.service,
        &method,
        &headers,
        body,
        (permit, limit),
    )
    .await
}

/// Run `git http-backend` for one smart-HTTP request on the repository at
/// `root` + `path_info` (both built from validated values by the caller),
/// streaming both ways. The slot's `permit` is held until the answer has
/// been sent or `limit` has passed since now, whichever comes first.
pub async fn backend<S, B>(
    root: &std::path::Path,
    path_info: &str,
    service: Service,
    method: &Method,
    headers: &HeaderMap,
    body: S,
    (permit, limit): (tokio::sync::OwnedSemaphorePermit, std::time::Duration),
) -> Response
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin + 'static,
    B: warp::Buf + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + limit;
    // The backend of the `git` that fetched the mirrors (not a distribution's
    // copy of another version).
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend");
    cmd.env_clear();
    if let Some(p) = std::env::var_os("PATH") {
        cmd.env("PATH", p);
    }
    cmd.env("GIT_PROJECT_ROOT", root)
        .env("PATH_INFO", path_info)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", "/nonexistent")
        .env("GIT_CONFIG_COUNT", "3")
        .env("GIT_CONFIG_KEY_0", "core.hooksPath")
        .env("GIT_CONFIG_VALUE_0", "/dev/null")
        .env("GIT_CONFIG_KEY_1", "http.receivepack")
        .env("GIT_CONFIG_VALUE_1", "false")
        .env("GIT_CONFIG_KEY_2", "uploadpack.allowFilter")
        .env("GIT_CONFIG_VALUE_2", "true")
        .env("REQUEST_METHOD", method.as_str())
        .env(
            "QUERY_STRING",
            if service == Service::InfoRefs {
                "service=git-upload-pack"
            } else {
                ""
            },
        )
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REMOTE_ADDR", "127.0.0.1");
    if let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        cmd.env("CONTENT_TYPE", content_type);
    }
    if let Some(protocol) = headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.len() <= 256
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=:._,-".contains(&b))
        })
    {
        cmd.env("GIT_PROTOCOL", protocol);
    }
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
    {
        None => false,
        Some("gzip" | "x-gzip") => true,
        Some(_) => {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request bodies may only be gzip-encoded",
            );
        }
    };
    cmd.stdin(if *method == Method::POST {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot run git http-backend");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this node cannot serve git right now (git http-backend is missing)",
            );
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let stream = body.map(|chunk| {
                chunk
                    .map(|mut b| b.copy_to_bytes(b.remaining()))
                    .map_err(std::io::Error::other)
            });
            let reader = tokio_util::io::StreamReader::new(stream);
            let mut input: Box<dyn AsyncRead + Send + Unpin> = if gzip {
                Box::new(async_compression::tokio::bufread::GzipDecoder::new(reader))
            } else {
                Box::new(reader)
            };
            let mut limited = (&mut input).take(MAX_REQUEST_BYTES);
            match tokio::time::timeout_at(deadline, tokio::io::copy(&mut limited, &mut stdin)).await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "git request body ended early"),
                Err(_) => tracing::info!("git request body still coming at the time limit: cut"),
            }
            let _ = stdin.shutdown().await;
        });
    }
    let Some(mut stdout) = child.stdout.take() else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "git http-backend gave no output",
        );
    };
    // The CGI's header block, then its body as it comes.
    let mut head = Vec::with_capacity(1024);
    let split = loop {
        if let Some(i) = find_header_end(&head) {
            break i;
        }
        if head.len() > MAX_CGI_HEADER {
            return plain(StatusCode::BAD_GATEWAY, "git http-backend answered garbage");
        }
        let mut buf = [0u8; 8192];
        match tokio::time::timeout_at(deadline, stdout.read(&mut buf)).await {
            Err(_) => {
                tracing::info!(
                    limit_secs = limit.as_secs(),
                    "git request without an answer at the time limit: cut"
                );
                return plain(
                    StatusCode::GATEWAY_TIMEOUT,
                    "this git request took longer than this node allows (mirror.serve_timeout_secs): it was stopped",
                );
            }
            Ok(Ok(0) | Err(_)) => {
                return plain(
                    StatusCode::BAD_GATEWAY,
                    "git http-backend ended without an answer",
                );
            }
            Ok(Ok(n)) => head.extend_from_slice(&buf[..n]),
        }
    };
    let (header_end, body_start) = split;
    let rest = Bytes::copy_from_slice(&head[body_start..]);
    let mut status = StatusCode::OK;
    let mut out_headers = HeaderMap::new();
    for line in String::from_utf8_lossy(&head[..header_end]).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY);
        } else if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out_headers.append(name, value);
        }
    }
    let tail = tokio_util::io::ReaderStream::new(stdout);
    let answer = Box::pin(
        futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(rest) }).chain(tail),
    );
    // The process and the permit live as long as the stream, and no longer
    // than the deadline: a watchdog drops them then (killing the process,
    // freeing the slot) even if the client stopped reading and hyper no
    // longer polls the stream. The stream then ends on an error, so hyper
    // resets the connection instead of ending a short answer cleanly.
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some((child, permit))));
    let watched = std::sync::Arc::downgrade(&slot);
    tokio::spawn(async move {
        tokio::time::sleep_until(deadline).await;
        let taken = watched
            .upgrade()
            .and_then(|slot| slot.lock().ok().and_then(|mut s| s.take()));
        if taken.is_some() {
            tracing::info!(
                limit_secs = limit.as_secs(),
                "git answer still streaming at the time limit: cut"
            );
        }
    });
    let stream = futures_util::stream::unfold(Some((answer, slot)), move |state| async move {
        let (mut answer, slot) = state?;
        let next = tokio::select! {
            biased;
            () = tokio::time::sleep_until(deadline) => None,
            chunk = answer.next() => Some(chunk),
        };
        match next {
            Some(Some(chunk)) => Some((chunk, Some((answer, slot)))),
            Some(None) if tokio::time::Instant::now() < deadline => None,
            _ => {
                drop(slot);
                let cut = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "mirror.serve_timeout_secs reached",
                );
                Some((Err(cut), None))
            }
        }
    });
    let mut response = warp::reply::stream(stream).into_response();
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}

/// Where the CGI header block ends: (end of headers, start of body).
fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some((i, i + 4));
    }
    buf.windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_refused() {
        let hub = essaim_protocol::HubKey::from_seed(&[7; 32])
            .hub_id()
            .short();
        let hub = hub.as_str();
        let get = Method::GET;
        let post = Method::POST;
        let refs = "service=git-upload-pack";
        for (method, path, query, status) in [
            (&get, format!("/git/{hub}/s/r.git/../../etc"), refs, 400),
            (
                &get,
                format!("/git/{hub}/s/..%2f..%2fr.git/info/refs"),
                refs,
                400,
            ),
            (&get, format!("/git/{hub}/s%2fx/r.git/info/refs"), refs, 400),
            (&get, format!("/git/{hub}//r.git/info/refs"), refs, 400),
            (
                &get,
                format!("/git/{hub}/s/r.git/info/refs"),
                "service=git-receive-pack",
                403,
            ),
            (
                &post,
                format!("/git/{hub}/s/r.git/git-receive-pack"),
                "",
                403,
            ),
            (&get, format!("/git/{hub}/s/r.git/info/refs"), "", 403),
            (&get, format!("/git/{hub}/s/r.git/HEAD"), "", 404),
            (
                &get,
                format!("/git/{hub}/s/r.git/objects/info/packs"),
                "",
                404,
            ),
            (&get, format!("/git/{hub}/s/r/info/refs"), refs, 404),
            (&get, format!("/git/{hub}/S/r.git/info/refs"), refs, 404),
            (&get, format!("/git/{hub}/s/.git.git/info/refs"), refs, 404),
            (
                &get,
                "/git/did:key:x/s/r.git/info/refs".to_owned(),
                refs,
                404,
            ),
            (&get, "/git/zzz/s/r.git/info/refs".to_owned(), refs, 404),
            (&post, format!("/git/{hub}/s/r.git/info/refs"), refs, 405),
            (&get, format!("/git/{hub}/s/r.git/git-upload-pack"), "", 405),
        ] {
            let got = parse(method, &path, query).map(|_| ()).unwrap_err().0;
            assert_eq!(got.as_u16(), status, "{method} {path}?{query}");
        }
        let ok = parse(&get, &format!("/git/{hub}/s/r.git/info/refs"), refs).unwrap();
        assert_eq!(ok.service, Service::InfoRefs);
        let ok = parse(&post, &format!("/git/{hub}/s/r-2.git/git-upload-pack"), "").unwrap();
        assert_eq!((ok.service, ok.repo.as_str()), (Service::UploadPack, "r-2"));
    }
}
