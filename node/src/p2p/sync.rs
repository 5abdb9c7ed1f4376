//! Anti-entropy: the `/essaim/sync/1` request-response messages and the
//! range-based set reconciliation (Negentropy) over the head set.
//!
//! The items are `(created, id)` of every current head, retractions
//! included. The initiator drives the exchange (`Reconcile` rounds), learns
//! which ids it lacks and which the responder lacks, then fetches the first
//! (`Fetch`, in batches) and pushes the second (`Push`, in batches). The
//! responder keeps no state between requests, so a peer cannot make it hold
//! memory across a session; every request and answer is bounded (see the
//! constants, and `specs/protocol.md` § Anti-entropy).

use std::sync::Arc;

use negentropy::{Id, Negentropy, NegentropyStorageVector};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

/// The request-response protocol name.
pub const SYNC_PROTOCOL: &str = "/essaim/sync/1";
/// Negentropy frame size limit, bytes: a reconcile message is at most this
/// long (plus a few bytes), whatever the size of the difference.
pub const FRAME_LIMIT: u64 = 256 * 1024;
/// Size of one reconcile message (either side) at most: the frame limit
/// plus the slack Negentropy allows itself past it.
pub const MAX_RECONCILE_BYTES: u64 = FRAME_LIMIT + 4_096;
/// Reconcile rounds per session at most.
pub const MAX_ROUNDS: usize = 64;
/// Ids learnt (needed + offered) per session at most.
pub const MAX_SESSION_IDS: usize = 200_000;
/// Ids per `Fetch` request at most.
pub const MAX_FETCH_IDS: usize = 512;
/// Envelope bytes per `Records` answer or `Push` request at most (the last
/// record may cross it by one envelope).
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Size limit of one request or response on the wire (the codec refuses
/// bigger frames before allocating them).
pub const MAX_FRAME_BYTES: u64 = 4 * 1024 * 1024;

/// A request of the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// One Negentropy message from the initiator.
    Reconcile(ByteBuf),
    /// Records wanted, by id (32 bytes each), at most [`MAX_FETCH_IDS`].
    Fetch(Vec<ByteBuf>),
    /// Records the responder lacks, as envelopes, at most [`MAX_BATCH_BYTES`].
    Push(Vec<ByteBuf>),
}

/// A response of the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The responder's Negentropy message.
    Reconcile(ByteBuf),
    /// Envelopes of the records asked for, in the order asked; `missing` are
    /// ids the responder does not have. Ids in neither list were left out to
    /// keep the answer within [`MAX_BATCH_BYTES`]: ask again.
    Records {
        /// The envelopes.
        records: Vec<ByteBuf>,
        /// Ids not found.
        missing: Vec<ByteBuf>,
    },
    /// What became of pushed records.
    Pushed {
        /// New records stored.
        accepted: u32,
        /// Records that did not verify.
        rejected: u32,
    },
    /// The request was refused, and why.
    Refused(String),
}

/// The responder's answer to a `Fetch`: the envelopes of the ids asked for,
/// in order, looked up with `get` (the store); at most [`MAX_FETCH_IDS`]
/// ids, each 32 bytes, and answers cut past [`MAX_BATCH_BYTES`].
pub fn answer_fetch(
    ids: Vec<ByteBuf>,
    mut get: impl FnMut(&[u8; 32]) -> Result<Option<Vec<u8>>, String>,
) -> SyncResponse {
    if ids.len() > MAX_FETCH_IDS {
        return SyncResponse::Refused(format!("at most {MAX_FETCH_IDS} ids per fetch"));
    }
    let mut records = Vec::new();
    let mut missing = Vec::new();
    let mut bytes = 0usize;
    for id in ids {
        let Ok(raw) = <[u8; 32]>::try_from(id.as_slice()) else {
            return SyncResponse::Refused("an id is not 32 bytes".into());
        };
        if bytes >= MAX_BATCH_BYTES {
            break;
        }
        match get(&raw) {
            Ok(Some(envelope)) => {
                bytes += envelope.len();
                records.push(ByteBuf::from(envelope));
            }
            Ok(None) => missing.push(id),
            Err(e) => return SyncResponse::Refused(e),
        }
    }
    SyncResponse::Records { records, missing }
}

