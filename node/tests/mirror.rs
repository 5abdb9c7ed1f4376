//! Mirrors, end to end: real nodes on 127.0.0.1, a real origin
//! (`git http-backend` served by the test on loopback), the real `git`.
//!
//! Mirrors are allowed to use loopback and http through each node's
//! configuration, except where a test checks that they are refused.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::node::Node;
use essaim_node::store::{MirrorRow, MirrorState, Source};
use essaim_protocol::vocab::HubKind;
use essaim_protocol::{Body, SignedRecord, Territory};
use serde_json::json;
use tokio::sync::oneshot;
use warp::Filter;

const WAIT: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------- origin

/// A git forge for tests: `git http-backend` over the repositories of a
/// directory, on 127.0.0.1. `redirect_to` makes every request a 302 there.
struct Origin {
    addr: SocketAddr,
    root: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

impl Origin {
    async fn start(redirect_to: Option<String>) -> Origin {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().to_owned();
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .then(
                move |method: warp::http::Method,
                      path: warp::path::FullPath,
                      query: String,
                      headers: warp::http::HeaderMap,
                      body: Bytes| {
                    let project = project.clone();
                    let redirect_to = redirect_to.clone();
                    async move {
                        if let Some(to) = redirect_to {
                            return warp::http::Response::builder()
                                .status(302)
                                .header("location", format!("{to}{}", path.as_str()))
                                .body(Vec::new())
                                .unwrap();
                        }
                        cgi(&project, &method, path.as_str(), &query, &headers, body).await
                    }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            warp::serve(route)
                .incoming(listener)
                .graceful(async move {
                    let _ = stopped.await;
                })
                .run(),
        );
        Origin {
            addr,
            root,
            _stop: stop,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("http://{}/{name}.git", self.addr)
    }

    fn repo(&self, name: &str) -> PathBuf {
        self.root.path().join(format!("{name}.git"))
    }
}

async fn cgi(
    project: &Path,
    method: &warp::http::Method,
    path: &str,
    query: &str,
    headers: &warp::http::HeaderMap,
    body: Bytes,
) -> warp::http::Response<Vec<u8>> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", project)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (name, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = child.wait_with_output().await.unwrap().stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            out.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .unwrap_or((out.len(), out.len()));
    let mut response = warp::http::Response::builder();
    for line in String::from_utf8_lossy(&out[..split.0]).lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("status") {
                let code: u16 = v.trim()[..3].parse().unwrap_or(500);
                response = response.status(code);
            } else {
                response = response.header(k.trim(), v.trim());
            }
        }
    }
    response.body(out[split.1..].to_vec()).unwrap()
}

// ---------------------------------------------------------------- git

