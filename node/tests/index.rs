//! The search index: typo tolerance, stemming per language, prefixes,
//! ranking, facets, filters, highlights, escaping, updates, persistence,
//! corruption, hostile queries, and a timing printout.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::BTreeMap;
use std::time::Instant;

use essaim_node::index::{
    Filters, Hit, IndexError, InitiativeDoc, SearchIndex, SearchRequest, SearchResponse, Sort,
    TerritoryLevel,
};
use essaim_protocol::Territory;

const HUB_A: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
const HUB_B: &str = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG";

fn t(code: &str) -> Territory {
    Territory::parse(code).unwrap()
}

/// An initiative with a French summary; adjust the rest with struct update.
fn doc(slug: &str, name: &str, summary_fr: &str) -> InitiativeDoc {
    InitiativeDoc {
        address: format!("{HUB_A}/initiative/{slug}"),
        hub: HUB_A.into(),
        hub_name: "Ruche de test".into(),
        slug: slug.into(),
        name: name.into(),
        summary: BTreeMap::from([("fr".to_string(), summary_fr.to_string())]),
        stage: "experimentation".into(),
        created: 1_700_000_000,
        seq: 1,
        ..InitiativeDoc::default()
    }
}

fn index_of(docs: &[InitiativeDoc]) -> SearchIndex {
    let index = SearchIndex::open_in_ram().unwrap();
    for d in docs {
        index.upsert(d).unwrap();
    }
    index.commit(docs.len() as u64).unwrap();
    index
}

fn search(index: &SearchIndex, q: &str) -> SearchResponse {
    index
        .search(&SearchRequest {
            q: q.into(),
            ..SearchRequest::default()
        })
        .unwrap()
}

fn filtered(index: &SearchIndex, q: &str, filters: Filters) -> SearchResponse {
    index
        .search(&SearchRequest {
            q: q.into(),
            filters,
            ..SearchRequest::default()
        })
        .unwrap()
}

fn slugs(r: &SearchResponse) -> Vec<&str> {
    r.hits.iter().map(|h| h.slug.as_str()).collect()
}

fn sorted_slugs(r: &SearchResponse) -> Vec<String> {
    let mut s: Vec<String> = r.hits.iter().map(|h| h.slug.clone()).collect();
    s.sort();
    s
}

fn hit<'r>(r: &'r SearchResponse, slug: &str) -> &'r Hit {
    r.hits
        .iter()
        .find(|h| h.slug == slug)
        .unwrap_or_else(|| panic!("{slug} not in {:?}", slugs(r)))
}

/// A small catalogue used by several tests.
fn catalogue() -> Vec<InitiativeDoc> {
    vec![
        InitiativeDoc {
            territories: vec![t("com:69123")],
            themes: vec!["alimentation".into(), "pauvrete".into()],
            labels: vec!["French Impact — Pionnier".into()],
            licences: vec!["AGPL-3.0-or-later".into()],
            created: 1_700_000_300,
            ..doc(
                "epicerie-croix-rousse",
                "Épicerie solidaire de la Croix-Rousse",
                "Une épicerie où chacun paie selon ses moyens, tenue par les habitants du quartier.",
            )
        },
        InitiativeDoc {
            territories: vec![t("com:38185")],
            themes: vec!["mobilite".into()],
            stage: "essaimage".into(),
            licences: vec!["MIT".into()],
            created: 1_700_000_100,
            description: BTreeMap::from([(
                "fr".into(),
                "## Le service\n\nNous organisons la **mobilité** partagée en zone périurbaine : \
                 covoiturage, navettes et prêt de vélos électriques pour les personnes sans voiture."
                    .into(),
            )]),
            ..doc(
                "covoiturage-grenoble",
                "Covoiturage des vallées",
                "Des trajets partagés pour aller travailler.",
            )
        },
        InitiativeDoc {
            territories: vec![t("com:13055")],
            themes: vec!["culture".into(), "education".into()],
            hub: HUB_B.into(),
            address: format!("{HUB_B}/initiative/bibliotheque-objets"),
            summary: BTreeMap::from([
                ("fr".into(), "Emprunter plutôt qu'acheter.".into()),
                (
                    "en".into(),
                    "A library of things: borrow a drill instead of buying one.".into(),
                ),
            ]),
            created: 1_700_000_200,
            ..doc("bibliotheque-objets", "Bibliothèque d'objets", "")
        },
        InitiativeDoc {
            territories: vec![t("com:69123"), t("com:69266")],
            themes: vec!["mobilite".into()],
            created: 1_700_000_400,
            ..doc(
                "atelier-velo",
                "Atelier vélo participatif",
                "Apprendre à réparer son vélo soi-même.",
            )
        },
    ]
}

