//! Backups: a consistent snapshot of a hub, taken while its node runs, and
//! its restoration on another machine.
//!
//! Only the store and the key cannot be rebuilt (`specs/storage.md`): the
//! search index (and the mirrors) are derived from the store and rebuilt by
//! the next start. A backup directory holds:
//!
//! ```text
//! <backup>/          mode 0700 (it holds the key)
//!   store.sqlite     a copy made with SQLite's online backup API, in one
//!                    step: one read transaction, so one consistent state,
//!                    while the node keeps writing (WAL readers never block)
//!   hub.key          the hub's key, mode 0600
//!   config.toml      the configuration, if there is one
//!   hub-record.json  the hub's signed profile, if there is one
//!   manifest.json    written last: format, version, hub, counts, and the
//!                    size and SHA-256 of every file above
//! ```
//!
//! A restore checks everything before it writes anything: the manifest, each
//! file's size and hash, the key against the manifest's hub, the store's
//! integrity and counts. It writes into an empty (or new) data directory; with
//! `force`, the files it would replace are moved aside, never deleted.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::datadir::{CONFIG_FILE, DataDir, DataDirError, HUB_RECORD_FILE, KEY_FILE};
use crate::node::{INDEX_DIR, RUNNING_FILE, STORE_FILE, TOKEN_FILE};
use crate::store::{Counts, Store, StoreError};

/// File name of the manifest in a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;
/// The files a backup may hold; nothing else is ever read from or written by one.
const FILES: [&str; 4] = [STORE_FILE, KEY_FILE, CONFIG_FILE, HUB_RECORD_FILE];
/// Largest manifest read (it lists four files).
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Why a backup or a restore failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The data directory (its key) is not usable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store could not be read or checked.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// SQLite failed while copying.
    #[error("cannot copy the store {path}: {source}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The target directory holds files already.
    #[error("{path} is not empty ({found}): {advice}")]
    NotEmpty {
        /// The directory.
        path: PathBuf,
        /// Some of what is there.
        found: String,
        /// What to do.
        advice: &'static str,
    },
    /// A node runs on the data directory to restore into.
    #[error("a node is running on {0} (pid in node.json): stop it before restoring over its data")]
    NodeRunning(PathBuf),
    /// The backup is not complete or not what its manifest says.
    #[error("{path}: {reason}; this backup cannot be restored as it is")]
    Invalid {
        /// The backup directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
}

/// The store's counts in a manifest (as `/api/v1/status` shows them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCounts {
    /// Every stored record, all versions.
    pub records: u64,
    /// Current heads per kind.
    pub heads: BTreeMap<String, u64>,
    /// The last change number.
    pub last_change: u64,
}

impl From<Counts> for StoreCounts {
    fn from(c: Counts) -> StoreCounts {
        StoreCounts {
            records: c.records,
            heads: c.heads,
            last_change: c.last_change,
        }
    }
}

/// What a backup holds: `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest's format ([`FORMAT`]).
    pub format: u32,
    /// The version of Essaim that made it.
    pub essaim_version: String,
    /// The hub's id.
    pub hub: String,
    /// When the snapshot was taken, unix seconds.
    pub created: u64,
    /// The store's counts at the snapshot.
    pub store: StoreCounts,
    /// The files, by name.
    pub files: BTreeMap<String, FileEntry>,
}

