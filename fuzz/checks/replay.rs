//! Replaying inputs through a target's check in `cargo test`: the protocol's
//! and the node's `tests/fuzz_regressions.rs` include this file.

use std::path::{Path, PathBuf};

/// The files of a directory, by name (dotfiles left out); none when the
/// directory is missing.
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

/// Runs `run` on every input of `dir`, naming each on stderr first (a
/// panic then says which input it was); returns how many there were.
pub(crate) fn replay(dir: &Path, run: fn(&[u8])) -> usize {
    let files = inputs(dir);
    for file in &files {
        let data = std::fs::read(file).expect("a readable input");
        eprintln!("replaying {}", file.display());
        run(&data);
    }
    files.len()
}
