//! Integration tests of the real `essaim` binary: one test binary (link time
//! on 2 cores), a module per area, a shared `util`.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod backup;
mod browser;
mod cli;
mod doctor;
mod federation;
mod logs;
mod mirror;
mod node;
mod reliability;
mod trust;
mod util;