#[test]
fn index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SearchIndex>();
}

#[test]
fn typos_and_missing_accents_are_tolerated() {
    let index = index_of(&catalogue());
    let r = search(&index, "epicerie solidair");
    assert_eq!(slugs(&r).first(), Some(&"epicerie-croix-rousse"));
    assert!(r.all_words);
    // Two typos in a long word (transposition + substitution).
    let r = search(&index, "épicerie soldiarie");
    assert_eq!(slugs(&r), ["epicerie-croix-rousse"]);
}

#[test]
fn each_language_is_stemmed_with_its_own_stemmer() {
    let index = index_of(&catalogue());
    // French plural with accent finds the singular in a markdown description.
    let r = search(&index, "mobilités");
    assert!(
        slugs(&r).contains(&"covoiturage-grenoble"),
        "{:?}",
        slugs(&r)
    );
    // English plural finds the English singular ("libraries" → "librari").
    let r = search(&index, "libraries");
    assert_eq!(slugs(&r), ["bibliotheque-objets"]);
}

#[test]
fn the_last_word_matches_as_a_prefix() {
    let index = index_of(&catalogue());
    assert_eq!(slugs(&search(&index, "solidai")), ["epicerie-croix-rousse"]);
    assert_eq!(
        slugs(&search(&index, "épicerie sol")),
        ["epicerie-croix-rousse"]
    );
    // One or two letters: the short-prefix field.
    assert_eq!(
        slugs(&search(&index, "épicerie so")),
        ["epicerie-croix-rousse"]
    );
    assert_eq!(slugs(&search(&index, "atelier v")), ["atelier-velo"]);
    // No word of the bibliothèque starts with "z": any word will do.
    assert!(!search(&index, "bibliothèque z").all_words);
    // A prefix with a typo (7 letters: one allowed).
    assert_eq!(slugs(&search(&index, "soldiai")), ["epicerie-croix-rousse"]);
    // A finished word (followed by a space) is no prefix any more
    // ("solid" is 3 edits away from "solidair").
    assert_eq!(slugs(&search(&index, "solid")), ["epicerie-croix-rousse"]);
    assert!(search(&index, "solid ").hits.is_empty());
}

#[test]
fn exact_matches_rank_above_fuzzy_ones() {
    let docs = vec![
        // A fuzzy match only, but everywhere: BM25 alone would prefer it.
        doc(
            "fuzzy",
            "Consiergerie",
            "Consiergerie, consiergerie, consiergerie de quartier.",
        ),
        doc(
            "exact",
            "Services aux habitants",
            "Une conciergerie parmi beaucoup d'autres services proposés dans ce très long texte \
             qui parle de bien d'autres choses encore, de voisinage et de lien social.",
        ),
    ];
    let index = index_of(&docs);
    let r = search(&index, "conciergerie");
    assert_eq!(slugs(&r), ["exact", "fuzzy"]);
    assert!(r.hits[0].score > r.hits[1].score);
    // A whole word above a mere prefix: "velo" is a word here, a prefix of "velodrome" there.
    let docs = vec![
        doc("prefix", "Vélodrome municipal", "Des courses."),
        doc("word", "Ateliers", "Réparer un vélo."),
    ];
    let index = index_of(&docs);
    assert_eq!(slugs(&search(&index, "velo")), ["word", "prefix"]);
}

#[test]
fn short_words_allow_no_typo() {
    let index = index_of(&catalogue());
    // The covoiturage lends "vélos": same stem.
    let both = ["atelier-velo", "covoiturage-grenoble"];
    assert_eq!(sorted_slugs(&search(&index, "vélo")), both);
    assert_eq!(sorted_slugs(&search(&index, "velo")), both);
    assert!(search(&index, "velu").hits.is_empty());
    assert!(search(&index, "velu ").hits.is_empty());
}

#[test]
fn a_short_stem_allows_no_typo_even_from_a_longer_word() {
    // "sante" has five letters (one typo) but its stem `sant` has four:
    // with a typo it would reach `san`, the stem of "sans".
    let index = index_of(&[
        doc(
            "centre-sante",
            "Centre de santé",
            "Un centre de santé de quartier.",
        ),
        doc(
            "sans-voiture",
            "Vivre sans voiture",
            "Des trajets sans voiture.",
        ),
    ]);
    assert_eq!(slugs(&search(&index, "sante ")), ["centre-sante"]);
    assert_eq!(slugs(&search(&index, "santé")), ["centre-sante"]);
    // A long word keeps its typo on the stem: "solidiare" finds "solidaire".
    let index = index_of(&[doc("epicerie", "Épicerie solidaire", "Une épicerie.")]);
    assert_eq!(slugs(&search(&index, "solidiare epicerie")), ["epicerie"]);
}

