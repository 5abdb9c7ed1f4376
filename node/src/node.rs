//! The node: the store, the search index, the hub's key, and the tasks that
//! tie them together.
//!
//! Data flows one way: HTTP / CLI / (later) wire → verify → (later) trust →
//! store (commit) → index (+ mirrors and gossip, with their issues).
//!
//! [`Node::open`] is synchronous and complete on its own: the CLI opens a
//! node to publish, import or search when no node is running on the data
//! directory. [`Node::run`] adds what a long-running node needs: a group
//! commit queue in front of the store (many concurrent records, one
//! transaction, one fsync), an indexer that commits in batches (a received
//! record is searchable within a fraction of a second), and the HTTP server.
//! It owns every task it spawns and stops them in one order: stop accepting
//! requests, drain the ingest queue, bring the index up to date and commit,
//! checkpoint the store.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use essaim_protocol::{Body, HubId, HubKey, SignedRecord};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::datadir::{DataDir, DataDirError, HUB_RECORD_FILE};
use crate::index::{IndexError, SearchIndex};
use crate::indexer::{IndexerError, catch_up};
use crate::store::{Inserted, Source, Store, StoreError};
use crate::unix_now;

/// File name of the store in the data directory.
pub const STORE_FILE: &str = "store.sqlite";
/// Directory of the search index in the data directory.
pub const INDEX_DIR: &str = "index";
/// File holding the operator token (mode 0600).
pub const TOKEN_FILE: &str = "operator.token";
/// File that says a node is running on this data directory, and where.
pub const RUNNING_FILE: &str = "node.json";

/// How often the indexer commits at most when records keep coming.
const INDEX_INTERVAL: Duration = Duration::from_millis(200);
/// How often the indexer looks for changes written by other processes.
const EXTERNAL_CHECK: Duration = Duration::from_secs(2);
/// Records written per store transaction at most.
const GROUP_COMMIT_MAX: usize = 2_000;

/// Why the node could not start or do what was asked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory is not usable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The index could not be updated.
    #[error(transparent)]
    Indexer(#[from] IndexerError),
    /// A file of the data directory could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The group commit could not write a batch (disk full, permissions…).
    #[error("records not stored: {reason}")]
    Write {
        /// The store's error.
        reason: String,
    },
    /// The disk of the data directory is full: nothing was written.
    #[error(
        "records not stored: the disk of the data directory is full ({reason}); free space on it, then retry"
    )]
    DiskFull {
        /// The store's error.
        reason: String,
    },
    /// The node is shutting down.
    #[error("the node is shutting down: try again once it has restarted")]
    ShuttingDown,
    /// Federation could not start.
    #[error(transparent)]
    P2p(#[from] crate::p2p::P2pError),
}

impl NodeError {
    /// Whether the failure is a full disk (the remedy is freeing space, and
    /// HTTP clients get 507 rather than 500).
    pub fn is_disk_full(&self) -> bool {
        match self {
            NodeError::DiskFull { .. } => true,
            NodeError::Store(e) => e.is_disk_full(),
            NodeError::Io { source, .. } => crate::is_no_space(source),
            _ => false,
        }
    }
}

/// One record waiting for the group commit.
struct IngestJob {
    records: Vec<(SignedRecord, Source)>,
    reply: oneshot::Sender<Result<Vec<Inserted>, NodeError>>,
}

struct Inner {
    data: DataDir,
    config: Config,
    key: HubKey,
    store: Store,
    index: SearchIndex,
    token: String,
    started: Instant,
    /// The index's watermark, published after every index commit.
    indexed: watch::Sender<u64>,
    /// Wakes the indexer when the store changed.
    wake: Notify,
    /// Someone waits to read their write: index without the batching delay.
    urgent: AtomicBool,
    /// Cuts the batching delay short when `urgent` is set.
    hurry: Notify,
    /// The group-commit queue, while the node runs.
    queue: std::sync::Mutex<Option<mpsc::Sender<IngestJob>>>,
    /// Whether the index was rebuilt at start-up (and why).
    rebuilt: Option<String>,
    running: AtomicBool,
    /// The federation task's handle, while the node runs.
    p2p: std::sync::Mutex<Option<crate::p2p::P2pHandle>>,
    /// The repositories' mirrors.
    mirrors: crate::mirror::Mirrors,
    /// The trust policy every record goes through before the store.
    trust: crate::trust::Trust,
    /// Held while the index is written (catch-up and targeted refreshes).
    indexing: std::sync::Mutex<()>,
    /// `/metrics`.
    metrics: crate::metrics::Metrics,
}

