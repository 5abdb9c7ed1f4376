//! What the record pages (initiatives, hubs) show the same way: dates,
//! amounts, territories, texts in several languages, links to hubs and
//! initiatives, endorsements with their signer and status, and where a
//! record came from.

use std::collections::HashMap;

use essaim_protocol::record::{Endorsement, LangMap, Subject};
use essaim_protocol::territory::Level;
use essaim_protocol::vocab::{EndorsementType, Lang, WELL_KNOWN_LABELS};
use essaim_protocol::{Address, Body, HubId, Kind, Territory};
use maud::{Markup, html};

use super::super::{Ctx, LangExt};
use crate::store::{Store, StoreError, StoredRecord};

/// The path of a hub's page.
pub(crate) fn hub_path(hub: &HubId) -> String {
    format!("/hubs/{}", hub.short())
}

/// The path of an initiative's page.
pub(crate) fn initiative_path(address: &Address) -> String {
    format!("/i/{}/{}", address.author.short(), address.slug)
}

/// The address of a hub's profile.
pub(crate) fn profile_address(hub: HubId) -> Option<Address> {
    Some(Address {
        author: hub,
        kind: Kind::Hub,
        slug: "profile".parse().ok()?,
    })
}

/// The names of these hubs, from their profiles in the store (a hub
/// whose profile this node has not received is missing from the map).
pub(crate) fn hub_names(
    store: &Store,
    hubs: impl IntoIterator<Item = HubId>,
) -> Result<HashMap<HubId, String>, StoreError> {
    let mut names = HashMap::new();
    for hub in hubs {
        if names.contains_key(&hub) {
            continue;
        }
        let Some(address) = profile_address(hub) else {
            continue;
        };
        if let Some(head) = store.head(&address)?
            && let Body::Hub(profile) = head.record.body()
        {
            names.insert(hub, profile.name.clone());
        }
    }
    Ok(names)
}

/// A link to a hub's page, by its name when known, else its short id.
pub(crate) fn hub_link(ctx: &Ctx, names: &HashMap<HubId, String>, hub: &HubId) -> Markup {
    html! {
        @match names.get(hub) {
            Some(name) => a.hub-link href=(hub_path(hub)) { (name) },
            None => a.hub-link href=(hub_path(hub)) {
                (ctx.t("hub ", "hub ")) code { (abbreviated(&hub.short())) }
            },
        }
    }
}

/// A long identifier cut in the middle (`z6MkiT…ooWp`), for text where
/// the full one is a link or a copyable code elsewhere.
pub(crate) fn abbreviated(id: &str) -> String {
    if id.chars().count() <= 16 {
        return id.to_owned();
    }
    let head: String = id.chars().take(8).collect();
    let tail: String = id.chars().skip(id.chars().count() - 4).collect();
    format!("{head}…{tail}")
}

/// The text of a multilingual field in the page's language, else in
/// French, else in the first language there is; with its language code.
pub(crate) fn pick<'a>(ctx: &Ctx, texts: &'a LangMap) -> Option<(&'a str, &'a str)> {
    let wanted = [ctx.lang.code(), "fr"];
    wanted
        .iter()
        .find_map(|code| {
            texts
                .iter()
                .find(|(k, _)| k.as_str() == *code)
                .map(|(k, v)| (k.as_str(), v.as_str()))
        })
        .or_else(|| texts.iter().next().map(|(k, v)| (k.as_str(), v.as_str())))
        .filter(|(_, text)| !text.trim().is_empty())
}

