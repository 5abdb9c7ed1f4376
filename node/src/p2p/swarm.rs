//! The swarm task: builds the libp2p swarm, runs its event loop, validates
//! gossip through the node's ingest path, answers and drives anti-entropy
//! sessions, keeps the bootstrap peers dialled (with backoff), and
//! disconnects peers whose gossip score falls below the graylist threshold.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use essaim_protocol::SignedRecord;
use futures_util::StreamExt;
use libp2p::Transport;
use libp2p::core::ConnectedPoint;
use libp2p::core::transport::{ListenerId, MemoryTransport};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, allow_block_list, autonat,
    connection_limits, dcutr, identify, kad, mdns, noise, ping, relay, tcp, yamux,
};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::codec::{BadRequest, SyncCodec, is_too_large};
use super::sync::{
    HeadSet, Initiator, MAX_BATCH_BYTES, MAX_FETCH_IDS, MAX_FRAME_BYTES, MAX_RECONCILE_BYTES,
    SYNC_PROTOCOL, SyncError, SyncRequest, SyncResponse, answer_fetch, verify_envelopes,
};
use super::{
    HANDSHAKE_TIMEOUT, IDENTIFY_PROTOCOL, MAX_TRANSMIT_BYTES, P2pError, P2pHandle, P2pSettings,
    PeerInfo, RECORDS_TOPIC, Shared, State, SyncSummary, hub_of,
};
use crate::metrics::Via;
use crate::node::Node;
use crate::store::Source;
use crate::trust::Refusal;
use crate::unix_now;

/// Connections kept open without traffic (gossipsub alone does not keep a
/// connection alive outside the mesh).
const IDLE_TIMEOUT: Duration = Duration::from_secs(3_600);
/// First and largest delay between two dials of a bootstrap address.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a peer that fell below the graylist threshold stays blocked.
const BAN: Duration = Duration::from_secs(600);
/// Peer scoring thresholds (written in `specs/protocol.md`).
const GOSSIP_THRESHOLD: f64 = -10.0;
const PUBLISH_THRESHOLD: f64 = -50.0;
const GRAYLIST_THRESHOLD: f64 = -80.0;
/// Penalty weight of one invalid message (P4, squared count).
const INVALID_MESSAGE_WEIGHT: f64 = -20.0;
/// Gossip messages validated at once at most.
const MAX_VALIDATIONS: usize = 64;
/// Inbound sync requests served at once at most (CPU bound per node).
const MAX_INBOUND_SYNC: usize = 4;
/// Inbound sync requests of one peer in progress at most (an honest peer
/// sends one at a time).
const MAX_INBOUND_PER_PEER: usize = 2;
/// Connections at most, in total and per peer.
const MAX_CONNECTIONS: u32 = 256;
const MAX_PER_PEER: u32 = 2;
/// Inbound connections at most (others dial in freely; this bounds what
/// they can make a node hold).
const MAX_INCOMING: u32 = 128;
/// Peers found through kad are dialled while fewer than this are connected.
const TARGET_PEERS: usize = 8;
/// Gossiped records a peer may relay that are refused for a quota or a full
/// quarantine, per [`OVER_QUOTA_WINDOW`], before it is banned: valid but
/// useless records, such as a flood signed by fresh hubs. An honest peer
/// relays only what its own policy accepted, far below this.
const MAX_OVER_QUOTA: u32 = 1_000;
const OVER_QUOTA_WINDOW: Duration = Duration::from_secs(3_600);
/// Invalid records pushed or fetched before a peer is blocked.
const MAX_STRIKES: u32 = 3;

