//! publiccode.yml → initiative (`essaim import publiccode FILE`).
//!
//! [publiccode.yml](https://yml.publiccode.tools) describes software written
//! or bought by public administrations. Many such tools are social-innovation
//! solutions that other territories could reuse, so a hub may bring them into
//! the catalogue. Importing a file is two steps.
//!
//! **1. Validation**, conformant with the reference validator
//! (italia/publiccode-parser-go, standard version `0`: `publiccodeYmlVersion`
//! `0`, `0.2` to `0.5`, `0.7`): the same keys (unknown keys are errors), types,
//! required keys, vocabularies (`developmentStatus`, `softwareType`,
//! `maintenance.type`, `categories`, `intendedAudience.scope`, `supports`
//! aliases), lengths counted in grapheme clusters, URLs, `YYYY-MM-DD` dates,
//! e-mail addresses, SPDX expressions, BCP 47 language tags, ISO 3166-1
//! alpha-2 countries, MIME types, video URLs of oEmbed providers, and the same
//! deprecation warnings ([`WarningKind::Conformance`]). Booleans are YAML 1.2
//! `true`/`false` only (`no`, `on`… are refused, as the standard says).
//! What the reference validator does over the network (does a URL answer,
//! does a remote logo exist) is not done; files next to the publiccode.yml
//! (logo, screenshots, authors file) are checked when the file's directory is
//! known ([`parse_file`], [`parse_bytes`]). Italian iPA codes
//! (`urn:x-italian-pa:…`, `IT.riuso.codiceIPA`) are checked for their form,
//! not against the iPA register, which is not embedded.
//!
//! **2. Mapping** to an initiative body, checked with
//! [`essaim_protocol::validate()`]; whatever cannot be carried over is named in
//! a [`WarningKind::Mapping`] warning:
//!
//! | publiccode.yml | initiative |
//! |---|---|
//! | `name` | `name` (at most 120 characters, cut with a warning) and `slug` ([`slugify`]) |
//! | `description.<lang>.shortDescription` | `summary.<lang>` (`<lang>`: the tag's primary language, `en-GB` → `en`); without French, the Italian, else English, else first (by tag) text is also `summary.fr`, with a warning |
//! | `description.<lang>.longDescription` | `description.<lang>` |
//! | `developmentStatus` | `stage` ([`stage_for`]) |
//! | `intendedAudience.scope`, `categories` | `themes` ([`SCOPE_THEMES`], [`CATEGORY_THEMES`]; at most 5; `inclusion-numerique` when none maps) |
//! | `intendedAudience.scope: local-authorities` | `audiences: [collectivites]` |
//! | `url` + `legal.license` | `repositories[0]` (named after the URL's last path segment; deprecated GNU ids such as `GPL-3.0` recorded as `GPL-3.0-only`, with a warning) |
//! | `landingURL` | `website` |
//! | `organisation.name`, else `legal.mainCopyrightOwner`, else `legal.repoOwner` | `carrier.name` |
//! | `maintenance.contacts[].name`, `.email` | `contacts` (a contact without e-mail is left out) |
//! | `intendedAudience.countries`, `IT` | `origin` is always `FR` (Essaim territories are French INSEE codes); a warning when the software comes from elsewhere |
//!
//! Everything else is dropped with a warning naming its key.
//!
//! Hostile input: the text is refused over [`MAX_INPUT_BYTES`] before it is
//! parsed, and the YAML parser runs with a budget (nesting depth, nodes,
//! alias expansion), so a YAML bomb, deep nesting or binary garbage ends in a
//! one-line error in bounded time.
//!
//! | module | what it holds |
//! |---|---|
//! | this one | the entry points, errors and warnings, and the mapping to an initiative |
//! | `yaml` | the YAML read within a budget, and typed access to it by key path |
//! | `validate` | the standard's rules, key by key: a valid file, or the key at fault |
//! | `values` | the forms of values: URLs, dates, e-mail addresses, MIME types, URIs, videos |
//! | `files` | the files a publiccode.yml points to: logo, screenshots, authors file |
//! | `vocab` | the standard's versions and vocabularies |
//! | `codes` | BCP 47 language tags, ISO 639, ISO 15924 and ISO 3166-1 codes |
//! | `graphemes` | lengths counted in user-perceived characters, as the standard counts them |

mod codes;
mod files;
mod graphemes;
mod validate;
mod values;
mod vocab;
mod yaml;

