//! What federation keeps in the store: the head set as reconciliation items,
//! and the peers this node has met (their addresses, to reconnect after a
//! restart, and how their last synchronisation went).

use rusqlite::params;

use super::{Store, StoreError};

/// One peer as remembered in the store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PeerRow {
    /// The libp2p peer id (`12D3Koo…`).
    pub peer_id: String,
    /// The addresses it was reached at or announced, newest first.
    pub addrs: Vec<String>,
    /// Its hub id, when its key is a hub key (`did:key:z6Mk…`).
    pub hub: Option<String>,
    /// When it was first seen, unix seconds.
    pub first_seen: u64,
    /// When it was last connected, unix seconds.
    pub last_seen: u64,
    /// When the last synchronisation with it ended, unix seconds.
    pub last_sync: Option<u64>,
    /// How the last synchronisation ended (`ok …` or the error).
    pub last_sync_result: Option<String>,
}

/// Peers kept at most: the least recently seen are forgotten first.
pub(super) const MAX_PEERS_KEPT: usize = 1_000;
/// Addresses kept per peer at most.
pub(super) const MAX_ADDRS_PER_PEER: usize = 8;

impl Store {
    /// Every current head as a reconciliation item: `(created, id)`, sorted.
    /// Retractions are heads like any other, so they are included.
    pub fn head_items(&self) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT r.created, r.id FROM heads h JOIN records r ON r.change = h.change",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .map_err(self.err())?;
            let mut items = Vec::new();
            for row in rows {
                let (created, id) = row.map_err(self.err())?;
                let id: [u8; 32] = id.as_slice().try_into().map_err(|_| StoreError::Damaged {
                    id: hex_of(&id),
                    reason: "a record id is not 32 bytes".into(),
                })?;
                items.push((created.max(0) as u64, id));
            }
            items.sort_unstable();
            Ok(items)
        })
    }

    /// Remember that `peer` was connected now, at `addrs`.
    pub fn peer_seen(
        &self,
        peer: &str,
        hub: Option<&str>,
        addrs: &[String],
        now: u64,
    ) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        let old: Option<String> = conn
            .query_row(
                "SELECT addrs FROM peers WHERE peer_id = ?1",
                params![peer],
                |r| r.get(0),
            )
            .ok();
        let mut merged: Vec<String> = addrs.to_vec();
        if let Some(old) = old.and_then(|o| serde_json::from_str::<Vec<String>>(&o).ok()) {
            merged.extend(old);
        }
        let mut seen = std::collections::HashSet::new();
        merged.retain(|a| seen.insert(a.clone()));
        merged.truncate(MAX_ADDRS_PER_PEER);
        let addrs = serde_json::to_string(&merged).unwrap_or_else(|_| "[]".into());
        conn.execute(
            "INSERT INTO peers (peer_id, addrs, hub, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (peer_id) DO UPDATE SET addrs = excluded.addrs,
                 hub = coalesce(excluded.hub, peers.hub), last_seen = excluded.last_seen",
            params![peer, addrs, hub, now as i64],
        )
        .map_err(self.err())?;
        conn.execute(
            "DELETE FROM peers WHERE peer_id NOT IN
                 (SELECT peer_id FROM peers ORDER BY last_seen DESC LIMIT ?1)",
            params![MAX_PEERS_KEPT as i64],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Remember how the last synchronisation with `peer` ended.
    pub fn peer_synced(&self, peer: &str, result: &str, now: u64) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        conn.execute(
            "UPDATE peers SET last_sync = ?2, last_sync_result = ?3 WHERE peer_id = ?1",
            params![peer, now as i64, result],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Every remembered peer, most recently seen first.
    pub fn peers(&self) -> Result<Vec<PeerRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT peer_id, addrs, hub, first_seen, last_seen, last_sync, last_sync_result
                     FROM peers ORDER BY last_seen DESC",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map([], |row| {
                    let addrs: String = row.get(1)?;
                    Ok(PeerRow {
                        peer_id: row.get(0)?,
                        addrs: serde_json::from_str(&addrs).unwrap_or_default(),
                        hub: row.get(2)?,
                        first_seen: row.get::<_, i64>(3)? as u64,
                        last_seen: row.get::<_, i64>(4)? as u64,
                        last_sync: row.get::<_, Option<i64>>(5)?.map(|t| t as u64),
                        last_sync_result: row.get(6)?,
                    })
                })
                .map_err(self.err())?;
            rows.collect::<Result<_, _>>().map_err(self.err())
        })
    }
}

fn poisoned() -> StoreError {
    StoreError::Damaged {
        id: String::new(),
        reason: "a previous write panicked".into(),
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory written by a version 1 Essaim (no peers table) opens,
    /// migrates to version 2 and keeps its records.
    #[test]
    fn a_version_1_store_migrates_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "BEGIN; {}; PRAGMA user_version = 1; COMMIT;",
                super::super::MIGRATIONS[0]
            ))
            .unwrap();
            conn.execute(
                "INSERT INTO records (id, payload, sig, author, kind, addr_kind, slug, seq,
                     created, subject, received_at, source)
                 VALUES (x'00', x'00', x'00', 'a', 'hub', 'hub', 'profile', 1, 1, NULL, 1, 'import')",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert!(store.peers().unwrap().is_empty());
        store
            .peer_seen("12D3KooW", None, &["/ip4/127.0.0.1/tcp/1".into()], 5)
            .unwrap();
        store.peer_synced("12D3KooW", "ok", 6).unwrap();
        let peers = store.peers().unwrap();
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].last_sync_result.as_deref(), Some("ok"));
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, super::super::MIGRATIONS.len() as i64);
        let records: i64 = conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap();
        assert_eq!(records, 1);
    }
}
