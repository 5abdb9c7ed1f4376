//! The in-process multi-node harness: real nodes (store, index, HTTP,
//! libp2p on 127.0.0.1, port 0), each in a temporary data directory, in the
//! test's own tokio runtime. mdns is off so that concurrent tests never
//! find each other; nodes meet only through the addresses a test gives.
//!
//! Every wait that depends on the network is bounded ([`NET_TIMEOUT`] or the
//! caller's own bound) and fails the test with what it waited for.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::node::{Node, NodeError};
use essaim_node::p2p::libp2p::request_response::{self, ProtocolSupport};
use essaim_node::p2p::libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use essaim_node::p2p::libp2p::{
    self, Multiaddr, PeerId, StreamProtocol, Swarm, gossipsub, identity, multiaddr::Protocol,
    noise, tcp, yamux,
};
use essaim_node::p2p::sync::SYNC_PROTOCOL;
use essaim_node::p2p::{P2pHandle, RECORDS_TOPIC, SyncStatus};
use essaim_protocol::vocab::HubKind;
use essaim_protocol::{Body, HubKey, SignedRecord, Territory};
use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The bound on any single wait for the network.
pub const NET_TIMEOUT: Duration = Duration::from_secs(30);

struct Running {
    node: Node,
    http: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), NodeError>>,
}

/// One node of a test network. Stopped (cleanly, within a bound) on drop;
/// its data directory lives as long as the value, across restarts.
pub struct TestNode {
    /// The node's data directory.
    pub data: DataDir,
    /// The node's name (its hub record's).
    pub name: String,
    /// Whether it dials the peers kad finds (off keeps a test's topology).
    pub discover: bool,
    /// A fixed libp2p port, announced in its hub record (else port 0).
    pub port: Option<u16>,
    /// Whether it listens for direct connections (off: a hub behind NAT,
    /// reachable only through a relay).
    pub listens: bool,
    /// More `[p2p]` configuration lines (e.g. `relay_server = true`).
    pub p2p_extra: String,
    /// Listen on the in-process memory transport (`/memory/N`) instead of
    /// TCP: for simulations with many nodes in one process.
    pub memory: Option<u64>,
    /// The `[trust]` section of its configuration (default [`OPEN_TRUST`]).
    pub trust: String,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

/// The default `[trust]` section of test nodes: open mode, quotas far above
/// what tests send (records flow freely between test nodes).
pub const OPEN_TRUST: &str = "mode = \"open\"\nquota_per_hour = 1000000\nquota_total = 1000000\n";

/// Configuration text for a test node: loopback only, no mdns; with a fixed
/// port, the node also announces its address in its hub record.
fn config_text(node: &TestNode, bootstrap: &[Multiaddr]) -> String {
    let list: Vec<String> = bootstrap.iter().map(|m| format!("\"{m}\"")).collect();
    let address = match node.memory {
        Some(port) => format!("/memory/{port}"),
        None => format!("/ip4/127.0.0.1/tcp/{}", node.port.unwrap_or(0)),
    };
    let listen = if node.listens {
        format!("[\"{address}\"]")
    } else {
        "[]".into()
    };
    let announce = match node.port {
        Some(_) => format!("[\"{address}\"]"),
        None => "[]".into(),
    };
    format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[p2p]\nlisten = {listen}\nannounce = {announce}\nmdns = false\ndiscover = {}\nbootstrap = [{}]\n{}\n[trust]\n{}[mirror]\nenabled = false\n",
        node.discover,
        list.join(", "),
        node.p2p_extra,
        node.trust,
    )
}

impl TestNode {
    /// Create a hub in a fresh temporary data directory and start its node,
    /// dialling `bootstrap`.
    pub async fn spawn(name: &str, bootstrap: &[Multiaddr]) -> TestNode {
        TestNode::spawn_with(name, bootstrap, true).await
    }

    /// [`TestNode::spawn`], choosing whether the node dials the peers kad
    /// finds (off: it stays connected to exactly the peers the test chose).
    pub async fn spawn_with(name: &str, bootstrap: &[Multiaddr], discover: bool) -> TestNode {
        TestNode::spawn_trusting(name, bootstrap, discover, OPEN_TRUST).await
    }

