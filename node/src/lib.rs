//! # essaim-node
//!
//! The Essaim node as a library; the `essaim` binary only parses arguments
//! and calls into it.
//!
//! | module | what it holds |
//! |---|---|
//! | [`datadir`] | the data directory: hub key, configuration, hub record; `essaim init` |
//! | [`config`] | `config.toml`, parsed and checked once into a typed [`config::Config`] |
//! | [`doctor`] | `essaim doctor`: checks of the data dir, key, config, ports, git, disk, clock, reachability |
//! | [`draft`] | records written by hand in TOML, YAML or JSON, turned into bodies to sign |
//! | [`client`] | the node of a data directory, over HTTP when it runs, else in-process |
//! | [`node`] | the running node: store + index + tasks, group commit, graceful shutdown |
//! | [`indexer`] | keeps the search index in line with the store (watermark) |
//! | [`web`] | the HTTP server: JSON API (and, later, the web UI) |
//! | [`metrics`] | `/metrics`: counters, gauges and histograms for Prometheus |
//! | [`p2p`] | federation: libp2p swarm, gossip of records, anti-entropy (Negentropy), discovery |
//! | [`store`] | SQLite: every signed record as received, history, heads, change numbers |
//! | [`import`] | publiccode.yml and digital-public-goods records turned into initiatives |
//! | [`index`] | tantivy search index over initiative heads: typo-tolerant search, facets, highlights |
//! | [`backup`] | `essaim backup` / `restore`: online snapshot of the store, key and config, with a manifest |
//! | [`mirror`] | mirrors of the initiatives' git repositories: URL policy, fetching, fallback |
//! | [`trust`] | the trust policy (open / web-of-trust, follow, block, quarantine, quotas), endorsements, "pour mon territoire" |
//! | [`catalogue`] | the sample catalogue of `essaim demo`: hubs, initiatives and endorsements, signed |
//!
//! The store, the search index, federation and mirrors land with their own
//! issues; data will flow wire/HTTP/CLI → validate → trust → store → index +
//! mirror + gossip.
#![deny(missing_docs)]

pub mod backup;
pub mod catalogue;
pub mod client;
pub mod config;
pub mod datadir;
pub mod doctor;
pub mod draft;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod index;
pub mod indexer;
pub mod metrics;
pub mod mirror;
pub mod node;
pub mod p2p;
pub mod store;
pub mod trust;
pub mod web;

/// Whether an I/O error means the disk is full (`ENOSPC`, or a quota).
pub fn is_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

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
