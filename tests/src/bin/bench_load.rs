//! HTTP load, and search latency under hostile peers, against a release
//! `essaim run` serving the 714 digital public goods.
//!
//! ```sh
//! cargo build --release -p essaim -p essaim-tests --bin essaim --bin bench-load
//! target/release/bench-load [--duration S] [--connections C] [--threads T] [--hostile] [--data DIR]
//! ```
//!
//! Needs `wrk` (`apt-get install wrk`). Starts the real binary beside this
//! one on a fresh data directory with the DPG records imported, then runs
//! wrk on loopback, in one run: a baseline (`/healthz`), search pages
//! (`/?q=…`, a rotating set of real queries) and initiative pages
//! (`/i/HUB/SLUG`, rotating over the queries' hits), each for `--duration`
//! seconds (default 10) after a warm-up. Prints one JSON object: req/s,
//! p50/p99 latency, non-2xx answers and socket errors per target, the
//! search/baseline ratios, and the node's RSS before, after the warm-up, at
//! its peak (sampled every 50 ms) and after.
//!
//! `--hostile` then measures search p99 idle and under each attack of the
//! hostile-peer suite, one at a time (slow-loris on HTTP and on libp2p,
//! oversized sync frames, reconcile messages of many tiny ranges, a flood
//! of records signed by fresh hubs, oversized gossip), and prints each
//! p99 / idle p99 ratio (the target is ≤ 2).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use essaim_node::p2p::libp2p::Multiaddr;
use essaim_node::p2p::sync::{MAX_FRAME_BYTES, MAX_RECONCILE_BYTES, SyncRequest};
use essaim_node::p2p::{MAX_TRANSMIT_BYTES, libp2p};
use essaim_protocol::HubKey;
use essaim_tests::harness::{
    bare_gossipsub, bare_swarm, initiative, raw_request, raw_sync_peer, spawn_gossip_until_cut,
};
use essaim_tests::load::{
    LoadNode, RssSampler, WrkRun, essaim_binary, get, rss_kib, shared_data, wrk, wrk_available,
};
use essaim_tests::{machine, round};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn progress(message: &str) {
    eprintln!("[bench-load] {message}");
}

struct Args {
    duration: Duration,
    connections: usize,
    threads: usize,
    hostile: bool,
    data: PathBuf,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = Args {
            duration: Duration::from_secs(10),
            connections: 16,
            threads: 2,
            hostile: false,
            data: shared_data(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                it.next()
                    .and_then(|v| v.parse().ok())
                    .ok_or(format!("{name} needs a number"))
            };
            match arg.as_str() {
                "--duration" => args.duration = Duration::from_secs(number("--duration")?),
                "--connections" => args.connections = number("--connections")? as usize,
                "--threads" => args.threads = number("--threads")? as usize,
                "--hostile" => args.hostile = true,
                "--data" => {
                    args.data = it.next().map(PathBuf::from).ok_or("--data needs a path")?
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(args)
    }
}

fn main() {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench-load: {message}");
            eprintln!(
                "usage: bench-load [--duration S] [--connections C] [--threads T] [--hostile] [--data DIR]"
            );
            std::process::exit(2);
        }
    };
    if !wrk_available() {
        eprintln!("bench-load: wrk is not installed (apt-get install wrk)");
        std::process::exit(2);
    }
    let Some(binary) = essaim_binary() else {
        eprintln!(
            "bench-load: no `essaim` binary beside this one: cargo build --release -p essaim"
        );
        std::process::exit(2);
    };
    let dpg = args.data.join("dpg/records.json");
    progress(&format!(
        "starting {} on {}",
        binary.display(),
        dpg.display()
    ));
    let node = match LoadNode::start(&binary, &dpg, Duration::from_secs(300)) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("bench-load: {e}");
            std::process::exit(1);
        }
    };
    let (search, pages) = node.paths(200);
    progress(&format!(
        "{} records imported; {} search paths, {} initiative pages",
        node.imported,
        search.len(),
        pages.len()
    ));
    let run = |paths: &[String], duration: Duration| -> WrkRun {
        match wrk(&node.base, paths, duration, args.connections, args.threads) {
            Ok(run) => run,
            Err(e) => {
                eprintln!("bench-load: {e}");
                std::process::exit(1);
            }
        }
    };
    let rss_start = rss_kib(node.pid).unwrap_or(0);
    progress("warm-up");
    let mut both = search.clone();
    both.extend(pages.iter().cloned());
    run(&both, Duration::from_secs(3));
    let rss_warm = rss_kib(node.pid).unwrap_or(0);
    let sampler = RssSampler::start(node.pid);
    let healthz = vec!["/healthz".to_owned()];
    progress("baseline: /healthz");
    let baseline = run(&healthz, args.duration);
    progress("search pages");
    let searched = run(&search, args.duration);
    progress("initiative pages");
    let initiatives = run(&pages, args.duration);
    let peak = sampler.peak();
    drop(sampler);
    let rss_after = rss_kib(node.pid).unwrap_or(0);

    let mut report = json!({
        "bench": "load",
        "machine": machine(),
        "binary": binary.display().to_string(),
        "corpus": {"records_imported": node.imported, "search_queries": search.len(), "initiative_pages": pages.len()},
        "wrk": {"threads": args.threads, "connections": args.connections, "seconds_per_target": args.duration.as_secs()},
        "baseline_healthz": baseline.to_json(),
        "search": searched.to_json(),
        "initiative": initiatives.to_json(),
        "ratios": {
            "search_rps_over_baseline": round(searched.rps / baseline.rps.max(f64::EPSILON)),
            "search_p99_over_baseline": round(searched.p99_ms / baseline.p99_ms.max(f64::EPSILON)),
            "initiative_rps_over_baseline": round(initiatives.rps / baseline.rps.max(f64::EPSILON)),
        },
        "rss_kib": {"start": rss_start, "after_warmup": rss_warm, "peak": peak, "after": rss_after},
    });
    if args.hostile {
        report["hostile"] = hostile(&node, &search, &args);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("JSON prints")
    );
}

