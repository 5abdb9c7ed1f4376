//! Benchmark of mirrors: a generated repository of realistic size (≥ 20 MB,
//! ≥ 2,000 commits) served on loopback by the demo forge (`git
//! http-backend`), then, in the same run:
//!
//! - first mirror: the node's fetch (`essaim_node::mirror::git::fetch`: the
//!   `git` binary with the policy, pinned address and size watch) vs `git
//!   clone --mirror`, and vs git2 (libgit2's own HTTP client);
//! - no-op refresh: the node's fetch vs `git fetch` vs git2's fetch;
//! - `git clone` from the node's `/git/` vs from the origin (target ≤ 1.1).
//!
//! ```sh
//! cargo run --release -p essaim-tests --bin bench-mirror
//! ```
//!
//! Prints one JSON object; each time is the median of `RUNS` runs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::mirror::git::{Limits, SharedProgress};
use essaim_node::mirror::policy::UrlPolicy;
use essaim_node::node::Node;
use essaim_node::store::{MirrorState, Source};
use essaim_protocol::vocab::HubKind;
use essaim_protocol::{Body, Territory};
use essaim_tests::machine;
use serde_json::json;

const COMMITS: usize = 2_000;
const FILES: usize = 100;
/// Bytes of incompressible data written per commit.
const BYTES_PER_COMMIT: usize = 20_000;
const RUNS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn rnd(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Generate the repository with `git fast-import` (fast and reproducible).
fn generate(bare: &Path) {
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&[
        "init",
        "-q",
        "--bare",
        "-b",
        "main",
        bare.to_str().expect("a UTF-8 path"),
    ]);
    let mut child = Command::new("git")
        .args([
            "--git-dir",
            bare.to_str().expect("a UTF-8 path"),
            "fast-import",
            "--quiet",
        ])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    let mut input = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let readme = "# Banc d'essai\n\nUn dépôt généré pour mesurer les miroirs d'Essaim.\n";
    for i in 0..COMMITS {
        let mut data = Vec::with_capacity(BYTES_PER_COMMIT);
        // Text-like but incompressible enough: hex of a xorshift stream.
        while data.len() < BYTES_PER_COMMIT {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(format!("{x:016x}\n").as_bytes());
        }
        let message = format!("commit {i}");
        writeln!(input, "commit refs/heads/main").expect("write");
        writeln!(
            input,
            "committer Bench <bench@essaim.invalid> {} +0000",
            1_700_000_000 + i
        )
        .expect("write");
        writeln!(input, "data {}\n{message}", message.len()).expect("write");
        if i == 0 {
            writeln!(
                input,
                "M 644 inline README.md\ndata {}\n{readme}",
                readme.len()
            )
            .expect("write");
        }
        writeln!(
            input,
            "M 644 inline src/file-{:03}.txt\ndata {}",
            i % FILES,
            data.len()
        )
        .expect("write");
        input.write_all(&data).expect("write");
        writeln!(input).expect("write");
        if i % 100 == 99 {
            writeln!(
                input,
                "reset refs/tags/v{}\nfrom refs/heads/main\n",
                i / 100
            )
            .expect("write");
        }
    }
    drop(input);
    assert!(child.wait().expect("fast-import ends").success());
    git(&[
        "--git-dir",
        bare.to_str().expect("a UTF-8 path"),
        "repack",
        "-adq",
    ]);
}

fn timed(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    secs(start.elapsed())
}

