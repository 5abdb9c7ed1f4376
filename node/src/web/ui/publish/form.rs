//! The publish form: its fields (named by the draft's JSON paths, so that a
//! record error's `field` points at the input at fault), the draft built
//! from a submitted form, the form filled from an existing initiative, and
//! the errors shown next to their fields in the page's language.

use essaim_protocol::record::Initiative;
use essaim_protocol::vocab::{Audience, Lang, LegalForm, ReplicationModel, Stage, Theme};
use essaim_protocol::{RecordError, Rule};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::super::Ctx;

/// Rows shown for each repeated group when the form is empty.
const REPOSITORY_ROWS: usize = 3;
const IMPACT_ROWS: usize = 3;
const CONTACT_ROWS: usize = 2;
/// Most rows of a repeated group (above the protocol's limits, so that its
/// own error says what the limit is).
const MAX_ROWS: usize = 24;

/// The form's values as submitted (or filled from a record): name, value.
pub(crate) type Values = Vec<(String, String)>;

/// An error to show next to a field (`field` is a form field's name), or
/// in the summary only (`field` empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The form field's name.
    pub(crate) field: String,
    /// What is wrong and what to write, in the page's language.
    pub(crate) message: String,
}

/// The first value of a field, trimmed.
fn value<'a>(values: &'a [(String, String)], name: &str) -> &'a str {
    values
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// Every value of a repeated field (checkboxes).
fn all<'a>(values: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    values
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Codes separated by spaces, commas or semicolons.
fn split_list(text: &str) -> Vec<String> {
    text.split([' ', ',', ';', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A whole number as people write it: spaces (also no-break ones) between
/// thousands allowed.
fn parse_integer(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '_'))
        .collect();
    let digits = digits.replace('−', "-");
    digits.parse().ok()
}

/// An amount in euros (`12 500`, `12500,50`, `12500.5`) in cents.
fn parse_euros(text: &str) -> Option<u64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '€' | '_'))
        .collect();
    let (units, cents) = match cleaned.split_once([',', '.']) {
        Some((u, c)) => (u, c),
        None => (cleaned.as_str(), ""),
    };
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) || cents.len() > 2 {
        return None;
    }
    if !cents.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let units: u64 = units.parse().ok()?;
    let cents: u64 = match cents.len() {
        0 => 0,
        1 => cents.parse::<u64>().ok()? * 10,
        _ => cents.parse().ok()?,
    };
    units.checked_mul(100)?.checked_add(cents)
}

/// How many rows of a repeated group the values use (`repositories[4].url`
/// → 5).
fn rows_used(values: &[(String, String)], group: &str) -> usize {
    values
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(group)?.strip_prefix('[')?;
            let (index, _) = rest.split_once(']')?;
            (!v.trim().is_empty()).then(|| index.parse::<usize>().ok())?
        })
        .filter(|i| *i < MAX_ROWS)
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// Which form row each JSON array item came from (empty rows are skipped).
#[derive(Default, Debug)]
pub(crate) struct RowMap {
    repositories: Vec<usize>,
    impact: Vec<usize>,
    contacts: Vec<usize>,
}

