//! The store: SQLite, the node's only source of truth.
//!
//! Every signed record is kept exactly as received (payload and signature),
//! with every version at an address (history); `heads` points at the current
//! version of each address under last-writer-wins (higher `seq`, then larger
//! id). A retraction is a record like any other and becomes the head of the
//! address it withdraws.
//!
//! Durability: WAL journal with `synchronous = FULL`, so a transaction is on
//! disk when its commit returns; a record is acknowledged (to a client or a
//! peer) only after its transaction committed, so it survives `kill -9` and
//! power loss. Inserts are grouped: one transaction, one fsync, for a whole
//! batch.
//!
//! Every record has a `change` number (its row id, increasing in order of
//! arrival). Derived data (the search index) remembers the last change it
//! applied — its watermark — and catches up from there after a crash.
//!
//! The store is synchronous; the node calls it from blocking threads, never
//! from the async runtime's workers. Writes go through one connection behind
//! a mutex; reads use a small pool of read-only connections, which WAL lets
//! run beside the writer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use essaim_protocol::{Address, RecordId, SignedRecord};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

mod federation;
mod trust;
pub use federation::PeerRow;
mod mirrors;
pub use mirrors::{Attempt, MirrorRow, MirrorState};
pub use trust::{HELD_BLOCKED, HELD_QUARANTINE, HeldHub, Refusal, Standing, StandingRow, Verdict};

/// Versioned schema migrations: index `i` brings the schema from version `i`
/// to `i + 1`. Never edit a released migration; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: records, heads.
    "CREATE TABLE records (
        change      INTEGER PRIMARY KEY AUTOINCREMENT,
        id          BLOB NOT NULL UNIQUE,
        payload     BLOB NOT NULL,
        sig         BLOB NOT NULL,
        author      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        addr_kind   TEXT NOT NULL,
        slug        TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        created     INTEGER NOT NULL,
        subject     TEXT,
        received_at INTEGER NOT NULL,
        source      TEXT NOT NULL
    );
    CREATE INDEX records_address ON records(author, addr_kind, slug);
    CREATE INDEX records_subject ON records(subject) WHERE subject IS NOT NULL;
    CREATE TABLE heads (
        author    TEXT NOT NULL,
        addr_kind TEXT NOT NULL,
        slug      TEXT NOT NULL,
        change    INTEGER NOT NULL REFERENCES records(change),
        PRIMARY KEY (author, addr_kind, slug)
    ) WITHOUT ROWID;
    CREATE INDEX heads_change ON heads(change);",
    // 2: peers met through federation (see `store/federation.rs`).
    "CREATE TABLE peers (
        peer_id          TEXT PRIMARY KEY,
        addrs            TEXT NOT NULL DEFAULT '[]',
        hub              TEXT,
        first_seen       INTEGER NOT NULL,
        last_seen        INTEGER NOT NULL,
        last_sync        INTEGER,
        last_sync_result TEXT
    ) WITHOUT ROWID;",
    // 3: mirrors of initiatives' repositories (see `store/mirrors.rs`).
    "CREATE TABLE mirrors (
        hub          TEXT NOT NULL,
        slug         TEXT NOT NULL,
        repo         TEXT NOT NULL,
        url          TEXT NOT NULL,
        pinned       TEXT,
        state        TEXT NOT NULL,
        source       TEXT,
        origin_ok    INTEGER,
        last_attempt INTEGER,
        last_success INTEGER,
        head         TEXT,
        size         INTEGER NOT NULL DEFAULT 0,
        error        TEXT,
        pin_ok       INTEGER,
        failures     INTEGER NOT NULL DEFAULT 0,
        docs         TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (hub, slug, repo)
    ) WITHOUT ROWID;",
    // 4: the trust policy (see `store/trust.rs`).
    trust::MIGRATION,
];

/// Why the store could not do what was asked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, permissions, corruption…).
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Essaim.
    #[error(
        "store {path} has schema version {found}, newer than this Essaim ({known}): upgrade Essaim"
    )]
    TooNew {
        /// The database file.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A stored record no longer decodes (the file was altered outside Essaim).
    #[error(
        "record {id} in the store does not decode ({reason}): the store was altered; restore a backup"
    )]
    Damaged {
        /// The record id.
        id: String,
        /// Why.
        reason: String,
    },
}