#[test]
fn when_no_document_has_every_word_any_word_will_do() {
    let index = index_of(&catalogue());
    let r = search(&index, "épicerie xylophone");
    assert!(!r.all_words);
    assert_eq!(slugs(&r), ["epicerie-croix-rousse"]);
    // More words matched ranks first.
    let r = search(&index, "atelier vélo xylophone");
    assert!(!r.all_words);
    assert_eq!(slugs(&r).first(), Some(&"atelier-velo"));
}

#[test]
fn place_and_theme_names_are_searchable() {
    let index = index_of(&catalogue());
    assert_eq!(
        slugs(&search(&index, "épicerie lyon")),
        ["epicerie-croix-rousse"]
    );
    // "Alimentation durable" is the theme's French label.
    assert_eq!(
        slugs(&search(&index, "alimentation")),
        ["epicerie-croix-rousse"]
    );
}

#[test]
fn territory_filter_covers_the_hierarchy() {
    let index = index_of(&catalogue());
    let in_region = |code: &str| Filters {
        territories: vec![t(code)],
        ..Filters::default()
    };
    let r = sorted_slugs(&filtered(&index, "", in_region("reg:84")));
    assert_eq!(
        r,
        [
            "atelier-velo",
            "covoiturage-grenoble",
            "epicerie-croix-rousse"
        ]
    );
    let r = filtered(&index, "", in_region("dep:38"));
    assert_eq!(slugs(&r), ["covoiturage-grenoble"]);
    let r = filtered(&index, "", in_region("com:13055"));
    assert_eq!(slugs(&r), ["bibliotheque-objets"]);
    assert_eq!(filtered(&index, "", in_region("FR")).total, 4);
    assert_eq!(filtered(&index, "", in_region("reg:11")).total, 0);
    // OR within a kind.
    let r = filtered(
        &index,
        "",
        Filters {
            territories: vec![t("dep:38"), t("dep:13")],
            ..Filters::default()
        },
    );
    assert_eq!(r.total, 2);
}

#[test]
fn facets_count_every_territory_level() {
    let index = index_of(&catalogue());
    let r = search(&index, "");
    assert_eq!(r.total, 4);
    let count = |code: &str| {
        r.facets
            .territory
            .iter()
            .find(|c| c.value == code)
            .map(|c| c.count)
    };
    assert_eq!(count("FR"), Some(4));
    assert_eq!(count("reg:84"), Some(3));
    assert_eq!(count("reg:93"), Some(1));
    // atelier-velo is in two communes of the Rhône: counted once there.
    assert_eq!(count("dep:69"), Some(2));
    assert_eq!(count("dep:38"), Some(1));
    assert_eq!(count("com:69123"), Some(2));
    assert_eq!(count("com:69266"), Some(1));
    assert_eq!(count("com:38185"), Some(1));
    let lyon = r
        .facets
        .territory
        .iter()
        .find(|c| c.value == "com:69123")
        .unwrap();
    assert_eq!(lyon.name, "Lyon");
    assert_eq!(lyon.level, TerritoryLevel::Commune);
    assert_eq!(lyon.parent.as_deref(), Some("dep:69"));
    let region = r
        .facets
        .territory
        .iter()
        .find(|c| c.value == "reg:84")
        .unwrap();
    assert_eq!(region.level, TerritoryLevel::Region);
    assert_eq!(region.parent.as_deref(), Some("FR"));
    // Levels in order: national, régions, départements, communes.
    let levels: Vec<TerritoryLevel> = r.facets.territory.iter().map(|c| c.level).collect();
    assert!(levels.is_sorted());

    let theme = |r: &SearchResponse, code: &str| {
        r.facets
            .theme
            .iter()
            .find(|c| c.value == code)
            .map(|c| c.count)
    };
    assert_eq!(theme(&r, "mobilite"), Some(2));
    assert_eq!(r.facets.theme[0].value, "mobilite"); // most frequent first
    assert_eq!(r.facets.stage.iter().map(|c| c.count).sum::<u64>(), 4);
    assert_eq!(r.facets.hub.len(), 2);
    assert_eq!(r.facets.label[0].value, "French Impact — Pionnier");
    assert_eq!(r.facets.licence.len(), 2);

    // Counts follow the query.
    let r = search(&index, "vélo");
    assert_eq!(theme(&r, "mobilite"), Some(2)); // the atelier, and the covoiturage's vélos
    assert_eq!(theme(&r, "alimentation"), None);
    // And the JSON API serialises them as they are.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["facets"]["territory"][0]["level"], "national");
}

