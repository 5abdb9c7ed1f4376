//! Records written by hand — in TOML, YAML or JSON — turned into bodies to sign.
//!
//! A draft is a record body without the fields a tool fills in: `v` (1),
//! `author` (the signing hub), `created` (now) and `seq` (now, in
//! milliseconds, so that a later edit wins). A draft may still give them;
//! `author` must then be the signer.
//!
//! Drafts are written by people, so a few forms are accepted and rewritten
//! into the record's one form before checking (the signed record never holds
//! them):
//! - URLs (in `website`, `url`, `kit`, `http`) in their normalised spelling
//!   (`https://example.org` → `https://example.org/`);
//! - Windows line ends (`\r\n`) → `\n`;
//! - a plain text for `summary` or `description` → the French text (`{fr = …}`);
//! - dates for `created` and `valid_until` (`2027-12-31`, `2027-12-31T18:00:00Z`,
//!   or a TOML date) → unix seconds (a bare date is midnight UTC);
//! - numbers for `siren` and `period`, and SIRENs written with spaces → texts;
//! - an endorsement `subject` written `<hub>/<slug>` → the initiative's full address.

use std::path::Path;

use essaim_protocol::record::WebUrl;
use essaim_protocol::{Body, HubId, RecordError};
use serde_json::Value;

/// The languages a draft can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file name implies, else a guess from the content.
    pub fn detect(path: Option<&Path>, text: &str) -> Format {
        match path
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("toml") => Format::Toml,
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ if text.trim_start().starts_with('{') => Format::Json,
            _ if text
                .lines()
                .any(|l| l.trim_start().starts_with('[') || l.contains(" = ")) =>
            {
                Format::Toml
            }
            _ => Format::Yaml,
        }
    }
}

/// Why a draft could not be turned into a body.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// The text is not valid in its format.
    #[error("not valid {format:?}: {message}")]
    Syntax {
        /// The format it was read as.
        format: Format,
        /// The parser's message.
        message: String,
    },
    /// The top level is not a table/map.
    #[error(
        "a record is a table of fields (`kind = \"initiative\"`, `name = …`), not a list or a value"
    )]
    NotATable,
    /// The draft names an author other than the signer.
    #[error(
        "the draft's author is {draft} but it would be signed by {signer}: remove `author` or sign with that hub's data dir"
    )]
    OtherAuthor {
        /// The author in the draft.
        draft: String,
        /// The signing hub.
        signer: String,
    },
    /// A field breaks a rule of the format.
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl DraftError {
    /// A stable code, for machine output.
    pub fn code(&self) -> &'static str {
        match self {
            DraftError::Syntax { .. } => "draft_syntax",
            DraftError::NotATable => "draft_not_a_table",
            DraftError::OtherAuthor { .. } => "wrong_key",
            DraftError::Record(e) => e.code(),
        }
    }
}

/// Read a draft into a body signed by `author` at `now` (unix seconds), with
/// `seq` = `now` in milliseconds unless the draft gives one.
pub fn parse(text: &str, format: Format, author: &HubId, now: u64) -> Result<Body, DraftError> {
    parse_with_seq(text, format, author, now, now.saturating_mul(1000))
}

/// [`parse`] with the default `seq` given (the current time in milliseconds,
/// so that two edits within a second still follow each other).
pub fn parse_with_seq(
    text: &str,
    format: Format,
    author: &HubId,
    now: u64,
    seq: u64,
) -> Result<Body, DraftError> {
    let syntax = |message: String| DraftError::Syntax { format, message };
    let mut value: Value = match format {
        Format::Toml => toml::from_str(text).map_err(|e| syntax(e.to_string()))?,
        Format::Yaml => {
            // YAML 1.2 booleans only: `name: N` or `pays: no` stay texts
            // (the "Norway problem" of YAML 1.1).
            let options = serde_saphyr::options! { strict_booleans: true };
            serde_saphyr::from_str_with_options(text, options).map_err(|e| syntax(e.to_string()))?
        }
        Format::Json => serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?,
    };
    let map = value.as_object_mut().ok_or(DraftError::NotATable)?;
    if let Some(given) = map.get("author") {
        let same = given
            .as_str()
            .and_then(|text| HubId::parse_lenient(text).ok())
            .is_some_and(|id| id == *author);
        if !same {
            return Err(DraftError::OtherAuthor {
                draft: given
                    .as_str()
                    .map_or_else(|| given.to_string(), str::to_owned),
                signer: author.to_string(),
            });
        }
    }
    map.entry("v").or_insert(Value::from(1));
    map.insert("author".into(), Value::from(author.to_string()));
    map.entry("created").or_insert(Value::from(now));
    map.entry("seq").or_insert(Value::from(seq));
    normalise_texts(&mut value, None);
    accept_human_forms(&mut value)?;
    Ok(Body::from_json(value)?)
}

