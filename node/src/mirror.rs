//! Mirrors: every node keeps a bare copy of each repository of each
//! initiative head, refreshes it, and serves it (`/git/`, see
//! [`crate::web`]), so that code outlives its forge.
//!
//! - [`policy`]: which URLs may be fetched (checked before any network access);
//! - [`forge`]: a minimal read-only git forge (demo, benchmark, tests);
//! - [`git`]: the `git` processes that fetch, with caps on size and time;
//! - [`repo`]: reading a local mirror with git2 (HEAD, pinned commit, README);
//! - this module: the layout under the data directory, the worker that
//!   follows the store's initiative heads and schedules fetches, and the
//!   fallback to other hubs' `/git/` endpoints when the origin is gone.
//!
//! Layout (`specs/mirrors.md`): `<data>/mirrors/<hub>/<slug>/<repo>.git`,
//! where `<hub>` is the hub id's short form (`z6Mk…`) and `<slug>`, `<repo>`
//! are slugs (`[a-z0-9-]`): every path is built from validated values, never
//! from a URL's text. Clones are made in `<data>/mirrors/.tmp/` and renamed
//! into place only when complete, so a half-fetched mirror is never served.
//!
//! Scheduling: the worker wakes when the store changes (and every few
//! seconds), reads the initiative heads that changed since it last looked,
//! and keeps one row per repository in the store (`store/mirrors.rs`). A
//! mirror is due when it is new or its record changed, when its refresh
//! interval (jittered ±10 %) has passed, or after a failure once its
//! back-off (1 min doubling, up to the interval) has passed. Too-large and
//! refused repositories wait for a change of their record or a manual sync.
//! At most `mirror.concurrency` fetches run at once; the rest wait their turn
//! (the queue is the set of due rows, bounded by the store).

pub mod forge;
pub mod git;
pub mod policy;
pub mod repo;
pub mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use essaim_protocol::{Body, HubId, Kind};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::node::Node;
use crate::store::{Attempt, MirrorRow, MirrorState, StoreError};
use crate::unix_now;
use git::{GitError, Limits, Progress, SharedProgress};
use policy::UrlPolicy;

/// The mirrors' directory in the data directory.
pub const MIRRORS_DIR: &str = "mirrors";
/// Where clones are made before they are complete.
const TMP_DIR: &str = ".tmp";
/// How often the worker looks for due mirrors without being woken.
const TICK: Duration = Duration::from_secs(2);
/// First back-off after a failure; doubles up to the refresh interval.
const BACKOFF_FIRST: u64 = 60;
/// Initiative heads read per step.
const BATCH: usize = 1_000;
/// Free bytes under which a failed fetch is put down to a full disk.
const DISK_FULL_BYTES: u64 = 1 << 20;
/// Other hubs tried per fallback, at most.
const FALLBACK_HUBS_MAX: usize = 8;

/// One mirror's identity: the initiative's hub (short form), slug, and the
/// repository's name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct MirrorKey {
    /// The hub, short form (`z6Mk…`).
    pub hub: String,
    /// The initiative's slug.
    pub slug: String,
    /// The repository's name.
    pub repo: String,
}

impl MirrorKey {
    fn of(row: &MirrorRow) -> MirrorKey {
        MirrorKey {
            hub: row.hub.clone(),
            slug: row.slug.clone(),
            repo: row.repo.clone(),
        }
    }
}

/// Which mirrors a manual sync asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Forced {
    All,
    Initiative(String, String),
}

struct Inner {
    root: PathBuf,
    enabled: bool,
    policy: UrlPolicy,
    limits: Limits,
    interval: u64,
    concurrency: usize,
    serve: Arc<Semaphore>,
    wake: Notify,
    forced: Mutex<Vec<Forced>>,
    running: Mutex<BTreeMap<MirrorKey, SharedProgress>>,
}

