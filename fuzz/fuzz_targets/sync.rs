//! The `sync` fuzz target: see checks/sync.rs for what it checks (the
//! same checks replay the regression inputs in `cargo test`).
#![no_main]

#[path = "../checks/sync.rs"]
mod check;

libfuzzer_sys::fuzz_target!(init: check::init(), |data: &[u8]| check::run(data));
