//! Writes the protocol's test vectors into a directory, one JSON file each:
//!
//! ```sh
//! cargo run -p essaim-protocol --example gen_vectors -- specs/vectors
//! ```
//!
//! The output is deterministic; the `vectors` test checks that the committed
//! files are exactly what this writes.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: gen_vectors DIR (e.g. specs/vectors)");
        return ExitCode::FAILURE;
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let vectors = essaim_protocol::vectors::generate();
    for vector in &vectors {
        let path = dir.join(format!("{}.json", vector.name));
        if let Err(e) = std::fs::write(&path, vector.to_file()) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("wrote {} vectors to {}", vectors.len(), dir.display());
    ExitCode::SUCCESS
}
