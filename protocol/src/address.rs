//! Addresses and last-writer-wins ordering.
//!
//! An address names what a record is a version of: `<author>/<kind>/<slug>`,
//! e.g. `did:key:z6Mk…/initiative/epicerie-solidaire`. In URLs and on the
//! command line an initiative is written `<hub>/<slug>` with the hub id
//! without its `did:key:` prefix (`z6Mk…/epicerie-solidaire`).
//!
//! At one address the head is the version with the highest `seq`, ties broken
//! by the larger record id (bytewise). [`Version`] is that total order.

use std::fmt;

use crate::decode::{ParseRule, string_type};
use crate::envelope::RecordId;
use crate::error::Rule;
use crate::hub_id::HubId;
use crate::record::Slug;
use crate::vocab::Kind;

/// What a record is a version of.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Address {
    /// The author.
    pub author: HubId,
    /// The kind (`hub`, `initiative` or `endorsement`; never `retraction`).
    pub kind: Kind,
    /// The slug.
    pub slug: Slug,
}

impl Address {
    /// The short form of an initiative address: `<hub without did:key:>/<slug>`.
    pub fn short(&self) -> String {
        format!("{}/{}", self.author.short(), self.slug)
    }

    /// Parse an initiative written `<hub>/<slug>`, `did:key:<hub>/<slug>`, or
    /// as a full address.
    pub fn parse_initiative(s: &str) -> Result<Address, Rule> {
        if s.matches('/').count() == 2 {
            let address: Address = s.parse()?;
            if address.kind != Kind::Initiative {
                return Err(Rule::Address {
                    reason: "this is not an initiative's address",
                });
            }
            return Ok(address);
        }
        let (hub, slug) = s.split_once('/').ok_or(Rule::Address {
            reason: "write an initiative as <hub>/<slug>",
        })?;
        Ok(Address {
            author: HubId::parse_lenient(hub)?,
            kind: Kind::Initiative,
            slug: slug.parse()?,
        })
    }
}

impl ParseRule for Address {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        let mut parts = s.splitn(3, '/');
        let (Some(author), Some(kind), Some(slug)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Rule::Address {
                reason: "three parts separated by `/` are expected",
            });
        };
        let kind = Kind::parse_rule(kind)?;
        if kind == Kind::Retraction {
            return Err(Rule::Address {
                reason: "retractions live at the address they withdraw",
            });
        }
        Ok(Address {
            author: HubId::parse_rule(author)?,
            kind,
            slug: Slug::parse_rule(slug)?,
        })
    }
}

string_type!(Address);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.author, self.kind, self.slug)
    }
}

/// The position of a record among the versions at its address: higher `seq`
/// wins, ties broken by the larger record id. A total order: two different
/// records never compare equal, because their ids differ.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Version {
    /// The record's `seq`.
    pub seq: u64,
    /// The record's id.
    pub id: RecordId,
}

impl Version {
    /// True when `self` replaces `other` as the head of their address.
    pub fn supersedes(&self, other: &Version) -> bool {
        self > other
    }
}