#[test]
fn filters_combine_across_kinds() {
    let index = index_of(&catalogue());
    let f = Filters {
        themes: vec!["mobilite".into()],
        territories: vec![t("reg:84")],
        ..Filters::default()
    };
    let r = sorted_slugs(&filtered(&index, "", f.clone()));
    assert_eq!(r, ["atelier-velo", "covoiturage-grenoble"]);
    let r = filtered(
        &index,
        "",
        Filters {
            stages: vec!["essaimage".into()],
            ..f.clone()
        },
    );
    assert_eq!(slugs(&r), ["covoiturage-grenoble"]);
    let r = filtered(
        &index,
        "vélo",
        Filters {
            territories: vec![t("dep:69")],
            ..f
        },
    );
    assert_eq!(slugs(&r), ["atelier-velo"]);
    // Hubs with or without `did:key:`, labels, licences.
    let r = filtered(
        &index,
        "",
        Filters {
            hubs: vec![HUB_B.trim_start_matches("did:key:").into()],
            ..Filters::default()
        },
    );
    assert_eq!(slugs(&r), ["bibliotheque-objets"]);
    let r = filtered(
        &index,
        "",
        Filters {
            labels: vec!["French Impact — Pionnier".into()],
            licences: vec!["AGPL-3.0-or-later".into(), "MIT".into()],
            ..Filters::default()
        },
    );
    assert_eq!(slugs(&r), ["epicerie-croix-rousse"]);
    // Filter values that nothing has.
    let r = filtered(
        &index,
        "",
        Filters {
            themes: vec!["".into()],
            ..Filters::default()
        },
    );
    assert_eq!(r.total, 0);
}

