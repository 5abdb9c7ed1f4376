//! The protocol's fuzz targets in `cargo test`: every input that once made
//! a target fail (`fuzz/regressions/<target>/`) and the seeds the targets
//! start from, replayed through the targets' own checks
//! (`fuzz/checks/<target>.rs`, shared with `fuzz/fuzz_targets/`).

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../fuzz/checks/envelope.rs"]
mod envelope;
#[allow(dead_code)]
#[path = "../../fuzz/checks/json_view.rs"]
mod json_view;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

use replay::replay;

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target)
}

#[test]
fn envelope_regressions_pass() {
    replay(&regressions("envelope"), envelope::run);
}

#[test]
fn json_view_regressions_pass() {
    replay(&regressions("json_view"), json_view::run);
}

#[test]
fn envelope_seeds_pass_both_targets() {
    let dir = std::env::temp_dir().join(format!("essaim-envelope-seeds-{}", std::process::id()));
    envelope::write_seeds(&dir);
    assert!(
        replay(&dir, envelope::run) > 50,
        "the vectors' envelopes and payloads"
    );
    replay(&dir, json_view::run);
    let _ = std::fs::remove_dir_all(&dir);
}