/// Rewrite the forms people write into the record's one form (see the module doc).
fn accept_human_forms(value: &mut Value) -> Result<(), DraftError> {
    let Some(map) = value.as_object_mut() else {
        return Ok(());
    };
    for field in ["summary", "description"] {
        if let Some(Value::String(text)) = map.get(field) {
            let text = text.clone();
            map.insert(field.into(), serde_json::json!({ "fr": text }));
        }
    }
    for field in ["created", "valid_until"] {
        if let Some(date) = map.get(field).and_then(date_text) {
            let seconds = unix_seconds(&date).ok_or_else(|| {
                DraftError::Record(RecordError::Malformed {
                    field: field.into(),
                    reason: format!(
                        "`{date}` is not a date: write 2027-12-31 or 2027-12-31T18:00:00Z"
                    ),
                })
            })?;
            map.insert(field.into(), Value::from(seconds));
        }
    }
    if let Some(Value::Object(carrier)) = map.get_mut("carrier") {
        match carrier.get("siren") {
            Some(Value::Number(n)) => {
                let text = format!("{n:0>9}");
                carrier.insert("siren".into(), Value::from(text));
            }
            Some(Value::String(text)) if text.contains(' ') => {
                let text: String = text.chars().filter(|c| *c != ' ').collect();
                carrier.insert("siren".into(), Value::from(text));
            }
            _ => {}
        }
    }
    if let Some(Value::Array(impact)) = map.get_mut("impact") {
        for indicator in impact.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(Value::Number(n)) = indicator.get("period") {
                let text = n.to_string();
                indicator.insert("period".into(), Value::from(text));
            }
        }
    }
    if let Some(Value::String(subject)) = map.get("subject")
        && subject.matches('/').count() == 1
        && let Ok(address) = essaim_protocol::Address::parse_initiative(subject)
    {
        map.insert("subject".into(), Value::from(address.to_string()));
    }
    Ok(())
}

