//! The forms the standard gives to values: URLs, `YYYY-MM-DD` dates,
//! e-mail addresses, MIME types, URIs naming organisations (with Italian iPA
//! codes), `supports` ids and video URLs of oEmbed providers.
//!
//! Only the form is checked: what the reference validator asks the network
//! (does a URL answer, is an iPA code in the register) is not done.

use essaim_protocol::record::WebUrl;

use super::vocab::SUPPORT_ALIASES;
use super::yaml::{Obj, join, opt_text};
use super::{Result, invalid};
use crate::import::text::shorten;

/// An absolute URL with a scheme (the reference validator's `url`).
pub(super) fn is_url(s: &str) -> bool {
    !s.trim().is_empty() && !s.contains(char::is_whitespace) && WebUrl::normalise(s).is_some()
}

/// An absolute `http://` or `https://` URL with a host.
pub(super) fn is_http_url(s: &str) -> bool {
    !s.contains(char::is_whitespace)
        && WebUrl::normalise(s)
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
}

pub(super) fn opt_http_url(map: &Obj, path: &str, name: &str) -> Result<Option<String>> {
    let Some(url) = opt_text(map, path, name)? else {
        return Ok(None);
    };
    if !is_http_url(&url) {
        return Err(invalid(
            join(path, name),
            format!(
                "`{}` is not an http(s) URL: write it in full (https://…)",
                shorten(&url, 80).0
            ),
        ));
    }
    Ok(Some(url))
}

/// `YYYY-MM-DD`, a real date.
pub(super) fn check_date(date: &str, key: &str) -> Result<()> {
    let ok = date.len() == 10
        && date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && date
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
        && {
            let num = |r: std::ops::Range<usize>| date[r].parse::<u32>().unwrap_or(0);
            let (year, month, day) = (num(0..4), num(5..7), num(8..10));
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let days = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => 0,
            };
            (1..=days).contains(&day)
        };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("`{}` is not a date: write YYYY-MM-DD", shorten(date, 40).0),
        ))
    }
}

/// An e-mail address: `local@domain`, the domain made of labels.
pub(super) fn check_email(email: &str, key: &str) -> Result<()> {
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    let ok = email.len() <= 254
        && email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && local.chars().all(atext)
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && !domain.is_empty()
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                })
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("`{}` is not an e-mail address", shorten(email, 80).0),
        ))
    }
}

/// A MIME type: `type/subtype` (RFC 6838 characters).
pub(super) fn is_mime_type(s: &str) -> bool {
    let s = s.trim_matches(' ');
    let name = |part: &str, extra: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_-".contains(c) || extra.contains(c))
    };
    s.split_once('/')
        .is_some_and(|(t, sub)| name(t, "") && name(sub, ".+"))
}

/// A URI (`scheme:rest`) naming an organisation; Italian administrations are
/// `urn:x-italian-pa:<iPA code>`.
pub(super) fn check_organisation_uri(uri: &str, key: &str) -> Result<()> {
    if !is_uri(uri) {
        return Err(invalid(
            key,
            format!(
                "`{}` is not a URI: write a URL (https://…) or a URN (urn:…; urn:x-italian-pa:<iPA code> for an Italian administration)",
                shorten(uri, 60).0
            ),
        ));
    }
    if let Some(code) = uri.strip_prefix("urn:x-italian-pa:")
        && !is_ipa_code(code)
    {
        return Err(invalid(
            key,
            format!("`{}` is not an Italian iPA code", shorten(code, 40).0),
        ));
    }
    Ok(())
}

/// `scheme:rest` (RFC 3986 scheme, something after it, no white space).
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The form of an iPA code (the register itself is not embedded, so an
/// unknown code of the right form passes).
pub(super) fn is_ipa_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(super) fn check_support_id(id: &str, key: &str) -> Result<()> {
    if let Some(alias) = id.strip_prefix("alias:") {
        if SUPPORT_ALIASES.contains(&alias) {
            return Ok(());
        }
        return Err(invalid(
            key,
            format!(
                "unknown alias `{}`: the standard knows {}; otherwise give the URI of the standard or regulation",
                shorten(alias, 40).0,
                SUPPORT_ALIASES
                    .iter()
                    .map(|a| format!("alias:{a}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if is_uri(id) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!(
                "`{}` is neither an alias (alias:gdpr…) nor a URI",
                shorten(id, 60).0
            ),
        ))
    }
}

/// Video sites that answer oEmbed requests (a subset of the oEmbed
/// providers list that the reference validator embeds): host, and the path
/// prefixes of their video pages.
const VIDEO_PROVIDERS: &[(&str, &[&str])] = &[
    (
        "youtube.com",
        &[
            "/watch",
            "/v/",
            "/embed/",
            "/shorts/",
            "/playlist",
            "/live/",
        ],
    ),
    ("youtu.be", &["/"]),
    ("vimeo.com", &["/"]),
    ("player.vimeo.com", &["/video/"]),
    ("dailymotion.com", &["/video/", "/embed/video/"]),
    ("dai.ly", &["/"]),
    ("ted.com", &["/talks/"]),
    ("loom.com", &["/share/", "/embed/"]),
    ("streamable.com", &["/"]),
    ("fast.wistia.com", &["/medias/", "/embed/"]),
    ("twitch.tv", &["/videos/"]),
    ("clips.twitch.tv", &["/"]),
    ("fb.watch", &["/"]),
    ("rumble.com", &["/"]),
];

pub(super) fn is_video_url(url: &str) -> bool {
    let Some(url) = WebUrl::normalise(url) else {
        return false;
    };
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = host.trim_start_matches("www.").trim_start_matches("m.");
    if host == "facebook.com" {
        return path.contains("/videos/") || path.starts_with("/watch");
    }
    VIDEO_PROVIDERS.iter().any(|(h, prefixes)| {
        *h == host
            && prefixes
                .iter()
                .any(|p| path.starts_with(p) && path.len() > p.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert!(check_date("2024-02-29", "d").is_ok());
        for bad in [
            "2023-02-29",
            "2011-01-01 20:04:05",
            "",
            "foobar",
            "2024-13-01",
        ] {
            assert!(check_date(bad, "d").is_err(), "{bad}");
        }
        assert!(is_mime_type("image/svg+xml") && is_mime_type("application/x.empty"));
        assert!(!is_mime_type("foobar") && !is_mime_type("/x"));
        for ok in [
            "urn:x-italian-pa:pcm",
            "https://example.org",
            "urn:foobar:example",
        ] {
            assert!(check_organisation_uri(ok, "u").is_ok(), "{ok}");
        }
        for bad in ["pcm", "1", "urn:x-italian-pa:", "a b:c"] {
            assert!(check_organisation_uri(bad, "u").is_err(), "{bad}");
        }
        assert!(is_video_url("https://www.youtube.com/watch?v=RaHmGbBOP84"));
        assert!(is_video_url("https://vimeo.com/123"));
        assert!(!is_video_url("https://google.com"));
        assert!(!is_video_url("https://www.youtube.com/"));
        assert!(check_email("a.b@example.org", "e").is_ok());
        assert!(check_email("not_an_email", "e").is_err());
    }
}
