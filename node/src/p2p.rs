//! Federation: the libp2p swarm that gossips records between hubs and keeps
//! their catalogues in line.
//!
//! - Transport: TCP + noise + yamux (no QUIC: it would pull `aws-lc-rs`, a
//!   large C build, for no gain on the links hubs use), plus a relay client
//!   so that a hub behind NAT can be reached, with dcutr to upgrade relayed
//!   connections and autonat to learn whether the node is reachable.
//! - Gossip ([`swarm`]): one gossipsub topic, [`RECORDS_TOPIC`]; message id =
//!   record id; no gossipsub signatures (the records are signed); a message
//!   is forwarded only once the node verified and stored the record, and a
//!   record that does not verify is reported `Reject`, which peer scoring
//!   turns into a penalty, then a disconnection.
//! - Anti-entropy ([`sync`]): on connection and periodically, Negentropy
//!   reconciliation of the head sets over request-response, then fetch and
//!   push of the differences.
//! - Discovery: bootstrap addresses, mdns on a LAN, kad beyond.
//!
//! The node owns the swarm task ([`start`] is called by
//! [`Node::run`](crate::node::Node::run)); the rest of the node talks to it
//! through a [`P2pHandle`]. Every message format and bound is written in
//! `specs/protocol.md` § Federation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use essaim_protocol::{HubId, SignedRecord};
use libp2p::{Multiaddr, PeerId};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::node::Node;

pub(crate) mod codec;
mod swarm;
pub mod sync;

/// libp2p itself, for tests and tools that build their own peers.
pub use libp2p;

/// The gossipsub topic of records.
pub const RECORDS_TOPIC: &str = "essaim/records/1";
/// Largest gossipsub RPC accepted or sent: an envelope of a 65,536-byte
/// payload is 65,664 bytes, plus protobuf framing.
pub const MAX_TRANSMIT_BYTES: usize = 73_728;
/// The prefix of gossipsub's metric families in `/metrics`.
pub const GOSSIPSUB_PREFIX: &str = "libp2p_gossipsub";
/// How long a new connection may take to negotiate its protocols, secure
/// itself (noise) and start its multiplexer; slower ones are closed.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The identify protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/essaim/1";

/// Why federation could not start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// An address from the configuration or the command line is not a
    /// multiaddr libp2p can use.
    #[error(
        "`{address}` is not a usable multiaddr ({reason}): write it like /ip4/127.0.0.1/tcp/4001"
    )]
    Address {
        /// The address as written.
        address: String,
        /// libp2p's reason.
        reason: String,
    },
    /// The transport or a behaviour could not be built.
    #[error("cannot start federation: {0}")]
    Setup(String),
    /// The node could not listen on an address.
    #[error(
        "cannot listen on {address} ({reason}): is another node using it? choose another with --listen"
    )]
    Listen {
        /// The address.
        address: String,
        /// The system's reason.
        reason: String,
    },
    /// The swarm task has stopped.
    #[error("federation is not running")]
    Stopped,
}

/// Federation settings, checked.
#[derive(Clone, Debug)]
pub struct P2pSettings {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start-up and to keep dialling (with backoff).
    pub bootstrap: Vec<Multiaddr>,
    /// Local-network discovery.
    pub mdns: bool,
    /// Dial the peers kad finds beyond the bootstrap ones.
    pub discover: bool,
    /// Act as a relay for hubs behind NAT.
    pub relay_server: bool,
    /// Relays to reserve a slot on (each ends in `/p2p/<peer id>`).
    pub relays: Vec<Multiaddr>,
    /// The public addresses the operator announces (`p2p.announce`): taken
    /// as confirmed external addresses (a relay serves only with one).
    pub announce: Vec<Multiaddr>,
    /// Time between two reconciliations with a connected peer.
    pub sync_interval: Duration,
}

impl P2pSettings {
    /// The federation part of the configuration.
    pub fn from_config(config: &Config) -> Result<P2pSettings, P2pError> {
        let parse = |text: &str| {
            text.parse::<Multiaddr>().map_err(|e| P2pError::Address {
                address: text.to_owned(),
                reason: e.to_string(),
            })
        };
        Ok(P2pSettings {
            listen: config
                .p2p_listen
                .iter()
                .map(|m| parse(m.as_str()))
                .collect::<Result<_, _>>()?,
            bootstrap: config
                .bootstrap
                .iter()
                .map(|m| parse(m.as_str()))
                .collect::<Result<_, _>>()?,
            mdns: config.mdns,
            discover: config.discover,
            relay_server: config.relay_server,
            announce: config
                .announce
                .iter()
                .map(|m| parse(m.as_str()))
                .collect::<Result<_, _>>()?,
            relays: config
                .relays
                .iter()
                .map(|m| parse(m.as_str()))
                .collect::<Result<_, _>>()?,
            sync_interval: Duration::from_secs(config.sync_interval_secs),
        })
    }
}