/// The draft (JSON) of the submitted form, the rows it kept, and the
/// errors found before the draft is read (numbers that are not numbers).
pub(crate) fn draft(ctx: &Ctx, values: &[(String, String)]) -> (String, RowMap, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut rows = RowMap::default();
    let mut map = Map::new();
    map.insert("kind".into(), json!("initiative"));
    let text = |map: &mut Map<String, Value>, key: &str, name: &str| {
        let v = value(values, name);
        if !v.is_empty() {
            map.insert(key.into(), json!(v));
        }
    };
    text(&mut map, "slug", "slug");
    text(&mut map, "name", "name");
    text(&mut map, "stage", "stage");
    text(&mut map, "origin", "origin");
    text(&mut map, "website", "website");
    for field in ["summary", "description"] {
        let mut texts = Map::new();
        for lang in ["fr", "en"] {
            let v = value(values, &format!("{field}.{lang}"));
            if !v.is_empty() {
                texts.insert(lang.into(), json!(v));
            }
        }
        if !texts.is_empty() || field == "summary" {
            map.insert(field.into(), Value::Object(texts));
        }
    }
    for list in ["themes", "audiences"] {
        let codes: Vec<&str> = all(values, list).collect();
        if !codes.is_empty() || list == "themes" {
            map.insert(list.into(), json!(codes));
        }
    }
    let territories = split_list(value(values, "territories"));
    if !territories.is_empty() {
        map.insert("territories".into(), json!(territories));
    }
    let sdgs: Vec<&str> = all(values, "sdgs").collect();
    if !sdgs.is_empty() {
        let mut numbers = Vec::new();
        for sdg in sdgs {
            match sdg.parse::<u64>() {
                Ok(n) => numbers.push(n),
                Err(_) => errors.push(not_a_number(ctx, "sdgs", sdg)),
            }
        }
        map.insert("sdgs".into(), json!(numbers));
    }
    let object = |map: &mut Map<String, Value>, key: &str, fields: &[&str]| {
        let mut inner = Map::new();
        for field in fields {
            let v = value(values, &format!("{key}.{field}"));
            if !v.is_empty() {
                inner.insert((*field).into(), json!(v));
            }
        }
        if !inner.is_empty() {
            map.insert(key.into(), Value::Object(inner));
        }
    };
    object(&mut map, "replication", &["model", "kit"]);
    object(&mut map, "carrier", &["name", "legal_form", "siren"]);
    // Needs: euros typed, cents recorded.
    let mut needs = Map::new();
    let funding = value(values, "needs.funding_cents");
    if !funding.is_empty() {
        match parse_euros(funding) {
            Some(cents) => {
                needs.insert("funding_cents".into(), json!(cents));
            }
            None => errors.push(FieldError {
                field: "needs.funding_cents".into(),
                message: match ctx.lang {
                    Lang::Fr => format!(
                        "« {funding} » n'est pas un montant en euros : écrivez par exemple 12500 ou 12 500,50."
                    ),
                    Lang::En => format!(
                        "`{funding}` is not an amount in euros: write e.g. 12500 or 12500.50."
                    ),
                },
            }),
        }
    }
    let partners: Vec<&str> = value(values, "needs.partners")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if !partners.is_empty() {
        needs.insert("partners".into(), json!(partners));
    }
    let sought = split_list(value(values, "needs.territories"));
    if !sought.is_empty() {
        needs.insert("territories".into(), json!(sought));
    }
    if !needs.is_empty() {
        map.insert("needs".into(), Value::Object(needs));
    }
    // Repeated groups: a row with any field filled in is an item.
    let group = |map: &mut Map<String, Value>,
                 errors: &mut Vec<FieldError>,
                 key: &str,
                 fields: &[&str],
                 kept: &mut Vec<usize>| {
        let mut items = Vec::new();
        for row in 0..rows_used(values, key) {
            let mut item = Map::new();
            for field in fields {
                let name = format!("{key}[{row}].{field}");
                let v = value(values, &name);
                if v.is_empty() {
                    continue;
                }
                if key == "impact" && *field == "value" {
                    match parse_integer(v) {
                        Some(n) => {
                            item.insert((*field).into(), json!(n));
                        }
                        None => errors.push(not_a_number(ctx, &name, v)),
                    }
                } else {
                    item.insert((*field).into(), json!(v));
                }
            }
            if !item.is_empty() {
                items.push(Value::Object(item));
                kept.push(row);
            }
        }
        if !items.is_empty() {
            map.insert(key.into(), Value::Array(items));
        }
    };
    group(
        &mut map,
        &mut errors,
        "repositories",
        &["name", "url", "licence", "commit"],
        &mut rows.repositories,
    );
    group(
        &mut map,
        &mut errors,
        "impact",
        &["name", "value", "unit", "period"],
        &mut rows.impact,
    );
    group(
        &mut map,
        &mut errors,
        "contacts",
        &["name", "email", "url"],
        &mut rows.contacts,
    );
    (Value::Object(map).to_string(), rows, errors)
}

fn not_a_number(ctx: &Ctx, field: &str, typed: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: match ctx.lang {
            Lang::Fr => format!("« {typed} » n'est pas un nombre entier."),
            Lang::En => format!("`{typed}` is not a whole number."),
        },
    }
}

