//! Why a record was refused.
//!
//! Every rule of the format has its own typed variant and a stable snake_case
//! code (used by the test vectors, the HTTP API and the CLI). Errors about a
//! field name the field (as a path, `repositories[0].licence`), the offending
//! value (shortened when long) and the rule, in words a hub operator can act on.

use crate::territory::TerritoryError;

/// A record that cannot be accepted, and why.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The envelope or the payload is larger than the format allows.
    #[error("{what} is {size} bytes; the limit is {limit} bytes: shorten the record")]
    TooLarge {
        /// `envelope` or `payload`.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The bytes are not a DAG-CBOR envelope `{payload, sig}`.
    #[error("not a signed Essaim record: {reason}")]
    Envelope {
        /// What the decoder found wrong.
        reason: String,
    },
    /// The signature is not 64 bytes long.
    #[error("the signature is {len} bytes; an Ed25519 signature is 64 bytes")]
    SignatureLength {
        /// Its length in bytes.
        len: usize,
    },
    /// The signature does not verify against the author's key.
    #[error(
        "signature does not match author {author}: the record was altered or not signed by that hub"
    )]
    BadSignature {
        /// The author named in the payload.
        author: String,
    },
    /// The envelope or payload decodes, but does not re-encode to the same bytes.
    #[error(
        "{what} is not in canonical DAG-CBOR form (it must re-encode to the same bytes): re-sign it with an Essaim tool"
    )]
    NonCanonical {
        /// `envelope` or `payload`.
        what: &'static str,
    },
    /// The payload is not a well-formed DAG-CBOR map of the expected shape.
    #[error("field `{field}`: {reason}")]
    Malformed {
        /// Where the decoder stopped (`.` for the whole payload).
        field: String,
        /// What it found wrong.
        reason: String,
    },
    /// The payload has a field this format version does not define.
    #[error("field `{field}` is not part of format version 1: remove it (check its spelling)")]
    UnknownField {
        /// The path of the unknown field.
        field: String,
    },
    /// A required field is absent.
    #[error("field `{field}` is required")]
    MissingField {
        /// The path of the missing field.
        field: String,
    },
    /// `v` is not 1.
    #[error(
        "format version `v` = {value} is not supported: this node reads version 1 (upgrade Essaim to read newer records)"
    )]
    UnsupportedVersion {
        /// The version found.
        value: u64,
    },
    /// The JSON view's `id` or `body` disagrees with its signed payload.
    #[error(
        "the JSON view's `{field}` does not match its signed payload: the view was edited; use the `payload` and `sig` fields only"
    )]
    ViewMismatch {
        /// `id` or `body`.
        field: &'static str,
    },
    /// The JSON view itself is not readable.
    #[error("not a JSON view of a record: {reason}")]
    View {
        /// What was wrong.
        reason: String,
    },
    /// The signing key is not the author's.
    #[error(
        "the record's author is {author} but the key belongs to {key}: sign with the author's key"
    )]
    WrongKey {
        /// The author named in the body.
        author: String,
        /// The hub id of the key.
        key: String,
    },
    /// A field breaks one of the format's rules.
    #[error("{}", invalid_message(field, value, rule))]
    Invalid {
        /// The path of the field (`territories[2]`, `carrier.siren`).
        field: String,
        /// The offending value, shortened to 80 characters.
        value: String,
        /// The rule it breaks.
        rule: Rule,
    },
}

impl RecordError {
    /// A stable snake_case code for this error (test vectors, HTTP API, scripts).
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::TooLarge { .. } => "too_large",
            RecordError::Envelope { .. } => "bad_envelope",
            RecordError::SignatureLength { .. } => "signature_length",
            RecordError::BadSignature { .. } => "bad_signature",
            RecordError::NonCanonical { .. } => "non_canonical",
            RecordError::Malformed { .. } => "malformed",
            RecordError::UnknownField { .. } => "unknown_field",
            RecordError::MissingField { .. } => "missing_field",
            RecordError::UnsupportedVersion { .. } => "unsupported_version",
            RecordError::ViewMismatch { .. } => "view_mismatch",
            RecordError::View { .. } => "bad_view",
            RecordError::WrongKey { .. } => "wrong_key",
            RecordError::Invalid { rule, .. } => rule.code(),
        }
    }

    /// The field the error is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            RecordError::Malformed { field, .. }
            | RecordError::UnknownField { field }
            | RecordError::MissingField { field }
            | RecordError::Invalid { field, .. } => Some(field),
            RecordError::UnsupportedVersion { .. } => Some("v"),
            RecordError::ViewMismatch { field } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, value: impl AsRef<str>, rule: Rule) -> Self {
        RecordError::Invalid {
            field: field.into(),
            value: shorten(value.as_ref()),
            rule,
        }
    }
}