/// How one reconciliation went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// The peer.
    pub peer: String,
    /// When it ended, unix seconds.
    pub at: u64,
    /// Whether it completed.
    pub ok: bool,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Negentropy round trips.
    pub rounds: u64,
    /// Ids the peer had and this node lacked.
    pub needed: u64,
    /// Ids this node had and the peer lacked.
    pub offered: u64,
    /// Records fetched and newly stored.
    pub fetched: u64,
    /// Records pushed that the peer stored.
    pub pushed: u64,
    /// Fetched records that did not verify.
    pub rejected: u64,
    /// Bytes of sync requests sent (CBOR messages, without transport framing).
    pub bytes_sent: u64,
    /// Bytes of sync responses received (same measure).
    pub bytes_received: u64,
    /// Of which the Negentropy messages, both ways.
    pub reconcile_bytes: u64,
    /// Duration, milliseconds.
    pub duration_ms: u64,
}

/// A connected peer, as `essaim peers` and `/api/v1/peers` show it.
#[derive(Clone, Debug, Serialize)]
pub struct PeerInfo {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its hub id, when its key is a hub key.
    pub hub: Option<String>,
    /// The addresses of the open connections.
    pub addresses: Vec<String>,
    /// Last ping round-trip time, milliseconds.
    pub latency_ms: Option<f64>,
    /// Its gossipsub score (negative: it misbehaved).
    pub score: Option<f64>,
    /// Connected since, unix seconds.
    pub connected_since: u64,
    /// The last reconciliation with it.
    pub last_sync: Option<SyncSummary>,
}

/// The node's federation state, for `/api/v1/status`.
#[derive(Clone, Debug, Serialize)]
pub struct SyncStatus {
    /// This node's peer id.
    pub peer_id: String,
    /// Where it listens.
    pub listen: Vec<String>,
    /// Connected peers.
    pub connected_peers: usize,
    /// Number of current heads (the reconciled set).
    pub heads: usize,
    /// Digest of the head set (hex; see `specs/protocol.md`).
    pub digest: String,
    /// Reconciliations completed since start.
    pub syncs: u64,
    /// Bytes of the reconciliations this node started since start, both
    /// ways (CBOR messages, without transport framing).
    pub sync_bytes: u64,
    /// The last reconciliation, with any peer.
    pub last_sync: Option<SyncSummary>,
    /// Gossip messages received on the records topic since start, every
    /// copy counted (first deliveries, duplicates, and copies that did not
    /// validate). Divided by the records learnt, it is the amplification.
    pub gossip_received: u64,
    /// Of which the copies of a message already seen, dropped by gossipsub.
    pub gossip_duplicates: u64,
    /// Whether other hubs can dial this node, as autonat found:
    /// `public`, `private` or `unknown`.
    pub reachability: String,
    /// The relays this node reserves a slot on, so that hubs reach it
    /// behind NAT.
    pub relays: Vec<RelayInfo>,
}

/// A relay this node uses (`p2p.relays`, or chosen when it is not reachable).
#[derive(Clone, Debug, Serialize)]
pub struct RelayInfo {
    /// The relay's address, with its peer id.
    pub address: String,
    /// Whether the relay accepted the reservation (the node is reachable
    /// at `<address>/p2p-circuit/p2p/<this node>`).
    pub reserved: bool,
    /// Configured (`p2p.relays`) or chosen by the node.
    pub configured: bool,
}

#[derive(Debug, Default)]
struct State {
    listen: Vec<Multiaddr>,
    reachability: &'static str,
    relays: Vec<RelayInfo>,
    peers: BTreeMap<PeerId, PeerInfo>,
    last_sync: Option<SyncSummary>,
    syncs: u64,
    sync_bytes: u64,
}

struct Shared {
    peer_id: PeerId,
    commands: mpsc::UnboundedSender<swarm::Command>,
    state: Mutex<State>,
    heads: sync::HeadSetCache,
    /// gossipsub's counters; read by [`P2pHandle::status`].
    gossip_metrics: Mutex<prometheus_client::registry::Registry>,
    /// Record ids being fetched by a reconciliation now: the concurrent
    /// sessions of a node that reconnects to many peers fetch each missing
    /// record once.
    fetching: Mutex<std::collections::HashSet<[u8; 32]>>,
}

/// The rest of the node's handle on the swarm task. Cheap to clone.
#[derive(Clone)]
pub struct P2pHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for P2pHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2pHandle")
            .field("peer_id", &self.shared.peer_id)
            .finish_non_exhaustive()
    }
}