/// A hub's node. Cheap to clone; every clone is the same node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("hub", &self.hub_id())
            .field("data", &self.inner.data.root())
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Open the node of a data directory: key, configuration, store, index.
    /// A missing or damaged index is rebuilt from the store; an index behind
    /// the store (after a crash) is brought up to date from its watermark.
    pub fn open(data: &DataDir) -> Result<Node, NodeError> {
        Node::open_with(data, |_| {})
    }

    /// [`Node::open`], with the configuration adjusted by `adjust` (the
    /// command line's flags override the file).
    pub fn open_with(data: &DataDir, adjust: impl FnOnce(&mut Config)) -> Result<Node, NodeError> {
        let key = data.load_key()?;
        let mut config = Config::load(&data.path(crate::datadir::CONFIG_FILE))?;
        adjust(&mut config);
        let token = load_or_create_token(data)?;
        let store = Store::open(&data.path(STORE_FILE))?;
        let trust = crate::trust::Trust::new(&config, key.hub_id());
        let index_dir = data.path(INDEX_DIR);
        // A store with records and no index: the index directory was
        // deleted (or lost with a disk); it is rebuilt below.
        let lost = !index_dir.join("meta.json").exists() && store.last_change()? > 0;
        let (index, rebuilt) = match SearchIndex::open(&index_dir) {
            Ok(index) if lost => {
                tracing::warn!(
                    path = %index_dir.display(),
                    "search index missing: rebuilding it from the store"
                );
                let reason =
                    "the search index was missing; it was rebuilt from the store".to_owned();
                (index, Some(reason))
            }
            Ok(index) => (index, None),
            Err(e) if e.needs_rebuild() => {
                // The details (paths, file contents) go to the log only:
                // the reason is shown on public pages and in the status.
                tracing::warn!(reason = %e, "search index unreadable: rebuilding it from the store");
                let reason = "the search index was unreadable or written by another version; \
                              it was rebuilt from the store (details in the node's log)"
                    .to_owned();
                std::fs::remove_dir_all(&index_dir).map_err(|source| NodeError::Io {
                    what: "cannot remove the damaged index",
                    path: index_dir.display().to_string(),
                    source,
                })?;
                (SearchIndex::open(&index_dir)?, Some(reason))
            }
            Err(e) => return Err(e.into()),
        };
        let mirrors = crate::mirror::Mirrors::new(data.root(), &config);
        let metrics = crate::metrics::Metrics::new();
        index.observe_commits(metrics.index_commit_histogram());
        let node = Node {
            inner: Arc::new(Inner {
                mirrors,
                data: data.clone(),
                config,
                key,
                store,
                index,
                token,
                started: Instant::now(),
                indexed: watch::Sender::new(0),
                wake: Notify::new(),
                urgent: AtomicBool::new(false),
                hurry: Notify::new(),
                queue: std::sync::Mutex::new(None),
                rebuilt,
                running: AtomicBool::new(false),
                p2p: std::sync::Mutex::new(None),
                trust,
                indexing: std::sync::Mutex::new(()),
                metrics,
            }),
        };
        node.ensure_own_hub_record()?;
        // The configuration (mode, quotas) may have changed since the last
        // run: records refused for a quota get another chance, and what is
        // stored is brought in line with the policy.
        node.inner.store.expire_refused(unix_now(), true)?;
        let reevaluation = node.inner.trust.reevaluate(&node.inner.store, unix_now())?;
        node.refresh_index(&reevaluation.refresh)?;
        node.index_now()?;
        Ok(node)
    }

    /// The hub's id.
    pub fn hub_id(&self) -> HubId {
        self.inner.key.hub_id()
    }

    /// The hub's key (the node signs the operator's records with it).
    pub fn key(&self) -> &HubKey {
        &self.inner.key
    }

    /// The checked configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.inner.data
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The repositories' mirrors.
    pub fn mirrors(&self) -> &crate::mirror::Mirrors {
        &self.inner.mirrors
    }

    /// The search index.
    pub fn index(&self) -> &SearchIndex {
        &self.inner.index
    }

    /// The node's metrics (`/metrics`).
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Whether `token` is the operator token (compared in constant time).
    pub fn is_operator(&self, token: &str) -> bool {
        let expected = self.inner.token.as_bytes();
        let given = token.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Add this node's operator token to a request made in-process (the CLI
    /// acting for the operator, who can read the data directory anyway).
    pub fn authorise_in_process(&self, headers: &mut warp::http::HeaderMap) {
        if let Ok(value) =
            warp::http::HeaderValue::from_str(&format!("Bearer {}", self.inner.token))
        {
            headers.insert(warp::http::header::AUTHORIZATION, value);
        }
    }

    /// Seconds since the node was opened.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Why the index was rebuilt at start-up, if it was.
    pub fn rebuilt_index(&self) -> Option<&str> {
        self.inner.rebuilt.as_deref()
    }

    /// The federation task's handle, while the node runs.
    pub fn p2p(&self) -> Option<crate::p2p::P2pHandle> {
        self.inner.p2p.lock().ok().and_then(|p| p.clone())
    }

    /// The trust policy.
    pub fn trust(&self) -> &crate::trust::Trust {
        &self.inner.trust
    }

    /// Who this node trusts, as of now (blocking: reads the store).
    pub fn circle(&self) -> Result<Arc<crate::trust::Circle>, NodeError> {
        Ok(self.inner.trust.circle(&self.inner.store, unix_now())?)
    }

    /// Follow, block, or clear the standing of a hub (blocking), then bring
    /// what is stored and indexed in line, and disconnect (or reconnect) the
    /// hub's node.
    pub fn set_standing(
        &self,
        hub: &HubId,
        standing: Option<crate::trust::Standing>,
    ) -> Result<crate::trust::Reevaluation, NodeError> {
        let now = unix_now();
        self.inner.store.set_standing(hub, standing, now)?;
        let reevaluation = self.inner.trust.reevaluate(&self.inner.store, now)?;
        self.after_reevaluation(&reevaluation)?;
        self.inner.wake.notify_one();
        self.hurry();
        if let Some(p2p) = self.p2p() {
            p2p.set_hub_blocked(hub, standing == Some(crate::trust::Standing::Blocked));
        }
        Ok(reevaluation)
    }

    /// Recompute the search documents of these initiatives now (after
    /// records they depend on left the catalogue, or a mirror fetched a new
    /// README), and commit.
    pub fn refresh_index(
        &self,
        addresses: &std::collections::BTreeSet<essaim_protocol::Address>,
    ) -> Result<(), NodeError> {
        if addresses.is_empty() {
            return Ok(());
        }
        let _guard = self.inner.indexing.lock();
        crate::indexer::refresh(&self.inner.store, &self.inner.index, addresses, unix_now())?;
        Ok(())
    }

    /// The index's watermark as last published.
    pub fn indexed(&self) -> u64 {
        *self.inner.indexed.borrow()
    }

    /// Put the hub's own signed profile (made by `init`) in the store.
    fn ensure_own_hub_record(&self) -> Result<(), NodeError> {
        let path = self.inner.data.path(HUB_RECORD_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(NodeError::Io {
                    what: "cannot read",
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        match essaim_protocol::verify_json(&text, unix_now()) {
            Ok(record) if *record.body().author() == self.hub_id() => {
                self.inner
                    .store
                    .insert_batch(&[(record, Source::Publish)], unix_now())?;
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "the hub record is another hub's: ignored")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the hub record does not verify: ignored")
            }
        }
        Ok(())
    }

    /// Bring the index up to date now, on this thread (blocking).
    pub fn index_now(&self) -> Result<u64, NodeError> {
        // Publish the watermark after every index commit, not only at the
        // end: readers waiting for their write wake as soon as it is in.
        let _guard = self.inner.indexing.lock();
        let start = self.inner.index.watermark();
        let indexed = &self.inner.indexed;
        let watermark = catch_up(
            &self.inner.store,
            &self.inner.index,
            unix_now(),
            &mut |done, _| {
                indexed.send_replace(start + done);
            },
        )?;
        self.inner.indexed.send_replace(watermark);
        Ok(watermark)
    }

    /// Rebuild the index from the store, reporting progress (blocking).
    pub fn reindex(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<u64, NodeError> {
        let _guard = self.inner.indexing.lock();
        self.inner.index.clear()?;
        self.inner.index.commit(0)?;
        let watermark = catch_up(&self.inner.store, &self.inner.index, unix_now(), progress)?;
        self.inner.indexed.send_replace(watermark);
        Ok(watermark)
    }

    /// Store verified records now, on this thread, in one transaction
    /// (blocking), as the trust policy decides. A running node indexes them
    /// within moments.
    pub fn ingest_blocking(
        &self,
        records: Vec<(SignedRecord, Source)>,
    ) -> Result<Vec<Inserted>, NodeError> {
        let outcomes = self.judge_and_store(&records)?;
        self.inner.wake.notify_one();
        Ok(outcomes)
    }

    /// The one way into the store: the trust policy, then one transaction;
    /// when the batch changed the circle, the index drops what left.
    fn judge_and_store(
        &self,
        records: &[(SignedRecord, Source)],
    ) -> Result<Vec<Inserted>, NodeError> {
        let (outcomes, reevaluation) =
            self.inner
                .trust
                .ingest(&self.inner.store, records, unix_now())?;
        // Local records are counted here, peers' by the p2p layer, which
        // knows gossip from reconciliation.
        let sources: Vec<&Source> = records.iter().map(|(_, source)| source).collect();
        self.inner.metrics.ingested(None, &sources, &outcomes);
        self.after_reevaluation(&reevaluation)?;
        Ok(outcomes)
    }

    /// Bring the index in line after records moved, and tell the peers
    /// about records released from quarantine (gossip does not carry them).
    fn after_reevaluation(
        &self,
        reevaluation: &crate::trust::Reevaluation,
    ) -> Result<(), NodeError> {
        self.refresh_index(&reevaluation.refresh)?;
        if reevaluation.released > 0 {
            self.inner.wake.notify_one();
            if let Some(p2p) = self.p2p() {
                p2p.sync_all();
            }
        }
        Ok(())
    }

    /// Store verified records: through the group-commit queue when the node
    /// runs, else directly. Returns once they are durably stored.
    pub async fn ingest(
        &self,
        records: Vec<(SignedRecord, Source)>,
    ) -> Result<Vec<Inserted>, NodeError> {
        // Records from local clients are gossiped once stored; records from
        // peers are forwarded by gossipsub after validation.
        let p2p = self.p2p();
        let announced: Vec<(usize, SignedRecord)> = match &p2p {
            Some(_) => records
                .iter()
                .enumerate()
                .filter(|(_, (_, source))| !matches!(source, Source::Peer(_)))
                .map(|(i, (record, _))| (i, record.clone()))
                .collect(),
            None => Vec::new(),
        };
        let outcomes = self.ingest_quietly(records).await?;
        if let Some(p2p) = p2p {
            for (i, record) in announced {
                if outcomes.get(i).is_some_and(Inserted::is_new) {
                    p2p.announce(&record);
                }
            }
        }
        Ok(outcomes)
    }

    async fn ingest_quietly(
        &self,
        records: Vec<(SignedRecord, Source)>,
    ) -> Result<Vec<Inserted>, NodeError> {
        let queue = self.inner.queue.lock().ok().and_then(|q| q.clone());
        match queue {
            Some(queue) => {
                let (reply, answer) = oneshot::channel();
                queue
                    .send(IngestJob { records, reply })
                    .await
                    .map_err(|_| NodeError::ShuttingDown)?;
                match answer.await {
                    Ok(result) => result,
                    Err(_) => Err(NodeError::ShuttingDown),
                }
            }
            None => {
                let node = self.clone();
                tokio::task::spawn_blocking(move || node.ingest_blocking(records))
                    .await
                    .map_err(|_| NodeError::ShuttingDown)?
            }
        }
    }

    /// Wait until the index includes the store's change `change` (read your
    /// writes), for at most `timeout`. Returns whether it does.
    pub async fn wait_indexed(&self, change: u64, timeout: Duration) -> bool {
        if !self.inner.running.load(Ordering::Acquire) {
            let node = self.clone();
            return tokio::task::spawn_blocking(move || node.index_now())
                .await
                .ok()
                .and_then(Result::ok)
                .is_some_and(|w| w >= change);
        }
        self.hurry();
        let mut watermark = self.inner.indexed.subscribe();
        tokio::time::timeout(timeout, watermark.wait_for(|w| *w >= change))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Ask the indexer to index now rather than wait for more changes.
    fn hurry(&self) {
        self.inner.urgent.store(true, Ordering::Release);
        self.inner.hurry.notify_one();
        self.inner.wake.notify_one();
    }

    /// Sign a body as this hub (the operator's publish), store it, and wait
    /// until it is searchable.
    pub async fn publish(&self, body: Body) -> Result<(SignedRecord, Inserted), PublishError> {
        let record = essaim_protocol::sign(body, &self.inner.key, unix_now())
            .inspect_err(|e| self.inner.metrics.rejected_record(e))?;
        // The publisher will wait to read its write: no batching delay.
        self.hurry();
        let inserted = self
            .ingest(vec![(record.clone(), Source::Publish)])
            .await?
            .pop()
            .unwrap_or(Inserted::Duplicate);
        if let Inserted::Head { change } | Inserted::History { change } = inserted {
            self.wait_indexed(change, Duration::from_secs(5)).await;
        }
        Ok((record, inserted))
    }

    /// Run the node: serve HTTP on `listener` until `shutdown` completes,
    /// then stop in order and flush everything.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        let cancel = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        let (queue_tx, queue_rx) = mpsc::channel::<IngestJob>(4_096);
        if let Ok(mut queue) = self.inner.queue.lock() {
            *queue = Some(queue_tx);
        }
        self.inner.running.store(true, Ordering::Release);
        // If this future is dropped before the end (an aborted task), the
        // queue must still close, or the writer thread waits forever and
        // the runtime cannot shut down.
        let _close = CloseQueue(self.inner.clone());

        // Group commit: one writer, many records per transaction.
        let writer = {
            let node = self.clone();
            tokio::task::spawn_blocking(move || group_commit(node, queue_rx))
        };
        // Indexer: batches store changes into index commits.
        {
            let node = self.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move { indexer_loop(node, cancel).await });
        }
        // Trust upkeep: labels expire, hourly quotas reset.
        {
            let node = self.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move { trust_upkeep(node, cancel).await });
        }
        // Federation: the swarm task, stopped by the same token.
        let settings = crate::p2p::P2pSettings::from_config(&self.inner.config)?;
        let p2p = crate::p2p::start(self.clone(), settings, cancel.clone(), &mut tasks).await?;
        if let Ok(mut slot) = self.inner.p2p.lock() {
            *slot = Some(p2p);
        }
        // Mirrors: follow the initiative heads, fetch, refresh.
        crate::mirror::start(self.clone(), cancel.clone(), &mut tasks);
        let address = listener.local_addr().ok();
        self.write_running_file(address)?;
        tracing::info!(hub = %self.hub_id(), http = ?address, "node running");

        let server_cancel = cancel.clone();
        let server = crate::web::serve(self.clone(), listener, async move {
            server_cancel.cancelled().await
        });
        tokio::pin!(server);
        tokio::select! {
            () = &mut server => {}
            () = shutdown => {
                tracing::info!("shutting down: finishing requests, flushing the index, closing the store");
                cancel.cancel();
                server.await;
            }
        }
        cancel.cancel();
        // Stop taking records, let the writer drain what was queued.
        if let Ok(mut queue) = self.inner.queue.lock() {
            queue.take();
        }
        let _ = writer.await;
        while tasks.join_next().await.is_some() {}
        if let Ok(mut slot) = self.inner.p2p.lock() {
            slot.take();
        }
        self.inner.running.store(false, Ordering::Release);
        let node = self.clone();
        tokio::task::spawn_blocking(move || -> Result<(), NodeError> {
            node.index_now()?;
            node.inner.store.checkpoint()?;
            Ok(())
        })
        .await
        .map_err(|_| NodeError::ShuttingDown)??;
        let _ = std::fs::remove_file(self.inner.data.path(RUNNING_FILE));
        tracing::info!("stopped cleanly");
        Ok(())
    }

    fn write_running_file(&self, http: Option<std::net::SocketAddr>) -> Result<(), NodeError> {
        let info = serde_json::json!({
            "pid": std::process::id(),
            "http": http.map(|a| a.to_string()),
            "hub": self.hub_id().to_string(),
        });
        crate::datadir::write_atomically(
            &self.inner.data.path(RUNNING_FILE),
            format!("{info}\n").as_bytes(),
        )?;
        Ok(())
    }
}

/// Closes the group-commit queue when dropped.
struct CloseQueue(Arc<Inner>);

impl Drop for CloseQueue {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.0.queue.lock() {
            queue.take();
        }
        if let Ok(mut p2p) = self.0.p2p.lock() {
            p2p.take();
        }
    }
}

