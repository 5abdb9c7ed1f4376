//! What the mirror worker keeps in the store: one row per repository of an
//! initiative head (hub, slug, repository name), with where it is fetched
//! from and how the last attempts went. The mirrors themselves are bare
//! repositories under the data directory (see `specs/mirrors.md`).

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// The state of one mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorState {
    /// Known, never fetched yet.
    Pending,
    /// The last attempt succeeded.
    Ok,
    /// The last attempt failed; retried with backoff.
    Failed,
    /// Larger than `mirror.max_size_mib`: not retried until the record changes.
    TooLarge,
    /// The URL is refused by the policy: not retried until the record changes.
    Refused,
}

impl MirrorState {
    fn code(self) -> &'static str {
        match self {
            MirrorState::Pending => "pending",
            MirrorState::Ok => "ok",
            MirrorState::Failed => "failed",
            MirrorState::TooLarge => "too_large",
            MirrorState::Refused => "refused",
        }
    }

    fn from_code(code: &str) -> MirrorState {
        match code {
            "ok" => MirrorState::Ok,
            "failed" => MirrorState::Failed,
            "too_large" => MirrorState::TooLarge,
            "refused" => MirrorState::Refused,
            _ => MirrorState::Pending,
        }
    }
}

/// One mirror as remembered in the store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MirrorRow {
    /// The initiative's hub, short form (`z6Mk…`).
    pub hub: String,
    /// The initiative's slug.
    pub slug: String,
    /// The repository's name within the initiative.
    pub repo: String,
    /// The origin URL from the record.
    pub url: String,
    /// The commit the record pins, if any.
    pub pinned: Option<String>,
    /// The state.
    pub state: MirrorState,
    /// Where the last successful fetch came from (the origin or a hub's `/git/`).
    pub source: Option<String>,
    /// Whether the origin answered at the last attempt (`None`: not tried).
    pub origin_ok: Option<bool>,
    /// Last attempt, unix seconds.
    pub last_attempt: Option<u64>,
    /// Last success, unix seconds.
    pub last_success: Option<u64>,
    /// The commit HEAD points at.
    pub head: Option<String>,
    /// Bytes on disk.
    pub size: u64,
    /// The last error (or refusal), if the last attempt failed.
    pub error: Option<String>,
    /// Whether the refs contain the pinned commit (`None`: nothing pinned or not fetched).
    pub pin_ok: Option<bool>,
    /// Failures in a row (for the backoff).
    pub failures: u32,
}

/// How an attempt ended, to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The new state.
    pub state: MirrorState,
    /// Where it was fetched from, on success.
    pub source: Option<String>,
    /// Whether the origin answered.
    pub origin_ok: Option<bool>,
    /// When, unix seconds.
    pub at: u64,
    /// HEAD's commit, on success.
    pub head: Option<String>,
    /// Bytes on disk.
    pub size: u64,
    /// The error, on failure.
    pub error: Option<String>,
    /// Whether the pinned commit is in the refs.
    pub pin_ok: Option<bool>,
}

const COLUMNS: &str = "hub, slug, repo, url, pinned, state, source, origin_ok, last_attempt,
    last_success, head, size, error, pin_ok, failures";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MirrorRow> {
    let opt_u64 = |i| {
        r.get::<_, Option<i64>>(i)
            .map(|v| v.map(|v| v.max(0) as u64))
    };
    Ok(MirrorRow {
        hub: r.get(0)?,
        slug: r.get(1)?,
        repo: r.get(2)?,
        url: r.get(3)?,
        pinned: r.get(4)?,
        state: MirrorState::from_code(&r.get::<_, String>(5)?),
        source: r.get(6)?,
        origin_ok: r.get(7)?,
        last_attempt: opt_u64(8)?,
        last_success: opt_u64(9)?,
        head: r.get(10)?,
        size: r.get::<_, i64>(11)?.max(0) as u64,
        error: r.get(12)?,
        pin_ok: r.get(13)?,
        failures: r.get::<_, i64>(14)?.clamp(0, u32::MAX as i64) as u32,
    })
}

