//! The sample catalogue that `essaim demo` loads into its local network of hubs.
//!
//! The data lives in `node/catalogue/<hub-key>.toml`, one file per hub, and is
//! embedded in the binary. Each file holds:
//!
//! - `[hub]`: the hub's profile draft (`name`, `hub_kind`, `territories`,
//!   `description`, `website`, `contact`); `kind = "hub"` and
//!   `slug = "profile"` are filled in;
//! - `[[initiative]]`: initiative drafts, as `essaim sign` reads them;
//! - `[[endorsement]]`: endorsement drafts, whose `subject` is written
//!   `<hub-key>/<initiative-slug>` for an initiative of a catalogue hub, or
//!   `<hub-key>` for a catalogue hub, and is rewritten to the full address
//!   (`did:key:z6Mk…/initiative/<slug>`) or hub id.
//!
//! Drafts carry no `v`, `author`, `seq` or `created`: every record is read
//! with [`crate::draft`] (so the same human forms are accepted) and signed
//! with its hub's key. Keys are deterministic, derived from the hub's key
//! name (see [`hub_key`]), so the demo hubs have the same ids on every run.
//! Records are dated in the recent past, in a realistic order: the hub
//! profiles first, then the initiatives, then the endorsements, each
//! [`STEP_SECS`] after the previous one, the last one [`STEP_SECS`] before
//! `now`; `seq` is `created` in milliseconds, as `essaim sign` does.
//!
//! Everything in the catalogue is fictitious (organisations, web sites,
//! repositories, addresses at `example.org` / `exemple.org`, figures), except
//! the territories, which are real INSEE codes. The repository URLs are
//! placeholders that the demo replaces with repositories it creates.

use std::collections::{BTreeMap, BTreeSet};

use essaim_protocol::{HubId, HubKey, RecordId, SignedRecord};
use serde_json::{Map, Value};

use crate::draft::{self, DraftError, Format};

/// The catalogue files, embedded at build time: (hub key name, TOML text).
/// The order is the order of [`sample`]'s result.
const FILES: &[(&str, &str)] = &[
    ("ruche-lyon", include_str!("../catalogue/ruche-lyon.toml")),
    (
        "incubateur-nantes",
        include_str!("../catalogue/incubateur-nantes.toml"),
    ),
    (
        "territoire-gironde",
        include_str!("../catalogue/territoire-gironde.toml"),
    ),
    (
        "reseau-national",
        include_str!("../catalogue/reseau-national.toml"),
    ),
    (
        "financeur-solidaire",
        include_str!("../catalogue/financeur-solidaire.toml"),
    ),
];

/// Seconds between the `created` times of two consecutive catalogue records.
pub const STEP_SECS: u64 = 60;

/// One hub of the sample catalogue, with its key and its signed records.
pub struct SampleHub {
    /// The hub's key name, also the name of its catalogue file (`ruche-lyon`).
    pub key_name: &'static str,
    /// The hub's signing key, derived from `key_name` by [`hub_key`].
    pub key: HubKey,
    /// Its records: the hub profile first, then its initiatives, then its
    /// endorsements, each in the order of the file.
    pub records: Vec<SignedRecord>,
}

impl SampleHub {
    /// The hub's id (`did:key:z6Mk…`).
    pub fn hub_id(&self) -> HubId {
        self.key.hub_id()
    }
}

/// Why the sample catalogue could not be loaded. The catalogue is embedded
/// and a test loads it, so this points at a mistake in `node/catalogue/`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A file is not valid TOML.
    #[error("sample catalogue {file}.toml is not valid TOML: {message}")]
    Syntax {
        /// The file's hub key name.
        file: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A file is valid TOML but not laid out as the catalogue expects.
    #[error("sample catalogue {file}.toml: {message}")]
    Layout {
        /// The file's hub key name.
        file: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An endorsement's subject names no hub or initiative of the catalogue.
    #[error(
        "sample catalogue {file}.toml, endorsement `{slug}`: subject `{subject}` is neither \
         `<hub>/<slug>` of a catalogue initiative nor `<hub>` of a catalogue hub"
    )]
    UnknownSubject {
        /// The file's hub key name.
        file: &'static str,
        /// The endorsement's slug.
        slug: String,
        /// The subject as written.
        subject: String,
    },
    /// A draft was refused, when reading it or when signing it.
    #[error("sample catalogue {file}.toml, {record}: {source}")]
    Record {
        /// The file's hub key name.
        file: &'static str,
        /// Which record (`hub`, `initiative \`slug\``…).
        record: String,
        /// Why (boxed, to keep the error small).
        source: Box<DraftError>,
    },
}