#[test]
fn sorts_by_date() {
    let index = index_of(&catalogue());
    let newest = [
        "atelier-velo",
        "epicerie-croix-rousse",
        "bibliotheque-objets",
        "covoiturage-grenoble",
    ];
    // No text: newest first, whatever the sort.
    assert_eq!(slugs(&search(&index, "")), newest);
    let r = index
        .search(&SearchRequest {
            q: "vélo".into(),
            sort: Sort::Newest,
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(slugs(&r), ["atelier-velo", "covoiturage-grenoble"]);
    // Paging.
    let r = index
        .search(&SearchRequest {
            limit: 2,
            offset: 1,
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(slugs(&r), &newest[1..3]);
    assert_eq!(r.total, 4);
    assert_eq!(r.hits[0].created, 1_700_000_300);
}

#[test]
fn highlights_cover_fuzzy_and_prefix_matches() {
    let index = index_of(&catalogue());
    let r = search(&index, "epicerie soldiaire");
    let h = hit(&r, "epicerie-croix-rousse");
    assert_eq!(
        h.name_highlighted,
        "<mark>Épicerie</mark> <mark>solidaire</mark> de la Croix-Rousse"
    );
    assert!(
        h.snippet.contains("Une <mark>épicerie</mark> où"),
        "{}",
        h.snippet
    );
    // Prefix of the last word.
    let r = search(&index, "quarti");
    let h = hit(&r, "epicerie-croix-rousse");
    assert!(h.snippet.contains("<mark>quartier</mark>"), "{}", h.snippet);
    // A match in the description (markdown), stemmed: the snippet comes from there.
    let r = search(&index, "mobilités électrique");
    let h = hit(&r, "covoiturage-grenoble");
    assert!(h.snippet.contains("<mark>mobilité</mark>"), "{}", h.snippet);
    assert!(
        h.snippet.contains("<mark>électriques</mark>"),
        "{}",
        h.snippet
    );
    assert!(!h.snippet.contains('\n'));
    // English text, English stem.
    let r = search(&index, "libraries");
    assert!(
        r.hits[0].snippet.contains("<mark>library</mark>"),
        "{}",
        r.hits[0].snippet
    );
    // Without text the snippet is the summary's beginning.
    let r = search(&index, "");
    let h = hit(&r, "atelier-velo");
    assert_eq!(h.snippet, "Apprendre à réparer son vélo soi-même.");
    assert_eq!(h.name_highlighted, "Atelier vélo participatif");
}

#[test]
fn long_texts_give_a_window_around_the_matches() {
    let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(20);
    let text = format!("{filler}Le compostage collectif au pied des immeubles. {filler}");
    let index = index_of(&[doc("compost", "Compost", &text)]);
    let r = search(&index, "compostage immeubles");
    let s = &r.hits[0].snippet;
    assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
    assert!(
        s.contains("<mark>compostage</mark>") && s.contains("<mark>immeubles</mark>"),
        "{s}"
    );
    let visible = s.replace("<mark>", "").replace("</mark>", "");
    assert!(
        visible.chars().count() <= 180,
        "{} chars: {s}",
        visible.chars().count()
    );
}

#[test]
fn untrusted_text_comes_out_inert() {
    let evil = InitiativeDoc {
        summary: BTreeMap::from([(
            "fr".into(),
            "Texte <img src=x onerror=alert(1)> \"cité\" & l'apostrophe <script>vol()</script>"
                .into(),
        )]),
        ..doc("evil", "<script>alert('x')</script> Atelier & \"co\"", "")
    };
    let index = index_of(&[evil]);
    for q in ["atelier", "script", "", "texte img"] {
        let r = search(&index, q);
        let h = &r.hits[0];
        for html in [&h.name_highlighted, &h.snippet] {
            assert!(
                !html.contains("<script") && !html.contains("<img"),
                "{q:?}: {html}"
            );
            assert!(!html.contains('"') && !html.contains('\''), "{q:?}: {html}");
            let stripped = html.replace("<mark>", "").replace("</mark>", "");
            assert!(
                !stripped.contains('<') && !stripped.contains('>'),
                "{q:?}: {html}"
            );
        }
        assert!(h.name_highlighted.contains("&lt;"), "{q:?}");
    }
    let r = search(&index, "atelier");
    assert_eq!(
        r.hits[0].name_highlighted,
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>Atelier</mark> &amp; &quot;co&quot;"
    );
}

#[test]
fn upsert_replaces_and_remove_removes() {
    let index = index_of(&catalogue());
    assert_eq!(index.num_docs(), 4);
    let renamed = InitiativeDoc {
        name: "Garage solidaire".into(),
        seq: 2,
        ..catalogue()[3].clone()
    };
    index.upsert(&renamed).unwrap();
    index.upsert(&renamed).unwrap();
    // Not visible before the commit.
    assert_eq!(slugs(&search(&index, "garage")), Vec::<&str>::new());
    index.commit(10).unwrap();
    assert_eq!(index.num_docs(), 4);
    assert_eq!(slugs(&search(&index, "garage")), ["atelier-velo"]);
    assert!(search(&index, "participatif").hits.is_empty());
    // Replaced documents are not counted twice in facets.
    let mobilite = |index: &SearchIndex| {
        let r = search(index, "");
        let n = r.facets.theme.iter().find(|c| c.value == "mobilite");
        (r.total, n.map(|c| c.count))
    };
    assert_eq!(mobilite(&index), (4, Some(2)));
    index.remove(&renamed.address).unwrap();
    index.commit(11).unwrap();
    assert_eq!(index.num_docs(), 3);
    assert!(search(&index, "garage").hits.is_empty());
    assert_eq!(mobilite(&index), (3, Some(1)));
    // Clear, then rebuild: what comes after the clear stays.
    index.clear().unwrap();
    index.upsert(&catalogue()[0]).unwrap();
    index.commit(12).unwrap();
    assert_eq!(index.num_docs(), 1);
    assert_eq!(index.watermark(), 12);
    assert_eq!(search(&index, "").total, 1);
}

#[test]
fn watermark_and_documents_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    {
        let index = SearchIndex::open(&path).unwrap();
        assert_eq!(index.watermark(), 0);
        for d in catalogue() {
            index.upsert(&d).unwrap();
        }
        index.commit(42).unwrap();
        // A second writer on the same directory is refused with a clear error.
        let err = SearchIndex::open(&path).unwrap_err();
        assert!(matches!(err, IndexError::Locked { .. }), "{err}");
        index.close().unwrap();
    }
    let index = SearchIndex::open(&path).unwrap();
    assert_eq!(index.watermark(), 42);
    assert_eq!(index.num_docs(), 4);
    // Tokenizers are registered again after the open: typos and stems still work.
    assert_eq!(
        slugs(&search(&index, "epicerie solidair")),
        ["epicerie-croix-rousse"]
    );
    index
        .upsert(&doc("nouveau", "Nouvelle ressourcerie", ""))
        .unwrap();
    index.commit(43).unwrap();
    drop(index);
    let index = SearchIndex::open(&path).unwrap();
    assert_eq!(index.watermark(), 43);
    assert_eq!(slugs(&search(&index, "ressourcerie")), ["nouveau"]);
}

/// A writer opened on an existing index, whose first change replaces a
/// document, while a merge of the committed segments runs before the next
/// commit (as after a restart: the catch-up's first commit starts one).
/// tantivy 0.27 gives that first delete the stamp the merge aims at, and the
/// merged segment kept the replaced document: two documents for one address
/// (found by the kill -9 suite). It shows when the merge lists first a
/// segment whose deletes are older than the last commit's; how the indexing
/// threads split the documents into segments varies, so ten fresh indexes.
#[test]
fn reopening_then_merging_keeps_one_document_per_address() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let pairs: Vec<InitiativeDoc> = (0..10)
            .map(|i| doc(&format!("p{i}"), &format!("Paire {i}"), ""))
            .collect();
        {
            let index = SearchIndex::open(&path).unwrap();
            // A larger segment first, without deletes (the merge lists the
            // larger segments first).
            for i in 0..50 {
                index
                    .upsert(&doc(&format!("f{i}"), &format!("Fond {i}"), ""))
                    .unwrap();
            }
            index.commit(1).unwrap();
            for d in &pairs {
                index.upsert(d).unwrap();
            }
            index.commit(2).unwrap();
            // The last commit deletes in the segments holding the pairs:
            // their deletes are now "at" the committed stamp.
            for d in &pairs[1..] {
                index.remove(&d.address).unwrap();
            }
            index.commit(3).unwrap();
            index.close().unwrap();
        }
        let index = SearchIndex::open(&path).unwrap();
        assert_eq!(index.num_docs(), 51);
        index
            .upsert(&InitiativeDoc {
                seq: 2,
                ..doc("p0", "Paire 0, deuxième version", "")
            })
            .unwrap();
        index.merge_segments().unwrap();
        index.commit(4).unwrap();
        assert_eq!(
            index.duplicated_addresses().unwrap(),
            Vec::new(),
            "round {round}"
        );
        assert_eq!(index.num_docs(), 51, "round {round}");
        assert_eq!(slugs(&search(&index, "deuxieme")), ["p0"]);
    }
}

#[test]
fn a_corrupt_index_says_to_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    {
        let index = SearchIndex::open(&path).unwrap();
        index.upsert(&catalogue()[0]).unwrap();
        index.commit(1).unwrap();
        index.close().unwrap();
    }
    std::fs::write(path.join("meta.json"), b"\x00garbage{{{").unwrap();
    let err = SearchIndex::open(&path).unwrap_err();
    assert!(matches!(err, IndexError::Corrupt { .. }), "{err:?}");
    assert!(err.needs_rebuild());
    assert!(err.to_string().contains("essaim reindex"), "{err}");
    // A file where the directory should be.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(SearchIndex::open(&file).is_err());
}