fn git(dir: &Path, args: &[&str]) -> String {
    let args: Vec<&str> = ["-c", "protocol.file.allow=always"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    essaim_node::mirror::forge::run_git(dir, &args).unwrap_or_else(|e| panic!("git {args:?}: {e}"))
}

/// A bare repository at `bare` with a README containing `phrase`, `branches`
/// extra branches each on its own commit, and `blob_bytes` of random data.
/// Returns the commit of `main`.
fn make_repo(bare: &Path, phrase: &str, branches: usize, blob_bytes: usize) -> String {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    git(w, &["init", "-q", "."]);
    std::fs::write(w.join("README.md"), format!("# Test\n\n{phrase}\n")).unwrap();
    std::fs::create_dir_all(w.join("docs")).unwrap();
    std::fs::write(w.join("docs/guide.md"), "Guide de déploiement.\n").unwrap();
    if blob_bytes > 0 {
        let mut data = vec![0u8; blob_bytes];
        getrandom_fill(&mut data);
        std::fs::write(w.join("data.bin"), data).unwrap();
    }
    git(w, &["add", "-A"]);
    git(w, &["commit", "-q", "-m", "first"]);
    for i in 0..branches {
        git(
            w,
            &["checkout", "-q", "-b", &format!("branch-{i:03}"), "main"],
        );
        std::fs::write(w.join("n.txt"), format!("{i}\n")).unwrap();
        git(w, &["add", "n.txt"]);
        git(w, &["commit", "-q", "-m", &format!("branch {i}")]);
        if i % 10 == 0 {
            git(w, &["tag", &format!("v0.{i}")]);
        }
    }
    git(w, &["checkout", "-q", "main"]);
    let head = git(w, &["rev-parse", "HEAD"]);
    git(
        w,
        &[
            "clone",
            "-q",
            "--bare",
            w.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    head
}

fn getrandom_fill(data: &mut [u8]) {
    // A xorshift stream: incompressible enough for git, no extra dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in data {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

// ---------------------------------------------------------------- nodes

struct TestNode {
    node: Node,
    http: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    async fn spawn(
        name: &str,
        adjust: impl FnOnce(&mut essaim_node::config::Config) + Send + 'static,
    ) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::locate(Some(dir.path().join("hub"))).unwrap();
        let profile = HubProfile {
            name: Some(name.to_owned()),
            kind: HubKind::Ruche,
            territories: vec![Territory::parse("dep:69").unwrap()],
        };
        let init = data.clone();
        tokio::task::spawn_blocking(move || datadir::init(&init, profile, essaim_node::unix_now()))
            .await
            .unwrap()
            .unwrap();
        let open = data.clone();
        let node = tokio::task::spawn_blocking(move || {
            Node::open_with(&open, |c| {
                c.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
                c.mdns = false;
                c.discover = false;
                c.mirror_enabled = true;
                c.mirror_allow_http = true;
                c.mirror_allow_loopback = true;
                c.mirror_timeout_secs = 60;
                // The initiatives are signed by hubs these nodes do not follow.
                c.trust_mode = essaim_node::config::TrustMode::Open;
                adjust(c);
            })
        })
        .await
        .unwrap()
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let runner = node.clone();
        let task = tokio::spawn(async move {
            runner
                .run(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        TestNode {
            node,
            http,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.http)
    }

    async fn ingest(&self, record: &SignedRecord) {
        self.node
            .ingest(vec![(record.clone(), Source::Http)])
            .await
            .unwrap();
    }

    async fn mirror_row(&self, hub: &str, slug: &str, repo: &str) -> Option<MirrorRow> {
        let node = self.node.clone();
        let (h, s, r) = (hub.to_owned(), slug.to_owned(), repo.to_owned());
        tokio::task::spawn_blocking(move || node.store().mirror(&h, &s, &r).unwrap())
            .await
            .unwrap()
    }

    /// Wait until the mirror has left `pending` (and no fetch runs for it).
    async fn settled(&self, hub: &str, slug: &str, repo: &str) -> MirrorRow {
        let start = Instant::now();
        loop {
            if let Some(row) = self.mirror_row(hub, slug, repo).await
                && row.state != MirrorState::Pending
                && row.last_attempt.is_some()
            {
                return row;
            }
            assert!(
                start.elapsed() < WAIT,
                "mirror {hub}/{slug}/{repo} never settled"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), &mut self.task).await;
    }
}

fn initiative(node: &Node, slug: &str, seq: u64, repos: serde_json::Value) -> SignedRecord {
    let body = Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": node.hub_id().to_string(), "slug": slug,
        "seq": seq, "created": essaim_node::unix_now() - 5,
        "name": format!("Initiative {slug}"),
        "summary": {"fr": "Une initiative dont le code est en miroir."},
        "themes": ["culture"], "origin": "com:69123", "stage": "experimentation",
        "repositories": repos,
    }))
    .unwrap();
    essaim_protocol::sign(body, node.key(), essaim_node::unix_now()).unwrap()
}

fn clone(url: &str, dest: &Path, version: &str) -> std::process::Output {
    Command::new("git")
        .args(["-c", &format!("protocol.version={version}")])
        .args(["clone", "-q", url, dest.to_str().unwrap()])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap()
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clones_from_the_node_with_protocol_v0_and_v2_and_indexes_the_readme() {
    let origin = Origin::start(None).await;
    let head = make_repo(
        &origin.repo("outil"),
        "Le compostage partagé des quartiers ouvriers",
        60,
        0,
    );
    let node = TestNode::spawn("n1", |_| {}).await;
    let hub = node.node.hub_id().short();
    let record = initiative(
        &node.node,
        "compost",
        1,
        json!([{"name": "outil", "url": origin.url("outil"), "licence": "MIT", "commit": head}]),
    );
    node.ingest(&record).await;
    let row = node.settled(&hub, "compost", "outil").await;
    assert_eq!(row.state, MirrorState::Ok, "{row:?}");
    assert_eq!(row.pin_ok, Some(true));
    assert_eq!(row.head.as_deref(), Some(head.as_str()));
    assert!(row.size > 0);

    let url = format!("{}/git/{hub}/compost/outil.git", node.base());
    for version in ["0", "2"] {
        let dest = tempfile::tempdir().unwrap();
        let out = clone(&url, &dest.path().join("c"), version);
        assert!(
            out.status.success(),
            "v{version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = dest.path().join("c");
        assert_eq!(git(&c, &["rev-parse", "HEAD"]), head);
        let branches = git(&c, &["branch", "-r"]).lines().count();
        assert!(branches > 60, "v{version}: {branches} branches");
        // A fetch of every branch sends > 50 wants: a gzip request body.
        git(
            &c,
            &["fetch", "-q", "origin", "+refs/heads/*:refs/remotes/all/*"],
        );
    }

    // Protocol v2 is really spoken (the Git-Protocol header reached upload-pack).
    let trace = Command::new("git")
        .args(["-c", "protocol.version=2", "ls-remote", &url])
        .env("GIT_TRACE_PACKET", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(trace.status.success());
    let packets = String::from_utf8_lossy(&trace.stderr);
    assert!(packets.contains("< version 2"), "not v2: {packets}");

    // The README's phrase finds the initiative.
    let response = ureq::get(format!(
        "{}/api/v1/search?q=compostage+ouvriers",
        node.base()
    ))
    .call()
    .unwrap()
    .into_body()
    .read_to_string()
    .unwrap();
    assert!(response.contains("compost"), "{response}");
    // The API lists the repository with both statuses.
    let view: serde_json::Value = serde_json::from_str(
        &ureq::get(format!("{}/api/v1/initiatives/{hub}/compost", node.base()))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let repo = &view["repositories"][0];
    assert_eq!(repo["origin"], "ok", "{repo}");
    assert_eq!(repo["mirror"]["state"], "ok", "{repo}");
    assert_eq!(repo["mirror"]["pin_ok"], true, "{repo}");
    // So does the initiative page.
    let page = ureq::get(format!("{}/i/{hub}/compost", node.base()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        page.contains("pin-ok"),
        "the page shows the pinned commit check"
    );
    assert!(page.contains(&format!("/git/{hub}/compost/outil.git")));
    let status_page = ureq::get(format!("{}/node", node.base()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        status_page.contains("id=\"mirror-counts\""),
        "the node page counts mirrors"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_git_requests_get_4xx() {
    let origin = Origin::start(None).await;
    make_repo(&origin.repo("r"), "x", 0, 0);
    let node = TestNode::spawn("n1", |_| {}).await;
    let hub = node.node.hub_id().short();
    node.ingest(&initiative(
        &node.node,
        "s",
        1,
        json!([{"name": "r", "url": origin.url("r"), "licence": "MIT"}]),
    ))
    .await;
    assert_eq!(node.settled(&hub, "s", "r").await.state, MirrorState::Ok);
    let base = format!("/git/{hub}/s");
    let refs = "info/refs?service=git-upload-pack";
    for (method, path, expected) in [
        ("GET", format!("{base}/r.git/{refs}"), 200),
        ("GET", format!("{base}/../s/r.git/{refs}"), 400),
        ("GET", format!("/git/{hub}/s/..%2F..%2Fr.git/{refs}"), 400),
        ("GET", format!("{base}%2Fr.git/{refs}"), 400),
        (
            "GET",
            format!("{base}/r.git/info/refs?service=git-receive-pack"),
            403,
        ),
        ("POST", format!("{base}/r.git/git-receive-pack"), 403),
        ("GET", format!("{base}/unknown.git/{refs}"), 404),
        ("GET", format!("/git/{hub}/other/r.git/{refs}"), 404),
        ("GET", format!("{base}/r.git/HEAD"), 404),
        ("GET", format!("{base}/r.git/objects/info/packs"), 404),
        ("GET", format!("{base}/r.git/info/refs"), 403),
    ] {
        let status = raw_status(node.http, method, &path, "").await;
        assert_eq!(status, expected, "{method} {path}");
    }
    // Only gzip request bodies.
    let status = raw_status(
        node.http,
        "POST",
        &format!("{base}/r.git/git-upload-pack"),
        "Content-Encoding: br\r\n",
    )
    .await;
    assert_eq!(status, 415);
    // Every serving slot taken: 503, to retry later.
    let permits = node.node.mirrors().serve_permits().clone();
    let all = permits.available_permits() as u32;
    let held = permits.acquire_many_owned(all).await.unwrap();
    let busy = raw_status(node.http, "GET", &format!("{base}/r.git/{refs}"), "").await;
    assert_eq!(busy, 503);
    drop(held);
    let free = raw_status(node.http, "GET", &format!("{base}/r.git/{refs}"), "").await;
    assert_eq!(free, 200);
    node.stop().await;
}

/// The status line of a request sent byte for byte (no client normalises the path).
async fn raw_status(addr: SocketAddr, method: &str, path: &str, extra: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn origin_gone_third_node_mirrors_from_the_second_and_checks_the_pin() {
    let origin = Origin::start(None).await;
    let head = make_repo(&origin.repo("code"), "Recyclerie numérique", 3, 0);
    let author = TestNode::spawn("author", |c| c.mirror_enabled = false).await;
    let n2 = TestNode::spawn("n2", |_| {}).await;
    let n3 = TestNode::spawn("n3", |_| {}).await;
    let hub = author.node.hub_id().short();
    let record = initiative(
        &author.node,
        "recyclerie",
        1,
        json!([{"name": "code", "url": origin.url("code"), "licence": "AGPL-3.0-or-later", "commit": head}]),
    );
    n2.ingest(&record).await;
    assert_eq!(
        n2.settled(&hub, "recyclerie", "code").await.state,
        MirrorState::Ok
    );

    // The forge deletes the project.
    std::fs::remove_dir_all(origin.repo("code")).unwrap();

    // Node 3 learns node 2's web address from its hub record, then the initiative.
    let n2_hub = hub_record_with_http(&n2.node, &n2.base());
    n3.ingest(&n2_hub).await;
    n3.ingest(&record).await;
    let row = n3.settled(&hub, "recyclerie", "code").await;
    assert_eq!(row.state, MirrorState::Ok, "{row:?}");
    assert_eq!(row.origin_ok, Some(false), "{row:?}");
    assert_eq!(row.pin_ok, Some(true));
    assert!(
        row.source.as_deref().unwrap_or("").starts_with(&n2.base()),
        "{row:?}"
    );

    let dest = tempfile::tempdir().unwrap();
    let url = format!("{}/git/{hub}/recyclerie/code.git", n3.base());
    let out = clone(&url, &dest.path().join("c"), "2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = dest.path().join("c");
    git(&c, &["checkout", "-q", &head]);
    assert!(
        std::fs::read_to_string(c.join("README.md"))
            .unwrap()
            .contains("Recyclerie")
    );

    // A pin that no hub has: node 3 refuses what node 2 serves.
    let bad_pin = initiative(
        &author.node,
        "recyclerie",
        2,
        json!([{"name": "code", "url": origin.url("code"), "licence": "AGPL-3.0-or-later",
                "commit": "0123456789abcdef0123456789abcdef01234567"}]),
    );
    let n4 = TestNode::spawn("n4", |_| {}).await;
    n4.ingest(&n2_hub).await;
    n4.ingest(&bad_pin).await;
    let row = n4.settled(&hub, "recyclerie", "code").await;
    assert_eq!(row.state, MirrorState::Failed, "{row:?}");
    assert!(
        row.error.as_deref().unwrap_or("").contains("pinned commit"),
        "{row:?}"
    );
    n4.stop().await;
    n3.stop().await;
    n2.stop().await;
    author.stop().await;
}

/// A new version of `node`'s hub record that publishes its web address.
fn hub_record_with_http(node: &Node, base: &str) -> SignedRecord {
    let body = Body::from_json(json!({
        "v": 1, "kind": "hub", "author": node.hub_id().to_string(), "slug": "profile",
        "seq": essaim_node::unix_now_ms(), "created": essaim_node::unix_now() - 1,
        "name": "n2", "hub_kind": "ruche", "territories": ["dep:69"],
        "endpoints": {"http": format!("{base}/")},
    }))
    .unwrap();
    essaim_protocol::sign(body, node.key(), essaim_node::unix_now()).unwrap()
}

/// Counts the connections made to it.
async fn canary() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_urls_are_refused_with_a_reason_and_no_connection() {
    let (target, connections) = canary().await;
    let port = target.port();
    // A strict node: no http, no loopback.
    let strict = TestNode::spawn("strict", |c| {
        c.mirror_allow_http = false;
        c.mirror_allow_loopback = false;
    })
    .await;
    let hub = strict.node.hub_id().short();
    let corpus = [
        (
            "localhost",
            format!("https://localhost:{port}/r.git"),
            "loopback",
        ),
        (
            "literal",
            format!("https://127.0.0.1:{port}/r.git"),
            "loopback",
        ),
        (
            "mapped",
            format!("https://[::ffff:7f00:1]:{port}/r.git"),
            "loopback",
        ),
        ("plain", format!("http://127.0.0.1:{port}/r.git"), "`http`"),
        (
            "private",
            format!("https://10.0.0.1:{port}/r.git"),
            "private",
        ),
        (
            "metadata",
            "https://169.254.169.254/r.git".to_owned(),
            "link-local",
        ),
        (
            "cgnat",
            "https://100.64.0.1/r.git".to_owned(),
            "carrier-grade NAT",
        ),
        (
            "zero",
            format!("https://0.0.0.0:{port}/r.git"),
            "unspecified",
        ),
    ];
    let repos: Vec<serde_json::Value> = corpus
        .iter()
        .map(|(name, url, _)| json!({"name": name, "url": url, "licence": "MIT"}))
        .collect();
    strict
        .ingest(&initiative(&strict.node, "hostile", 1, json!(repos)))
        .await;
    for (name, _, reason) in &corpus {
        let row = strict.settled(&hub, "hostile", name).await;
        assert_eq!(row.state, MirrorState::Refused, "{name}: {row:?}");
        let error = row.error.unwrap_or_default();
        assert!(error.contains(reason), "{name}: {error}");
    }

    // A redirect from an allowed origin to another address is not followed.
    let redirector = Origin::start(Some(format!("http://127.0.0.1:{port}"))).await;
    let open = TestNode::spawn("open", |_| {}).await;
    let hub = open.node.hub_id().short();
    open.ingest(&initiative(
        &open.node,
        "redirected",
        1,
        json!([{"name": "r", "url": redirector.url("r"), "licence": "MIT"}]),
    ))
    .await;
    let row = open.settled(&hub, "redirected", "r").await;
    assert_eq!(row.state, MirrorState::Failed, "{row:?}");
    assert!(
        row.error.as_deref().unwrap_or("").contains("redirect"),
        "{row:?}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a refused URL was connected to"
    );

    // A name that resolves to an allowed address is fetched through the
    // address that was checked (git is pinned to it).
    let origin = Origin::start(None).await;
    make_repo(&origin.repo("named"), "nommé", 0, 0);
    let url = format!("http://localhost:{}/named.git", origin.addr.port());
    open.ingest(&initiative(
        &open.node,
        "named",
        1,
        json!([{"name": "r", "url": url, "licence": "MIT"}]),
    ))
    .await;
    let row = open.settled(&hub, "named", "r").await;
    assert_eq!(row.state, MirrorState::Ok, "{row:?}");
    open.stop().await;
    strict.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repository_over_the_cap_is_aborted_and_its_files_removed() {
    let origin = Origin::start(None).await;
    make_repo(&origin.repo("big"), "gros", 0, 3 * 1024 * 1024);
    let node = TestNode::spawn("n1", |c| c.mirror_max_size_mib = 1).await;
    let hub = node.node.hub_id().short();
    node.ingest(&initiative(
        &node.node,
        "big",
        1,
        json!([{"name": "big", "url": origin.url("big"), "licence": "MIT"}]),
    ))
    .await;
    let row = node.settled(&hub, "big", "big").await;
    assert_eq!(row.state, MirrorState::TooLarge, "{row:?}");
    assert!(
        row.error.as_deref().unwrap_or("").contains("1 MiB"),
        "{row:?}"
    );
    let mirrors = node.node.data_dir().path(essaim_node::mirror::MIRRORS_DIR);
    assert!(!mirrors.join(&hub).join("big").join("big.git").exists());
    let leftovers: Vec<_> = std::fs::read_dir(mirrors.join(".tmp"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    // Not retried in a loop: still one attempt a while later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = node.mirror_row(&hub, "big", "big").await.unwrap();
    assert_eq!(again.failures, 1, "{again:?}");
    node.stop().await;
}

/// A clone that stalls, sending its request or reading the answer, holds
/// its serving slot only until `mirror.serve_timeout_secs`: then the
/// request is cut (504 if no answer had started), its `git http-backend`
/// stopped and the slot freed, while honest clones still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_clone_is_cut_at_the_time_limit_and_frees_its_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let origin = Origin::start(None).await;
    // Incompressible, larger than what loopback sockets and pipes buffer.
    let head = make_repo(&origin.repo("big"), "gros", 0, 24 << 20);
    make_repo(&origin.repo("small"), "petit", 0, 0);
    let node = TestNode::spawn("n1", |c| c.mirror_serve_timeout_secs = 2).await;
    let hub = node.node.hub_id().short();
    node.ingest(&initiative(
        &node.node,
        "s",
        1,
        json!([
            {"name": "big", "url": origin.url("big"), "licence": "MIT"},
            {"name": "small", "url": origin.url("small"), "licence": "MIT"},
        ]),
    ))
    .await;
    assert_eq!(node.settled(&hub, "s", "big").await.state, MirrorState::Ok);
    assert_eq!(
        node.settled(&hub, "s", "small").await.state,
        MirrorState::Ok
    );
    let permits = node.node.mirrors().serve_permits().clone();
    let all = permits.available_permits();
    let all_free = || async {
        let start = Instant::now();
        while permits.available_permits() < all {
            assert!(
                start.elapsed() < WAIT,
                "the stalled request's slot was never freed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let upload_pack = format!("/git/{hub}/s/big.git/git-upload-pack");

    // 1. A request body that never ends: `git http-backend` answers its
    // headers, then waits for the rest; at the limit the answer is cut
    // (the connection ends, never on a complete chunked body).
    let mut stalled = tokio::net::TcpStream::connect(node.http).await.unwrap();
    let request = format!(
        "POST {upload_pack} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 1000\r\n\r\n0032want {head}\n"
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, stalled.read_to_end(&mut answer))
        .await
        .expect("the stalled request ends at the time limit");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 504") || !answer.ends_with(b"0\r\n\r\n"),
        "{text}"
    );
    all_free().await;

    // 2. A client that asks for the whole pack, then stops reading.
    let mut slow = tokio::net::TcpStream::connect(node.http).await.unwrap();
    let body = format!("0032want {head}\n00000009done\n");
    let request = format!(
        "POST {upload_pack} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let mut first = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, slow.read(&mut first))
        .await
        .expect("the answer starts")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&first[..n])
    );
    assert!(
        permits.available_permits() < all,
        "the slot is held while streaming"
    );
    all_free().await;
    // The rest of the answer never ends as a complete chunked body.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, slow.read_to_end(&mut rest)).await;
    assert!(
        !rest.ends_with(b"0\r\n\r\n"),
        "a cut answer must not look complete ({} bytes read after the head)",
        rest.len()
    );

    // Honest clones are served after (a small one: well within 2 s).
    let dest = tempfile::tempdir().unwrap();
    let out = clone(
        &format!("{}/git/{hub}/s/small.git", node.base()),
        &dest.path().join("c"),
        "2",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    node.stop().await;
}
