//! Strict decoding of DAG-CBOR payloads into typed bodies, with errors that
//! name the field.
//!
//! serde reports an error as a message. To keep errors typed, the types of
//! this crate that parse a string while deserializing (territories, slugs,
//! licences, vocabulary terms…) leave the typed [`Rule`] they broke in a
//! thread-local slot before returning the serde error; [`decode`] picks it up
//! and joins it with the field path that `serde_path_to_error` tracked. Errors
//! that serde itself makes (unknown field, missing field, wrong type) are
//! recognised by their fixed wording.
//!
//! After decoding, the typed value is encoded again and must give back the
//! exact input bytes: that single check rejects every non-canonical form
//! (unsorted or duplicate keys, non-minimal integers, indefinite lengths,
//! `null` or `[]` where the field must be absent…), so one logical record has
//! exactly one encoding and one id.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_ipld_dagcbor::DecodeError;

use crate::error::{RecordError, Rule, shorten};

thread_local! {
    /// The typed rule behind the last custom deserialization failure on this thread.
    static PENDING: RefCell<Option<(String, Rule)>> = const { RefCell::new(None) };
}

/// Record a typed rule violation and return the serde error that carries it up.
pub(crate) fn reject<E: serde::de::Error>(value: &str, rule: Rule) -> E {
    let message = rule.to_string();
    PENDING.with(|slot| *slot.borrow_mut() = Some((shorten(value), rule)));
    E::custom(message)
}

/// A string-shaped type that parses into a typed [`Rule`] error.
pub(crate) trait ParseRule: Sized {
    fn parse_rule(s: &str) -> Result<Self, Rule>;
}

/// Deserialize a string and parse it, leaving the typed rule on failure.
pub(crate) fn deserialize_parsed<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: ParseRule,
{
    struct Visitor<T>(std::marker::PhantomData<T>);
    impl<T: ParseRule> serde::de::Visitor<'_> for Visitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            T::parse_rule(v).map_err(|rule| reject(v, rule))
        }
    }
    deserializer.deserialize_str(Visitor(std::marker::PhantomData))
}

/// Implement `Deserialize` through [`ParseRule`] and `FromStr` for a string-shaped type.
macro_rules! string_type {
    ($ty:ty) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::decode::deserialize_parsed(d)
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::error::Rule;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::decode::ParseRule>::parse_rule(s)
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}
pub(crate) use string_type;

/// Decode `bytes` as a `T`, strictly: typed errors with paths, no trailing
/// data, and the canonical re-encoding check. `what` names the object in errors.
pub(crate) fn decode<T>(bytes: &[u8], what: &'static str) -> Result<T, RecordError>
where
    T: DeserializeOwned + Serialize,
{
    // Fast path without path tracking; decode again with it only to explain
    // a failure (failures are rare, and tracking costs about a third).
    let value: T = match serde_ipld_dagcbor::from_slice(bytes) {
        Ok(value) => value,
        Err(_) => return Err(explain::<T>(bytes, what)),
    };
    let again = serde_ipld_dagcbor::to_vec(&value).map_err(|e| malformed(".", e, what))?;
    if again != bytes {
        return Err(RecordError::NonCanonical { what });
    }
    Ok(value)
}

/// Decode again, tracking the path, to turn a failure into a typed error.
fn explain<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> RecordError {
    PENDING.with(|slot| slot.borrow_mut().take());
    let mut de = serde_ipld_dagcbor::de::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(err) => {
            let path = err.path().to_string();
            match err.into_inner() {
                DecodeError::Msg(message) => classify(path, message, what),
                other => cbor_error(&path, other, what),
            }
        }
        Ok(_) => match de.end() {
            Err(e) => cbor_error(".", e, what),
            Ok(()) => malformed(".", "the decoder failed without saying why", what),
        },
    }
}

/// A CBOR-level decoding error: a breach of DAG-CBOR's canonical form
/// (indefinite length, non-minimal integer, unsorted or repeated map key) is
/// `non_canonical`; anything else is malformed.
fn cbor_error(path: &str, err: DecodeError<Infallible>, what: &'static str) -> RecordError {
    match err {
        DecodeError::IndefiniteSize
        | DecodeError::NonMinimal { .. }
        | DecodeError::UnorderedKey => RecordError::NonCanonical { what },
        DecodeError::Msg(message) => malformed(path, humanise(&message), what),
        other => malformed(path, describe(&other), what),
    }
}

/// The decoder's names for what it expected, in words.
fn cbor_name(name: &str) -> &'static str {
    match name {
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "i128" | "u128" => {
            "a whole number"
        }
        "str" | "string" | "char" => "a text",
        "bytes" | "byte buf" => "a byte string",
        "map" | "struct" => "a map",
        "seq" | "array" | "tuple" => "a list",
        "bool" => "true or false",
        _ => "a value",
    }
}

