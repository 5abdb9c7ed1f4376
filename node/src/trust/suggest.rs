//! "Pour mon territoire": which initiatives, not yet deployed in a
//! territory, have the best evidence that they could work there — and what
//! the territory's own initiatives could bring elsewhere.
//!
//! The score is a sum of whole numbers, each with its reason in words, so
//! that anyone can recompute a ranking by hand; `specs/trust.md` § Ranking
//! is the normative rule and the constants below are its table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use essaim_protocol::record::{Endorsement, Hub, Initiative, Subject};
use essaim_protocol::territory::Level;
use essaim_protocol::vocab::{EndorsementType, Stage, Theme};
use essaim_protocol::{Address, Body, HubId, Kind, Territory};
use serde::Serialize;

use super::Circle;
use crate::store::{Store, StoreError};

/// Points per distinct label issuer: followed (or this hub), trusted
/// through labels, other.
pub const LABEL_FOLLOWED: u64 = 20;
/// See [`LABEL_FOLLOWED`].
pub const LABEL_TRUSTED: u64 = 15;
/// See [`LABEL_FOLLOWED`].
pub const LABEL_OTHER: u64 = 5;
/// Points per département where the initiative runs, up to [`DEPARTEMENTS_CAP`].
pub const PER_DEPARTEMENT: u64 = 10;
/// Départements counted at most.
pub const DEPARTEMENTS_CAP: u64 = 10;
/// Points per impact indicator, up to [`INDICATORS_CAP`].
pub const PER_INDICATOR: u64 = 5;
/// Indicators counted at most.
pub const INDICATORS_CAP: u64 = 3;
/// Points when the initiative states it seeks to replicate in the territory.
pub const WANTED_HERE: u64 = 25;
/// Points per theme of interest of the territory's hubs, up to [`THEMES_CAP`].
pub const PER_THEME: u64 = 10;
/// Themes counted at most.
pub const THEMES_CAP: u64 = 2;
/// Points when at least one hub states funding for it.
pub const FUNDED: u64 = 10;
/// Points when a funding statement applies to the territory.
pub const FUNDED_HERE: u64 = 15;
/// Points per trusted hub recommending it, up to [`RECOMMENDATIONS_CAP`].
pub const PER_RECOMMENDATION: u64 = 5;
/// Recommendations counted at most.
pub const RECOMMENDATIONS_CAP: u64 = 3;
/// Suggestions listed at most.
pub const MAX_SUGGESTIONS: usize = 20;
/// The territory's own initiatives listed at most.
pub const MAX_LOCAL: usize = 10;

/// Points for the stage.
pub fn stage_points(stage: Stage) -> u64 {
    match stage {
        Stage::Essaimage => 40,
        Stage::Consolidation => 25,
        Stage::Evaluation => 15,
        Stage::Experimentation => 5,
        Stage::Emergence => 0,
    }
}

/// One part of a score, with its reason in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// `labels`, `departements`, `impact`, `stage`, `wanted`, `themes`,
    /// `funded`, `funded_here`, `recommendations`.
    pub code: &'static str,
    /// Points given.
    pub points: u64,
    /// In French.
    pub fr: String,
    /// In English.
    pub en: String,
}

/// One ranked initiative.
#[derive(Clone, Debug, Serialize)]
pub struct Suggestion {
    /// Its address.
    pub address: String,
    /// `z6Mk…/slug`.
    pub short: String,
    /// Its name.
    pub name: String,
    /// Its hub's id.
    pub hub: String,
    /// Its hub's name, if known.
    pub hub_name: String,
    /// Stage code.
    pub stage: String,
    /// Theme codes.
    pub themes: Vec<String>,
    /// The sum of the reasons' points.
    pub score: u64,
    /// Why, part by part (points > 0 only), in the order of the rule.
    pub reasons: Vec<Reason>,
    /// Where it runs (origin, territories, replications).
    pub deployments: Vec<String>,
    /// Territories where it seeks to replicate.
    pub wanted: Vec<String>,
}

