//! `GET /metrics`: the node's counters, gauges and histograms in the
//! OpenMetrics text format, for Prometheus.
//!
//! Everything is a `prometheus_client` metric in one [`Registry`] prefixed
//! `essaim_`, moved where things happen (ingest, gossip, reconciliation,
//! mirrors, index commits, HTTP) — never computed from logs. What the store
//! knows (records by kind, quarantine, mirrors by state) and the connected
//! peers are read at scrape time, the store in one query over narrow
//! indexes. gossipsub's own registry (`libp2p_gossipsub_…`) is appended to
//! the same answer.
//!
//! Every label value is a `&'static str` chosen by this code (a route
//! template, a fixed reason, a vocabulary code), so a client cannot create
//! label values: the number of series is bounded whatever it sends. The
//! metric families are listed in `specs/metrics.md`.

use std::sync::Arc;
use std::time::Duration;

use essaim_protocol::RecordError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use warp::http::{HeaderValue, Method, header};
use warp::reply::Response;

use crate::node::Node;
use crate::store::{Inserted, MirrorState, Refusal, Source};

/// The content type of `/metrics`: what `prometheus_client` encodes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The prefix of this node's own metric families.
pub const PREFIX: &str = "essaim";

/// Where a record came into the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Via {
    /// A gossipsub message from a peer.
    Gossip,
    /// A reconciliation (fetched by this node, or pushed by the peer).
    Sync,
    /// `POST /api/v1/records`.
    Http,
    /// An import (publiccode.yml, DPG, the sample catalogue).
    Import,
    /// Signed by this node for its operator.
    Local,
}

impl Via {
    /// The label value.
    pub fn code(self) -> &'static str {
        match self {
            Via::Gossip => "gossip",
            Via::Sync => "sync",
            Via::Http => "http",
            Via::Import => "import",
            Via::Local => "local",
        }
    }

    /// The way of a local source; `None` for a peer's (the p2p layer, which
    /// knows gossip from reconciliation, counts those).
    pub fn of(source: &Source) -> Option<Via> {
        match source {
            Source::Publish => Some(Via::Local),
            Source::Http => Some(Via::Http),
            Source::Import => Some(Via::Import),
            Source::Peer(_) => None,
        }
    }
}

/// The `reason` of a record that does not verify: a few classes of the
/// protocol's error codes (the full code is in the log and the API answer).
pub fn record_reason(error: &RecordError) -> &'static str {
    match error {
        RecordError::TooLarge { .. } => "too_large",
        RecordError::SignatureLength { .. }
        | RecordError::BadSignature { .. }
        | RecordError::WrongKey { .. } => "bad_signature",
        RecordError::UnsupportedVersion { .. } => "unsupported_version",
        RecordError::Invalid { .. } => "invalid",
        _ => "malformed",
    }
}

/// The `reason` of a record the trust policy refused.
pub fn refusal_reason(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Blocked => "blocked",
        Refusal::HourlyQuota => "hourly_quota",
        Refusal::TotalQuota => "total_quota",
        Refusal::QuarantineFull => "quarantine_full",
    }
}

/// The `reason` of a record fetched by a reconciliation that was not asked for.
pub const UNREQUESTED: &str = "unrequested";

/// Every `reason` of `essaim_records_rejected_total`.
pub const REASONS: &[&str] = &[
    "too_large",
    "bad_signature",
    "unsupported_version",
    "invalid",
    "malformed",
    "blocked",
    "hourly_quota",
    "total_quota",
    "quarantine_full",
    UNREQUESTED,
];