fn git_ok(args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let work = tempfile::tempdir().expect("a temporary directory");
    let forge_root = work.path().join("forge");
    std::fs::create_dir_all(&forge_root).expect("forge dir");
    let origin = forge_root.join("bench.git");
    eprintln!("generating {COMMITS} commits…");
    let generated = timed(|| generate(&origin));
    let origin_size = essaim_node::mirror::git::disk_size(&origin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let forge_addr = listener.local_addr().expect("addr");
    tokio::spawn(essaim_node::mirror::forge::serve(
        forge_root.clone(),
        listener,
        std::future::pending(),
    ));
    let url = format!("http://{forge_addr}/bench.git");

    // First mirror and no-op refresh: git clone --mirror / git fetch.
    eprintln!("git clone --mirror…");
    let mut git_clone = Vec::new();
    let mut git_fetch = Vec::new();
    for i in 0..RUNS {
        let dest = work.path().join(format!("git-{i}.git"));
        let d = dest.to_str().expect("a UTF-8 path").to_owned();
        let u = url.clone();
        git_clone.push(timed(|| git_ok(&["clone", "-q", "--mirror", &u, &d])));
        git_fetch.push(timed(|| {
            git_ok(&["--git-dir", &d, "fetch", "-q", "--prune", "origin"])
        }));
        let _ = std::fs::remove_dir_all(&dest);
    }

    // The node's fetch function (what the worker runs).
    eprintln!("node fetch…");
    let policy = UrlPolicy {
        allow_http: true,
        allow_loopback: true,
        allow_private: false,
    };
    let checked = policy.resolve(&url).await.expect("allowed");
    let limits = Limits {
        max_bytes: 1 << 30,
        timeout: Duration::from_secs(600),
        allow_http: true,
    };
    let mut node_clone = Vec::new();
    let mut node_fetch = Vec::new();
    for i in 0..RUNS {
        let target = work.path().join(format!("node-{i}/m.git"));
        let tmp = work.path().join(format!("node-{i}/.tmp"));
        let progress = SharedProgress::default();
        let start = Instant::now();
        essaim_node::mirror::git::fetch(&target, &tmp, &checked, limits, &progress)
            .await
            .expect("node clone");
        node_clone.push(secs(start.elapsed()));
        let start = Instant::now();
        essaim_node::mirror::git::fetch(&target, &tmp, &checked, limits, &progress)
            .await
            .expect("node fetch");
        node_fetch.push(secs(start.elapsed()));
        let _ = std::fs::remove_dir_all(work.path().join(format!("node-{i}")));
    }

    // git2 (libgit2's HTTP client), same origin.
    eprintln!("git2…");
    let mut git2_clone = Vec::new();
    let mut git2_fetch = Vec::new();
    for i in 0..RUNS {
        let dest = work.path().join(format!("git2-{i}.git"));
        let start = Instant::now();
        let repo = git2::build::RepoBuilder::new()
            .bare(true)
            .clone(&url, &dest)
            .expect("git2 clone");
        git2_clone.push(secs(start.elapsed()));
        let start = Instant::now();
        let mut remote = repo.remote_anonymous(&url).expect("remote");
        remote
            .fetch(
                &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                None,
                None,
            )
            .expect("git2 fetch");
        git2_fetch.push(secs(start.elapsed()));
        drop(remote);
        drop(repo);
        let _ = std::fs::remove_dir_all(&dest);
    }

    // A node serving the mirror: git clone from it vs from the origin.
    eprintln!("clone from the node vs the origin…");
    let dir = work.path().join("hub");
    let data = DataDir::locate(Some(dir)).expect("data dir");
    datadir::init(
        &data,
        HubProfile {
            name: Some("Bench".into()),
            kind: HubKind::Ruche,
            territories: vec![Territory::parse("dep:69").expect("territory")],
        },
        essaim_node::unix_now(),
    )
    .expect("init");
    let node = Node::open_with(&data, |c| {
        c.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr")];
        c.mdns = false;
        c.mirror_allow_http = true;
        c.mirror_allow_loopback = true;
    })
    .expect("node");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let node_addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(node.clone().run(listener, async move {
        let _ = stopped.await;
    }));
    let body = Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": node.hub_id().to_string(), "slug": "banc",
        "seq": 1, "created": essaim_node::unix_now() - 5,
        "name": "Banc d'essai", "summary": {"fr": "Un dépôt généré."},
        "themes": ["culture"], "origin": "com:69123", "stage": "experimentation",
        "repositories": [{"name": "bench", "url": url, "licence": "MIT"}],
    }))
    .expect("a valid initiative");
    let record = essaim_protocol::sign(body, node.key(), essaim_node::unix_now()).expect("signed");
    let start = Instant::now();
    node.ingest(vec![(record, Source::Http)])
        .await
        .expect("ingest");
    let hub = node.hub_id().short();
    let worker_first_mirror = loop {
        let n = node.clone();
        let h = hub.clone();
        let row = tokio::task::spawn_blocking(move || n.store().mirror(&h, "banc", "bench"))
            .await
            .expect("joined")
            .expect("store");
        if let Some(row) = row
            && row.state != MirrorState::Pending
        {
            assert_eq!(row.state, MirrorState::Ok, "{row:?}");
            break secs(start.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the mirror never finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let from_node_url = format!("http://{node_addr}/git/{hub}/banc/bench.git");
    let mut from_origin = Vec::new();
    let mut from_node = Vec::new();
    for i in 0..RUNS {
        for (source, times) in [(&url, &mut from_origin), (&from_node_url, &mut from_node)] {
            let dest = work.path().join(format!("clone-{i}"));
            let d = dest.to_str().expect("a UTF-8 path").to_owned();
            times.push(timed(|| git_ok(&["clone", "-q", source, &d])));
            let _ = std::fs::remove_dir_all(&dest);
        }
    }
    let _ = stop.send(());
    let _ = running.await;

    let (gc, gf) = (median(git_clone), median(git_fetch));
    let (nc, nf) = (median(node_clone), median(node_fetch));
    let (g2c, g2f) = (median(git2_clone), median(git2_fetch));
    let (fo, fnode) = (median(from_origin), median(from_node));
    let report = json!({
        "benchmark": "mirror",
        "machine": machine(),
        "repository": {
            "commits": COMMITS,
            "tags": COMMITS / 100,
            "bytes_on_disk": origin_size,
            "generated_secs": rnd(generated, 2),
        },
        "runs": RUNS,
        "first_mirror": {
            "node_fetch_secs": rnd(nc, 3),
            "git_clone_mirror_secs": rnd(gc, 3),
            "git2_clone_secs": rnd(g2c, 3),
            "node_vs_git": rnd(nc / gc, 2),
            "git2_vs_git": rnd(g2c / gc, 2),
            "node_worker_end_to_end_secs": rnd(worker_first_mirror, 3),
        },
        "noop_refresh": {
            "node_fetch_secs": rnd(nf, 3),
            "git_fetch_secs": rnd(gf, 3),
            "git2_fetch_secs": rnd(g2f, 3),
            "node_vs_git": rnd(nf / gf, 2),
            "git2_vs_git": rnd(g2f / gf, 2),
        },
        "clone": {
            "from_origin_secs": rnd(fo, 3),
            "from_node_secs": rnd(fnode, 3),
            "node_vs_origin": rnd(fnode / fo, 2),
            "target": 1.1,
        },
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
}
