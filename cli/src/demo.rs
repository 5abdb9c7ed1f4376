//! `essaim demo --nodes N` (N ≥ 2): a local network of N hubs, each its own
//! process with its own data directory and its own part of the sample
//! catalogue, federating on loopback. The first hub runs in this process, on
//! the data directory given (so `--data-dir` works as with one node); the
//! others are `essaim run` children in sibling directories, dialling the
//! first. The URLs are printed once the first node holds every hub's records,
//! so that what a visitor sees first is the whole catalogue.
//!
//! The children read their standard input and stop when it closes: they stop
//! with the demo, even when it is killed.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::node::Node;
use essaim_node::store::Source;
use essaim_node::unix_now;
use essaim_protocol::SignedRecord;

use crate::commands::Global;

/// How long the demo waits for the network to converge before printing.
const CONVERGE_WITHIN: Duration = Duration::from_secs(30);

struct Hub {
    data: DataDir,
    records: Vec<SignedRecord>,
}

fn hub_dir(root: &Path, i: usize) -> PathBuf {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "essaim-demo".into());
    root.with_file_name(format!("{name}-hub-{}", i + 1))
}

fn prepare(data: &DataDir, i: usize) -> Result<()> {
    if !data.path(datadir::KEY_FILE).exists() {
        datadir::init(
            data,
            HubProfile {
                name: Some(if i == 0 {
                    "Hub de démonstration".into()
                } else {
                    format!("Hub de démonstration {}", i + 1)
                }),
                kind: essaim_protocol::vocab::HubKind::Reseau,
                territories: vec![essaim_protocol::Territory::NATIONAL],
            },
            unix_now(),
        )?;
    }
    Ok(())
}

/// The demo's own forge: a small repository per repository entry of the
/// sample catalogue, served on loopback, so that every demo hub mirrors real
/// code and a visitor can `git clone` it from any hub.
pub(crate) struct DemoForge {
    /// The bound listener (127.0.0.1, any port).
    listener: std::net::TcpListener,
    /// Where the bare repositories are.
    root: PathBuf,
    /// One clone command example: (initiative slug, repository name).
    pub(crate) example: Option<(String, String)>,
}

impl DemoForge {
    /// Its base URL.
    pub(crate) fn url(&self) -> String {
        self.listener
            .local_addr()
            .map(|a| format!("http://{a}"))
            .unwrap_or_default()
    }

    /// Serve it on the current runtime, for as long as the demo runs.
    pub(crate) fn spawn(self) -> Result<()> {
        self.listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        tokio::spawn(essaim_node::mirror::forge::serve(
            self.root,
            listener,
            std::future::pending(),
        ));
        Ok(())
    }
}

/// The sample catalogue, its repositories made in `<root>-forge/` and
/// pointed at the demo forge, with their head commit pinned.
pub(crate) fn catalogue_with_forge(
    root: &Path,
    now: u64,
) -> Result<(Vec<essaim_node::catalogue::SampleHub>, DemoForge)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot bind the demo forge on 127.0.0.1")?;
    let base = format!("http://{}", listener.local_addr()?);
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "essaim-demo".into());
    let forge_root = root.with_file_name(format!("{name}-forge"));
    std::fs::create_dir_all(&forge_root)
        .with_context(|| format!("cannot create {}", forge_root.display()))?;
    let mut example = None;
    let mut count = 0usize;
    let mut warned = false;
    let sample = essaim_node::catalogue::sample_with(now, &mut |repo| {
        count += 1;
        let mut repo_name = format!("{}-{}", repo.slug, repo.name);
        if repo_name.len() > 64 {
            repo_name = format!("depot-{count}");
        }
        let readme = format!(
            "Code source de démonstration de « {} ».\n\n{}\n\nCe dépôt est créé par `essaim demo` ; chaque hub de la démonstration en garde un miroir.",
            repo.initiative, repo.summary
        );
        match essaim_node::mirror::forge::make_sample_repo(
            &forge_root.join(format!("{repo_name}.git")),
            &repo.initiative,
            &readme,
        ) {
            Ok(head) => {
                example.get_or_insert_with(|| (repo.slug.clone(), repo.name.clone()));
                Some((format!("{base}/{repo_name}.git"), Some(head)))
            }
            Err(e) => {
                if !warned {
                    eprintln!("note: the demo's sample repositories are not available: {e}");
                    warned = true;
                }
                None
            }
        }
    })
    .context("the sample catalogue")?;
    Ok((
        sample,
        DemoForge {
            listener,
            root: forge_root,
            example,
        },
    ))
}