/// The answer for one territory.
#[derive(Clone, Debug, Serialize)]
pub struct TerritoryReport {
    /// The territory's code.
    pub territory: String,
    /// Its name.
    pub name: String,
    /// Hubs working there (their profile names a territory overlapping it).
    pub hubs: Vec<String>,
    /// Themes of interest of those hubs (what they publish and endorse).
    pub themes_of_interest: Vec<String>,
    /// Initiatives not deployed there, best evidence first.
    pub suggestions: Vec<Suggestion>,
    /// How many initiatives were candidates (not deployed there).
    pub candidates: usize,
    /// Initiatives born there, ranked by the same rule without the parts
    /// that depend on the territory: what it could bring elsewhere.
    pub local: Vec<Suggestion>,
}

/// What the ranking reads: initiative heads, valid endorsements, hub profiles.
#[derive(Debug, Default)]
pub struct Catalogue {
    initiatives: Vec<(Address, Initiative)>,
    endorsements: Vec<Endorsement>,
    hubs: HashMap<HubId, Hub>,
}

/// Heads read per page.
const PAGE: usize = 2_000;

impl Catalogue {
    /// Read the catalogue's heads from the store; endorsements that are
    /// revoked or expired at `now` are left out (they count nowhere).
    pub fn load(store: &Store, now: u64) -> Result<Catalogue, StoreError> {
        let mut catalogue = Catalogue::default();
        for kind in [Kind::Hub, Kind::Initiative, Kind::Endorsement] {
            let mut after = 0;
            loop {
                let page = store.heads_of_kind(kind, None, after, u64::MAX, PAGE)?;
                let Some(last) = page.last().map(|h| h.change) else {
                    break;
                };
                for head in page {
                    let address = head.record.address();
                    match head.record.body() {
                        Body::Hub(hub) => {
                            catalogue.hubs.insert(hub.author, hub.clone());
                        }
                        Body::Initiative(i) => catalogue.initiatives.push((address, i.clone())),
                        Body::Endorsement(e)
                            if !e.revoked && e.valid_until.is_none_or(|u| u > now) =>
                        {
                            catalogue.endorsements.push(e.clone())
                        }
                        _ => {}
                    }
                }
                after = last;
            }
        }
        Ok(catalogue)
    }
}

/// Whether two territories overlap (one lies within the other).
pub fn overlaps(a: &Territory, b: &Territory) -> bool {
    a.contains(b) || b.contains(a)
}

/// The territories where an initiative runs: origin, territories, and the
/// territories of valid replication statements about it.
fn deployments(initiative: &Initiative, about: &[&Endorsement]) -> Vec<Territory> {
    let mut out = vec![initiative.origin];
    out.extend(initiative.territories.iter().copied());
    out.extend(
        about
            .iter()
            .filter(|e| e.endorsement == EndorsementType::Replication)
            .filter_map(|e| e.territory),
    );
    out.sort();
    out.dedup();
    out
}

