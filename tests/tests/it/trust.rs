//! The trust policy across a line of three real nodes (a — b — c, each
//! connected only to its neighbours): quotas in open mode, quarantine in
//! web-of-trust mode, blocking, revoked labels and replication statements
//! as every node sees them.

use essaim_node::store::Source;
use essaim_node::trust::Standing;
use essaim_node::trust::endorse::{self, EndorseRequest};
use essaim_protocol::{HubId, HubKey, SignedRecord};
use essaim_tests::harness::{NET_TIMEOUT, OPEN_TRUST, TestNode, initiative, wait_for};
use serde_json::Value;

/// Three nodes in a line, each with its own `[trust]` section.
async fn line_of_three(trust: [&str; 3]) -> [TestNode; 3] {
    let a = TestNode::spawn_trusting("a", &[], false, trust[0]).await;
    let b = TestNode::spawn_trusting("b", &[a.addr().await], false, trust[1]).await;
    let c = TestNode::spawn_trusting("c", &[b.addr().await], false, trust[2]).await;
    for (node, peer) in [(&b, &a), (&c, &b)] {
        let id = peer.peer_id().to_string();
        let p2p = node.p2p();
        wait_for(
            &format!("{} to connect to {}", node.name, peer.name),
            NET_TIMEOUT,
            || {
                let p2p = p2p.clone();
                let id = id.clone();
                async move { p2p.peers().iter().any(|p| p.peer_id == id).then_some(()) }
            },
        )
        .await;
    }
    // Let the gossipsub meshes form.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    [a, b, c]
}

/// `GET path` on a node's HTTP API, as JSON.
async fn get_json(node: &TestNode, path: &str) -> Value {
    let url = format!("http://{}{path}", node.http());
    tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(NET_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut response = agent.get(&url).call().expect("the node answers");
        let text = response.body_mut().read_to_string().expect("a body");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    })
    .await
    .expect("the request ran")
}

/// Records of `author` stored in a node's catalogue.
async fn stored_of(node: &TestNode, author: HubId) -> u64 {
    let worker = node.node().clone();
    tokio::task::spawn_blocking(move || {
        worker
            .store()
            .author_activity(&author, 0)
            .expect("the store answers")
            .0
    })
    .await
    .expect("the count ran")
}

/// Reconcile `node` with `peer` now (both ways: the initiator fetches and pushes).
async fn sync(node: &TestNode, peer: &TestNode) {
    let summary = tokio::time::timeout(NET_TIMEOUT, node.p2p().sync_with(peer.peer_id()))
        .await
        .expect("the reconciliation ended in time")
        .expect("federation runs");
    assert!(summary.ok, "{summary:?}");
}

/// Ingest records on a node as if they were posted to its HTTP API.
async fn post(node: &TestNode, records: &[SignedRecord]) {
    node.node()
        .ingest(records.iter().map(|r| (r.clone(), Source::Http)).collect())
        .await
        .expect("stored");
}

/// Sign and publish an endorsement as a node's hub.
async fn endorse_as(node: &TestNode, request: EndorseRequest) -> SignedRecord {
    let now = essaim_node::unix_now();
    let body = endorse::build(
        &request,
        node.node().hub_id(),
        now,
        essaim_node::unix_now_ms(),
    )
    .expect("a valid endorsement");
    node.node().publish(body).await.expect("published").0
}

/// A suggestion for `territory` on a node, by slug.
async fn suggestion(node: &TestNode, territory: &str, slug: &str) -> Option<Value> {
    let report = get_json(node, &format!("/api/v1/suggest?territory={territory}")).await;
    report["suggestions"]
        .as_array()?
        .iter()
        .find(|s| {
            s["short"]
                .as_str()
                .is_some_and(|x| x.ends_with(&format!("/{slug}")))
        })
        .cloned()
}

