//! Digital public goods → initiatives (`essaim import dpg FILE`).
//!
//! The input is the DPG registry's export: one JSON array of records with a
//! `name`, a `description`, `SDGs` (`[{SDGNumber, …}]`), `license`
//! (`[{spdx, …}]`), `repositories` (`[{name, url}]`), `organizations`
//! (`[{name, org_type, …}]`), a `stage`, a `type` list and a `website`.
//! Each record becomes one initiative body, checked with
//! [`essaim_protocol::validate()`]; a record that cannot be made valid is
//! skipped with a reason, and the import goes on.
//!
//! How fields are carried over:
//!
//! | DPG | initiative |
//! |---|---|
//! | `name` | `name` (at most 120 characters, cut with a warning) and `slug` ([`slugify`], unique within the import: `-2`, `-3`…) |
//! | `description` | `summary.en` (one paragraph, at most 500 characters, cut at a word) and `description.en` (the full text) |
//! | name, types, SDGs, carrier, licence, registry status | `summary.fr`: a French sentence built from these fields only ([`french_summary`]) |
//! | `SDGs[].SDGNumber` | `sdgs` (1 to 17, deduplicated, ascending) and `themes` ([`sdg_theme`]; 1 to 5, else `inclusion-numerique`) |
//! | `stage` | `stage` ([`stage_from`]; `consolidation` when absent or unknown) |
//! | `license[].spdx` | the licence of every repository: the first valid SPDX expression; deprecated GNU ids (`GPL-3.0`) read as their `-only` form, `+` as `-or-later` |
//! | `repositories[].url` | `repositories`: https only, at most 16, named after the URL's last path segment; forge URLs cut to the repository root |
//! | `organizations[]` | `carrier.name`: the first owner, else the first organisation; `contacts` from a valid `contact_email` |
//! | `website` | `website` (http or https) |
//! | — | `origin` = `FR`: Essaim territories are French INSEE codes; the report warns once |
//!
//! The registry keeps a nomination's current file in `nominees/` and older
//! ones in `archive/` (`_source_file`); an archived copy of a record that is
//! also in `nominees/` is skipped, so that each DPG is imported once. Slugs
//! depend only on the file, so importing a newer export again makes new
//! versions of the same addresses.

use std::collections::HashSet;
use std::path::Path;

use essaim_protocol::limits::{
    CONTACTS_MAX, DESCRIPTION_MAX, MAX_PAYLOAD_BYTES, NAME_MAX, REPOSITORIES_MAX, SLUG_MAX,
    SUMMARY_MAX, THEMES_MAX,
};
use essaim_protocol::record::{Email, Licence, WebUrl};
use essaim_protocol::vocab::{Stage, Theme};
use essaim_protocol::{Body, HubId};
use serde_json::{Map, Value, json};

use super::spdx::undeprecate;
pub use super::text::slugify;
use super::text::{clean_line, clean_text, shorten, url_slug};

/// The largest file accepted, in bytes (64 MiB); the registry's export is about 1 MB.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// `progress` is called at least once every this many records.
pub const PROGRESS_EVERY: usize = 50;

/// The source named in warnings that concern the whole import.
pub const ALL_RECORDS: &str = "*";

/// A DPG record turned into an initiative body.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The initiative, valid at the `now` given to [`parse`]; ready to sign.
    pub body: Body,
    /// The DPG's name, as written in the registry.
    pub source: String,
    /// The record's position in the array (0-based).
    pub index: usize,
}

/// A DPG record that could not be turned into a valid initiative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The DPG's name, else its `_source_file`, else `item N` (1-based).
    pub source: String,
    /// The record's position in the array (0-based).
    pub index: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// What an import made of a file.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The initiatives, in the order of the file.
    pub imported: Vec<Imported>,
    /// The records left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// What could not be carried over as is: `(source, message)`; the source
    /// is the DPG's name, or [`ALL_RECORDS`] for the whole import.
    pub warnings: Vec<(String, String)>,
}

