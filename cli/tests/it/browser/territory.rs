//! « Pour mon territoire » in a browser: the territory form leads to
//! `/territoire/dep:69`, which lists ranked suggestions with their reasons in
//! the API's order, the territory's own initiatives, and passes axe and the
//! safety check; a suggestion leads to its initiative.

use std::time::Duration;

use super::Demo;
use super::driver::{Browser, enabled, runtime};
use super::{axe, safety};

#[test]
fn the_territory_page_ranks_suggestions_with_reasons() {
    if !enabled("the_territory_page_ranks_suggestions_with_reasons") {
        return;
    }
    let demo = Demo::start();
    let report = demo.api("/api/v1/suggest?territory=dep:69");
    let expected: Vec<String> = report["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["address"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        expected.len() >= 3,
        "the demo ranks several initiatives for dep:69: {report}"
    );
    runtime().block_on(async {
        let browser = Browser::start().await;
        browser.goto(&demo.url("/territoire")).await;
        browser.fill("#territory-code", "dep:69").await;
        browser.click("#territory-form button[type=submit]").await;
        browser
            .wait_until(
                "the territory page",
                Duration::from_secs(10),
                "return location.pathname === '/territoire/dep:69' && !!document.querySelector('#suggestions');",
            )
            .await;
        assert_eq!(browser.text("h1").await, "Rhône");
        let shown = browser
            .js(
                "return [...document.querySelectorAll('#suggestions li.suggestion')].map(li => [li.dataset.address, Number(li.dataset.score), (li.querySelector('.reasons') || {}).textContent || '']);",
                vec![],
            )
            .await;
        let shown = shown.as_array().unwrap();
        let addresses: Vec<&str> = shown.iter().map(|s| s[0].as_str().unwrap()).collect();
        assert_eq!(addresses, expected, "the page keeps the API's order");
        let scores: Vec<f64> = shown.iter().map(|s| s[1].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "scores descend: {scores:?}"
        );
        for s in shown {
            assert!(
                !s[2].as_str().unwrap().trim().is_empty(),
                "every suggestion says why: {s}"
            );
        }
        let reasons: String = shown
            .iter()
            .map(|s| s[2].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" | ");
        assert!(
            reasons.contains("labellisée par") && reasons.contains("essaimée dans"),
            "labels and replications are among the reasons: {reasons}"
        );
        assert!(
            browser.exists("#local li.suggestion").await,
            "the territory's own initiatives are listed"
        );
        let violations = axe::report(&browser, "/territoire/dep:69").await;
        assert!(violations.is_empty(), "{violations:#?}");
        let found = safety::findings(&browser, true).await;
        assert!(found.is_empty(), "{found:#?}");
        browser.screenshot("territoire-dep-69.png").await;

        // The first suggestion leads to its initiative.
        let name = browser.text("#suggestion-1 h3 a").await;
        browser.click("#suggestion-1 h3 a").await;
        browser
            .wait_until(
                "the initiative page",
                Duration::from_secs(10),
                "return location.pathname.startsWith('/i/');",
            )
            .await;
        assert_eq!(browser.text("h1").await, name);

        // A bad code: the form again, with the error.
        browser.goto(&demo.url("/territoire/dep:999")).await;
        assert!(browser.exists("#territory-form").await);
        assert!(browser.exists("p.error").await);
        browser.quit().await;
    });
}
