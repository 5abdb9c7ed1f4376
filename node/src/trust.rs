//! The trust policy: whose records this node accepts, in one place.
//!
//! Every record, whatever path it arrives by (gossip, anti-entropy, the
//! HTTP API, an import, the operator's own publishing), goes through
//! [`Trust::ingest`] before it is stored:
//!
//! - records of this node's own hub are always admitted;
//! - records of a **blocked** hub are refused (their ids remembered, so that
//!   reconciliation does not fetch them again), and the ones stored before
//!   the block are moved out of the catalogue (kept aside, so that
//!   unblocking re-admits them);
//! - in **web-of-trust** mode, records of hubs outside the *circle* (this
//!   hub, the hubs it follows, and the hubs they label, to `trust.depth`
//!   labelling steps) wait in a bounded **quarantine**: stored aside, not
//!   indexed, not served to peers, not relayed;
//! - in **open** mode every hub is admitted;
//! - in both modes a hub that is neither this one nor followed has
//!   **quotas**: records per hour and in all; beyond, its records are
//!   refused (and not relayed).
//!
//! A change of policy (follow, unfollow, block, unblock, a label granted or
//! revoked, a label expiring) re-evaluates what is stored
//! ([`Trust::reevaluate`]): records of hubs now admitted are released into
//! the catalogue, records of hubs no longer admitted go back to quarantine
//! (or aside, when blocked), and the caller brings the index in line.
//!
//! `specs/trust.md` is the normative description.

pub mod endorse;
pub mod suggest;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use essaim_protocol::record::Subject;
use essaim_protocol::vocab::EndorsementType;
use essaim_protocol::{Address, Body, HubId, Kind, SignedRecord};
use serde::Serialize;

use crate::config::{Config, TrustMode};
use crate::store::{
    HELD_BLOCKED, HELD_QUARANTINE, Inserted, Source, Store, StoreError, StoredRecord, Verdict,
};
pub use crate::store::{Refusal, Standing};

/// How long a record refused for an hourly quota (or a full quarantine) is
/// remembered before reconciliation may fetch it again.
pub const RETRY_AFTER_SECS: u64 = 3_600;

/// The policy's settings, from the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// This node's hub: always admitted.
    pub own: HubId,
    /// `open` or `web-of-trust`.
    #[serde(serialize_with = "mode_code")]
    pub mode: TrustMode,
    /// Labelling steps from a followed hub still trusted.
    pub depth: u8,
    /// Records per hour per hub (not this one, not followed).
    pub quota_per_hour: u64,
    /// Records in all per hub (not this one, not followed).
    pub quota_total: u64,
    /// Records in quarantine at most.
    pub quarantine_max: u64,
    /// Records in quarantine at most per hub.
    pub quarantine_per_hub: u64,
}

fn mode_code<S: serde::Serializer>(mode: &TrustMode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(mode_name(*mode))
}

/// `open` or `web-of-trust`.
pub fn mode_name(mode: TrustMode) -> &'static str {
    match mode {
        TrustMode::Open => "open",
        TrustMode::WebOfTrust => "web-of-trust",
    }
}

impl Policy {
    /// The policy of a configuration, for the hub `own`.
    pub fn from_config(config: &Config, own: HubId) -> Policy {
        Policy {
            own,
            mode: config.trust_mode,
            depth: config.trust_depth,
            quota_per_hour: config.trust_quota_per_hour,
            quota_total: config.trust_quota_total,
            quarantine_max: config.trust_quarantine_max,
            quarantine_per_hub: config.trust_quarantine_per_hub,
        }
    }
}

/// How a hub came to be trusted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trusted {
    /// 0 for this hub and the followed ones, then one more per label.
    pub depth: u8,
    /// The trusted hub whose label brought it in (none at depth 0).
    pub via: Option<HubId>,
}