/// Why a file could not be imported at all.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DpgError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{path} is not UTF-8 text: the DPG export is JSON, give that file")]
    NotUtf8 {
        /// The file.
        path: String,
    },
    /// The input is over [`MAX_INPUT_BYTES`].
    #[error(
        "the file is {size} bytes, over the {limit}-byte limit: the DPG export is about 1 MB, check that this is the right file"
    )]
    TooLarge {
        /// Its size, in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The input is not JSON.
    #[error(
        "not valid JSON at line {line}, column {column}: {message}; the DPG export is one JSON array of records"
    )]
    Json {
        /// Where the parser stopped (1-based).
        line: usize,
        /// Where the parser stopped (1-based).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The input nests arrays or objects deeper than the JSON parser allows.
    #[error(
        "the JSON nests too deeply (line {line}, column {column}): the DPG export is a flat array of records, check the file"
    )]
    TooDeep {
        /// Where the parser stopped (1-based).
        line: usize,
        /// Where the parser stopped (1-based).
        column: usize,
    },
    /// The top level is not an array.
    #[error(
        "the file holds {found}, not an array: the DPG export is one JSON array of records (`[{{\"name\": …}}, …]`)"
    )]
    NotAnArray {
        /// What it holds instead (`an object`, `a number`…).
        found: &'static str,
    },
    /// The array holds no record at all (no object with a `name`).
    #[error(
        "none of the {count} items of the array is a DPG record (an object with a `name`): check that this is the DPG registry export"
    )]
    NoRecords {
        /// How many items the array holds.
        count: usize,
    },
}

impl DpgError {
    /// A stable code, for machine output.
    pub fn code(&self) -> &'static str {
        match self {
            DpgError::Io { .. } => "io",
            DpgError::NotUtf8 { .. } => "not_utf8",
            DpgError::TooLarge { .. } => "too_large",
            DpgError::Json { .. } => "json_syntax",
            DpgError::TooDeep { .. } => "json_too_deep",
            DpgError::NotAnArray { .. } => "dpg_not_an_array",
            DpgError::NoRecords { .. } => "dpg_no_records",
        }
    }
}

