//! Essaim's multi-node integration tests: one test binary, sharing the
//! harness of `essaim_tests::harness`.

mod federation;
mod hostile;
mod load;
mod trust;
