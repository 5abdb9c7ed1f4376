//! Federation between real `essaim run` processes on 127.0.0.1.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{RunningNode, essaim, get, post, root};

const WITHIN: Duration = Duration::from_secs(60);

fn init(data: &Path, name: &str) {
    crate::util::init_ruche(data, name);
    crate::util::open_trust(data);
}

fn status(node: &RunningNode) -> Value {
    let (code, value) = get(&format!("{}/api/v1/status", node.http)).unwrap();
    assert_eq!(code, 200, "{value}");
    value
}

/// Poll until `done` holds, within `within`; panics naming `what`.
fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// Five `essaim run` processes bootstrapped from the first: a record
/// published on the last reaches all, and their head sets end identical.
#[test]
fn five_processes_converge() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..5)
        .map(|i| tmp.path().join(format!("hub-{i}")))
        .collect();
    for (i, dir) in dirs.iter().enumerate() {
        init(dir, &format!("Ruche {i}"));
    }
    let first = RunningNode::start_with_bootstrap(&dirs[0], &[]);
    let sync = &status(&first)["sync"];
    let address = format!(
        "{}/p2p/{}",
        sync["listen"][0].as_str().unwrap(),
        sync["peer_id"].as_str().unwrap()
    );
    let mut nodes = vec![first];
    for dir in &dirs[1..] {
        nodes.push(RunningNode::start_with_bootstrap(
            dir,
            std::slice::from_ref(&address),
        ));
    }
    // Every hub's profile reaches every node (anti-entropy on connection).
    until("every node to hold the five hub profiles", WITHIN, || {
        nodes
            .iter()
            .all(|n| status(n)["store"]["heads"]["hub"] == 5)
    });

    let token = std::fs::read_to_string(dirs[4].join("operator.token")).unwrap();
    let draft = std::fs::read(root().join("examples/epicerie-solidaire-lyon.toml")).unwrap();
    let (code, answer) = post(
        &format!("{}/api/v1/publish", nodes[4].http),
        "application/toml",
        &draft,
        Some(token.trim()),
    )
    .unwrap();
    assert_eq!(code, 201, "{answer}");
    let took = until("the record to reach every node", WITHIN, || {
        nodes
            .iter()
            .all(|n| status(n)["store"]["heads"]["initiative"] == 1)
    });
    until("identical head-set digests", WITHIN, || {
        let digests: Vec<Value> = nodes
            .iter()
            .map(|n| status(n)["sync"]["digest"].clone())
            .collect();
        digests.iter().all(|d| *d == digests[0])
    });
    eprintln!(
        "5 processes: a published record everywhere within {} ms",
        took.as_millis()
    );

    // `essaim peers` on the first node lists the others.
    let out = essaim(&["peers", "--json", "--data-dir", dirs[0].to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let peers: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(peers["connected"].as_array().unwrap().len() >= 4, "{peers}");
}

/// `essaim demo` starts three hubs as three processes, each with its part of
/// the sample catalogue; the first prints its URL once it holds everything.
#[test]
fn the_demo_is_a_network_of_three_hubs() {
    let tmp = tempfile::tempdir().unwrap();
    let node = RunningNode::demo(&tmp.path().join("demo"));
    let first = status(&node);
    assert_eq!(first["store"]["heads"]["initiative"], 37, "{first}");
    until(
        "the first hub to be connected to the two others",
        WITHIN,
        || status(&node)["sync"]["connected_peers"] == 2,
    );
    // The other hubs have their own data directories, beside the first's.
    for i in [2, 3] {
        assert!(
            tmp.path()
                .join(format!("demo-hub-{i}"))
                .join("store.sqlite")
                .exists()
        );
    }
}
