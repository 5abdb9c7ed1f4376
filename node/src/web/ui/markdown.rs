//! Markdown to safe HTML: descriptions come from untrusted records.
//!
//! The text goes through pulldown-cmark's parser, and its events are
//! rewritten before they are turned into HTML:
//! - raw HTML (blocks and inline) becomes text, so it is shown escaped;
//! - a link keeps its URL only when it is `http:`, `https:`, `mailto:` or
//!   relative (a path, a query, a fragment); any other scheme (`javascript:`,
//!   `data:`, `vbscript:`…) leaves the link's text alone, unlinked;
//! - an image becomes a link to it with its alt text (the CSP would block a
//!   foreign image anyway, and a page of the catalogue should not make the
//!   reader's browser call a server the record's author chose);
//! - headings go down so that the text's highest is an `h3` (`#` → `h3`,
//!   `##` → `h4`; or `##` → `h3` when the text has no `#`): the page keeps
//!   its one `h1` and its `h2` sections;
//! - table alignments are dropped (they would be `style` attributes, which
//!   the CSP refuses);
//! - a link with no text shows its URL, so that every link has a name.
//!
//! The input is cut at [`MAX_MARKDOWN_BYTES`].

use maud::PreEscaped;
use pulldown_cmark::{
    Alignment, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

/// Longest Markdown text rendered; the rest is cut (records are bounded
/// anyway; this bounds the work of one page whatever the record format allows).
pub(crate) const MAX_MARKDOWN_BYTES: usize = 64 * 1024;

/// Render untrusted Markdown into HTML that is safe to put in a page.
pub(crate) fn render(markdown: &str) -> PreEscaped<String> {
    let text = cut(markdown, MAX_MARKDOWN_BYTES);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events = sanitise(Parser::new_ext(text, options));
    shift_headings(&mut events);
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    if text.len() < markdown.len() {
        html.push_str("<p>…</p>");
    }
    PreEscaped(html)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What became of an opened link or image, to close it the same way.
#[derive(Clone, Copy)]
enum Opened {
    /// Rendered as a link: its end closes the link.
    Link,
    /// Dropped (unsafe URL, or a link inside a link): only its text stays.
    Dropped,
}

/// Rewrite the parser's events (see the module doc).
fn sanitise<'a>(parser: impl Iterator<Item = Event<'a>>) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    let mut opened: Vec<Opened> = Vec::new();
    let mut events = parser.peekable();
    while let Some(event) = events.next() {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => out.push(Event::Text(raw)),
            Event::Start(Tag::HtmlBlock) => out.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => out.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Heading { level, .. }) => out.push(Event::Start(Tag::Heading {
                level,
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            })),
            Event::Start(Tag::Table(alignments)) => out.push(Event::Start(Tag::Table(vec![
                Alignment::None;
                alignments.len()
            ]))),
            Event::Start(
                Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    ..
                }
                | Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    ..
                },
            ) => {
                let inside_link = opened.iter().any(|o| matches!(o, Opened::Link));
                let safe = link_type == LinkType::Email || is_safe_url(&dest_url);
                if safe && !inside_link {
                    opened.push(Opened::Link);
                    let empty = matches!(
                        events.peek(),
                        Some(Event::End(TagEnd::Link | TagEnd::Image))
                    );
                    let shown = if link_type == LinkType::Email {
                        CowStr::from(format!("mailto:{dest_url}"))
                    } else {
                        dest_url.clone()
                    };
                    out.push(Event::Start(Tag::Link {
                        link_type: if link_type == LinkType::Email {
                            LinkType::Email
                        } else {
                            LinkType::Inline
                        },
                        dest_url,
                        title,
                        id: CowStr::Borrowed(""),
                    }));
                    if empty {
                        out.push(Event::Text(shown));
                    }
                } else {
                    opened.push(Opened::Dropped);
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                if let Some(Opened::Link) = opened.pop() {
                    out.push(Event::End(TagEnd::Link));
                }
            }
            // Not enabled in the options; refused should a default change.
            Event::TaskListMarker(_) | Event::FootnoteReference(_) => {}
            Event::InlineMath(text) | Event::DisplayMath(text) => out.push(Event::Code(text)),
            other => out.push(other),
        }
    }
    out
}

