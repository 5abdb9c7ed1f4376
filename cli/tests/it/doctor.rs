//! `essaim doctor`: a good data directory passes (exit 0); each kind of
//! breakage gives a ✗ line with its fix and exit 1.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::util::{ESSAIM, RunningNode, essaim, stderr, stdout};

/// `essaim doctor` on `data` with a free HTTP port (the default 8080 may be
/// taken on a shared machine) and extra environment variables.
fn doctor(data: &Path, json: bool, env: &[(&str, &str)]) -> Output {
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut command = Command::new(ESSAIM);
    command
        .args(["doctor", "--data-dir", data.to_str().unwrap()])
        .env_remove("ESSAIM_HOME")
        .env("ESSAIM_HTTP_LISTEN", free.to_string())
        .env("ESSAIM_P2P_LISTEN", "/ip4/127.0.0.1/tcp/0")
        .stdin(Stdio::null());
    if json {
        command.arg("--json");
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn checks(out: &Output) -> Value {
    let value: Value = serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("doctor --json: {e}: {}", stdout(out)));
    value
}

fn status_of<'v>(report: &'v Value, name: &str) -> &'v Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report}"))
}

fn init(data: &Path) {
    let out = essaim(&["init", "--data-dir", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_good_data_dir_passes_and_a_running_node_holds_its_ports() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    init(&data);
    let out = doctor(&data, false, &[]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for name in [
        "data dir",
        "key",
        "config",
        "http port",
        "p2p port",
        "git",
        "disk",
        "clock",
        "reachability",
    ] {
        assert!(text.contains(name), "no `{name}` line in:\n{text}");
    }
    assert!(text.contains("✓ key"), "{text}");
    assert!(!text.contains('✗'), "{text}");

    let report = checks(&doctor(&data, true, &[]));
    assert_eq!(report["ok"], true);
    assert_eq!(status_of(&report, "git")["status"], "ok");
    assert!(
        status_of(&report, "git")["message"]
            .as_str()
            .unwrap()
            .contains("git version")
    );

    // With the node running: its port is held by it, not "in use".
    let node = RunningNode::start(&data);
    let port = node.http.rsplit(':').next().unwrap().to_owned();
    let out = doctor(
        &data,
        true,
        &[("ESSAIM_HTTP_LISTEN", &format!("127.0.0.1:{port}"))],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    let report = checks(&out);
    let http = status_of(&report, "http port");
    assert_eq!(http["status"], "ok", "{http}");
    assert!(
        http["message"].as_str().unwrap().contains("running node"),
        "{http}"
    );
    // Alone, with no peer: reachability says what to do, as a warning.
    assert_eq!(status_of(&report, "reachability")["status"], "warn");
}

#[test]
fn broken_data_dirs_fail_with_a_fix() {
    let tmp = tempfile::tempdir().unwrap();

    // No data directory at all.
    let out = doctor(&tmp.path().join("nothing"), false, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("✗ data dir"), "{}", stdout(&out));
    assert!(stdout(&out).contains("essaim init"), "{}", stdout(&out));
    assert!(stderr(&out).contains("failed"), "{}", stderr(&out));

    let data = tmp.path().join("hub");
    init(&data);
    let broken = |what: &str, name: &str, env: &[(&str, &str)], fix: &str| {
        let out = doctor(&data, true, env);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stdout(&out));
        let report = checks(&out);
        assert_eq!(report["ok"], false);
        let check = status_of(&report, name);
        assert_eq!(check["status"], "fail", "{what}: {check}");
        let fix_text = check["fix"].as_str().unwrap_or_default();
        assert!(fix_text.contains(fix), "{what}: `{fix}` not in {check}");
    };

    // A key others can read.
    let key = data.join("hub.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    broken("key 644", "key", &[], "chmod 600");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A key that is not one.
    let saved = std::fs::read(&key).unwrap();
    std::fs::write(&key, "not a key").unwrap();
    broken("garbage key", "key", &[], "restore");
    std::fs::write(&key, &saved).unwrap();

    // A data directory everyone can write to.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    broken("dir 777", "data dir", &[], "chmod 700");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();

    // A bad configuration, in the file and in the environment.
    let config = data.join("config.toml");
    let saved_config = std::fs::read(&config).unwrap();
    std::fs::write(&config, "[http]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    broken("typo in config", "config", &[], "CONFIG.md");
    std::fs::write(&config, &saved_config).unwrap();
    broken(
        "bad variable",
        "config",
        &[("ESSAIM_P2P_MDNS", "yes")],
        "CONFIG.md",
    );

    // A port another program holds.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    broken(
        "port taken",
        "http port",
        &[("ESSAIM_HTTP_LISTEN", &address)],
        "ss -ltnp",
    );
    let p2p = format!("/ip4/127.0.0.1/tcp/{}", taken.local_addr().unwrap().port());
    broken(
        "p2p port taken",
        "p2p port",
        &[("ESSAIM_P2P_LISTEN", &p2p)],
        "p2p.listen",
    );
    drop(taken);

    // No git on the PATH while mirrors are on.
    broken(
        "no git",
        "git",
        &[("PATH", "/nonexistent")],
        "apt-get install git",
    );

    // And once repaired, it passes again.
    let out = doctor(&data, false, &[]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// The order of settings: file, then `ESSAIM_…` variables, then flags; a
/// bad variable stops `essaim run` with one line naming it.
#[test]
fn variables_override_the_file_and_flags_override_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    init(&data);
    let d = data.to_str().unwrap();
    let run = |env: &[(&str, &str)], flags: &[&str]| {
        let mut command = Command::new(ESSAIM);
        command
            .args([
                "run",
                "--data-dir",
                d,
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--no-mdns",
            ])
            .args(flags)
            .env_remove("ESSAIM_HOME")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        command.spawn().unwrap()
    };
    // The file says one port, the variable another: the variable wins.
    let from_file = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let from_env = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        data.join("config.toml"),
        format!("[http]\nlisten = \"{from_file}\"\n"),
    )
    .unwrap();
    let first_line = |child: &mut std::process::Child| {
        use std::io::BufRead;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.trim().starts_with("API") {
                    let _ = tx.send(line);
                }
            }
        });
        rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap()
    };
    let mut child = run(&[("ESSAIM_HTTP_LISTEN", &from_env.to_string())], &[]);
    let line = first_line(&mut child);
    assert!(line.contains(&from_env.to_string()), "{line}");
    let _ = child.kill();
    let _ = child.wait();
    // A flag wins over the variable.
    let mut child = run(
        &[("ESSAIM_HTTP_LISTEN", &from_env.to_string())],
        &["--http", &from_file.to_string()],
    );
    let line = first_line(&mut child);
    assert!(line.contains(&from_file.to_string()), "{line}");
    let _ = child.kill();
    let _ = child.wait();
    // A bad variable: exit 1, one line naming it, its value and the form.
    let out = run(&[("ESSAIM_P2P_SYNC_INTERVAL_SECS", "soon")], &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("ESSAIM_P2P_SYNC_INTERVAL_SECS = `soon`"),
        "{err}"
    );
    assert!(err.contains("a whole number"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // A misspelt one too.
    let out = run(&[("ESSAIM_TRUST_MOD", "open")], &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ESSAIM_TRUST_MODE"),
        "{}",
        stderr(&out)
    );
}
