//! Publishing through the form: login, a field error next to its field with
//! the other values kept, success, the new initiative found by search; and
//! a POST without the right CSRF token refused.

use std::time::Duration;

use serde_json::json;

use super::driver::{Browser, bounded, enabled, navigation_status, runtime};
use super::{Demo, axe, query_param, short};

const SLUG: &str = "jardin-des-essais-navigateur";
const NAME: &str = "Jardin des essais — potager partagé de Vaise";
const SUMMARY: &str = "Un potager partagé au pied des immeubles, ouvert aux voisins \
                       et aux écoles du quartier.";

/// A page load after a click may take this long.
const LOAD: Duration = Duration::from_secs(15);

#[test]
fn publishing_through_the_form() {
    if !enabled("publishing_through_the_form") {
        return;
    }
    let demo = Demo::start();
    let hub = demo.api("/api/v1/status")["hub"]
        .as_str()
        .expect("/api/v1/status names the node's hub")
        .to_owned();
    runtime().block_on(async {
        let browser = Browser::start().await;

        // Not logged in: to the login page, which comes back here.
        browser.goto(&demo.url("/publish")).await;
        let url = browser.url().await;
        assert_eq!(url.path(), "/login", "GET /publish without a session");
        assert_eq!(query_param(&url, "next").as_deref(), Some("/publish"));

        // A wrong token: 401 and an error.
        browser.fill("form#login input#token", "not-the-token").await;
        submit(&browser, "form#login").await;
        browser
            .wait_until(
                "the login page again with p.error",
                LOAD,
                "return document.readyState === 'complete' && !!document.querySelector('p.error');",
            )
            .await;
        assert_eq!(
            navigation_status(&browser).await,
            401,
            "a wrong token answers 401"
        );

        // The right token: back to /publish.
        browser.fill("form#login input#token", &demo.token()).await;
        submit(&browser, "form#login").await;
        browser
            .wait_until(
                "the publish form after logging in",
                LOAD,
                "return location.pathname === '/publish' && !!document.querySelector('form#publish');",
            )
            .await;
        let violations = axe::report(&browser, "/publish").await;

        // An unknown département: the error next to its field, values kept.
        browser.fill("form#publish [name=slug]", SLUG).await;
        browser.fill("form#publish [name=name]", NAME).await;
        browser
            .fill("form#publish [name='summary.fr']", SUMMARY)
            .await;
        browser
            .click("form#publish input[name=themes][value=alimentation]")
            .await;
        select(&browser, "form#publish select[name=stage]", "experimentation").await;
        browser
            .fill("form#publish [name=origin]", "com:69123")
            .await;
        browser
            .fill("form#publish [name=territories]", "com:69123, dep:999")
            .await;
        submit(&browser, "form#publish").await;
        browser
            .wait_until(
                "p.field-error[data-field=territories]",
                LOAD,
                "return document.readyState === 'complete' \
                 && !!document.querySelector('p.field-error[data-field=\"territories\"]');",
            )
            .await;
        browser.screenshot("publish-error.png").await;
        let state = browser
            .js(
                r#"
                const form = document.querySelector('form#publish');
                const field = form.querySelector('[name="territories"]');
                const error = document.querySelector('p.field-error[data-field="territories"]');
                const summary = document.querySelector('#form-errors');
                return {
                  invalid: field.getAttribute('aria-invalid'),
                  describedby: (field.getAttribute('aria-describedby') || '').split(/\s+/),
                  error_id: error.id,
                  adjacent: field.nextElementSibling === error,
                  summary_role: summary && summary.getAttribute('role'),
                  slug: form.querySelector('[name="slug"]').value,
                  name: form.querySelector('[name="name"]').value,
                  summary_fr: form.querySelector('[name="summary.fr"]').value,
                  territories: field.value,
                  origin: form.querySelector('[name="origin"]').value,
                  stage: form.querySelector('[name="stage"]').value,
                  theme: form.querySelector('input[name="themes"][value="alimentation"]').checked,
                };
                "#,
                vec![],
            )
            .await;
        assert_eq!(
            state["invalid"], "true",
            "aria-invalid on the field: {state}"
        );
        assert!(
            state["error_id"].as_str().is_some_and(|id| !id.is_empty()
                && state["describedby"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d == id)),
            "the field's aria-describedby names the error: {state}"
        );
        assert_eq!(
            state["adjacent"], true,
            "the error right after the field: {state}"
        );
        assert_eq!(
            state["summary_role"], "alert",
            "#form-errors[role=alert]: {state}"
        );
        for (field, typed) in [
            ("slug", json!(SLUG)),
            ("name", json!(NAME)),
            ("summary_fr", json!(SUMMARY)),
            ("territories", json!("com:69123, dep:999")),
            ("origin", json!("com:69123")),
            ("stage", json!("experimentation")),
            ("theme", json!(true)),
        ] {
            assert_eq!(state[field], typed, "{field} kept after the error: {state}");
        }

        // An empty required summary: stopped by the browser (`required`), or,
        // in a `novalidate` form, by the server with the error at the field.
        browser
            .js("window.__marker = 1; return true;", vec![])
            .await;
        browser
            .fill("form#publish [name=territories]", "com:69123, dep:69")
            .await;
        browser.fill("form#publish [name='summary.fr']", "").await;
        submit(&browser, "form#publish").await;
        browser
            .wait_until(
                "the empty summary.fr stopped",
                LOAD,
                "const f = document.querySelector('form#publish [name=\"summary.fr\"]'); \
                 return document.readyState === 'complete' && !!f && (\
                   (window.__marker === 1 && f.validity.valueMissing) || \
                   (window.__marker === undefined \
                    && !!document.querySelector('p.field-error[data-field=\"summary.fr\"]')));",
            )
            .await;
        let kept = browser
            .js(
                "return document.querySelector('form#publish [name=\"name\"]').value;",
                vec![],
            )
            .await;
        assert_eq!(kept, NAME, "the name kept after an empty summary");
        browser
            .fill("form#publish [name='summary.fr']", SUMMARY)
            .await;
        // The same POST outside the browser, with the session and the form's
        // CSRF token: accepted (the error, not a 403), so the 403s below come
        // from the CSRF check alone.
        let csrf = browser
            .attr("form#publish input[name=csrf]", "value")
            .await
            .expect("form#publish has a csrf value");
        let cookie = bounded(
            "the essaim_session cookie",
            browser.client().get_named_cookie("essaim_session"),
        )
        .await;
        let session = format!("essaim_session={}", cookie.value());
        let form = "slug=csrf-essai&name=Essai&themes=alimentation\
                    &stage=emergence&origin=com%3A69123"
            .to_owned();
        let (status, page) = post_form(
            &demo.url("/publish"),
            &session,
            &format!("csrf={csrf}&summary.fr=&{form}"),
        );
        assert!(
            (400..500).contains(&status)
                && status != 403
                && page.contains("data-field=\"summary.fr\""),
            "POST /publish with an empty summary.fr: {status}, no \
             p.field-error[data-field=summary.fr] in the page"
        );

        // Fixed: published, on its page with the flash message.
        submit(&browser, "form#publish").await;
        let page = format!("/i/{}/{SLUG}", short(&hub));
        browser
            .wait_until(
                "the new initiative's page",
                LOAD,
                &format!(
                    "return location.pathname === {} && document.readyState === 'complete';",
                    json!(page)
                ),
            )
            .await;
        assert!(
            browser.exists("#flash").await,
            "no #flash on {}",
            browser.url().await
        );
        assert_eq!(browser.text("h1").await, NAME);
        browser.screenshot("published.png").await;

        // Found by searching its name (the index commits within moments).
        let search = demo.url("/?q=jardin+essais+Vaise");
        let link = format!("#results a.result-link[href=\"{page}\"]");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            browser.goto(&search).await;
            if browser.exists(&link).await {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{link} not on {search} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // A POST with the session but a wrong or no CSRF token: 403.
        for (what, body) in [
            ("a wrong CSRF token", format!("csrf=0123456789abcdef&summary.fr=E&{form}")),
            ("no CSRF token", format!("summary.fr=E&{form}")),
        ] {
            let (status, _) = post_form(&demo.url("/publish"), &session, &body);
            assert_eq!(status, 403, "POST /publish with {what}");
        }
        let (status, _) = crate::util::get(&demo.url(&format!(
            "/api/v1/initiatives/{}/csrf-essai",
            short(&hub)
        )))
        .unwrap();
        assert_eq!(status, 404, "a refused POST published nothing");

        browser.quit().await;
        assert!(
            violations.is_empty(),
            "axe (WCAG 2.1 A/AA), serious and critical:\n{}",
            violations.join("\n")
        );
    });
}

/// Submit `form` with its submit button, as a person would.
async fn submit(browser: &Browser, form: &str) {
    browser.click(&format!("{form} button[type=submit]")).await;
}

/// Choose the option of value `value` in a select.
async fn select(browser: &Browser, css: &str, value: &str) {
    let element = browser.find(css).await;
    bounded(
        format!("choosing {value} in {css}"),
        element.select_by_value(value),
    )
    .await;
}

/// POST a form body with a cookie, without following redirects: the status
/// and the page.
fn post_form(url: &str, cookie: &str, body: &str) -> (u16, String) {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let response = agent
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", cookie)
        .send(body.as_bytes())
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().read_to_string().unwrap_or_default(),
    )
}
