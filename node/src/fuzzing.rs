//! Entry points for the fuzz targets (`fuzz/`): the node's parsers of
//! hostile input, reached the way the node reaches them, without a running
//! node. Not a stable API.
//!
//! publiccode.yml import ([`crate::import::publiccode::parse_bytes`]), the
//! search index ([`crate::index::SearchIndex::open_in_ram`] and
//! [`crate::index::SearchIndex::search`]) and the sync protocol's
//! reconciliation ([`crate::p2p::sync`]) are public already; what is private
//! to the HTTP layer or the swarm is forwarded here.

use std::io;

use libp2p::StreamProtocol;
use libp2p::futures::executor::block_on;
use libp2p::request_response::Codec;

use crate::index::SearchRequest;
use crate::p2p::codec::SyncCodec;
use crate::p2p::sync::{SYNC_PROTOCOL, SyncRequest, SyncResponse};

/// The query string's pairs, as the HTTP server splits them (at most
/// [`crate::web::MAX_QUERY_PARAMS`] + 1 of them).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    crate::web::fuzz_hooks::parse_query(query)
}

/// What the search page makes of a query string.
#[derive(Debug)]
pub struct PageSearch {
    /// The request the page sends to the index.
    pub request: SearchRequest,
    /// The page's own link (`/?q=…&theme=…`), which must read back the same.
    pub href: String,
    /// Parameters dropped with a message to the visitor.
    pub problems: usize,
}

/// The search page's reading of a query string (`q=velo&theme=mobilite`).
pub fn page_search(query: &str) -> PageSearch {
    let (request, href, problems) = crate::web::fuzz_hooks::search_page_params(&query_pairs(query));
    PageSearch {
        request,
        href,
        problems,
    }
}

/// An API error as the client sees it: status, stable code and parameter.
#[derive(Debug)]
pub struct ApiRefusal {
    /// The HTTP status (4xx for bad parameters).
    pub status: u16,
    /// The stable error code.
    pub code: &'static str,
    /// The parameter at fault.
    pub field: Option<String>,
}

/// The JSON API's reading of a search query string (`/api/v1/search?…`).
pub fn api_search(query: &str) -> Result<SearchRequest, ApiRefusal> {
    let request = crate::web::Request {
        method: warp::http::Method::GET,
        segments: vec!["api".into(), "v1".into(), "search".into()],
        query: query_pairs(query),
        headers: warp::http::HeaderMap::new(),
        body: bytes::Bytes::new(),
    };
    crate::web::fuzz_hooks::search_request_or_error(&request).map_err(|(status, code, field)| {
        ApiRefusal {
            status: status.as_u16(),
            code,
            field,
        }
    })
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new(SYNC_PROTOCOL)
}

/// A sync request frame decoded by the swarm's codec (size limit included).
pub fn read_sync_request(frame: &[u8]) -> io::Result<SyncRequest> {
    let mut io = libp2p::futures::io::Cursor::new(frame);
    match block_on(SyncCodec::default().read_request(&protocol(), &mut io))? {
        Ok(request) => Ok(request),
        Err(bad) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{bad:?}"),
        )),
    }
}

/// A sync response frame decoded by the swarm's codec.
pub fn read_sync_response(frame: &[u8]) -> io::Result<SyncResponse> {
    let mut io = libp2p::futures::io::Cursor::new(frame);
    block_on(SyncCodec::default().read_response(&protocol(), &mut io))
}

/// A sync request encoded by the swarm's codec.
pub fn write_sync_request(request: SyncRequest) -> io::Result<Vec<u8>> {
    let mut io = libp2p::futures::io::Cursor::new(Vec::new());
    block_on(SyncCodec::default().write_request(&protocol(), &mut io, Ok(request)))?;
    Ok(io.into_inner())
}

/// A sync response encoded by the swarm's codec.
pub fn write_sync_response(response: SyncResponse) -> io::Result<Vec<u8>> {
    let mut io = libp2p::futures::io::Cursor::new(Vec::new());
    block_on(SyncCodec::default().write_response(&protocol(), &mut io, response))?;
    Ok(io.into_inner())
}
