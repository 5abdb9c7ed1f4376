//! Deprecated SPDX licence ids, read as the ids that replace them.
//!
//! Registries and publiccode.yml files still write the GNU licences the old
//! way (`GPL-3.0`, `AGPL-3.0+`); SPDX deprecated those ids, and Essaim
//! records take their current form only. The importers rewrite them, and say
//! so in a warning.

/// The licence families whose bare ids SPDX deprecated.
const GNU_FAMILIES: [&str; 4] = ["GPL-", "LGPL-", "AGPL-", "GFDL-"];

/// An SPDX expression with the deprecated GNU ids (`GPL-3.0`, `AGPL-3.0+`)
/// in their current form (`GPL-3.0-only`, `AGPL-3.0-or-later`); `None` when
/// there is none to rewrite. Everything else, spacing and parentheses
/// included, is kept as written.
pub(crate) fn undeprecate(expression: &str) -> Option<String> {
    let separator = |c: char| c.is_whitespace() || c == '(' || c == ')';
    let mut changed = false;
    let mut out = String::with_capacity(expression.len() + 16);
    // Each piece is a word followed by at most one separator.
    for piece in expression.split_inclusive(separator) {
        let (word, after) = match piece.char_indices().next_back() {
            Some((at, c)) if separator(c) => piece.split_at(at),
            _ => (piece, ""),
        };
        match current_id(word) {
            Some((bare, suffix)) => {
                out.push_str(bare);
                out.push_str(suffix);
                changed = true;
            }
            None => out.push_str(word),
        }
        out.push_str(after);
    }
    changed.then_some(out)
}

/// A deprecated GNU id split into its bare form and the suffix of its
/// current form: `GPL-3.0+` → (`GPL-3.0`, `-or-later`).
fn current_id(word: &str) -> Option<(&str, &'static str)> {
    let (bare, suffix) = match word.strip_suffix('+') {
        Some(bare) => (bare, "-or-later"),
        None => (word, "-only"),
    };
    let gnu = GNU_FAMILIES.iter().any(|family| bare.starts_with(family));
    // `GPL-3.0`, not `GPL-3.0-only` nor `GPL-2.0-with-GCC-exception`.
    let version = bare.split_once('-').map(|(_, v)| v).unwrap_or_default();
    let numeric = !version.is_empty()
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (gnu && numeric).then_some((bare, suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_gnu_ids() {
        assert_eq!(undeprecate("GPL-3.0").as_deref(), Some("GPL-3.0-only"));
        assert_eq!(
            undeprecate("AGPL-3.0+").as_deref(),
            Some("AGPL-3.0-or-later")
        );
        assert_eq!(
            undeprecate("(LGPL-2.1 OR MIT)").as_deref(),
            Some("(LGPL-2.1-only OR MIT)")
        );
        assert_eq!(
            undeprecate("(AGPL-3.0+ OR MIT)").as_deref(),
            Some("(AGPL-3.0-or-later OR MIT)")
        );
        assert_eq!(
            undeprecate("MIT OR(GPL-2.0)").as_deref(),
            Some("MIT OR(GPL-2.0-only)")
        );
        assert_eq!(
            undeprecate("GPL-2.0  OR MIT").as_deref(),
            Some("GPL-2.0-only  OR MIT")
        );
        assert_eq!(undeprecate("MIT"), None);
        assert_eq!(undeprecate("GPL-3.0-only"), None);
        assert_eq!(undeprecate("GPL-2.0-with-GCC-exception"), None);
        assert_eq!(undeprecate("GPL-3.0++"), None);
        assert_eq!(undeprecate(""), None);
    }
}
