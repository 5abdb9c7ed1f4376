//! The sample catalogue of `essaim demo` loads, signs and verifies, and is
//! rich enough to show every part of the user interface: themes, stages,
//! régions (overseas included), labels, replications and funding.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::{BTreeMap, BTreeSet};

use essaim_node::catalogue::{self, SampleHub};
use essaim_protocol::record::{Endorsement, Initiative, Subject};
use essaim_protocol::territory::Level;
use essaim_protocol::vocab::{EndorsementType, Lang, WELL_KNOWN_LABELS};
use essaim_protocol::{Address, Body, Kind, Territory};

/// A fixed time, so that the test does not depend on the clock.
const NOW: u64 = 1_790_000_000;

fn initiatives(hub: &SampleHub) -> impl Iterator<Item = &Initiative> {
    hub.records.iter().filter_map(|r| match r.body() {
        Body::Initiative(i) => Some(i),
        _ => None,
    })
}

fn endorsements(hubs: &[SampleHub]) -> impl Iterator<Item = &Endorsement> {
    hubs.iter()
        .flat_map(|h| &h.records)
        .filter_map(|r| match r.body() {
            Body::Endorsement(e) => Some(e),
            _ => None,
        })
}

/// An initiative's body without its dates, to compare two loads.
fn timeless(i: &Initiative) -> Initiative {
    Initiative {
        seq: 0,
        created: 0,
        ..i.clone()
    }
}

