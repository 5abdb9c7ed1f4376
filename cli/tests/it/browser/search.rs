//! The search page as a person uses it: typing with a typo, facets, the
//! browser's back button, and the map leading to a filtered search.

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::driver::{Browser, bounded, enabled, runtime};
use super::{Demo, percentile, query_param};

/// What is typed, in bursts: keystrokes 40 ms apart (faster than the
/// script's debounce), then a pause until the results have changed.
const BURSTS: &[&str] = &["epic", "erie", " sol", "idia", "re"];

/// A slow typist: every letter waits for its own results.
const SLOW: &str = "ressourcerie";

/// What the benchmark (`ESSAIM_BENCH_TYPING=1`, see BENCHMARKS.md) types
/// letter by letter on top of the test's own typing: enough keystrokes for a
/// p99 that is not just the slowest request.
const BENCH_QUERIES: &[&str] = &[
    "epicerie solidaire",
    "mobilite rurale",
    "jardins partages",
    "insertion par l'activite",
    "tiers lieu numerique",
    "habitat participatif",
    "cooperative alimentaire",
    "garage solidaire",
    "accompagnement vers l'emploi",
    "repair cafe",
    "sante communautaire",
];

/// How long a search update may take to show.
const UPDATE: Duration = Duration::from_secs(10);

