//! Property tests: round trips of every kind, canonical uniqueness, the
//! last-writer-wins order, and tamper detection at every byte.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use essaim_protocol::envelope::RecordId;
use essaim_protocol::record::{
    Carrier, Contact, Endorsement, Hub, Indicator, Initiative, KindTag, LangMap, Needs,
    Replication, Repository, Retraction, Subject,
};
use essaim_protocol::territory::{self, Territory};
use essaim_protocol::vectors;
use essaim_protocol::vocab::{
    Audience, EndorsementType, HubKind, Kind, LegalForm, ReplicationModel, Stage, Theme,
};
use essaim_protocol::{Address, Body, HubKey, Version, sign, verify};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

const NOW: u64 = vectors::NOW;

fn key() -> HubKey {
    vectors::key(1)
}

fn territories() -> Vec<Territory> {
    let mut all: Vec<Territory> = territory::regions().collect();
    all.extend(territory::departements());
    for dep in ["dep:69", "dep:2A", "dep:971"] {
        all.extend(territory::communes_of(dep.parse().unwrap()).take(50));
    }
    all
}

fn slug() -> impl Strategy<Value = essaim_protocol::record::Slug> {
    "[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,3}".prop_map(|s| s.parse().unwrap())
}

fn line() -> impl Strategy<Value = String> {
    "[A-Za-zÀ-ÿ0-9'’ ,.!?-]{0,60}[a-zé]"
}

fn paragraph() -> impl Strategy<Value = String> {
    "[A-Za-zÀ-ÿ0-9 ,.\n#*_-]{0,300}[a-z]"
}

fn lang_map(french: bool) -> impl Strategy<Value = LangMap> {
    (paragraph(), proptest::option::of(paragraph())).prop_map(move |(fr, en)| {
        let mut map = LangMap::new();
        if french {
            map.insert("fr".parse().unwrap(), fr);
        }
        if let Some(en) = en {
            map.insert("en".parse().unwrap(), en);
        }
        map
    })
}

fn url() -> impl Strategy<Value = essaim_protocol::record::WebUrl> {
    "[a-z]{1,10}".prop_map(|s| format!("https://{s}.example.org/{s}").parse().unwrap())
}

fn contact() -> impl Strategy<Value = Contact> {
    (
        proptest::option::of(line()),
        "[a-z]{1,8}",
        proptest::option::of(url()),
    )
        .prop_map(|(name, local, url)| Contact {
            name,
            email: Some(format!("{local}@example.org").parse().unwrap()),
            url,
        })
}

fn initiative() -> impl Strategy<Value = Body> {
    let places = territories();
    (
        (
            slug(),
            0..1u64 << 40,
            0..NOW,
            line(),
            lang_map(true),
            lang_map(false),
        ),
        (
            subsequence(Theme::ALL.to_vec(), 1..=5).prop_shuffle(),
            subsequence(Audience::ALL.to_vec(), 0..=5),
            select(places.clone()),
            subsequence(places.clone(), 0..=6),
            select(Stage::ALL.to_vec()),
        ),
        (
            proptest::option::of((
                line(),
                proptest::option::of(select(LegalForm::ALL.to_vec())),
            )),
            proptest::option::of((
                select(ReplicationModel::ALL.to_vec()),
                proptest::option::of(url()),
            )),
            proptest::collection::vec(
                (
                    slug(),
                    url(),
                    select(vec!["MIT", "AGPL-3.0-or-later", "EUPL-1.2 OR MIT"]),
                    proptest::option::of("[0-9a-f]{40}"),
                ),
                0..3,
            ),
            proptest::collection::vec((line(), -1_000_000i64..1_000_000, "[a-z%]{1,10}"), 0..3),
            subsequence((1..=17u64).collect::<Vec<_>>(), 0..5),
            proptest::option::of((
                proptest::option::of(0..1u64 << 50),
                proptest::collection::vec(line(), 1..3),
                subsequence(places, 0..3),
            )),
            proptest::collection::vec(contact(), 0..3),
            proptest::option::of(url()),
        ),
    )
        .prop_map(|(head, lists, extras)| {
            let (slug, seq, created, name, summary, description) = head;
            let (themes, audiences, origin, deployed, stage) = lists;
            let (carrier, replication, repos, impact, sdgs, needs, contacts, website) = extras;
            let mut names = std::collections::HashSet::new();
            Body::Initiative(Initiative {
                v: 1,
                kind: KindTag,
                author: key().hub_id(),
                slug,
                seq,
                created,
                name: format!("I{name}"),
                summary,
                description,
                themes,
                audiences,
                carrier: carrier.map(|(name, legal_form)| Carrier {
                    name: format!("C{name}"),
                    legal_form,
                    siren: Some("356000000".parse().unwrap()),
                }),
                origin,
                territories: deployed,
                stage,
                replication: replication.map(|(model, kit)| Replication { model, kit }),
                repositories: repos
                    .into_iter()
                    .filter(|(name, ..)| names.insert(name.clone()))
                    .map(|(name, url, licence, commit)| Repository {
                        name,
                        url,
                        licence: licence.parse().unwrap(),
                        commit: commit.map(|c| c.parse().unwrap()),
                    })
                    .collect(),
                impact: impact
                    .into_iter()
                    .map(|(name, value, unit)| Indicator {
                        name: format!("N{name}"),
                        value,
                        unit,
                        period: Some("2025".into()),
                    })
                    .collect(),
                sdgs: sdgs
                    .into_iter()
                    .map(|n| essaim_protocol::record::Sdg::new(n).unwrap())
                    .collect(),
                needs: needs.map(|(funding_cents, partners, territories)| Needs {
                    funding_cents,
                    partners: partners.into_iter().map(|p| format!("P{p}")).collect(),
                    territories,
                }),
                contacts,
                website,
            })
        })
}

