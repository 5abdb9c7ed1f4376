//! The `publiccode` fuzz target: see checks/publiccode.rs for what it checks (the
//! same checks replay the regression inputs in `cargo test`).
#![no_main]

#[path = "../checks/publiccode.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