impl P2pHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.shared.peer_id
    }

    /// The addresses the node listens on (known once bound).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared
            .state
            .lock()
            .map(|s| s.listen.clone())
            .unwrap_or_default()
    }

    /// Connected peers.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared
            .state
            .lock()
            .map(|s| s.peers.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Dial an address (waits until the dial was issued, not connected).
    pub fn dial(&self, address: Multiaddr) -> Result<(), P2pError> {
        self.shared
            .commands
            .send(swarm::Command::Dial(address))
            .map_err(|_| P2pError::Stopped)
    }

    /// Reconcile with a connected peer now, and wait for the outcome.
    pub async fn sync_with(&self, peer: PeerId) -> Result<SyncSummary, P2pError> {
        let (reply, answer) = oneshot::channel();
        self.shared
            .commands
            .send(swarm::Command::Sync {
                peer,
                reply: Some(reply),
            })
            .map_err(|_| P2pError::Stopped)?;
        answer.await.map_err(|_| P2pError::Stopped)
    }

    /// The federation state, with the head-set digest (reads the store).
    pub async fn status(&self, node: &Node) -> SyncStatus {
        let set = swarm::head_set(node, &self.shared).await.ok();
        let state = self.shared.state.lock();
        let (listen, connected_peers, (syncs, sync_bytes), last_sync, reachability, relays) =
            match state {
                Ok(s) => (
                    s.listen.iter().map(ToString::to_string).collect(),
                    s.peers.len(),
                    (s.syncs, s.sync_bytes),
                    s.last_sync.clone(),
                    s.reachability,
                    s.relays.clone(),
                ),
                Err(_) => (Vec::new(), 0, (0, 0), None, "", Vec::new()),
            };
        let (received, first) = self.gossip_counts();
        SyncStatus {
            peer_id: self.shared.peer_id.to_string(),
            listen,
            connected_peers,
            heads: set.as_ref().map_or(0, |s| s.len),
            digest: set.as_ref().map_or_else(String::new, |s| hex(&s.digest)),
            syncs,
            sync_bytes,
            last_sync,
            gossip_received: received,
            gossip_duplicates: received.saturating_sub(first),
            reachability: if reachability.is_empty() {
                "unknown".into()
            } else {
                reachability.into()
            },
            relays,
        }
    }

    /// Gossip messages received on the records topic: every copy, and the
    /// first copies only. gossipsub keeps these counters in its prometheus
    /// registry, with no other accessor: read them from its text encoding.
    fn gossip_counts(&self) -> (u64, u64) {
        let mut text = String::new();
        if let Ok(registry) = self.shared.gossip_metrics.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        }
        let topic = format!("\"{RECORDS_TOPIC}\"");
        let count = |name: &str| -> u64 {
            text.lines()
                .filter(|l| {
                    l.strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with("_total{") || rest.starts_with('{'))
                        && l.contains(&topic)
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum()
        };
        (
            count(&format!(
                "{GOSSIPSUB_PREFIX}_topic_msg_recv_counts_unfiltered"
            )),
            count(&format!("{GOSSIPSUB_PREFIX}_topic_msg_recv_counts")),
        )
    }

    /// Append gossipsub's metric families (OpenMetrics text, without `# EOF`).
    pub(crate) fn encode_libp2p_metrics(&self, text: &mut String) {
        if let Ok(registry) = self.shared.gossip_metrics.lock() {
            let _ = prometheus_client::encoding::text::encode_registry(text, &registry);
        }
    }

    /// Reconcile with every connected peer now, without waiting (after
    /// records were released from quarantine: gossip does not carry them).
    pub fn sync_all(&self) {
        let peers: Vec<PeerId> = self
            .shared
            .state
            .lock()
            .map(|s| s.peers.keys().copied().collect())
            .unwrap_or_default();
        for peer in peers {
            let _ = self
                .shared
                .commands
                .send(swarm::Command::Sync { peer, reply: None });
        }
    }

    /// Disconnect a blocked hub's node and refuse its connections (or, with
    /// `blocked = false`, accept them again).
    pub fn set_hub_blocked(&self, hub: &HubId, blocked: bool) {
        if let Some(peer) = peer_of(hub) {
            let _ = self
                .shared
                .commands
                .send(swarm::Command::HubBlocked { peer, blocked });
        }
    }

    /// Gossip the records a local client just stored (publish, HTTP,
    /// import through the running node). Records from peers are gossiped by
    /// gossipsub itself once validated.
    pub(crate) fn announce(&self, record: &SignedRecord) {
        let _ = self
            .shared
            .commands
            .send(swarm::Command::Publish(record.to_envelope()));
    }
}

