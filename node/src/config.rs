//! `config.toml`: read once, checked once, into a typed [`Config`].
//!
//! Every key is optional and has a default; an unknown key is an error that
//! names it (a typo must not be silently ignored). The file written by
//! `essaim init` lists every key, commented out, with its default: it is
//! [`TEMPLATE`], and a test checks that it parses to [`Config::default`].

use std::net::SocketAddr;
use std::path::Path;

use essaim_protocol::record::{MultiaddrText, WebUrl};
use serde::Deserialize;

mod compat;
pub mod env;

/// The commented configuration file written by `essaim init`.
pub const TEMPLATE: &str = include_str!("config.template.toml");

/// Why the configuration could not be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type or is unknown.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        message: String,
    },
    /// A value has the right type but not an acceptable form.
    #[error("{path}: `{key}` = `{value}` is not {expected}")]
    Value {
        /// The file.
        path: String,
        /// The key, dotted (`http.listen`).
        key: &'static str,
        /// The value found.
        value: String,
        /// The expected form.
        expected: &'static str,
    },
    /// An `ESSAIM_…` environment variable is not a key, or not a valid value.
    #[error("environment variable {variable} = `{value}` is not {expected}")]
    Env {
        /// The variable.
        variable: String,
        /// Its value.
        value: String,
        /// The expected form.
        expected: String,
    },
}

/// Trust mode: whose records this node accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustMode {
    /// Every valid record, within per-author quotas.
    Open,
    /// Records of followed hubs and of hubs they label; others wait in quarantine.
    #[default]
    WebOfTrust,
}