    /// [`TestNode::spawn_with`], with this `[trust]` section (`trust` is the
    /// section's body, e.g. `mode = "web-of-trust"\n`).
    pub async fn spawn_trusting(
        name: &str,
        bootstrap: &[Multiaddr],
        discover: bool,
        trust: &str,
    ) -> TestNode {
        let mut node = TestNode::create(name, discover).await;
        node.trust = trust.to_owned();
        node.start(bootstrap).await;
        node
    }

    /// A hub in a fresh temporary data directory, not started: set its
    /// fields, then [`TestNode::start`] it.
    pub async fn create(name: &str, discover: bool) -> TestNode {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = DataDir::locate(Some(dir.path().join("hub"))).expect("a data directory");
        let profile = HubProfile {
            name: Some(name.to_owned()),
            kind: HubKind::Ruche,
            territories: vec![Territory::parse("dep:69").expect("a territory")],
        };
        let init_data = data.clone();
        tokio::task::spawn_blocking(move || {
            datadir::init(&init_data, profile, essaim_node::unix_now())
        })
        .await
        .expect("init ran")
        .expect("init succeeded");
        TestNode {
            data,
            name: name.to_owned(),
            discover,
            port: None,
            listens: true,
            p2p_extra: String::new(),
            memory: None,
            trust: OPEN_TRUST.to_owned(),
            running: None,
            _dir: dir,
        }
    }

    /// A node on a fixed free port that it announces in its hub record
    /// (`p2p.announce`), kad discovery off.
    pub async fn spawn_announcing(name: &str, bootstrap: &[Multiaddr]) -> TestNode {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut node = TestNode::create(name, false).await;
        node.port = Some(port);
        node.start(bootstrap).await;
        node
    }

    /// Start (or restart) the node on its data directory.
    pub async fn start(&mut self, bootstrap: &[Multiaddr]) {
        assert!(self.running.is_none(), "{} already runs", self.name);
        std::fs::write(
            self.data.path(datadir::CONFIG_FILE),
            config_text(self, bootstrap),
        )
        .expect("config written");
        let data = self.data.clone();
        let node = tokio::task::spawn_blocking(move || Node::open(&data))
            .await
            .expect("open ran")
            .expect("the node opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("an HTTP port");
        let http = listener.local_addr().expect("a bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(node.clone().run(listener, async move {
            let _ = stopped.await;
        }));
        // Wait for federation to start; a node that stops instead says why.
        let started = Instant::now();
        while node.p2p().is_none() {
            if task.is_finished() {
                let outcome = task.await;
                panic!("{} stopped while starting: {outcome:?}", self.name);
            }
            assert!(
                started.elapsed() < NET_TIMEOUT,
                "timed out after {NET_TIMEOUT:?} waiting for {} to start federation",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.running = Some(Running {
            node,
            http,
            stop,
            task,
        });
        // Wait until the swarm listens, so that others can dial it.
        self.addr().await;
    }

    /// Stop the node cleanly (within [`NET_TIMEOUT`]); the data stays.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.stop.send(());
        match tokio::time::timeout(NET_TIMEOUT, running.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("{} stopped with an error: {e}", self.name),
            Ok(Err(e)) => panic!("{}'s task failed: {e}", self.name),
            Err(_) => panic!("{} did not stop within {NET_TIMEOUT:?}", self.name),
        }
    }

    fn running(&self) -> &Running {
        self.running
            .as_ref()
            .unwrap_or_else(|| panic!("{} is stopped", self.name))
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.running().node
    }

    /// Where its HTTP server answers.
    pub fn http(&self) -> SocketAddr {
        self.running().http
    }

    /// Its federation handle.
    pub fn p2p(&self) -> P2pHandle {
        self.node().p2p().expect("a running node has federation")
    }

    /// Its peer id.
    pub fn peer_id(&self) -> PeerId {
        self.p2p().peer_id()
    }

