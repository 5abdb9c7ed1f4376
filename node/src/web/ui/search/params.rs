//! The search page's parameters: read leniently from the query string (a bad
//! filter is dropped with a message, never an error page), turned into an
//! index [`SearchRequest`], and written back into links that add or remove
//! one filter, change the sort or the page — so every state of the page has
//! a URL that can be shared and that the back button returns to.

use essaim_protocol::Territory;
use essaim_protocol::vocab::{Stage, Theme};

use super::super::Lang;
use super::super::layout::query_string;
use crate::index::{Filters, MAX_OFFSET, SearchRequest, Sort};

/// Results per page.
pub(in crate::web::ui) const PER_PAGE: usize = 20;
/// The highest page number that can be asked for.
pub(in crate::web::ui) const MAX_PAGE: usize = MAX_OFFSET / PER_PAGE + 1;
/// Free-text filter values (licence, hub, label) longer than this are dropped.
const MAX_VALUE_BYTES: usize = 200;
/// At most this many filters are applied (more are dropped with a message).
const MAX_FILTERS: usize = 24;

/// A kind of filter, as the query string and the facets name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::web::ui) enum Facet {
    /// Theme code.
    Theme,
    /// Territory code (`reg:84`, `dep:69`, `com:69123`, `FR`).
    Territory,
    /// Stage code.
    Stage,
    /// SPDX licence expression.
    Licence,
    /// Hub id.
    Hub,
    /// Label name.
    Label,
    /// Hub id of a label's issuer ("labellisée par").
    LabelledBy,
}

impl Facet {
    /// Every kind, in the order the page shows them.
    pub(in crate::web::ui) const ALL: [Facet; 7] = [
        Facet::Theme,
        Facet::Territory,
        Facet::Stage,
        Facet::Licence,
        Facet::Hub,
        Facet::Label,
        Facet::LabelledBy,
    ];

    /// The query parameter (and `data-facet`).
    pub(in crate::web::ui) fn param(self) -> &'static str {
        match self {
            Facet::Theme => "theme",
            Facet::Territory => "territory",
            Facet::Stage => "stage",
            Facet::Licence => "licence",
            Facet::Hub => "hub",
            Facet::Label => "label",
            Facet::LabelledBy => "labelled_by",
        }
    }

    fn from_param(name: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.param() == name)
    }

    /// The kind's name for people.
    pub(in crate::web::ui) fn title(self, lang: Lang) -> &'static str {
        let (fr, en) = match self {
            Facet::Theme => ("Thème", "Theme"),
            Facet::Territory => ("Déployée dans", "Deployed in"),
            Facet::Stage => ("Stade", "Stage"),
            Facet::Licence => ("Licence", "Licence"),
            Facet::Hub => ("Hub", "Hub"),
            Facet::Label => ("Label", "Label"),
            Facet::LabelledBy => ("Labellisée par", "Labelled by"),
        };
        match lang {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// A filter dropped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::web::ui) enum Problem {
    /// A value that is not a code of its vocabulary.
    UnknownValue {
        /// The kind.
        facet: Facet,
        /// The value as given (cut).
        value: String,
    },
    /// A parameter the page does not know.
    UnknownParam(String),
    /// `sort` other than `relevance` or `newest`.
    BadSort(String),
    /// `page` not a whole number from 1 to [`MAX_PAGE`].
    BadPage(String),
    /// More than [`MAX_FILTERS`] filters.
    TooManyFilters,
}