/// Start the swarm: listen, dial the bootstrap peers, and spawn its task on
/// `tasks`; it stops when `cancel` is cancelled.
pub async fn start(
    node: Node,
    settings: P2pSettings,
    cancel: tokio_util::sync::CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<P2pHandle, P2pError> {
    swarm::start(node, settings, cancel, tasks).await
}

/// The hub id of a peer, when its key is an ed25519 key (every Essaim node's
/// is: the node's libp2p key is the hub key).
pub fn hub_of(peer: &PeerId) -> Option<HubId> {
    let multihash: &libp2p::multihash::Multihash<64> = peer.as_ref();
    if multihash.code() != 0 {
        return None;
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let key = key.try_into_ed25519().ok()?;
    let verifying = ed25519_verifying(&key.to_bytes())?;
    Some(HubId::from_verifying_key(&verifying))
}

/// The peer id of a hub (its node's, when the node uses the hub key).
pub fn peer_of(hub: &HubId) -> Option<PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(hub.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

fn ed25519_verifying(bytes: &[u8; 32]) -> Option<ed25519_dalek::VerifyingKey> {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).ok()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `"sync"` part of `/api/v1/status`: the federation state when the node
/// runs, else the head set's size and digest read from the store.
pub async fn status_json(node: &Node) -> serde_json::Value {
    if let Some(p2p) = node.p2p() {
        return serde_json::to_value(p2p.status(node).await).unwrap_or_default();
    }
    let worker = node.clone();
    let set = tokio::task::spawn_blocking(move || {
        let change = worker.store().sync_version().ok()?;
        let items = worker.store().sync_items().ok()?;
        sync::HeadSet::new(change, items).ok()
    })
    .await
    .ok()
    .flatten();
    serde_json::json!({
        "peer_id": peer_of(&node.hub_id()).map(|p| p.to_string()),
        "listen": [],
        "connected_peers": 0,
        "heads": set.as_ref().map_or(0, |s| s.len),
        "digest": set.as_ref().map_or_else(String::new, |s| hex(&s.digest)),
        "syncs": 0,
        "sync_bytes": 0,
        "last_sync": null,
        "gossip_received": 0,
        "gossip_duplicates": 0,
        "reachability": "unknown",
        "relays": [],
    })
}

/// `/api/v1/peers`: the connected peers (when the node runs) and every peer
/// remembered in the store.
pub async fn peers_json(node: &Node) -> serde_json::Value {
    let connected = node.p2p().map(|p| p.peers()).unwrap_or_default();
    let worker = node.clone();
    let known = tokio::task::spawn_blocking(move || worker.store().peers())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    serde_json::json!({ "connected": connected, "known": known })
}

/// Publish a new version of the hub's profile when the public endpoints of
/// the configuration (`p2p.announce`, `http.public_url`) differ from those
/// it carries, so that other hubs can find this node.
pub(crate) async fn publish_endpoints(node: Node) {
    let config = node.config();
    if config.announce.is_empty() && config.public_url.is_none() {
        return;
    }
    let wanted = essaim_protocol::record::Endpoints {
        multiaddrs: config.announce.clone(),
        http: config.public_url.clone(),
    };
    let Ok(slug) = "profile".parse() else {
        return;
    };
    let own = essaim_protocol::Address {
        author: node.hub_id(),
        kind: essaim_protocol::Kind::Hub,
        slug,
    };
    let worker = node.clone();
    let head = tokio::task::spawn_blocking(move || worker.store().head(&own))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let Some(essaim_protocol::Body::Hub(hub)) = head.map(|h| h.record.body().clone()) else {
        tracing::warn!("no hub profile to publish the endpoints in: run `essaim init`");
        return;
    };
    if hub.endpoints.as_ref() == Some(&wanted) {
        return;
    }
    // Gossip reaches only connected peers: wait for a first one (and for
    // gossipsub to learn its subscriptions), within a minute; anti-entropy
    // carries the record anyway.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline && node.p2p().is_some_and(|p| p.peers().is_empty()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut hub = hub;
    hub.endpoints = Some(wanted);
    hub.seq = crate::unix_now_ms().max(hub.seq + 1);
    hub.created = crate::unix_now();
    match node.publish(essaim_protocol::Body::Hub(hub)).await {
        Ok(_) => tracing::info!("hub profile published with this node's public endpoints"),
        Err(e) => tracing::warn!(error = %e, "cannot publish the hub's endpoints"),
    }
}

/// The multiaddrs to dial for a hub record's endpoints (with the hub's peer
/// id), at most four.
pub(crate) fn endpoints_of(record: &SignedRecord) -> Vec<Multiaddr> {
    let essaim_protocol::Body::Hub(hub) = record.body() else {
        return Vec::new();
    };
    let Some(peer) = peer_of(&hub.author) else {
        return Vec::new();
    };
    hub.endpoints
        .iter()
        .flat_map(|e| e.multiaddrs.iter())
        .filter_map(|m| m.as_str().parse::<Multiaddr>().ok())
        .take(4)
        .map(|m| {
            if m.iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
            {
                m
            } else {
                m.with(libp2p::multiaddr::Protocol::P2p(peer))
            }
        })
        .collect()
}
