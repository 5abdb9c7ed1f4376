//! `essaim doctor`: check what a hub needs to run, and say how to fix what
//! is wrong.
//!
//! Each check gives a [`Check`]: a status, one line saying what was found,
//! and, unless all is well, one line saying what to do. The checks read the
//! data directory, the configuration (environment included), the system
//! (ports, `git`, free disk), and, when the node runs, ask it over its API;
//! they never change anything.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::config::Config;
use crate::datadir::{CONFIG_FILE, DataDir, DataDirError, KEY_FILE};
use crate::node::{STORE_FILE, running_node};

/// Free space under which the data directory is a problem.
pub const MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;
/// Free space under which it is worth a warning.
pub const LOW_FREE_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Clock difference with peers worth a warning, in seconds (records more
/// than `MAX_FUTURE_SKEW_SECS` ahead are refused).
pub const SKEW_WARN_SECS: i64 = 60;

/// How a check went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All is well.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Broken: the node will not run (or not well) until it is fixed.
    Fail,
    /// Could not be checked here (e.g. needs the node running).
    Skip,
}

impl Status {
    /// The mark printed before the check.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "-",
        }
    }
}

/// One check's result.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked (`key`, `http port`…).
    pub name: &'static str,
    /// How it went.
    pub status: Status,
    /// What was found, one line.
    pub message: String,
    /// What to do, one line (none when all is well).
    pub fix: Option<String>,
}

fn check(name: &'static str, status: Status, message: impl Into<String>) -> Check {
    Check {
        name,
        status,
        message: message.into(),
        fix: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Run every check on the data directory `data`.
pub fn run(data: &DataDir) -> Vec<Check> {
    let mut checks = Vec::new();
    let root = data.root();
    checks.push(data_dir(root));
    if !root.is_dir() {
        return checks;
    }
    checks.push(key(data));
    let config = Config::load(&data.path(CONFIG_FILE));
    checks.push(match &config {
        Ok(_) => check(
            "config",
            Status::Ok,
            format!(
                "{} and the ESSAIM_ environment variables are valid",
                data.path(CONFIG_FILE).display()
            ),
        ),
        Err(e) => check("config", Status::Fail, e.to_string())
            .fix("correct the key or variable named (every key and its form: deploy/CONFIG.md)"),
    });
    let running = running_node(data);
    let status = running.and_then(node_status);
    if let Ok(config) = &config {
        checks.push(http_port(config.http_listen, running));
        checks.push(p2p_ports(config, status.as_ref()));
        checks.push(git(config.mirror_enabled));
    } else {
        for name in ["http port", "p2p port"] {
            checks.push(check(
                name,
                Status::Skip,
                "not checked: the configuration is not valid",
            ));
        }
        checks.push(git(true));
    }
    checks.push(disk(root));
    checks.push(clock(&data.path(STORE_FILE)));
    checks.push(reachability(config.as_ref().ok(), running, status.as_ref()));
    checks
}

fn data_dir(root: &Path) -> Check {
    let shown = root.display();
    let meta = match std::fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return check("data dir", Status::Fail, format!("{shown} does not exist")).fix(
                format!("create the hub: `essaim init --data-dir {shown}` (or pass the right --data-dir / ESSAIM_HOME)"),
            );
        }
        Err(e) => {
            return check(
                "data dir",
                Status::Fail,
                format!("cannot read {shown}: {e}"),
            )
            .fix(
                "run doctor as the user that runs the node (e.g. `runuser -u essaim -- essaim doctor --data-dir DIR`)",
            );
        }
    };
    if !meta.is_dir() {
        return check(
            "data dir",
            Status::Fail,
            format!("{shown} is not a directory"),
        )
        .fix("point --data-dir (or ESSAIM_HOME) at the hub's directory");
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o002 != 0 {
        return check(
            "data dir",
            Status::Fail,
            format!("{shown} is writable by every user (mode {mode:o})"),
        )
        .fix(format!("chmod 700 {shown}"));
    }
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if uid.is_some_and(|uid| uid != meta.uid() && uid != 0) {
        return check(
            "data dir",
            Status::Warn,
            format!("{shown} belongs to another user (uid {})", meta.uid()),
        )
        .fix("run the node and doctor as the directory's owner (e.g. `runuser -u essaim -- essaim doctor --data-dir DIR`)");
    }
    if mode & 0o077 != 0 {
        return check(
            "data dir",
            Status::Warn,
            format!("{shown} can be read by other users (mode {mode:o})"),
        )
        .fix(format!("chmod 700 {shown}"));
    }
    check("data dir", Status::Ok, format!("{shown} (mode {mode:o})"))
}

fn key(data: &DataDir) -> Check {
    match data.load_key() {
        Ok(key) => check(
            "key",
            Status::Ok,
            format!(
                "{} loads (mode 600): hub {}",
                data.path(KEY_FILE).display(),
                key.hub_id()
            ),
        ),
        Err(e @ DataDirError::KeyPermissions { .. }) => check("key", Status::Fail, e.to_string())
            .fix(format!("chmod 600 {}", data.path(KEY_FILE).display())),
        Err(e @ DataDirError::NoKey(..)) => check("key", Status::Fail, e.to_string()).fix(
            format!(
                "create the hub with `essaim init --data-dir {}`, or restore it with `essaim restore BACKUP`",
                data.root().display()
            ),
        ),
        Err(e) => check("key", Status::Fail, e.to_string())
            .fix("restore hub.key from a backup (`essaim restore BACKUP`)"),
    }
}

/// `/api/v1/status` of the node running at `address`.
fn node_status(address: SocketAddr) -> Option<serde_json::Value> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let text = agent
        .get(&format!("http://{address}/api/v1/status"))
        .call()
        .ok()?
        .into_body()
        .read_to_string()
        .ok()?;
    serde_json::from_str(&text).ok()
}