/// Why publishing failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The record breaks a rule.
    #[error(transparent)]
    Record(#[from] essaim_protocol::RecordError),
    /// The node could not store it.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Where a running node on a data directory answers, if one does.
pub fn running_node(data: &DataDir) -> Option<std::net::SocketAddr> {
    let text = std::fs::read_to_string(data.path(RUNNING_FILE)).ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    let pid = info["pid"].as_u64()?;
    // A file left by a killed node: its process is gone.
    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return None;
    }
    info["http"].as_str()?.parse().ok()
}

fn load_or_create_token(data: &DataDir) -> Result<String, NodeError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data.path(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(NodeError::Io {
                what: "cannot read",
                path: path.display().to_string(),
                source,
            });
        }
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| NodeError::Io {
        what: "cannot make a token for",
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let io = |source| NodeError::Io {
        what: "cannot write",
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    Ok(token)
}

/// The group-commit writer: take every job waiting, write them in one
/// transaction, answer each.
fn group_commit(node: Node, mut queue: mpsc::Receiver<IngestJob>) {
    while let Some(first) = queue.blocking_recv() {
        let mut jobs = vec![first];
        let mut count = jobs[0].records.len();
        while count < GROUP_COMMIT_MAX {
            match queue.try_recv() {
                Ok(job) => {
                    count += job.records.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let records: Vec<(SignedRecord, Source)> = jobs
            .iter()
            .flat_map(|j| j.records.iter().cloned())
            .collect();
        match node.judge_and_store(&records) {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for job in jobs {
                    let mine: Vec<Inserted> = outcomes.by_ref().take(job.records.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
                node.inner.wake.notify_one();
                node.inner.mirrors.wake();
            }
            Err(e) => {
                let disk_full = e.is_disk_full();
                if disk_full {
                    tracing::error!(
                        error = %e,
                        data_dir = %node.inner.data.root().display(),
                        "cannot store records: the disk of the data directory is full; free space on it"
                    );
                } else {
                    tracing::error!(error = %e, "cannot store records");
                }
                let reason = e.to_string();
                for job in jobs {
                    let reason = reason.clone();
                    let _ = job.reply.send(Err(if disk_full {
                        NodeError::DiskFull { reason }
                    } else {
                        NodeError::Write { reason }
                    }));
                }
            }
        }
    }
}

/// How often the trust policy's upkeep runs.
const TRUST_UPKEEP: Duration = Duration::from_secs(60);

/// Every minute: forget refused ids whose hour is over (so that
/// reconciliation fetches them again), re-evaluate the circle (labels
/// expire), and recompute the documents of initiatives whose label or
/// statement expired since the last round.
async fn trust_upkeep(node: Node, cancel: CancellationToken) {
    let mut last = unix_now();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(TRUST_UPKEEP) => {}
        }
        let worker = node.clone();
        let since = last;
        let done = tokio::task::spawn_blocking(move || -> Result<u64, NodeError> {
            let now = unix_now();
            let store = &worker.inner.store;
            store.expire_refused(now, false)?;
            let mut reevaluation = worker.inner.trust.reevaluate(store, now)?;
            reevaluation
                .refresh
                .extend(crate::trust::endorse::expired_subjects(store, since, now)?);
            worker.after_reevaluation(&reevaluation)?;
            Ok(now)
        })
        .await;
        match done {
            Ok(Ok(now)) => last = now,
            Ok(Err(e)) => tracing::warn!(error = %e, "trust upkeep failed; retrying in a minute"),
            Err(_) => return,
        }
    }
}

/// The indexer: after a change, wait a moment for more, then apply them all
/// and commit once.
async fn indexer_loop(node: Node, cancel: CancellationToken) {
    loop {
        tokio::select! {
            () = node.inner.wake.notified() => {}
            () = cancel.cancelled() => return,
            // Another process (an `essaim import`) may have written to the store.
            () = tokio::time::sleep(EXTERNAL_CHECK) => {
                let worker = node.clone();
                let behind = tokio::task::spawn_blocking(move || {
                    worker.inner.store.last_change().map(|last| last > worker.indexed())
                })
                .await;
                if !matches!(behind, Ok(Ok(true))) {
                    continue;
                }
            }
        }
        // Let more changes arrive so that they share one commit, unless a
        // publisher waits to read its write.
        if !node.inner.urgent.swap(false, Ordering::AcqRel) {
            tokio::select! {
                () = tokio::time::sleep(INDEX_INTERVAL) => {}
                () = node.inner.hurry.notified() => {}
            }
        }
        node.inner.urgent.store(false, Ordering::Release);
        let worker = node.clone();
        match tokio::task::spawn_blocking(move || worker.index_now()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot update the search index; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                node.inner.wake.notify_one();
            }
            Err(_) => return,
        }
    }
}
