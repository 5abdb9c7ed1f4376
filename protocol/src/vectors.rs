//! Test vectors: signed records made from fixed seeds, valid and invalid,
//! each with the outcome every implementation must reach.
//!
//! `specs/vectors/` holds them, one JSON file each, written by
//! `cargo run -p essaim-protocol --example gen_vectors -- specs/vectors`;
//! the crate's `vectors` test checks every file and that a fresh generation
//! gives the same bytes. Generation is deterministic: fixed seeds, fixed
//! times, and Ed25519 signatures are deterministic.
//!
//! The generator refuses to write a vector whose outcome differs from the
//! one it was meant to show, so the files document intent and behaviour at once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};

use crate::envelope::{RecordJson, verify, verify_view};
use crate::error::RecordError;
use crate::hub_id::HubKey;

/// The "current time" of every vector: 2026-09-21T13:33:20Z.
pub const NOW: u64 = 1_790_000_000;
/// `created` of the vectors' records: one hour before [`NOW`].
pub const CREATED: u64 = NOW - 3_600;

/// One vector, as written to `specs/vectors/<name>.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Vector {
    /// File name without `.json`.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The current time to verify at, unix seconds.
    pub now: u64,
    /// The envelope bytes, hex (absent when `json_view` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope_hex: Option<String>,
    /// A JSON view (absent when `envelope_hex` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_view: Option<Value>,
    /// What verification must give.
    pub expected: Value,
}

impl Vector {
    /// The file's content: pretty JSON and a final newline.
    pub fn to_file(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a vector is plain data");
        text.push('\n');
        text
    }

    /// Verify the vector's input as an implementation would.
    pub fn run(&self) -> Result<crate::SignedRecord, RecordError> {
        match (&self.envelope_hex, &self.json_view) {
            (Some(hex), None) => verify(&from_hex(hex), self.now),
            (None, Some(view)) => {
                let view: RecordJson =
                    serde_json::from_value(view.clone()).map_err(|e| RecordError::View {
                        reason: e.to_string(),
                    })?;
                verify_view(&view, self.now)
            }
            _ => Err(RecordError::View {
                reason: "a vector has exactly one of envelope_hex and json_view".into(),
            }),
        }
    }

    /// Check that running the vector gives its expected outcome.
    pub fn check(&self) -> Result<(), String> {
        let got = outcome(&self.run());
        if got == self.expected {
            Ok(())
        } else {
            Err(format!(
                "{}: expected {}, got {}",
                self.name, self.expected, got
            ))
        }
    }
}

/// The expected-outcome object of a verification result.
pub fn outcome(result: &Result<crate::SignedRecord, RecordError>) -> Value {
    match result {
        Ok(record) => json!({
            "valid": true,
            "id": record.id().to_string(),
            "address": record.address().to_string(),
            "author": record.body().author().to_string(),
        }),
        Err(e) => match e.field() {
            Some(field) => json!({"valid": false, "code": e.code(), "field": field}),
            None => json!({"valid": false, "code": e.code()}),
        },
    }
}