fn hub() -> impl Strategy<Value = Body> {
    (
        0..1u64 << 40,
        line(),
        select(HubKind::ALL.to_vec()),
        subsequence(territories(), 0..4),
        lang_map(false),
        proptest::option::of(contact()),
    )
        .prop_map(|(seq, name, hub_kind, territories, description, contact)| {
            Body::Hub(Hub {
                v: 1,
                kind: KindTag,
                author: key().hub_id(),
                slug: "profile".parse().unwrap(),
                seq,
                created: NOW - 10,
                name: format!("H{name}"),
                hub_kind,
                territories,
                description,
                website: None,
                contact,
                endpoints: None,
            })
        })
}

fn endorsement() -> impl Strategy<Value = Body> {
    (
        slug(),
        slug(),
        select(EndorsementType::ALL.to_vec()),
        select(territories()),
        1..1u64 << 40,
        line(),
        proptest::option::of(line()),
        any::<bool>(),
    )
        .prop_map(
            |(slug, target, endorsement, territory, amount, text, comment, revoked)| {
                use EndorsementType as T;
                let subject = if endorsement == T::Recommendation {
                    Subject::Hub(vectors::key(2).hub_id())
                } else {
                    Subject::Initiative(Address {
                        author: vectors::key(2).hub_id(),
                        kind: Kind::Initiative,
                        slug: target,
                    })
                };
                Body::Endorsement(Endorsement {
                    v: 1,
                    kind: KindTag,
                    author: key().hub_id(),
                    slug,
                    seq: 1,
                    created: NOW - 100,
                    subject,
                    endorsement,
                    label: (endorsement == T::Label).then(|| format!("L{text}")),
                    territory: matches!(endorsement, T::Replication | T::Funding)
                        .then_some(territory),
                    carrier: (endorsement == T::Replication).then(|| format!("C{text}")),
                    amount_cents: (endorsement == T::Funding).then_some(amount),
                    programme: (endorsement == T::Funding).then(|| format!("P{text}")),
                    comment: comment.map(|c| format!("c{c}")),
                    valid_until: None,
                    revoked,
                })
            },
        )
}

fn retraction() -> impl Strategy<Value = Body> {
    (
        slug(),
        select(vec![Kind::Initiative, Kind::Endorsement]),
        proptest::option::of(line()),
    )
        .prop_map(|(slug, target, reason)| {
            Body::Retraction(Retraction {
                v: 1,
                kind: KindTag,
                author: key().hub_id(),
                slug,
                seq: 9,
                created: NOW,
                target,
                reason: reason.map(|r| format!("R{r}")),
            })
        })
}

