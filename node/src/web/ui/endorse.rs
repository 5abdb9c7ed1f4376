//! The operator's endorsement form on an initiative's page, and its
//! handler (`POST /endorse`): grant a label (a well-known one or a free
//! one), state a replication or funding, recommend, or revoke one of this
//! hub's endorsements. The form carries the session's CSRF token; the work
//! is the same as `essaim endorse` (`crate::trust::endorse`).

use essaim_protocol::Address;
use essaim_protocol::vocab::WELL_KNOWN_LABELS;
use maud::{Markup, html};
use warp::http::StatusCode;
use warp::reply::Response;

use super::initiative::view;
use super::{Ctx, internal_error};
use crate::node::Node;
use crate::trust::endorse::{EndorseError, EndorseRequest};
use crate::web::Request;

/// The form, for the logged-in operator, about the initiative at `address`.
pub(crate) fn form(ctx: &Ctx, address: &Address) -> Markup {
    let Some(session) = &ctx.session else {
        return html! {};
    };
    let subject = address.short();
    html! {
        section #endorse aria-labelledby="h-endorse" {
            h2 #h-endorse { (ctx.t("Soutenir cette initiative", "Endorse this initiative")) }
            p.muted { (ctx.t(
                "Signé avec la clé de votre hub et transmis aux autres nœuds.",
                "Signed with your hub's key and passed on to the other nodes.",
            )) }
            form #endorse-form method="post" action="/endorse" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="subject" value=(subject);
                div.field {
                    label for="endorse-type" { (ctx.t("Type", "Type")) }
                    select #endorse-type name="type" {
                        option value="label" { (ctx.t("Label", "Label")) }
                        option value="replication" { (ctx.t("Essaimage constaté", "Observed replication")) }
                        option value="funding" { (ctx.t("Financement", "Funding")) }
                        option value="recommendation" { (ctx.t("Recommandation", "Recommendation")) }
                    }
                }
                div.field {
                    label for="endorse-label" { (ctx.t("Label (pour un label)", "Label (for a label)")) }
                    input #endorse-label type="text" name="label" list="well-known-labels" maxlength="120";
                    datalist #well-known-labels {
                        @for (fr, _) in WELL_KNOWN_LABELS { option value=(fr) {} }
                    }
                }
                div.field {
                    label for="endorse-until" { (ctx.t("Valable jusqu'au (facultatif)", "Valid until (optional)")) }
                    input #endorse-until type="date" name="until";
                }
                div.field {
                    label for="endorse-territory" { (ctx.t("Territoire (essaimage, financement)", "Territory (replication, funding)")) }
                    input #endorse-territory type="text" name="territory" placeholder="dep:69" spellcheck="false";
                }
                div.field {
                    label for="endorse-carrier" { (ctx.t("Porté par (essaimage)", "Carried by (replication)")) }
                    input #endorse-carrier type="text" name="carrier" maxlength="120";
                }
                div.field {
                    label for="endorse-amount" { (ctx.t("Montant en euros (financement)", "Amount in euros (funding)")) }
                    input #endorse-amount type="number" name="amount_euros" min="0" step="1";
                }
                div.field {
                    label for="endorse-programme" { (ctx.t("Programme (financement)", "Programme (funding)")) }
                    input #endorse-programme type="text" name="programme" maxlength="120";
                }
                div.field {
                    label for="endorse-comment" { (ctx.t("Commentaire", "Comment")) }
                    textarea #endorse-comment name="comment" rows="2" maxlength="1000" {}
                }
                div.actions { button type="submit" { (ctx.t("Signer", "Sign")) } }
            }
        }
    }
}

/// A revoke button for one of this hub's endorsements.
pub(crate) fn revoke_button(ctx: &Ctx, endorsement: &Address) -> Markup {
    let Some(session) = &ctx.session else {
        return html! {};
    };
    html! {
        form.inline-form.revoke-form method="post" action="/endorse" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="revoke" value=(format!("{}/endorsement/{}", endorsement.author.short(), endorsement.slug));
            button.secondary type="submit" { (ctx.t("Révoquer", "Revoke")) }
        }
    }
}

