//! Benchmark of anti-entropy: Negentropy reconciliation of two head sets of
//! 100,000 items (as the node builds them: `(created, id)`), with d ∈ {0, 100,
//! 10,000} items missing on one side, scattered at random or clustered among
//! the newest (a node back from being offline), against the naive exchange
//! of every id.
//!
//! ```sh
//! cargo run --release -p essaim-tests --bin bench-sync
//! ```
//!
//! Prints one JSON object. In memory: no network, so the figures are the
//! protocol's bytes and round trips, and the CPU time of both sides.

use std::time::Instant;

use essaim_node::p2p::sync::{FRAME_LIMIT, HeadSet, reconcile_in_memory};
use essaim_tests::{machine, round};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const N: u64 = 100_000;
/// One record every 5 minutes: 100,000 items span about a year.
const START: u64 = 1_735_689_600;

fn item(i: u64) -> (u64, [u8; 32]) {
    (START + i * 300, Sha256::digest(i.to_be_bytes()).into())
}

/// Whether item `i` is missing locally in a scattered layout of `d` misses.
fn scattered_miss(i: u64, d: u64) -> bool {
    let h = Sha256::digest([b"miss".as_slice(), &i.to_be_bytes()].concat());
    let x = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    // Probability d / N, reproducible.
    (x % N) < d
}

fn case(d: u64, clustered: bool) -> Value {
    let all: Vec<(u64, [u8; 32])> = (0..N).map(item).collect();
    let local: Vec<(u64, [u8; 32])> = (0..N)
        .filter(|&i| {
            if clustered {
                i < N - d
            } else {
                !scattered_miss(i, d)
            }
        })
        .map(item)
        .collect();
    let missing = (all.len() - local.len()) as u64;
    let remote = HeadSet::new(1, all).expect("a head set");
    let local = HeadSet::new(1, local).expect("a head set");
    let start = Instant::now();
    let (need, have, rounds, bytes) =
        reconcile_in_memory(&local, &remote).expect("reconciliation succeeds");
    let elapsed = start.elapsed();
    assert_eq!(need.len() as u64, missing);
    assert!(have.is_empty());
    let naive = 32 * N + 32 * missing;
    json!({
        "layout": if clustered { "clustered" } else { "scattered" },
        "d": d,
        "missing": missing,
        "round_trips": rounds,
        "reconcile_bytes": bytes,
        "bytes_per_missing": if missing > 0 { Value::from(round(bytes as f64 / missing as f64)) } else { Value::Null },
        "overhead_per_missing": if missing > 0 {
            Value::from(round((bytes as f64 - 32.0 * missing as f64) / missing as f64))
        } else { Value::Null },
        "naive_id_exchange_bytes": naive,
        "ratio_to_naive": round(bytes as f64 / naive as f64),
        "ms": round(elapsed.as_secs_f64() * 1_000.0),
    })
}

fn main() {
    let mut cases = Vec::new();
    for d in [0, 100, 10_000] {
        for clustered in [false, true] {
            if d == 0 && clustered {
                continue;
            }
            cases.push(case(d, clustered));
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "benchmark": "sync",
            "items": N,
            "frame_limit": FRAME_LIMIT,
            "naive": "every id sent (32 bytes each), then the missing ids asked for",
            "overhead_per_missing": "reconcile bytes per missing item, minus the 32 bytes of its id",
            "machine": machine(),
            "cases": cases,
        }))
        .expect("plain JSON")
    );
}
