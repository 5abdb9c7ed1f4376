//! A large federation simulated in one process: N real nodes (store, index,
//! libp2p with gossipsub, kad and reconciliation) on libp2p's in-process
//! memory transport, each bootstrapped from a random earlier node, kad
//! discovery on (a node dials what it finds while it has fewer than 8
//! connections).
//!
//! ```sh
//! cargo run --release -p essaim-tests --bin bench-simulation -- 100 1000
//! ```
//!
//! Arguments: the network sizes (default 100). Prints one JSON object with,
//! for each size:
//! - `gossip`: records handed to random nodes one after the other; the time
//!   until every node stores each, and the copies each node received per
//!   record (gossipsub's own counters);
//! - `catch_up`: a tenth of the nodes stopped, records published elsewhere,
//!   the nodes restarted: the time until every node has the same head-set
//!   digest, and the bytes of the reconciliations, per missing record;
//! - the process's peak memory and the degrees of the graph.
//!
//! Everything shares the process and the machine's cores: the times are an
//! upper bound of the protocol's own latency, dominated by CPU contention
//! at large N.

use std::time::{Duration, Instant};

use essaim_tests::harness::{TestNode, initiative, pick, spread};
use essaim_tests::{machine, round};
use serde_json::{Value, json};

const GOSSIPED: usize = 20;
const CAUGHT_UP: usize = 50;
/// The bound on any one convergence; a network that misses it is reported
/// as not converged.
const BOUND: Duration = Duration::from_secs(60);

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| round(kib / 1024.0))
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    round(sorted[((sorted.len() as f64 - 1.0) * p).round() as usize])
}

async fn gossip_received(nodes: &[TestNode]) -> u64 {
    let mut total = 0;
    for node in nodes {
        total += node.status().await.gossip_received;
    }
    total
}

