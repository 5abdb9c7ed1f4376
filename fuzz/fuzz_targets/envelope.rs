//! The `envelope` fuzz target: see checks/envelope.rs for what it checks (the
//! same checks replay the regression inputs in `cargo test`).
#![no_main]

#[path = "../checks/envelope.rs"]
mod check;

libfuzzer_sys::fuzz_target!(init: check::init(), |data: &[u8]| check::run(data));
