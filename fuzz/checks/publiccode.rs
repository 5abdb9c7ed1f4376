//! publiccode.yml import on arbitrary bytes, as `essaim import publiccode`
//! and the web form do it. Properties: no panic; an error has a stable code
//! (and `publiccode_invalid` names its key); only inputs over the limit are
//! `too_large`, only non-UTF-8 ones `not_utf8`; an imported initiative is a
//! valid record at `now`, its payload decodes back to the same body, and it
//! signs and verifies as the hub's record.

use essaim_node::import::publiccode::{self, MAX_INPUT_BYTES};
use essaim_protocol::vectors::{NOW, key};

/// Check one input.
pub(crate) fn run(data: &[u8]) {
    let hub = key(1);
    match publiccode::parse_bytes(data, None, &hub.hub_id(), NOW) {
        Ok(imported) => {
            let body = imported.body;
            essaim_protocol::validate(&body, NOW).expect("an imported initiative is valid");
            let payload = body.to_payload().expect("an imported initiative encodes");
            let back = essaim_protocol::Body::from_payload(&payload).expect("and decodes");
            assert_eq!(back, body, "the payload round-trips");
            let record = essaim_protocol::sign(body, &hub, NOW).expect("signs");
            let verified = essaim_protocol::verify(&record.to_envelope(), NOW).expect("verifies");
            assert_eq!(verified, record);
            for warning in &imported.warnings {
                assert!(!warning.message.is_empty());
            }
        }
        Err(e) => {
            let code = e.code();
            assert!(!code.is_empty() && code.is_ascii(), "{e}");
            assert!(!e.to_string().is_empty());
            assert_eq!(code == "too_large", data.len() > MAX_INPUT_BYTES, "{e}");
            if code == "not_utf8" {
                assert!(std::str::from_utf8(data).is_err());
            }
            if code == "publiccode_invalid" {
                assert!(e.key().is_some_and(|k| !k.is_empty()), "{e}");
            }
        }
    }
}
