//! Hostile peers and clients against a real node: oversized frames,
//! slow-loris connections (HTTP and libp2p), floods of valid but useless
//! records, and reconciliation messages built to explode work. Each test
//! checks that the node cuts the attacker and still serves an honest peer
//! or client; none measures time (the latency figures are `bench-load
//! --hostile`'s).

use std::time::Duration;

use essaim_node::p2p::MAX_TRANSMIT_BYTES;
use essaim_node::p2p::sync::{
    MAX_FETCH_IDS, MAX_FRAME_BYTES, MAX_RECONCILE_BYTES, SyncRequest, SyncResponse,
};
use essaim_protocol::HubKey;
use essaim_tests::harness::{
    NET_TIMEOUT, RawOutcome, TestNode, bare_gossipsub, bare_swarm, initiative, raw_request,
    raw_sync_peer, spawn_gossip_until_cut, until_disconnected, wait_for,
};
use serde_bytes::ByteBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A sync request as the wire carries it.
fn frame(request: &SyncRequest) -> Vec<u8> {
    serde_ipld_dagcbor::to_vec(request).expect("a request encodes")
}

/// The node's answer to a raw request, decoded.
fn answer(outcome: Option<RawOutcome>) -> SyncResponse {
    match outcome {
        Some(RawOutcome::Answer(bytes)) => {
            serde_ipld_dagcbor::from_slice(&bytes).expect("the node answers a sync response")
        }
        other => panic!("expected an answer, got {other:?}"),
    }
}

/// The resident memory of this process (the node runs in it), bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("a VmRSS line")
        * 1024
}

/// `a`, and `b` connected to it: the honest peer of each test.
async fn pair() -> (TestNode, TestNode) {
    let a = TestNode::spawn("a", &[]).await;
    let b = TestNode::spawn("b", &[a.addr().await]).await;
    wait_for("b to connect to a", NET_TIMEOUT, || async {
        (!b.p2p().peers().is_empty()).then_some(())
    })
    .await;
    (a, b)
}

/// An honest record published on `b` reaches `a`.
/// Waits (bounded) until `a` has no connection left to `peer`.
async fn dropped(a: &TestNode, peer: essaim_node::p2p::libp2p::PeerId) {
    let peer = peer.to_string();
    wait_for("a to drop the hostile peer", NET_TIMEOUT, || async {
        (!a.p2p().peers().iter().any(|p| p.peer_id == peer)).then_some(())
    })
    .await;
}

async fn still_served(a: &TestNode, b: &TestNode, slug: &str) {
    let record = b.publish(slug).await;
    wait_for("the honest record to reach a", NET_TIMEOUT, || async {
        a.has(&record).await.then_some(())
    })
    .await;
}

/// A sync frame over the limit gets its sender banned at once; the node
/// holds at most the limit of it, and an honest peer still syncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_sync_frame_gets_the_peer_banned() {
    let (a, b) = pair().await;
    let address = a.addr().await;
    let mut hostile = raw_sync_peer();
    let before = rss();
    let outcome = raw_request(
        &mut hostile,
        &address,
        vec![0x5a; MAX_FRAME_BYTES as usize + 64 * 1024],
    )
    .await;
    // Refused, or cut before the refusal left: never served.
    if let Some(RawOutcome::Answer(bytes)) = outcome {
        let response: SyncResponse =
            serde_ipld_dagcbor::from_slice(&bytes).expect("a sync response");
        assert!(
            matches!(response, SyncResponse::Refused(_)),
            "an oversized frame was answered: {response:?}"
        );
    }
    assert!(
        until_disconnected(&mut hostile, a.peer_id(), NET_TIMEOUT).await,
        "a did not disconnect the peer"
    );
    // Banned: a new connection is refused, a well-formed request unanswered.
    let again = raw_request(&mut hostile, &address, frame(&SyncRequest::Fetch(vec![]))).await;
    assert!(
        !matches!(again, Some(RawOutcome::Answer(_))),
        "a banned peer was answered: {again:?}"
    );
    // Generous: the frame itself is 4 MiB; the node held at most that.
    let grown = rss().saturating_sub(before);
    assert!(grown < 100 << 20, "memory grew by {grown} bytes");
    still_served(&a, &b, "servie-malgre-le-gros-cadre").await;
}