pub use super::text::slugify;
pub use codes::is_language_tag;
pub use vocab::{CATEGORIES, SCOPES};

use std::io::Read;
use std::path::Path;

use essaim_protocol::limits::{
    CONTACTS_MAX, DESCRIPTION_MAX, LANGUAGES_MAX, MAX_PAYLOAD_BYTES, NAME_MAX, SUMMARY_MAX,
    THEMES_MAX,
};
use essaim_protocol::record::{Email, WebUrl};
use essaim_protocol::vocab::{Stage, Theme};
use essaim_protocol::{Body, HubId, RecordError};
use serde_json::{Map, Value, json};

use super::text::{clean_line, clean_text, shorten, url_slug};
use validate::{Description, File, validate};
use yaml::read_yaml;

/// The largest publiccode.yml accepted, in bytes (1 MiB); real files are a
/// few kilobytes.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// A publiccode.yml turned into an initiative.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The initiative, valid at the `now` given to [`parse`]; ready to sign.
    pub body: Body,
    /// What the file does that the standard deprecates, and what could not
    /// be carried over.
    pub warnings: Vec<Warning>,
}

/// Something to tell the operator about an accepted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The publiccode.yml key it is about (`description.it.features`,
    /// `maintenance.contacts[0].phone`).
    pub key: String,
    /// What happened, in one line.
    pub message: String,
    /// Whether the reference validator warns too, or only the import does.
    pub kind: WarningKind,
}

/// Where a [`Warning`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// The file is valid but uses something the standard deprecates (the
    /// reference validator warns as well).
    Conformance,
    /// Essaim has no place for a value, or had to adapt it.
    Mapping,
}

/// Why a publiccode.yml could not be imported.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum PubliccodeError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The input is over [`MAX_INPUT_BYTES`].
    #[error(
        "the file is {size} bytes, over the {limit}-byte limit: a publiccode.yml is a few kilobytes, check that this is the right file"
    )]
    TooLarge {
        /// Its size, in bytes (at least; reading stops past the limit).
        size: u64,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The input is not UTF-8 text.
    #[error(
        "the file is not UTF-8 text (invalid byte at offset {offset}): publiccode.yml files are UTF-8, convert it (iconv -t UTF-8)"
    )]
    NotUtf8 {
        /// The offset of the first invalid byte.
        offset: usize,
    },
    /// The input is not YAML, or breaks the parser's budget.
    #[error("not valid YAML: {message}")]
    Yaml {
        /// The parser's message, on one line.
        message: String,
    },
    /// The top level is not a mapping.
    #[error("a publiccode.yml is a mapping of keys (`name: …`, `url: …`), not {found}")]
    NotAMapping {
        /// What it holds instead (`a list`, `an empty document`…).
        found: &'static str,
    },
    /// A key breaks a rule of the publiccode.yml standard.
    #[error("publiccode.yml `{key}`: {message}")]
    Invalid {
        /// The offending key, as a path (`maintenance.contacts[0].email`).
        key: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The initiative made from the file breaks a rule of Essaim records.
    #[error("the initiative made from this file is not a valid Essaim record: {0}")]
    Record(#[from] RecordError),
}

impl PubliccodeError {
    /// A stable code, for machine output.
    pub fn code(&self) -> &'static str {
        match self {
            PubliccodeError::Io { .. } => "io",
            PubliccodeError::TooLarge { .. } => "too_large",
            PubliccodeError::NotUtf8 { .. } => "not_utf8",
            PubliccodeError::Yaml { .. } => "yaml_syntax",
            PubliccodeError::NotAMapping { .. } => "publiccode_not_a_mapping",
            PubliccodeError::Invalid { .. } => "publiccode_invalid",
            PubliccodeError::Record(e) => e.code(),
        }
    }

    /// The publiccode.yml key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            PubliccodeError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Import a publiccode.yml given as text, for the hub `author` at `now`
/// (unix seconds). Files the publiccode.yml points to (logo, screenshots)
/// are not checked: use [`parse_file`] for a file on disk.
pub fn parse(text: &str, author: &HubId, now: u64) -> Result<Imported, PubliccodeError> {
    check_size(text.len() as u64)?;
    import(text, None, author, now)
}

/// Import a publiccode.yml given as bytes; relative paths in it (logo,
/// screenshots, authors file) are checked against `base_dir` when given.
pub fn parse_bytes(
    bytes: &[u8],
    base_dir: Option<&Path>,
    author: &HubId,
    now: u64,
) -> Result<Imported, PubliccodeError> {
    check_size(bytes.len() as u64)?;
    let text = std::str::from_utf8(bytes).map_err(|e| PubliccodeError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    import(text, base_dir, author, now)
}

/// Import a publiccode.yml file: its size is checked before it is read, and
/// relative paths in it are checked against its directory.
pub fn parse_file(path: &Path, author: &HubId, now: u64) -> Result<Imported, PubliccodeError> {
    let io = |source| PubliccodeError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    check_size(file.metadata().map_err(io)?.len())?;
    let mut bytes = Vec::new();
    // The file may grow while it is read: never read more than the limit.
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let base = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    parse_bytes(&bytes, base, author, now)
}

fn check_size(size: u64) -> Result<(), PubliccodeError> {
    if size > MAX_INPUT_BYTES as u64 {
        return Err(PubliccodeError::TooLarge {
            size,
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

fn import(
    text: &str,
    base: Option<&Path>,
    author: &HubId,
    now: u64,
) -> Result<Imported, PubliccodeError> {
    let root = read_yaml(text)?;
    let mut ctx = Ctx {
        base,
        warnings: Vec::new(),
    };
    let file = validate(&root, &mut ctx)?;
    let body = build(&file, author, now, &mut ctx)?;
    // What the standard says first, then what the import did.
    ctx.warnings
        .sort_by_key(|w| w.kind != WarningKind::Conformance);
    Ok(Imported {
        body,
        warnings: ctx.warnings,
    })
}

/// The import's state: where the file is, and the warnings so far.
struct Ctx<'a> {
    base: Option<&'a Path>,
    warnings: Vec<Warning>,
}

impl Ctx<'_> {
    fn conformance(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            key: key.into(),
            message: message.into(),
            kind: WarningKind::Conformance,
        });
    }

    fn mapping(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            key: key.into(),
            message: message.into(),
            kind: WarningKind::Mapping,
        });
    }

    fn dropped(&mut self, key: impl Into<String>) {
        self.mapping(key, "dropped: Essaim has no field for it");
    }

    fn deprecated(&mut self, key: &str, advice: &str) {
        self.conformance(
            key,
            format!("this key is deprecated and will be removed from the standard; {advice}"),
        );
    }
}