/// Distinct départements of the commune- and département-level territories.
fn departements(territories: &[Territory]) -> BTreeSet<Territory> {
    territories
        .iter()
        .filter(|t| matches!(t.level(), Level::Commune | Level::Departement))
        .filter_map(Territory::departement)
        .collect()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Score one initiative; `here` is the territory, or `None` for the
/// territory-independent parts only.
fn score(
    address: &Address,
    initiative: &Initiative,
    about: &[&Endorsement],
    circle: &Circle,
    here: Option<(&Territory, &BTreeSet<Theme>)>,
    names: &HashMap<HubId, Hub>,
) -> Suggestion {
    let mut reasons = Vec::new();
    let mut push = |code, points, fr: String, en: String| {
        if points > 0 {
            reasons.push(Reason {
                code,
                points,
                fr,
                en,
            });
        }
    };
    let author = initiative.author;
    // Labels: distinct issuers, the initiative's own hub excluded.
    let issuers = |kind: EndorsementType| -> BTreeSet<HubId> {
        about
            .iter()
            .filter(|e| e.endorsement == kind && e.author != author)
            .map(|e| e.author)
            .collect()
    };
    let labellers = issuers(EndorsementType::Label);
    let followed = labellers.iter().filter(|h| circle.follows(h)).count() as u64;
    let trusted = labellers
        .iter()
        .filter(|h| !circle.follows(h) && circle.trusts(h))
        .count() as u64;
    let other = labellers.len() as u64 - followed - trusted;
    let mut fr = Vec::new();
    let mut en = Vec::new();
    if followed > 0 {
        fr.push(format!(
            "{} que vous suivez",
            plural(followed, "hub", "hubs")
        ));
        en.push(format!("{} you follow", plural(followed, "hub", "hubs")));
    }
    if trusted > 0 {
        fr.push(format!("{} de confiance", plural(trusted, "hub", "hubs")));
        en.push(format!("{} you trust", plural(trusted, "hub", "hubs")));
    }
    if other > 0 {
        fr.push(plural(other, "autre hub", "autres hubs"));
        en.push(plural(other, "other hub", "other hubs"));
    }
    push(
        "labels",
        followed * LABEL_FOLLOWED + trusted * LABEL_TRUSTED + other * LABEL_OTHER,
        format!("labellisée par {}", fr.join(" et ")),
        format!("labelled by {}", en.join(" and ")),
    );
    // Where it runs.
    let deployed = deployments(initiative, about);
    let n = departements(&deployed).len() as u64;
    push(
        "departements",
        PER_DEPARTEMENT * n.min(DEPARTEMENTS_CAP),
        if n > 1 {
            format!("déjà essaimée dans {n} départements")
        } else {
            "déployée dans 1 département".to_owned()
        },
        if n > 1 {
            format!("already replicated in {n} départements")
        } else {
            "runs in 1 département".to_owned()
        },
    );
    let indicators = initiative.impact.len() as u64;
    push(
        "impact",
        PER_INDICATOR * indicators.min(INDICATORS_CAP),
        format!(
            "{} publié{}",
            plural(indicators, "indicateur d'impact", "indicateurs d'impact"),
            if indicators > 1 { "s" } else { "" }
        ),
        format!(
            "{} published",
            plural(indicators, "impact indicator", "impact indicators")
        ),
    );
    push(
        "stage",
        stage_points(initiative.stage),
        format!(
            "au stade « {} »",
            initiative.stage.label(essaim_protocol::vocab::Lang::Fr)
        ),
        format!(
            "at the “{}” stage",
            initiative.stage.label(essaim_protocol::vocab::Lang::En)
        ),
    );
    if let Some((territory, interest)) = here {
        let wanted = initiative
            .needs
            .as_ref()
            .is_some_and(|n| n.territories.iter().any(|t| overlaps(t, territory)));
        push(
            "wanted",
            if wanted { WANTED_HERE } else { 0 },
            "cherche à essaimer dans ce territoire".to_owned(),
            "seeks to replicate in this territory".to_owned(),
        );
        let matching: Vec<&Theme> = initiative
            .themes
            .iter()
            .filter(|t| interest.contains(t))
            .collect();
        let m = matching.len() as u64;
        let list = |lang| {
            matching
                .iter()
                .map(|t| t.label(lang).to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        push(
            "themes",
            PER_THEME * m.min(THEMES_CAP),
            format!(
                "répond aux thèmes des hubs du territoire ({})",
                list(essaim_protocol::vocab::Lang::Fr)
            ),
            format!(
                "matches the themes of the territory's hubs ({})",
                list(essaim_protocol::vocab::Lang::En)
            ),
        );
    }
    let funders = issuers(EndorsementType::Funding);
    push(
        "funded",
        if funders.is_empty() { 0 } else { FUNDED },
        format!(
            "financée par {}",
            plural(funders.len() as u64, "hub", "hubs")
        ),
        format!("funded by {}", plural(funders.len() as u64, "hub", "hubs")),
    );
    if let Some((territory, _)) = here {
        let funded_here = about.iter().any(|e| {
            e.endorsement == EndorsementType::Funding
                && e.author != author
                && e.territory.is_some_and(|t| overlaps(&t, territory))
        });
        push(
            "funded_here",
            if funded_here { FUNDED_HERE } else { 0 },
            "un financement est ouvert pour ce territoire".to_owned(),
            "funding is open for this territory".to_owned(),
        );
    }
    let recommenders = issuers(EndorsementType::Recommendation)
        .into_iter()
        .filter(|h| circle.trusts(h))
        .count() as u64;
    push(
        "recommendations",
        PER_RECOMMENDATION * recommenders.min(RECOMMENDATIONS_CAP),
        format!(
            "recommandée par {} de confiance",
            plural(recommenders, "hub", "hubs")
        ),
        format!(
            "recommended by {} you trust",
            plural(recommenders, "hub", "hubs")
        ),
    );
    Suggestion {
        address: address.to_string(),
        short: address.short(),
        name: initiative.name.clone(),
        hub: author.to_string(),
        hub_name: names
            .get(&author)
            .map(|h| h.name.clone())
            .unwrap_or_default(),
        stage: initiative.stage.code().to_owned(),
        themes: initiative
            .themes
            .iter()
            .map(|t| t.code().to_owned())
            .collect(),
        score: reasons.iter().map(|r| r.points).sum(),
        reasons,
        deployments: deployed.iter().map(ToString::to_string).collect(),
        wanted: initiative
            .needs
            .iter()
            .flat_map(|n| n.territories.iter().map(ToString::to_string))
            .collect(),
    }
}

fn rank(list: &mut [Suggestion]) {
    list.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.address.cmp(&b.address))
    });
}