/// The mirrors of a node: layout, policy, running jobs. Cheap to clone.
#[derive(Clone)]
pub struct Mirrors {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Mirrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirrors")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

impl Mirrors {
    /// The mirrors under data directory `root`, as configured.
    pub fn new(data_root: &Path, config: &Config) -> Mirrors {
        Mirrors {
            inner: Arc::new(Inner {
                root: data_root.join(MIRRORS_DIR),
                enabled: config.mirror_enabled,
                policy: UrlPolicy {
                    allow_http: config.mirror_allow_http,
                    allow_loopback: config.mirror_allow_loopback,
                    allow_private: config.mirror_allow_private,
                },
                limits: Limits {
                    max_bytes: config.mirror_max_size_mib.saturating_mul(1024 * 1024),
                    timeout: Duration::from_secs(config.mirror_timeout_secs),
                    allow_http: config.mirror_allow_http,
                },
                interval: config.mirror_interval_secs,
                concurrency: config.mirror_concurrency.max(1),
                serve: Arc::new(Semaphore::new(config.mirror_serve_concurrency.max(1))),
                wake: Notify::new(),
                forced: Mutex::new(Vec::new()),
                running: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The URL policy.
    pub fn policy(&self) -> UrlPolicy {
        self.inner.policy
    }

    /// Whether mirroring is on (`mirror.enabled`).
    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// The bare repository of a mirror. Only validated values go in: a hub
    /// id, two slugs (`[a-z0-9-]`, no dots, no slashes).
    pub fn path(
        &self,
        hub: &HubId,
        slug: &essaim_protocol::record::Slug,
        repo: &essaim_protocol::record::Slug,
    ) -> PathBuf {
        self.inner
            .root
            .join(hub.short())
            .join(slug.as_str())
            .join(format!("{}.git", repo.as_str()))
    }

    /// The path of a mirror from a store row, re-validated.
    pub fn path_of(&self, key: &MirrorKey) -> Option<PathBuf> {
        let hub = HubId::parse_lenient(&key.hub).ok()?;
        let slug = key.slug.parse().ok()?;
        let repo = key.repo.parse().ok()?;
        Some(self.path(&hub, &slug, &repo))
    }

    /// Limits the number of clones served at once.
    pub fn serve_permits(&self) -> &Arc<Semaphore> {
        &self.inner.serve
    }

    /// Look at the store again now (a record was stored).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Ask for a fetch of every mirror (`None`) or of one initiative's, now,
    /// whatever their state.
    pub fn request_sync(&self, initiative: Option<(String, String)>) {
        if let Ok(mut forced) = self.inner.forced.lock() {
            forced.push(match initiative {
                None => Forced::All,
                Some((hub, slug)) => Forced::Initiative(hub, slug),
            });
        }
        self.wake();
    }

    /// The fetches running now, with their progress.
    pub fn running(&self) -> Vec<(MirrorKey, Progress)> {
        self.inner
            .running
            .lock()
            .map(|r| {
                r.iter()
                    .map(|(k, p)| (k.clone(), p.lock().map(|p| p.clone()).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_forced(&self, row: &MirrorRow) -> bool {
        self.inner.forced.lock().is_ok_and(|f| {
            f.iter().any(|f| match f {
                Forced::All => true,
                Forced::Initiative(hub, slug) => *hub == row.hub && *slug == row.slug,
            })
        })
    }

    /// When a row is next due (unix seconds); `None`: only on a change or a manual sync.
    fn due_at(&self, row: &MirrorRow) -> Option<u64> {
        let last = row.last_attempt.unwrap_or(0);
        match row.state {
            MirrorState::Pending => Some(0),
            MirrorState::Ok => Some(last + jittered(self.inner.interval, row, last)),
            MirrorState::Failed => {
                let backoff = BACKOFF_FIRST
                    .saturating_mul(1u64 << row.failures.saturating_sub(1).min(20))
                    .min(self.inner.interval);
                Some(last + backoff)
            }
            MirrorState::TooLarge | MirrorState::Refused => None,
        }
    }
}

/// The interval ±10 %, fixed for a given mirror and attempt (no two nodes,
/// no two mirrors refresh in lock step).
fn jittered(interval: u64, row: &MirrorRow, last: u64) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}/{}/{}/{last}", row.hub, row.slug, row.repo));
    let r = u64::from(digest[0]) | (u64::from(digest[1]) << 8);
    let spread = interval / 5;
    interval - interval / 10 + spread * r / 65_535
}

/// Why a mirror operation could not run.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node is shutting down.
    #[error("the node is shutting down")]
    ShuttingDown,
}

/// Start the worker; it stops when `cancel` is cancelled.
pub fn start(node: Node, cancel: CancellationToken, tasks: &mut tokio::task::JoinSet<()>) {
    if !node.mirrors().enabled() {
        return;
    }
    tasks.spawn(async move { worker(node, cancel).await });
}

async fn worker(node: Node, cancel: CancellationToken) {
    let mirrors = node.mirrors().clone();
    // Clones that a killed node left half-made (their temporary directories
    // outlive a `kill -9`): never complete, never served, only taking space.
    let tmp_root = mirrors.inner.root.join(TMP_DIR);
    let _ = tokio::task::spawn_blocking(move || remove_leftovers(&tmp_root)).await;
    let mut watermark = 0u64;
    let mut jobs = tokio::task::JoinSet::new();
    loop {
        // Follow the store's initiative heads.
        let scanner = node.clone();
        match tokio::task::spawn_blocking(move || scan(&scanner, watermark)).await {
            Ok(Ok(w)) => watermark = w,
            Ok(Err(e)) => tracing::error!(error = %e, "mirrors: cannot read the store"),
            Err(_) => return,
        }
        // Start what is due, up to the concurrency.
        let reader = node.clone();
        let rows = tokio::task::spawn_blocking(move || reader.store().mirrors(None, None))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let now = unix_now();
        let running: BTreeSet<MirrorKey> = mirrors
            .inner
            .running
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        let mut started = running.len();
        let mut all_started = true;
        for row in rows {
            let key = MirrorKey::of(&row);
            if running.contains(&key) {
                continue;
            }
            let forced = mirrors.is_forced(&row);
            if !forced && mirrors.due_at(&row).is_none_or(|at| at > now) {
                continue;
            }
            if started >= mirrors.inner.concurrency {
                all_started = false;
                break;
            }
            started += 1;
            let progress = SharedProgress::default();
            if let Ok(mut r) = mirrors.inner.running.lock() {
                r.insert(key.clone(), progress.clone());
            }
            let node = node.clone();
            let cancel = cancel.clone();
            jobs.spawn(async move {
                tokio::select! {
                    _ = run_job(&node, &row, &progress) => {}
                    () = cancel.cancelled() => {}
                }
                if let Ok(mut r) = node.mirrors().inner.running.lock() {
                    r.remove(&key);
                }
            });
        }
        if all_started && let Ok(mut forced) = mirrors.inner.forced.lock() {
            forced.clear();
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = mirrors.inner.wake.notified() => {}
            Some(_) = jobs.join_next() => {}
            () = tokio::time::sleep(TICK) => {}
        }
    }
    // Jobs stop at the cancel: their git processes are killed on drop and
    // their temporary clones removed.
    while jobs.join_next().await.is_some() {}
}

/// Remove what is in `tmp_root` (the node's mirror worker is the only one
/// writing there while the node runs).
fn remove_leftovers(tmp_root: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path)) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "mirrors: removed an unfinished clone")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "mirrors: cannot remove an unfinished clone")
            }
        }
    }
}

