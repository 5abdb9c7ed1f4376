#![allow(clippy::unwrap_used)]
//! `essaim import publiccode`: conformance with the reference validator's
//! fixture suite, the mapping to an initiative, and hostile inputs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use essaim_node::import::publiccode::{
    self, CATEGORIES, CATEGORY_THEMES, FALLBACK_THEME, Imported, MAX_INPUT_BYTES, PubliccodeError,
    SCOPE_THEMES, SCOPES, WarningKind, category_theme, scope_theme, slugify, stage_for,
};
use essaim_protocol::record::Initiative;
use essaim_protocol::vocab::{Stage, Theme};
use essaim_protocol::{Body, HubKey};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/publiccode/v0"
);
const NOW: u64 = 1_767_225_600; // 2026-01-01

/// Invalid fixtures whose verdict cannot be reached offline, and why.
const NEEDS_THE_NETWORK: &[(&str, &str)] = &[
    (
        "logo_missing_url.yml",
        "the logo is an https URL: only fetching it shows that it does not exist",
    ),
    (
        "it_riuso_codiceIPA_invalid.yml",
        "the code has the form of an iPA code; only the Italian iPA register (downloaded from indicepa.gov.it) says it is unknown",
    ),
    (
        "organisation_uri_wrong_italian_pa2.yml",
        "urn:x-italian-pa:<code> with a well-formed code; only the iPA register says it is unknown",
    ),
    (
        "fundedBy_uri_wrong_italian_pa2.yml",
        "urn:x-italian-pa:<code> with a well-formed code; only the iPA register says it is unknown",
    ),
];

/// What an invalid fixture must be refused with, when its name does not
/// spell the offending key.
enum Expected {
    Key(&'static str),
    NotUtf8,
    Yaml,
}

const UNUSUAL_NAMES: &[(&str, Expected)] = &[
    ("file_encoding.yml", Expected::NotUtf8),
    ("invalid_yaml.yml", Expected::Yaml),
    // Several keys are missing; the first one the standard lists is reported.
    ("mostly_empty.yml", Expected::Key("name")),
    ("unknown_field.yml", Expected::Key("foobar")),
    // The language key is `en_GB`: the error is about `description`.
    (
        "description_en_gb_invalid_bcp47.yml",
        Expected::Key("description"),
    ),
    // `it` in the name, `IT` (or `It`) in the file.
    ("it_IT_duplicated.yml", Expected::Key("it")),
    (
        "it_countryExtensionVersion_invalid.yml",
        Expected::Key("IT.countryExtensionVersion"),
    ),
    (
        "it_riuso_codiceIPA_invalid.yml",
        Expected::Key("IT.riuso.codiceIPA"),
    ),
    ("it_wrong_case.yml", Expected::Key("It")),
];

/// Words that start the reason part of `KEY_REASON.yml`.
const REASON_WORDS: &[&str] = &[
    "wrong",
    "invalid",
    "missing",
    "empty",
    "too",
    "bad",
    "duplicated",
    "absolute",
    "file",
    "unsupported",
    "when",
    "nil",
    "datetime",
    "yaml11",
    "unknown",
];

fn key() -> HubKey {
    HubKey::from_seed(&[1; 32])
}

fn parse_file(path: &Path) -> Result<Imported, PubliccodeError> {
    publiccode::parse_file(path, &key().hub_id(), NOW)
}

fn parse(text: &str) -> Result<Imported, PubliccodeError> {
    publiccode::parse(text, &key().hub_id(), NOW)
}

fn initiative(imported: &Imported) -> &Initiative {
    match &imported.body {
        Body::Initiative(i) => i,
        other => panic!("not an initiative: {other:?}"),
    }
}

/// The `*.yml` files of a fixture folder and of its `no-network/` subfolder.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(FIXTURES).join(kind);
    let mut files = Vec::new();
    for dir in [dir.clone(), dir.join("no-network")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The key a fixture named `KEY_REASON.yml` is about: the parts of the name
/// before the first reason word, joined with dots.
fn expected_key(name: &str) -> String {
    let stem = name.strip_suffix(".yml").unwrap_or(name);
    stem.split('_')
        .take_while(|part| !REASON_WORDS.contains(part))
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether an error's key names the expected key: the same path, or a key
/// inside it, with list indices (`[0]`) left aside; case-sensitive.
fn key_matches(actual: &str, expected: &str) -> bool {
    let mut bare = String::new();
    let mut in_index = false;
    for c in actual.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            _ if !in_index => bare.push(c),
            _ => {}
        }
    }
    bare == expected || bare.starts_with(&format!("{expected}."))
}

fn check_invalid(path: &Path) -> Result<(), String> {
    let name = file_name(path);
    let expected = UNUSUAL_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| e);
    let err = match parse_file(path) {
        Ok(_) => return Err(format!("{name}: accepted")),
        Err(e) => e,
    };
    let message = err.to_string();
    if message.contains('\n') {
        return Err(format!("{name}: the message spans lines: {message:?}"));
    }
    let ok = match expected {
        Some(Expected::NotUtf8) => matches!(err, PubliccodeError::NotUtf8 { .. }),
        Some(Expected::Yaml) => matches!(err, PubliccodeError::Yaml { .. }),
        Some(Expected::Key(k)) => err.key().is_some_and(|a| key_matches(a, k)),
        None => err
            .key()
            .is_some_and(|a| key_matches(a, &expected_key(&name))),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{name}: refused for another reason: {message}"))
    }
}

