//! The search page and the map over HTTP: a real node with the sample
//! catalogue on a loopback port, asked as a browser would. Checks the
//! elements the browser tests and the script rely on (`ui-contract`), the
//! security headers, that hostile input comes back escaped, and that bad
//! parameters give the page with a message — never a 500.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::net::SocketAddr;

mod support;

use support::SampleNode;

/// A running node with the sample catalogue, and a client.
struct TestNode {
    _node: SampleNode,
    addr: SocketAddr,
    agent: ureq::Agent,
}

fn spawn_node() -> TestNode {
    let node = SampleNode::spawn();
    TestNode {
        addr: node.addr,
        _node: node,
        agent: support::agent(),
    }
}

/// An answer: status, headers of interest, body.
struct Page {
    status: u16,
    csp: String,
    server_timing: String,
    body: String,
}

impl TestNode {
    /// GET a path (with query), as a French-speaking browser.
    fn get(&self, target: &str) -> Page {
        let url = format!("http://{}{target}", self.addr);
        let response = self
            .agent
            .get(&url)
            .header("Accept-Language", "fr-FR,fr;q=0.9")
            .call()
            .unwrap_or_else(|e| panic!("GET {target}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let status = response.status().as_u16();
        let csp = header("content-security-policy");
        let server_timing = header("server-timing");
        let body = response.into_body().read_to_string().unwrap();
        Page {
            status,
            csp,
            server_timing,
            body,
        }
    }
}

impl Page {
    /// A 200 with the UI's headers.
    fn assert_ok(&self, what: &str) {
        assert_eq!(self.status, 200, "{what}: {}", self.body);
        assert!(
            self.csp.contains("script-src 'self'") && self.csp.contains("style-src 'self'"),
            "{what}: CSP {:?}",
            self.csp
        );
        assert!(
            self.server_timing.starts_with("app;dur="),
            "{what}: Server-Timing {:?}",
            self.server_timing
        );
    }

    fn assert_has(&self, what: &str, needles: &[&str]) {
        for needle in needles {
            assert!(
                self.body.contains(needle),
                "{what}: no {needle:?} in\n{}",
                self.body
            );
        }
    }

    fn count(&self, needle: &str) -> usize {
        self.body.matches(needle).count()
    }
}

#[test]
fn the_search_page_has_what_the_script_and_the_tests_rely_on() {
    let node = spawn_node();

    let home = node.get("/");
    home.assert_ok("/");
    home.assert_has(
        "/",
        &[
            r#"<form id="search" role="search" method="get" action="/">"#,
            r#"<label for="q">"#,
            r#"<input id="q" type="search" name="q""#,
            r#"<select id="sort" name="sort">"#,
            r#"<button type="submit">"#,
            r#"<div id="results-region""#,
            r#"<p id="total" data-total="37">"#,
            r#"id="active-filters""#,
            r#"<ol id="results""#,
            r#"<li class="result">"#,
            r#"<a class="result-link" href="/i/"#,
            r#"<nav id="facets""#,
            r#"<section class="facet" data-facet="theme""#,
            r#"<section class="facet" data-facet="territory""#,
            r#"<section class="facet" data-facet="stage""#,
            r#"<section class="facet" data-facet="hub""#,
            r#"<a class="facet-value" href="/?theme=alimentation" data-value="alimentation">"#,
            "Alimentation durable",
            r#"<nav class="pagination""#,
            r#"rel="next" href="/?page=2""#,
            "essaimez-la chez vous",
            "/assets/app.js?v=",
        ],
    );
    assert_eq!(home.count(r#"<li class="result">"#), 20);

    // Page 2: the rest, a link back.
    let second = node.get("/?page=2");
    second.assert_ok("/?page=2");
    assert_eq!(second.count(r#"<li class="result">"#), 17);
    second.assert_has("/?page=2", &[r#"rel="prev" href="/""#]);

    // The script's fragment: only the region, with highlights.
    let partial = node.get("/?q=epicerie&partial=1");
    partial.assert_ok("partial");
    assert!(
        partial.body.starts_with(r#"<div id="results-region""#),
        "{}",
        partial.body
    );
    assert!(!partial.body.contains("<html"), "{}", partial.body);
    partial.assert_has("partial", &["<mark>", r#"class="snippet""#]);

    // A filter: applied, removable, and shown in the facet as applied.
    let filtered = node.get("/?q=epicerie&theme=alimentation");
    filtered.assert_ok("filtered");
    filtered.assert_has(
        "filtered",
        &[
            r#"<a class="active-filter" href="/?q=epicerie" data-facet="theme" data-value="alimentation">"#,
            r#"aria-current="true""#,
            r#"<input type="hidden" name="theme" value="alimentation">"#,
        ],
    );

    // Nothing found: what to try.
    let none = node.get("/?q=zzqqxxw+wwvvkk&theme=sante");
    none.assert_ok("no results");
    none.assert_has(
        "no results",
        &[
            r#"<div id="no-results">"#,
            r#"data-total="0""#,
            r#"href="/?q=zzqqxxw+wwvvkk""#,
            r#"href="/?theme=alimentation""#,
        ],
    );

    // English: the vocabularies too.
    let english = node.get("/?lang=en&q=epicerie");
    english.assert_ok("English");
    english.assert_has(
        "English",
        &[
            "Sustainable food",
            "Refine the search",
            r#"<html lang="en">"#,
        ],
    );
}

#[test]
fn hostile_and_bad_parameters_give_the_page_not_an_error() {
    let node = spawn_node();

    let hostile = node.get("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    hostile.assert_ok("hostile query");
    assert!(
        !hostile.body.contains("<script>alert(1)"),
        "{}",
        hostile.body
    );
    hostile.assert_has("hostile query", &["&lt;script&gt;alert(1)&lt;/script&gt;"]);
    let partial = node.get("/?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&partial=1");
    partial.assert_ok("hostile partial");
    assert!(!partial.body.contains("<img"), "{}", partial.body);

    for target in [
        "/?theme=nope",
        "/?territory=dep:999",
        "/?stage=%3Cb%3E",
        "/?sort=random",
        "/?page=0",
        "/?page=-1",
        "/?page=999999999999999999999",
        "/?colour=red",
        "/?hub=%00",
        "/?q=a&q=b&sort=newest&sort=relevance",
        "/?theme=nope&partial=1",
    ] {
        let page = node.get(target);
        page.assert_ok(target);
        if target != "/?q=a&q=b&sort=newest&sort=relevance" {
            page.assert_has(target, &[r#"id="query-problems""#]);
        }
        page.assert_has(target, &[r#"<div id="results-region""#]);
    }
    // The bad value comes back escaped in the message.
    let page = node.get("/?theme=%3Cscript%3Ex");
    assert!(!page.body.contains("<script>x"), "{}", page.body);
}

#[test]
fn the_map_links_every_departement_to_its_search() {
    let node = spawn_node();
    let map = node.get("/map");
    map.assert_ok("/map");
    map.assert_has(
        "/map",
        &[
            r#"<svg id="map" viewBox="0 0 613 585""#,
            r#"data-code="69" href="/?territory=dep:69""#,
            r#"data-code="2A" href="/?territory=dep:2A""#,
            r#"<ul id="overseas""#,
            r#"data-code="971" href="/?territory=dep:971""#,
            r#"data-code="976""#,
            r#"<div id="map-legend">"#,
            r#"<table id="map-counts">"#,
            "Victor Cazanave, svg-maps",
            r#"href="https://creativecommons.org/licenses/by/4.0/""#,
            "Rhône — ",
        ],
    );
    assert_eq!(map.count(r#"<a class="dep c"#), 96);
    assert!(!map.body.contains("style="), "no inline style (CSP)");
    // The Rhône has initiatives in the sample: not in the "none" class.
    assert!(!map.body.contains(r#"<a class="dep c0" data-code="69""#));

    // The map of a search: its départements lead to the search there.
    let food = node.get("/map?theme=alimentation&colour=red");
    food.assert_ok("/map?theme=alimentation");
    food.assert_has(
        "/map?theme=alimentation",
        &[
            r#"data-code="69" href="/?theme=alimentation&amp;territory=dep%3A69""#,
            r#"href="/?theme=alimentation""#,
            r#"id="query-problems""#,
        ],
    );
    assert!(food.count(r#"<a class="dep c0""#) > map.count(r#"<a class="dep c0""#));
}

/// What the security review found, kept fixed: a long query is not
/// multiplied into every link, the language switch never leads off-site,
/// HEAD answers like GET, 405 names the methods, operator pages are never
/// stored by a cache.
#[test]
fn review_findings_stay_fixed() {
    let node = spawn_node();
    // A 60 kB query: the page keeps 500 bytes of it, however many links.
    let long = "a".repeat(60_000);
    let page = node.get(&format!("/?q={long}"));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&"a".repeat(501)));
    assert!(page.body.len() < 200_000, "{} bytes", page.body.len());
    let map = node.get(&format!("/map?q={long}"));
    assert_eq!(map.status, 200);
    assert!(!map.body.contains(&"a".repeat(501)));

    // `//evil.example/x` is a 404 of this node whose switch stays here.
    let page = node.get("//evil.example/x");
    assert_eq!(page.status, 404);
    assert!(
        page.body
            .contains("id=\"lang-switch\" href=\"/evil.example/x?lang=en\"")
    );
    assert!(!page.body.contains("href=\"//"));

    let call = |method: &str, target: &str| {
        let url = format!("http://{}{target}", node.addr);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .body(())
            .unwrap();
        node.agent.run(request).unwrap()
    };
    let head = call("HEAD", "/");
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("content-security-policy"));
    assert_eq!(call("HEAD", "/map").status(), 200);
    let put = call("PUT", "/login");
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, HEAD, POST");
    assert_eq!(call("DELETE", "/").headers()["allow"], "GET, HEAD");

    let login = call("GET", "/login");
    assert_eq!(login.headers()["cache-control"], "no-store, private");
    assert_eq!(call("GET", "/").headers()["cache-control"], "no-cache");
}