/// Who this node trusts, as of now.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Circle {
    /// This hub and the hubs the operator follows.
    pub followed: BTreeSet<HubId>,
    /// The hubs the operator blocked.
    pub blocked: BTreeSet<HubId>,
    /// Every trusted hub (the followed ones at depth 0, then the hubs they
    /// label, to the configured depth).
    pub trusted: BTreeMap<HubId, Trusted>,
    /// When a label this circle relies on expires (then it is recomputed).
    pub expires: Option<u64>,
}

impl Circle {
    /// Whether records of `author` belong in the catalogue under `mode`.
    pub fn admits(&self, mode: TrustMode, author: &HubId) -> bool {
        !self.blocked.contains(author)
            && (mode == TrustMode::Open || self.trusted.contains_key(author))
    }

    /// Whether the operator follows `hub` (or it is this node's hub).
    pub fn follows(&self, hub: &HubId) -> bool {
        self.followed.contains(hub)
    }

    /// Whether `hub` is trusted (followed, or labelled within the depth).
    pub fn trusts(&self, hub: &HubId) -> bool {
        self.trusted.contains_key(hub)
    }
}

/// What a re-evaluation did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Reevaluation {
    /// Records released from quarantine (or from a block) into the catalogue.
    pub released: usize,
    /// Records moved out of the catalogue (to quarantine, or aside for a block).
    pub held: usize,
    /// Initiatives whose search document must be recomputed (the indexer
    /// sees released records by itself; removals it cannot see).
    #[serde(skip)]
    pub refresh: BTreeSet<Address>,
}

impl Reevaluation {
    fn absorb(&mut self, other: Reevaluation) {
        self.released += other.released;
        self.held += other.held;
        self.refresh.extend(other.refresh);
    }
}

/// The trust policy of a node, with its circle cached.
#[derive(Debug)]
pub struct Trust {
    policy: Policy,
    cache: Mutex<Option<(u64, Arc<Circle>)>>,
}

impl Trust {
    /// The policy of `config` for the hub `own`.
    pub fn new(config: &Config, own: HubId) -> Trust {
        Trust {
            policy: Policy::from_config(config, own),
            cache: Mutex::new(None),
        }
    }

