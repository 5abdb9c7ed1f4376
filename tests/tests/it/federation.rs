//! Federation between real nodes on 127.0.0.1: gossip along a line,
//! catch-up after being offline, and a hostile peer.

use std::time::{Duration, Instant};

use essaim_node::p2p::MAX_TRANSMIT_BYTES;
use essaim_node::p2p::libp2p;
use essaim_node::store::Source;
use essaim_protocol::HubKey;
use essaim_tests::harness::{
    NET_TIMEOUT, TestNode, bare_gossipsub, bare_swarm, initiative, line, spawn_gossip_until_cut,
    wait_for,
};

/// A record published at one end of a line of 10 nodes is searchable at the
/// other end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_crosses_a_line_of_ten_nodes() {
    let nodes = line(10).await;
    for (i, node) in nodes.iter().enumerate() {
        let expected = if i == 0 || i == 9 { 1 } else { 2 };
        assert_eq!(
            node.p2p().peers().len(),
            expected,
            "{} is not in a line",
            node.name
        );
    }
    // Let the gossipsub meshes form (heartbeat 0.7 s).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    let record = nodes[0].publish("velo-cargo-partage").await;
    let last = &nodes[9];
    wait_for("the record to reach node-9", NET_TIMEOUT, || async {
        last.has(&record).await.then_some(())
    })
    .await;
    let stored = start.elapsed();
    // It came by gossip (the meshes formed after the connection-time
    // reconciliations), and gossipsub's counters saw it.
    let status = last.status().await;
    assert!(status.gossip_received >= 1, "{status:?}");
    assert!(
        status.gossip_duplicates < status.gossip_received,
        "{status:?}"
    );
    wait_for("node-9 to find it by search", NET_TIMEOUT, || async {
        last.finds("velo cargo partage", "velo-cargo-partage")
            .await
            .then_some(())
    })
    .await;
    eprintln!(
        "line of 10: stored at the far end after {} ms, searchable after {} ms",
        stored.as_millis(),
        start.elapsed().as_millis()
    );
}

/// A node that was offline while 1,000 records were published elsewhere
/// converges in one reconciliation when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_node_catches_up_in_one_reconciliation() {
    let a = TestNode::spawn("a", &[]).await;
    let mut b = TestNode::spawn("b", &[a.addr().await]).await;
    let a_peer = a.peer_id();
    wait_for("b to sync with a", NET_TIMEOUT, || async {
        b.status().await.last_sync.filter(|s| s.ok).map(|_| ())
    })
    .await;
    assert_eq!(a.status().await.digest, b.status().await.digest);
    b.stop().await;

    // 1,000 records of another hub arrive at a while b is away.
    let key = HubKey::generate().unwrap();
    let now = essaim_node::unix_now();
    let records: Vec<_> = (0..1_000)
        .map(|i| {
            (
                initiative(&key, &format!("initiative-{i}"), now - 1_000 + i),
                Source::Import,
            )
        })
        .collect();
    a.node().ingest(records).await.unwrap();
    assert_ne!(a.status().await.digest, "");

    let a_addr = a.addr().await;
    b.start(&[a_addr]).await;
    let summary = wait_for("b's reconciliation with a", NET_TIMEOUT, || async {
        b.p2p()
            .peers()
            .into_iter()
            .find(|p| p.peer_id == a_peer.to_string())
            .and_then(|p| p.last_sync)
    })
    .await;
    assert!(summary.ok, "{summary:?}");
    assert_eq!(summary.fetched, 1_000, "{summary:?}");
    let (sa, sb) = (a.status().await, b.status().await);
    assert_eq!(
        sa.digest, sb.digest,
        "digests differ after one reconciliation"
    );
    assert_eq!(sa.heads, sb.heads);
    let overhead = summary.bytes_sent + summary.bytes_received;
    eprintln!(
        "catch-up of 1,000 records: {} rounds, {} reconcile bytes ({:.1} per missing record), \
         {} bytes sent, {} bytes received, {} ms",
        summary.rounds,
        summary.reconcile_bytes,
        summary.reconcile_bytes as f64 / 1_000.0,
        summary.bytes_sent,
        summary.bytes_received,
        summary.duration_ms
    );
    assert!(overhead > 0);
}

