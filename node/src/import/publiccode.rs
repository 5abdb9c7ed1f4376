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

use std::io::Read;
use std::path::Path;

use essaim_protocol::limits::{
    CONTACTS_MAX, DESCRIPTION_MAX, LANGUAGES_MAX, MAX_PAYLOAD_BYTES, NAME_MAX, SLUG_MAX,
    SUMMARY_MAX, THEMES_MAX,
};
use essaim_protocol::record::{Email, Licence, WebUrl};
use essaim_protocol::vocab::{Stage, Theme};
use essaim_protocol::{Body, HubId, RecordError};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

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

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

type Obj = Map<String, Value>;

/// Parse the YAML text into a mapping, within a budget that keeps hostile
/// input cheap: a publiccode.yml nests 5 levels and holds a few hundred nodes.
fn read_yaml(text: &str) -> Result<Obj, PubliccodeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 32;
    budget.max_nodes = 100_000;
    budget.max_events = 400_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * MAX_INPUT_BYTES;
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = 100_000;
    aliases.max_replay_stack_depth = 16;
    // YAML 1.2 booleans only: `localisationReady: no` is a text, not false
    // (the standard refuses YAML 1.1 booleans).
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        budget: Some(budget),
        alias_limits: aliases,
    };
    let node: Spanned<Node> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| PubliccodeError::Yaml {
            message: yaml_message(&e.to_string()),
        })?;
    match node.into_value(text) {
        Value::Object(map) => Ok(map),
        Value::Null => Err(PubliccodeError::NotAMapping {
            found: "an empty document",
        }),
        other => Err(PubliccodeError::NotAMapping {
            found: kind_of(&other),
        }),
    }
}

/// A YAML node as the parser reads it. Numbers keep where they are written,
/// so that they can be read back as the text they are: the standard reads
/// every scalar of a text field as text (`genericName: 0123…` keeps its
/// leading zero and its length).
enum Node {
    Null,
    Bool(bool),
    Number(String),
    Text(String),
    List(Vec<Spanned<Node>>),
    Map(Vec<(String, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

trait IntoValue {
    fn into_value(self, source: &str) -> Value;
}

impl IntoValue for Spanned<Node> {
    /// The node as JSON; a number becomes the text it is written as (the
    /// anchor's text, for an alias).
    fn into_value(self, source: &str) -> Value {
        match self.value {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Number(parsed) => {
                let span = self.defined.span();
                let written = span
                    .byte_offset()
                    .zip(span.byte_len())
                    .and_then(|(at, len)| {
                        let at = usize::try_from(at).ok()?;
                        source.get(at..at.checked_add(usize::try_from(len).ok()?)?)
                    })
                    .map(str::trim)
                    .filter(|t| !t.is_empty());
                Value::String(written.map_or(parsed, str::to_owned))
            }
            Node::Text(t) => Value::String(t),
            Node::List(items) => {
                Value::Array(items.into_iter().map(|i| i.into_value(source)).collect())
            }
            Node::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, v.into_value(source)))
                    .collect(),
            ),
        }
    }
}

/// The parser's message on one line, in words for the person who wrote the
/// file (the budget and policy names are the parser's own).
fn yaml_message(raw: &str) -> String {
    let raw = one_line(raw);
    let at = raw.find(" at line ").map_or("", |i| &raw[i..]);
    let said = |what: &str| format!("{what}{at}");
    if raw.starts_with("duplicate mapping key") {
        let key = raw
            .split_once(": ")
            .and_then(|(_, rest)| rest.split(", set ").next())
            .unwrap_or("");
        said(&format!("the key `{key}` is given twice"))
    } else if raw.contains("Depth {") || raw.starts_with("recursion limit") {
        said("nested too deeply (a publiccode.yml is a few levels deep)")
    } else if raw.contains("Documents {") {
        said("more than one YAML document (`---`): a publiccode.yml is one document")
    } else if raw.contains("alias") || raw.contains("anchor") {
        said("too large once its aliases (`*name`) are expanded")
    } else if raw.contains("budget breached") {
        said("too large or too complex for a publiccode.yml")
    } else {
        raw
    }
}

/// How a value is named in messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A message on one line, at most 300 characters.
fn one_line(text: &str) -> String {
    shorten(&clean_line(text), 300).0
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// What the mapping needs from a valid file.
struct File {
    name: String,
    url: String,
    landing_url: Option<String>,
    development_status: String,
    categories: Vec<String>,
    scope: Vec<String>,
    /// `intendedAudience.countries`, upper-case.
    countries: Option<Vec<String>>,
    descriptions: Vec<Description>,
    license: String,
    main_copyright_owner: Option<String>,
    repo_owner: Option<String>,
    organisation_name: Option<String>,
    contacts: Vec<ContactIn>,
    /// Which country section (`IT` or `it`) the file has.
    italian_section: Option<&'static str>,
}

struct Description {
    /// The BCP 47 tag, as written.
    tag: String,
    short: String,
    long: String,
}

struct ContactIn {
    name: String,
    email: Option<String>,
}

/// The validation's state: where the file is, and the warnings so far.
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

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A present, non-null value.
fn get<'v>(map: &'v Obj, name: &str) -> Option<&'v Value> {
    map.get(name).filter(|v| !v.is_null())
}

fn required(key: &str) -> PubliccodeError {
    invalid(key, "required: add it")
}

fn wrong_type(key: &str, expected: &str, value: &Value) -> PubliccodeError {
    invalid(key, format!("must be {expected}, not {}", kind_of(value)))
}

/// A scalar as text (YAML scalars are texts to the reference validator:
/// `softwareVersion: 1.0` is `"1.0"`).
fn text(value: &Value, key: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(wrong_type(key, "a text", other)),
    }
}

fn opt_text(map: &Obj, path: &str, name: &str) -> Result<Option<String>> {
    get(map, name)
        .map(|v| text(v, &join(path, name)))
        .transpose()
}

/// A required text: present and not empty.
fn req_text(map: &Obj, path: &str, name: &str) -> Result<String> {
    let key = join(path, name);
    match opt_text(map, path, name)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(required(&key)),
    }
}

fn list<'v>(value: &'v Value, key: &str) -> Result<&'v [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(wrong_type(key, "a list", other)),
    }
}

fn opt_list<'v>(map: &'v Obj, path: &str, name: &str) -> Result<Option<&'v [Value]>> {
    get(map, name)
        .map(|v| list(v, &join(path, name)))
        .transpose()
}

/// A list of texts.
fn text_list(items: &[Value], key: &str) -> Result<Vec<String>> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| text(v, &format!("{key}[{i}]")))
        .collect()
}

fn object<'v>(value: &'v Value, key: &str) -> Result<&'v Obj> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(wrong_type(key, "a mapping of keys", other)),
    }
}

fn opt_object<'v>(map: &'v Obj, path: &str, name: &str) -> Result<Option<&'v Obj>> {
    get(map, name)
        .map(|v| object(v, &join(path, name)))
        .transpose()
}

fn boolean(value: &Value, key: &str) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s)
            if ["yes", "no", "on", "off", "y", "n"].contains(&s.to_ascii_lowercase().as_str()) =>
        {
            Err(invalid(
                key,
                format!(
                    "`{s}` is a YAML 1.1 boolean, which the standard refuses: write true or false"
                ),
            ))
        }
        other => Err(wrong_type(key, "true or false", other)),
    }
}

fn opt_bool(map: &Obj, path: &str, name: &str) -> Result<Option<bool>> {
    get(map, name)
        .map(|v| boolean(v, &join(path, name)))
        .transpose()
}

/// Refuse keys the standard does not define (the reference validator decodes
/// with known fields only).
fn known_keys(map: &Obj, path: &str, allowed: &[&str]) -> Result<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(invalid(
            join(path, unknown),
            format!(
                "unknown key: the standard has no `{}` here (check its spelling and case)",
                shorten(unknown, 60).0
            ),
        )),
    }
}

fn one_of(value: &str, key: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!(
                "`{}` is not one of: {}",
                shorten(value, 60).0,
                allowed.join(", ")
            ),
        ))
    }
}

const TOP_KEYS: &[&str] = &[
    "publiccodeYmlVersion",
    "name",
    "applicationSuite",
    "url",
    "landingURL",
    "isBasedOn",
    "softwareVersion",
    "releaseDate",
    "logo",
    "monochromeLogo",
    "organisation",
    "inputTypes",
    "outputTypes",
    "platforms",
    "categories",
    "usedBy",
    "fundedBy",
    "roadmap",
    "developmentStatus",
    "softwareType",
    "supports",
    "intendedAudience",
    "description",
    "legal",
    "maintenance",
    "localisation",
    "dependsOn",
    "IT",
    "it",
];