/// Verify received envelopes (pushed, or fetched: then `wanted` are the ids
/// asked for, and a record not asked for counts as rejected). Returns the
/// records that verified and the number rejected.
pub fn verify_envelopes(
    envelopes: Vec<ByteBuf>,
    wanted: Option<&std::collections::HashSet<[u8; 32]>>,
    now: u64,
    mut on_reject: impl FnMut(Option<&essaim_protocol::RecordError>),
) -> (Vec<essaim_protocol::SignedRecord>, usize) {
    let mut records = Vec::with_capacity(envelopes.len());
    let mut rejected = 0;
    for envelope in envelopes {
        match essaim_protocol::verify(&envelope, now) {
            Ok(record) if wanted.is_none_or(|w| w.contains(&record.id().0)) => records.push(record),
            Ok(_) => {
                on_reject(None);
                rejected += 1;
            }
            Err(e) => {
                on_reject(Some(&e));
                rejected += 1;
            }
        }
    }
    (records, rejected)
}

/// Why a reconciliation failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The Negentropy exchange failed (malformed message, bad frame…).
    #[error("reconciliation failed: {0}")]
    Negentropy(String),
    /// The peer broke a bound of the protocol.
    #[error("the peer broke the sync protocol: {0}")]
    Protocol(String),
    /// The request could not be delivered or was not answered.
    #[error("the peer did not answer: {0}")]
    Transport(String),
    /// The node could not read or write its store.
    #[error("local store: {0}")]
    Local(String),
}

impl From<negentropy::Error> for SyncError {
    fn from(e: negentropy::Error) -> Self {
        SyncError::Negentropy(e.to_string())
    }
}

/// The head set, ready to reconcile: sorted items, their Negentropy storage
/// and their digest. Built once per store change and shared.
#[derive(Debug)]
pub struct HeadSet {
    /// The store's last change when this was built.
    pub change: u64,
    /// Number of items.
    pub len: usize,
    /// [`digest`] of the items.
    pub digest: [u8; 32],
    storage: NegentropyStorageVector,
}

impl HeadSet {
    /// Build from `(created, id)` items (any order).
    pub fn new(change: u64, mut items: Vec<(u64, [u8; 32])>) -> Result<HeadSet, SyncError> {
        items.sort_unstable();
        items.dedup();
        let mut storage = NegentropyStorageVector::with_capacity(items.len());
        for (created, id) in &items {
            storage.insert(*created, Id::from_byte_array(*id))?;
        }
        storage.seal()?;
        Ok(HeadSet {
            change,
            len: items.len(),
            digest: digest(&items),
            storage,
        })
    }

    /// Answer one Negentropy message (the responder's side; stateless).
    pub fn respond(&self, message: &[u8]) -> Result<Vec<u8>, SyncError> {
        let mut negentropy = Negentropy::borrowed(&self.storage, FRAME_LIMIT)?;
        Ok(negentropy.reconcile(message)?)
    }
}

/// The digest of a head set: SHA-256 over the items sorted by
/// `(created, id)`, each written as `created` (8 bytes, big-endian) then the
/// 32-byte id. Two nodes with the same digest hold the same heads.
pub fn digest(sorted: &[(u64, [u8; 32])]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for (created, id) in sorted {
        hasher.update(created.to_be_bytes());
        hasher.update(id);
    }
    hasher.finalize().into()
}

/// The initiator's side of one reconciliation.
pub struct Initiator {
    negentropy: Negentropy<'static, NegentropyStorageVector>,
    rounds: usize,
    /// Ids the peer has and this node lacks.
    pub need: Vec<[u8; 32]>,
    /// Ids this node has and the peer lacks.
    pub have: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("rounds", &self.rounds)
            .field("need", &self.need.len())
            .field("have", &self.have.len())
            .finish()
    }
}

impl Initiator {
    /// Start from this node's head set; returns the first message.
    pub fn start(set: &HeadSet) -> Result<(Initiator, Vec<u8>), SyncError> {
        // The responder side borrows the shared storage; the initiator owns a
        // copy because its session outlives any one borrow.
        let storage = set.storage.clone();
        let mut negentropy = Negentropy::owned(storage, FRAME_LIMIT)?;
        let first = negentropy.initiate()?;
        Ok((
            Initiator {
                negentropy,
                rounds: 0,
                need: Vec::new(),
                have: Vec::new(),
            },
            first,
        ))
    }