fn http_port(listen: SocketAddr, running: Option<SocketAddr>) -> Check {
    if let Some(address) = running {
        return if address.port() == listen.port() {
            check(
                "http port",
                Status::Ok,
                format!("{listen} is held by this hub's running node"),
            )
        } else {
            check(
                "http port",
                Status::Ok,
                format!(
                    "the running node answers on {address} (a --http flag overrides http.listen = {listen})"
                ),
            )
        };
    }
    port_free("http port", listen, "http.listen (or ESSAIM_HTTP_LISTEN)")
}

fn port_free(name: &'static str, address: SocketAddr, key: &str) -> Check {
    match TcpListener::bind(address) {
        Ok(_) => check(name, Status::Ok, format!("{address} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => check(
            name,
            Status::Fail,
            format!("{address} is in use by another program"),
        )
        .fix(format!(
            "find it with `ss -ltnp 'sport = :{}'`, stop it, or change {key}",
            address.port()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => check(
            name,
            Status::Fail,
            format!("not allowed to listen on {address} ({e})"),
        )
        .fix(format!(
            "use a port above 1023 in {key}, or a reverse proxy"
        )),
        Err(e) => check(
            name,
            Status::Fail,
            format!("cannot listen on {address}: {e}"),
        )
        .fix(format!("use an address of this machine in {key}")),
    }
}

/// The TCP socket address of a `/ip4|ip6/…/tcp/N` multiaddr.
fn tcp_address(multiaddr: &str) -> Option<SocketAddr> {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    match parts.as_slice() {
        ["", "ip4" | "ip6", ip, "tcp", port, ..] => {
            Some(SocketAddr::new(ip.parse().ok()?, port.parse().ok()?))
        }
        _ => None,
    }
}

fn p2p_ports(config: &Config, status: Option<&serde_json::Value>) -> Check {
    let held: Vec<u16> = status
        .and_then(|s| s["sync"]["listen"].as_array())
        .map(|list| {
            list.iter()
                .filter_map(|a| a.as_str().and_then(tcp_address).map(|a| a.port()))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for multiaddr in &config.p2p_listen {
        let text = multiaddr.to_string();
        let Some(address) = tcp_address(&text) else {
            found.push(format!("{text} (not TCP: not checked)"));
            continue;
        };
        if address.port() == 0 {
            found.push(format!("{text} (any free port)"));
            continue;
        }
        if status.is_some() && held.contains(&address.port()) {
            found.push(format!("{text} held by this hub's running node"));
            continue;
        }
        let one = port_free("p2p port", address, "p2p.listen (or ESSAIM_P2P_LISTEN)");
        if one.status != Status::Ok {
            return one;
        }
        found.push(format!("{text} free"));
    }
    check("p2p port", Status::Ok, found.join("; "))
}

fn git(needed: bool) -> Check {
    let version = Command::new("git")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match version {
        Some(version) => check("git", Status::Ok, version),
        None if needed => check(
            "git",
            Status::Fail,
            "no working `git` on the PATH: mirrors and `essaim clone` need it",
        )
        .fix("install it (`apt-get install git`), or set mirror.enabled = false"),
        None => check(
            "git",
            Status::Warn,
            "no `git` on the PATH (mirrors are disabled)",
        )
        .fix("install it (`apt-get install git`) to mirror repositories"),
    }
}

fn disk(root: &Path) -> Check {
    let gib = |b: u64| b as f64 / (1024.0 * 1024.0 * 1024.0);
    match fs4::available_space(root) {
        Ok(free) if free < MIN_FREE_BYTES => check(
            "disk",
            Status::Fail,
            format!("{:.2} GiB free on {}", gib(free), root.display()),
        )
        .fix("free space or move the data directory: writes will fail when the disk is full"),
        Ok(free) if free < LOW_FREE_BYTES => check(
            "disk",
            Status::Warn,
            format!("{:.2} GiB free on {}", gib(free), root.display()),
        )
        .fix("plan more space: mirrors grow with the catalogue"),
        Ok(free) => check(
            "disk",
            Status::Ok,
            format!("{:.1} GiB free on {}", gib(free), root.display()),
        ),
        Err(e) => check(
            "disk",
            Status::Warn,
            format!("cannot tell the free space: {e}"),
        )
        .fix("check with `df -h`"),
    }
}

/// The clock against the peers', from the records they sent: a record
/// created (by its author's clock) after this node received it (by this
/// node's clock) says this clock is behind. Only a clock behind can be seen
/// this way (transit time hides a clock ahead); it is the harmful one, as
/// the records of peers then look as if from the future and are refused.
fn clock(store: &Path) -> Check {
    let Ok(conn) = Connection::open_with_flags(store, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return check(
            "clock",
            Status::Skip,
            "no store yet: nothing received from peers to compare with",
        );
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
    let ahead: Result<Vec<i64>, _> = conn
        .prepare(
            "SELECT created - received_at FROM records WHERE source LIKE 'peer:%'
             ORDER BY change DESC LIMIT 200",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()
        });
    let mut ahead = match ahead {
        Ok(list) if !list.is_empty() => list,
        Ok(_) => {
            return check(
                "clock",
                Status::Skip,
                "no record received from peers yet: nothing to compare with",
            );
        }
        Err(e) => return check("clock", Status::Skip, format!("cannot read the store: {e}")),
    };
    ahead.sort_unstable();
    let median = ahead[ahead.len() / 2];
    if median > SKEW_WARN_SECS {
        check(
            "clock",
            Status::Warn,
            format!(
                "this machine's clock looks {median} s behind its peers' (the records they send are created after they arrive)"
            ),
        )
        .fix("synchronise the clock: `timedatectl set-ntp true` (systemd-timesyncd) or install chrony")
    } else {
        check(
            "clock",
            Status::Ok,
            format!(
                "in line with the peers' (median {median:+} s over the last {} records they sent)",
                ahead.len()
            ),
        )
    }
}

fn reachability(
    config: Option<&Config>,
    running: Option<SocketAddr>,
    status: Option<&serde_json::Value>,
) -> Check {
    let Some(status) = status else {
        return check(
            "reachability",
            Status::Skip,
            if running.is_some() {
                "the running node did not answer /api/v1/status"
            } else {
                "the node is not running: start it to check its connections"
            },
        );
    };
    let peers = status["sync"]["connected_peers"].as_u64().unwrap_or(0);
    let announced = config.is_some_and(|c| !c.announce.is_empty());
    // What AutoNAT found, when the node reports it (`sync.reachability`,
    // `sync.relays` in /api/v1/status).
    let reserved: Vec<&str> = status["sync"]["relays"]
        .as_array()
        .map(|relays| {
            relays
                .iter()
                .filter(|r| r["reserved"] == true)
                .filter_map(|r| r["address"].as_str())
                .collect()
        })
        .unwrap_or_default();
    match status["sync"]["reachability"].as_str() {
        Some("public") => {
            return check(
                "reachability",
                Status::Ok,
                format!("reachable from outside (AutoNAT); {peers} connected peer(s)"),
            );
        }
        Some("private") if !reserved.is_empty() => {
            return check(
                "reachability",
                Status::Ok,
                format!(
                    "behind NAT, reachable through relay {} ({peers} connected peer(s))",
                    reserved.join(", ")
                ),
            );
        }
        Some("private") => {
            return check(
                "reachability",
                Status::Warn,
                format!("not reachable from outside (AutoNAT) and no relay slot yet; {peers} connected peer(s)"),
            )
            .fix("forward TCP port 4001 to this machine and set p2p.announce, or set p2p.relays to a public hub's relay address (deploy/README.md, Behind NAT)");
        }
        _ => {}
    }
    if peers == 0 {
        let has_bootstrap = config.is_some_and(|c| !c.bootstrap.is_empty());
        return check("reachability", Status::Warn, "no connected peer").fix(if has_bootstrap {
            "check that the bootstrap nodes (p2p.bootstrap) are up and that outgoing TCP is allowed"
        } else {
            "set p2p.bootstrap (or ESSAIM_P2P_BOOTSTRAP) to a known hub's multiaddr"
        });
    }
    if !announced {
        return check(
            "reachability",
            Status::Warn,
            format!("{peers} connected peer(s); no public address announced (p2p.announce), so other hubs cannot dial this one"),
        )
        .fix("on a public hub, open the p2p TCP port and set p2p.announce = [\"/ip4/PUBLIC_IP/tcp/4001\"]; behind NAT, rely on a relay hub");
    }
    check(
        "reachability",
        Status::Ok,
        format!(
            "{peers} connected peer(s); public addresses announced (whether they answer from outside is not measured yet: try `nc -vz PUBLIC_IP 4001` from another machine)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs_give_tcp_addresses() {
        assert_eq!(
            tcp_address("/ip4/0.0.0.0/tcp/4001"),
            Some("0.0.0.0:4001".parse().unwrap())
        );
        assert_eq!(
            tcp_address("/ip6/::1/tcp/4001/p2p/12D3"),
            Some("[::1]:4001".parse().unwrap())
        );
        assert_eq!(tcp_address("/ip4/1.2.3.4/udp/4001/quic-v1"), None);
        assert_eq!(tcp_address("/dns4/example.org/tcp/4001"), None);
    }

    #[test]
    fn reachability_follows_autonat_when_the_node_reports_it() {
        let running = Some("127.0.0.1:8080".parse().unwrap());
        let status = |sync: serde_json::Value| serde_json::json!({ "sync": sync });
        let of = |sync| reachability(None, running, Some(&status(sync))).status;
        assert_eq!(
            of(serde_json::json!({"connected_peers": 3, "reachability": "public", "relays": []})),
            Status::Ok
        );
        assert_eq!(
            of(
                serde_json::json!({"connected_peers": 3, "reachability": "private",
                "relays": [{"address": "/ip4/203.0.113.7/tcp/4001/p2p/12D3", "reserved": true, "configured": true}]})
            ),
            Status::Ok
        );
        let private = reachability(
            None,
            running,
            Some(&status(
                serde_json::json!({"connected_peers": 3, "reachability": "private",
                "relays": [{"address": "/ip4/203.0.113.7/tcp/4001/p2p/12D3", "reserved": false, "configured": true}]}),
            )),
        );
        assert_eq!(private.status, Status::Warn);
        assert!(private.fix.unwrap().contains("p2p.relays"));
        // Unknown (or an older node without the field): peers and announce.
        assert_eq!(
            of(serde_json::json!({"connected_peers": 0, "reachability": "unknown"})),
            Status::Warn
        );
        assert_eq!(of(serde_json::json!({"connected_peers": 2})), Status::Warn);
        assert_eq!(reachability(None, None, None).status, Status::Skip);
    }

    #[test]
    fn a_taken_port_fails_with_a_fix() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        let result = port_free("http port", address, "http.listen");
        assert_eq!(result.status, Status::Fail);
        assert!(result.fix.unwrap().contains(&address.port().to_string()));
    }
}