    /// The settings.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The circle as of now (recomputed when the store or the trust tables
    /// changed, or a label it relies on expired).
    pub fn circle(&self, store: &Store, now: u64) -> Result<Arc<Circle>, StoreError> {
        let version = store.sync_version()?;
        if let Ok(cache) = self.cache.lock()
            && let Some((cached, circle)) = cache.as_ref()
            && *cached == version
            && circle.expires.is_none_or(|e| e > now)
        {
            return Ok(circle.clone());
        }
        let circle = Arc::new(compute_circle(store, &self.policy, now)?);
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((version, circle.clone()));
        }
        Ok(circle)
    }

    /// Decide what becomes of each record (the batch's own records count
    /// towards the quotas as they are judged).
    pub fn judge(
        &self,
        store: &Store,
        records: &[(SignedRecord, Source)],
        now: u64,
    ) -> Result<Vec<Verdict>, StoreError> {
        let circle = self.circle(store, now)?;
        let p = &self.policy;
        // Per author: (total, last hour) stored, and quarantine (all, author).
        let mut activity: HashMap<HubId, (u64, u64)> = HashMap::new();
        let mut quarantine: HashMap<HubId, (u64, u64)> = HashMap::new();
        let mut quarantined_in_batch = 0u64;
        let mut verdicts = Vec::with_capacity(records.len());
        for (record, _) in records {
            let author = *record.body().author();
            let verdict = if author == p.own {
                Verdict::Admit
            } else if circle.blocked.contains(&author) {
                Verdict::Refuse(Refusal::Blocked, None)
            } else if !circle.admits(p.mode, &author) {
                let counts = match quarantine.get(&author) {
                    Some(c) => *c,
                    None => store.quarantine_counts(&author)?,
                };
                let (all, mine) = (counts.0 + quarantined_in_batch, counts.1);
                if all >= p.quarantine_max || mine >= p.quarantine_per_hub {
                    Verdict::Refuse(Refusal::QuarantineFull, Some(now + RETRY_AFTER_SECS))
                } else {
                    quarantine.insert(author, (counts.0, mine + 1));
                    quarantined_in_batch += 1;
                    Verdict::Hold
                }
            } else if circle.follows(&author) {
                Verdict::Admit
            } else {
                let (total, recent) = match activity.get(&author) {
                    Some(a) => *a,
                    None => store.author_activity(&author, now.saturating_sub(3_600))?,
                };
                if recent >= p.quota_per_hour {
                    Verdict::Refuse(Refusal::HourlyQuota, Some(now + RETRY_AFTER_SECS))
                } else if total >= p.quota_total {
                    Verdict::Refuse(Refusal::TotalQuota, None)
                } else {
                    activity.insert(author, (total + 1, recent + 1));
                    Verdict::Admit
                }
            };
            verdicts.push(verdict);
        }
        Ok(verdicts)
    }

    /// Judge and store a batch of verified records, in one transaction. When
    /// the batch changes the circle (a label of a hub, granted or revoked),
    /// what is stored is re-evaluated; the second value says what the index
    /// must recompute.
    pub fn ingest(
        &self,
        store: &Store,
        records: &[(SignedRecord, Source)],
        now: u64,
    ) -> Result<(Vec<Inserted>, Reevaluation), StoreError> {
        let verdicts = self.judge(store, records, now)?;
        let judged: Vec<(SignedRecord, Source, Verdict)> = records
            .iter()
            .zip(verdicts)
            .map(|((record, source), verdict)| (record.clone(), source.clone(), verdict))
            .collect();
        let outcomes = store.insert_judged(&judged, now)?;
        let changes_circle = records.iter().zip(&outcomes).any(|((record, _), outcome)| {
            outcome.is_new()
                && matches!(record.body(), Body::Endorsement(e)
                    if matches!(e.subject, Subject::Hub(_)) && e.endorsement == EndorsementType::Label)
        });
        let reevaluation = if changes_circle {
            self.reevaluate(store, now)?
        } else {
            Reevaluation::default()
        };
        for outcome in &outcomes {
            if let Inserted::Refused(refusal) = outcome {
                tracing::debug!(
                    reason = refusal.code(),
                    "record refused by the trust policy"
                );
            }
        }
        Ok((outcomes, reevaluation))
    }

    /// Bring what is stored in line with the policy: release the records of
    /// hubs now admitted, move out those of hubs no longer admitted (to
    /// quarantine) or blocked (aside). Repeats until nothing moves, since a
    /// released label may admit another hub (at most depth + 2 rounds).
    pub fn reevaluate(&self, store: &Store, now: u64) -> Result<Reevaluation, StoreError> {
        let mut total = Reevaluation::default();
        for _ in 0..usize::from(self.policy.depth) + 3 {
            let circle = compute_circle(store, &self.policy, now)?;
            let round = self.reevaluate_once(store, &circle)?;
            let moved = round.released + round.held;
            total.absorb(round);
            if moved == 0 {
                break;
            }
        }
        if let Ok(mut cache) = self.cache.lock() {
            *cache = None;
        }
        if total.released + total.held > 0 {
            tracing::info!(
                released = total.released,
                held = total.held,
                "trust policy re-evaluated"
            );
        }
        Ok(total)
    }

    fn reevaluate_once(&self, store: &Store, circle: &Circle) -> Result<Reevaluation, StoreError> {
        let mode = self.policy.mode;
        let mut out = Reevaluation::default();
        for held in store.held_hubs()? {
            let Ok(author) = HubId::parse_lenient(&held.hub) else {
                continue;
            };
            if circle.blocked.contains(&author) {
                store.set_held_reason(&held.hub, HELD_BLOCKED)?;
            } else if author == self.policy.own || circle.admits(mode, &author) {
                out.released += store.release_author(&held.hub)?;
            } else {
                store.set_held_reason(&held.hub, HELD_QUARANTINE)?;
            }
        }
        for text in store.record_authors()? {
            let Ok(author) = HubId::parse_lenient(&text) else {
                continue;
            };
            if author == self.policy.own {
                continue;
            }
            let reason = if circle.blocked.contains(&author) {
                HELD_BLOCKED
            } else if !circle.admits(mode, &author) {
                HELD_QUARANTINE
            } else {
                continue;
            };
            let moved = store.hold_author(&text, reason)?;
            out.held += moved.len();
            out.refresh
                .extend(moved.iter().filter_map(affected_initiative));
        }
        Ok(out)
    }
}

