//! The real `essaim` binary, run as a user would: exit codes, messages,
//! files and their modes, and hostile input.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::util::{essaim, root, stderr, stdout};

/// A fresh hub in a temporary directory.
struct Hub {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Hub {
    fn new() -> Hub {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("hub");
        let out = essaim(&[
            "init",
            "--data-dir",
            dir.to_str().unwrap(),
            "--name",
            "Ruche Lyon Part-Dieu",
            "--kind",
            "ruche",
            "--territory",
            "dep:69",
        ]);
        assert!(out.status.success(), "init failed: {}", stderr(&out));
        Hub { _tmp: tmp, dir }
    }

    fn d(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn sign(&self, draft: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["sign", draft.to_str().unwrap(), "--data-dir", self.d()];
        args.extend_from_slice(extra);
        essaim(&args)
    }

    /// Write a draft file into the hub's temporary directory.
    fn draft(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.parent().unwrap().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn lyon_example() -> String {
    std::fs::read_to_string(root().join("examples/epicerie-solidaire-lyon.toml")).unwrap()
}

#[test]
fn init_creates_key_config_and_hub_record_and_refuses_a_second_time() {
    let hub = Hub::new();
    let mode = |name: &str| {
        std::fs::metadata(hub.dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("hub.key"), 0o600);
    assert_eq!(mode(""), 0o700);
    let config = std::fs::read_to_string(hub.dir.join("config.toml")).unwrap();
    assert!(
        config.contains("# listen = \"127.0.0.1:8080\""),
        "every key commented:\n{config}"
    );
    // The hub record verifies and says who the hub is.
    let out = essaim(&[
        "verify",
        hub.dir.join("hub-record.json").to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(verdict["kind"], "hub");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(hub.dir.join("hub-record.json")).unwrap())
            .unwrap();
    assert_eq!(record["body"]["name"], "Ruche Lyon Part-Dieu");
    assert_eq!(record["body"]["hub_kind"], "ruche");
    assert_eq!(record["body"]["territories"], serde_json::json!(["dep:69"]));

    // A second init exits 1 and leaves the key exactly as it was.
    let key_before = std::fs::read(hub.dir.join("hub.key")).unwrap();
    let modified_before = std::fs::metadata(hub.dir.join("hub.key"))
        .unwrap()
        .modified()
        .unwrap();
    let out = essaim(&["init", "--data-dir", hub.d(), "--name", "Autre"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out).lines().count(),
        1,
        "one line: {}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(hub.dir.join("hub.key")).unwrap(), key_before);
    assert_eq!(
        std::fs::metadata(hub.dir.join("hub.key"))
            .unwrap()
            .modified()
            .unwrap(),
        modified_before
    );
}

#[test]
fn init_with_a_bad_territory_or_kind_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    for args in [["--territory", "dep:84x"], ["--kind", "association"]] {
        let out = essaim(&[
            "init",
            "--data-dir",
            dir.to_str().unwrap(),
            args[0],
            args[1],
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(args[1]), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(!dir.exists());
    }
}

#[test]
fn an_initiative_in_lyon_signs_and_verifies() {
    let hub = Hub::new();
    let draft = root().join("examples/epicerie-solidaire-lyon.toml");
    assert!(lyon_example().contains("origin = \"com:69123\""));
    let out = hub.sign(&draft, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let signed = hub.draft("signed.json", &stdout(&out));
    let out = essaim(&["verify", signed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "id",
        "address",
        "author",
        "/initiative/epicerie-solidaire-lyon",
    ] {
        assert!(text.contains(expected), "{text}");
    }
    // The CBOR form, written to a file, verifies too.
    let cbor = hub.dir.parent().unwrap().join("signed.cbor");
    let out = hub.sign(&draft, &["--cbor", "--out", cbor.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = essaim(&["verify", cbor.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(verdict["valid"], true);
    assert!(
        verdict["address"]
            .as_str()
            .unwrap()
            .ends_with("/initiative/epicerie-solidaire-lyon")
    );
}

#[test]
fn unknown_or_malformed_territories_are_refused_naming_field_and_value() {
    let hub = Hub::new();
    for (bad, rule) in [
        ("com:69999", "not a current commune"),
        ("dep:84x", "not a territory code"),
    ] {
        let draft = hub.draft(
            "bad.toml",
            &lyon_example().replace("origin = \"com:69123\"", &format!("origin = \"{bad}\"")),
        );
        let out = hub.sign(&draft, &[]);
        assert_eq!(out.status.code(), Some(1), "{bad} accepted");
        let err = stderr(&out);
        assert!(
            err.contains("`origin`") && err.contains(bad) && err.contains(rule),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(stdout(&out).is_empty(), "nothing signed");
    }
}

#[test]
fn region_84_and_departement_84_are_both_accepted_and_told_apart() {
    let hub = Hub::new();
    let draft = hub.draft(
        "84.toml",
        "kind = \"initiative\"\nslug = \"quatre-vingt-quatre\"\nname = \"Deux fois 84\"\n\
         themes = [\"mobilite\"]\norigin = \"reg:84\"\nterritories = [\"reg:84\", \"dep:84\"]\n\
         stage = \"emergence\"\n[summary]\nfr = \"La région 84 et le département 84.\"\n",
    );
    let out = hub.sign(&draft, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let view: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        view["body"]["territories"],
        serde_json::json!(["reg:84", "dep:84"])
    );
    let reg: essaim_protocol::Territory = "reg:84".parse().unwrap();
    let dep: essaim_protocol::Territory = "dep:84".parse().unwrap();
    assert_ne!(reg, dep);
    assert_eq!(reg.name(), "Auvergne-Rhône-Alpes");
    assert_eq!(dep.name(), "Vaucluse");
    // The same code twice is a duplicate, which shows they really are compared.
    let twice = hub.draft(
        "twice.toml",
        &std::fs::read_to_string(&draft)
            .unwrap()
            .replace("\"dep:84\"]", "\"reg:84\"]"),
    );
    let out = hub.sign(&twice, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("territories[1]"), "{}", stderr(&out));
}

/// Every byte of several signed records, flipped one at a time: `essaim
/// verify` exits 1 every time.
#[test]
fn flipping_any_single_byte_makes_verify_fail() {
    let hub = Hub::new();
    let examples = [
        "epicerie-solidaire-lyon.toml",
        "label-french-impact.toml",
        "atelier-velo.yaml",
    ];
    let work = hub.dir.parent().unwrap().join("flip.cbor");
    let mut records = vec![];
    for example in examples {
        let cbor = hub.dir.parent().unwrap().join(format!("{example}.cbor"));
        let out = hub.sign(
            &root().join("examples").join(example),
            &["--cbor", "--out", cbor.to_str().unwrap()],
        );
        assert!(out.status.success(), "{example}: {}", stderr(&out));
        records.push(std::fs::read(&cbor).unwrap());
    }
    records.push(std::fs::read(hub.dir.join("hub-record.json")).unwrap());
    let mut checked = 0;
    for record in &records {
        std::fs::write(&work, record).unwrap();
        assert!(essaim(&["verify", work.to_str().unwrap()]).status.success());
        for i in 0..record.len() {
            let mut flipped = record.clone();
            flipped[i] ^= 0x01;
            std::fs::write(&work, &flipped).unwrap();
            let out = essaim(&["verify", work.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(1),
                "byte {i} flipped went unnoticed"
            );
            checked += 1;
        }
    }
    println!("{checked} flipped records refused by essaim verify");
}

#[test]
fn a_non_canonical_payload_is_refused() {
    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("specs/vectors/invalid-non-canonical-integer.json"))
            .unwrap(),
    )
    .unwrap();
    let hex = vector["envelope_hex"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("record.cbor");
    std::fs::write(&path, bytes).unwrap();
    let out = essaim(&["verify", path.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let verdict: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(verdict["code"], "non_canonical");
    assert!(stderr(&out).contains("canonical"), "{}", stderr(&out));
}

#[test]
fn hostile_files_get_a_clear_one_line_error() {
    let hub = Hub::new();
    let tmp = hub.dir.parent().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", (0..=255u8).cycle().take(5000).collect()),
        ("not-utf8.json", vec![b'{', 0xff, 0xfe, b'}']),
        ("huge", vec![b'a'; 10 * 1024 * 1024]),
        (
            "deep.json",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        (
            "view.json",
            br#"{"id":"x","payload":"!!!","sig":""}"#.to_vec(),
        ),
    ];
    for (name, bytes) in &cases {
        let path = tmp.join(name);
        std::fs::write(&path, bytes).unwrap();
        for command in ["verify", "sign"] {
            let out = essaim(&[command, path.to_str().unwrap(), "--data-dir", hub.d()]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{command} {name}: {err}");
            assert_eq!(err.lines().count(), 1, "{command} {name}: {err}");
            assert!(err.starts_with("error: "), "{err}");
        }
    }
    // YAML bombs and absurd nesting in drafts.
    let bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    let path = hub.draft("bomb.yaml", bomb);
    let out = hub.sign(&path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Missing files and directories.
    for path in ["/nonexistent/record.json", "/"] {
        let out = essaim(&["verify", path]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(path), "{}", stderr(&out));
    }
}

#[test]
fn signing_without_a_hub_says_to_run_init() {
    let tmp = tempfile::tempdir().unwrap();
    let out = essaim(&[
        "sign",
        root()
            .join("examples/epicerie-solidaire-lyon.toml")
            .to_str()
            .unwrap(),
        "--data-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("essaim init"), "{}", stderr(&out));
}

#[test]
fn every_command_of_the_contract_is_listed() {
    let out = essaim(&["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for command in [
        "init",
        "run",
        "demo",
        "sign",
        "verify",
        "publish",
        "import",
        "export",
        "search",
        "show",
        "suggest",
        "follow",
        "unfollow",
        "block",
        "quarantine",
        "endorse",
        "mirror",
        "clone",
        "peers",
        "status",
        "doctor",
        "reindex",
        "backup",
        "restore",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from --help"
        );
    }
    let version = stdout(&essaim(&["--version"]));
    assert!(version.starts_with("essaim "), "{version}");
    // A command that needs a hub, on a data directory without one: one
    // line that says what to do.
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    let out = essaim(&["--data-dir", dir, "suggest", "dep:69"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("essaim init"), "{}", stderr(&out));
    // A typo in a flag: one line, with the hint.
    let out = essaim(&["init", "--nmae", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}
