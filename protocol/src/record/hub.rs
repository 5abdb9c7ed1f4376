//! `hub`: a hub's profile. One per hub, at slug `profile`.

use serde::{Deserialize, Serialize};

use super::types::{Contact, KindTag, LangMap, MultiaddrText, Slug, WebUrl};
use crate::hub_id::HubId;
use crate::territory::Territory;
use crate::vocab::HubKind;

/// A hub's profile: who runs the node, where, and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hub {
    /// Format version, 1.
    pub v: u64,
    /// Always `hub`.
    pub kind: KindTag<0>,
    /// The hub itself.
    pub author: HubId,
    /// Always `profile`.
    pub slug: Slug,
    /// Version number; the highest wins.
    pub seq: u64,
    /// Creation time, unix seconds.
    pub created: u64,
    /// The hub's name ("Ruche Lyon Part-Dieu").
    pub name: String,
    /// What kind of organisation runs it.
    pub hub_kind: HubKind,
    /// Where it works.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territories: Vec<Territory>,
    /// A presentation in Markdown, per language.
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    /// Its web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<WebUrl>,
    /// How to reach the team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// How other nodes reach its node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
}

/// Where a hub's node can be reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// Public libp2p multiaddrs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multiaddrs: Vec<MultiaddrText>,
    /// Public base URL of the node's web server (UI, API, `/git/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<WebUrl>,
}
