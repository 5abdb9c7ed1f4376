//! The string-shaped and small types that record fields are made of. Each one
//! parses strictly when a payload is decoded, so that a decoded record holds
//! only well-formed values, and each keeps its exact spelling so that it
//! re-encodes to the same bytes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decode::{ParseRule, reject, string_type};
use crate::error::Rule;
use crate::limits::{EMAIL_MAX, LICENCE_MAX, MULTIADDR_MAX, SLUG_MAX, URL_MAX};
use crate::territory::Territory;
use crate::vocab::Kind;

/// Declare a newtype over `String` whose `Display` is the string itself.
macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(String);

        impl $name {
            /// The value as written in the record.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        string_type!($name);
    };
}

text_newtype!(
    /// A slug: 1 to 64 bytes of `a-z`, `0-9` and single inner hyphens.
    Slug
);

impl ParseRule for Slug {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        let ok = !s.is_empty()
            && s.len() <= SLUG_MAX
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Slug(s.to_owned()))
        } else {
            Err(Rule::Slug)
        }
    }
}

text_newtype!(
    /// An absolute `https://` or `http://` URL without credentials, in the
    /// normalised spelling of the WHATWG URL standard.
    WebUrl
);

impl WebUrl {
    /// The normalised spelling of a URL the user wrote (`HTTPS://Example.org` →
    /// `https://example.org/`), for tools that prepare records.
    pub fn normalise(s: &str) -> Option<String> {
        url::Url::parse(s).ok().map(|u| u.to_string())
    }

    /// The parsed URL.
    pub fn url(&self) -> url::Url {
        // Parsed successfully when the value was made; parsing is deterministic.
        url::Url::parse(&self.0).expect("a WebUrl was parsed when it was made")
    }
}

impl ParseRule for WebUrl {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        if s.len() > URL_MAX {
            return Err(Rule::Length {
                min: 1,
                max: URL_MAX,
                actual: s.len(),
                unit: "bytes",
            });
        }
        let url = url::Url::parse(s).map_err(|_| Rule::Url {
            reason: "not an absolute URL",
        })?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(Rule::Url {
                reason: "only https:// (or http://) URLs are allowed",
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Rule::Url {
                reason: "the URL has no host",
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Rule::Url {
                reason: "credentials in a URL are not allowed",
            });
        }
        if url.as_str() != s {
            return Err(Rule::UrlNotNormalised {
                normalised: url.to_string(),
            });
        }
        Ok(WebUrl(s.to_owned()))
    }
}

text_newtype!(
    /// An SPDX licence expression (`AGPL-3.0-or-later`, `MIT OR Apache-2.0`).
    Licence
);

impl ParseRule for Licence {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        if s.is_empty() || s.len() > LICENCE_MAX {
            return Err(Rule::Length {
                min: 1,
                max: LICENCE_MAX,
                actual: s.len(),
                unit: "bytes",
            });
        }
        // One spelling per expression: single spaces between words.
        let lax_operator = s.split([' ', '(', ')']).any(|w| {
            ["and", "or", "with"].contains(&w.to_ascii_lowercase().as_str())
                && w.chars().any(|c| c.is_ascii_lowercase())
        });
        if s.starts_with(' ')
            || s.ends_with(' ')
            || s.contains("  ")
            || !s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            || lax_operator
        {
            return Err(Rule::Spdx {
                reason: "write the expression in ASCII, on one line, with single spaces and the operators AND, OR, WITH in capitals".into(),
            });
        }
        spdx::Expression::parse(s).map_err(|e| {
            let mut reason = e.reason.to_string();
            // The GNU family's bare ids are deprecated: say what to write.
            let deprecated_gnu = s.split([' ', '(', ')']).find(|id| {
                ["GPL-", "LGPL-", "AGPL-", "GFDL-"]
                    .iter()
                    .any(|p| id.starts_with(p))
                    && !id.ends_with("-only")
                    && !id.ends_with("-or-later")
            });
            if let Some(id) = deprecated_gnu {
                let id = id.trim_end_matches('+');
                reason.push_str(&format!(": write `{id}-only` or `{id}-or-later`"));
            }
            Rule::Spdx { reason }
        })?;
        Ok(Licence(s.to_owned()))
    }
}

text_newtype!(
    /// A SIREN number: 9 digits whose Luhn checksum is valid.
    Siren
);

impl ParseRule for Siren {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) || !luhn(s) {
            return Err(Rule::Siren);
        }
        Ok(Siren(s.to_owned()))
    }
}

/// The Luhn checksum of a string of ASCII digits.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

text_newtype!(
    /// An e-mail address (`contact@example.org`).
    Email
);

impl ParseRule for Email {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        let ok = s.len() <= EMAIL_MAX
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && s.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if ok {
            Ok(Email(s.to_owned()))
        } else {
            Err(Rule::Email)
        }
    }
}

text_newtype!(
    /// A full git object id: 40 (SHA-1) or 64 (SHA-256) lower-case hex digits.
    CommitId
);

impl ParseRule for CommitId {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        let ok = (s.len() == 40 || s.len() == 64)
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(CommitId(s.to_owned()))
        } else {
            Err(Rule::Commit)
        }
    }
}

text_newtype!(
    /// A language code: 2 or 3 lower-case letters (ISO 639-1 or 639-3).
    LangCode
);

impl LangCode {
    /// French, required in summaries.
    pub fn fr() -> LangCode {
        LangCode("fr".into())
    }
    /// English.
    pub fn en() -> LangCode {
        LangCode("en".into())
    }
}

