//! Keeps the specification honest: the tables of `specs/protocol.md` and
//! `specs/records.md` that restate the code (vocabularies, limits, error
//! codes, the endorsement table, the worked examples) are parsed here and
//! compared with the code, so that neither can change without the other.
//!
//! Where the code cannot be enumerated (Rust has no reflection over a
//! module's constants or an enum's variants), the test reads the source files
//! themselves, so that a new constant or a new error code that is missing from
//! the spec fails here rather than going unnoticed.

use std::collections::BTreeSet;

use essaim_protocol::error::{RecordError, Rule};
use essaim_protocol::limits::*;
use essaim_protocol::territory::{Territory, TerritoryError};
use essaim_protocol::vocab::{
    Audience, EndorsementType, HubKind, Kind, Lang, LegalForm, ReplicationModel, Stage, Theme,
    WELL_KNOWN_LABELS,
};
use essaim_protocol::{Body, HubId, HubKey, sign, verify, verify_json};
use serde_json::{Value, json};

const PROTOCOL_MD: &str = include_str!("../../specs/protocol.md");
const RECORDS_MD: &str = include_str!("../../specs/records.md");
const LIMITS_RS: &str = include_str!("../src/limits.rs");
const ERROR_RS: &str = include_str!("../src/error.rs");
const TERRITORY_RS: &str = include_str!("../src/territory.rs");

// ---------------------------------------------------------------------------
// Reading the Markdown.

/// The text of the section whose heading line is exactly `heading`, up to the
/// next heading of the same or a higher level (headings inside code fences
/// do not count).
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let level = heading.bytes().take_while(|&b| b == b'#').count();
    let start = doc
        .lines()
        .position(|line| line == heading)
        .unwrap_or_else(|| panic!("the spec has no heading `{heading}`"));
    let mut in_fence = false;
    let mut offset = 0;
    let mut begin = None;
    for (n, line) in doc.split_inclusive('\n').enumerate() {
        let text = line.trim_end_matches('\n');
        if n > start {
            begin.get_or_insert(offset);
            if text.starts_with("```") {
                in_fence = !in_fence;
            }
            let hashes = text.bytes().take_while(|&b| b == b'#').count();
            if !in_fence && hashes > 0 && hashes <= level && text[hashes..].starts_with(' ') {
                return &doc[begin.unwrap_or(offset)..offset];
            }
        }
        offset += line.len();
    }
    &doc[begin.unwrap_or(offset)..]
}

/// The body rows of every Markdown table in `text` (header and separator
/// rows left out), each as its trimmed cells.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.starts_with('|') {
            continue;
        }
        // A header row: skip it and its separator, then read the body.
        if lines.peek().is_some_and(|next| next.starts_with("|--")) {
            lines.next();
            while let Some(row) = lines.next_if(|l| l.starts_with('|')) {
                rows.push(cells(row));
            }
        }
    }
    rows
}

/// The header row of the first table in `text`.
fn table_header(text: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with('|'))
        .expect("a table in the section");
    cells(line)
}

fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// A cell without its surrounding backticks.
fn unquote(cell: &str) -> &str {
    cell.strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or(cell)
}

/// `text` with every run of white space (line breaks included) made one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The content of the first fenced code block of `lang` in `text`.
fn code_block<'a>(text: &'a str, lang: &str) -> &'a str {
    let open = format!("```{lang}\n");
    let start = text.find(&open).expect("a fenced code block") + open.len();
    let end = text[start..].find("\n```").expect("a closed code block") + start;
    &text[start..end]
}

// ---------------------------------------------------------------------------
// Vocabularies (records.md §6).

macro_rules! vocabulary_rows {
    ($t:ty) => {
        <$t>::ALL
            .iter()
            .map(|t| {
                vec![
                    format!("`{}`", t.code()),
                    t.label(Lang::Fr).to_owned(),
                    t.label(Lang::En).to_owned(),
                ]
            })
            .collect::<Vec<_>>()
    };
}