/// Every `via` of the record counters.
pub const VIAS: &[Via] = &[Via::Gossip, Via::Sync, Via::Http, Via::Import, Via::Local];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ViaLabel {
    via: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

/// HTTP latency buckets: 0.5 ms to ~8 s.
fn http_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

struct Inner {
    registry: Registry,
    /// Held from setting the scrape-time gauges to encoding them, so that
    /// concurrent scrapes do not see each other's cleared families.
    scrape: std::sync::Mutex<()>,
    peers: Gauge,
    store_records: Family<KindLabel, Gauge>,
    store_heads: Family<KindLabel, Gauge>,
    quarantine: Gauge,
    mirrors: Family<StateLabel, Gauge>,
    accepted: Family<ViaLabel, Counter>,
    duplicates: Family<ViaLabel, Counter>,
    quarantined: Family<ViaLabel, Counter>,
    rejected: Family<ReasonLabel, Counter>,
    gossip_in: Family<ResultLabel, Counter>,
    gossip_out: Counter,
    sync_rounds: Family<OutcomeLabel, Counter>,
    sync_bytes: Family<DirectionLabel, Counter>,
    mirror_jobs: Family<ResultLabel, Counter>,
    mirror_seconds: Histogram,
    index_commit: Histogram,
    http_requests: Family<RequestLabels, Counter>,
    http_seconds: Family<RouteLabel, Histogram, fn() -> Histogram>,
}

/// The node's metrics. Cheap to clone; every clone moves the same counters.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every family registered, at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let inner = Inner {
            peers: Gauge::default(),
            store_records: Family::default(),
            store_heads: Family::default(),
            quarantine: Gauge::default(),
            mirrors: Family::default(),
            accepted: Family::default(),
            duplicates: Family::default(),
            quarantined: Family::default(),
            rejected: Family::default(),
            gossip_in: Family::default(),
            gossip_out: Counter::default(),
            sync_rounds: Family::default(),
            sync_bytes: Family::default(),
            mirror_jobs: Family::default(),
            mirror_seconds: Histogram::new(exponential_buckets(0.1, 2.0, 14)),
            index_commit: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(http_histogram as fn() -> Histogram),
            registry: Registry::default(),
            scrape: std::sync::Mutex::new(()),
        };
        registry.register(
            "build",
            "The node's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "peers_connected",
            "Peers (other hubs' nodes) connected now",
            inner.peers.clone(),
        );
        registry.register(
            "store_records",
            "Records stored, every version, by address kind (read from the store at scrape)",
            inner.store_records.clone(),
        );
        registry.register(
            "store_heads",
            "Current versions (heads) stored, by address kind (read from the store at scrape)",
            inner.store_heads.clone(),
        );
        registry.register(
            "quarantine_records",
            "Records held in quarantine by the trust policy (read from the store at scrape)",
            inner.quarantine.clone(),
        );
        registry.register(
            "mirrors",
            "Mirrored repositories by state: pending, ok, failed, too_large, refused (read from the store at scrape)",
            inner.mirrors.clone(),
        );
        registry.register(
            "records_accepted",
            "Records newly stored as a version, by way in (gossip, sync, http, import, local)",
            inner.accepted.clone(),
        );
        registry.register(
            "records_duplicate",
            "Records received that were already stored, by way in",
            inner.duplicates.clone(),
        );
        registry.register(
            "records_quarantined",
            "Records received and put in quarantine by the trust policy, by way in",
            inner.quarantined.clone(),
        );
        registry.register(
            "records_rejected",
            "Records refused, by reason (see specs/metrics.md)",
            inner.rejected.clone(),
        );
        registry.register(
            "gossip_messages_received",
            "Gossiped records validated by this node (first copies; gossipsub drops the duplicates), by result: accepted, ignored, rejected",
            inner.gossip_in.clone(),
        );
        registry.register(
            "gossip_messages_sent",
            "Records this node published on the gossip topic (its own, HTTP and imported ones)",
            inner.gossip_out.clone(),
        );
        registry.register(
            "sync_rounds",
            "Reconciliations this node started, by outcome: ok, failed",
            inner.sync_rounds.clone(),
        );
        registry.register_with_unit(
            "sync",
            "Bytes of the reconciliations this node started (CBOR messages, no transport framing), by direction: sent, received",
            Unit::Bytes,
            inner.sync_bytes.clone(),
        );
        registry.register(
            "mirror_jobs",
            "Mirror fetches ended, by result: ok, failed, too_large, refused",
            inner.mirror_jobs.clone(),
        );
        registry.register_with_unit(
            "mirror_job_duration",
            "Duration of mirror fetches",
            Unit::Seconds,
            inner.mirror_seconds.clone(),
        );
        registry.register_with_unit(
            "index_commit_duration",
            "Duration of search index commits",
            Unit::Seconds,
            inner.index_commit.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            inner.http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to the response's head, by route template",
            Unit::Seconds,
            inner.http_seconds.clone(),
        );
        // Every fixed label value exists from the start, at zero, so that
        // rates and absent-series alerts work before the first event.
        for via in VIAS {
            let label = ViaLabel { via: via.code() };
            for family in [&inner.accepted, &inner.duplicates, &inner.quarantined] {
                let _ = family.get_or_create(&label);
            }
        }
        for reason in REASONS {
            let _ = inner.rejected.get_or_create(&ReasonLabel { reason });
        }
        for result in ["accepted", "ignored", "rejected"] {
            let _ = inner.gossip_in.get_or_create(&ResultLabel { result });
        }
        for outcome in ["ok", "failed"] {
            let _ = inner.sync_rounds.get_or_create(&OutcomeLabel { outcome });
        }
        for direction in ["sent", "received"] {
            let _ = inner
                .sync_bytes
                .get_or_create(&DirectionLabel { direction });
        }
        for state in [
            MirrorState::Ok,
            MirrorState::Failed,
            MirrorState::TooLarge,
            MirrorState::Refused,
        ] {
            let _ = inner.mirror_jobs.get_or_create(&ResultLabel {
                result: mirror_state(state),
            });
        }
        Metrics {
            inner: Arc::new(Inner { registry, ..inner }),
        }
    }

    /// Count what ingesting records did; `via` is the way they came, or
    /// `None` to take it from each record's local source (peers' records
    /// are then skipped: the p2p layer counts them with their way).
    pub fn ingested(&self, via: Option<Via>, sources: &[&Source], outcomes: &[Inserted]) {
        for (i, outcome) in outcomes.iter().enumerate() {
            let way = match via {
                Some(via) => via,
                None => match sources.get(i).and_then(|s| Via::of(s)) {
                    Some(via) => via,
                    None => continue,
                },
            };
            let label = ViaLabel { via: way.code() };
            match outcome {
                Inserted::Head { .. } | Inserted::History { .. } => {
                    self.inner.accepted.get_or_create(&label).inc();
                }
                Inserted::Duplicate => {
                    self.inner.duplicates.get_or_create(&label).inc();
                }
                Inserted::Quarantined => {
                    self.inner.quarantined.get_or_create(&label).inc();
                }
                Inserted::Refused(refusal) => self.rejected(refusal_reason(*refusal)),
            }
        }
    }

    /// Count a record refused for `reason` (one of [`REASONS`]).
    pub fn rejected(&self, reason: &'static str) {
        debug_assert!(REASONS.contains(&reason), "{reason} is not in REASONS");
        self.inner
            .rejected
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Count a record that does not verify.
    pub fn rejected_record(&self, error: &RecordError) {
        self.rejected(record_reason(error));
    }

    /// Count a gossiped message validated: `accepted`, `ignored` or `rejected`.
    pub fn gossip_received(&self, result: &'static str) {
        self.inner
            .gossip_in
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Count a record published on the gossip topic.
    pub fn gossip_sent(&self) {
        self.inner.gossip_out.inc();
    }

    /// Count a reconciliation this node started, and its bytes.
    pub fn sync_ended(&self, ok: bool, bytes_sent: u64, bytes_received: u64) {
        let outcome = if ok { "ok" } else { "failed" };
        self.inner
            .sync_rounds
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        self.inner
            .sync_bytes
            .get_or_create(&DirectionLabel { direction: "sent" })
            .inc_by(bytes_sent);
        self.inner
            .sync_bytes
            .get_or_create(&DirectionLabel {
                direction: "received",
            })
            .inc_by(bytes_received);
    }

    /// Count a mirror fetch that ended in `state`, and its duration.
    pub fn mirror_job(&self, state: MirrorState, took: Duration) {
        self.inner
            .mirror_jobs
            .get_or_create(&ResultLabel {
                result: mirror_state(state),
            })
            .inc();
        self.inner.mirror_seconds.observe(took.as_secs_f64());
    }

    /// The histogram of index commits (the index observes into it).
    pub fn index_commit_histogram(&self) -> Histogram {
        self.inner.index_commit.clone()
    }

    /// Count an HTTP request answered.
    pub fn http_request(&self, route: &'static str, method: &Method, status: u16, took: Duration) {
        let method = match *method {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            _ => "other",
        };
        self.inner
            .http_requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.inner
            .http_seconds
            .get_or_create(&RouteLabel { route })
            .observe(took.as_secs_f64());
    }

    /// Set the scrape-time gauges from [`Store::gauges`](crate::store::Store::gauges)'s rows.
    fn set_store_gauges(&self, rows: &[(String, String, u64)]) {
        self.inner.store_records.clear();
        self.inner.store_heads.clear();
        self.inner.mirrors.clear();
        self.inner.quarantine.set(0);
        for (what, key, count) in rows {
            let count = i64::try_from(*count).unwrap_or(i64::MAX);
            match what.as_str() {
                "records" => {
                    self.inner
                        .store_records
                        .get_or_create(&KindLabel { kind: kind(key) })
                        .set(count);
                }
                "heads" => {
                    self.inner
                        .store_heads
                        .get_or_create(&KindLabel { kind: kind(key) })
                        .set(count);
                }
                "quarantine" => {
                    self.inner.quarantine.set(count);
                }
                "mirrors" => {
                    self.inner
                        .mirrors
                        .get_or_create(&StateLabel {
                            state: stored_mirror_state(key),
                        })
                        .inc_by(count);
                }
                _ => {}
            }
        }
    }

    /// The exposition: this node's families, then gossipsub's, then `# EOF`.
    pub async fn render(&self, node: &Node) -> String {
        let worker = node.clone();
        let rows = match tokio::task::spawn_blocking(move || worker.store().gauges()).await {
            Ok(Ok(rows)) => Some(rows),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: cannot read the store's counts");
                None
            }
            Err(_) => None,
        };
        // A poisoned lock only means another scrape panicked: go on.
        let _scrape = self
            .inner
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(rows) = rows {
            self.set_store_gauges(&rows);
        }
        let p2p = node.p2p();
        let peers = p2p.as_ref().map_or(0, |p| p.peers().len());
        self.inner
            .peers
            .set(i64::try_from(peers).unwrap_or(i64::MAX));
        let mut text = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail; an encoder error would be a bug
        // in a metric's encoding, and the rest of the text is still useful.
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &self.inner.registry);
        if let Some(p2p) = p2p {
            p2p.encode_libp2p_metrics(&mut text);
        }
        let _ = prometheus_client::encoding::text::encode_eof(&mut text);
        text
    }
}

