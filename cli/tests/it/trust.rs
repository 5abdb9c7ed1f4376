//! `essaim follow | unfollow | block | unblock | quarantine | endorse |
//! suggest` on a hub whose node is not running (in-process), and on a
//! running one (over HTTP): what works, and a one-line error that says what
//! to do for what does not.

use serde_json::Value;

use crate::util::{RunningNode, essaim, stderr, stdout};

fn init(dir: &std::path::Path) -> String {
    let out = essaim(&[
        "init",
        "--data-dir",
        dir.to_str().unwrap(),
        "--name",
        "Ruche de Lyon",
        "--territory",
        "dep:69",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let made: Value = serde_json::from_str(&stdout(&out)).unwrap();
    made["hub"].as_str().unwrap().to_owned()
}

/// One line on stderr, exit 1.
fn fails(args: &[&str], expected: &str) {
    let out = essaim(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(expected), "{args:?}: {err}");
}

#[test]
fn trust_commands_work_and_refuse_bad_input_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let hub_dir = tmp.path().join("hub");
    let own = init(&hub_dir);
    let dir = hub_dir.to_str().unwrap();
    let friend = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    fails(&["follow", "z6Mk-pas-un-hub", "--data-dir", dir], "hub id");
    fails(&["block", &own, "--data-dir", dir], "own hub");
    fails(&["quarantine", "accept", "--data-dir", dir], "quarantine");
    fails(&["endorse", "--data-dir", dir], "say what to endorse");
    fails(
        &[
            "endorse",
            &format!("{friend}/x"),
            "--label",
            "A",
            "--recommend",
            "--data-dir",
            dir,
        ],
        "exactly one",
    );
    fails(
        &[
            "endorse",
            &format!("{friend}/x"),
            "--funding",
            "100",
            "--data-dir",
            dir,
        ],
        "--programme",
    );
    fails(
        &["endorse", "--revoke", "n'importe quoi", "--data-dir", dir],
        "endorsement",
    );
    fails(&["suggest", "dep:999", "--data-dir", dir], "dep:999");
    fails(&["suggest", "FR", "--data-dir", dir], "région");

    // In-process (no node running).
    let out = essaim(&["follow", friend, "--data-dir", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("followed"));
    let out = essaim(&["quarantine", "--json", "--data-dir", dir]);
    let state: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(state["policy"]["mode"], "web-of-trust");
    assert_eq!(
        state["followed"][0]["hub"],
        format!("did:key:{friend}").as_str()
    );

    // Through the running node: publish, endorse, revoke, suggest.
    let node = RunningNode::start(&hub_dir);
    let draft = tmp.path().join("i.toml");
    std::fs::write(
        &draft,
        "kind = \"initiative\"\nslug = \"velo-ecole\"\nname = \"Vélo-école\"\nsummary = \"Apprendre le vélo.\"\nthemes = [\"mobilite\"]\norigin = \"com:69123\"\nstage = \"essaimage\"\n",
    )
    .unwrap();
    let out = essaim(&["publish", draft.to_str().unwrap(), "--data-dir", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let short = own.strip_prefix("did:key:").unwrap();
    let out = essaim(&[
        "endorse",
        &format!("{short}/velo-ecole"),
        "--replicated-in",
        "dep:33",
        "--carrier",
        "Vélo-école de Bordeaux",
        "--json",
        "--data-dir",
        dir,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let signed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(signed["outcome"], "head");
    let address = signed["address"].as_str().unwrap().to_owned();
    let out = essaim(&["suggest", "dep:44", "--data-dir", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("déjà essaimée dans 2 départements"),
        "{}",
        stdout(&out)
    );
    let out = essaim(&["endorse", "--revoke", &address, "--data-dir", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    fails(
        &["endorse", "--revoke", &address, "--data-dir", dir],
        "already revoked",
    );
    let out = essaim(&["suggest", "dep:44", "--data-dir", dir]);
    assert!(
        stdout(&out).contains("déployée dans 1 département"),
        "{}",
        stdout(&out)
    );
    drop(node);
}
