//! The interface's two languages: French by default, English on request.
//!
//! Page texts are written inline in both languages (`ctx.t("…", "…")`), next
//! to where they are used; the controlled vocabularies carry their own
//! labels ([`essaim_protocol::vocab`]).

pub(crate) use essaim_protocol::vocab::Lang;

/// What the UI needs of [`Lang`] beyond the protocol crate.
pub(crate) trait LangExt: Sized {
    /// `fr` or `en`.
    fn code(self) -> &'static str;
    /// The language of a code (`fr`, `en`, any case, region ignored).
    fn from_code(code: &str) -> Option<Self>;
    /// The preferred of French and English in an `Accept-Language` header,
    /// French when neither is there.
    fn from_accept_language(header: &str) -> Self;
    /// The other language (for the switch).
    fn other(self) -> Self;
}

impl LangExt for Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next().unwrap_or("").trim();
        if primary.eq_ignore_ascii_case("fr") {
            Some(Lang::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    fn from_accept_language(header: &str) -> Lang {
        // Highest q wins; on a tie, the first listed.
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_code) else {
                continue;
            };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let q = (q.clamp(0.0, 1.0) * 1000.0) as u16;
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Fr, |(_, lang)| lang)
    }

    fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_french_and_english() {
        assert_eq!(Lang::from_accept_language(""), Lang::Fr);
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("de,en;q=0.5,fr;q=0.8"), Lang::Fr);
        assert_eq!(Lang::from_accept_language("de, en;q=0.3"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0, fr;q=0.1"), Lang::Fr);
        assert_eq!(Lang::from_accept_language("de"), Lang::Fr);
        assert_eq!(Lang::from_accept_language("EN-us"), Lang::En);
        assert_eq!(Lang::from_accept_language(";;,,q=,en;q=abc"), Lang::En);
    }
}