/// Snapshot the hub of `data` into `dest` (new or empty), while its node
/// may be running. Returns the manifest written.
pub fn backup(data: &DataDir, dest: &Path, now: u64) -> Result<Manifest, BackupError> {
    let key = data.load_key()?;
    let store_path = data.path(STORE_FILE);
    if !store_path.exists() {
        return Err(BackupError::Invalid {
            path: store_path,
            reason: "there is no store to back up (run the node once, or check --data-dir)".into(),
        });
    }
    ensure_empty(
        dest,
        "choose a new directory for each backup (nothing was written)",
    )?;
    fs::create_dir_all(dest).map_err(io("cannot create", dest))?;
    fs::set_permissions(dest, fs::Permissions::from_mode(0o700))
        .map_err(io("cannot set permissions of", dest))?;

    // The store, through a temporary name: a crash leaves no file that
    // looks like a finished copy.
    let tmp = dest.join(format!(".{STORE_FILE}.tmp"));
    let copied = snapshot(&store_path, &tmp);
    let copied = copied.and_then(|()| {
        // Counts of the copy, not of the live store: they describe the snapshot.
        let store = Store::open(&tmp)?;
        let counts = store.counts()?;
        store.checkpoint()?;
        drop(store);
        // A standalone file (rollback journal, not WAL): readable as it is,
        // even read-only; the node switches it back to WAL when it opens it.
        Connection::open(&tmp)
            .and_then(|c| c.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(())))
            .map_err(|source| BackupError::Sqlite {
                path: tmp.clone(),
                source,
            })?;
        Ok(counts)
    });
    let counts = match copied {
        Ok(counts) => counts,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let final_store = dest.join(STORE_FILE);
    fs::rename(&tmp, &final_store).map_err(io("cannot rename into", &final_store))?;

    let mut files = BTreeMap::new();
    files.insert(STORE_FILE.to_owned(), hash_file(&final_store)?);
    for name in [KEY_FILE, CONFIG_FILE, HUB_RECORD_FILE] {
        let from = data.path(name);
        if name != KEY_FILE && !from.exists() {
            continue;
        }
        let mode = if name == KEY_FILE { 0o600 } else { 0o644 };
        files.insert(name.to_owned(), copy_file(&from, &dest.join(name), mode)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        essaim_version: env!("CARGO_PKG_VERSION").to_owned(),
        hub: key.hub_id().to_string(),
        created: now,
        store: counts.into(),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest is plain data");
    crate::datadir::write_atomically(&dest.join(MANIFEST_FILE), format!("{text}\n").as_bytes())?;
    Ok(manifest)
}

/// Copy a live SQLite database with the online backup API, in one step.
fn snapshot(from: &Path, to: &Path) -> Result<(), BackupError> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Sqlite { path, source }
    };
    let source = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err(from))?;
    source
        .busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err(from))?;
    let _ = fs::remove_file(to);
    let mut target = Connection::open(to).map_err(err(to))?;
    {
        let backup = rusqlite::backup::Backup::new(&source, &mut target).map_err(err(to))?;
        // All pages in one step: the copy is made inside one read
        // transaction of the source, so it is one consistent state however
        // much the node writes meanwhile (several steps would restart on
        // every write made through another connection).
        loop {
            match backup.step(-1).map_err(err(from))? {
                rusqlite::backup::StepResult::Done => break,
                // More (cannot happen with -1), Busy, Locked: try again.
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    target.close().map_err(|(_, source)| BackupError::Sqlite {
        path: to.to_owned(),
        source,
    })?;
    fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync", to))
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Where files that were in the data directory were moved (with `force`).
    pub moved_aside: Option<PathBuf>,
}

/// Check the backup in `from` completely, then restore it into `data`.
/// `data` must be new or empty unless `force` (then what it holds is moved
/// into a `pre-restore-<time>` directory inside it). The index is not in a
/// backup: the next start of the node rebuilds it from the store.
pub fn restore(
    from: &Path,
    data: &DataDir,
    force: bool,
    now: u64,
) -> Result<Restored, BackupError> {
    let manifest = verify(from)?;
    let root = data.root();
    if crate::node::running_node(data).is_some() {
        return Err(BackupError::NodeRunning(root.to_owned()));
    }
    let moved_aside = if force {
        move_aside(root, now)?
    } else {
        ensure_empty(
            root,
            "restore into a new data directory (--data-dir), or pass --force to move its files aside",
        )?;
        None
    };
    fs::create_dir_all(root).map_err(io("cannot create", root))?;
    fs::set_permissions(root, fs::Permissions::from_mode(0o700))
        .map_err(io("cannot set permissions of", root))?;
    // The key last: a data directory without a key is not a hub, so an
    // interrupted restore cannot be mistaken for a finished one.
    let mut names: Vec<&String> = manifest.files.keys().collect();
    names.sort_by_key(|n| n.as_str() == KEY_FILE);
    for name in names {
        let expected = &manifest.files[name];
        let mode = if name == KEY_FILE { 0o600 } else { 0o644 };
        let target = data.path(name);
        let tmp = data.path(&format!(".{name}.restore.tmp"));
        let _ = fs::remove_file(&tmp);
        let copied = copy_file(&from.join(name), &tmp, mode)?;
        if &copied != expected {
            let _ = fs::remove_file(&tmp);
            return Err(BackupError::Invalid {
                path: from.join(name),
                reason: "it changed while it was being restored".into(),
            });
        }
        fs::rename(&tmp, &target).map_err(io("cannot rename into", &target))?;
    }
    fs::File::open(root)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", root))?;
    Ok(Restored {
        manifest,
        moved_aside,
    })
}

/// Check a backup directory without writing anything: manifest, sizes and
/// hashes, the key against the hub, the store's integrity and counts.
pub fn verify(from: &Path) -> Result<Manifest, BackupError> {
    let invalid = |path: &Path, reason: String| BackupError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let manifest_path = from.join(MANIFEST_FILE);
    let mut text = String::new();
    fs::File::open(&manifest_path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                invalid(
                    from,
                    format!("no {MANIFEST_FILE}: not a backup made by `essaim backup`, or an unfinished one"),
                )
            } else {
                io("cannot read", &manifest_path)(e)
            }
        })?
        .take(MAX_MANIFEST_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| invalid(&manifest_path, format!("not readable as text: {e}")))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| invalid(&manifest_path, format!("not a valid manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(invalid(
            &manifest_path,
            format!(
                "manifest format {} is not {FORMAT}, the one this version reads (restore with the version that made it: {})",
                manifest.format, manifest.essaim_version
            ),
        ));
    }
    for name in manifest.files.keys() {
        if !FILES.contains(&name.as_str()) {
            return Err(invalid(
                &manifest_path,
                format!("it lists `{name}`, which is not a file of a backup"),
            ));
        }
    }
    for name in [STORE_FILE, KEY_FILE] {
        if !manifest.files.contains_key(name) {
            return Err(invalid(&manifest_path, format!("it does not list {name}")));
        }
    }
    for (name, expected) in &manifest.files {
        let path = from.join(name);
        let meta = fs::symlink_metadata(&path)
            .map_err(|e| invalid(&path, format!("missing or unreadable ({e})")))?;
        if !meta.is_file() {
            return Err(invalid(&path, "not a regular file".into()));
        }
        let found = hash_file(&path)?;
        if found.bytes != expected.bytes {
            return Err(invalid(
                &path,
                format!(
                    "{} bytes where the manifest says {} (truncated or replaced)",
                    found.bytes, expected.bytes
                ),
            ));
        }
        if found.sha256 != expected.sha256 {
            return Err(invalid(
                &path,
                "its SHA-256 is not the manifest's (the file or the manifest was altered)".into(),
            ));
        }
    }
    // The key must be the hub's the manifest names.
    let key_path = from.join(KEY_FILE);
    let mut pem = zeroize::Zeroizing::new(String::new());
    fs::File::open(&key_path)
        .and_then(|f| f.take(64 * 1024).read_to_string(&mut pem))
        .map_err(io("cannot read", &key_path))?;
    let key = essaim_protocol::HubKey::from_pkcs8_pem(&pem)
        .map_err(|e| invalid(&key_path, format!("not a hub key: {e}")))?;
    if key.hub_id().to_string() != manifest.hub {
        return Err(invalid(
            &key_path,
            format!(
                "it is the key of hub {}, the manifest says {}",
                key.hub_id(),
                manifest.hub
            ),
        ));
    }
    // The store: SQLite's own check, then the counts, on a read-only handle.
    let store_path = from.join(STORE_FILE);
    let sqlite = |source| BackupError::Sqlite {
        path: store_path.clone(),
        source,
    };
    let conn = Connection::open_with_flags(&store_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite)?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| invalid(&store_path, format!("not a readable SQLite database ({e})")))?;
    if check != "ok" {
        return Err(invalid(&store_path, format!("damaged: {check}")));
    }
    let (records, last_change): (i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(max(change), 0) FROM records",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| invalid(&store_path, format!("not an Essaim store ({e})")))?;
    if records as u64 != manifest.store.records || last_change as u64 != manifest.store.last_change
    {
        return Err(invalid(
            &store_path,
            format!(
                "it holds {records} records up to change {last_change}, the manifest says {} up to {}",
                manifest.store.records, manifest.store.last_change
            ),
        ));
    }
    Ok(manifest)
}