/// `lang` attribute value for a text in `code` on this page: `None` when it
/// is the page's language.
pub(crate) fn lang_attr(ctx: &Ctx, code: &str) -> Option<String> {
    (code != ctx.lang.code()).then(|| code.to_owned())
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Year, month (1–12), day of a unix time (UTC), by Howard Hinnant's
/// `civil_from_days`.
pub(crate) fn civil(secs: u64) -> (i64, u32, u32) {
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2026-11-21`.
pub(crate) fn iso_date(secs: u64) -> String {
    let (y, m, d) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-11-21T12:37:00Z`.
pub(crate) fn iso_datetime(secs: u64) -> String {
    let rest = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        iso_date(secs),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `21 novembre 2026` / `21 November 2026`.
pub(crate) fn date_text(ctx: &Ctx, secs: u64) -> String {
    let (y, m, d) = civil(secs);
    let month = (m as usize).saturating_sub(1).min(11);
    match ctx.lang {
        Lang::Fr if d == 1 => format!("1er {} {y}", MONTHS_FR[month]),
        Lang::Fr => format!("{d} {} {y}", MONTHS_FR[month]),
        Lang::En => format!("{d} {} {y}", MONTHS_EN[month]),
    }
}

/// A `<time>` element with the date in words.
pub(crate) fn date(ctx: &Ctx, secs: u64) -> Markup {
    html! { time datetime=(iso_date(secs)) { (date_text(ctx, secs)) } }
}

/// A `<time>` element with the date in words and the time (UTC).
pub(crate) fn datetime(ctx: &Ctx, secs: u64) -> Markup {
    let rest = secs % 86_400;
    html! {
        time datetime=(iso_datetime(secs)) {
            (date_text(ctx, secs)) ", " (format!("{:02}:{:02}", rest / 3600, rest % 3600 / 60)) " UTC"
        }
    }
}

/// Digits grouped by thousands: `12 500` (narrow no-break spaces) in
/// French, `12,500` in English.
pub(crate) fn grouped(lang: Lang, n: u64) -> String {
    let sep = match lang {
        Lang::Fr => '\u{202f}',
        Lang::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A signed integer, grouped.
pub(crate) fn number(lang: Lang, n: i64) -> String {
    if n < 0 {
        format!("−{}", grouped(lang, n.unsigned_abs()))
    } else {
        grouped(lang, n.unsigned_abs())
    }
}

/// An amount in euro cents: `12 500 €` / `€12,500` (cents shown only when
/// there are some: `12 500,50 €` / `€12,500.50`).
pub(crate) fn euros(lang: Lang, cents: u64) -> String {
    let units = grouped(lang, cents / 100);
    let rest = cents % 100;
    match (lang, rest) {
        (Lang::Fr, 0) => format!("{units}\u{a0}€"),
        (Lang::Fr, r) => format!("{units},{r:02}\u{a0}€"),
        (Lang::En, 0) => format!("€{units}"),
        (Lang::En, r) => format!("€{units}.{r:02}"),
    }
}

/// A territory's level in words.
pub(crate) fn level_name(ctx: &Ctx, territory: &Territory) -> &'static str {
    match territory.level() {
        Level::National => ctx.t("pays", "country"),
        Level::Region => ctx.t("région", "region"),
        Level::Departement => ctx.t("département", "département"),
        Level::Commune => ctx.t("commune", "municipality"),
    }
}

/// A territory: its name, where it lies, and its code.
pub(crate) fn territory(ctx: &Ctx, territory: &Territory) -> Markup {
    let within = match territory.level() {
        Level::Commune => territory.departement(),
        Level::Departement => territory.region(),
        _ => None,
    };
    html! {
        span.territory {
            span.territory-name { (territory.name()) }
            @if let Some(within) = within {
                span.territory-within { " (" (within.name()) ")" }
            }
            " "
            code.territory-code title=(level_name(ctx, territory)) { (territory.to_string()) }
        }
    }
}

/// The départements to highlight on a map for these territories: a
/// commune's, a département, every département of a région; none for the
/// whole country. Bare INSEE codes (`69`, `2A`).
pub(crate) fn departement_codes<'a>(
    territories: impl IntoIterator<Item = &'a Territory>,
) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for t in territories {
        let found: Vec<Territory> = match t.level() {
            Level::National => Vec::new(),
            Level::Region => essaim_protocol::territory::departements()
                .filter(|d| d.region() == Some(*t))
                .collect(),
            Level::Departement | Level::Commune => t.departement().into_iter().collect(),
        };
        for d in found {
            let code = d.code().to_owned();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    codes
}

/// Whether an endorsement holds today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Validity {
    /// Neither revoked nor past its end.
    Valid,
    /// Past its end of validity.
    Expired,
    /// Withdrawn by its issuer.
    Revoked,
}

impl Validity {
    /// The endorsement's status at `now`.
    pub(crate) fn of(endorsement: &Endorsement, now: u64) -> Validity {
        if endorsement.revoked {
            Validity::Revoked
        } else if endorsement.valid_until.is_some_and(|until| until <= now) {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }

    /// `valid`, `expired`, `revoked` (for classes and tests).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Expired => "expired",
            Validity::Revoked => "revoked",
        }
    }

    /// In words.
    pub(crate) fn label(self, ctx: &Ctx) -> &'static str {
        match self {
            Validity::Valid => ctx.t("valide", "valid"),
            Validity::Expired => ctx.t("expiré", "expired"),
            Validity::Revoked => ctx.t("révoqué", "revoked"),
        }
    }
}

/// A label's name in the page's language (the well-known ones are translated).
pub(crate) fn label_name<'a>(ctx: &Ctx, name: &'a str) -> &'a str {
    match ctx.lang {
        Lang::Fr => name,
        Lang::En => WELL_KNOWN_LABELS
            .iter()
            .find(|(fr, _)| *fr == name)
            .map_or(name, |(_, en)| en),
    }
}