/// Top-level keys Essaim has no field for.
const DROPPED_KEYS: &[&str] = &[
    "applicationSuite",
    "isBasedOn",
    "softwareVersion",
    "releaseDate",
    "logo",
    "monochromeLogo",
    "inputTypes",
    "outputTypes",
    "platforms",
    "usedBy",
    "fundedBy",
    "roadmap",
    "softwareType",
    "supports",
    "localisation",
    "dependsOn",
    "IT",
    "it",
];

/// The versions of the standard the reference validator reads as `v0`; the
/// first three mean "the latest 0.x".
const VERSIONS: &[&str] = &[
    "0", "0.7", "0.7.0", "0.2", "0.2.0", "0.2.1", "0.2.2", "0.3", "0.3.0", "0.4", "0.4.0", "0.5",
    "0.5.0",
];

const DEVELOPMENT_STATUSES: &[&str] = &["concept", "development", "beta", "stable", "obsolete"];

const SOFTWARE_TYPES: &[&str] = &[
    "standalone/mobile",
    "standalone/iot",
    "standalone/desktop",
    "standalone/web",
    "standalone/backend",
    "standalone/other",
    "addon",
    "library",
    "configurationFiles",
];

const MAINTENANCE_TYPES: &[&str] = &["internal", "contract", "community", "none"];

/// The aliases of `supports[].id` (standard 0.7).
const SUPPORT_ALIASES: &[&str] = &[
    "gdpr", "eidas", "nis2", "cra", "spid", "cie", "anpr", "pagopa", "io",
];

fn validate(root: &Obj, ctx: &mut Ctx<'_>) -> Result<File> {
    known_keys(root, "", TOP_KEYS)?;

    let version = req_text(root, "", "publiccodeYmlVersion")?;
    if !VERSIONS.contains(&version.as_str()) {
        return Err(invalid(
            "publiccodeYmlVersion",
            format!(
                "unsupported version `{}`: write \"0\" (supported: {})",
                shorten(&version, 20).0,
                VERSIONS.join(", ")
            ),
        ));
    }
    if !["0", "0.7", "0.7.0"].contains(&version.as_str()) {
        ctx.conformance(
            "publiccodeYmlVersion",
            format!("{version} is not the latest version of the standard: write \"0\""),
        );
    }

    let name = req_text(root, "", "name")?;
    opt_text(root, "", "applicationSuite")?;

    let url = req_text(root, "", "url")?;
    if !is_url(&url) {
        return Err(invalid(
            "url",
            format!(
                "`{}` is not a URL: write the repository's address (https://…)",
                shorten(&url, 80).0
            ),
        ));
    }
    let landing_url = opt_http_url(root, "", "landingURL")?;

    if let Some(based) = get(root, "isBasedOn") {
        let urls = match based {
            Value::Array(items) => text_list(items, "isBasedOn")?,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                vec![text(based, "isBasedOn")?]
            }
            other => return Err(wrong_type("isBasedOn", "a URL or a list of URLs", other)),
        };
        for (i, u) in urls.iter().enumerate() {
            if !is_url(u) {
                return Err(invalid(
                    format!("isBasedOn[{i}]"),
                    format!("`{}` is not a URL", shorten(u, 80).0),
                ));
            }
        }
    }
    opt_text(root, "", "softwareVersion")?;
    if let Some(date) = opt_text(root, "", "releaseDate")? {
        check_date(&date, "releaseDate")?;
    }

    if let Some(logo) = opt_text(root, "", "logo")? {
        check_logo(&logo, "logo", ctx)?;
    }
    if let Some(logo) = opt_text(root, "", "monochromeLogo")?.filter(|l| !l.is_empty()) {
        ctx.deprecated("monochromeLogo", "use `logo` instead");
        check_logo(&logo, "monochromeLogo", ctx)?;
    }

    let mut organisation_name = None;
    if let Some(org) = opt_object(root, "", "organisation")? {
        known_keys(org, "organisation", &["name", "uri"])?;
        organisation_name = opt_text(org, "organisation", "name")?;
        let uri = req_text(org, "organisation", "uri")?;
        check_organisation_uri(&uri, "organisation.uri")?;
        ctx.dropped("organisation.uri");
    }

    for key in ["inputTypes", "outputTypes"] {
        if let Some(items) = opt_list(root, "", key)? {
            ctx.deprecated(key, "it is safe to drop it");
            for (i, mime) in text_list(items, key)?.iter().enumerate() {
                if !is_mime_type(mime) {
                    return Err(invalid(
                        format!("{key}[{i}]"),
                        format!(
                            "`{}` is not a MIME type (type/subtype)",
                            shorten(mime, 60).0
                        ),
                    ));
                }
            }
        }
    }

    let platforms = opt_list(root, "", "platforms")?.unwrap_or_default();
    if platforms.is_empty() {
        return Err(invalid(
            "platforms",
            "required: list at least one platform (web, windows, mac, linux, ios, android…)",
        ));
    }
    text_list(platforms, "platforms")?;

    let categories = match opt_list(root, "", "categories")? {
        Some(items) => text_list(items, "categories")?,
        None => Vec::new(),
    };
    for (i, c) in categories.iter().enumerate() {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(invalid(
                format!("categories[{i}]"),
                format!(
                    "`{}` is not a category of the standard's list (https://yml.publiccode.tools/categories-list.html)",
                    shorten(c, 60).0
                ),
            ));
        }
    }

    if let Some(items) = opt_list(root, "", "usedBy")? {
        text_list(items, "usedBy")?;
    }

    if let Some(funders) = opt_list(root, "", "fundedBy")? {
        for (i, funder) in funders.iter().enumerate() {
            let key = format!("fundedBy[{i}]");
            let funder = object(funder, &key)?;
            known_keys(funder, &key, &["name", "uri"])?;
            opt_text(funder, &key, "name")?;
            let uri = req_text(funder, &key, "uri")?;
            check_organisation_uri(&uri, &join(&key, "uri"))?;
        }
    }

    opt_http_url(root, "", "roadmap")?;

    let development_status = req_text(root, "", "developmentStatus")?;
    one_of(
        &development_status,
        "developmentStatus",
        DEVELOPMENT_STATUSES,
    )?;
    let software_type = req_text(root, "", "softwareType")?;
    one_of(&software_type, "softwareType", SOFTWARE_TYPES)?;

    if let Some(supports) = opt_list(root, "", "supports")? {
        for (i, item) in supports.iter().enumerate() {
            let key = format!("supports[{i}]");
            let item = object(item, &key)?;
            known_keys(item, &key, &["id"])?;
            let id = req_text(item, &key, "id")?;
            check_support_id(&id, &join(&key, "id"))?;
        }
    }

    let (scope, countries) = intended_audience(root, ctx)?;
    let descriptions = descriptions(root, ctx)?;
    let (license, main_copyright_owner, repo_owner) = legal(root, ctx)?;
    let contacts = maintenance(root, ctx)?;
    localisation(root)?;
    dependencies(root)?;
    let italian_section = country_sections(root, ctx)?;

    for key in DROPPED_KEYS {
        if get(root, key).is_some() {
            ctx.dropped(*key);
        }
    }

    Ok(File {
        name,
        url,
        landing_url,
        development_status,
        categories,
        scope,
        countries,
        descriptions,
        license,
        main_copyright_owner,
        repo_owner,
        organisation_name,
        contacts,
        italian_section,
    })
}

type Audience = (Vec<String>, Option<Vec<String>>);

