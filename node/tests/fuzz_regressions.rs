//! The node's fuzz targets in `cargo test`: every input that once made a
//! target fail (`fuzz/regressions/<target>/`) and the seeds the targets
//! start from, replayed through the targets' own checks
//! (`fuzz/checks/<target>.rs`, shared with `fuzz/fuzz_targets/`).

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../fuzz/checks/publiccode.rs"]
mod publiccode;
#[allow(dead_code)]
#[path = "../../fuzz/checks/search.rs"]
mod search;
#[allow(dead_code)]
#[path = "../../fuzz/checks/sync.rs"]
mod sync;

/// The files of a directory, by name (dotfiles left out).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.is_file()
            && !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    files.sort();
    files
}

fn replay(dir: &Path, run: fn(&[u8])) -> usize {
    let files = inputs(dir);
    for file in &files {
        let data = std::fs::read(file).expect("a readable input");
        eprintln!("replaying {}", file.display());
        run(&data);
    }
    files.len()
}

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