/// The key of a demo hub: the Ed25519 key whose seed is
/// SHA-256(`"essaim-demo/" + key_name`). Deterministic, and public: never
/// use these keys outside a demo.
pub fn hub_key(key_name: &str) -> HubKey {
    let seed = RecordId::of(format!("essaim-demo/{key_name}").as_bytes());
    HubKey::from_seed(&seed.0)
}

/// The key names of the catalogue hubs, in order.
pub fn key_names() -> impl ExactSizeIterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

/// One catalogue file, split into its sections.
struct File {
    key_name: &'static str,
    key: HubKey,
    hub: Map<String, Value>,
    initiatives: Vec<Map<String, Value>>,
    endorsements: Vec<Map<String, Value>>,
}

/// Load the sample catalogue, signed at `now` (unix seconds): every hub's
/// key and records. Two calls give the same keys and the same bodies, apart
/// from `created` and `seq`, which follow `now`.
pub fn sample(now: u64) -> Result<Vec<SampleHub>, CatalogueError> {
    sample_with(now, &mut |_| None)
}

/// A repository entry of a catalogue initiative, before signing.
#[derive(Clone, Debug)]
pub struct SampleRepository {
    /// The initiative's slug.
    pub slug: String,
    /// The initiative's name.
    pub initiative: String,
    /// The initiative's French summary.
    pub summary: String,
    /// The repository's name.
    pub name: String,
}

/// Where a sample repository is served, and the commit to pin (if any).
pub type RepositoryPlace = Option<(String, Option<String>)>;