/// What the rest of the node (and the task's own helpers) ask of the swarm.
pub(super) enum Command {
    Publish(Vec<u8>),
    Dial(Multiaddr),
    /// Dial a hub's published endpoint, unless already connected.
    DialHub(Multiaddr),
    Sync {
        peer: PeerId,
        reply: Option<oneshot::Sender<SyncSummary>>,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, String>>,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Validated {
        id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    SyncEnded {
        summary: SyncSummary,
    },
    /// The peer relayed a record refused for a full quarantine or an
    /// author's quota.
    OverQuota(PeerId),
    /// The peer broke the protocol (and how, for the log line of its ban).
    Strike(PeerId, &'static str),
    /// The operator blocked (or unblocked) the hub whose node this is.
    HubBlocked {
        peer: PeerId,
        blocked: bool,
    },
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    mdns: Toggle<mdns::tokio::Behaviour>,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    relay_client: relay::client::Behaviour,
    relay_server: Toggle<relay::Behaviour>,
    dcutr: dcutr::Behaviour,
    autonat: autonat::Behaviour,
}

/// The message id of a gossiped envelope: its record id (SHA-256 of the
/// payload), or, for bytes that are not an envelope, SHA-256 of the bytes
/// prefixed with `x` so that they can never collide with a record id.
fn message_id(data: &[u8]) -> MessageId {
    #[derive(serde::Deserialize)]
    struct Envelope {
        payload: ByteBuf,
    }
    match serde_ipld_dagcbor::from_slice::<Envelope>(data) {
        Ok(envelope) => MessageId::new(&Sha256::digest(&envelope.payload)),
        Err(_) => {
            let mut id = b"x".to_vec();
            id.extend_from_slice(&Sha256::digest(data));
            MessageId::new(&id)
        }
    }
}

fn gossipsub_behaviour(
    key: &libp2p::identity::Keypair,
    metrics: &mut prometheus_client::registry::Registry,
) -> Result<gossipsub::Behaviour, String> {
    let _ = key;
    let topic = IdentTopic::new(RECORDS_TOPIC);
    let config = gossipsub::ConfigBuilder::default()
        // Records are signed; gossipsub messages carry no author, seqno or
        // signature, and messages that do are refused ("StrictNoSign").
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
        // A frame over twice the limit is refused from its length prefix,
        // before it is read; a record message over the limit is decoded and
        // counted invalid (P4), so a peer that sends them is graylisted.
        .max_transmit_size(2 * MAX_TRANSMIT_BYTES)
        .max_transmit_size_for_topic(MAX_TRANSMIT_BYTES, topic.hash())
        .heartbeat_interval(Duration::from_millis(700))
        .build()
        .map_err(|e| e.to_string())?;
    // gossipsub reports a message once, at its first copy; its metrics also
    // count the duplicates it drops, which is what amplification is.
    let mut behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)?
            .with_metrics(metrics, gossipsub::MetricsConfig::default());
    let mut params = gossipsub::PeerScoreParams {
        // Hubs of one organisation, and test networks, share an address.
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    params.topics.insert(
        topic.hash(),
        gossipsub::TopicScoreParams {
            topic_weight: 1.0,
            // P1: a little credit for time in the mesh (at most 36).
            time_in_mesh_weight: 0.01,
            time_in_mesh_quantum: Duration::from_secs(1),
            time_in_mesh_cap: 3_600.0,
            // P2: credit for first deliveries (at most 50).
            first_message_deliveries_weight: 1.0,
            first_message_deliveries_decay: 0.9,
            first_message_deliveries_cap: 50.0,
            // P3, P3b: off: a quiet catalogue must not penalise honest peers.
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            // P4: an invalid record costs -20 × count².
            invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
            invalid_message_deliveries_decay: 0.99,
            ..Default::default()
        },
    );
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: GOSSIP_THRESHOLD,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    behaviour.with_peer_score(params, thresholds)?;
    behaviour.subscribe(&topic).map_err(|e| e.to_string())?;
    Ok(behaviour)
}

fn build_swarm(
    node: &Node,
    settings: &P2pSettings,
    metrics: &mut prometheus_client::registry::Registry,
) -> Result<Swarm<Behaviour>, P2pError> {
    let setup = |e: &dyn std::fmt::Display| P2pError::Setup(e.to_string());
    let mut secret = node.key().signing_key().to_bytes();
    let keypair =
        libp2p::identity::Keypair::ed25519_from_bytes(&mut secret).map_err(|e| setup(&e))?;
    let mdns_on = settings.mdns;
    let discover = settings.discover;
    let relay_on = settings.relay_server;
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        // TCP as `with_tcp` builds it, plus a bound on the whole upgrade
        // (multistream-select, noise, yamux), which `with_tcp` leaves
        // unbounded: a connection that trickles its handshake (slow-loris)
        // would hold one of the pending-connection slots for ever.
        .with_other_transport(|key| {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                    .upgrade(libp2p::core::upgrade::Version::V1Lazy)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default())
                    .timeout(HANDSHAKE_TIMEOUT),
            )
        })
        .map_err(|e| setup(&e))?
        // In-process only (`/memory/N` reaches this process's listeners and
        // nothing else): the many-hub simulation runs on it.
        .with_other_transport(|key| {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                MemoryTransport::default()
                    .upgrade(libp2p::core::upgrade::Version::V1)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default())
                    .timeout(HANDSHAKE_TIMEOUT),
            )
        })
        .map_err(|e| setup(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_behaviour(|key, relay_client| {
            let peer_id = key.public().to_peer_id();
            let mdns = if mdns_on {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    peer_id,
                )?)
            } else {
                None
            };
            let mut kad_config = kad::Config::new(StreamProtocol::new("/essaim/kad/1"));
            // Without discovery, kad answers queries but starts none: its
            // lookups would connect to every peer they meet.
            kad_config
                .set_periodic_bootstrap_interval(discover.then_some(Duration::from_secs(300)));
            if !discover {
                kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
            }
            let sync = request_response::Behaviour::with_codec(
                SyncCodec::default(),
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(8),
            );
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established(Some(MAX_CONNECTIONS))
                        .with_max_established_per_peer(Some(MAX_PER_PEER))
                        .with_max_established_incoming(Some(MAX_INCOMING))
                        .with_max_pending_incoming(Some(64))
                        .with_max_pending_outgoing(Some(64)),
                ),
                blocked: Default::default(),
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                        .with_agent_version(format!("essaim/{}", env!("CARGO_PKG_VERSION"))),
                ),
                ping: ping::Behaviour::new(ping::Config::new()),
                kad: kad::Behaviour::with_config(
                    peer_id,
                    kad::store::MemoryStore::new(peer_id),
                    kad_config,
                ),
                mdns: mdns.into(),
                gossipsub: gossipsub_behaviour(key, metrics)?,
                sync,
                relay_client,
                relay_server: relay_on
                    .then(|| relay::Behaviour::new(peer_id, relay_config()))
                    .into(),
                dcutr: dcutr::Behaviour::new(peer_id),
                autonat: autonat::Behaviour::new(peer_id, Default::default()),
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    Ok(swarm)
}

/// libp2p's relay defaults (2 minutes and 128 KiB per circuit) suit a
/// circuit that only coordinates hole punching. A hub behind a NAT that
/// cannot be punched lives on its circuit: gossip and reconciliation of a
/// catalogue must fit, so a circuit lasts an hour and carries 64 MiB (the
/// relayed hub dials again when it ends). The reservation and circuit
/// counts and the per-peer and per-IP rate limits stay libp2p's.
fn relay_config() -> relay::Config {
    relay::Config {
        max_circuit_duration: Duration::from_secs(3_600),
        max_circuit_bytes: 64 << 20,
        ..Default::default()
    }
}

/// A relay on which this node keeps a reservation (a listener on
/// `<relay>/p2p-circuit`), re-made with backoff when it is lost.
struct Circuit {
    relay: Multiaddr,
    peer: PeerId,
    listener: Option<ListenerId>,
    reserved: bool,
    configured: bool,
    next: Instant,
    delay: Duration,
}

/// How long after a peer's subscription a node checks whether a record it
/// could not gossip reached that peer by reconciliation.
const RESYNC_DELAY: Duration = Duration::from_secs(2);

/// Relays chosen by the node itself when autonat finds it unreachable.
const AUTO_RELAYS: usize = 2;

/// A bootstrap address kept dialled, with its backoff.
struct Target {
    address: Multiaddr,
    peer: Option<PeerId>,
    next: Instant,
    delay: Duration,
}

struct Runner {
    swarm: Swarm<Behaviour>,
    node: Node,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    topic: IdentTopic,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, String>>>,
    syncing: HashMap<PeerId, Vec<oneshot::Sender<SyncSummary>>>,
    targets: Vec<Target>,
    banned: HashMap<PeerId, Instant>,
    /// Nodes of hubs the operator blocked: refused until unblocked.
    hub_blocked: HashSet<PeerId>,
    strikes: HashMap<PeerId, u32>,
    /// Per peer: since when, and how many records it relayed were refused
    /// for a quota or a full quarantine.
    over_quota: HashMap<PeerId, (Instant, u32)>,
    validations: Arc<Semaphore>,
    inbound: Arc<Semaphore>,
    /// Inbound sync requests in progress, per peer.
    inbound_by_peer: Arc<Mutex<HashMap<PeerId, usize>>>,
    sync_interval: Duration,
    discover: bool,
    circuits: Vec<Circuit>,
    /// Connected peers that offer relaying, with the address dialled.
    relay_capable: HashMap<PeerId, Multiaddr>,
    private: bool,
    /// The address of each connection this node dialled.
    dialled: HashMap<ConnectionId, Multiaddr>,
    listeners: HashSet<ListenerId>,
    /// When a record was last published with no subscribed peer to gossip
    /// it to.
    unsent_since: Option<Instant>,
    /// Peers to reconcile with again once the running session ends.
    sync_again: HashSet<PeerId>,
    /// Peers to reconcile with at a time, unless a session touched them since
    /// [`Runner::unsent_since`].
    resync_due: Vec<(Instant, PeerId)>,
    /// When a reconciliation with each peer last started, either side.
    last_contact: HashMap<PeerId, Instant>,
}