/// The number of completed partial fetches the page counts.
async fn searches(browser: &Browser) -> u64 {
    browser
        .js(
            "return Number(document.body.dataset.searches || 0);",
            vec![],
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

/// Wait until the page has swapped its results once more than `before`.
async fn wait_for_swap(browser: &Browser, before: u64, what: &str) {
    browser
        .wait_until(
            what,
            UPDATE,
            &format!("return Number(document.body.dataset.searches || 0) > {before};"),
        )
        .await;
}

/// No page load happened since the marker was set.
async fn assert_same_document(browser: &Browser, step: &str) {
    assert_eq!(
        browser.js("return window.__marker;", vec![]).await,
        json!(1),
        "{step}: the page was reloaded (window.__marker is gone) on {}",
        browser.url().await
    );
}

async fn total(browser: &Browser) -> u64 {
    let total = browser.attr("#total", "data-total").await;
    total
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("#total has no numeric data-total: {total:?}"))
}

/// Type a query letter by letter, then with a typo burst by burst; follow a
/// facet, go back, remove a filter; follow the pagination and go back; on the
/// map, click the Rhône, then reach a département with the keyboard. Prints
/// the search-as-you-type timings as JSON.
#[test]
fn search_as_you_type_facets_and_the_map() {
    if !enabled("search_as_you_type_facets_and_the_map") {
        return;
    }
    let demo = Demo::start();
    runtime().block_on(async {
        let browser = Browser::start().await;
        browser.goto(&demo.url("/")).await;
        assert!(
            browser
                .exists("form#search[role=search] input#q[name=q]")
                .await,
            "/ has no form#search[role=search] with input#q[name=q]"
        );
        // A slow typist first (one request a letter), for the timings.
        let mut timings = Vec::new();
        let slow: Vec<String> = SLOW.chars().map(String::from).collect();
        let slow: Vec<&str> = slow.iter().map(String::as_str).collect();
        type_in_bursts(&browser, &slow).await;
        timings.extend(partial_fetches(&browser, slow.len()).await);
        let mut keystrokes = slow.len();
        if std::env::var_os("ESSAIM_BENCH_TYPING").is_some() {
            for query in BENCH_QUERIES {
                browser.goto(&demo.url("/")).await;
                let letters: Vec<String> = query.chars().map(String::from).collect();
                let letters: Vec<&str> = letters.iter().map(String::as_str).collect();
                type_in_bursts(&browser, &letters).await;
                timings.extend(partial_fetches(&browser, letters.len()).await);
                keystrokes += letters.len();
            }
        }

        // Then bursts with a typo, in a fresh page.
        browser.goto(&demo.url("/")).await;
        let typed = type_in_bursts(&browser, BURSTS).await;
        timings.extend(partial_fetches(&browser, BURSTS.len()).await);
        // The last answer may still be on its way: wait for the URL and the
        // results of the whole query.
        browser
            .wait_until(
                "the URL to carry the whole query",
                UPDATE,
                &format!(
                    "return new URLSearchParams(location.search).get('q') === {};",
                    json!(typed)
                ),
            )
            .await;
        browser
            .wait_until(
                "a result for `epicerie solidiare`",
                UPDATE,
                "return [...document.querySelectorAll('#results li.result a.result-link')]\
                 .some((a) => a.textContent.includes('picerie solidaire'));",
            )
            .await;
        assert_same_document(&browser, "typing").await;
        let count = searches(&browser).await;
        assert!(
            count >= BURSTS.len() as u64,
            "document.body.dataset.searches = {count} after {} bursts",
            BURSTS.len()
        );
        assert!(
            browser.exists("#results li.result mark").await,
            "no <mark> in the results for {typed:?}"
        );
        browser.screenshot("search.png").await;
        report_timings(&timings, keystrokes + BURSTS.len());
        if std::env::var_os("ESSAIM_BENCH_TYPING").is_some() {
            compare_with_api(&timings);
        }

        // A facet value: the filter applies, in the URL too, without a load.
        let before_total = total(&browser).await;
        let facet = browser
            .find("section.facet[data-facet=theme] a.facet-value")
            .await;
        let theme = bounded("the facet's data-value", facet.attr("data-value"))
            .await
            .expect("a.facet-value has data-value");
        let before = searches(&browser).await;
        bounded("clicking a theme facet", facet.click()).await;
        wait_for_swap(&browser, before, "the results filtered by a theme").await;
        browser
            .wait_until(
                "an a.active-filter",
                UPDATE,
                "return document.querySelectorAll('#active-filters a.active-filter').length === 1;",
            )
            .await;
        let url = browser.url().await;
        assert_eq!(
            query_param(&url, "theme").as_deref(),
            Some(theme.as_str()),
            "URL after clicking the theme facet: {url}"
        );
        assert_eq!(query_param(&url, "q").as_deref(), Some(typed.as_str()));
        let filtered_total = total(&browser).await;
        assert!(
            filtered_total <= before_total && filtered_total > 0,
            "#total {before_total} → {filtered_total} with theme={theme}"
        );
        assert_same_document(&browser, "following a facet").await;

        // Back: the filter goes, the query stays, still the same document.
        let before = searches(&browser).await;
        browser.js("history.back(); return true;", vec![]).await;
        wait_for_swap(&browser, before, "the results after history.back()").await;
        browser
            .wait_until(
                "the filter to go after history.back()",
                UPDATE,
                "return !new URLSearchParams(location.search).has('theme') \
                 && document.querySelectorAll('a.active-filter').length === 0;",
            )
            .await;
        let url = browser.url().await;
        assert_eq!(
            query_param(&url, "q").as_deref(),
            Some(typed.as_str()),
            "{url}"
        );
        assert_eq!(total(&browser).await, before_total);
        assert_same_document(&browser, "history.back()").await;

        // The filter again, then removed through its a.active-filter.
        let facet = browser
            .find(&format!(
                "section.facet[data-facet=theme] a.facet-value[data-value=\"{theme}\"]"
            ))
            .await;
        let before = searches(&browser).await;
        bounded("clicking the theme facet again", facet.click()).await;
        wait_for_swap(&browser, before, "the theme filter again").await;
        let before = searches(&browser).await;
        browser.click("#active-filters a.active-filter").await;
        wait_for_swap(&browser, before, "the results without the filter").await;
        let url = browser.url().await;
        assert_eq!(query_param(&url, "theme"), None, "{url}");
        assert!(!browser.exists("a.active-filter").await);
        assert_eq!(total(&browser).await, before_total);

        // The next page of everything (37 initiatives, 20 a page), then back.
        browser.goto(&demo.url("/")).await;
        browser
            .js("window.__marker = 1; return true;", vec![])
            .await;
        let all = total(&browser).await;
        let before = searches(&browser).await;
        browser.click("nav.pagination a[rel=next]").await;
        wait_for_swap(&browser, before, "the second page").await;
        let url = browser.url().await;
        assert_eq!(query_param(&url, "page").as_deref(), Some("2"), "{url}");
        let shown = browser.find_all("#results li.result").await.len() as u64;
        assert_eq!(shown, all.saturating_sub(20).min(20), "results on page 2");
        assert!(browser.exists("nav.pagination a[rel=prev]").await);
        assert_same_document(&browser, "following the pagination").await;
        let before = searches(&browser).await;
        browser.js("history.back(); return true;", vec![]).await;
        wait_for_swap(&browser, before, "the first page after history.back()").await;
        let shown = browser.find_all("#results li.result").await.len() as u64;
        assert_eq!(shown, all.min(20), "results on page 1 after back");

        // The map: the Rhône leads to `/` filtered by dep:69, with results.
        browser.goto(&demo.url("/map")).await;
        browser.screenshot("map.png").await;
        // Each colour class has its own fill (the style sheet colours them).
        let fills = browser
            .js(
                "const fills = {}; \
                 for (const a of document.querySelectorAll('svg#map a.dep')) { \
                   const c = [...a.classList].find((k) => /^c[0-9]$/.test(k)); \
                   const p = a.querySelector('path'); \
                   if (c && p) { (fills[c] = fills[c] || new Set()).add(getComputedStyle(p).fill); } \
                 } \
                 return Object.fromEntries(Object.entries(fills).map(([c, s]) => [c, [...s]]));",
                vec![],
            )
            .await;
        let classes = fills.as_object().expect("a map of fills");
        let mut distinct: Vec<&Value> = classes.values().flat_map(|f| f.as_array().unwrap()).collect();
        distinct.sort_by_key(|v| v.to_string());
        distinct.dedup();
        assert!(
            classes.len() >= 2 && distinct.len() == classes.len(),
            "svg#map: each class c0…c5 should have one fill of its own: {fills}"
        );
        let rhone = "svg#map a.dep[data-code=\"69\"]";
        let href = browser.attr(rhone, "href").await;
        assert_eq!(href.as_deref(), Some("/?territory=dep:69"), "{rhone} href");
        browser.click(&format!("{rhone} path")).await;
        browser
            .wait_until(
                "the search page filtered by dep:69",
                UPDATE,
                "return location.pathname === '/' \
                 && new URLSearchParams(location.search).get('territory') === 'dep:69' \
                 && document.readyState === 'complete';",
            )
            .await;
        assert!(
            !browser.find_all("#results li.result").await.is_empty(),
            "no result on {}",
            browser.url().await
        );
        assert!(browser.exists("#active-filters a.active-filter").await);

        // The map with the keyboard only: Tab until a département, Enter.
        browser.goto(&demo.url("/map")).await;
        let mut code = Value::Null;
        for _ in 0..200 {
            press(&browser, Key::Tab).await;
            code = browser
                .js(
                    "const a = document.activeElement; \
                     return a && a.matches('svg#map a.dep') ? a.dataset.code : null;",
                    vec![],
                )
                .await;
            if !code.is_null() {
                break;
            }
        }
        let code = code
            .as_str()
            .expect("Tab never reached a département link (svg#map a.dep) in 200 presses")
            .to_owned();
        press(&browser, Key::Enter).await;
        browser
            .wait_until(
                "Enter on a focused département to follow it",
                UPDATE,
                &format!(
                    "return location.pathname === '/' \
                     && new URLSearchParams(location.search).get('territory') === 'dep:{code}';"
                ),
            )
            .await;
        browser.quit().await;
    });
}

/// Press and release a key in the focused element.
async fn press(browser: &Browser, key: Key) {
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    bounded(
        format!("pressing {key:?}"),
        browser.client().perform_actions(actions),
    )
    .await;
}

/// Type `bursts` into `#q` of a freshly loaded page (marked with
/// `window.__marker`), each burst's keys 40 ms apart, waiting after each
/// burst for the results to be swapped. The text typed.
async fn type_in_bursts(browser: &Browser, bursts: &[&str]) -> String {
    browser
        .js(
            "window.__marker = 1; performance.setResourceTimingBufferSize(1000); \
             performance.clearResourceTimings(); return true;",
            vec![],
        )
        .await;
    let input = browser.find("input#q").await;
    bounded("focusing #q", input.click()).await;
    let mut typed = String::new();
    for burst in bursts {
        let before = searches(browser).await;
        for c in burst.chars() {
            bounded(
                format!("typing {c:?} into #q"),
                input.send_keys(&c.to_string()),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        typed.push_str(burst);
        wait_for_swap(browser, before, &format!("the results for {typed:?}")).await;
    }
    assert_same_document(browser, &format!("typing {typed:?}")).await;
    typed
}

/// The partial fetches of this page that completed, with their client and
/// server (`Server-Timing: app`) times; at least one per burst typed.
async fn partial_fetches(browser: &Browser, bursts: usize) -> Vec<Value> {
    let entries = browser
        .js(
            "return performance.getEntriesByType('resource')\
             .filter((e) => e.name.includes('partial=1') && e.responseEnd > 0)\
             .map((e) => ({ url: e.name, client: e.duration, \
               server: (e.serverTiming.find((t) => t.name === 'app') || {}).duration }));",
            vec![],
        )
        .await;
    let entries = entries.as_array().cloned().unwrap_or_default();
    assert!(
        entries.len() >= bursts,
        "{} partial fetches for {bursts} bursts of typing: {entries:?}",
        entries.len()
    );
    entries
}

/// Print the server and client times of the partial fetches made while
/// typing, as one JSON line.
fn report_timings(entries: &[Value], keystroke_batches: usize) {
    let mut client: Vec<f64> = entries
        .iter()
        .filter_map(|e| e["client"].as_f64())
        .collect();
    let mut server: Vec<f64> = entries
        .iter()
        .filter_map(|e| e["server"].as_f64())
        .collect();
    assert_eq!(
        server.len(),
        entries.len(),
        "every partial fetch has a Server-Timing `app` entry: {entries:?}"
    );
    let round = |x: f64| (x * 100.0).round() / 100.0;
    println!(
        "{}",
        json!({ "search_as_you_type": {
            "requests": entries.len(),
            "keystroke_batches": keystroke_batches,
            "server_ms_p50": round(percentile(&mut server, 50.0)),
            "server_ms_p99": round(percentile(&mut server, 99.0)),
            "server_ms_max": round(percentile(&mut server, 100.0)),
            "server_ms_first": round(entries.first().and_then(|e| e["server"].as_f64()).unwrap_or(0.0)),
            "client_ms_p50": round(percentile(&mut client, 50.0)),
            "client_ms_p99": round(percentile(&mut client, 99.0)),
        }})
    );
}

/// The benchmark's baseline, in the same run: every request the page made
/// while typing, made again from one plain HTTP client, interleaved, as the
/// page's HTML fragment and as the JSON API's search (same query and
/// filters), 3 rounds. The ratio is what the UI costs over the search.
fn compare_with_api(entries: &[Value]) {
    let agent = ureq::Agent::new_with_defaults();
    let time = |url: &str| {
        let started = std::time::Instant::now();
        let mut response = agent.get(url).call().unwrap();
        let _ = response.body_mut().read_to_vec().unwrap();
        started.elapsed().as_secs_f64() * 1_000.0
    };
    let (mut html, mut api) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for entry in entries {
            let Some(url) = entry["url"].as_str() else {
                continue;
            };
            let Some((base, query)) = url.split_once("/?") else {
                continue;
            };
            let query: Vec<&str> = query
                .split('&')
                .filter(|p| *p != "partial=1" && !p.starts_with("page="))
                .collect();
            html.push(time(url));
            api.push(time(&format!("{base}/api/v1/search?{}", query.join("&"))));
        }
    }
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let (h50, h99) = (percentile(&mut html, 50.0), percentile(&mut html, 99.0));
    let (a50, a99) = (percentile(&mut api, 50.0), percentile(&mut api, 99.0));
    println!(
        "{}",
        json!({ "ui_against_api": {
            "requests": html.len(),
            "html_fragment_ms_p50": round(h50),
            "html_fragment_ms_p99": round(h99),
            "api_json_ms_p50": round(a50),
            "api_json_ms_p99": round(a99),
            "ratio_p50": round(h50 / a50),
            "ratio_p99": round(h99 / a99),
        }})
    );
}