    /// Its libp2p address, `/ip4/127.0.0.1/tcp/N/p2p/12D3…` (waits for the
    /// swarm to listen).
    pub async fn addr(&self) -> Multiaddr {
        let p2p = self.p2p();
        let address = wait_for(&format!("{} to listen", self.name), NET_TIMEOUT, || {
            let p2p = p2p.clone();
            async move { p2p.listen_addrs().into_iter().next() }
        })
        .await;
        if address.iter().last() == Some(Protocol::P2p(p2p.peer_id())) {
            address
        } else {
            address.with(Protocol::P2p(p2p.peer_id()))
        }
    }

    /// Dial another node and wait until the connection is up.
    pub async fn connect(&self, other: &TestNode) {
        let address = other.addr().await;
        let peer = other.peer_id();
        self.p2p().dial(address).expect("federation runs");
        let p2p = self.p2p();
        wait_for(
            &format!("{} to connect to {}", self.name, other.name),
            NET_TIMEOUT,
            || {
                let p2p = p2p.clone();
                async move {
                    p2p.peers()
                        .iter()
                        .any(|p| p.peer_id == peer.to_string())
                        .then_some(())
                }
            },
        )
        .await;
    }

    /// Its federation status (with the head-set digest).
    pub async fn status(&self) -> SyncStatus {
        self.p2p().status(self.node()).await
    }

    /// Publish a new initiative as this hub; returns the signed record.
    pub async fn publish(&self, slug: &str) -> SignedRecord {
        let body = initiative_body(&self.node().hub_id().to_string(), slug, 1);
        let (record, _) = self.node().publish(body).await.expect("published");
        record
    }

    /// Whether the store holds the record with this id.
    pub async fn has(&self, record: &SignedRecord) -> bool {
        let node = self.node().clone();
        let id = record.id();
        tokio::task::spawn_blocking(move || node.store().get(&id).ok().flatten().is_some())
            .await
            .unwrap_or(false)
    }

    /// Whether a search for `query` finds the initiative at `slug`.
    pub async fn finds(&self, query: &str, slug: &str) -> bool {
        let url = format!(
            "http://{}/api/v1/search?q={}",
            self.http(),
            query.replace(' ', "+")
        );
        let slug = slug.to_owned();
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::new_with_defaults();
            let Ok(mut response) = agent.get(&url).call() else {
                return false;
            };
            let Ok(text) = response.body_mut().read_to_string() else {
                return false;
            };
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                return false;
            };
            value["hits"]
                .as_array()
                .is_some_and(|hits| hits.iter().any(|h| h["slug"] == slug.as_str()))
        })
        .await
        .unwrap_or(false)
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            running.task.abort();
        }
    }
}

/// A deterministic choice in `0..n` from a seed (benchmarks pick the same
/// nodes run after run).
pub fn pick(seed: u64, n: usize) -> usize {
    use sha2::Digest;
    let h = sha2::Sha256::digest(seed.to_be_bytes());
    (u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % n as u64) as usize
}

/// Hand `record` to node `from` as a client would (it is gossiped once its
/// transaction commits), then poll every node until each stores it or
/// `bound` passes: per node, the milliseconds from the hand-over to the
/// record being there (`None`: not within the bound).
pub async fn spread(
    nodes: &[TestNode],
    from: usize,
    record: &SignedRecord,
    bound: Duration,
) -> Vec<Option<f64>> {
    let start = Instant::now();
    nodes[from]
        .node()
        .ingest(vec![(record.clone(), essaim_node::store::Source::Http)])
        .await
        .expect("stored");
    let mut arrived: Vec<Option<f64>> = vec![None; nodes.len()];
    arrived[from] = Some(0.0);
    while arrived.iter().any(Option::is_none) && start.elapsed() < bound {
        for (i, node) in nodes.iter().enumerate() {
            if arrived[i].is_none() && node.has(record).await {
                arrived[i] = Some(start.elapsed().as_secs_f64() * 1_000.0);
            }
        }
    }
    arrived
}

