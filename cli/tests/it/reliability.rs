//! The reliability suite (issue 8): what an unattended hub must survive.
//!
//! - crash safety: `kill -9` at random (seeded) moments while a client
//!   ingests signed records, while the indexer commits and while mirrors are
//!   fetched; after every restart no acknowledged record is missing, the
//!   index agrees with the store and no mirror is half-written as if
//!   complete;
//! - a corrupted or deleted index directory is rebuilt from the store at
//!   start-up, with a log line that says so;
//! - a full disk (a small tmpfs as the data directory) makes writes fail
//!   with a clear error while reads go on, and the node recovers when space
//!   returns.
//!
//! It lives in the `essaim` package's `it` test binary rather than in the
//! workspace's `tests/` crate because only here does Cargo hand the test the
//! binary it has just built (`CARGO_BIN_EXE_essaim`): from `tests/`, the
//! suite would have to find or build an `essaim` itself, and could run a
//! stale one.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use essaim_protocol::{HubKey, SignedRecord};
use serde_json::{Value, json};

use crate::util::{RunningNode, get, init_ruche, operator_token, post, serve_forge};

/// A small seeded generator (splitmix64): the kill moments of a run are
/// reproducible from the seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}

/// Open trust mode with quotas out of the way: the suite's clients sign as
/// hubs this node does not follow, and send more than an hour's quota.
fn open_without_quotas(data: &Path) {
    crate::util::open_trust(data);
    let path = data.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# quota_per_hour = 1000"),
        "the template changed"
    );
    let text = text
        .replace("# quota_per_hour = 1000", "quota_per_hour = 1000000")
        .replace("# quota_total = 20000", "quota_total = 1000000");
    std::fs::write(&path, text).unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    essaim_node::mirror::forge::run_git(dir, args).unwrap_or_else(|e| panic!("git {args:?}: {e}"))
}

/// A bare repository `<forge>/<name>.git` with `bytes` of incompressible
/// data, so that a fetch lasts long enough to be killed in the middle.
/// Returns its HEAD commit.
fn heavy_repo(forge: &Path, name: &str, bytes: usize, seed: u64) -> String {
    let work = tempfile::tempdir().unwrap();
    git(work.path(), &["init", "-q", "."]);
    std::fs::write(
        work.path().join("README.md"),
        format!("# {name}\n\nUn dépôt lourd pour les essais de panne.\n"),
    )
    .unwrap();
    let mut rng = Rng(seed);
    let data: Vec<u8> = (0..bytes / 8)
        .flat_map(|_| rng.next().to_le_bytes())
        .collect();
    std::fs::write(work.path().join("data.bin"), data).unwrap();
    git(work.path(), &["add", "."]);
    git(work.path(), &["commit", "-q", "-m", "données"]);
    let head = git(work.path(), &["rev-parse", "HEAD"]);
    let bare = forge.join(format!("{name}.git"));
    git(
        work.path(),
        &["clone", "-q", "--bare", ".", bare.to_str().unwrap()],
    );
    head
}

/// An initiative signed by `key` (a hub this node does not know), version
/// `seq`, with a repository when `repo` (URL, pinned commit) is given.
fn initiative(key: &HubKey, slug: &str, seq: u64, repo: Option<(&str, &str)>) -> SignedRecord {
    let mut text = format!(
        r#"kind = "initiative"
slug = "{slug}"
name = "Essai de panne {slug}"
themes = ["citoyennete"]
origin = "com:69123"
stage = "emergence"
[summary]
fr = "Une initiative envoyée pendant qu'on tue le nœud (version {seq})."
"#
    );
    if let Some((url, commit)) = repo {
        text.push_str(&format!(
            "[[repositories]]\nname = \"code\"\nurl = \"{url}\"\nlicence = \"MIT\"\ncommit = \"{commit}\"\n"
        ));
    }
    let now = essaim_node::unix_now();
    let body = essaim_node::draft::parse_with_seq(
        &text,
        essaim_node::draft::Format::Toml,
        &key.hub_id(),
        now,
        seq,
    )
    .unwrap();
    essaim_protocol::sign(body, key, now).unwrap()
}

/// A record acknowledged by the node (a 2xx answer to its POST).
#[derive(Clone, Debug)]
struct Acked {
    id: String,
    address: String,
}