impl Store {
    /// Make sure a mirror row exists for this repository with this URL and
    /// pin. Returns `true` when the row is new or its URL or pin changed
    /// (the mirror is then due at once and its back-off is reset; whether
    /// the pinned commit is there is unknown until the next fetch).
    pub fn mirror_upsert(
        &self,
        hub: &str,
        slug: &str,
        repo: &str,
        url: &str,
        pinned: Option<&str>,
    ) -> Result<bool, StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        let current: Option<(String, Option<String>)> = conn
            .query_row(
                "SELECT url, pinned FROM mirrors WHERE hub = ?1 AND slug = ?2 AND repo = ?3",
                params![hub, slug, repo],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())?;
        match current {
            Some((u, p)) if u == url && p.as_deref() == pinned => Ok(false),
            Some(_) => {
                conn.execute(
                    "UPDATE mirrors SET url = ?4, pinned = ?5, failures = 0, pin_ok = NULL,
                         state = CASE WHEN state IN ('too_large', 'refused') THEN 'pending'
                                      ELSE state END
                     WHERE hub = ?1 AND slug = ?2 AND repo = ?3",
                    params![hub, slug, repo, url, pinned],
                )
                .map_err(self.err())?;
                Ok(true)
            }
            None => {
                conn.execute(
                    "INSERT INTO mirrors (hub, slug, repo, url, pinned, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
                    params![hub, slug, repo, url, pinned],
                )
                .map_err(self.err())?;
                Ok(true)
            }
        }
    }

    /// Record how an attempt ended.
    pub fn mirror_attempt(
        &self,
        hub: &str,
        slug: &str,
        repo: &str,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        let ok = attempt.state == MirrorState::Ok;
        conn.execute(
            "UPDATE mirrors SET state = ?4, origin_ok = ?5, last_attempt = ?6,
                 source = CASE WHEN ?7 THEN ?8 ELSE source END,
                 last_success = CASE WHEN ?7 THEN ?6 ELSE last_success END,
                 head = CASE WHEN ?7 THEN ?9 ELSE head END,
                 size = ?10, error = ?11,
                 pin_ok = CASE WHEN ?7 THEN ?12 ELSE pin_ok END,
                 failures = CASE WHEN ?7 THEN 0 ELSE failures + 1 END
             WHERE hub = ?1 AND slug = ?2 AND repo = ?3",
            params![
                hub,
                slug,
                repo,
                attempt.state.code(),
                attempt.origin_ok,
                attempt.at as i64,
                ok,
                attempt.source,
                attempt.head,
                attempt.size.min(i64::MAX as u64) as i64,
                attempt.error,
                attempt.pin_ok,
            ],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// Keep the documentation text (README, `docs/*.md`) of a mirror for the
    /// search index.
    pub fn mirror_set_docs(
        &self,
        hub: &str,
        slug: &str,
        repo: &str,
        docs: &str,
    ) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        conn.execute(
            "UPDATE mirrors SET docs = ?4 WHERE hub = ?1 AND slug = ?2 AND repo = ?3",
            params![hub, slug, repo, docs],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// The documentation text of an initiative's mirrors, at most `max` bytes.
    pub fn mirror_docs(&self, hub: &str, slug: &str, max: usize) -> Result<String, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT docs FROM mirrors WHERE hub = ?1 AND slug = ?2 ORDER BY repo",
                )
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![hub, slug], |r| r.get::<_, String>(0))
                .map_err(self.err())?;
            let mut text = String::new();
            for docs in rows {
                let docs = docs.map_err(self.err())?;
                let room = max.saturating_sub(text.len());
                let mut cut = docs.len().min(room);
                while !docs.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.push_str(&docs[..cut]);
                text.push('\n');
            }
            Ok(text)
        })
    }

    /// Forget a mirror (its repository left the record, or the initiative
    /// was retracted).
    pub fn mirror_forget(&self, hub: &str, slug: &str, repo: &str) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        conn.execute(
            "DELETE FROM mirrors WHERE hub = ?1 AND slug = ?2 AND repo = ?3",
            params![hub, slug, repo],
        )
        .map_err(self.err())?;
        Ok(())
    }

    /// One mirror.
    pub fn mirror(
        &self,
        hub: &str,
        slug: &str,
        repo: &str,
    ) -> Result<Option<MirrorRow>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM mirrors WHERE hub = ?1 AND slug = ?2 AND repo = ?3"
            ))
            .and_then(|mut s| s.query_row(params![hub, slug, repo], row).optional())
            .map_err(self.err())
        })
    }

    /// The mirrors of one initiative (`slug: None`: every mirror of `hub`;
    /// `hub: None`: every mirror), sorted.
    pub fn mirrors(
        &self,
        hub: Option<&str>,
        slug: Option<&str>,
    ) -> Result<Vec<MirrorRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM mirrors
                     WHERE (?1 IS NULL OR hub = ?1) AND (?2 IS NULL OR slug = ?2)
                     ORDER BY hub, slug, repo"
                ))
                .map_err(self.err())?;
            let rows = stmt
                .query_map(params![hub, slug], row)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_records_and_the_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        assert!(
            store
                .mirror_upsert("zH", "s", "r", "https://a/r", None)
                .unwrap()
        );
        assert!(
            !store
                .mirror_upsert("zH", "s", "r", "https://a/r", None)
                .unwrap()
        );
        let attempt = Attempt {
            state: MirrorState::TooLarge,
            source: None,
            origin_ok: Some(true),
            at: 10,
            head: None,
            size: 0,
            error: Some("too large".into()),
            pin_ok: None,
        };
        store.mirror_attempt("zH", "s", "r", &attempt).unwrap();
        let row = store.mirror("zH", "s", "r").unwrap().unwrap();
        assert_eq!((row.state, row.failures), (MirrorState::TooLarge, 1));
        // A new pin makes it due again, back-off and "too large" reset.
        assert!(
            store
                .mirror_upsert("zH", "s", "r", "https://a/r", Some("ab"))
                .unwrap()
        );
        let row = store.mirror("zH", "s", "r").unwrap().unwrap();
        assert_eq!((row.state, row.failures), (MirrorState::Pending, 0));
        let ok = Attempt {
            state: MirrorState::Ok,
            source: Some("https://a/r".into()),
            head: Some("cd".into()),
            size: 42,
            error: None,
            pin_ok: Some(false),
            ..attempt
        };
        store.mirror_attempt("zH", "s", "r", &ok).unwrap();
        let row = store.mirror("zH", "s", "r").unwrap().unwrap();
        assert_eq!(row.last_success, Some(10));
        assert_eq!(row.pin_ok, Some(false));
        // Another pin: the copy stays `ok` (served until the next fetch),
        // but what was checked was the old pin's presence.
        assert!(
            store
                .mirror_upsert("zH", "s", "r", "https://a/r", Some("ef"))
                .unwrap()
        );
        let row = store.mirror("zH", "s", "r").unwrap().unwrap();
        assert_eq!((row.state, row.pin_ok), (MirrorState::Ok, None));
        assert_eq!(store.mirrors(Some("zH"), None).unwrap().len(), 1);
        store.mirror_forget("zH", "s", "r").unwrap();
        assert!(store.mirrors(None, None).unwrap().is_empty());
    }
}