pub(super) async fn start(
    node: Node,
    settings: P2pSettings,
    cancel: CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<P2pHandle, P2pError> {
    let mut metrics = prometheus_client::registry::Registry::with_prefix(super::GOSSIPSUB_PREFIX);
    let mut swarm = build_swarm(&node, &settings, &mut metrics)?;
    let default_listen: Vec<Multiaddr> = crate::config::Config::default()
        .p2p_listen
        .iter()
        .filter_map(|m| m.as_str().parse().ok())
        .collect();
    for address in &settings.listen {
        if let Err(e) = swarm.listen_on(address.clone()) {
            // The default port is taken (another node on this machine): any
            // free port will do; an address the operator chose must work.
            if default_listen.contains(address) {
                let any: Multiaddr = "/ip4/0.0.0.0/tcp/0".parse().expect("a literal multiaddr");
                tracing::warn!(%address, error = %e, "default federation port taken: listening on a free port");
                if swarm.listen_on(any).is_ok() {
                    continue;
                }
            }
            return Err(P2pError::Listen {
                address: address.to_string(),
                reason: e.to_string(),
            });
        }
    }
    // The operator's word that these addresses reach the node: kad and
    // identify advertise them, and a relay server serves only with one.
    for address in &settings.announce {
        swarm.add_external_address(address.clone());
    }
    // On loopback (a demo or test network on one machine) no address will
    // ever be confirmed from outside: serve kad requests anyway.
    if settings.listen.iter().any(is_loopback) {
        swarm.behaviour_mut().kad.set_mode(Some(kad::Mode::Server));
    }
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        peer_id: *swarm.local_peer_id(),
        commands: commands_tx,
        state: Mutex::new(State::default()),
        heads: Default::default(),
        gossip_metrics: Mutex::new(metrics),
        fetching: Mutex::default(),
    });
    let now = Instant::now();
    let mut targets: Vec<Target> = settings
        .bootstrap
        .iter()
        .map(|address| Target {
            peer: peer_in(address),
            address: address.clone(),
            next: now,
            delay: BACKOFF_MIN,
        })
        .collect();
    // Peers met before the restart are dialled again, as bootstrap peers.
    let store_node = node.clone();
    let remembered = tokio::task::spawn_blocking(move || store_node.store().peers())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    for peer in remembered.iter().take(32) {
        let Ok(peer_id) = peer.peer_id.parse::<PeerId>() else {
            continue;
        };
        if targets.iter().any(|t| t.peer == Some(peer_id)) {
            continue;
        }
        if let Some(address) = peer.addrs.iter().find_map(|a| a.parse::<Multiaddr>().ok()) {
            let address = with_peer(address, peer_id);
            targets.push(Target {
                peer: Some(peer_id),
                address,
                next: now,
                delay: BACKOFF_MIN,
            });
        }
    }
    let mut circuits = Vec::new();
    for relay in &settings.relays {
        let Some(peer) = peer_in(relay) else {
            return Err(P2pError::Address {
                address: relay.to_string(),
                reason: "a relay address must end with /p2p/<peer id>".into(),
            });
        };
        circuits.push(Circuit {
            relay: relay.clone(),
            peer,
            listener: None,
            reserved: false,
            configured: true,
            next: now,
            delay: BACKOFF_MIN,
        });
        // Keep the relay connected like a bootstrap peer.
        if !targets.iter().any(|t| t.peer == Some(peer)) {
            targets.push(Target {
                peer: Some(peer),
                address: relay.clone(),
                next: now,
                delay: BACKOFF_MIN,
            });
        }
    }
    let node_for_endpoints = node.clone();
    let mut runner = Runner {
        swarm,
        node,
        shared: shared.clone(),
        commands,
        topic: IdentTopic::new(RECORDS_TOPIC),
        pending: HashMap::new(),
        syncing: HashMap::new(),
        targets,
        banned: HashMap::new(),
        hub_blocked: HashSet::new(),
        strikes: HashMap::new(),
        over_quota: HashMap::new(),
        validations: Arc::new(Semaphore::new(MAX_VALIDATIONS)),
        inbound: Arc::new(Semaphore::new(MAX_INBOUND_SYNC)),
        inbound_by_peer: Arc::default(),
        sync_interval: settings.sync_interval,
        discover: settings.discover,
        circuits,
        relay_capable: HashMap::new(),
        private: false,
        dialled: HashMap::new(),
        listeners: HashSet::new(),
        unsent_since: None,
        sync_again: HashSet::new(),
        resync_due: Vec::new(),
        last_contact: HashMap::new(),
    };
    runner.listen_on_relays();
    runner.publish_relays();
    // Publishing the endpoints may wait for a first peer: it stops with the node.
    let stop = cancel.clone();
    tasks.spawn(async move {
        tokio::select! {
            () = stop.cancelled() => {}
            () = super::publish_endpoints(node_for_endpoints) => {}
        }
    });
    // Nodes of blocked hubs are refused from the start.
    let store_node = runner.node.clone();
    let blocked = tokio::task::spawn_blocking(move || store_node.store().standings())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    for row in blocked {
        if row.standing == crate::store::Standing::Blocked
            && let Ok(hub) = essaim_protocol::HubId::parse_lenient(&row.hub)
            && let Some(peer) = super::peer_of(&hub)
        {
            let _ = shared.commands.send(Command::HubBlocked {
                peer,
                blocked: true,
            });
        }
    }
    tasks.spawn(runner.run(cancel));
    Ok(P2pHandle { shared })
}