/// The initiative whose search document depends on a record moved out.
fn affected_initiative(stored: &StoredRecord) -> Option<Address> {
    match stored.record.body() {
        Body::Initiative(_) => Some(stored.record.address()),
        Body::Endorsement(e) => match &e.subject {
            Subject::Initiative(address) => Some(address.clone()),
            Subject::Hub(_) => None,
        },
        _ => None,
    }
}

/// The circle: roots (this hub and the followed ones), then breadth-first
/// through the valid labels they grant to hubs, to `policy.depth` steps.
pub fn compute_circle(store: &Store, policy: &Policy, now: u64) -> Result<Circle, StoreError> {
    let mut circle = Circle::default();
    for row in store.standings()? {
        let Ok(hub) = HubId::parse_lenient(&row.hub) else {
            continue;
        };
        match row.standing {
            Standing::Followed => {
                circle.followed.insert(hub);
            }
            Standing::Blocked => {
                circle.blocked.insert(hub);
            }
        }
    }
    circle.followed.insert(policy.own);
    circle.blocked.remove(&policy.own);
    for hub in &circle.followed {
        if !circle.blocked.contains(hub) {
            circle.trusted.insert(
                *hub,
                Trusted {
                    depth: 0,
                    via: None,
                },
            );
        }
    }
    // Issuer → (subject, valid until) for every valid label of a hub.
    let mut labels: BTreeMap<HubId, Vec<(HubId, Option<u64>)>> = BTreeMap::new();
    for head in store.hub_endorsement_heads()? {
        if let Body::Endorsement(e) = head.record.body()
            && e.endorsement == EndorsementType::Label
            && !e.revoked
            && e.valid_until.is_none_or(|until| until > now)
            && let Subject::Hub(subject) = e.subject
        {
            labels
                .entry(e.author)
                .or_default()
                .push((subject, e.valid_until));
        }
    }
    let mut frontier: Vec<HubId> = circle.trusted.keys().copied().collect();
    for depth in 1..=policy.depth {
        let mut next = Vec::new();
        for issuer in &frontier {
            for (subject, until) in labels.get(issuer).map(Vec::as_slice).unwrap_or(&[]) {
                if circle.blocked.contains(subject) || circle.trusted.contains_key(subject) {
                    continue;
                }
                circle.trusted.insert(
                    *subject,
                    Trusted {
                        depth,
                        via: Some(*issuer),
                    },
                );
                if let Some(until) = until {
                    circle.expires = Some(circle.expires.map_or(*until, |e| e.min(*until)));
                }
                next.push(*subject);
            }
        }
        frontier = next;
    }
    Ok(circle)
}

/// The kind of address a hub id names, for messages: hubs are given as
/// `did:key:z6Mk…` or `z6Mk…`.
pub fn parse_hub(text: &str) -> Result<HubId, String> {
    HubId::parse_lenient(text.trim())
        .map_err(|rule| format!("`{text}` is not a hub id ({rule}): write did:key:z6Mk… or z6Mk…"))
}

/// Whether a record kind is one the index shows (for messages).
pub fn is_catalogue_kind(kind: Kind) -> bool {
    matches!(kind, Kind::Initiative | Kind::Endorsement | Kind::Hub)
}
