//! The JSON view of a record (HTTP API, exports, `essaim verify`) on
//! arbitrary bytes: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = essaim_protocol::verify_any(data, essaim_protocol::vectors::NOW);
});
