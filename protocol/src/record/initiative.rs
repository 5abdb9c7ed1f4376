//! `initiative`: a solution that works somewhere and could be replicated.

use serde::{Deserialize, Serialize};

use super::types::{CommitId, Contact, KindTag, LangMap, Licence, Sdg, Siren, Slug, WebUrl};
use crate::hub_id::HubId;
use crate::territory::Territory;
use crate::vocab::{Audience, LegalForm, ReplicationModel, Stage, Theme};

/// An initiative of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Initiative {
    /// Format version, 1.
    pub v: u64,
    /// Always `initiative`.
    pub kind: KindTag<1>,
    /// The hub that publishes it.
    pub author: HubId,
    /// Its slug, unique per author.
    pub slug: Slug,
    /// Version number; the highest wins.
    pub seq: u64,
    /// Creation time of this version, unix seconds.
    pub created: u64,
    /// Its name.
    pub name: String,
    /// One-paragraph summary per language; `fr` is required.
    pub summary: LangMap,
    /// Longer description in Markdown, per language.
    #[serde(default, skip_serializing_if = "LangMap::is_empty")]
    pub description: LangMap,
    /// What it is about (1 to 5 themes).
    pub themes: Vec<Theme>,
    /// Whom it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<Audience>,
    /// The organisation that carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    /// Where it was born.
    pub origin: Territory,
    /// Where it runs today (besides replication statements by other hubs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territories: Vec<Territory>,
    /// How far it has come.
    pub stage: Stage,
    /// How it replicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
    /// Its source code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<Repository>,
    /// What it achieved, measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impact: Vec<Indicator>,
    /// UN Sustainable Development Goals it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdgs: Vec<Sdg>,
    /// What it needs to grow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Needs>,
    /// How to reach the team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// Its web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<WebUrl>,
}

/// The organisation that carries an initiative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    /// Its name.
    pub name: String,
    /// Its legal form, among the forms of the social and solidarity economy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_form: Option<LegalForm>,
    /// Its SIREN number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siren: Option<Siren>,
}

/// How an initiative replicates, and the kit for those who want to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// The model.
    pub model: ReplicationModel,
    /// Where the replication kit is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kit: Option<WebUrl>,
}

/// A source repository of an initiative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    /// A short name, unique within the initiative; nodes serve the mirror at
    /// `/git/<hub>/<slug>/<name>.git`.
    pub name: Slug,
    /// Where to clone it from.
    pub url: WebUrl,
    /// Its licence, as an SPDX expression.
    pub licence: Licence,
    /// A commit that a mirror must contain (integrity pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitId>,
}

/// A measured impact: an integer value (no floating point in records).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// What is measured ("personnes accompagnées").
    pub name: String,
    /// The value, an integer of magnitude below 2^53.
    pub value: i64,
    /// The unit ("personnes", "tonnes", "%").
    pub unit: String,
    /// The period it covers ("2024", "2022-2024").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// What an initiative needs to grow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    /// Funding sought, in euro cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_cents: Option<u64>,
    /// Partners sought, described in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<String>,
    /// Territories where it would like to be replicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territories: Vec<Territory>,
}