macro_rules! check_vocabulary {
    ($t:ty) => {{
        let heading = format!("### Vocabulary: {}", <$t>::VOCABULARY);
        let text = section(RECORDS_MD, &heading);
        assert_eq!(
            table_header(text),
            ["code", "français", "English"],
            "{heading}: columns"
        );
        assert_eq!(
            table_rows(text),
            vocabulary_rows!($t),
            "{heading}: the table must list `{}::ALL`, in order, with its labels",
            stringify!($t)
        );
    }};
}

#[test]
fn vocabulary_tables_match_the_code() {
    check_vocabulary!(Kind);
    check_vocabulary!(HubKind);
    check_vocabulary!(Theme);
    check_vocabulary!(Audience);
    check_vocabulary!(Stage);
    check_vocabulary!(LegalForm);
    check_vocabulary!(ReplicationModel);
    check_vocabulary!(EndorsementType);
}

#[test]
fn every_vocabulary_has_a_table() {
    let documented: Vec<&str> = RECORDS_MD
        .lines()
        .filter_map(|l| l.strip_prefix("### Vocabulary: "))
        .collect();
    let in_code = [
        Kind::VOCABULARY,
        HubKind::VOCABULARY,
        Theme::VOCABULARY,
        Audience::VOCABULARY,
        Stage::VOCABULARY,
        LegalForm::VOCABULARY,
        ReplicationModel::VOCABULARY,
        EndorsementType::VOCABULARY,
    ];
    assert_eq!(documented, in_code);
    // Every `vocabulary!` of vocab.rs is among the types checked above.
    let declared = include_str!("../src/vocab.rs")
        .matches("\nvocabulary! {")
        .count();
    assert_eq!(
        declared,
        in_code.len(),
        "a vocabulary was added to vocab.rs"
    );
}

#[test]
fn well_known_labels_match_the_code() {
    let text = section(RECORDS_MD, "### Well-known labels");
    let expected: Vec<Vec<String>> = WELL_KNOWN_LABELS
        .iter()
        .map(|(fr, en)| vec![(*fr).to_owned(), (*en).to_owned()])
        .collect();
    assert_eq!(table_rows(text), expected);
}

// ---------------------------------------------------------------------------
// Limits (protocol.md §11).

/// A constant's value, as the spec writes it.
fn limits() -> Vec<(&'static str, String)> {
    let n = |v: usize| v.to_string();
    vec![
        ("MAX_PAYLOAD_BYTES", n(MAX_PAYLOAD_BYTES)),
        ("MAX_ENVELOPE_BYTES", n(MAX_ENVELOPE_BYTES)),
        ("MAX_JSON_VIEW_BYTES", n(MAX_JSON_VIEW_BYTES)),
        ("MAX_FUTURE_SKEW_SECS", MAX_FUTURE_SKEW_SECS.to_string()),
        ("MAX_SAFE_INTEGER", MAX_SAFE_INTEGER.to_string()),
        ("FORMAT_VERSION", FORMAT_VERSION.to_string()),
        (
            "SIGNATURE_DOMAIN",
            format!(
                "`{}`",
                String::from_utf8_lossy(SIGNATURE_DOMAIN).replace('\0', "\\0")
            ),
        ),
        ("SLUG_MAX", n(SLUG_MAX)),
        ("NAME_MAX", n(NAME_MAX)),
        ("SUMMARY_MAX", n(SUMMARY_MAX)),
        ("DESCRIPTION_MAX", n(DESCRIPTION_MAX)),
        ("LANGUAGES_MAX", n(LANGUAGES_MAX)),
        ("LABEL_MAX", n(LABEL_MAX)),
        ("COMMENT_MAX", n(COMMENT_MAX)),
        ("SHORT_MAX", n(SHORT_MAX)),
        ("PARTNER_MAX", n(PARTNER_MAX)),
        ("URL_MAX", n(URL_MAX)),
        ("EMAIL_MAX", n(EMAIL_MAX)),
        ("MULTIADDR_MAX", n(MULTIADDR_MAX)),
        ("LICENCE_MAX", n(LICENCE_MAX)),
        ("THEMES_MAX", n(THEMES_MAX)),
        ("AUDIENCES_MAX", n(AUDIENCES_MAX)),
        ("TERRITORIES_MAX", n(TERRITORIES_MAX)),
        ("HUB_TERRITORIES_MAX", n(HUB_TERRITORIES_MAX)),
        ("REPOSITORIES_MAX", n(REPOSITORIES_MAX)),
        ("INDICATORS_MAX", n(INDICATORS_MAX)),
        ("CONTACTS_MAX", n(CONTACTS_MAX)),
        ("PARTNERS_MAX", n(PARTNERS_MAX)),
        ("MULTIADDRS_MAX", n(MULTIADDRS_MAX)),
    ]
}

