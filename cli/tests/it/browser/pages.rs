//! The read-only pages: an initiative with its repositories and labels, the
//! UI contract's elements, the language switch, and axe-core on every page
//! (1280 px, and 360 px on `/`).

use serde_json::Value;

use super::driver::{Browser, enabled, runtime};
use super::{Demo, axe, short};

/// An initiative of the demo that has repositories and at least one valid
/// label: (hub id, slug, the API's view of it).
fn labelled_initiative_with_repositories(demo: &Demo) -> (String, String, Value) {
    let labels = demo.api("/api/v1/search?limit=0")["facets"]["label"].clone();
    for label in labels.as_array().expect("a label facet") {
        let name = label["value"].as_str().unwrap();
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("label", name)
            .append_pair("limit", "100")
            .finish();
        for hit in demo.api(&format!("/api/v1/search?{query}"))["hits"]
            .as_array()
            .unwrap()
        {
            let (hub, slug) = (hit["hub"].as_str().unwrap(), hit["slug"].as_str().unwrap());
            let view = demo.api(&format!("/api/v1/initiatives/{}/{slug}", short(hub)));
            let has_repositories = view["head"]["body"]["repositories"]
                .as_array()
                .is_some_and(|r| !r.is_empty());
            if has_repositories {
                return (hub.to_owned(), slug.to_owned(), view);
            }
        }
    }
    panic!("the demo catalogue has no labelled initiative with repositories");
}

