//! Every vector in `specs/vectors/` gives its expected outcome, and the
//! committed files are exactly what the generator writes today.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::BTreeMap;
use std::path::PathBuf;

use essaim_protocol::vectors::{Vector, generate, outcome};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/vectors"))
}

fn committed() -> BTreeMap<String, String> {
    std::fs::read_dir(dir())
        .expect("specs/vectors exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn every_committed_vector_gives_its_expected_outcome() {
    let files = committed();
    assert!(files.len() >= 25, "only {} vectors", files.len());
    let (mut valid, mut invalid) = (0, 0);
    for (name, text) in &files {
        let file: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let vector = Vector {
            name: file["name"].as_str().unwrap().to_owned(),
            description: file["description"].as_str().unwrap().to_owned(),
            now: file["now"].as_u64().unwrap(),
            envelope_hex: file
                .get("envelope_hex")
                .and_then(Value::as_str)
                .map(str::to_owned),
            json_view: file.get("json_view").cloned(),
            expected: file["expected"].clone(),
        };
        assert_eq!(&vector.name, name, "file name and vector name agree");
        let got = outcome(&vector.run());
        assert_eq!(got, vector.expected, "vector {name}");
        if got["valid"] == Value::Bool(true) {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    println!("{valid} valid and {invalid} invalid vectors checked");
    assert!(valid >= 8 && invalid >= 17);
}

#[test]
fn vectors_regenerate_identically() {
    let files = committed();
    let fresh: BTreeMap<String, String> = generate()
        .into_iter()
        .map(|v| (v.name.clone(), v.to_file()))
        .collect();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "the set of vectors changed: run `cargo run -p essaim-protocol --example gen_vectors -- specs/vectors`"
    );
    for (name, text) in &fresh {
        assert_eq!(&files[name], text, "{name} differs from a fresh generation");
    }
}