impl StoreError {
    /// Whether SQLite failed because the disk is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Sqlite { source, .. } => {
                source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
            }
            _ => false,
        }
    }
}

/// Where a record came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Signed by this node for its operator (`essaim publish`, `/api/v1/publish`).
    Publish,
    /// Posted already signed to `/api/v1/records`.
    Http,
    /// Imported from a file.
    Import,
    /// Received from a peer (libp2p peer id).
    Peer(String),
}

impl Source {
    /// How the store writes it (`publish`, `http`, `import`, `peer:<id>`).
    pub fn as_text(&self) -> String {
        match self {
            Source::Publish => "publish".into(),
            Source::Http => "http".into(),
            Source::Import => "import".into(),
            Source::Peer(peer) => format!("peer:{peer}"),
        }
    }
}

/// What inserting a record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// New, and now the head of its address.
    Head {
        /// Its change number.
        change: u64,
    },
    /// New, but an older version than the head (kept as history).
    History {
        /// Its change number.
        change: u64,
    },
    /// Already stored (or already waiting in quarantine).
    Duplicate,
    /// Kept aside by the trust policy: stored in quarantine, not indexed,
    /// not relayed, until the operator follows (or blocks) its hub.
    Quarantined,
    /// Refused by the trust policy (not stored).
    Refused(Refusal),
}

impl Inserted {
    /// Whether the record is newly stored as a version (head or history):
    /// what is indexed and relayed.
    pub fn is_new(&self) -> bool {
        matches!(self, Inserted::Head { .. } | Inserted::History { .. })
    }
}

/// A record as stored, with where it came from.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    /// The record.
    pub record: SignedRecord,
    /// Its change number.
    pub change: u64,
    /// When this node received it, unix seconds.
    pub received_at: u64,
    /// Where it came from (`publish`, `http`, `import`, `peer:<id>`).
    pub source: String,
}

/// Counts for status pages.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Every stored record, all versions.
    pub records: u64,
    /// Current heads per kind (`hub`, `initiative`, `endorsement`, `retraction`).
    pub heads: std::collections::BTreeMap<String, u64>,
    /// The last change number.
    pub last_change: u64,
}

