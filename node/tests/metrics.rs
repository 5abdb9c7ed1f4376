//! `GET /metrics` over real HTTP: a node in-process on a loopback port with
//! the sample catalogue, real requests (publish, ingest, search, 404s,
//! hostile methods and paths), then the exposition parsed and the counters
//! checked to have moved by what was done; two nodes that reconcile for the
//! federation's counters. The output must be valid OpenMetrics (every
//! sample's family has HELP and TYPE, one `# EOF` at the end), and a
//! thousand random paths must not create a thousand label values.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

use support::{NET_TIMEOUT, Reply, SampleNode};

/// One sample: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition.
#[derive(Debug, Default)]
struct Exposition {
    /// Family name → type.
    types: BTreeMap<String, String>,
    /// Families with a HELP line.
    helped: BTreeSet<String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Parse OpenMetrics text, checking its shape as it goes.
    fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.last(),
            Some(&"# EOF"),
            "the exposition ends with # EOF"
        );
        assert_eq!(
            lines.iter().filter(|l| **l == "# EOF").count(),
            1,
            "one # EOF"
        );
        for line in &lines[..lines.len() - 1] {
            if let Some(rest) = line.strip_prefix("# ") {
                let (keyword, rest) = rest.split_once(' ').unwrap();
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                match keyword {
                    "HELP" => {
                        assert!(!value.is_empty(), "{line}: empty help");
                        assert!(out.helped.insert(name.to_owned()), "{line}: HELP twice");
                    }
                    "TYPE" => {
                        assert!(
                            out.types
                                .insert(name.to_owned(), value.to_owned())
                                .is_none(),
                            "{line}: TYPE twice"
                        );
                    }
                    "UNIT" => {}
                    other => panic!("{line}: unknown keyword {other}"),
                }
                continue;
            }
            out.samples.push(parse_sample(line));
        }
        // Every sample belongs to a family with HELP and TYPE.
        for sample in &out.samples {
            let family = out
                .family_of(&sample.name)
                .unwrap_or_else(|| panic!("sample {} has no # TYPE for its family", sample.name));
            assert!(
                out.helped.contains(&family),
                "family {family} has no # HELP"
            );
        }
        out
    }

    /// The family of a sample name, by the suffixes its type allows.
    fn family_of(&self, name: &str) -> Option<String> {
        if self
            .types
            .get(name)
            .is_some_and(|t| t == "gauge" || t == "unknown")
        {
            return Some(name.to_owned());
        }
        let suffixes: &[(&str, &[&str])] = &[
            ("_total", &["counter"]),
            ("_created", &["counter", "histogram", "summary"]),
            ("_bucket", &["histogram"]),
            ("_sum", &["histogram", "summary"]),
            ("_count", &["histogram", "summary"]),
            ("_info", &["info"]),
        ];
        suffixes.iter().find_map(|(suffix, types)| {
            let family = name.strip_suffix(suffix)?;
            types
                .contains(&self.types.get(family)?.as_str())
                .then(|| family.to_owned())
        })
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// The distinct values of a label across the samples named `name`.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }
}

