//! Text helpers shared by the importers: slugs made from names and URLs,
//! accent folding, one-line and Markdown cleaning, and cutting to a length.
//!
//! Imported records are written by people, in any script and with any
//! spacing, while Essaim fields have a slug grammar and length limits; every
//! importer cleans and cuts text the same way, so that a name gives the same
//! slug whichever format it came from.

use essaim_protocol::limits::SLUG_MAX;
use essaim_protocol::record::Slug;

/// A slug made from a name: lower-case ASCII, accents folded (`é` → `e`,
/// `ß` → `ss`, `œ` → `oe`, `ệ` → `e`), every other run of characters → one
/// `-`, at most 64 bytes (cut at a hyphen when one is in the second half).
/// Empty when the name has no Latin letter or digit.
pub fn slugify(name: &str) -> String {
    // Reading stops a little past the limit: enough to find a hyphen to cut
    // at, and a long name costs no more than a short one.
    const READ_MAX: usize = SLUG_MAX + 8;
    let mut slug = String::with_capacity(READ_MAX + 4);
    let mut hyphen = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        let mut ascii = [0u8; 4];
        let part = match c {
            'a'..='z' | '0'..='9' => Some(&*c.encode_utf8(&mut ascii)),
            _ => fold(c),
        };
        match part {
            Some(part) => {
                if hyphen && !slug.is_empty() {
                    slug.push('-');
                }
                hyphen = false;
                slug.push_str(part);
            }
            None => hyphen = true,
        }
        if slug.len() > READ_MAX {
            break;
        }
    }
    if slug.len() > SLUG_MAX {
        // ASCII only: any byte index is a character boundary.
        let cut = &slug[..SLUG_MAX];
        let cut = match cut.rfind('-') {
            Some(at) if at >= SLUG_MAX / 2 => &cut[..at],
            _ => cut,
        };
        slug = cut.trim_end_matches('-').to_owned();
    }
    debug_assert!(slug.is_empty() || slug.parse::<Slug>().is_ok(), "{slug}");
    slug
}

/// The slug of a URL's last path segment (without `.git`), else of its
/// host; `None` when neither has a Latin letter or digit.
pub(crate) fn url_slug(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let mut parts = rest.split('/').filter(|s| !s.is_empty());
    let host = parts.next().unwrap_or_default();
    let last = parts.next_back().unwrap_or_default();
    let last = last.strip_suffix(".git").unwrap_or(last);
    [last, host]
        .into_iter()
        .map(slugify)
        .find(|s| !s.is_empty())
}

/// The ASCII letters of a lower-case Latin letter with a diacritic (Western
/// and Central European, Vietnamese), or of a ligature; `None` for anything
/// else.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' | 'ạ' | 'ả' | 'ấ' | 'ầ' | 'ẩ'
        | 'ẫ' | 'ậ' | 'ắ' | 'ằ' | 'ẳ' | 'ẵ' | 'ặ' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ẹ' | 'ẻ' | 'ẽ' | 'ế' | 'ề' | 'ể'
        | 'ễ' | 'ệ' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' | 'ỉ' | 'ị' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' | 'ơ' | 'ọ' | 'ỏ' | 'ố' | 'ồ'
        | 'ổ' | 'ỗ' | 'ộ' | 'ớ' | 'ờ' | 'ở' | 'ỡ' | 'ợ' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' | 'ư' | 'ụ' | 'ủ' | 'ứ'
        | 'ừ' | 'ử' | 'ữ' | 'ự' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'ỳ' | 'ỷ' | 'ỹ' | 'ỵ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// One line: control characters and runs of white space → one space, trimmed.
pub(crate) fn clean_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Markdown text: line ends as `\n`, no control character but `\n` and
/// `\t`, trimmed.
pub(crate) fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect::<String>()
        .trim()
        .to_owned()
}

/// At most `max` characters (`max` ≥ 2): cut at a word boundary when one is
/// in the second half, without the punctuation left dangling (`,;:-(`), and
/// ended with `…`. Says whether it cut.
pub(crate) fn shorten(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_owned(), false);
    }
    let end = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(at, _)| at);
    let keep = &text[..end];
    let cut = match keep.rfind(char::is_whitespace) {
        Some(at) if keep[..at].chars().count() >= max / 2 => &keep[..at],
        _ => keep,
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:-(".contains(c));
    (format!("{cut}…"), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("abc", 3), ("abc".to_owned(), false));
        assert_eq!(
            shorten("hello big world", 12),
            ("hello big…".to_owned(), true)
        );
        assert_eq!(
            shorten("hello, big world", 12),
            ("hello, big…".to_owned(), true)
        );
        assert_eq!(shorten("one two, three", 10), ("one two…".to_owned(), true));
        let (long, cut) = shorten(&"é".repeat(600), 500);
        assert!(cut && long.chars().count() == 500);
    }

    #[test]
    fn slugs_fold_accents() {
        assert_eq!(slugify("Démarches Simplifiées"), "demarches-simplifiees");
        assert_eq!(slugify("Œuvre & Straße"), "oeuvre-strasse");
        assert_eq!(slugify("Tiếng Việt"), "tieng-viet");
        assert_eq!(slugify("健康"), "");
        let long = slugify(&"word ".repeat(100));
        assert!(long.len() <= SLUG_MAX && long.ends_with("word"));
    }

    #[test]
    fn url_slugs() {
        assert_eq!(
            url_slug("https://github.com/o/My_Repo.git").as_deref(),
            Some("my-repo")
        );
        assert_eq!(
            url_slug("https://www.example.org/").as_deref(),
            Some("www-example-org")
        );
        assert_eq!(url_slug("https://例子.测试/").as_deref(), None);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean_line("  a\tb\n\u{7}c  "), "a b c");
        assert_eq!(clean_text(" a\r\nb\rc\u{0}\t"), "a\nb\nc");
    }
}