impl Problem {
    /// What to tell the visitor.
    pub(in crate::web::ui) fn message(&self, lang: Lang) -> String {
        let fr = lang == Lang::Fr;
        match self {
            Problem::UnknownValue { facet, value } => {
                if fr {
                    format!(
                        "« {value} » n'est pas un filtre « {} » connu : il est ignoré.",
                        facet.title(lang).to_lowercase()
                    )
                } else {
                    format!(
                        "“{value}” is not a known {} filter: it is ignored.",
                        facet.title(lang).to_lowercase()
                    )
                }
            }
            Problem::UnknownParam(name) => {
                if fr {
                    format!(
                        "Le paramètre « {name} » n'est pas connu de cette page : il est ignoré."
                    )
                } else {
                    format!("This page does not know the parameter “{name}”: it is ignored.")
                }
            }
            Problem::BadSort(value) => {
                if fr {
                    format!("Tri « {value} » inconnu : les résultats sont triés par pertinence.")
                } else {
                    format!("Unknown sort “{value}”: results are sorted by relevance.")
                }
            }
            Problem::BadPage(value) => {
                if fr {
                    format!("Page « {value} » invalide : voici la première page.")
                } else {
                    format!("Page “{value}” is not valid: here is the first page.")
                }
            }
            Problem::TooManyFilters => {
                if fr {
                    format!("Au plus {MAX_FILTERS} filtres : les suivants sont ignorés.")
                } else {
                    format!("At most {MAX_FILTERS} filters: the next ones are ignored.")
                }
            }
        }
    }
}

/// What the page was asked, once read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(in crate::web::ui) struct SearchParams {
    /// The text typed.
    pub(in crate::web::ui) q: String,
    /// The filters, in the order given, without repeats.
    pub(in crate::web::ui) filters: Vec<(Facet, String)>,
    /// The order.
    pub(in crate::web::ui) sort: Sort,
    /// The page, from 1.
    pub(in crate::web::ui) page: usize,
    /// What was dropped.
    pub(in crate::web::ui) problems: Vec<Problem>,
}

/// A value cut for a message.
fn shown(value: &str) -> String {
    if value.chars().count() > 40 {
        let cut: String = value.chars().take(40).collect();
        format!("{cut}…")
    } else {
        value.to_owned()
    }
}

impl SearchParams {
    /// Reads the page's query pairs (without `lang`). Never fails: what
    /// cannot be used is dropped and said in [`SearchParams::problems`].
    pub(in crate::web::ui) fn parse(query: &[(String, String)]) -> SearchParams {
        let mut params = SearchParams {
            page: 1,
            ..SearchParams::default()
        };
        let mut seen_q = false;
        for (name, value) in query {
            match name.as_str() {
                "q" => {
                    if !seen_q {
                        params.q = cap_query(value.trim()).to_owned();
                        seen_q = true;
                    }
                }
                "sort" => match value.as_str() {
                    "relevance" | "" => params.sort = Sort::Relevance,
                    "newest" => params.sort = Sort::Newest,
                    other => params.problems.push(Problem::BadSort(shown(other))),
                },
                "page" => match value.parse::<usize>() {
                    Ok(page) if (1..=MAX_PAGE).contains(&page) => params.page = page,
                    _ => params.problems.push(Problem::BadPage(shown(value))),
                },
                "partial" => {}
                other => match Facet::from_param(other) {
                    Some(facet) => params.add_filter(facet, value),
                    None => params.problems.push(Problem::UnknownParam(shown(other))),
                },
            }
        }
        params
    }

    fn add_filter(&mut self, facet: Facet, value: &str) {
        if value.is_empty() {
            return;
        }
        let canonical = match facet {
            Facet::Theme => Theme::from_code(value).map(|t| t.code().to_owned()),
            Facet::Stage => Stage::from_code(value).map(|s| s.code().to_owned()),
            Facet::Territory => Territory::parse(value).ok().map(|t| t.to_string()),
            Facet::Licence | Facet::Hub | Facet::Label | Facet::LabelledBy => {
                (value.len() <= MAX_VALUE_BYTES && !value.chars().any(char::is_control))
                    .then(|| value.to_owned())
            }
        };
        let Some(canonical) = canonical else {
            self.problems.push(Problem::UnknownValue {
                facet,
                value: shown(value),
            });
            return;
        };
        if self.has_filter(facet, &canonical) {
            return;
        }
        if self.filters.len() >= MAX_FILTERS {
            if !self.problems.contains(&Problem::TooManyFilters) {
                self.problems.push(Problem::TooManyFilters);
            }
            return;
        }
        self.filters.push((facet, canonical));
    }

    /// Whether this filter is applied.
    pub(in crate::web::ui) fn has_filter(&self, facet: Facet, value: &str) -> bool {
        self.filters.iter().any(|(f, v)| *f == facet && v == value)
    }