fn intended_audience(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Audience> {
    let Some(audience) = opt_object(root, "", "intendedAudience")? else {
        return Ok((Vec::new(), None));
    };
    let path = "intendedAudience";
    known_keys(
        audience,
        path,
        &["scope", "countries", "unsupportedCountries"],
    )?;
    let scope = match opt_list(audience, path, "scope")? {
        Some(items) => text_list(items, "intendedAudience.scope")?,
        None => Vec::new(),
    };
    for (i, s) in scope.iter().enumerate() {
        if !SCOPES.contains(&s.as_str()) {
            return Err(invalid(
                format!("intendedAudience.scope[{i}]"),
                format!(
                    "`{}` is not a scope of the standard's list (https://yml.publiccode.tools/scope-list.html)",
                    shorten(s, 60).0
                ),
            ));
        }
    }
    let mut countries = None;
    for name in ["countries", "unsupportedCountries"] {
        let Some(items) = opt_list(audience, path, name)? else {
            continue;
        };
        let key = join(path, name);
        let codes = text_list(items, &key)?;
        for (i, code) in codes.iter().enumerate() {
            let upper = code.to_ascii_uppercase();
            let one_case = *code == upper || *code == code.to_ascii_lowercase();
            if !one_case || !is_country(&upper) {
                return Err(invalid(
                    format!("{key}[{i}]"),
                    format!(
                        "`{}` is not an ISO 3166-1 alpha-2 country code (FR, IT, DE…)",
                        shorten(code, 40).0
                    ),
                ));
            }
            if *code != upper {
                ctx.conformance(
                    format!("{key}[{i}]"),
                    format!("lower-case country codes are deprecated: write `{upper}`"),
                );
            }
        }
        if name == "countries" {
            countries = Some(codes.iter().map(|c| c.to_ascii_uppercase()).collect());
        } else {
            ctx.dropped(key);
        }
    }
    Ok((scope, countries))
}

const DESCRIPTION_KEYS: &[&str] = &[
    "localisedName",
    "genericName",
    "shortDescription",
    "longDescription",
    "documentation",
    "apiDocumentation",
    "features",
    "screenshots",
    "videos",
    "awards",
];

fn descriptions(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Vec<Description>> {
    let Some(map) = opt_object(root, "", "description")? else {
        return Err(invalid(
            "description",
            "required: describe the software in at least one language (`description: {en: {…}}`)",
        ));
    };
    if map.is_empty() {
        return Err(invalid(
            "description",
            "describe the software in at least one language",
        ));
    }
    let mut out = Vec::new();
    for (tag, value) in map {
        let path = format!("description.{tag}");
        if !is_language_tag(tag) {
            let hint = if tag.contains('_') {
                format!(" (write `{}`)", tag.replace('_', "-"))
            } else {
                String::new()
            };
            return Err(invalid(
                path,
                format!(
                    "`{}` is not a BCP 47 language tag{hint}",
                    shorten(tag, 40).0
                ),
            ));
        }
        let desc = match value {
            Value::Null => &Map::new(),
            other => object(other, &path)?,
        };
        known_keys(desc, &path, DESCRIPTION_KEYS)?;
        opt_text(desc, &path, "localisedName")?;
        if let Some(generic) = opt_text(desc, &path, "genericName")? {
            max_graphemes(&generic, &join(&path, "genericName"), 35)?;
            if !generic.is_empty() {
                ctx.deprecated(&join(&path, "genericName"), "it is safe to drop it");
            }
        }
        let short = req_text(desc, &path, "shortDescription")?;
        max_graphemes(&short, &join(&path, "shortDescription"), 150)?;
        let long = req_text(desc, &path, "longDescription")?;
        let long_key = join(&path, "longDescription");
        let count = graphemes(&long);
        if count < 150 {
            return Err(invalid(
                long_key,
                format!("{count} characters: write at least 150"),
            ));
        }
        max_graphemes(&long, &long_key, 10_000)?;
        for name in ["documentation", "apiDocumentation"] {
            opt_http_url(desc, &path, name)?;
        }
        let features = opt_list(desc, &path, "features")?.unwrap_or_default();
        if features.is_empty() {
            return Err(invalid(
                join(&path, "features"),
                "required: list at least one feature",
            ));
        }
        text_list(features, &join(&path, "features"))?;
        if let Some(shots) = opt_list(desc, &path, "screenshots")? {
            let key = join(&path, "screenshots");
            for (i, shot) in text_list(shots, &key)?.iter().enumerate() {
                check_screenshot(shot, &format!("{key}[{i}]"), ctx)?;
            }
        }
        if let Some(videos) = opt_list(desc, &path, "videos")? {
            let key = join(&path, "videos");
            for (i, video) in videos.iter().enumerate() {
                let key = format!("{key}[{i}]");
                let video = text(video, &key)?;
                if !is_http_url(&video) {
                    return Err(invalid(
                        key,
                        format!("`{}` is not an http(s) URL", shorten(&video, 80).0),
                    ));
                }
                if !is_video_url(&video) {
                    return Err(invalid(
                        key,
                        format!(
                            "`{}` is not a video of a known oEmbed provider (YouTube, Vimeo, Dailymotion…)",
                            shorten(&video, 80).0
                        ),
                    ));
                }
            }
        }
        if let Some(awards) = opt_list(desc, &path, "awards")? {
            text_list(awards, &join(&path, "awards"))?;
        }
        for name in DESCRIPTION_KEYS {
            if !["shortDescription", "longDescription"].contains(name) && get(desc, name).is_some()
            {
                ctx.dropped(join(&path, name));
            }
        }
        out.push(Description {
            tag: tag.clone(),
            short,
            long,
        });
    }
    // In the order of their tags, whatever the order of the file.
    out.sort_by(|a, b| a.tag.cmp(&b.tag));
    Ok(out)
}

fn max_graphemes(value: &str, key: &str, max: usize) -> Result<()> {
    let count = graphemes(value);
    if count > max {
        return Err(invalid(
            key,
            format!("{count} characters: write at most {max}"),
        ));
    }
    Ok(())
}

type Legal = (String, Option<String>, Option<String>);

fn legal(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Legal> {
    let Some(legal) = opt_object(root, "", "legal")? else {
        return Err(invalid(
            "legal",
            "required: give at least `legal.license` (an SPDX expression)",
        ));
    };
    known_keys(
        legal,
        "legal",
        &["license", "mainCopyrightOwner", "repoOwner", "authorsFile"],
    )?;
    let written = req_text(legal, "legal", "license")?;
    let license = match written.parse::<Licence>() {
        Ok(_) => written,
        // The standard accepts the deprecated GNU ids (`GPL-3.0`); Essaim
        // records take their current form.
        Err(rule) => match undeprecate(&written).filter(|l| l.parse::<Licence>().is_ok()) {
            Some(current) => {
                ctx.mapping(
                    "legal.license",
                    format!("`{written}` is a deprecated SPDX id: recorded as `{current}`"),
                );
                current
            }
            None => {
                return Err(invalid(
                    "legal.license",
                    format!(
                        "`{}`: {rule} (see https://spdx.org/licenses)",
                        shorten(&written, 80).0
                    ),
                ));
            }
        },
    };
    let owner = opt_text(legal, "legal", "mainCopyrightOwner")?;
    let repo_owner = opt_text(legal, "legal", "repoOwner")?;
    if repo_owner.is_some() {
        ctx.deprecated("legal.repoOwner", "use `organisation.name` instead");
    }
    if let Some(file) = opt_text(legal, "legal", "authorsFile")? {
        ctx.deprecated("legal.authorsFile", "it is safe to drop it");
        relative_path_or_url(&file, "legal.authorsFile")?;
        if let Some(path) = local_path(&file, ctx)
            && !path.exists()
        {
            return Err(invalid(
                "legal.authorsFile",
                format!("`{}` does not exist", shorten(&file, 80).0),
            ));
        }
        ctx.dropped("legal.authorsFile");
    }
    Ok((license, owner, repo_owner))
}

fn maintenance(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Vec<ContactIn>> {
    let path = "maintenance";
    let Some(m) = opt_object(root, "", path)? else {
        return Err(invalid(
            path,
            "required: say who maintains the software (`maintenance.type`)",
        ));
    };
    known_keys(m, path, &["type", "contractors", "contacts"])?;
    let kind = req_text(m, path, "type")?;
    one_of(&kind, "maintenance.type", MAINTENANCE_TYPES)?;

    let contractors = opt_list(m, path, "contractors")?;
    match (kind.as_str(), contractors) {
        ("contract", None) | ("contract", Some([])) => {
            return Err(invalid(
                "maintenance.contractors",
                "required when `type` is `contract`: list the contractors",
            ));
        }
        ("contract", Some(_)) => {}
        (_, Some(_)) => {
            return Err(invalid(
                "maintenance.contractors",
                format!("must not be present unless `type` is `contract` (it is `{kind}`)"),
            ));
        }
        (_, None) => {}
    }
    for (i, contractor) in contractors.unwrap_or_default().iter().enumerate() {
        let key = format!("maintenance.contractors[{i}]");
        let c = object(contractor, &key)?;
        known_keys(c, &key, &["name", "email", "website", "until"])?;
        req_text(c, &key, "name")?;
        if let Some(email) = opt_text(c, &key, "email")? {
            check_email(&email, &join(&key, "email"))?;
        }
        opt_http_url(c, &key, "website")?;
        let until = req_text(c, &key, "until")?;
        check_date(&until, &join(&key, "until"))?;
    }
    if contractors.is_some() {
        ctx.dropped("maintenance.contractors");
    }

    let contacts = opt_list(m, path, "contacts")?;
    if ["community", "internal"].contains(&kind.as_str()) && contacts.unwrap_or_default().is_empty()
    {
        return Err(invalid(
            "maintenance.contacts",
            format!("required when `type` is `{kind}`: list at least one contact"),
        ));
    }
    let mut out = Vec::new();
    for (i, contact) in contacts.unwrap_or_default().iter().enumerate() {
        let key = format!("maintenance.contacts[{i}]");
        let c = object(contact, &key)?;
        known_keys(c, &key, &["name", "email", "affiliation", "phone"])?;
        let name = req_text(c, &key, "name")?;
        let email = opt_text(c, &key, "email")?;
        if let Some(email) = &email {
            check_email(email, &join(&key, "email"))?;
        }
        for (field, why) in [
            (
                "affiliation",
                "dropped: Essaim contacts have no affiliation",
            ),
            (
                "phone",
                "dropped: Essaim contacts have no phone number (records are public and signed)",
            ),
        ] {
            if opt_text(c, &key, field)?.is_some() {
                ctx.mapping(join(&key, field), why);
            }
        }
        out.push(ContactIn { name, email });
    }
    ctx.dropped("maintenance.type");
    Ok(out)
}

fn localisation(root: &Obj) -> Result<()> {
    let path = "localisation";
    let Some(l) = opt_object(root, "", path)? else {
        return Err(invalid(
            path,
            "required: give `localisationReady` and `availableLanguages`",
        ));
    };
    known_keys(l, path, &["localisationReady", "availableLanguages"])?;
    if opt_bool(l, path, "localisationReady")?.is_none() {
        return Err(required("localisation.localisationReady"));
    }
    let languages = opt_list(l, path, "availableLanguages")?;
    let Some(languages) = languages.filter(|l| !l.is_empty()) else {
        return Err(invalid(
            "localisation.availableLanguages",
            "required: list at least one language (BCP 47 tag: en, it, fr-CA…)",
        ));
    };
    for (i, tag) in text_list(languages, "localisation.availableLanguages")?
        .iter()
        .enumerate()
    {
        if !is_language_tag(tag) {
            return Err(invalid(
                format!("localisation.availableLanguages[{i}]"),
                format!("`{}` is not a BCP 47 language tag", shorten(tag, 40).0),
            ));
        }
    }
    Ok(())
}

fn dependencies(root: &Obj) -> Result<()> {
    let Some(deps) = opt_object(root, "", "dependsOn")? else {
        return Ok(());
    };
    let kinds = ["open", "proprietary", "hardware"];
    known_keys(deps, "dependsOn", &kinds)?;
    for kind in kinds {
        let Some(items) = opt_list(deps, "dependsOn", kind)? else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let key = format!("dependsOn.{kind}[{i}]");
            let d = object(item, &key)?;
            known_keys(
                d,
                &key,
                &["name", "versionMin", "versionMax", "version", "optional"],
            )?;
            req_text(d, &key, "name")?;
            for field in ["versionMin", "versionMax", "version"] {
                opt_text(d, &key, field)?;
            }
            opt_bool(d, &key, "optional")?;
        }
    }
    Ok(())
}

/// The Italian section, `IT` (or the deprecated `it`).
fn country_sections(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Option<&'static str>> {
    let mut found = None;
    for name in ["IT", "it"] {
        let Some(section) = opt_object(root, "", name)? else {
            continue;
        };
        known_keys(
            section,
            name,
            &[
                "countryExtensionVersion",
                "conforme",
                "riuso",
                "piattaforme",
            ],
        )?;
        if let Some(v) = opt_text(section, name, "countryExtensionVersion")? {
            one_of(&v, &join(name, "countryExtensionVersion"), &["0.2", "1.0"])?;
        }
        if let Some(conforme) = opt_object(section, name, "conforme")? {
            let path = join(name, "conforme");
            let flags = [
                "lineeGuidaDesign",
                "modelloInteroperabilita",
                "misureMinimeSicurezza",
                "gdpr",
            ];
            known_keys(conforme, &path, &flags)?;
            for flag in flags {
                opt_bool(conforme, &path, flag)?;
            }
            ctx.deprecated(&path, "it is safe to drop it");
        }
        if let Some(riuso) = opt_object(section, name, "riuso")? {
            let path = join(name, "riuso");
            known_keys(riuso, &path, &["codiceIPA"])?;
            if let Some(code) = opt_text(riuso, &path, "codiceIPA")?.filter(|c| !c.is_empty()) {
                let key = join(&path, "codiceIPA");
                if !is_ipa_code(&code) {
                    return Err(invalid(
                        key,
                        format!("`{}` is not an Italian iPA code", shorten(&code, 40).0),
                    ));
                }
                ctx.deprecated(
                    &key,
                    &format!("use `organisation.uri: urn:x-italian-pa:{code}` instead"),
                );
            }
        }
        if let Some(platforms) = opt_object(section, name, "piattaforme")? {
            let path = join(name, "piattaforme");
            let flags = ["spid", "pagopa", "cie", "anpr", "io"];
            known_keys(platforms, &path, &flags)?;
            for flag in flags {
                opt_bool(platforms, &path, flag)?;
            }
        }
        if name == "it" {
            if found.is_some() {
                return Err(invalid(
                    "it",
                    "`IT` is already present: remove the lower-case `it` section",
                ));
            }
            ctx.conformance(
                "it",
                "lower-case country sections are deprecated: write `IT`",
            );
        }
        found = Some(name);
    }
    Ok(found)
}

// --- Value checks ------------------------------------------------------------

/// An absolute URL with a scheme (the reference validator's `url`).
fn is_url(s: &str) -> bool {
    !s.trim().is_empty() && !s.contains(char::is_whitespace) && WebUrl::normalise(s).is_some()
}

/// An absolute `http://` or `https://` URL with a host.
fn is_http_url(s: &str) -> bool {
    !s.contains(char::is_whitespace)
        && WebUrl::normalise(s)
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
}

fn opt_http_url(map: &Obj, path: &str, name: &str) -> Result<Option<String>> {
    let Some(url) = opt_text(map, path, name)? else {
        return Ok(None);
    };
    if !is_http_url(&url) {
        return Err(invalid(
            join(path, name),
            format!(
                "`{}` is not an http(s) URL: write it in full (https://…)",
                shorten(&url, 80).0
            ),
        ));
    }
    Ok(Some(url))
}

/// An SPDX expression with the deprecated GNU ids (`GPL-3.0`, `AGPL-3.0+`)
/// in their current form (`GPL-3.0-only`, `AGPL-3.0-or-later`); `None` when
/// there is none to rewrite.
fn undeprecate(expression: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(expression.len() + 16);
    let mut word = String::new();
    let mut flush = |word: &mut String, out: &mut String| {
        let bare = word.strip_suffix('+').unwrap_or(word);
        let gnu = ["GPL-", "LGPL-", "AGPL-", "GFDL-"]
            .iter()
            .any(|family| bare.starts_with(family));
        let version = bare.split_once('-').map(|(_, v)| v).unwrap_or_default();
        let numeric = !version.is_empty()
            && version
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if gnu && numeric {
            let suffix = if word.ends_with('+') {
                "-or-later"
            } else {
                "-only"
            };
            out.push_str(bare);
            out.push_str(suffix);
            changed = true;
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in expression.chars() {
        if c.is_whitespace() || c == '(' || c == ')' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    changed.then_some(out)
}

/// `YYYY-MM-DD`, a real date.
fn check_date(date: &str, key: &str) -> Result<()> {
    let ok = date.len() == 10
        && date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && date
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
        && {
            let num = |r: std::ops::Range<usize>| date[r].parse::<u32>().unwrap_or(0);
            let (year, month, day) = (num(0..4), num(5..7), num(8..10));
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => 0,
            };
            (1..=days).contains(&day)
        };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("`{}` is not a date: write YYYY-MM-DD", shorten(date, 40).0),
        ))
    }
}

/// An e-mail address: `local@domain`, the domain made of labels.
fn check_email(email: &str, key: &str) -> Result<()> {
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    let ok = email.len() <= 254
        && email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && local.chars().all(atext)
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && !domain.is_empty()
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                })
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("`{}` is not an e-mail address", shorten(email, 80).0),
        ))
    }
}

