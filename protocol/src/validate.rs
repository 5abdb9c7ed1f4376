//! The field rules that decoding alone does not enforce: lengths, counts,
//! duplicates, integer ranges, the clock, and the rules that tie fields
//! together (an endorsement's fields depend on its type).
//!
//! Well-formedness of each value (slugs, URLs, territories, licences,
//! vocabulary terms…) is already guaranteed by the types, which parse when a
//! payload is decoded; bodies built in code go through the same types.

use std::collections::HashSet;
use std::hash::Hash;

use crate::error::{RecordError, Rule};
use crate::limits::*;
use crate::record::{
    Body, Contact, Endorsement, Hub, Initiative, LangCode, LangMap, Retraction, Subject,
};
use crate::vocab::{EndorsementType, Kind};

type Result<T = ()> = std::result::Result<T, RecordError>;

/// Check every field rule of a body (well-formed values are already
/// guaranteed by the types). `now`: the current unix time in seconds.
pub fn validate(body: &Body, now: u64) -> std::result::Result<(), RecordError> {
    common(body, now)?;
    match body {
        Body::Hub(hub) => validate_hub(hub),
        Body::Initiative(initiative) => validate_initiative(initiative),
        Body::Endorsement(endorsement) => validate_endorsement(endorsement),
        Body::Retraction(retraction) => validate_retraction(retraction),
    }
}

fn common(body: &Body, now: u64) -> Result {
    let v = match body {
        Body::Hub(r) => r.v,
        Body::Initiative(r) => r.v,
        Body::Endorsement(r) => r.v,
        Body::Retraction(r) => r.v,
    };
    if v != FORMAT_VERSION {
        return Err(RecordError::UnsupportedVersion { value: v });
    }
    safe_integer("seq", body.seq())?;
    safe_integer("created", body.created())?;
    let limit = now.saturating_add(MAX_FUTURE_SKEW_SECS);
    if body.created() > limit {
        return Err(RecordError::invalid(
            "created",
            body.created().to_string(),
            Rule::FutureCreated {
                ahead: body.created() - now,
                max: MAX_FUTURE_SKEW_SECS,
            },
        ));
    }
    Ok(())
}

fn validate_hub(hub: &Hub) -> Result {
    if hub.slug.as_str() != "profile" {
        return Err(RecordError::invalid(
            "slug",
            hub.slug.as_str(),
            Rule::HubSlug,
        ));
    }
    line("name", &hub.name, 1, NAME_MAX)?;
    list("territories", &hub.territories, 0, HUB_TERRITORIES_MAX)?;
    unique("territories", &hub.territories)?;
    lang_map("description", &hub.description, DESCRIPTION_MAX, false)?;
    if let Some(contact) = &hub.contact {
        self::contact("contact", contact)?;
    }
    if let Some(endpoints) = &hub.endpoints {
        if endpoints.multiaddrs.is_empty() && endpoints.http.is_none() {
            return Err(RecordError::invalid(
                "endpoints",
                "{}",
                Rule::EmptyObject {
                    fields: "multiaddrs, http",
                },
            ));
        }
        list(
            "endpoints.multiaddrs",
            &endpoints.multiaddrs,
            0,
            MULTIADDRS_MAX,
        )?;
        unique("endpoints.multiaddrs", &endpoints.multiaddrs)?;
    }
    Ok(())
}