#[test]
fn hostile_queries_do_not_panic() {
    let index = index_of(&catalogue());
    let long_word = "a".repeat(10_000);
    let many_words = "épicerie ".repeat(1_000);
    let mixed = "ü".repeat(300) + &"🐝".repeat(300);
    let queries = [
        "",
        " ",
        "*",
        "\"",
        "\"épicerie solidaire\"",
        "'; DROP TABLE initiatives; --",
        "!!! ??? ...",
        "(a OR b) AND NOT c:d^2~",
        "\u{0}\u{1}\u{7f}",
        "é",
        "e\u{301}picerie",
        "🐝🐝🐝",
        "中文 العربية עברית",
        "ǅǈǋ ΣΊΣΥΦΟΣ İstanbul ß ﬁ",
        long_word.as_str(),
        many_words.as_str(),
        mixed.as_str(),
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "solidaireeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
        "<script>alert(1)</script>",
    ];
    for q in queries {
        for sort in [Sort::Relevance, Sort::Newest] {
            let r = index
                .search(&SearchRequest {
                    q: q.to_string(),
                    sort,
                    limit: 1_000,
                    offset: 0,
                    ..SearchRequest::default()
                })
                .unwrap_or_else(|e| panic!("{q:?}: {e}"));
            assert!(r.hits.len() <= 100);
        }
    }
    // Punctuation-only queries are like an empty query.
    assert_eq!(search(&index, "*").total, 4);
    // Far pages are empty, not errors; facet-only requests work.
    let r = index
        .search(&SearchRequest {
            offset: usize::MAX,
            ..SearchRequest::default()
        })
        .unwrap();
    assert!(r.hits.is_empty());
    assert_eq!(r.total, 4);
    let r = index
        .search(&SearchRequest {
            limit: 0,
            ..SearchRequest::default()
        })
        .unwrap();
    assert!(r.hits.is_empty());
    assert_eq!(r.facets.theme.len(), 5);
    // Absurd filters are refused, politely.
    let err = filtered(&index, "", Filters::default());
    assert_eq!(err.total, 4);
    let err = index
        .search(&SearchRequest {
            filters: Filters {
                themes: vec!["x".into(); 1_000],
                ..Filters::default()
            },
            ..SearchRequest::default()
        })
        .unwrap_err();
    assert!(matches!(err, IndexError::BadQuery { .. }), "{err}");
    // Documents with odd content index fine too.
    let odd = InitiativeDoc {
        summary: BTreeMap::from([
            ("fr".into(), "\u{0}".into()),
            ("zz".into(), long_word.clone()),
        ]),
        themes: vec!["".into(), "\u{0}".into()],
        labels: vec!["a/b".into()],
        ..doc("odd", "", "")
    };
    index.upsert(&odd).unwrap();
    index.commit(99).unwrap();
    assert_eq!(search(&index, "").total, 5);
    assert!(index.upsert(&InitiativeDoc::default()).is_err());
}