/// Rank the catalogue for `territory`.
pub fn suggest(catalogue: &Catalogue, circle: &Circle, territory: &Territory) -> TerritoryReport {
    let mut about: HashMap<&Address, Vec<&Endorsement>> = HashMap::new();
    for e in &catalogue.endorsements {
        if let Subject::Initiative(address) = &e.subject {
            about.entry(address).or_default().push(e);
        }
    }
    // The territory's hubs, and the themes they publish and endorse.
    let hubs: BTreeSet<HubId> = catalogue
        .hubs
        .values()
        .filter(|h| {
            h.territories
                .iter()
                .any(|t| *t != Territory::NATIONAL && overlaps(t, territory))
        })
        .map(|h| h.author)
        .collect();
    let themes_of: BTreeMap<&Address, &Initiative> =
        catalogue.initiatives.iter().map(|(a, i)| (a, i)).collect();
    let mut interest: BTreeSet<Theme> = BTreeSet::new();
    for (address, initiative) in &catalogue.initiatives {
        if hubs.contains(&address.author) {
            interest.extend(initiative.themes.iter().copied());
        }
    }
    for e in &catalogue.endorsements {
        if hubs.contains(&e.author)
            && let Subject::Initiative(address) = &e.subject
            && let Some(initiative) = themes_of.get(address)
        {
            interest.extend(initiative.themes.iter().copied());
        }
    }
    let mut suggestions = Vec::new();
    let mut local = Vec::new();
    for (address, initiative) in &catalogue.initiatives {
        let endorsements = about.get(address).map(Vec::as_slice).unwrap_or(&[]);
        let deployed = deployments(initiative, endorsements);
        if deployed.iter().any(|d| overlaps(d, territory)) {
            if territory.contains(&initiative.origin) {
                local.push(score(
                    address,
                    initiative,
                    endorsements,
                    circle,
                    None,
                    &catalogue.hubs,
                ));
            }
            continue;
        }
        suggestions.push(score(
            address,
            initiative,
            endorsements,
            circle,
            Some((territory, &interest)),
            &catalogue.hubs,
        ));
    }
    let candidates = suggestions.len();
    rank(&mut suggestions);
    suggestions.truncate(MAX_SUGGESTIONS);
    rank(&mut local);
    local.truncate(MAX_LOCAL);
    TerritoryReport {
        territory: territory.to_string(),
        name: territory.name().to_owned(),
        hubs: hubs.iter().map(ToString::to_string).collect(),
        themes_of_interest: interest.iter().map(|t| t.code().to_owned()).collect(),
        suggestions,
        candidates,
        local,
    }
}

/// The reasons of a suggestion as one sentence (`; ` between parts).
pub fn reasons_text(suggestion: &Suggestion, lang: essaim_protocol::vocab::Lang) -> String {
    suggestion
        .reasons
        .iter()
        .map(|r| match lang {
            essaim_protocol::vocab::Lang::Fr => r.fr.as_str(),
            essaim_protocol::vocab::Lang::En => r.en.as_str(),
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}