fn validate_initiative(i: &Initiative) -> Result {
    line("name", &i.name, 1, NAME_MAX)?;
    lang_map("summary", &i.summary, SUMMARY_MAX, true)?;
    lang_map("description", &i.description, DESCRIPTION_MAX, false)?;
    list("themes", &i.themes, 1, THEMES_MAX)?;
    unique("themes", &i.themes)?;
    list("audiences", &i.audiences, 0, AUDIENCES_MAX)?;
    unique("audiences", &i.audiences)?;
    if let Some(carrier) = &i.carrier {
        line("carrier.name", &carrier.name, 1, NAME_MAX)?;
    }
    list("territories", &i.territories, 0, TERRITORIES_MAX)?;
    unique("territories", &i.territories)?;
    list("repositories", &i.repositories, 0, REPOSITORIES_MAX)?;
    let mut names = HashSet::new();
    for (n, repo) in i.repositories.iter().enumerate() {
        if !names.insert(&repo.name) {
            return Err(RecordError::invalid(
                format!("repositories[{n}].name"),
                repo.name.as_str(),
                Rule::RepositoryName,
            ));
        }
    }
    list("impact", &i.impact, 0, INDICATORS_MAX)?;
    for (n, indicator) in i.impact.iter().enumerate() {
        line(&format!("impact[{n}].name"), &indicator.name, 1, NAME_MAX)?;
        line(&format!("impact[{n}].unit"), &indicator.unit, 1, SHORT_MAX)?;
        if let Some(period) = &indicator.period {
            line(&format!("impact[{n}].period"), period, 1, SHORT_MAX)?;
        }
        if indicator.value.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(RecordError::invalid(
                format!("impact[{n}].value"),
                indicator.value.to_string(),
                Rule::IntegerRange {
                    min: -(MAX_SAFE_INTEGER as i64),
                    max: MAX_SAFE_INTEGER,
                },
            ));
        }
    }
    unique("sdgs", &i.sdgs)?;
    if let Some(needs) = &i.needs {
        if needs.funding_cents.is_none()
            && needs.partners.is_empty()
            && needs.territories.is_empty()
        {
            return Err(RecordError::invalid(
                "needs",
                "{}",
                Rule::EmptyObject {
                    fields: "funding_cents, partners, territories",
                },
            ));
        }
        if let Some(cents) = needs.funding_cents {
            safe_integer("needs.funding_cents", cents)?;
        }
        list("needs.partners", &needs.partners, 0, PARTNERS_MAX)?;
        for (n, partner) in needs.partners.iter().enumerate() {
            line(&format!("needs.partners[{n}]"), partner, 1, PARTNER_MAX)?;
        }
        list(
            "needs.territories",
            &needs.territories,
            0,
            HUB_TERRITORIES_MAX,
        )?;
        unique("needs.territories", &needs.territories)?;
    }
    list("contacts", &i.contacts, 0, CONTACTS_MAX)?;
    for (n, c) in i.contacts.iter().enumerate() {
        contact(&format!("contacts[{n}]"), c)?;
    }
    Ok(())
}

fn validate_endorsement(e: &Endorsement) -> Result {
    use EndorsementType as T;
    let t = e.endorsement;
    let name = t.code();
    // Which optional fields each type requires (R), allows (A) or refuses (-).
    let rules: [(&str, bool, [char; 4]); 5] = [
        //               label replication funding recommendation
        ("label", e.label.is_some(), ['R', '-', '-', '-']),
        ("territory", e.territory.is_some(), ['-', 'R', 'A', '-']),
        ("carrier", e.carrier.is_some(), ['-', 'A', '-', '-']),
        (
            "amount_cents",
            e.amount_cents.is_some(),
            ['-', '-', 'R', '-'],
        ),
        ("programme", e.programme.is_some(), ['-', '-', 'R', '-']),
    ];
    let column = match t {
        T::Label => 0,
        T::Replication => 1,
        T::Funding => 2,
        T::Recommendation => 3,
    };
    for (field, present, by_type) in rules {
        match (by_type[column], present) {
            ('R', false) => {
                return Err(RecordError::invalid(
                    field,
                    "",
                    Rule::RequiredFor { endorsement: name },
                ));
            }
            ('-', true) => {
                return Err(RecordError::invalid(
                    field,
                    field_text(e, field),
                    Rule::NotAllowedFor { endorsement: name },
                ));
            }
            _ => {}
        }
    }
    if let Some(label) = &e.label {
        line("label", label, 1, LABEL_MAX)?;
    }
    if let Some(carrier) = &e.carrier {
        line("carrier", carrier, 1, LABEL_MAX)?;
    }
    if let Some(programme) = &e.programme {
        line("programme", programme, 1, LABEL_MAX)?;
    }
    if let Some(amount) = e.amount_cents {
        safe_integer("amount_cents", amount)?;
    }
    if let Some(comment) = &e.comment {
        text("comment", comment, 1, COMMENT_MAX)?;
    }
    if let Some(until) = e.valid_until {
        safe_integer("valid_until", until)?;
        if until <= e.created {
            return Err(RecordError::invalid(
                "valid_until",
                until.to_string(),
                Rule::ValidityBeforeCreation,
            ));
        }
    }
    if let Subject::Hub(hub) = &e.subject {
        // A hub may label itself only through its own hub record.
        if *hub == e.author && t == T::Label {
            return Err(RecordError::invalid(
                "subject",
                hub.to_string(),
                Rule::SelfLabel,
            ));
        }
    }
    Ok(())
}