/// An address kind as a `&'static str` from the vocabulary (`other` for a
/// value this version does not know).
fn kind(code: &str) -> &'static str {
    essaim_protocol::Kind::from_code(code).map_or("other", |k| k.code())
}

fn mirror_state(state: MirrorState) -> &'static str {
    match state {
        MirrorState::Pending => "pending",
        MirrorState::Ok => "ok",
        MirrorState::Failed => "failed",
        MirrorState::TooLarge => "too_large",
        MirrorState::Refused => "refused",
    }
}

fn stored_mirror_state(code: &str) -> &'static str {
    [
        MirrorState::Ok,
        MirrorState::Failed,
        MirrorState::TooLarge,
        MirrorState::Refused,
    ]
    .into_iter()
    .map(mirror_state)
    .find(|s| *s == code)
    .unwrap_or("pending")
}

/// The label of a request's route: the template it matches (never the raw
/// path, so that a client cannot create series), `other` for none.
pub fn route_label(path: &str) -> &'static str {
    if path.starts_with("/git/") {
        return "/git/{repo}";
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let matches = |pattern: &str| {
        let mut parts = pattern.split('/').filter(|s| !s.is_empty());
        let mut given = segments.iter();
        loop {
            match (parts.next(), given.next()) {
                (None, None) => return true,
                (Some(p), Some(s)) if p.starts_with('{') || p == *s => {}
                _ => return false,
            }
        }
    };
    crate::web::ROUTES
        .iter()
        .map(|(_, pattern, _)| *pattern)
        .chain(crate::web::UI_ROUTES.iter().copied())
        .find(|pattern| matches(pattern))
        .unwrap_or("other")
}