/// `name{k="v",…} value` (the value may be followed by a timestamp).
fn parse_sample(line: &str) -> Sample {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => panic!("{line}: not a sample"),
    };
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "{line}: bad metric name"
    );
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let mut key = String::new();
        let end;
        loop {
            let (i, c) = chars
                .next()
                .unwrap_or_else(|| panic!("{line}: open labels"));
            match c {
                '}' => {
                    end = i;
                    break;
                }
                ',' => {}
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().unwrap_or_else(|| panic!("{line}: open value")) {
                            (_, '\\') => match chars.next().unwrap().1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            (_, '"') => break,
                            (_, c) => value.push(c),
                        }
                    }
                    assert!(
                        labels.insert(std::mem::take(&mut key), value).is_none(),
                        "{line}: a label twice"
                    );
                }
                c => key.push(c),
            }
        }
        rest = &body[end + 1..];
    }
    let value = rest
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("{line}: no value"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("{line}: bad value")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// `POST /api/v1/publish` of a TOML draft as the operator.
fn publish(agent: &ureq::Agent, addr: SocketAddr, token: &str, draft: &str) -> Reply {
    send(
        agent,
        addr,
        "POST",
        "/api/v1/publish",
        draft.as_bytes(),
        &[
            ("Content-Type", "application/toml"),
            ("Authorization", &format!("Bearer {token}")),
        ],
    )
}

fn send(
    agent: &ureq::Agent,
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Reply {
    support::send(
        agent,
        &format!("http://{addr}{target}"),
        method,
        headers,
        body,
    )
}

/// A raw request (any method, any target): the status code.
fn raw(addr: SocketAddr, request: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

fn scrape(agent: &ureq::Agent, addr: SocketAddr) -> Exposition {
    let reply = send(agent, addr, "GET", "/metrics", b"", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.content_type,
        essaim_node::metrics::CONTENT_TYPE,
        "one content type, what prometheus_client encodes"
    );
    Exposition::parse(&reply.text)
}

fn json(agent: &ureq::Agent, addr: SocketAddr, target: &str) -> Value {
    let reply = send(agent, addr, "GET", target, b"", &[]);
    assert_eq!(reply.status, 200, "{target}: {}", reply.text);
    serde_json::from_str(&reply.text).unwrap()
}

const ACCEPTED: &str = "essaim_records_accepted_total";
const REJECTED: &str = "essaim_records_rejected_total";
const DUPLICATE: &str = "essaim_records_duplicate_total";
const QUARANTINED: &str = "essaim_records_quarantined_total";
const REQUESTS: &str = "essaim_http_requests_total";

/// A tiny deterministic generator for random paths.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn word(&mut self) -> String {
        let len = 1 + self.next() % 12;
        (0..len)
            .map(|_| {
                let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_.%~";
                alphabet[(self.next() % alphabet.len() as u64) as usize] as char
            })
            .collect()
    }
}

#[test]
fn counters_move_with_what_the_node_does() {
    let node = SampleNode::spawn();
    let addr = node.addr;
    let agent = support::agent();
    let before = scrape(&agent, addr);

    // The families with fixed labels are there from the start, at zero;
    // the store gauges agree with /api/v1/status.
    assert_eq!(
        before
            .types
            .get("essaim_records_accepted")
            .map(String::as_str),
        Some("counter")
    );
    assert_eq!(
        before
            .types
            .get("essaim_peers_connected")
            .map(String::as_str),
        Some("gauge")
    );
    assert_eq!(
        before.value(
            "essaim_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(before.value("essaim_peers_connected", &[]), 0.0);
    let reasons = before.label_values(REJECTED, "reason");
    for reason in essaim_node::metrics::REASONS {
        assert!(reasons.contains(*reason), "{reason} is exposed at zero");
    }
    let status = json(&agent, addr, "/api/v1/status");
    assert_eq!(
        before.value("essaim_store_records", &[]),
        status["store"]["records"].as_f64().unwrap(),
        "records by kind sum to the store's count"
    );
    for (kind, count) in status["store"]["heads"].as_object().unwrap() {
        assert_eq!(
            before.value("essaim_store_heads", &[("kind", kind)]),
            count.as_f64().unwrap(),
            "heads of kind {kind}"
        );
    }
    assert_eq!(
        before.value("essaim_store_heads", &[("kind", "initiative")]),
        node.sample_initiatives as f64
    );
    // The sample catalogue was imported in-process: each record counted once.
    let imported = [ACCEPTED, DUPLICATE, QUARANTINED]
        .iter()
        .map(|name| before.value(name, &[("via", "import")]))
        .sum::<f64>()
        + before.value(REJECTED, &[]);
    assert_eq!(imported, node.sample_records as f64);
    assert!(before.value(ACCEPTED, &[("via", "import")]) > 0.0);
    assert!(before.value("essaim_index_commit_duration_seconds_count", &[]) >= 1.0);

    // Publish as the operator: one local record, one more index commit.
    let draft = r#"
kind = "initiative"
slug = "compteur-de-velos"
name = "Compteur de vélos"
summary = "Un compteur participatif des vélos qui passent dans la rue."
themes = ["alimentation"]
origin = "com:69123"
stage = "emergence"
"#;
    let reply = publish(&agent, addr, &node.token, draft);
    assert_eq!(reply.status, 201, "{}", reply.text);
    // An invalid draft: refused before signing, counted as invalid.
    let reply = publish(
        &agent,
        addr,
        &node.token,
        &draft.replace("com:69123", "com:00000"),
    );
    assert_eq!(reply.status, 400, "{}", reply.text);

    // Ingest over HTTP: a record already stored (duplicate), a forged
    // signature, and something that is not a record.
    let page = json(&agent, addr, "/api/v1/records?limit=1");
    let mut view = page["records"][0].clone();
    for field in ["change", "received_at", "source"] {
        view.as_object_mut().unwrap().remove(field);
    }
    let json_type = [("Content-Type", "application/json")];
    let reply = send(
        &agent,
        addr,
        "POST",
        "/api/v1/records",
        view.to_string().as_bytes(),
        &json_type,
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let sig = view["sig"].as_str().unwrap().to_owned();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    view["sig"] = Value::String(format!("{first}{}", &sig[1..]));
    let reply = send(
        &agent,
        addr,
        "POST",
        "/api/v1/records",
        view.to_string().as_bytes(),
        &json_type,
    );
    assert_eq!(reply.status, 400, "{}", reply.text);
    let reply = send(
        &agent,
        addr,
        "POST",
        "/api/v1/records",
        b"{\"id\": 1}",
        &json_type,
    );
    assert_eq!(reply.status, 400, "{}", reply.text);

    // A search, a page, a 404 of the API, a 404 of the UI.
    assert_eq!(
        send(&agent, addr, "GET", "/api/v1/search?q=velo", b"", &[]).status,
        200
    );
    assert_eq!(
        send(
            &agent,
            addr,
            "GET",
            "/api/v1/search?q=velo&sort=newest",
            b"",
            &[]
        )
        .status,
        200
    );
    assert_eq!(
        send(&agent, addr, "GET", "/api/v1/nothing-here", b"", &[]).status,
        404
    );
    assert_eq!(
        send(&agent, addr, "GET", "/pas/de/page/ici", b"", &[]).status,
        404
    );
    assert_eq!(send(&agent, addr, "GET", "/hubs", b"", &[]).status, 200);

    let after = scrape(&agent, addr);
    assert_eq!(
        after
            .types
            .get("essaim_http_request_duration_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(delta(ACCEPTED, &[("via", "local")]), 1.0);
    assert_eq!(delta(DUPLICATE, &[("via", "http")]), 1.0);
    assert_eq!(delta(ACCEPTED, &[("via", "http")]), 0.0);
    assert_eq!(delta(REJECTED, &[("reason", "bad_signature")]), 1.0);
    assert_eq!(delta(REJECTED, &[("reason", "malformed")]), 1.0);
    assert_eq!(delta(REJECTED, &[("reason", "invalid")]), 1.0);
    assert_eq!(delta(REJECTED, &[]), 3.0);
    assert_eq!(delta("essaim_store_heads", &[("kind", "initiative")]), 1.0);
    assert!(delta("essaim_index_commit_duration_seconds_count", &[]) >= 1.0);
    let search = [
        ("route", "/api/v1/search"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(delta(REQUESTS, &search), 2.0);
    assert_eq!(
        delta(
            "essaim_http_request_duration_seconds_count",
            &[("route", "/api/v1/search")]
        ),
        2.0
    );
    assert_eq!(
        delta(
            REQUESTS,
            &[("route", "other"), ("method", "GET"), ("status", "404")]
        ),
        2.0
    );
    assert_eq!(
        delta(REQUESTS, &[("route", "/hubs"), ("status", "200")]),
        1.0
    );
    assert_eq!(
        delta(
            REQUESTS,
            &[
                ("route", "/api/v1/records"),
                ("method", "POST"),
                ("status", "400")
            ]
        ),
        2.0
    );
    assert_eq!(
        delta(REQUESTS, &[("route", "/api/v1/publish"), ("status", "201")]),
        1.0
    );
    // The scrape before counts itself once it answered.
    assert_eq!(
        delta(REQUESTS, &[("route", "/metrics"), ("status", "200")]),
        1.0
    );
    // The histogram's +Inf bucket is its count.
    assert_eq!(
        after.value(
            "essaim_http_request_duration_seconds_bucket",
            &[("route", "/api/v1/search"), ("le", "+Inf")]
        ),
        after.value(
            "essaim_http_request_duration_seconds_count",
            &[("route", "/api/v1/search")]
        )
    );
}

#[test]
fn hostile_requests_do_not_create_series() {
    let node = SampleNode::spawn();
    let addr = node.addr;
    let agent = support::agent();
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);

    // A thousand distinct random paths, some under real prefixes.
    for i in 0..1_000 {
        let path = match i % 5 {
            0 => format!("/{}", rng.word()),
            1 => format!("/{}/{}/{}", rng.word(), rng.word(), rng.word()),
            2 => format!("/api/v1/{}", rng.word()),
            3 => format!("/i/{}/{}", rng.word(), rng.word()),
            _ => format!(
                "/api/v1/initiatives/{}/{}/{}",
                rng.word(),
                rng.word(),
                rng.word()
            ),
        };
        let query = if i % 7 == 0 {
            format!("?{}={}", rng.word(), rng.word())
        } else {
            String::new()
        };
        let status = send(&agent, addr, "GET", &format!("{path}{query}"), b"", &[]).status;
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    // Weird methods and odd forms, on /metrics and elsewhere.
    let request = |method: &str, target: &str| {
        raw(
            addr,
            &format!(
                "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            ),
        )
    };
    assert_eq!(request("BREW", "/metrics"), 405);
    assert_eq!(request("PUT", "/metrics"), 405);
    assert_eq!(request("DELETE", "/api/v1/search"), 405);
    assert!((400..500).contains(&request("PROPFIND", "/nowhere")));
    assert_eq!(request("GET", "/metrics?format=protobuf&x=%ZZ&&=="), 200);
    let post = send(&agent, addr, "POST", "/metrics", b"x", &[]);
    assert_eq!(post.status, 405);
    assert!(
        post.allow.is_some_and(|a| a.contains("GET")),
        "405 names the methods"
    );
    assert!(
        post.content_type.starts_with("application/json"),
        "the API's error shape"
    );
    let head = send(&agent, addr, "HEAD", "/metrics", b"", &[]);
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty(), "HEAD has no body");
    assert_eq!(head.content_type, essaim_node::metrics::CONTENT_TYPE);

    let metrics = scrape(&agent, addr);
    if let Some(path) = std::env::var_os("ESSAIM_DUMP_METRICS") {
        std::fs::write(path, send(&agent, addr, "GET", "/metrics", b"", &[]).text).unwrap();
    }
    let routes = metrics.label_values(REQUESTS, "route");
    let bound = essaim_node::web::ROUTES.len() + essaim_node::web::UI_ROUTES.len() + 2;
    assert!(
        routes.len() <= bound,
        "{} route labels for 1,000 random paths: {routes:?}",
        routes.len()
    );
    for route in &routes {
        assert!(
            route == "other"
                || route == "/git/{repo}"
                || essaim_node::web::ROUTES.iter().any(|(_, p, _)| p == route)
                || essaim_node::web::UI_ROUTES.contains(&route.as_str()),
            "`{route}` is not a route template"
        );
    }
    let methods = metrics.label_values(REQUESTS, "method");
    assert!(
        methods.is_subset(
            &["GET", "HEAD", "POST", "other"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        ),
        "{methods:?}"
    );
    assert!(metrics.value(REQUESTS, &[("method", "other")]) >= 4.0);
    // The whole exposition stays small.
    let series = metrics
        .samples
        .iter()
        .filter(|s| s.name.starts_with("essaim_http_"))
        .count();
    assert!(series < 1_000, "{series} HTTP series");
    // Every request was counted (the thousand, the raw ones, HEAD, POST).
    assert!(metrics.value(REQUESTS, &[]) >= 1_007.0);
}

#[test]
fn metrics_can_be_switched_off() {
    let node = SampleNode::spawn_with(|config| config.http_metrics = false);
    let agent = support::agent();
    let reply = send(&agent, node.addr, "GET", "/metrics", b"", &[]);
    assert_eq!(reply.status, 404);
    assert!(!reply.text.contains("essaim_"));
}

/// Poll `/metrics` until `done` holds, within a bound.
fn wait_for(
    agent: &ureq::Agent,
    addr: SocketAddr,
    what: &str,
    done: impl Fn(&Exposition) -> bool,
) -> Exposition {
    let deadline = Instant::now() + 3 * NET_TIMEOUT;
    loop {
        let metrics = scrape(agent, addr);
        if done(&metrics) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "waited {:?} for {what}",
            3 * NET_TIMEOUT
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn federation_counters_move_with_a_second_node() {
    let a = SampleNode::spawn();
    let agent = support::agent();
    // The swarm reports its listen address once the socket is bound, a
    // moment after the HTTP server answers.
    let deadline = Instant::now() + NET_TIMEOUT;
    let (peer_id, listen) = loop {
        let status = json(&agent, a.addr, "/api/v1/status");
        let listen = status["sync"]["listen"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|m| m.starts_with("/ip4/127.0.0.1/tcp/"))
            .map(str::to_owned);
        if let Some(listen) = listen {
            let peer_id = status["sync"]["peer_id"].as_str().unwrap().to_owned();
            break (peer_id, listen);
        }
        assert!(
            Instant::now() < deadline,
            "no loopback TCP listen address within {NET_TIMEOUT:?}: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let bootstrap = format!("{listen}/p2p/{peer_id}");
    let b = SampleNode::spawn_with(|config| config.bootstrap = vec![bootstrap.parse().unwrap()]);

    // B dials A and reconciles with it on connection.
    let synced = wait_for(&agent, b.addr, "a reconciliation", |m| {
        m.value("essaim_peers_connected", &[]) == 1.0
            && m.value("essaim_sync_rounds_total", &[("outcome", "ok")]) >= 1.0
    });
    assert!(synced.value("essaim_sync_bytes_total", &[("direction", "sent")]) > 0.0);
    assert!(synced.value("essaim_sync_bytes_total", &[("direction", "received")]) > 0.0);
    // The bytes are the status's own count, not a second measure.
    let deadline = Instant::now() + NET_TIMEOUT;
    loop {
        let first = json(&agent, b.addr, "/api/v1/status")["sync"]["sync_bytes"]
            .as_f64()
            .unwrap();
        let metrics = scrape(&agent, b.addr);
        let second = json(&agent, b.addr, "/api/v1/status")["sync"]["sync_bytes"]
            .as_f64()
            .unwrap();
        if first == second {
            assert_eq!(metrics.value("essaim_sync_bytes_total", &[]), first);
            break;
        }
        assert!(Instant::now() < deadline, "reconciliations never paused");
    }
    // gossipsub's own families are in the same answer.
    assert!(
        synced
            .types
            .keys()
            .any(|k| k.starts_with("libp2p_gossipsub_")),
        "libp2p's metrics are included: {:?}",
        synced.types.keys().collect::<Vec<_>>()
    );

    // A record published on A reaches B by gossip or reconciliation, and is
    // counted there with its way in.
    let federated = |m: &Exposition| {
        m.value(ACCEPTED, &[("via", "gossip")]) + m.value(ACCEPTED, &[("via", "sync")])
    };
    let base = scrape(&agent, b.addr);
    let draft = r#"
kind = "initiative"
slug = "atelier-federe"
name = "Atelier fédéré"
summary = "Un atelier de réparation qui voyage d'une ruche à l'autre."
themes = ["alimentation"]
origin = "com:69123"
stage = "emergence"
"#;
    let reply = publish(&agent, a.addr, &a.token, draft);
    assert_eq!(reply.status, 201, "{}", reply.text);
    let heads = base.value("essaim_store_heads", &[("kind", "initiative")]);
    let arrived = wait_for(&agent, b.addr, "the published record on B", |m| {
        m.value("essaim_store_heads", &[("kind", "initiative")]) > heads
    });
    assert!(
        federated(&arrived) > federated(&base),
        "counted with its way in"
    );
    let on_a = scrape(&agent, a.addr);
    assert_eq!(on_a.value(ACCEPTED, &[("via", "local")]), 1.0);
    assert!(on_a.value("essaim_peers_connected", &[]) >= 1.0);
    // Gossiped (if B's subscription had arrived) or left to reconciliation.
    if arrived.value(ACCEPTED, &[("via", "gossip")]) > base.value(ACCEPTED, &[("via", "gossip")]) {
        assert!(on_a.value("essaim_gossip_messages_sent_total", &[]) >= 1.0);
        assert!(
            arrived.value(
                "essaim_gossip_messages_received_total",
                &[("result", "accepted")]
            ) >= 1.0
        );
    }
}
