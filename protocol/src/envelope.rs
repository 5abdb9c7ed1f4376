//! Signed records: the envelope, the signature, the id, and the JSON view.
//!
//! - Envelope: the DAG-CBOR map `{payload: bytes, sig: bytes}`.
//! - Signature: Ed25519 by the author over `"essaim/record/v1\0" || payload`,
//!   checked with `verify_strict` (no small-order keys or points, canonical S).
//! - Id: SHA-256 of the payload bytes; lower-case hex in text.
//! - JSON view: `{"id", "payload": base64url, "sig": base64url, "body": {…}}`
//!   (base64url without padding, RFC 4648 §5). `payload` and `sig` make it
//!   verifiable anywhere; `body` is for reading and must agree with `payload`.
//!
//! The exact payload bytes travel and are stored; nothing is re-serialised to
//! verify. Checks run in this order: sizes, envelope shape, the payload's
//! `v` and `author`, the signature, the full decoding of the body (shape and
//! well-formed values), then the field rules.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::address::{Address, Version};
use crate::decode::{ParseRule, decode, header};
use crate::error::RecordError;
use crate::hub_id::{HubId, HubKey, signature_input};
use crate::limits::{FORMAT_VERSION, MAX_ENVELOPE_BYTES, MAX_JSON_VIEW_BYTES, MAX_PAYLOAD_BYTES};
use crate::record::Body;
use crate::validate::validate;

/// A record id: SHA-256 of the payload bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; 32]);

impl RecordId {
    /// The id of a payload.
    pub fn of(payload: &[u8]) -> RecordId {
        RecordId(Sha256::digest(payload).into())
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl std::str::FromStr for RecordId {
    type Err = RecordError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RecordError::View {
            reason: format!(
                "`{}` is not a record id (64 lower-case hex digits)",
                crate::error::shorten(s)
            ),
        };
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        let mut id = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).map_err(|_| bad())?;
            id[i] = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
        }
        Ok(RecordId(id))
    }
}

/// The envelope on the wire: `{payload, sig}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// A record whose signature and rules have been checked. It can only be
/// made by [`verify`], [`verify_parts`], [`verify_json`] or [`sign`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRecord {
    payload: Vec<u8>,
    sig: [u8; 64],
    id: RecordId,
    body: Body,
}

impl SignedRecord {
    /// A record read back from a node's own store, where it was put only
    /// after [`verify`]: decoded (and its canonical form checked) but its
    /// signature not checked again. Never use this for bytes from elsewhere.
    pub fn from_store(payload: Vec<u8>, sig: &[u8]) -> Result<SignedRecord, RecordError> {
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| RecordError::SignatureLength { len: sig.len() })?;
        let body = Body::from_payload(&payload)?;
        Ok(SignedRecord {
            id: RecordId::of(&payload),
            payload,
            sig,
            body,
        })
    }

    /// The exact payload bytes that were signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// The 64-byte Ed25519 signature.
    pub fn sig(&self) -> &[u8; 64] {
        &self.sig
    }
    /// SHA-256 of the payload.
    pub fn id(&self) -> RecordId {
        self.id
    }
    /// The decoded body.
    pub fn body(&self) -> &Body {
        &self.body
    }
    /// The address this record is a version of.
    pub fn address(&self) -> Address {
        self.body.address()
    }
    /// Its place in last-writer-wins order.
    pub fn version(&self) -> Version {
        Version {
            seq: self.body.seq(),
            id: self.id,
        }
    }

    /// The envelope bytes (canonical DAG-CBOR).
    pub fn to_envelope(&self) -> Vec<u8> {
        let envelope = Envelope {
            payload: self.payload.clone(),
            sig: self.sig.to_vec(),
        };
        // Encoding a map of two byte strings into a Vec cannot fail.
        serde_ipld_dagcbor::to_vec(&envelope).expect("encoding two byte strings is infallible")
    }

    /// The JSON view.
    pub fn to_json_view(&self) -> RecordJson {
        RecordJson {
            id: self.id.to_string(),
            payload: URL_SAFE_NO_PAD.encode(&self.payload),
            sig: URL_SAFE_NO_PAD.encode(self.sig),
            body: Some(
                serde_json::value::to_raw_value(&self.body)
                    .expect("a body is plain data: strings, integers, lists and maps"),
            ),
        }
    }
}

/// The JSON view of a record (HTTP API, exports).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordJson {
    /// Record id, hex.
    pub id: String,
    /// Payload bytes, base64url without padding.
    pub payload: String,
    /// Signature, base64url without padding.
    pub sig: String,
    /// The decoded body, for reading; optional on input, checked when
    /// present. Kept raw on input so that nothing unauthenticated is parsed
    /// before the signature has been checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Box<serde_json::value::RawValue>>,
}

