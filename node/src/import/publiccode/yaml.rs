//! The YAML of a publiccode.yml, read: parsed within a budget into a JSON
//! tree, then read back as typed values by key path.
//!
//! The budget (nesting depth, nodes, alias expansion) keeps hostile input
//! cheap. Scalars keep the text they are written as, because the standard
//! reads a text field's scalar as text (`softwareVersion: 1.0` is `"1.0"`).
//! The accessors name the key path (`maintenance.contacts[0].email`) in
//! every error, so that the person who wrote the file finds the line.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::{MAX_INPUT_BYTES, PubliccodeError, Result, invalid};
use crate::import::text::{clean_line, shorten};

/// A YAML mapping, as read.
pub(super) type Obj = Map<String, Value>;

/// Parse the YAML text into a mapping, within a budget that keeps hostile
/// input cheap: a publiccode.yml nests 5 levels and holds a few hundred nodes.
pub(super) fn read_yaml(text: &str) -> Result<Obj, PubliccodeError> {
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
pub(super) fn kind_of(value: &Value) -> &'static str {
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

pub(super) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A present, non-null value.
pub(super) fn get<'v>(map: &'v Obj, name: &str) -> Option<&'v Value> {
    map.get(name).filter(|v| !v.is_null())
}

pub(super) fn required(key: &str) -> PubliccodeError {
    invalid(key, "required: add it")
}

pub(super) fn wrong_type(key: &str, expected: &str, value: &Value) -> PubliccodeError {
    invalid(key, format!("must be {expected}, not {}", kind_of(value)))
}

/// A scalar as text (YAML scalars are texts to the reference validator:
/// `softwareVersion: 1.0` is `"1.0"`).
pub(super) fn text(value: &Value, key: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(wrong_type(key, "a text", other)),
    }
}

pub(super) fn opt_text(map: &Obj, path: &str, name: &str) -> Result<Option<String>> {
    get(map, name)
        .map(|v| text(v, &join(path, name)))
        .transpose()
}

/// A required text: present and not empty.
pub(super) fn req_text(map: &Obj, path: &str, name: &str) -> Result<String> {
    let key = join(path, name);
    match opt_text(map, path, name)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(required(&key)),
    }
}

pub(super) fn list<'v>(value: &'v Value, key: &str) -> Result<&'v [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(wrong_type(key, "a list", other)),
    }
}

pub(super) fn opt_list<'v>(map: &'v Obj, path: &str, name: &str) -> Result<Option<&'v [Value]>> {
    get(map, name)
        .map(|v| list(v, &join(path, name)))
        .transpose()
}

/// A list of texts.
pub(super) fn text_list(items: &[Value], key: &str) -> Result<Vec<String>> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| text(v, &format!("{key}[{i}]")))
        .collect()
}

pub(super) fn object<'v>(value: &'v Value, key: &str) -> Result<&'v Obj> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(wrong_type(key, "a mapping of keys", other)),
    }
}

pub(super) fn opt_object<'v>(map: &'v Obj, path: &str, name: &str) -> Result<Option<&'v Obj>> {
    get(map, name)
        .map(|v| object(v, &join(path, name)))
        .transpose()
}

pub(super) fn boolean(value: &Value, key: &str) -> Result<bool> {
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

pub(super) fn opt_bool(map: &Obj, path: &str, name: &str) -> Result<Option<bool>> {
    get(map, name)
        .map(|v| boolean(v, &join(path, name)))
        .transpose()
}

/// Refuse keys the standard does not define (the reference validator decodes
/// with known fields only).
pub(super) fn known_keys(map: &Obj, path: &str, allowed: &[&str]) -> Result<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        // An empty key (`: value`, `!tag : value`) would read as no key at all.
        Some(unknown) if unknown.trim().is_empty() => Err(invalid(
            join(path, "\"\""),
            "an empty key: every key has a name (look for a line starting with `:`)".to_owned(),
        )),
        Some(unknown) => Err(invalid(
            join(path, unknown),
            format!(
                "unknown key: the standard has no `{}` here (check its spelling and case)",
                shorten(unknown, 60).0
            ),
        )),
    }
}

pub(super) fn one_of(value: &str, key: &str, allowed: &[&str]) -> Result<()> {
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
