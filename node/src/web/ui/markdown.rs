//! Markdown to safe HTML: descriptions come from untrusted records.
