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
