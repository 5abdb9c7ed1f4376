//! The HTTP API keeps the contract written in `specs/http-api.yaml`.
//!
//! The spec is parsed, checked against the router's table (`web::ROUTES`),
//! and its examples against its own schemas. Then a real node, with the
//! sample catalogue, serves on a loopback port, and every route is called
//! with valid and invalid inputs — hostile bodies included — through a real
//! HTTP client or a raw socket. Every answer must be one the spec documents
//! for that route and status, and its body must fit the documented schema
//! (a small JSON-Schema validator below, for the subset the spec uses; a
//! keyword it does not know fails the test, so the spec cannot rely on a
//! rule nobody checks). At the end, every documented status (but 500) must
//! have been seen.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use essaim_node::catalogue;
use essaim_node::web::{MAX_BODY_BYTES, ROUTES};
use essaim_protocol::{Body, HubKey, SignedRecord};
use serde_json::{Value, json};

mod support;

use support::{NET_TIMEOUT, Reply};

const SPEC: &str = include_str!("../../specs/http-api.yaml");
/// How soon a record posted to the node must be searchable.
const SEARCHABLE_WITHIN: Duration = Duration::from_secs(2);
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

// ---------------------------------------------------------------------------
// A JSON-Schema validator for the subset the spec uses.

/// Validates JSON values against the schemas of one OpenAPI document.
struct Validator<'a> {
    root: &'a Value,
}

/// Keywords that say nothing about validity.
const ANNOTATIONS: &[&str] = &[
    "description",
    "example",
    "examples",
    "title",
    "default",
    "format",
    "contentMediaType",
    "deprecated",
];

impl<'a> Validator<'a> {
    fn new(root: &'a Value) -> Validator<'a> {
        Validator { root }
    }

    /// Every way `value` breaks `schema`; empty when it fits.
    fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn resolve(&self, reference: &str) -> &'a Value {
        reference
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer))
            .unwrap_or_else(|| panic!("`$ref: {reference}` points at nothing"))
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else {
            errors.push(format!("{at}: the schema is not an object: {schema}"));
            return;
        };
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "$ref" => self.check(self.resolve(rule.as_str().unwrap()), value, at, errors),
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
                        other => other.as_str().into_iter().collect(),
                    };
                    if !types.iter().any(|t| has_type(value, t)) {
                        errors.push(format!("{at}: {} is not of type {types:?}", brief(value)));
                    }
                }
                "enum" => {
                    if !rule.as_array().unwrap().contains(value) {
                        errors.push(format!("{at}: {} is not one of {rule}", brief(value)));
                    }
                }
                "properties" => {
                    if let Some(object) = value.as_object() {
                        for (name, sub) in rule.as_object().unwrap() {
                            if let Some(member) = object.get(name) {
                                self.check(sub, member, &format!("{at}.{name}"), errors);
                            }
                        }
                    }
                }
                "required" => {
                    if let Some(object) = value.as_object() {
                        for name in rule.as_array().unwrap().iter().filter_map(Value::as_str) {
                            if !object.contains_key(name) {
                                errors.push(format!("{at}: `{name}` is missing"));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    let known = schema.get("properties").and_then(Value::as_object);
                    let extra = value
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(name, _)| !known.is_some_and(|k| k.contains_key(*name)));
                    for (name, member) in extra {
                        match rule {
                            Value::Bool(true) => {}
                            Value::Bool(false) => {
                                errors.push(format!("{at}: `{name}` is not documented"));
                            }
                            sub => self.check(sub, member, &format!("{at}.{name}"), errors),
                        }
                    }
                }
                "items" => {
                    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                        self.check(rule, item, &format!("{at}[{i}]"), errors);
                    }
                }
                "oneOf" | "anyOf" => {
                    let outcomes: Vec<Vec<String>> = rule
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|option| self.errors(option, value))
                        .collect();
                    let passing = outcomes.iter().filter(|e| e.is_empty()).count();
                    let fine = if keyword == "oneOf" {
                        passing == 1
                    } else {
                        passing >= 1
                    };
                    if !fine {
                        let closest = outcomes
                            .iter()
                            .filter(|e| !e.is_empty())
                            .min_by_key(|e| e.len())
                            .map(|e| e.join("; "))
                            .unwrap_or_default();
                        errors.push(format!(
                            "{at}: {passing} of the {} `{keyword}` alternatives fit (closest: {closest})",
                            outcomes.len()
                        ));
                    }
                }
                "minimum" | "maximum" => {
                    if let (Some(n), Some(bound)) = (value.as_f64(), rule.as_f64()) {
                        let out = if keyword == "minimum" {
                            n < bound
                        } else {
                            n > bound
                        };
                        if out {
                            errors.push(format!("{at}: {n} is beyond the {keyword} {bound}"));
                        }
                    }
                }
                "minLength" | "maxLength" => {
                    if let (Some(text), Some(bound)) = (value.as_str(), rule.as_u64()) {
                        let n = text.chars().count() as u64;
                        let out = if keyword == "minLength" {
                            n < bound
                        } else {
                            n > bound
                        };
                        if out {
                            errors.push(format!(
                                "{at}: {n} characters is beyond the {keyword} {bound}"
                            ));
                        }
                    }
                }
                other if ANNOTATIONS.contains(&other) => {}
                other => errors.push(format!(
                    "{at}: the schema uses `{other}`, which this test's validator does not check"
                )),
            }
        }
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[test]
fn the_validator_rejects_what_a_schema_forbids() {
    let root = json!({"components": {"schemas": {
        "Point": {
            "type": "object",
            "required": ["x", "tag"],
            "additionalProperties": false,
            "properties": {
                "x": {"type": "integer", "minimum": 0, "maximum": 10},
                "tag": {"type": "string", "enum": ["a", "b"]},
                "note": {"type": ["string", "null"], "maxLength": 3},
                "list": {"type": "array", "items": {"$ref": "#/components/schemas/Point"}},
                "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}}
            }
        }
    }}});
    let validator = Validator::new(&root);
    let point = json!({"$ref": "#/components/schemas/Point"});
    let fine = json!({"x": 3, "tag": "a", "note": null, "list": [{"x": 0, "tag": "b"}],
        "either": 4, "counts": {"a": 1}});
    assert_eq!(validator.errors(&point, &fine), Vec::<String>::new());
    for (bad, why) in [
        (
            json!({"x": 3, "tag": "a", "extra": 1}),
            "`extra` is not documented",
        ),
        (json!({"x": 3}), "`tag` is missing"),
        (json!({"x": 3.5, "tag": "a"}), "is not of type"),
        (json!({"x": 11, "tag": "a"}), "beyond the maximum"),
        (json!({"x": -1, "tag": "a"}), "beyond the minimum"),
        (json!({"x": 3, "tag": "c"}), "is not one of"),
        (json!({"x": 3, "tag": "a", "note": "long"}), "maxLength"),
        (
            json!({"x": 3, "tag": "a", "list": [{"x": 1}]}),
            "$.list[0]: `tag` is missing",
        ),
        (
            json!({"x": 3, "tag": "a", "either": true}),
            "0 of the 2 `oneOf`",
        ),
        (
            json!({"x": 3, "tag": "a", "counts": {"a": "1"}}),
            "$.counts.a",
        ),
        (json!(null), "is not of type"),
    ] {
        let errors = validator.errors(&point, &bad).join("\n");
        assert!(
            errors.contains(why),
            "{bad} should break `{why}`, got: {errors:?}"
        );
    }
    // Both alternatives fit: not `oneOf`.
    let ambiguous = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
    assert!(!validator.errors(&ambiguous, &json!(1)).is_empty());
    // A keyword the validator does not know is an error, never ignored.
    let unknown = json!({"type": "string", "pattern": "^a"});
    assert!(validator.errors(&unknown, &json!("b"))[0].contains("`pattern`"));
}

