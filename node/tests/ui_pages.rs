//! The record pages of the web UI, over real HTTP: a node in-process on a
//! loopback port with the sample catalogue. Every page answers with the
//! CSP and the elements the browser tests rely on (`/work/ui-contract.md`,
//! `specs/web-ui.md`); the clone command is exact; the operator's login,
//! logout and publish form keep their protections (session, CSRF, Origin);
//! a field error sits next to its field; a published initiative is
//! searchable; and a hostile record renders inert.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::time::{Duration, Instant};

use essaim_node::catalogue;
use essaim_protocol::{Body, HubKey, SignedRecord};
use serde_json::{Value, json};

mod support;

use support::{NET_TIMEOUT, SampleNode};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// A node serving the sample catalogue on a loopback port, and a client.
struct TestNode {
    _node: SampleNode,
    addr: std::net::SocketAddr,
    token: String,
    /// This node's hub id, `did:key:z6Mk…`.
    hub: String,
    agent: ureq::Agent,
}

fn spawn_node() -> TestNode {
    let node = SampleNode::spawn();
    TestNode {
        addr: node.addr,
        token: node.token.clone(),
        hub: node.hub.clone(),
        _node: node,
        agent: support::agent(),
    }
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A 200 HTML page with the UI's security headers.
    #[track_caller]
    fn assert_page(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(self.header("content-security-policy"), Some(CSP));
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(self.header("x-frame-options"), Some("DENY"));
        assert!(
            self.header("server-timing")
                .is_some_and(|t| t.starts_with("app;dur=")),
            "{:?}",
            self.headers
        );
        assert_eq!(self.text.matches("<h1").count(), 1, "one h1: {}", self.text);
        assert!(!self.text.contains(" style=\""), "no inline style");
    }

    #[track_caller]
    fn assert_has(&self, needles: &[&str]) {
        for needle in needles {
            assert!(
                self.text.contains(needle),
                "`{needle}` not in the page:\n{}",
                self.text
            );
        }
    }
}

impl TestNode {
    fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    fn short_hub(&self) -> &str {
        self.hub.strip_prefix("did:key:").unwrap()
    }

    fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let url = self.url(target);
        let result = if method == "GET" {
            let mut request = self.agent.get(&url);
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            request.call()
        } else {
            let mut request = self.agent.post(&url);
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            request.send(body)
        };
        let response = result.unwrap_or_else(|e| panic!("{method} {target}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let text = response.into_body().read_to_string().unwrap();
        Reply {
            status,
            headers,
            text,
        }
    }

    fn get(&self, target: &str) -> Reply {
        self.send("GET", target, &[("Accept-Language", "fr")], b"")
    }

    fn get_with(&self, target: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", target, headers, b"")
    }

    fn post_form(&self, target: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Reply {
        let body = form(pairs);
        let mut headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept-Language", "fr"),
        ];
        let cookie = cookie.map(|c| format!("essaim_session={c}"));
        if let Some(cookie) = &cookie {
            headers.push(("Cookie", cookie));
        }
        self.send("POST", target, &headers, body.as_bytes())
    }

    fn api(&self, target: &str) -> Value {
        let reply = self.get(target);
        assert_eq!(reply.status, 200, "{target}: {}", reply.text);
        serde_json::from_str(&reply.text).unwrap()
    }

    /// Log in; the session id and the publish form's CSRF token.
    fn login(&self) -> (String, String) {
        let reply = self.post_form(
            "/login",
            None,
            &[("token", &self.token), ("next", "/publish")],
        );
        assert_eq!(reply.status, 303, "{}", reply.text);
        let cookie = reply.header("set-cookie").unwrap().to_owned();
        let session = cookie
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("essaim_session=")
            .unwrap()
            .to_owned();
        let page = self.get_with(
            "/publish",
            &[("Cookie", &format!("essaim_session={session}"))],
        );
        page.assert_page(200);
        let csrf = attr_after(&page.text, "name=\"csrf\"", "value").unwrap();
        (session, csrf)
    }

    /// Post a signed record to the API.
    fn ingest(&self, record: &SignedRecord) {
        let reply = self.send(
            "POST",
            "/api/v1/records",
            &[("Content-Type", "application/cbor")],
            &record.to_envelope(),
        );
        assert!(reply.status == 201 || reply.status == 200, "{}", reply.text);
    }

    /// Wait until the search finds `address` for `q`.
    fn wait_searchable(&self, q: &str, address: &str) {
        let deadline = Instant::now() + NET_TIMEOUT;
        loop {
            let found = self.api(&format!("/api/v1/search?q={}", enc(q)));
            if found["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["address"] == address)
            {
                return;
            }
            assert!(Instant::now() < deadline, "{address} not found by `{q}`");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The value of attribute `attr` in the first tag that contains `marker`.
fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = start + html[start..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let from = tag.find(&key)? + key.len();
    let len = tag[from..].find('"')?;
    Some(tag[from..from + len].to_owned())
}

/// The text inside the first element that starts with `open` (no nesting).
fn text_of<'a>(html: &'a str, open: &str) -> Option<&'a str> {
    let at = html.find(open)?;
    let start = at + html[at..].find('>')? + 1;
    let len = html[start..].find('<')?;
    Some(&html[start..start + len])
}

/// The sample hub whose key name is given, and its short id.
fn sample_hub(name: &str) -> String {
    catalogue::hub_key(name).hub_id().short()
}

#[test]
fn initiative_page_shows_every_part_with_an_exact_clone_command() {
    let node = spawn_node();
    let ruche = sample_hub("ruche-lyon");
    let reseau = sample_hub("reseau-national");
    let page = node.get(&format!("/i/{ruche}/toit-partage"));
    page.assert_page(200);
    page.assert_has(&[
        "<html lang=\"fr\"",
        "<h1>Toit Partagé — cohabitation entre générations</h1>",
        "id=\"description\"",
        "id=\"territories\"",
        "id=\"stage\"",
        "id=\"impact\"",
        "id=\"needs\"",
        "id=\"repositories\"",
        "id=\"labels\"",
        "id=\"endorsements\"",
        "id=\"provenance\"",
        "id=\"history\"",
        "class=\"record-id\"",
        "signature vérifiée",
        "svg class=\"mini-map\"",
        "<script type=\"application/ld+json\">",
        // Vocabulary in French.
        "Habitat et logement",
        "Dissémination",
        // Headings of the description shifted below the page's h2.
        "<h3>Rompre l'isolement, loger les jeunes</h3>",
        "<h3>Comment nous formons les binômes</h3>",
    ]);
    // The clone command, exactly, for each repository.
    let command = text_of(&page.text, "<code class=\"clone-command\"").unwrap();
    assert_eq!(
        command,
        format!(
            "git clone http://{}/git/{ruche}/toit-partage/appariement.git",
            node.addr
        )
    );
    // The label, with its issuer's name linked to the issuer's page.
    let label = &page.text[page.text.find("<li class=\"label\"").unwrap()..];
    let label = &label[..label.find("</li>").unwrap()];
    assert!(label.contains("French Impact — Pionnier"), "{label}");
    assert!(
        label.contains(&format!("href=\"/hubs/{reseau}\"")),
        "{label}"
    );
    assert!(label.contains("Réseau national de l'essaimage solidaire"));
    // Every endorsement (recommendation, replication, label) with its status.
    assert_eq!(page.text.matches("<li class=\"endorsement\"").count(), 3);
    assert_eq!(page.text.matches("data-status=\"valid\"").count(), 3);
    // The JSON-LD parses, names the initiative, escapes what could end the script.
    let ld_start = page
        .text
        .find("<script type=\"application/ld+json\">")
        .unwrap()
        + "<script type=\"application/ld+json\">".len();
    let ld = &page.text[ld_start..ld_start + page.text[ld_start..].find("</script>").unwrap()];
    assert!(!ld.contains('<') && !ld.contains('>') && !ld.contains('&'));
    let ld: Value = serde_json::from_str(ld).unwrap();
    assert_eq!(ld["@context"], "https://schema.org");
    assert_eq!(ld["@type"], "SoftwareSourceCode");
    assert_eq!(ld["name"], "Toit Partagé — cohabitation entre générations");
    assert_eq!(
        ld["codeRepository"],
        "https://github.com/toit-partage/appariement"
    );
    assert!(ld["areaServed"].as_array().unwrap().len() >= 2, "{ld}");

    // In English: the vocabulary's English labels.
    let page = node.get_with(
        &format!("/i/{ruche}/toit-partage"),
        &[("Accept-Language", "en-GB,en;q=0.9")],
    );
    page.assert_page(200);
    page.assert_has(&[
        "<html lang=\"en\"",
        "Housing",
        "signature verified",
        "Dissemination",
    ]);

    // Unknown, invalid, and the flash after publishing.
    node.get(&format!("/i/{ruche}/pas-la")).assert_page(404);
    node.get(&format!("/i/{ruche}/Pas_Un_Slug"))
        .assert_page(404);
    node.get("/i/not-a-hub/toit-partage").assert_page(400);
    let flash = node.get(&format!("/i/{ruche}/toit-partage?published=1"));
    flash.assert_has(&["id=\"flash\""]);
    assert!(!page.text.contains("id=\"flash\""));
}

#[test]
fn hubs_and_node_pages_answer_with_their_sections() {
    let node = spawn_node();
    let list = node.get("/hubs");
    list.assert_page(200);
    assert_eq!(
        list.text.matches("<li class=\"hub\"").count(),
        catalogue::key_names().len() + 1
    );
    for name in catalogue::key_names() {
        list.assert_has(&[&format!("href=\"/hubs/{}\"", sample_hub(name))]);
    }
    let nantes = sample_hub("incubateur-nantes");
    let page = node.get(&format!("/hubs/{nantes}"));
    page.assert_page(200);
    page.assert_has(&[
        "<h1>Incubateur Estuaire Solidaire</h1>",
        "id=\"published\"",
        "id=\"vouches\"",
        "id=\"vouched-for\"",
        "Incubateur",
        "Pays de la Loire",
        &format!("href=\"/i/{nantes}/maree-solidaire\""),
    ]);
    node.get("/hubs/z6MkNotAHub").assert_page(400);
    let unknown = HubKey::from_seed(&[9; 32]).hub_id().short();
    node.get(&format!("/hubs/{unknown}")).assert_page(404);

    let page = node.get("/node");
    page.assert_page(200);
    page.assert_has(&[
        "id=\"identity\"",
        "id=\"counts\"",
        "id=\"peers\"",
        "id=\"sync\"",
        "id=\"mirrors\"",
        "href=\"/api/v1/mirrors\"",
        &node.hub,
        // Federation runs: this node's libp2p identity, its loopback
        // address, no peer yet, and the head-set digest.
        "id=\"peer-id\"",
        "/ip4/127.0.0.1/tcp/",
        "id=\"no-peers\"",
        "id=\"digest\"",
    ]);
    assert!(
        !page.text.contains("id=\"data-dir\""),
        "the data directory is for the operator only"
    );
    let (session, _) = node.login();
    let page = node.get_with("/node", &[("Cookie", &format!("essaim_session={session}"))]);
    page.assert_has(&["id=\"data-dir\""]);
}

#[test]
fn login_refuses_a_wrong_token_and_a_foreign_origin() {
    let node = spawn_node();
    let page = node.get("/login?next=/publish");
    page.assert_page(200);
    page.assert_has(&[
        "form id=\"login\"",
        "id=\"token\"",
        "type=\"password\"",
        "name=\"next\" value=\"/publish\"",
        "operator.token",
        "button type=\"submit\"",
    ]);

    let wrong = node.post_form("/login", None, &[("token", "nope"), ("next", "/publish")]);
    wrong.assert_page(401);
    wrong.assert_has(&["class=\"error\""]);
    assert!(wrong.header("set-cookie").is_none());
    assert!(
        !wrong.text.contains("nope"),
        "the typed token is not echoed"
    );

    // Login CSRF: a form posted from another site is refused.
    let body = form(&[("token", &node.token)]);
    let foreign = node.send(
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "http://evil.example"),
        ],
        body.as_bytes(),
    );
    assert_eq!(foreign.status, 403);
    assert!(foreign.header("set-cookie").is_none());

    // The right token: a session cookie, back to `next` (local paths only).
    let right = node.post_form(
        "/login",
        None,
        &[("token", &node.token), ("next", "//evil.example/")],
    );
    assert_eq!(right.status, 303);
    assert_eq!(right.header("location"), Some("/publish"));
    let cookie = right.header("set-cookie").unwrap();
    assert!(cookie.starts_with("essaim_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }

    // Logout needs the CSRF token, then ends the session.
    let (session, csrf) = node.login();
    let refused = node.post_form("/logout", Some(&session), &[("csrf", "0000")]);
    assert_eq!(refused.status, 403);
    let out = node.post_form("/logout", Some(&session), &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = node.get_with(
        "/publish",
        &[("Cookie", &format!("essaim_session={session}"))],
    );
    assert_eq!(after.status, 303);
}

#[test]
fn publishing_needs_a_session_and_the_csrf_token() {
    let node = spawn_node();
    let redirect = node.get("/publish");
    assert_eq!(redirect.status, 303);
    assert_eq!(redirect.header("location"), Some("/login?next=/publish"));
    let fields = [
        ("slug", "sans-session"),
        ("name", "Sans session"),
        ("summary.fr", "Essai."),
        ("themes", "culture"),
        ("stage", "emergence"),
        ("origin", "FR"),
    ];
    let without = node.post_form("/publish", None, &fields);
    assert_eq!(without.status, 403);
    let bogus = node.post_form("/publish", Some("0123456789abcdef"), &fields);
    assert_eq!(bogus.status, 403);

    let (session, csrf) = node.login();
    let mut wrong = vec![("csrf", "0123456789abcdef")];
    wrong.extend(fields);
    node.post_form("/publish", Some(&session), &wrong)
        .assert_page(403);
    node.post_form("/publish", Some(&session), &fields)
        .assert_page(403);
    let record = node.get(&format!(
        "/api/v1/initiatives/{}/sans-session",
        node.short_hub()
    ));
    assert_eq!(record.status, 404, "a refused form published nothing");
    let _ = csrf;
}

#[test]
fn the_publish_form_shows_errors_next_to_fields_then_publishes() {
    let node = spawn_node();
    let (session, csrf) = node.login();
    let form_page = node.get_with(
        "/publish",
        &[("Cookie", &format!("essaim_session={session}"))],
    );
    form_page.assert_page(200);
    for name in [
        "slug",
        "name",
        "summary.fr",
        "summary.en",
        "description.fr",
        "stage",
        "replication.model",
        "replication.kit",
        "origin",
        "territories",
        "website",
        "carrier.name",
        "carrier.legal_form",
        "carrier.siren",
        "repositories[0].name",
        "repositories[2].commit",
        "needs.funding_cents",
        "needs.partners",
        "impact[0].name",
        "impact[2].period",
        "contacts[0].email",
    ] {
        form_page.assert_has(&[&format!("name=\"{name}\"")]);
        // Every input has its label.
        let id = attr_after(&form_page.text, &format!("name=\"{name}\""), "id").unwrap();
        form_page.assert_has(&[&format!("<label for=\"{id}\"")]);
    }
    form_page.assert_has(&[
        "form id=\"publish\"",
        "name=\"themes\" value=\"alimentation\"",
        "name=\"audiences\" value=\"familles\"",
        "<legend>",
    ]);

    let typed = [
        ("csrf", csrf.as_str()),
        ("slug", "jardin-des-essais"),
        ("name", "Jardin des essais — potager de Vaise"),
        ("summary.fr", "Un potager partagé au pied des immeubles."),
        ("themes", "alimentation"),
        ("stage", "experimentation"),
        ("origin", "com:69123"),
        ("territories", "com:69123, dep:999"),
        ("impact[0].name", "Parcelles"),
        ("impact[0].value", "beaucoup"),
        ("impact[0].unit", "parcelles"),
        ("needs.funding_cents", "12 500"),
        ("repositories[0].name", "potager"),
        ("repositories[0].url", "https://example.org/potager"),
        ("repositories[0].licence", "MIT"),
    ];
    let page = node.post_form("/publish", Some(&session), &typed);
    page.assert_page(422);
    page.assert_has(&["id=\"form-errors\"", "role=\"alert\""]);
    for field in ["territories", "impact[0].value"] {
        let input = page
            .text
            .find(&format!("name=\"{field}\""))
            .unwrap_or_else(|| panic!("{field}"));
        let after = &page.text[input + page.text[input..].find('>').unwrap() + 1..];
        assert!(
            after.starts_with("<p class=\"field-error\" id=\""),
            "the error right after {field}: {}",
            &after[..200.min(after.len())]
        );
        let error = text_of(after, "<p class=\"field-error\"").unwrap();
        assert!(!error.is_empty());
        assert!(after[..after.find('>').unwrap()].contains(&format!("data-field=\"{field}\"")));
        let describedby =
            attr_after(&page.text, &format!("name=\"{field}\""), "aria-describedby").unwrap();
        let error_id = attr_after(after, "class=\"field-error\"", "id").unwrap();
        assert!(describedby.split(' ').any(|d| d == error_id));
        assert_eq!(
            attr_after(&page.text, &format!("name=\"{field}\""), "aria-invalid").as_deref(),
            Some("true")
        );
    }
    // The typed values are kept.
    assert_eq!(
        attr_after(&page.text, "name=\"territories\"", "value").as_deref(),
        Some("com:69123, dep:999")
    );
    page.assert_has(&[
        "name=\"themes\" value=\"alimentation\" checked",
        "<option value=\"experimentation\" selected>",
        "Un potager partagé au pied des immeubles.</textarea>",
    ]);

    // Fixed: published, searchable, on its page with the flash.
    let mut fixed: Vec<(&str, &str)> = typed
        .iter()
        .copied()
        .filter(|(k, _)| *k != "territories" && *k != "impact[0].value")
        .collect();
    fixed.push(("territories", "com:69123 dep:69"));
    fixed.push(("impact[0].value", "42"));
    let done = node.post_form("/publish", Some(&session), &fixed);
    assert_eq!(done.status, 303, "{}", done.text);
    let page_path = format!("/i/{}/jardin-des-essais", node.short_hub());
    assert_eq!(
        done.header("location"),
        Some(format!("{page_path}?published=1").as_str())
    );
    let address = format!("{}/initiative/jardin-des-essais", node.hub);
    node.wait_searchable("jardin essais Vaise", &address);
    let page = node.get(&format!("{page_path}?published=1"));
    page.assert_page(200);
    page.assert_has(&[
        "id=\"flash\"",
        "<h1>Jardin des essais — potager de Vaise</h1>",
        "12\u{202f}500\u{a0}€",
        &format!(
            "git clone http://{}/git/{}/jardin-des-essais/potager.git",
            node.addr,
            node.short_hub()
        ),
        "publié par ce nœud",
    ]);
    let record = node.api(&format!(
        "/api/v1/initiatives/{}/jardin-des-essais",
        node.short_hub()
    ));
    assert_eq!(record["head"]["body"]["needs"]["funding_cents"], 1_250_000);
    assert_eq!(record["head"]["body"]["impact"][0]["value"], 42);

    // ?edit= fills the form from the published version.
    let edit = node.get_with(
        "/publish?edit=jardin-des-essais",
        &[("Cookie", &format!("essaim_session={session}"))],
    );
    edit.assert_page(200);
    assert_eq!(
        attr_after(&edit.text, "name=\"name\"", "value").as_deref(),
        Some("Jardin des essais — potager de Vaise")
    );
    assert_eq!(
        attr_after(&edit.text, "name=\"needs.funding_cents\"", "value").as_deref(),
        Some("12500")
    );
}

/// An initiative whose every text field tries to inject markup or script.
fn hostile(key: &HubKey, now: u64) -> SignedRecord {
    let body = Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": key.hub_id().to_string(),
        "slug": "hostile", "seq": now * 1000, "created": now - 5,
        "name": "<script>alert('name')</script>",
        "summary": {"fr": "<img src=x onerror=alert('summary')>"},
        "description": {"fr": "<script>alert('d')</script>\n\n[clic](javascript:alert('link')) [clic2](JaVaScRiPt:alert(2)) [clic3](&#106;avascript:alert(3))\n\n<iframe src=\"https://evil.example/\"></iframe>\n\n![x](data:image/svg+xml,<svg onload=alert(4)>)"},
        "themes": ["culture"], "origin": "com:69123", "stage": "experimentation",
        "carrier": {"name": "\"><svg onload=alert('carrier')>"},
        "impact": [{"name": "<b onmouseover=alert(5)>x</b>", "value": 1, "unit": "</script><script>alert(6)</script>"}],
        "needs": {"partners": ["<a href=javascript:alert(7)>p</a>"]},
        "contacts": [{"name": "<script>alert(8)</script>", "email": "x@example.org"}],
    }))
    .unwrap();
    essaim_protocol::sign(body, key, now).unwrap()
}

#[test]
fn a_hostile_record_renders_inert() {
    let node = spawn_node();
    let key = HubKey::from_seed(&[66; 32]);
    let now = essaim_node::unix_now();
    let profile = Body::from_json(json!({
        "v": 1, "kind": "hub", "author": key.hub_id().to_string(), "slug": "profile",
        "seq": 1, "created": now - 10, "name": "<script>alert('hub')</script>",
        "hub_kind": "autre",
        "description": {"fr": "<img src=x onerror=alert('hubdesc')>"},
    }))
    .unwrap();
    node.ingest(&essaim_protocol::sign(profile, &key, now).unwrap());
    node.ingest(&hostile(&key, now));
    let short = key.hub_id().short();
    for target in [
        format!("/i/{short}/hostile"),
        format!("/hubs/{short}"),
        "/hubs".to_owned(),
        format!("/i/{short}/hostile?lang=en"),
    ] {
        let page = node.get(&target);
        page.assert_page(200);
        let lower = page.text.to_ascii_lowercase();
        // The only scripts are the page's own and its JSON-LD.
        for (at, _) in lower.match_indices("<script") {
            let tag = &lower[at..at + lower[at..].find('>').unwrap()];
            assert!(
                tag.contains("src=\"/assets/app.js") || tag.contains("application/ld+json"),
                "{target}: {tag}"
            );
        }
        for bad in [
            "<img",
            "<iframe",
            "<svg onload",
            "<b onmouseover",
            "href=\"javascript",
            "href=\"data:",
            "<a href=javascript",
        ] {
            assert!(!lower.contains(bad), "{target}: `{bad}` in {}", page.text);
        }
        // No attribute starting with `on` anywhere.
        for (at, _) in lower.match_indices('<') {
            let tag = &lower[at..at + lower[at..].find('>').unwrap_or(0)];
            assert!(
                !tag.split_whitespace().skip(1).any(|a| a.starts_with("on")),
                "{target}: {tag}"
            );
        }
        page.assert_has(&["&lt;script&gt;alert("]);
    }
}

#[test]
fn a_withdrawn_initiative_answers_410() {
    let node = spawn_node();
    let key = HubKey::from_seed(&[67; 32]);
    let now = essaim_node::unix_now();
    let body = Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": key.hub_id().to_string(),
        "slug": "ephemere", "seq": 1, "created": now - 20,
        "name": "Initiative éphémère", "summary": {"fr": "Bientôt retirée."},
        "themes": ["culture"], "origin": "FR", "stage": "emergence",
    }))
    .unwrap();
    node.ingest(&essaim_protocol::sign(body, &key, now).unwrap());
    let retraction = Body::from_json(json!({
        "v": 1, "kind": "retraction", "author": key.hub_id().to_string(),
        "slug": "ephemere", "seq": 2, "created": now - 10, "target": "initiative",
        "reason": "Le projet s'est arrêté.",
    }))
    .unwrap();
    node.ingest(&essaim_protocol::sign(retraction, &key, now).unwrap());
    let page = node.get(&format!("/i/{}/ephemere", key.hub_id().short()));
    page.assert_page(410);
    page.assert_has(&[
        "<h1>Initiative éphémère</h1>",
        "retirée",
        "Le projet s'est arrêté.",
        "id=\"history\"",
    ]);
}