impl ParseRule for LangCode {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        let ok = (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase());
        if ok {
            Ok(LangCode(s.to_owned()))
        } else {
            Err(Rule::Language)
        }
    }
}

/// A text in several languages, keyed by language code.
pub type LangMap = BTreeMap<LangCode, String>;

text_newtype!(
    /// A libp2p multiaddr in its canonical text form (`/ip4/203.0.113.7/tcp/4001`).
    MultiaddrText
);

impl ParseRule for MultiaddrText {
    fn parse_rule(s: &str) -> Result<Self, Rule> {
        if s.len() > MULTIADDR_MAX {
            return Err(Rule::Length {
                min: 1,
                max: MULTIADDR_MAX,
                actual: s.len(),
                unit: "bytes",
            });
        }
        let addr: multiaddr::Multiaddr =
            s.parse().map_err(|e: multiaddr::Error| Rule::Multiaddr {
                reason: e.to_string(),
            })?;
        if addr.is_empty() || addr.to_string() != s {
            return Err(Rule::Multiaddr {
                reason: format!("not in canonical form `{addr}`"),
            });
        }
        Ok(MultiaddrText(s.to_owned()))
    }
}

/// A UN Sustainable Development Goal, 1 to 17.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sdg(u8);

impl Sdg {
    /// The goal with this number, if it is one of the 17.
    pub fn new(n: u64) -> Option<Sdg> {
        (1..=17).contains(&n).then_some(Sdg(n as u8))
    }
    /// The goal's number.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Sdg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Sdg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for Sdg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i128::deserialize(d)?;
        u64::try_from(n)
            .ok()
            .and_then(Sdg::new)
            .ok_or_else(|| reject(&n.to_string(), Rule::Sdg))
    }
}

impl<'de> Deserialize<'de> for Territory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Territory;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a territory code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Territory, E> {
                Territory::parse(v).map_err(|e| reject(v, Rule::Territory(e)))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// The `kind` field of a body, fixed by the struct it belongs to: `K` is the
/// index of the kind in [`Kind::ALL`]. It holds no data; it makes the
/// encoding carry the right `kind` and refuses any other when decoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct KindTag<const K: usize>;

impl<const K: usize> KindTag<K> {
    /// The kind this tag stands for.
    pub fn kind(self) -> Kind {
        Kind::ALL[K]
    }
}

impl<const K: usize> Serialize for KindTag<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.kind().code())
    }
}

impl<'de, const K: usize> Deserialize<'de> for KindTag<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kind = Kind::deserialize(d)?;
        if kind == Kind::ALL[K] {
            Ok(KindTag)
        } else {
            Err(reject(
                kind.code(),
                Rule::UnknownTerm {
                    vocabulary: "record kind",
                    allowed: Kind::ALL[K].code().to_owned(),
                },
            ))
        }
    }
}

/// A way to reach someone: at least an e-mail or a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Who (a person's role or a team, rather than a private name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Contact page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<WebUrl>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siren_luhn() {
        // Real SIRENs: La Poste, Emmaüs France, Groupe SOS Solidarités.
        for ok in ["356000000", "775672272", "302513940", "732829320"] {
            assert!(ok.parse::<Siren>().is_ok(), "{ok}");
        }
        for bad in ["356000001", "12345678", "1234567890", "35600000a", ""] {
            assert_eq!(bad.parse::<Siren>(), Err(Rule::Siren), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        for ok in ["a", "epicerie-solidaire", "x1-2", &"a".repeat(64)] {
            assert!(ok.parse::<Slug>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "Épicerie",
            "A",
            "a_b",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(bad.parse::<Slug>().is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert!("https://example.org/".parse::<WebUrl>().is_ok());
        assert!("http://example.org/a?b=c".parse::<WebUrl>().is_ok());
        assert!(matches!(
            "https://example.org".parse::<WebUrl>(),
            Err(Rule::UrlNotNormalised { .. })
        ));
        for bad in [
            "ftp://example.org/",
            "file:///etc/passwd",
            "https://user:pw@example.org/",
            "javascript:alert(1)",
            "example.org",
            "ext::sh -c id",
        ] {
            assert!(bad.parse::<WebUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn licences() {
        for ok in ["MIT", "AGPL-3.0-or-later", "MIT OR Apache-2.0", "EUPL-1.2"] {
            assert!(ok.parse::<Licence>().is_ok(), "{ok}");
        }
        for bad in ["", "GPL-17", "MIT OR", "mit license"] {
            assert!(bad.parse::<Licence>().is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_commits_langs_multiaddrs() {
        assert!("contact@ruche.fr".parse::<Email>().is_ok());
        for bad in ["", "a@b", "@b.fr", "a b@c.fr", "a@b@c.fr", "a@.fr"] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
        assert!(
            "0123456789abcdef0123456789abcdef01234567"
                .parse::<CommitId>()
                .is_ok()
        );
        assert!(
            "0123456789ABCDEF0123456789abcdef01234567"
                .parse::<CommitId>()
                .is_err()
        );
        assert!("abc".parse::<CommitId>().is_err());
        assert!("fr".parse::<LangCode>().is_ok() && "oc".parse::<LangCode>().is_ok());
        assert!("FR".parse::<LangCode>().is_err() && "fr-FR".parse::<LangCode>().is_err());
        assert!("/ip4/127.0.0.1/tcp/4001".parse::<MultiaddrText>().is_ok());
        assert!("/ip4/127.0.0.1/tcp/99999".parse::<MultiaddrText>().is_err());
        assert!("".parse::<MultiaddrText>().is_err());
    }
}