fn field_text(e: &Endorsement, field: &str) -> String {
    match field {
        "label" => e.label.clone().unwrap_or_default(),
        "territory" => e.territory.map(|t| t.to_string()).unwrap_or_default(),
        "carrier" => e.carrier.clone().unwrap_or_default(),
        "amount_cents" => e.amount_cents.map(|a| a.to_string()).unwrap_or_default(),
        "programme" => e.programme.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn validate_retraction(r: &Retraction) -> Result {
    if r.target == Kind::Retraction {
        return Err(RecordError::invalid(
            "target",
            "retraction",
            Rule::RetractRetraction,
        ));
    }
    if r.target == Kind::Hub && r.slug.as_str() != "profile" {
        return Err(RecordError::invalid("slug", r.slug.as_str(), Rule::HubSlug));
    }
    if let Some(reason) = &r.reason {
        text("reason", reason, 1, COMMENT_MAX)?;
    }
    Ok(())
}

fn contact(field: &str, c: &Contact) -> Result {
    if let Some(name) = &c.name {
        line(&format!("{field}.name"), name, 1, NAME_MAX)?;
    }
    if c.email.is_none() && c.url.is_none() {
        return Err(RecordError::invalid(
            field,
            c.name.as_deref().unwrap_or(""),
            Rule::ContactEmpty,
        ));
    }
    Ok(())
}

fn safe_integer(field: &str, value: u64) -> Result {
    if value > MAX_SAFE_INTEGER {
        return Err(RecordError::invalid(
            field,
            value.to_string(),
            Rule::IntegerRange {
                min: 0,
                max: MAX_SAFE_INTEGER,
            },
        ));
    }
    Ok(())
}

/// A one-line text: bounded in characters; no control characters, line or
/// paragraph separators, or direction-changing characters (which would let
/// a name pose as another in a user interface).
fn line(field: &str, value: &str, min: usize, max: usize) -> Result {
    text(field, value, min, max)?;
    if value
        .chars()
        .any(|c| c.is_control() || is_separator_or_bidi(c))
    {
        return Err(RecordError::invalid(field, value, Rule::ControlCharacter));
    }
    Ok(())
}

fn is_separator_or_bidi(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// A text that may span lines: bounded in characters; only `\n` and `\t`
/// among the control characters; not only white space or invisible characters.
fn text(field: &str, value: &str, min: usize, max: usize) -> Result {
    let actual = value.chars().count();
    if actual < min || actual > max {
        return Err(RecordError::invalid(
            field,
            value,
            Rule::Length {
                min,
                max,
                actual,
                unit: "characters",
            },
        ));
    }
    if min > 0 && value.chars().all(is_invisible) {
        return Err(RecordError::invalid(field, value, Rule::Blank));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(RecordError::invalid(field, value, Rule::ControlCharacter));
    }
    Ok(())
}

fn list<T>(field: &str, items: &[T], min: usize, max: usize) -> Result {
    if items.len() < min || items.len() > max {
        return Err(RecordError::invalid(
            field,
            format!("{} items", items.len()),
            Rule::Count {
                min,
                max,
                actual: items.len(),
            },
        ));
    }
    Ok(())
}

fn unique<T: Eq + Hash + std::fmt::Display>(field: &str, items: &[T]) -> Result {
    let mut seen = HashSet::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        if !seen.insert(item) {
            return Err(RecordError::invalid(
                format!("{field}[{n}]"),
                item.to_string(),
                Rule::Duplicate,
            ));
        }
    }
    Ok(())
}

fn lang_map(field: &str, map: &LangMap, max: usize, french_required: bool) -> Result {
    if map.len() > LANGUAGES_MAX {
        return Err(RecordError::invalid(
            field,
            format!("{} languages", map.len()),
            Rule::Count {
                min: usize::from(french_required),
                max: LANGUAGES_MAX,
                actual: map.len(),
            },
        ));
    }
    if french_required && !map.contains_key(&LangCode::fr()) {
        return Err(RecordError::invalid(
            format!("{field}.fr"),
            "",
            Rule::FrenchRequired,
        ));
    }
    for (lang, value) in map {
        text(&format!("{field}.{lang}"), value, 1, max)?;
    }
    Ok(())
}