/// Bring the mirror rows in line with the initiative heads changed after
/// `since`; returns the new watermark.
fn scan(node: &Node, since: u64) -> Result<u64, StoreError> {
    let store = node.store();
    let mut since = since;
    loop {
        let heads = store.heads_of_kind(Kind::Initiative, None, since, u64::MAX, BATCH)?;
        let Some(last) = heads.last().map(|h| h.change) else {
            return Ok(since);
        };
        for head in &heads {
            let address = head.record.address();
            let hub = address.author.short();
            let slug = address.slug.to_string();
            let mut keep = BTreeSet::new();
            if let Body::Initiative(initiative) = head.record.body() {
                for repository in &initiative.repositories {
                    let name = repository.name.to_string();
                    let changed = store.mirror_upsert(
                        &hub,
                        &slug,
                        &name,
                        repository.url.as_str(),
                        repository.commit.as_ref().map(|c| c.as_str()),
                    )?;
                    if changed {
                        node.mirrors().wake();
                    }
                    keep.insert(name);
                }
            }
            for row in store.mirrors(Some(&hub), Some(&slug))? {
                if !keep.contains(&row.repo) {
                    store.mirror_forget(&hub, &slug, &row.repo)?;
                    if let Some(path) = node.mirrors().path_of(&MirrorKey::of(&row)) {
                        let _ = std::fs::remove_dir_all(path);
                    }
                }
            }
        }
        since = last;
    }
}