/// A MIME type: `type/subtype` (RFC 6838 characters).
fn is_mime_type(s: &str) -> bool {
    let s = s.trim_matches(' ');
    let name = |part: &str, extra: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_-".contains(c) || extra.contains(c))
    };
    s.split_once('/')
        .is_some_and(|(t, sub)| name(t, "") && name(sub, ".+"))
}

/// A URI (`scheme:rest`) naming an organisation; Italian administrations are
/// `urn:x-italian-pa:<iPA code>`.
fn check_organisation_uri(uri: &str, key: &str) -> Result<()> {
    if !is_uri(uri) {
        return Err(invalid(
            key,
            format!(
                "`{}` is not a URI: write a URL (https://…) or a URN (urn:…; urn:x-italian-pa:<iPA code> for an Italian administration)",
                shorten(uri, 60).0
            ),
        ));
    }
    if let Some(code) = uri.strip_prefix("urn:x-italian-pa:")
        && !is_ipa_code(code)
    {
        return Err(invalid(
            key,
            format!("`{}` is not an Italian iPA code", shorten(code, 40).0),
        ));
    }
    Ok(())
}

/// `scheme:rest` (RFC 3986 scheme, something after it, no white space).
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The form of an iPA code (the register itself is not embedded, so an
/// unknown code of the right form passes).
fn is_ipa_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_support_id(id: &str, key: &str) -> Result<()> {
    if let Some(alias) = id.strip_prefix("alias:") {
        if SUPPORT_ALIASES.contains(&alias) {
            return Ok(());
        }
        return Err(invalid(
            key,
            format!(
                "unknown alias `{}`: the standard knows {}; otherwise give the URI of the standard or regulation",
                shorten(alias, 40).0,
                SUPPORT_ALIASES
                    .iter()
                    .map(|a| format!("alias:{a}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if is_uri(id) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!(
                "`{}` is neither an alias (alias:gdpr…) nor a URI",
                shorten(id, 60).0
            ),
        ))
    }
}

/// A file of the repository: a relative path or an http(s) URL.
fn relative_path_or_url(value: &str, key: &str) -> Result<()> {
    if value.starts_with('/') {
        return Err(invalid(
            key,
            "is an absolute path: only relative paths (from the repository root) or http(s) URLs are allowed",
        ));
    }
    if value.starts_with("file:") {
        return Err(invalid(
            key,
            "is a file:// URL: only relative paths (from the repository root) or http(s) URLs are allowed",
        ));
    }
    Ok(())
}

/// Where a relative path of the file is on disk, when the file's directory
/// is known (URLs are on the network: not checked).
fn local_path(value: &str, ctx: &Ctx<'_>) -> Option<std::path::PathBuf> {
    if is_url(value) && value.contains("://") {
        return None;
    }
    ctx.base.map(|base| base.join(value))
}

/// The lower-case extension of a path or URL (query and fragment ignored).
fn extension(value: &str) -> String {
    let path = value.split(['?', '#']).next().unwrap_or(value);
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Logos are SVG, SVGZ or PNG at least 120 pixels wide (the reference
/// validator's threshold).
fn check_logo(logo: &str, key: &str, ctx: &Ctx<'_>) -> Result<()> {
    if logo.is_empty() {
        return Ok(());
    }
    relative_path_or_url(logo, key)?;
    let ext = extension(logo);
    if !["svg", "svgz", "png"].contains(&ext.as_str()) {
        return Err(invalid(
            key,
            format!("`{}` is not an SVG, SVGZ or PNG file", shorten(logo, 80).0),
        ));
    }
    let Some(path) = local_path(logo, ctx) else {
        return Ok(());
    };
    if !path.is_file() {
        return Err(invalid(
            key,
            format!(
                "`{}` does not exist next to the publiccode.yml",
                shorten(logo, 80).0
            ),
        ));
    }
    if ext == "png" {
        match png_width(&path) {
            Some(width) if width >= 120 => {}
            Some(width) => {
                return Err(invalid(
                    key,
                    format!("the image is {width} pixels wide: a logo needs at least 120"),
                ));
            }
            None => {
                return Err(invalid(
                    key,
                    format!("`{}` is not a PNG image", shorten(logo, 80).0),
                ));
            }
        }
    }
    Ok(())
}

/// The width of a PNG image, from its header; `None` if it is not a PNG.
fn png_width(path: &Path) -> Option<u32> {
    let mut header = [0u8; 24];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    let signature = b"\x89PNG\r\n\x1a\n";
    if &header[..8] != signature || &header[12..16] != b"IHDR" {
        return None;
    }
    Some(u32::from_be_bytes([
        header[16], header[17], header[18], header[19],
    ]))
}

fn check_screenshot(shot: &str, key: &str, ctx: &Ctx<'_>) -> Result<()> {
    relative_path_or_url(shot, key)?;
    if !["jpg", "png"].contains(&extension(shot).as_str()) {
        return Err(invalid(
            key,
            format!("`{}` is not a JPG or PNG image", shorten(shot, 80).0),
        ));
    }
    if let Some(path) = local_path(shot, ctx)
        && !path.is_file()
    {
        return Err(invalid(
            key,
            format!(
                "`{}` does not exist next to the publiccode.yml",
                shorten(shot, 80).0
            ),
        ));
    }
    Ok(())
}

/// Video sites that answer oEmbed requests (a subset of the oEmbed
/// providers list that the reference validator embeds): host, and the path
/// prefixes of their video pages.
const VIDEO_PROVIDERS: &[(&str, &[&str])] = &[
    (
        "youtube.com",
        &[
            "/watch",
            "/v/",
            "/embed/",
            "/shorts/",
            "/playlist",
            "/live/",
        ],
    ),
    ("youtu.be", &["/"]),
    ("vimeo.com", &["/"]),
    ("player.vimeo.com", &["/video/"]),
    ("dailymotion.com", &["/video/", "/embed/video/"]),
    ("dai.ly", &["/"]),
    ("ted.com", &["/talks/"]),
    ("loom.com", &["/share/", "/embed/"]),
    ("streamable.com", &["/"]),
    ("fast.wistia.com", &["/medias/", "/embed/"]),
    ("twitch.tv", &["/videos/"]),
    ("clips.twitch.tv", &["/"]),
    ("fb.watch", &["/"]),
    ("rumble.com", &["/"]),
];

fn is_video_url(url: &str) -> bool {
    let Some(url) = WebUrl::normalise(url) else {
        return false;
    };
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = host.trim_start_matches("www.").trim_start_matches("m.");
    if host == "facebook.com" {
        return path.contains("/videos/") || path.starts_with("/watch");
    }
    VIDEO_PROVIDERS.iter().any(|(h, prefixes)| {
        *h == host
            && prefixes
                .iter()
                .any(|p| path.starts_with(p) && path.len() > p.len())
    })
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
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let host = parts.next().unwrap_or_default();
    let last = parts.next_back().unwrap_or_default();
    let last = last.strip_suffix(".git").unwrap_or(last);
    [last, host]
        .into_iter()
        .map(slugify)
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "code".to_owned())
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

// ---------------------------------------------------------------------------
// Texts
// ---------------------------------------------------------------------------

/// A slug made from a name: lower-case ASCII, accents folded (`é` → `e`,
/// `ß` → `ss`, `œ` → `oe`), every other run of characters → one `-`, at most
/// 64 bytes (cut at a hyphen when one is in the second half). Empty when the
/// name has no Latin letter or digit.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    let mut hyphen = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'a'..='z' | '0'..='9' => Some(c.to_string()),
            _ => fold(c).map(str::to_owned),
        };
        match folded {
            Some(part) => {
                if hyphen && !slug.is_empty() {
                    slug.push('-');
                }
                hyphen = false;
                slug.push_str(&part);
            }
            None => hyphen = true,
        }
        if slug.len() > SLUG_MAX + 8 {
            break;
        }
    }
    if slug.len() > SLUG_MAX {
        let cut = &slug[..SLUG_MAX];
        let cut = match cut.rfind('-') {
            Some(at) if at >= SLUG_MAX / 2 => &cut[..at],
            _ => cut,
        };
        slug = cut.trim_end_matches('-').to_owned();
    }
    slug
}

/// The ASCII letters of a lower-case Latin letter with a diacritic, or of a
/// ligature; `None` for anything else.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' | 'ạ' | 'ả' | 'ấ' | 'ầ' | 'ẩ'
        | 'ẫ' | 'ậ' | 'ắ' | 'ằ' | 'ẳ' | 'ẵ' | 'ặ' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ẹ' | 'ẻ' | 'ẽ' | 'ế' | 'ề' | 'ể'
        | 'ễ' | 'ệ' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' | 'ỉ' | 'ị' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' | 'ơ' | 'ọ' | 'ỏ' | 'ố' | 'ồ'
        | 'ổ' | 'ỗ' | 'ộ' | 'ớ' | 'ờ' | 'ở' | 'ỡ' | 'ợ' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' | 'ư' | 'ụ' | 'ủ' | 'ứ'
        | 'ừ' | 'ử' | 'ữ' | 'ự' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'ỳ' | 'ỷ' | 'ỹ' | 'ỵ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// One line: control characters and runs of white space → one space, trimmed.
fn clean_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Markdown text: line ends as `\n`, no control character but `\n` and
/// `\t`, trimmed.
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect::<String>()
        .trim()
        .to_owned()
}

/// At most `max` characters (`max` ≥ 2): cut at a word boundary when one is
/// in the second half, and ended with `…`. Says whether it cut.
fn shorten(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_owned(), false);
    }
    let end = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(at, _)| at);
    let keep = &text[..end];
    let cut = match keep.rfind(char::is_whitespace) {
        Some(at) if keep[..at].chars().count() >= max / 2 => &keep[..at],
        _ => keep,
    };
    (format!("{}…", cut.trim_end()), true)
}