/// A rule of the format that a field breaks.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    /// Not a slug.
    #[error(
        "a slug is 1 to 64 characters of a-z, 0-9 and single inner hyphens (`epicerie-solidaire`)"
    )]
    Slug,
    /// A hub profile's slug must be `profile`.
    #[error("a hub record's slug is always `profile`")]
    HubSlug,
    /// A string is shorter or longer than allowed.
    #[error("length {actual} is outside {min}..={max} {unit}")]
    Length {
        /// Smallest length.
        min: usize,
        /// Largest length.
        max: usize,
        /// Length found.
        actual: usize,
        /// `characters` or `bytes`.
        unit: &'static str,
    },
    /// A list has too few or too many items.
    #[error("{actual} items, but {min} to {max} are allowed")]
    Count {
        /// Fewest items.
        min: usize,
        /// Most items.
        max: usize,
        /// Items found.
        actual: usize,
    },
    /// The same item appears twice in a list that must not repeat.
    #[error("appears more than once; list each item once")]
    Duplicate,
    /// A text holds a control character where it may not (a line break in a
    /// one-line text, a carriage return or NUL anywhere, a direction override).
    #[error(
        "holds a control or invisible character: no line breaks, tabs or direction marks in one-line texts, and no carriage returns or NUL anywhere"
    )]
    ControlCharacter,
    /// A required text made only of white space or invisible characters.
    #[error("is blank: write some visible text")]
    Blank,
    /// An integer above 2^53 − 1 or out of its range.
    #[error("must be between {min} and {max}")]
    IntegerRange {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: u64,
    },
    /// `created` lies too far in the future.
    #[error(
        "`created` is {ahead} s ahead of this node's clock; at most {max} s are tolerated: check the signer's clock"
    )]
    FutureCreated {
        /// Seconds ahead.
        ahead: u64,
        /// Tolerance in seconds.
        max: u64,
    },
    /// Not an SPDX licence expression.
    #[error(
        "not an SPDX licence expression ({reason}); write e.g. `AGPL-3.0-or-later` or `MIT OR Apache-2.0`"
    )]
    Spdx {
        /// What the SPDX parser found wrong.
        reason: String,
    },
    /// Not a term of the controlled vocabulary.
    #[error("not a {vocabulary}; allowed: {allowed}")]
    UnknownTerm {
        /// The vocabulary's name.
        vocabulary: &'static str,
        /// The allowed codes, comma-separated.
        allowed: String,
    },
    /// A SIREN number that fails its length or Luhn check.
    #[error(
        "not a SIREN number (9 digits, no spaces, with a valid Luhn check digit; from a 14-digit SIRET keep the first 9)"
    )]
    Siren,
    /// A URL that is not an absolute http(s) URL, or holds credentials.
    #[error("not an acceptable URL: {reason}")]
    Url {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URL that is valid but not written in its normalised form.
    #[error("write this URL in its normalised form `{normalised}`")]
    UrlNotNormalised {
        /// The normalised spelling.
        normalised: String,
    },
    /// An SDG number outside 1–17.
    #[error("UN Sustainable Development Goals are numbered 1 to 17")]
    Sdg,
    /// A territory code that is malformed or unknown.
    #[error("{0}")]
    Territory(TerritoryError),
    /// A hub id that is not a valid `did:key` Ed25519 identifier.
    #[error("not a hub id: {reason}")]
    HubId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An address that is not `<hub id>/<kind>/<slug>`.
    #[error("not an address `did:key:z6Mk…/<kind>/<slug>`: {reason}")]
    Address {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An endorsement subject that is neither a hub id nor an initiative address.
    #[error("an endorsement's subject is a hub id or an initiative address")]
    Subject,
    /// Not an e-mail address.
    #[error("not an e-mail address (`name@example.org`)")]
    Email,
    /// Not a git commit id.
    #[error(
        "a pinned commit is a full git object id: 40 (SHA-1) or 64 (SHA-256) lower-case hex digits"
    )]
    Commit,
    /// A language key that is not an ISO 639 code.
    #[error("a language is written as 2 or 3 lower-case letters, as in ISO 639 (`fr`, `en`, `oc`)")]
    Language,
    /// The French text is missing from a language map that requires it.
    #[error("a French text (`fr`) is required")]
    FrenchRequired,
    /// A contact with neither an e-mail nor a URL.
    #[error("a contact needs an `email` or a `url`")]
    ContactEmpty,
    /// Not a multiaddr.
    #[error("not a multiaddr ({reason}); write e.g. `/ip4/203.0.113.7/tcp/4001`")]
    Multiaddr {
        /// What the parser found wrong.
        reason: String,
    },
    /// A field that the endorsement type requires is absent.
    #[error("required for a `{endorsement}` endorsement")]
    RequiredFor {
        /// The endorsement type.
        endorsement: &'static str,
    },
    /// A field that the endorsement type does not use is present.
    #[error("not allowed in a `{endorsement}` endorsement")]
    NotAllowedFor {
        /// The endorsement type.
        endorsement: &'static str,
    },
    /// A hub labelling itself.
    #[error("a hub cannot label itself; labels come from other hubs")]
    SelfLabel,
    /// An optional object present but empty.
    #[error("an empty object: fill in at least one of {fields}, or remove it")]
    EmptyObject {
        /// The fields it may hold.
        fields: &'static str,
    },
    /// A validity end at or before the record's creation.
    #[error("`valid_until` must be later than `created`")]
    ValidityBeforeCreation,
    /// A retraction that targets a retraction.
    #[error(
        "a retraction withdraws a hub, initiative or endorsement address, not another retraction"
    )]
    RetractRetraction,
    /// Two repositories of one initiative share a name.
    #[error("two repositories of one initiative cannot share a name")]
    RepositoryName,
}

