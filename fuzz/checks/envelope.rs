//! Envelope decoding + signature verification + validation on arbitrary
//! bytes, the path of every record a node receives (gossip, sync `Push`,
//! sync `Fetch` answers all call `essaim_protocol::verify`).
//!
//! The fuzzer cannot forge signatures, so on its own it would stop at the
//! signature check; the input is therefore used three ways:
//! 1. as an envelope: `verify` must not panic, and what verifies is
//!    canonical (re-encodes to the same bytes) and verifies again through
//!    its JSON view;
//! 2. as a payload signed by the matching vector hub (seeds are the vectors'
//!    payloads, signed by hubs 1-3): then `verify_parts` runs the whole
//!    path past the signature — header, body decoding, validation — and what
//!    verifies round-trips through its envelope;
//! 3. as a payload decoded alone (`Body::from_payload`, drafts and imports):
//!    decoded payloads are canonical, and validation agrees with `verify`.
//!
//! With `ESSAIM_FUZZ_SEEDS=DIR`, start-up writes the vectors' envelopes and
//! their payloads into DIR (fuzz/run.sh seeds the corpus so).

use std::collections::BTreeMap;

use ed25519_dalek::Signer;
use essaim_protocol::vectors::{NOW, key};
use essaim_protocol::{Body, HubKey, RecordError, SignedRecord};
use serde_bytes::ByteBuf;

/// The signed message: `"essaim/record/v1\0" || payload` (specs/protocol.md).
fn sign_payload(hub: &HubKey, payload: &[u8]) -> [u8; 64] {
    let mut input = b"essaim/record/v1\0".to_vec();
    input.extend_from_slice(payload);
    hub.signing_key().sign(&input).to_bytes()
}

/// The protocol's test vectors (specs/vectors), as envelopes and payloads.
pub(crate) fn write_seeds(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("a seed directory");
    for vector in essaim_protocol::vectors::generate() {
        let Some(hex) = vector.envelope_hex else {
            continue;
        };
        let envelope: Vec<u8> = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect();
        let parts: Result<BTreeMap<String, ByteBuf>, _> = serde_ipld_dagcbor::from_slice(&envelope);
        if let Some(payload) = parts.ok().and_then(|mut p| p.remove("payload")) {
            std::fs::write(dir.join(format!("payload-{}", vector.name)), payload)
                .expect("writes a seed");
        }
        std::fs::write(dir.join(format!("envelope-{}", vector.name)), envelope)
            .expect("writes a seed");
    }
}

fn check_verified(record: &SignedRecord) {
    let envelope = record.to_envelope();
    assert_eq!(
        &essaim_protocol::verify(&envelope, NOW).expect("a verified record's envelope verifies"),
        record
    );
    let view = serde_json::to_string(&record.to_json_view()).expect("plain data");
    assert_eq!(
        &essaim_protocol::verify_json(&view, NOW).expect("its view verifies"),
        record
    );
}

/// With `ESSAIM_FUZZ_SEEDS=DIR`, write the seeds into DIR.
pub(crate) fn init() {
    if let Some(dir) = std::env::var_os("ESSAIM_FUZZ_SEEDS") {
        write_seeds(std::path::Path::new(&dir));
    }
}

/// Check one input.
pub(crate) fn run(data: &[u8]) {
    // 1. As a node receives a record from the network.
    if let Ok(record) = essaim_protocol::verify(data, NOW) {
        assert_eq!(
            record.to_envelope(),
            data,
            "a verified envelope is canonical"
        );
        check_verified(&record);
    }

    // 2. As a payload signed by whichever vector hub it names.
    let signed = (1..=3u8).find_map(|n| {
        let hub = key(n);
        let author = hub.hub_id().to_string();
        data.windows(author.len())
            .any(|w| w == author.as_bytes())
            .then(|| essaim_protocol::verify_parts(data.to_vec(), &sign_payload(&hub, data), NOW))
    });
    if let Some(result) = &signed {
        match result {
            Ok(record) => {
                assert_eq!(record.payload(), data);
                check_verified(record);
            }
            Err(RecordError::BadSignature { .. }) => {
                // Signed by a hub the payload names but is not its author.
            }
            Err(e) => assert!(!e.code().is_empty()),
        }
    }

    // 3. The payload decoder alone, which runs before any signature exists
    // for drafts and imports.
    if let Ok(body) = Body::from_payload(data) {
        let valid = essaim_protocol::validate(&body, NOW);
        assert_eq!(
            body.to_payload().expect("encodes"),
            data,
            "decoded payloads are canonical"
        );
        // Signed by its author, a decoded body verifies exactly when it is valid.
        if let Some(Ok(record)) = &signed {
            assert!(valid.is_ok(), "verified but invalid: {valid:?}");
            assert_eq!(record.body(), &body);
        } else if let Some(Err(e)) = &signed
            && !matches!(e, RecordError::BadSignature { .. })
        {
            assert!(valid.is_err(), "decoded and valid but refused: {e}");
        }
    }
}