/// The number of user-perceived characters (extended grapheme clusters, as
/// the standard counts lengths), approximated: combining marks, variation
/// selectors, emoji modifiers and tags, zero-width joiner sequences, Indic
/// vowel signs and conjuncts, Hangul jamo and regional-indicator pairs
/// extend the character before them; `\r\n` is one.
fn graphemes(text: &str) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut after_joiner = false;
    let mut open_flag = false;
    for c in text.chars() {
        let joins = match prev {
            None => false,
            Some('\r') => c == '\n',
            Some(p) if p.is_control() || c.is_control() => false,
            Some(p) => {
                after_joiner
                    || is_extend(c)
                    || (is_regional_indicator(c) && is_regional_indicator(p) && open_flag)
                    || hangul_joins(p, c)
                    || conjunct(p, c)
            }
        };
        if !joins {
            count += 1;
            open_flag = is_regional_indicator(c);
        } else if is_regional_indicator(c) {
            open_flag = false;
        }
        after_joiner = c == '\u{200D}';
        prev = Some(c);
    }
    count
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Characters that extend the one before them (a practical subset of the
/// Unicode `Extend` and `SpacingMark` properties).
fn is_extend(c: char) -> bool {
    let n = u32::from(c);
    let ranges: &[(u32, u32)] = &[
        (0x0300, 0x036F), // combining diacritical marks
        (0x0483, 0x0489), // Cyrillic
        (0x0591, 0x05BD), // Hebrew points
        (0x05BF, 0x05BF),
        (0x05C1, 0x05C2),
        (0x05C4, 0x05C5),
        (0x05C7, 0x05C7),
        (0x0610, 0x061A), // Arabic
        (0x064B, 0x065F),
        (0x0670, 0x0670),
        (0x06D6, 0x06DC),
        (0x06DF, 0x06E4),
        (0x06E7, 0x06E8),
        (0x06EA, 0x06ED),
        (0x0E31, 0x0E31), // Thai
        (0x0E34, 0x0E3A),
        (0x0E47, 0x0E4E),
        (0x0EB1, 0x0EB1), // Lao
        (0x0EB4, 0x0EBC),
        (0x0EC8, 0x0ECD),
        (0x1AB0, 0x1AFF), // combining marks, extended and supplement
        (0x1DC0, 0x1DFF),
        (0x200C, 0x200D),   // zero-width non-joiner and joiner
        (0x20D0, 0x20FF),   // combining marks for symbols
        (0x3099, 0x309A),   // kana voicing marks
        (0xFE00, 0xFE0F),   // variation selectors
        (0xFE20, 0xFE2F),   // combining half marks
        (0x1F3FB, 0x1F3FF), // emoji skin tones
        (0xE0020, 0xE007F), // emoji tags
        (0xE0100, 0xE01EF), // variation selectors supplement
    ];
    if ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n)) {
        return true;
    }
    // Brahmic scripts (Devanagari to Malayalam) share one layout: signs at
    // offsets 0x00-0x03, nukta 0x3C, vowel signs and virama 0x3E-0x4D,
    // 0x51-0x57, 0x62-0x63 of each 128-character block.
    if (0x0900..0x0D80).contains(&n) {
        let offset = n & 0x7F;
        return offset <= 0x03
            || offset == 0x3C
            || (0x3E..=0x4D).contains(&offset)
            || (0x51..=0x57).contains(&offset)
            || (0x62..=0x63).contains(&offset);
    }
    false
}