    /// Whether the visitor asked for anything (text or filter).
    pub(in crate::web::ui) fn is_browsing(&self) -> bool {
        self.q.is_empty() && self.filters.is_empty()
    }

    /// The index request for this page.
    pub(in crate::web::ui) fn request(&self) -> SearchRequest {
        let mut filters = Filters::default();
        for (facet, value) in &self.filters {
            let list = match facet {
                Facet::Theme => &mut filters.themes,
                Facet::Stage => &mut filters.stages,
                Facet::Licence => &mut filters.licences,
                Facet::Hub => &mut filters.hubs,
                Facet::Label => &mut filters.labels,
                Facet::LabelledBy => &mut filters.labelled_by,
                Facet::Territory => {
                    if let Ok(t) = Territory::parse(value) {
                        filters.territories.push(t);
                    }
                    continue;
                }
            };
            list.push(value.clone());
        }
        SearchRequest {
            q: self.q.clone(),
            filters,
            sort: self.sort,
            limit: PER_PAGE,
            offset: (self.page - 1) * PER_PAGE,
        }
    }

    /// The URL of this state (`/?q=…&theme=…`), page 1 omitted.
    pub(in crate::web::ui) fn href(&self) -> String {
        let page = self.page.to_string();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !self.q.is_empty() {
            pairs.push(("q", &self.q));
        }
        for (facet, value) in &self.filters {
            pairs.push((facet.param(), value));
        }
        if self.sort == Sort::Newest {
            pairs.push(("sort", "newest"));
        }
        if self.page > 1 {
            pairs.push(("page", &page));
        }
        format!("/{}", query_string(pairs))
    }

    /// The same search on the map (`/map?…`: text and filters).
    pub(in crate::web::ui) fn map_href(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !self.q.is_empty() {
            pairs.push(("q", &self.q));
        }
        for (facet, value) in &self.filters {
            pairs.push((facet.param(), value));
        }
        format!("/map{}", query_string(pairs))
    }

    /// The search for one département within this search's text and
    /// filters (other territories dropped): where a map click leads.
    pub(in crate::web::ui) fn in_departement(&self, code: &str) -> String {
        if self.is_browsing() {
            // The plain, readable form.
            return format!("/?territory=dep:{code}");
        }
        let mut next = self.clone();
        next.page = 1;
        next.sort = Sort::Relevance;
        next.filters.retain(|(f, _)| *f != Facet::Territory);
        next.filters.push((Facet::Territory, format!("dep:{code}")));
        next.href()
    }

    /// This search with one more filter, from page 1.
    pub(in crate::web::ui) fn with_filter(&self, facet: Facet, value: &str) -> String {
        let mut next = self.clone();
        next.page = 1;
        if !next.has_filter(facet, value) {
            next.filters.push((facet, value.to_owned()));
        }
        next.href()
    }

    /// This search without one filter, from page 1.
    pub(in crate::web::ui) fn without_filter(&self, facet: Facet, value: &str) -> String {
        let mut next = self.clone();
        next.page = 1;
        next.filters.retain(|(f, v)| !(*f == facet && v == value));
        next.href()
    }

    /// This search without any filter.
    pub(in crate::web::ui) fn without_filters(&self) -> String {
        let mut next = self.clone();
        next.page = 1;
        next.filters.clear();
        next.href()
    }

    /// This search with other text (filters kept), from page 1.
    pub(in crate::web::ui) fn with_q(&self, q: &str) -> String {
        let mut next = self.clone();
        next.page = 1;
        q.clone_into(&mut next.q);
        next.href()
    }

