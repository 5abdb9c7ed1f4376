//! `retraction`: the author withdraws one of its addresses.
//!
//! A retraction lives at the address it withdraws (`<author>/<target>/<slug>`),
//! so with a higher `seq` it becomes that address's head: a tombstone that
//! travels like any record. A later version of the target with a higher `seq`
//! brings the address back.

use serde::{Deserialize, Serialize};

use super::types::{KindTag, Slug};
use crate::hub_id::HubId;
use crate::vocab::Kind;

/// A retraction of one of the author's addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retraction {
    /// Format version, 1.
    pub v: u64,
    /// Always `retraction`.
    pub kind: KindTag<3>,
    /// The author withdrawing its own record.
    pub author: HubId,
    /// The slug withdrawn.
    pub slug: Slug,
    /// Version number: above the withdrawn version's.
    pub seq: u64,
    /// Creation time, unix seconds.
    pub created: u64,
    /// The kind withdrawn: `hub`, `initiative` or `endorsement`.
    pub target: Kind,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
