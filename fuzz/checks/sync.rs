//! The anti-entropy protocol (`/essaim/sync/1`) on arbitrary bytes, as a
//! node decodes and answers it, against a small fixed head set:
//! 1. as a request frame (the responder's side): decoded by the swarm's
//!    codec, round-tripped, and answered — `Reconcile` by the head set's
//!    Negentropy responder, `Fetch` by `answer_fetch` over a fixed store,
//!    `Push` by `verify_envelopes`; the answer must encode within the frame
//!    limit and decode back the same;
//! 2. as a response frame (the initiator's side): decoded, round-tripped,
//!    and a `Reconcile` answer fed to an initiator started on the head set;
//! 3. as a bare Negentropy message, to both sides.
//!
//! Properties beyond "no panic": errors are typed (`SyncError`, `Refused`);
//! an initiator offers only ids it holds, and never more than the session
//! bound; a fetch answers no more ids than asked, only ids asked, and
//! refuses exactly the requests over the bounds.
//!
//! With `ESSAIM_FUZZ_SEEDS=DIR`, start-up writes frames made by the real
//! encoder into DIR (fuzz/run.sh seeds the corpus so).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use essaim_node::fuzzing::{
    read_sync_request, read_sync_response, write_sync_request, write_sync_response,
};
use essaim_node::p2p::sync::{
    FRAME_LIMIT, HeadSet, Initiator, MAX_FETCH_IDS, MAX_FRAME_BYTES, MAX_SESSION_IDS, SyncRequest,
    SyncResponse, answer_fetch, verify_envelopes,
};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

const NOW: u64 = essaim_protocol::vectors::NOW;

fn item(i: u64) -> (u64, [u8; 32]) {
    (
        1_700_000_000 + i * 7,
        Sha256::digest(i.to_be_bytes()).into(),
    )
}

struct Local {
    set: HeadSet,
    ids: HashSet<[u8; 32]>,
    /// Envelopes by id for `Fetch`: the first items are "stored".
    store: HashMap<[u8; 32], Vec<u8>>,
}

fn local() -> &'static Local {
    static LOCAL: OnceLock<Local> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let items: Vec<_> = (0..300).map(item).collect();
        let ids = items.iter().map(|(_, id)| *id).collect();
        let store = items
            .iter()
            .take(16)
            .enumerate()
            .map(|(i, (_, id))| (*id, vec![0xa2; 40 + i]))
            .collect();
        Local {
            set: HeadSet::new(1, items).expect("a head set"),
            ids,
            store,
        }
    })
}

/// A remote set overlapping the local one, for seeds.
fn remote() -> HeadSet {
    HeadSet::new(1, (100..450).map(item).collect()).expect("a head set")
}

pub(crate) fn write_seeds(dir: &std::path::Path) {
    let local = local();
    let remote = remote();
    let (_, first) = Initiator::start(&remote).expect("starts");
    let answer = local.set.respond(&first).expect("answers");
    let (mut initiator, first_local) = Initiator::start(&local.set).expect("starts");
    let remote_answer = remote.respond(&first_local).expect("answers");
    let next = initiator.step(&remote_answer).expect("steps");
    let known: Vec<ByteBuf> = local
        .store
        .keys()
        .take(3)
        .map(|id| ByteBuf::from(id.to_vec()))
        .collect();
    let unknown = ByteBuf::from(item(999).1.to_vec());
    let mut fetch = known.clone();
    fetch.push(unknown.clone());
    let vector = essaim_protocol::vectors::generate()
        .into_iter()
        .find(|v| v.name == "valid-initiative-minimal")
        .and_then(|v| v.envelope_hex)
        .map(|hex| hex_of(&hex))
        .expect("the minimal initiative vector");
    let requests = [
        SyncRequest::Reconcile(ByteBuf::from(first.clone())),
        SyncRequest::Reconcile(ByteBuf::from(next.clone().unwrap_or_default())),
        SyncRequest::Fetch(fetch),
        SyncRequest::Fetch(vec![ByteBuf::from(vec![1u8; 31])]),
        SyncRequest::Push(vec![
            ByteBuf::from(vector.clone()),
            ByteBuf::from(vec![0xa2, 0x60]),
        ]),
    ];
    let responses = [
        SyncResponse::Reconcile(ByteBuf::from(answer.clone())),
        SyncResponse::Reconcile(ByteBuf::from(remote_answer.clone())),
        SyncResponse::Records {
            records: vec![ByteBuf::from(vector)],
            missing: vec![unknown],
        },
        SyncResponse::Pushed {
            accepted: 1,
            rejected: 2,
        },
        SyncResponse::Refused("at most 512 ids per fetch".into()),
    ];
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    seeds.extend(
        requests
            .into_iter()
            .map(|r| write_sync_request(r).expect("encodes")),
    );
    seeds.extend(
        responses
            .into_iter()
            .map(|r| write_sync_response(r).expect("encodes")),
    );
    seeds.extend([first, answer, first_local, remote_answer]);
    seeds.extend(next);
    std::fs::create_dir_all(dir).expect("a seed directory");
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), seed).expect("writes a seed");
    }
}