type Result<T, E = PubliccodeError> = std::result::Result<T, E>;

fn invalid(key: impl Into<String>, message: impl Into<String>) -> PubliccodeError {
    PubliccodeError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------

/// `intendedAudience.scope` → theme, where the meaning is close enough.
pub const SCOPE_THEMES: &[(&str, Theme)] = &[
    ("agriculture", Theme::Agriculture),
    ("culture", Theme::Culture),
    ("education", Theme::Education),
    ("employment", Theme::Emploi),
    ("energy", Theme::Energie),
    ("environment", Theme::TransitionEcologique),
    (
        "finance-and-economic-development",
        Theme::DeveloppementLocal,
    ),
    ("healthcare", Theme::Sante),
    ("justice", Theme::AccesAuxDroits),
    ("local-authorities", Theme::DeveloppementLocal),
    ("society", Theme::Citoyennete),
    ("sport", Theme::Sport),
    ("tourism", Theme::DeveloppementLocal),
    ("transportation", Theme::Mobilite),
    ("welfare", Theme::Pauvrete),
];

/// `categories` → theme; most categories name a kind of tool (`crm`,
/// `backup`) and map to none.
pub const CATEGORY_THEMES: &[(&str, Theme)] = &[
    ("digital-citizenship", Theme::Citoyennete),
    ("educational-content", Theme::Education),
    ("integrated-library-system", Theme::Culture),
    ("learning-management-system", Theme::Education),
    ("whistleblowing", Theme::Citoyennete),
];

/// The theme used when no scope or category maps: public-sector software.
pub const FALLBACK_THEME: Theme = Theme::InclusionNumerique;

/// The theme of an `intendedAudience.scope` value, if one fits.
pub fn scope_theme(scope: &str) -> Option<Theme> {
    SCOPE_THEMES
        .iter()
        .find(|(s, _)| *s == scope)
        .map(|(_, t)| *t)
}

/// The theme of a `categories` value, if one fits.
pub fn category_theme(category: &str) -> Option<Theme> {
    CATEGORY_THEMES
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, t)| *t)
}