/// The initiative page's clone commands, labels and JSON-LD; the contract's
/// elements on every page; axe on every page (and at 360 px on the search
/// and initiative pages); English through the switch, kept on the next page.
#[test]
fn initiative_page_language_switch_and_accessibility() {
    if !enabled("initiative_page_language_switch_and_accessibility") {
        return;
    }
    let demo = Demo::start();
    let (hub, slug, view) = labelled_initiative_with_repositories(&demo);
    let hubs = demo.hub_names();
    let body = &view["head"]["body"];
    let name = body["name"].as_str().unwrap();
    let page = format!("/i/{}/{slug}", short(&hub));
    runtime().block_on(async {
        let browser = Browser::start().await;
        let mut violations = Vec::new();

        // The initiative.
        browser.goto(&demo.url(&page)).await;
        assert_eq!(browser.text("h1").await, name, "h1 of {page}");
        let commands: Vec<String> = browser
            .js(
                "return [...document.querySelectorAll('#repositories code.clone-command')]\
                 .map((c) => c.textContent.trim());",
                vec![],
            )
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = body["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "git clone {}/git/{}/{slug}/{}.git",
                    demo.base(),
                    short(&hub),
                    r["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(commands, expected, "#repositories code.clone-command on {page}");

        let labels: Vec<String> = browser
            .js(
                "return [...document.querySelectorAll('#labels li.label')]\
                 .map((l) => l.textContent.replace(/\\s+/g, ' ').trim() + ' @ ' + \
                   [...l.querySelectorAll('a')].map((a) => a.getAttribute('href')).join(' '));",
                vec![],
            )
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_owned())
            .collect();
        let valid_labels: Vec<&Value> = view["endorsements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["body"]["type"] == "label" && e["valid"] == Value::Bool(true))
            .collect();
        assert!(!valid_labels.is_empty());
        assert_eq!(
            labels.len(),
            valid_labels.len(),
            "#labels li.label on {page}: {labels:#?}"
        );
        for endorsement in valid_labels {
            let label = endorsement["body"]["label"].as_str().unwrap();
            let issuer = endorsement["body"]["author"].as_str().unwrap();
            let issuer_name = &hubs[issuer];
            let link = format!("/hubs/{}", short(issuer));
            assert!(
                labels.iter().any(|l| l.contains(label)
                    && l.contains(issuer_name.as_str())
                    && l.contains(&link)),
                "no li.label with « {label} », issuer « {issuer_name} » and a link to {link}: \
                 {labels:#?}"
            );
        }

        let json_ld = browser
            .js(
                "const s = document.querySelectorAll('script[type=\"application/ld+json\"]'); \
                 return s.length === 1 ? s[0].textContent : s.length;",
                vec![],
            )
            .await;
        let json_ld = json_ld
            .as_str()
            .unwrap_or_else(|| panic!("{json_ld} JSON-LD scripts on {page}, not 1"));
        let json_ld: Value = serde_json::from_str(json_ld)
            .unwrap_or_else(|e| panic!("the JSON-LD of {page} does not parse ({e}): {json_ld}"));
        assert_eq!(json_ld["@context"].as_str(), Some("https://schema.org"));
        assert_eq!(json_ld["name"].as_str(), Some(name), "JSON-LD name");
        assert!(
            !json_ld["codeRepository"].is_null(),
            "JSON-LD without codeRepository: {json_ld}"
        );
        browser.screenshot("initiative.png").await;
        violations.extend(axe::report(&browser, &page).await);

        // Every other page, in French, at 1280 px: the contract's elements,
        // one h1, axe.
        let first_hub = format!("/hubs/{}", short(&hub));
        let hub_link = format!("li.hub a[href=\"{first_hub}\"]");
        let mut missing = Vec::new();
        for (path, selectors) in [
            (page.as_str(), vec![
                "#description", "#territories", "#stage", "#impact", "#needs",
                "#repositories code.clone-command", "#labels li.label", "#endorsements",
                "#provenance code.record-id", "#history", "svg.mini-map",
            ]),
            ("/", vec![
                "form#search[role=search][action=\"/\"] input#q[name=q][type=search]",
                "label[for=q]", "form#search button[type=submit]", "form#search select#sort[name=sort]",
                "#results-region #total[data-total]", "#results-region ol#results li.result a.result-link",
                "#results-region li.result p.snippet",
                "section.facet[data-facet=theme] a.facet-value[data-value]",
                "section.facet[data-facet=territory] a.facet-value[data-value]",
                "section.facet[data-facet=stage] a.facet-value[data-value]",
                "section.facet[data-facet=hub] a.facet-value[data-value]",
                "section.facet[data-facet=label] a.facet-value[data-value]",
                "nav.pagination a[rel=next]",
            ]),
            ("/?q=epicerie&theme=alimentation", vec![
                "#active-filters a.active-filter", "#results li.result mark",
            ]),
            ("/?q=zzzqqxxw", vec!["#no-results"]),
            ("/map", vec![
                "svg#map a.dep[data-code=\"69\"][href=\"/?territory=dep:69\"] path",
                "svg#map a.dep title", "#map-legend", "ul#overseas a[data-code=\"971\"]",
                "table#map-counts", "a[href*=\"creativecommons.org/licenses/by/4.0\"]",
            ]),
            ("/hubs", vec![hub_link.as_str()]),
            (first_hub.as_str(), vec!["#published", "#vouches"]),
            ("/node", vec!["#identity", "#counts", "#peers", "#sync", "#mirrors"]),
            ("/login", vec![
                "form#login input#token[name=token][type=password]",
                "form#login button[type=submit]", "form#login input[type=hidden][name=next]",
            ]),
        ] {
            browser.goto(&demo.url(path)).await;
            one_h1(&browser, path).await;
            let layout = [
                "a.skip[href=\"#main\"]", "main#main", "header nav[aria-label] a[href=\"/\"]",
                "header nav a[href=\"/map\"]", "header nav a[href=\"/hubs\"]",
                "header nav a[href=\"/node\"]", "header nav a[href=\"/publish\"]",
                "header a#lang-switch", "footer",
            ];
            for selector in selectors.iter().chain(&layout) {
                if !browser.exists(selector).await {
                    missing.push(format!("{path}: {selector}"));
                }
            }
            if path != page {
                violations.extend(axe::report(&browser, path).await);
            }
        }
        assert!(
            missing.is_empty(),
            "elements of the UI contract missing:\n{}",
            missing.join("\n")
        );
        browser.goto(&demo.url("/node")).await;
        let identity = browser.text("#identity").await;
        let node_hub = demo.api("/api/v1/status")["hub"].as_str().unwrap().to_owned();
        assert!(
            identity.contains(short(&node_hub)),
            "#identity on /node does not show the hub id {node_hub}: {identity}"
        );
        // axe ran through WebDriver on pages whose CSP blocks inline scripts.
        let inline = browser
            .js(
                "const s = document.createElement('script'); \
                 s.textContent = 'window.__inline = 1;'; document.head.appendChild(s); \
                 return typeof window.__inline;",
                vec![],
            )
            .await;
        assert_eq!(
            inline, "undefined",
            "an inline script ran on /login: no CSP against inline scripts?"
        );

        // 360 px wide: the search page, empty and with results, and the
        // initiative; nothing wider than the window.
        browser.resize(360, 800).await;
        for path in ["/", "/?q=epicerie+solidaire", page.as_str()] {
            browser.goto(&demo.url(path)).await;
            let overflow = browser
                .js(
                    "return document.documentElement.scrollWidth \
                     - document.documentElement.clientWidth;",
                    vec![],
                )
                .await;
            if path == "/?q=epicerie+solidaire" {
                browser.screenshot("search-360.png").await;
            }
            violations.extend(axe::report(&browser, &format!("{path} at 360 px")).await);
            assert!(
                overflow.as_i64().is_some_and(|o| o <= 0),
                "{path} scrolls sideways at 360 px by {overflow} px"
            );
        }
        browser.resize(1280, 900).await;

        // English through the switch; the next page stays English.
        browser.goto(&demo.url("/?q=epicerie")).await;
        assert_eq!(lang(&browser).await, "fr");
        let food = "section.facet[data-facet=theme] a.facet-value[data-value=alimentation]";
        let french = browser.text(food).await;
        assert!(french.contains("Alimentation durable"), "{food}: {french}");
        browser.click("#lang-switch").await;
        browser
            .wait_until(
                "<html lang=\"en\"> after #lang-switch",
                std::time::Duration::from_secs(10),
                "return document.documentElement.lang === 'en' && document.readyState === 'complete';",
            )
            .await;
        let english = browser.text(food).await;
        assert!(
            english.contains("Sustainable food"),
            "{food} in English: {english}"
        );
        browser.goto(&demo.url(&page)).await;
        assert_eq!(
            lang(&browser).await,
            "en",
            "the language did not persist to {page}"
        );

        browser.quit().await;
        assert!(
            violations.is_empty(),
            "axe (WCAG 2.1 A/AA), serious and critical:\n{}",
            violations.join("\n")
        );
    });
}

async fn lang(browser: &Browser) -> String {
    browser
        .js("return document.documentElement.lang;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn one_h1(browser: &Browser, path: &str) {
    let h1 = browser.find_all("h1").await.len();
    assert_eq!(h1, 1, "{path} has {h1} h1 elements");
}