/// The SQLite store of a node.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Open (or create) the store at `path`, migrating its schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let err = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        let writer = Connection::open(path).map_err(err)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(err)?;
        writer
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                true,
            )
            .map_err(err)?;
        migrate(&writer, &shown)?;
        Ok(Store {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Run `f` with a read connection from the pool.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .readers
            .lock()
            .map(|mut pool| pool.pop())
            .ok()
            .flatten();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(self.err())?;
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(self.err())?;
                // Keep cached statements prepared when their bindings change
                // (without it, this SQLite re-prepares them on every call).
                conn.set_db_config(
                    rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                    true,
                )
                .map_err(self.err())?;
                conn
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 8
        {
            pool.push(conn);
        }
        result
    }

    /// Insert a batch of verified records in one transaction (one fsync), and
    /// update the heads. The records must have been verified (and accepted by
    /// the trust policy) by the caller.
    pub fn insert_batch(
        &self,
        records: &[(SignedRecord, Source)],
        received_at: u64,
    ) -> Result<Vec<Inserted>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let mut outcomes = Vec::with_capacity(records.len());
        for (record, source) in records {
            outcomes.push(self.insert_in(&tx, record, &source.as_text(), received_at)?);
        }
        tx.commit().map_err(self.err())?;
        Ok(outcomes)
    }

    /// The writer connection.
    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.writer.lock().map_err(|_| StoreError::Damaged {
            id: String::new(),
            reason: "a previous write panicked".into(),
        })
    }

    /// Insert one record in the writer's transaction `tx` and move its
    /// address's head if it wins (last writer wins).
    fn insert_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        record: &SignedRecord,
        source: &str,
        received_at: u64,
    ) -> Result<Inserted, StoreError> {
        let mut exists = tx
            .prepare_cached("SELECT 1 FROM records WHERE id = ?1")
            .map_err(self.err())?;
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO records (id, payload, sig, author, kind, addr_kind, slug, seq,
                     created, subject, received_at, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(self.err())?;
        let mut head = tx
            .prepare_cached(
                "SELECT r.seq, r.id FROM heads h JOIN records r ON r.change = h.change
                 WHERE h.author = ?1 AND h.addr_kind = ?2 AND h.slug = ?3",
            )
            .map_err(self.err())?;
        let mut set_head = tx
            .prepare_cached(
                "INSERT INTO heads (author, addr_kind, slug, change) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (author, addr_kind, slug) DO UPDATE SET change = excluded.change",
            )
            .map_err(self.err())?;
        let id = record.id();
        if exists.exists(params![&id.0[..]]).map_err(self.err())? {
            return Ok(Inserted::Duplicate);
        }
        let body = record.body();
        let address = record.address();
        let author = address.author.to_string();
        let subject = match body {
            essaim_protocol::Body::Endorsement(e) => Some(e.subject.to_string()),
            _ => None,
        };
        insert
            .execute(params![
                &id.0[..],
                record.payload(),
                &record.sig()[..],
                author,
                body.kind().code(),
                address.kind.code(),
                address.slug.as_str(),
                body.seq() as i64,
                body.created() as i64,
                subject,
                received_at as i64,
                source,
            ])
            .map_err(self.err())?;
        let change = tx.last_insert_rowid() as u64;
        let current: Option<(i64, Vec<u8>)> = head
            .query_row(
                params![author, address.kind.code(), address.slug.as_str()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(self.err())?;
        let wins = match current {
            None => true,
            Some((seq, head_id)) => (body.seq(), &id.0[..]) > (seq as u64, head_id.as_slice()),
        };
        if wins {
            set_head
                .execute(params![
                    author,
                    address.kind.code(),
                    address.slug.as_str(),
                    change as i64
                ])
                .map_err(self.err())?;
            Ok(Inserted::Head { change })
        } else {
            Ok(Inserted::History { change })
        }
    }

    /// The head record at an address, if any (it may be a retraction).
    pub fn head(&self, address: &Address) -> Result<Option<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM heads h JOIN records r ON r.change = h.change
                     WHERE h.author = ?1 AND h.addr_kind = ?2 AND h.slug = ?3"
                ))
                .map_err(self.err())?;
            let row = stmt
                .query_row(
                    params![
                        address.author.to_string(),
                        address.kind.code(),
                        address.slug.as_str()
                    ],
                    raw_row,
                )
                .optional()
                .map_err(self.err())?;
            row.map(decode_row).transpose()
        })
    }

    /// Every version at an address, oldest first in last-writer-wins order.
    pub fn history(&self, address: &Address) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM records r
                     WHERE r.author = ?1 AND r.addr_kind = ?2 AND r.slug = ?3
                     ORDER BY r.seq, r.id"
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(
                    params![
                        address.author.to_string(),
                        address.kind.code(),
                        address.slug.as_str()
                    ],
                    raw_row,
                )
                .map_err(self.err())?;
            collect(rows, self)
        })
    }

    /// A record by id.
    pub fn get(&self, id: &RecordId) -> Result<Option<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM records r WHERE r.id = ?1"))
                .map_err(self.err())?;
            let row = stmt
                .query_row(params![&id.0[..]], raw_row)
                .optional()
                .map_err(self.err())?;
            row.map(decode_row).transpose()
        })
    }

    /// Records with a change number above `since`, in order, at most `limit`
    /// (all versions: what an export or a peer catching up needs).
    pub fn records_since(&self, since: u64, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM records r WHERE r.change > ?1 ORDER BY r.change LIMIT ?2"
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![since as i64, limit as i64], raw_row)
                .map_err(self.err())?;
            collect(rows, self)
        })
    }

    /// Heads whose record changed after `since`, in change order, at most
    /// `limit`: what the indexer applies to catch up to the store.
    pub fn heads_since(&self, since: u64, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM heads h JOIN records r ON r.change = h.change
                     WHERE h.change > ?1 ORDER BY h.change LIMIT ?2"
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![since as i64, limit as i64], raw_row)
                .map_err(self.err())?;
            collect(rows, self)
        })
    }

    /// Current heads of one kind of address (`hub`, `initiative`,
    /// `endorsement`), optionally of one author, whose change is in
    /// `since < change <= until`, in change order, at most `limit`.
    pub fn heads_of_kind(
        &self,
        addr_kind: essaim_protocol::Kind,
        author: Option<&essaim_protocol::HubId>,
        since: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM heads h JOIN records r ON r.change = h.change
                     WHERE h.addr_kind = ?1 AND (?2 IS NULL OR h.author = ?2) AND h.change > ?3
                       AND h.change <= ?4
                     ORDER BY h.change LIMIT ?5"
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(
                    params![
                        addr_kind.code(),
                        author.map(|a| a.to_string()),
                        since as i64,
                        until.min(i64::MAX as u64) as i64,
                        limit as i64
                    ],
                    raw_row,
                )
                .map_err(self.err())?;
            collect(rows, self)
        })
    }

    /// The endorsements whose head is about `subject` (an initiative
    /// address or a hub id), revoked ones included.
    pub fn endorsements_of(&self, subject: &str) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM records r JOIN heads h ON h.change = r.change
                     WHERE r.subject = ?1 AND r.kind = 'endorsement' ORDER BY r.created"
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![subject], raw_row)
                .map_err(self.err())?;
            collect(rows, self)
        })
    }

    /// The last change number (0 for an empty store).
    pub fn last_change(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let last: i64 = conn
                .query_row("SELECT coalesce(max(change), 0) FROM records", [], |r| {
                    r.get(0)
                })
                .map_err(self.err())?;
            Ok(last as u64)
        })
    }

    /// Record and head counts.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        self.read(|conn| {
            let records: i64 = conn
                .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
                .map_err(self.err())?;
            let last_change: i64 = conn
                .query_row("SELECT coalesce(max(change), 0) FROM records", [], |r| {
                    r.get(0)
                })
                .map_err(self.err())?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT r.kind, count(*) FROM heads h JOIN records r ON r.change = h.change
                     GROUP BY r.kind",
                )
                .map_err(self.err())?;
            let heads = stmt
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
                })
                .map_err(self.err())?
                .collect::<Result<_, _>>()
                .map_err(self.err())?;
            Ok(Counts {
                records: records as u64,
                heads,
                last_change: last_change as u64,
            })
        })
    }

    /// What `/metrics` reads at each scrape, in one query over narrow
    /// indexes and tables (no payload is read): `(what, kind or state,
    /// count)` for `records` and `heads` by address kind, `quarantine`, and
    /// `mirrors` by state.
    pub fn gauges(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT 'records', addr_kind, count(*) FROM records GROUP BY addr_kind
                     UNION ALL SELECT 'heads', addr_kind, count(*) FROM heads GROUP BY addr_kind
                     UNION ALL SELECT 'quarantine', '', count(*) FROM trust_held
                         WHERE reason = 'quarantine'
                     UNION ALL SELECT 'mirrors', state, count(*) FROM mirrors GROUP BY state",
                )
                .map_err(self.err())?;
            stmt.query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? as u64))
            })
            .map_err(self.err())?
            .collect::<Result<_, _>>()
            .map_err(self.err())
        })
    }

    /// Checkpoint the WAL into the database file (at shutdown).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.writer()?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(self.err())
    }
}

const COLUMNS: &str = "r.change, r.id, r.payload, r.sig, r.received_at, r.source";

type RawRow = (i64, Vec<u8>, Vec<u8>, Vec<u8>, i64, String);

fn raw_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn decode_row(
    (change, id, payload, sig, received_at, source): RawRow,
) -> Result<StoredRecord, StoreError> {
    let damaged = |reason: String| StoreError::Damaged {
        id: id.iter().map(|b| format!("{b:02x}")).collect(),
        reason,
    };
    let record = SignedRecord::from_store(payload, &sig).map_err(|e| damaged(e.to_string()))?;
    if record.id().0[..] != id[..] {
        return Err(damaged("its id is not the hash of its payload".into()));
    }
    Ok(StoredRecord {
        record,
        change: change as u64,
        received_at: received_at as u64,
        source,
    })
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<RawRow>>,
    store: &Store,
) -> Result<Vec<StoredRecord>, StoreError> {
    rows.map(|row| row.map_err(store.err()).and_then(decode_row))
        .collect()
}

fn migrate(conn: &Connection, path: &str) -> Result<(), StoreError> {
    let err = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            known,
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {}; COMMIT;",
            step + 1
        ))
        .map_err(err)?;
    }
    Ok(())
}
