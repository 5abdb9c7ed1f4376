//! Logs of `essaim run`: `RUST_LOG` filters them, `--log-format json` makes
//! every line a JSON object a log collector can read.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{ESSAIM, essaim, stderr};

/// Start `essaim run --log-format json` with `rust_log`, collect its stderr
/// lines for a moment, stop it, and return them.
fn json_log_lines(rust_log: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let d = data.to_str().unwrap();
    let out = essaim(&["init", "--data-dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut child = Command::new(ESSAIM)
        .args(["run", "--data-dir", d, "--http", "127.0.0.1:0"])
        .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
        .args(["--log-format", "json"])
        .env("RUST_LOG", rust_log)
        .env_remove("ESSAIM_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    // The first lines come at start-up; a few more within a second.
    if let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        lines.push(line);
    }
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
        lines.push(line);
        if lines.len() > 200 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn json_logs_are_one_object_per_line_and_rust_log_filters_them() {
    let lines = json_log_lines("debug");
    assert!(!lines.is_empty(), "no log line at RUST_LOG=debug");
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value["timestamp"].is_string(), "{line}");
        assert!(value["level"].is_string(), "{line}");
        assert!(value["target"].is_string(), "{line}");
        assert!(value["fields"].is_object(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("\"level\":\"DEBUG\"")),
        "RUST_LOG=debug shows debug lines"
    );

    // A filter that is not one: a warning (in JSON too), then `info`.
    let lines = json_log_lines("essaim_node=nonsense-level");
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["level"], "WARN", "{}", lines[0]);
    assert!(
        first["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("RUST_LOG"),
        "{}",
        lines[0]
    );
    assert!(!lines.iter().any(|l| l.contains("\"level\":\"DEBUG\"")));
}