fn hex_of(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The responder's answer, as `serve` in the swarm gives it.
fn answer(request: SyncRequest) -> SyncResponse {
    let local = local();
    match request {
        SyncRequest::Reconcile(message) => match local.set.respond(&message) {
            Ok(answer) => {
                assert!(answer.len() as u64 <= FRAME_LIMIT + 4_096);
                SyncResponse::Reconcile(ByteBuf::from(answer))
            }
            Err(e) => SyncResponse::Refused(e.to_string()),
        },
        SyncRequest::Fetch(ids) => {
            let asked: HashSet<Vec<u8>> = ids.iter().map(|id| id.to_vec()).collect();
            let bad = ids.len() > MAX_FETCH_IDS || ids.iter().any(|id| id.len() != 32);
            let count = ids.len();
            let response = answer_fetch(ids, |id| Ok(local.store.get(id).cloned()));
            match &response {
                SyncResponse::Records { records, missing } => {
                    assert!(!bad, "a fetch over the bounds was answered");
                    assert!(records.len() + missing.len() <= count);
                    for id in missing {
                        assert!(asked.contains(id.as_slice()), "answered an id not asked");
                    }
                }
                SyncResponse::Refused(_) => assert!(bad, "a good fetch was refused"),
                other => panic!("a fetch answered {other:?}"),
            }
            response
        }
        SyncRequest::Push(envelopes) => {
            let count = envelopes.len();
            let (records, rejected) = verify_envelopes(envelopes, None, NOW, |_| {});
            assert_eq!(records.len() + rejected, count);
            SyncResponse::Pushed {
                accepted: records.len() as u32,
                rejected: rejected as u32,
            }
        }
    }
}

/// One initiator round on `answer`, from the local head set.
fn initiator_step(answer: &[u8]) {
    let local = local();
    let (mut initiator, _) = Initiator::start(&local.set).expect("starts");
    match initiator.step(answer) {
        Ok(next) => {
            if let Some(next) = next {
                assert!(next.len() as u64 <= FRAME_LIMIT + 4_096);
            }
            assert!(initiator.have.len() + initiator.need.len() <= MAX_SESSION_IDS);
            for id in &initiator.have {
                assert!(local.ids.contains(id), "offered an id it does not hold");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// With `ESSAIM_FUZZ_SEEDS=DIR`, write the seeds into DIR.
pub(crate) fn init() {
    if let Some(dir) = std::env::var_os("ESSAIM_FUZZ_SEEDS") {
        write_seeds(std::path::Path::new(&dir));
    }
}

/// Check one input.
pub(crate) fn run(data: &[u8]) {
    // 1. A request, as the responder.
    if let Ok(request) = read_sync_request(data) {
        let frame = write_sync_request(request.clone()).expect("a decoded request encodes");
        assert_eq!(read_sync_request(&frame).expect("and decodes"), request);
        let response = answer(request);
        let frame = write_sync_response(response.clone()).expect("an answer encodes");
        assert!(
            frame.len() as u64 <= MAX_FRAME_BYTES,
            "an answer over the frame limit"
        );
        assert_eq!(read_sync_response(&frame).expect("and decodes"), response);
    }
    // 2. A response, as the initiator.
    if let Ok(response) = read_sync_response(data) {
        let frame = write_sync_response(response.clone()).expect("a decoded response encodes");
        assert_eq!(read_sync_response(&frame).expect("and decodes"), response);
        if let SyncResponse::Reconcile(answer) = response {
            initiator_step(&answer);
        }
    }
    // 3. A bare Negentropy message, to both sides.
    let _ = local().set.respond(data);
    initiator_step(data);
}