/// Answer `GET /metrics` (and HEAD, whose body hyper drops).
pub async fn serve(node: &Node) -> Response {
    let text = node.metrics().render(node).await;
    let mut response = Response::new(text.into());
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates() {
        assert_eq!(route_label("/api/v1/search"), "/api/v1/search");
        assert_eq!(
            route_label("/api/v1/initiatives/abc/velo"),
            "/api/v1/initiatives/{hub}/{slug}"
        );
        assert_eq!(route_label("/i/abc/velo"), "/i/{hub}/{slug}");
        assert_eq!(route_label("/"), "/");
        assert_eq!(route_label("/git/abc/velo.git/info/refs"), "/git/{repo}");
        assert_eq!(route_label("/metrics"), "/metrics");
        assert_eq!(route_label("/nope/x/y/z"), "other");
        assert_eq!(route_label("/api/v1/search/extra"), "other");
    }

    /// What the HTTP counting adds to a request (route label, counter,
    /// histogram), as JSON: `cargo test -p essaim-node --release --lib
    /// metrics::tests::http_counting_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn http_counting_cost() {
        let metrics = Metrics::new();
        let paths = [
            "/api/v1/search",
            "/api/v1/initiatives/z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/velo",
            "/i/z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/velo",
            "/nope/not/here",
        ];
        let rounds = 200_000;
        let started = std::time::Instant::now();
        for i in 0..rounds {
            let route = route_label(paths[i % paths.len()]);
            metrics.http_request(route, &Method::GET, 200, Duration::from_micros(700));
        }
        let ns = started.elapsed().as_nanos() as f64 / rounds as f64;
        println!(
            "{{\"bench\":\"metrics_http_counting\",\"requests\":{rounds},\"ns_per_request\":{ns:.0}}}"
        );
    }

    #[test]
    fn every_family_has_help_and_type() {
        let metrics = Metrics::new();
        metrics.rejected("invalid");
        metrics.http_request("/", &Method::GET, 200, Duration::from_millis(3));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.inner.registry).unwrap();
        assert!(
            text.contains("# TYPE essaim_records_rejected counter"),
            "{text}"
        );
        assert!(
            text.contains("essaim_records_rejected_total{reason=\"invalid\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE essaim_http_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