/// A raw libp2p peer that gossips forged, tampered and oversized records:
/// none is relayed, it is penalised and disconnected, and honest records
/// keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gossiping_bad_records_is_cut_off() {
    let a = TestNode::spawn("a", &[]).await;
    let b = TestNode::spawn("b", &[a.addr().await]).await;
    wait_for("b to connect to a", NET_TIMEOUT, || async {
        (!b.p2p().peers().is_empty()).then_some(())
    })
    .await;

    // The hostile peer: plain gossipsub, no validation, same topic.
    let mut hostile = bare_swarm(|_| bare_gossipsub(4 * MAX_TRANSMIT_BYTES));
    hostile.dial(a.addr().await).unwrap();
    let hostile_peer = *hostile.local_peer_id();

    // Bad records: a forged signature, a tampered payload, garbage, oversized.
    let key = HubKey::generate().unwrap();
    let now = essaim_node::unix_now();
    let good = initiative(&key, "honnete", now);
    let mut forged = good.to_envelope();
    let last = forged.len() - 1;
    forged[last] ^= 1; // the signature's last byte
    let mut tampered = initiative(&key, "falsifiee", now).to_envelope();
    tampered[20] ^= 0x20;
    let bad: Vec<Vec<u8>> = vec![
        forged,
        tampered,
        b"not a record at all".to_vec(),
        vec![0xa2; 100_000],
        initiative(&key, "falsifiee-2", now).to_envelope()[..200].to_vec(),
    ];

    // Vary the bytes so that each message is new to gossipsub (the exact
    // forgeries go out in the first round that reaches a).
    let (sent, driver) = spawn_gossip_until_cut(
        hostile,
        Duration::from_millis(300),
        NET_TIMEOUT,
        move |round| {
            bad.iter()
                .enumerate()
                .map(|(i, bytes)| {
                    let mut bytes = bytes.clone();
                    if round > 1 || i == 2 {
                        bytes.extend_from_slice(&round.to_be_bytes());
                    }
                    bytes
                })
                .collect()
        },
    );

    // Honest records keep flowing from b to a meanwhile.
    let honest = b.publish("toujours-honnete").await;
    wait_for("the honest record to reach a", NET_TIMEOUT, || async {
        a.has(&honest).await.then_some(())
    })
    .await;

    let disconnected = tokio::time::timeout(NET_TIMEOUT + Duration::from_secs(5), driver)
        .await
        .expect("the hostile driver ends")
        .unwrap();
    assert!(
        sent.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the hostile peer sent nothing"
    );
    assert!(disconnected, "a did not disconnect the hostile peer");
    wait_for("a to drop the hostile peer", NET_TIMEOUT, || async {
        (!a.p2p()
            .peers()
            .iter()
            .any(|p| p.peer_id == hostile_peer.to_string()))
        .then_some(())
    })
    .await;
    // Nothing of it reached b, and b keeps its peer a.
    assert!(!b.has(&good).await);
    let b_status = b.status().await;
    assert_eq!(b_status.connected_peers, 1);
    let a_status = a.status().await;
    assert_eq!(a_status.digest, b_status.digest);
}

/// Two halves stop talking, both publish, and once they reconnect both hold
/// the same heads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_heals() {
    let a = TestNode::spawn("a", &[]).await;
    let a_addr = a.addr().await;
    let mut b = TestNode::spawn("b", std::slice::from_ref(&a_addr)).await;
    wait_for("b to sync with a", NET_TIMEOUT, || async {
        b.status().await.last_sync.filter(|s| s.ok).map(|_| ())
    })
    .await;
    // The partition: b goes away (its store stays), both sides keep writing.
    b.stop().await;
    let on_a = a.publish("publiee-pendant-la-coupure-a").await;
    let key = HubKey::generate().unwrap();
    let now = essaim_node::unix_now();
    let records: Vec<_> = (0..50)
        .map(|i| {
            (
                initiative(&key, &format!("cote-b-{i}"), now - 100 + i),
                Source::Import,
            )
        })
        .collect();
    // b's side writes into its store while it is cut off.
    {
        let data = b.data.clone();
        tokio::task::spawn_blocking(move || {
            let node = essaim_node::node::Node::open(&data).unwrap();
            node.ingest_blocking(records).unwrap();
        })
        .await
        .unwrap();
    }
    b.start(&[a_addr]).await;
    let (sa, sb) = wait_for("the two halves to converge", NET_TIMEOUT, || async {
        let (sa, sb) = (a.status().await, b.status().await);
        (sa.digest == sb.digest).then_some((sa, sb))
    })
    .await;
    assert!(b.has(&on_a).await);
    assert_eq!(sa.heads, sb.heads);
}