/// The `did:key` text of raw key bytes, valid or not.
fn did_key(key: &[u8; 32]) -> String {
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(key);
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .filter_map(|i| text.get(2 * i..2 * i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

/// The key of a vector hub: seed `[n; 32]`.
pub fn key(n: u8) -> HubKey {
    HubKey::from_seed(&[n; 32])
}

/// A complete initiative body (every field), signed by hub 1, as JSON.
pub fn full_initiative() -> Value {
    let author = key(1).hub_id().to_string();
    json!({
        "v": 1, "kind": "initiative", "author": author, "slug": "epicerie-solidaire",
        "seq": 1, "created": CREATED,
        "name": "Épicerie solidaire de la Guillotière",
        "summary": {"fr": "Une épicerie où chacun paie selon ses moyens.", "en": "A grocery where everyone pays what they can."},
        "description": {"fr": "## Principe\n\nLes prix sont modulés selon le quotient familial.\n"},
        "themes": ["alimentation", "pauvrete"],
        "audiences": ["personnes-precaires", "familles"],
        "carrier": {"name": "Association Paniers Communs", "legal_form": "association", "siren": "356000000"},
        "origin": "com:69123",
        "territories": ["com:69123", "com:69266", "dep:42"],
        "stage": "essaimage",
        "replication": {"model": "franchise", "kit": "https://example.org/kit"},
        "repositories": [{
            "name": "caisse", "url": "https://framagit.org/paniers-communs/caisse",
            "licence": "AGPL-3.0-or-later", "commit": "0123456789abcdef0123456789abcdef01234567"
        }],
        "impact": [{"name": "Foyers accompagnés", "value": 420, "unit": "foyers", "period": "2025"}],
        "sdgs": [1, 2, 10],
        "needs": {"funding_cents": 4_500_000, "partners": ["Une banque alimentaire"], "territories": ["dep:38"]},
        "contacts": [{"name": "Coordination", "email": "contact@example.org"}],
        "website": "https://example.org/"
    })
}

/// The smallest valid initiative.
pub fn minimal_initiative() -> Value {
    json!({
        "v": 1, "kind": "initiative", "author": key(1).hub_id().to_string(),
        "slug": "atelier-velo", "seq": 1, "created": CREATED,
        "name": "Atelier vélo participatif",
        "summary": {"fr": "On répare son vélo ensemble."},
        "themes": ["mobilite"], "origin": "com:38185", "stage": "emergence"
    })
}

fn endorsement(extra: Value) -> Value {
    let mut body = json!({
        "v": 1, "kind": "endorsement", "author": key(2).hub_id().to_string(),
        "slug": "pionnier-2026", "seq": 1, "created": CREATED,
        "subject": format!("{}/initiative/epicerie-solidaire", key(1).hub_id()),
    });
    merge(&mut body, extra);
    body
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
        for (k, v) in extra {
            if v.is_null() {
                map.remove(&k);
            } else {
                map.insert(k, v);
            }
        }
    }
}

fn with(mut body: Value, extra: Value) -> Value {
    merge(&mut body, extra);
    body
}

/// Encode a JSON body as DAG-CBOR (canonical: the encoder sorts keys).
fn payload_of(body: &Value) -> Vec<u8> {
    serde_ipld_dagcbor::to_vec(body).expect("JSON values encode as DAG-CBOR")
}

/// Sign payload bytes with no checks at all, to make invalid records.
fn envelope(payload: &[u8], key: &HubKey) -> Vec<u8> {
    let sig = key.sign_payload(payload).to_bytes();
    envelope_parts(payload, &sig)
}

fn envelope_parts(payload: &[u8], sig: &[u8]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a> {
        #[serde(with = "serde_bytes")]
        payload: &'a [u8],
        #[serde(with = "serde_bytes")]
        sig: &'a [u8],
    }
    serde_ipld_dagcbor::to_vec(&Envelope { payload, sig }).expect("two byte strings encode")
}

struct Builder {
    vectors: Vec<Vector>,
}

impl Builder {
    fn push(&mut self, name: &str, description: &str, now: u64, input: Input, expected: Value) {
        let (envelope_hex, json_view) = match input {
            Input::Envelope(bytes) => (Some(hex(&bytes)), None),
            Input::View(view) => (None, Some(view)),
        };
        let vector = Vector {
            name: name.into(),
            description: description.into(),
            now,
            envelope_hex,
            json_view,
            expected,
        };
        // Fill in the ids of valid vectors from the run; check invalid ones.
        let got = outcome(&vector.run());
        let vector = if vector.expected == json!({"valid": true}) {
            assert_eq!(
                got["valid"],
                json!(true),
                "{name}: meant to be valid, got {got}"
            );
            Vector {
                expected: got,
                ..vector
            }
        } else {
            assert_eq!(got, vector.expected, "{name}: outcome differs from intent");
            vector
        };
        self.vectors.push(vector);
    }

    fn valid(&mut self, name: &str, description: &str, body: Value) {
        let payload = payload_of(&body);
        let author = if body["author"] == json!(key(2).hub_id().to_string()) {
            2
        } else {
            1
        };
        self.push(
            name,
            description,
            NOW,
            Input::Envelope(envelope(&payload, &key(author))),
            json!({"valid": true}),
        );
    }

    fn invalid(
        &mut self,
        name: &str,
        description: &str,
        body: Value,
        code: &str,
        field: Option<&str>,
    ) {
        let payload = payload_of(&body);
        let author = if body["author"] == json!(key(2).hub_id().to_string()) {
            2
        } else {
            1
        };
        let expected = expectation(code, field);
        self.push(
            name,
            description,
            NOW,
            Input::Envelope(envelope(&payload, &key(author))),
            expected,
        );
    }
}

fn expectation(code: &str, field: Option<&str>) -> Value {
    match field {
        Some(field) => json!({"valid": false, "code": code, "field": field}),
        None => json!({"valid": false, "code": code}),
    }
}

enum Input {
    Envelope(Vec<u8>),
    View(Value),
}

/// Every vector, in a fixed order.
pub fn generate() -> Vec<Vector> {
    let mut b = Builder {
        vectors: Vec::new(),
    };
    let hub1 = key(1).hub_id().to_string();
    let hub2 = key(2).hub_id().to_string();

    // --- valid records of every kind -------------------------------------
    b.valid("valid-hub", "A hub profile.", json!({
        "v": 1, "kind": "hub", "author": hub2, "slug": "profile", "seq": 1, "created": CREATED,
        "name": "Ruche Lyon Part-Dieu", "hub_kind": "ruche", "territories": ["dep:69"],
        "website": "https://ruche.example.org/",
        "contact": {"email": "bonjour@ruche.example.org"},
        "endpoints": {"multiaddrs": ["/ip4/203.0.113.7/tcp/4001"], "http": "https://ruche.example.org/essaim/"}
    }));
    b.valid(
        "valid-initiative-minimal",
        "The smallest valid initiative: required fields only.",
        minimal_initiative(),
    );
    b.valid(
        "valid-initiative-full",
        "An initiative with every field.",
        full_initiative(),
    );
    b.valid(
        "valid-region-and-departement-84",
        "reg:84 (Auvergne-Rhône-Alpes) and dep:84 (Vaucluse) are different territories and may both appear.",
        with(minimal_initiative(), json!({"territories": ["reg:84", "dep:84", "dep:2A", "com:97101"]})),
    );
    b.valid("valid-endorsement-label", "A label granted by hub 2 to hub 1's initiative.",
        endorsement(json!({"type": "label", "label": "French Impact — Pionnier", "valid_until": NOW + 365 * 86_400})));
    b.valid("valid-endorsement-replication", "Hub 2 states the initiative now runs in Saint-Étienne.",
        endorsement(json!({"slug": "essaimage-saint-etienne", "type": "replication", "territory": "com:42218", "carrier": "Centre social du Crêt de Roc"})));
    b.valid("valid-endorsement-funding", "Hub 2 funds the initiative: 15 000,00 € in the Loire.",
        endorsement(json!({"slug": "fonds-2026", "type": "funding", "amount_cents": 1_500_000, "programme": "Fonds d'essaimage 2026", "territory": "dep:42"})));
    b.valid("valid-endorsement-recommendation", "Hub 2 recommends hub 1 itself.",
        endorsement(json!({"slug": "recommandation", "type": "recommendation", "subject": hub1, "comment": "Accompagnement exemplaire."})));
    b.valid("valid-endorsement-revoked", "A later version of a label, revoked.",
        endorsement(json!({"seq": 2, "type": "label", "label": "French Impact — Pionnier", "revoked": true})));
    b.valid("valid-retraction", "Hub 1 withdraws its initiative `atelier-velo`.", json!({
        "v": 1, "kind": "retraction", "author": hub1, "slug": "atelier-velo", "seq": 2, "created": CREATED,
        "target": "initiative", "reason": "Projet arrêté."
    }));
    b.valid(
        "valid-created-at-skew-limit",
        "`created` exactly 600 s in the future is tolerated.",
        with(minimal_initiative(), json!({"created": NOW + 600})),
    );
    {
        let payload = payload_of(&minimal_initiative());
        let sig = key(1).sign_payload(&payload).to_bytes();
        let id = crate::envelope::RecordId::of(&payload).to_string();
        let view = json!({"id": id, "payload": URL_SAFE_NO_PAD.encode(&payload), "sig": URL_SAFE_NO_PAD.encode(sig)});
        b.push(
            "valid-json-view",
            "The JSON view of a record, without the optional body.",
            NOW,
            Input::View(view.clone()),
            json!({"valid": true}),
        );
        let record = crate::verify_json(&view.to_string(), NOW).expect("checked just above");
        let mut with_body = serde_json::to_value(record.to_json_view()).expect("plain data");
        b.push(
            "valid-json-view-with-body",
            "The JSON view with its body.",
            NOW,
            Input::View(with_body.clone()),
            json!({"valid": true}),
        );
        with_body["body"]["name"] = json!("Atelier vélo (modifié)");
        b.push(
            "invalid-json-view-body-edited",
            "The readable body was edited, the signed payload was not.",
            NOW,
            Input::View(with_body),
            expectation("view_mismatch", Some("body")),
        );
        let mut bad_id = view.clone();
        bad_id["id"] = json!("00".repeat(32));
        b.push(
            "invalid-json-view-wrong-id",
            "The view's id is not the SHA-256 of its payload.",
            NOW,
            Input::View(bad_id),
            expectation("view_mismatch", Some("id")),
        );
    }

    // --- signatures and envelopes ----------------------------------------
    let payload = payload_of(&minimal_initiative());
    {
        let mut tampered = payload.clone();
        let at = tampered
            .windows(7)
            .position(|w| w == b"atelier")
            .expect("the name is in the payload");
        tampered[at] = b'A';
        let sig = key(1).sign_payload(&payload).to_bytes();
        b.push(
            "invalid-tampered-payload",
            "One byte of the payload changed after signing.",
            NOW,
            Input::Envelope(envelope_parts(&tampered, &sig)),
            expectation("bad_signature", None),
        );
    }
    b.push(
        "invalid-wrong-signer",
        "Signed by hub 2 while the author is hub 1.",
        NOW,
        Input::Envelope(envelope(&payload, &key(2))),
        expectation("bad_signature", None),
    );
    {
        let mut sig = key(1).sign_payload(&payload).to_bytes();
        sig[63] ^= 0x01;
        b.push(
            "invalid-signature-bit-flipped",
            "The last bit of the signature flipped.",
            NOW,
            Input::Envelope(envelope_parts(&payload, &sig)),
            expectation("bad_signature", None),
        );
        let short = &key(1).sign_payload(&payload).to_bytes()[..63];
        b.push(
            "invalid-signature-length",
            "A 63-byte signature.",
            NOW,
            Input::Envelope(envelope_parts(&payload, short)),
            expectation("signature_length", None),
        );
        let no_domain = ed25519_dalek::Signer::sign(key(1).signing_key(), &payload).to_bytes();
        b.push(
            "invalid-signature-without-domain",
            "Signed over the bare payload, without the `essaim/record/v1\\0` prefix.",
            NOW,
            Input::Envelope(envelope_parts(&payload, &no_domain)),
            expectation("bad_signature", None),
        );
    }
    {
        let mut trailing = envelope(&payload, &key(1));
        trailing.push(0x00);
        b.push(
            "invalid-envelope-trailing-byte",
            "A byte after the end of the envelope.",
            NOW,
            Input::Envelope(trailing),
            expectation("bad_envelope", None),
        );
        #[derive(Serialize)]
        struct ThreeKeys<'a> {
            #[serde(with = "serde_bytes")]
            payload: &'a [u8],
            #[serde(with = "serde_bytes")]
            sig: &'a [u8],
            x: u8,
        }
        let sig = key(1).sign_payload(&payload).to_bytes();
        let extra = serde_ipld_dagcbor::to_vec(&ThreeKeys {
            payload: &payload,
            sig: &sig,
            x: 1,
        })
        .expect("two byte strings and an integer encode");
        b.push(
            "invalid-envelope-extra-key",
            "An envelope with a third key.",
            NOW,
            Input::Envelope(extra),
            expectation("bad_envelope", None),
        );
    }
    {
        // `v` encoded as 0x18 0x01 instead of 0x01: a non-minimal integer.
        let at = payload
            .windows(3)
            .position(|w| w == [0x61, b'v', 0x01])
            .expect("v = 1 is in the payload");
        let mut long = payload.clone();
        long.splice(at + 2..at + 3, [0x18, 0x01]);
        b.push(
            "invalid-non-canonical-integer",
            "`v` encoded on two bytes (non-minimal), then signed.",
            NOW,
            Input::Envelope(envelope(&long, &key(1))),
            expectation("non_canonical", None),
        );
        let mut body = minimal_initiative();
        body["website"] = Value::Null;
        let with_null = payload_of(&body);
        b.push(
            "invalid-non-canonical-null",
            "An optional field present as `null` instead of absent.",
            NOW,
            Input::Envelope(envelope(&with_null, &key(1))),
            expectation("non_canonical", None),
        );
    }

    // --- format and field rules ------------------------------------------
    b.invalid(
        "invalid-unknown-field",
        "A field that format version 1 does not define.",
        with(minimal_initiative(), json!({"colour": "bleu"})),
        "unknown_field",
        Some("colour"),
    );
    b.invalid(
        "invalid-missing-field",
        "An initiative without `name`.",
        with(minimal_initiative(), json!({"name": null})),
        "missing_field",
        Some("name"),
    );
    b.invalid(
        "invalid-version-2",
        "`v` = 2.",
        with(minimal_initiative(), json!({"v": 2})),
        "unsupported_version",
        Some("v"),
    );
    b.invalid(
        "invalid-unknown-kind",
        "`kind` = `event`.",
        with(minimal_initiative(), json!({"kind": "event"})),
        "unknown_term",
        Some("kind"),
    );
    b.invalid(
        "invalid-future-created",
        "`created` 601 s in the future.",
        with(minimal_initiative(), json!({"created": NOW + 601})),
        "future_created",
        Some("created"),
    );
    b.invalid(
        "invalid-seq-above-2-53",
        "`seq` = 2^53, above the largest safe integer.",
        with(minimal_initiative(), json!({"seq": 1u64 << 53})),
        "integer_range",
        Some("seq"),
    );
    {
        let huge = "é".repeat(33_000);
        b.invalid(
            "invalid-oversize-payload",
            "A payload over 64 KiB.",
            with(minimal_initiative(), json!({"description": {"fr": huge}})),
            "too_large",
            None,
        );
    }
    b.invalid(
        "invalid-unknown-commune",
        "`com:69999` is no commune.",
        with(minimal_initiative(), json!({"origin": "com:69999"})),
        "unknown_commune",
        Some("origin"),
    );
    b.invalid(
        "invalid-territory-syntax",
        "`dep:84x` is not a territory code.",
        with(
            minimal_initiative(),
            json!({"territories": ["dep:69", "dep:84x"]}),
        ),
        "territory_syntax",
        Some("territories[1]"),
    );
    b.invalid(
        "invalid-arrondissement",
        "`com:69381` is an arrondissement of Lyon, not a commune.",
        with(minimal_initiative(), json!({"origin": "com:69381"})),
        "arrondissement_not_commune",
        Some("origin"),
    );
    b.invalid("invalid-spdx", "`GPL-17` is not an SPDX licence.",
        with(full_initiative(), json!({"repositories": [{"name": "caisse", "url": "https://framagit.org/x/caisse", "licence": "GPL-17"}]})),
        "bad_spdx", Some("repositories[0].licence"));
    b.invalid(
        "invalid-siren",
        "A SIREN whose Luhn check digit is wrong.",
        with(
            full_initiative(),
            json!({"carrier": {"name": "Association Paniers Communs", "siren": "356000001"}}),
        ),
        "bad_siren",
        Some("carrier.siren"),
    );
    b.invalid(
        "invalid-slug",
        "A slug with an accent and a capital.",
        with(minimal_initiative(), json!({"slug": "Atelier-vélo"})),
        "bad_slug",
        Some("slug"),
    );
    b.invalid(
        "invalid-theme",
        "A theme outside the vocabulary.",
        with(minimal_initiative(), json!({"themes": ["velo"]})),
        "unknown_term",
        Some("themes[0]"),
    );
    b.invalid(
        "invalid-duplicate-theme",
        "The same theme twice.",
        with(
            minimal_initiative(),
            json!({"themes": ["mobilite", "mobilite"]}),
        ),
        "duplicate",
        Some("themes[1]"),
    );
    b.invalid(
        "invalid-sdg-18",
        "There are 17 SDGs.",
        with(minimal_initiative(), json!({"sdgs": [3, 18]})),
        "bad_sdg",
        Some("sdgs[1]"),
    );
    b.invalid(
        "invalid-url-scheme",
        "A kit URL with the ftp scheme.",
        with(
            minimal_initiative(),
            json!({"replication": {"model": "souple", "kit": "ftp://example.org/kit"}}),
        ),
        "bad_url",
        Some("replication.kit"),
    );
    b.invalid("invalid-url-credentials", "A repository URL with credentials.",
        with(minimal_initiative(), json!({"repositories": [{"name": "code", "url": "https://user:secret@example.org/code.git", "licence": "MIT"}]})),
        "bad_url", Some("repositories[0].url"));
    b.invalid(
        "invalid-summary-without-french",
        "A summary in English only.",
        with(
            minimal_initiative(),
            json!({"summary": {"en": "Fix your bike together."}}),
        ),
        "french_required",
        Some("summary.fr"),
    );
    b.invalid(
        "invalid-name-too-long",
        "A name of 121 characters.",
        with(minimal_initiative(), json!({"name": "é".repeat(121)})),
        "length",
        Some("name"),
    );
    b.invalid(
        "invalid-label-without-name",
        "A label endorsement without its `label`.",
        endorsement(json!({"type": "label"})),
        "required_for_type",
        Some("label"),
    );
    b.invalid(
        "invalid-funding-with-label",
        "A funding endorsement carrying a `label`.",
        endorsement(
            json!({"type": "funding", "amount_cents": 100, "programme": "P", "label": "L"}),
        ),
        "not_allowed_for_type",
        Some("label"),
    );
    b.invalid(
        "invalid-hub-slug",
        "A hub record at another slug than `profile`.",
        json!({
            "v": 1, "kind": "hub", "author": hub2, "slug": "accueil", "seq": 1, "created": CREATED,
            "name": "Ruche", "hub_kind": "ruche"
        }),
        "hub_slug",
        Some("slug"),
    );
    b.invalid(
        "invalid-author",
        "An author that is not a did:key.",
        with(
            minimal_initiative(),
            json!({"author": "did:web:example.org"}),
        ),
        "bad_hub_id",
        Some("author"),
    );
    {
        // Hub 1's key plus a point of order 8: a valid curve point that
        // verify_strict would accept, but not a prime-order key.
        let edwards = key(1).signing_key().verifying_key().to_edwards();
        let mixed = (edwards + curve25519_dalek::constants::EIGHT_TORSION[1])
            .compress()
            .to_bytes();
        b.invalid(
            "invalid-author-torsion",
            "An author key with a small-order component (one secret could sign under eight ids).",
            with(minimal_initiative(), json!({"author": did_key(&mixed)})),
            "bad_hub_id",
            Some("author"),
        );
        // y = p + k: a second spelling of the point with y = k, for the
        // first small k where that point exists.
        let y = (3u8..=16)
            .map(|k| {
                let mut y = [0xffu8; 32];
                y[0] = 0xed + k;
                y[31] = 0x7f;
                y
            })
            .find(|y| ed25519_dalek::VerifyingKey::from_bytes(y).is_ok())
            .expect("some y = p + k with k ≤ 16 decompresses");
        b.invalid(
            "invalid-author-non-canonical-key",
            "An author key encoded with y ≥ p, a second spelling of a valid point.",
            with(minimal_initiative(), json!({"author": did_key(&y)})),
            "bad_hub_id",
            Some("author"),
        );
    }
    b.invalid(
        "invalid-self-label",
        "A hub labelling itself.",
        endorsement(json!({"type": "label", "label": "Auto-label", "subject": hub2})),
        "self_label",
        Some("subject"),
    );
    b.invalid(
        "invalid-empty-needs",
        "`needs` present but empty.",
        with(minimal_initiative(), json!({"needs": {}})),
        "empty_object",
        Some("needs"),
    );
    b.invalid(
        "invalid-licence-lower-case-operator",
        "`MIT or Apache-2.0`: operators are written in capitals (one spelling per expression).",
        with(
            minimal_initiative(),
            json!({"repositories": [{"name": "code", "url": "https://example.org/code.git", "licence": "MIT or Apache-2.0"}]}),
        ),
        "bad_spdx",
        Some("repositories[0].licence"),
    );
    b.vectors
}
