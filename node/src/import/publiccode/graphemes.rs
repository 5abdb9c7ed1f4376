//! Lengths as the standard counts them: in user-perceived characters
//! (extended grapheme clusters), so that `é` written as `e` + a combining
//! accent, a flag or a family emoji counts as one.
//!
//! The count approximates Unicode's segmentation rules (UAX #29) without a
//! table crate; [`graphemes`] says which characters join the one before.

/// The number of user-perceived characters (extended grapheme clusters, as
/// the standard counts lengths), approximated: combining marks, variation
/// selectors, emoji modifiers and tags, zero-width joiner sequences, Indic
/// vowel signs and conjuncts, Hangul jamo and regional-indicator pairs
/// extend the character before them; `\r\n` is one.
pub(super) fn graphemes(text: &str) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut after_joiner = false;
    let mut open_flag = false;
    for c in text.chars() {
        let joins = match prev {
            None => false,
            Some('\r') => c == '\n',
            Some(p) if p.is_control() || c.is_control() => false,
            Some(p) => {
                after_joiner
                    || is_extend(c)
                    || (is_regional_indicator(c) && is_regional_indicator(p) && open_flag)
                    || hangul_joins(p, c)
                    || conjunct(p, c)
            }
        };
        if !joins {
            count += 1;
            open_flag = is_regional_indicator(c);
        } else if is_regional_indicator(c) {
            open_flag = false;
        }
        after_joiner = c == '\u{200D}';
        prev = Some(c);
    }
    count
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Characters that extend the one before them (a practical subset of the
/// Unicode `Extend` and `SpacingMark` properties).
fn is_extend(c: char) -> bool {
    let n = u32::from(c);
    let ranges: &[(u32, u32)] = &[
        (0x0300, 0x036F), // combining diacritical marks
        (0x0483, 0x0489), // Cyrillic
        (0x0591, 0x05BD), // Hebrew points
        (0x05BF, 0x05BF),
        (0x05C1, 0x05C2),
        (0x05C4, 0x05C5),
        (0x05C7, 0x05C7),
        (0x0610, 0x061A), // Arabic
        (0x064B, 0x065F),
        (0x0670, 0x0670),
        (0x06D6, 0x06DC),
        (0x06DF, 0x06E4),
        (0x06E7, 0x06E8),
        (0x06EA, 0x06ED),
        (0x0E31, 0x0E31), // Thai
        (0x0E34, 0x0E3A),
        (0x0E47, 0x0E4E),
        (0x0EB1, 0x0EB1), // Lao
        (0x0EB4, 0x0EBC),
        (0x0EC8, 0x0ECD),
        (0x1AB0, 0x1AFF), // combining marks, extended and supplement
        (0x1DC0, 0x1DFF),
        (0x200C, 0x200D),   // zero-width non-joiner and joiner
        (0x20D0, 0x20FF),   // combining marks for symbols
        (0x3099, 0x309A),   // kana voicing marks
        (0xFE00, 0xFE0F),   // variation selectors
        (0xFE20, 0xFE2F),   // combining half marks
        (0x1F3FB, 0x1F3FF), // emoji skin tones
        (0xE0020, 0xE007F), // emoji tags
        (0xE0100, 0xE01EF), // variation selectors supplement
    ];
    if ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n)) {
        return true;
    }
    // Brahmic scripts (Devanagari to Malayalam) share one layout: signs at
    // offsets 0x00-0x03, nukta 0x3C, vowel signs and virama 0x3E-0x4D,
    // 0x51-0x57, 0x62-0x63 of each 128-character block.
    if (0x0900..0x0D80).contains(&n) {
        let offset = n & 0x7F;
        return offset <= 0x03
            || offset == 0x3C
            || (0x3E..=0x4D).contains(&offset)
            || (0x51..=0x57).contains(&offset)
            || (0x62..=0x63).contains(&offset);
    }
    false
}

/// Brahmic conjuncts: a virama joins the consonant after it (`स्त`).
fn conjunct(prev: char, c: char) -> bool {
    let (p, n) = (u32::from(prev), u32::from(c));
    (0x0900..0x0D80).contains(&p)
        && p & 0x7F == 0x4D
        && p >> 7 == n >> 7
        && (0x15..=0x39).contains(&(n & 0x7F))
}

/// Hangul: a leading consonant joins what follows it; vowels and trailing
/// consonants join a preceding syllable or jamo.
fn hangul_joins(prev: char, c: char) -> bool {
    let p = u32::from(prev);
    let n = u32::from(c);
    let leading = |x: u32| (0x1100..=0x115F).contains(&x) || (0xA960..=0xA97F).contains(&x);
    let vowel_or_trailing =
        |x: u32| (0x1160..=0x11FF).contains(&x) || (0xD7B0..=0xD7FF).contains(&x);
    let syllable = |x: u32| (0xAC00..=0xD7A3).contains(&x);
    (leading(p) && (leading(n) || vowel_or_trailing(n) || syllable(n)))
        || (vowel_or_trailing(n) && (syllable(p) || vowel_or_trailing(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grapheme_counts() {
        assert_eq!(graphemes("abc"), 3);
        assert_eq!(graphemes("e\u{301}"), 1);
        assert_eq!(graphemes("a\r\nb"), 3);
        assert_eq!(graphemes("👦👦"), 2);
        assert_eq!(graphemes("👦🏽"), 1);
        assert_eq!(graphemes("👩\u{200D}👩\u{200D}👧"), 1);
        assert_eq!(graphemes("🇫🇷🇮🇹"), 2);
        assert_eq!(graphemes("베스핀 가스가 부족합니다."), 14);
        assert_eq!(graphemes("\u{1100}\u{1161}\u{11A8}"), 1);
        assert_eq!(graphemes("नमस्ते"), 3);
    }
}