/// A valid fixture: accepted, and its initiative signs and verifies.
fn check_accepted(path: &Path, want_warning: bool) -> Result<(), String> {
    let name = file_name(path);
    let imported = parse_file(path).map_err(|e| format!("{name}: refused: {e}"))?;
    let conformance: Vec<_> = imported
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::Conformance)
        .collect();
    if want_warning && conformance.is_empty() {
        return Err(format!("{name}: no warning"));
    }
    if !want_warning && !conformance.is_empty() {
        return Err(format!("{name}: unexpected warnings {conformance:?}"));
    }
    let signed = essaim_protocol::sign(imported.body, &key(), NOW)
        .map_err(|e| format!("{name}: does not sign: {e}"))?;
    essaim_protocol::verify(&signed.to_envelope(), NOW)
        .map_err(|e| format!("{name}: does not verify: {e}"))?;
    Ok(())
}

#[test]
fn conformance_with_the_reference_fixtures() {
    if !Path::new(FIXTURES).is_dir() {
        println!("note: {FIXTURES} is missing; publiccode conformance not checked");
        return;
    }
    let mut failures = Vec::new();
    let mut tally = |files: &[PathBuf], check: &dyn Fn(&Path) -> Result<(), String>| {
        let mut passed = 0;
        for file in files {
            match check(file) {
                Ok(()) => passed += 1,
                Err(why) => failures.push(why),
            }
        }
        passed
    };

    let valid = fixtures("valid");
    let valid_passed = tally(&valid, &|p| check_accepted(p, false));
    let warned = fixtures("valid_with_warnings");
    let warned_passed = tally(&warned, &|p| check_accepted(p, true));

    let (skipped, invalid): (Vec<PathBuf>, Vec<PathBuf>) = fixtures("invalid")
        .into_iter()
        .partition(|p| NEEDS_THE_NETWORK.iter().any(|(n, _)| *n == file_name(p)));
    let invalid_passed = tally(&invalid, &check_invalid);
    // The list of skipped fixtures stays exact.
    for (name, _) in NEEDS_THE_NETWORK {
        assert!(
            skipped.iter().any(|p| file_name(p) == *name),
            "{name} is no longer a fixture: remove it from NEEDS_THE_NETWORK"
        );
    }

    let skipped_names: Vec<String> = skipped.iter().map(|p| file_name(p)).collect();
    println!(
        "publiccode conformance: valid {valid_passed}/{}, invalid {invalid_passed}/{} ({} need the network or the iPA register: {}), valid_with_warnings {warned_passed}/{}",
        valid.len(),
        invalid.len() + skipped.len(),
        skipped.len(),
        skipped_names.join(", "),
        warned.len(),
    );
    for (name, why) in NEEDS_THE_NETWORK {
        println!("  skipped {name}: {why}");
    }
    assert!(valid.len() >= 30 && invalid.len() >= 120 && warned.len() >= 10);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_full_example_maps_to_an_initiative() {
    let path = Path::new(FIXTURES).join("valid/valid.yml");
    if !path.is_file() {
        println!("note: {} is missing", path.display());
        return;
    }
    let imported = parse_file(&path).unwrap();
    let i = initiative(&imported);
    assert_eq!(i.name, "Medusa");
    assert_eq!(i.slug.as_str(), "medusa");
    assert_eq!(i.seq, NOW * 1000);
    assert_eq!(i.created, NOW);
    assert_eq!(i.stage, Stage::Experimentation);
    assert_eq!(i.origin.to_string(), "FR");
    // Only English in the file: the English summary is also the French one.
    assert_eq!(i.summary.len(), 2);
    assert_eq!(
        i.summary.get(&"fr".parse().unwrap()),
        i.summary.get(&"en".parse().unwrap())
    );
    assert!(i.description.contains_key(&"en".parse().unwrap()));
    let themes: Vec<&str> = i.themes.iter().map(|t| t.code()).collect();
    assert_eq!(themes, ["citoyennete", "education", "culture"]);
    let repo = &i.repositories[0];
    assert_eq!(repo.name.as_str(), "developers-italia-it");
    assert_eq!(
        repo.url.as_str(),
        "https://github.com/italia/developers.italia.it.git"
    );
    assert_eq!(repo.licence.as_str(), "AGPL-3.0-or-later");
    assert_eq!(
        i.website.as_ref().unwrap().as_str(),
        "https://developers.italia.it/"
    );
    assert_eq!(i.carrier.as_ref().unwrap().name, "PCM");
    assert_eq!(i.contacts.len(), 3);
    assert_eq!(i.contacts[0].name.as_deref(), Some("Francesco Rossi"));

    let warned = |key: &str| {
        imported
            .warnings
            .iter()
            .any(|w| w.key == key && w.kind == WarningKind::Mapping)
    };
    for key in [
        "description.en.shortDescription",
        "description.en.features",
        "description.en.videos",
        "maintenance.contacts[0].phone",
        "maintenance.contractors",
        "legal.mainCopyrightOwner",
        "intendedAudience.countries",
        "dependsOn",
        "IT",
        "platforms",
    ] {
        assert!(warned(key), "no warning for {key}: {:?}", imported.warnings);
    }
}

/// A small valid publiccode.yml of our own, with `extra` lines at the end
/// and `descriptions` (YAML under `description:`).
fn document(descriptions: &str, extra: &str) -> String {
    let long = "Un outil pour suivre les demandes des habitants. ".repeat(5);
    let descriptions = if descriptions.is_empty() {
        format!(
            "  fr:\n    shortDescription: Suivi des demandes\n    longDescription: {long}\n    features: [Suivi]\n"
        )
    } else {
        descriptions.replace("LONG", &long)
    };
    format!(
        "publiccodeYmlVersion: \"0\"\nname: Guichet Numérique de Quartier\nurl: https://git.example.org/ville/guichet.git\nplatforms: [web]\ndevelopmentStatus: stable\nsoftwareType: standalone/web\ndescription:\n{descriptions}legal:\n  license: EUPL-1.2\nmaintenance:\n  type: none\nlocalisation:\n  localisationReady: true\n  availableLanguages: [fr]\n{extra}"
    )
}

#[test]
fn a_minimal_file_maps_without_surprise() {
    let imported = parse(&document("", "")).unwrap();
    let i = initiative(&imported);
    assert_eq!(i.slug.as_str(), "guichet-numerique-de-quartier");
    assert_eq!(i.stage, Stage::Consolidation);
    assert_eq!(i.summary.len(), 1);
    assert_eq!(i.repositories[0].name.as_str(), "guichet");
    assert_eq!(i.repositories[0].licence.as_str(), "EUPL-1.2");
    // No scope, no category: the fallback theme, with a warning.
    assert_eq!(i.themes, [FALLBACK_THEME]);
    assert!(imported.warnings.iter().any(|w| w.key == "categories"));
    assert!(
        imported
            .warnings
            .iter()
            .all(|w| w.kind == WarningKind::Mapping)
    );
}

#[test]
fn without_french_the_italian_text_is_borrowed() {
    let descriptions = "  en:\n    shortDescription: Neighbourhood requests\n    longDescription: LONG\n    features: [Tracking]\n  it:\n    shortDescription: Richieste di quartiere\n    longDescription: LONG\n    features: [Tracciamento]\n";
    let imported = parse(&document(descriptions, "")).unwrap();
    let i = initiative(&imported);
    assert_eq!(i.summary[&"fr".parse().unwrap()], "Richieste di quartiere");
    assert_eq!(i.summary.len(), 3);
    let warning = imported
        .warnings
        .iter()
        .find(|w| w.message.contains("no French text"))
        .unwrap();
    assert_eq!(warning.key, "description.it.shortDescription");
    assert_eq!(warning.kind, WarningKind::Mapping);

    // English only: English is borrowed.
    let english = "  en-GB:\n    shortDescription: Neighbourhood requests\n    longDescription: LONG\n    features: [Tracking]\n";
    let imported = parse(&document(english, "")).unwrap();
    let i = initiative(&imported);
    assert_eq!(i.summary[&"fr".parse().unwrap()], "Neighbourhood requests");
    assert!(i.summary.contains_key(&"en".parse().unwrap()));
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.key == "description.en-GB.shortDescription")
    );

    // French present: no borrowing.
    let imported = parse(&document("", "")).unwrap();
    assert!(
        !imported
            .warnings
            .iter()
            .any(|w| w.message.contains("no French text"))
    );
}