/// Fetch one mirror (origin first, then other hubs) and record the outcome.
pub async fn run_job(node: &Node, row: &MirrorRow, progress: &SharedProgress) -> Attempt {
    let started = std::time::Instant::now();
    let mut attempt = attempt(node, row, progress).await;
    node.metrics().mirror_job(attempt.state, started.elapsed());
    // When it ended: a sync asked for during the attempt sees it as done.
    attempt.at = unix_now();
    if let (false, Some(error)) = (attempt.state == MirrorState::Ok, &attempt.error) {
        let mirror = format!("{}/{}/{}", row.hub, row.slug, row.repo);
        // git's own message does not always say why it could not write.
        let root = node.data_dir().root();
        let disk_full = error.contains("No space left on device")
            || fs4::available_space(root).is_ok_and(|free| free < DISK_FULL_BYTES);
        if disk_full {
            let error = format!("the disk of the data directory is full; {error}");
            tracing::error!(%mirror, %error, data_dir = %root.display(), "mirrors: fetch failed: the disk of the data directory is full; free space on it");
            attempt.error = Some(error);
        } else {
            tracing::warn!(%mirror, %error, "mirrors: fetch failed");
        }
    }
    let store_node = node.clone();
    let (hub, slug, repo) = (row.hub.clone(), row.slug.clone(), row.repo.clone());
    let recorded = attempt.clone();
    let ok = attempt.state == MirrorState::Ok;
    let _ = tokio::task::spawn_blocking(move || {
        if let Err(e) = store_node
            .store()
            .mirror_attempt(&hub, &slug, &repo, &recorded)
        {
            tracing::error!(error = %e, "mirrors: cannot record an attempt");
        }
        if ok {
            if let Some(path) = store_node.mirrors().path_of(&MirrorKey {
                hub: hub.clone(),
                slug: slug.clone(),
                repo: repo.clone(),
            }) {
                let docs = repo::documentation(&path).unwrap_or_default();
                if let Err(e) = store_node
                    .store()
                    .mirror_set_docs(&hub, &slug, &repo, &docs)
                {
                    tracing::error!(error = %e, "mirrors: cannot keep a README");
                }
            }
            // The README may have changed: the initiative's search document
            // too (under the indexing lock, so that a new version of the
            // record being indexed meanwhile is not overwritten by this one).
            if let (Ok(author), Ok(slug)) = (HubId::parse_lenient(&hub), slug.parse()) {
                let address = essaim_protocol::Address {
                    author,
                    kind: Kind::Initiative,
                    slug,
                };
                if let Err(e) =
                    store_node.refresh_index(&std::collections::BTreeSet::from([address]))
                {
                    tracing::warn!(error = %e, "mirrors: cannot re-index an initiative");
                }
            }
        }
    })
    .await;
    attempt
}

