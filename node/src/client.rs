//! Talking to the node of a data directory: over HTTP when one is running on
//! it (its store and index belong to that process), else in-process.
//!
//! Both ways answer the same JSON API (`specs/http-api.yaml`), so a command
//! reads the same answer whether or not `essaim run` is up.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use warp::http::{HeaderMap, HeaderValue, Method, header};

use crate::datadir::DataDir;
use crate::node::{Node, NodeError, TOKEN_FILE, running_node};

/// Why a request could not be made.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be opened.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The running node did not answer.
    #[error(
        "the node at {address} does not answer ({reason}): is `essaim run` still up? If not, remove its stale node.json"
    )]
    Unreachable {
        /// Its address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The operator token could not be read.
    #[error("cannot read the operator token {path}: {reason}")]
    Token {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The node behind a data directory.
pub enum NodeApi {
    /// A node running in another process, reached over HTTP.
    Remote {
        /// Its HTTP address.
        address: std::net::SocketAddr,
        /// The operator token (for publishing).
        token: String,
        /// The HTTP agent.
        agent: ureq::Agent,
    },
    /// The node opened in this process.
    Local {
        /// The node.
        node: Node,
        /// A runtime to run its async API on.
        runtime: tokio::runtime::Runtime,
    },
}

impl NodeApi {
    /// Reach the node of `data`: the running one if any, else open it here.
    pub fn connect(data: &DataDir) -> Result<NodeApi, ClientError> {
        if let Some(address) = running_node(data) {
            let path = data.path(TOKEN_FILE);
            let token = std::fs::read_to_string(&path)
                .map_err(|e| ClientError::Token {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?
                .trim()
                .to_owned();
            let agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(60)))
                .http_status_as_error(false)
                .build()
                .new_agent();
            return Ok(NodeApi::Remote {
                address,
                token,
                agent,
            });
        }
        let node = Node::open(data)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NodeError::Io {
                what: "cannot start a runtime for",
                path: data.root().display().to_string(),
                source: e,
            })?;
        Ok(NodeApi::Local { node, runtime })
    }

    /// Whether a node runs in another process.
    pub fn is_remote(&self) -> bool {
        matches!(self, NodeApi::Remote { .. })
    }

    /// The local node, when there is no running one.
    pub fn local(&self) -> Option<&Node> {
        match self {
            NodeApi::Local { node, .. } => Some(node),
            NodeApi::Remote { .. } => None,
        }
    }

    /// `GET path_and_query`: the HTTP status and the JSON answer.
    pub fn get(&self, path_and_query: &str) -> Result<(u16, Value), ClientError> {
        self.request(Method::GET, path_and_query, None, None)
    }

    /// `POST path` with a body of the given content type (and the operator
    /// token when `operator`).
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        operator: bool,
    ) -> Result<(u16, Value), ClientError> {
        self.request(
            Method::POST,
            path,
            Some((content_type, body)),
            Some(operator),
        )
    }

    fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(&str, Vec<u8>)>,
        operator: Option<bool>,
    ) -> Result<(u16, Value), ClientError> {
        match self {
            NodeApi::Local { node, runtime } => {
                let mut headers = HeaderMap::new();
                let mut bytes = Bytes::new();
                if let Some((content_type, body)) = body {
                    if let Ok(value) = HeaderValue::from_str(content_type) {
                        headers.insert(header::CONTENT_TYPE, value);
                    }
                    bytes = Bytes::from(body);
                }
                if operator == Some(true) {
                    // In-process, the caller is the operator: it can read the key.
                    node.authorise_in_process(&mut headers);
                }
                let (status, value) = runtime.block_on(crate::web::call(
                    node,
                    method,
                    path_and_query,
                    headers,
                    bytes,
                ));
                Ok((status.as_u16(), value))
            }
            NodeApi::Remote {
                address,
                token,
                agent,
            } => {
                let url = format!("http://{address}{path_and_query}");
                let unreachable = |e: ureq::Error| ClientError::Unreachable {
                    address: address.to_string(),
                    reason: e.to_string(),
                };
                let response = match body {
                    None => agent.get(&url).call().map_err(unreachable)?,
                    Some((content_type, body)) => {
                        let mut post = agent.post(&url).header("Content-Type", content_type);
                        if operator == Some(true) {
                            post = post.header("Authorization", &format!("Bearer {token}"));
                        }
                        post.send(&body[..]).map_err(unreachable)?
                    }
                };
                let status = response.status().as_u16();
                let text = response.into_body().read_to_string().map_err(unreachable)?;
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                Ok((status, value))
            }
        }
    }
}