// ---------------------------------------------------------------------------
// The spec.

fn load_spec() -> Value {
    serde_saphyr::from_str::<Value>(SPEC)
        .unwrap_or_else(|e| panic!("specs/http-api.yaml is not YAML that serde-saphyr reads: {e}"))
}

/// The route pattern of `ROUTES` that a path matches, if any.
fn route_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    ROUTES
        .iter()
        .map(|(_, pattern, _)| *pattern)
        .find(|pattern| {
            let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.starts_with('{') || p == s)
        })
}

/// `(METHOD, path)` of every operation in the spec.
fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (key, _) in item.as_object().unwrap() {
            if METHODS.contains(&key.as_str()) {
                operations.insert((key.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[test]
fn the_spec_and_the_router_agree() {
    let spec = load_spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let router: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect();
    let documented = spec_operations(&spec);
    let missing: Vec<_> = router.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&router).collect();
    assert!(
        missing.is_empty(),
        "routes missing from specs/http-api.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "operations in specs/http-api.yaml that the router does not have: {extra:?}"
    );
    for (method, path) in &documented {
        let operation = &spec["paths"][path][method.to_ascii_lowercase()];
        assert!(
            operation["responses"].is_object(),
            "{method} {path}: no responses"
        );
        // Every `{name}` of the path is a declared path parameter, and back.
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(in_path, declared, "{method} {path}: path parameters");
        for status in operation["responses"].as_object().unwrap().keys() {
            assert!(
                status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                "{method} {path}: response `{status}` is not a status code"
            );
        }
    }
}

#[test]
fn every_example_in_the_spec_fits_its_schema() {
    let spec = load_spec();
    let validator = Validator::new(&spec);
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut stack = vec![("$".to_owned(), &spec)];
    while let Some((at, node)) = stack.pop() {
        match node {
            Value::Object(object) => {
                // A parameter or media type: its examples fit its `schema`;
                // a schema: its example fits itself.
                let schema = object.get("schema").unwrap_or(node);
                let mut examples: Vec<&Value> = object.get("example").into_iter().collect();
                if object.contains_key("schema") {
                    let named = object.get("examples").and_then(Value::as_object);
                    examples.extend(named.into_iter().flatten().map(|(_, e)| &e["value"]));
                }
                for example in examples {
                    checked += 1;
                    let errors = validator.errors(schema, example);
                    if !errors.is_empty() {
                        failures.push(format!("{at}: {}", errors.join("; ")));
                    }
                }
                for (key, child) in object {
                    if key != "example" && key != "examples" {
                        stack.push((format!("{at}.{key}"), child));
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    stack.push((format!("{at}[{i}]"), child));
                }
            }
            _ => {}
        }
    }
    assert!(checked >= 20, "only {checked} examples in the spec");
    assert!(
        failures.is_empty(),
        "examples that break their schema:\n{}",
        failures.join("\n")
    );
}

/// The spec, and the answers checked against it.
struct Contract {
    spec: Value,
    /// `(METHOD, route pattern, status)` of every answer checked; `*` for
    /// answers to paths outside the spec.
    seen: Mutex<BTreeSet<(String, String, u16)>>,
}

impl Contract {
    fn load() -> Contract {
        Contract {
            spec: load_spec(),
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    fn pointer(&self, pointer: &str) -> &Value {
        self.spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("the spec has nothing at {pointer}"))
    }

    fn operation(&self, method: &str, pattern: &str) -> Option<&Value> {
        self.spec["paths"]
            .get(pattern)?
            .get(method.to_ascii_lowercase())
    }

    /// Check one answer against the spec; its body as JSON (a string for text).
    fn check(&self, method: &str, target: &str, reply: &Reply) -> Value {
        let path = target.split('?').next().unwrap_or(target);
        let status = reply.status;
        let (key, response) = match route_of(path) {
            None => {
                assert_eq!(status, 404, "{method} {target}: no such route, so 404");
                (
                    ("*".into(), "*".into(), 404),
                    self.pointer("/components/responses/NotFound"),
                )
            }
            Some(pattern) => match self.operation(method, pattern) {
                None => {
                    assert_eq!(status, 405, "{method} {target}: {pattern} has no {method}");
                    (
                        ("*".into(), "*".into(), 405),
                        self.pointer("/components/responses/MethodNotAllowed"),
                    )
                }
                Some(operation) => {
                    let response = operation["responses"]
                        .get(status.to_string())
                        .unwrap_or_else(|| {
                            panic!(
                                "{method} {target} answered {status}, which the spec does not document for {pattern}: {}",
                                reply.text
                            )
                        });
                    let response = match response.get("$ref").and_then(Value::as_str) {
                        Some(reference) => self.pointer(&reference[1..]),
                        None => response,
                    };
                    ((method.into(), pattern.into(), status), response)
                }
            },
        };
        let media = reply.content_type.split(';').next().unwrap_or("").trim();
        let content = response["content"].get(media).unwrap_or_else(|| {
            panic!(
                "{method} {target} → {status} with Content-Type `{}`, which the spec does not document",
                reply.content_type
            )
        });
        let value = if media == "application/json" {
            assert_eq!(
                reply.cache_control.as_deref(),
                Some("no-store"),
                "{method} {target}: JSON answers are not cached"
            );
            serde_json::from_str(&reply.text).unwrap_or_else(|e| {
                panic!(
                    "{method} {target} → {status}: not JSON ({e}): {}",
                    reply.text
                )
            })
        } else {
            Value::String(reply.text.clone())
        };
        let errors = Validator::new(&self.spec).errors(&content["schema"], &value);
        assert!(
            errors.is_empty(),
            "{method} {target} → {status}: the answer breaks the spec:\n  {}\nanswer: {}",
            errors.join("\n  "),
            brief(&value)
        );
        self.seen.lock().unwrap().insert(key);
        value
    }

    /// Every documented answer but 500 and 507 was seen (507, a full disk,
    /// needs a mounted filesystem: `cli/tests/it/reliability.rs` checks it).
    fn assert_all_seen(&self) {
        let seen = self.seen.lock().unwrap();
        let mut expected: BTreeSet<(String, String, u16)> =
            BTreeSet::from([("*".into(), "*".into(), 404), ("*".into(), "*".into(), 405)]);
        for (method, path) in spec_operations(&self.spec) {
            let operation = self.operation(&method, &path).unwrap();
            for status in operation["responses"].as_object().unwrap().keys() {
                let status: u16 = status.parse().unwrap();
                if status != 500 && status != 507 {
                    expected.insert((method.clone(), path.clone(), status));
                }
            }
        }
        let unseen: Vec<_> = expected.difference(&seen).collect();
        assert!(
            unseen.is_empty(),
            "documented answers the test never saw: {unseen:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// A node on a loopback port, and clients.

use support::SampleNode as TestNode;

fn spawn_node() -> TestNode {
    TestNode::spawn()
}

impl TestNode {
    /// The short form of this node's hub id (`z6Mk…`).
    fn short_hub(&self) -> &str {
        self.hub.strip_prefix("did:key:").unwrap()
    }
}

/// An HTTP client of the test node that checks every answer against the spec.
struct Api {
    /// Where requests go (a test may point it at a second node).
    base: std::sync::Mutex<String>,
    agent: ureq::Agent,
    contract: Contract,
}

impl Api {
    fn new(node: &TestNode) -> Api {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(NET_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Api {
            base: std::sync::Mutex::new(format!("http://{}", node.addr)),
            agent,
            contract: Contract::load(),
        }
    }

    fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let base = self.base.lock().unwrap().clone();
        support::send(
            &self.agent,
            &format!("{base}{target}"),
            method,
            headers,
            body,
        )
    }

    /// Send a request; check the answer against the spec; status and JSON.
    fn call(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let reply = self.send(method, target, headers, body);
        let value = self.contract.check(method, target, &reply);
        (reply.status, value)
    }

    fn get(&self, target: &str) -> (u16, Value) {
        self.call("GET", target, &[], b"")
    }

    /// GET that must answer 200.
    fn ok(&self, target: &str) -> Value {
        let (status, value) = self.get(target);
        assert_eq!(status, 200, "GET {target}: {value}");
        value
    }

    fn post(&self, target: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        self.call("POST", target, &[("Content-Type", content_type)], body)
    }
}

/// Assert an error answer: status, code and field.
#[track_caller]
fn assert_error(answer: &(u16, Value), status: u16, code: &str, field: Option<&str>) {
    let (got, value) = answer;
    assert_eq!(*got, status, "{value}");
    assert_eq!(value["error"]["code"], code, "{value}");
    assert_eq!(value["error"]["field"].as_str(), field, "{value}");
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 10),
        "an error says what was wrong: {value}"
    );
}

/// Percent-encode a query value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// A test vector of `specs/vectors/`, by name.
fn vector(name: &str) -> essaim_protocol::vectors::Vector {
    essaim_protocol::vectors::generate()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// An initiative of `key`, signed.
fn initiative(key: &HubKey, slug: &str, seq: u64, now: u64) -> SignedRecord {
    let body = Body::from_json(json!({
        "v": 1, "kind": "initiative", "author": key.hub_id().to_string(), "slug": slug,
        "seq": seq, "created": now - 5,
        "name": "Ludothèque itinérante Zébulon",
        "summary": {"fr": "Une ludothèque qui circule de quartier en quartier, en triporteur."},
        "themes": ["culture"], "origin": "com:69123", "stage": "experimentation",
    }))
    .unwrap();
    essaim_protocol::sign(body, key, now).unwrap()
}

fn slugs(search: &Value) -> Vec<&str> {
    search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["slug"].as_str())
        .collect()
}

fn has_hit(search: &Value, address: &str) -> bool {
    search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["address"] == address)
}

/// Poll `target` every 50 ms until `done` holds, within `within`; how long it took.
fn poll(
    api: &Api,
    target: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if done(&api.ok(target)) {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// Raw HTTP, for what a well-behaved client does not send.

/// Send `head` and `body` on a new connection (from another thread, stopping
/// at the first write error: the server may close early) and read the answer
/// without waiting for the sending to end. Returns the answer, the body
/// bytes that were sent, and how long the answer took.
fn raw_exchange(addr: SocketAddr, head: String, body: Vec<Vec<u8>>) -> (Reply, usize, Duration) {
    let mut stream = TcpStream::connect_timeout(&addr, NET_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(NET_TIMEOUT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let start = Instant::now();
    let sending = std::thread::spawn(move || {
        let mut sent = 0;
        if writer.write_all(head.as_bytes()).is_err() {
            return sent;
        }
        for piece in body {
            if writer.write_all(&piece).is_err() {
                break;
            }
            sent += piece.len();
        }
        let _ = writer.flush();
        sent
    });
    let reply = read_reply(&mut stream);
    let elapsed = start.elapsed();
    let _ = stream.shutdown(Shutdown::Both);
    let sent = sending.join().unwrap();
    (reply, sent, elapsed)
}

/// Read one HTTP/1.1 answer (a `Content-Length` body, or until the end).
fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).unwrap_or_else(|e| {
            panic!(
                "no answer: {e} (read so far: {:?})",
                String::from_utf8_lossy(&buffer)
            )
        });
        assert!(n > 0, "the connection closed without an answer");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head}"));
    let mut content_type = String::new();
    let mut cache_control = None;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = value,
                "cache-control" => cache_control = Some(value),
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => panic!("the test reads Content-Length answers only"),
                _ => {}
            }
        }
    }
    let mut body = buffer[header_end..].to_vec();
    while length.is_none_or(|n| body.len() < n) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if length.is_none() => panic!("reading the answer: {e}"),
            Err(e) => panic!(
                "reading the answer ({} of {length:?} bytes): {e}",
                body.len()
            ),
        }
    }
    Reply {
        status,
        content_type,
        cache_control,
        allow: None,
        www_authenticate: None,
        text: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A chunk of a chunked body.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

// ---------------------------------------------------------------------------
// The contract, route by route.

#[test]
fn the_api_keeps_its_contract() {
    let mut node = spawn_node();
    let api = Api::new(&node);
    liveness_and_status(&api, &node);
    search(&api, &node);
    documented_parameters_are_accepted(&api);
    initiatives(&api);
    hubs(&api, &node);
    records_paging(&api, &node);
    ingest(&api);
    publish(&api, &node);
    trust(&api, &node);
    routing(&api);
    mirrors(&api, &node);
    hostile_bodies(&api, &node);
    api.contract.assert_all_seen();
    if let Some(Err(e)) = node.stop() {
        panic!("{e}");
    }
}

fn mirrors(api: &Api, node: &TestNode) {
    // The test node does not mirror (its sample repositories are on the internet).
    let list = api.ok("/api/v1/mirrors");
    assert_eq!(list["enabled"], false);
    assert_eq!(list["summary"]["total"], 0);
    assert_error(
        &api.get("/api/v1/mirrors?x=1"),
        400,
        "bad_parameter",
        Some("x"),
    );
    let authorization = format!("Bearer {}", node.token);
    let sync = |headers: &[(&str, &str)], body: &[u8]| {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        api.call("POST", "/api/v1/mirrors/sync", &all, body)
    };
    let auth = [("Authorization", authorization.as_str())];
    let (status, answer) = sync(&auth, b"{}");
    assert_eq!(
        (status, &answer["accepted"]),
        (202, &json!(false)),
        "{answer}"
    );
    let answer = sync(&auth, br#"{"initiative": "nope"}"#);
    assert_error(&answer, 400, "bad_parameter", Some("initiative"));
    let answer = sync(&[], b"{}");
    assert_error(&answer, 401, "unauthorized", None);
}

fn liveness_and_status(api: &Api, node: &TestNode) {
    let (status, text) = api.get("/healthz");
    assert_eq!((status, text), (200, json!("ok\n")));
    // The metrics' own contents are checked in tests/metrics.rs.
    let (status, text) = api.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        text.as_str().is_some_and(|t| t.ends_with("# EOF\n")),
        "{text}"
    );

    let state = api.ok("/api/v1/status");
    assert_eq!(state["hub"], node.hub.as_str());
    assert_eq!(state["name"], "Ruche de test");
    assert_eq!(state["version"], env!("CARGO_PKG_VERSION"));
    // The sample catalogue and this hub's own profile.
    assert_eq!(state["store"]["records"], node.sample_records + 1);
    assert_eq!(
        state["store"]["heads"]["initiative"],
        node.sample_initiatives
    );
    assert_eq!(state["index"]["documents"], node.sample_initiatives);
    assert_eq!(state["index"]["behind"], 0);
    assert_eq!(state["index"]["rebuilt_at_start"], Value::Null);
    assert_eq!(state["sync"]["digest"].as_str().map(str::len), Some(64));

    let peers = api.ok("/api/v1/peers");
    assert_eq!(peers["connected"], json!([]));
    let (status, _) = api.get("/api/v1/peers?all=1");
    assert_eq!(status, 400);
}

fn search(api: &Api, node: &TestNode) {
    let all = api.ok("/api/v1/search");
    let total = all["total"].as_u64().unwrap();
    assert_eq!(total, node.sample_initiatives as u64);
    assert_eq!(
        all["hits"].as_array().unwrap().len(),
        total.min(20) as usize
    );
    assert_eq!(all["all_words"], true);
    // An empty `q` is no `q`.
    assert_eq!(api.ok("/api/v1/search?q=")["total"], total);

    // Typo tolerance: « solidair ».
    let typo = api.ok(&format!("/api/v1/search?q={}", enc("epicerie solidair")));
    assert!(
        slugs(&typo).contains(&"epicerie-solidaire-buers"),
        "{:?}",
        slugs(&typo)
    );
    assert!(
        typo["hits"][0]["name_highlighted"]
            .as_str()
            .unwrap()
            .contains("<mark>")
    );

    // A territory filter matches initiatives anywhere within it.
    let aura = api.ok("/api/v1/search?territory=reg:84&limit=100");
    let in_aura = aura["total"].as_u64().unwrap();
    assert!(in_aura > 0 && in_aura < total, "{in_aura} of {total}");
    let facet = aura["facets"]["territory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["value"] == "reg:84")
        .cloned();
    assert_eq!(facet.map(|f| f["count"].clone()), Some(json!(in_aura)));

    // Facets only; paging; sort by date.
    let facets = api.ok("/api/v1/search?limit=0");
    assert_eq!(facets["hits"], json!([]));
    assert_eq!(facets["total"], total);
    assert!(!facets["facets"]["theme"].as_array().unwrap().is_empty());
    let newest = api.ok("/api/v1/search?sort=newest&limit=100");
    let created: Vec<u64> = newest["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created"].as_u64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let page = api.ok("/api/v1/search?sort=newest&limit=2&offset=2");
    assert_eq!(page["hits"][0]["address"], newest["hits"][2]["address"]);
    assert_eq!(page["hits"][1]["address"], newest["hits"][3]["address"]);

    // Filters take what the facets give, hubs in either form.
    let hub = all["hits"][0]["hub"].as_str().unwrap();
    let short = hub.strip_prefix("did:key:").unwrap();
    let by_hub = api.ok(&format!("/api/v1/search?hub={short}&limit=100"));
    assert!(by_hub["total"].as_u64().unwrap() > 0);
    assert!(
        by_hub["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["hub"] == hub)
    );
    let label = &facets["facets"]["label"][0];
    let by_label = api.ok(&format!(
        "/api/v1/search?label={}",
        enc(label["value"].as_str().unwrap())
    ));
    assert_eq!(by_label["total"], label["count"]);
    let themes = &facets["facets"]["theme"];
    let (a, b) = (&themes[0], &themes[1]);
    let either = api.ok(&format!(
        "/api/v1/search?theme={}&theme={}",
        a["value"].as_str().unwrap(),
        b["value"].as_str().unwrap()
    ));
    let n = either["total"].as_u64().unwrap();
    let (na, nb) = (a["count"].as_u64().unwrap(), b["count"].as_u64().unwrap());
    assert!(
        n >= na.max(nb) && n <= na + nb,
        "OR within a parameter: {n}, {na}, {nb}"
    );

    // Refused parameters name themselves.
    for (query, field) in [
        ("territory=reg:99", "territory"),
        ("territory=Lyon", "territory"),
        ("colour=blue", "colour"),
        ("limit=1000", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("offset=10001", "offset"),
        ("sort=popular", "sort"),
    ] {
        let answer = api.get(&format!("/api/v1/search?{query}"));
        assert_error(&answer, 400, "bad_parameter", Some(field));
    }
    api.ok("/api/v1/search?limit=100&offset=10000");
}

/// Every query parameter the spec documents, with its example, is accepted.
fn documented_parameters_are_accepted(api: &Api) {
    for (route, pattern) in [
        ("/api/v1/search", "/api/v1/search"),
        ("/api/v1/records", "/api/v1/records"),
    ] {
        let parameters = api.contract.operation("GET", pattern).unwrap()["parameters"].clone();
        for parameter in parameters.as_array().unwrap() {
            let name = parameter["name"].as_str().unwrap();
            let values: Vec<String> = match &parameter["example"] {
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
                Value::String(text) => vec![text.clone()],
                Value::Number(n) => vec![n.to_string()],
                other => panic!("{route} `{name}`: no example ({other})"),
            };
            let query: Vec<String> = values
                .iter()
                .map(|v| format!("{name}={}", enc(v)))
                .collect();
            api.ok(&format!("{route}?{}", query.join("&")));
        }
    }
}

fn initiatives(api: &Api) {
    let all = api.ok("/api/v1/search?limit=100");
    let mut endorsed = 0;
    for hit in all["hits"].as_array().unwrap() {
        let hub = hit["hub"].as_str().unwrap();
        let short = hub.strip_prefix("did:key:").unwrap();
        let slug = hit["slug"].as_str().unwrap();
        let view = api.ok(&format!("/api/v1/initiatives/{short}/{slug}"));
        assert_eq!(view["address"], hit["address"]);
        assert_eq!(view["short"], format!("{short}/{slug}"));
        assert_eq!(view["retracted"], false);
        assert_eq!(view["head"]["body"]["kind"], "initiative");
        assert_eq!(view["head"]["body"]["name"], hit["name"]);
        assert_eq!(view["provenance"]["author"], hub);
        assert_eq!(view["provenance"]["id"], view["head"]["id"]);
        assert_eq!(view["provenance"]["received_from"], "import");
        assert_eq!(view["hub"]["body"]["author"], hub);
        let history = view["history"].as_array().unwrap();
        assert_eq!(history.last().unwrap()["id"], view["head"]["id"]);
        let endorsements = view["endorsements"].as_array().unwrap();
        for e in endorsements {
            assert_eq!(e["body"]["subject"], hit["address"]);
        }
        endorsed += endorsements.iter().filter(|e| e["valid"] == true).count();
    }
    assert!(endorsed > 0, "the sample catalogue has endorsements");

    // The full hub id works too; a percent-encoded colon as well.
    let hub = all["hits"][0]["hub"].as_str().unwrap();
    let slug = all["hits"][0]["slug"].as_str().unwrap();
    let full = api.ok(&format!("/api/v1/initiatives/{hub}/{slug}"));
    assert_eq!(full["address"], all["hits"][0]["address"]);
    let encoded = api.ok(&format!(
        "/api/v1/initiatives/{}/{slug}",
        hub.replace(':', "%3A")
    ));
    assert_eq!(encoded["address"], all["hits"][0]["address"]);

    let short = hub.strip_prefix("did:key:").unwrap();
    assert_error(
        &api.get(&format!("/api/v1/initiatives/{short}/nulle-part")),
        404,
        "not_found",
        None,
    );
    assert_error(
        &api.get("/api/v1/initiatives/not-a-hub/nulle-part"),
        400,
        "bad_parameter",
        Some("hub"),
    );
    assert_error(
        &api.get(&format!("/api/v1/initiatives/{short}/Pas_Un_Slug")),
        400,
        "bad_parameter",
        Some("slug"),
    );
}

fn hubs(api: &Api, node: &TestNode) {
    let hubs = api.ok("/api/v1/hubs");
    let hubs = hubs["hubs"].as_array().unwrap();
    assert_eq!(hubs.len(), catalogue::key_names().len() + 1);
    let ids: BTreeSet<&str> = hubs.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), hubs.len(), "one profile per hub");
    let own = hubs.iter().find(|h| h["id"] == node.hub.as_str()).unwrap();
    assert_eq!(own["name"], "Ruche de test");
    assert_eq!(own["hub_kind"], "ruche");
    assert_eq!(own["territories"], json!(["dep:69"]));
    assert_eq!(own["record"]["body"]["kind"], "hub");
    assert_eq!(own["record"]["source"], "publish");
}

fn records_paging(api: &Api, node: &TestNode) {
    let mut since = 0;
    let mut records = Vec::new();
    let mut pages = 0;
    loop {
        let page = api.ok(&format!("/api/v1/records?since={since}&limit=7"));
        pages += 1;
        let batch = page["records"].as_array().unwrap();
        for record in batch {
            let change = record["change"].as_u64().unwrap();
            assert!(change > since, "change {change} after since {since}");
            since = change;
        }
        assert_eq!(page["next"], since, "`next` is the last change of the page");
        assert_eq!(page["more"], batch.len() == 7);
        records.extend(batch.iter().cloned());
        if page["more"] == false {
            break;
        }
        assert!(pages < 1000, "paging does not end");
    }
    assert_eq!(records.len(), node.sample_records + 1);
    assert!(pages > 1);
    // Past the end: empty, `next` stays, no more.
    let end = api.ok(&format!("/api/v1/records?since={since}"));
    assert_eq!(end, json!({"records": [], "next": since, "more": false}));
    // Each view verifies on its own once the node's additions are removed.
    for record in &records {
        let mut view = record.clone();
        for extra in ["change", "received_at", "source"] {
            view.as_object_mut().unwrap().remove(extra);
        }
        let verified =
            essaim_protocol::verify_json(&view.to_string(), essaim_node::unix_now()).unwrap();
        assert_eq!(verified.id().to_string(), record["id"].as_str().unwrap());
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("since=-1", "since"),
        ("since=abc", "since"),
    ] {
        let answer = api.get(&format!("/api/v1/records?{query}"));
        assert_error(&answer, 400, "bad_parameter", Some(field));
    }
    assert_eq!(
        api.ok("/api/v1/records?limit=1000")["records"]
            .as_array()
            .unwrap()
            .len(),
        records.len()
    );
}

fn ingest(api: &Api) {
    let now = essaim_node::unix_now();
    let key = HubKey::from_seed(&[7; 32]);
    let short = key.hub_id().short();
    let v2 = initiative(&key, "ludotheque-zebulon", 2, now);
    let address = v2.address().to_string();
    let view = serde_json::to_vec(&v2.to_json_view()).unwrap();

    // A new record: 201, then searchable within moments.
    let posted = Instant::now();
    let (status, outcome) = api.post("/api/v1/records", "application/json", &view);
    assert_eq!(status, 201, "{outcome}");
    assert_eq!(outcome["outcome"], "head");
    assert_eq!(outcome["id"], v2.id().to_string());
    assert_eq!(outcome["address"], address);
    assert_eq!(
        outcome["record"],
        serde_json::to_value(v2.to_json_view()).unwrap()
    );
    let found = poll(api, "/api/v1/search?q=zebulon", SEARCHABLE_WITHIN, |s| {
        has_hit(s, &address)
    });
    let delay = posted.elapsed();
    println!(
        "searchable: a record posted to /api/v1/records was found by /api/v1/search after {} ms (answer to the POST included)",
        delay.as_millis()
    );
    assert!(
        found.is_some(),
        "not searchable within {SEARCHABLE_WITHIN:?}"
    );

    // The same record again, as JSON or as CBOR: a duplicate.
    let (status, again) = api.post("/api/v1/records", "application/json", &view);
    assert_eq!((status, &again["outcome"]), (200, &json!("duplicate")));
    let (status, again) = api.post("/api/v1/records", "application/cbor", &v2.to_envelope());
    assert_eq!((status, &again["outcome"]), (200, &json!("duplicate")));
    // An older version: kept as history.
    let v1 = initiative(&key, "ludotheque-zebulon", 1, now);
    let (status, older) = api.post("/api/v1/records", "application/cbor", &v1.to_envelope());
    assert_eq!((status, &older["outcome"]), (201, &json!("history")));

    let target = format!("/api/v1/initiatives/{short}/ludotheque-zebulon");
    let view_of = api.ok(&target);
    assert_eq!(view_of["head"]["id"], v2.id().to_string());
    assert_eq!(view_of["head"]["source"], "http");
    assert_eq!(view_of["history"].as_array().unwrap().len(), 2);
    assert_eq!(view_of["hub"], Value::Null, "no profile of this hub here");

    // Refused records name the rule and the field. `com:69999` is no
    // commune: an initiative signed by `HubKey::from_seed(&[1; 32])`.
    let unknown_commune = vector("invalid-unknown-commune");
    let envelope = unhex(unknown_commune.envelope_hex.as_deref().unwrap());
    let answer = api.post("/api/v1/records", "application/cbor", &envelope);
    assert_error(&answer, 400, "unknown_commune", Some("origin"));
    // The same bytes without a content type are recognised as CBOR.
    let answer = api.post("/api/v1/records", "application/octet-stream", &envelope);
    assert_error(&answer, 400, "unknown_commune", Some("origin"));
    let edited = vector("invalid-json-view-body-edited");
    let answer = api.post(
        "/api/v1/records",
        "application/json",
        edited.json_view.unwrap().to_string().as_bytes(),
    );
    assert_error(&answer, 400, "view_mismatch", Some("body"));
    // Tampered: a byte of the payload, or of the signature.
    let mut tampered = v2.to_envelope();
    let at = tampered.windows(6).position(|w| w == b"Ludoth").unwrap();
    tampered[at] = b'l';
    let answer = api.post("/api/v1/records", "application/cbor", &tampered);
    assert_error(&answer, 400, "bad_signature", None);
    let mut forged = serde_json::to_value(v2.to_json_view()).unwrap();
    let sig = forged["sig"].as_str().unwrap();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    forged["sig"] = json!(format!("{first}{}", &sig[1..]));
    let answer = api.post(
        "/api/v1/records",
        "application/json",
        forged.to_string().as_bytes(),
    );
    assert_error(&answer, 400, "bad_signature", None);
    // Not a record at all.
    let (status, _) = api.post("/api/v1/records", "application/json", b"{\"id\": 1}");
    assert_eq!(status, 400);
    // Only media types a cross-site page cannot send without a CORS
    // preflight: the types of simple requests, or none, are refused.
    for media in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let answer = api.post("/api/v1/records", media, &envelope);
        assert_error(&answer, 415, "unsupported_media_type", None);
    }
    let answer = api.call("POST", "/api/v1/records", &[], &envelope);
    assert_error(&answer, 415, "unsupported_media_type", None);
    let (status, _) = api.post(
        "/api/v1/records",
        "application/json; charset=utf-8",
        b"bonjour",
    );
    assert_eq!(status, 400);
    // A payload over 64 KiB in a body under the body limit: 413 too.
    let mut big = serde_json::to_value(v2.to_json_view()).unwrap();
    big["payload"] = json!("A".repeat(90_000));
    big.as_object_mut().unwrap().remove("body");
    let answer = api.post(
        "/api/v1/records",
        "application/json",
        big.to_string().as_bytes(),
    );
    assert_error(&answer, 413, "too_large", None);

    // A signed retraction withdraws the initiative: 410, out of search.
    let retraction = Body::from_json(json!({
        "v": 1, "kind": "retraction", "author": key.hub_id().to_string(),
        "slug": "ludotheque-zebulon", "seq": 3, "created": now - 1, "target": "initiative",
        "reason": "La ludothèque a fermé.",
    }))
    .unwrap();
    let retraction = essaim_protocol::sign(retraction, &key, now).unwrap();
    let (status, outcome) = api.post(
        "/api/v1/records",
        "application/json",
        &serde_json::to_vec(&retraction.to_json_view()).unwrap(),
    );
    assert_eq!((status, &outcome["outcome"]), (201, &json!("head")));
    assert_eq!(outcome["address"], address);
    let (status, gone) = api.get(&target);
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["retracted"], true);
    assert_eq!(gone["head"]["body"]["kind"], "retraction");
    let out = poll(api, "/api/v1/search?q=zebulon", SEARCHABLE_WITHIN, |s| {
        !has_hit(s, &address)
    });
    assert!(out.is_some(), "a retracted initiative leaves the search");
}

fn publish(api: &Api, node: &TestNode) {
    let authorization = format!("Bearer {}", node.token);
    let bearer = authorization.as_str();
    let publish = |auth: Option<&str>, content_type: &str, draft: &str| {
        let mut headers = vec![("Content-Type", content_type)];
        if let Some(auth) = auth {
            headers.push(("Authorization", auth));
        }
        api.call("POST", "/api/v1/publish", &headers, draft.as_bytes())
    };
    let draft = r#"
kind = "initiative"
slug = "jardin-des-possibles"
name = "Jardin des possibles"
summary = "Un jardin partagé où l'on apprend à cultiver en pied d'immeuble."
themes = ["alimentation"]
origin = "com:69123"
stage = "emergence"
"#;

    // The operator token, and only it.
    let answer = publish(None, "application/toml", draft);
    assert_error(&answer, 401, "unauthorized", None);
    let answer = publish(Some("Bearer pas-le-bon-jeton"), "application/toml", draft);
    assert_error(&answer, 401, "unauthorized", None);
    let answer = publish(Some(node.token.as_str()), "application/toml", draft);
    assert_error(&answer, 401, "unauthorized", None);

    // A valid draft: signed by this hub, stored, searchable at once.
    let (status, outcome) = publish(Some(bearer), "application/toml", draft);
    assert_eq!(status, 201, "{outcome}");
    assert_eq!(outcome["outcome"], "head");
    let address = format!("{}/initiative/jardin-des-possibles", node.hub);
    assert_eq!(outcome["address"], address);
    assert_eq!(outcome["record"]["body"]["author"], node.hub.as_str());
    assert!(has_hit(&api.ok("/api/v1/search?q=possibles"), &address));
    let target = format!(
        "/api/v1/initiatives/{}/jardin-des-possibles",
        node.short_hub()
    );
    assert_eq!(api.ok(&target)["provenance"]["received_from"], "publish");

    // Refused drafts.
    let bad = json!({"kind": "initiative", "slug": "jardin-fantome", "name": "Jardin fantôme",
        "summary": "Introuvable.", "themes": ["alimentation"], "origin": "com:69999",
        "stage": "emergence"});
    let answer = publish(Some(bearer), "application/json", &bad.to_string());
    assert_error(&answer, 400, "unknown_commune", Some("origin"));
    let answer = publish(Some(bearer), "application/toml", "kind = ");
    assert_error(&answer, 400, "draft_syntax", None);
    let answer = publish(Some(bearer), "application/json", "[1, 2]");
    assert_error(&answer, 400, "draft_not_a_table", None);
    let other = format!(
        "{draft}author = \"{}\"\n",
        HubKey::from_seed(&[9; 32]).hub_id()
    );
    let answer = publish(Some(bearer), "application/toml", &other);
    assert_error(&answer, 400, "wrong_key", None);
    let answer = api.call(
        "POST",
        "/api/v1/publish",
        &[("Authorization", bearer)],
        b"\xff\xfe",
    );
    assert_error(&answer, 400, "bad_body", None);
    // A payload over 64 KiB: eight descriptions of 20 000 characters.
    let languages = ["fr", "en", "de", "es", "it", "pt", "nl", "ca"];
    let mut huge = bad.clone();
    huge["origin"] = json!("com:69123");
    huge["description"] = languages
        .iter()
        .map(|l| (l.to_string(), json!("e".repeat(20_000))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let answer = publish(Some(bearer), "application/json", &huge.to_string());
    assert_error(&answer, 413, "too_large", None);

    // A draft with its own `seq` and `created`, twice: the same record.
    let dated = format!(
        "{}seq = 5\ncreated = {}\n",
        draft.replace("jardin-des-possibles", "jardin-date"),
        essaim_node::unix_now() - 60
    );
    let (status, first) = publish(Some(bearer), "application/toml", &dated);
    assert_eq!((status, &first["outcome"]), (201, &json!("head")));
    let (status, second) = publish(Some(bearer), "application/toml", &dated);
    assert_eq!((status, &second["outcome"]), (200, &json!("duplicate")));
    assert_eq!(first["id"], second["id"]);

    // A retraction (in YAML, the format guessed): 410, out of search at once.
    let retraction = "kind: retraction\nslug: jardin-des-possibles\ntarget: initiative\nreason: Le bailleur a repris la parcelle.\n";
    let (status, outcome) = publish(Some(bearer), "text/plain", retraction);
    assert_eq!(
        (status, &outcome["outcome"]),
        (201, &json!("head")),
        "{outcome}"
    );
    assert_eq!(outcome["address"], address);
    let (status, gone) = api.get(&target);
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["retracted"], true);
    let kinds: Vec<&Value> = gone["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["kind"])
        .collect();
    assert_eq!(kinds, [&json!("initiative"), &json!("retraction")]);
    assert!(!has_hit(&api.ok("/api/v1/search?q=possibles"), &address));
}

fn routing(api: &Api) {
    for (method, target) in [
        ("GET", "/api"),
        ("GET", "/api/v1/nope"),
        ("GET", "/api/v2/status"),
        ("POST", "/api/v1/initiatives"),
        ("GET", "/api/v1/initiatives/a/b/c"),
    ] {
        let answer = api.call(method, target, &[], b"");
        assert_error(&answer, 404, "not_found", None);
    }
    for (method, target) in [
        ("DELETE", "/api/v1/search"),
        ("PUT", "/api/v1/records"),
        ("GET", "/api/v1/publish"),
        ("POST", "/healthz"),
        ("POST", "/metrics"),
        ("POST", "/api/v1/status"),
        ("DELETE", "/api/v1/initiatives/a/b"),
    ] {
        let answer = api.call(method, target, &[], b"");
        assert_error(&answer, 405, "method_not_allowed", None);
    }
    // 405 says what is allowed; 401 names the scheme.
    let reply = api.send("PUT", "/api/v1/records", &[], b"");
    assert_eq!(reply.allow.as_deref(), Some("GET, POST"));
    let reply = api.send(
        "POST",
        "/api/v1/publish",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.www_authenticate.as_deref(),
        Some("Bearer realm=\"essaim\"")
    );
    // Parameters: unknown ones, repeated ones, too many, out of range.
    assert_error(
        &api.get("/api/v1/status?x=1"),
        400,
        "bad_parameter",
        Some("x"),
    );
    assert_error(
        &api.get("/api/v1/hubs?page=2"),
        400,
        "bad_parameter",
        Some("page"),
    );
    assert_error(
        &api.get("/api/v1/records?foo=1"),
        400,
        "bad_parameter",
        Some("foo"),
    );
    assert_error(
        &api.get("/api/v1/records?since=18446744073709551615"),
        400,
        "bad_parameter",
        Some("since"),
    );
    assert_error(
        &api.get("/api/v1/search?limit=5&limit=1000"),
        400,
        "bad_parameter",
        Some("limit"),
    );
    assert_error(
        &api.get("/api/v1/search?theme=nonexistent"),
        400,
        "bad_parameter",
        Some("theme"),
    );
    assert_error(
        &api.get("/api/v1/search?stage="),
        400,
        "bad_parameter",
        Some("stage"),
    );
    let many: String = (0..65).map(|i| format!("theme=sante&x{i}=1&")).collect();
    assert_eq!(api.get(&format!("/api/v1/search?{many}")).0, 400);
    // Paths are percent-decoded, not form-decoded: `&` and `+` are themselves.
    assert_error(&api.get("/api/v1/status&foo"), 404, "not_found", None);
    assert_error(&api.get("/api/v1/status%26foo"), 404, "not_found", None);
}

fn hostile_bodies(api: &Api, node: &TestNode) {
    let check = |target: &str, reply: &Reply| api.contract.check("POST", target, reply);

    // 10 MB announced, a few KB sent: 413 before the client could finish.
    let head = format!(
        "POST /api/v1/records HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        node.addr,
        10 * 1024 * 1024
    );
    let mut start = b"{\"id\": \"".to_vec();
    start.resize(4096, b'a');
    let (reply, sent, took) = raw_exchange(node.addr, head, vec![start]);
    let value = check("/api/v1/records", &reply);
    assert_error(&(reply.status, value), 413, "too_large", None);
    assert!(sent < 10 * 1024 * 1024);
    println!(
        "10 MB announced: 413 after {} ms, with {sent} bytes of the body sent",
        took.as_millis()
    );

    // A draft: without the token, 401 before any of the body is read;
    // with it, 413 for a body over the limit.
    let head = format!(
        "POST /api/v1/publish HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
        node.addr,
        MAX_BODY_BYTES + 1
    );
    let (reply, _, _) = raw_exchange(node.addr, head, vec![b"kind = ".to_vec()]);
    let value = check("/api/v1/publish", &reply);
    assert_error(&(reply.status, value), 401, "unauthorized", None);
    let head = format!(
        "POST /api/v1/publish HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        node.addr,
        node.token,
        MAX_BODY_BYTES + 1
    );
    let (reply, _, _) = raw_exchange(node.addr, head, vec![b"kind = ".to_vec()]);
    let value = check("/api/v1/publish", &reply);
    assert_error(&(reply.status, value), 413, "too_large", None);

    // Chunked, one byte over the limit and no final chunk: 413 as soon as
    // the limit is passed, without waiting for the end.
    let head = format!(
        "POST /api/v1/records HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        node.addr
    );
    let mut pieces = Vec::new();
    let mut left = MAX_BODY_BYTES + 1;
    while left > 0 {
        let n = left.min(16 * 1024);
        pieces.push(chunk(&vec![b' '; n]));
        left -= n;
    }
    let (reply, sent, took) = raw_exchange(node.addr, head, pieces);
    let value = check("/api/v1/records", &reply);
    assert_error(&(reply.status, value), 413, "too_large", None);
    println!(
        "chunked body over the limit: 413 after {} ms ({sent} bytes sent, no final chunk)",
        took.as_millis()
    );

    // A chunked body within the limit is read in full.
    let mut view = api.ok("/api/v1/records?limit=1")["records"][0].clone();
    for extra in ["change", "received_at", "source"] {
        view.as_object_mut().unwrap().remove(extra);
    }
    let view = view.to_string().into_bytes();
    let head = format!(
        "POST /api/v1/records HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        node.addr
    );
    let (half, rest) = view.split_at(view.len() / 2);
    let (reply, _, _) = raw_exchange(
        node.addr,
        head,
        vec![chunk(half), chunk(rest), b"0\r\n\r\n".to_vec()],
    );
    let value = check("/api/v1/records", &reply);
    assert_eq!(
        (reply.status, &value["outcome"]),
        (200, &json!("duplicate")),
        "{value}"
    );

    // A chunked body that breaks the chunked framing.
    let head = format!(
        "POST /api/v1/records HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        node.addr
    );
    let (reply, _, _) = raw_exchange(node.addr, head, vec![b"zz\r\n".to_vec()]);
    let value = check("/api/v1/records", &reply);
    assert_error(&(reply.status, value), 400, "bad_body", None);

    // No Content-Length and not chunked: an empty body, refused at once.
    let head = format!(
        "POST /api/v1/records HTTP/1.1\r\nHost: {}\r\nContent-Type: application/cbor\r\n\r\n",
        node.addr
    );
    let (reply, _, _) = raw_exchange(node.addr, head, vec![]);
    let value = check("/api/v1/records", &reply);
    assert_eq!(reply.status, 400, "{value}");

    // Exactly at the limit: read, and refused for what it is, not its size.
    let mut at_limit = vec![b' '; MAX_BODY_BYTES];
    at_limit[0] = b'{';
    let answer = api.post("/api/v1/records", "application/json", &at_limit);
    assert_error(&answer, 400, "bad_view", None);
}

// ---------------------------------------------------------------------------
// Trust: policy state and changes, endorsements, suggestions, and the
// policy's answers to ingested records.

fn trust(api: &Api, node: &TestNode) {
    let authorization = format!("Bearer {}", node.token);
    let json_headers = [
        ("Content-Type", "application/json"),
        ("Authorization", authorization.as_str()),
    ];
    let state = api.ok("/api/v1/trust");
    assert_eq!(state["policy"]["mode"], "open");
    assert_eq!(state["own"], node.hub.as_str());
    let (status, _) = api.get("/api/v1/trust?mode=open");
    assert_eq!(status, 400);

    // Changes need the operator; bodies are checked.
    let blocked = HubKey::from_seed(&[71; 32]);
    let change = json!({"action": "block", "hub": blocked.hub_id().short()}).to_string();
    let (status, _) = api.post("/api/v1/trust", "application/json", change.as_bytes());
    assert_eq!(status, 401);
    let (status, answer) = api.call("POST", "/api/v1/trust", &json_headers, b"{\"action\": 3}");
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = api.call(
        "POST",
        "/api/v1/trust",
        &json_headers,
        br#"{"action": "befriend", "hub": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}"#,
    );
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("action"))
    );
    let (status, answer) = api.call(
        "POST",
        "/api/v1/trust",
        &json_headers,
        br#"{"action": "follow", "hub": "<script>"}"#,
    );
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("hub"))
    );
    let too_large = |target: &str| {
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            node.addr,
            node.token,
            MAX_BODY_BYTES + 1
        );
        let (reply, _, _) = raw_exchange(node.addr, head, vec![b"{".to_vec()]);
        let value = api.contract.check("POST", target, &reply);
        assert_error(&(reply.status, value), 413, "too_large", None);
    };
    too_large("/api/v1/trust");
    let (status, state) = api.call("POST", "/api/v1/trust", &json_headers, change.as_bytes());
    assert_eq!(status, 200, "{state}");
    assert_eq!(
        state["blocked"][0]["hub"],
        blocked.hub_id().to_string().as_str()
    );

    // A blocked hub's record: 403.
    let now = essaim_node::unix_now();
    let record_of = |key: &HubKey, slug: &str| {
        let body = Body::from_json(json!({
            "v": 1, "kind": "initiative", "author": key.hub_id().to_string(), "slug": slug,
            "seq": 1, "created": now - 10, "name": format!("Essai {slug}"),
            "summary": {"fr": "Un essai."}, "themes": ["culture"], "origin": "com:69123",
            "stage": "emergence",
        }))
        .unwrap();
        essaim_protocol::sign(body, key, now).unwrap()
    };
    let view = serde_json::to_vec(&record_of(&blocked, "bloquee").to_json_view()).unwrap();
    let (status, answer) = api.post("/api/v1/records", "application/json", &view);
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("blocked"))
    );

    // A hub over its hourly quota (100 in the test node): 429.
    let spammer = HubKey::from_seed(&[72; 32]);
    for i in 0..100 {
        let record = record_of(&spammer, &format!("spam-{i}"));
        let (status, _) = api.post("/api/v1/records", "application/cbor", &record.to_envelope());
        assert_eq!(status, 201);
    }
    let record = record_of(&spammer, "spam-100");
    let (status, answer) = api.post("/api/v1/records", "application/cbor", &record.to_envelope());
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (429, Some("hourly-quota"))
    );

    // Endorsements: the operator's, checked field by field.
    let subject = format!("{}/spam-1", spammer.hub_id().short());
    let endorse = |body: serde_json::Value| {
        api.call(
            "POST",
            "/api/v1/endorse",
            &json_headers,
            body.to_string().as_bytes(),
        )
    };
    let (status, _) = api.post(
        "/api/v1/endorse",
        "application/json",
        json!({"subject": subject, "type": "recommendation"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 401);
    let (status, answer) = endorse(json!({"subject": subject, "type": "label"}));
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("label"))
    );
    let (status, _) = endorse(json!({"revoke": format!("{}/endorsement/nope", node.short_hub())}));
    assert_eq!(status, 404);
    too_large("/api/v1/endorse");
    let (status, label) = endorse(json!({
        "subject": subject, "type": "label", "label": "French Impact — Pionnier", "until": "2099-12-31"
    }));
    assert_eq!(status, 201, "{label}");
    let (status, again) = api.call(
        "POST",
        "/api/v1/records",
        &[("Content-Type", "application/json")],
        serde_json::to_string(&label["record"]).unwrap().as_bytes(),
    );
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let address = label["address"].as_str().unwrap().to_owned();
    let short = address.strip_prefix("did:key:").unwrap();
    let (status, revoked) = endorse(json!({"revoke": short}));
    assert_eq!(status, 201, "{revoked}");
    assert_eq!(revoked["record"]["body"]["revoked"], true);
    // The same endorsement posted again: already stored.
    let (status, _) = api.call(
        "POST",
        "/api/v1/records",
        &[("Content-Type", "application/json")],
        serde_json::to_string(&revoked["record"])
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(status, 200);
    // Suggestions for a territory.
    let report = api.ok("/api/v1/suggest?territory=dep:33");
    assert_eq!(report["territory"], "dep:33");
    assert!(report["candidates"].as_u64().unwrap() > 0);
    let (status, _) = api.get("/api/v1/suggest?territory=dep:999");
    assert_eq!(status, 400);
    let (status, _) = api.get("/api/v1/suggest?territory=FR");
    assert_eq!(status, 400);

    // In web-of-trust mode, an unknown hub's record waits in quarantine: 202.
    let mut wot = TestNode::spawn_with(|config| {
        config.trust_mode = essaim_node::config::TrustMode::WebOfTrust;
    });
    let home = api.base.lock().unwrap().clone();
    *api.base.lock().unwrap() = format!("http://{}", wot.addr);
    let stranger = HubKey::from_seed(&[73; 32]);
    let record = record_of(&stranger, "inconnue");
    let (status, answer) = api.post("/api/v1/records", "application/cbor", &record.to_envelope());
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (202, Some("quarantined")),
        "{answer}"
    );
    let state = api.ok("/api/v1/trust");
    assert!(
        state["quarantine"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["hub"] == stranger.hub_id().to_string().as_str()),
        "{state}"
    );
    *api.base.lock().unwrap() = home;
    if let Some(Err(e)) = wot.stop() {
        panic!("{e}");
    }
}
