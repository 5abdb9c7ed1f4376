//! `essaim mirror status|sync` and `essaim clone`, with the real binary: an
//! origin served on loopback by the demo forge, a data directory whose
//! configuration allows loopback and http mirrors, the node not running
//! (in-process) and then running (through its API).

use std::path::Path;
use std::process::Command;

use crate::util::{RunningNode, essaim, stderr, stdout};

pub(crate) fn allow_loopback(data: &Path) {
    let path = data.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("# enabled = true", "enabled = true")
        .replace("# allow_http = false", "allow_http = true")
        .replace("# allow_loopback = false", "allow_loopback = true");
    std::fs::write(&path, text).unwrap();
}

#[test]
fn mirror_sync_status_and_clone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let d = data.to_str().unwrap();
    assert!(
        essaim(&["init", "--data-dir", d, "--name", "Miroirs"])
            .status
            .success()
    );
    allow_loopback(&data);

    // The origin: a small repository served on loopback.
    let forge = dir.path().join("forge");
    std::fs::create_dir_all(&forge).unwrap();
    let head = essaim_node::mirror::forge::make_sample_repo(
        &forge.join("outil.git"),
        "Outil",
        "La phrase unique du README de l'outil.",
    )
    .unwrap();
    let (_runtime, origin) = crate::util::serve_forge(&forge);

    let draft = dir.path().join("outil.toml");
    std::fs::write(
        &draft,
        format!(
            r#"kind = "initiative"
slug = "outil-partage"
name = "Outil partagé"
themes = ["culture"]
origin = "com:69123"
stage = "experimentation"
[summary]
fr = "Un outil dont le code est en miroir."
[[repositories]]
name = "outil"
url = "{origin}/outil.git"
licence = "MIT"
commit = "{head}"
"#
        ),
    )
    .unwrap();
    let out = essaim(&["publish", "--data-dir", d, draft.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hub = stdout(&essaim(&["status", "--data-dir", d, "--json"]));
    let hub: serde_json::Value = serde_json::from_str(&hub).unwrap();
    let short = hub["hub"]
        .as_str()
        .unwrap()
        .trim_start_matches("did:key:")
        .to_owned();
    let initiative = format!("{short}/outil-partage");

    // No node running: sync in-process.
    let out = essaim(&["mirror", "sync", &initiative, "--data-dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("outil-partage/outil"),
        "{}",
        stdout(&out)
    );
    let out = essaim(&["mirror", "status", "--json", "--data-dir", d]);
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mirror = &status["mirrors"][0];
    assert_eq!(mirror["state"], "ok", "{status}");
    assert_eq!(mirror["pin_ok"], true, "{status}");

    // Clone from the data directory's mirror, then from the running node.
    let target = dir.path().join("clone-1");
    let out = essaim(&[
        "clone",
        &initiative,
        target.to_str().unwrap(),
        "--data-dir",
        d,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("pinned commit present"),
        "{}",
        stdout(&out)
    );
    let readme = std::fs::read_to_string(target.join("README.md")).unwrap();
    assert!(readme.contains("phrase unique"));

    let node = RunningNode::start(&data);
    let out = essaim(&["mirror", "sync", &initiative, "--data-dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let target = dir.path().join("clone-2");
    let out = essaim(&[
        "clone",
        &initiative,
        target.to_str().unwrap(),
        "--data-dir",
        d,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&node.http),
        "cloned through the node: {}",
        stderr(&out)
    );
    let rev = Command::new("git")
        .arg("-C")
        .arg(&target)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&rev.stdout).trim(), head);
    let out = essaim(&["status", "--data-dir", d]);
    assert!(
        stdout(&out).contains("mirrors  1 ok of 1"),
        "{}",
        stdout(&out)
    );
    drop(node);

    // Hostile arguments: one line that says what is wrong.
    for args in [
        vec!["clone", "nope"],
        vec!["clone", "../../etc/passwd"],
        vec!["mirror", "sync", "z6Mk/slug/extra/x"],
        vec![
            "clone",
            "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/inconnue",
        ],
    ] {
        let mut all = args.clone();
        all.extend(["--data-dir", d]);
        let out = essaim(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}
