//! Every bound of the record format, in one place, so that the spec
//! (`specs/records.md`) and the code cannot drift apart silently: the spec's
//! tables are checked against these constants by a test.

/// Largest payload, in bytes (64 KiB). Gossipsub's transmit size is set to fit it.
pub const MAX_PAYLOAD_BYTES: usize = 65_536;
/// Largest envelope, in bytes: the payload plus the CBOR framing and the signature.
pub const MAX_ENVELOPE_BYTES: usize = MAX_PAYLOAD_BYTES + 128;
/// Largest JSON view, in bytes: the payload in base64url (4/3), the
/// signature and id, and the readable body (at most about twice the payload
/// once JSON escapes are counted).
pub const MAX_JSON_VIEW_BYTES: usize = 262_144;
/// How far in the future `created` may be, in seconds (10 minutes of clock skew).
pub const MAX_FUTURE_SKEW_SECS: u64 = 600;
/// Largest integer anywhere in a record: 2^53 − 1, so the JSON view is exact in every language.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// The only format version this implementation reads and writes.
pub const FORMAT_VERSION: u64 = 1;
/// Domain separation prefix of the signature input.
pub const SIGNATURE_DOMAIN: &[u8] = b"essaim/record/v1\0";

/// Slug length, in bytes (ASCII only).
pub const SLUG_MAX: usize = 64;
/// A name (initiative, hub, organisation, indicator), in characters.
pub const NAME_MAX: usize = 120;
/// A summary, per language, in characters.
pub const SUMMARY_MAX: usize = 500;
/// A description (Markdown), per language, in characters.
pub const DESCRIPTION_MAX: usize = 20_000;
/// Languages in a summary or description map.
pub const LANGUAGES_MAX: usize = 8;
/// A label, a programme or a carrier name in an endorsement, in characters.
pub const LABEL_MAX: usize = 120;
/// A free comment or a retraction reason, in characters.
pub const COMMENT_MAX: usize = 1_000;
/// A short text: an indicator's unit or period, in characters.
pub const SHORT_MAX: usize = 40;
/// A partner sought, in characters.
pub const PARTNER_MAX: usize = 200;
/// A URL, in bytes.
pub const URL_MAX: usize = 2_048;
/// An e-mail address, in bytes (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// A multiaddr in text form, in bytes.
pub const MULTIADDR_MAX: usize = 256;
/// An SPDX licence expression, in bytes.
pub const LICENCE_MAX: usize = 200;

/// Themes of an initiative (at least one).
pub const THEMES_MAX: usize = 5;
/// Audiences of an initiative.
pub const AUDIENCES_MAX: usize = 10;
/// Territories where an initiative runs.
pub const TERRITORIES_MAX: usize = 200;
/// Territories of a hub, or territories sought in needs.
pub const HUB_TERRITORIES_MAX: usize = 100;
/// Repositories of an initiative.
pub const REPOSITORIES_MAX: usize = 16;
/// Impact indicators of an initiative.
pub const INDICATORS_MAX: usize = 20;
/// Contacts of an initiative.
pub const CONTACTS_MAX: usize = 8;
/// Partners sought.
pub const PARTNERS_MAX: usize = 10;
/// Multiaddrs in a hub's endpoints.
pub const MULTIADDRS_MAX: usize = 16;