fn is_loopback(address: &Multiaddr) -> bool {
    address.iter().any(|p| match p {
        libp2p::multiaddr::Protocol::Memory(_) => true,
        libp2p::multiaddr::Protocol::Ip4(ip) => ip.is_loopback(),
        libp2p::multiaddr::Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

fn is_circuit(address: &Multiaddr) -> bool {
    address
        .iter()
        .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2pCircuit))
}

fn is_unspecified(address: &Multiaddr) -> bool {
    address.iter().any(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => ip.is_unspecified(),
        libp2p::multiaddr::Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

fn peer_in(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

fn with_peer(address: Multiaddr, peer: PeerId) -> Multiaddr {
    if peer_in(&address).is_some() {
        address
    } else {
        address.with(libp2p::multiaddr::Protocol::P2p(peer))
    }
}

/// The head set as of now, from the cache or the store.
pub(super) async fn head_set(node: &Node, shared: &Arc<Shared>) -> Result<Arc<HeadSet>, SyncError> {
    let node = node.clone();
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        // Heads, plus the ids held aside or refused by the trust policy, so
        // that peers do not offer them again at every round.
        let change = node
            .store()
            .sync_version()
            .map_err(|e| SyncError::Local(e.to_string()))?;
        shared.heads.get(change, || {
            node.store()
                .sync_items()
                .map_err(|e| SyncError::Local(e.to_string()))
        })
    })
    .await
    .map_err(|e| SyncError::Local(e.to_string()))?
}

impl Runner {
    async fn run(mut self, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut resync = tokio::time::interval(self.sync_interval);
        resync.tick().await;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(command) = self.commands.recv() => self.on_command(command),
                _ = tick.tick() => self.on_tick(),
                _ = resync.tick() => {
                    let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                    for peer in peers {
                        self.start_sync(peer, None);
                    }
                }
            }
        }
        // Close the listeners: the memory transport frees a port only then
        // (not when the swarm is dropped), so a restarted node can take it.
        for id in std::mem::take(&mut self.listeners) {
            self.swarm.remove_listener(id);
        }
        tracing::info!("federation stopped");
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        // Keep the bootstrap peers connected, with exponential backoff.
        for target in &mut self.targets {
            let connected = target.peer.is_some_and(|p| self.swarm.is_connected(&p));
            if connected {
                target.delay = BACKOFF_MIN;
                continue;
            }
            if target.next <= now {
                let _ = self.swarm.dial(target.address.clone());
                target.next = now + target.delay;
                target.delay = (target.delay * 2).min(BACKOFF_MAX);
            }
        }
        self.listen_on_relays();
        // Peers that subscribed after a record found no one to gossip to:
        // reconcile with those no session touched since (one running
        // already may have read the head set before the record: after it).
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.resync_due)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.resync_due = later;
        for (_, peer) in due {
            let unsent = self.unsent_since;
            let touched = self
                .last_contact
                .get(&peer)
                .is_some_and(|at| unsent.is_some_and(|u| *at > u));
            if touched || !self.swarm.is_connected(&peer) {
                continue;
            }
            if self.syncing.contains_key(&peer) {
                self.sync_again.insert(peer);
            }
            self.start_sync(peer, None);
        }
        // Peers whose score fell below the graylist threshold are dropped.
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let score = self.swarm.behaviour().gossipsub.peer_score(&peer);
            if let Ok(mut state) = self.shared.state.lock()
                && let Some(info) = state.peers.get_mut(&peer)
            {
                info.score = score;
            }
            if score.is_some_and(|s| s < GRAYLIST_THRESHOLD) {
                self.ban(peer, "its gossip score fell below the graylist threshold");
            }
        }
        let hub_blocked = &self.hub_blocked;
        self.banned.retain(|peer, until| {
            if *until <= now {
                if !hub_blocked.contains(peer) {
                    self.swarm.behaviour_mut().blocked.unblock_peer(*peer);
                }
                false
            } else {
                true
            }
        });
    }

    /// Listen through every relay whose reservation is missing and due.
    fn listen_on_relays(&mut self) {
        let now = Instant::now();
        for circuit in &mut self.circuits {
            if circuit.listener.is_some() || circuit.next > now {
                continue;
            }
            let address = circuit
                .relay
                .clone()
                .with(libp2p::multiaddr::Protocol::P2pCircuit);
            match self.swarm.listen_on(address) {
                Ok(id) => circuit.listener = Some(id),
                Err(e) => {
                    tracing::warn!(relay = %circuit.relay, error = %e, "cannot listen through a relay");
                    circuit.next = now + circuit.delay;
                    circuit.delay = (circuit.delay * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Copy the relays' state where `status` reads it.
    fn publish_relays(&self) {
        let relays = self
            .circuits
            .iter()
            .map(|c| super::RelayInfo {
                address: c.relay.to_string(),
                reserved: c.reserved,
                configured: c.configured,
            })
            .collect();
        if let Ok(mut state) = self.shared.state.lock() {
            state.relays = relays;
            state.reachability = match self.swarm.behaviour().autonat.nat_status() {
                autonat::NatStatus::Public(_) => "public",
                autonat::NatStatus::Private => "private",
                autonat::NatStatus::Unknown => "unknown",
            };
        }
    }

    /// When the node is not reachable and no relay is configured, reserve
    /// a slot on up to [`AUTO_RELAYS`] connected peers that offer relaying.
    fn choose_relays(&mut self) {
        if !self.private || self.circuits.iter().any(|c| c.configured) {
            return;
        }
        let now = Instant::now();
        let mut candidates: Vec<(PeerId, Multiaddr)> = self
            .relay_capable
            .iter()
            .filter(|(peer, _)| !self.circuits.iter().any(|c| c.peer == **peer))
            .map(|(peer, address)| (*peer, address.clone()))
            .collect();
        candidates.sort_by_key(|(peer, _)| peer.to_bytes());
        while self.circuits.len() < AUTO_RELAYS {
            let Some((peer, address)) = candidates.pop() else {
                break;
            };
            tracing::info!(relay = %peer, "not reachable from outside: reserving a slot on a relaying peer");
            self.circuits.push(Circuit {
                relay: with_peer(address, peer),
                peer,
                listener: None,
                reserved: false,
                configured: false,
                next: now,
                delay: BACKOFF_MIN,
            });
        }
        self.listen_on_relays();
        self.publish_relays();
    }

    fn ban(&mut self, peer: PeerId, why: &str) {
        if self.banned.contains_key(&peer) {
            return;
        }
        tracing::warn!(%peer, why, "disconnecting and blocking a peer for {} s", BAN.as_secs());
        self.banned.insert(peer, Instant::now() + BAN);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish(envelope) => {
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(self.topic.clone(), envelope)
                {
                    Ok(_) => self.node.metrics().gossip_sent(),
                    Err(gossipsub::PublishError::Duplicate) => {}
                    // Nobody to tell yet (no peer, or a peer whose
                    // subscription has not arrived): the peers that
                    // subscribe next reconcile at once.
                    Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                        self.unsent_since = Some(Instant::now());
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot gossip a record"),
                }
            }
            Command::Dial(address) => {
                if let Err(e) = self.swarm.dial(address.clone()) {
                    tracing::warn!(%address, error = %e, "cannot dial");
                }
            }
            Command::DialHub(address) => {
                let connected = peer_in(&address).is_some_and(|p| {
                    p == self.shared.peer_id
                        || self.swarm.is_connected(&p)
                        || self.banned.contains_key(&p)
                });
                if !connected && self.swarm.connected_peers().count() < TARGET_PEERS {
                    let _ = self.swarm.dial(address);
                }
            }
            Command::Sync { peer, reply } => self.start_sync(peer, reply),
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, Ok(request));
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Command::Validated {
                id,
                source,
                acceptance,
            } => {
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
            }
            Command::SyncEnded { summary } => {
                let peer: Option<PeerId> = summary.peer.parse().ok();
                self.node.metrics().sync_ended(
                    summary.ok,
                    summary.bytes_sent,
                    summary.bytes_received,
                );
                if let Ok(mut state) = self.shared.state.lock() {
                    state.syncs += 1;
                    state.sync_bytes += summary.bytes_sent + summary.bytes_received;
                    state.last_sync = Some(summary.clone());
                    if let Some(info) = peer.and_then(|p| state.peers.get_mut(&p)) {
                        info.last_sync = Some(summary.clone());
                    }
                }
                if let Some(peer) = peer {
                    for reply in self.syncing.remove(&peer).unwrap_or_default() {
                        let _ = reply.send(summary.clone());
                    }
                    if self.sync_again.remove(&peer) && self.swarm.is_connected(&peer) {
                        self.start_sync(peer, None);
                    }
                }
                let node = self.node.clone();
                tokio::task::spawn_blocking(move || {
                    let result = match &summary.error {
                        None => format!(
                            "ok: fetched {}, pushed {}, {} bytes",
                            summary.fetched,
                            summary.pushed,
                            summary.bytes_sent + summary.bytes_received
                        ),
                        Some(e) => format!("failed: {e}"),
                    };
                    let _ = node.store().peer_synced(&summary.peer, &result, summary.at);
                });
            }
            Command::HubBlocked { peer, blocked } => {
                if blocked {
                    tracing::info!(%peer, "the operator blocked this peer's hub: disconnecting it");
                    self.hub_blocked.insert(peer);
                    self.swarm.behaviour_mut().blocked.block_peer(peer);
                } else if self.hub_blocked.remove(&peer) && !self.banned.contains_key(&peer) {
                    self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                }
            }
            Command::Strike(peer, why) => self.strike(peer, why),
            Command::OverQuota(peer) => {
                let now = Instant::now();
                let (since, count) = self.over_quota.entry(peer).or_insert((now, 0));
                if now.duration_since(*since) > OVER_QUOTA_WINDOW {
                    (*since, *count) = (now, 0);
                }
                *count += 1;
                if *count > MAX_OVER_QUOTA {
                    self.over_quota.remove(&peer);
                    self.ban(peer, "it floods records that the trust policy refuses");
                }
            }
        }
    }

    /// Count one offence of `peer`; at [`MAX_STRIKES`] it is banned.
    fn strike(&mut self, peer: PeerId, why: &'static str) {
        let strikes = self.strikes.entry(peer).or_default();
        *strikes += 1;
        if *strikes >= MAX_STRIKES {
            self.ban(peer, why);
        }
    }

    fn start_sync(&mut self, peer: PeerId, reply: Option<oneshot::Sender<SyncSummary>>) {
        let running = self.syncing.contains_key(&peer);
        if !running {
            self.last_contact.insert(peer, Instant::now());
        }
        let waiting = self.syncing.entry(peer).or_default();
        if let Some(reply) = reply {
            waiting.push(reply);
        }
        if running {
            return;
        }
        let node = self.node.clone();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut summary = SyncSummary {
                peer: peer.to_string(),
                ..Default::default()
            };
            let outcome = session(&node, &shared, peer, &mut summary).await;
            summary.at = unix_now();
            summary.duration_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok(()) => summary.ok = true,
                Err(e) => {
                    tracing::info!(%peer, error = %e, "reconciliation failed");
                    summary.error = Some(e.to_string());
                }
            }
            tracing::debug!(?summary, "reconciliation ended");
            let _ = shared.commands.send(Command::SyncEnded { summary });
        });
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr {
                address,
                listener_id,
            } => {
                self.listeners.insert(listener_id);
                tracing::info!(%address, peer = %self.shared.peer_id, "listening for peers");
                if let Ok(mut state) = self.shared.state.lock() {
                    state.listen.push(address);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                if let Ok(mut state) = self.shared.state.lock() {
                    state.listen.retain(|a| a != &address);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                connection_id,
                ..
            } => {
                if endpoint.is_dialer() {
                    self.dialled
                        .insert(connection_id, endpoint.get_remote_address().clone());
                }
                self.on_connected(peer_id, &endpoint, num_established.get());
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                connection_id,
                ..
            } => {
                self.dialled.remove(&connection_id);
                if num_established == 0 {
                    self.relay_capable.remove(&peer_id);
                    self.last_contact.remove(&peer_id);
                    if let Ok(mut state) = self.shared.state.lock() {
                        state.peers.remove(&peer_id);
                    }
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                self.listeners.remove(&listener_id);
                if let Some(circuit) = self
                    .circuits
                    .iter_mut()
                    .find(|c| c.listener == Some(listener_id))
                {
                    tracing::info!(relay = %circuit.relay, ?reason, "reservation on a relay lost: trying again");
                    circuit.listener = None;
                    circuit.reserved = false;
                    circuit.next = Instant::now() + circuit.delay;
                    circuit.delay = (circuit.delay * 2).min(BACKOFF_MAX);
                    self.publish_relays();
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, error = %error, "dial failed");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_connected(&mut self, peer: PeerId, endpoint: &ConnectedPoint, count: u32) {
        let address = endpoint.get_remote_address().clone();
        let hub = hub_of(&peer).map(|h| h.to_string());
        if let Ok(mut state) = self.shared.state.lock() {
            let info = state.peers.entry(peer).or_insert_with(|| PeerInfo {
                peer_id: peer.to_string(),
                hub: hub.clone(),
                addresses: Vec::new(),
                latency_ms: None,
                score: None,
                connected_since: unix_now(),
                last_sync: None,
            });
            let shown = address.to_string();
            if !info.addresses.contains(&shown) {
                info.addresses.push(shown);
            }
        }
        if endpoint.is_dialer() {
            if self.discover {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, address.clone());
            }
            let node = self.node.clone();
            let peer_text = peer.to_string();
            let address = with_peer(address, peer).to_string();
            tokio::task::spawn_blocking(move || {
                let _ = node
                    .store()
                    .peer_seen(&peer_text, hub.as_deref(), &[address], unix_now());
            });
        }
        for target in &mut self.targets {
            if target.peer.is_none() && target.address == *endpoint.get_remote_address() {
                target.peer = Some(peer);
            }
        }
        // The first peer: look for others through it.
        if self.discover && count == 1 && self.swarm.connected_peers().count() == 1 {
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        // The dialer starts the reconciliation of a new connection; the other
        // side learns what it lacks from the same session (it is pushed).
        if count == 1 && endpoint.is_dialer() {
            self.start_sync(peer, None);
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.validate(propagation_source, message_id, message.data),
            BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { peer_id, topic })
                if topic == self.topic.hash() =>
            {
                let recent = self
                    .unsent_since
                    .is_some_and(|at| at.elapsed() < self.sync_interval);
                if recent {
                    // The new peer's own reconciliation (the dialer starts
                    // one) may carry the record already: look again shortly.
                    self.resync_due
                        .push((Instant::now() + RESYNC_DELAY, peer_id));
                } else {
                    self.unsent_since = None;
                }
            }
            BehaviourEvent::Sync(event) => self.on_sync_event(event),
            BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                connection_id,
            }) => {
                let relays = info.protocols.contains(&relay::HOP_PROTOCOL_NAME);
                // Reach a relay at the address this node dialled, else at
                // one it announces (never through another circuit).
                let direct = self.dialled.get(&connection_id).cloned().or_else(|| {
                    info.listen_addrs
                        .iter()
                        .find(|a| !is_circuit(a) && !is_unspecified(a))
                        .cloned()
                });
                if relays && let Some(address) = direct.filter(|a| !is_circuit(a)) {
                    self.relay_capable.insert(peer_id, address);
                    self.choose_relays();
                }
                // Listen addresses a peer announces let kad route to it.
                let announced = if self.discover { 8 } else { 0 };
                for address in info.listen_addrs.into_iter().take(announced) {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, address);
                }
            }
            BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            }) => {
                if let Ok(mut state) = self.shared.state.lock()
                    && let Some(info) = state.peers.get_mut(&peer)
                {
                    info.latency_ms = Some(rtt.as_secs_f64() * 1_000.0);
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, address) in found {
                    if !self.swarm.is_connected(&peer) && !self.banned.contains_key(&peer) {
                        let _ = self.swarm.dial(with_peer(address, peer));
                    }
                }
            }
            // Peers beyond the bootstrap ones: dial what kad finds, up to a target.
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let connected = self.swarm.connected_peers().count();
                if self.discover
                    && connected < TARGET_PEERS
                    && peer != self.shared.peer_id
                    && !self.swarm.is_connected(&peer)
                    && !self.banned.contains_key(&peer)
                {
                    let address = addresses.first().clone();
                    let _ = self.swarm.dial(with_peer(address, peer));
                }
            }
            BehaviourEvent::Autonat(autonat::Event::StatusChanged { new, .. }) => {
                match new {
                    autonat::NatStatus::Public(address) => {
                        tracing::info!(%address, "reachable from outside: serving kad");
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .set_mode(Some(kad::Mode::Server));
                        self.private = false;
                    }
                    autonat::NatStatus::Private => {
                        tracing::info!("not reachable from outside (autonat)");
                        self.private = true;
                        self.choose_relays();
                    }
                    autonat::NatStatus::Unknown => {}
                }
                self.publish_relays();
            }
            BehaviourEvent::RelayClient(relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            }) => {
                if let Some(circuit) = self.circuits.iter_mut().find(|c| c.peer == relay_peer_id) {
                    if !renewal {
                        tracing::info!(relay = %circuit.relay, "reachable through a relay");
                    }
                    circuit.reserved = true;
                    circuit.delay = BACKOFF_MIN;
                }
                self.publish_relays();
            }
            _ => {}
        }
    }

    /// Check a gossiped record and store it; gossipsub forwards it only when
    /// told `Accept`.
    fn validate(&mut self, source: PeerId, id: MessageId, data: Vec<u8>) {
        let node = self.node.clone();
        let commands = self.shared.commands.clone();
        let permits = self.validations.clone();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let metrics = node.metrics();
            let acceptance = match essaim_protocol::verify(&data, unix_now()) {
                Err(e) => {
                    tracing::info!(peer = %source, error = %e, "gossiped record rejected");
                    metrics.rejected_record(&e);
                    MessageAcceptance::Reject
                }
                Ok(record) => {
                    // A hub's published endpoints: a way to meet it.
                    for address in super::endpoints_of(&record) {
                        let _ = commands.send(Command::DialHub(address));
                    }
                    match node
                        .ingest(vec![(record, Source::Peer(source.to_string()))])
                        .await
                    {
                        // Quarantined, refused by the trust policy, or
                        // already known: not forwarded (Ignore, not Reject:
                        // the relaying peer did nothing wrong).
                        Ok(outcomes) => {
                            metrics.ingested(Some(Via::Gossip), &[], &outcomes);
                            match outcomes.first() {
                                Some(outcome) if outcome.is_new() => MessageAcceptance::Accept,
                                Some(crate::store::Inserted::Refused(
                                    Refusal::QuarantineFull
                                    | Refusal::HourlyQuota
                                    | Refusal::TotalQuota,
                                )) => {
                                    let _ = commands.send(Command::OverQuota(source));
                                    MessageAcceptance::Ignore
                                }
                                _ => MessageAcceptance::Ignore,
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot store a gossiped record");
                            MessageAcceptance::Ignore
                        }
                    }
                }
            };
            metrics.gossip_received(match acceptance {
                MessageAcceptance::Accept => "accepted",
                MessageAcceptance::Reject => "rejected",
                MessageAcceptance::Ignore => "ignored",
            });
            let _ = commands.send(Command::Validated {
                id,
                source,
                acceptance,
            });
        });
    }

    fn on_sync_event(
        &mut self,
        event: request_response::Event<Result<SyncRequest, BadRequest>, SyncResponse>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request: Err(bad),
                    channel,
                    ..
                } => {
                    let refused = match bad {
                        BadRequest::TooLarge => {
                            self.ban(peer, "it sent a sync frame over the limit");
                            format!("a sync frame is at most {MAX_FRAME_BYTES} bytes")
                        }
                        BadRequest::Malformed(why) => {
                            tracing::info!(%peer, why, "a peer sent a malformed sync request");
                            self.strike(peer, "it sent malformed sync requests");
                            format!("not a sync request: {why}")
                        }
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, SyncResponse::Refused(refused));
                }
                request_response::Message::Request {
                    request: Ok(request),
                    channel,
                    ..
                } => {
                    if matches!(request, SyncRequest::Reconcile(_)) {
                        self.last_contact.insert(peer, Instant::now());
                    }
                    self.answer(peer, request, channel)
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let request_response::OutboundFailure::Io(e) = &error
                    && is_too_large(e)
                {
                    self.ban(peer, "it answered with a sync frame over the limit");
                }
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "a sync request from a peer failed");
            }
            _ => {}
        }
    }

    /// Serve one sync request on a task of its own (bounded by a semaphore,
    /// and per peer: a peer with [`MAX_INBOUND_PER_PEER`] requests in
    /// progress is refused at once, so that one peer cannot hold every
    /// permit while honest peers wait).
    fn answer(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let Some(slot) = PeerSlot::take(&self.inbound_by_peer, peer) else {
            tracing::debug!(%peer, "a peer sends sync requests faster than they are answered");
            let refused = SyncResponse::Refused(format!(
                "busy: at most {MAX_INBOUND_PER_PEER} requests of one peer at a time"
            ));
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, refused);
            return;
        };
        let node = self.node.clone();
        let shared = self.shared.clone();
        let permits = self.inbound.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _permit = permits.acquire_owned().await;
            let response = serve(&node, &shared, peer, request).await;
            let _ = shared.commands.send(Command::Respond { channel, response });
        });
    }
}