/// Gossip messages over the record size limit count as invalid: the sender
/// is graylisted and disconnected. (Frames over twice the limit never get
/// that far: gossipsub's codec refuses them from their length prefix and
/// drops the stream.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_gossip_messages_get_the_peer_cut() {
    let (a, b) = pair().await;
    let mut hostile = bare_swarm(|_| bare_gossipsub(4 * MAX_TRANSMIT_BYTES));
    hostile.dial(a.addr().await).unwrap();
    let hostile_peer = *hostile.local_peer_id();
    let (sent, driver) =
        spawn_gossip_until_cut(hostile, Duration::from_millis(200), NET_TIMEOUT, |round| {
            let mut over = vec![0xa2; MAX_TRANSMIT_BYTES + 1_000];
            over.extend_from_slice(&round.to_be_bytes());
            vec![over]
        });
    still_served(&a, &b, "servie-malgre-les-gros-messages").await;
    let cut = tokio::time::timeout(NET_TIMEOUT + Duration::from_secs(5), driver)
        .await
        .expect("the hostile driver ends")
        .unwrap();
    assert!(
        sent.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "nothing sent"
    );
    assert!(cut, "a did not disconnect the peer");
    dropped(&a, hostile_peer).await;
}

/// Open `n` connections to `address` that send `prefix` then one byte of
/// `trickle` a second; each task ends when the server closes it, giving
/// whether it did within [`NET_TIMEOUT`] (and how many bytes got through).
async fn slow_loris(
    address: std::net::SocketAddr,
    n: usize,
    prefix: &'static [u8],
    trickle: &'static [u8],
) -> Vec<tokio::task::JoinHandle<bool>> {
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            // Refused outright is closed too.
            tasks.push(tokio::spawn(async { true }));
            continue;
        };
        tasks.push(tokio::spawn(async move {
            if stream.write_all(prefix).await.is_err() {
                return true;
            }
            let mut buf = [0u8; 4096];
            let run = async {
                let mut i = 0;
                loop {
                    tokio::select! {
                        read = stream.read(&mut buf) => match read {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        },
                        () = tokio::time::sleep(Duration::from_secs(1)) => {
                            let byte = trickle[i % trickle.len()];
                            i += 1;
                            if stream.write_all(&[byte]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            };
            tokio::time::timeout(NET_TIMEOUT, run).await.is_ok()
        }));
    }
    tasks
}

/// HTTP clients that trickle their headers, or send nothing, are closed
/// after the header read timeout; honest clients are served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_http_connections_are_closed() {
    let a = TestNode::spawn("a", &[]).await;
    a.publish("epicerie-lente").await;
    wait_for("the record to be searchable", NET_TIMEOUT, || async {
        a.finds("epicerie lente", "epicerie-lente")
            .await
            .then_some(())
    })
    .await;
    let tasks = slow_loris(
        a.http(),
        150,
        b"GET /api/v1/search?q=epicerie HTTP/1.1\r\nHost: a\r\n",
        b"X-Slow: 1\r\n",
    )
    .await;
    // Connections that send nothing at all.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(a.http()).await.expect("a connection"));
    }
    // Honest clients are served while the slow ones hang on.
    for _ in 0..5 {
        assert!(
            a.finds("epicerie lente", "epicerie-lente").await,
            "search failed under attack"
        );
    }
    for task in tasks {
        assert!(task.await.unwrap(), "a slow-loris connection stayed open");
    }
    for mut stream in idle {
        let mut buf = [0u8; 16];
        let closed = tokio::time::timeout(NET_TIMEOUT, stream.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "an idle connection stayed open: {closed:?}"
        );
    }
    assert!(a.finds("epicerie lente", "epicerie-lente").await);
}

/// libp2p connections that trickle their handshake are closed after the
/// handshake timeout; a connected peer is served meanwhile and a new one
/// connects afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_libp2p_handshakes_are_closed() {
    let (a, b) = pair().await;
    let port = a
        .addr()
        .await
        .iter()
        .find_map(|p| match p {
            essaim_node::p2p::libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP port");
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    // More than the node's pending-connection slots (64).
    let tasks = slow_loris(address, 100, b"\x13/multistream/1.0.0", b"\n").await;
    still_served(&a, &b, "servie-malgre-les-lents").await;
    for task in tasks {
        assert!(task.await.unwrap(), "a slow handshake stayed open");
    }
    let c = TestNode::spawn("c", &[]).await;
    c.connect(&a).await;
}

/// A flood of valid records signed by fresh unknown hubs: quarantine stays
/// within its bound, the relaying peer is banned, search keeps answering,
/// and the honest peer stays connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_useless_records_gets_the_peer_cut() {
    let mut a = TestNode::create("a", true).await;
    a.trust = "mode = \"web-of-trust\"\nquarantine_max = 50\n".into();
    a.start(&[]).await;
    let b = TestNode::spawn("b", &[a.addr().await]).await;
    wait_for("b to connect to a", NET_TIMEOUT, || async {
        (!b.p2p().peers().is_empty()).then_some(())
    })
    .await;
    a.publish("recherche-sous-le-deluge").await;

    let mut hostile = bare_swarm(|_| bare_gossipsub(MAX_TRANSMIT_BYTES));
    hostile.dial(a.addr().await).unwrap();
    let hostile_peer = *hostile.local_peer_id();
    let (sent, driver) = spawn_gossip_until_cut(
        hostile,
        Duration::from_millis(100),
        2 * NET_TIMEOUT,
        |round| {
            let now = essaim_node::unix_now();
            (0..100)
                .map(|i| {
                    let key = HubKey::generate().unwrap();
                    initiative(&key, &format!("inutile-{round}-{i}"), now).to_envelope()
                })
                .collect()
        },
    );
    // Search answers during the flood.
    for _ in 0..3 {
        assert!(
            a.finds("recherche deluge", "recherche-sous-le-deluge")
                .await,
            "search failed under the flood"
        );
    }
    let cut = tokio::time::timeout(2 * NET_TIMEOUT + Duration::from_secs(5), driver)
        .await
        .expect("the hostile driver ends")
        .unwrap();
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(cut, "a did not cut the flooding peer after {sent} records");
    dropped(&a, hostile_peer).await;
    let node = a.node().clone();
    let someone = HubKey::generate().unwrap().hub_id();
    let (held, _) = tokio::task::spawn_blocking(move || node.store().quarantine_counts(&someone))
        .await
        .unwrap()
        .unwrap();
    assert!(held <= 50, "quarantine holds {held} records over its bound");
    assert!(
        a.p2p()
            .peers()
            .iter()
            .any(|p| p.peer_id == b.peer_id().to_string()),
        "the honest peer was cut too"
    );
    assert!(
        a.finds("recherche deluge", "recherche-sous-le-deluge")
            .await
    );
}

