//! Records written by hand — in TOML, YAML or JSON — turned into bodies to sign.
//!
//! A draft is a record body without the fields a tool fills in: `v` (1),
//! `author` (the signing hub), `created` (now) and `seq` (now, in
//! milliseconds, so that a later edit wins). A draft may still give them;
//! `author` must then be the signer. URLs are written in their normalised
//! spelling (`https://example.org` → `https://example.org/`) before checking,
//! so that people need not know the rule.

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

/// Read a draft into a body signed by `author` at `now` (unix seconds).
pub fn parse(text: &str, format: Format, author: &HubId, now: u64) -> Result<Body, DraftError> {
    let syntax = |message: String| DraftError::Syntax { format, message };
    let mut value: Value = match format {
        Format::Toml => toml::from_str(text).map_err(|e| syntax(e.to_string()))?,
        Format::Yaml => serde_saphyr::from_str(text).map_err(|e| syntax(e.to_string()))?,
        Format::Json => serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?,
    };
    let map = value.as_object_mut().ok_or(DraftError::NotATable)?;
    match map.get("author").and_then(Value::as_str) {
        Some(given) if given != author.to_string() => {
            return Err(DraftError::OtherAuthor {
                draft: given.to_owned(),
                signer: author.to_string(),
            });
        }
        _ => {}
    }
    map.entry("v").or_insert(Value::from(1));
    map.insert("author".into(), Value::from(author.to_string()));
    map.entry("created").or_insert(Value::from(now));
    map.entry("seq")
        .or_insert(Value::from(now.saturating_mul(1000)));
    normalise_urls(&mut value);
    Ok(Body::from_json(value)?)
}

/// Rewrite every http(s) URL string into its normalised spelling.
fn normalise_urls(value: &mut Value) {
    match value {
        Value::String(s) => {
            let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
            if (lower.starts_with("https://") || lower.starts_with("http://"))
                && let Some(normal) = WebUrl::normalise(s)
            {
                *s = normal;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_urls),
        Value::Object(map) => map.values_mut().for_each(normalise_urls),
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
    fn format_detection() {
        assert_eq!(Format::detect(Some(Path::new("a.yml")), ""), Format::Yaml);
        assert_eq!(Format::detect(None, " {\"a\":1}"), Format::Json);
        assert_eq!(Format::detect(None, TOML), Format::Toml);
        assert_eq!(Format::detect(None, "kind: hub\n"), Format::Yaml);
    }
}