/// Read a DPG export from a file: its size is checked before it is read.
pub fn read_file(path: &Path) -> Result<String, DpgError> {
    let shown = path.display().to_string();
    let io = |source| DpgError::Io {
        path: shown.clone(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_INPUT_BYTES as u64 {
        return Err(DpgError::TooLarge {
            size,
            limit: MAX_INPUT_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    // The file may have grown between the two calls.
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(DpgError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_INPUT_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|_| DpgError::NotUtf8 { path: shown })
}

/// Turn a DPG export into initiative bodies authored by `author` at `now`
/// (unix seconds). `progress(done, total)` is called before the first
/// record, at least every [`PROGRESS_EVERY`] records, and after the last.
///
/// Errors only when the file as a whole is unusable; a bad record is
/// skipped with a reason in the [`Report`].
pub fn parse(
    text: &str,
    author: &HubId,
    now: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Report, DpgError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(DpgError::TooLarge {
            size: text.len() as u64,
            limit: MAX_INPUT_BYTES,
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let message = e.to_string();
        if message.starts_with("recursion limit exceeded") {
            DpgError::TooDeep { line, column }
        } else {
            // serde_json appends the position; it is in the error already.
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            };
            DpgError::Json {
                line,
                column,
                message,
            }
        }
    })?;
    let items = match value {
        Value::Array(items) => items,
        other => {
            return Err(DpgError::NotAnArray {
                found: json_kind(&other),
            });
        }
    };
    let total = items.len();
    let looks_like_a_record = |item: &Value| item.get("name").is_some_and(Value::is_string);
    if total > 0 && !items.iter().any(looks_like_a_record) {
        return Err(DpgError::NoRecords { count: total });
    }

    // The registry keeps a nomination's current file in `nominees/` and
    // older ones in `archive/`; an archived copy of a current record is
    // skipped, so that a DPG appears once.
    let current: HashSet<&str> = items
        .iter()
        .filter_map(|item| {
            item.get("_source_file")?
                .as_str()?
                .strip_prefix("nominees/")
        })
        .collect();

    let mut report = Report::default();
    let mut slugs = HashSet::new();
    progress(0, total);
    for (index, item) in items.iter().enumerate() {
        let mut warnings = Vec::new();
        match convert(item, author, now, &current, &mut slugs, &mut warnings) {
            Ok((body, source)) => {
                report
                    .warnings
                    .extend(warnings.into_iter().map(|w| (source.clone(), w)));
                report.imported.push(Imported {
                    body,
                    source,
                    index,
                });
            }
            Err(reason) => report.skipped.push(Skipped {
                source: source_of(item, index),
                index,
                reason,
            }),
        }
        let done = index + 1;
        if done % PROGRESS_EVERY == 0 || done == total {
            progress(done, total);
        }
    }
    if !report.imported.is_empty() {
        report.warnings.push((
            ALL_RECORDS.to_owned(),
            "every origin is set to FR: digital public goods are international, and Essaim territories are French INSEE codes; edit an initiative's origin where it is known".to_owned(),
        ));
    }
    Ok(report)
}

/// How a JSON value is named in messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a record is called in the report.
fn source_of(item: &Value, index: usize) -> String {
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .map(clean_line)
        .filter(|n| !n.is_empty());
    let file = || {
        item.get("_source_file")
            .and_then(Value::as_str)
            .map(clean_line)
            .filter(|n| !n.is_empty())
    };
    let named = name
        .or_else(file)
        .unwrap_or_else(|| format!("item {}", index + 1));
    shorten(&named, NAME_MAX).0
}

/// One record → one valid body and its source name, or the reason it is skipped.
fn convert(
    item: &Value,
    author: &HubId,
    now: u64,
    current: &HashSet<&str>,
    slugs: &mut HashSet<String>,
    warnings: &mut Vec<String>,
) -> Result<(Body, String), String> {
    let Some(record) = item.as_object() else {
        return Err(format!(
            "not a DPG record: {} instead of an object",
            json_kind(item)
        ));
    };
    if let Some(file) = record
        .get("_source_file")
        .and_then(Value::as_str)
        .and_then(|f| f.strip_prefix("archive/"))
        && current.contains(file)
    {
        return Err(format!(
            "an archived copy of `nominees/{file}`, which is imported"
        ));
    }
    let raw_name = record.get("name").and_then(Value::as_str).map(clean_line);
    let Some(source) = raw_name.filter(|n| !n.is_empty()) else {
        return Err("no `name` (a DPG record needs one)".to_owned());
    };
    let (name, cut) = shorten(&source, NAME_MAX);
    if cut {
        warnings.push(format!("name cut to {NAME_MAX} characters"));
    }

    let base = slug_base(&name, record);
    let slug = unique_slug(&base, slugs);
    if slug != base {
        warnings.push(format!("slug `{base}` is already taken; using `{slug}`"));
    }

    let result = build(record, &name, &slug, author, now, warnings);
    if result.is_err() {
        slugs.remove(&slug);
    }
    result.map(|body| (body, source))
}

/// The slug of a record's name; if the name has no Latin letter or digit,
/// the slug of its `_source_file` stem, else `dpg`.
fn slug_base(name: &str, record: &Map<String, Value>) -> String {
    let slug = slugify(name);
    if !slug.is_empty() {
        return slug;
    }
    let from_file = record
        .get("_source_file")
        .and_then(Value::as_str)
        .map(|f| {
            let stem = f.rsplit('/').next().unwrap_or(f);
            slugify(stem.strip_suffix(".json").unwrap_or(stem))
        })
        .unwrap_or_default();
    if from_file.is_empty() {
        "dpg".to_owned()
    } else {
        from_file
    }
}

/// `base`, or `base-2`, `base-3`… whichever is free; marks it taken.
fn unique_slug(base: &str, taken: &mut HashSet<String>) -> String {
    let mut candidate = base.to_owned();
    let mut n = 1u64;
    while taken.contains(&candidate) {
        n += 1;
        let suffix = format!("-{n}");
        let room = SLUG_MAX - suffix.len();
        let stem = base[..base.len().min(room)].trim_end_matches('-');
        candidate = format!("{stem}{suffix}");
    }
    taken.insert(candidate.clone());
    candidate
}

fn build(
    record: &Map<String, Value>,
    name: &str,
    slug: &str,
    author: &HubId,
    now: u64,
    warnings: &mut Vec<String>,
) -> Result<Body, String> {
    let description = record
        .get("description")
        .and_then(Value::as_str)
        .map(clean_text)
        .filter(|d| !d.is_empty());
    if description.is_none() {
        warnings.push("no description: the summary is the French sentence only".to_owned());
    }
    let sdgs = sdgs(record, warnings);
    let themes = themes_for(&sdgs);
    let stage = match record.get("stage").and_then(Value::as_str).map(str::trim) {
        None | Some("") => Stage::Consolidation,
        Some(s) => stage_from(s).unwrap_or_else(|| {
            warnings.push(format!(
                "stage `{}` is not known: set to consolidation",
                shorten(s, 40).0
            ));
            Stage::Consolidation
        }),
    };
    let licence = licence(record, warnings);
    let repositories = repositories(record, licence.as_ref(), warnings);
    let organisations = organisations(record);
    let carrier = carrier(&organisations, warnings);
    let contacts = contacts(&organisations);
    let website = website(record, warnings);
    let types = types(record);

    let mut summary = Map::new();
    summary.insert(
        "fr".into(),
        Value::from(french_summary(
            name,
            &types,
            &sdgs,
            carrier.as_deref(),
            licence.as_ref().map(Licence::as_str),
            registry_status(
                record.get("stage").and_then(Value::as_str),
                record.get("_source_file").and_then(Value::as_str),
            ),
        )),
    );
    let mut long = Map::new();
    if let Some(description) = &description {
        let (paragraph, _) = shorten(&clean_line(description), SUMMARY_MAX);
        summary.insert("en".into(), Value::from(paragraph));
        let (full, cut) = shorten(description, DESCRIPTION_MAX);
        if cut {
            warnings.push(format!("description cut to {DESCRIPTION_MAX} characters"));
        }
        long.insert("en".into(), Value::from(full));
    }

    let mut body = Map::new();
    body.insert("v".into(), json!(1));
    body.insert("kind".into(), json!("initiative"));
    body.insert("author".into(), json!(author.to_string()));
    body.insert("slug".into(), json!(slug));
    body.insert("seq".into(), json!(now.saturating_mul(1000)));
    body.insert("created".into(), json!(now));
    body.insert("name".into(), json!(name));
    body.insert("summary".into(), Value::Object(summary));
    if !long.is_empty() {
        body.insert("description".into(), Value::Object(long));
    }
    body.insert(
        "themes".into(),
        themes.iter().map(|t| t.code()).collect::<Vec<_>>().into(),
    );
    if let Some(carrier) = carrier {
        body.insert("carrier".into(), json!({ "name": carrier }));
    }
    body.insert("origin".into(), json!("FR"));
    body.insert("stage".into(), json!(stage.code()));
    if !repositories.is_empty() {
        body.insert("repositories".into(), Value::Array(repositories));
    }
    if !sdgs.is_empty() {
        body.insert("sdgs".into(), sdgs.into());
    }
    if !contacts.is_empty() {
        body.insert("contacts".into(), Value::Array(contacts));
    }
    if let Some(website) = website {
        body.insert("website".into(), json!(website));
    }

    let body = checked(Value::Object(body.clone()), now).or_else(|reason| {
        // A description in a script of 3- or 4-byte characters may not fit
        // in one record: keep the summary, drop the long text.
        if body.contains_key("description") && reason.starts_with("too large") {
            let mut shorter = body;
            shorter.remove("description");
            warnings.push("description left out: the record would be over 64 KiB".to_owned());
            checked(Value::Object(shorter), now)
        } else {
            Err(reason)
        }
    })?;
    Ok(body)
}

/// Decode, check every rule and the payload size.
fn checked(value: Value, now: u64) -> Result<Body, String> {
    let body = Body::from_json(value).map_err(|e| format!("not a valid initiative: {e}"))?;
    essaim_protocol::validate(&body, now).map_err(|e| format!("not a valid initiative: {e}"))?;
    let size = body
        .to_payload()
        .map_err(|e| format!("not a valid initiative: {e}"))?
        .len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "too large: {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit of a record"
        ));
    }
    Ok(body)
}

/// The SDG numbers of a record: 1 to 17, deduplicated, ascending.
fn sdgs(record: &Map<String, Value>, warnings: &mut Vec<String>) -> Vec<u8> {
    let list = record
        .get("SDGs")
        .or_else(|| record.get("sdgs"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut numbers = Vec::new();
    for entry in list {
        let raw = entry
            .get("SDGNumber")
            .or_else(|| entry.get("sdgNumber"))
            .unwrap_or(entry);
        let number = match raw {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s
                .trim()
                .trim_start_matches("SDG")
                .trim()
                .parse::<u64>()
                .ok(),
            _ => None,
        };
        match number {
            Some(n @ 1..=17) => numbers.push(n as u8),
            _ => warnings.push(format!(
                "SDG `{}` is not a goal number from 1 to 17: left out",
                shorten(&raw.to_string(), 40).0
            )),
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// The theme an SDG maps to, if any.
///
/// | SDG | theme |
/// |---|---|
/// | 1 No poverty | `pauvrete` |
/// | 2 Zero hunger | `alimentation` |
/// | 3 Good health and well-being | `sante` |
/// | 4 Quality education | `education` |
/// | 5 Gender equality | `egalite` |
/// | 6 Clean water and sanitation | `transition-ecologique` |
/// | 7 Affordable and clean energy | `energie` |
/// | 8 Decent work and economic growth | `emploi` |
/// | 9 Industry, innovation and infrastructure | `inclusion-numerique` |
/// | 10 Reduced inequalities | `acces-aux-droits` |
/// | 11 Sustainable cities and communities | `developpement-local` |
/// | 12 Responsible consumption and production | `economie-circulaire` |
/// | 13 Climate action | `transition-ecologique` |
/// | 14 Life below water | `transition-ecologique` |
/// | 15 Life on land | `transition-ecologique` |
/// | 16 Peace, justice and strong institutions | `citoyennete` |
/// | 17 Partnerships for the goals | — |
pub fn sdg_theme(sdg: u8) -> Option<Theme> {
    Some(match sdg {
        1 => Theme::Pauvrete,
        2 => Theme::Alimentation,
        3 => Theme::Sante,
        4 => Theme::Education,
        5 => Theme::Egalite,
        6 => Theme::TransitionEcologique,
        7 => Theme::Energie,
        8 => Theme::Emploi,
        9 => Theme::InclusionNumerique,
        10 => Theme::AccesAuxDroits,
        11 => Theme::DeveloppementLocal,
        12 => Theme::EconomieCirculaire,
        13 => Theme::TransitionEcologique,
        14 => Theme::TransitionEcologique,
        15 => Theme::TransitionEcologique,
        16 => Theme::Citoyennete,
        _ => return None,
    })
}

/// The themes of a list of SDGs: mapped with [`sdg_theme`] in the order
/// given, deduplicated, at most 5; `inclusion-numerique` when none maps.
pub fn themes_for(sdgs: &[u8]) -> Vec<Theme> {
    let mut themes = Vec::new();
    for theme in sdgs.iter().filter_map(|&n| sdg_theme(n)) {
        if !themes.contains(&theme) && themes.len() < THEMES_MAX {
            themes.push(theme);
        }
    }
    if themes.is_empty() {
        themes.push(Theme::InclusionNumerique);
    }
    themes
}

/// The stage a DPG `stage` (or status) maps to, if it is known; case is ignored.
///
/// | DPG | stage |
/// |---|---|
/// | `DPG`, `nominee`, `archive` (registry statuses: they say whether the registry recognised it, not how mature it is) | `consolidation` |
/// | `idea`, `concept` | `emergence` |
/// | `pilot`, `prototype`, `alpha`, `beta` | `experimentation` |
/// | `evaluation` | `evaluation` |
/// | `production`, `stable`, `mature`, `deployed` | `consolidation` |
/// | `scale`, `scaling`, `scaled`, `replicated` | `essaimage` |
pub fn stage_from(stage: &str) -> Option<Stage> {
    let stage = stage.trim().to_ascii_lowercase();
    // Essaim's own codes are accepted as they are.
    if let Some(own) = Stage::from_code(&stage) {
        return Some(own);
    }
    Some(match stage.as_str() {
        "dpg" | "nominee" | "archive" | "archived" => Stage::Consolidation,
        "idea" | "concept" => Stage::Emergence,
        "pilot" | "prototype" | "alpha" | "beta" => Stage::Experimentation,
        "production" | "stable" | "mature" | "deployed" => Stage::Consolidation,
        "scale" | "scaling" | "scaled" | "replicated" => Stage::Essaimage,
        _ => return None,
    })
}

/// The record's licence: the first valid SPDX expression of `license`.
fn licence(record: &Map<String, Value>, warnings: &mut Vec<String>) -> Option<Licence> {
    let entries: Vec<&Value> = match record.get("license").or_else(|| record.get("licence")) {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut invalid = Vec::new();
    for entry in entries {
        let Some(spdx) = entry
            .get("spdx")
            .and_then(Value::as_str)
            .or_else(|| entry.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        if let Ok(licence) = spdx.parse::<Licence>() {
            return Some(licence);
        }
        // The registry spaces expressions loosely; Essaim writes them with
        // single spaces, so the rewritten form is spaced that way too.
        let spaced = spdx.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(current) = undeprecate(&spaced)
            && let Ok(licence) = current.parse::<Licence>()
        {
            warnings.push(format!(
                "licence `{spdx}` is a deprecated SPDX id: read as `{current}`"
            ));
            return Some(licence);
        }
        invalid.push(format!("`{}`", shorten(spdx, 60).0));
    }
    if invalid.is_empty() {
        warnings.push("no licence: repositories left out (Essaim needs a licence for each)".into());
    } else {
        warnings.push(format!(
            "no valid SPDX licence ({}): repositories left out",
            invalid.join(", ")
        ));
    }
    None
}

/// Forges whose repositories live at `host/owner/name`.
const OWNER_NAME_FORGES: [&str; 4] = ["github.com", "bitbucket.org", "codeberg.org", "gitee.com"];

/// The repositories: https URLs, at most 16, each with the record's licence.
fn repositories(
    record: &Map<String, Value>,
    licence: Option<&Licence>,
    warnings: &mut Vec<String>,
) -> Vec<Value> {
    let list = record
        .get("repositories")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut urls: Vec<String> = Vec::new();
    for entry in list {
        let Some(raw) = entry
            .get("url")
            .and_then(Value::as_str)
            .or_else(|| entry.as_str())
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            continue;
        };
        let Some(url) = repository_url(raw, warnings) else {
            continue;
        };
        if urls.contains(&url) {
            continue;
        }
        if urls.len() == REPOSITORIES_MAX {
            warnings.push(format!(
                "more than {REPOSITORIES_MAX} repositories: the others are left out"
            ));
            break;
        }
        urls.push(url);
    }
    let Some(licence) = licence else {
        return Vec::new();
    };
    let mut names: HashSet<String> = HashSet::new();
    urls.into_iter()
        .map(|url| {
            let name = unique_slug(&repository_name(&url), &mut names);
            json!({ "name": name, "url": url, "licence": licence.as_str() })
        })
        .collect()
}

/// A repository URL in the form mirrors can clone, or `None` with a warning.
fn repository_url(raw: &str, warnings: &mut Vec<String>) -> Option<String> {
    let shown = shorten(raw, 100).0;
    let mut text = raw;
    if !text
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && !text
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        && let Some(at) = text.find("https://")
    {
        // `backend: https://…`: a label before the URL.
        text = text[at..].split_whitespace().next().unwrap_or_default();
        warnings.push(format!("repository `{shown}` read as `{text}`"));
    }
    let Some(url) = WebUrl::normalise(text).and_then(|u| u.parse::<WebUrl>().ok()) else {
        warnings.push(format!("repository `{shown}` is not a valid URL: left out"));
        return None;
    };
    let parsed = url.url();
    if parsed.scheme() != "https" {
        warnings.push(format!(
            "repository `{shown}` is not https: left out (mirrors clone over https)"
        ));
        return None;
    }
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let forge_path = if OWNER_NAME_FORGES.contains(&host.as_str()) {
        Some(segments.iter().take(2).copied().collect::<Vec<_>>())
    } else if host == "gitlab.com" || host.starts_with("gitlab.") {
        // GitLab: groups nest; `/-/` starts the pages of a repository.
        Some(
            segments
                .iter()
                .take_while(|s| **s != "-")
                .copied()
                .collect(),
        )
    } else {
        None
    };
    let Some(path) = forge_path else {
        return Some(url.to_string());
    };
    if path.len() < 2 {
        warnings.push(format!(
            "repository `{shown}` is an account or a group, not a repository: left out"
        ));
        return None;
    }
    let root = format!("https://{host}/{}", path.join("/"));
    let root = WebUrl::normalise(&root).and_then(|u| u.parse::<WebUrl>().ok())?;
    let root = root.to_string();
    if root.trim_end_matches('/') != url.as_str().trim_end_matches('/') {
        warnings.push(format!(
            "repository `{shown}` points inside a repository: cut to `{root}`"
        ));
    }
    Some(root)
}

/// A repository's name: the slug of the URL's last path segment (without
/// `.git`), else of its host, else `repo`.
fn repository_name(url: &str) -> String {
    url_slug(url).unwrap_or_else(|| "repo".to_owned())
}

/// `organizations`, as objects.
fn organisations(record: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    record
        .get("organizations")
        .or_else(|| record.get("organisations"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

fn org_name(org: &Map<String, Value>) -> Option<String> {
    org.get("name")
        .and_then(Value::as_str)
        .map(clean_line)
        .filter(|n| !n.is_empty())
}

/// The carrier's name: the first owner, else the first organisation.
fn carrier(organisations: &[&Map<String, Value>], warnings: &mut Vec<String>) -> Option<String> {
    let is_owner = |org: &&&Map<String, Value>| {
        org.get("org_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("owner"))
    };
    let name = organisations
        .iter()
        .filter(is_owner)
        .chain(organisations.iter())
        .find_map(|org| org_name(org))?;
    let (name, cut) = shorten(&name, NAME_MAX);
    if cut {
        warnings.push(format!("carrier name cut to {NAME_MAX} characters"));
    }
    Some(name)
}

/// Contacts: each organisation's valid `contact_email` (the registry's
/// public export has them removed), named after the organisation.
fn contacts(organisations: &[&Map<String, Value>]) -> Vec<Value> {
    let mut contacts: Vec<Value> = Vec::new();
    let mut seen = HashSet::new();
    for org in organisations {
        let Some(email) = org
            .get("contact_email")
            .and_then(Value::as_str)
            .map(str::trim)
            .and_then(|e| e.parse::<Email>().ok())
        else {
            continue;
        };
        if contacts.len() == CONTACTS_MAX || !seen.insert(email.to_string()) {
            continue;
        }
        let mut contact = Map::new();
        if let Some(name) = org_name(org) {
            contact.insert("name".into(), shorten(&name, NAME_MAX).0.into());
        }
        contact.insert("email".into(), email.to_string().into());
        contacts.push(Value::Object(contact));
    }
    contacts
}

/// The web site: an http or https URL, normalised.
fn website(record: &Map<String, Value>, warnings: &mut Vec<String>) -> Option<String> {
    let raw = record
        .get("website")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|w| !w.is_empty())?;
    match WebUrl::normalise(raw).and_then(|u| u.parse::<WebUrl>().ok()) {
        Some(url) => Some(url.to_string()),
        None => {
            warnings.push(format!(
                "website `{}` is not an http(s) URL: left out",
                shorten(raw, 100).0
            ));
            None
        }
    }
}

/// The record's `type` list, in French.
fn types(record: &Map<String, Value>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let list = record
        .get("type")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for t in list.iter().filter_map(Value::as_str) {
        let french = match t.trim().to_ascii_lowercase().as_str() {
            "software" => "logiciel",
            "content" => "contenu",
            "data" => "données",
            "aimodel" | "ai model" => "modèle d'IA",
            "standard" => "standard",
            _ => continue,
        };
        if !out.contains(&french) {
            out.push(french);
        }
    }
    out
}

/// The French summary, built from fields only (no translation of prose):
/// « Bien public numérique (logiciel) : NAME. Objectifs de développement
/// durable (ODD) : 3, 4. Porté par ORG. Licence : MIT. Registre de la DPG
/// Alliance : candidat. » `registry_status` comes from [`registry_status`].
pub fn french_summary(
    name: &str,
    types: &[&str],
    sdgs: &[u8],
    carrier: Option<&str>,
    licence: Option<&str>,
    registry_status: Option<&str>,
) -> String {
    let mut text = String::from("Bien public numérique");
    if !types.is_empty() {
        text.push_str(&format!(" ({})", types.join(", ")));
    }
    text.push_str(&format!(" : {name}."));
    if !sdgs.is_empty() {
        let list: Vec<String> = sdgs.iter().map(u8::to_string).collect();
        text.push_str(&format!(
            " Objectifs de développement durable (ODD) : {}.",
            list.join(", ")
        ));
    }
    if let Some(carrier) = carrier {
        text.push_str(&format!(" Porté par {carrier}."));
    }
    if let Some(licence) = licence {
        text.push_str(&format!(" Licence : {licence}."));
    }
    if let Some(status) = registry_status {
        text.push_str(&format!(" Registre de la DPG Alliance : {status}."));
    }
    shorten(&text, SUMMARY_MAX).0
}

/// The record's status in the DPG registry, in French: `DPG` → « reconnu
/// comme bien public numérique »; a record from the registry's `archive/`
/// folder, or with the stage `archive` → « candidature archivée »;
/// `nominee` → « candidat ».
pub fn registry_status(stage: Option<&str>, source_file: Option<&str>) -> Option<&'static str> {
    let stage = stage.map(|s| s.trim().to_ascii_lowercase());
    let archived = source_file.is_some_and(|f| f.trim_start_matches("./").starts_with("archive/"));
    match stage.as_deref() {
        Some("dpg") => Some("reconnu comme bien public numérique"),
        Some("archive" | "archived") => Some("candidature archivée"),
        _ if archived => Some("candidature archivée"),
        Some("nominee") => Some("candidat"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls() {
        let mut w = Vec::new();
        let cases = [
            (
                "https://github.com/o/r/blob/master/LICENSE",
                Some("https://github.com/o/r"),
            ),
            ("https://github.com/o", None),
            ("http://example.org/r", None),
            (
                "backend：https://github.com/o/r",
                Some("https://github.com/o/r"),
            ),
            (
                "https://gitlab.com/g/sub/r/-/tree/main",
                Some("https://gitlab.com/g/sub/r"),
            ),
            (
                "https://example.org/a?b=c",
                Some("https://example.org/a?b=c"),
            ),
            ("not a url", None),
        ];
        for (raw, want) in cases {
            assert_eq!(repository_url(raw, &mut w).as_deref(), want, "{raw}");
        }
        assert_eq!(
            repository_name("https://github.com/o/My_Repo.git"),
            "my-repo"
        );
        assert_eq!(
            repository_name("https://www.example.org/"),
            "www-example-org"
        );
    }
}
