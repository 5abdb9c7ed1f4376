//! The web UI in a real browser: headless Chromium driven through
//! chromedriver (WebDriver), against `essaim demo` nodes on loopback.
//!
//! The tests rely only on the UI contract (routes, element ids and classes,
//! behaviours), not on the markup's details. `ESSAIM_SKIP_BROWSER=1` skips
//! them; otherwise `/usr/bin/chromium` and `/usr/bin/chromedriver` must be
//! installed (`apt-get install chromium chromium-driver`). Screenshots go to
//! `$CARGO_TARGET_TMPDIR/browser/`.

mod axe;
mod driver;
mod hostile;
mod pages;
mod publish;
mod safety;
mod search;
mod territory;

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{RunningNode, get};
use driver::{Browser, enabled, runtime};

/// An `essaim demo` node (5 hubs, 37 initiatives) in a temporary directory.
struct Demo {
    node: RunningNode,
    data: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("demo");
        let node = RunningNode::demo(&data);
        Demo {
            node,
            data,
            _tmp: tmp,
        }
    }

    /// The node's URL for `path` (which starts with `/`).
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.node.http)
    }

    /// `http://127.0.0.1:PORT`.
    fn base(&self) -> &str {
        &self.node.http
    }

    /// GET a JSON API path; panics unless 200.
    fn api(&self, path: &str) -> Value {
        let (status, body) = get(&self.url(path)).unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The operator token of the demo's own hub.
    fn token(&self) -> String {
        std::fs::read_to_string(self.data.join("operator.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Every hub's name, by id (`did:key:…`).
    fn hub_names(&self) -> std::collections::HashMap<String, String> {
        self.api("/api/v1/hubs")["hubs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["id"].as_str().unwrap().to_owned(),
                    h["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// A hub id without its `did:key:` prefix, as page paths carry it.
fn short(hub: &str) -> &str {
    hub.strip_prefix("did:key:").unwrap_or(hub)
}

/// The first value of a query parameter.
fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `p`-th percentile (nearest rank) of `values`; 0 when empty.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// A `data:` URL holding `html`.
fn data_url(html: &str) -> String {
    let mut url = String::from("data:text/html;charset=utf-8,");
    for byte in html.bytes() {
        if byte.is_ascii_alphanumeric() || b" <>/=-_.:;'\"".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// The harness itself, on `data:` pages: the safety check finds a script
/// injected into an unescaped page, axe runs in a page whose CSP blocks
/// inline scripts and finds a missing `alt`, and a clean page passes both.
#[test]
fn the_checks_catch_what_they_look_for() {
    if !enabled("the_checks_catch_what_they_look_for") {
        return;
    }
    runtime().block_on(async {
        let browser = Browser::start().await;

        // A page that pastes hostile text without escaping it.
        let hostile = "Hostile <script>window.__xss=1</script><img src=x onerror=alert(1)> \
                       <a href=\" javascript:alert(2)\">x</a> <b onmouseover=alert(3)>b</b>";
        browser
            .goto_allowing_alert(&data_url(&format!(
                "<!doctype html><html lang=en><title>t</title><h1>{hostile}</h1>"
            )))
            .await;
        let found = safety::findings(&browser, true).await;
        for expected in [
            "an alert dialog is open",
            "window.__xss is set",
            "script element",
            "event handler attribute onerror",
            "event handler attribute onmouseover",
            "javascript: URL in href",
        ] {
            assert!(
                found.iter().any(|f| f.starts_with(expected)),
                "the safety check missed `{expected}` on an unescaped page: {found:#?}"
            );
        }

        // The same text escaped: nothing found.
        let escaped = hostile
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        browser
            .goto(&data_url(&format!(
                "<!doctype html><html lang=en><title>t</title><main><h1>{escaped}</h1></main>"
            )))
            .await;
        let found = safety::findings(&browser, true).await;
        assert!(found.is_empty(), "an escaped page flagged: {found:#?}");
        assert!(
            axe::report(&browser, "escaped page").await.is_empty(),
            "axe flags a clean page"
        );

        // A CSP that blocks inline scripts (as the node's does): the page's
        // inline script does not run, WebDriver's scripts (axe) do.
        browser
            .goto(&data_url(
                "<!doctype html><html lang=en><head><title>csp</title>\
                 <meta http-equiv=\"Content-Security-Policy\" \
                 content=\"default-src 'none'; script-src 'self'; style-src 'self'\">\
                 </head><body><main><h1>CSP</h1>\
                 <script>window.__inline = 1</script>\
                 <img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\"></main></body></html>",
            ))
            .await;
        assert_eq!(
            browser.js("return typeof window.__inline;", vec![]).await,
            Value::String("undefined".into()),
            "the CSP should have blocked the inline script"
        );
        let violations = axe::serious_violations(&browser).await;
        assert!(
            violations.iter().any(|v| v.id == "image-alt"),
            "axe missed an image without alt under a strict CSP: {violations:?}"
        );

        browser.resize(360, 800).await;
        let width = browser.js("return window.innerWidth;", vec![]).await;
        assert_eq!(width, Value::from(360), "window.innerWidth at 360 px");
        browser.screenshot("harness-360.png").await;
        browser.quit().await;
    });
}
