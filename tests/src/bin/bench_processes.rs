//! Benchmark of gossip propagation between separate processes: N real
//! `essaim run` processes on 127.0.0.1 (no mdns), each bootstrapped from a
//! random earlier one, kad discovery on; records published one at a time on
//! node 0 through `POST /api/v1/publish` with its operator token; the time
//! from the request to the record being stored at each node, and the gossip
//! copies each node received (`/api/v1/status` `sync.gossip_received`).
//!
//! ```sh
//! cargo build --release -p essaim -p essaim-tests
//! target/release/bench-propagation-processes 10 50
//! ```
//!
//! Arguments: the network sizes (default 10 50), `--records R` (default
//! 200), `--poll-ms P` (default 20), `--essaim PATH` (default: the `essaim`
//! beside this binary). Prints one JSON object. Arrival times come from one
//! thread per node polling `GET /api/v1/records?since=` every P ms: each
//! figure is late by up to P ms plus one HTTP round trip.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use essaim_tests::harness::pick;
use essaim_tests::{machine, round};
use serde_json::{Value, json};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get_json(agent: &ureq::Agent, url: &str) -> Option<Value> {
    let mut response = agent.get(url).call().ok()?;
    if response.status() != 200 {
        return None;
    }
    serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
}

struct Process {
    child: Child,
    http: String,
    data: PathBuf,
}

