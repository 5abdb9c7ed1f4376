//! A hostile hub's records, signed elsewhere and ingested like any others:
//! names, summaries, Markdown, URLs, impact figures and a label full of
//! `<script>`, event handlers and `javascript:` URLs. Every page that shows
//! them must show them as text and run nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::driver::{Browser, bounded, enabled, runtime};
use super::{Demo, safety, short};
use crate::util::{essaim, get, post, stderr, stdout};

const SCRIPT: &str = "<script>window.__xss=1</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";

/// The hostile initiative's draft, as far as record validation lets it in
/// (URLs must be http(s) and normalised, so their payloads are in the path).
fn hostile_draft() -> Value {
    json!({
        "kind": "initiative",
        "slug": "hostile",
        "name": format!("Hostile {SCRIPT}{IMG}"),
        "summary": {
            "fr": format!("Résumé {SCRIPT} {IMG} <a href=\"javascript:alert(1)\">x</a>"),
            "en": format!("Summary \"><svg onload=alert(1)> {SCRIPT}"),
        },
        "description": {"fr": format!(
            "# Titre {SCRIPT}\n\n{SCRIPT}\n\n{IMG}\n\n[x](javascript:alert(1))\n\n\
             <a href=\"javascript:alert(1)\">lien</a>\n\n![img](javascript:alert(1))\n\n\
             <iframe src=\"javascript:alert(1)\"></iframe>\n\n\
             [y](JaVaScRiPt:alert(1)) [z](data:text/html,<script>alert(1)</script>) \
             [w]( javascript:alert(1)) <javascript:alert(1)>\n\n\
             [ref][r]\n\n[r]: javascript:alert(1)\n"
        )},
        "themes": ["alimentation"],
        "origin": "com:69123",
        "territories": ["com:69123"],
        "stage": "emergence",
        "website": "https://evil.example/'onmouseover='alert(1)'",
        "carrier": {"name": format!("Porteur {SCRIPT}")},
        "replication": {"model": "franchise", "kit": "https://evil.example/\"onerror=\"alert(1)"},
        "repositories": [{
            "name": "depot",
            "url": "https://evil.example/\"><script>window.__xss=1</script>",
            "licence": "MIT",
        }],
        "impact": [{"name": IMG, "value": 1, "unit": SCRIPT, "period": "\"><svg onload=alert(1)>"}],
        "needs": {"partners": [SCRIPT]},
        "contacts": [{
            "name": "<b onmouseover=alert(1)>c</b>",
            "email": "a@example.org",
            "url": "https://evil.example/'onerror='alert(1)",
        }],
    })
}

/// `essaim sign` a draft with the hub in `hub_dir`: the signed JSON view.
fn sign(hub_dir: &Path, name: &str, draft: &Value) -> Result<String, String> {
    let path = hub_dir.parent().unwrap().join(name);
    std::fs::write(&path, draft.to_string()).unwrap();
    let out = essaim(&[
        "sign",
        path.to_str().unwrap(),
        "--data-dir",
        hub_dir.to_str().unwrap(),
    ]);
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(stderr(&out))
    }
}

/// POST a signed record to the node: it must be stored.
fn ingest(demo: &Demo, what: &str, record: &[u8]) {
    let (status, answer) = post(
        &demo.url("/api/v1/records"),
        "application/json",
        record,
        None,
    )
    .unwrap();
    assert_eq!(status, 201, "ingesting {what}: {answer}");
}