#[test]
fn themes_table() {
    for (scope, theme) in SCOPE_THEMES {
        assert!(SCOPES.contains(scope), "{scope} is not a scope");
        assert_eq!(scope_theme(scope), Some(*theme));
    }
    for (category, theme) in CATEGORY_THEMES {
        assert!(
            CATEGORIES.contains(category),
            "{category} is not a category"
        );
        assert_eq!(category_theme(category), Some(*theme));
    }
    assert_eq!(scope_theme("welfare"), Some(Theme::Pauvrete));
    assert_eq!(scope_theme("employment"), Some(Theme::Emploi));
    assert_eq!(scope_theme("healthcare"), Some(Theme::Sante));
    assert_eq!(scope_theme("transportation"), Some(Theme::Mobilite));
    assert_eq!(
        scope_theme("environment"),
        Some(Theme::TransitionEcologique)
    );
    assert_eq!(
        scope_theme("local-authorities"),
        Some(Theme::DeveloppementLocal)
    );
    assert_eq!(scope_theme("defence"), None);
    assert_eq!(category_theme("crm"), None);
    assert_eq!(stage_for("concept"), Some(Stage::Emergence));
    assert_eq!(stage_for("beta"), Some(Stage::Evaluation));
    assert_eq!(stage_for("obsolete"), Some(Stage::Consolidation));

    // Scopes first, deduplicated, at most five, with a warning for the rest.
    let extra = "intendedAudience:\n  scope: [welfare, employment, healthcare, transportation, sport, culture, local-authorities, tourism]\ncategories: [crm, whistleblowing]\n";
    let imported = parse(&document("", extra)).unwrap();
    let i = initiative(&imported);
    let themes: Vec<&str> = i.themes.iter().map(|t| t.code()).collect();
    assert_eq!(themes, ["pauvrete", "emploi", "sante", "mobilite", "sport"]);
    assert_eq!(i.audiences.len(), 1);
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.message.contains("at most 5"))
    );
    assert!(imported.warnings.iter().any(|w| w.message.contains("crm")));
}

