//! What a page must not contain once hostile text from a record is in it:
//! no dialog opened, no script run, no script element or event handler or
//! `javascript:` URL smuggled into the DOM.

use super::driver::Browser;

/// Everything suspicious on the current page (empty when it is clean).
/// `own_scripts` allows the page's own `/assets/app.js` and one JSON-LD
/// block; without it, any script element is suspicious.
pub(crate) async fn findings(browser: &Browser, own_scripts: bool) -> Vec<String> {
    let mut found = Vec::new();
    // An open dialog blocks every other command: look for it first.
    if let Some(text) = browser.alert_text().await {
        found.push(format!("an alert dialog is open: {text:?}"));
        browser.dismiss_alert().await;
        while browser.alert_text().await.is_some() {
            browser.dismiss_alert().await;
        }
    }
    let answer = browser
        .js(
            r#"
            const ownScripts = arguments[0];
            const found = [];
            if (typeof window.__xss !== 'undefined') {
              found.push('window.__xss is set: ' + String(window.__xss));
            }
            let jsonLd = 0;
            for (const s of document.querySelectorAll('script')) {
              const src = s.getAttribute('src');
              if (ownScripts && src !== null && new URL(src, location.href).pathname === '/assets/app.js') {
                continue;
              }
              if (ownScripts && src === null && s.type === 'application/ld+json' && jsonLd++ === 0) {
                continue;
              }
              found.push('script element: ' + s.outerHTML.slice(0, 200));
            }
            for (const el of document.querySelectorAll('iframe, frame, object, embed')) {
              found.push('embedding element: ' + el.outerHTML.slice(0, 200));
            }
            const js = /^javascript:/i;
            for (const el of document.querySelectorAll('*')) {
              for (const attr of el.attributes) {
                const name = attr.name.toLowerCase();
                // What a browser would run: it drops whitespace and control
                // characters in a URL's scheme.
                const value = attr.value.replace(/[\u0000-\u0020]/g, '');
                if (name.startsWith('on')) {
                  found.push('event handler attribute ' + name + ' on <' + el.localName + '>: ' + el.outerHTML.slice(0, 200));
                } else if (js.test(value)) {
                  found.push('javascript: URL in ' + name + ' of <' + el.localName + '>: ' + el.outerHTML.slice(0, 200));
                }
              }
            }
            return found;
            "#,
            vec![serde_json::Value::Bool(own_scripts)],
        )
        .await;
    found.extend(
        answer
            .as_array()
            .expect("the check answers a list")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned()),
    );
    found
}