async fn network(n: usize) -> Value {
    let started = Instant::now();
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let bootstrap = if i == 0 {
            Vec::new()
        } else {
            vec![nodes[pick(i as u64, i)].addr().await]
        };
        let mut node = TestNode::create(&format!("hub-{i}"), true).await;
        node.memory = Some(1 + i as u64);
        node.start(&bootstrap).await;
        nodes.push(node);
        if (i + 1) % 100 == 0 {
            eprintln!("{} nodes started in {:.0?}", i + 1, started.elapsed());
        }
    }
    // Let discovery and the gossipsub meshes settle.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let setup_s = round(started.elapsed().as_secs_f64());
    let degrees: Vec<usize> = nodes.iter().map(|node| node.p2p().peers().len()).collect();

    // Gossip: one record at a time, from random nodes.
    let before = gossip_received(&nodes).await;
    let mut all_nodes_ms: Vec<f64> = Vec::new();
    let mut each_node_ms: Vec<f64> = Vec::new();
    let mut gossip_converged = true;
    for r in 0..GOSSIPED {
        let from = pick(10_000 + r as u64, n);
        let record = initiative(
            nodes[from].node().key(),
            &format!("simulation-{n}-{r}"),
            essaim_node::unix_now() - 1,
        );
        let arrived = spread(&nodes, from, &record, BOUND).await;
        gossip_converged &= arrived.iter().all(Option::is_some);
        let times: Vec<f64> = arrived.into_iter().flatten().collect();
        all_nodes_ms.push(times.iter().copied().fold(0.0, f64::max));
        each_node_ms.extend(times);
    }
    let copies = gossip_received(&nodes).await - before;
    all_nodes_ms.sort_by(f64::total_cmp);
    each_node_ms.sort_by(f64::total_cmp);
    eprintln!("gossip done at {:.0?}", started.elapsed());

    // Catch-up: a tenth of the nodes (never node 0) go offline.
    let offline: Vec<usize> = (0..n.div_ceil(10))
        .map(|k| 1 + pick(20_000 + k as u64, n - 1))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for &i in &offline {
        nodes[i].stop().await;
    }
    let online: Vec<usize> = (0..n).filter(|i| !offline.contains(i)).collect();
    for r in 0..CAUGHT_UP {
        let from = online[pick(30_000 + r as u64, online.len())];
        nodes[from]
            .publish(&format!("pendant-l-absence-{n}-{r}"))
            .await;
    }
    // Let gossip reach every online node before the others come back: each
    // holds a hub record per node and every record published.
    let expected = n + GOSSIPED + CAUGHT_UP;
    let deadline = Instant::now() + BOUND;
    for &i in &online {
        while nodes[i].status().await.heads < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let target = nodes[0].status().await.digest;
    // Sync bytes are counted by the node that starts a reconciliation; a
    // restarted node starts from 0.
    let mut sync_before = vec![0; n];
    for &i in &online {
        sync_before[i] = nodes[i].status().await.sync_bytes;
    }
    let start = Instant::now();
    for &i in &offline {
        // Restarted without bootstrap: it redials the peers it remembers.
        nodes[i].start(&[]).await;
    }
    let mut caught_up_ms: Vec<f64> = Vec::new();
    for &i in &offline {
        while nodes[i].status().await.digest != target && start.elapsed() < BOUND {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        caught_up_ms.push(start.elapsed().as_secs_f64() * 1_000.0);
    }
    let catch_up_converged = start.elapsed() < BOUND;
    if !catch_up_converged {
        let expected = nodes[0].status().await;
        eprintln!(
            "target {target}, node 0 now {} ({} heads)",
            expected.digest, expected.heads
        );
        for &i in &offline {
            let status = nodes[i].status().await;
            eprintln!(
                "offline node {i}: {} heads, {} peers, last sync {:?}",
                status.heads, status.connected_peers, status.last_sync
            );
        }
    }
    let mut sync_bytes = 0;
    for (node, before) in nodes.iter().zip(&sync_before) {
        sync_bytes += node.status().await.sync_bytes.saturating_sub(*before);
    }
    caught_up_ms.sort_by(f64::total_cmp);
    let peak = peak_rss_mib();
    for mut node in nodes {
        node.stop().await;
    }
    let mean_degree = degrees.iter().sum::<usize>() as f64 / n as f64;
    json!({
        "nodes": n,
        "setup_s": setup_s,
        "degree": {"min": degrees.iter().min(), "mean": round(mean_degree), "max": degrees.iter().max()},
        "peak_rss_mib": peak,
        "gossip": {
            "records": GOSSIPED,
            "converged": gossip_converged,
            "all_nodes_ms": {"p50": quantile(&all_nodes_ms, 0.5), "p99": quantile(&all_nodes_ms, 0.99)},
            "each_node_ms": {"p50": quantile(&each_node_ms, 0.5), "p99": quantile(&each_node_ms, 0.99)},
            "copies_per_record_per_node": round(copies as f64 / (GOSSIPED * (n - 1)) as f64),
        },
        "catch_up": {
            "offline_nodes": offline.len(),
            "records_missed": CAUGHT_UP,
            "converged": catch_up_converged,
            "all_caught_up_ms": round(caught_up_ms.last().copied().unwrap_or(f64::NAN)),
            "each_node_ms": {"p50": quantile(&caught_up_ms, 0.5), "p99": quantile(&caught_up_ms, 0.99)},
            "sync_bytes": sync_bytes,
            "sync_bytes_per_missing_record": round(sync_bytes as f64 / (CAUGHT_UP * offline.len()) as f64),
        },
        "note": "poll-based: each time includes up to one sweep of store reads over all nodes",
    })
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![100] } else { sizes };
    let largest = sizes.iter().copied().max().unwrap_or(100);
    // Each node keeps one blocking task for its group commits.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(2 * largest + 512)
        .build()
        .expect("a runtime");
    let results: Vec<Value> = sizes
        .into_iter()
        .map(|n| {
            let result = runtime.block_on(network(n));
            // Each network as soon as it is measured (a larger one may not end).
            eprintln!("{result}");
            result
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "benchmark": "simulation",
            "transport": "libp2p memory transport, one process",
            "machine": machine(),
            "networks": results,
        }))
        .expect("plain JSON")
    );
}
