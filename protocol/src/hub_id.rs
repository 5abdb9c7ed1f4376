//! Hub identities and signing keys.
//!
//! A hub is an Ed25519 key pair. Its id is the W3C `did:key` form of the
//! public key: `did:key:` + multibase base58btc (`z`) of the multicodec
//! `ed25519-pub` prefix (`0xed 0x01`) followed by the 32 key bytes, which
//! always starts `did:key:z6Mk`. In URLs and on the command line the
//! `did:key:` prefix is dropped (`z6Mk…`).
//!
//! Only canonically encoded keys of prime order are hub ids: one secret key,
//! one id, and every Ed25519 verifier agrees on its signatures.
//!
//! Keys are stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form
//! OpenSSL and most tools read; reading and writing the file is the caller's job.

use std::fmt;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::decode::{ParseRule, string_type};
use crate::error::Rule;
use crate::limits::SIGNATURE_DOMAIN;

/// The `did:key` method prefix.
pub const DID_KEY_PREFIX: &str = "did:key:";
/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// A hub's identity: an Ed25519 public key, shown as `did:key:z6Mk…`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HubId([u8; 32]);

impl HubId {
    /// The id of a public key.
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        HubId(key.to_bytes())
    }

    /// The raw 32 public-key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The public key, for verification. Hub ids are only constructed from
    /// keys that decompress and are not of small order, so this cannot fail
    /// for a parsed id; it is still checked, not assumed.
    pub fn verifying_key(&self) -> Result<VerifyingKey, Rule> {
        decompress(&self.0)
    }

    /// The short form used in URLs and on the command line: the id without `did:key:`.
    pub fn short(&self) -> String {
        let s = self.to_string();
        s[DID_KEY_PREFIX.len()..].to_owned()
    }

    /// Parse a hub id written with or without its `did:key:` prefix.
    pub fn parse_lenient(s: &str) -> Result<HubId, Rule> {
        if s.starts_with('z') {
            HubId::parse_rule(&format!("{DID_KEY_PREFIX}{s}"))
        } else {
            HubId::parse_rule(s)
        }
    }
}

impl ParseRule for HubId {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        // 8 + 1 + 48 characters at most for 34 bytes in base58.
        if s.len() > 64 {
            return Err(Rule::HubId { reason: "too long" });
        }
        let encoded = s.strip_prefix(DID_KEY_PREFIX).ok_or(Rule::HubId {
            reason: "a hub id starts with `did:key:z`",
        })?;
        let b58 = encoded.strip_prefix('z').ok_or(Rule::HubId {
            reason: "only base58btc (`z`) multibase is used",
        })?;
        let mut bytes = [0u8; 34];
        let len = bs58::decode(b58)
            .onto(&mut bytes[..])
            .map_err(|_| Rule::HubId {
                reason: "not valid base58btc of a 34-byte key",
            })?;
        if len != 34 {
            return Err(Rule::HubId {
                reason: "not valid base58btc of a 34-byte key",
            });
        }
        if bytes[..2] != ED25519_MULTICODEC {
            return Err(Rule::HubId {
                reason: "not an Ed25519 key (multicodec 0xed01)",
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[2..]);
        // Base58 of a 34-byte value whose first byte is not zero has exactly
        // one spelling, so the decoded bytes identify the text.
        decompress(&key)?;
        Ok(HubId(key))
    }
}

/// Decompress and check a public key, remembering the last keys seen: a
/// node meets the same few hundred authors again and again, and point
/// decompression costs as much as a third of a signature check.
fn decompress(key: &[u8; 32]) -> Result<VerifyingKey, Rule> {
    const REMEMBERED: usize = 4096;
    thread_local! {
        static KEYS: std::cell::RefCell<std::collections::HashMap<[u8; 32], VerifyingKey>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    if let Some(known) = KEYS.with(|keys| keys.borrow().get(key).copied()) {
        return Ok(known);
    }
    let point = VerifyingKey::from_bytes(key).map_err(|_| Rule::HubId {
        reason: "the key is not a valid Ed25519 point",
    })?;
    if point.is_weak() {
        return Err(Rule::HubId {
            reason: "the key is of small order and cannot sign",
        });
    }
    let edwards = point.to_edwards();
    // A key with a torsion component would let one secret sign under up to
    // eight ids, and verifiers using the cofactored equation would disagree
    // with verify_strict about its signatures: only prime-order keys.
    if !edwards.is_torsion_free() {
        return Err(Rule::HubId {
            reason: "the key has a small-order component; keys made by Ed25519 key generation never do",
        });
    }
    // y ≥ p spells a point a second way: only the canonical encoding.
    if edwards.compress().to_bytes() != *key {
        return Err(Rule::HubId {
            reason: "the key is not canonically encoded",
        });
    }
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if keys.len() >= REMEMBERED {
            keys.clear();
        }
        keys.insert(*key, point);
    });
    Ok(point)
}

string_type!(HubId);

impl fmt::Display for HubId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; 34];
        bytes[..2].copy_from_slice(&ED25519_MULTICODEC);
        bytes[2..].copy_from_slice(&self.0);
        write!(f, "{DID_KEY_PREFIX}z{}", bs58::encode(bytes).into_string())
    }
}