/// The heading of `level` (1–6) after the shift, `h6` at most.
fn shifted(level: HeadingLevel, shift: usize) -> HeadingLevel {
    match level as usize + shift {
        ..=1 => HeadingLevel::H1,
        2 => HeadingLevel::H2,
        3 => HeadingLevel::H3,
        4 => HeadingLevel::H4,
        5 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// Move headings down so that the text's highest one is an `h3` (the page
/// keeps its `h1` and `h2` sections, and the text's own levels stay in
/// order: `#` → `h3`, `##` → `h4`, or `##` → `h3` when there is no `#`).
fn shift_headings(events: &mut [Event<'_>]) {
    let top = events
        .iter()
        .filter_map(|e| match e {
            Event::Start(Tag::Heading { level, .. }) => Some(*level as usize),
            _ => None,
        })
        .min()
        .unwrap_or(3);
    let shift = 3usize.saturating_sub(top);
    for event in events.iter_mut() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => *level = shifted(*level, shift),
            Event::End(TagEnd::Heading(level)) => *level = shifted(*level, shift),
            _ => {}
        }
    }
}

/// Whether a link's URL (as the parser decoded it: entities and
/// backslash escapes resolved) may be followed: `http:`, `https:`,
/// `mailto:`, or relative. Checked on the URL as a browser reads it:
/// leading and trailing spaces and control characters removed, tabs and
/// line breaks removed anywhere, the scheme in any case.
pub(crate) fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    match scheme(&cleaned) {
        None => true,
        Some(scheme) => ["http", "https", "mailto"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s)),
    }
}