/// What an endorsement states, in a sentence: its type and its details.
pub(crate) fn endorsement_statement(ctx: &Ctx, e: &Endorsement) -> Markup {
    html! {
        span.endorsement-type { (e.endorsement.label(ctx.lang)) }
        @match e.endorsement {
            EndorsementType::Label => {
                @if let Some(label) = &e.label {
                    " : " strong.label-name { (label_name(ctx, label)) }
                }
            }
            EndorsementType::Replication => {
                @if let Some(t) = &e.territory {
                    (ctx.t(" à ", " in ")) (territory(ctx, t))
                }
                @if let Some(carrier) = &e.carrier {
                    (ctx.t(", porté par ", ", carried by ")) (carrier)
                }
            }
            EndorsementType::Funding => {
                @if let Some(cents) = e.amount_cents {
                    (ctx.t(" de ", " of ")) strong { (euros(ctx.lang, cents)) }
                }
                @if let Some(programme) = &e.programme {
                    (ctx.t(", programme ", ", programme ")) "« " (programme) " »"
                }
                @if let Some(t) = &e.territory {
                    (ctx.t(", pour ", ", for ")) (territory(ctx, t))
                }
            }
            EndorsementType::Recommendation => {}
        }
        @if let Some(comment) = &e.comment {
            span.endorsement-comment { " — " (comment) }
        }
    }
}

/// The subject of an endorsement, linked: an initiative or a hub.
pub(crate) fn subject_link(
    ctx: &Ctx,
    names: &HashMap<HubId, String>,
    initiatives: &HashMap<Address, String>,
    subject: &Subject,
) -> Markup {
    match subject {
        Subject::Hub(hub) => hub_link(ctx, names, hub),
        Subject::Initiative(address) => html! {
            a href=(initiative_path(address)) {
                @match initiatives.get(address) {
                    Some(name) => (name),
                    None => code { (address.short()) },
                }
            }
        },
    }
}

/// Where this node got a record, in words (`publish`, `http`, `import`,
/// `peer:<id>`).
pub(crate) fn source_text(ctx: &Ctx, source: &str) -> Markup {
    html! {
        @match source {
            "publish" => (ctx.t("publié par ce nœud (son opérateur)", "published by this node (its operator)")),
            "http" => (ctx.t("déposé déjà signé par l'API HTTP de ce nœud", "posted already signed to this node's HTTP API")),
            "import" => (ctx.t("importé d'un fichier", "imported from a file")),
            other => @if let Some(peer) = other.strip_prefix("peer:") {
                (ctx.t("le pair ", "the peer ")) code.peer-id { (peer) }
            } @else {
                code { (other) }
            },
        }
    }
}

/// The endorsement bodies among stored heads, with their records.
pub(crate) fn endorsements(heads: &[StoredRecord]) -> Vec<(&StoredRecord, &Endorsement)> {
    heads
        .iter()
        .filter_map(|h| match h.record.body() {
            Body::Endorsement(e) => Some((h, e)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(951_782_400), "2000-02-29");
        assert_eq!(iso_date(1_795_220_220), "2026-11-21");
        assert_eq!(iso_datetime(1_795_220_220), "2026-11-21T00:17:00Z");
    }

    #[test]
    fn amounts_in_each_language() {
        assert_eq!(euros(Lang::Fr, 1_250_000), "12\u{202f}500\u{a0}€");
        assert_eq!(euros(Lang::En, 1_250_000), "€12,500");
        assert_eq!(euros(Lang::Fr, 1_250_050), "12\u{202f}500,50\u{a0}€");
        assert_eq!(euros(Lang::En, 99), "€0.99");
        assert_eq!(grouped(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(grouped(Lang::En, 100), "100");
        assert_eq!(number(Lang::Fr, -1000), "−1\u{202f}000");
    }
}
