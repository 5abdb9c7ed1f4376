#![allow(clippy::unwrap_used)]
//! `essaim import dpg`: the real DPG registry export, the mapping tables,
//! and hostile inputs.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use essaim_node::import::dpg::{
    self, DpgError, MAX_INPUT_BYTES, PROGRESS_EVERY, french_summary, registry_status, sdg_theme,
    slugify, stage_from, themes_for,
};
use essaim_protocol::vocab::{Stage, Theme};
use essaim_protocol::{Body, HubKey};
use serde_json::{Value, json};

const RECORDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/dpg/records.json"
);
const NOW: u64 = 1_767_225_600; // 2026-01-01

fn key() -> HubKey {
    HubKey::from_seed(&[1; 32])
}

fn parse(text: &str) -> Result<dpg::Report, DpgError> {
    dpg::parse(text, &key().hub_id(), NOW, &mut |_, _| {})
}

fn initiative(body: &Body) -> &essaim_protocol::record::Initiative {
    match body {
        Body::Initiative(i) => i,
        other => panic!("not an initiative: {other:?}"),
    }
}

/// The SDG numbers of a source record, as the registry lists them.
fn source_sdgs(record: &Value) -> BTreeSet<u8> {
    record["SDGs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["SDGNumber"].as_u64())
        .filter(|n| (1..=17).contains(n))
        .map(|n| n as u8)
        .collect()
}

#[test]
fn imports_the_registry_export() {
    let Ok(text) = std::fs::read_to_string(RECORDS) else {
        eprintln!("note: {RECORDS} is missing; the DPG import test is skipped");
        return;
    };
    let source: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut calls = Vec::new();
    let started = std::time::Instant::now();
    let report = dpg::parse(&text, &key().hub_id(), NOW, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    let elapsed = started.elapsed();

    // Counts.
    let total = source.len();
    assert_eq!(report.imported.len() + report.skipped.len(), total);
    println!(
        "dpg import: {} imported, {} skipped ({} records, {} warnings, {elapsed:.2?})",
        report.imported.len(),
        report.skipped.len(),
        total,
        report.warnings.len()
    );
    // Messages name values between backquotes; group them without.
    let general = |message: &str| -> String {
        message
            .split('`')
            .enumerate()
            .map(|(n, part)| if n % 2 == 1 { "…" } else { part })
            .collect()
    };
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for s in &report.skipped {
        *reasons.entry(general(&s.reason)).or_default() += 1;
        println!("  skipped {:?} (#{}): {}", s.source, s.index, s.reason);
    }
    for (reason, count) in &reasons {
        println!("  skip reason ×{count}: {reason}");
    }
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (_, message) in &report.warnings {
        *kinds.entry(general(message)).or_default() += 1;
    }
    for (warning, count) in &kinds {
        println!("  warning ×{count}: {warning}");
    }
    assert!(
        report.imported.len() * 100 >= total * 95,
        "only {} of {total} imported",
        report.imported.len()
    );

    // Progress: from 0 to total, never more than PROGRESS_EVERY apart.
    assert_eq!(calls.first(), Some(&(0, total)));
    assert_eq!(calls.last(), Some(&(total, total)));
    for pair in calls.windows(2) {
        assert!(pair[1].0 > pair[0].0 && pair[1].0 - pair[0].0 <= PROGRESS_EVERY);
    }

    // One warning about origins, for the whole import.
    let origin_warnings = report
        .warnings
        .iter()
        .filter(|(source, _)| source == dpg::ALL_RECORDS)
        .count();
    assert_eq!(origin_warnings, 1);

    let mut slugs = HashSet::new();
    let mut stats: BTreeMap<&str, usize> = BTreeMap::new();
    let mut themes: BTreeMap<Theme, usize> = BTreeMap::new();
    for imported in &report.imported {
        let i = initiative(&imported.body);
        let record = &source[imported.index];
        assert_eq!(record["name"].as_str().unwrap().trim(), imported.source);

        // Signs, and the envelope verifies.
        let signed = essaim_protocol::sign(imported.body.clone(), &key(), NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", imported.source));
        let verified = essaim_protocol::verify(&signed.to_envelope(), NOW).unwrap();
        assert_eq!(verified.body(), &imported.body);

        assert!(slugs.insert(i.slug.clone()), "duplicate slug {}", i.slug);
        let sdgs: BTreeSet<u8> = i.sdgs.iter().map(|s| s.number()).collect();
        assert_eq!(sdgs, source_sdgs(record), "{}", imported.source);
        assert_eq!(
            i.themes,
            themes_for(&sdgs.iter().copied().collect::<Vec<_>>())
        );
        assert_eq!(i.origin.to_string(), "FR");
        assert!(i.summary.contains_key(&"fr".parse().unwrap()));
        assert!(
            i.summary.values().all(|s| s.chars().count() <= 500),
            "{}",
            imported.source
        );
        for repo in &i.repositories {
            assert!(repo.url.as_str().starts_with("https://"), "{}", repo.url);
        }

        *stats.entry("with repositories").or_default() += usize::from(!i.repositories.is_empty());
        *stats.entry("repositories").or_default() += i.repositories.len();
        *stats.entry("with a carrier").or_default() += usize::from(i.carrier.is_some());
        *stats.entry("with a website").or_default() += usize::from(i.website.is_some());
        *stats.entry("with an English summary").or_default() +=
            usize::from(i.summary.contains_key(&"en".parse().unwrap()));
        *stats
            .entry(match i.stage {
                Stage::Consolidation => "stage consolidation",
                _ => "stage other",
            })
            .or_default() += 1;
        for t in &i.themes {
            *themes.entry(*t).or_default() += 1;
        }
    }
    println!("  {stats:?}");
    println!(
        "  themes: {:?}",
        themes
            .iter()
            .map(|(t, n)| format!("{t}={n}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn slugs_fold_accents_and_stay_short() {
    assert_eq!(slugify("Démarches Simplifiées"), "demarches-simplifiees");
    assert_eq!(slugify("eRouška"), "erouska");
    assert_eq!(slugify("SantéMPI"), "santempi");
    assert_eq!(
        slugify("  Œuvre -- d'Ærø / Straße!! "),
        "oeuvre-d-aero-strasse"
    );
    assert_eq!(slugify("ÉCOLE À L'ÎLE"), "ecole-a-l-ile");
    assert_eq!(
        slugify("COVID-19 Dashboard (v2.0)"),
        "covid-19-dashboard-v2-0"
    );
    assert_eq!(slugify("健康"), "");
    assert_eq!(slugify("---"), "");
    let long = slugify(&"word ".repeat(100));
    assert!(long.len() <= 64 && !long.ends_with('-'), "{long}");
    assert!(long.parse::<essaim_protocol::record::Slug>().is_ok());
    let unbroken = slugify(&"x".repeat(1000));
    assert_eq!(unbroken.len(), 64);
}

#[test]
fn sdg_theme_table() {
    let expected = [
        (1, Some(Theme::Pauvrete)),
        (2, Some(Theme::Alimentation)),
        (3, Some(Theme::Sante)),
        (4, Some(Theme::Education)),
        (5, Some(Theme::Egalite)),
        (6, Some(Theme::TransitionEcologique)),
        (7, Some(Theme::Energie)),
        (8, Some(Theme::Emploi)),
        (9, Some(Theme::InclusionNumerique)),
        (10, Some(Theme::AccesAuxDroits)),
        (11, Some(Theme::DeveloppementLocal)),
        (12, Some(Theme::EconomieCirculaire)),
        (13, Some(Theme::TransitionEcologique)),
        (14, Some(Theme::TransitionEcologique)),
        (15, Some(Theme::TransitionEcologique)),
        (16, Some(Theme::Citoyennete)),
        (17, None),
        (0, None),
        (18, None),
    ];
    for (sdg, theme) in expected {
        assert_eq!(sdg_theme(sdg), theme, "SDG {sdg}");
    }
    // Deduplicated, at most 5, with a fallback.
    assert_eq!(themes_for(&[13, 14, 15]), vec![Theme::TransitionEcologique]);
    assert_eq!(themes_for(&[17]), vec![Theme::InclusionNumerique]);
    assert_eq!(themes_for(&[]), vec![Theme::InclusionNumerique]);
    assert_eq!(themes_for(&(1..=17).collect::<Vec<_>>()).len(), 5);
}

#[test]
fn stage_table() {
    assert_eq!(stage_from("DPG"), Some(Stage::Consolidation));
    assert_eq!(stage_from("nominee"), Some(Stage::Consolidation));
    assert_eq!(stage_from("pilot"), Some(Stage::Experimentation));
    assert_eq!(stage_from("Scaling"), Some(Stage::Essaimage));
    assert_eq!(stage_from("essaimage"), Some(Stage::Essaimage));
    assert_eq!(stage_from("whatever"), None);
}

#[test]
fn french_summary_is_built_from_fields() {
    assert_eq!(
        registry_status(Some("DPG"), Some("nominees/a.json")),
        Some("reconnu comme bien public numérique")
    );
    assert_eq!(
        registry_status(Some("nominee"), Some("archive/a.json")),
        Some("candidature archivée")
    );
    assert_eq!(registry_status(Some("nominee"), None), Some("candidat"));
    assert_eq!(registry_status(None, None), None);
    let text = french_summary(
        "Outil",
        &["logiciel"],
        &[3, 4],
        Some("Asso"),
        Some("MIT"),
        registry_status(Some("nominee"), Some("nominees/outil.json")),
    );
    assert_eq!(
        text,
        "Bien public numérique (logiciel) : Outil. Objectifs de développement durable (ODD) : 3, 4. Porté par Asso. Licence : MIT. Registre de la DPG Alliance : candidat."
    );
    let long = french_summary(
        &"n".repeat(120),
        &[],
        &[1; 17],
        Some(&"o".repeat(120)),
        Some(&"x".repeat(200)),
        None,
    );
    assert!(long.chars().count() <= 500);
}

/// A record written here (no prose from the registry), with every oddity.
fn odd_record() -> Value {
    json!({
        "name": "  Élan   Commun\t",
        "description": "First line.\r\nSecond line\u{7} with a bell.",
        "license": [{"spdx": "not a licence"}, {"spdx": "GPL-3.0"}],
        "SDGs": [{"SDGNumber": 4}, {"SDGNumber": "4"}, {"SDGNumber": 99}, {"SDGNumber": 17}],
        "type": ["software", "data", "spaceship"],
        "repositories": [
            {"name": "main", "url": "https://github.com/example/elan/tree/main/docs"},
            {"name": "mirror", "url": "http://example.org/elan.git"},
            {"name": "org", "url": "https://github.com/example"},
            {"name": "empty", "url": ""},
            {"name": "again", "url": "https://github.com/example/elan"}
        ],
        "organizations": [
            {"name": "Funder", "org_type": "funder"},
            {"name": "Owner Org", "org_type": "owner", "contact_email": "team@example.org"}
        ],
        "website": "ftp://example.org/",
        "stage": "DPG"
    })
}

#[test]
fn an_odd_record_is_cleaned_up_with_warnings() {
    let text = serde_json::to_string(&json!([odd_record(), odd_record()])).unwrap();
    let report = parse(&text).unwrap();
    assert_eq!(report.imported.len(), 2, "{:?}", report.skipped);
    let first = initiative(&report.imported[0].body);
    let second = initiative(&report.imported[1].body);
    assert_eq!(first.name, "Élan Commun");
    assert_eq!(first.slug.as_str(), "elan-commun");
    assert_eq!(second.slug.as_str(), "elan-commun-2");
    assert_eq!(
        first.sdgs.iter().map(|s| s.number()).collect::<Vec<_>>(),
        [4, 17]
    );
    assert_eq!(first.themes, [Theme::Education]);
    assert_eq!(first.stage, Stage::Consolidation);
    assert_eq!(first.carrier.as_ref().unwrap().name, "Owner Org");
    assert_eq!(first.contacts.len(), 1);
    assert!(first.website.is_none());
    assert_eq!(first.repositories.len(), 1);
    let repo = &first.repositories[0];
    assert_eq!(repo.url.as_str(), "https://github.com/example/elan");
    assert_eq!(repo.name.as_str(), "elan");
    assert_eq!(repo.licence.as_str(), "GPL-3.0-only");
    let en = &first.summary[&"en".parse().unwrap()];
    assert_eq!(en, "First line. Second line with a bell.");
    let fr = &first.summary[&"fr".parse().unwrap()];
    assert!(
        fr.contains("Élan Commun") && fr.contains("(ODD) : 4, 17"),
        "{fr}"
    );
    let warnings: Vec<&str> = report
        .warnings
        .iter()
        .filter(|(s, _)| s == "Élan Commun")
        .map(|(_, w)| w.as_str())
        .collect();
    for expected in [
        "deprecated SPDX id",
        "not https",
        "not a repository",
        "cut to",
        "website",
        "not a goal number",
        "already taken",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(expected)),
            "no warning about {expected}: {warnings:#?}"
        );
    }
}

#[test]
fn records_without_a_licence_or_a_name() {
    let text = json!([
        {"name": "No Licence", "description": "d", "license": [], "SDGs": [],
         "repositories": [{"url": "https://github.com/a/b"}], "organizations": []},
        {"name": "   ", "description": "d"},
        42,
        {"name": "Bare"}
    ])
    .to_string();
    let report = parse(&text).unwrap();
    let names: Vec<&str> = report.imported.iter().map(|i| i.source.as_str()).collect();
    assert_eq!(names, ["No Licence", "Bare"]);
    let no_licence = initiative(&report.imported[0].body);
    assert!(no_licence.repositories.is_empty());
    assert_eq!(no_licence.themes, [Theme::InclusionNumerique]);
    assert!(
        report
            .warnings
            .iter()
            .any(|(s, w)| s == "No Licence" && w.contains("no licence"))
    );
    assert_eq!(report.skipped.len(), 2);
    assert_eq!(report.skipped[0].index, 1);
    assert!(report.skipped[0].reason.contains("name"));
    assert_eq!(report.skipped[1].source, "item 3");
    assert!(report.skipped[1].reason.contains("a number"));
}

#[test]
fn long_texts_are_cut() {
    let name = "Name ".repeat(40);
    let description = "word ".repeat(6000) + &"長".repeat(9000);
    let report = parse(&json!([{"name": name, "description": description}]).to_string()).unwrap();
    assert_eq!(report.imported.len(), 1, "{:?}", report.skipped);
    let i = initiative(&report.imported[0].body);
    assert!(i.name.chars().count() <= 120 && i.name.ends_with('…'));
    assert!(i.slug.as_str().len() <= 64);
    assert!(essaim_protocol::sign(report.imported[0].body.clone(), &key(), NOW).is_ok());
}

#[test]
fn hostile_inputs_are_clear_errors() {
    let not_json = parse("this is not JSON").unwrap_err();
    assert!(
        matches!(not_json, DpgError::Json { line: 1, .. }),
        "{not_json}"
    );
    assert!(matches!(parse("").unwrap_err(), DpgError::Json { .. }));
    assert!(matches!(
        parse("[{\"name\": \"a\"").unwrap_err(),
        DpgError::Json { .. }
    ));

    let object = parse(r#"{"name": "x"}"#).unwrap_err();
    assert!(matches!(
        object,
        DpgError::NotAnArray { found: "an object" }
    ));
    assert!(object.to_string().contains("array"), "{object}");
    assert!(matches!(
        parse("42").unwrap_err(),
        DpgError::NotAnArray { found: "a number" }
    ));

    let numbers = parse("[1, 2, 3]").unwrap_err();
    assert!(
        matches!(numbers, DpgError::NoRecords { count: 3 }),
        "{numbers}"
    );
    assert!(parse("[]").unwrap().imported.is_empty());

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        parse(&deep).unwrap_err(),
        DpgError::TooDeep { .. }
    ));
    let deep_in_record = format!(
        r#"[{{"name": "x", "SDGs": {}1{}}}]"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(
        parse(&deep_in_record).unwrap_err(),
        DpgError::TooDeep { .. }
    ));

    let huge = " ".repeat(100 * 1000 * 1000);
    let too_large = parse(&huge).unwrap_err();
    assert!(
        matches!(
            too_large,
            DpgError::TooLarge {
                size: 100_000_000,
                limit: MAX_INPUT_BYTES
            }
        ),
        "{too_large}"
    );

    // Wrong types inside records are skipped or ignored, never a panic.
    let weird = json!([
        {"name": "T", "SDGs": "3", "license": {"spdx": 7}, "repositories": {"url": 1},
         "organizations": "Org", "website": 5, "stage": [], "type": "software", "description": 9},
        {"name": ["x"]},
        null
    ])
    .to_string();
    let report = parse(&weird).unwrap();
    assert_eq!(report.imported.len(), 1);
    assert_eq!(report.skipped.len(), 2);

    for e in [not_json, object, numbers, too_large] {
        let message = e.to_string();
        assert!(!message.contains('\n') && !e.code().is_empty(), "{message}");
    }
}

#[test]
fn files_over_the_limit_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap(); // sparse: nothing is written
    assert!(matches!(
        dpg::read_file(&path).unwrap_err(),
        DpgError::TooLarge { .. }
    ));
    let latin1 = dir.path().join("latin1.json");
    std::fs::write(&latin1, b"[{\"name\": \"\xe9\"}]").unwrap();
    assert!(matches!(
        dpg::read_file(&latin1).unwrap_err(),
        DpgError::NotUtf8 { .. }
    ));
    assert!(matches!(
        dpg::read_file(&dir.path().join("missing.json")).unwrap_err(),
        DpgError::Io { .. }
    ));
}

#[test]
fn archived_copies_of_current_records_are_skipped() {
    let text = json!([
        {"name": "Tool", "_source_file": "archive/tool.json", "stage": "nominee"},
        {"name": "Tool", "_source_file": "nominees/tool.json", "stage": "DPG"},
        {"name": "Other", "_source_file": "archive/other.json", "stage": "nominee"},
        {"name": "Tool", "_source_file": "nominees/tool-bis.json"}
    ])
    .to_string();
    let report = parse(&text).unwrap();
    let imported: Vec<(usize, &str)> = report
        .imported
        .iter()
        .map(|i| (i.index, initiative(&i.body).slug.as_str()))
        .collect();
    assert_eq!(imported, [(1, "tool"), (2, "other"), (3, "tool-2")]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].index, 0);
    assert!(report.skipped[0].reason.contains("nominees/tool.json"));
    let fr = &initiative(&report.imported[1].body).summary[&"fr".parse().unwrap()];
    assert!(fr.ends_with("candidature archivée."), "{fr}");
}