// ---------------------------------------------------------------------------
// Timing (a printout, not an assertion). `ESSAIM_INDEX_BENCH_DOCS=100000
// cargo test --release -p essaim-node --test index timing -- --nocapture`
// for the real target.

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards small indices, like word frequencies.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64) * u * u * u) as usize
    }
}

const WORDS: &[&str] = &[
    "épicerie",
    "solidaire",
    "mobilité",
    "vélo",
    "jardin",
    "partagé",
    "insertion",
    "emploi",
    "jeunes",
    "quartier",
    "habitants",
    "association",
    "coopérative",
    "réemploi",
    "recyclerie",
    "alimentation",
    "circuit",
    "court",
    "producteurs",
    "locaux",
    "formation",
    "numérique",
    "accompagnement",
    "logement",
    "santé",
    "culture",
    "sport",
    "handicap",
    "autonomie",
    "seniors",
    "énergie",
    "citoyenne",
    "transition",
    "écologique",
    "territoire",
    "rural",
    "urbain",
    "lien",
    "social",
    "entraide",
    "bénévoles",
    "salariés",
    "réparation",
    "atelier",
    "cantine",
    "scolaire",
    "compost",
    "déchets",
    "tiers-lieu",
    "fabrique",
    "numérique",
    "inclusion",
    "droits",
    "accueil",
    "exilés",
    "femmes",
    "égalité",
    "finance",
    "épargne",
    "microcrédit",
    "commerce",
    "équitable",
];

const SYLLABLES: &[&str] = &[
    "ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo", "cha",
    "pre", "tri", "clo", "bra", "mon", "ver", "lin", "tor", "gal", "pis", "rec", "dur", "fan",
    "quo", "ste",
];

fn sentence(rng: &mut Rng, vocab: &[String], words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        if rng.below(3) == 0 {
            s.push_str(WORDS[rng.below(WORDS.len())]);
        } else {
            s.push_str(&vocab[rng.zipf(vocab.len())]);
        }
    }
    s
}

/// ~27,000 made-up words; drawn frequency-skewed, for a realistic dictionary.
fn made_up_words() -> Vec<String> {
    let s = SYLLABLES.len();
    (0..s.pow(3))
        .map(|i| {
            format!(
                "{}{}{}",
                SYLLABLES[i % s],
                SYLLABLES[(i / s) % s],
                SYLLABLES[i / s / s]
            )
        })
        .collect()
}

/// `n` initiatives: names and texts from the real words above (each in
/// about half of the documents: a pessimistic case) and made-up ones.
fn generated(n: usize) -> Vec<InitiativeDoc> {
    let mut rng = Rng(0x5eed_0000_e55a_0001);
    let vocab = made_up_words();
    let communes = [
        "com:69123",
        "com:38185",
        "com:13055",
        "com:75056",
        "com:33063",
        "com:59350",
    ];
    let themes = [
        "alimentation",
        "mobilite",
        "emploi",
        "culture",
        "habitat",
        "energie",
    ];
    let stages = ["emergence", "experimentation", "essaimage"];
    (0..n)
        .map(|i| {
            let name_words = 2 + rng.below(3);
            let summary_words = 12 + rng.below(20);
            let description_words = 40 + rng.below(120);
            InitiativeDoc {
                address: format!("{HUB_A}/initiative/gen-{i}"),
                hub: [HUB_A, HUB_B][i % 2].into(),
                slug: format!("gen-{i}"),
                name: sentence(&mut rng, &vocab, name_words),
                summary: BTreeMap::from([("fr".into(), sentence(&mut rng, &vocab, summary_words))]),
                description: BTreeMap::from([(
                    "fr".into(),
                    sentence(&mut rng, &vocab, description_words),
                )]),
                themes: vec![themes[rng.below(themes.len())].into()],
                territories: vec![t(communes[rng.below(communes.len())])],
                stage: stages[rng.below(stages.len())].into(),
                licences: vec!["AGPL-3.0-or-later".into()],
                created: 1_600_000_000 + rng.below(100_000_000) as u64,
                seq: 1,
                ..InitiativeDoc::default()
            }
        })
        .collect()
}