/// The node's libp2p address, from its status.
fn p2p_address(base: &str) -> Option<Multiaddr> {
    let status: Value = serde_json::from_str(&get(&format!("{base}/api/v1/status"))?).ok()?;
    fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
        match v {
            Value::Object(map) => map
                .get(key)
                .or_else(|| map.values().find_map(|v| find(v, key))),
            _ => None,
        }
    }
    let peer = find(&status, "peer_id")?.as_str()?.to_owned();
    let listen = find(&status, "listen")?.as_array()?;
    let address = listen
        .iter()
        .filter_map(Value::as_str)
        .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))?;
    let address = if address.contains("/p2p/") {
        address.to_owned()
    } else {
        format!("{address}/p2p/{peer}")
    };
    address.parse().ok()
}

/// One attack, run until `stop`; counts what it did in `count`.
type Attack = fn(Multiaddr, std::net::SocketAddr, Arc<AtomicBool>, Arc<AtomicU64>);

fn hostile(node: &LoadNode, search: &[String], args: &Args) -> Value {
    let Some(p2p) = p2p_address(&node.base) else {
        return json!({"error": "no libp2p address in /api/v1/status"});
    };
    let http: std::net::SocketAddr = node
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the node's HTTP address");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let measure = || {
        wrk(
            &node.base,
            search,
            args.duration,
            args.connections,
            args.threads,
        )
        .expect("wrk runs")
    };
    progress("hostile: idle search");
    let idle = measure();
    let attacks: [(&str, Attack); 6] = [
        ("slow_loris_http", slow_loris_http),
        ("slow_loris_p2p", slow_loris_p2p),
        ("oversized_sync_frames", oversized_sync),
        ("reconcile_tiny_ranges", tiny_ranges),
        ("flood_of_fresh_hub_records", flood),
        ("oversized_gossip", oversized_gossip),
    ];
    let mut results = serde_json::Map::new();
    for (name, attack) in attacks {
        progress(&format!("hostile: search under {name}"));
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let task = {
            let (p2p, stop, count) = (p2p.clone(), stop.clone(), count.clone());
            runtime.spawn_blocking(move || attack(p2p, http, stop, count))
        };
        // Let the attack ramp up.
        std::thread::sleep(Duration::from_secs(2));
        let under = measure();
        stop.store(true, Ordering::Relaxed);
        let _ =
            runtime.block_on(async { tokio::time::timeout(Duration::from_secs(40), task).await });
        results.insert(
            name.to_owned(),
            json!({
                "search": under.to_json(),
                "p99_over_idle": round(under.p99_ms / idle.p99_ms.max(f64::EPSILON)),
                "attack_actions": count.load(Ordering::Relaxed),
                "node_rss_kib": rss_kib(node.pid),
            }),
        );
    }
    json!({"idle_search": idle.to_json(), "attacks": results, "target_p99_over_idle": 2.0})
}

