//! The UI's assets, embedded in the binary: one style sheet (assembled from
//! the files under `node/assets/`, one per area of the UI) and one script.
//! Served with long-lived caching; pages refer to them with a content hash
//! in the URL, so a new binary never meets a stale copy.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

/// The style sheet: the base, then each area's rules.
const CSS: &str = concat!(
    include_str!("../../../assets/base.css"),
    include_str!("../../../assets/search.css"),
    include_str!("../../../assets/pages.css"),
);

/// The script (progressive enhancement only).
const JS: &str = include_str!("../../../assets/app.js");

/// An embedded asset.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
    },
];

/// `/assets/NAME?v=HASH` for an asset (the hash busts caches on upgrade).
pub(crate) fn url(name: &str) -> String {
    static HASHES: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let hashes = HASHES.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.body.as_bytes());
                let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
                (a.name, hex)
            })
            .collect()
    });
    let hash = hashes
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, h)| h.as_str());
    format!("/assets/{name}?v={hash}")
}

/// Serve `/assets/{name}`.
pub(super) fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        let mut response = Response::new("no such asset\n".into());
        *response.status_mut() = StatusCode::NOT_FOUND;
        super::security_headers(&mut response);
        return response;
    };
    let mut response = Response::new(asset.body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    super::security_headers(&mut response);
    response
}
