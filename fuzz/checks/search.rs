//! Search queries on arbitrary text, the three ways the node reads them: the
//! search page's query string (lenient: bad filters dropped with a message),
//! the JSON API's query string (strict: bad parameters are 400s), and the
//! bare text typed in the box — each then run against a small in-memory
//! index, as the node does. Properties: the page's own link reads back the
//! same search with nothing dropped; every request the page makes is one
//! the index accepts; API refusals are 4xx with a code; any text is a valid
//! query; pages hold at most `limit` hits and no more than `total`.

use std::sync::OnceLock;

use essaim_node::fuzzing;
use essaim_node::index::{IndexError, InitiativeDoc, SearchIndex, SearchRequest, SearchResponse};
use essaim_protocol::Territory;
use essaim_protocol::vocab::{Stage, Theme};

/// Words of the sample documents (French and English, accents, a stem
/// family, a long word) so that exact, prefix and typo tiers all match.
const NAMES: &[(&str, &str, &str)] = &[
    (
        "Atelier vélo participatif",
        "Réparer son vélo ensemble",
        "Bike repair workshop",
    ),
    (
        "Jardins partagés",
        "Cultiver des légumes en ville",
        "Shared urban gardens",
    ),
    (
        "Cantine solidaire",
        "Des repas à prix libre",
        "Pay-what-you-can canteen",
    ),
    (
        "Ressourcerie",
        "Réemploi et réparation des objets",
        "Reuse and repair centre",
    ),
    (
        "Covoiturage rural",
        "Se déplacer sans voiture à la campagne",
        "Rural car sharing",
    ),
    (
        "Tiers-lieu numérique",
        "Médiation numérique pour tous",
        "Digital inclusion hub",
    ),
    (
        "Épicerie sociale",
        "Alimentation durable et accessible",
        "Social grocery",
    ),
    (
        "Habitat participatif",
        "Construire et vivre ensemble",
        "Cohousing",
    ),
];
const TERRITORIES: &[&str] = &["com:69123", "dep:75", "reg:84", "com:13055", "dep:2A"];

fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = SearchIndex::open_in_ram().expect("an index in memory");
        for (i, (name, fr, en)) in NAMES.iter().enumerate() {
            let hub = essaim_protocol::vectors::key(1 + (i % 3) as u8)
                .hub_id()
                .to_string();
            let slug = format!("initiative-{i}");
            let doc = InitiativeDoc {
                address: format!("{hub}/initiative/{slug}"),
                hub: hub.clone(),
                hub_name: format!("Hub {}", i % 3),
                slug,
                name: (*name).to_owned(),
                summary: [
                    ("fr".to_owned(), (*fr).to_owned()),
                    ("en".to_owned(), (*en).to_owned()),
                ]
                .into(),
                description: [("fr".to_owned(), format!("{fr}. **{name}** à découvrir."))].into(),
                extra_text: "README: a solidarity project".to_owned(),
                themes: vec![Theme::ALL[i % Theme::ALL.len()].code().to_owned()],
                territories: vec![
                    Territory::parse(TERRITORIES[i % TERRITORIES.len()]).expect("a territory"),
                ],
                stage: Stage::ALL[i % Stage::ALL.len()].code().to_owned(),
                licences: vec![
                    if i % 2 == 0 {
                        "AGPL-3.0-or-later"
                    } else {
                        "MIT"
                    }
                    .to_owned(),
                ],
                labels: if i % 3 == 0 {
                    vec!["Fabrique".to_owned()]
                } else {
                    vec![]
                },
                labellers: if i % 3 == 0 { vec![hub] } else { vec![] },
                created: essaim_protocol::vectors::CREATED + i as u64,
                seq: 1,
            };
            index.upsert(&doc).expect("a valid document");
        }
        index.commit(1).expect("commits");
        index
    })
}

fn check(request: &SearchRequest, response: &SearchResponse) {
    assert!(response.hits.len() <= request.limit.min(essaim_node::index::MAX_LIMIT));
    assert!(response.hits.len() <= response.total);
    assert!(response.total <= NAMES.len());
}

/// Check one input.
pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let index = index();

    // The search page.
    let page = fuzzing::page_search(text);
    let link = page.href.strip_prefix('/').expect("a path");
    let again = fuzzing::page_search(link.strip_prefix('?').unwrap_or(link));
    assert_eq!(
        again.problems, 0,
        "the page's own link {} drops nothing",
        page.href
    );
    assert_eq!(
        again.request, page.request,
        "the page's own link {} reads back",
        page.href
    );
    match index.search(&page.request) {
        Ok(response) => check(&page.request, &response),
        Err(e) => panic!("the page's request {:?} is refused: {e}", page.request),
    }

    // The JSON API.
    match fuzzing::api_search(text) {
        Ok(request) => match index.search(&request) {
            Ok(response) => check(&request, &response),
            Err(IndexError::BadQuery { .. }) => {}
            Err(e) => panic!("the API's request {request:?} failed: {e}"),
        },
        Err(refusal) => {
            assert!((400..500).contains(&refusal.status), "{refusal:?}");
            assert!(!refusal.code.is_empty());
        }
    }

    // The text typed in the box.
    let request = SearchRequest {
        q: text.to_owned(),
        ..SearchRequest::default()
    };
    match index.search(&request) {
        Ok(response) => check(&request, &response),
        Err(e) => panic!("the text {text:?} is refused: {e}"),
    }
}
