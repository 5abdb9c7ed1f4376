//! The rules of the publiccode.yml standard, key by key, as the reference
//! validator (italia/publiccode-parser-go) applies them: a valid file gives
//! the `File` the mapping needs, an invalid one the first key at fault.
//!
//! Unknown keys are errors, as in the reference validator; what the standard
//! deprecates is accepted with a conformance warning, and every key Essaim
//! has no field for is named in a mapping warning.

use essaim_protocol::record::Licence;
use serde_json::{Map, Value};

use super::codes::{is_country, is_language_tag};
use super::files::{check_logo, check_screenshot, local_path, relative_path_or_url};
use super::graphemes::graphemes;
use super::values::{
    check_date, check_email, check_organisation_uri, check_support_id, is_http_url, is_ipa_code,
    is_mime_type, is_url, is_video_url, opt_http_url,
};
use super::vocab::{
    CATEGORIES, DEVELOPMENT_STATUSES, MAINTENANCE_TYPES, SCOPES, SOFTWARE_TYPES, VERSIONS,
};
use super::yaml::{
    Obj, get, join, known_keys, object, one_of, opt_bool, opt_list, opt_object, opt_text, req_text,
    required, text, text_list, wrong_type,
};
use super::{Ctx, Result, invalid};
use crate::import::spdx::undeprecate;
use crate::import::text::shorten;

/// What the mapping needs from a valid file.
pub(super) struct File {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) landing_url: Option<String>,
    pub(super) development_status: String,
    pub(super) categories: Vec<String>,
    pub(super) scope: Vec<String>,
    /// `intendedAudience.countries`, upper-case.
    pub(super) countries: Option<Vec<String>>,
    pub(super) descriptions: Vec<Description>,
    pub(super) license: String,
    pub(super) main_copyright_owner: Option<String>,
    pub(super) repo_owner: Option<String>,
    pub(super) organisation_name: Option<String>,
    pub(super) contacts: Vec<ContactIn>,
    /// Which country section (`IT` or `it`) the file has.
    pub(super) italian_section: Option<&'static str>,
}

/// A description in one language.
pub(super) struct Description {
    /// The BCP 47 tag, as written.
    pub(super) tag: String,
    pub(super) short: String,
    pub(super) long: String,
}

/// A maintenance contact, as written.
pub(super) struct ContactIn {
    pub(super) name: String,
    pub(super) email: Option<String>,
}

const TOP_KEYS: &[&str] = &[
    "publiccodeYmlVersion",
    "name",
    "applicationSuite",
    "url",
    "landingURL",
    "isBasedOn",
    "softwareVersion",
    "releaseDate",
    "logo",
    "monochromeLogo",
    "organisation",
    "inputTypes",
    "outputTypes",
    "platforms",
    "categories",
    "usedBy",
    "fundedBy",
    "roadmap",
    "developmentStatus",
    "softwareType",
    "supports",
    "intendedAudience",
    "description",
    "legal",
    "maintenance",
    "localisation",
    "dependsOn",
    "IT",
    "it",
];

/// Top-level keys Essaim has no field for.
const DROPPED_KEYS: &[&str] = &[
    "applicationSuite",
    "isBasedOn",
    "softwareVersion",
    "releaseDate",
    "logo",
    "monochromeLogo",
    "inputTypes",
    "outputTypes",
    "platforms",
    "usedBy",
    "fundedBy",
    "roadmap",
    "softwareType",
    "supports",
    "localisation",
    "dependsOn",
    "IT",
    "it",
];