/// Every record id the node stores, through `/api/v1/records`.
fn stored_ids(http: &str) -> HashSet<String> {
    let mut stored = HashSet::new();
    let mut since = 0;
    loop {
        let (status, page) =
            get(&format!("{http}/api/v1/records?since={since}&limit=1000")).unwrap();
        assert_eq!(status, 200, "{page}");
        for record in page["records"].as_array().unwrap() {
            stored.insert(record["id"].as_str().unwrap().to_owned());
        }
        since = page["next"].as_u64().unwrap();
        if page["more"] != Value::Bool(true) {
            return stored;
        }
    }
}

/// Wait (bounded) until the index has applied every store change; the
/// node's status.
fn wait_indexed(http: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (_, status) = get(&format!("{http}/api/v1/status")).unwrap();
        if status["index"]["behind"] == 0 {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the index did not catch up with the store within {within:?}: {}",
            status["index"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every initiative address a match-all search returns, page by page, in
/// the order returned (an address twice means a duplicated document).
fn searchable(http: &str) -> (u64, Vec<String>) {
    let mut found = Vec::new();
    let mut total = 0;
    let mut offset = 0;
    loop {
        let (status, page) = get(&format!(
            "{http}/api/v1/search?q=&sort=newest&limit=100&offset={offset}"
        ))
        .unwrap();
        assert_eq!(status, 200, "{page}");
        total = page["total"].as_u64().unwrap_or(total);
        let hits = page["hits"].as_array().unwrap();
        for hit in hits {
            found.push(hit["address"].as_str().unwrap().to_owned());
        }
        offset += 100;
        if hits.is_empty() || offset as u64 >= total {
            return (total, found);
        }
    }
}

/// Whether a search for the slug of the initiative at `address` finds it.
fn found_by_slug(http: &str, address: &str) -> bool {
    let slug = address.rsplit('/').next().unwrap_or(address);
    let (status, page) = get(&format!("{http}/api/v1/search?q={slug}&limit=100")).unwrap();
    assert_eq!(status, 200, "{page}");
    page["hits"]
        .as_array()
        .is_some_and(|hits| hits.iter().any(|h| h["address"] == address))
}

/// The processes whose parent is `pid`, with their command names.
fn children(pid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces, not ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(pid) {
            found.push((child, comm));
        }
    }
    found
}

/// Whether process `pid` has a file of `index` open other than its locks:
/// the indexer is writing a batch's segment or committing (the reader maps
/// its files and closes them; the writer holds only its lock files between
/// batches).
fn index_writing(pid: u32, index: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            target.starts_with(index)
                && !target.to_string_lossy().ends_with(".lock")
                && target != index
        })
    })
}

