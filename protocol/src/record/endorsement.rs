//! `endorsement`: a hub vouches for an initiative or another hub.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::types::{KindTag, Slug};
use crate::address::Address;
use crate::decode::{ParseRule, string_type};
use crate::error::Rule;
use crate::hub_id::HubId;
use crate::territory::Territory;
use crate::vocab::{EndorsementType, Kind};

/// An endorsement: a label, a replication statement, funding or a recommendation.
/// Which optional fields are required or allowed depends on `type`
/// (`specs/records.md` has the table). A later version with `revoked: true`
/// withdraws it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endorsement {
    /// Format version, 1.
    pub v: u64,
    /// Always `endorsement`.
    pub kind: KindTag<2>,
    /// The issuer.
    pub author: HubId,
    /// Its slug, unique per issuer.
    pub slug: Slug,
    /// Version number; the highest wins.
    pub seq: u64,
    /// Creation time of this version, unix seconds.
    pub created: u64,
    /// What is vouched for.
    pub subject: Subject,
    /// What is stated.
    #[serde(rename = "type")]
    pub endorsement: EndorsementType,
    /// The label's name (`label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where it was replicated (`replication`) or where the funding applies (`funding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<Territory>,
    /// Who carries the replication (`replication`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// Amount granted, euro cents (`funding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<u64>,
    /// The funding programme (`funding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
    /// A free comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// End of validity, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
    /// Withdrawn by its issuer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

/// What an endorsement is about: a hub, or an initiative.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Subject {
    /// A hub, by its id (`did:key:z6Mk…`).
    Hub(HubId),
    /// An initiative, by its address (`did:key:z6Mk…/initiative/<slug>`).
    Initiative(Address),
}

impl ParseRule for Subject {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        if s.contains('/') {
            let address: Address = s.parse()?;
            if address.kind != Kind::Initiative {
                return Err(Rule::Subject);
            }
            Ok(Subject::Initiative(address))
        } else {
            Ok(Subject::Hub(HubId::parse_rule(s)?))
        }
    }
}

string_type!(Subject);

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Hub(hub) => hub.fmt(f),
            Subject::Initiative(address) => address.fmt(f),
        }
    }
}