/// The names of the constants declared in `limits.rs`, in order.
fn declared_limits() -> Vec<&'static str> {
    LIMITS_RS
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect()
}

#[test]
fn the_limits_table_lists_every_constant_with_its_value() {
    let known = limits();
    let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        declared_limits(),
        names,
        "limits.rs and this test's list differ: add the new constant here and to protocol.md §11"
    );
    let rows = table_rows(section(PROTOCOL_MD, "### Constants"));
    let documented: Vec<(String, String)> = rows
        .iter()
        .map(|row| (unquote(&row[0]).to_owned(), row[1].clone()))
        .collect();
    let expected: Vec<(String, String)> = known
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    assert_eq!(documented, expected, "protocol.md §11, table of constants");
}

#[test]
fn constants_quoted_with_a_value_have_that_value() {
    // Wherever the spec writes "`NAME` (number)", the number is the constant's.
    for (name, value) in limits() {
        let quoted = format!("`{name}` (");
        for doc in [PROTOCOL_MD, RECORDS_MD] {
            for (at, _) in doc.match_indices(&quoted) {
                let rest = &doc[at + quoted.len()..];
                let written = &rest[..rest.find(')').expect("a closing parenthesis")];
                if written.starts_with(|c: char| c.is_ascii_digit()) {
                    assert_eq!(written, value, "`{name}` is quoted as ({written})");
                }
            }
        }
    }
    // The bounds of records.md name their constants.
    for name in [
        "NAME_MAX",
        "SUMMARY_MAX",
        "DESCRIPTION_MAX",
        "URL_MAX",
        "THEMES_MAX",
    ] {
        assert!(RECORDS_MD.contains(&format!("`{name}` (")), "{name}");
    }
}

#[test]
fn the_json_view_limit_is_the_one_documented() {
    let limit = MAX_JSON_VIEW_BYTES;
    assert!(PROTOCOL_MD.contains("`MAX_JSON_VIEW_BYTES` ("));
    let at_limit = " ".repeat(limit);
    assert_eq!(verify_json(&at_limit, 0).unwrap_err().code(), "bad_view");
    let over = " ".repeat(limit + 1);
    assert_eq!(verify_json(&over, 0).unwrap_err().code(), "too_large");
}

// ---------------------------------------------------------------------------
// Error codes (protocol.md §12).