/// Whether `git fsck` passes on `repo` and it holds `commit` (when pinned).
fn mirror_complete(repo: &Path, commit: Option<&str>) -> Result<(), String> {
    if !repo.join("HEAD").is_file() {
        return Err("no HEAD".into());
    }
    let fsck = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(["fsck", "--no-progress", "--no-dangling"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    if !fsck.status.success() {
        return Err(format!(
            "git fsck: {}",
            String::from_utf8_lossy(&fsck.stderr).trim()
        ));
    }
    if let Some(commit) = commit {
        let has = Command::new("git")
            .arg("--git-dir")
            .arg(repo)
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .status()
            .unwrap();
        if !has.success() {
            return Err(format!("pinned commit {commit} missing"));
        }
    }
    Ok(())
}

/// What was going on when the node was killed.
#[derive(Default, Debug)]
struct Moment {
    /// A client's POST was waiting for its answer.
    ingest: bool,
    /// The indexer had index files open for writing: a batch being
    /// indexed or committed.
    commit: bool,
    /// A `git` fetch of a mirror was running.
    mirror: bool,
}

/// 20 cycles (`ESSAIM_CRASH_CYCLES`) of `kill -9` at a random moment (seed
/// `ESSAIM_CRASH_SEED`, printed) while clients POST signed records, the
/// indexer commits and mirrors are fetched; after each restart every
/// acknowledged record is stored, the index agrees with the store, and
/// every mirror marked ok (indeed every mirror in place) is complete.
#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_record() {
    let started = Instant::now();
    let cycles: usize = std::env::var("ESSAIM_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("ESSAIM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("crash safety: seed {seed} (ESSAIM_CRASH_SEED={seed} replays it), {cycles} cycles");
    let mut rng = Rng(seed);

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    init_ruche(&data, "Ruche increvable");
    open_without_quotas(&data);
    crate::mirror::allow_loopback(&data);
    let forge = tmp.path().join("forge");
    std::fs::create_dir_all(&forge).unwrap();
    // Half a MiB each: a fetch takes a few hundred milliseconds here.
    let repos: Vec<(String, String)> = (0..3)
        .map(|i| {
            let name = format!("lourd-{i}");
            let head = heavy_repo(&forge, &name, 512 * 1024, seed ^ i);
            (name, head)
        })
        .collect();
    let (_runtime, forge_url) = serve_forge(&forge);
    let keys: Vec<HubKey> = (0..4u8)
        .map(|i| HubKey::from_seed(&[200 + i; 32]))
        .collect();

    let mut acked: Vec<Acked> = Vec::new();
    let mut per_cycle = Vec::new();
    let mut hits = BTreeMap::from([("ingest", 0), ("commit", 0), ("mirror", 0)]);
    let mut verified_mirrors: HashSet<(PathBuf, String)> = HashSet::new();
    let mut ok_mirrors_max = 0;
    let mut seq = essaim_node::unix_now_ms();
    for cycle in 0..cycles {
        // What the killed node left half-cloned (read before the new node
        // starts cloning its own).
        let tmp_leftovers: Vec<PathBuf> = std::fs::read_dir(data.join("mirrors/.tmp"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let node = RunningNode::start(&data);
        let pid = node.pid();
        let http = node.http.clone();

        // Check what the previous kill left.
        if cycle > 0 {
            check_after_restart(
                &http,
                &data,
                &acked,
                &mut verified_mirrors,
                &mut ok_mirrors_max,
            );
            // Clones a killed node left half-made are cleared at start-up.
            let deadline = Instant::now() + Duration::from_secs(10);
            while tmp_leftovers.iter().any(|p| p.exists()) {
                assert!(
                    Instant::now() < deadline,
                    "temporary clones left by the killed node are still there: {tmp_leftovers:?}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        // The load: 4 clients POSTing signed records, some with a
        // repository to mirror, some new versions of earlier ones.
        let target = ["ingest", "commit", "mirror"][rng.range(0, 3) as usize];
        let stop = AtomicBool::new(false);
        let inflight = AtomicUsize::new(0);
        let cycle_acked = Mutex::new(Vec::new());
        let unexpected = Mutex::new(Vec::new());
        let base_seq = seq;
        seq += 1_000_000;
        let moment = std::thread::scope(|scope| {
            for (t, key) in keys.iter().enumerate() {
                let (stop, inflight, cycle_acked, unexpected) =
                    (&stop, &inflight, &cycle_acked, &unexpected);
                let (http, repos, forge_url) = (&http, &repos, &forge_url);
                let mut rng = Rng(seed ^ ((cycle as u64) << 8) ^ t as u64);
                scope.spawn(move || {
                    let url = format!("{http}/api/v1/records");
                    for n in 0..400u64 {
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        // Every 7th a new version of an earlier one.
                        let slug_n = if n > 7 && n % 7 == 0 {
                            rng.range(0, n)
                        } else {
                            n
                        };
                        let slug = format!("c{cycle}-t{t}-n{slug_n}");
                        // Client 0's every 6th has a repository.
                        let repo = (t == 0 && n % 6 == 1).then(|| {
                            let (name, head) = &repos[(n as usize / 6) % repos.len()];
                            (format!("{forge_url}/{name}.git"), head.clone())
                        });
                        let record = initiative(
                            key,
                            &slug,
                            base_seq + n,
                            repo.as_ref().map(|(u, c)| (u.as_str(), c.as_str())),
                        );
                        let view = serde_json::to_vec(&record.to_json_view()).unwrap();
                        inflight.fetch_add(1, Ordering::AcqRel);
                        let answer = post(&url, "application/json", &view, None);
                        inflight.fetch_sub(1, Ordering::AcqRel);
                        match answer {
                            Ok((status, body)) if (200..300).contains(&status) => {
                                cycle_acked.lock().unwrap().push(Acked {
                                    id: body["id"].as_str().unwrap().to_owned(),
                                    address: body["address"].as_str().unwrap().to_owned(),
                                });
                            }
                            Ok((status, body)) => {
                                unexpected.lock().unwrap().push(format!("{status} {body}"));
                                return;
                            }
                            // The node was killed under the request.
                            Err(_) => return,
                        }
                    }
                });
            }
            // Wait for the moment aimed at (bounded), then kill.
            let deadline = Instant::now() + Duration::from_secs(5);
            let index = data.join("index");
            let behind = || index_writing(pid, &index);
            let git_running = || {
                children(pid)
                    .iter()
                    .any(|(_, comm)| comm.starts_with("git"))
            };
            match target {
                "ingest" => std::thread::sleep(Duration::from_millis(rng.range(100, 1500))),
                "commit" => {
                    std::thread::sleep(Duration::from_millis(rng.range(50, 600)));
                    while !behind() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    std::thread::sleep(Duration::from_millis(rng.range(0, 5)));
                }
                _ => {
                    while !git_running() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    std::thread::sleep(Duration::from_millis(rng.range(0, 150)));
                }
            }
            let moment = Moment {
                ingest: inflight.load(Ordering::Acquire) > 0,
                commit: behind(),
                mirror: git_running(),
            };
            node.kill9();
            stop.store(true, Ordering::Release);
            moment
        });
        let unexpected = unexpected.into_inner().unwrap();
        assert!(
            unexpected.is_empty(),
            "answers other than 2xx: {unexpected:?}"
        );
        let cycle_acked = cycle_acked.into_inner().unwrap();
        for (name, hit) in [
            ("ingest", moment.ingest),
            ("commit", moment.commit),
            ("mirror", moment.mirror),
        ] {
            if hit {
                *hits.get_mut(name).unwrap() += 1;
            }
        }
        println!(
            "{}",
            json!({"cycle": cycle, "aimed_at": target, "acked": cycle_acked.len(),
                   "in_flight_post": moment.ingest, "index_writing": moment.commit,
                   "git_fetch_running": moment.mirror})
        );
        per_cycle.push(cycle_acked.len());
        acked.extend(cycle_acked);
    }

    // The last kill, checked like the others.
    let node = RunningNode::start(&data);
    check_after_restart(
        &node.http,
        &data,
        &acked,
        &mut verified_mirrors,
        &mut ok_mirrors_max,
    );
    drop(node);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "suite": "crash_safety",
            "seed": seed,
            "cycles": cycles,
            "acked_total": acked.len(),
            "acked_per_cycle": per_cycle,
            "checked_after_each_restart": "every record acknowledged so far",
            "kill_moments": hits,
            "mirrors_ok_verified": ok_mirrors_max,
            "secs": (secs * 10.0).round() / 10.0,
        })
    );
    assert!(
        acked.len() >= cycles,
        "the clients hardly got anything acknowledged"
    );
}

/// After a restart: every acknowledged record is stored, the index agrees
/// with the store (once it has caught up, bounded), every acknowledged
/// initiative is searchable, and every mirror in place is complete.
fn check_after_restart(
    http: &str,
    data: &Path,
    acked: &[Acked],
    verified: &mut HashSet<(PathBuf, String)>,
    ok_max: &mut usize,
) {
    let stored = stored_ids(http);
    let missing: Vec<&Acked> = acked.iter().filter(|a| !stored.contains(&a.id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let status = wait_indexed(http, Duration::from_secs(30));
    let heads = status["store"]["heads"]["initiative"].as_u64().unwrap_or(0);
    let (total, listed) = searchable(http);
    let addresses: BTreeSet<&str> = acked.iter().map(|a| a.address.as_str()).collect();
    let mut seen = HashSet::new();
    let twice: Vec<&String> = listed.iter().filter(|a| !seen.insert(*a)).collect();
    let found: HashSet<String> = listed.iter().cloned().collect();
    assert_eq!(
        total,
        heads,
        "searchable initiatives ≠ stored initiative heads: {} listed, listed twice: {twice:?}, \
         listed but never acknowledged: {:?}; {status}",
        listed.len(),
        found
            .iter()
            .filter(|a| !addresses.contains(a.as_str()))
            .collect::<Vec<_>>(),
    );
    // Pages sorted by date shift when a document is re-indexed between two
    // requests (mirror fetches re-index their initiative, and many records
    // here share a date): what the listing missed is looked up by its slug.
    let unfindable: Vec<&&str> = addresses
        .iter()
        .filter(|a| !found.contains(**a) && !found_by_slug(http, a))
        .collect();
    assert!(
        unfindable.is_empty(),
        "{} acknowledged initiatives not searchable, e.g. {:?} ({} listed, listed twice: {twice:?})",
        unfindable.len(),
        unfindable.first(),
        listed.len(),
    );

    // Mirrors: those the store marks ok are complete and hold their pinned
    // commit; and since clones are renamed into place only when complete,
    // so is every other mirror directory in place.
    let (_, mirrors) = get(&format!("{http}/api/v1/mirrors")).unwrap();
    let rows = mirrors["mirrors"].as_array().cloned().unwrap_or_default();
    let mut ok = 0;
    let mut in_place = HashSet::new();
    for row in &rows {
        let path = data
            .join("mirrors")
            .join(row["hub"].as_str().unwrap())
            .join(row["slug"].as_str().unwrap())
            .join(format!("{}.git", row["repo"].as_str().unwrap()));
        if row["state"] == "ok" {
            ok += 1;
            let head = row["head"].as_str().unwrap_or("").to_owned();
            if verified.contains(&(path.clone(), head.clone())) {
                in_place.insert(path);
                continue;
            }
            // The pin is checked once a fetch said it is there: a new
            // version of the record may pin another commit, which the copy
            // gets at its next fetch.
            let pin = if row["pin_ok"] == true {
                row["pinned"].as_str()
            } else {
                None
            };
            if let Err(e) = mirror_complete(&path, pin) {
                panic!("mirror {} is marked ok but {e}", path.display());
            }
            verified.insert((path.clone(), head));
            in_place.insert(path);
        }
    }
    *ok_max = (*ok_max).max(ok);
    for hub in std::fs::read_dir(data.join("mirrors"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if hub.file_name() == ".tmp" {
            continue;
        }
        for slug in std::fs::read_dir(hub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            for repo in std::fs::read_dir(slug.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = repo.path();
                if in_place.contains(&path) {
                    continue;
                }
                // Not (yet) marked ok: if it is there, it must be whole.
                if let Err(e) = mirror_complete(&path, None) {
                    panic!("mirror {} is in place but {e}", path.display());
                }
            }
        }
    }
}

/// Publish `n` initiatives as the operator of a running node.
fn publish_some(http: &str, token: &str, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let draft = json!({
                "kind": "initiative",
                "slug": format!("{prefix}-{i}"),
                "name": format!("Initiative {prefix} {i}"),
                "summary": {"fr": "Une initiative qui doit survivre à tout."},
                "themes": ["citoyennete"],
                "origin": "com:69123",
                "stage": "emergence",
            });
            let (status, answer) = post(
                &format!("{http}/api/v1/publish"),
                "application/json",
                draft.to_string().as_bytes(),
                Some(token),
            )
            .unwrap();
            assert_eq!(status, 201, "publish {prefix}-{i}: {answer}");
            answer["address"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A damaged or missing index directory is found at start-up and rebuilt
/// from the store, with a log line saying so (`node.rs` covers the CLI
/// reading a damaged index with no node running; this is `essaim run`):
/// garbage over every segment file, over the index's metadata, over the
/// middle of its largest file, and the directory deleted.
#[test]
fn a_corrupted_or_deleted_index_is_rebuilt_at_start_up_with_a_log_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    init_ruche(&data, "Ruche réparée");
    let log = tmp.path().join("node.log");
    let node = RunningNode::start_logged(&data, &log);
    let published = publish_some(&node.http, &operator_token(&data), "solide", 5);
    assert!(node.terminate().success());
    let index = data.join("index");
    let files = |filter: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        std::fs::read_dir(&index)
            .unwrap()
            .flatten()
            .filter(|e| filter(&e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect()
    };
    let is_segment_file = |name: &str| !name.ends_with(".json") && !name.ends_with(".lock");
    assert!(
        !files(&is_segment_file).is_empty(),
        "no segment files in {index:?}"
    );

    type Damage<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let damages: [Damage; 4] = [
        (
            "garbage over every segment file",
            Box::new(|| {
                for path in files(&is_segment_file) {
                    let len = std::fs::metadata(&path).unwrap().len() as usize;
                    std::fs::write(&path, vec![0xA5u8; len.max(1)]).unwrap();
                }
            }),
        ),
        (
            "garbage over meta.json",
            Box::new(|| std::fs::write(index.join("meta.json"), b"\x00\xffnot json").unwrap()),
        ),
        (
            "garbage in the middle of the largest segment file",
            Box::new(|| {
                let largest = files(&is_segment_file)
                    .into_iter()
                    .max_by_key(|p| std::fs::metadata(p).unwrap().len())
                    .unwrap();
                let mut bytes = std::fs::read(&largest).unwrap();
                let (from, to) = (bytes.len() / 4, bytes.len() / 2);
                bytes[from..to].fill(0x5A);
                std::fs::write(&largest, bytes).unwrap();
            }),
        ),
        (
            "the index directory deleted",
            Box::new(|| std::fs::remove_dir_all(&index).unwrap()),
        ),
    ];
    for (what, damage) in damages {
        damage();
        let before = std::fs::read_to_string(&log).unwrap_or_default().len();
        let node = RunningNode::start_logged(&data, &log);
        let (_, status) = get(&format!("{}/api/v1/status", node.http)).unwrap();
        assert!(
            status["index"]["rebuilt_at_start"].is_string(),
            "{what}: the status does not say the index was rebuilt: {}",
            status["index"]
        );
        let (total, found) = searchable(&node.http);
        assert_eq!(total, 5, "{what}: {found:?}");
        for address in &published {
            assert!(found.contains(address), "{what}: {address} not searchable");
        }
        // A word search reads the postings, not only the document count.
        let (_, result) = get(&format!("{}/api/v1/search?q=survivre", node.http)).unwrap();
        assert_eq!(result["total"], 5, "{what}: {result}");
        assert!(node.terminate().success(), "{what}: no clean stop");
        let text = std::fs::read_to_string(&log).unwrap();
        let new = &text[before..];
        assert!(
            new.lines()
                .any(|l| l.contains("rebuilding it from the store")),
            "{what}: no log line about the rebuild in:\n{new}"
        );
        println!("{what}: detected and rebuilt");
    }
}

/// A mounted tmpfs, unmounted on drop (even when the test fails).
struct Mount(PathBuf);

impl Mount {
    /// Mount a tmpfs of `mib` MiB at `at`; why not, if it cannot.
    fn tmpfs(at: &Path, mib: u64) -> Result<Mount, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Mount(at.to_owned()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still holds a file open there: detach it.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Fill the filesystem of `dir` with `filler` until a write fails.
fn fill(filler: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(filler).unwrap();
    let chunk = vec![0x42u8; 64 * 1024];
    let mut written = 0;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(_) => break,
        }
    }
    // The last bytes one at a time: not a single block left.
    while let Ok(1) = file.write(&chunk[..1]) {
        written += 1;
    }
    written
}

/// The node on a full disk (a 48 MiB tmpfs as its data directory): POSTed
/// records, publishes and mirror fetches fail with a clear error (507 and a
/// message that names the disk, a log line), reads go on; once space
/// returns, writes succeed again and nothing acknowledged is lost. Needs
/// root (CI runs as root); elsewhere it says why it cannot run and passes.
#[test]
fn a_full_disk_fails_writes_cleanly_and_the_node_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = match Mount::tmpfs(&tmp.path().join("disk"), 48) {
        Ok(m) => m,
        Err(why) => {
            println!("full disk: skipped, cannot mount a tmpfs here ({why}); CI runs as root");
            return;
        }
    };
    let data = mount.0.join("hub");
    init_ruche(&data, "Ruche à l'étroit");
    open_without_quotas(&data);
    crate::mirror::allow_loopback(&data);
    let forge = tmp.path().join("forge");
    std::fs::create_dir_all(&forge).unwrap();
    let (_runtime, forge_url) = serve_forge(&forge);
    let log = tmp.path().join("node.log");
    let node = RunningNode::start_logged(&data, &log);
    let http = node.http.clone();
    let token = operator_token(&data);
    let key = HubKey::from_seed(&[250; 32]);
    let ingest = |slug: &str, seq: u64, repo: Option<(&str, &str)>| {
        let record = initiative(&key, slug, seq, repo);
        let view = serde_json::to_vec(&record.to_json_view()).unwrap();
        let (status, body) = post(
            &format!("{http}/api/v1/records"),
            "application/json",
            &view,
            None,
        )
        .unwrap();
        (status, body, record.id().to_string())
    };
    let mut acked: Vec<String> = publish_some(&http, &token, "avant", 3);
    let mut acked_ids = Vec::new();
    let seq = essaim_node::unix_now_ms();
    // An initiative whose repository is not on the forge yet (its mirror
    // fails and waits), fetched once the disk is full.
    let head = heavy_repo(&tmp.path().join("later"), "plein", 2 * 1024 * 1024, 7);
    let repo_url = format!("{forge_url}/plein.git");
    let (status, body, id) = ingest("avec-code", seq, Some((&repo_url, &head)));
    assert_eq!(status, 201, "{body}");
    acked.push(body["address"].as_str().unwrap().to_owned());
    acked_ids.push(id);

    // Fill the disk.
    let filler = mount.0.join("filler");
    let filled = fill(&filler);
    println!("full disk: {filled} bytes of filler");

    // Writes: records until the store cannot take more (SQLite may still
    // have room in its journal for a few).
    let mut refused = None;
    for n in 0..2_000u64 {
        let (status, body, id) = ingest(&format!("plein-{n}"), seq + 1 + n, None);
        if (200..300).contains(&status) {
            acked.push(body["address"].as_str().unwrap().to_owned());
            acked_ids.push(id);
            continue;
        }
        refused = Some((status, body));
        break;
    }
    let (status, body) = refused.expect("2,000 records stored on a full disk");
    println!(
        "full disk: {} records acknowledged after filling, then {status} {body}",
        acked_ids.len() - 1
    );
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "disk_full", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("disk"), "{message}");
    // Publishing too.
    let draft = json!({"kind": "initiative", "slug": "refusee", "name": "Refusée",
        "summary": {"fr": "Pas de place."}, "themes": ["citoyennete"],
        "origin": "com:69123", "stage": "emergence"});
    let (status, body) = post(
        &format!("{http}/api/v1/publish"),
        "application/json",
        draft.to_string().as_bytes(),
        Some(&token),
    )
    .unwrap();
    assert_eq!(
        (status, &body["error"]["code"]),
        (507, &json!("disk_full")),
        "{body}"
    );
    // A mirror fetch: the repository appears on the forge, a sync is asked.
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            tmp.path().join("later/plein.git").to_str().unwrap(),
            forge.join("plein.git").to_str().unwrap(),
        ],
    );
    let (status, body) = post(
        &format!("{http}/api/v1/mirrors/sync"),
        "application/json",
        b"{}",
        Some(&token),
    )
    .unwrap();
    assert!((200..300).contains(&status), "{status} {body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text
            .lines()
            .any(|l| l.contains("mirrors: fetch failed: the disk of the data directory is full"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line about the mirror failing for lack of space:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, mirrors) = get(&format!("{http}/api/v1/mirrors")).unwrap();
    assert_ne!(mirrors["mirrors"][0]["state"], "ok", "{mirrors}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("disk") && l.contains("full")),
        "no log line saying the disk is full:\n{text}"
    );
    // Reads go on.
    for path in [
        "/healthz",
        "/api/v1/status",
        "/api/v1/search?q=initiative",
        "/",
    ] {
        let (status, _) = get(&format!("{http}{path}")).unwrap();
        assert_eq!(status, 200, "GET {path} on a full disk");
    }

    // Space returns: writes succeed again, nothing is lost.
    std::fs::remove_file(&filler).unwrap();
    let (status, body, id) = ingest("apres", seq + 5_000, None);
    assert_eq!(status, 201, "{body}");
    acked.push(body["address"].as_str().unwrap().to_owned());
    acked_ids.push(id);
    acked.extend(publish_some(&http, &token, "apres", 2));
    let (status, _) = post(
        &format!("{http}/api/v1/mirrors/sync"),
        "application/json",
        b"{}",
        Some(&token),
    )
    .unwrap();
    assert!((200..300).contains(&status));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, mirrors) = get(&format!("{http}/api/v1/mirrors")).unwrap();
        if mirrors["mirrors"][0]["state"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the mirror did not recover once space returned: {mirrors}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let check = |http: &str| {
        let stored = stored_ids(http);
        for id in &acked_ids {
            assert!(stored.contains(id), "acknowledged record {id} lost");
        }
        let status = wait_indexed(http, Duration::from_secs(30));
        let (total, found) = searchable(http);
        assert_eq!(Some(total), status["store"]["heads"]["initiative"].as_u64());
        for address in &acked {
            assert!(found.contains(address), "{address} not searchable");
        }
    };
    check(&http);
    // And after a restart.
    assert!(node.terminate().success());
    let node = RunningNode::start_logged(&data, &log);
    check(&node.http);
    drop(node);
    drop(mount);
}