/// Negentropy's varint: big-endian base 128, high bit set on all bytes
/// but the last.
fn varint(mut n: u64) -> Vec<u8> {
    let mut out = vec![(n & 0x7f) as u8];
    n >>= 7;
    while n > 0 {
        out.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    out.reverse();
    out
}

/// Reconcile messages built to make the responder work: many tiny ranges
/// get a bounded answer; an id list over the message bound, garbage and an
/// oversized fetch are refused, and three of those get the peer banned.
/// An honest peer keeps syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_messages_built_to_explode_work_are_bounded() {
    let (a, b) = pair().await;
    for i in 0..20 {
        a.publish(&format!("deja-la-{i}")).await;
    }
    let address = a.addr().await;
    let mut hostile = raw_sync_peer();

    // Tiny ranges: version, then (timestamp +1, empty prefix, fingerprint)
    // until the message bound.
    let mut tiny = vec![0x61];
    while (tiny.len() + 19) as u64 <= MAX_RECONCILE_BYTES {
        tiny.extend_from_slice(&[0x02, 0x00, 0x01]);
        tiny.extend_from_slice(&[0xee; 16]);
    }
    let ranges = (tiny.len() - 1) / 19;
    let response = answer(
        raw_request(
            &mut hostile,
            &address,
            frame(&SyncRequest::Reconcile(ByteBuf::from(tiny))),
        )
        .await,
    );
    match response {
        SyncResponse::Reconcile(bytes) => assert!(
            bytes.len() as u64 <= MAX_RECONCILE_BYTES,
            "{ranges} tiny ranges got a {}-byte answer",
            bytes.len()
        ),
        other => panic!("{ranges} tiny ranges: {other:?}"),
    }

    // A huge id list: (infinite bound, empty prefix, id list of n ids).
    let n = 90_000u64;
    let mut list = vec![0x61, 0x00, 0x00, 0x02];
    list.extend(varint(n));
    list.extend(std::iter::repeat_n(0x42u8, 32 * n as usize));
    let refused = [
        SyncRequest::Reconcile(ByteBuf::from(list)),
        SyncRequest::Reconcile(ByteBuf::from(b"\x10 not a negentropy message".to_vec())),
        SyncRequest::Fetch(vec![ByteBuf::from(vec![7u8; 32]); MAX_FETCH_IDS * 4]),
    ];
    for (i, request) in refused.into_iter().enumerate() {
        let outcome = raw_request(&mut hostile, &address, frame(&request)).await;
        // The third strike bans the peer, perhaps before its refusal leaves.
        if i == 2 && matches!(outcome, Some(RawOutcome::Failed(_))) {
            continue;
        }
        let response = answer(outcome);
        assert!(
            matches!(response, SyncResponse::Refused(_)),
            "answered: {response:?}"
        );
    }
    assert!(
        until_disconnected(&mut hostile, a.peer_id(), NET_TIMEOUT).await,
        "a did not disconnect the peer after three refused requests"
    );
    still_served(&a, &b, "servie-malgre-les-plages").await;
    // b also reconciles with a explicitly, without error.
    let summary = b.p2p().sync_with(a.peer_id()).await.expect("a sync runs");
    assert!(summary.ok, "{summary:?}");
}