/// Let a demo hub mirror the demo forge (plain http on loopback).
pub(crate) fn allow_demo_forge(config: &mut essaim_node::config::Config) {
    config.mirror_allow_http = true;
    config.mirror_allow_loopback = true;
}

/// The same, in a child hub's `config.toml` (it reads its own file).
fn allow_demo_forge_in_file(data: &DataDir) -> Result<()> {
    let path = data.path(datadir::CONFIG_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let text = text
        .replace("# allow_http = false", "allow_http = true")
        .replace("# allow_loopback = false", "allow_loopback = true");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A child `essaim run` and the URL it printed.
struct ChildNode {
    child: Child,
    url: String,
}

fn spawn_child(data: &DataDir, bootstrap: &str, log_json: bool) -> Result<ChildNode> {
    let exe = std::env::current_exe().context("cannot find the essaim binary")?;
    let mut child = Command::new(exe)
        .args(["run", "--data-dir"])
        .arg(data.root())
        .args([
            "--http",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
            "--bootstrap",
            bootstrap,
            "--exit-on-stdin-close",
            "--log-format",
            if log_json { "json" } else { "text" },
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start a demo node")?;
    let stdout = child.stdout.take().context("the demo node's output")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.trim().strip_prefix("API") {
                let _ = tx.send(rest.trim().trim_end_matches("api/v1/status").to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .context("a demo node did not start within 60 s")?;
    Ok(ChildNode { child, url })
}

/// The sample hubs every demo node follows (see [`network`]).
pub(crate) const DEMO_FOLLOWS: &[&str] = &["reseau-national", "financeur-solidaire"];

/// Follow these hubs (but not oneself).
pub(crate) fn follow_all(node: &Node, hubs: &[essaim_protocol::HubId]) -> Result<()> {
    for hub in hubs {
        if *hub != node.hub_id() {
            node.set_standing(hub, Some(essaim_node::trust::Standing::Followed))?;
        }
    }
    Ok(())
}

/// `essaim demo --nodes N` with N ≥ 2.
pub(crate) fn network(
    global: &Global,
    nodes: u16,
    http: Option<String>,
    log_json: bool,
) -> Result<()> {
    crate::logging::init(log_json);
    let n = usize::from(nodes);
    let root = match &global.data_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("essaim-demo-{}", std::process::id())),
    };
    let now = unix_now();
    let (sample, forge) = catalogue_with_forge(&root, now)?;
    let total: usize = sample.iter().map(|h| h.records.len()).sum();
    let mut hubs: Vec<Hub> = Vec::with_capacity(n);
    for i in 0..n {
        let dir = if i == 0 {
            root.clone()
        } else {
            hub_dir(&root, i)
        };
        let data = DataDir::locate(Some(dir))?;
        prepare(&data, i)?;
        if i > 0 {
            allow_demo_forge_in_file(&data)?;
        }
        let records = sample
            .iter()
            .enumerate()
            .filter(|(j, _)| j % n == i)
            .flat_map(|(_, hub)| hub.records.iter().cloned())
            .collect();
        hubs.push(Hub { data, records });
    }
    // Who each demo node follows (web-of-trust, the default): the other demo
    // hubs, the national network and the funder of the sample catalogue;
    // the hubs the network labels (ruche-lyon, incubateur-nantes,
    // territoire-gironde) are trusted through its labels.
    let mut followed: Vec<essaim_protocol::HubId> = sample
        .iter()
        .filter(|h| DEMO_FOLLOWS.contains(&h.key_name))
        .map(|h| h.hub_id())
        .collect();
    for hub in &hubs {
        followed.push(hub.data.load_key()?.hub_id());
    }
    // Each hub stores its part before its node starts.
    for hub in &hubs[1..] {
        let node = Node::open(&hub.data)?;
        follow_all(&node, &followed)?;
        node.ingest_blocking(
            hub.records
                .iter()
                .cloned()
                .map(|r| (r, Source::Import))
                .collect(),
        )?;
        node.index_now()?;
    }
    let first = Node::open_with(&hubs[0].data, |config| {
        config.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a literal multiaddr")];
        config.mdns = false;
        allow_demo_forge(config);
    })?;
    follow_all(&first, &followed)?;
    first.ingest_blocking(
        hubs[0]
            .records
            .iter()
            .cloned()
            .map(|r| (r, Source::Import))
            .collect(),
    )?;
    first.index_now()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let forge_url = forge.url();
        let example = forge.example.clone();
        forge.spawn()?;
        let listener = crate::node_commands::demo_listener(http.as_deref()).await?;
        let bound = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(first.clone().run(listener, async move {
            let _ = stopped.await;
        }));
        // The first node's libp2p address, for the others to dial.
        let deadline = Instant::now() + Duration::from_secs(30);
        let bootstrap = loop {
            if let Some(p2p) = first.p2p()
                && let Some(listen) = p2p.listen_addrs().into_iter().next()
            {
                break format!("{listen}/p2p/{}", p2p.peer_id());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the first demo node did not start federation"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut children = Vec::new();
        for hub in &hubs[1..] {
            let data = hub.data.clone();
            let bootstrap = bootstrap.clone();
            children.push(
                tokio::task::spawn_blocking(move || spawn_child(&data, &bootstrap, log_json))
                    .await??,
            );
        }
        // Wait until the first node holds every hub's records.
        let mut wanted: Vec<_> = sample
            .iter()
            .flat_map(|h| h.records.iter().map(SignedRecord::id))
            .collect();
        // And every demo hub's own profile.
        for hub in &hubs {
            let text = std::fs::read_to_string(hub.data.path(datadir::HUB_RECORD_FILE))?;
            wanted.push(essaim_protocol::verify_json(&text, unix_now())?.id());
        }
        let deadline = Instant::now() + CONVERGE_WITHIN;
        loop {
            let node = first.clone();
            let ids = wanted.clone();
            let held = tokio::task::spawn_blocking(move || {
                ids.iter()
                    .filter(|id| matches!(node.store().get(id), Ok(Some(_))))
                    .count()
            })
            .await?;
            if held == wanted.len() {
                // And searchable.
                let node = first.clone();
                let last =
                    tokio::task::spawn_blocking(move || node.store().last_change()).await??;
                first.wait_indexed(last, CONVERGE_WITHIN).await;
                break;
            }
            if Instant::now() > deadline {
                eprintln!(
                    "note: the first hub holds {held} of the {} demo records so far",
                    wanted.len()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "Essaim demo: {n} hubs on loopback, {total} signed sample records shared among them"
        );
        println!("  data    {}", root.display());
        println!("  API     http://{bound}/api/v1/status");
        println!("  search  http://{bound}/api/v1/search?q=epicerie+solidaire");
        println!("  hub 1   http://{bound}/");
        for (i, child) in children.iter().enumerate() {
            println!("  hub {}   {}", i + 2, child.url);
        }
        println!("  forge   {forge_url} (the sample initiatives' code; every hub mirrors it)");
        if let Some((slug, repo)) = &example {
            let owner = sample.iter().find(|h| {
                h.records.iter().any(|r| r.address().slug.as_str() == slug)
            });
            if let Some(owner) = owner {
                println!(
                    "  clone   git clone http://{bound}/git/{}/{slug}/{repo}.git (any hub: /git/ on its address)",
                    owner.hub_id().short()
                );
            }
        }
        println!(
            "  publish http://{bound}/publish (hub 1's operator token: {})",
            root.join(essaim_node::node::TOKEN_FILE).display()
        );
        println!("Stop with Ctrl-C.");
        let _ = std::io::stdout().flush();
        crate::node_commands::shutdown_signal().await;
        // Closing their standard input stops the children cleanly.
        for child in &mut children {
            drop(child.child.stdin.take());
        }
        let _ = stop.send(());
        let outcome = running.await;
        for mut child in children {
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.child.kill();
            let _ = child.child.wait();
        }
        outcome??;
        Ok(())
    })
}