fn reason_codes(suggestion: &Value) -> Vec<String> {
    suggestion["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| r["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// In open mode, a hub that floods the network hits b's hourly quota: b
/// refuses the rest and does not relay it, so c, behind b, never gets it,
/// not even through reconciliation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spamming_hub_hits_its_quota_and_the_rest_is_not_relayed() {
    let quota = "mode = \"open\"\nquota_per_hour = 20\nquota_total = 1000\n";
    let [a, b, c] = line_of_three([OPEN_TRUST, quota, OPEN_TRUST]).await;
    let spammer = HubKey::from_seed(&[81; 32]);
    let now = essaim_node::unix_now();
    let records: Vec<SignedRecord> = (0..30)
        .map(|i| initiative(&spammer, &format!("spam-{i}"), now - 100 + i))
        .collect();
    post(&a, &records).await;
    assert_eq!(stored_of(&a, spammer.hub_id()).await, 30);
    wait_for("b to hold its quota of the spam", NET_TIMEOUT, || async {
        (stored_of(&b, spammer.hub_id()).await == 20).then_some(())
    })
    .await;
    // Reconciliation, every way: b never takes more, c never gets the rest.
    sync(&b, &a).await;
    sync(&c, &b).await;
    sync(&b, &c).await;
    assert_eq!(stored_of(&b, spammer.hub_id()).await, 20);
    wait_for("c to hold what b relayed", NET_TIMEOUT, || async {
        (stored_of(&c, spammer.hub_id()).await == 20).then_some(())
    })
    .await;
    sync(&c, &b).await;
    assert_eq!(stored_of(&c, spammer.hub_id()).await, 20);
    let state = get_json(&b, "/api/v1/trust").await;
    let refused: u64 = state["refused"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["hub"] == spammer.hub_id().to_string().as_str())
        .map(|r| r["records"].as_u64().unwrap())
        .sum();
    assert_eq!(refused, 10, "{state}");
    // A further record posted straight to b is refused too.
    let more = initiative(&spammer, "spam-encore", now);
    let outcome = b.node().ingest(vec![(more, Source::Http)]).await.unwrap();
    assert!(
        matches!(outcome[0], essaim_node::store::Inserted::Refused(_)),
        "{outcome:?}"
    );
}

/// In web-of-trust mode, an unknown hub's records wait in quarantine on
/// every node (not searchable); the node whose operator follows the hub
/// admits them, the others keep them in quarantine even after syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_hub_waits_in_quarantine_until_followed() {
    let wot = "mode = \"web-of-trust\"\n";
    let [a, b, c] = line_of_three([wot, wot, wot]).await;
    let stranger = HubKey::from_seed(&[82; 32]);
    let now = essaim_node::unix_now();
    let records = vec![
        initiative(&stranger, "maraude-solidaire", now - 50),
        initiative(&stranger, "atelier-couture", now - 40),
    ];
    for node in [&a, &b, &c] {
        post(node, &records).await;
    }
    for node in [&a, &b, &c] {
        assert!(!node.finds("maraude solidaire", "maraude-solidaire").await);
        assert_eq!(stored_of(node, stranger.hub_id()).await, 0);
        let state = get_json(node, "/api/v1/trust").await;
        let waiting = &state["quarantine"][0];
        assert_eq!(
            waiting["hub"],
            stranger.hub_id().to_string().as_str(),
            "{state}"
        );
        assert_eq!(waiting["records"], 2);
    }
    // b's operator follows the hub: b admits its records.
    let worker = b.node().clone();
    let hub = stranger.hub_id();
    let done =
        tokio::task::spawn_blocking(move || worker.set_standing(&hub, Some(Standing::Followed)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(done.released, 2);
    wait_for(
        "b to find the followed hub's initiative",
        NET_TIMEOUT,
        || async {
            b.finds("maraude solidaire", "maraude-solidaire")
                .await
                .then_some(())
        },
    )
    .await;
    // a and c do not follow it: after reconciling with b, still in quarantine.
    sync(&a, &b).await;
    sync(&c, &b).await;
    sync(&b, &c).await;
    for node in [&a, &c] {
        assert!(!node.finds("maraude solidaire", "maraude-solidaire").await);
        assert_eq!(stored_of(node, stranger.hub_id()).await, 0);
        let state = get_json(node, "/api/v1/trust").await;
        assert_eq!(state["quarantine"][0]["records"], 2, "{state}");
    }
    // Unfollowing moves the records back to quarantine on b.
    let worker = b.node().clone();
    tokio::task::spawn_blocking(move || worker.set_standing(&hub, None))
        .await
        .unwrap()
        .unwrap();
    wait_for(
        "b to drop the unfollowed hub from search",
        NET_TIMEOUT,
        || async { (!b.finds("maraude solidaire", "maraude-solidaire").await).then_some(()) },
    )
    .await;
    assert_eq!(stored_of(&b, stranger.hub_id()).await, 0);
}

/// A blocked hub's records leave b's search at once, its new records are
/// refused by b and never reach c behind it; unblocking re-admits them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_hub_disappears_and_is_not_relayed() {
    let [a, b, c] = line_of_three([OPEN_TRUST, OPEN_TRUST, OPEN_TRUST]).await;
    let blocked = HubKey::from_seed(&[83; 32]);
    let now = essaim_node::unix_now();
    let first = initiative(&blocked, "jardin-partage", now - 30);
    post(&a, std::slice::from_ref(&first)).await;
    for node in [&a, &b, &c] {
        wait_for(
            &format!("{} to find the first record", node.name),
            NET_TIMEOUT,
            || async {
                node.finds("jardin partage", "jardin-partage")
                    .await
                    .then_some(())
            },
        )
        .await;
    }
    let worker = b.node().clone();
    let hub = blocked.hub_id();
    let done =
        tokio::task::spawn_blocking(move || worker.set_standing(&hub, Some(Standing::Blocked)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(done.held, 1);
    assert!(!b.finds("jardin partage", "jardin-partage").await);
    assert!(!b.has(&first).await);

    let second = initiative(&blocked, "cafe-reparation", now - 20);
    post(&a, std::slice::from_ref(&second)).await;
    // Gossip and every reconciliation: b refuses it, c never sees it.
    sync(&b, &a).await;
    sync(&c, &b).await;
    sync(&b, &c).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(a.has(&second).await);
    assert!(!b.has(&second).await);
    assert!(!c.has(&second).await);
    assert!(!c.finds("cafe reparation", "cafe-reparation").await);

    // Unblocking: b's kept record is back in its search, and the refused
    // one comes with the next reconciliation.
    let worker = b.node().clone();
    tokio::task::spawn_blocking(move || worker.set_standing(&hub, None))
        .await
        .unwrap()
        .unwrap();
    wait_for("b to find the first record again", NET_TIMEOUT, || async {
        b.finds("jardin partage", "jardin-partage")
            .await
            .then_some(())
    })
    .await;
    sync(&b, &a).await;
    wait_for(
        "b to get the second record after unblocking",
        NET_TIMEOUT,
        || async { b.has(&second).await.then_some(()) },
    )
    .await;
}

/// A label revoked by its issuer stops counting on every node: search by
/// label, the initiative's endorsements (valid = false) and the ranking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_label_disappears_everywhere_after_sync() {
    let [a, b, c] = line_of_three([OPEN_TRUST, OPEN_TRUST, OPEN_TRUST]).await;
    let initiative = a.publish("repair-cafe-lyonnais").await;
    let subject = format!("{}/repair-cafe-lyonnais", a.node().hub_id().short());
    let label = endorse_as(
        &c,
        EndorseRequest {
            subject: subject.clone(),
            kind: "label".into(),
            label: Some("French Impact — Pionnier".into()),
            ..Default::default()
        },
    )
    .await;
    let by_label = "/api/v1/search?label=French+Impact+%E2%80%94+Pionnier";
    for node in [&a, &b, &c] {
        wait_for(
            &format!("{} to see the label", node.name),
            NET_TIMEOUT,
            || async {
                let found = get_json(node, by_label).await;
                let labelled = found["hits"]
                    .as_array()
                    .is_some_and(|h| h.iter().any(|h| h["slug"] == "repair-cafe-lyonnais"));
                let ranked = suggestion(node, "dep:33", "repair-cafe-lyonnais")
                    .await
                    .is_some_and(|s| reason_codes(&s).contains(&"labels".to_owned()));
                (labelled && ranked && node.has(&initiative).await).then_some(())
            },
        )
        .await;
    }
    // c revokes it.
    let now = essaim_node::unix_now();
    let worker = c.node().clone();
    let address = label.address();
    let own = c.node().hub_id();
    let revoked = tokio::task::spawn_blocking(move || {
        endorse::revoke(
            worker.store(),
            own,
            &address,
            now,
            essaim_node::unix_now_ms(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    c.node().publish(revoked).await.unwrap();
    let page = format!(
        "/api/v1/initiatives/{}/repair-cafe-lyonnais",
        a.node().hub_id().short()
    );
    for node in [&c, &b, &a] {
        wait_for(
            &format!("{} to drop the label", node.name),
            NET_TIMEOUT,
            || async {
                let found = get_json(node, by_label).await;
                let labelled = found["hits"]
                    .as_array()
                    .is_some_and(|h| h.iter().any(|h| h["slug"] == "repair-cafe-lyonnais"));
                let ranked = suggestion(node, "dep:33", "repair-cafe-lyonnais")
                    .await
                    .is_some_and(|s| reason_codes(&s).contains(&"labels".to_owned()));
                let shown = get_json(node, &page).await;
                let valid = shown["endorsements"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["valid"] == true));
                (!labelled && !ranked && !valid).then_some(())
            },
        )
        .await;
    }
    // And the HTML page shows it as revoked, not among the labels.
    let html_url = format!(
        "http://{}/i/{}/repair-cafe-lyonnais",
        a.http(),
        a.node().hub_id().short()
    );
    let html = tokio::task::spawn_blocking(move || {
        ureq::get(&html_url)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        html.contains("data-status=\"revoked\""),
        "the endorsement shows as revoked"
    );
    assert!(!html.contains("badge-label"), "no label shown as valid");
}

/// A replication statement signed by one hub changes "pour mon territoire"
/// on every node: the initiative leaves the suggestions of the territory
/// where it now runs, and counts one more département elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_statements_change_territory_results_everywhere() {
    let [a, b, c] = line_of_three([OPEN_TRUST, OPEN_TRUST, OPEN_TRUST]).await;
    a.publish("epicerie-vrac-solidaire").await;
    for node in [&a, &b, &c] {
        wait_for(
            &format!("{} to suggest it for dep:33", node.name),
            NET_TIMEOUT,
            || async {
                suggestion(node, "dep:33", "epicerie-vrac-solidaire")
                    .await
                    .map(|_| ())
            },
        )
        .await;
    }
    let before = suggestion(&c, "dep:44", "epicerie-vrac-solidaire")
        .await
        .unwrap();
    endorse_as(
        &c,
        EndorseRequest {
            subject: format!("{}/epicerie-vrac-solidaire", a.node().hub_id().short()),
            kind: "replication".into(),
            territory: Some("com:33063".into()),
            carrier: Some("Association Vrac Bordeaux".into()),
            ..Default::default()
        },
    )
    .await;
    for node in [&c, &b, &a] {
        wait_for(
            &format!("{} to see it deployed in Gironde", node.name),
            NET_TIMEOUT,
            || async {
                let gone = suggestion(node, "dep:33", "epicerie-vrac-solidaire")
                    .await
                    .is_none();
                let elsewhere = suggestion(node, "dep:44", "epicerie-vrac-solidaire").await?;
                let more = elsewhere["score"].as_u64()? > before["score"].as_u64()?;
                let local = get_json(node, "/api/v1/suggest?territory=dep:69").await;
                let born_here = local["local"].as_array().is_some_and(|l| {
                    l.iter()
                        .any(|s| s["name"] == "Initiative epicerie vrac solidaire")
                });
                (gone && more && born_here).then_some(())
            },
        )
        .await;
    }
    let reasons = suggestion(&a, "dep:44", "epicerie-vrac-solidaire")
        .await
        .unwrap();
    let text: Vec<&str> = reasons["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["fr"].as_str())
        .collect();
    assert!(
        text.contains(&"déjà essaimée dans 2 départements"),
        "{text:?}"
    );
}

/// An HTTP exchange with a node, redirects not followed: (status, Location,
/// Set-Cookie, body).
async fn exchange(
    node: &TestNode,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> (u16, String, String, String) {
    let url = format!("http://{}{path}", node.http());
    let (method, cookie, form) = (
        method.to_owned(),
        cookie.map(str::to_owned),
        form.map(str::to_owned),
    );
    tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(NET_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        let mut response = if method == "POST" {
            let mut request = agent
                .post(&url)
                .header("Content-Type", "application/x-www-form-urlencoded");
            if let Some(cookie) = &cookie {
                request = request.header("Cookie", cookie);
            }
            request.send(form.unwrap_or_default().as_bytes())
        } else {
            let mut request = agent.get(&url);
            if let Some(cookie) = &cookie {
                request = request.header("Cookie", cookie);
            }
            request.call()
        }
        .expect("the node answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (location, set_cookie) = (header("location"), header("set-cookie"));
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, location, set_cookie, body)
    })
    .await
    .expect("the request ran")
}

/// `application/x-www-form-urlencoded`, every byte but letters and digits
/// percent-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The operator's pages refuse visitors and forged forms, and escape what
/// hostile input puts in them; with a session, the trust page follows a hub
/// and the endorsement form signs a label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_pages_refuse_forgery_and_escape_hostile_input() {
    let node = TestNode::spawn("ui", &[]).await;
    let (status, location, _, _) = exchange(&node, "GET", "/trust", None, None).await;
    assert_eq!((status, location.as_str()), (303, "/login?next=/trust"));
    for path in ["/trust", "/endorse"] {
        let (status, _, _, _) =
            exchange(&node, "POST", path, None, Some("action=block&hub=x")).await;
        assert_eq!(status, 403, "POST {path} without a session");
    }
    let (status, _, _, body) = exchange(
        &node,
        "GET",
        "/territoire/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(!body.contains("<script>alert"), "escaped");
    assert!(body.contains("&lt;script&gt;"), "shown escaped");
    let (status, location, _, _) =
        exchange(&node, "GET", "/territoire?code=dep:69", None, None).await;
    assert_eq!((status, location.as_str()), (303, "/territoire/dep:69"));
    let (status, _, _, body) = exchange(&node, "GET", "/territoire/dep:69", None, None).await;
    assert_eq!(status, 200);
    assert!(body.contains("Rhône"));

    // The operator logs in.
    let token = std::fs::read_to_string(node.data.path("operator.token")).expect("the token");
    let (status, _, set_cookie, _) = exchange(
        &node,
        "POST",
        "/login",
        None,
        Some(&form(&[("token", token.trim()), ("next", "/trust")])),
    )
    .await;
    assert_eq!(status, 303);
    let cookie = set_cookie.split(';').next().expect("a cookie").to_owned();
    let (status, _, _, page) = exchange(&node, "GET", "/trust", Some(&cookie), None).await;
    assert_eq!(status, 200);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token on the page")
        .to_owned();
    let friend = HubKey::from_seed(&[84; 32]).hub_id();
    let follow = |csrf: &str| {
        form(&[
            ("csrf", csrf),
            ("action", "follow"),
            ("hub", &friend.short()),
        ])
    };
    let (status, _, _, _) = exchange(
        &node,
        "POST",
        "/trust",
        Some(&cookie),
        Some(&follow("forged")),
    )
    .await;
    assert_eq!(status, 403, "a forged CSRF token is refused");
    let (status, location, _, _) =
        exchange(&node, "POST", "/trust", Some(&cookie), Some(&follow(&csrf))).await;
    assert_eq!((status, location.as_str()), (303, "/trust?done=follow"));
    let state = get_json(&node, "/api/v1/trust").await;
    assert_eq!(
        state["followed"][0]["hub"],
        friend.to_string().as_str(),
        "{state}"
    );
    let hostile = form(&[
        ("csrf", &csrf),
        ("action", "follow"),
        ("hub", "<img src=x onerror=alert(1)>"),
    ]);
    let (status, _, _, body) =
        exchange(&node, "POST", "/trust", Some(&cookie), Some(&hostile)).await;
    assert_eq!(status, 400);
    assert!(!body.contains("<img src=x"), "escaped");

    // The endorsement form: a label with hostile text is signed and shown escaped.
    node.publish("atelier-velo-solidaire").await;
    let subject = format!("{}/atelier-velo-solidaire", node.node().hub_id().short());
    let label = form(&[
        ("csrf", &csrf),
        ("subject", &subject),
        ("type", "label"),
        ("label", "<b onmouseover=alert(1)>Label</b>"),
        ("until", "2099-12-31"),
    ]);
    let (status, location, _, _) =
        exchange(&node, "POST", "/endorse", Some(&cookie), Some(&label)).await;
    assert_eq!(status, 303, "{location}");
    let (status, _, _, page) =
        exchange(&node, "GET", &format!("/i/{subject}"), Some(&cookie), None).await;
    assert_eq!(status, 200);
    assert!(page.contains("&lt;b onmouseover=alert(1)&gt;Label&lt;/b&gt;"));
    assert!(!page.contains("<b onmouseover"));
    assert!(page.contains("revoke-form"), "the operator may revoke it");
    let bad_date = form(&[
        ("csrf", &csrf),
        ("subject", &subject),
        ("type", "label"),
        ("label", "X"),
        ("until", "2026-02-31"),
    ]);
    let (status, _, _, _) =
        exchange(&node, "POST", "/endorse", Some(&cookie), Some(&bad_date)).await;
    assert_eq!(status, 422);
}