/// One value of every variant of the error enums.
fn every_error() -> Vec<RecordError> {
    let territory = [
        "x",         // syntax
        "reg:99",    // unknown région
        "dep:99",    // unknown département
        "com:99999", // unknown commune
        "com:69381", // arrondissement
    ]
    .map(|s| Territory::parse(s).expect_err("invalid on purpose"));
    let mut rules = vec![
        Rule::Slug,
        Rule::HubSlug,
        Rule::Length {
            min: 1,
            max: 2,
            actual: 3,
            unit: "bytes",
        },
        Rule::Count {
            min: 1,
            max: 2,
            actual: 3,
        },
        Rule::Duplicate,
        Rule::ControlCharacter,
        Rule::Blank,
        Rule::IntegerRange { min: 0, max: 1 },
        Rule::FutureCreated { ahead: 1, max: 0 },
        Rule::Spdx { reason: "r".into() },
        Rule::UnknownTerm {
            vocabulary: "theme",
            allowed: "a".into(),
        },
        Rule::Siren,
        Rule::Url { reason: "r" },
        Rule::UrlNotNormalised {
            normalised: "https://example.org/".into(),
        },
        Rule::Sdg,
        Rule::HubId { reason: "r" },
        Rule::Address { reason: "r" },
        Rule::Subject,
        Rule::Email,
        Rule::Commit,
        Rule::Language,
        Rule::FrenchRequired,
        Rule::ContactEmpty,
        Rule::Multiaddr { reason: "r".into() },
        Rule::RequiredFor {
            endorsement: "label",
        },
        Rule::NotAllowedFor {
            endorsement: "label",
        },
        Rule::SelfLabel,
        Rule::EmptyObject { fields: "a, b" },
        Rule::ValidityBeforeCreation,
        Rule::RetractRetraction,
        Rule::RepositoryName,
    ];
    rules.extend(territory.into_iter().map(Rule::Territory));
    let mut errors = vec![
        RecordError::TooLarge {
            what: "payload",
            size: 2,
            limit: 1,
        },
        RecordError::Envelope { reason: "r".into() },
        RecordError::SignatureLength { len: 63 },
        RecordError::BadSignature { author: "a".into() },
        RecordError::NonCanonical { what: "payload" },
        RecordError::Malformed {
            field: ".".into(),
            reason: "r".into(),
        },
        RecordError::UnknownField { field: "x".into() },
        RecordError::MissingField { field: "x".into() },
        RecordError::UnsupportedVersion { value: 2 },
        RecordError::ViewMismatch { field: "id" },
        RecordError::View { reason: "r".into() },
        RecordError::WrongKey {
            author: "a".into(),
            key: "k".into(),
        },
    ];
    errors.extend(rules.into_iter().map(|rule| RecordError::Invalid {
        field: "f".into(),
        value: "v".into(),
        rule,
    }));
    errors
}