/// The node's configuration, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address of the web UI and API.
    pub http_listen: SocketAddr,
    /// libp2p listen addresses.
    pub p2p_listen: Vec<MultiaddrText>,
    /// Peers to dial at start-up.
    pub bootstrap: Vec<MultiaddrText>,
    /// Public multiaddrs published in the hub record (empty: none).
    pub announce: Vec<MultiaddrText>,
    /// Public base URL of the web server, published in the hub record.
    pub public_url: Option<WebUrl>,
    /// Whether the HTTP listener serves `/metrics`.
    pub http_metrics: bool,
    /// Local-network discovery.
    pub mdns: bool,
    /// Dial the peers kad finds beyond the bootstrap ones.
    pub discover: bool,
    /// Whether to act as a libp2p relay for hubs behind NAT.
    pub relay_server: bool,
    /// Relays (multiaddrs ending in `/p2p/<peer id>`) on which this node
    /// reserves a slot so that hubs can reach it behind NAT.
    pub relays: Vec<MultiaddrText>,
    /// Seconds between two anti-entropy reconciliations with a connected peer.
    pub sync_interval_secs: u64,
    /// Trust mode.
    pub trust_mode: TrustMode,
    /// How many labelling steps from a followed hub are still trusted.
    pub trust_depth: u8,
    /// Records a hub (other than this one and the followed ones) may have
    /// stored in the last hour.
    pub trust_quota_per_hour: u64,
    /// Records a hub (other than this one and the followed ones) may have
    /// stored in all.
    pub trust_quota_total: u64,
    /// Records kept in quarantine at most, in all.
    pub trust_quarantine_max: u64,
    /// Records kept in quarantine at most per hub.
    pub trust_quarantine_per_hub: u64,
    /// Whether to mirror initiatives' git repositories.
    pub mirror_enabled: bool,
    /// Seconds between two refreshes of a mirror.
    pub mirror_interval_secs: u64,
    /// Largest repository mirrored, in MiB.
    pub mirror_max_size_mib: u64,
    /// Whether plain `http://` origins may be mirrored.
    pub mirror_allow_http: bool,
    /// Whether origins resolving to loopback addresses may be mirrored (tests, demos).
    pub mirror_allow_loopback: bool,
    /// Whether origins resolving to private, link-local or CGNAT addresses may be mirrored.
    pub mirror_allow_private: bool,
    /// Longest single fetch, seconds.
    pub mirror_timeout_secs: u64,
    /// Fetches run at the same time, at most.
    pub mirror_concurrency: usize,
    /// `git clone`s served at the same time, at most (more get 503).
    pub mirror_serve_concurrency: usize,
    /// Longest time one `/git/` request may take, seconds (then it is cut).
    pub mirror_serve_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            p2p_listen: vec![
                "/ip4/0.0.0.0/tcp/4001"
                    .parse()
                    .expect("a literal multiaddr"),
            ],
            bootstrap: Vec::new(),
            announce: Vec::new(),
            public_url: None,
            http_metrics: true,
            mdns: true,
            discover: true,
            relay_server: false,
            relays: Vec::new(),
            sync_interval_secs: 60,
            trust_mode: TrustMode::WebOfTrust,
            trust_depth: 2,
            trust_quota_per_hour: 1_000,
            trust_quota_total: 20_000,
            trust_quarantine_max: 10_000,
            trust_quarantine_per_hub: 1_000,
            mirror_enabled: true,
            mirror_interval_secs: 6 * 3600,
            mirror_max_size_mib: 1024,
            mirror_allow_http: false,
            mirror_allow_loopback: false,
            mirror_allow_private: false,
            mirror_timeout_secs: 600,
            mirror_concurrency: 2,
            mirror_serve_concurrency: 16,
            mirror_serve_timeout_secs: 600,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    http: RawHttp,
    p2p: RawP2p,
    trust: RawTrust,
    mirror: RawMirror,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawHttp {
    listen: Option<String>,
    public_url: Option<String>,
    metrics: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawP2p {
    listen: Option<Vec<String>>,
    bootstrap: Option<Vec<String>>,
    announce: Option<Vec<String>>,
    mdns: Option<bool>,
    discover: Option<bool>,
    relay_server: Option<bool>,
    relays: Option<Vec<String>>,
    sync_interval_secs: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawTrust {
    mode: Option<TrustMode>,
    depth: Option<u8>,
    quota_per_hour: Option<u64>,
    quota_total: Option<u64>,
    quarantine_max: Option<u64>,
    quarantine_per_hub: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawMirror {
    enabled: Option<bool>,
    interval_secs: Option<u64>,
    max_size_mib: Option<u64>,
    allow_http: Option<bool>,
    allow_loopback: Option<bool>,
    allow_private: Option<bool>,
    timeout_secs: Option<u64>,
    concurrency: Option<usize>,
    serve_concurrency: Option<usize>,
    serve_timeout_secs: Option<u64>,
}

impl Config {
    /// Read and check a configuration file (a missing file means the
    /// defaults), accept the keys of older versions (with a warning), then
    /// apply the `ESSAIM_<SECTION>_<KEY>` environment variables ([`env`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        env::load(path)
    }

    /// Parse and check configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let mut config = Config::default();
        let bad = |key, value: &str, expected| ConfigError::Value {
            path: path.to_owned(),
            key,
            value: value.to_owned(),
            expected,
        };
        if let Some(listen) = raw.http.listen {
            config.http_listen = listen.parse().map_err(|_| {
                bad(
                    "http.listen",
                    &listen,
                    "an IP address and port such as 127.0.0.1:8080",
                )
            })?;
        }
        let multiaddrs = |key, list: Vec<String>| {
            list.iter()
                .map(|m| {
                    m.parse::<MultiaddrText>()
                        .map_err(|_| bad(key, m, "a multiaddr such as /ip4/0.0.0.0/tcp/4001"))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        if let Some(listen) = raw.p2p.listen {
            config.p2p_listen = multiaddrs("p2p.listen", listen)?;
        }
        if let Some(bootstrap) = raw.p2p.bootstrap {
            config.bootstrap = multiaddrs("p2p.bootstrap", bootstrap)?;
        }
        if let Some(announce) = raw.p2p.announce {
            config.announce = multiaddrs("p2p.announce", announce)?;
        }
        if let Some(relays) = raw.p2p.relays {
            // A reservation is made with one peer: its id must be known.
            for relay in &relays {
                let ends_with_peer = relay
                    .rsplit_once("/p2p/")
                    .is_some_and(|(_, id)| !id.is_empty() && !id.contains('/'));
                if !ends_with_peer {
                    return Err(bad(
                        "p2p.relays",
                        relay,
                        "a relay's multiaddr ending in its peer id, such as /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…",
                    ));
                }
            }
            config.relays = multiaddrs("p2p.relays", relays)?;
        }
        if let Some(url) = raw.http.public_url.filter(|u| !u.is_empty()) {
            config.public_url = Some(url.parse().map_err(|_| {
                bad(
                    "http.public_url",
                    &url,
                    "a public web address such as https://essaim.example.org/",
                )
            })?);
        }
        config.http_metrics = raw.http.metrics.unwrap_or(config.http_metrics);
        config.mdns = raw.p2p.mdns.unwrap_or(config.mdns);
        config.discover = raw.p2p.discover.unwrap_or(config.discover);
        config.relay_server = raw.p2p.relay_server.unwrap_or(config.relay_server);
        if let Some(interval) = raw.p2p.sync_interval_secs {
            // Below a second the node would reconcile with every peer
            // continuously; above a day a missed gossip waits too long.
            if !(1..=86_400).contains(&interval) {
                return Err(bad(
                    "p2p.sync_interval_secs",
                    &interval.to_string(),
                    "a number of seconds from 1 to 86400",
                ));
            }
            config.sync_interval_secs = interval;
        }
        config.trust_mode = raw.trust.mode.unwrap_or(config.trust_mode);
        if let Some(depth) = raw.trust.depth {
            if depth > 5 {
                return Err(bad(
                    "trust.depth",
                    &depth.to_string(),
                    "a depth from 0 to 5",
                ));
            }
            config.trust_depth = depth;
        }
        let count = |key, value: Option<u64>, default: u64| match value {
            None => Ok(default),
            Some(n) if (1..=10_000_000).contains(&n) => Ok(n),
            Some(n) => Err(bad(
                key,
                &n.to_string(),
                "a number of records from 1 to 10000000",
            )),
        };
        config.trust_quota_per_hour = count(
            "trust.quota_per_hour",
            raw.trust.quota_per_hour,
            config.trust_quota_per_hour,
        )?;
        config.trust_quota_total = count(
            "trust.quota_total",
            raw.trust.quota_total,
            config.trust_quota_total,
        )?;
        config.trust_quarantine_max = count(
            "trust.quarantine_max",
            raw.trust.quarantine_max,
            config.trust_quarantine_max,
        )?;
        config.trust_quarantine_per_hub = count(
            "trust.quarantine_per_hub",
            raw.trust.quarantine_per_hub,
            config.trust_quarantine_per_hub,
        )?;
        config.mirror_enabled = raw.mirror.enabled.unwrap_or(config.mirror_enabled);
        if let Some(interval) = raw.mirror.interval_secs {
            if interval < 60 {
                return Err(bad(
                    "mirror.interval_secs",
                    &interval.to_string(),
                    "at least 60 seconds",
                ));
            }
            config.mirror_interval_secs = interval;
        }
        if let Some(size) = raw.mirror.max_size_mib {
            if size == 0 {
                return Err(bad("mirror.max_size_mib", "0", "a size of at least 1 MiB"));
            }
            config.mirror_max_size_mib = size;
        }
        config.mirror_allow_http = raw.mirror.allow_http.unwrap_or(config.mirror_allow_http);
        config.mirror_allow_loopback = raw
            .mirror
            .allow_loopback
            .unwrap_or(config.mirror_allow_loopback);
        config.mirror_allow_private = raw
            .mirror
            .allow_private
            .unwrap_or(config.mirror_allow_private);
        if let Some(secs) = raw.mirror.timeout_secs {
            if !(1..=86_400).contains(&secs) {
                return Err(bad(
                    "mirror.timeout_secs",
                    &secs.to_string(),
                    "a number of seconds from 1 to 86400",
                ));
            }
            config.mirror_timeout_secs = secs;
        }
        if let Some(n) = raw.mirror.concurrency {
            if !(1..=64).contains(&n) {
                return Err(bad(
                    "mirror.concurrency",
                    &n.to_string(),
                    "a number of fetches from 1 to 64",
                ));
            }
            config.mirror_concurrency = n;
        }
        if let Some(n) = raw.mirror.serve_concurrency {
            if !(1..=1024).contains(&n) {
                return Err(bad(
                    "mirror.serve_concurrency",
                    &n.to_string(),
                    "a number of clones from 1 to 1024",
                ));
            }
            config.mirror_serve_concurrency = n;
        }
        if let Some(secs) = raw.mirror.serve_timeout_secs {
            if !(1..=86_400).contains(&secs) {
                return Err(bad(
                    "mirror.serve_timeout_secs",
                    &secs.to_string(),
                    "a number of seconds from 1 to 86400",
                ));
            }
            config.mirror_serve_timeout_secs = secs;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_the_defaults() {
        assert_eq!(
            Config::parse(TEMPLATE, "template").unwrap(),
            Config::default()
        );
        // Uncommenting every key gives the defaults too: the comments tell the truth.
        let uncommented: String = TEMPLATE
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            Config::parse(&uncommented, "uncommented").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn errors_name_the_key_and_value() {
        let err = Config::parse("[http]\nlisten = \"localhost\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("http.listen"), "{err}");
        assert!(err.to_string().contains("localhost"), "{err}");
        let err = Config::parse("[http]\nlisen = \"x\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = Config::parse("[trust]\nmode = \"closed\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[test]
    fn relays_need_a_peer_id() {
        let id = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
        let config = Config::parse(
            &format!("[p2p]\nrelays = [\"/ip4/127.0.0.1/tcp/4001/p2p/{id}\"]\n"),
            "c.toml",
        )
        .unwrap();
        assert_eq!(config.relays.len(), 1);
        for bad in ["/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/4001/p2p/"] {
            let err = Config::parse(&format!("[p2p]\nrelays = [\"{bad}\"]\n"), "c.toml")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("p2p.relays") && err.contains("peer id"),
                "{err}"
            );
        }
    }

    #[test]
    fn sync_interval_is_configurable_and_checked() {
        let config = Config::parse("[p2p]\nsync_interval_secs = 5\n", "c.toml").unwrap();
        assert_eq!(config.sync_interval_secs, 5);
        assert_eq!(Config::default().sync_interval_secs, 60);
        for bad in ["0", "86401"] {
            let err = Config::parse(&format!("[p2p]\nsync_interval_secs = {bad}\n"), "c.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("p2p.sync_interval_secs"), "{err}");
            assert!(err.contains(&format!("`{bad}`")), "{err}");
            assert!(err.contains("from 1 to 86400"), "{err}");
        }
        let err = Config::parse("[p2p]\nsync_interval_secs = \"1m\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("sync_interval_secs"), "{err}");
    }
}
