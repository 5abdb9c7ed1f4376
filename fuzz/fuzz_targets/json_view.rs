//! The `json_view` fuzz target: see checks/json_view.rs for what it checks (the
//! same checks replay the regression inputs in `cargo test`).
#![no_main]

#[path = "../checks/json_view.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