/// The body of a test initiative by `author` (a hub id), searchable by its
/// slug's words.
pub fn initiative_body(author: &str, slug: &str, seq: u64) -> Body {
    let now = essaim_node::unix_now();
    Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": author, "slug": slug,
        "seq": seq, "created": now - 5,
        "name": format!("Initiative {}", slug.replace('-', " ")),
        "summary": {"fr": "Une initiative de test qui voyage de hub en hub."},
        "themes": ["culture"], "origin": "com:69123", "stage": "experimentation",
    }))
    .expect("a valid test initiative")
}

/// A signed test initiative of `key`, created at `created`.
pub fn initiative(key: &HubKey, slug: &str, created: u64) -> SignedRecord {
    let body = Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": key.hub_id().to_string(), "slug": slug,
        "seq": created * 1000, "created": created,
        "name": format!("Initiative {}", slug.replace('-', " ")),
        "summary": {"fr": "Une initiative de test qui voyage de hub en hub."},
        "themes": ["culture"], "origin": "com:69123", "stage": "experimentation",
    }))
    .expect("a valid test initiative");
    essaim_protocol::sign(body, key, essaim_node::unix_now()).expect("signed")
}

/// Start `n` nodes named `node-0`…; each dials the previous one, and only
/// it (a line: kad discovery is off).
pub async fn line(n: usize) -> Vec<TestNode> {
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let bootstrap = match nodes.last() {
            Some(previous) => vec![previous.addr().await],
            None => Vec::new(),
        };
        nodes.push(TestNode::spawn_with(&format!("node-{i}"), &bootstrap, false).await);
    }
    for pair in nodes.windows(2) {
        let peer = pair[0].peer_id().to_string();
        let p2p = pair[1].p2p();
        wait_for(
            &format!("{} to connect to {}", pair[1].name, pair[0].name),
            NET_TIMEOUT,
            || {
                let p2p = p2p.clone();
                let peer = peer.clone();
                async move { p2p.peers().iter().any(|p| p.peer_id == peer).then_some(()) }
            },
        )
        .await;
    }
    nodes
}

/// Poll `check` every 50 ms until it gives a value, within `within`; panics
/// naming `what` otherwise.
pub async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > within {
            panic!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A bare libp2p peer (TCP, noise, yamux, a fresh identity) around the
/// behaviour `make` builds: a test's hostile peer, which keeps none of the
/// node's rules.
pub fn bare_swarm<B>(make: impl FnOnce(&identity::Keypair) -> B) -> Swarm<B>
where
    B: NetworkBehaviour,
{
    libp2p::SwarmBuilder::with_existing_identity(identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("a TCP transport")
        .with_behaviour(make)
        .expect("a behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// A gossipsub behaviour subscribed to the records topic that validates
/// nothing and sends messages up to `max_transmit` bytes.
pub fn bare_gossipsub(max_transmit: usize) -> gossipsub::Behaviour {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .max_transmit_size(max_transmit)
        .message_id_fn(|m: &gossipsub::Message| {
            use sha2::Digest;
            gossipsub::MessageId::new(&sha2::Sha256::digest(&m.data))
        })
        .heartbeat_interval(Duration::from_millis(500))
        .build()
        .expect("a gossipsub configuration");
    let mut behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
            .expect("a gossipsub behaviour");
    behaviour
        .subscribe(&gossipsub::IdentTopic::new(RECORDS_TOPIC))
        .expect("subscribed");
    behaviour
}

/// Drive a hostile gossip peer (already dialling): every `every`, publish
/// the messages `round` makes (`round(n)` for the n-th round; the count
/// starts again at 1 when a publish fails, e.g. before the node
/// subscribed), until the node closes its last connection after something
/// was sent, or `within` passes. The task gives whether the node cut it;
/// the counter counts messages published.
pub fn spawn_gossip_until_cut(
    mut swarm: Swarm<gossipsub::Behaviour>,
    every: Duration,
    within: Duration,
    mut round: impl FnMut(u32) -> Vec<Vec<u8>> + Send + 'static,
) -> (Arc<AtomicUsize>, JoinHandle<bool>) {
    use futures_util::StreamExt;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let topic = gossipsub::IdentTopic::new(RECORDS_TOPIC);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut n = 0u32;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            tokio::select! {
                event = swarm.select_next_some() => {
                    if let SwarmEvent::ConnectionClosed { num_established: 0, .. } = event
                        && counter.load(Ordering::Relaxed) > 0
                    {
                        return true;
                    }
                }
                _ = tick.tick() => {
                    n += 1;
                    for bytes in round(n) {
                        match swarm.behaviour_mut().publish(topic.clone(), bytes) {
                            Ok(_) => { counter.fetch_add(1, Ordering::Relaxed); }
                            Err(_) => { n = 0; break; }
                        }
                    }
                }
            }
        }
        false
    });
    (sent, task)
}

/// A request-response codec that sends and receives raw bytes: a hostile
/// peer's way to put any frame on `/essaim/sync/1`.
#[derive(Clone, Default)]
pub struct RawCodec;

/// Largest answer a [`RawCodec`] reads.
const RAW_MAX: u64 = 64 << 20;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut frame = Vec::new();
        io.take(RAW_MAX).read_to_end(&mut frame).await?;
        Ok(frame)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut frame = Vec::new();
        io.take(RAW_MAX).read_to_end(&mut frame).await?;
        if frame.is_empty() {
            // Every answer of the protocol is at least one byte: the node
            // closed the stream without answering.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream closed without an answer",
            ));
        }
        Ok(frame)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&response).await
    }
}

