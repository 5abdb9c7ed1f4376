//! # essaim-node
//!
//! The Essaim node as a library; the `essaim` binary only parses arguments
//! and calls into it.
//!
//! | module | what it holds |
//! |---|---|
//! | [`datadir`] | the data directory: hub key, configuration, hub record; `essaim init` |
//! | [`config`] | `config.toml`, parsed and checked once into a typed [`config::Config`] |
//! | [`draft`] | records written by hand in TOML, YAML or JSON, turned into bodies to sign |
//!
//! The store, the search index, federation and mirrors land with their own
//! issues; data will flow wire/HTTP/CLI → validate → trust → store → index +
//! mirror + gossip.
#![deny(missing_docs)]

pub mod config;
pub mod datadir;
pub mod draft;

/// The current unix time in milliseconds (for `seq`: later edits win).
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The current unix time in seconds (the protocol crate takes time as an argument).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