/// Refuse a directory that exists and is not empty.
fn ensure_empty(dir: &Path, advice: &'static str) -> Result<(), BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("cannot read", dir)(e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    let more = names.len().saturating_sub(4);
    names.truncate(4);
    let mut found = names.join(", ");
    if more > 0 {
        found.push_str(&format!(" and {more} more"));
    }
    Err(BackupError::NotEmpty {
        path: dir.to_owned(),
        found,
        advice,
    })
}

/// Move what a data directory holds into `pre-restore-<now>/` inside it.
fn move_aside(root: &Path, now: u64) -> Result<Option<PathBuf>, BackupError> {
    let entries: Vec<_> = match fs::read_dir(root) {
        Ok(entries) => entries.filter_map(Result::ok).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot read", root)(e)),
    };
    let owned = [
        STORE_FILE,
        "store.sqlite-wal",
        "store.sqlite-shm",
        INDEX_DIR,
        KEY_FILE,
        CONFIG_FILE,
        HUB_RECORD_FILE,
        TOKEN_FILE,
        RUNNING_FILE,
        "mirrors",
    ];
    let to_move: Vec<_> = entries
        .into_iter()
        .filter(|e| owned.contains(&e.file_name().to_string_lossy().as_ref()))
        .collect();
    if to_move.is_empty() {
        return Ok(None);
    }
    let aside = root.join(format!("pre-restore-{now}"));
    fs::create_dir(&aside).map_err(io("cannot create", &aside))?;
    for entry in to_move {
        let target = aside.join(entry.file_name());
        fs::rename(entry.path(), &target).map_err(io("cannot move aside", &entry.path()))?;
    }
    Ok(Some(aside))
}

/// Size and SHA-256 of a file.
fn hash_file(path: &Path) -> Result<FileEntry, BackupError> {
    let mut file = fs::File::open(path).map_err(io("cannot read", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io("cannot read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

/// Copy a file to a new file with `mode`, synced; size and SHA-256 of what
/// was written.
fn copy_file(from: &Path, to: &Path, mode: u32) -> Result<FileEntry, BackupError> {
    let mut input = fs::File::open(from).map_err(io("cannot read", from))?;
    let _ = fs::remove_file(to);
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(to)
        .map_err(io("cannot create", to))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(io("cannot read", from))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output
            .write_all(&buf[..n])
            .map_err(io("cannot write", to))?;
        bytes += n as u64;
    }
    output.sync_all().map_err(io("cannot write", to))?;
    Ok(FileEntry {
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
