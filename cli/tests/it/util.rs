//! Running the `essaim` binary, and a node of it, from tests.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const ESSAIM: &str = env!("CARGO_BIN_EXE_essaim");

/// The repository's root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Run `essaim` with `args` and wait for it.
pub(crate) fn essaim(args: &[&str]) -> Output {
    Command::new(ESSAIM)
        .args(args)
        .env_remove("ESSAIM_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("the essaim binary runs")
}

/// `essaim init` of a ruche named `name` in `data`; panics with init's
/// error when it fails.
pub(crate) fn init_ruche(data: &Path, name: &str) {
    let out = essaim(&[
        "init",
        "--data-dir",
        data.to_str().unwrap(),
        "--name",
        name,
        "--kind",
        "ruche",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The operator token `essaim init` wrote in `data`.
pub(crate) fn operator_token(data: &Path) -> String {
    std::fs::read_to_string(data.join("operator.token"))
        .unwrap()
        .trim()
        .to_owned()
}

/// A forge serving `dir`'s bare repositories on loopback, for the life of
/// the returned runtime (keep it). Returns the runtime and the base URL.
pub(crate) fn serve_forge(dir: &Path) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let origin = listener.local_addr().unwrap();
    runtime.spawn(essaim_node::mirror::forge::serve(
        dir.to_owned(),
        listener,
        std::future::pending(),
    ));
    (runtime, format!("http://{origin}"))
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `essaim run` on `data` with a free loopback HTTP port, federation on
/// loopback only and no mdns: tests never meet each other.
fn run_args(data: &Path) -> [&str; 8] {
    [
        "run",
        "--data-dir",
        data.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]
}

/// `essaim run` on a data directory, on a free loopback port; killed on drop.
pub(crate) struct RunningNode {
    pub(crate) child: Child,
    pub(crate) http: String,
}

impl RunningNode {
    /// Start `essaim run` on `data` and wait until it answers `/healthz`.
    pub(crate) fn start(data: &Path) -> RunningNode {
        RunningNode::spawn(&run_args(data))
    }

    /// [`RunningNode::start`], the node's log (stderr, `RUST_LOG=info`)
    /// appended to `log` instead of the test's output.
    pub(crate) fn start_logged(data: &Path, log: &Path) -> RunningNode {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the log file opens");
        RunningNode::spawn_with(&run_args(data), Some(file))
    }

    /// The node's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Start `essaim run` on `data`, dialling `bootstrap` (multiaddrs).
    pub(crate) fn start_with_bootstrap(data: &Path, bootstrap: &[String]) -> RunningNode {
        let mut args = run_args(data).to_vec();
        for address in bootstrap {
            args.extend(["--bootstrap", address.as_str()]);
        }
        RunningNode::spawn(&args)
    }

    /// Start `essaim demo` on `data` (kept after the test's end only if the
    /// temporary directory is).
    pub(crate) fn demo(data: &Path) -> RunningNode {
        RunningNode::spawn(&[
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ])
    }

    fn spawn(args: &[&str]) -> RunningNode {
        RunningNode::spawn_with(args, None)
    }

    fn spawn_with(args: &[&str], log: Option<std::fs::File>) -> RunningNode {
        // Tests never leave loopback: the example records' repositories are
        // on the internet, so `run` nodes do not mirror unless a test turns
        // mirrors on explicitly (`enabled = true`, uncommented).
        if args.first() == Some(&"run")
            && let Some(data) = args
                .iter()
                .position(|a| *a == "--data-dir")
                .map(|i| args[i + 1])
        {
            let config = Path::new(data).join("config.toml");
            if let Ok(text) = std::fs::read_to_string(&config) {
                let _ =
                    std::fs::write(&config, text.replace("# enabled = true", "enabled = false"));
            }
        }
        let (level, stderr) = match log {
            Some(file) => ("info", Stdio::from(file)),
            None => ("warn", Stdio::inherit()),
        };
        let mut child = Command::new(ESSAIM)
            .args(args)
            .env("RUST_LOG", level)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // Its own process group, with its `git` children: `kill9` kills
            // them together, as systemd (KillMode=control-group) and Docker
            // do when a node dies.
            .process_group(0)
            .spawn()
            .expect("essaim run starts");
        // The node prints its address: "  API     http://127.0.0.1:PORT/api/v1/status".
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("API") {
                    let url = rest.trim().trim_end_matches("/api/v1/status").to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let http = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the node printed its address within 60 s");
        let node = RunningNode { child, http };
        node.wait_healthy(Duration::from_secs(30));
        node
    }

    fn wait_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok((200, _)) = get(&format!("{}/healthz", self.http)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not answer /healthz within {within:?}", self.http);
    }

    /// `kill -9` of the node and its children (its process group), as a
    /// service manager does when the node dies. A bare `kill -9` of the
    /// node alone leaves a running `git` fetch to finish on its own.
    pub(crate) fn kill9(mut self) {
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RunningNode {
    /// SIGTERM first, so that a node (or a demo and the hubs it started)
    /// stops cleanly before the test removes its data directory; SIGKILL if
    /// it has not stopped within 10 s.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// `GET url`: status and JSON (or text) body.
pub(crate) fn get(url: &str) -> Result<(u16, serde_json::Value), ureq::Error> {
    let response = agent().get(url).call()?;
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string()?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    ))
}

/// `POST url` with a body and optional bearer token.
pub(crate) fn post(
    url: &str,
    content_type: &str,
    body: &[u8],
    token: Option<&str>,
) -> Result<(u16, serde_json::Value), ureq::Error> {
    let mut request = agent().post(url).header("Content-Type", content_type);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let response = request.send(body)?;
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string()?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    ))
}

/// Put a data directory's node in open trust mode (every valid record
/// admitted within quotas), for tests about something else than trust: the
/// default, web-of-trust, keeps unknown hubs' records in quarantine.
pub(crate) fn open_trust(data: &Path) {
    let path = data.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("# mode = \"web-of-trust\""),
        "the config template changed"
    );
    std::fs::write(
        &path,
        text.replace("# mode = \"web-of-trust\"", "mode = \"open\""),
    )
    .unwrap();
}