async fn attempt(node: &Node, row: &MirrorRow, progress: &SharedProgress) -> Attempt {
    let mirrors = node.mirrors();
    let key = MirrorKey::of(row);
    let now = unix_now();
    let failed = |state, error: String, origin_ok| Attempt {
        state,
        source: None,
        origin_ok,
        at: now,
        head: None,
        size: 0,
        error: Some(error),
        pin_ok: None,
    };
    let Some(target) = mirrors.path_of(&key) else {
        return failed(
            MirrorState::Refused,
            "the stored mirror name is not valid".into(),
            None,
        );
    };
    let tmp_root = mirrors.inner.root.join(TMP_DIR);
    let limits = mirrors.inner.limits;
    // 1. The origin.
    let origin_error = match mirrors.inner.policy.resolve(&row.url).await {
        Err(refused) => {
            tracing::info!(url = %row.url, reason = %refused, "mirrors: origin refused");
            (MirrorState::Refused, format!("origin refused: {refused}"))
        }
        Ok(checked) => match git::fetch(&target, &tmp_root, &checked, limits, progress).await {
            Ok(()) => {
                return succeeded(&target, row, row.url.clone(), Some(true), None, now).await;
            }
            Err(GitError::TooLarge { cap_mib }) => {
                return failed(
                    MirrorState::TooLarge,
                    format!("larger than the cap of {cap_mib} MiB (mirror.max_size_mib)"),
                    Some(true),
                );
            }
            Err(e) => (MirrorState::Failed, format!("origin: {e}")),
        },
    };
    // 2. Other hubs' `/git/` endpoints, when this node has no copy yet (a
    // copy it has stays served: another hub's may be older).
    let (state, origin_error) = origin_error;
    let mut tried = Vec::new();
    let candidates = if target.join("HEAD").is_file() {
        Vec::new()
    } else {
        fallback_urls(node, &key).await
    };
    for url in candidates {
        let checked = match mirrors.inner.policy.resolve(&url).await {
            Ok(c) => c,
            Err(refused) => {
                tried.push(format!("{url}: {refused}"));
                continue;
            }
        };
        match git::clone_fresh(&tmp_root, &checked, limits, progress).await {
            Ok(tmp) => {
                let path = tmp.path().to_owned();
                let pinned = row.pinned.clone();
                let summary =
                    tokio::task::spawn_blocking(move || repo::summarise(&path, pinned.as_deref()))
                        .await;
                match summary {
                    Ok(Ok(s)) if s.pin_ok != Some(false) => {
                        if let Err(e) = git::install(&tmp, &target) {
                            tried.push(format!("{url}: {e}"));
                            continue;
                        }
                        return succeeded(&target, row, url, Some(false), Some(origin_error), now)
                            .await;
                    }
                    Ok(Ok(_)) => tried.push(format!("{url}: lacks the pinned commit")),
                    Ok(Err(e)) => tried.push(format!("{url}: {e}")),
                    Err(_) => tried.push(format!("{url}: interrupted")),
                }
            }
            Err(e) => tried.push(format!("{url}: {e}")),
        }
    }
    let mut error = origin_error;
    if !tried.is_empty() {
        error.push_str("; other hubs: ");
        error.push_str(&tried.join("; "));
    }
    // A mirror fetched before stays served: only the attempt failed.
    let mut attempt = failed(state, error, Some(false));
    attempt.size = git::disk_size(&target);
    attempt
}

async fn succeeded(
    target: &Path,
    row: &MirrorRow,
    source: String,
    origin_ok: Option<bool>,
    error: Option<String>,
    now: u64,
) -> Attempt {
    let path = target.to_owned();
    let pinned = row.pinned.clone();
    let summary = tokio::task::spawn_blocking(move || {
        (
            repo::summarise(&path, pinned.as_deref()),
            git::disk_size(&path),
        )
    })
    .await;
    let (summary, size) = match summary {
        Ok((Ok(s), size)) => (s, size),
        Ok((Err(e), size)) => {
            return Attempt {
                state: MirrorState::Failed,
                source: None,
                origin_ok,
                at: now,
                head: None,
                size,
                error: Some(format!("the mirror is not readable: {e}")),
                pin_ok: None,
            };
        }
        Err(_) => (
            repo::Summary {
                head: None,
                pin_ok: None,
            },
            0,
        ),
    };
    let error = match (summary.pin_ok, error) {
        (Some(false), e) => Some(format!(
            "the pinned commit {} is not in the mirrored branches or tags{}",
            row.pinned.as_deref().unwrap_or(""),
            e.map(|e| format!("; {e}")).unwrap_or_default()
        )),
        (_, e) => e,
    };
    Attempt {
        state: MirrorState::Ok,
        source: Some(source),
        origin_ok,
        at: now,
        head: summary.head,
        size,
        error,
        pin_ok: summary.pin_ok,
    }
}