/// Time this thread has spent on a CPU, in nanoseconds (Linux), so that the
/// printout means something on a busy machine too.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
fn timing() {
    let n: usize = std::env::var("ESSAIM_INDEX_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let docs = generated(n);
    let index = SearchIndex::open_in_ram().unwrap();
    let started = Instant::now();
    for d in &docs {
        index.upsert(d).unwrap();
    }
    let added = started.elapsed();
    index.commit(n as u64).unwrap();
    let indexed = started.elapsed();
    assert_eq!(index.num_docs(), n as u64);

    let reg84 = Filters {
        territories: vec![t("reg:84")],
        ..Filters::default()
    };
    let req = |q: &str, filters: &Filters, limit: usize| SearchRequest {
        q: q.into(),
        filters: filters.clone(),
        limit,
        ..SearchRequest::default()
    };
    let none = Filters::default();
    // Made-up words further down the frequency ranking, as most words of a
    // real catalogue are (the "total" column shows how many documents match).
    let vocab = made_up_words();
    let mid = vocab[2000].clone();
    let two_mid = format!("{} {}", vocab[1500], vocab[2500]);
    let mid_typo = {
        // Swap the 3rd and 4th letters (the first letter stays).
        let mut c: Vec<char> = vocab[1800].chars().collect();
        c.swap(2, 3);
        c.into_iter().collect::<String>()
    };
    let mid_prefix = vocab[2200].chars().take(4).collect::<String>();
    let rare = vocab[20000].clone();
    let queries: Vec<(&str, SearchRequest)> = vec![
        ("exact 1 word", req("solidaire", &none, 20)),
        ("exact 2 words", req("jardin partagé", &none, 20)),
        ("exact 3 words", req("insertion emploi jeunes", &none, 20)),
        ("typo", req("epicerie solidiare", &none, 20)),
        ("stem", req("mobilités", &none, 20)),
        ("prefix 3", req("atelier rep", &none, 20)),
        ("prefix 1", req("cantine s", &none, 20)),
        ("prefix 6 fuzzy", req("recycl", &none, 20)),
        ("made-up word", req("bacedi", &none, 20)),
        ("no match (OR)", req("solidaire xylophone", &none, 20)),
        ("mid word", req(&mid, &none, 20)),
        ("2 mid words", req(&two_mid, &none, 20)),
        ("mid word typo", req(&mid_typo, &none, 20)),
        ("mid prefix", req(&mid_prefix, &none, 20)),
        ("rare word", req(&rare, &none, 20)),
        ("empty", req("", &none, 20)),
        ("empty + filter", req("", &reg84, 20)),
        ("text + filter", req("alimentation locaux", &reg84, 20)),
        ("facets only", req("solidaire", &none, 0)),
        ("empty, facets", req("", &none, 0)),
    ];
    let rounds = 30;
    let mut all: Vec<f64> = Vec::new();
    // As after `essaim reindex`: one segment.
    let segments_before = index.num_segments();
    let merging = Instant::now();
    index.merge_segments().unwrap();
    let merged = merging.elapsed();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "index timing: {n} docs indexed in {added:.2?} (+ commit: {indexed:.2?} total); \
         {segments_before} segments merged into {} in {merged:.2?}; load average {}",
        index.num_segments(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  {:<16} {:<28} {:>12}  {:>8} {:>8}  {:>10}",
        "", "query", "", "wall p50", "p99", "CPU mean"
    );
    let mut cpu_total = 0.0;
    for (label, req) in &queries {
        let mut times: Vec<f64> = Vec::new();
        let mut total = 0;
        let c0 = thread_cpu_ns();
        for _ in 0..rounds {
            let t0 = Instant::now();
            let r = index.search(req).unwrap();
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            total = r.total;
        }
        // On-CPU time (excludes waiting for a core on a busy machine); the
        // clock is coarse, so only the mean over the rounds is meaningful.
        let cpu = match (c0, thread_cpu_ns()) {
            (Some(c0), Some(c1)) => (c1 - c0) as f64 / 1e6 / rounds as f64,
            _ => f64::NAN,
        };
        times.sort_by(f64::total_cmp);
        println!(
            "  {label:<16} {:<28} total {total:>6}  {:>8.2} {:>8.2}  {:>10.2}",
            req.q,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            cpu,
        );
        if req.limit > 0 {
            all.extend(times);
            cpu_total += cpu;
        }
    }
    all.sort_by(f64::total_cmp);
    println!(
        "  all queries ({} searches, {} build): wall p50 {:.2} ms, p99 {:.2} ms; mean on-CPU {:.2} ms (all times in ms)",
        all.len(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        cpu_total / (queries.iter().filter(|(_, r)| r.limit > 0).count() as f64),
    );
}