pub(super) fn validate(root: &Obj, ctx: &mut Ctx<'_>) -> Result<File> {
    known_keys(root, "", TOP_KEYS)?;

    let version = req_text(root, "", "publiccodeYmlVersion")?;
    if !VERSIONS.contains(&version.as_str()) {
        return Err(invalid(
            "publiccodeYmlVersion",
            format!(
                "unsupported version `{}`: write \"0\" (supported: {})",
                shorten(&version, 20).0,
                VERSIONS.join(", ")
            ),
        ));
    }
    if !["0", "0.7", "0.7.0"].contains(&version.as_str()) {
        ctx.conformance(
            "publiccodeYmlVersion",
            format!("{version} is not the latest version of the standard: write \"0\""),
        );
    }

    let name = req_text(root, "", "name")?;
    opt_text(root, "", "applicationSuite")?;

    let url = req_text(root, "", "url")?;
    if !is_url(&url) {
        return Err(invalid(
            "url",
            format!(
                "`{}` is not a URL: write the repository's address (https://…)",
                shorten(&url, 80).0
            ),
        ));
    }
    let landing_url = opt_http_url(root, "", "landingURL")?;

    if let Some(based) = get(root, "isBasedOn") {
        let urls = match based {
            Value::Array(items) => text_list(items, "isBasedOn")?,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                vec![text(based, "isBasedOn")?]
            }
            other => return Err(wrong_type("isBasedOn", "a URL or a list of URLs", other)),
        };
        for (i, u) in urls.iter().enumerate() {
            if !is_url(u) {
                return Err(invalid(
                    format!("isBasedOn[{i}]"),
                    format!("`{}` is not a URL", shorten(u, 80).0),
                ));
            }
        }
    }
    opt_text(root, "", "softwareVersion")?;
    if let Some(date) = opt_text(root, "", "releaseDate")? {
        check_date(&date, "releaseDate")?;
    }

    if let Some(logo) = opt_text(root, "", "logo")? {
        check_logo(&logo, "logo", ctx)?;
    }
    if let Some(logo) = opt_text(root, "", "monochromeLogo")?.filter(|l| !l.is_empty()) {
        ctx.deprecated("monochromeLogo", "use `logo` instead");
        check_logo(&logo, "monochromeLogo", ctx)?;
    }

    let mut organisation_name = None;
    if let Some(org) = opt_object(root, "", "organisation")? {
        known_keys(org, "organisation", &["name", "uri"])?;
        organisation_name = opt_text(org, "organisation", "name")?;
        let uri = req_text(org, "organisation", "uri")?;
        check_organisation_uri(&uri, "organisation.uri")?;
        ctx.dropped("organisation.uri");
    }

    for key in ["inputTypes", "outputTypes"] {
        if let Some(items) = opt_list(root, "", key)? {
            ctx.deprecated(key, "it is safe to drop it");
            for (i, mime) in text_list(items, key)?.iter().enumerate() {
                if !is_mime_type(mime) {
                    return Err(invalid(
                        format!("{key}[{i}]"),
                        format!(
                            "`{}` is not a MIME type (type/subtype)",
                            shorten(mime, 60).0
                        ),
                    ));
                }
            }
        }
    }

    let platforms = opt_list(root, "", "platforms")?.unwrap_or_default();
    if platforms.is_empty() {
        return Err(invalid(
            "platforms",
            "required: list at least one platform (web, windows, mac, linux, ios, android…)",
        ));
    }
    text_list(platforms, "platforms")?;

    let categories = match opt_list(root, "", "categories")? {
        Some(items) => text_list(items, "categories")?,
        None => Vec::new(),
    };
    for (i, c) in categories.iter().enumerate() {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(invalid(
                format!("categories[{i}]"),
                format!(
                    "`{}` is not a category of the standard's list (https://yml.publiccode.tools/categories-list.html)",
                    shorten(c, 60).0
                ),
            ));
        }
    }

    if let Some(items) = opt_list(root, "", "usedBy")? {
        text_list(items, "usedBy")?;
    }

    if let Some(funders) = opt_list(root, "", "fundedBy")? {
        for (i, funder) in funders.iter().enumerate() {
            let key = format!("fundedBy[{i}]");
            let funder = object(funder, &key)?;
            known_keys(funder, &key, &["name", "uri"])?;
            opt_text(funder, &key, "name")?;
            let uri = req_text(funder, &key, "uri")?;
            check_organisation_uri(&uri, &join(&key, "uri"))?;
        }
    }

    opt_http_url(root, "", "roadmap")?;

    let development_status = req_text(root, "", "developmentStatus")?;
    one_of(
        &development_status,
        "developmentStatus",
        DEVELOPMENT_STATUSES,
    )?;
    let software_type = req_text(root, "", "softwareType")?;
    one_of(&software_type, "softwareType", SOFTWARE_TYPES)?;

    if let Some(supports) = opt_list(root, "", "supports")? {
        for (i, item) in supports.iter().enumerate() {
            let key = format!("supports[{i}]");
            let item = object(item, &key)?;
            known_keys(item, &key, &["id"])?;
            let id = req_text(item, &key, "id")?;
            check_support_id(&id, &join(&key, "id"))?;
        }
    }

    let (scope, countries) = intended_audience(root, ctx)?;
    let descriptions = descriptions(root, ctx)?;
    let (license, main_copyright_owner, repo_owner) = legal(root, ctx)?;
    let contacts = maintenance(root, ctx)?;
    localisation(root)?;
    dependencies(root)?;
    let italian_section = country_sections(root, ctx)?;

    for key in DROPPED_KEYS {
        if get(root, key).is_some() {
            ctx.dropped(*key);
        }
    }

    Ok(File {
        name,
        url,
        landing_url,
        development_status,
        categories,
        scope,
        countries,
        descriptions,
        license,
        main_copyright_owner,
        repo_owner,
        organisation_name,
        contacts,
        italian_section,
    })
}