    /// Another page of this search.
    pub(in crate::web::ui) fn with_page(&self, page: usize) -> String {
        let mut next = self.clone();
        next.page = page;
        next.href()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn good_parameters_become_the_index_request() {
        let params = SearchParams::parse(&pairs(&[
            ("q", " épicerie "),
            ("theme", "alimentation"),
            ("territory", "dep:69"),
            ("theme", "alimentation"),
            ("hub", "did:key:z6Mk"),
            ("sort", "newest"),
            ("page", "3"),
            ("partial", "1"),
        ]));
        assert!(params.problems.is_empty(), "{:?}", params.problems);
        assert_eq!(params.q, "épicerie");
        assert_eq!(params.filters.len(), 3);
        let request = params.request();
        assert_eq!(request.filters.themes, vec!["alimentation"]);
        assert_eq!(request.filters.territories.len(), 1);
        assert_eq!(request.filters.hubs, vec!["did:key:z6Mk"]);
        assert_eq!(request.sort, Sort::Newest);
        assert_eq!(request.offset, 40);
        assert_eq!(request.limit, PER_PAGE);
    }

    #[test]
    fn bad_parameters_are_dropped_with_a_message() {
        let params = SearchParams::parse(&pairs(&[
            ("theme", "nope"),
            ("territory", "dep:999"),
            ("stage", "<b>"),
            ("sort", "random"),
            ("page", "0"),
            ("colour", "red"),
            ("licence", &"x".repeat(300)),
        ]));
        assert!(params.filters.is_empty());
        assert_eq!(params.sort, Sort::Relevance);
        assert_eq!(params.page, 1);
        assert_eq!(params.problems.len(), 7);
        for problem in &params.problems {
            assert!(!problem.message(Lang::Fr).is_empty());
            assert!(!problem.message(Lang::En).is_empty());
        }
        let page = SearchParams::parse(&pairs(&[("page", "99999999999999999999")]));
        assert_eq!(page.page, 1);
        assert_eq!(page.problems.len(), 1);
    }

    #[test]
    fn links_add_and_remove_one_filter_and_restart_at_page_one() {
        let params = SearchParams::parse(&pairs(&[
            ("q", "vélo & co"),
            ("theme", "mobilite"),
            ("page", "2"),
        ]));
        assert_eq!(params.href(), "/?q=v%C3%A9lo+%26+co&theme=mobilite&page=2");
        assert_eq!(
            params.with_filter(Facet::Territory, "dep:2A"),
            "/?q=v%C3%A9lo+%26+co&theme=mobilite&territory=dep%3A2A"
        );
        assert_eq!(
            params.without_filter(Facet::Theme, "mobilite"),
            "/?q=v%C3%A9lo+%26+co"
        );
        assert_eq!(
            params.with_page(3),
            "/?q=v%C3%A9lo+%26+co&theme=mobilite&page=3"
        );
        assert_eq!(params.with_q(""), "/?theme=mobilite");
        assert_eq!(params.without_filters(), "/?q=v%C3%A9lo+%26+co");
        assert_eq!(SearchParams::parse(&[]).href(), "/");
        assert_eq!(params.map_href(), "/map?q=v%C3%A9lo+%26+co&theme=mobilite");
        assert_eq!(
            params.in_departement("69"),
            "/?q=v%C3%A9lo+%26+co&theme=mobilite&territory=dep%3A69"
        );
        assert_eq!(
            SearchParams::parse(&[]).in_departement("2A"),
            "/?territory=dep:2A"
        );
    }

    #[test]
    fn the_number_of_filters_is_bounded() {
        let many: Vec<(String, String)> = (0..40)
            .map(|i| ("label".to_owned(), format!("label {i}")))
            .collect();
        let params = SearchParams::parse(&many);
        assert_eq!(params.filters.len(), MAX_FILTERS);
        assert_eq!(params.problems, vec![Problem::TooManyFilters]);
    }
}

/// Longest query kept, in bytes: what the index reads of it. The query is
/// repeated in every link of the page, so a longer one would only make the
/// answer larger.
pub(crate) const MAX_Q_BYTES: usize = 500;

/// `q` cut to [`MAX_Q_BYTES`] on a character boundary.
fn cap_query(q: &str) -> &str {
    if q.len() <= MAX_Q_BYTES {
        return q;
    }
    let mut end = MAX_Q_BYTES;
    while !q.is_char_boundary(end) {
        end -= 1;
    }
    &q[..end]
}

#[cfg(test)]
mod cap_tests {
    use super::{MAX_Q_BYTES, cap_query};

    #[test]
    fn a_long_query_is_cut_on_a_character_boundary() {
        assert_eq!(cap_query("vélo"), "vélo");
        let long = "é".repeat(400);
        let cut = cap_query(&long);
        assert!(cut.len() <= MAX_Q_BYTES && cut.len() >= MAX_Q_BYTES - 1);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