impl fmt::Debug for HubId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubId({self})")
    }
}

/// Why a key could not be loaded or made.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not a PKCS#8 PEM Ed25519 private key.
    #[error(
        "not an Ed25519 private key in PKCS#8 PEM form ({0}): the key file is damaged or is not an Essaim hub key"
    )]
    Pem(String),
    /// The operating system gave no randomness.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// A hub's signing key. The secret is wiped from memory when dropped.
#[derive(Clone)]
pub struct HubKey(SigningKey);

impl HubKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<HubKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(HubKey::from_seed(&seed))
    }

    /// The key of a 32-byte seed (test vectors and reproducible tests).
    pub fn from_seed(seed: &[u8; 32]) -> HubKey {
        HubKey(SigningKey::from_bytes(seed))
    }

    /// Read a key from PKCS#8 PEM text.
    pub fn from_pkcs8_pem(pem: &str) -> Result<HubKey, KeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(HubKey)
            .map_err(|e| KeyError::Pem(e.to_string()))
    }

    /// The key as PKCS#8 PEM text (wiped from memory when dropped).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        self.0
            .to_pkcs8_pem(Default::default())
            .map_err(|e| KeyError::Pem(e.to_string()))
    }

    /// This key's hub id.
    pub fn hub_id(&self) -> HubId {
        HubId::from_verifying_key(&self.0.verifying_key())
    }

    /// The underlying Ed25519 key (the node derives its libp2p identity from it).
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    /// Sign a payload: Ed25519 over `"essaim/record/v1\0" || payload`.
    pub(crate) fn sign_payload(&self, payload: &[u8]) -> Signature {
        self.0.sign(&signature_input(payload))
    }
}

impl fmt::Debug for HubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubKey({}, secret hidden)", self.hub_id())
    }
}

/// The exact bytes a record signature covers.
pub(crate) fn signature_input(payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(SIGNATURE_DOMAIN.len() + payload.len());
    input.extend_from_slice(SIGNATURE_DOMAIN);
    input.extend_from_slice(payload);
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_key_round_trip_and_prefix() {
        let key = HubKey::from_seed(&[7; 32]);
        let id = key.hub_id();
        let text = id.to_string();
        assert!(text.starts_with("did:key:z6Mk"), "{text}");
        assert_eq!(text.parse::<HubId>().unwrap(), id);
        assert_eq!(HubId::parse_lenient(&id.short()).unwrap(), id);
    }

    #[test]
    fn known_did_key_from_the_w3c_test_suite() {
        // did:key test vector (W3C CCG did-method-key, Ed25519 "z6MkiTBz…").
        let id: HubId = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
            .parse()
            .unwrap();
        assert_eq!(id.as_bytes().len(), 32);
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "",
            "did:key:",
            "did:key:z",
            "did:web:example.org",
            "did:key:m6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWpp",
            // secp256k1 (multicodec 0xe7)
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
        ] {
            assert!(bad.parse::<HubId>().is_err(), "{bad} accepted");
        }
        // The identity point is of small order.
        let mut weak = [0u8; 34];
        weak[..2].copy_from_slice(&ED25519_MULTICODEC);
        weak[2] = 1;
        let text = format!("did:key:z{}", bs58::encode(weak).into_string());
        assert!(text.parse::<HubId>().is_err());
    }

    fn id_text(key: &[u8; 32]) -> String {
        let mut bytes = [0u8; 34];
        bytes[..2].copy_from_slice(&ED25519_MULTICODEC);
        bytes[2..].copy_from_slice(key);
        format!("did:key:z{}", bs58::encode(bytes).into_string())
    }

    #[test]
    fn keys_with_a_torsion_component_are_refused() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let key = HubKey::from_seed(&[1; 32])
            .signing_key()
            .verifying_key()
            .to_edwards();
        for torsion in &EIGHT_TORSION[1..] {
            let mixed = (key + torsion).compress().to_bytes();
            let err = id_text(&mixed).parse::<HubId>().unwrap_err();
            assert!(matches!(err, Rule::HubId { .. }), "{err}");
        }
    }

    #[test]
    fn non_canonical_key_encodings_are_refused() {
        // y = p + 3 (p = 2^255 − 19) spells the point with y = 3, when it exists.
        let mut refused = 0;
        for y in 3u8..=16 {
            let mut bytes = [0xffu8; 32];
            bytes[0] = 0xed + y; // p + y, little-endian, y < 19
            bytes[31] = 0x7f;
            if VerifyingKey::from_bytes(&bytes).is_ok() {
                assert!(
                    id_text(&bytes).parse::<HubId>().is_err(),
                    "y = p + {y} accepted"
                );
                refused += 1;
            }
        }
        assert!(
            refused > 0,
            "no non-canonical encoding decompressed: the test proves nothing"
        );
    }

    #[test]
    fn pem_round_trip() {
        let key = HubKey::from_seed(&[9; 32]);
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = HubKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.hub_id(), key.hub_id());
        assert!(HubKey::from_pkcs8_pem("not a key").is_err());
    }
}