/// Brahmic conjuncts: a virama joins the consonant after it (`स्त`).
fn conjunct(prev: char, c: char) -> bool {
    let (p, n) = (u32::from(prev), u32::from(c));
    (0x0900..0x0D80).contains(&p)
        && p & 0x7F == 0x4D
        && p >> 7 == n >> 7
        && (0x15..=0x39).contains(&(n & 0x7F))
}

/// Hangul: a leading consonant joins what follows it; vowels and trailing
/// consonants join a preceding syllable or jamo.
fn hangul_joins(prev: char, c: char) -> bool {
    let p = u32::from(prev);
    let n = u32::from(c);
    let leading = |x: u32| (0x1100..=0x115F).contains(&x) || (0xA960..=0xA97F).contains(&x);
    let vowel_or_trailing =
        |x: u32| (0x1160..=0x11FF).contains(&x) || (0xD7B0..=0xD7FF).contains(&x);
    let syllable = |x: u32| (0xAC00..=0xD7A3).contains(&x);
    (leading(p) && (leading(n) || vowel_or_trailing(n) || syllable(n)))
        || (vowel_or_trailing(n) && (syllable(p) || vowel_or_trailing(p)))
}

// ---------------------------------------------------------------------------
// Codes: language tags, countries, vocabularies
// ---------------------------------------------------------------------------

/// A BCP 47 (RFC 5646) language tag whose subtags are registered: the
/// primary language is an ISO 639 code (a two-letter one where it exists:
/// `en`, not `eng`), scripts are ISO 15924, regions ISO 3166-1 or UN M.49.
/// Variants and extensions are checked for their form. POSIX locales
/// (`en_GB`) are not BCP 47.
pub fn is_language_tag(tag: &str) -> bool {
    if tag.is_empty()
        || tag.len() > 64
        || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return false;
    }
    let lower = tag.to_ascii_lowercase();
    if GRANDFATHERED.contains(&lower.as_str()) {
        return true;
    }
    let parts: Vec<&str> = lower.split('-').collect();
    if parts.iter().any(|p| p.is_empty() || p.len() > 8) {
        return false;
    }
    let alpha = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let private_use = |rest: &[&str]| !rest.is_empty() && rest.iter().all(|p| p.len() <= 8);
    if parts[0] == "x" {
        return private_use(&parts[1..]);
    }
    let language = parts[0];
    if !alpha(language) || !is_language(language) {
        return false;
    }
    let mut i = 1;
    let mut extlangs = 0;
    while i < parts.len() && parts[i].len() == 3 && alpha(parts[i]) && extlangs < 3 {
        if !EXTLANG_PREFIXES.contains(&language) || !is_language(parts[i]) {
            return false;
        }
        extlangs += 1;
        i += 1;
    }
    if i < parts.len() && parts[i].len() == 4 && alpha(parts[i]) {
        if !is_script(parts[i]) {
            return false;
        }
        i += 1;
    }
    if i < parts.len() {
        let p = parts[i];
        if p.len() == 2 && alpha(p) {
            if !is_region(&p.to_ascii_uppercase()) {
                return false;
            }
            i += 1;
        } else if p.len() == 3 && digits(p) {
            if !M49_REGIONS.contains(&p) {
                return false;
            }
            i += 1;
        }
    }
    let mut variants: Vec<&str> = Vec::new();
    while i < parts.len() {
        let p = parts[i];
        let variant = (5..=8).contains(&p.len())
            || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()));
        if !variant {
            break;
        }
        if variants.contains(&p) {
            return false;
        }
        variants.push(p);
        i += 1;
    }
    let mut singletons: Vec<&str> = Vec::new();
    while i < parts.len() && parts[i].len() == 1 && parts[i] != "x" {
        if singletons.contains(&parts[i]) {
            return false;
        }
        singletons.push(parts[i]);
        i += 1;
        let start = i;
        while i < parts.len() && parts[i].len() >= 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < parts.len() && parts[i] == "x" {
        return private_use(&parts[i + 1..]);
    }
    i == parts.len()
}