#[test]
fn slugs() {
    assert_eq!(slugify("Guichet Numérique"), "guichet-numerique");
    assert_eq!(
        slugify("  Médiathèque d'Île-de-France !"),
        "mediatheque-d-ile-de-france"
    );
    assert_eq!(slugify("Œuvre & Straße"), "oeuvre-strasse");
    assert_eq!(slugify("베스핀"), "");
    let long = slugify(&"Très long nom ".repeat(20));
    assert!(long.len() <= 64 && !long.ends_with('-'), "{long}");
    // A name with no Latin letter: the slug comes from the repository.
    let text = document("", "").replace("Guichet Numérique de Quartier", "베스핀 가스");
    let imported = parse(&text).unwrap();
    assert_eq!(initiative(&imported).slug.as_str(), "guichet");
    assert_eq!(initiative(&imported).name, "베스핀 가스");
    // A long name is cut, with a warning.
    let text = document("", "").replace("Guichet Numérique de Quartier", &"Nom ".repeat(60));
    let imported = parse(&text).unwrap();
    assert!(initiative(&imported).name.chars().count() <= 120);
    assert!(imported.warnings.iter().any(|w| w.key == "name"));
}

#[test]
fn origin_contacts_and_obsolete() {
    let extra = "intendedAudience:\n  countries: [IT]\nmaintenance:\n  type: community\n  contacts:\n    - name: Équipe\n      email: equipe@ville.example.org\n      phone: \"+33 1 23 45 67 89\"\n    - name: Sans courriel\n";
    let text = document("", extra)
        .replace("maintenance:\n  type: none\n", "")
        .replace("stable", "obsolete");
    let imported = parse(&text).unwrap();
    let i = initiative(&imported);
    assert_eq!(i.origin.to_string(), "FR");
    assert_eq!(i.stage, Stage::Consolidation);
    assert_eq!(i.contacts.len(), 1);
    assert_eq!(
        i.contacts[0].email.as_ref().unwrap().as_str(),
        "equipe@ville.example.org"
    );
    for key in [
        "intendedAudience.countries",
        "developmentStatus",
        "maintenance.contacts[0].phone",
        "maintenance.contacts[1]",
    ] {
        assert!(
            imported.warnings.iter().any(|w| w.key == key),
            "no warning for {key}"
        );
    }
    // France among the countries: no origin warning.
    let text = document("", "intendedAudience:\n  countries: [FR, BE]\n");
    let imported = parse(&text).unwrap();
    assert!(
        !imported
            .warnings
            .iter()
            .any(|w| w.key == "intendedAudience.countries")
    );
}

