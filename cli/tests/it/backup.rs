//! `essaim backup` and `essaim restore`: a snapshot taken while the node
//! is being written to restores into the same hub with the same records;
//! damaged or altered backups are refused before anything is written.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{RunningNode, essaim, get, post, stderr, stdout};

fn init(data: &Path) {
    crate::util::init_ruche(data, "Ruche sauvegardée");
}

fn draft(n: usize) -> Vec<u8> {
    serde_json::json!({
        "kind": "initiative",
        "slug": format!("sauvegarde-{n}"),
        "name": format!("Initiative sauvegardée numéro {n}"),
        "summary": {"fr": "Une initiative publiée pendant une sauvegarde."},
        "themes": ["citoyennete"],
        "origin": "com:69123",
        "stage": "emergence",
    })
    .to_string()
    .into_bytes()
}

/// The node's status once its index has caught up with its store.
fn settled_status(node: &RunningNode) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, status) = get(&format!("{}/api/v1/status", node.http)).unwrap();
        assert_eq!(code, 200, "{status}");
        if status["index"]["behind"] == 0 {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the index did not catch up: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_backup_taken_while_the_node_writes_restores_the_same_hub() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    init(&data);
    let d = data.to_str().unwrap();
    let node = RunningNode::start(&data);
    let token = crate::util::operator_token(&data);
    let url = format!("{}/api/v1/publish", node.http);

    // Writers publish while backups are taken.
    let stop = AtomicBool::new(false);
    let published = AtomicUsize::new(0);
    let during: Vec<std::path::PathBuf> = std::thread::scope(|scope| {
        for thread in 0..4 {
            let (url, token, stop, published) = (&url, &token, &stop, &published);
            scope.spawn(move || {
                let mut n = thread;
                while !stop.load(Ordering::Relaxed) && n < 2_000 {
                    let (status, answer) =
                        post(url, "application/json", &draft(n), Some(token)).unwrap();
                    assert_eq!(status, 201, "{answer}");
                    published.fetch_add(1, Ordering::Relaxed);
                    n += 4;
                }
            });
        }
        let mut dirs = Vec::new();
        for i in 0..3 {
            // Wait for some writes between two backups.
            let deadline = Instant::now() + Duration::from_secs(60);
            let target = (i + 1) * 40;
            while published.load(Ordering::Relaxed) < target {
                assert!(Instant::now() < deadline, "the writers are stuck");
                std::thread::sleep(Duration::from_millis(10));
            }
            let dir = tmp.path().join(format!("backup-during-{i}"));
            let out = essaim(&["backup", "--data-dir", d, dir.to_str().unwrap()]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert!(stdout(&out).contains("Backup of hub"), "{}", stdout(&out));
            dirs.push(dir);
        }
        stop.store(true, Ordering::Relaxed);
        dirs
    });
    let total = published.load(Ordering::Relaxed);
    println!("{total} records published during 3 backups");

    // A backup of the settled node, then the node stops for good.
    let before = settled_status(&node);
    let after_dir = tmp.path().join("backup-after");
    let out = essaim(&[
        "--json",
        "backup",
        "--data-dir",
        d,
        after_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        answer["store"], before["store"],
        "the manifest counts are the node's"
    );
    assert_eq!(
        std::fs::metadata(after_dir.join("hub.key"))
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .unwrap(),
        0o600
    );
    assert_eq!(node.terminate().code(), Some(0));

    // Restored elsewhere: same hub, same records, same digest; the index
    // is rebuilt from the store.
    let restored = tmp.path().join("restored");
    let out = essaim(&[
        "restore",
        "--data-dir",
        restored.to_str().unwrap(),
        after_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!restored.join("index").exists());
    let node = RunningNode::start(&restored);
    let after = settled_status(&node);
    assert_eq!(after["hub"], before["hub"]);
    assert_eq!(after["store"], before["store"]);
    assert_eq!(after["sync"]["digest"], before["sync"]["digest"]);
    assert_eq!(after["index"]["documents"], before["index"]["documents"]);
    drop(node);

    // Each backup taken during the writes is a consistent state: it
    // restores, and the restored node has exactly the manifest's records.
    for dir in &during {
        let target = tmp.path().join(format!(
            "restored-{}",
            dir.file_name().unwrap().to_str().unwrap()
        ));
        let out = essaim(&[
            "restore",
            "--data-dir",
            target.to_str().unwrap(),
            dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = essaim(&["--json", "status", "--data-dir", target.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let status: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(status["hub"], before["hub"]);
        assert_eq!(status["store"], manifest(dir)["store"], "{}", dir.display());
        let records = status["store"]["records"].as_u64().unwrap();
        assert!(records > 1 && records <= before["store"]["records"].as_u64().unwrap());
    }

    // The original data directory is not empty: refused, then --force
    // moves its files aside.
    let out = essaim(&["restore", "--data-dir", d, after_dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = essaim(&[
        "restore",
        "--force",
        "--data-dir",
        d,
        after_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("pre-restore-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].path().join("hub.key").exists());
    assert!(aside[0].path().join("store.sqlite").exists());
}

/// A backup of a hub with a few records, made without a running node.
fn small_backup(tmp: &Path) -> std::path::PathBuf {
    let data = tmp.join("hub");
    init(&data);
    let draft_file = tmp.join("draft.json");
    std::fs::write(&draft_file, draft(1)).unwrap();
    let d = data.to_str().unwrap();
    let out = essaim(&["publish", "--data-dir", d, draft_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tmp.join("backup");
    let out = essaim(&["backup", "--data-dir", d, dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    dir
}

/// Restore `backup` into a new directory: it must fail with `expected` in
/// its message and leave nothing behind.
fn refused(tmp: &Path, backup: &Path, expected: &str) {
    let target = tmp.join("target");
    let out = essaim(&[
        "restore",
        "--data-dir",
        target.to_str().unwrap(),
        backup.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "accepted, expected `{expected}`");
    let err = stderr(&out);
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        !target.exists(),
        "a refused restore wrote {}",
        target.display()
    );
}

fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// Rewrite the manifest's entry of `name` to match the file as it is now
/// (what someone altering a backup on purpose would do).
fn reseal(dir: &Path, name: &str) {
    let mut m = manifest(dir);
    let path = dir.join(name);
    m["files"][name]["bytes"] = std::fs::metadata(&path).unwrap().len().into();
    m["files"][name]["sha256"] = sha256_hex(&path).into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
}

#[test]
fn damaged_or_altered_backups_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let good = small_backup(tmp.path());
    let case = |name: &str| {
        let dir = tmp.path().join(name);
        let out = std::process::Command::new("cp")
            .args(["-a", good.to_str().unwrap(), dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(out.success());
        dir
    };

    let dir = case("no-manifest");
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    refused(tmp.path(), &dir, "no manifest.json");

    let dir = case("not-json");
    std::fs::write(dir.join("manifest.json"), "{\"format\": 1, ").unwrap();
    refused(tmp.path(), &dir, "not a valid manifest");

    let dir = case("future-format");
    let mut m = manifest(&dir);
    m["format"] = 99.into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    refused(tmp.path(), &dir, "format 99");

    let dir = case("no-store");
    std::fs::remove_file(dir.join("store.sqlite")).unwrap();
    refused(tmp.path(), &dir, "missing");

    let dir = case("no-key");
    std::fs::remove_file(dir.join("hub.key")).unwrap();
    refused(tmp.path(), &dir, "hub.key");

    let dir = case("truncated");
    let store = dir.join("store.sqlite");
    let len = std::fs::metadata(&store).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&store)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    refused(tmp.path(), &dir, "truncated or replaced");
    // The same, with the manifest altered to match: SQLite's check finds it.
    reseal(&dir, "store.sqlite");
    refused(tmp.path(), &dir, "store.sqlite");

    let dir = case("flipped-byte");
    let mut bytes = std::fs::read(dir.join("config.toml")).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(dir.join("config.toml"), bytes).unwrap();
    refused(tmp.path(), &dir, "SHA-256");

    let dir = case("counts-altered");
    let mut m = manifest(&dir);
    m["store"]["records"] = 1_000.into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    refused(tmp.path(), &dir, "the manifest says 1000");

    let dir = case("path-escape");
    let mut m = manifest(&dir);
    m["files"]["../../etc/passwd"] = m["files"]["config.toml"].clone();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    refused(tmp.path(), &dir, "not a file of a backup");

    // Another hub's key, resealed: the key is not the manifest's hub.
    let dir = case("other-key");
    let other = tmp.path().join("other");
    init(&other);
    std::fs::copy(other.join("hub.key"), dir.join("hub.key")).unwrap();
    reseal(&dir, "hub.key");
    refused(tmp.path(), &dir, "the manifest says");

    // And the good one still restores.
    let target = tmp.path().join("target");
    let out = essaim(&[
        "restore",
        "--data-dir",
        target.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A backup never goes into a directory that holds files.
    let out = essaim(&[
        "backup",
        "--data-dir",
        target.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    // Nor of a directory without a hub.
    let out = essaim(&[
        "backup",
        "--data-dir",
        tmp.path().join("nothing").to_str().unwrap(),
        tmp.path().join("b2").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("essaim init"), "{}", stderr(&out));
}
