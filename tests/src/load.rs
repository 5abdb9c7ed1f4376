//! HTTP load against a real `essaim run` process: start it on the 714
//! digital public goods of `../shared/data/dpg/records.json`, drive `wrk`
//! (Debian's package) on loopback with a Lua script that rotates real
//! paths, and sample the process's resident memory from `/proc`.
//!
//! Shared by `bench-load` (figures for `BENCHMARKS.md`) and the bounded load
//! test of the integration suite (no errors, memory bounded).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Words that visitors of a catalogue of digital public goods search for
/// (English, as the records are, and a few French ones), alone and paired.
pub const QUERIES: &[&str] = &[
    "health",
    "education",
    "open data",
    "climate",
    "agriculture",
    "water",
    "mapping",
    "finance",
    "learning platform",
    "covid",
    "energy",
    "identity",
    "gender",
    "disaster",
    "mobile money",
    "census",
    "vaccination",
    "elections",
    "forest",
    "santé",
    "éducation",
    "eau",
    "transparency",
    "open source",
];

/// The `essaim` binary beside the running executable (a benchmark in
/// `target/release/`) or one directory up (a test in `target/*/deps/`).
pub fn essaim_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join("essaim"), dir.parent()?.join("essaim")]
        .into_iter()
        .find(|p| p.is_file())
}

/// The reference data directory (`../shared/data` from the workspace root).
pub fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// A running `essaim run` on a temporary data directory; killed on drop.
pub struct LoadNode {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The process id (for `/proc/PID/status`).
    pub pid: u32,
    /// The data directory.
    pub data: PathBuf,
    /// How many records the import stored.
    pub imported: u64,
    _dir: tempfile::TempDir,
}

impl Drop for LoadNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(binary: &Path, data: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(binary)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !out.status.success() {
        return Err(format!(
            "essaim {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// GET `url`; the body when the answer is 2xx.
pub fn get(url: &str) -> Option<String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    agent.get(url).call().ok()?.body_mut().read_to_string().ok()
}

impl LoadNode {
    /// Create a hub, import the DPG file into its store, start `essaim run`
    /// (HTTP and libp2p on loopback, mdns off) and wait until search finds
    /// the imported records (within `within`).
    pub fn start(binary: &Path, dpg: &Path, within: Duration) -> Result<LoadNode, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let data = dir.path().join("hub");
        run(binary, &data, &["init", "--name", "bench-load"])?;
        let dpg_path = dpg.to_str().ok_or("a DPG path that is not UTF-8")?;
        let report = run(binary, &data, &["--json", "import", "dpg", dpg_path])?;
        let imported = serde_json::from_str::<Value>(report.trim())
            .ok()
            .and_then(|v| v["stored"].as_u64())
            .unwrap_or(0);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = std::fs::File::create(dir.path().join("essaim-run.log"))
            .map_err(|e| format!("log file: {e}"))?;
        let child = Command::new(binary)
            .arg("--data-dir")
            .arg(&data)
            .args(["run", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"])
            .args(["--http", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut node = LoadNode {
            pid: child.id(),
            child,
            base: format!("http://127.0.0.1:{port}"),
            data,
            imported,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                return Err(format!("essaim run exited: {status}"));
            }
            let found = get(&format!("{}/api/v1/search?q=health", node.base))
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v["total"].as_u64());
            if found.is_some_and(|n| n > 0) {
                break;
            }
            if started.elapsed() > within {
                return Err(format!("the node did not serve search within {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(node)
    }

    /// Search pages (`/?q=…`) for [`QUERIES`], and the initiative pages
    /// (`/i/HUB/SLUG`) of their hits, at most `pages`.
    pub fn paths(&self, pages: usize) -> (Vec<String>, Vec<String>) {
        let mut search = Vec::new();
        let mut initiatives = Vec::new();
        for q in QUERIES {
            let encoded: String = url_encode(q);
            search.push(format!("/?q={encoded}"));
            let Some(v) = get(&format!("{}/api/v1/search?q={encoded}&limit=20", self.base))
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            else {
                continue;
            };
            for hit in v["hits"].as_array().into_iter().flatten() {
                let (Some(hub), Some(slug)) = (hit["hub"].as_str(), hit["slug"].as_str()) else {
                    continue;
                };
                let path = format!("/i/{}/{slug}", hub.trim_start_matches("did:key:"));
                if initiatives.len() < pages && !initiatives.contains(&path) {
                    initiatives.push(path);
                }
            }
        }
        (search, initiatives)
    }
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// What one `wrk` run measured.
#[derive(Clone, Debug)]
pub struct WrkRun {
    /// Requests completed.
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Largest latency, milliseconds.
    pub max_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
    /// Socket errors: connect, read, write, timeout.
    pub socket_errors: [u64; 4],
}

impl WrkRun {
    /// Socket errors of every kind.
    pub fn errors(&self) -> u64 {
        self.socket_errors.iter().sum()
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "rps": crate::round(self.rps),
            "p50_ms": crate::round(self.p50_ms),
            "p99_ms": crate::round(self.p99_ms),
            "max_ms": crate::round(self.max_ms),
            "non_2xx": self.non_2xx,
            "socket_errors": {
                "connect": self.socket_errors[0], "read": self.socket_errors[1],
                "write": self.socket_errors[2], "timeout": self.socket_errors[3],
            },
        })
    }
}

/// Whether `wrk` is installed.
pub fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Run `wrk` against `base` for `duration` with `connections` connections
/// on `threads` threads, each request the next of `paths` (per thread).
pub fn wrk(
    base: &str,
    paths: &[String],
    duration: Duration,
    connections: usize,
    threads: usize,
) -> Result<WrkRun, String> {
    if paths.is_empty() {
        return Err("no paths to request".into());
    }
    let mut script = tempfile::Builder::new()
        .suffix(".lua")
        .tempfile()
        .map_err(|e| format!("script file: {e}"))?;
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    write!(
        script,
        r#"local paths = {{ {} }}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("WRK-JSON {{\"requests\":%d,\"duration_us\":%d,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}}\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#,
        list.join(", ")
    )
    .map_err(|e| format!("script file: {e}"))?;
    let out = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .args(["-d", &format!("{}s", duration.as_secs().max(1))])
        .args(["--timeout", "10s", "-s"])
        .arg(script.path())
        .arg(base)
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK-JSON "))
        .ok_or_else(|| {
            format!(
                "wrk printed no summary: {} {}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    let v: Value = serde_json::from_str(line).map_err(|e| format!("wrk summary {line}: {e}"))?;
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let seconds = n("duration_us") as f64 / 1e6;
    Ok(WrkRun {
        requests: n("requests"),
        rps: if seconds > 0.0 {
            n("requests") as f64 / seconds
        } else {
            0.0
        },
        p50_ms: n("p50_us") as f64 / 1e3,
        p99_ms: n("p99_us") as f64 / 1e3,
        max_ms: n("max_us") as f64 / 1e3,
        non_2xx: n("status"),
        socket_errors: [n("connect"), n("read"), n("write"), n("timeout")],
    })
}

/// A process's resident memory (`VmRSS`), KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Samples a process's RSS every 50 ms on a thread, keeping the peak.
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RssSampler {
    /// Start sampling `pid`.
    pub fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib(pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        RssSampler {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// The peak so far, KiB.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