impl RecordJson {
    /// The body as a JSON value, if present and well-formed.
    pub fn body_value(&self) -> Option<serde_json::Value> {
        self.body
            .as_ref()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}

/// Verify envelope bytes: decode, check the signature and every rule.
/// `now` is the current unix time in seconds (for the `created` rule).
pub fn verify(envelope: &[u8], now: u64) -> Result<SignedRecord, RecordError> {
    if envelope.len() > MAX_ENVELOPE_BYTES {
        return Err(RecordError::TooLarge {
            what: "envelope",
            size: envelope.len(),
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    let Envelope { payload, sig } = decode(envelope, "envelope")?;
    verify_parts(payload, &sig, now)
}

/// Verify a payload and its signature given separately.
pub fn verify_parts(payload: Vec<u8>, sig: &[u8], now: u64) -> Result<SignedRecord, RecordError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(RecordError::TooLarge {
            what: "payload",
            size: payload.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|_| RecordError::SignatureLength { len: sig.len() })?;
    // The signature is checked before the body is decoded in full: a record
    // altered in transit is a bad signature (the relay's fault), never a
    // field error blamed on its author.
    let header = header(&payload)?;
    match header.v {
        None => return Err(RecordError::MissingField { field: "v".into() }),
        Some(FORMAT_VERSION) => {}
        Some(value) => return Err(RecordError::UnsupportedVersion { value }),
    }
    let author = header.author.ok_or_else(|| RecordError::MissingField {
        field: "author".into(),
    })?;
    let key = HubId::parse_rule(&author)
        .and_then(|id| id.verifying_key())
        .map_err(|rule| RecordError::invalid("author", &author, rule))?;
    key.verify_strict(&signature_input(&payload), &Signature::from_bytes(&sig))
        .map_err(|_| RecordError::BadSignature { author })?;
    let body = Body::decode_kind(header.kind, &payload)?;
    validate(&body, now)?;
    Ok(SignedRecord {
        id: RecordId::of(&payload),
        payload,
        sig,
        body,
    })
}

/// Verify a record in its JSON view. `id` and `body`, when present, must
/// agree with the signed payload.
pub fn verify_json(json: &str, now: u64) -> Result<SignedRecord, RecordError> {
    if json.len() > MAX_JSON_VIEW_BYTES {
        return Err(RecordError::TooLarge {
            what: "JSON view",
            size: json.len(),
            limit: MAX_JSON_VIEW_BYTES,
        });
    }
    let view: RecordJson = serde_json::from_str(json).map_err(|e| RecordError::View {
        reason: e.to_string(),
    })?;
    verify_view(&view, now)
}

/// Verify a record in either form: a JSON view (text starting with `{`) or
/// envelope bytes. For files and other inputs whose form is not known.
pub fn verify_any(bytes: &[u8], now: u64) -> Result<SignedRecord, RecordError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let text = std::str::from_utf8(bytes).map_err(|e| RecordError::View {
            reason: format!("not UTF-8 text: {e}"),
        })?;
        verify_json(text, now)
    } else {
        verify(bytes, now)
    }
}

/// Verify an already parsed JSON view.
pub fn verify_view(view: &RecordJson, now: u64) -> Result<SignedRecord, RecordError> {
    let b64 = |field: &'static str, text: &str| {
        URL_SAFE_NO_PAD.decode(text).map_err(|e| RecordError::View {
            reason: format!("`{field}` is not base64url without padding: {e}"),
        })
    };
    let payload = b64("payload", &view.payload)?;
    let sig = b64("sig", &view.sig)?;
    let record = verify_parts(payload, &sig, now)?;
    if view.id != record.id.to_string() {
        return Err(RecordError::ViewMismatch { field: "id" });
    }
    if let Some(raw) = &view.body {
        // Parsed only now that the payload is authenticated.
        let given: Option<serde_json::Value> = serde_json::from_str(raw.get()).ok();
        let signed = serde_json::to_value(record.body()).ok();
        if given.is_none() || given != signed {
            return Err(RecordError::ViewMismatch { field: "body" });
        }
    }
    Ok(record)
}

/// Sign a body with the author's key, after checking every rule. The key
/// must be the author's. `now` is the current unix time in seconds.
pub fn sign(body: Body, key: &HubKey, now: u64) -> Result<SignedRecord, RecordError> {
    let key_id = key.hub_id();
    if *body.author() != key_id {
        return Err(RecordError::WrongKey {
            author: body.author().to_string(),
            key: key_id.to_string(),
        });
    }
    validate(&body, now)?;
    let payload = body.to_payload()?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(RecordError::TooLarge {
            what: "payload",
            size: payload.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    let sig = key.sign_payload(&payload).to_bytes();
    Ok(SignedRecord {
        id: RecordId::of(&payload),
        payload,
        sig,
        body,
    })
}
