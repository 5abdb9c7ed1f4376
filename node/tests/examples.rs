//! Every draft in `examples/` can be read, signed and verified.
//!
//! The examples are what people copy when they write their first record; a
//! schema change that breaks one of them must break this test too.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use essaim_node::draft::{self, Format};
use essaim_protocol::{Body, HubKey, SignedRecord};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// Read, sign and verify one draft; the error says which step failed.
fn sign_and_verify(path: &Path, key: &HubKey, now: u64) -> Result<SignedRecord, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let format = Format::detect(Some(path), &text);
    let body = draft::parse(&text, format, &key.hub_id(), now)
        .map_err(|e| format!("draft ({format:?}) refused [{}]: {e}", e.code()))?;
    let signed = essaim_protocol::sign(body.clone(), key, now)
        .map_err(|e| format!("signing refused [{}]: {e}", e.code()))?;
    let verified = essaim_protocol::verify(&signed.to_envelope(), now)
        .map_err(|e| format!("verification refused [{}]: {e}", e.code()))?;
    if verified.body() != &body {
        return Err("the verified body differs from the draft's body".into());
    }
    Ok(verified)
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(EXAMPLES)
        .unwrap_or_else(|e| panic!("cannot list {EXAMPLES}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        // Hidden files (`.gitkeep`, editor swap files) are not examples.
        .filter(|path| {
            path.is_file()
                && !path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_signs_and_verifies() {
    let key = HubKey::from_seed(&[1; 32]);
    let now = now();
    let files = example_files();
    assert!(!files.is_empty(), "no example in {EXAMPLES}");

    let mut failures = Vec::new();
    let mut initiatives = 0;
    let mut lyon_origin = None;
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        match sign_and_verify(path, &key, now) {
            Err(message) => failures.push(format!("examples/{name}: {message}")),
            Ok(record) => {
                if let Body::Initiative(initiative) = record.body() {
                    initiatives += 1;
                    if name == "epicerie-solidaire-lyon.toml" {
                        lyon_origin = Some(initiative.origin.to_string());
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(
        initiatives >= 3,
        "expected at least 3 initiatives among the examples, found {initiatives}"
    );
    assert_eq!(
        lyon_origin.as_deref(),
        Some("com:69123"),
        "examples/epicerie-solidaire-lyon.toml must be an initiative born in Lyon (the CLI acceptance test signs it)"
    );
}

#[test]
fn examples_have_distinct_slugs_per_kind() {
    let key = HubKey::from_seed(&[1; 32]);
    let now = now();
    let mut seen = std::collections::HashMap::new();
    for path in example_files() {
        let Ok(record) = sign_and_verify(&path, &key, now) else {
            continue; // reported by `every_example_signs_and_verifies`
        };
        if let Some(other) = seen.insert(record.address(), path.clone()) {
            panic!(
                "{} and {} have the same address {}: signing both would make one replace the other",
                other.display(),
                path.display(),
                record.address()
            );
        }
    }
}