/// `POST /endorse`.
pub(super) async fn submit(node: &Node, ctx: &Ctx, request: &Request) -> Response {
    let Some(session) = &ctx.session else {
        return ctx.redirect("/login");
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
        .take(32)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if !session.csrf_matches(get("csrf").as_deref().unwrap_or("")) {
        return ctx.error_page(
            StatusCode::FORBIDDEN,
            ctx.t(
                "Ce formulaire n'a pas été envoyé depuis une page de ce nœud (jeton anti-falsification absent ou périmé). Rechargez la page et recommencez.",
                "This form was not sent from a page of this node (anti-forgery token missing or stale). Reload the page and try again.",
            ),
        );
    }
    let revoke = get("revoke");
    let amount_cents = match get("amount_euros") {
        None => None,
        Some(text) => match text.replace([' ', '\u{202f}', '\u{a0}'], "").parse::<u64>() {
            Ok(euros) if euros <= 90_071_992_547_409 => Some(euros * 100),
            _ => {
                return ctx.error_page(
                    StatusCode::BAD_REQUEST,
                    ctx.t(
                        "Le montant doit être un nombre entier d'euros.",
                        "The amount must be a whole number of euros.",
                    ),
                );
            }
        },
    };
    let request = revoke.is_none().then(|| EndorseRequest {
        subject: get("subject").unwrap_or_default(),
        kind: get("type").unwrap_or_default(),
        label: get("label"),
        until: get("until"),
        territory: get("territory"),
        carrier: get("carrier"),
        amount_cents,
        programme: get("programme"),
        comment: get("comment"),
    });
    let subject = request.as_ref().map(|r| r.subject.clone());
    match crate::web::api::endorse_as_operator(node, revoke.as_deref(), request).await {
        Ok((record, _)) => {
            let target = match (record.body(), subject) {
                (essaim_protocol::Body::Endorsement(e), _) => match &e.subject {
                    essaim_protocol::record::Subject::Initiative(a) => view::initiative_path(a),
                    essaim_protocol::record::Subject::Hub(h) => view::hub_path(h),
                },
                _ => "/".to_owned(),
            };
            ctx.redirect(&format!("{target}?endorsed=1#endorsements"))
        }
        Err(EndorseError::Store(e)) => {
            tracing::error!(error = %e, "endorsing from the web form failed");
            internal_error(ctx)
        }
        Err(e) => ctx.error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    }
}

/// Funding statements summed per programme and territory: `(programme,
/// territory or none, total cents, statements)`, largest first.
pub(crate) fn funding_rows(
    statements: &[&essaim_protocol::record::Endorsement],
) -> Vec<(String, Option<essaim_protocol::Territory>, u64, usize)> {
    let mut sums: std::collections::BTreeMap<
        (String, Option<essaim_protocol::Territory>),
        (u64, usize),
    > = std::collections::BTreeMap::new();
    for e in statements {
        if e.endorsement != essaim_protocol::vocab::EndorsementType::Funding {
            continue;
        }
        let key = (e.programme.clone().unwrap_or_default(), e.territory);
        let entry = sums.entry(key).or_default();
        entry.0 = entry.0.saturating_add(e.amount_cents.unwrap_or(0));
        entry.1 += 1;
    }
    let mut rows: Vec<_> = sums
        .into_iter()
        .map(|((programme, territory), (cents, n))| (programme, territory, cents, n))
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// A table of funding sums (per programme and territory), with the total
/// and, when given, what is still sought.
pub(crate) fn funding_table(
    ctx: &Ctx,
    statements: &[&essaim_protocol::record::Endorsement],
    sought: Option<u64>,
) -> Markup {
    let rows = funding_rows(statements);
    let total: u64 = rows.iter().map(|r| r.2).fold(0, u64::saturating_add);
    html! {
        @if rows.is_empty() {
            p.muted { (ctx.t("Aucun financement déclaré par un hub.", "No funding stated by a hub.")) }
        } @else {
            div.table-scroll role="region" aria-label=(ctx.t("Financements par programme et territoire", "Funding by programme and territory")) tabindex="0" {
                table.data.funding {
                    thead { tr {
                        th scope="col" { (ctx.t("Programme", "Programme")) }
                        th scope="col" { (ctx.t("Territoire", "Territory")) }
                        th scope="col" { (ctx.t("Montant", "Amount")) }
                    } }
                    tbody {
                        @for (programme, territory, cents, n) in &rows {
                            tr {
                                th scope="row" { (programme) @if *n > 1 { " " span.muted { "(" (n) ")" } } }
                                td { @match territory { Some(t) => (view::territory(ctx, t)), None => "—" } }
                                td.num { (view::euros(ctx.lang, *cents)) }
                            }
                        }
                    }
                    tfoot { tr {
                        th scope="row" colspan="2" { (ctx.t("Total", "Total")) }
                        td.num #funding-total { (view::euros(ctx.lang, total)) }
                    } }
                }
            }
        }
        @if let Some(sought) = sought {
            p #funding-sought {
                (ctx.t("Financement recherché : ", "Funding sought: ")) strong { (view::euros(ctx.lang, sought)) }
                @if total > 0 {
                    (ctx.t(" ; déjà déclaré : ", "; already stated: ")) (view::euros(ctx.lang, total.min(sought)))
                    @if sought > total { (ctx.t(" ; reste à trouver : ", "; still to find: ")) strong { (view::euros(ctx.lang, sought - total)) } }
                }
            }
        }
    }
}
