//! The JSON view of a record (HTTP API `POST /api/v1/records`, exports,
//! `essaim verify`) on arbitrary bytes, through `verify_any` (envelope or
//! JSON view). Properties: no panic; what verifies is the record its
//! envelope carries (its envelope verifies to the same record, and so does
//! its own JSON view).

use essaim_protocol::vectors::NOW;

/// Check one input.
pub(crate) fn run(data: &[u8]) {
    if let Ok(record) = essaim_protocol::verify_any(data, NOW) {
        assert_eq!(
            essaim_protocol::verify(&record.to_envelope(), NOW).expect("its envelope verifies"),
            record
        );
        let view = serde_json::to_string(&record.to_json_view()).expect("plain data");
        assert_eq!(
            essaim_protocol::verify_json(&view, NOW).expect("its view verifies"),
            record
        );
    }
}
