//! Accessibility checks with axe-core (vendored in `cli/tests/fixtures/axe/`),
//! injected through WebDriver: a WebDriver script is not subject to the
//! page's Content-Security-Policy, so the pages need no exception for it.

use serde_json::Value;

use super::driver::Browser;

/// axe-core's minified source.
const AXE: &str = include_str!("../../fixtures/axe/axe.min.js");

/// The WCAG levels checked.
const TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// One rule broken on a page.
#[derive(Debug)]
pub(crate) struct Violation {
    pub(crate) id: String,
    pub(crate) impact: String,
    pub(crate) help: String,
    /// The first (at most 3) elements at fault, as CSS selectors.
    pub(crate) targets: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} — {}",
            self.id,
            self.impact,
            self.help,
            self.targets.join(" | ")
        )
    }
}

/// Run axe on the current page; the violations of impact `serious` or
/// `critical`.
pub(crate) async fn serious_violations(browser: &Browser) -> Vec<Violation> {
    let loaded = browser
        .js(&format!("{AXE}\n;return typeof window.axe;"), vec![])
        .await;
    assert_eq!(
        loaded,
        Value::String("object".into()),
        "axe-core did not load into {} (blocked?)",
        browser.url().await
    );
    let answer = browser
        .js_async(
            r#"
            const done = arguments[arguments.length - 1];
            window.axe
              .run(document, {
                runOnly: { type: 'tag', values: arguments[0] },
                resultTypes: ['violations'],
              })
              .then((r) => done(JSON.stringify(r.violations.map((v) => ({
                id: v.id,
                impact: v.impact || '',
                help: v.help,
                targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
              })))))
              .catch((e) => done('axe failed: ' + e));
            "#,
            vec![serde_json::json!(TAGS)],
        )
        .await;
    let text = answer.as_str().expect("axe answers a string");
    let Ok(all) = serde_json::from_str::<Vec<Value>>(text) else {
        panic!("axe on {}: {text}", browser.url().await)
    };
    all.iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| Violation {
            id: v["id"].as_str().unwrap_or_default().to_owned(),
            impact: v["impact"].as_str().unwrap_or_default().to_owned(),
            help: v["help"].as_str().unwrap_or_default().to_owned(),
            targets: v["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
        })
        .collect()
}

/// The serious and critical violations of the current page, as one line per
/// violation prefixed with `page` (empty when the page passes).
pub(crate) async fn report(browser: &Browser, page: &str) -> Vec<String> {
    serious_violations(browser)
        .await
        .iter()
        .map(|v| format!("{page}: {v}"))
        .collect()
}
