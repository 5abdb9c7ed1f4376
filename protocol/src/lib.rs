//! # essaim-protocol
//!
//! The one thing every Essaim node agrees on: a signed record that anyone can
//! verify, byte for byte, without trusting whoever relayed it.
//!
//! This crate is pure: no I/O, no async, no clock. Callers pass the current
//! time in where a rule needs it (`created` may not be in the future), and read
//! or write files themselves.
//!
//! | module | what it holds |
//! |---|---|
//! | [`hub_id`] | hub identities (`did:key:z6Mk…`) and signing keys |
//! | [`vocab`] | controlled vocabularies, each term with its French and English label |
//! | [`territory`] | INSEE territory codes (`FR`, `reg:84`, `dep:69`, `com:69123`), checked against COG 2026 |
//! | [`record`] | the record kinds (`hub`, `initiative`, `endorsement`, `retraction`) as typed structs |
//! | [`error`] | [`RecordError`]: one typed error per rule, naming the field, the value and the rule |
//! | [`envelope`] | DAG-CBOR envelopes, signatures, record ids, the JSON view, verification |
//! | [`address`] | addresses (`<author>/<kind>/<slug>`) and last-writer-wins ordering |
//! | [`limits`] | every bound of the format, in one place |
//!
//! The normative text is `specs/protocol.md` and `specs/records.md`; the test
//! vectors in `specs/vectors/` are checked by this crate's tests.
#![deny(missing_docs)]

pub mod address;
mod decode;
pub mod envelope;
pub mod error;
pub mod hub_id;
pub mod limits;
pub mod record;
pub mod territory;
pub mod validate;
pub mod vectors;
pub mod vocab;

pub use address::{Address, Version};
pub use envelope::{
    RecordId, RecordJson, SignedRecord, sign, verify, verify_any, verify_json, verify_parts,
};
pub use error::{RecordError, Rule};
pub use hub_id::{HubId, HubKey, KeyError};
pub use record::{Body, Kind};
pub use territory::Territory;
pub use validate::validate;
