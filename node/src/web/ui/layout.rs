//! The frame around every page: skip link, header with the site's purpose in
//! one line, the navigation, the language switch, and the footer.

use maud::{DOCTYPE, Markup, html};

use super::{Ctx, LangExt, assets};

/// Which navigation entry the page belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Nav {
    /// The search.
    Search,
    /// The map.
    Map,
    /// The hubs.
    Hubs,
    /// "Pour mon territoire".
    Territory,
    /// This node.
    Node,
    /// Publishing (and the login).
    Publish,
    /// None (error pages).
    None,
}

/// A query string (`?a=b&c=d`, or empty) from pairs, encoded.
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    let query = serializer.finish();
    if query.is_empty() {
        query
    } else {
        format!("?{query}")
    }
}

/// The same page in the other language.
fn switch_href(ctx: &Ctx) -> String {
    let other = ctx.lang.other().code();
    let pairs = ctx
        .query
        .iter()
        .filter(|(k, _)| k != "partial")
        .map(|(k, v)| (k.as_str(), capped(v)))
        .chain([("lang", other)]);
    // One leading slash: `//host/x` would be a link to another site.
    format!(
        "/{}{}",
        ctx.path.trim_start_matches(['/', '\\']),
        query_string(pairs)
    )
}

/// A query value as the pages keep it: at most 500 bytes (what the search
/// reads of a query), cut on a character boundary.
fn capped(value: &str) -> &str {
    let mut end = value.len().min(500);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// The whole page.
pub(super) fn page(ctx: &Ctx, title: &str, active: Nav, body: Markup) -> Markup {
    let entries = [
        (Nav::Search, "/", ctx.t("Rechercher", "Search")),
        (Nav::Map, "/map", ctx.t("Carte", "Map")),
        (Nav::Hubs, "/hubs", ctx.t("Hubs", "Hubs")),
        (
            Nav::Territory,
            "/territoire",
            ctx.t("Mon territoire", "My territory"),
        ),
        (Nav::Node, "/node", ctx.t("Ce nœud", "This node")),
        (Nav::Publish, "/publish", ctx.t("Publier", "Publish")),
    ];
    html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Essaim" }
                meta name="description" content=(ctx.t(
                    "Essaim : le catalogue partagé, sans serveur central, des solutions libres de l'économie sociale et solidaire, pour les essaimer.",
                    "Essaim: the shared catalogue, with no central server, of open-source solutions of the social and solidarity economy, to replicate them.",
                ));
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("app.js")) defer {}
            }
            body {
                a.skip href="#main" { (ctx.t("Aller au contenu", "Skip to content")) }
                header.site {
                    div.brand {
                        a.logo href="/" { "Essaim" }
                        p.tagline { (ctx.t(
                            "Les solutions de l'économie sociale et solidaire qui ont fait leurs preuves, à reproduire chez vous.",
                            "Proven solutions of the social and solidarity economy, ready to be replicated where you are.",
                        )) }
                    }
                    nav.main aria-label=(ctx.t("Navigation principale", "Main navigation")) {
                        ul {
                            @for (nav, href, label) in entries {
                                li {
                                    @if nav == active && ctx.path == href {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else if nav == active {
                                        a href=(href) aria-current="true" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    a #lang-switch href=(switch_href(ctx)) hreflang=(ctx.lang.other().code())
                        lang=(ctx.lang.other().code()) {
                        (ctx.t("English", "Français"))
                    }
                }
                main #main tabindex="-1" { (body) }
                footer.site {
                    p { (ctx.t(
                        "Chaque hub signe ce qu'il publie ; chaque nœud garde une copie du catalogue et du code. Aucun serveur central.",
                        "Every hub signs what it publishes; every node keeps a copy of the catalogue and the code. No central server.",
                    )) }
                }
            }
        }
    }
}