/// Killing the node everyone bootstrapped from does not stop the others:
/// records keep flowing between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_outlives_its_bootstrap_node() {
    let mut boot = TestNode::spawn("bootstrap", &[]).await;
    let boot_addr = boot.addr().await;
    let b = TestNode::spawn("b", std::slice::from_ref(&boot_addr)).await;
    let c = TestNode::spawn("c", &[boot_addr]).await;
    // c finds b through kad (the bootstrap node knows b) and connects to it.
    let b_peer = b.peer_id().to_string();
    wait_for(
        "c to find and connect to b through kad",
        NET_TIMEOUT,
        || async {
            c.p2p()
                .peers()
                .iter()
                .any(|p| p.peer_id == b_peer)
                .then_some(())
        },
    )
    .await;
    boot.stop().await;
    let record = b.publish("apres-le-depart-du-bootstrap").await;
    wait_for(
        "c to receive b's record without the bootstrap",
        NET_TIMEOUT,
        || async { c.has(&record).await.then_some(()) },
    )
    .await;
    let (sb, sc) = wait_for("b and c to converge", NET_TIMEOUT, || async {
        let (sb, sc) = (b.status().await, c.status().await);
        (sb.digest == sc.digest).then_some((sb, sc))
    })
    .await;
    assert_eq!(sb.heads, sc.heads);
}

/// A node remembers the peers it dialled: restarted without any bootstrap
/// address, it connects to them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_redials_the_peers_it_remembers() {
    let a = TestNode::spawn("a", &[]).await;
    let mut b = TestNode::spawn("b", &[a.addr().await]).await;
    let a_peer = a.peer_id().to_string();
    wait_for("b to connect to a", NET_TIMEOUT, || async {
        b.p2p()
            .peers()
            .iter()
            .any(|p| p.peer_id == a_peer)
            .then_some(())
    })
    .await;
    b.stop().await;
    let known = {
        let data = b.data.clone();
        tokio::task::spawn_blocking(move || {
            essaim_node::store::Store::open(&data.path(essaim_node::node::STORE_FILE))
                .unwrap()
                .peers()
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(known.iter().any(|p| p.peer_id == a_peer), "{known:?}");
    b.start(&[]).await;
    wait_for("b to reconnect to a from memory", NET_TIMEOUT, || async {
        b.p2p()
            .peers()
            .iter()
            .any(|p| p.peer_id == a_peer)
            .then_some(())
    })
    .await;
}

/// A hub that announces its address in its hub record is found through it:
/// b, which only knows a (kad discovery off), connects to c once c's profile
/// reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_are_found_through_the_endpoints_of_their_profiles() {
    let a = TestNode::spawn_with("a", &[], false).await;
    let a_addr = a.addr().await;
    let b = TestNode::spawn_with("b", std::slice::from_ref(&a_addr), false).await;
    let c = TestNode::spawn_announcing("c", &[a_addr]).await;
    let c_peer = c.peer_id().to_string();
    wait_for(
        "b to connect to c through c's hub record",
        NET_TIMEOUT,
        || async {
            b.p2p()
                .peers()
                .iter()
                .any(|p| p.peer_id == c_peer)
                .then_some(())
        },
    )
    .await;
}

/// Two hubs behind NAT (no listening socket: nobody can dial them) meet
/// through a third hub that relays (`relay_server = true`): each reserves a
/// slot on it (`p2p.relays`), one dials the other through its circuit, they
/// reconcile over it, and records cross. When the relay restarts, the
/// reservation is made again and the circuit works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_behind_nat_meet_through_a_relay() {
    let mut relay = TestNode::create("relais", false).await;
    relay.port = Some(free_port());
    relay.p2p_extra = "relay_server = true".into();
    relay.start(&[]).await;
    let relay_addr = relay.addr().await;
    let behind = |name: &'static str| {
        let relay_addr = relay_addr.clone();
        async move {
            let mut node = TestNode::create(name, false).await;
            node.listens = false;
            node.p2p_extra = format!("relays = [\"{relay_addr}\"]");
            node.start(&[]).await;
            node
        }
    };
    let b = behind("derriere-un-nat").await;
    let c = behind("derriere-un-autre-nat").await;
    let circuit = b.addr().await;
    assert!(
        circuit
            .iter()
            .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2pCircuit)),
        "b is reachable only through the relay: {circuit}"
    );
    let status = b.status().await;
    assert!(
        status.relays.iter().any(|r| r.reserved && r.configured),
        "{:?}",
        status.relays
    );
    assert!(status.listen.iter().all(|a| a.contains("p2p-circuit")));

    // c dials b through the circuit and reconciles with it.
    let circuit_sync = |from: &TestNode, to: &TestNode| {
        let peer = to.peer_id().to_string();
        let p2p = from.p2p();
        async move {
            wait_for("a reconciliation over the circuit", NET_TIMEOUT, || {
                let p2p = p2p.clone();
                let peer = peer.clone();
                async move {
                    p2p.peers().into_iter().find(|p| {
                        p.peer_id == peer
                            && p.addresses.iter().any(|a| a.contains("p2p-circuit"))
                            && p.last_sync.as_ref().is_some_and(|s| s.ok)
                    })
                }
            })
            .await
        }
    };
    c.p2p().dial(circuit.clone()).expect("federation runs");
    circuit_sync(&c, &b).await;
    let record = c.publish("essaimee-a-travers-le-relais").await;
    wait_for("b to receive c's record", NET_TIMEOUT, || async {
        b.has(&record).await.then_some(())
    })
    .await;

    // The relay restarts: b reserves its slot again and is reachable again.
    relay.stop().await;
    relay.start(&[]).await;
    wait_for("b's reservation to be made again", NET_TIMEOUT, || async {
        b.status()
            .await
            .relays
            .iter()
            .any(|r| r.reserved)
            .then_some(())
    })
    .await;
    let record = b.publish("toujours-joignable-apres-le-redemarrage").await;
    c.p2p().dial(circuit).expect("federation runs");
    wait_for("c to receive b's record again", NET_TIMEOUT, || async {
        c.has(&record).await.then_some(())
    })
    .await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A node that comes back and reconnects to three peers at once reconciles