/// One of a peer's [`MAX_INBOUND_PER_PEER`] slots, given back on drop.
struct PeerSlot {
    counts: Arc<Mutex<HashMap<PeerId, usize>>>,
    peer: PeerId,
}

impl PeerSlot {
    fn take(counts: &Arc<Mutex<HashMap<PeerId, usize>>>, peer: PeerId) -> Option<PeerSlot> {
        let mut map = counts.lock().ok()?;
        let count = map.entry(peer).or_default();
        if *count >= MAX_INBOUND_PER_PEER {
            return None;
        }
        *count += 1;
        Some(PeerSlot {
            counts: counts.clone(),
            peer,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.counts.lock()
            && let Some(count) = map.get_mut(&self.peer)
        {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.peer);
            }
        }
    }
}

async fn serve(
    node: &Node,
    shared: &Arc<Shared>,
    peer: PeerId,
    request: SyncRequest,
) -> SyncResponse {
    match request {
        SyncRequest::Reconcile(message) => {
            // An initiator's message is bounded by the frame limit it runs
            // with; a bigger one (a huge id list, a flood of tiny ranges)
            // is refused before any work.
            if message.len() as u64 > MAX_RECONCILE_BYTES {
                tracing::info!(%peer, bytes = message.len(), "a peer sent an oversized reconcile message");
                let _ = shared.commands.send(Command::Strike(
                    peer,
                    "it sent oversized reconcile messages",
                ));
                return SyncResponse::Refused(format!(
                    "a reconcile message is at most {MAX_RECONCILE_BYTES} bytes"
                ));
            }
            let set = match head_set(node, shared).await {
                Ok(set) => set,
                Err(e) => return SyncResponse::Refused(e.to_string()),
            };
            let answer = tokio::task::spawn_blocking(move || set.respond(&message)).await;
            match answer {
                Ok(Ok(answer)) => SyncResponse::Reconcile(ByteBuf::from(answer)),
                Ok(Err(e)) => {
                    tracing::info!(%peer, error = %e, "a peer sent a malformed reconcile message");
                    let _ = shared.commands.send(Command::Strike(
                        peer,
                        "it sent malformed reconcile messages",
                    ));
                    SyncResponse::Refused(e.to_string())
                }
                Err(e) => SyncResponse::Refused(e.to_string()),
            }
        }
        SyncRequest::Fetch(ids) => {
            let malformed = if ids.len() > MAX_FETCH_IDS {
                Some(format!("at most {MAX_FETCH_IDS} ids per fetch"))
            } else if ids.iter().any(|id| id.len() != 32) {
                Some("an id is not 32 bytes".to_owned())
            } else {
                None
            };
            if let Some(why) = malformed {
                tracing::info!(%peer, why, "a peer sent a malformed fetch");
                let _ = shared
                    .commands
                    .send(Command::Strike(peer, "it sent malformed fetch requests"));
                return SyncResponse::Refused(why);
            }
            let node = node.clone();
            let found = tokio::task::spawn_blocking(move || {
                answer_fetch(ids, |id| {
                    match node.store().get(&essaim_protocol::RecordId(*id)) {
                        Ok(found) => Ok(found.map(|stored| stored.record.to_envelope())),
                        Err(e) => Err(e.to_string()),
                    }
                })
            })
            .await;
            found.unwrap_or_else(|e| SyncResponse::Refused(e.to_string()))
        }
        SyncRequest::Push(envelopes) => {
            let (records, rejected) = verify_all(node, envelopes, None).await;
            if rejected > 0 {
                let _ = shared.commands.send(Command::Strike(
                    peer,
                    "it pushed records that do not verify",
                ));
            }
            let source = Source::Peer(peer.to_string());
            let count = records.len();
            match node
                .ingest(records.into_iter().map(|r| (r, source.clone())).collect())
                .await
            {
                Ok(outcomes) => {
                    node.metrics().ingested(Some(Via::Sync), &[], &outcomes);
                    SyncResponse::Pushed {
                        accepted: outcomes.iter().filter(|o| o.is_new()).count() as u32,
                        rejected: rejected as u32,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, count, "cannot store pushed records");
                    SyncResponse::Refused(e.to_string())
                }
            }
        }
    }
}