/// [`sample`], with each repository entry's URL (and pinned commit) given
/// by `repository` when it returns one: `essaim demo` points them at
/// repositories it makes and serves.
pub fn sample_with(
    now: u64,
    repository: &mut dyn FnMut(&SampleRepository) -> RepositoryPlace,
) -> Result<Vec<SampleHub>, CatalogueError> {
    let files = FILES
        .iter()
        .map(|&(key_name, text)| read_file(key_name, text))
        .collect::<Result<Vec<_>, _>>()?;

    // Subjects are resolved against the whole catalogue.
    let ids: BTreeMap<&str, HubId> = files.iter().map(|f| (f.key_name, f.key.hub_id())).collect();
    let slugs: BTreeMap<&str, BTreeSet<String>> = files
        .iter()
        .map(|f| {
            let slugs = f.initiatives.iter().filter_map(|i| i.get("slug")?.as_str());
            (f.key_name, slugs.map(str::to_owned).collect())
        })
        .collect();

    // Dates: hub profiles, then initiatives, then endorsements, a step apart.
    let total = files
        .iter()
        .map(|f| 1 + f.initiatives.len() + f.endorsements.len())
        .sum::<usize>() as u64;
    let mut position = 0u64;
    let mut next_time = || {
        let created = now.saturating_sub((total - position) * STEP_SECS);
        position += 1;
        created
    };
    let hub_times: Vec<u64> = files.iter().map(|_| next_time()).collect();
    let initiative_times: Vec<Vec<u64>> = files
        .iter()
        .map(|f| f.initiatives.iter().map(|_| next_time()).collect())
        .collect();
    let endorsement_times: Vec<Vec<u64>> = files
        .iter()
        .map(|f| f.endorsements.iter().map(|_| next_time()).collect())
        .collect();

    let mut hubs = Vec::with_capacity(files.len());
    for (n, file) in files.into_iter().enumerate() {
        let signer = Signer {
            file: file.key_name,
            key: &file.key,
            now,
        };
        let mut records = Vec::with_capacity(1 + file.initiatives.len() + file.endorsements.len());

        let mut hub = file.hub;
        hub.entry("kind").or_insert_with(|| Value::from("hub"));
        hub.entry("slug").or_insert_with(|| Value::from("profile"));
        records.push(signer.sign("hub".into(), hub, hub_times[n])?);

        for (mut draft, &created) in file.initiatives.into_iter().zip(&initiative_times[n]) {
            let slug = slug_of(&draft);
            let initiative = draft
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let summary = draft
                .get("summary")
                .and_then(|s| s.get("fr"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if let Some(Value::Array(repositories)) = draft.get_mut("repositories") {
                for entry in repositories.iter_mut().filter_map(Value::as_object_mut) {
                    let name = entry
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    let sample = SampleRepository {
                        slug: slug.clone(),
                        initiative: initiative.clone(),
                        summary: summary.clone(),
                        name,
                    };
                    if let Some((url, commit)) = repository(&sample) {
                        entry.insert("url".into(), Value::from(url));
                        if let Some(commit) = commit {
                            entry.insert("commit".into(), Value::from(commit));
                        }
                    }
                }
            }
            let record = format!("initiative `{slug}`");
            records.push(signer.sign(record, draft, created)?);
        }

        for (mut draft, &created) in file.endorsements.into_iter().zip(&endorsement_times[n]) {
            let slug = slug_of(&draft);
            if let Some(Value::String(subject)) = draft.get("subject") {
                let resolved = resolve_subject(subject, &ids, &slugs).ok_or_else(|| {
                    CatalogueError::UnknownSubject {
                        file: file.key_name,
                        slug: slug.clone(),
                        subject: subject.clone(),
                    }
                })?;
                draft.insert("subject".into(), Value::from(resolved));
            }
            records.push(signer.sign(format!("endorsement `{slug}`"), draft, created)?);
        }

        hubs.push(SampleHub {
            key_name: file.key_name,
            key: file.key,
            records,
        });
    }
    Ok(hubs)
}

/// Parse one catalogue file into its sections.
fn read_file(key_name: &'static str, text: &str) -> Result<File, CatalogueError> {
    let layout = |message: String| CatalogueError::Layout {
        file: key_name,
        message,
    };
    let value: Value = toml::from_str(text).map_err(|e| CatalogueError::Syntax {
        file: key_name,
        message: e.to_string(),
    })?;
    let Value::Object(mut top) = value else {
        return Err(layout("the file is not a table".into()));
    };
    let hub = match top.remove("hub") {
        Some(Value::Object(hub)) => hub,
        Some(_) => return Err(layout("`hub` must be a table (`[hub]`)".into())),
        None => return Err(layout("the `[hub]` table is missing".into())),
    };
    let mut section = |name: &str| -> Result<Vec<Map<String, Value>>, CatalogueError> {
        match top.remove(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(mut draft) => {
                        let kind = draft
                            .entry("kind")
                            .or_insert_with(|| Value::from(name))
                            .clone();
                        if kind.as_str() == Some(name) {
                            Ok(draft)
                        } else {
                            Err(layout(format!("an `[[{name}]]` has `kind = {kind}`")))
                        }
                    }
                    _ => Err(layout(format!(
                        "`{name}` must be an array of tables (`[[{name}]]`)"
                    ))),
                })
                .collect(),
            Some(_) => Err(layout(format!(
                "`{name}` must be an array of tables (`[[{name}]]`)"
            ))),
        }
    };
    let initiatives = section("initiative")?;
    let endorsements = section("endorsement")?;
    if let Some(other) = top.keys().next() {
        return Err(layout(format!(
            "unknown section `{other}`: a catalogue file holds `[hub]`, `[[initiative]]` and `[[endorsement]]`"
        )));
    }
    Ok(File {
        key_name,
        key: hub_key(key_name),
        hub,
        initiatives,
        endorsements,
    })
}

