//! Envelope decoding + signature verification + validation on arbitrary
//! bytes: must never panic, and whatever verifies must re-encode to the
//! same bytes and verify again.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NOW: u64 = essaim_protocol::vectors::NOW;

fuzz_target!(|data: &[u8]| {
    // The whole path, as a node receives a record from the network.
    if let Ok(record) = essaim_protocol::verify(data, NOW) {
        let again = record.to_envelope();
        assert_eq!(again, data, "a verified envelope is canonical");
        let view = serde_json::to_string(&record.to_json_view()).expect("plain data");
        assert_eq!(
            essaim_protocol::verify_json(&view, NOW).expect("its view verifies"),
            record
        );
    }
    // The payload decoder alone, which runs before any signature exists for
    // drafts and imports.
    if let Ok(body) = essaim_protocol::Body::from_payload(data) {
        let _ = essaim_protocol::validate(&body, NOW);
        assert_eq!(
            body.to_payload().expect("encodes"),
            data,
            "decoded payloads are canonical"
        );
    }
});
