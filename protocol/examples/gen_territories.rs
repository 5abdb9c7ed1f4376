//! Generates `protocol/src/territory/cog2026.txt`, the territory table embedded
//! in `essaim_protocol::territory`, from the INSEE COG 2026 CSV files.
//!
//! Run from the workspace root:
//!
//! ```text
//! cargo run -p essaim-protocol --example gen_territories -- ../shared/data/cog > protocol/src/territory/cog2026.txt
//! ```
//!
//! The logic lives in `src/territory/generate.rs`, which the crate's tests also
//! use to check that the embedded table is up to date.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../src/territory/generate.rs"]
mod generate;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!(
            "usage: gen_territories COG_DIR > protocol/src/territory/cog2026.txt\n\
             COG_DIR holds regions.csv, departements.csv and communes.csv (INSEE COG 2026)"
        );
        return ExitCode::from(2);
    };
    let table = match generate::generate(&PathBuf::from(dir)) {
        Ok(table) => table,
        Err(e) => {
            eprintln!("gen_territories: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(table.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("gen_territories: cannot write the table: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