impl Process {
    fn start(essaim: &Path, data: &Path, bootstrap: Option<&str>) -> Process {
        let mut args = vec![
            "run".to_owned(),
            "--data-dir".to_owned(),
            data.display().to_string(),
            "--http".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--listen".to_owned(),
            "/ip4/127.0.0.1/tcp/0".to_owned(),
            "--no-mdns".to_owned(),
        ];
        if let Some(address) = bootstrap {
            args.extend(["--bootstrap".to_owned(), address.to_owned()]);
        }
        let mut child = Command::new(essaim)
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("essaim run starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("API") {
                    let url = rest.trim().trim_end_matches("/api/v1/status").to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let http = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("essaim run prints its API address within 60 s");
        Process {
            child,
            http,
            data: data.to_owned(),
        }
    }

    fn status(&self, agent: &ureq::Agent) -> Value {
        get_json(agent, &format!("{}/api/v1/status", self.http)).unwrap_or(Value::Null)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Record id → (node, milliseconds since the bench's epoch) of each arrival.
type Arrivals = Arc<Mutex<HashMap<String, Vec<(usize, f64)>>>>;

fn poller(
    node: usize,
    base: String,
    epoch: Instant,
    poll: Duration,
    arrivals: Arrivals,
    stop: Arc<AtomicBool>,
) {
    let agent = agent();
    let mut since = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let url = format!("{base}/api/v1/records?since={since}&limit=500");
        if let Some(page) = get_json(&agent, &url) {
            let now = epoch.elapsed().as_secs_f64() * 1_000.0;
            if let Some(records) = page["records"].as_array() {
                let mut map = arrivals.lock().expect("no poller panics");
                for record in records {
                    if let Some(id) = record["id"].as_str() {
                        map.entry(id.to_owned()).or_default().push((node, now));
                    }
                }
            }
            since = page["next"].as_u64().unwrap_or(since);
            if page["more"].as_bool() == Some(true) {
                continue;
            }
        }
        std::thread::sleep(poll);
    }
}

fn q(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The sample initiative draft under another slug and name.
fn draft(example: &str, n: usize, r: usize) -> String {
    example
        .lines()
        .map(|line| {
            if line.starts_with("slug = ") {
                format!("slug = \"propagation-{n}-{r}\"")
            } else if line.starts_with("name = \"L'") {
                format!("name = \"Propagation {n} {r}\"")
            } else {
                line.to_owned()
            }
        })
        .map(|line| line + "\n")
        .collect()
}

fn network(essaim: &Path, n: usize, records: usize, poll: Duration) -> Value {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let agent = agent();
    let mut nodes: Vec<Process> = Vec::with_capacity(n);
    let mut addresses: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let data = tmp.path().join(format!("hub-{i}"));
        let out = Command::new(essaim)
            .args(["init", "--data-dir"])
            .arg(&data)
            .args(["--name", &format!("Ruche {i}"), "--kind", "ruche"])
            .output()
            .expect("essaim init runs");
        assert!(out.status.success(), "essaim init: {out:?}");
        // Every hub's records reach every node: open mode, quotas above
        // what the benchmark publishes; the sample's repository is on the
        // internet: no mirrors here.
        std::fs::write(
            data.join("config.toml"),
            "[trust]\nmode = \"open\"\nquota_per_hour = 10000000\nquota_total = 10000000\n[mirror]\nenabled = false\n",
        )
        .expect("config written");
        let bootstrap = (i > 0).then(|| addresses[pick(i as u64, i)].clone());
        let node = Process::start(essaim, &data, bootstrap.as_deref());
        // The listen address is known once the swarm has bound it.
        let listening = Instant::now() + Duration::from_secs(30);
        let mut status = node.status(&agent);
        while status["sync"]["listen"][0].is_null() && Instant::now() < listening {
            std::thread::sleep(Duration::from_millis(20));
            status = node.status(&agent);
        }
        let sync = &status["sync"];
        addresses.push(format!(
            "{}/p2p/{}",
            sync["listen"][0].as_str().expect("a listen address"),
            sync["peer_id"].as_str().expect("a peer id")
        ));
        nodes.push(node);
    }
    // Every hub profile everywhere: the network is connected and reconciled.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !nodes
        .iter()
        .all(|node| node.status(&agent)["store"]["heads"]["hub"] == n)
    {
        assert!(
            Instant::now() < deadline,
            "the {n} hub profiles did not reach every node within 300 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Let the gossipsub meshes settle (heartbeat 0.7 s).
    std::thread::sleep(Duration::from_secs(3));
    let setup_ms = started.elapsed().as_millis();
    let statuses: Vec<Value> = nodes.iter().map(|node| node.status(&agent)).collect();
    let degrees: Vec<u64> = statuses
        .iter()
        .map(|s| s["sync"]["connected_peers"].as_u64().unwrap_or(0))
        .collect();
    let received_before: Vec<u64> = statuses
        .iter()
        .map(|s| s["sync"]["gossip_received"].as_u64().unwrap_or(0))
        .collect();

    let epoch = Instant::now();
    let arrivals: Arrivals = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let (base, arrivals, stop) = (node.http.clone(), arrivals.clone(), stop.clone());
            std::thread::spawn(move || poller(i, base, epoch, poll, arrivals, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let token = std::fs::read_to_string(nodes[0].data.join("operator.token"))
        .expect("node 0's operator token");
    let mut one_node: Vec<f64> = Vec::new();
    let mut all_nodes: Vec<f64> = Vec::new();
    let mut publish_ms: Vec<f64> = Vec::new();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/epicerie-solidaire-lyon.toml"),
    )
    .expect("the sample draft");
    let mut missing = 0usize;
    for r in 0..records {
        let t0 = epoch.elapsed().as_secs_f64() * 1_000.0;
        let mut response = agent
            .post(&format!("{}/api/v1/publish", nodes[0].http))
            .header("Authorization", &format!("Bearer {}", token.trim()))
            .header("Content-Type", "application/toml")
            .send(draft(&example, n, r).as_bytes())
            .expect("node 0 answers");
        let body = response.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(response.status(), 201, "publish {r}: {body}");
        publish_ms.push(epoch.elapsed().as_secs_f64() * 1_000.0 - t0);
        let answer: Value = serde_json::from_str(&body).expect("a JSON answer");
        let id = answer["id"].as_str().expect("an id").to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = arrivals
                .lock()
                .expect("no poller panics")
                .get(&id)
                .cloned()
                .unwrap_or_default();
            if seen.len() >= n || Instant::now() > deadline {
                let others: Vec<&(usize, f64)> =
                    seen.iter().filter(|(node, ..)| *node != 0).collect();
                missing += (n - 1).saturating_sub(others.len());
                for (_, at) in &others {
                    one_node.push(at - t0);
                }
                if others.len() == n - 1 {
                    all_nodes.push(others.iter().map(|(_, at)| at - t0).fold(0.0, f64::max));
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for poller in pollers {
        let _ = poller.join();
    }
    // Gossip copies received during the run, per node (node 0 published).
    std::thread::sleep(Duration::from_secs(1));
    let copies: Vec<f64> = nodes
        .iter()
        .zip(&received_before)
        .skip(1)
        .map(|(node, before)| {
            let after = node.status(&agent)["sync"]["gossip_received"]
                .as_u64()
                .unwrap_or(0);
            after.saturating_sub(*before) as f64 / records as f64
        })
        .collect();
    let mut sorted_copies = copies.clone();
    sorted_copies.sort_by(f64::total_cmp);
    one_node.sort_by(f64::total_cmp);
    all_nodes.sort_by(f64::total_cmp);
    publish_ms.sort_by(f64::total_cmp);
    for node in nodes {
        node.stop();
    }
    json!({
        "nodes": n,
        "records": records,
        "setup_ms": setup_ms,
        "degree_min": degrees.iter().min(),
        "degree_max": degrees.iter().max(),
        "publish_request_ms": {"p50": round(q(&publish_ms, 0.5)), "p99": round(q(&publish_ms, 0.99))},
        "one_node_ms": {"p50": round(q(&one_node, 0.5)), "p99": round(q(&one_node, 0.99)), "max": round(q(&one_node, 1.0))},
        "all_nodes_ms": {"p50": round(q(&all_nodes, 0.5)), "p99": round(q(&all_nodes, 0.99)), "max": round(q(&all_nodes, 1.0))},
        "missing_after_30_s": missing,
        "copies_per_record_per_node": {
            "mean": round(copies.iter().sum::<f64>() / copies.len().max(1) as f64),
            "min": round(q(&sorted_copies, 0.0)),
            "max": round(q(&sorted_copies, 1.0)),
        },
        "poll_ms": poll.as_millis(),
        "note": "times from the publish request to the record being listed by each node's /api/v1/records (polled); copies from gossipsub's counters (duplicates included)",
    })
}

fn main() {
    let mut sizes: Vec<usize> = Vec::new();
    let mut records = 200;
    let mut poll_ms = 20;
    let mut essaim = std::env::current_exe()
        .expect("the bench's own path")
        .with_file_name("essaim");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--records" => records = args.next().and_then(|a| a.parse().ok()).unwrap_or(records),
            "--poll-ms" => poll_ms = args.next().and_then(|a| a.parse().ok()).unwrap_or(poll_ms),
            "--essaim" => essaim = args.next().map(PathBuf::from).unwrap_or(essaim),
            size => sizes.extend(size.parse::<usize>().ok()),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10, 50];
    }
    let poll = Duration::from_millis(poll_ms);
    let results: Vec<Value> = sizes
        .into_iter()
        .map(|n| network(&essaim, n, records, poll))
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "benchmark": "propagation-processes",
            "machine": machine(),
            "essaim": essaim.display().to_string(),
            "networks": results,
        }))
        .expect("plain JSON")
    );
}