/// A registered primary language subtag, lower-case.
fn is_language(code: &str) -> bool {
    match code.len() {
        2 => ISO_639_1.split(' ').any(|c| c == code),
        3 => {
            let b = code.as_bytes();
            if !b.iter().all(u8::is_ascii_lowercase) {
                return false;
            }
            let index = b
                .iter()
                .fold(0usize, |acc, &x| acc * 26 + usize::from(x - b'a'));
            // Each chunk holds LANGUAGE_CHUNK bytes as hex.
            let byte = index / 8;
            let at = byte % LANGUAGE_CHUNK * 2;
            let byte = LANGUAGES_3
                .get(byte / LANGUAGE_CHUNK)
                .and_then(|chunk| chunk.get(at..at + 2))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            byte & (1 << (index % 8)) != 0
        }
        _ => false,
    }
}

fn is_script(code: &str) -> bool {
    let mut title = code[..1].to_ascii_uppercase();
    title.push_str(&code[1..]);
    ISO_15924.split(' ').any(|s| s == title) || ("Qaaa"..="Qabx").contains(&title.as_str())
}

/// An ISO 3166-1 alpha-2 code (upper-case).
fn is_country(code: &str) -> bool {
    code.len() == 2 && ISO_3166_1.split(' ').any(|c| c == code)
}

/// A region subtag: a country, or a private-use code.
fn is_region(code: &str) -> bool {
    is_country(code)
        || code == "AA"
        || code == "ZZ"
        || (code.starts_with('Q') && code[1..] >= *"M")
        || code.starts_with('X')
}

