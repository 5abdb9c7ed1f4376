//! What the trust policy keeps in the store: the operator's decisions about
//! hubs (follow, block), the records kept aside (quarantine, and the records
//! of blocked hubs, kept so that unblocking re-admits them), and the ids of
//! records refused (so that reconciliation does not fetch them again and
//! again).
//!
//! Records kept aside live in `trust_held`, never in `records`: heads, the
//! index, exports and what the node serves to peers only ever see admitted
//! records. The policy itself (who is admitted) is decided in
//! `crate::trust`; this module only stores and moves rows, each operation
//! in one transaction.

use essaim_protocol::{HubId, SignedRecord};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Inserted, RawRow, Source, Store, StoreError, StoredRecord, collect, raw_row};

/// The schema of the trust tables (one migration).
pub(super) const MIGRATION: &str = "CREATE TABLE trust_hubs (
        hub      TEXT PRIMARY KEY,
        standing TEXT NOT NULL,
        since    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE trust_held (
        id          BLOB PRIMARY KEY,
        payload     BLOB NOT NULL,
        sig         BLOB NOT NULL,
        author      TEXT NOT NULL,
        created     INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        source      TEXT NOT NULL,
        reason      TEXT NOT NULL
    );
    CREATE INDEX trust_held_author ON trust_held(author, reason);
    CREATE TABLE trust_refused (
        id      BLOB PRIMARY KEY,
        author  TEXT NOT NULL,
        created INTEGER NOT NULL,
        reason  TEXT NOT NULL,
        until   INTEGER,
        at      INTEGER NOT NULL
    );
    CREATE INDEX trust_refused_author ON trust_refused(author);
    CREATE TABLE trust_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO trust_meta VALUES ('generation', 0);
    CREATE INDEX records_author_received ON records(author, received_at);";

/// Refused ids remembered at most (the oldest are forgotten first).
const MAX_REFUSED_KEPT: i64 = 100_000;

/// The operator's decision about a hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// Its records are accepted (and so are those of hubs it labels, to the
    /// configured depth, in web-of-trust mode).
    Followed,
    /// Its records are dropped and never relayed.
    Blocked,
}

impl Standing {
    fn code(self) -> &'static str {
        match self {
            Standing::Followed => "follow",
            Standing::Blocked => "block",
        }
    }
}

/// Why a record was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// Its author is blocked.
    Blocked,
    /// Its author sent more records in the last hour than the quota allows.
    HourlyQuota,
    /// Its author has as many records stored as the quota allows.
    TotalQuota,
    /// The quarantine is full (in all, or for this author).
    QuarantineFull,
}

impl Refusal {
    /// The stable code (`blocked`, `hourly-quota`, `total-quota`, `quarantine-full`).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Blocked => "blocked",
            Refusal::HourlyQuota => "hourly-quota",
            Refusal::TotalQuota => "total-quota",
            Refusal::QuarantineFull => "quarantine-full",
        }
    }
}

/// A hub's standing as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StandingRow {
    /// The hub id (`did:key:z6Mk…`).
    pub hub: String,
    /// Followed or blocked.
    pub standing: Standing,
    /// Since when, unix seconds.
    pub since: u64,
}

/// A hub with records kept aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldHub {
    /// The hub id (`did:key:z6Mk…`).
    pub hub: String,
    /// `quarantine` (waiting for a decision) or `blocked`.
    pub reason: String,
    /// How many records.
    pub records: u64,
    /// When the first arrived, unix seconds.
    pub first_received: u64,
    /// When the last arrived, unix seconds.
    pub last_received: u64,
}

/// What the policy decided for one record, for [`Store::insert_judged`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Store it as a version of its address.
    Admit,
    /// Keep it in quarantine.
    Hold,
    /// Refuse it; remember its id until `until` (unix seconds; `None`:
    /// until the policy changes for its author).
    Refuse(Refusal, Option<u64>),
}

/// Reason written in `trust_held` for the quarantine.
pub const HELD_QUARANTINE: &str = "quarantine";
/// Reason written in `trust_held` for records of blocked hubs.
pub const HELD_BLOCKED: &str = "blocked";

impl Store {
    fn bump_generation(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        tx.execute(
            "UPDATE trust_meta SET value = value + 1 WHERE name = 'generation'",
            [],
        )
        .map(|_| ())
    }