/// A date as text, from a string or a TOML date (which arrives as a table).
fn date_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(table) => table
            .get("$__toml_private_datetime")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS` with `Z` or a
/// `±HH:MM` offset, in unix seconds. Every part is range-checked (no
/// 31 February, no offset beyond ±23:59), so no arithmetic can overflow.
fn unix_seconds(text: &str) -> Option<u64> {
    fn number(s: &str, digits: usize) -> Option<i64> {
        if s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    }
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let y = number(parts.next()?, 4)?;
    let m = number(parts.next()?, 2)?;
    let d = number(parts.next()?, 2)?;
    if parts.next().is_some() || !(1970..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let mut seconds = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = if let Some(clock) = time.strip_suffix('Z') {
            (clock, 0)
        } else {
            let at = time.len().checked_sub(6)?;
            let (clock, zone) = (time.get(..at)?, time.get(at..)?);
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, mi) = zone[1..].split_once(':')?;
            let (h, mi) = (number(h, 2)?, number(mi, 2)?);
            if h > 23 || mi > 59 {
                return None;
            }
            (clock, sign * (h * 3600 + mi * 60))
        };
        let clock = clock.split('.').next()?;
        let mut hms = clock.split(':');
        let h = number(hms.next()?, 2)?;
        let mi = number(hms.next()?, 2)?;
        let s = match hms.next() {
            Some(s) => number(s, 2)?,
            None => 0,
        };
        if hms.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        seconds += h * 3600 + mi * 60 + s - offset;
    }
    u64::try_from(seconds).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The fields that hold URLs.
const URL_FIELDS: &[&str] = &["website", "url", "kit", "http"];

/// Rewrite Windows line ends into `\n`, and URLs (in URL fields only) into
/// their normalised spelling.
fn normalise_texts(value: &mut Value, key: Option<&str>) {
    match value {
        Value::String(s) => {
            if s.contains('\r') {
                *s = s.replace("\r\n", "\n");
            }
            if key.is_some_and(|k| URL_FIELDS.contains(&k))
                && let Some(normal) = WebUrl::normalise(s)
            {
                *s = normal;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| normalise_texts(item, key)),
        Value::Object(map) => map
            .iter_mut()
            .for_each(|(k, v)| normalise_texts(v, Some(k.as_str()))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use essaim_protocol::HubKey;

    const NOW: u64 = 1_790_000_000;

    fn author() -> HubId {
        HubKey::from_seed(&[1; 32]).hub_id()
    }

    const TOML: &str = r#"
kind = "initiative"
slug = "epicerie-solidaire"
name = "Épicerie solidaire"
themes = ["alimentation"]
origin = "com:69123"
stage = "experimentation"
website = "HTTPS://Example.org"
[summary]
fr = "Une épicerie."
"#;

    #[test]
    fn the_three_formats_give_the_same_body() {
        let toml = parse(TOML, Format::Toml, &author(), NOW).unwrap();
        let json = r#"{"kind":"initiative","slug":"epicerie-solidaire","name":"Épicerie solidaire",
            "themes":["alimentation"],"origin":"com:69123","stage":"experimentation",
            "website":"HTTPS://Example.org","summary":{"fr":"Une épicerie."}}"#;
        let yaml = "kind: initiative\nslug: epicerie-solidaire\nname: Épicerie solidaire\nthemes: [alimentation]\norigin: com:69123\nstage: experimentation\nwebsite: HTTPS://Example.org\nsummary:\n  fr: Une épicerie.\n";
        assert_eq!(parse(json, Format::Json, &author(), NOW).unwrap(), toml);
        assert_eq!(parse(yaml, Format::Yaml, &author(), NOW).unwrap(), toml);
        assert_eq!(toml.seq(), NOW * 1000);
        let Body::Initiative(i) = toml else { panic!() };
        assert_eq!(i.website.unwrap().as_str(), "https://example.org/");
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let bad = TOML.replace("com:69123", "com:69999");
        let err = parse(&bad, Format::Toml, &author(), NOW).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("origin") && text.contains("com:69999"),
            "{text}"
        );
        assert_eq!(err.code(), "unknown_commune");
        let err = parse(
            &TOML.replace("stage =", "stag ="),
            Format::Toml,
            &author(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(err.code(), "unknown_field", "{err}");
        let err = parse("[1, 2]", Format::Json, &author(), NOW).unwrap_err();
        assert_eq!(err.code(), "draft_not_a_table");
        let err = parse("kind = ", Format::Toml, &author(), NOW).unwrap_err();
        assert_eq!(err.code(), "draft_syntax");
    }

    #[test]
    fn human_forms_are_rewritten() {
        let toml = "kind = \"endorsement\"\nslug = \"pionnier\"\ntype = \"label\"\n\
            label = \"French Impact — Pionnier\"\nvalid_until = 2027-12-31\n\
            subject = \"z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp/epicerie\"\n";
        let Body::Endorsement(e) = parse(toml, Format::Toml, &author(), NOW).unwrap() else {
            panic!()
        };
        assert_eq!(e.valid_until, Some(1_830_211_200));
        assert_eq!(
            e.subject.to_string(),
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp/initiative/epicerie"
        );
        let yaml = "kind: initiative\nslug: a\nname: A\nsummary: Un résumé.\nthemes: [sante]\n\
            origin: FR\nstage: emergence\ncarrier: {name: X, siren: 356 000 000}\n\
            impact: [{name: N, value: 3, unit: u, period: 2025}]\ncreated: 2026-01-02T03:04:05+01:00\n";
        let Body::Initiative(i) = parse(yaml, Format::Yaml, &author(), NOW).unwrap() else {
            panic!()
        };
        assert_eq!(i.summary.values().next().unwrap(), "Un résumé.");
        assert_eq!(i.carrier.unwrap().siren.unwrap().as_str(), "356000000");
        assert_eq!(i.impact[0].period.as_deref(), Some("2025"));
        assert_eq!(i.created, 1_767_319_445);
        assert_eq!(unix_seconds("1970-01-01"), Some(0));
        assert_eq!(unix_seconds("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2000-02-30x",
            "2026-13-01",
            "2026-02-31",
            "2023-02-29",
            "2026-01-01T00:00:00+9223372036854775807:00",
            "2026-01-01T00:00:00+24:00",
            "1970-01-01T00:00:00+01:00",
            "2026-1-01",
            "",
            "T",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::detect(Some(Path::new("a.yml")), ""), Format::Yaml);
        assert_eq!(Format::detect(None, " {\"a\":1}"), Format::Json);
        assert_eq!(Format::detect(None, TOML), Format::Toml);
        assert_eq!(Format::detect(None, "kind: hub\n"), Format::Yaml);
    }
}