type Audience = (Vec<String>, Option<Vec<String>>);

fn intended_audience(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Audience> {
    let Some(audience) = opt_object(root, "", "intendedAudience")? else {
        return Ok((Vec::new(), None));
    };
    let path = "intendedAudience";
    known_keys(
        audience,
        path,
        &["scope", "countries", "unsupportedCountries"],
    )?;
    let scope = match opt_list(audience, path, "scope")? {
        Some(items) => text_list(items, "intendedAudience.scope")?,
        None => Vec::new(),
    };
    for (i, s) in scope.iter().enumerate() {
        if !SCOPES.contains(&s.as_str()) {
            return Err(invalid(
                format!("intendedAudience.scope[{i}]"),
                format!(
                    "`{}` is not a scope of the standard's list (https://yml.publiccode.tools/scope-list.html)",
                    shorten(s, 60).0
                ),
            ));
        }
    }
    let mut countries = None;
    for name in ["countries", "unsupportedCountries"] {
        let Some(items) = opt_list(audience, path, name)? else {
            continue;
        };
        let key = join(path, name);
        let codes = text_list(items, &key)?;
        for (i, code) in codes.iter().enumerate() {
            let upper = code.to_ascii_uppercase();
            let one_case = *code == upper || *code == code.to_ascii_lowercase();
            if !one_case || !is_country(&upper) {
                return Err(invalid(
                    format!("{key}[{i}]"),
                    format!(
                        "`{}` is not an ISO 3166-1 alpha-2 country code (FR, IT, DE…)",
                        shorten(code, 40).0
                    ),
                ));
            }
            if *code != upper {
                ctx.conformance(
                    format!("{key}[{i}]"),
                    format!("lower-case country codes are deprecated: write `{upper}`"),
                );
            }
        }
        if name == "countries" {
            countries = Some(codes.iter().map(|c| c.to_ascii_uppercase()).collect());
        } else {
            ctx.dropped(key);
        }
    }
    Ok((scope, countries))
}

const DESCRIPTION_KEYS: &[&str] = &[
    "localisedName",
    "genericName",
    "shortDescription",
    "longDescription",
    "documentation",
    "apiDocumentation",
    "features",
    "screenshots",
    "videos",
    "awards",
];

fn descriptions(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Vec<Description>> {
    let Some(map) = opt_object(root, "", "description")? else {
        return Err(invalid(
            "description",
            "required: describe the software in at least one language (`description: {en: {…}}`)",
        ));
    };
    if map.is_empty() {
        return Err(invalid(
            "description",
            "describe the software in at least one language",
        ));
    }
    let mut out = Vec::new();
    for (tag, value) in map {
        let path = format!("description.{tag}");
        if !is_language_tag(tag) {
            let hint = if tag.contains('_') {
                format!(" (write `{}`)", tag.replace('_', "-"))
            } else {
                String::new()
            };
            return Err(invalid(
                path,
                format!(
                    "`{}` is not a BCP 47 language tag{hint}",
                    shorten(tag, 40).0
                ),
            ));
        }
        let desc = match value {
            Value::Null => &Map::new(),
            other => object(other, &path)?,
        };
        known_keys(desc, &path, DESCRIPTION_KEYS)?;
        opt_text(desc, &path, "localisedName")?;
        if let Some(generic) = opt_text(desc, &path, "genericName")? {
            max_graphemes(&generic, &join(&path, "genericName"), 35)?;
            if !generic.is_empty() {
                ctx.deprecated(&join(&path, "genericName"), "it is safe to drop it");
            }
        }
        let short = req_text(desc, &path, "shortDescription")?;
        max_graphemes(&short, &join(&path, "shortDescription"), 150)?;
        let long = req_text(desc, &path, "longDescription")?;
        let long_key = join(&path, "longDescription");
        let count = graphemes(&long);
        if count < 150 {
            return Err(invalid(
                long_key,
                format!("{count} characters: write at least 150"),
            ));
        }
        max_graphemes(&long, &long_key, 10_000)?;
        for name in ["documentation", "apiDocumentation"] {
            opt_http_url(desc, &path, name)?;
        }
        let features = opt_list(desc, &path, "features")?.unwrap_or_default();
        if features.is_empty() {
            return Err(invalid(
                join(&path, "features"),
                "required: list at least one feature",
            ));
        }
        text_list(features, &join(&path, "features"))?;
        if let Some(shots) = opt_list(desc, &path, "screenshots")? {
            let key = join(&path, "screenshots");
            for (i, shot) in text_list(shots, &key)?.iter().enumerate() {
                check_screenshot(shot, &format!("{key}[{i}]"), ctx)?;
            }
        }
        if let Some(videos) = opt_list(desc, &path, "videos")? {
            let key = join(&path, "videos");
            for (i, video) in videos.iter().enumerate() {
                let key = format!("{key}[{i}]");
                let video = text(video, &key)?;
                if !is_http_url(&video) {
                    return Err(invalid(
                        key,
                        format!("`{}` is not an http(s) URL", shorten(&video, 80).0),
                    ));
                }
                if !is_video_url(&video) {
                    return Err(invalid(
                        key,
                        format!(
                            "`{}` is not a video of a known oEmbed provider (YouTube, Vimeo, Dailymotion…)",
                            shorten(&video, 80).0
                        ),
                    ));
                }
            }
        }
        if let Some(awards) = opt_list(desc, &path, "awards")? {
            text_list(awards, &join(&path, "awards"))?;
        }
        for name in DESCRIPTION_KEYS {
            if !["shortDescription", "longDescription"].contains(name) && get(desc, name).is_some()
            {
                ctx.dropped(join(&path, name));
            }
        }
        out.push(Description {
            tag: tag.clone(),
            short,
            long,
        });
    }
    // In the order of their tags, whatever the order of the file.
    out.sort_by(|a, b| a.tag.cmp(&b.tag));
    Ok(out)
}

fn max_graphemes(value: &str, key: &str, max: usize) -> Result<()> {
    let count = graphemes(value);
    if count > max {
        return Err(invalid(
            key,
            format!("{count} characters: write at most {max}"),
        ));
    }
    Ok(())
}

type Legal = (String, Option<String>, Option<String>);

fn legal(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Legal> {
    let Some(legal) = opt_object(root, "", "legal")? else {
        return Err(invalid(
            "legal",
            "required: give at least `legal.license` (an SPDX expression)",
        ));
    };
    known_keys(
        legal,
        "legal",
        &["license", "mainCopyrightOwner", "repoOwner", "authorsFile"],
    )?;
    let written = req_text(legal, "legal", "license")?;
    let license = match written.parse::<Licence>() {
        Ok(_) => written,
        // The standard accepts the deprecated GNU ids (`GPL-3.0`); Essaim
        // records take their current form.
        Err(rule) => match undeprecate(&written).filter(|l| l.parse::<Licence>().is_ok()) {
            Some(current) => {
                ctx.mapping(
                    "legal.license",
                    format!("`{written}` is a deprecated SPDX id: recorded as `{current}`"),
                );
                current
            }
            None => {
                return Err(invalid(
                    "legal.license",
                    format!(
                        "`{}`: {rule} (see https://spdx.org/licenses)",
                        shorten(&written, 80).0
                    ),
                ));
            }
        },
    };
    let owner = opt_text(legal, "legal", "mainCopyrightOwner")?;
    let repo_owner = opt_text(legal, "legal", "repoOwner")?;
    if repo_owner.is_some() {
        ctx.deprecated("legal.repoOwner", "use `organisation.name` instead");
    }
    if let Some(file) = opt_text(legal, "legal", "authorsFile")? {
        ctx.deprecated("legal.authorsFile", "it is safe to drop it");
        relative_path_or_url(&file, "legal.authorsFile")?;
        if let Some(path) = local_path(&file, ctx)
            && !path.exists()
        {
            return Err(invalid(
                "legal.authorsFile",
                format!("`{}` does not exist", shorten(&file, 80).0),
            ));
        }
        ctx.dropped("legal.authorsFile");
    }
    Ok((license, owner, repo_owner))
}

fn maintenance(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Vec<ContactIn>> {
    let path = "maintenance";
    let Some(m) = opt_object(root, "", path)? else {
        return Err(invalid(
            path,
            "required: say who maintains the software (`maintenance.type`)",
        ));
    };
    known_keys(m, path, &["type", "contractors", "contacts"])?;
    let kind = req_text(m, path, "type")?;
    one_of(&kind, "maintenance.type", MAINTENANCE_TYPES)?;

    let contractors = opt_list(m, path, "contractors")?;
    match (kind.as_str(), contractors) {
        ("contract", None) | ("contract", Some([])) => {
            return Err(invalid(
                "maintenance.contractors",
                "required when `type` is `contract`: list the contractors",
            ));
        }
        ("contract", Some(_)) => {}
        (_, Some(_)) => {
            return Err(invalid(
                "maintenance.contractors",
                format!("must not be present unless `type` is `contract` (it is `{kind}`)"),
            ));
        }
        (_, None) => {}
    }
    for (i, contractor) in contractors.unwrap_or_default().iter().enumerate() {
        let key = format!("maintenance.contractors[{i}]");
        let c = object(contractor, &key)?;
        known_keys(c, &key, &["name", "email", "website", "until"])?;
        req_text(c, &key, "name")?;
        if let Some(email) = opt_text(c, &key, "email")? {
            check_email(&email, &join(&key, "email"))?;
        }
        opt_http_url(c, &key, "website")?;
        let until = req_text(c, &key, "until")?;
        check_date(&until, &join(&key, "until"))?;
    }
    if contractors.is_some() {
        ctx.dropped("maintenance.contractors");
    }

    let contacts = opt_list(m, path, "contacts")?;
    if ["community", "internal"].contains(&kind.as_str()) && contacts.unwrap_or_default().is_empty()
    {
        return Err(invalid(
            "maintenance.contacts",
            format!("required when `type` is `{kind}`: list at least one contact"),
        ));
    }
    let mut out = Vec::new();
    for (i, contact) in contacts.unwrap_or_default().iter().enumerate() {
        let key = format!("maintenance.contacts[{i}]");
        let c = object(contact, &key)?;
        known_keys(c, &key, &["name", "email", "affiliation", "phone"])?;
        let name = req_text(c, &key, "name")?;
        let email = opt_text(c, &key, "email")?;
        if let Some(email) = &email {
            check_email(email, &join(&key, "email"))?;
        }
        for (field, why) in [
            (
                "affiliation",
                "dropped: Essaim contacts have no affiliation",
            ),
            (
                "phone",
                "dropped: Essaim contacts have no phone number (records are public and signed)",
            ),
        ] {
            if opt_text(c, &key, field)?.is_some() {
                ctx.mapping(join(&key, field), why);
            }
        }
        out.push(ContactIn { name, email });
    }
    ctx.dropped("maintenance.type");
    Ok(out)
}

fn localisation(root: &Obj) -> Result<()> {
    let path = "localisation";
    let Some(l) = opt_object(root, "", path)? else {
        return Err(invalid(
            path,
            "required: give `localisationReady` and `availableLanguages`",
        ));
    };
    known_keys(l, path, &["localisationReady", "availableLanguages"])?;
    if opt_bool(l, path, "localisationReady")?.is_none() {
        return Err(required("localisation.localisationReady"));
    }
    let languages = opt_list(l, path, "availableLanguages")?;
    let Some(languages) = languages.filter(|l| !l.is_empty()) else {
        return Err(invalid(
            "localisation.availableLanguages",
            "required: list at least one language (BCP 47 tag: en, it, fr-CA…)",
        ));
    };
    for (i, tag) in text_list(languages, "localisation.availableLanguages")?
        .iter()
        .enumerate()
    {
        if !is_language_tag(tag) {
            return Err(invalid(
                format!("localisation.availableLanguages[{i}]"),
                format!("`{}` is not a BCP 47 language tag", shorten(tag, 40).0),
            ));
        }
    }
    Ok(())
}

fn dependencies(root: &Obj) -> Result<()> {
    let Some(deps) = opt_object(root, "", "dependsOn")? else {
        return Ok(());
    };
    let kinds = ["open", "proprietary", "hardware"];
    known_keys(deps, "dependsOn", &kinds)?;
    for kind in kinds {
        let Some(items) = opt_list(deps, "dependsOn", kind)? else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let key = format!("dependsOn.{kind}[{i}]");
            let d = object(item, &key)?;
            known_keys(
                d,
                &key,
                &["name", "versionMin", "versionMax", "version", "optional"],
            )?;
            req_text(d, &key, "name")?;
            for field in ["versionMin", "versionMax", "version"] {
                opt_text(d, &key, field)?;
            }
            opt_bool(d, &key, "optional")?;
        }
    }
    Ok(())
}

/// The Italian section, `IT` (or the deprecated `it`).
fn country_sections(root: &Obj, ctx: &mut Ctx<'_>) -> Result<Option<&'static str>> {
    let mut found = None;
    for name in ["IT", "it"] {
        let Some(section) = opt_object(root, "", name)? else {
            continue;
        };
        known_keys(
            section,
            name,
            &[
                "countryExtensionVersion",
                "conforme",
                "riuso",
                "piattaforme",
            ],
        )?;
        if let Some(v) = opt_text(section, name, "countryExtensionVersion")? {
            one_of(&v, &join(name, "countryExtensionVersion"), &["0.2", "1.0"])?;
        }
        if let Some(conforme) = opt_object(section, name, "conforme")? {
            let path = join(name, "conforme");
            let flags = [
                "lineeGuidaDesign",
                "modelloInteroperabilita",
                "misureMinimeSicurezza",
                "gdpr",
            ];
            known_keys(conforme, &path, &flags)?;
            for flag in flags {
                opt_bool(conforme, &path, flag)?;
            }
            ctx.deprecated(&path, "it is safe to drop it");
        }
        if let Some(riuso) = opt_object(section, name, "riuso")? {
            let path = join(name, "riuso");
            known_keys(riuso, &path, &["codiceIPA"])?;
            if let Some(code) = opt_text(riuso, &path, "codiceIPA")?.filter(|c| !c.is_empty()) {
                let key = join(&path, "codiceIPA");
                if !is_ipa_code(&code) {
                    return Err(invalid(
                        key,
                        format!("`{}` is not an Italian iPA code", shorten(&code, 40).0),
                    ));
                }
                ctx.deprecated(
                    &key,
                    &format!("use `organisation.uri: urn:x-italian-pa:{code}` instead"),
                );
            }
        }
        if let Some(platforms) = opt_object(section, name, "piattaforme")? {
            let path = join(name, "piattaforme");
            let flags = ["spid", "pagopa", "cie", "anpr", "io"];
            known_keys(platforms, &path, &flags)?;
            for flag in flags {
                opt_bool(platforms, &path, flag)?;
            }
        }
        if name == "it" {
            if found.is_some() {
                return Err(invalid(
                    "it",
                    "`IT` is already present: remove the lower-case `it` section",
                ));
            }
            ctx.conformance(
                "it",
                "lower-case country sections are deprecated: write `IT`",
            );
        }
        found = Some(name);
    }
    Ok(found)
}