/// Verify envelopes on a blocking thread; with `wanted`, a record whose id
/// was not asked for counts as rejected.
async fn verify_all(
    node: &Node,
    envelopes: Vec<ByteBuf>,
    wanted: Option<HashSet<[u8; 32]>>,
) -> (Vec<SignedRecord>, usize) {
    let metrics = node.metrics().clone();
    tokio::task::spawn_blocking(move || {
        verify_envelopes(
            envelopes,
            wanted.as_ref(),
            unix_now(),
            |error| match error {
                Some(e) => metrics.rejected_record(e),
                None => metrics.rejected(crate::metrics::UNREQUESTED),
            },
        )
    })
    .await
    .unwrap_or_default()
}

fn cbor_len<T: serde::Serialize>(message: &T) -> u64 {
    serde_ipld_dagcbor::to_vec(message).map_or(0, |v| v.len() as u64)
}

async fn request(
    shared: &Arc<Shared>,
    peer: PeerId,
    request: SyncRequest,
    summary: &mut SyncSummary,
) -> Result<SyncResponse, SyncError> {
    summary.bytes_sent += cbor_len(&request);
    let (reply, answer) = oneshot::channel();
    shared
        .commands
        .send(Command::Request {
            peer,
            request,
            reply,
        })
        .map_err(|_| SyncError::Transport("federation stopped".into()))?;
    let response = answer
        .await
        .map_err(|_| SyncError::Transport("federation stopped".into()))?
        .map_err(SyncError::Transport)?;
    summary.bytes_received += cbor_len(&response);
    if let SyncResponse::Refused(reason) = &response {
        return Err(SyncError::Protocol(format!("the peer refused: {reason}")));
    }
    Ok(response)
}