/// The URL's scheme, as the WHATWG URL parser finds it: an ASCII letter,
/// then letters, digits, `+`, `-` or `.`, then `:`. `None` for a relative URL.
fn scheme(url: &str) -> Option<&str> {
    let (candidate, _) = url.split_once(':')?;
    let mut chars = candidate.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(markdown: &str) -> String {
        render(markdown).0
    }

    /// Every tag is one Markdown makes, with only harmless attributes; no
    /// link goes to a script or data URL.
    #[track_caller]
    fn assert_inert(out: &str) {
        const TAGS: &[&str] = &[
            "p",
            "a",
            "em",
            "strong",
            "del",
            "h3",
            "h4",
            "h5",
            "h6",
            "ul",
            "ol",
            "li",
            "code",
            "pre",
            "blockquote",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "hr",
            "br",
        ];
        for tag in out.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or("");
            let tag = tag.strip_prefix('/').unwrap_or(tag);
            let name: String = tag
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            assert!(TAGS.contains(&name.as_str()), "<{tag}> in {out}");
            // Attributes: name="value" pairs of the few names Markdown uses.
            let mut rest = tag[name.len()..].trim_start();
            while !rest.is_empty() && rest != "/" {
                let (attr, after) = rest
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("<{tag}> in {out}"));
                assert!(
                    ["href", "title", "class", "start"].contains(&attr),
                    "<{tag}> in {out}"
                );
                let (value, after) = after
                    .split_once('"')
                    .unwrap_or_else(|| panic!("<{tag}> in {out}"));
                if attr == "href" {
                    let lower = value.to_ascii_lowercase();
                    assert!(
                        !["javascript", "data", "vbscript", "file"]
                            .iter()
                            .any(|s| lower.starts_with(s)),
                        "<{tag}> in {out}"
                    );
                }
                rest = after.trim_start();
            }
        }
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let out = html("<script>alert(1)</script>\n\nHello <b onclick=\"x()\">you</b>");
        assert_inert(&out);
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{out}"
        );
        assert!(
            out.contains("&lt;b onclick=\"x()\"&gt;you&lt;/b&gt;"),
            "{out}"
        );
        let out = html("<img src=x onerror=alert(1)>");
        assert_inert(&out);
        assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"), "{out}");
    }

    #[test]
    fn nested_html_blocks_stay_text() {
        let out = html(
            "<div>\n<div><p>inner <iframe src=\"https://evil.example/\"></iframe></p>\n</div>\n</div>\n\n<details open ontoggle=alert(1)>\n\n*md inside*\n\n</details>\n\n<!-- <script>x</script> -->",
        );
        assert_inert(&out);
        assert!(out.contains("&lt;iframe"), "{out}");
        assert!(out.contains("<em>md inside</em>"), "{out}");
        assert!(out.contains("&lt;!-- &lt;script&gt;"), "{out}");
    }

    #[test]
    fn dangerous_link_schemes_are_unlinked() {
        for link in [
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click](&#106;avascript:alert(1))",
            "[click](&#x6A;avascript&#58;alert(1))",
            "[click](java&#x09;script:alert(1))",
            "[click](<java\tscript:alert(1)>)",
            "[click]( javascript:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[click](vbscript:msgbox)",
            "[click](file:///etc/passwd)",
            "[click][ref]\n\n[ref]: javascript:alert(1)",
        ] {
            let out = html(link);
            assert_inert(&out);
            assert!(!out.contains("<a"), "{link} → {out}");
            assert!(out.contains("click"), "the text stays: {link} → {out}");
        }
    }

    #[test]
    fn autolinks_are_filtered_too() {
        let out = html("<javascript:alert(1)> and <https://example.org/a> and <team@example.org>");
        assert_inert(&out);
        assert!(!out.contains("href=\"javascript"), "{out}");
        assert!(
            out.contains("<a href=\"https://example.org/a\">https://example.org/a</a>"),
            "{out}"
        );
        assert!(out.contains("href=\"mailto:team@example.org\""), "{out}");
    }

    #[test]
    fn safe_links_are_kept_and_escaped() {
        let out = html(
            r#"[site](<https://example.org/?a=1&b="2"onmouseover=x> "a \"title\"") [rel](/i/x) [frag](#top) [mail](mailto:a@b.fr) [q](?page=2)"#,
        );
        assert_inert(&out);
        assert!(
            out.contains("href=\"https://example.org/?a=1&amp;b="),
            "{out}"
        );
        assert!(!out.contains("b=\"2"), "{out}");
        assert!(out.contains("title=\"a &quot;title&quot;\""), "{out}");
        assert!(out.contains("href=\"/i/x\""), "{out}");
        assert!(out.contains("href=\"#top\""), "{out}");
        assert!(out.contains("href=\"mailto:a@b.fr\""), "{out}");
        assert!(out.contains("href=\"?page=2\""), "{out}");
        let out = html("[ok][r]\n\n[r]: https://example.org/ref");
        assert!(
            out.contains("<a href=\"https://example.org/ref\">ok</a>"),
            "{out}"
        );
    }

    #[test]
    fn images_become_links_with_their_alt_text() {
        let out = html(
            "![a cat](https://example.org/cat.png) ![x](javascript:alert(1)) ![](data:image/png;base64,AAAA)",
        );
        assert_inert(&out);
        assert!(
            out.contains("<a href=\"https://example.org/cat.png\">a cat</a>"),
            "{out}"
        );
        assert_eq!(out.matches("<a ").count(), 1, "{out}");
        // An image inside a link: one link, no nested anchor.
        let out = html("[![logo](https://example.org/l.png)](https://example.org/)");
        assert_eq!(out.matches("<a ").count(), 1, "{out}");
        assert!(out.contains("logo"), "{out}");
        // No text: the URL is the link's name.
        let out = html("[](https://example.org/empty) ![](https://example.org/i.png)");
        assert!(out.contains(">https://example.org/empty</a>"), "{out}");
        assert!(out.contains(">https://example.org/i.png</a>"), "{out}");
    }

    #[test]
    fn headings_go_below_the_page_sections() {
        let out = html("# One\n\n## Two\n\n### Three\n\n###### Six");
        assert!(out.contains("<h3>One</h3>"), "{out}");
        assert!(out.contains("<h4>Two</h4>"), "{out}");
        assert!(out.contains("<h5>Three</h5>"), "{out}");
        assert!(out.contains("<h6>Six</h6>"), "{out}");
        assert!(!out.contains("<h1") && !out.contains("<h2"), "{out}");
        let out = html("## Two\n\n### Three");
        assert!(
            out.contains("<h3>Two</h3>") && out.contains("<h4>Three</h4>"),
            "{out}"
        );
        let out = html("Setext\n======\n\n#### Four");
        assert!(
            out.contains("<h3>Setext</h3>") && out.contains("<h6>Four</h6>"),
            "{out}"
        );
    }

    #[test]
    fn tables_carry_no_style() {
        let out = html("| a | b |\n|:--|--:|\n| 1 | 2 |");
        assert!(out.contains("<table>"), "{out}");
        assert!(!out.contains("style="), "{out}");
    }

    #[test]
    fn long_texts_are_cut_on_a_character() {
        let long = "é".repeat(MAX_MARKDOWN_BYTES);
        let out = html(&long);
        assert!(out.len() < MAX_MARKDOWN_BYTES + 100);
        assert!(out.ends_with("<p>…</p>"));
        // Deep nesting does not blow up.
        let deep = ">".repeat(50_000) + " x";
        let _ = html(&deep);
        let deep = "[".repeat(50_000) + "x" + &"](/)".repeat(50_000);
        let _ = html(&deep);
    }

    #[test]
    fn url_schemes() {
        assert!(is_safe_url("https://example.org/"));
        assert!(is_safe_url("HTTP://example.org/"));
        assert!(is_safe_url("/a:b"));
        assert!(is_safe_url("./a:b"));
        assert!(is_safe_url("#x"));
        assert!(is_safe_url(""));
        assert!(!is_safe_url("javascript:x"));
        assert!(!is_safe_url("\u{1}javascript:x"));
        assert!(!is_safe_url("java\nscript:x"));
        assert!(!is_safe_url("data:x"));
        assert!(!is_safe_url("ftp://x"));
    }
}
