//! Reading a local bare mirror with git2: HEAD's commit, whether the refs
//! contain a pinned commit, and the documentation text (README, `docs/*.md`)
//! that goes into the search index. No network access here.

use std::path::Path;

/// Documentation text taken from one repository, at most.
pub const DOC_TEXT_MAX: usize = 256 * 1024;
/// Refs looked at when checking a pinned commit, at most.
const REFS_CHECKED_MAX: usize = 2_000;

/// What a mirror holds, as the store records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The commit HEAD points at, if HEAD resolves.
    pub head: Option<String>,
    /// Whether the pinned commit is reachable from a branch or tag
    /// (`None` when nothing is pinned).
    pub pin_ok: Option<bool>,
}

/// Summarise the mirror at `path`.
pub fn summarise(path: &Path, pinned: Option<&str>) -> Result<Summary, git2::Error> {
    let repo = git2::Repository::open_bare(path)?;
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    let pin_ok = match pinned {
        None => None,
        Some(pin) => Some(contains(&repo, pin)?),
    };
    Ok(Summary { head, pin_ok })
}

/// Whether `commit` is a commit reachable from one of the branches or tags.
pub fn contains(repo: &git2::Repository, commit: &str) -> Result<bool, git2::Error> {
    let Ok(oid) = git2::Oid::from_str(commit) else {
        return Ok(false);
    };
    if repo.find_commit(oid).is_err() {
        return Ok(false);
    }
    for reference in repo.references()?.take(REFS_CHECKED_MAX).flatten() {
        let Ok(name) = reference.name() else {
            continue;
        };
        if !(name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
            continue;
        }
        let Ok(tip) = reference.peel_to_commit() else {
            continue;
        };
        if tip.id() == oid || repo.graph_descendant_of(tip.id(), oid).unwrap_or(false) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The README and `docs/*.md` of HEAD's tree, as text, at most
/// [`DOC_TEXT_MAX`] bytes (cut at a character boundary).
pub fn documentation(path: &Path) -> Result<String, git2::Error> {
    let repo = git2::Repository::open_bare(path)?;
    let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) else {
        return Ok(String::new());
    };
    let mut text = String::new();
    let add = |text: &mut String, blob: git2::Blob<'_>| {
        if blob.is_binary() {
            return;
        }
        let content = String::from_utf8_lossy(blob.content());
        let room = DOC_TEXT_MAX.saturating_sub(text.len());
        let mut cut = content.len().min(room);
        while !content.is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(&content[..cut]);
        text.push('\n');
    };
    let mut readmes: Vec<_> = tree
        .iter()
        .filter(|e| {
            e.kind() == Some(git2::ObjectType::Blob)
                && e.name()
                    .is_ok_and(|n| n.to_ascii_lowercase().starts_with("readme"))
        })
        .collect();
    readmes.sort_by_key(|e| e.name().map(str::len).unwrap_or(usize::MAX));
    if let Some(entry) = readmes.first()
        && let Ok(blob) = repo.find_blob(entry.id())
    {
        add(&mut text, blob);
    }
    if let Ok(docs) = tree
        .get_path(Path::new("docs"))
        .and_then(|e| repo.find_tree(e.id()))
    {
        let mut pages: Vec<_> = docs
            .iter()
            .filter(|e| {
                e.kind() == Some(git2::ObjectType::Blob)
                    && e.name()
                        .is_ok_and(|n| n.to_ascii_lowercase().ends_with(".md"))
            })
            .collect();
        pages.sort_by(|a, b| a.name().ok().cmp(&b.name().ok()));
        for entry in pages {
            if text.len() >= DOC_TEXT_MAX {
                break;
            }
            if let Ok(blob) = repo.find_blob(entry.id()) {
                add(&mut text, blob);
            }
        }
    }
    Ok(text)
}
