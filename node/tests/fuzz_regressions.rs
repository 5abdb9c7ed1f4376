//! The node's fuzz targets in `cargo test`: every input that once made a
//! target fail (`fuzz/regressions/<target>/`) and the seeds the targets
//! start from, replayed through the targets' own checks
//! (`fuzz/checks/<target>.rs`, shared with `fuzz/fuzz_targets/`).

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../fuzz/checks/publiccode.rs"]
mod publiccode;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[allow(dead_code)]
#[path = "../../fuzz/checks/search.rs"]
mod search;
#[allow(dead_code)]
#[path = "../../fuzz/checks/sync.rs"]
mod sync;

use replay::replay;

fn fuzz_dir(sub: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(sub)
        .join(target)
}

#[test]
fn publiccode_regressions_pass() {
    replay(&fuzz_dir("regressions", "publiccode"), publiccode::run);
}

#[test]
fn publiccode_fixture_suite_passes() {
    // The reference validator's fixtures (../shared/data/publiccode), the
    // target's seeds; absent on a machine without the shared data.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/publiccode/v0");
    for sub in ["valid", "invalid", "valid_with_warnings"] {
        replay(&root.join(sub), publiccode::run);
        replay(&root.join(sub).join("no-network"), publiccode::run);
    }
}

#[test]
fn search_regressions_and_seeds_pass() {
    replay(&fuzz_dir("regressions", "search"), search::run);
    assert!(replay(&fuzz_dir("seeds", "search"), search::run) >= 10);
}

#[test]
fn sync_regressions_and_seeds_pass() {
    replay(&fuzz_dir("regressions", "sync"), sync::run);
    let dir = std::env::temp_dir().join(format!("essaim-sync-seeds-{}", std::process::id()));
    sync::write_seeds(&dir);
    assert!(
        replay(&dir, sync::run) >= 10,
        "frames made by the real encoder"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