/// The stage of a `developmentStatus` (`obsolete` is `consolidation`, with a
/// warning from the import).
pub fn stage_for(development_status: &str) -> Option<Stage> {
    Some(match development_status {
        "concept" => Stage::Emergence,
        "development" => Stage::Experimentation,
        "beta" => Stage::Evaluation,
        "stable" | "obsolete" => Stage::Consolidation,
        _ => return None,
    })
}

fn build(file: &File, author: &HubId, now: u64, ctx: &mut Ctx<'_>) -> Result<Body> {
    let clean_name = clean_line(&file.name);
    if clean_name.is_empty() {
        return Err(invalid("name", "is blank: write the software's name"));
    }
    let (name, cut) = shorten(&clean_name, NAME_MAX);
    if cut {
        ctx.mapping(
            "name",
            format!("cut to {NAME_MAX} characters (Essaim's limit)"),
        );
    }
    let mut slug = slugify(&name);
    if slug.is_empty() {
        slug = repository_name(&file.url);
        ctx.mapping(
            "name",
            format!("has no Latin letter or digit for a slug: the slug is `{slug}`, from `url`"),
        );
    }

    let (summary, description) = texts(file, ctx);
    if summary.is_empty() {
        return Err(invalid(
            "description",
            "no description is in a language Essaim can key (a tag starting with an ISO 639 code, such as `fr` or `it-IT`)",
        ));
    }
    let themes = themes(file, ctx);
    let audiences: Vec<&str> = if file.scope.iter().any(|s| s == "local-authorities") {
        vec!["collectivites"]
    } else {
        Vec::new()
    };

    let Some(stage) = stage_for(&file.development_status) else {
        return Err(invalid("developmentStatus", "unknown status"));
    };
    if file.development_status == "obsolete" {
        ctx.mapping(
            "developmentStatus",
            "`obsolete` has no Essaim stage: imported as `consolidation`; retract the initiative if it is no longer maintained",
        );
    }

    let mut record = Map::new();
    record.insert("v".into(), json!(1));
    record.insert("kind".into(), json!("initiative"));
    record.insert("author".into(), json!(author.to_string()));
    record.insert("slug".into(), json!(slug));
    record.insert("seq".into(), json!(now.saturating_mul(1000)));
    record.insert("created".into(), json!(now));
    record.insert("name".into(), json!(name));
    record.insert("themes".into(), json!(themes));
    if !audiences.is_empty() {
        record.insert("audiences".into(), json!(audiences));
    }
    if let Some(carrier) = carrier(file, ctx) {
        record.insert("carrier".into(), json!({ "name": carrier }));
    }
    record.insert("origin".into(), json!(origin(file, ctx)));
    record.insert("stage".into(), json!(stage.code()));
    if let Some(repo) = repository(file, ctx) {
        record.insert("repositories".into(), json!([repo]));
    }
    let contacts = contacts(file, ctx);
    if !contacts.is_empty() {
        record.insert("contacts".into(), Value::Array(contacts));
    }
    if let Some(site) = file.landing_url.as_deref() {
        match web_url(site) {
            Some(url) => {
                record.insert("website".into(), json!(url));
            }
            None => ctx.mapping(
                "landingURL",
                "dropped: Essaim web sites are http(s) URLs without credentials",
            ),
        }
    }
    record.insert("summary".into(), json!(summary));

    // Descriptions are long: if the record is over the payload limit, drop
    // the longest ones until it fits.
    let mut description = description;
    loop {
        let mut value = record.clone();
        if !description.is_empty() {
            let map: Map<String, Value> = description
                .iter()
                .map(|(lang, (_, text))| (lang.clone(), json!(text)))
                .collect();
            value.insert("description".into(), Value::Object(map));
        }
        let body = Body::from_json(Value::Object(value))?;
        essaim_protocol::validate(&body, now)?;
        if body.to_payload()?.len() <= MAX_PAYLOAD_BYTES || description.is_empty() {
            return Ok(body);
        }
        let longest = description
            .iter()
            .max_by_key(|(lang, (_, text))| (lang.as_str() != "fr", text.len()))
            .map(|(lang, (tag, _))| (lang.clone(), tag.clone()));
        if let Some((lang, tag)) = longest {
            description.retain(|(l, _)| *l != lang);
            ctx.mapping(
                format!("description.{tag}.longDescription"),
                format!(
                    "dropped: the record would be over Essaim's {MAX_PAYLOAD_BYTES}-byte limit"
                ),
            );
        }
    }
}

/// Summaries and descriptions per Essaim language code (a BCP 47 tag's
/// primary language), with the tag they came from.
type Texts = Vec<(String, (String, String))>;