    /// A number that changes whenever the trust tables change.
    pub fn trust_generation(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let value: i64 = conn
                .query_row(
                    "SELECT value FROM trust_meta WHERE name = 'generation'",
                    [],
                    |r| r.get(0),
                )
                .map_err(self.err())?;
            Ok(value as u64)
        })
    }

    /// A version of what reconciliation offers: changes whenever a record
    /// is stored or the trust tables change, never comes back to an earlier
    /// value (the generation is in the high bits, the last change below).
    pub fn sync_version(&self) -> Result<u64, StoreError> {
        Ok((self.trust_generation()? << 40) | (self.last_change()? & ((1 << 40) - 1)))
    }

    /// The items this node reconciles: its heads, and the ids it holds
    /// aside or refused, so that peers do not offer (or push) them again
    /// and again. Sorted, without duplicates.
    pub fn sync_items(&self) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        let mut items = self.head_items()?;
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT created, id FROM trust_held UNION SELECT created, id FROM trust_refused",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .map_err(self.err())?;
            for row in rows {
                let (created, id) = row.map_err(self.err())?;
                if let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) {
                    items.push((created.max(0) as u64, id));
                }
            }
            Ok(())
        })?;
        items.sort_unstable();
        items.dedup();
        Ok(items)
    }

    /// The operator's decisions about hubs.
    pub fn standings(&self) -> Result<Vec<StandingRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT hub, standing, since FROM trust_hubs ORDER BY since")
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .map_err(self.err())?;
            let mut out = Vec::new();
            for row in rows {
                let (hub, standing, since) = row.map_err(self.err())?;
                let standing = match standing.as_str() {
                    "block" => Standing::Blocked,
                    _ => Standing::Followed,
                };
                out.push(StandingRow {
                    hub,
                    standing,
                    since: since as u64,
                });
            }
            Ok(out)
        })
    }

    /// Set (or clear, with `None`) the operator's decision about a hub.
    /// Returns whether it changed. Records refused for the hub's sake are
    /// forgotten, so that reconciliation fetches them again.
    pub fn set_standing(
        &self,
        hub: &HubId,
        standing: Option<Standing>,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let hub = hub.to_string();
        let current: Option<String> = tx
            .query_row(
                "SELECT standing FROM trust_hubs WHERE hub = ?1",
                params![hub],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        if current.as_deref() == standing.map(Standing::code) {
            return Ok(false);
        }
        match standing {
            None => tx.execute("DELETE FROM trust_hubs WHERE hub = ?1", params![hub]),
            Some(s) => tx.execute(
                "INSERT INTO trust_hubs (hub, standing, since) VALUES (?1, ?2, ?3)
                 ON CONFLICT (hub) DO UPDATE SET standing = excluded.standing, since = excluded.since",
                params![hub, s.code(), now as i64],
            ),
        }
        .map_err(self.err())?;
        tx.execute("DELETE FROM trust_refused WHERE author = ?1", params![hub])
            .map_err(self.err())?;
        Self::bump_generation(&tx).map_err(self.err())?;
        tx.commit().map_err(self.err())?;
        Ok(true)
    }

    /// An author's stored records: `(all of them, those received after
    /// `since`)`.
    pub fn author_activity(&self, author: &HubId, since: u64) -> Result<(u64, u64), StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(received_at > ?2), 0) FROM records WHERE author = ?1",
                )
                .map_err(self.err())?;
            let (total, recent): (i64, i64) = stmt
                .query_row(params![author.to_string(), since as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(self.err())?;
            Ok((total as u64, recent as u64))
        })
    }

    /// Records in quarantine: `(in all, of this author)`.
    pub fn quarantine_counts(&self, author: &HubId) -> Result<(u64, u64), StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT count(*), coalesce(sum(author = ?1), 0) FROM trust_held WHERE reason = 'quarantine'",
                )
                .map_err(self.err())?;
            let (total, mine): (i64, i64) = stmt
                .query_row(params![author.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(self.err())?;
            Ok((total as u64, mine as u64))
        })
    }

    /// Store a batch as the policy judged it, in one transaction: admitted
    /// records as versions, held ones in quarantine, refused ones as ids to
    /// remember.
    pub fn insert_judged(
        &self,
        records: &[(SignedRecord, Source, Verdict)],
        now: u64,
    ) -> Result<Vec<Inserted>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let mut outcomes = Vec::with_capacity(records.len());
        let mut touched_trust = false;
        for (record, source, verdict) in records {
            let id = record.id();
            let body = record.body();
            let author = body.author().to_string();
            let outcome = match verdict {
                Verdict::Admit => {
                    let outcome = self.insert_in(&tx, record, &source.as_text(), now)?;
                    // Admitted now: no longer refused.
                    let forgotten = tx
                        .execute(
                            "DELETE FROM trust_refused WHERE id = ?1",
                            params![&id.0[..]],
                        )
                        .map_err(self.err())?;
                    touched_trust |= forgotten > 0;
                    outcome
                }
                Verdict::Hold => {
                    let stored: bool = tx
                        .query_row(
                            "SELECT EXISTS (SELECT 1 FROM records WHERE id = ?1)
                                 OR EXISTS (SELECT 1 FROM trust_held WHERE id = ?1)",
                            params![&id.0[..]],
                            |r| r.get(0),
                        )
                        .map_err(self.err())?;
                    if stored {
                        Inserted::Duplicate
                    } else {
                        tx.execute(
                            "INSERT INTO trust_held (id, payload, sig, author, created, received_at, source, reason)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'quarantine')",
                            params![
                                &id.0[..],
                                record.payload(),
                                &record.sig()[..],
                                author,
                                body.created() as i64,
                                now as i64,
                                source.as_text(),
                            ],
                        )
                        .map_err(self.err())?;
                        tx.execute(
                            "DELETE FROM trust_refused WHERE id = ?1",
                            params![&id.0[..]],
                        )
                        .map_err(self.err())?;
                        touched_trust = true;
                        Inserted::Quarantined
                    }
                }
                Verdict::Refuse(refusal, until) => {
                    let stored: bool = tx
                        .query_row(
                            "SELECT EXISTS (SELECT 1 FROM records WHERE id = ?1)",
                            params![&id.0[..]],
                            |r| r.get(0),
                        )
                        .map_err(self.err())?;
                    if stored {
                        Inserted::Duplicate
                    } else {
                        tx.execute(
                            "INSERT INTO trust_refused (id, author, created, reason, until, at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                             ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, until = excluded.until",
                            params![
                                &id.0[..],
                                author,
                                body.created() as i64,
                                refusal.code(),
                                until.map(|u| u as i64),
                                now as i64,
                            ],
                        )
                        .map_err(self.err())?;
                        touched_trust = true;
                        Inserted::Refused(*refusal)
                    }
                }
            };
            outcomes.push(outcome);
        }
        if touched_trust {
            tx.execute(
                "DELETE FROM trust_refused WHERE id IN (SELECT id FROM trust_refused
                     ORDER BY at DESC LIMIT -1 OFFSET ?1)",
                params![MAX_REFUSED_KEPT],
            )
            .map_err(self.err())?;
            Self::bump_generation(&tx).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())?;
        Ok(outcomes)
    }

    /// The hubs with records kept aside, most recent first.
    pub fn held_hubs(&self) -> Result<Vec<HeldHub>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT author, reason, count(*), min(received_at), max(received_at)
                     FROM trust_held GROUP BY author, reason ORDER BY max(received_at) DESC",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(HeldHub {
                        hub: row.get(0)?,
                        reason: row.get(1)?,
                        records: row.get::<_, i64>(2)? as u64,
                        first_received: row.get::<_, i64>(3)? as u64,
                        last_received: row.get::<_, i64>(4)? as u64,
                    })
                })
                .map_err(self.err())?;
            rows.collect::<Result<_, _>>().map_err(self.err())
        })
    }

    /// The records of one hub kept aside (at most `limit`), newest first.
    pub fn held_records(
        &self,
        author: &str,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT 0, id, payload, sig, received_at, source FROM trust_held
                     WHERE author = ?1 ORDER BY created DESC LIMIT ?2",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![author, limit as i64], raw_row)
                .map_err(self.err())?;
            collect(rows, self)
        })
    }

    /// Every author with admitted records.
    pub fn record_authors(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT DISTINCT author FROM records")
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(self.err())?;
            rows.collect::<Result<_, _>>().map_err(self.err())
        })
    }

    /// Move every record of `author` out of the catalogue into `trust_held`
    /// (with `reason`), in one transaction. Returns the records moved (the
    /// caller updates the index).
    pub fn hold_author(&self, author: &str, reason: &str) -> Result<Vec<StoredRecord>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let moved = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {} FROM records r WHERE r.author = ?1",
                    super::COLUMNS
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![author], raw_row)
                .map_err(self.err())?;
            collect(rows, self)?
        };
        if moved.is_empty() {
            return Ok(moved);
        }
        tx.execute(
            "INSERT OR IGNORE INTO trust_held (id, payload, sig, author, created, received_at, source, reason)
             SELECT id, payload, sig, author, created, received_at, source, ?2 FROM records WHERE author = ?1",
            params![author, reason],
        )
        .map_err(self.err())?;
        tx.execute("DELETE FROM heads WHERE author = ?1", params![author])
            .map_err(self.err())?;
        tx.execute("DELETE FROM records WHERE author = ?1", params![author])
            .map_err(self.err())?;
        Self::bump_generation(&tx).map_err(self.err())?;
        tx.commit().map_err(self.err())?;
        Ok(moved)
    }

    /// Admit every record of `author` kept aside: each becomes a version of
    /// its address (with a new change number, so the index picks it up).
    /// Returns how many were released.
    pub fn release_author(&self, author: &str) -> Result<usize, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let held: Vec<(RawRow, String)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT 0, id, payload, sig, received_at, source, source FROM trust_held
                     WHERE author = ?1 ORDER BY created",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![author], |row| Ok((raw_row(row)?, row.get(6)?)))
                .map_err(self.err())?;
            rows.collect::<Result<_, _>>().map_err(self.err())?
        };
        let count = held.len();
        for (raw, source) in held {
            let stored = super::decode_row(raw)?;
            self.insert_in(&tx, &stored.record, &source, stored.received_at)?;
        }
        tx.execute("DELETE FROM trust_held WHERE author = ?1", params![author])
            .map_err(self.err())?;
        Self::bump_generation(&tx).map_err(self.err())?;
        tx.commit().map_err(self.err())?;
        Ok(count)
    }

    /// Change why an author's records are kept aside (`quarantine` or
    /// `blocked`). Returns how many rows changed.
    pub fn set_held_reason(&self, author: &str, reason: &str) -> Result<usize, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let n = tx
            .execute(
                "UPDATE trust_held SET reason = ?2 WHERE author = ?1 AND reason != ?2",
                params![author, reason],
            )
            .map_err(self.err())?;
        if n > 0 {
            Self::bump_generation(&tx).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())?;
        Ok(n)
    }

    /// Forget refused ids whose time is over (quotas are per hour), and,
    /// with `quotas`, every id refused for a quota (the quotas may have
    /// changed). Returns how many were forgotten.
    pub fn expire_refused(&self, now: u64, quotas: bool) -> Result<usize, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction().map_err(self.err())?;
        let mut n = tx
            .execute(
                "DELETE FROM trust_refused WHERE until IS NOT NULL AND until <= ?1",
                params![now as i64],
            )
            .map_err(self.err())?;
        if quotas {
            n += tx
                .execute(
                    "DELETE FROM trust_refused WHERE reason IN ('hourly-quota', 'total-quota', 'quarantine-full')",
                    [],
                )
                .map_err(self.err())?;
        }
        if n > 0 {
            Self::bump_generation(&tx).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())?;
        Ok(n)
    }

    /// Records refused per author and reason: `(author, reason, count)`.
    pub fn refused_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT author, reason, count(*) FROM trust_refused GROUP BY author, reason",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
                })
                .map_err(self.err())?;
            rows.collect::<Result<_, _>>().map_err(self.err())
        })
    }

    /// Current endorsement heads whose subject is a hub (labels of hubs
    /// make the web of trust).
    pub fn hub_endorsement_heads(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {} FROM heads h JOIN records r ON r.change = h.change
                     WHERE r.kind = 'endorsement' AND r.subject IS NOT NULL
                       AND instr(r.subject, '/') = 0",
                    super::COLUMNS
                ))
                .map_err(self.err())?;
            let rows = stmt.query_map([], raw_row).map_err(self.err())?;
            collect(rows, self)
        })
    }
}
