//! Benchmark of gossip propagation: N real nodes (store, index, libp2p on
//! 127.0.0.1) in one process, each bootstrapped from a random earlier one,
//! with kad discovery on; records handed to random nodes as a client would;
//! the time from the hand-over to the record being stored at every node.
//!
//! ```sh
//! cargo run --release -p essaim-tests --bin bench-propagation -- 10 50
//! ```
//!
//! Arguments: the network sizes (default 10). Prints one JSON object. The
//! nodes share the process (and its 2 cores), unlike the issue's
//! multi-process target; the figures are an upper bound of the protocol's
//! own latency on this machine.

use std::time::{Duration, Instant};

use essaim_tests::harness::{TestNode, initiative, pick, spread};
use essaim_tests::{machine, round};
use serde_json::{Value, json};

const RECORDS: usize = 30;

async fn network(n: usize) -> Value {
    let started = Instant::now();
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let bootstrap = if i == 0 {
            Vec::new()
        } else {
            vec![nodes[pick(i as u64, i)].addr().await]
        };
        nodes.push(TestNode::spawn(&format!("node-{i}"), &bootstrap).await);
    }
    // Let discovery and the gossipsub meshes settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let setup_ms = started.elapsed().as_millis();
    let degrees: Vec<usize> = nodes.iter().map(|node| node.p2p().peers().len()).collect();
    let mut latencies_ms: Vec<f64> = Vec::new();
    let mut per_record_max: Vec<f64> = Vec::new();
    for r in 0..RECORDS {
        let from = pick(1_000 + r as u64, n);
        let record = initiative(
            nodes[from].node().key(),
            &format!("propagation-{n}-{r}"),
            essaim_node::unix_now() - 1,
        );
        let arrived = spread(&nodes, from, &record, Duration::from_secs(60)).await;
        assert!(
            arrived.iter().all(Option::is_some),
            "record {r} did not reach every node within 60 s"
        );
        let times: Vec<f64> = arrived.into_iter().flatten().collect();
        per_record_max.push(times.iter().copied().fold(0.0, f64::max));
        latencies_ms.extend(times);
    }
    latencies_ms.sort_by(f64::total_cmp);
    per_record_max.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    for mut node in nodes {
        node.stop().await;
    }
    json!({
        "nodes": n,
        "records": RECORDS,
        "setup_ms": setup_ms,
        "degree_min": degrees.iter().min(),
        "degree_max": degrees.iter().max(),
        "latency_ms": {"p50": round(q(&latencies_ms, 0.5)), "p99": round(q(&latencies_ms, 0.99)), "max": round(q(&latencies_ms, 1.0))},
        "all_nodes_ms": {"p50": round(q(&per_record_max, 0.5)), "p99": round(q(&per_record_max, 0.99))},
        "note": "poll-based: each figure includes up to one sweep of store reads over all nodes",
    })
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![10] } else { sizes };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let results: Vec<Value> = sizes
        .into_iter()
        .map(|n| runtime.block_on(network(n)))
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "benchmark": "propagation",
            "machine": machine(),
            "networks": results,
        }))
        .expect("plain JSON")
    );
}