/// One reconciliation with `peer`, as initiator: reconcile, fetch, push.
/// The ids a session claimed in [`Shared::fetching`](super::Shared),
/// released when the batch is stored or the session ends, however it ends.
struct Claims {
    shared: Arc<Shared>,
    ids: HashSet<[u8; 32]>,
}

impl Claims {
    /// Claim an id; false if another session is fetching it.
    fn claim(&mut self, id: [u8; 32]) -> bool {
        let Ok(mut fetching) = self.shared.fetching.lock() else {
            return true;
        };
        if fetching.insert(id) {
            self.ids.insert(id);
            true
        } else {
            false
        }
    }

    fn release_all(&mut self) {
        if let Ok(mut fetching) = self.shared.fetching.lock() {
            for id in self.ids.drain() {
                fetching.remove(&id);
            }
        }
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        self.release_all();
    }
}

/// How long a session waits for the others to fetch the ids it left them.
const DEFERRED_WAIT: Duration = Duration::from_secs(30);

/// Of the ids left to other sessions: drop those now stored, queue those
/// nobody fetches any more (or all of them, after [`DEFERRED_WAIT`]), and
/// return those still being fetched.
async fn settle_deferred(
    node: &Node,
    shared: &Arc<Shared>,
    deferred: Vec<[u8; 32]>,
    queue: &mut VecDeque<[u8; 32]>,
    since: Instant,
) -> Vec<[u8; 32]> {
    let worker = node.clone();
    let unstored = tokio::task::spawn_blocking(move || {
        deferred
            .into_iter()
            .filter(|id| {
                !matches!(
                    worker.store().get(&essaim_protocol::RecordId(*id)),
                    Ok(Some(_))
                )
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let give_up = since.elapsed() > DEFERRED_WAIT;
    let Ok(fetching) = shared.fetching.lock() else {
        queue.extend(unstored);
        return Vec::new();
    };
    let (pending, free): (Vec<_>, Vec<_>) = unstored
        .into_iter()
        .partition(|id| fetching.contains(id) && !give_up);
    queue.extend(free);
    pending
}

async fn session(
    node: &Node,
    shared: &Arc<Shared>,
    peer: PeerId,
    summary: &mut SyncSummary,
) -> Result<(), SyncError> {
    let set = head_set(node, shared).await?;
    let (mut initiator, mut message) = tokio::task::spawn_blocking(move || Initiator::start(&set))
        .await
        .map_err(|e| SyncError::Local(e.to_string()))??;
    loop {
        summary.reconcile_bytes += message.len() as u64;
        let answer = match request(
            shared,
            peer,
            SyncRequest::Reconcile(ByteBuf::from(message)),
            summary,
        )
        .await?
        {
            SyncResponse::Reconcile(answer) => answer,
            _ => return Err(SyncError::Protocol("not a reconcile answer".into())),
        };
        summary.reconcile_bytes += answer.len() as u64;
        let (back, next) = tokio::task::spawn_blocking(move || {
            let next = initiator.step(&answer);
            (initiator, next)
        })
        .await
        .map_err(|e| SyncError::Local(e.to_string()))?;
        initiator = back;
        match next? {
            Some(next) => message = next,
            None => break,
        }
    }
    summary.rounds = initiator.rounds() as u64;
    summary.needed = initiator.need.len() as u64;
    summary.offered = initiator.have.len() as u64;

    // Fetch what this node lacks, in batches; ids another session is
    // fetching are left to it, and fetched here only if it fails.
    let source = Source::Peer(peer.to_string());
    let mut queue: VecDeque<[u8; 32]> = initiator.need.into();
    let mut claims = Claims {
        shared: shared.clone(),
        ids: HashSet::new(),
    };
    let mut deferred: Vec<[u8; 32]> = Vec::new();
    let deferred_since = Instant::now();
    loop {
        if queue.is_empty() && !deferred.is_empty() {
            deferred = settle_deferred(node, shared, deferred, &mut queue, deferred_since).await;
            if queue.is_empty() && !deferred.is_empty() {
                tokio::time::sleep(Duration::from_millis(25)).await;
                continue;
            }
        }
        if queue.is_empty() {
            break;
        }
        let mut batch: Vec<[u8; 32]> = Vec::new();
        while batch.len() < MAX_FETCH_IDS
            && let Some(id) = queue.pop_front()
        {
            if claims.claim(id) {
                batch.push(id);
            } else {
                deferred.push(id);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let wanted: HashSet<[u8; 32]> = batch.iter().copied().collect();
        let ids = batch.iter().map(|id| ByteBuf::from(id.to_vec())).collect();
        let (envelopes, missing) =
            match request(shared, peer, SyncRequest::Fetch(ids), summary).await? {
                SyncResponse::Records { records, missing } => (records, missing),
                _ => return Err(SyncError::Protocol("not a records answer".into())),
            };
        if envelopes.len() + missing.len() > batch.len() {
            return Err(SyncError::Protocol("more records than asked for".into()));
        }
        if envelopes.is_empty() && missing.is_empty() {
            return Err(SyncError::Protocol("a fetch answered nothing".into()));
        }
        let (records, rejected) = verify_all(node, envelopes, Some(wanted)).await;
        if rejected > 0 {
            summary.rejected += rejected as u64;
            let _ = shared
                .commands
                .send(Command::Strike(peer, "it sent records that do not verify"));
        }
        let got: HashSet<[u8; 32]> = records.iter().map(|r| r.id().0).collect();
        for address in records.iter().flat_map(super::endpoints_of) {
            let _ = shared.commands.send(Command::DialHub(address));
        }
        let missing: HashSet<&[u8]> = missing.iter().map(|m| m.as_slice()).collect();
        // Left out to keep the answer small: ask again.
        for id in batch {
            if !got.contains(&id) && !missing.contains(&id[..]) && rejected == 0 {
                queue.push_back(id);
            }
        }
        let outcomes = node
            .ingest(records.into_iter().map(|r| (r, source.clone())).collect())
            .await
            .map_err(|e| SyncError::Local(e.to_string()))?;
        node.metrics().ingested(Some(Via::Sync), &[], &outcomes);
        summary.fetched += outcomes.iter().filter(|o| o.is_new()).count() as u64;
        claims.release_all();
    }

    // Push what the peer lacks, in batches bounded in bytes.
    let mut have: VecDeque<[u8; 32]> = initiator.have.into();
    while !have.is_empty() {
        let worker = node.clone();
        let (batch, rest) = tokio::task::spawn_blocking(move || {
            let mut batch = Vec::new();
            let mut bytes = 0;
            while bytes < MAX_BATCH_BYTES
                && let Some(id) = have.pop_front()
            {
                if let Ok(Some(stored)) = worker.store().get(&essaim_protocol::RecordId(id)) {
                    let envelope = stored.record.to_envelope();
                    bytes += envelope.len();
                    batch.push(ByteBuf::from(envelope));
                }
            }
            (batch, have)
        })
        .await
        .map_err(|e| SyncError::Local(e.to_string()))?;
        have = rest;
        if batch.is_empty() {
            continue;
        }
        match request(shared, peer, SyncRequest::Push(batch), summary).await? {
            SyncResponse::Pushed { accepted, .. } => summary.pushed += u64::from(accepted),
            _ => return Err(SyncError::Protocol("not a pushed answer".into())),
        }
    }
    Ok(())
}
