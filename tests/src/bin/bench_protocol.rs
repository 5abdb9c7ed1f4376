//! Benchmark of the protocol crate, on one core: sign, verify (one record at
//! a time, and a batch of distinct records), decode + validate without the
//! signature, and the ratio of full verification to bare Ed25519
//! `verify_strict` on the same bytes — the physical bound of this work.
//!
//! ```sh
//! cargo run --release -p essaim-tests --bin bench-protocol
//! ```
//!
//! Prints one JSON object. The corpus: the examples in `examples/` and the
//! valid test vectors' bodies, each signed under 50 slugs by 10 hubs.

use std::time::Duration;

use ed25519_dalek::{Signature, VerifyingKey};
use essaim_protocol::{Body, HubKey, SignedRecord, sign, validate, verify};
use essaim_tests::{latencies_us, machine, round, throughput};
use serde_json::{Value, json};

const NOW: u64 = essaim_protocol::vectors::NOW;
const MIN: Duration = Duration::from_secs(2);

fn corpus() -> Vec<SignedRecord> {
    let keys: Vec<HubKey> = (1..=10).map(essaim_protocol::vectors::key).collect();
    let mut drafts: Vec<Value> = vec![
        essaim_protocol::vectors::full_initiative(),
        essaim_protocol::vectors::minimal_initiative(),
    ];
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut names: Vec<_> = std::fs::read_dir(examples)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    let author = keys[0].hub_id();
    for path in names {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let format = essaim_node::draft::Format::detect(Some(&path), &text);
        if let Ok(body) = essaim_node::draft::parse(&text, format, &author, NOW - 60)
            && let Ok(value) = serde_json::to_value(&body)
        {
            drafts.push(value);
        }
    }
    let mut records = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        for (d, draft) in drafts.iter().enumerate() {
            for n in 0..5 {
                let mut value = draft.clone();
                value["author"] = json!(key.hub_id().to_string());
                value["slug"] = json!(format!("bench-{k}-{d}-{n}"));
                value["created"] = json!(NOW - 60);
                if value["kind"] == "endorsement" {
                    value["valid_until"] = json!(NOW + 86_400);
                }
                let body = Body::from_json(value).expect("corpus bodies are valid");
                records.push(sign(body, key, NOW).expect("corpus bodies sign"));
            }
        }
    }
    records
}

fn main() {
    let records = corpus();
    let envelopes: Vec<Vec<u8>> = records.iter().map(SignedRecord::to_envelope).collect();
    let bodies: Vec<(Body, HubKey)> = records
        .iter()
        .map(|r| {
            let seed = (1..=10u8)
                .find(|n| essaim_protocol::vectors::key(*n).hub_id() == *r.body().author())
                .expect("one of the ten hubs");
            (r.body().clone(), essaim_protocol::vectors::key(seed))
        })
        .collect();
    let payload_avg = records.iter().map(|r| r.payload().len()).sum::<usize>() / records.len();

    // Bare Ed25519 over the same signature input: the bound.
    let bare: Vec<(VerifyingKey, Vec<u8>, Signature)> = records
        .iter()
        .map(|r| {
            let key = r.body().author().verifying_key().expect("valid key");
            let input = [b"essaim/record/v1\0".as_slice(), r.payload()].concat();
            (key, input, Signature::from_bytes(r.sig()))
        })
        .collect();

    let sign_per_s = throughput(&bodies, MIN, |(body, key)| {
        std::hint::black_box(sign(body.clone(), key, NOW).expect("signs"));
    });
    let verify_batch_per_s = throughput(&envelopes, MIN, |e| {
        std::hint::black_box(verify(e, NOW).expect("verifies"));
    });
    let one = &envelopes[..1];
    let verify_single_per_s = throughput(one, MIN, |e| {
        std::hint::black_box(verify(e, NOW).expect("verifies"));
    });
    let verify_latency = latencies_us(&envelopes, 5, |e| {
        std::hint::black_box(verify(e, NOW).expect("verifies"));
    });
    let payloads: Vec<&[u8]> = records.iter().map(SignedRecord::payload).collect();
    let decode_validate_per_s = throughput(&payloads, MIN, |p| {
        let body = Body::from_payload(p).expect("decodes");
        validate(&body, NOW).expect("valid");
        std::hint::black_box(body);
    });
    let bare_per_s = throughput(&bare, MIN, |(key, input, sig)| {
        key.verify_strict(input, sig)
            .expect("bare signature verifies");
    });
    let report = json!({
        "benchmark": "protocol",
        "machine": machine(),
        "threads": 1,
        "corpus": {"records": records.len(), "payload_bytes_avg": payload_avg},
        "sign_per_s": round(sign_per_s),
        "verify_single_record_per_s": round(verify_single_per_s),
        "verify_batch_distinct_records_per_s": round(verify_batch_per_s),
        "verify_latency_us": verify_latency,
        "decode_validate_per_s": round(decode_validate_per_s),
        "bare_verify_strict_per_s": round(bare_per_s),
        "ratio_full_verify_to_bare_signature": round(verify_batch_per_s / bare_per_s),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("plain data")
    );
}