/// What the byte that starts a CBOR item says it is.
fn cbor_item(byte: u8) -> &'static str {
    match byte >> 5 {
        0 | 1 => "a whole number",
        2 => "a byte string",
        3 => "a text",
        4 => "a list",
        5 => "a map",
        6 => "a tagged value",
        _ if byte == 0xf4 || byte == 0xf5 => "true or false",
        _ if byte == 0xf6 || byte == 0xf7 => "null",
        _ => "a floating-point number",
    }
}

/// Words for the decoder's errors (its `Display` is its `Debug`).
fn describe(err: &DecodeError<Infallible>) -> String {
    match err {
        DecodeError::Eof { name, .. } => format!("the data ends inside {}", cbor_name(name)),
        DecodeError::Mismatch { name, found } | DecodeError::Unsupported { name, found } => {
            format!(
                "{} where {} was expected",
                cbor_item(*found),
                cbor_name(name)
            )
        }
        DecodeError::RequireUtf8 { name } => format!("{} is not valid UTF-8", cbor_name(name)),
        DecodeError::DepthOverflow { .. } => "nested too deeply".to_owned(),
        DecodeError::TrailingData => "extra bytes after the end".to_owned(),
        DecodeError::LengthOverflow { name, .. } | DecodeError::RequireLength { name, .. } => {
            format!("{} is longer than the data", cbor_name(name))
        }
        other => format!("{other:?}"),
    }
}

/// Deserialize a JSON value (a record written by hand, or a JSON view's
/// body) as a `T`, with the same typed errors as [`decode`]. There is no
/// canonical-form check: JSON is not what is signed.
pub(crate) fn decode_json<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, RecordError> {
    PENDING.with(|slot| slot.borrow_mut().take());
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        classify(path, message, "payload")
    })
}

/// The fields read before anything else: enough to pick the kind and to
/// check the signature before the body is decoded in full.
pub(crate) struct Header {
    pub(crate) v: Option<u64>,
    pub(crate) kind: Option<String>,
    pub(crate) author: Option<String>,
}

/// Read only the `v`, `kind` and `author` fields of a payload, ignoring the rest.
pub(crate) fn header(payload: &[u8]) -> Result<Header, RecordError> {
    #[derive(Deserialize)]
    struct Raw {
        v: Option<u64>,
        kind: Option<String>,
        author: Option<String>,
    }
    let raw: Raw =
        serde_ipld_dagcbor::from_slice(payload).map_err(|e| cbor_error(".", e, "payload"))?;
    Ok(Header {
        v: raw.v,
        kind: raw.kind,
        author: raw.author,
    })
}

fn malformed(field: &str, err: impl Display, what: &'static str) -> RecordError {
    if what == "envelope" {
        return RecordError::Envelope {
            reason: err.to_string(),
        };
    }
    RecordError::Malformed {
        field: field.to_owned(),
        reason: err.to_string(),
    }
}

/// Turn a serde error (path + message) into a typed [`RecordError`].
fn classify(path: String, message: String, what: &'static str) -> RecordError {
    if let Some((value, rule)) = PENDING.with(|slot| slot.borrow_mut().take()) {
        return RecordError::Invalid {
            field: path,
            value,
            rule,
        };
    }
    if what == "envelope" {
        return RecordError::Envelope { reason: message };
    }
    if let Some(name) = between(&message, "unknown field `", "`") {
        // serde_path_to_error's path stops at the struct that refused the field.
        return RecordError::UnknownField {
            field: join(&path, name),
        };
    }
    if let Some(name) = between(&message, "missing field `", "`") {
        return RecordError::MissingField {
            field: join(&path, name),
        };
    }
    RecordError::Malformed {
        field: path,
        reason: humanise(&message),
    }
}

/// serde names Rust types in its messages (`expected u64`); say it in words.
fn humanise(message: &str) -> String {
    let mut text = message.to_owned();
    for (rust, words) in [
        ("expected u8", "expected a whole number"),
        (
            "expected u64",
            "expected a whole number (amounts in euro cents, times in unix seconds)",
        ),
        ("expected i64", "expected a whole number"),
        ("expected i128", "expected a whole number"),
        ("expected a borrowed string", "expected a text"),
        ("expected a string", "expected a text"),
        ("invalid type: map", "invalid type: a table"),
        ("invalid type: sequence", "invalid type: a list"),
        ("expected a sequence", "expected a list"),
        (
            "expected a map",
            "expected a table (for texts per language: `fr = \"…\"`)",
        ),
    ] {
        text = text.replace(rust, words);
    }
    text
}

fn between<'a>(message: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(start)?;
    rest.split(end).next()
}

fn join(path: &str, name: &str) -> String {
    if path == "." || path.is_empty() {
        name.to_owned()
    } else if path.ends_with(name) {
        path.to_owned()
    } else {
        format!("{path}.{name}")
    }
}
