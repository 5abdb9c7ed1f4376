//! What the UI test binaries share: a node with the sample catalogue,
//! running in-process on a loopback port (federation on loopback, no mdns),
//! stopped cleanly when dropped.
#![allow(dead_code)] // each test binary uses its part

use std::net::SocketAddr;
use std::time::Duration;

use essaim_node::catalogue;
use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::node::{Node, NodeError, TOKEN_FILE};
use essaim_node::store::Source;
use essaim_protocol::vocab::HubKind;
use essaim_protocol::{Kind, SignedRecord, Territory};

/// Bound on every wait for the network.
pub(crate) const NET_TIMEOUT: Duration = Duration::from_secs(10);

/// A running node with the sample catalogue.
pub(crate) struct SampleNode {
    /// Its HTTP address.
    pub(crate) addr: SocketAddr,
    /// The operator token.
    pub(crate) token: String,
    /// Its hub id, `did:key:z6Mk…`.
    pub(crate) hub: String,
    /// Number of records in the sample catalogue, and of its initiatives.
    pub(crate) sample_records: usize,
    pub(crate) sample_initiatives: usize,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), NodeError>>>,
    _dir: tempfile::TempDir,
}

impl SampleNode {
    /// Initialise a hub in a temporary directory, load the sample
    /// catalogue, index it, and serve it on `127.0.0.1:0`.
    pub(crate) fn spawn() -> SampleNode {
        SampleNode::spawn_with(|_| {})
    }

    /// [`SampleNode::spawn`], the configuration adjusted by `adjust` after
    /// the test defaults (open mode, loopback).
    pub(crate) fn spawn_with(adjust: impl FnOnce(&mut essaim_node::config::Config)) -> SampleNode {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::locate(Some(dir.path().join("hub"))).unwrap();
        let now = essaim_node::unix_now();
        let profile = HubProfile {
            name: Some("Ruche de test".into()),
            kind: HubKind::Ruche,
            territories: vec![Territory::parse("dep:69").unwrap()],
        };
        datadir::init(&data, profile, now).unwrap();
        // Federation on loopback only, and no mdns: tests never meet each other.
        let node = Node::open_with(&data, |config| {
            config.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
            config.mdns = false;
            // The sample catalogue's repositories are on the internet.
            config.mirror_enabled = false;
            // The sample catalogue's hubs are not followed: open mode
            // admits them (the trust tests cover web-of-trust).
            config.trust_mode = essaim_node::config::TrustMode::Open;
            // Low enough for a test to reach, above any sample hub's records.
            config.trust_quota_per_hour = 100;
            adjust(config);
        })
        .unwrap();
        let records: Vec<SignedRecord> = catalogue::sample(now)
            .unwrap()
            .into_iter()
            .flat_map(|hub| hub.records)
            .collect();
        let sample_records = records.len();
        let sample_initiatives = records
            .iter()
            .filter(|r| r.body().kind() == Kind::Initiative)
            .count();
        node.ingest_blocking(records.into_iter().map(|r| (r, Source::Import)).collect())
            .unwrap();
        node.index_now().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let hub = node.hub_id().to_string();
        let task = runtime.spawn(node.run(listener, async move {
            let _ = stopped.await;
        }));
        let token = std::fs::read_to_string(data.path(TOKEN_FILE))
            .unwrap()
            .trim()
            .to_owned();
        SampleNode {
            addr,
            token,
            hub,
            sample_records,
            sample_initiatives,
            runtime,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }
}

impl SampleNode {
    /// Stop the node and wait, within a bound, for it to stop cleanly
    /// (`None` if it was already stopped).
    pub(crate) fn stop(&mut self) -> Option<Result<(), String>> {
        let _ = self.stop.take()?.send(());
        let task = self.task.take()?;
        let outcome = self
            .runtime
            .block_on(async { tokio::time::timeout(NET_TIMEOUT, task).await });
        Some(match outcome {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("the node stopped with an error: {e}")),
            Ok(Err(e)) => Err(format!("the node's task failed: {e}")),
            Err(_) => Err(format!("the node did not stop within {NET_TIMEOUT:?}")),
        })
    }
}

impl Drop for SampleNode {
    fn drop(&mut self) {
        if let Some(Err(e)) = self.stop()
            && !std::thread::panicking()
        {
            panic!("{e}");
        }
    }
}

/// An HTTP client for tests: bounded, statuses as values, no redirects.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(NET_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent()
}

/// An HTTP answer, with the headers the tests look at.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) cache_control: Option<String>,
    /// `Allow` (405) and `WWW-Authenticate` (401), when present.
    pub(crate) allow: Option<String>,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) text: String,
}

/// Sends `method` (GET, HEAD, DELETE, POST or PUT) to `url` with `headers`
/// and, for POST and PUT, `body`; panics when no answer comes.
pub(crate) fn send(
    agent: &ureq::Agent,
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let result = match method {
        "GET" | "HEAD" | "DELETE" => {
            let mut request = match method {
                "GET" => agent.get(url),
                "HEAD" => agent.head(url),
                _ => agent.delete(url),
            };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        }
        "POST" | "PUT" => {
            let mut request = if method == "POST" {
                agent.post(url)
            } else {
                agent.put(url)
            };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body)
        }
        other => panic!("the test client does not send {other}"),
    };
    let response = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = response.status().as_u16();
    let content_type = header("content-type").unwrap_or_default();
    let cache_control = header("cache-control");
    let allow = header("allow");
    let www_authenticate = header("www-authenticate");
    let text = response
        .into_body()
        .read_to_string()
        .unwrap_or_else(|e| panic!("{method} {url}: reading the answer: {e}"));
    Reply {
        status,
        content_type,
        cache_control,
        allow,
        www_authenticate,
        text,
    }
}
