//! The node run as users run it: `essaim run` and `essaim demo` as separate
//! processes on loopback ports, real SQLite files, `kill -9`.

use std::path::Path;
use std::time::{Duration, Instant};

use essaim_protocol::Territory;
use serde_json::Value;

use crate::util::{RunningNode, essaim, get, post, root, stderr, stdout};

fn search_json(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["search", "--data-dir", data.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let out = essaim(&all);
    assert!(out.status.success(), "essaim {all:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn names(result: &Value) -> Vec<String> {
    result["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The acceptance searches, through the running demo node and then with no
/// node running (the CLI opens the data directory itself): same answers.
#[test]
fn searches_of_the_acceptance_on_the_demo_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let node = RunningNode::demo(&data);
    let check = |data: &Path| {
        // A typo and no accent.
        let result = search_json(data, &["epicerie solidair"]);
        let found = names(&result);
        assert!(
            found.iter().any(|n| n.starts_with("Épicerie solidaire")),
            "`epicerie solidair` → {found:?}"
        );
        // A plural finds the singular.
        let result = search_json(data, &["mobilités"]);
        assert!(
            result["total"].as_u64().unwrap() > 0,
            "`mobilités` found nothing"
        );
        // A hit's record says « mobilité », the singular (French stemming:
        // « mobile » shares the stem, so not every hit has to).
        let says_mobilite = result["hits"].as_array().unwrap().iter().any(|hit| {
            let address = hit["address"].as_str().unwrap();
            let short = address
                .strip_prefix("did:key:")
                .unwrap()
                .replace("/initiative/", "/");
            let out = essaim(&[
                "show",
                &short,
                "--data-dir",
                data.to_str().unwrap(),
                "--json",
            ]);
            assert!(out.status.success(), "{}", stderr(&out));
            let text = stdout(&out).to_lowercase();
            text.contains("mobilité") && !text.contains("mobilités")
        });
        assert!(
            says_mobilite,
            "no hit for `mobilités` says « mobilité »: {:?}",
            names(&result)
        );
        // A région filter returns initiatives in its communes.
        let result = search_json(data, &["", "--territory", "reg:84", "--limit", "50"]);
        assert!(result["total"].as_u64().unwrap() > 0);
        result
    };
    let through_node = check(&data);
    let reg84 = Territory::parse("reg:84").unwrap();
    for hit in through_node["hits"].as_array().unwrap() {
        let address = hit["address"].as_str().unwrap();
        let short = address
            .strip_prefix("did:key:")
            .unwrap()
            .replace("/initiative/", "/");
        let (status, initiative) =
            get(&format!("{}/api/v1/initiatives/{short}", node.http)).unwrap();
        assert_eq!(status, 200);
        let body = &initiative["head"]["body"];
        let mut places: Vec<String> = vec![body["origin"].as_str().unwrap().to_owned()];
        for t in body["territories"].as_array().into_iter().flatten() {
            places.push(t.as_str().unwrap().to_owned());
        }
        for e in initiative["endorsements"].as_array().unwrap() {
            if let Some(t) = e["body"]["territory"].as_str() {
                places.push(t.to_owned());
            }
        }
        assert!(
            places
                .iter()
                .any(|p| reg84.contains(&Territory::parse(p).unwrap())),
            "{} is not in Auvergne-Rhône-Alpes: {places:?}",
            hit["name"]
        );
    }
    assert!(
        node.terminate().success(),
        "the demo node stops cleanly on SIGTERM"
    );
    // No node running now: the CLI reads the data directory itself.
    let direct = check(&data);
    assert_eq!(direct["total"], through_node["total"]);
}

/// 1,000 publishes acknowledged by a running node, then `kill -9` at once:
/// after a restart every one is in the store and in search results.
#[test]
fn kill_9_right_after_1000_acknowledged_publishes_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    crate::util::init_ruche(&data, "Ruche robuste");
    let node = RunningNode::start(&data);
    let token = crate::util::operator_token(&data);
    let url = format!("{}/api/v1/publish", node.http);
    let acknowledged = std::sync::Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..16 {
            let (url, token, acknowledged) = (&url, &token, &acknowledged);
            scope.spawn(move || {
                for n in (thread..1_000).step_by(16) {
                    let draft = serde_json::json!({
                        "kind": "initiative",
                        "slug": format!("robustesse-{n}"),
                        "name": format!("Essai de robustesse numéro {n}"),
                        "summary": {"fr": "Une initiative publiée pour vérifier que rien ne se perd."},
                        "themes": ["citoyennete"],
                        "origin": "com:69123",
                        "stage": "emergence",
                    });
                    let (status, answer) = post(url, "application/json", draft.to_string().as_bytes(), Some(token)).unwrap();
                    assert_eq!(status, 201, "publish {n}: {answer}");
                    acknowledged.lock().unwrap().push(answer["id"].as_str().unwrap().to_owned());
                }
            });
        }
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert_eq!(acknowledged.len(), 1_000);
    println!("1000 publishes acknowledged in {:?}", started.elapsed());
    node.kill9();

    let node = RunningNode::start(&data);
    let mut stored = std::collections::HashSet::new();
    let mut since = 0;
    loop {
        let (status, page) = get(&format!(
            "{}/api/v1/records?since={since}&limit=1000",
            node.http
        ))
        .unwrap();
        assert_eq!(status, 200);
        for record in page["records"].as_array().unwrap() {
            stored.insert(record["id"].as_str().unwrap().to_owned());
        }
        since = page["next"].as_u64().unwrap();
        if page["more"] != Value::Bool(true) {
            break;
        }
    }
    let missing = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .count();
    assert_eq!(missing, 0, "{missing} acknowledged records lost");
    let (status, result) =
        get(&format!("{}/api/v1/search?q=robustesse&limit=0", node.http)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        result["total"], 1_000,
        "all 1000 are searchable after the restart"
    );
}

/// SIGTERM flushes the index and closes the store; a deleted index is
/// rebuilt from the store at the next start, with a log line saying so.
#[test]
fn sigterm_then_a_lost_index_is_rebuilt_from_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let d = data.to_str().unwrap();
    assert!(
        essaim(&[
            "init",
            "--data-dir",
            d,
            "--name",
            "Ruche",
            "--kind",
            "ruche"
        ])
        .status
        .success()
    );
    let node = RunningNode::start(&data);
    let token = std::fs::read_to_string(data.join("operator.token"))
        .unwrap()
        .trim()
        .to_owned();
    let draft = std::fs::read(root().join("examples/epicerie-solidaire-lyon.toml")).unwrap();
    let (status, answer) = post(
        &format!("{}/api/v1/publish", node.http),
        "application/toml",
        &draft,
        Some(&token),
    )
    .unwrap();
    assert_eq!(status, 201, "{answer}");
    let status = node.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        !data.join("node.json").exists(),
        "node.json removed at a clean stop"
    );

    std::fs::remove_dir_all(data.join("index")).unwrap();
    let node = RunningNode::start(&data);
    let (_, result) = get(&format!("{}/api/v1/search?q=pentes", node.http)).unwrap();
    assert_eq!(result["total"], 1, "{result}");
    let (_, status) = get(&format!("{}/api/v1/status", node.http)).unwrap();
    assert_eq!(status["index"]["behind"], 0);
    drop(node);

    // A corrupted index: its metadata overwritten.
    std::fs::write(data.join("index/meta.json"), b"{ not json").unwrap();
    let out = essaim(&["search", "pentes", "--data-dir", d, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(result["total"], 1);
    let out = essaim(&["status", "--data-dir", d, "--json"]);
    assert!(out.status.success());
}

/// Export from one hub, import into another while its node runs: the
/// records verify, are stored, and the running node indexes them by itself.
#[test]
fn export_then_import_into_a_running_node() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let demo_node = RunningNode::demo(&demo);
    let jsonl = tmp.path().join("export.jsonl");
    let out = essaim(&[
        "export",
        "--format",
        "jsonl",
        "--data-dir",
        demo.to_str().unwrap(),
        "--out",
        jsonl.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = std::fs::read_to_string(&jsonl).unwrap().lines().count();
    assert!(lines > 60, "{lines} records exported");
    let csv = essaim(&[
        "export",
        "--format",
        "csv",
        "--data-dir",
        demo.to_str().unwrap(),
    ]);
    assert!(csv.status.success());
    let csv = stdout(&csv);
    assert!(csv.starts_with("address,name,hub,stage"));
    assert_eq!(
        csv.lines().count(),
        1 + 37,
        "a header and one row per initiative"
    );
    drop(demo_node);

    let hub = tmp.path().join("hub");
    assert!(
        essaim(&[
            "init",
            "--data-dir",
            hub.to_str().unwrap(),
            "--name",
            "Autre hub"
        ])
        .status
        .success()
    );
    // The demo's hubs are not followed here: open mode admits them.
    crate::util::open_trust(&hub);
    let node = RunningNode::start(&hub);
    // A line that is not a record is refused, the others are stored.
    let mut text = std::fs::read_to_string(&jsonl).unwrap();
    text.push_str("{\"id\": \"nope\"}\n");
    std::fs::write(&jsonl, text).unwrap();
    let out = essaim(&[
        "import",
        "records",
        jsonl.to_str().unwrap(),
        "--data-dir",
        hub.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["stored"].as_u64().unwrap() as usize, lines);
    assert_eq!(report["refused"].as_array().unwrap().len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, result) = get(&format!("{}/api/v1/search?q=epicerie+solidair", node.http)).unwrap();
        if result["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running node did not index the imported records within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A new version of the hub record reaches the documents of the hub's
/// initiatives (the hub's name is shown with every hit), and a reindex
/// gives the same answers.
#[test]
fn renaming_the_hub_reaches_its_initiatives_and_survives_a_reindex() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let d = data.to_str().unwrap();
    assert!(
        essaim(&[
            "init",
            "--data-dir",
            d,
            "--name",
            "Ancien nom",
            "--kind",
            "ruche"
        ])
        .status
        .success()
    );
    let out = essaim(&[
        "publish",
        root()
            .join("examples/epicerie-solidaire-lyon.toml")
            .to_str()
            .unwrap(),
        "--data-dir",
        d,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rename = tmp.path().join("hub.toml");
    std::fs::write(
        &rename,
        "kind = \"hub\"\nslug = \"profile\"\nname = \"Nouveau nom\"\nhub_kind = \"ruche\"\n",
    )
    .unwrap();
    let out = essaim(&["publish", rename.to_str().unwrap(), "--data-dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hub_name = |data: &Path| search_json(data, &["pentes"])["hits"][0]["hub_name"].clone();
    assert_eq!(hub_name(&data), "Nouveau nom");
    let out = essaim(&["reindex", "--data-dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hub_name(&data), "Nouveau nom");
    assert_eq!(search_json(&data, &["pentes"])["total"], 1);
}