fn any_body() -> impl Strategy<Value = Body> {
    prop_oneof![initiative(), hub(), endorsement(), retraction()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Encode, decode, encode: the same body and the same bytes; sign and
    /// verify: the same record.
    #[test]
    fn every_kind_round_trips(body in any_body()) {
        let payload = body.to_payload().unwrap();
        let decoded = Body::from_payload(&payload).unwrap();
        prop_assert_eq!(&decoded, &body);
        prop_assert_eq!(decoded.to_payload().unwrap(), payload.clone());
        let record = sign(body.clone(), &key(), NOW).unwrap();
        prop_assert_eq!(record.payload(), payload.as_slice());
        let again = verify(&record.to_envelope(), NOW).unwrap();
        prop_assert_eq!(again.body(), &body);
        prop_assert_eq!(again.id(), RecordId::of(&payload));
        // The JSON view verifies too, and its body reads back as the same body.
        let view = serde_json::to_string(&record.to_json_view()).unwrap();
        prop_assert_eq!(essaim_protocol::verify_json(&view, NOW).unwrap(), record.clone());
        let json_body = Body::from_json(record.to_json_view().body_value().unwrap()).unwrap();
        prop_assert_eq!(json_body, body);
    }

    /// Canonical uniqueness: two bodies have the same payload exactly when
    /// they are equal, so one logical record has one id.
    #[test]
    fn payloads_are_unique(a in any_body(), b in any_body()) {
        let (pa, pb) = (a.to_payload().unwrap(), b.to_payload().unwrap());
        prop_assert_eq!(a == b, pa == pb);
    }

    /// Last-writer-wins is a total order on (seq, id).
    #[test]
    fn lww_is_a_total_order(
        a in (0..4u64, any::<[u8; 32]>()),
        b in (0..4u64, any::<[u8; 32]>()),
        c in (0..4u64, any::<[u8; 32]>()),
        same_id in any::<bool>(),
    ) {
        let v = |(seq, id): (u64, [u8; 32])| Version { seq, id: RecordId(id) };
        let (a, mut b, c) = (v(a), v(b), v(c));
        if same_id { b.id = a.id; }
        // Totality and antisymmetry: exactly one of <, =, >.
        let relations = [a < b, a == b, a > b].iter().filter(|r| **r).count();
        prop_assert_eq!(relations, 1);
        prop_assert_eq!(a == b, a.seq == b.seq && a.id == b.id);
        // Transitivity.
        if a <= b && b <= c { prop_assert!(a <= c); }
        // Higher seq wins whatever the ids; equal seq: larger id wins.
        if a.seq != b.seq { prop_assert_eq!(a.supersedes(&b), a.seq > b.seq); }
        else { prop_assert_eq!(a.supersedes(&b), a.id > b.id); }
        // The head of a set does not depend on the order of arrival.
        let mut forward = [a, b, c];
        let head = *forward.iter().max().unwrap();
        forward.reverse();
        prop_assert_eq!(*forward.iter().max().unwrap(), head);
    }

    /// Arbitrary bytes never verify and never panic.
    #[test]
    fn garbage_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(verify(&bytes, NOW).is_err());
        let _ = Body::from_payload(&bytes);
    }

    /// Several random changes to a valid envelope are always detected.
    #[test]
    fn random_tampering_is_refused(
        body in any_body(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let envelope = sign(body, &key(), NOW).unwrap().to_envelope();
        let mut tampered = envelope.clone();
        for (at, xor) in edits {
            let i = at.index(tampered.len());
            tampered[i] ^= xor;
        }
        if tampered != envelope {
            prop_assert!(verify(&tampered, NOW).is_err());
        }
    }
}

/// Flipping any single byte of a signed record, at every position and with
/// three different masks, makes verification fail: exhaustive over several
/// records of every kind.
#[test]
fn flipping_any_byte_is_detected() {
    let records: Vec<Vec<u8>> = vectors::generate()
        .into_iter()
        .filter(|v| v.expected["valid"] == serde_json::json!(true) && v.envelope_hex.is_some())
        .map(|v| {
            let hex = v.envelope_hex.unwrap();
            (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect()
        })
        .collect();
    assert!(records.len() >= 8);
    let mut checked = 0;
    for envelope in &records {
        verify(envelope, NOW).expect("the original verifies");
        for i in 0..envelope.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut flipped = envelope.clone();
                flipped[i] ^= mask;
                assert!(
                    verify(&flipped, NOW).is_err(),
                    "flipping byte {i} with {mask:#04x} went unnoticed"
                );
                checked += 1;
            }
        }
    }
    println!(
        "{checked} single-byte alterations of {} records refused",
        records.len()
    );
}

/// A payload re-encoded in a non-canonical way (here: a length written on
/// more bytes than needed) is refused even when correctly signed.
#[test]
fn a_re_encoded_non_canonical_payload_is_refused() {
    let record = sign(
        Body::from_json(vectors::full_initiative()).unwrap(),
        &key(),
        NOW,
    )
    .unwrap();
    let payload = record.payload();
    // The top-level map header is 0xa0 + n (n < 24 entries); rewrite it as
    // 0xb8 n, the same length on one more byte: non-minimal.
    let header = payload[0];
    assert_eq!(header & 0xe0, 0xa0, "a map");
    let entries = header & 0x1f;
    assert!(entries < 24);
    let mut long = vec![0xb8, entries];
    long.extend_from_slice(&payload[1..]);
    let sig = ed25519_dalek::Signer::sign(
        key().signing_key(),
        &[b"essaim/record/v1\0".as_slice(), &long].concat(),
    );
    let view = serde_json::json!({
        "id": RecordId::of(&long).to_string(),
        "payload": base64_url(&long),
        "sig": base64_url(&sig.to_bytes()),
    });
    let err = essaim_protocol::verify_json(&view.to_string(), NOW).unwrap_err();
    assert_eq!(err.code(), "non_canonical", "{err}");
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