/// The slug of a draft, for messages.
fn slug_of(draft: &Map<String, Value>) -> String {
    draft
        .get("slug")
        .and_then(Value::as_str)
        .unwrap_or("(no slug)")
        .to_owned()
}

/// `<hub-key>/<slug>` → the initiative's full address; `<hub-key>` → the
/// hub's id; `None` if the catalogue has no such hub or initiative.
fn resolve_subject(
    subject: &str,
    ids: &BTreeMap<&str, HubId>,
    slugs: &BTreeMap<&str, BTreeSet<String>>,
) -> Option<String> {
    match subject.split_once('/') {
        Some((hub, slug)) => {
            let id = ids.get(hub)?;
            slugs
                .get(hub)?
                .contains(slug)
                .then(|| format!("{id}/initiative/{slug}"))
        }
        None => ids.get(subject).map(HubId::to_string),
    }
}

/// Signs the drafts of one catalogue hub.
struct Signer<'a> {
    file: &'static str,
    key: &'a HubKey,
    now: u64,
}

impl Signer<'_> {
    /// Fill in `created` and `seq`, read the draft as `essaim sign` does, and sign it.
    fn sign(
        &self,
        record: String,
        mut draft: Map<String, Value>,
        created: u64,
    ) -> Result<SignedRecord, CatalogueError> {
        draft.insert("created".into(), Value::from(created));
        draft.insert("seq".into(), Value::from(created.saturating_mul(1000)));
        // A map of JSON values always serialises.
        let text = serde_json::to_string(&draft).unwrap_or_default();
        let refused = |source: DraftError| CatalogueError::Record {
            file: self.file,
            record: record.clone(),
            source: Box::new(source),
        };
        let body =
            draft::parse(&text, Format::Json, &self.key.hub_id(), self.now).map_err(refused)?;
        essaim_protocol::sign(body, self.key, self.now).map_err(|e| refused(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mistakes_in_a_catalogue_file_are_named() {
        let error = |text: &str| read_file("essai", text).err().map(|e| e.to_string());
        assert!(error("[hub\n").is_some_and(|e| e.contains("essai.toml is not valid TOML")));
        assert!(error("hub = 1\n").is_some_and(|e| e.contains("must be a table")));
        assert!(error("[[initiative]]\nslug = \"a\"\n").is_some_and(|e| e.contains("[hub]")));
        assert!(
            error("[hub]\n[[initiative]]\nkind = \"endorsement\"\n")
                .is_some_and(|e| e.contains("kind = \"endorsement\""))
        );
        assert!(error("[hub]\n[[initiatives]]\n").is_some_and(|e| e.contains("`initiatives`")));
        let file = read_file("essai", "[hub]\n[[initiative]]\nslug = \"a\"\n");
        assert!(file.is_ok_and(|f| f.initiatives[0]["kind"] == "initiative"));
    }

    #[test]
    fn subjects_are_resolved_within_the_catalogue() {
        let id = hub_key("essai").hub_id();
        let ids = BTreeMap::from([("essai", id)]);
        let slugs = BTreeMap::from([("essai", BTreeSet::from(["a".to_owned()]))]);
        assert_eq!(
            resolve_subject("essai/a", &ids, &slugs),
            Some(format!("{id}/initiative/a"))
        );
        assert_eq!(resolve_subject("essai", &ids, &slugs), Some(id.to_string()));
        assert_eq!(resolve_subject("essai/b", &ids, &slugs), None);
        assert_eq!(resolve_subject("autre/a", &ids, &slugs), None);
        assert_eq!(resolve_subject("autre", &ids, &slugs), None);
    }

    #[test]
    fn keys_are_sha256_of_the_key_name() {
        // SHA-256("essaim-demo/ruche-lyon"), computed independently.
        let seed = RecordId::of(b"essaim-demo/ruche-lyon");
        assert_eq!(
            seed.to_string(),
            "2fa2f94550948916168d9b1611977512924f58786680adcf2f982c49a479ce2a"
        );
        assert_eq!(
            hub_key("ruche-lyon").hub_id(),
            HubKey::from_seed(&seed.0).hub_id()
        );
    }
}