/// A bare peer that speaks `/essaim/sync/1` with raw frames.
pub fn raw_sync_peer() -> Swarm<request_response::Behaviour<RawCodec>> {
    bare_swarm(|_| {
        request_response::Behaviour::with_codec(
            RawCodec,
            [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(NET_TIMEOUT),
        )
    })
}

/// What became of one raw sync request.
#[derive(Debug)]
pub enum RawOutcome {
    /// The node answered these bytes.
    Answer(Vec<u8>),
    /// The request failed (the node reset the stream or the connection).
    Failed(String),
}

/// Dial `address` (if not connected) and send `frame` as one sync request;
/// waits for its answer or failure within [`NET_TIMEOUT`]. `None` when the
/// peer could not even connect (it is banned).
pub async fn raw_request(
    swarm: &mut Swarm<request_response::Behaviour<RawCodec>>,
    address: &Multiaddr,
    frame: Vec<u8>,
) -> Option<RawOutcome> {
    use futures_util::StreamExt;
    let Some(Protocol::P2p(peer)) = address.iter().last() else {
        panic!("{address} names no peer");
    };
    if !swarm.is_connected(&peer) {
        swarm.dial(address.clone()).expect("a dial starts");
        let connected = tokio::time::timeout(NET_TIMEOUT, async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == peer => {
                        return true;
                    }
                    SwarmEvent::OutgoingConnectionError { .. } => return false,
                    _ => {}
                }
            }
        })
        .await
        .expect("a dial ends within the bound");
        if !connected {
            return None;
        }
    }
    let id = swarm.behaviour_mut().send_request(&peer, frame);
    let outcome = tokio::time::timeout(NET_TIMEOUT, async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                }) if request_id == id => return RawOutcome::Answer(response),
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    request_id,
                    error,
                    ..
                }) if request_id == id => return RawOutcome::Failed(error.to_string()),
                _ => {}
            }
        }
    })
    .await
    .expect("a sync request ends within the bound");
    Some(outcome)
}

/// Keep `swarm` polled until it has no connection left to `peer`, within
/// `within`; whether it got there.
pub async fn until_disconnected<B: NetworkBehaviour>(
    swarm: &mut Swarm<B>,
    peer: PeerId,
    within: Duration,
) -> bool {
    use futures_util::StreamExt;
    tokio::time::timeout(within, async {
        while swarm.is_connected(&peer) {
            swarm.select_next_some().await;
        }
    })
    .await
    .is_ok()
}