    /// Rounds done so far.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Take the responder's answer; returns the next message, or `None` when
    /// the sets are reconciled.
    pub fn step(&mut self, answer: &[u8]) -> Result<Option<Vec<u8>>, SyncError> {
        self.rounds += 1;
        if self.rounds > MAX_ROUNDS {
            return Err(SyncError::Protocol(format!(
                "more than {MAX_ROUNDS} reconcile rounds"
            )));
        }
        if answer.len() as u64 > MAX_RECONCILE_BYTES {
            return Err(SyncError::Protocol(format!(
                "a reconcile message of {} bytes (limit {FRAME_LIMIT})",
                answer.len()
            )));
        }
        let mut have = Vec::new();
        let mut need = Vec::new();
        let next = self
            .negentropy
            .reconcile_with_ids(answer, &mut have, &mut need)?;
        self.have.extend(have.iter().map(|id| id.to_bytes()));
        self.need.extend(need.iter().map(|id| id.to_bytes()));
        if self.have.len() + self.need.len() > MAX_SESSION_IDS {
            return Err(SyncError::Protocol(format!(
                "more than {MAX_SESSION_IDS} differing ids in one session"
            )));
        }
        Ok(next)
    }
}

/// Reconcile two head sets in memory (benchmarks, tests): returns
/// `(need, have, rounds, bytes exchanged)` from `local`'s point of view.
#[allow(clippy::type_complexity)]
pub fn reconcile_in_memory(
    local: &HeadSet,
    remote: &HeadSet,
) -> Result<(Vec<[u8; 32]>, Vec<[u8; 32]>, usize, usize), SyncError> {
    let (mut initiator, mut message) = Initiator::start(local)?;
    let mut bytes = 0usize;
    loop {
        bytes += message.len();
        let answer = remote.respond(&message)?;
        bytes += answer.len();
        match initiator.step(&answer)? {
            Some(next) => message = next,
            None => break,
        }
    }
    let rounds = initiator.rounds();
    Ok((initiator.need, initiator.have, rounds, bytes))
}

/// A cache of the head set, rebuilt when the store changed.
#[derive(Debug, Default)]
pub struct HeadSetCache {
    current: std::sync::Mutex<Option<Arc<HeadSet>>>,
}

impl HeadSetCache {
    /// The head set as of the store's change `change`, built by `load` if the
    /// cached one is older.
    pub fn get(
        &self,
        change: u64,
        load: impl FnOnce() -> Result<Vec<(u64, [u8; 32])>, SyncError>,
    ) -> Result<Arc<HeadSet>, SyncError> {
        if let Ok(current) = self.current.lock()
            && let Some(set) = current.as_ref()
            && set.change == change
        {
            return Ok(set.clone());
        }
        let set = Arc::new(HeadSet::new(change, load()?)?);
        if let Ok(mut current) = self.current.lock() {
            *current = Some(set.clone());
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(range: std::ops::Range<u64>) -> Vec<(u64, [u8; 32])> {
        range
            .map(|i| {
                let id: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
                (1_700_000_000 + i, id)
            })
            .collect()
    }

    #[test]
    fn equal_sets_reconcile_in_one_round_trip_under_a_kibibyte() {
        let a = HeadSet::new(1, items(0..100_000)).unwrap();
        let b = HeadSet::new(1, items(0..100_000)).unwrap();
        assert_eq!(a.digest, b.digest);
        let (need, have, rounds, bytes) = reconcile_in_memory(&a, &b).unwrap();
        assert!(need.is_empty() && have.is_empty());
        assert_eq!(rounds, 1);
        assert!(bytes < 1024, "{bytes} bytes");
    }

    #[test]
    fn differences_are_found_both_ways() {
        let a = HeadSet::new(1, items(0..5_000)).unwrap();
        let b = HeadSet::new(1, items(100..5_100)).unwrap();
        let (need, have, _, _) = reconcile_in_memory(&a, &b).unwrap();
        assert_eq!(need.len(), 100);
        assert_eq!(have.len(), 100);
        assert_ne!(a.digest, b.digest);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let a = HeadSet::new(1, items(0..10)).unwrap();
        for message in [&[][..], &[0x61, 0xff, 0xff, 0xff][..], &[0x61; 64][..]] {
            let _ = a.respond(message);
        }
    }

    #[test]
    fn wire_messages_round_trip() {
        let request = SyncRequest::Fetch(vec![ByteBuf::from(vec![7u8; 32])]);
        let bytes = serde_ipld_dagcbor::to_vec(&request).unwrap();
        let back: SyncRequest = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
        assert_eq!(back, request);
    }
}