#[test]
fn errors_name_the_key_on_one_line() {
    let cases = [
        (
            "developmentStatus: stable",
            "developmentStatus: maybe",
            "developmentStatus",
        ),
        (
            "license: EUPL-1.2",
            "license: Not A Licence",
            "legal.license",
        ),
        (
            "localisationReady: true",
            "localisationReady: yes",
            "localisation.localisationReady",
        ),
        ("platforms: [web]", "platforms: web", "platforms"),
    ];
    let private = "  x-local:\n    shortDescription: Demandes\n    longDescription: LONG\n    features: [Suivi]\n";
    let err = parse(&document(private, "")).unwrap_err();
    assert_eq!(err.key(), Some("description"), "{err}");
    for (from, to, key) in cases {
        let err = parse(&document("", "").replace(from, to)).unwrap_err();
        assert_eq!(err.key(), Some(key), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(key) && !message.contains('\n'),
            "{message}"
        );
    }
}

/// Hostile input: a clear error, no panic, little time.
#[test]
fn hostile_input() {
    let started = Instant::now();
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    assert!(matches!(parse(bomb), Err(PubliccodeError::Yaml { .. })));

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(parse(&deep), Err(PubliccodeError::Yaml { .. })));
    let deep_block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(parse(&deep_block).is_err());

    let huge = "a".repeat(10 * 1024 * 1024);
    assert!(matches!(
        parse(&huge),
        Err(PubliccodeError::TooLarge {
            limit: MAX_INPUT_BYTES,
            ..
        })
    ));
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("publiccode.yml");
    std::fs::write(&big, &huge).unwrap();
    assert!(matches!(
        parse_file(&big),
        Err(PubliccodeError::TooLarge { .. })
    ));

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let err = publiccode::parse_bytes(&garbage, None, &key().hub_id(), NOW).unwrap_err();
    assert!(matches!(err, PubliccodeError::NotUtf8 { .. }), "{err}");
    let latin1 = b"name: M\xe9dusa\n";
    assert!(matches!(
        publiccode::parse_bytes(latin1, None, &key().hub_id(), NOW),
        Err(PubliccodeError::NotUtf8 { offset: 7 })
    ));
    let printable: String = garbage.iter().map(|b| char::from(b' ' + b % 90)).collect();
    assert!(parse(&printable).is_err());

    for (text, found) in [
        ("- a\n- b\n", "a list"),
        ("just text", "a text"),
        ("", "an empty document"),
        ("42", "a text"),
    ] {
        match parse(text) {
            Err(PubliccodeError::NotAMapping { found: f }) => assert_eq!(f, found, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    let twice = parse("a: 1\na: 2\n").unwrap_err().to_string();
    assert!(twice.contains("`a` is given twice"), "{twice}");
    assert!(parse("---\na: 1\n---\nb: 2\n").is_err());
    for text in [bomb, &deep, "- a\n", "\u{0}\u{1}\u{2}"] {
        let message = parse(text).unwrap_err().to_string();
        assert!(!message.contains('\n') && message.len() < 600, "{message}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "hostile inputs took {:?}",
        started.elapsed()
    );
}

#[test]
fn deprecated_licence_ids_are_recorded_in_their_current_form() {
    let text = document("", "").replace("EUPL-1.2", "GPL-3.0");
    let imported = parse(&text).unwrap();
    let i = initiative(&imported);
    assert_eq!(i.repositories[0].licence.as_str(), "GPL-3.0-only");
    assert!(imported.warnings.iter().any(|w| w.key == "legal.license"));
}