/// The form field a record error's path points at (`territories[1]` →
/// `territories`, `repositories[0].url` → the row it came from), or `None`
/// when no field of the form holds it.
pub(crate) fn form_field(path: &str, rows: &RowMap) -> Option<String> {
    let (head, rest) = match path.find(['.', '[']) {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let index = || -> Option<(usize, &str)> {
        let inner = rest.strip_prefix('[')?;
        let (i, after) = inner.split_once(']')?;
        Some((i.parse().ok()?, after.strip_prefix('.').unwrap_or(after)))
    };
    let row_field = |kept: &[usize], default_field: &str| -> Option<String> {
        match index() {
            Some((i, field)) => {
                let row = kept.get(i).copied().unwrap_or(i);
                let field = field.split(['.', '[']).next().unwrap_or("");
                let field = if field.is_empty() {
                    default_field
                } else {
                    field
                };
                Some(format!("{head}[{row}].{field}"))
            }
            None => Some(format!("{head}[0].{default_field}")),
        }
    };
    match head {
        "slug" | "name" | "stage" | "origin" | "website" | "themes" | "audiences"
        | "territories" | "sdgs" => Some(head.to_owned()),
        "summary" | "description" => {
            let lang = rest.strip_prefix('.').unwrap_or("fr");
            Some(format!("{head}.{}", if lang == "en" { "en" } else { "fr" }))
        }
        "replication" => Some(match rest {
            ".kit" => "replication.kit".to_owned(),
            _ => "replication.model".to_owned(),
        }),
        "carrier" => Some(match rest {
            ".legal_form" => "carrier.legal_form".to_owned(),
            ".siren" => "carrier.siren".to_owned(),
            _ => "carrier.name".to_owned(),
        }),
        "needs" => Some(
            if rest.starts_with(".partners") {
                "needs.partners"
            } else if rest.starts_with(".territories") {
                "needs.territories"
            } else {
                "needs.funding_cents"
            }
            .to_owned(),
        ),
        "repositories" => row_field(&rows.repositories, "name"),
        "impact" => row_field(&rows.impact, "name"),
        "contacts" => row_field(&rows.contacts, "email"),
        _ => None,
    }
}

/// A record error in the page's language, without the field's path (it is
/// shown next to the field).
pub(crate) fn message(ctx: &Ctx, error: &RecordError) -> String {
    let fr = ctx.lang == Lang::Fr;
    match error {
        RecordError::MissingField { .. } => ctx
            .t("Ce champ est obligatoire.", "This field is required.")
            .to_owned(),
        RecordError::TooLarge { size, limit, .. } => {
            if fr {
                format!(
                    "L'initiative fait {size} octets une fois signée ; la limite est {limit} : raccourcissez la description."
                )
            } else {
                format!(
                    "The signed initiative is {size} bytes; the limit is {limit}: shorten the description."
                )
            }
        }
        RecordError::Invalid { value, rule, .. } if fr => rule_fr(value, rule),
        RecordError::Invalid { value, rule, .. } => {
            if value.is_empty() || matches!(rule, Rule::Territory(_)) {
                format!("{rule}.")
            } else {
                format!("`{value}`: {rule}.")
            }
        }
        other => other.to_string(),
    }
}

/// A rule in French, with the value at fault.
fn rule_fr(value: &str, rule: &Rule) -> String {
    let value = if value.is_empty() {
        String::new()
    } else {
        format!("« {value} » : ")
    };
    let text = match rule {
        Rule::Slug => "l'identifiant s'écrit avec 1 à 64 caractères parmi a-z, 0-9 et des tirets simples (epicerie-solidaire).".to_owned(),
        Rule::Length { min, max, actual, unit } => format!(
            "longueur {actual}, hors de {min} à {max} {}.",
            if *unit == "bytes" { "octets" } else { "caractères" }
        ),
        Rule::Count { min, max, actual } => format!("{actual} éléments ; il en faut de {min} à {max}."),
        Rule::Duplicate => "apparaît deux fois ; indiquez chaque élément une fois.".to_owned(),
        Rule::ControlCharacter => "contient un caractère de contrôle ou invisible (pas de retour à la ligne dans un texte d'une ligne).".to_owned(),
        Rule::Blank => "le texte est vide : écrivez un texte visible.".to_owned(),
        Rule::IntegerRange { min, max } => format!("la valeur doit être comprise entre {min} et {max}."),
        Rule::Spdx { .. } => "ce n'est pas une expression de licence SPDX : écrivez par exemple AGPL-3.0-or-later ou MIT OR Apache-2.0.".to_owned(),
        Rule::UnknownTerm { .. } => "ce terme n'est pas dans la liste proposée.".to_owned(),
        Rule::Siren => "un numéro SIREN a 9 chiffres, sans espace, avec une clé de contrôle valide (les 9 premiers chiffres d'un SIRET).".to_owned(),
        Rule::Url { .. } | Rule::UrlNotNormalised { .. } => "écrivez une adresse web complète, en https:// (ou http://), sans identifiant ni mot de passe.".to_owned(),
        Rule::Sdg => "les objectifs de développement durable sont numérotés de 1 à 17.".to_owned(),
        Rule::Territory(e) => match e.code() {
            "arrondissement_not_commune" => "c'est un arrondissement : indiquez la commune (par exemple com:69123 pour Lyon).".to_owned(),
            _ => "ce n'est pas un code de territoire connu : écrivez FR, reg:NN, dep:NN ou com:NNNNN (codes INSEE ; par exemple com:69123 pour Lyon, dep:69 pour le Rhône).".to_owned(),
        },
        Rule::Email => "ce n'est pas une adresse électronique (nom@exemple.org).".to_owned(),
        Rule::Commit => "un commit s'écrit en entier : 40 (SHA-1) ou 64 (SHA-256) caractères hexadécimaux en minuscules.".to_owned(),
        Rule::FrenchRequired => "le texte en français est obligatoire.".to_owned(),
        Rule::ContactEmpty => "un contact a besoin d'une adresse électronique ou d'une page web.".to_owned(),
        Rule::EmptyObject { .. } => "remplissez au moins un de ces champs, ou laissez-les tous vides.".to_owned(),
        Rule::RepositoryName => "deux dépôts ne peuvent pas avoir le même nom.".to_owned(),
        other => return format!("{value}{other}."),
    };
    format!("{value}{text}")
}

/// The form's values from an existing initiative (`?edit=`), in the form's
/// field names.
pub(crate) fn values_of(ctx: &Ctx, i: &Initiative) -> Values {
    let mut v: Values = Vec::new();
    let mut put = |k: String, val: String| {
        if !val.is_empty() {
            v.push((k, val));
        }
    };
    put("slug".into(), i.slug.to_string());
    put("name".into(), i.name.clone());
    for (lang, text) in &i.summary {
        put(format!("summary.{lang}"), text.clone());
    }
    for (lang, text) in &i.description {
        put(format!("description.{lang}"), text.clone());
    }
    for t in &i.themes {
        put("themes".into(), t.code().into());
    }
    for a in &i.audiences {
        put("audiences".into(), a.code().into());
    }
    put("stage".into(), i.stage.code().into());
    if let Some(r) = &i.replication {
        put("replication.model".into(), r.model.code().into());
        if let Some(kit) = &r.kit {
            put("replication.kit".into(), kit.to_string());
        }
    }
    put("origin".into(), i.origin.to_string());
    put(
        "territories".into(),
        i.territories
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(w) = &i.website {
        put("website".into(), w.to_string());
    }
    if let Some(c) = &i.carrier {
        put("carrier.name".into(), c.name.clone());
        if let Some(f) = c.legal_form {
            put("carrier.legal_form".into(), f.code().into());
        }
        if let Some(s) = &c.siren {
            put("carrier.siren".into(), s.to_string());
        }
    }
    for (n, r) in i.repositories.iter().enumerate() {
        put(format!("repositories[{n}].name"), r.name.to_string());
        put(format!("repositories[{n}].url"), r.url.to_string());
        put(format!("repositories[{n}].licence"), r.licence.to_string());
        if let Some(c) = &r.commit {
            put(format!("repositories[{n}].commit"), c.to_string());
        }
    }
    for (n, ind) in i.impact.iter().enumerate() {
        put(format!("impact[{n}].name"), ind.name.clone());
        put(format!("impact[{n}].value"), ind.value.to_string());
        put(format!("impact[{n}].unit"), ind.unit.clone());
        if let Some(p) = &ind.period {
            put(format!("impact[{n}].period"), p.clone());
        }
    }
    for s in &i.sdgs {
        put("sdgs".into(), s.number().to_string());
    }
    if let Some(needs) = &i.needs {
        if let Some(cents) = needs.funding_cents {
            let sep = if ctx.lang == Lang::Fr { "," } else { "." };
            let euros = if cents % 100 == 0 {
                (cents / 100).to_string()
            } else {
                format!("{}{sep}{:02}", cents / 100, cents % 100)
            };
            put("needs.funding_cents".into(), euros);
        }
        put("needs.partners".into(), needs.partners.join("\n"));
        put(
            "needs.territories".into(),
            needs
                .territories
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    for (n, c) in i.contacts.iter().enumerate() {
        if let Some(name) = &c.name {
            put(format!("contacts[{n}].name"), name.clone());
        }
        if let Some(email) = &c.email {
            put(format!("contacts[{n}].email"), email.to_string());
        }
        if let Some(url) = &c.url {
            put(format!("contacts[{n}].url"), url.to_string());
        }
    }
    v
}

/// The HTML id of a field (`repositories[0].url` → `f-repositories-0-url`).
pub(crate) fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    let mut dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
            dash = false;
        } else if !dash {
            id.push('-');
            dash = true;
        }
    }
    id.trim_end_matches('-').to_owned()
}

/// What the form's fields need to render: values and errors.
pub(crate) struct Form<'a> {
    ctx: &'a Ctx,
    values: &'a [(String, String)],
    errors: &'a [FieldError],
}