impl Rule {
    /// A stable snake_case code for this rule.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::Slug => "bad_slug",
            Rule::HubSlug => "hub_slug",
            Rule::Length { .. } => "length",
            Rule::Count { .. } => "count",
            Rule::Duplicate => "duplicate",
            Rule::ControlCharacter => "control_character",
            Rule::Blank => "blank",
            Rule::IntegerRange { .. } => "integer_range",
            Rule::FutureCreated { .. } => "future_created",
            Rule::Spdx { .. } => "bad_spdx",
            Rule::UnknownTerm { .. } => "unknown_term",
            Rule::Siren => "bad_siren",
            Rule::Url { .. } => "bad_url",
            Rule::UrlNotNormalised { .. } => "url_not_normalised",
            Rule::Sdg => "bad_sdg",
            Rule::Territory(e) => e.code(),
            Rule::HubId { .. } => "bad_hub_id",
            Rule::Address { .. } => "bad_address",
            Rule::Subject => "bad_subject",
            Rule::Email => "bad_email",
            Rule::Commit => "bad_commit",
            Rule::Language => "bad_language",
            Rule::FrenchRequired => "french_required",
            Rule::ContactEmpty => "contact_empty",
            Rule::Multiaddr { .. } => "bad_multiaddr",
            Rule::RequiredFor { .. } => "required_for_type",
            Rule::NotAllowedFor { .. } => "not_allowed_for_type",
            Rule::SelfLabel => "self_label",
            Rule::EmptyObject { .. } => "empty_object",
            Rule::ValidityBeforeCreation => "validity_before_creation",
            Rule::RetractRetraction => "retract_retraction",
            Rule::RepositoryName => "duplicate_repository_name",
        }
    }
}

fn invalid_message(field: &str, value: &str, rule: &Rule) -> String {
    if value.is_empty() {
        format!("`{field}`: {rule}")
    } else {
        format!("`{field}` = `{value}`: {rule}")
    }
}

/// Shorten a value for an error message: at most 80 characters, with `…`.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 80;
    match value.char_indices().nth(MAX) {
        None => value.to_owned(),
        Some((cut, _)) => format!("{}…", &value[..cut]),
    }
}