#[test]
fn a_hostile_record_runs_nothing() {
    if !enabled("a_hostile_record_runs_nothing") {
        return;
    }
    let demo = Demo::start();
    let tmp = tempfile::tempdir().unwrap();
    let hub_dir = tmp.path().join("hub");
    let hub_name = format!("Ruche {SCRIPT}{IMG}");
    let out = essaim(&[
        "init",
        "--data-dir",
        hub_dir.to_str().unwrap(),
        "--name",
        &hub_name,
        "--kind",
        "ruche",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hub_record = std::fs::read(hub_dir.join("hub-record.json")).unwrap();
    let hub: Value = serde_json::from_slice(&hub_record).unwrap();
    let hub = hub["body"]["author"].as_str().unwrap().to_owned();
    // The demo runs in web-of-trust mode: its operator follows the hub
    // first (with `essaim follow`, through the running node), else its
    // records would wait in quarantine.
    let out = essaim(&["follow", &hub, "--data-dir", demo.data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    ingest(&demo, "the hostile hub", &hub_record);

    // What validation keeps out: a javascript: URL cannot even be signed.
    let mut refused = hostile_draft();
    refused["slug"] = json!("refused");
    refused["website"] = json!("javascript:alert(1)");
    let error = sign(&hub_dir, "refused.json", &refused).expect_err("a javascript: website");
    assert!(error.contains("website"), "{error}");

    let draft = hostile_draft();
    let initiative = sign(&hub_dir, "hostile.json", &draft).unwrap();
    ingest(&demo, "the hostile initiative", initiative.as_bytes());
    let label = json!({
        "kind": "endorsement",
        "slug": "label-hostile",
        "type": "label",
        "subject": format!("{hub}/initiative/hostile"),
        "label": format!("Label {SCRIPT}{IMG}"),
        "comment": "<a href=\"javascript:alert(1)\">c</a> <svg onload=alert(1)>",
    });
    let label = sign(&hub_dir, "label.json", &label).unwrap();
    ingest(&demo, "the hostile label", label.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&demo.url("/api/v1/search?q=hostile")).unwrap().1["total"] != 1 {
        assert!(
            Instant::now() < deadline,
            "the hostile initiative not searchable within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let name = draft["name"].as_str().unwrap().to_owned();
    let page = format!("/i/{}/hostile", short(&hub));
    let by_label = format!(
        "/?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("label", &format!("Label {SCRIPT}{IMG}"))
            .finish()
    );
    runtime().block_on(async {
        let browser = Browser::start().await;
        let mut found = Vec::new();
        for path in [
            page.as_str(),
            "/?q=hostile",
            "/hubs",
            &format!("/hubs/{}", short(&hub)),
            &by_label,
            "/node",
            "/map",
        ] {
            browser.goto_allowing_alert(&demo.url(path)).await;
            // Give a late event handler (an image's onerror) its chance.
            tokio::time::sleep(Duration::from_millis(200)).await;
            found.extend(
                safety::findings(&browser, true)
                    .await
                    .into_iter()
                    .map(|f| format!("{path}: {f}")),
            );
        }

        // The text is there, as text.
        browser.goto_allowing_alert(&demo.url(&page)).await;
        if browser.alert_text().await.is_none() {
            assert_eq!(browser.text("h1").await, name, "h1 of {page}");
            let raw = browser
                .js(
                    "const s = document.querySelector('script[type=\"application/ld+json\"]'); \
                     return s ? s.textContent : null;",
                    vec![],
                )
                .await;
            let raw = raw.as_str().expect("the initiative page has JSON-LD");
            assert!(
                !raw.contains('<') && !raw.contains('>'),
                "< and > unescaped in the JSON-LD: {raw}"
            );
            let json_ld: Value = serde_json::from_str(raw).unwrap();
            assert_eq!(json_ld["name"].as_str(), Some(name.as_str()));
            browser.screenshot("hostile-initiative.png").await;
        }

        // Typing the query: results swapped in by the script run nothing.
        browser.goto_allowing_alert(&demo.url("/")).await;
        if browser.alert_text().await.is_none() {
            let input = browser.find("input#q").await;
            bounded("typing `hostile`", input.send_keys("hostile")).await;
            browser
                .wait_until(
                    "the hostile result swapped in",
                    Duration::from_secs(10),
                    "return Number(document.body.dataset.searches || 0) > 0 \
                     && document.querySelectorAll('#results li.result').length > 0;",
                )
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        found.extend(
            safety::findings(&browser, true)
                .await
                .into_iter()
                .map(|f| format!("/ (typed): {f}")),
        );
        browser.screenshot("hostile-search.png").await;
        browser.quit().await;
        assert!(
            found.is_empty(),
            "hostile record content ran or got into the DOM:\n{}",
            found.join("\n")
        );
    });
}