/// with each, but fetches every missing record once: the sessions share
/// the ids in flight. Received bytes stay near one copy of the records,
/// where three concurrent fetches would bring three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reconciliations_fetch_each_record_once() {
    let a = TestNode::spawn("a", &[]).await;
    let b = TestNode::spawn("b", &[a.addr().await]).await;
    let c = TestNode::spawn("c", &[a.addr().await, b.addr().await]).await;
    let peers = [&a, &b, &c];
    let addresses = vec![a.addr().await, b.addr().await, c.addr().await];
    let mut x = TestNode::spawn("x", &addresses).await;
    wait_for("x to sync with its three peers", NET_TIMEOUT, || async {
        (x.p2p()
            .peers()
            .iter()
            .filter(|p| p.last_sync.is_some())
            .count()
            == 3)
            .then_some(())
    })
    .await;
    x.stop().await;

    // 300 records reach a, b and c while x is away.
    let key = HubKey::generate().unwrap();
    let now = essaim_node::unix_now();
    let records: Vec<_> = (0..300)
        .map(|i| initiative(&key, &format!("pendant-l-absence-{i}"), now - 1_000 + i))
        .collect();
    let record_bytes: usize = records.iter().map(|r| r.to_envelope().len()).sum();
    for peer in peers {
        let batch = records
            .iter()
            .map(|r| (r.clone(), Source::Import))
            .collect();
        peer.node().ingest(batch).await.unwrap();
    }
    let target = a.status().await.digest;

    x.start(&addresses).await;
    let summaries = wait_for(
        "x's reconciliations with its three peers",
        NET_TIMEOUT,
        || async {
            let done: Vec<_> = x
                .p2p()
                .peers()
                .into_iter()
                .filter_map(|p| p.last_sync)
                .collect();
            (done.len() == 3 && x.status().await.digest == target).then_some(done)
        },
    )
    .await;
    let fetched: u64 = summaries.iter().map(|s| s.fetched).sum();
    let received: u64 = summaries.iter().map(|s| s.bytes_received).sum();
    eprintln!(
        "3 concurrent reconciliations: fetched {fetched}, received {received} bytes for {record_bytes} bytes of records"
    );
    assert_eq!(fetched, 300, "{summaries:?}");
    assert!(
        (received as f64) < 1.5 * record_bytes as f64,
        "received {received} bytes for {record_bytes} bytes of records: fetched more than once"
    );
}