/// Each attack runs its own current-thread runtime on a blocking thread.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// Keep `n` connections to `address` open, each sending `prefix` then one
/// byte of `trickle` a second; reopen the ones the node closes.
async fn trickle(
    address: std::net::SocketAddr,
    n: usize,
    prefix: &'static [u8],
    trickle: &'static [u8],
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (stop, count) = (stop.clone(), count.clone());
        tasks.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                count.fetch_add(1, Ordering::Relaxed);
                if stream.write_all(prefix).await.is_err() {
                    continue;
                }
                let mut buf = [0u8; 1024];
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    tokio::select! {
                        read = stream.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { break },
                        () = tokio::time::sleep(Duration::from_secs(1)) => {
                            if stream.write_all(&trickle[i % trickle.len()..][..1]).await.is_err() { break; }
                            i += 1;
                        }
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

fn slow_loris_http(
    _: Multiaddr,
    http: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    block_on(trickle(
        http,
        200,
        b"GET /?q=sante HTTP/1.1\r\nHost: a\r\n",
        b"X-Slow: 1\r\n",
        stop,
        count,
    ));
}

fn slow_loris_p2p(
    p2p: Multiaddr,
    _: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    let port = p2p
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP port");
    block_on(trickle(
        ([127, 0, 0, 1], port).into(),
        100,
        b"\x13/multistream/1.0.0",
        b"\n",
        stop,
        count,
    ));
}

/// Fresh identities, each sending one frame over the limit (and banned).
fn oversized_sync(
    p2p: Multiaddr,
    _: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    block_on(async move {
        let frame = vec![0x5a; MAX_FRAME_BYTES as usize + 64 * 1024];
        while !stop.load(Ordering::Relaxed) {
            let mut peer = raw_sync_peer();
            let _ = raw_request(&mut peer, &p2p, frame.clone()).await;
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// One identity sending valid reconcile messages of as many tiny ranges as
/// fit, back to back (the most work a message within the rules asks).
fn tiny_ranges(
    p2p: Multiaddr,
    _: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    let mut tiny = vec![0x61];
    while (tiny.len() + 19) as u64 <= MAX_RECONCILE_BYTES {
        tiny.extend_from_slice(&[0x02, 0x00, 0x01]);
        tiny.extend_from_slice(&[0xee; 16]);
    }
    let frame = serde_ipld_dagcbor::to_vec(&SyncRequest::Reconcile(tiny.into()))
        .expect("a request encodes");
    block_on(async move {
        let mut peer = raw_sync_peer();
        while !stop.load(Ordering::Relaxed) {
            if raw_request(&mut peer, &p2p, frame.clone()).await.is_none() {
                peer = raw_sync_peer();
            }
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Gossip from a bare peer, a new identity each time the node cuts it.
async fn gossip(
    p2p: Multiaddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
    max: usize,
    make: fn(u32) -> Vec<Vec<u8>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let mut swarm = bare_swarm(|_| bare_gossipsub(max));
        if swarm.dial(p2p.clone()).is_err() {
            return;
        }
        let (sent, task) = spawn_gossip_until_cut(
            swarm,
            Duration::from_millis(100),
            Duration::from_secs(5),
            make,
        );
        let _ = task.await;
        count.fetch_add(sent.load(Ordering::Relaxed) as u64, Ordering::Relaxed);
    }
}

fn flood(p2p: Multiaddr, _: std::net::SocketAddr, stop: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    block_on(gossip(p2p, stop, count, MAX_TRANSMIT_BYTES, |round| {
        let now = essaim_node::unix_now();
        (0..50)
            .map(|i| {
                let key = HubKey::generate().expect("a key");
                initiative(&key, &format!("inutile-{round}-{i}"), now).to_envelope()
            })
            .collect()
    }));
}

fn oversized_gossip(
    p2p: Multiaddr,
    _: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
) {
    block_on(gossip(p2p, stop, count, 4 * MAX_TRANSMIT_BYTES, |round| {
        let mut over = vec![0xa2; MAX_TRANSMIT_BYTES + 1_000];
        over.extend_from_slice(&round.to_be_bytes());
        over.extend_from_slice(&essaim_node::unix_now().to_be_bytes());
        vec![over]
    }));
}