/// The `/git/` URLs of this repository at other hubs that publish a web
/// address in their hub record, the initiative's own hub first.
pub async fn fallback_urls(node: &Node, key: &MirrorKey) -> Vec<String> {
    let worker = node.clone();
    let key = key.clone();
    tokio::task::spawn_blocking(move || other_hub_urls(&worker, &key))
        .await
        .unwrap_or_default()
}

/// [`fallback_urls`], on this thread (blocking: reads the store).
pub fn other_hub_urls(node: &Node, key: &MirrorKey) -> Vec<String> {
    let own = node.hub_id().short();
    let mut bases: Vec<(bool, String)> = Vec::new();
    let mut since = 0;
    while let Ok(page) = node
        .store()
        .heads_of_kind(Kind::Hub, None, since, u64::MAX, BATCH)
    {
        let Some(last) = page.last().map(|h| h.change) else {
            break;
        };
        for head in &page {
            if let Body::Hub(hub) = head.record.body()
                && hub.author.short() != own
                && let Some(base) = hub.endpoints.as_ref().and_then(|e| e.http.as_ref())
            {
                bases.push((hub.author.short() != key.hub, base.to_string()));
            }
        }
        since = last;
    }
    bases.sort();
    bases
        .into_iter()
        .take(FALLBACK_HUBS_MAX)
        .map(|(_, base)| git_url(&base, key))
        .collect()
}

/// The clone URL of a mirror at a node whose web address is `base`.
pub fn git_url(base: &str, key: &MirrorKey) -> String {
    format!(
        "{}/git/{}/{}/{}.git",
        base.trim_end_matches('/'),
        key.hub,
        key.slug,
        key.repo
    )
}

/// Fetch the mirrors of one initiative (or all) now, in this task, one at a
/// time; `report` is called with each mirror's outcome. For `essaim mirror
/// sync` when no node runs.
pub async fn sync_now(
    node: &Node,
    initiative: Option<(String, String)>,
    progress: &SharedProgress,
    report: &mut (dyn FnMut(&MirrorKey, &Attempt) + Send),
) -> Result<usize, MirrorError> {
    let scanner = node.clone();
    tokio::task::spawn_blocking(move || scan(&scanner, 0))
        .await
        .map_err(|_| MirrorError::ShuttingDown)??;
    let (hub, slug) = match &initiative {
        Some((h, s)) => (Some(h.clone()), Some(s.clone())),
        None => (None, None),
    };
    let reader = node.clone();
    let rows = tokio::task::spawn_blocking(move || {
        reader.store().mirrors(hub.as_deref(), slug.as_deref())
    })
    .await
    .map_err(|_| MirrorError::ShuttingDown)??;
    for row in &rows {
        let attempt = run_job(node, row, progress).await;
        report(&MirrorKey::of(row), &attempt);
    }
    Ok(rows.len())
}

/// The JSON view of one mirror row, with its clone path on this node.
pub fn row_json(row: &MirrorRow) -> serde_json::Value {
    let mut value = serde_json::to_value(row).unwrap_or_default();
    value["path"] =
        serde_json::Value::String(format!("/git/{}/{}/{}.git", row.hub, row.slug, row.repo));
    value["served"] = serde_json::Value::Bool(row.last_success.is_some());
    value
}