/// The string literals returned by the `code` method of `impl <ty>` in `src`.
fn codes_in_source(src: &str, ty: &str) -> BTreeSet<String> {
    let block = &src[src
        .find(&format!("\nimpl {ty} {{"))
        .unwrap_or_else(|| panic!("impl {ty}"))..];
    let body = &block[block.find("pub fn code(&self)").expect("a code method")..];
    let body = &body[..body.find("\n    }\n").expect("the end of the method")];
    body.split("=> \"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("a closing quote")].to_owned())
        .collect()
}

#[test]
fn every_error_code_is_documented() {
    let errors = every_error();
    let from_values: BTreeSet<String> = errors.iter().map(|e| e.code().to_owned()).collect();
    let mut from_source = codes_in_source(ERROR_RS, "RecordError");
    from_source.extend(codes_in_source(ERROR_RS, "Rule"));
    from_source.extend(codes_in_source(TERRITORY_RS, "TerritoryError"));
    assert_eq!(
        from_values, from_source,
        "a variant was added to an error enum: construct it in every_error()"
    );
    assert_eq!(from_values.len(), errors.len(), "two variants share a code");

    let rows = table_rows(section(PROTOCOL_MD, "## 12. Error codes"));
    let documented: Vec<String> = rows.iter().map(|r| unquote(&r[0]).to_owned()).collect();
    let documented_set: BTreeSet<String> = documented.iter().cloned().collect();
    assert_eq!(
        documented.len(),
        documented_set.len(),
        "a code is listed twice"
    );
    assert_eq!(documented_set, from_values, "protocol.md §12 and the code");
}

#[test]
fn the_field_column_says_which_errors_carry_a_field() {
    let rows = table_rows(section(
        PROTOCOL_MD,
        "### Codes of the envelope, the signature and the format",
    ));
    for error in every_error() {
        if matches!(error, RecordError::Invalid { .. }) {
            // Field rules and territory errors always name their field.
            assert!(error.field().is_some());
            continue;
        }
        let row = rows
            .iter()
            .find(|r| unquote(&r[0]) == error.code())
            .unwrap_or_else(|| panic!("{} is not in the first table of §12", error.code()));
        assert_eq!(
            row[1].starts_with("yes"),
            error.field().is_some(),
            "field column of {}",
            error.code()
        );
    }
}

// ---------------------------------------------------------------------------
// Endorsements (records.md §3.3).

const NOW: u64 = 1_790_000_000;

fn key(n: u8) -> HubKey {
    HubKey::from_seed(&[n; 32])
}

fn sign_json(body: &Value, signer: &HubKey) -> Result<(), RecordError> {
    let body = Body::from_json(body.clone())?;
    sign(body, signer, NOW).map(|_| ())
}

/// A valid value for each optional endorsement field the table governs.
fn sample(field: &str) -> Value {
    match field {
        "label" => json!("French Impact — Pionnier"),
        "territory" => json!("dep:42"),
        "carrier" => json!("Centre social"),
        "amount_cents" => json!(150_000),
        "programme" => json!("Fonds d'essaimage"),
        other => panic!("no sample for `{other}`: add one"),
    }
}

#[test]
fn the_endorsement_table_is_what_validation_does() {
    let text = section(RECORDS_MD, "#### Endorsement fields by type");
    let header = table_header(text);
    let types: Vec<&str> = EndorsementType::ALL.iter().map(|t| t.code()).collect();
    assert_eq!(header[0], "field");
    assert_eq!(
        &header[1..],
        types,
        "one column per endorsement type, in order"
    );
    let rows = table_rows(text);
    let signer = key(2);
    let base = json!({
        "v": 1, "kind": "endorsement", "author": signer.hub_id().to_string(),
        "slug": "soutien", "seq": 1, "created": NOW - 3_600,
        "subject": format!("{}/initiative/epicerie-solidaire", key(1).hub_id()),
    });
    for (column, t) in types.iter().enumerate() {
        let rule = |row: &Vec<String>| row[column + 1].clone();
        let mut full = base.clone();
        full["type"] = json!(t);
        for row in rows.iter().filter(|r| rule(r) == "R") {
            let field = unquote(&row[0]);
            full[field] = sample(field);
        }
        assert_eq!(
            sign_json(&full, &signer),
            Ok(()),
            "{t} with its required fields"
        );
        let mut extra = full.clone();
        extra["comment"] = json!("Accompagnement exemplaire.");
        extra["valid_until"] = json!(NOW + 86_400);
        extra["revoked"] = json!(true);
        assert_eq!(
            sign_json(&extra, &signer),
            Ok(()),
            "{t}: comment, valid_until, revoked"
        );
        for row in &rows {
            let field = unquote(&row[0]);
            let outcome = match rule(row).as_str() {
                "R" => {
                    let mut without = full.clone();
                    without.as_object_mut().expect("an object").remove(field);
                    sign_json(&without, &signer)
                }
                "A" | "-" => {
                    let mut with = full.clone();
                    with[field] = sample(field);
                    sign_json(&with, &signer)
                }
                other => panic!("unknown rule `{other}` in the endorsement table"),
            };
            let expected = match rule(row).as_str() {
                "R" => Some("required_for_type"),
                "-" => Some("not_allowed_for_type"),
                _ => None,
            };
            match (outcome, expected) {
                (Ok(()), None) => {}
                (Err(e), Some(code)) => {
                    assert_eq!((e.code(), e.field()), (code, Some(field)), "{t}, {field}");
                }
                (got, want) => panic!("{t}, {field}: got {got:?}, the table says {want:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Examples.

#[test]
fn the_example_initiative_is_valid_and_is_its_own_json_body() {
    let text = section(RECORDS_MD, "## 7. Example");
    let example: Value = serde_json::from_str(code_block(text, "json")).expect("valid JSON");
    let created = example["created"].as_u64().expect("created");
    let body = Body::from_json(example.clone()).expect("the example decodes");
    let record = sign(body, &key(1), created).expect("the example is valid");
    assert_eq!(record.to_json_view().body_value(), Some(example));
    assert_eq!(
        verify(&record.to_envelope(), created - MAX_FUTURE_SKEW_SECS).map(|r| r.id()),
        Ok(record.id())
    );
}

#[test]
fn the_worked_hub_ids_are_right() {
    let rows = table_rows(section(PROTOCOL_MD, "### 2.4 Worked example"));
    assert!(rows.len() >= 2);
    for row in rows {
        let seed: u8 = unquote(&row[0])
            .trim_start_matches('[')
            .split(';')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a seed written `[n; 32]`");
        let id = key(seed).hub_id();
        let hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(unquote(&row[1]), hex, "public key of seed {seed}");
        assert_eq!(unquote(&row[2]), id.to_string(), "hub id of seed {seed}");
        assert!(id.to_string().starts_with("did:key:z6Mk"));
    }
    let w3c = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
    assert!(PROTOCOL_MD.contains(w3c));
    assert!(w3c.parse::<HubId>().is_ok());
}

/// The keys of a CBOR map, in the order they are encoded.
struct KeysInOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeysInOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeysInOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeysInOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(key);
                }
                Ok(KeysInOrder(keys))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[test]
fn the_envelope_layout_and_key_order_are_the_encoder_s() {
    let example: Value =
        serde_json::from_str(code_block(section(RECORDS_MD, "## 7. Example"), "json"))
            .expect("valid JSON");
    let created = example["created"].as_u64().expect("created");
    let record = sign(Body::from_json(example).expect("decodes"), &key(1), created).expect("valid");

    // protocol.md §3.1: the top-level keys of a full initiative, in order.
    let text = flat(section(PROTOCOL_MD, "### 3.1 The encoding"));
    let start = text
        .find("come in this order: ")
        .expect("the key order sentence");
    let sentence = &text[start..text[start..].find('.').expect("a full stop") + start];
    let documented: Vec<&str> = sentence.split('`').skip(1).step_by(2).collect();
    let KeysInOrder(encoded) =
        serde_ipld_dagcbor::from_slice(record.payload()).expect("a canonical map");
    assert_eq!(documented, encoded);

    // protocol.md §4.1: `a2`, "sig", 64 bytes, "payload", the payload.
    let envelope = record.to_envelope();
    assert_eq!(envelope[..7], [0xa2, 0x63, b's', b'i', b'g', 0x58, 0x40]);
    assert_eq!(envelope[7..71], record.sig()[..]);
    assert_eq!(envelope[71..79], *b"\x67payload");
    assert!(envelope.ends_with(record.payload()));

    // protocol.md §4.2: the signature domain, in hex.
    let text = flat(section(PROTOCOL_MD, "### 4.2 The signature input"));
    let start = text.find("the 17 bytes `").expect("the domain in hex") + "the 17 bytes `".len();
    let hex = &text[start..start + text[start..].find('`').expect("closing backtick")];
    let bytes: Vec<u8> = hex
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect();
    assert_eq!(bytes, SIGNATURE_DOMAIN);
}

#[test]
fn territory_counts_are_the_table_s() {
    let (regions, departements, communes) = essaim_protocol::territory::counts();
    let claim =
        format!("holds {regions} régions, {departements} départements, {communes} communes");
    assert!(
        flat(RECORDS_MD).contains(&claim),
        "records.md §4.3 should say `{claim}`"
    );
    for (input, code) in [
        ("com:69381", "arrondissement_not_commune"),
        ("dep:20", "unknown_departement"),
        ("com:20004", "unknown_commune"),
        ("com:2a004", "territory_syntax"),
    ] {
        let error: TerritoryError = Territory::parse(input).expect_err(input);
        assert_eq!(error.code(), code, "{input}");
    }
}