#[test]
fn the_sample_catalogue_loads_signs_and_verifies() {
    let hubs = catalogue::sample(NOW).unwrap_or_else(|e| panic!("{e}"));
    assert!(hubs.len() >= 4, "{} hubs", hubs.len());

    // Every record verifies; addresses are unique; hubs are laid out as documented.
    let mut addresses = BTreeSet::new();
    let mut previous_created = 0;
    for hub in &hubs {
        assert_eq!(
            hub.hub_id(),
            catalogue::hub_key(hub.key_name).hub_id(),
            "{}",
            hub.key_name
        );
        let kinds: Vec<Kind> = hub.records.iter().map(|r| r.body().kind()).collect();
        assert_eq!(kinds.first(), Some(&Kind::Hub), "{}", hub.key_name);
        assert!(
            kinds.windows(2).all(|w| w[0] <= w[1]),
            "{}: hub, then initiatives, then endorsements",
            hub.key_name
        );
        for record in &hub.records {
            let verified = essaim_protocol::verify(&record.to_envelope(), NOW)
                .unwrap_or_else(|e| panic!("{}: {e}", record.address()));
            assert_eq!(verified.body(), record.body());
            assert_eq!(record.body().author(), &hub.hub_id());
            assert!(record.body().created() < NOW);
            assert_eq!(record.body().seq(), record.body().created() * 1000);
            assert!(
                addresses.insert(record.address()),
                "duplicate address {}",
                record.address()
            );
        }
        previous_created = previous_created.max(hub.records[0].body().created());
    }
    // The hub profiles come before every initiative and endorsement.
    let first_other = hubs
        .iter()
        .flat_map(|h| &h.records[1..])
        .map(|r| r.body().created())
        .min()
        .unwrap();
    assert!(previous_created < first_other);
    let times: BTreeSet<u64> = hubs
        .iter()
        .flat_map(|h| &h.records)
        .map(|r| r.body().created())
        .collect();
    assert_eq!(times.len(), addresses.len(), "distinct creation times");

    // Counts.
    let all: Vec<&Initiative> = hubs.iter().flat_map(initiatives).collect();
    assert!(all.len() >= 30, "{} initiatives", all.len());
    let well_known: Vec<&str> = WELL_KNOWN_LABELS.iter().map(|(fr, _)| *fr).collect();
    let count = |t: EndorsementType| endorsements(&hubs).filter(|e| e.endorsement == t).count();
    let known_labels = endorsements(&hubs)
        .filter(|e| e.label.as_deref().is_some_and(|l| well_known.contains(&l)))
        .count();
    let known_label_kinds: BTreeSet<&str> = endorsements(&hubs)
        .filter_map(|e| e.label.as_deref())
        .filter(|l| well_known.contains(l))
        .collect();
    assert!(known_labels >= 3, "{known_labels} well-known labels");
    assert_eq!(
        known_label_kinds.len(),
        well_known.len(),
        "{known_label_kinds:?}"
    );
    assert!(
        count(EndorsementType::Label) > known_labels,
        "free labels too"
    );
    assert!(count(EndorsementType::Replication) >= 2);
    assert!(count(EndorsementType::Funding) >= 2);
    assert!(count(EndorsementType::Recommendation) >= 1);

    // Every endorsement's subject is in the catalogue.
    let hub_ids: BTreeSet<_> = hubs.iter().map(SampleHub::hub_id).collect();
    for e in endorsements(&hubs) {
        match &e.subject {
            Subject::Hub(id) => assert!(hub_ids.contains(id), "{}: {id}", e.slug),
            Subject::Initiative(address) => {
                assert!(addresses.contains(address), "{}: {address}", e.slug)
            }
        }
    }
    // A replication or funding statement is about another hub's initiative.
    for e in endorsements(&hubs).filter(|e| {
        matches!(
            e.endorsement,
            EndorsementType::Replication | EndorsementType::Funding
        )
    }) {
        let Subject::Initiative(Address { author, .. }) = &e.subject else {
            panic!(
                "{}: a replication or funding is about an initiative",
                e.slug
            )
        };
        assert_ne!(author, &e.author, "{}", e.slug);
    }

    // Variety: themes, stages, replication models, régions.
    let themes: BTreeSet<_> = all.iter().flat_map(|i| &i.themes).collect();
    assert!(themes.len() >= 8, "{} themes", themes.len());
    let stages: BTreeSet<_> = all.iter().map(|i| i.stage).collect();
    assert_eq!(stages.len(), 5, "{stages:?}");
    let models: BTreeSet<_> = all
        .iter()
        .filter_map(|i| i.replication.as_ref())
        .map(|r| r.model)
        .collect();
    assert_eq!(models.len(), 4, "{models:?}");
    let region_of = |t: &Territory| t.region();
    let regions: BTreeSet<Territory> = all
        .iter()
        .flat_map(|i| std::iter::once(&i.origin).chain(&i.territories))
        .filter_map(region_of)
        .collect();
    assert!(regions.len() >= 8, "{} régions", regions.len());
    assert!(
        regions.iter().any(|r| r.code().starts_with('0')),
        "an overseas région"
    );
    assert!(regions.iter().any(|r| r.code() == "94"), "Corsica");
    // Initiatives are placed at commune level (for the map).
    for i in &all {
        assert_eq!(i.origin.level(), Level::Commune, "{}", i.slug);
        assert!(i.summary.contains_key(&"en".parse().unwrap()), "{}", i.slug);
        assert!(i.repositories.len() <= 1, "{}", i.slug);
    }

    // Deterministic: same hubs, same initiatives apart from time.
    let again = catalogue::sample(NOW + 3600).unwrap();
    assert_eq!(
        hubs.iter().map(SampleHub::hub_id).collect::<Vec<_>>(),
        again.iter().map(SampleHub::hub_id).collect::<Vec<_>>()
    );
    let first: Vec<Initiative> = all.iter().map(|i| timeless(i)).collect();
    let second: Vec<Initiative> = again.iter().flat_map(initiatives).map(timeless).collect();
    assert_eq!(first, second);

    // Summary.
    println!(
        "sample catalogue: {} hubs, {} initiatives, {} endorsements",
        hubs.len(),
        all.len(),
        endorsements(&hubs).count()
    );
    for hub in &hubs {
        let Body::Hub(profile) = hub.records[0].body() else {
            unreachable!()
        };
        let n = initiatives(hub).count();
        let e = hub.records.len() - 1 - n;
        println!(
            "  {:<20} {:<12} {:>2} initiatives {:>2} endorsements  {}",
            hub.key_name,
            profile.hub_kind.code(),
            n,
            e,
            hub.hub_id()
        );
    }
    let mut by_theme: BTreeMap<&str, usize> = BTreeMap::new();
    for theme in all.iter().flat_map(|i| &i.themes) {
        *by_theme.entry(theme.label(Lang::Fr)).or_default() += 1;
    }
    println!("themes ({}): {by_theme:?}", by_theme.len());
    let mut by_region: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &all {
        if let Some(region) = i.origin.region() {
            *by_region.entry(region.name()).or_default() += 1;
        }
    }
    println!("régions of origin ({}): {by_region:?}", by_region.len());
    let mut by_stage: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &all {
        *by_stage.entry(i.stage.code()).or_default() += 1;
    }
    println!("stages: {by_stage:?}");
    println!(
        "endorsements: {} labels ({known_labels} well-known), {} replications, {} funding, {} recommendations",
        count(EndorsementType::Label),
        count(EndorsementType::Replication),
        count(EndorsementType::Funding),
        count(EndorsementType::Recommendation)
    );
}

#[test]
fn keys_are_derived_from_the_key_name() {
    let names: Vec<&str> = catalogue::key_names().collect();
    assert_eq!(names[0], "ruche-lyon");
    let a = catalogue::hub_key("ruche-lyon").hub_id();
    assert_eq!(a, catalogue::hub_key("ruche-lyon").hub_id());
    assert_ne!(a, catalogue::hub_key("incubateur-nantes").hub_id());
}