fn texts(file: &File, ctx: &mut Ctx<'_>) -> (Map<String, Value>, Texts) {
    // One entry per language: `en` wins over `en-GB`, else the first tag.
    let mut by_lang: Vec<(String, &Description)> = Vec::new();
    for d in &file.descriptions {
        let primary = d.tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        let usable = (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
            && !d.tag.eq_ignore_ascii_case("i-default");
        if !usable {
            ctx.mapping(
                format!("description.{}", d.tag),
                "dropped: Essaim keys texts by ISO 639 language code, and this tag has none",
            );
            continue;
        }
        match by_lang.iter_mut().find(|(l, _)| *l == primary) {
            None => by_lang.push((primary, d)),
            Some((_, kept)) => {
                let (keep, drop) = if d.tag.eq_ignore_ascii_case(&primary) {
                    (d, *kept)
                } else {
                    (*kept, d)
                };
                ctx.mapping(
                    format!("description.{}", drop.tag),
                    format!(
                        "dropped: Essaim has one text per language, and `{}` is kept for `{primary}`",
                        keep.tag
                    ),
                );
                *kept = keep;
            }
        }
    }

    // French is required: borrow the Italian, English or first text.
    let mut fallback = None;
    if !by_lang.iter().any(|(l, _)| l == "fr") {
        let pick = ["it", "en"]
            .iter()
            .find_map(|want| by_lang.iter().find(|(l, _)| l == want))
            .or_else(|| by_lang.first());
        if let Some((lang, d)) = pick {
            ctx.mapping(
                format!("description.{}.shortDescription", d.tag),
                format!(
                    "no French text in the file: this `{lang}` summary is also used as the French summary Essaim requires (`summary.fr`); translate it"
                ),
            );
            fallback = Some(*d);
        }
    }

    // At most LANGUAGES_MAX languages: French first, then Italian and English.
    let rank = |l: &str| match l {
        "fr" => 0,
        "it" => 1,
        "en" => 2,
        _ => 3,
    };
    by_lang.sort_by_key(|(l, _)| rank(l));
    let room = LANGUAGES_MAX - usize::from(fallback.is_some());
    for (_, d) in by_lang.iter().skip(room) {
        ctx.mapping(
            format!("description.{}", d.tag),
            format!("dropped: Essaim keeps at most {LANGUAGES_MAX} languages"),
        );
    }
    by_lang.truncate(room);

    let mut summary = Map::new();
    let mut description = Vec::new();
    if let Some(d) = fallback {
        summary.insert("fr".into(), json!(summary_text(d, ctx)));
    }
    for (lang, d) in &by_lang {
        summary.insert(lang.clone(), json!(summary_text(d, ctx)));
        let (long, cut) = shorten(&clean_text(&d.long), DESCRIPTION_MAX);
        if cut {
            ctx.mapping(
                format!("description.{}.longDescription", d.tag),
                format!("cut to {DESCRIPTION_MAX} characters (Essaim's limit)"),
            );
        }
        if !long.is_empty() {
            description.push((lang.clone(), (d.tag.clone(), long)));
        }
    }
    (summary, description)
}

fn summary_text(d: &Description, ctx: &mut Ctx<'_>) -> String {
    let text = clean_text(&d.short);
    let (text, cut) = shorten(&text, SUMMARY_MAX);
    if cut {
        ctx.mapping(
            format!("description.{}.shortDescription", d.tag),
            format!("cut to {SUMMARY_MAX} characters (Essaim's limit)"),
        );
    }
    if text.is_empty() {
        "—".to_owned()
    } else {
        text
    }
}

fn themes(file: &File, ctx: &mut Ctx<'_>) -> Vec<&'static str> {
    let mut themes: Vec<Theme> = Vec::new();
    let mut unmapped: Vec<&str> = Vec::new();
    let found = file
        .scope
        .iter()
        .map(|s| (s.as_str(), scope_theme(s)))
        .chain(
            file.categories
                .iter()
                .map(|c| (c.as_str(), category_theme(c))),
        );
    for (source, theme) in found {
        match theme {
            Some(t) if !themes.contains(&t) => themes.push(t),
            Some(_) => {}
            None => unmapped.push(source),
        }
    }
    if themes.len() > THEMES_MAX {
        let extra: Vec<&str> = themes[THEMES_MAX..].iter().map(|t| t.code()).collect();
        ctx.mapping(
            "intendedAudience.scope",
            format!(
                "Essaim keeps at most {THEMES_MAX} themes: {} left out",
                extra.join(", ")
            ),
        );
        themes.truncate(THEMES_MAX);
    }
    let (list, _) = shorten(&unmapped.join(", "), 200);
    if themes.is_empty() {
        themes.push(FALLBACK_THEME);
        let none = if list.is_empty() {
            "the file has no scope or category".to_owned()
        } else {
            format!("no scope or category maps to an Essaim theme ({list})")
        };
        ctx.mapping(
            "categories",
            format!(
                "{none}: the theme is `{}` (public-sector software); choose better ones",
                FALLBACK_THEME.code()
            ),
        );
    } else if !list.is_empty() {
        ctx.mapping("categories", format!("no Essaim theme for: {list}"));
    }
    themes.iter().map(|t| t.code()).collect()
}

fn carrier(file: &File, ctx: &mut Ctx<'_>) -> Option<String> {
    let candidates = [
        ("organisation.name", &file.organisation_name),
        ("legal.mainCopyrightOwner", &file.main_copyright_owner),
        ("legal.repoOwner", &file.repo_owner),
    ];
    let mut chosen: Option<(&str, String)> = None;
    for (key, value) in candidates {
        let Some(name) = value.as_deref().map(clean_line).filter(|n| !n.is_empty()) else {
            continue;
        };
        match &chosen {
            None => chosen = Some((key, name)),
            Some((from, kept)) if *kept != name => ctx.mapping(
                key,
                format!("dropped: Essaim has one carrier, taken from `{from}`"),
            ),
            Some(_) => {}
        }
    }
    let (from, name) = chosen?;
    let (name, cut) = shorten(&name, NAME_MAX);
    if cut {
        ctx.mapping(
            from,
            format!("cut to {NAME_MAX} characters (Essaim's limit)"),
        );
    }
    Some(name)
}

fn origin(file: &File, ctx: &mut Ctx<'_>) -> &'static str {
    let french = file.countries.as_ref().map(|c| c.iter().any(|c| c == "FR"));
    match (french, file.italian_section) {
        (Some(true), _) => {}
        (Some(false), _) => ctx.mapping(
            "intendedAudience.countries",
            "the software is meant for countries other than France, but Essaim territories are French INSEE codes: the origin is set to FR; edit it if a French territory fits better",
        ),
        (None, Some(section)) => ctx.mapping(
            section,
            "the software comes from Italy, but Essaim territories are French INSEE codes: the origin is set to FR",
        ),
        (None, None) => {}
    }
    "FR"
}

fn repository(file: &File, ctx: &mut Ctx<'_>) -> Option<Value> {
    let Some(url) = web_url(&file.url) else {
        ctx.mapping(
            "url",
            "dropped with `legal.license`: Essaim mirrors repositories over http(s) only",
        );
        return None;
    };
    Some(json!({
        "name": repository_name(&url),
        "url": url,
        "licence": file.license,
    }))
}

/// A URL in Essaim's form (normalised, http or https, no credentials).
fn web_url(raw: &str) -> Option<String> {
    let url = WebUrl::normalise(raw.trim())?;
    url.parse::<WebUrl>().ok().map(|u| u.to_string())
}

/// A repository's name: the slug of the URL's last path segment (without
/// `.git`), else of its host, else `code`.
fn repository_name(url: &str) -> String {
    url_slug(url).unwrap_or_else(|| "code".to_owned())
}

fn contacts(file: &File, ctx: &mut Ctx<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, c) in file.contacts.iter().enumerate() {
        let key = format!("maintenance.contacts[{i}]");
        let email = c
            .email
            .as_deref()
            .map(str::trim)
            .and_then(|e| e.parse::<Email>().ok());
        let Some(email) = email else {
            let why = if c.email.is_some() {
                "dropped: its e-mail address is not one Essaim accepts (an Essaim contact needs one)"
            } else {
                "dropped: it has no e-mail address, and an Essaim contact needs one"
            };
            ctx.mapping(key, why);
            continue;
        };
        if out.len() == CONTACTS_MAX {
            ctx.mapping(
                key,
                format!("dropped: Essaim keeps at most {CONTACTS_MAX} contacts"),
            );
            continue;
        }
        let mut contact = Map::new();
        let name = clean_line(&c.name);
        if !name.is_empty() {
            contact.insert("name".into(), json!(shorten(&name, NAME_MAX).0));
        }
        contact.insert("email".into(), json!(email.as_str()));
        out.push(Value::Object(contact));
    }
    out
}