/// Grandfathered tags of RFC 5646, lower-case.
const GRANDFATHERED: &[&str] = &[
    "en-gb-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-be-fr",
    "sgn-be-nl",
    "sgn-ch-de",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

/// The macrolanguages that extended language subtags follow (`zh-yue`).
const EXTLANG_PREFIXES: &[&str] = &["ar", "lv", "ms", "sgn", "sw", "uz", "zh"];

/// UN M.49 area codes of the IANA language subtag registry.
const M49_REGIONS: &[&str] = &[
    "001", "002", "003", "005", "009", "011", "013", "014", "015", "017", "018", "019", "021",
    "029", "030", "034", "035", "039", "053", "054", "057", "061", "142", "143", "145", "150",
    "151", "154", "155", "202", "419",
];

/// ISO 639-1 two-letter language codes (from Debian's iso-codes 4.15).
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca \
ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv \
ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks \
ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr \
nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg sh si sk sl sm sn so sq sr \
ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za \
zh zu";

/// Bytes per chunk of [`LANGUAGES_3`].
const LANGUAGE_CHUNK: usize = 44;

/// Three-letter language subtags (ISO 639-3 individual languages, ISO 639-2
/// and 639-5 codes) that have no two-letter code, and `qaa`-`qtz` (local
/// use): a bit set over `aaa`..`zzz`, bit `(a*26 + b)*26 + c`, as hex bytes.
/// Generated from Debian's iso-codes 4.15 (`iso_639-3.json`,
/// `iso_639-2.json`, `iso_639-5.json`).
const LANGUAGES_3: &[&str] = &[
    "ffedfdfeefffbfdbfbfffedaf71f3c576f9773f8fff7ff70bf03ffffcb058552e9fffd7fffffff77ffffffff",
    "fffff7e3e9ffffff4dbc0a7abeff7ffffefff7ffffefffdf2bf4f1f05de79f140720dfed1f3ec921f8bfeedf",
    "ffff7fffff7fffffffff7ffdfffffff77fefffffefffbfcfbffffdbfffedfffffffebfffffffefdffffff3ff",
    "fb77fffffffefffffbfffff7fffff5dfffff7fdffffffffeffffdfffffdff9ffffeefffffffffff73fbdfdc5",
    "ad6f40ef9cc1432c0825410050440080bbfff29fb44245d6932488f77be7175655790e1c377ff3ef9fef5d38",
    "65080000bcffbfffffff7f373ec787cfff018100b0058000000000034000009221d0fd75ffdefe5e04000264",
    "8d19c1df7b22000000df6dce22e5d9f3fe7ffdcf9d1441048600d100f0c7675fd6995eb7edef030002000000",
    "c0575a479269012ed67b74df7f7f000000010456030000b0140751140a000100001011490000601000000010",
    "00004404001080051800000500802804000010d52d1064152453b5d5bfe2cd03008000400000000000041739",
    "01dd57992198a700000140820000000400000002014000440000b0feab390002000000040000000000200040",
    "04000000020000001083a80500000000042004a608040008815000000831864000000000400003f503100804",
    "000000e03bb31300800011000000000000000000000000ffffdfefffdfcf83a2c0ffdf27ef1fe5031020b0c5",
    "8045259b03dfb9df03d04890010e81a39354db38f37fff6df9ffff7f0408000121123c5ffd0f854f44000004",
    "fffddfd6e81bf437a30d0000207b7902078400f0ff7ffe001804810000008010941c01000000000010400004",
    "08b4fea50c4000009124046c0060f0fffb7ff618059fdf6e030011000000400535b6822804000451e2fffd3f",
    "0509080540000000001000000c0000000021026ce348148820c0478007000000cc5040248547844020100020",
    "0250881100d1ecee50350d01690e59eb3308002005401000000050449649d65da7814797fb00100008008000",
    "404500010200014080000208f8ebd739c49d1600000c04012020d9a201000000124400000410f09d95130480",
    "0001d016400010f090624cd202014a0046040008020020c0008006000800000000f0d8ef1502080000010000",
    "000010010010000000ffd7e37dffffffffff7ffffff6ffffffffffff3ff7ffdffffbffffdbfd7ffffffeffff",
    "fffffffffffffffffdffdfdfdcf7ffdfffffffffffbefbffffffffff7ffffefffdffffefffffefffebfdfbff",
    "fffffff5dfffbf7bbddddfffbc98052cff07f0fbff7f000800c37d1b06e672f0ef7c7f4422309f7b1efdff56",
    "f2ff3edff20e95f7ffff47800102002040559f8a9ff96e118751d0f3ff77400105d1585c0040001004020020",
    "0a807bb7fdfefeffffffffffffefffbfff7ffffffffffffff7dffff7ffffdf7bffff7fffffffedffbdfffffb",
    "ffffdfdf7dfdfff7fffff7fffffffbffefff7fffffff7fdfffbfefb7ff7fdfffe7fffffff6fef67fffff7fff",
    "fffcf7fd5fff7f9fbefffeff7ff77f028204ffbfffffd7effffff7ffe29ee7fff7ff567dc5ffffffffffefde",
    "fdbf7d0fa75106c497d05dafa6fffdff635d4bffffff3f2014005751c265f50de2ffffdf4205c50500220074",
    "691008054100010600000000005160050401000006112000180192f1fd676b06950647edfb4d9d7b83046240",
    "0015420000005483f95f108ec946dff7131100200000009000000000000a1000014000f0df7dbf7dbe4fffbf",
    "40148461b0ff5d7a040200492d1426ffedf1afef3f000002c7e01efcbbfdbdfbf7fcf7fffff4f5ed43f47710",
    "0101447fffb7ddf95f0586eff537bd1d00000043714200400000014319200800ffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffefbde757ee135d09c14021fa17018000000000f0feffbf00230020000008000030b5e3",
    "100000001124160001023082a301500001831148000000f0dfdfbf12aa107fd8520080200000000040100202",
    "3c00104210615f9c31000000015c0220000001004201200000bf5fffffffff2fdfdecfbdfbafffff7f4b4010",
    "f17debfdf7fffffbdfff6ff17bf13fff7fffeef7e7bfffd3fddffffd7ebf57ff6f81769fdcf7fdfffffffbfe",
    "ff5f5747ef5f501062feff9f159f150f7dc67da192f5f77e7ffffffffffdddffffbdf65fff3f409802bfe3ff",
    "e3f6fe5cfedf7fd03e157bb8ffbefffff6fff7f773ffffeedff7d7fdef2f80bfc5ffffffdf9ffffffffffdbf",
    "df7f061f77fff8db5dcf7d16b9ea7ba01e2000300204244804000040d4060400000400040030090650000800",
    "00002400040010dc58d74d0f144ff11664d5480a000200400008000000dcffeb1f58484124a0040010124022",
    "001000000000000001000000801010bf6f93000100000000000000c0802d0000000000000a000000c086c202",
    "00000001fe18020012f0ff793f00250000000a00000000000040001003000920000001000083000000000100",
    "0000000000000000000000ffffffcf7ebe11100000920146cdf15e00010030140451100104f63f32050400b0",
    "80205575977ddf71cc78d543f557671401000000000008f7db1f5460036805108b38ba010000300024440000",
    "10023102010000f0f5ff97d7bc50d6787a155005a484e9410000006b39527440e8209062920000027fefff7f",
    "8553f4effffff2ddc74cf542fcffff1f0080c0568c169ffb377defffb5a4af014418015d4e4a08502830e080",
    "10202400ffffff4ffe0106880a40160100150b3e01000010906945020201e1bfbf02000010d4a7d1549e44de",
    "fd8766b15520d483d8303d800000004cf011c5846f500022507fbfcb0700201084b245100644000012021100",
    "f0fffd7f050216890000000800100c020000000083300228840033c00324000000cbe43a46c814f1ffff7f16",
    "0101845007fcffff0f010040103801011c1240e1761608031000000001000000000022240a4080000000",
];

/// ISO 15924 script codes (from Debian's iso-codes 4.15).
const ISO_15924: &str = "Adlm Afak Aghb Ahom Arab Aran Armi Armn Avst Bali Bamu Bass Batk \
Beng Bhks Blis Bopo Brah Brai Bugi Buhd Cakm Cans Cari Cham Cher Cirt Copt Cprt Cyrl Cyrs Deva \
Dsrt Dupl Egyd Egyh Egyp Elba Ethi Geok Geor Glag Goth Gran Grek Gujr Guru Hanb Hang Hani Hano \
Hans Hant Hatr Hebr Hira Hluw Hmng Hrkt Hung Inds Ital Jamo Java Jpan Jurc Kali Kana Khar Khmr \
Khoj Kitl Kits Knda Kore Kpel Kthi Lana Laoo Latf Latg Latn Leke Lepc Limb Lina Linb Lisu Loma \
Lyci Lydi Mahj Mand Mani Marc Maya Mend Merc Mero Mlym Modi Mong Moon Mroo Mtei Mult Mymr Narb \
Nbat Newa Nkgb Nkoo Nshu Ogam Olck Orkh Orya Osge Osma Palm Pauc Perm Phag Phli Phlp Phlv Phnx \
Piqd Plrd Prti Rjng Roro Runr Samr Sara Sarb Saur Sgnw Shaw Shrd Sidd Sind Sinh Sora Sund Sylo \
Syrc Syre Syrj Syrn Tagb Takr Tale Talu Taml Tang Tavt Telu Teng Tfng Tglg Thaa Thai Tibt Tirh \
Ugar Vaii Visp Wara Wole Xpeo Xsux Yiii Zinh Zmth Zsye Zsym Zxxx Zyyy Zzzz";

/// ISO 3166-1 alpha-2 country codes (from Debian's iso-codes 4.15).
const ISO_3166_1: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG \
BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX \
CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN \
GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI \
KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ \
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR \
PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC \
TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT \
ZA ZM ZW";

/// The standard's categories (`categories-list`).
pub const CATEGORIES: &[&str] = &[
    "accounting",
    "agile-project-management",
    "applicant-tracking",
    "application-development",
    "appointment-scheduling",
    "backup",
    "billing-and-invoicing",
    "blog",
    "budgeting",
    "business-intelligence",
    "business-process-management",
    "cad",
    "call-center-management",
    "cloud-management",
    "collaboration",
    "communications",
    "compliance-management",
    "contact-management",
    "content-management",
    "crm",
    "customer-service-and-support",
    "data-analytics",
    "data-collection",
    "data-visualization",
    "design",
    "design-system",
    "digital-asset-management",
    "digital-citizenship",
    "document-management",
    "donor-management",
    "e-commerce",
    "e-signature",
    "educational-content",
    "email-management",
    "email-marketing",
    "employee-management",
    "enterprise-project-management",
    "enterprise-social-networking",
    "erp",
    "event-management",
    "facility-management",
    "feedback-and-reviews-management",
    "financial-reporting",
    "fleet-management",
    "fundraising",
    "gamification",
    "geographic-information-systems",
    "grant-management",
    "graphic-design",
    "help-desk",
    "hr",
    "ide",
    "identity-management",
    "instant-messaging",
    "integrated-library-system",
    "inventory-management",
    "it-asset-management",
    "it-development",
    "it-management",
    "it-security",
    "it-service-management",
    "knowledge-management",
    "learning-management-system",
    "marketing",
    "mind-mapping",
    "mobile-marketing",
    "mobile-payment",
    "network-management",
    "office",
    "online-booking",
    "online-community",
    "other",
    "payment-gateway",
    "payroll",
    "predictive-analysis",
    "procurement",
    "productivity-suite",
    "project-collaboration",
    "project-management",
    "property-management",
    "real-estate-management",
    "regulations-and-directives",
    "remote-support",
    "resource-management",
    "sales-management",
    "seo",
    "service-desk",
    "social-media-management",
    "survey",
    "talent-management",
    "task-management",
    "taxes-management",
    "test-management",
    "time-management",
    "time-tracking",
    "translation",
    "video-conferencing",
    "video-editing",
    "visitor-management",
    "voip",
    "warehouse-management",
    "web-collaboration",
    "web-conferencing",
    "website-builder",
    "whistleblowing",
    "workflow-management",
];

/// The standard's scopes of `intendedAudience.scope` (`scope-list`).
pub const SCOPES: &[&str] = &[
    "agriculture",
    "culture",
    "defence",
    "education",
    "emergency-services",
    "employment",
    "energy",
    "environment",
    "finance-and-economic-development",
    "foreign-affairs",
    "government",
    "healthcare",
    "infrastructures",
    "justice",
    "local-authorities",
    "manufacturing",
    "research",
    "science-and-technology",
    "security",
    "society",
    "sport",
    "tourism",
    "transportation",
    "welfare",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "it",
            "fr",
            "de",
            "en-GB",
            "EN-gb",
            "sl-IT-nedis",
            "zh-Hant-TW",
            "es-419",
            "pms",
            "fur",
            "zh-yue",
            "x-private",
            "i-klingon",
            "de-CH-1996",
            "en-US-x-twain",
            "sr-Latn-RS",
            "en-a-bbb-x-a-ccc",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "en_GB",
            "hr_HR",
            "xxx",
            "eng",
            "no such language",
            "en-",
            "-en",
            "e",
            "en-ZQ",
            "en-Abcd",
            "en-999",
            "toolonglanguage",
            "en-a",
            "en-x",
            "en-GB-GB",
            "de-1996-1996",
            "abcd",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn grapheme_counts() {
        assert_eq!(graphemes("abc"), 3);
        assert_eq!(graphemes("e\u{301}"), 1);
        assert_eq!(graphemes("a\r\nb"), 3);
        assert_eq!(graphemes("👦👦"), 2);
        assert_eq!(graphemes("👦🏽"), 1);
        assert_eq!(graphemes("👩\u{200D}👩\u{200D}👧"), 1);
        assert_eq!(graphemes("🇫🇷🇮🇹"), 2);
        assert_eq!(graphemes("베스핀 가스가 부족합니다."), 14);
        assert_eq!(graphemes("\u{1100}\u{1161}\u{11A8}"), 1);
        assert_eq!(graphemes("नमस्ते"), 3);
    }

    #[test]
    fn values() {
        assert!(check_date("2024-02-29", "d").is_ok());
        for bad in [
            "2023-02-29",
            "2011-01-01 20:04:05",
            "",
            "foobar",
            "2024-13-01",
        ] {
            assert!(check_date(bad, "d").is_err(), "{bad}");
        }
        assert!(is_mime_type("image/svg+xml") && is_mime_type("application/x.empty"));
        assert!(!is_mime_type("foobar") && !is_mime_type("/x"));
        for ok in [
            "urn:x-italian-pa:pcm",
            "https://example.org",
            "urn:foobar:example",
        ] {
            assert!(check_organisation_uri(ok, "u").is_ok(), "{ok}");
        }
        for bad in ["pcm", "1", "urn:x-italian-pa:", "a b:c"] {
            assert!(check_organisation_uri(bad, "u").is_err(), "{bad}");
        }
        assert!(is_video_url("https://www.youtube.com/watch?v=RaHmGbBOP84"));
        assert!(is_video_url("https://vimeo.com/123"));
        assert!(!is_video_url("https://google.com"));
        assert!(!is_video_url("https://www.youtube.com/"));
        assert!(check_email("a.b@example.org", "e").is_ok());
        assert!(check_email("not_an_email", "e").is_err());
        assert!(is_country("FR") && !is_country("UK") && !is_country("fr"));
    }

    #[test]
    fn deprecated_gnu_ids() {
        assert_eq!(undeprecate("GPL-3.0").as_deref(), Some("GPL-3.0-only"));
        assert_eq!(
            undeprecate("(AGPL-3.0+ OR MIT)").as_deref(),
            Some("(AGPL-3.0-or-later OR MIT)")
        );
        assert_eq!(undeprecate("MIT"), None);
        assert_eq!(undeprecate("GPL-3.0-only"), None);
    }
}
