//! The record kinds, as typed structs.
//!
//! Every body carries the common fields `v`, `kind`, `author`, `slug`, `seq`
//! and `created`, then the fields of its kind. Optional fields are *absent*
//! when empty: `null`, `[]`, `{}` or `false` where a field may be omitted is
//! not canonical and is refused, so one logical record has one encoding.
//! `specs/records.md` lists every field with its type, bound and vocabulary.

mod endorsement;
mod hub;
mod initiative;
mod retraction;
mod types;

use serde::Serialize;

pub use endorsement::{Endorsement, Subject};
pub use hub::{Endpoints, Hub};
pub use initiative::{Carrier, Indicator, Initiative, Needs, Replication, Repository};
pub use retraction::Retraction;
pub use types::{
    CommitId, Contact, Email, KindTag, LangCode, LangMap, Licence, MultiaddrText, Sdg, Siren, Slug,
    WebUrl,
};

use crate::address::Address;
use crate::error::RecordError;
use crate::hub_id::HubId;
pub use crate::vocab::Kind;

/// The body of a record: what the payload decodes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
// Bodies are handled one at a time, never stored by the million in memory.
#[allow(clippy::large_enum_variant)]
pub enum Body {
    /// A hub's profile.
    Hub(Hub),
    /// An initiative.
    Initiative(Initiative),
    /// An endorsement: a label, a replication, funding or a recommendation.
    Endorsement(Endorsement),
    /// The author withdraws one of its addresses.
    Retraction(Retraction),
}

macro_rules! common {
    ($self:ident, $field:ident) => {
        match $self {
            Body::Hub(r) => &r.$field,
            Body::Initiative(r) => &r.$field,
            Body::Endorsement(r) => &r.$field,
            Body::Retraction(r) => &r.$field,
        }
    };
}

impl Body {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Hub(_) => Kind::Hub,
            Body::Initiative(_) => Kind::Initiative,
            Body::Endorsement(_) => Kind::Endorsement,
            Body::Retraction(_) => Kind::Retraction,
        }
    }

    /// The hub that signed the record.
    pub fn author(&self) -> &HubId {
        common!(self, author)
    }

    /// The slug (for a retraction: the slug it withdraws).
    pub fn slug(&self) -> &Slug {
        common!(self, slug)
    }

    /// The sequence number: the higher one wins at an address.
    pub fn seq(&self) -> u64 {
        *common!(self, seq)
    }

    /// Creation time, unix seconds.
    pub fn created(&self) -> u64 {
        *common!(self, created)
    }

    /// The address this record is a version of. A retraction lives at the
    /// address it withdraws, so that it becomes that address's head.
    pub fn address(&self) -> Address {
        let kind = match self {
            Body::Retraction(r) => r.target,
            other => other.kind(),
        };
        Address {
            author: *self.author(),
            kind,
            slug: self.slug().clone(),
        }
    }

    /// Encode as canonical DAG-CBOR (the payload bytes).
    pub fn to_payload(&self) -> Result<Vec<u8>, RecordError> {
        serde_ipld_dagcbor::to_vec(self).map_err(|e| RecordError::Malformed {
            field: ".".into(),
            reason: e.to_string(),
        })
    }

    /// Read a body from its JSON form (records written by hand, after a tool
    /// filled in `v`, `author`, `seq` and `created`). Fields are checked the
    /// same way as when decoding a payload; the field rules are checked when
    /// signing.
    pub fn from_json(value: serde_json::Value) -> Result<Body, RecordError> {
        use crate::decode::decode_json;
        let field = |name: &str| value.get(name).cloned();
        match field("v") {
            None => return Err(RecordError::MissingField { field: "v".into() }),
            Some(v) => match v.as_u64() {
                Some(crate::limits::FORMAT_VERSION) => {}
                Some(value) => return Err(RecordError::UnsupportedVersion { value }),
                None => {
                    return Err(RecordError::Malformed {
                        field: "v".into(),
                        reason: format!("`{v}` is not a version number; write 1"),
                    });
                }
            },
        }
        let kind = match field("kind") {
            None => {
                return Err(RecordError::MissingField {
                    field: "kind".into(),
                });
            }
            Some(serde_json::Value::String(kind)) => kind,
            Some(other) => other.to_string(),
        };
        let kind: Kind = kind
            .parse()
            .map_err(|rule| RecordError::invalid("kind", &kind, rule))?;
        Ok(match kind {
            Kind::Hub => Body::Hub(decode_json(value)?),
            Kind::Initiative => Body::Initiative(decode_json(value)?),
            Kind::Endorsement => Body::Endorsement(decode_json(value)?),
            Kind::Retraction => Body::Retraction(decode_json(value)?),
        })
    }

    /// Decode a payload strictly: known `v`, known `kind`, no unknown field,
    /// canonical encoding. This does not validate the field rules; see
    /// [`crate::envelope::verify`] for the whole check.
    pub fn from_payload(payload: &[u8]) -> Result<Body, RecordError> {
        let header = crate::decode::header(payload)?;
        let v = header
            .v
            .ok_or_else(|| RecordError::MissingField { field: "v".into() })?;
        if v != crate::limits::FORMAT_VERSION {
            return Err(RecordError::UnsupportedVersion { value: v });
        }
        Body::decode_kind(header.kind, payload)
    }

    /// Decode a payload whose header was already read.
    pub(crate) fn decode_kind(kind: Option<String>, payload: &[u8]) -> Result<Body, RecordError> {
        use crate::decode::decode;
        let kind = kind.ok_or_else(|| RecordError::MissingField {
            field: "kind".into(),
        })?;
        let kind: Kind = kind
            .parse()
            .map_err(|rule| RecordError::invalid("kind", &kind, rule))?;
        Ok(match kind {
            Kind::Hub => Body::Hub(decode(payload, "payload")?),
            Kind::Initiative => Body::Initiative(decode(payload, "payload")?),
            Kind::Endorsement => Body::Endorsement(decode(payload, "payload")?),
            Kind::Retraction => Body::Retraction(decode(payload, "payload")?),
        })
    }
}