/// How a text field is entered.
#[derive(Clone, Copy)]
enum Input {
    Text,
    Url,
    Email,
    Numeric,
    Area(u8),
}

impl<'a> Form<'a> {
    pub(crate) fn new(
        ctx: &'a Ctx,
        values: &'a [(String, String)],
        errors: &'a [FieldError],
    ) -> Self {
        Form {
            ctx,
            values,
            errors,
        }
    }

    fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.message.as_str())
    }

    fn raw(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// `aria-describedby`: the hint, then the error.
    fn described_by(&self, name: &str, hint: bool) -> Option<String> {
        let id = field_id(name);
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{id}-hint"));
        }
        if self.error(name).is_some() {
            ids.push(format!("{id}-error"));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn error_markup(&self, name: &str) -> Markup {
        html! {
            @if let Some(message) = self.error(name) {
                p.field-error id=(format!("{}-error", field_id(name))) data-field=(name) { (message) }
            }
        }
    }

    fn label(&self, name: &str, label: &str, required: bool) -> Markup {
        // In a repeated row, what is required depends on whether the row is
        // used: the group's hint says it.
        let in_row = name.contains('[');
        html! {
            label for=(field_id(name)) {
                (label)
                @if !required && !in_row { " " span.optional { (self.ctx.t("(facultatif)", "(optional)")) } }
            }
        }
    }

    fn text(
        &self,
        name: &str,
        label: &str,
        hint: Option<&str>,
        input: Input,
        required: bool,
    ) -> Markup {
        let id = field_id(name);
        let invalid = self.error(name).is_some().then_some("true");
        let described = self.described_by(name, hint.is_some());
        html! {
            div.field {
                (self.label(name, label, required))
                @if let Some(hint) = hint { span.hint id=(format!("{id}-hint")) { (hint) } }
                @match input {
                    Input::Area(rows) => textarea id=(id) name=(name) rows=(rows) required[required]
                        aria-invalid=[invalid] aria-describedby=[described] { (self.raw(name)) },
                    Input::Text => input type="text" id=(id) name=(name) value=(self.raw(name)) required[required]
                        aria-invalid=[invalid] aria-describedby=[described];
                    Input::Url => input type="url" id=(id) name=(name) value=(self.raw(name)) required[required]
                        inputmode="url" aria-invalid=[invalid] aria-describedby=[described];
                    Input::Email => input type="email" id=(id) name=(name) value=(self.raw(name)) required[required]
                        autocomplete="email" aria-invalid=[invalid] aria-describedby=[described];
                    Input::Numeric => input type="text" inputmode="decimal" id=(id) name=(name) value=(self.raw(name))
                        required[required] aria-invalid=[invalid] aria-describedby=[described];
                }
                (self.error_markup(name))
            }
        }
    }

    fn select(
        &self,
        name: &str,
        label: &str,
        hint: Option<&str>,
        options: &[(&str, &str)],
        required: bool,
    ) -> Markup {
        let id = field_id(name);
        let chosen = self.raw(name).trim();
        let invalid = self.error(name).is_some().then_some("true");
        let described = self.described_by(name, hint.is_some());
        html! {
            div.field {
                (self.label(name, label, required))
                @if let Some(hint) = hint { span.hint id=(format!("{id}-hint")) { (hint) } }
                select id=(id) name=(name) required[required] aria-invalid=[invalid] aria-describedby=[described] {
                    option value="" selected[chosen.is_empty()] {
                        (if required { self.ctx.t("— choisir —", "— choose —") } else { self.ctx.t("— non précisé —", "— not given —") })
                    }
                    @for (code, text) in options {
                        option value=(code) selected[chosen == *code] { (text) }
                    }
                }
                (self.error_markup(name))
            }
        }
    }

    fn checkboxes(
        &self,
        name: &str,
        legend: &str,
        hint: Option<&str>,
        options: &[(&str, &str)],
    ) -> Markup {
        let id = field_id(name);
        let invalid = self.error(name).is_some().then_some("true");
        let described = self.described_by(name, hint.is_some());
        let checked: Vec<&str> = self
            .values
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect();
        html! {
            fieldset id=(id) aria-describedby=[described] {
                legend { (legend) }
                @if let Some(hint) = hint { p.hint id=(format!("{id}-hint")) { (hint) } }
                div.checks {
                    @for (code, text) in options {
                        label for=(format!("{id}-{code}")) {
                            input type="checkbox" id=(format!("{id}-{code}")) name=(name) value=(code)
                                checked[checked.contains(code)] aria-invalid=[invalid];
                            span { (text) }
                        }
                    }
                }
                (self.error_markup(name))
            }
        }
    }

    /// How many rows a repeated group shows: the default, or more when the
    /// values or errors use more.
    fn rows(&self, group: &str, default: usize) -> usize {
        let errors = self
            .errors
            .iter()
            .filter_map(|e| {
                let rest = e.field.strip_prefix(group)?.strip_prefix('[')?;
                rest.split_once(']')?.0.parse::<usize>().ok()
            })
            .map(|i| i + 1)
            .max()
            .unwrap_or(0);
        default
            .max(rows_used(self.values, group))
            .max(errors.min(MAX_ROWS))
    }

    /// Every field of the form.
    pub(crate) fn fields(&self) -> Markup {
        let ctx = self.ctx;
        let lang = ctx.lang;
        let themes: Vec<(&str, &str)> = Theme::ALL
            .iter()
            .map(|t| (t.code(), t.label(lang)))
            .collect();
        let audiences: Vec<(&str, &str)> = Audience::ALL
            .iter()
            .map(|t| (t.code(), t.label(lang)))
            .collect();
        let stages: Vec<(&str, &str)> = Stage::ALL
            .iter()
            .map(|t| (t.code(), t.label(lang)))
            .collect();
        let models: Vec<(&str, &str)> = ReplicationModel::ALL
            .iter()
            .map(|t| (t.code(), t.label(lang)))
            .collect();
        let forms: Vec<(&str, &str)> = LegalForm::ALL
            .iter()
            .map(|t| (t.code(), t.label(lang)))
            .collect();
        let sdg_numbers: Vec<String> = (1..=17).map(|n: u8| n.to_string()).collect();
        let sdgs: Vec<(&str, &str)> = sdg_numbers
            .iter()
            .zip(super::super::initiative::SDGS.iter())
            .map(|(n, (fr, en))| (n.as_str(), if lang == Lang::Fr { *fr } else { *en }))
            .collect();
        let territory_hint = ctx.t(
            "Codes INSEE : com:69123 (Lyon), dep:69 (Rhône), reg:84 (Auvergne-Rhône-Alpes) ou FR, séparés par des espaces ou des virgules.",
            "INSEE codes: com:69123 (Lyon), dep:69 (Rhône), reg:84 (Auvergne-Rhône-Alpes) or FR, separated by spaces or commas.",
        );
        html! {
            fieldset {
                legend { (ctx.t("L'essentiel", "The essentials")) }
                (self.text("slug", ctx.t("Identifiant court", "Short id"), Some(ctx.t(
                    "Lettres minuscules sans accent, chiffres et tirets (epicerie-solidaire) ; il fait l'adresse de la page. Le même identifiant met à jour l'initiative.",
                    "Lower-case letters, digits and hyphens (food-bank); it makes the page's address. The same id updates the initiative.",
                )), Input::Text, true))
                (self.text("name", ctx.t("Nom", "Name"), None, Input::Text, true))
                (self.text("summary.fr", ctx.t("Résumé en français", "Summary in French"), Some(ctx.t(
                    "Un paragraphe, 500 caractères au plus.", "One paragraph, 500 characters at most.",
                )), Input::Area(3), true))
                (self.text("summary.en", ctx.t("Résumé en anglais", "Summary in English"), None, Input::Area(3), false))
                (self.text("description.fr", ctx.t("Description en français", "Description in French"), Some(ctx.t(
                    "En Markdown : ## titres, listes, **gras**, [liens](https://…).",
                    "In Markdown: ## headings, lists, **bold**, [links](https://…).",
                )), Input::Area(10), false))
                (self.text("description.en", ctx.t("Description en anglais", "Description in English"), None, Input::Area(6), false))
            }
            (self.checkboxes("themes", ctx.t("Thèmes (1 à 5)", "Themes (1 to 5)"), None, &themes))
            (self.checkboxes("audiences", ctx.t("Publics (facultatif)", "Audiences (optional)"), None, &audiences))
            fieldset {
                legend { (ctx.t("Stade et essaimage", "Stage and replication")) }
                (self.select("stage", ctx.t("Stade", "Stage"), None, &stages, true))
                (self.select("replication.model", ctx.t("Modèle d'essaimage", "Replication model"), None, &models, false))
                (self.text("replication.kit", ctx.t("Adresse du kit d'essaimage", "Replication kit address"), None, Input::Url, false))
            }
            fieldset {
                legend { (ctx.t("Territoires", "Territories")) }
                (self.text("origin", ctx.t("Territoire d'origine", "Territory of origin"), Some(ctx.t(
                    "Un code INSEE : com:69123, dep:69, reg:84 ou FR.", "One INSEE code: com:69123, dep:69, reg:84 or FR.",
                )), Input::Text, true))
                (self.text("territories", ctx.t("Territoires d'action", "Territories where it runs"), Some(territory_hint), Input::Text, false))
            }
            fieldset {
                legend { (ctx.t("Structure porteuse et site", "Organisation and website")) }
                (self.text("carrier.name", ctx.t("Nom de la structure", "Organisation's name"), None, Input::Text, false))
                div.row.row-2 {
                    (self.select("carrier.legal_form", ctx.t("Forme juridique", "Legal form"), None, &forms, false))
                    (self.text("carrier.siren", "SIREN", Some(ctx.t("9 chiffres.", "9 digits.")), Input::Numeric, false))
                }
                (self.text("website", ctx.t("Site web", "Website"), None, Input::Url, false))
            }
            fieldset.repeat {
                legend { (ctx.t("Dépôts de code (facultatif)", "Code repositories (optional)")) }
                p.hint { (ctx.t(
                    "Ce nœud en gardera une copie et la servira à qui veut la cloner. Pour chaque dépôt indiqué, le nom court, l'adresse et la licence sont obligatoires ; laissez vides les dépôts inutiles.",
                    "This node will keep a copy and serve it to whoever wants to clone it. For each repository given, the short name, the address and the licence are required; leave unused ones empty.",
                )) }
                @for row in 0..self.rows("repositories", REPOSITORY_ROWS) {
                    fieldset {
                        legend { (ctx.t("Dépôt ", "Repository ")) (row + 1) }
                        div.row.row-2 {
                            (self.text(&format!("repositories[{row}].name"), ctx.t("Nom court", "Short name"), None, Input::Text, false))
                            (self.text(&format!("repositories[{row}].licence"), ctx.t("Licence (SPDX)", "Licence (SPDX)"), None, Input::Text, false))
                        }
                        (self.text(&format!("repositories[{row}].url"), ctx.t("Adresse du dépôt", "Repository address"), None, Input::Url, false))
                        (self.text(&format!("repositories[{row}].commit"), ctx.t("Commit garanti", "Pinned commit"), None, Input::Text, false))
                    }
                }
            }
            fieldset.repeat {
                legend { (ctx.t("Impact mesuré", "Measured impact")) }
                p.hint { (ctx.t(
                    "Pour chaque indicateur indiqué, ce qui est mesuré, la valeur et l'unité sont obligatoires (facultatif).",
                    "For each indicator given, what is measured, the value and the unit are required (optional).",
                )) }
                @for row in 0..self.rows("impact", IMPACT_ROWS) {
                    fieldset {
                        legend { (ctx.t("Indicateur ", "Indicator ")) (row + 1) }
                        div.row.row-4 {
                            (self.text(&format!("impact[{row}].name"), ctx.t("Ce qui est mesuré", "What is measured"), None, Input::Text, false))
                            (self.text(&format!("impact[{row}].value"), ctx.t("Valeur (nombre entier)", "Value (whole number)"), None, Input::Numeric, false))
                            (self.text(&format!("impact[{row}].unit"), ctx.t("Unité", "Unit"), None, Input::Text, false))
                            (self.text(&format!("impact[{row}].period"), ctx.t("Période", "Period"), None, Input::Text, false))
                        }
                    }
                }
            }
            (self.checkboxes("sdgs", ctx.t("Objectifs de développement durable (facultatif)", "Sustainable Development Goals (optional)"), None, &sdgs))
            fieldset {
                legend { (ctx.t("Besoins", "Needs")) }
                (self.text("needs.funding_cents", ctx.t("Financement recherché, en euros", "Funding sought, in euros"), None, Input::Numeric, false))
                (self.text("needs.partners", ctx.t("Partenaires recherchés", "Partners sought"), Some(ctx.t("Un par ligne.", "One per line.")), Input::Area(3), false))
                (self.text("needs.territories", ctx.t("Territoires où essaimer", "Territories to replicate in"), Some(territory_hint), Input::Text, false))
            }
            fieldset.repeat {
                legend { (ctx.t("Contacts", "Contacts")) }
                p.hint { (ctx.t(
                    "Une adresse électronique ou une page de contact par contact indiqué (facultatif).",
                    "An e-mail address or a contact page for each contact given (optional).",
                )) }
                @for row in 0..self.rows("contacts", CONTACT_ROWS) {
                    fieldset {
                        legend { (ctx.t("Contact ", "Contact ")) (row + 1) }
                        (self.text(&format!("contacts[{row}].name"), ctx.t("Qui (un rôle plutôt qu'un nom)", "Who (a role rather than a name)"), None, Input::Text, false))
                        div.row.row-2 {
                            (self.text(&format!("contacts[{row}].email"), ctx.t("Adresse électronique", "E-mail address"), None, Input::Email, false))
                            (self.text(&format!("contacts[{row}].url"), ctx.t("Page de contact", "Contact page"), None, Input::Url, false))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_write_them() {
        assert_eq!(parse_euros("12 500"), Some(1_250_000));
        assert_eq!(parse_euros("12\u{202f}500,5"), Some(1_250_050));
        assert_eq!(parse_euros("12500.50 €"), Some(1_250_050));
        assert_eq!(parse_euros("abc"), None);
        assert_eq!(parse_euros("1,234,567"), None);
        assert_eq!(parse_euros(""), None);
        assert_eq!(parse_integer("61 400"), Some(61_400));
        assert_eq!(parse_integer("-3"), Some(-3));
        assert_eq!(parse_integer("3.5"), None);
    }

    #[test]
    fn record_paths_find_their_form_field() {
        let rows = RowMap {
            repositories: vec![0, 2],
            impact: vec![1],
            contacts: vec![],
        };
        for (path, field) in [
            ("territories[1]", Some("territories")),
            ("themes", Some("themes")),
            ("themes[0]", Some("themes")),
            ("summary", Some("summary.fr")),
            ("summary.en", Some("summary.en")),
            ("repositories[1].url", Some("repositories[2].url")),
            ("repositories[0]", Some("repositories[0].name")),
            ("impact[0].value", Some("impact[1].value")),
            ("needs.territories[0]", Some("needs.territories")),
            ("needs", Some("needs.funding_cents")),
            ("carrier.siren", Some("carrier.siren")),
            ("contacts[0]", Some("contacts[0].email")),
            ("author", None),
            ("seq", None),
        ] {
            assert_eq!(form_field(path, &rows).as_deref(), field, "{path}");
        }
    }

    #[test]
    fn ids_are_plain() {
        assert_eq!(field_id("repositories[0].url"), "f-repositories-0-url");
        assert_eq!(field_id("summary.fr"), "f-summary-fr");
        assert_eq!(field_id("needs.funding_cents"), "f-needs-funding_cents");
    }

    #[test]
    fn rows_used_counts_filled_rows() {
        let values: Values = vec![
            ("repositories[0].name".into(), "a".into()),
            ("repositories[4].url".into(), " ".into()),
            ("repositories[2].url".into(), "x".into()),
            ("impact[99999999999].name".into(), "x".into()),
        ];
        assert_eq!(rows_used(&values, "repositories"), 3);
        assert_eq!(rows_used(&values, "impact"), 0);
    }
}

/// A path's segments: `impact[0].value` → `impact`, `[0]`, `value`.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            out.push(Segment::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(out)
}

/// A stand-in for a required top-level field, so that the draft can be
/// read further and every error found in one submission.
fn placeholder(path: &str) -> Option<(&'static str, Value)> {
    Some(match path {
        "name" => ("name", json!("x")),
        "slug" => ("slug", json!("x")),
        "stage" => ("stage", json!("emergence")),
        "origin" => ("origin", json!("FR")),
        "summary" | "summary.fr" => ("summary", json!({"fr": "x"})),
        "themes" => ("themes", json!(["culture"])),
        _ => return None,
    })
}

/// Take the part of the draft an error is about out of it (or put a
/// stand-in where a required field is missing), so that reading the draft
/// again finds the next error. `false` when there is nothing to take out.
pub(crate) fn set_aside(draft: &mut Value, error: &RecordError, rows: &mut RowMap) -> bool {
    let Some(path) = error.field() else {
        return false;
    };
    let missing = matches!(error, RecordError::MissingField { .. });
    if missing && let Some((key, value)) = placeholder(path) {
        let Some(map) = draft.as_object_mut() else {
            return false;
        };
        if key == "summary"
            && let Some(Value::Object(texts)) = map.get_mut("summary")
        {
            // Keep the other languages.
            texts.insert("fr".into(), json!("x"));
            return true;
        }
        map.insert(key.into(), value);
        return true;
    }
    let Some(segments) = segments(path) else {
        return false;
    };
    // Remove the innermost array item on the path, else the last key (the
    // object holding it when that key is the one missing).
    let cut = segments
        .iter()
        .rposition(|s| matches!(s, Segment::Index(_)))
        .map_or(segments.len().saturating_sub(usize::from(missing)), |i| {
            i + 1
        });
    if cut == 0 {
        return false;
    }
    let mut node = &mut *draft;
    for segment in &segments[..cut.saturating_sub(1)] {
        node = match (segment, node) {
            (Segment::Key(k), Value::Object(map)) => match map.get_mut(*k) {
                Some(next) => next,
                None => return false,
            },
            (Segment::Index(i), Value::Array(items)) => match items.get_mut(*i) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    let removed = match (segments.get(cut.wrapping_sub(1)), node) {
        (Some(Segment::Key(k)), Value::Object(map)) => map.remove(*k).is_some(),
        (Some(Segment::Index(i)), Value::Array(items)) if *i < items.len() => {
            items.remove(*i);
            if let (Some(Segment::Key(group)), 2) = (segments.first(), cut) {
                let kept = match *group {
                    "repositories" => Some(&mut rows.repositories),
                    "impact" => Some(&mut rows.impact),
                    "contacts" => Some(&mut rows.contacts),
                    _ => None,
                };
                if let Some(kept) = kept
                    && *i < kept.len()
                {
                    kept.remove(*i);
                }
            }
            true
        }
        _ => false,
    };
    // An emptied optional object or list goes too (the format refuses empty ones).
    if removed && let Value::Object(map) = draft {
        map.retain(|k, v| {
            !(matches!(
                k.as_str(),
                "carrier" | "needs" | "replication" | "description"
            ) && v.as_object().is_some_and(Map::is_empty)
                || matches!(
                    k.as_str(),
                    "repositories" | "impact" | "contacts" | "territories" | "sdgs" | "audiences"
                ) && v.as_array().is_some_and(Vec::is_empty))
        });
    }
    removed
}

#[cfg(test)]
mod set_aside_tests {
    use super::*;

    fn invalid(field: &str) -> RecordError {
        RecordError::Invalid {
            field: field.into(),
            value: String::new(),
            rule: Rule::Duplicate,
        }
    }

    #[test]
    fn errors_are_set_aside_one_by_one() {
        let mut draft = json!({
            "territories": ["com:69123", "dep:999"],
            "impact": [{"name": "a"}, {"name": "b", "value": 1}],
            "carrier": {"siren": "1"},
        });
        let mut rows = RowMap {
            impact: vec![0, 2],
            ..RowMap::default()
        };
        assert!(set_aside(&mut draft, &invalid("territories[1]"), &mut rows));
        assert_eq!(draft["territories"], json!(["com:69123"]));
        assert!(set_aside(
            &mut draft,
            &invalid("impact[0].value"),
            &mut rows
        ));
        assert_eq!(draft["impact"], json!([{"name": "b", "value": 1}]));
        assert_eq!(rows.impact, vec![2]);
        assert_eq!(
            form_field("impact[0].unit", &rows).as_deref(),
            Some("impact[2].unit")
        );
        assert!(set_aside(&mut draft, &invalid("carrier.siren"), &mut rows));
        assert!(draft.get("carrier").is_none(), "{draft}");
        let missing = RecordError::MissingField {
            field: "name".into(),
        };
        assert!(set_aside(&mut draft, &missing, &mut rows));
        assert_eq!(draft["name"], "x");
        let missing = RecordError::MissingField {
            field: "impact[0].unit".into(),
        };
        assert!(set_aside(&mut draft, &missing, &mut rows));
        assert!(draft.get("impact").is_none(), "{draft}");
        draft["replication"] = json!({"kit": "https://example.org/"});
        let missing = RecordError::MissingField {
            field: "replication.model".into(),
        };
        assert!(set_aside(&mut draft, &missing, &mut rows));
        assert!(draft.get("replication").is_none(), "{draft}");
        let missing = RecordError::MissingField {
            field: "kind".into(),
        };
        assert!(!set_aside(&mut draft, &missing, &mut rows));
        assert!(!set_aside(&mut draft, &invalid("nothing[3]"), &mut rows));
    }
}
