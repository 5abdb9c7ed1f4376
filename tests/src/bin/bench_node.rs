//! Benchmark of a whole node at catalogue scale: ingest throughput (verify,
//! store, index), search latency in-process and over HTTP, against SQLite
//! FTS5 on the same documents, memory, and restart-to-serving time.
//!
//! ```sh
//! cargo build --release -p essaim            # for the real-binary figures
//! cargo run --release -p essaim-tests --bin bench-node [-- --records N] [--rounds R]
//! ```
//!
//! `--records` defaults to 100,000 (`--records 2000` runs in seconds, for a
//! quick check); `--rounds` (default 5) is how many times the query set runs
//! after a warm-up round; `--data DIR` points at the reference data; `--keep`
//! keeps the temporary directory (data dir, FTS5 database, the binary's log).
//!
//! Prints one JSON object on stdout, progress on stderr. The corpus is built
//! at run time, deterministically, from the reference data in
//! `../shared/data/` (nothing of it is copied into the project): the digital
//! public goods (through the node's own DPG import) and the French public
//! sector's source repositories (CSV), each row mapped to an initiative;
//! variants (other hubs, territories, themes, stages, shuffled summaries)
//! reach N. The query set is built from words of that corpus.
//!
//! Ingest feeds envelopes as a node receives them: `verify` in two threads,
//! `Node::ingest_blocking` in batches of 1,000, `Node::index_now` in a
//! thread of its own, all at once. Search runs a fixed mixed query set
//! (words in French and English, several words, typos, prefixes, facet
//! filters) in-process and over HTTP, then translated for SQLite FTS5 (the
//! baseline, in the same run). The node runs in this process (its RSS
//! includes the benchmark's corpus); when `target/release/essaim` exists, it
//! is also started on the same data directory for the memory and restart
//! figures users would see. The report says how busy the rest of the machine
//! was during each phase: on a shared 2-core machine, other work moves the
//! figures.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use essaim_node::datadir::{DataDir, HubProfile};
use essaim_node::index::{Filters, SearchRequest};
use essaim_node::node::Node;
use essaim_node::store::Source;
use essaim_protocol::record::{Licence, WebUrl};
use essaim_protocol::territory::{Level, communes_of, departements};
use essaim_protocol::vocab::{HubKind, Stage, Theme};
use essaim_protocol::{Body, HubKey, SignedRecord, Territory, sign, verify};
use essaim_tests::{machine, round};
use serde_json::{Value, json};

const DEFAULT_RECORDS: usize = 100_000;
const DEFAULT_ROUNDS: usize = 5;
const HUBS: u8 = 20;
const INGEST_BATCH: usize = 1_000;
const VERIFY_THREADS: usize = 2;
/// Hits per page, as the HTTP API's default.
const LIMIT: usize = 20;

// Targets (the compass of the issue), printed beside the results.
const TARGET_INGEST_PER_S: f64 = 20_000.0;
const TARGET_HTTP_P50_MS: f64 = 2.0;
const TARGET_HTTP_P99_MS: f64 = 10.0;
const TARGET_SPEEDUP_P99: f64 = 2.0;
const TARGET_RESTART_MS: f64 = 1_000.0;

fn progress(message: &str) {
    eprintln!("[bench-node] {message}");
}

fn main() {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench-node: {message}");
            eprintln!("usage: bench-node [--records N] [--rounds R] [--data DIR] [--keep]");
            std::process::exit(2);
        }
    };
    for file in ["dpg/records.json", "codes-sources-fr/all.csv"] {
        if !args.data.join(file).is_file() {
            eprintln!(
                "bench-node: {} not found: pass --data DIR, the folder of the reference data (../shared/data from the project root)",
                args.data.join(file).display()
            );
            std::process::exit(2);
        }
    }
    let now = essaim_node::unix_now();
    let started = Instant::now();
    let load_average = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // 1. Corpus.
    progress(&format!(
        "building a corpus of {} initiatives",
        args.records
    ));
    let corpus = Corpus::build(&args, now);
    progress(&format!(
        "corpus: {} bases ({} dpg, {} csv), signed {} records in {:.1} s",
        corpus.bases.len(),
        corpus.dpg_bases,
        corpus.csv_bases,
        corpus.envelopes.len(),
        corpus.sign_wall.as_secs_f64()
    ));
    let queries = query_set(&corpus);
    progress(&format!("{} queries", queries.len()));

    // 2. Ingest.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = DataDir::locate(Some(dir.path().join("node"))).expect("an explicit data dir");
    essaim_node::datadir::init(
        &data,
        HubProfile {
            name: Some("Banc d'essai".into()),
            kind: HubKind::Reseau,
            territories: vec![],
        },
        now,
    )
    .expect("init the data directory");
    // Federation on loopback only, no mdns: the benchmark stays on this machine.
    let node = Node::open_with(&data, |config| {
        config.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr")];
        config.mdns = false;
        // The corpus's repositories are on the internet: no mirrors here.
        config.mirror_enabled = false;
        // The corpus is signed by many hubs this one does not follow.
        config.trust_mode = essaim_node::config::TrustMode::Open;
        config.trust_quota_per_hour = 10_000_000;
        config.trust_quota_total = 10_000_000;
    })
    .expect("open the node");
    let envelopes = corpus.envelopes;
    let ingest = ingest(&node, &envelopes, now);
    drop(envelopes);
    let rss_after_ingest = proc_status(None);
    let disk = json!({
        "store_bytes": dir_size(&data.path(essaim_node::node::STORE_FILE))
            + dir_size(&data.path(&format!("{}-wal", essaim_node::node::STORE_FILE))),
        "index_bytes": dir_size(&data.path(essaim_node::node::INDEX_DIR)),
        "index_segments": index_segments(&data.path(essaim_node::node::INDEX_DIR)),
    });

    // 3. Search latency: in-process, then over HTTP.
    let running = Running::start(node.clone());
    progress(&format!("node serving on http://{}", running.addr));
    let requests: Vec<SearchRequest> = queries.iter().map(Query::request).collect();
    let essaim_totals: Vec<usize> = requests
        .iter()
        .map(|r| node.index().search(r).expect("search").total)
        .collect();
    progress("essaim in-process rounds");
    let load_in_process = Load::start();
    let in_process = time_rounds(&queries, args.rounds, |i| {
        std::hint::black_box(node.index().search(&requests[i]).expect("search"));
    });
    let load_in_process = load_in_process.report();
    progress("essaim HTTP rounds");
    let agent = http_agent();
    let base = format!("http://{}", running.addr);
    let mut http_totals = vec![0usize; queries.len()];
    for (i, q) in queries.iter().enumerate() {
        http_totals[i] = http_search(&agent, &base, q).1;
    }
    let load_http = Load::start();
    let over_http = time_rounds(&queries, args.rounds, |i| {
        std::hint::black_box(http_search(&agent, &base, &queries[i]));
    });
    let load_http = load_http.report();
    let http_mismatches = http_totals
        .iter()
        .zip(&essaim_totals)
        .filter(|(a, b)| a != b)
        .count();
    let rss_after_queries = proc_status(None);

    // 6. Restart without reindex (in-process).
    progress("stopping the node; restart in-process");
    running.stop();
    let indexed_docs = node.index().num_docs();
    drop(node);
    let restart_in_process = restart_in_process(&data, &queries);

    // 5 and 6 with the real binary, when it was built.
    let binary = real_binary(&data, &queries, args.rounds, dir.path());

    // 4. Baseline: SQLite FTS5 on the same documents.
    progress("SQLite FTS5 baseline");
    let fts = Fts::build(&corpus.docs, dir.path());
    let fts_totals: Vec<usize> = queries.iter().map(|q| fts.search(q).0).collect();
    let load_fts = Load::start();
    let fts_rounds = time_rounds(&queries, args.rounds, |i| {
        std::hint::black_box(fts.search(&queries[i]));
    });
    let load_fts = load_fts.report();

    // Report.
    let categories = categories(&queries);
    let per_category: BTreeMap<&str, Value> = categories
        .keys()
        .map(|cat| {
            let idx: Vec<usize> = (0..queries.len())
                .filter(|i| queries[*i].category == *cat)
                .collect();
            let mean = |totals: &[usize]| {
                round(idx.iter().map(|i| totals[*i] as f64).sum::<f64>() / idx.len() as f64)
            };
            let essaim_only = idx
                .iter()
                .filter(|i| essaim_totals[**i] > 0 && fts_totals[**i] == 0)
                .count();
            (
                *cat,
                json!({
                    "queries": idx.len(),
                    "essaim_in_process_ms": in_process.stats_of(&idx),
                    "fts5_in_process_ms": fts_rounds.stats_of(&idx),
                    "mean_total_essaim": mean(&essaim_totals),
                    "mean_total_fts5": mean(&fts_totals),
                    "found_by_essaim_only": essaim_only,
                }),
            )
        })
        .collect();
    let all: Vec<usize> = (0..queries.len()).collect();
    let ess = in_process.summary(&all);
    let http = over_http.summary(&all);
    let ftss = fts_rounds.summary(&all);
    let speedup_p50 = ftss.p50 / ess.p50;
    let speedup_p99 = ftss.p99 / ess.p99;
    let ingest_rate = ingest["end_to_end_records_per_s"]
        .as_f64()
        .unwrap_or_default();

    let report = json!({
        "benchmark": "node",
        "machine": machine(),
        "source": source(),
        "load_average_at_start": load_average.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "records": args.records,
        "rounds": args.rounds,
        "corpus": corpus.composition,
        "signing": corpus.signing,
        "ingest": ingest,
        "indexed_documents": indexed_docs,
        "disk": disk,
        "search": {
            "queries": queries.len(),
            "categories": categories,
            "examples": examples(&queries),
            "limit": LIMIT,
            "essaim_in_process_ms": ess.to_json(),
            "essaim_http_ms": http.to_json(),
            "essaim_http_overhead_p50_ms": round3(http.p50 - ess.p50),
            "http_totals_differing_from_in_process": http_mismatches,
            "fts5_in_process_ms": ftss.to_json(),
            "speedup_essaim_over_fts5_in_process": {"p50": round(speedup_p50), "p99": round(speedup_p99)},
            "speedup_essaim_http_over_fts5_in_process": {
                "p50": round(ftss.p50 / http.p50),
                "p99": round(ftss.p99 / http.p99),
            },
            "per_category": per_category,
            "machine_load": {
                "essaim_in_process": load_in_process,
                "essaim_http": load_http,
                "fts5_in_process": load_fts,
            },
        },
        "fts5": fts.report,
        "memory": {
            "in_process_note": "the node runs inside the benchmark process: these figures include the benchmark's corpus and query set; nothing subtracted",
            "in_process_after_ingest_kib": rss_after_ingest,
            "in_process_after_queries_kib": rss_after_queries,
            "real_binary_after_queries_kib": binary.get("rss_kib").cloned().unwrap_or(Value::Null),
        },
        "restart": {
            "in_process": restart_in_process,
            "real_binary": binary.get("restart").cloned().unwrap_or(Value::Null),
        },
        "real_binary": binary,
        "targets": {
            "ingest_records_per_s": target(ingest_rate, TARGET_INGEST_PER_S, true),
            "search_http_p50_ms": target(http.p50, TARGET_HTTP_P50_MS, false),
            "search_http_p99_ms": target(http.p99, TARGET_HTTP_P99_MS, false),
            "speedup_p99_essaim_over_fts5": target(speedup_p99, TARGET_SPEEDUP_P99, true),
            "restart_to_serving_ms_in_process": target(
                restart_in_process["to_first_search_ms"].as_f64().unwrap_or(f64::MAX),
                TARGET_RESTART_MS,
                false,
            ),
            "restart_to_serving_ms_real_binary": binary
                .get("restart")
                .and_then(|r| r["to_first_search_ms"].as_f64())
                .map(|ms| target(ms, TARGET_RESTART_MS, false))
                .unwrap_or(Value::Null),
        },
        "elapsed_s": round(started.elapsed().as_secs_f64()),
    });
    if args.keep {
        progress(&format!("kept {}", dir.keep().display()));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("plain data")
    );
}

/// Which source was measured: the commit, and the files changed since.
fn source() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let changed: Vec<String> = git(&["status", "--porcelain", "--untracked-files=no"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.get(3..).map(str::to_owned))
        .collect();
    let commit = git(&["rev-parse", "--short", "HEAD"]).map(|c| c.trim().to_owned());
    json!({"commit": commit, "modified": changed})
}

fn target(measured: f64, target: f64, at_least: bool) -> Value {
    let met = if at_least {
        measured >= target
    } else {
        measured <= target
    };
    json!({
        "measured": round3(measured),
        "target": target,
        "rule": if at_least { "at least" } else { "at most" },
        "met": met,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------
// Arguments.

struct Args {
    records: usize,
    rounds: usize,
    data: PathBuf,
    /// Keep the temporary directory (data dir, FTS5 database, logs) for a look afterwards.
    keep: bool,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = Args {
            records: DEFAULT_RECORDS,
            rounds: DEFAULT_ROUNDS,
            data: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
            keep: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--records" => {
                    args.records = value()?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("--records takes a positive whole number")?;
                }
                "--rounds" => {
                    args.rounds = value()?
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("--rounds takes a positive whole number")?;
                }
                "--data" => args.data = PathBuf::from(value()?),
                "--keep" => args.keep = true,
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(args)
    }
}

// ---------------------------------------------------------------------------
// Deterministic hashing and shuffling (no randomness without a fixed seed).

fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(h)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The words of `text` in an order fixed by `seed`.
fn shuffle_words(text: &str, seed: u64) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let mut state = seed;
    for i in (1..words.len()).rev() {
        state = splitmix(state);
        words.swap(i, (state % (i as u64 + 1)) as usize);
    }
    words.join(" ")
}

/// Lower case, French accents folded.
fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' | 'á' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' | 'í' => out.push('i'),
            'ô' | 'ö' | 'ó' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => out.push('u'),
            'ç' => out.push('c'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            c => out.push(c),
        }
    }
    out
}

/// Words as the node's and FTS5's tokenizers see them: runs of alphanumerics.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

// ---------------------------------------------------------------------------
// Corpus.

/// One initiative of the data sets, before variation.
struct BaseRecord {
    from_dpg: bool,
    /// The body as JSON, author and slug to be set.
    body: Value,
    slug: String,
    name: String,
    created: u64,
    stage: usize,
}

/// What the FTS5 baseline indexes of an initiative.
struct FtsDoc {
    name: String,
    summary: String,
    description: String,
    hub: String,
    stage: String,
    region: Option<String>,
    departement: Option<String>,
    commune: Option<String>,
    created: u64,
    themes: Vec<String>,
    licences: Vec<String>,
}

struct Corpus {
    bases: Vec<BaseRecord>,
    dpg_bases: usize,
    csv_bases: usize,
    envelopes: Vec<Vec<u8>>,
    docs: Vec<FtsDoc>,
    sign_wall: Duration,
    signing: Value,
    composition: Value,
}

/// Départements with their communes, for picking territories by hash.
struct Places(Vec<(Territory, Vec<Territory>)>);

impl Places {
    fn new() -> Places {
        Places(
            departements()
                .map(|d| (d, communes_of(d).collect()))
                .collect(),
        )
    }

    /// A département or (two times in three) one of its communes.
    fn pick(&self, h: u64) -> Territory {
        let (dep, communes) = &self.0[(h % self.0.len() as u64) as usize];
        if !(h >> 20).is_multiple_of(3) && !communes.is_empty() {
            communes[((h >> 32) % communes.len() as u64) as usize]
        } else {
            *dep
        }
    }
}

/// Keywords (folded; a prefix when 5 letters or more, else the exact word)
/// that give a theme, in order of preference.
#[rustfmt::skip]
const THEME_WORDS: &[(&str, &[&str])] = &[
    ("sante", &["sante", "health", "medic", "hopital", "hospital", "covid", "mssante", "soins",
        "patient", "clinic", "epidemi", "vaccin"]),
    ("education", &["educa", "ecole", "school", "formation", "moodle", "edx", "student",
        "etudiant", "universit", "enseign", "pedagog", "learn", "cours", "teach", "mooc"]),
    ("energie", &["energ", "electri", "rapl", "powerapi", "solaire", "solar"]),
    ("mobilite", &["mobilit", "transport", "velo", "bike", "vehic", "trafic", "traffic", "route",
        "gtfs", "sncf", "train"]),
    ("agriculture", &["agric", "agro", "farm", "ferme", "inra", "inrae", "crops", "elevage",
        "foret", "forest"]),
    ("alimentation", &["aliment", "food", "cantine", "nutrition", "repas"]),
    ("emploi", &["emploi", "job", "jobs", "travail", "chomage", "recrut", "employ"]),
    ("culture", &["cultur", "musee", "museum", "patrimoin", "heritage", "bibliot", "theatre",
        "musique", "music", "art"]),
    ("transition-ecologique", &["environn", "climat", "ecolog", "biodivers", "parks", "nature",
        "pollution", "eau", "water", "carbon", "meteo"]),
    ("economie-circulaire", &["dechet", "recycl", "circula", "reemploi", "trackdechets", "waste"]),
    ("habitat", &["logement", "habitat", "housing", "urbanis", "batiment", "building", "cadastr",
        "immobil"]),
    ("handicap", &["a11y", "rgaa", "accessib", "handicap", "disabil"]),
    ("citoyennete", &["citoyen", "democra", "vote", "parlement", "consult", "civic", "civique",
        "petition", "assemblee", "loi", "law", "legislat", "transparen", "opendata", "gouvern",
        "government"]),
    ("acces-aux-droits", &["droit", "droits", "rights", "aides", "justice", "juridi", "legal",
        "social", "caf", "rsa", "allocation", "demarche", "administrat"]),
    ("developpement-local", &["territoir", "collectiv", "commune", "mairie", "region",
        "departement", "carto", "geo", "map", "gis", "sig", "leaflet", "openlayers", "postgis",
        "geoportail"]),
    ("finance-solidaire", &["financ", "budget", "impot", "fiscal", "banque", "bank", "tax",
        "comptab", "paiement", "payment"]),
    ("jeunesse", &["jeune", "jeunesse", "youth", "enfant", "child"]),
    ("grand-age", &["senior", "autonomie", "ehpad", "vieilliss", "ageing"]),
    ("egalite", &["egalite", "femme", "femmes", "gender", "women", "parite"]),
    ("exil", &["migra", "refugi", "asile", "asylum"]),
    ("pauvrete", &["pauvret", "precari", "solidar", "poverty", "hunger"]),
    ("insertion", &["insertion", "inclusion"]),
    ("sport", &["sport", "sports"]),
];

fn themes_of(words: &[String]) -> Vec<&'static str> {
    let mut themes = Vec::new();
    for (theme, keys) in THEME_WORDS {
        let hit = keys.iter().any(|k| {
            words.iter().any(|w| {
                if k.len() >= 5 {
                    w.starts_with(k)
                } else {
                    w == k
                }
            })
        });
        if hit {
            themes.push(*theme);
            if themes.len() == 3 {
                break;
            }
        }
    }
    if themes.is_empty() {
        themes.push("inclusion-numerique");
    }
    themes
}

/// GitHub's licence names in the CSV, as SPDX expressions (checked again
/// against the protocol's rule before use).
fn spdx_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "MIT License" => "MIT",
        "GNU General Public License v3.0" => "GPL-3.0-only",
        "GNU Affero General Public License v3.0" => "AGPL-3.0-only",
        "Apache License 2.0" => "Apache-2.0",
        "GNU Lesser General Public License v2.1" => "LGPL-2.1-only",
        "BSD 3-Clause \"New\" or \"Revised\" License" => "BSD-3-Clause",
        "GNU General Public License v2.0" => "GPL-2.0-only",
        "GNU Lesser General Public License v3.0" => "LGPL-3.0-only",
        "Eclipse Public License 2.0" => "EPL-2.0",
        "Eclipse Public License 1.0" => "EPL-1.0",
        "Mozilla Public License 2.0" => "MPL-2.0",
        "European Union Public License 1.2" => "EUPL-1.2",
        "European Union Public License 1.1" => "EUPL-1.1",
        "BSD 2-Clause \"Simplified\" License" => "BSD-2-Clause",
        "ISC License" => "ISC",
        "Creative Commons Attribution Share Alike 4.0 International" => "CC-BY-SA-4.0",
        "Creative Commons Attribution 4.0 International" => "CC-BY-4.0",
        "The Unlicense" => "Unlicense",
        "Creative Commons Zero v1.0 Universal" => "CC0-1.0",
        "Do What The Fuck You Want To Public License" => "WTFPL",
        "CeCILL Free Software License Agreement v2.1" => "CECILL-2.1",
        "PostgreSQL License" => "PostgreSQL",
        "BSD Zero Clause License" => "0BSD",
        _ => return None,
    })
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and newlines.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut started = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if !started => {
                quoted = true;
                started = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                started = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                started = false;
            }
            c => {
                field.push(c);
                started = true;
            }
        }
    }
    if started || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Unix seconds of an ISO 8601 UTC time (`2018-08-29T16:00:02Z`).
fn unix_of(iso: &str) -> Option<u64> {
    let num = |r: std::ops::Range<usize>| iso.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3_600 + mm * 60 + ss).ok()
}

/// Control characters other than newline and tab replaced, `\r` dropped,
/// cut to `max` characters at a word.
fn clean_text(text: &str, max: usize) -> String {
    let text: String = text
        .chars()
        .filter(|c| *c != '\r')
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(at) if at > cut.len() / 2 => &cut[..at],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

fn clean_line(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(max).collect::<String>().trim().to_owned()
}

/// A slug of at most 48 bytes, unique among `taken`.
fn unique_slug(name: &str, taken: &mut HashSet<String>) -> String {
    let mut slug = essaim_node::import::dpg::slugify(name);
    if slug.len() > 48 {
        slug.truncate(48);
        while slug.ends_with('-') {
            slug.pop();
        }
    }
    if slug.is_empty() {
        slug = "initiative".into();
    }
    let mut candidate = slug.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{slug}-{n}");
        n += 1;
    }
    candidate
}

fn csv_bases(
    path: &Path,
    places: &Places,
    taken: &mut HashSet<String>,
    now: u64,
) -> (Vec<BaseRecord>, Value) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut rows = parse_csv(&text).into_iter();
    let header = rows.next().expect("a header row");
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} missing from {}", path.display()))
    };
    let (c_name, c_org, c_platform, c_url, c_desc, c_licence, c_language, c_topics, c_stars) = (
        col("name"),
        col("organization_name"),
        col("platform"),
        col("repository_url"),
        col("description"),
        col("license"),
        col("language"),
        col("topics"),
        col("stars_count"),
    );
    let (c_created, c_archived) = (col("creation_date"), col("is_archived"));
    let mut bases = Vec::new();
    let (mut malformed, mut rejected, mut built_summary, mut repos) = (0, 0, 0, 0);
    for row in rows {
        if row.len() != header.len() {
            malformed += 1;
            continue;
        }
        let name = clean_line(&row[c_name], 120);
        if name.is_empty() {
            malformed += 1;
            continue;
        }
        let org = clean_line(&row[c_org], 120);
        let description = clean_text(&row[c_desc], 500);
        let language = row[c_language].trim();
        let topics: Vec<&str> = row[c_topics]
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        let summary = if description.chars().any(char::is_alphanumeric) {
            description.clone()
        } else {
            built_summary += 1;
            let mut s = format!("Dépôt « {name} »");
            if !org.is_empty() {
                s.push_str(&format!(" de l'organisation {org}"));
            }
            s.push_str(&format!(" publié sur {}", row[c_platform].trim()));
            if !language.is_empty() {
                s.push_str(&format!(", écrit en {language}"));
            }
            if !topics.is_empty() {
                s.push_str(&format!(" ; sujets : {}", topics.join(", ")));
            }
            s.push('.');
            clean_text(&s, 500)
        };
        let mut words: Vec<String> = tokens(&summary).map(fold).collect();
        words.extend(tokens(&name).map(fold));
        words.extend(topics.iter().flat_map(|t| tokens(t)).map(fold));
        let themes = themes_of(&words);
        let stars: u64 = row[c_stars].trim().parse().unwrap_or(0);
        let created = unix_of(row[c_created].trim())
            .filter(|t| *t < now)
            .unwrap_or(now - 86_400);
        let stage = if stars >= 100 {
            4
        } else if stars >= 20 {
            3
        } else if row[c_archived].trim() == "True" || stars >= 5 {
            2
        } else if created >= now.saturating_sub(5 * 365 * 86_400) {
            0
        } else {
            1
        };
        let slug = unique_slug(&name, taken);
        let origin = places.pick(fnv(&[name.as_bytes(), org.as_bytes()]));
        let mut body = json!({
            "v": 1,
            "kind": "initiative",
            "name": name,
            "summary": {"fr": summary},
            "themes": themes,
            "origin": origin.to_string(),
            "stage": Stage::ALL[stage].code(),
        });
        if !org.is_empty() {
            body["carrier"] = json!({"name": org});
        }
        let url = row[c_url].trim();
        let licence = spdx_of(row[c_licence].trim()).filter(|l| l.parse::<Licence>().is_ok());
        let url = WebUrl::normalise(url)
            .filter(|u| u.starts_with("https://") && u.parse::<WebUrl>().is_ok());
        if let (Some(licence), Some(url)) = (licence, url) {
            let mut repo = essaim_node::import::dpg::slugify(&row[c_name]);
            repo.truncate(60);
            while repo.ends_with('-') {
                repo.pop();
            }
            if repo.is_empty() {
                repo = "code".into();
            }
            body["repositories"] = json!([{"name": repo, "url": url, "licence": licence}]);
            repos += 1;
        }
        // Checked once here, so that every variant is valid.
        let mut probe = body.clone();
        probe["author"] = json!(HubKey::from_seed(&[1; 32]).hub_id().to_string());
        probe["slug"] = json!(slug);
        probe["seq"] = json!(created * 1000);
        probe["created"] = json!(created);
        if Body::from_json(probe).is_err() {
            rejected += 1;
            taken.remove(&slug);
            continue;
        }
        bases.push(BaseRecord {
            from_dpg: false,
            body,
            slug,
            name: row[c_name].clone(),
            created,
            stage,
        });
    }
    let report = json!({
        "rows_malformed": malformed,
        "rows_rejected": rejected,
        "summaries_built_from_fields": built_summary,
        "with_repository_and_spdx_licence": repos,
    });
    (bases, report)
}

fn dpg_bases(path: &Path, taken: &mut HashSet<String>, now: u64) -> (Vec<BaseRecord>, Value) {
    let text = essaim_node::import::dpg::read_file(path).expect("the DPG records");
    let author = HubKey::from_seed(&[1; 32]).hub_id();
    let created = now - 3_600;
    let report = essaim_node::import::dpg::parse(&text, &author, created, &mut |_, _| {})
        .expect("the DPG file imports");
    let mut bases = Vec::new();
    for imported in &report.imported {
        let mut body = serde_json::to_value(&imported.body).expect("a body is JSON");
        let name = body["name"].as_str().unwrap_or_default().to_owned();
        let slug = unique_slug(body["slug"].as_str().unwrap_or(&name), taken);
        let stage = body["stage"]
            .as_str()
            .and_then(Stage::from_code)
            .and_then(|s| Stage::ALL.iter().position(|x| *x == s))
            .unwrap_or(1);
        if let Some(object) = body.as_object_mut() {
            object.remove("author");
            object.remove("slug");
        }
        bases.push(BaseRecord {
            from_dpg: true,
            body,
            slug,
            name,
            created,
            stage,
        });
    }
    let summary = json!({
        "records_in_file": report.imported.len() + report.skipped.len(),
        "imported": report.imported.len(),
        "skipped": report.skipped.len(),
    });
    (bases, summary)
}

impl Corpus {
    fn build(args: &Args, now: u64) -> Corpus {
        let places = Places::new();
        let mut taken = HashSet::new();
        let (mut bases, dpg_report) =
            dpg_bases(&args.data.join("dpg/records.json"), &mut taken, now);
        let dpg_count = bases.len();
        let (csv, csv_report) = csv_bases(
            &args.data.join("codes-sources-fr/all.csv"),
            &places,
            &mut taken,
            now,
        );
        bases.extend(csv);
        let csv_count = bases.len() - dpg_count;
        let keys: Vec<HubKey> = (1..=HUBS).map(|i| HubKey::from_seed(&[i; 32])).collect();
        let n = args.records;
        let b = bases.len();
        // Which base and variant record `i` is: every base once (evenly
        // spread when N is smaller), then variants.
        let pick = |i: usize| -> (usize, usize) {
            if n < b {
                (i * b / n, 0)
            } else {
                (i % b, i / b)
            }
        };

        let build_started = Instant::now();
        let mut signed: Vec<(usize, SignedRecord)> = Vec::with_capacity(n);
        let mut per_thread = Vec::new();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    let (bases, keys, places) = (&bases, &keys, &places);
                    s.spawn(move || {
                        let mut out = Vec::with_capacity(n / 2 + 1);
                        let (mut build, mut signing) = (Duration::ZERO, Duration::ZERO);
                        for i in (t..n).step_by(2) {
                            let (bi, v) = pick(i);
                            let base = &bases[bi];
                            let key = &keys[(bi + v) % keys.len()];
                            let started = Instant::now();
                            let body = variant(base, v, key, places, now);
                            let body = Body::from_json(body)
                                .unwrap_or_else(|e| panic!("variant {v} of {}: {e}", base.slug));
                            build += started.elapsed();
                            let started = Instant::now();
                            let record = sign(body, key, now).expect("corpus bodies sign");
                            signing += started.elapsed();
                            out.push((i, record));
                        }
                        (out, build, signing)
                    })
                })
                .collect();
            for h in handles {
                let (out, build, signing) = h.join().expect("a corpus thread");
                per_thread.push((out.len(), build, signing));
                signed.extend(out);
            }
        });
        let sign_wall = build_started.elapsed();
        signed.sort_by_key(|(i, _)| *i);

        let sign_per_s_per_thread: Vec<f64> = per_thread
            .iter()
            .map(|(count, _, signing)| round(*count as f64 / signing.as_secs_f64()))
            .collect();
        let build_s: f64 = per_thread.iter().map(|(_, b, _)| b.as_secs_f64()).sum();
        let signing = json!({
            "threads": 2,
            "sign_per_s_per_thread": sign_per_s_per_thread,
            "sign_per_s_total": round(sign_per_s_per_thread.iter().sum::<f64>()),
            "body_from_json_per_s_per_thread": round(n as f64 / build_s),
            "build_and_sign_wall_s": round(sign_wall.as_secs_f64()),
            "note": "sign() = validate + DAG-CBOR encode + Ed25519; measured apart from ingest",
        });

        let mut envelopes = Vec::with_capacity(n);
        let mut docs = Vec::with_capacity(n);
        let (mut payload_sum, mut payload_max) = (0usize, 0usize);
        let mut stages: BTreeMap<&str, u64> = BTreeMap::new();
        let mut themes: BTreeMap<&str, u64> = BTreeMap::new();
        let mut levels: BTreeMap<&str, u64> = BTreeMap::new();
        let (mut with_repo, mut from_dpg, mut variants_max) = (0u64, 0u64, 0usize);
        for (i, record) in signed {
            let (bi, v) = pick(i);
            variants_max = variants_max.max(v + 1);
            from_dpg += u64::from(bases[bi].from_dpg);
            payload_sum += record.payload().len();
            payload_max = payload_max.max(record.payload().len());
            envelopes.push(record.to_envelope());
            let Body::Initiative(init) = record.body() else {
                unreachable!("the corpus holds initiatives only")
            };
            *stages.entry(init.stage.code()).or_default() += 1;
            for t in &init.themes {
                *themes.entry(t.code()).or_default() += 1;
            }
            *levels
                .entry(match init.origin.level() {
                    Level::National => "national",
                    Level::Region => "region",
                    Level::Departement => "departement",
                    Level::Commune => "commune",
                })
                .or_default() += 1;
            with_repo += u64::from(!init.repositories.is_empty());
            let join = |map: &essaim_protocol::record::LangMap| {
                let fr = map.get(&essaim_protocol::record::LangCode::fr()).cloned();
                let others = map
                    .iter()
                    .filter(|(l, _)| l.as_str() != "fr")
                    .map(|(_, t)| t.clone());
                fr.into_iter().chain(others).collect::<Vec<_>>().join("\n")
            };
            let origin = init.origin;
            docs.push(FtsDoc {
                name: init.name.clone(),
                summary: join(&init.summary),
                description: join(&init.description),
                hub: init.author.to_string(),
                stage: init.stage.code().to_owned(),
                region: origin.region().map(|t| t.to_string()),
                departement: origin.departement().map(|t| t.to_string()),
                commune: (origin.level() == Level::Commune).then(|| origin.to_string()),
                created: init.created,
                themes: init.themes.iter().map(|t| t.code().to_owned()).collect(),
                licences: init
                    .repositories
                    .iter()
                    .map(|r| r.licence.to_string())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            });
        }
        let composition = json!({
            "sources": {
                "dpg": {"path": "dpg/records.json", "import": dpg_report, "bases": dpg_count},
                "codes_sources_fr": {"path": "codes-sources-fr/all.csv", "rows": csv_report, "bases": csv_count},
            },
            "records_from_dpg": from_dpg,
            "records_from_csv": n as u64 - from_dpg,
            "variants_per_base_max": variants_max,
            "hubs": HUBS,
            "payload_bytes_avg": payload_sum / n.max(1),
            "payload_bytes_max": payload_max,
            "with_repository": with_repo,
            "stages": stages,
            "themes": themes,
            "origin_levels": levels,
        });
        Corpus {
            dpg_bases: dpg_count,
            csv_bases: csv_count,
            bases,
            envelopes,
            docs,
            sign_wall,
            signing,
            composition,
        }
    }
}

/// Variant `v` of a base record, as `key`'s hub publishes it: the base
/// itself for `v = 0`; else another territory, one more theme, another
/// stage, the summary's words shuffled.
fn variant(base: &BaseRecord, v: usize, key: &HubKey, places: &Places, now: u64) -> Value {
    let mut body = base.body.clone();
    let created = (base.created + v as u64 * 7 * 86_400).min(now - 60);
    body["author"] = json!(key.hub_id().to_string());
    body["slug"] = json!(if v == 0 {
        base.slug.clone()
    } else {
        format!("{}-v{}", base.slug, v + 1)
    });
    body["created"] = json!(created);
    body["seq"] = json!(created * 1000 + v as u64);
    if v == 0 {
        return body;
    }
    let h = fnv(&[base.name.as_bytes(), &(v as u64).to_le_bytes()]);
    body["origin"] = json!(places.pick(h).to_string());
    body["stage"] = json!(Stage::ALL[(base.stage + v) % Stage::ALL.len()].code());
    let extra = Theme::ALL[((h >> 8) as usize + v) % Theme::ALL.len()].code();
    if let Some(themes) = body["themes"].as_array_mut()
        && themes.len() < 5
        && !themes.iter().any(|t| t == extra)
    {
        themes.push(json!(extra));
    }
    if let Some(summary) = body["summary"].as_object_mut() {
        for (lang, text) in summary.iter_mut() {
            if let Some(s) = text.as_str() {
                let seed = fnv(&[lang.as_bytes(), &h.to_le_bytes()]);
                *text = json!(shuffle_words(s, seed));
            }
        }
    }
    body
}

// ---------------------------------------------------------------------------
// Query set.

struct Query {
    category: &'static str,
    q: String,
    filters: Vec<(&'static str, String)>,
}

impl Query {
    fn request(&self) -> SearchRequest {
        let mut filters = Filters::default();
        for (kind, value) in &self.filters {
            match *kind {
                "theme" => filters.themes.push(value.clone()),
                "stage" => filters.stages.push(value.clone()),
                "territory" => filters
                    .territories
                    .push(Territory::parse(value).expect("query territories are valid")),
                other => unreachable!("filter {other}"),
            }
        }
        SearchRequest {
            q: self.q.clone(),
            filters,
            limit: LIMIT,
            ..SearchRequest::default()
        }
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs = Vec::new();
        if !self.q.is_empty() {
            pairs.push(("q", self.q.as_str()));
        }
        pairs.extend(self.filters.iter().map(|(k, v)| (*k, v.as_str())));
        pairs
    }
}

#[rustfmt::skip]
const STOP: &[&str] = &[
    "alors", "aussi", "autre", "autres", "avant", "avoir", "cette", "ceux", "chaque", "comme",
    "comment", "dans", "depuis", "donc", "elle", "elles", "entre", "est", "etre", "fait", "faire",
    "leur", "leurs", "mais", "meme", "notre", "nous", "ou", "par", "parmi", "pour", "plus",
    "quand", "sans", "selon", "sont", "sous", "tous", "tout", "toute", "toutes", "tres", "vers",
    "votre", "vous", "about", "after", "also", "been", "being", "both", "each", "from", "have",
    "into", "more", "most", "only", "other", "over", "same", "such", "than", "that", "their",
    "them", "then", "there", "these", "they", "this", "those", "through", "under", "using", "very",
    "what", "when", "where", "which", "while", "will", "with", "within", "would", "your", "https",
    "http", "github", "gitlab", "www", "html",
];

/// Words of the summaries this benchmark builds from CSV fields: not the
/// data's own words, so not queried.
const TEMPLATE: &[&str] = &["depot", "organisation", "publie", "ecrit", "sujets"];

fn content_word(w: &str) -> bool {
    let folded = fold(w);
    w.chars().count() >= 4
        && w.chars().all(char::is_alphabetic)
        && !STOP.contains(&folded.as_str())
        && !TEMPLATE.contains(&folded.as_str())
}

/// Up to `k` words of `ranked` (most frequent first), spread geometrically
/// over the ranks: frequent, common and rare words.
fn spread(ranked: &[String], k: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if ranked.is_empty() {
        return out;
    }
    let len = ranked.len() as f64;
    for j in 0..k * 3 {
        let at = (len.powf(j as f64 / (k * 3) as f64) - 1.0) as usize;
        let w = &ranked[at.min(ranked.len() - 1)];
        if !out.contains(w) {
            out.push(w.clone());
        }
        if out.len() == k {
            break;
        }
    }
    out
}

fn typo(word: &str, j: usize) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let mid = chars.len() / 2;
    match j % 3 {
        0 => {
            chars.remove(mid);
        }
        1 => chars.swap(mid - 1, mid),
        _ => {
            let c = chars[mid];
            chars[mid] = if c == 'z' {
                'a'
            } else {
                ((c as u8).wrapping_add(1)) as char
            };
            if !chars[mid].is_ascii_lowercase() {
                chars[mid] = 'e';
            }
        }
    }
    let out: String = chars.into_iter().collect();
    if out == word { format!("{word}x") } else { out }
}

const FILTER_SETS: &[&[(&str, &str)]] = &[
    &[("theme", "sante")],
    &[("territory", "reg:84")],
    &[("stage", "essaimage")],
    &[("theme", "education")],
    &[("territory", "dep:69")],
    &[("territory", "com:69123")],
    &[("territory", "reg:11"), ("stage", "consolidation")],
    &[("theme", "sante"), ("territory", "reg:84")],
    &[("theme", "inclusion-numerique"), ("stage", "essaimage")],
    &[
        ("territory", "reg:84"),
        ("theme", "sante"),
        ("stage", "essaimage"),
    ],
    &[("theme", "transition-ecologique"), ("territory", "reg:76")],
];

fn query_set(corpus: &Corpus) -> Vec<Query> {
    // Word counts per language, over the base records (not the variants).
    let mut counts: HashMap<String, (u32, u32)> = HashMap::new();
    let mut fr_texts: Vec<String> = Vec::new();
    let mut en_texts: Vec<String> = Vec::new();
    for base in &corpus.bases {
        for (lang, text) in base.body["summary"].as_object().into_iter().flatten() {
            let Some(text) = text.as_str() else { continue };
            for w in tokens(text).filter(|w| content_word(w)) {
                let entry = counts.entry(w.to_lowercase()).or_default();
                if lang == "fr" {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                }
            }
            if lang == "fr" && !base.from_dpg {
                fr_texts.push(text.to_owned());
            } else if lang == "en" {
                en_texts.push(text.to_owned());
            }
        }
    }
    let ranked = |fr: bool| {
        let mut words: Vec<(&String, u32)> = counts
            .iter()
            .filter(|(w, (f, e))| {
                w.chars().count() >= 5
                    && if fr {
                        *f >= 2 && *e * 4 < *f
                    } else {
                        *e >= 2 && *f * 4 < *e
                    }
            })
            .map(|(w, (f, e))| (w, if fr { *f } else { *e }))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        words
            .into_iter()
            .map(|(w, _)| w.clone())
            .collect::<Vec<_>>()
    };
    let fr_words = ranked(true);
    let en_words = ranked(false);
    let fr = spread(&fr_words, 40);
    let en = spread(&en_words, 30);

    let mut queries: Vec<Query> = Vec::new();
    let mut push = |category, q: String, filters: &[(&'static str, &str)]| {
        queries.push(Query {
            category,
            q,
            filters: filters.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        });
    };
    for w in [
        "santé",
        "éducation",
        "mobilité",
        "alimentation",
        "insertion",
        "logement",
    ] {
        push("single_fr", w.to_owned(), &[]);
    }
    for w in &fr {
        push("single_fr", w.clone(), &[]);
    }
    for w in ["health", "education", "agriculture", "water", "climate"] {
        push("single_en", w.to_owned(), &[]);
    }
    for w in &en {
        push("single_en", w.clone(), &[]);
    }
    // Two or three consecutive content words of one summary.
    push("multi_word", "epicerie solidaire ".to_owned(), &[]);
    push("multi_word", "données ouvertes ".to_owned(), &[]);
    for (j, texts) in [(0usize, &fr_texts), (1, &en_texts)] {
        if texts.is_empty() {
            continue;
        }
        for k in 0..20 {
            let text = &texts[(k * 7_919 + j * 13) % texts.len()];
            let words: Vec<&str> = tokens(text).filter(|w| content_word(w)).collect();
            let take = 2 + (k % 2);
            if words.len() >= take {
                let start = (k * 3) % (words.len() - take + 1);
                // Most visitors type a space last only sometimes.
                let mut q = words[start..start + take].join(" ").to_lowercase();
                if k % 3 == 0 {
                    q.push(' ');
                }
                push("multi_word", q, &[]);
            }
        }
    }
    push("typo", "epicerie solidair".to_owned(), &[]);
    push("typo", "educaton".to_owned(), &[]);
    let long: Vec<&String> = fr
        .iter()
        .chain(en.iter())
        .filter(|w| w.chars().count() >= 6 && w.is_ascii())
        .collect();
    for (j, w) in long.iter().take(30).enumerate() {
        push("typo", typo(w, j), &[]);
    }
    for p in ["mobil", "solid", "educ", "sant", "numer"] {
        push("prefix", p.to_owned(), &[]);
    }
    for (j, w) in long.iter().take(27).enumerate() {
        let n = 3 + j % 3;
        push("prefix", w.chars().take(n).collect(), &[]);
    }
    // Words with filters.
    let mut words_for_filters: Vec<String> = Vec::new();
    for k in 0..44 {
        let w = match k % 4 {
            0 => fr.get(k / 4).cloned(),
            1 => en.get(k / 4).cloned(),
            2 => long.get(k / 4).map(|w| w.chars().take(4).collect()),
            _ => long.get(k / 4 + 10).map(|w| typo(w, k)),
        };
        words_for_filters.extend(w);
    }
    for (k, w) in words_for_filters.iter().enumerate() {
        push("filtered", w.clone(), FILTER_SETS[k % FILTER_SETS.len()]);
    }
    for set in FILTER_SETS {
        push("filters_only", String::new(), set);
    }
    push("filters_only", String::new(), &[]);
    queries
}

/// A few queries of each category, as a URL query string would carry them.
fn examples(queries: &[Query]) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for q in queries {
        let list = out.entry(q.category).or_default();
        if list.len() < 4 {
            let shown: Vec<String> = q.pairs().iter().map(|(k, v)| format!("{k}={v}")).collect();
            list.push(shown.join("&"));
        }
    }
    out
}

fn categories(queries: &[Query]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for q in queries {
        *out.entry(q.category).or_default() += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Timing.

/// Latencies per query over several rounds (after one warm-up round).
struct Rounds {
    /// Per query, its samples in microseconds.
    samples: Vec<Vec<f64>>,
}

struct Stats {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
    n: usize,
}

impl Stats {
    fn to_json(&self) -> Value {
        json!({
            "p50": round3(self.p50),
            "p90": round3(self.p90),
            "p99": round3(self.p99),
            "max": round3(self.max),
            "mean": round3(self.mean),
            "samples": self.n,
        })
    }
}

impl Rounds {
    fn summary(&self, idx: &[usize]) -> Stats {
        let mut all: Vec<f64> = idx
            .iter()
            .flat_map(|i| self.samples[*i].iter().map(|us| us / 1000.0))
            .collect();
        all.sort_by(f64::total_cmp);
        if all.is_empty() {
            return Stats {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0.0,
                mean: 0.0,
                n: 0,
            };
        }
        let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        Stats {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: all[all.len() - 1],
            mean: all.iter().sum::<f64>() / all.len() as f64,
            n: all.len(),
        }
    }

    fn stats_of(&self, idx: &[usize]) -> Value {
        self.summary(idx).to_json()
    }
}

fn time_rounds(queries: &[Query], rounds: usize, mut f: impl FnMut(usize)) -> Rounds {
    for i in 0..queries.len() {
        f(i);
    }
    let mut samples = vec![Vec::with_capacity(rounds); queries.len()];
    for _ in 0..rounds {
        for (i, s) in samples.iter_mut().enumerate() {
            let started = Instant::now();
            f(i);
            s.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    Rounds { samples }
}

// ---------------------------------------------------------------------------
// Ingest.

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), 1-based 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 are at 11 and 12 after the state (field 3).
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds (busy, all processes) of the machine so far, from `/proc/stat`.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .take(8)
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    busy / 100.0
}

/// What else ran on the machine during a phase: the cores used by other
/// processes (the benchmark shares the machine with builds and tests).
struct Load {
    started: Instant,
    own: f64,
    machine: f64,
}

impl Load {
    fn start() -> Load {
        Load {
            started: Instant::now(),
            own: cpu_seconds(),
            machine: machine_busy_seconds(),
        }
    }

    fn report(&self) -> Value {
        let wall = self.started.elapsed().as_secs_f64();
        let own = cpu_seconds() - self.own;
        let machine = machine_busy_seconds() - self.machine;
        json!({
            "wall_s": round(wall),
            "this_process_cores": round(own / wall),
            "other_processes_cores": round(((machine - own) / wall).max(0.0)),
        })
    }
}

fn ingest(node: &Node, envelopes: &[Vec<u8>], now: u64) -> Value {
    let n = envelopes.len();
    progress(&format!(
        "ingest: {n} envelopes, verify in {VERIFY_THREADS} threads, store in batches of {INGEST_BATCH}, index concurrently"
    ));
    let load = Load::start();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let (tx, rx) = mpsc::sync_channel::<Vec<SignedRecord>>(4);
    let (wake, woken) = mpsc::channel::<()>();
    let mut verify_busy = Vec::new();
    let mut store_busy = Duration::ZERO;
    let mut store_batches = 0usize;
    let (index_busy, index_calls, searchable_at, watermark) = std::thread::scope(|s| {
        let verifiers: Vec<_> = (0..VERIFY_THREADS)
            .map(|t| {
                let tx = tx.clone();
                s.spawn(move || {
                    let mut busy = Duration::ZERO;
                    let mut count = 0usize;
                    for chunk in envelopes
                        .chunks(INGEST_BATCH)
                        .skip(t)
                        .step_by(VERIFY_THREADS)
                    {
                        let started = Instant::now();
                        let batch: Vec<SignedRecord> = chunk
                            .iter()
                            .map(|e| verify(e, now).expect("corpus records verify"))
                            .collect();
                        busy += started.elapsed();
                        count += batch.len();
                        if tx.send(batch).is_err() {
                            break;
                        }
                    }
                    (busy, count)
                })
            })
            .collect();
        drop(tx);
        let indexer = {
            let node = node.clone();
            s.spawn(move || {
                let mut busy = Duration::ZERO;
                let mut calls = 0usize;
                let mut watermark = 0;
                let mut step = || {
                    let started = Instant::now();
                    watermark = node.index_now().expect("index");
                    busy += started.elapsed();
                    calls += 1;
                };
                while woken.recv().is_ok() {
                    while woken.try_recv().is_ok() {}
                    step();
                }
                step();
                (busy, calls, Instant::now(), watermark)
            })
        };
        let mut last_report = Instant::now();
        let mut stored = 0usize;
        for batch in rx {
            let records: Vec<(SignedRecord, Source)> = batch
                .into_iter()
                .map(|r| (r, Source::Peer("12D3KooWbench".into())))
                .collect();
            stored += records.len();
            let started = Instant::now();
            node.ingest_blocking(records).expect("store");
            store_busy += started.elapsed();
            store_batches += 1;
            let _ = wake.send(());
            if last_report.elapsed() > Duration::from_secs(5) {
                progress(&format!(
                    "  stored {stored}/{n}, indexed up to change {}",
                    node.indexed()
                ));
                last_report = Instant::now();
            }
        }
        let stored_at = Instant::now();
        drop(wake);
        for v in verifiers {
            verify_busy.push(v.join().expect("a verify thread"));
        }
        let (busy, calls, at, watermark) = indexer.join().expect("the indexer thread");
        progress(&format!(
            "  all stored after {:.1} s, searchable after {:.1} s",
            (stored_at - started).as_secs_f64(),
            (at - started).as_secs_f64()
        ));
        (busy, calls, at, watermark)
    });
    let elapsed = (searchable_at - started).as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let docs = node.index().num_docs();
    let verify_rates: Vec<f64> = verify_busy
        .iter()
        .map(|(busy, count)| round(*count as f64 / busy.as_secs_f64()))
        .collect();
    json!({
        "records": n,
        "documents_searchable": docs,
        "watermark": watermark,
        "verify_threads": VERIFY_THREADS,
        "verify_per_s_per_thread": verify_rates,
        "verify_per_s_total": round(verify_rates.iter().sum::<f64>()),
        "store_per_s": round(n as f64 / store_busy.as_secs_f64()),
        "store_batches": store_batches,
        "index_per_s": round(n as f64 / index_busy.as_secs_f64()),
        "index_now_calls": index_calls,
        "busy_s": {
            "verify": verify_busy.iter().map(|(b, _)| round(b.as_secs_f64())).collect::<Vec<_>>(),
            "store": round(store_busy.as_secs_f64()),
            "index": round(index_busy.as_secs_f64()),
        },
        "end_to_end_records_per_s": round(n as f64 / elapsed),
        "time_to_last_record_searchable_s": round(elapsed),
        "process_cpu_s": round(cpu),
        "cpu_utilisation_cores": round(cpu / elapsed),
        "machine_load": load.report(),
        "note": "stages run concurrently (verify ×2 → store → index) on the machine's cores; per-stage rates are records / time spent in that stage's calls, under contention",
    })
}

// ---------------------------------------------------------------------------
// The node over HTTP.

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// Run the node on 127.0.0.1:0 in a runtime of its own thread.
    fn start(node: Node) -> Running {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound, addr) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                let _ = bound.send(listener.local_addr().expect("a bound address"));
                node.run(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the node runs and stops cleanly");
            });
        });
        let addr = addr.recv().expect("the node binds");
        Running { addr, stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().expect("the node thread");
    }
}

fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// One search over HTTP: status and total.
fn http_search(agent: &ureq::Agent, base: &str, q: &Query) -> (u16, usize) {
    let mut response = agent
        .get(&format!("{base}/api/v1/search"))
        .query_pairs(q.pairs())
        .call()
        .expect("the node answers");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().expect("a body");
    assert_eq!(status, 200, "search {:?} {:?}: {body}", q.q, q.filters);
    let total = body
        .find("\"total\":")
        .and_then(|at| {
            let rest = &body[at + 8..];
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..end].parse().ok()
        })
        .unwrap_or(0);
    (status, total)
}

/// Poll until `base` answers a search with 200; the time it took.
fn until_serving(base: &str, q: &Query, started: Instant) -> Option<(f64, f64)> {
    let agent = http_agent();
    let mut healthy = None;
    while started.elapsed() < Duration::from_secs(120) {
        if healthy.is_none() {
            if let Ok(r) = agent.get(&format!("{base}/healthz")).call()
                && r.status() == 200
            {
                healthy = Some(started.elapsed().as_secs_f64() * 1000.0);
            } else {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
        }
        if let Ok(mut r) = agent
            .get(&format!("{base}/api/v1/search"))
            .query_pairs(q.pairs())
            .call()
            && r.status() == 200
            && r.body_mut().read_to_string().is_ok()
        {
            return Some((
                healthy.unwrap_or_default(),
                started.elapsed().as_secs_f64() * 1000.0,
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

fn restart_in_process(data: &DataDir, queries: &[Query]) -> Value {
    let started = Instant::now();
    // Federation on loopback only, no mdns: the benchmark stays on this machine.
    let node = Node::open_with(data, |config| {
        config.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr")];
        config.mdns = false;
        // The corpus's repositories are on the internet: no mirrors here.
        config.mirror_enabled = false;
        // The corpus is signed by many hubs this one does not follow.
        config.trust_mode = essaim_node::config::TrustMode::Open;
        config.trust_quota_per_hour = 10_000_000;
        config.trust_quota_total = 10_000_000;
    })
    .expect("the node reopens");
    let opened_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rebuilt = node.rebuilt_index().map(str::to_owned);
    let docs = node.index().num_docs();
    let running = Running::start(node.clone());
    let bound_ms = started.elapsed().as_secs_f64() * 1000.0;
    let served = until_serving(&format!("http://{}", running.addr), &queries[0], started);
    running.stop();
    drop(node);
    json!({
        "node_open_ms": round3(opened_ms),
        "bound_ms": round3(bound_ms),
        "to_healthz_ms": served.map(|s| round3(s.0)),
        "to_first_search_ms": served.map(|s| round3(s.1)),
        "index_rebuilt": rebuilt,
        "documents": docs,
    })
}

fn proc_status(pid: Option<u32>) -> Value {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
    };
    json!({"vm_rss": field("VmRSS:"), "vm_hwm": field("VmHWM:")})
}

/// Segments of the tantivy index, from its `meta.json`.
fn index_segments(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("meta.json")).ok()?;
    let meta: Value = serde_json::from_str(&text).ok()?;
    Some(meta["segments"].as_array()?.len())
}

fn dir_size(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|d| d.filter_map(Result::ok).map(|e| dir_size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// A started `essaim run` and how long it took to serve.
struct Started {
    child: Child,
    base: String,
    /// Milliseconds to `/healthz`, then to the first search.
    served: Option<(f64, f64)>,
}

fn start_binary(binary: &Path, data: &DataDir, log: &Path, q: &Query) -> Result<Started, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log = std::fs::File::create(log).map_err(|e| format!("log file: {e}"))?;
    progress(&format!("starting {} run on port {port}", binary.display()));
    let started = Instant::now();
    let child = Command::new(binary)
        .args(["run", "--data-dir"])
        .arg(data.root())
        .args(["--http", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info,essaim_node=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let served = until_serving(&base, q, started);
    Ok(Started {
        child,
        base,
        served,
    })
}

/// Ctrl-C, as an operator would; the node flushes and stops. Milliseconds
/// to exit, and the exit status.
fn stop_binary(mut child: Child) -> (f64, Option<String>) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let started = Instant::now();
    let mut exited = None;
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status.to_string());
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    (round3(started.elapsed().as_secs_f64() * 1000.0), exited)
}

fn log_tail(path: &Path) -> String {
    let lines: Vec<String> = std::fs::File::open(path)
        .map(|f| BufReader::new(f).lines().map_while(Result::ok).collect())
        .unwrap_or_default();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// The real `essaim run` on the data directory, started twice: restart
/// time (the first start may find the binary cold in the page cache),
/// searches over HTTP and RSS after them (first start only).
fn real_binary(data: &DataDir, queries: &[Query], rounds: usize, scratch: &Path) -> Value {
    let exe = std::env::current_exe().ok();
    let Some(binary) = exe
        .as_deref()
        .and_then(Path::parent)
        .map(|d| d.join("essaim"))
        .filter(|p| p.exists())
    else {
        progress("target/release/essaim not found: skipping the real-binary figures");
        return json!({"skipped": "target/release/essaim not found; run `cargo build --release -p essaim` first"});
    };
    let mut report = json!({"binary": binary.display().to_string()});
    let mut starts = Vec::new();
    for n in 0..2 {
        let log = scratch.join(format!("essaim-run-{}.log", n + 1));
        let started = match start_binary(&binary, data, &log, &queries[0]) {
            Ok(started) => started,
            Err(e) => {
                report["error"] = json!(e);
                break;
            }
        };
        if n == 0 && started.served.is_some() {
            let agent = http_agent();
            progress("real binary HTTP rounds");
            let timed = time_rounds(queries, rounds, |i| {
                std::hint::black_box(http_search(&agent, &started.base, &queries[i]));
            });
            let all: Vec<usize> = (0..queries.len()).collect();
            report["search_http_ms"] = timed.summary(&all).to_json();
            report["rss_kib"] = proc_status(Some(started.child.id()));
        }
        let served = started.served;
        let (stop_ms, exit) = stop_binary(started.child);
        // A binary of another layout rebuilds the index: then this start
        // measured a reindex, not a restart.
        let rebuilt = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("rebuilding it from the store");
        starts.push(json!({
            "to_healthz_ms": served.map(|s| round3(s.0)),
            "to_first_search_ms": served.map(|s| round3(s.1)),
            "index_rebuilt": rebuilt,
            "stop_ms": stop_ms,
            "exit": exit,
        }));
        if served.is_none() {
            report["error"] = json!(format!("no answer within 120 s; log: {}", log_tail(&log)));
            break;
        }
    }
    // The second start is the restart figure: the binary is warm, as after an upgrade's first start.
    let best = starts
        .last()
        .map(|s| s["to_first_search_ms"].clone())
        .unwrap_or(Value::Null);
    report["restart"] = json!({
        "to_first_search_ms": best,
        "starts": starts,
        "note": "from spawning `essaim run` to the first 200 answer of /api/v1/search; the figure is the second start (the first may read the binary from disk); `index_rebuilt` true means the binary was built from other code than this benchmark (another index layout): rebuild it",
    });
    report
}

// ---------------------------------------------------------------------------
// The SQLite FTS5 baseline.

struct Fts {
    conn: rusqlite::Connection,
    report: Value,
}

impl Fts {
    fn build(docs: &[FtsDoc], scratch: &Path) -> Fts {
        let path = scratch.join("fts5.sqlite");
        let conn = rusqlite::Connection::open(&path).expect("open the FTS5 database");
        let fts5: bool = conn
            .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
                r.get(0)
            })
            .unwrap_or(false);
        let version: String = conn
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))
            .unwrap_or_default();
        assert!(fts5, "the bundled SQLite {version} has no FTS5");
        conn.set_prepared_statement_cache_capacity(256);
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA cache_size = -262144;
             PRAGMA mmap_size = 2147483648;
             PRAGMA temp_store = MEMORY;
             CREATE TABLE initiatives (
                 id INTEGER PRIMARY KEY, name TEXT, summary TEXT, description TEXT,
                 hub TEXT, stage TEXT, region TEXT, departement TEXT, commune TEXT,
                 created INTEGER);
             CREATE TABLE themes (doc INTEGER, theme TEXT, PRIMARY KEY (doc, theme)) WITHOUT ROWID;
             CREATE TABLE licences (doc INTEGER, licence TEXT, PRIMARY KEY (doc, licence)) WITHOUT ROWID;
             CREATE VIRTUAL TABLE fts USING fts5(
                 name, summary, description,
                 content = 'initiatives', content_rowid = 'id',
                 tokenize = 'unicode61 remove_diacritics 2',
                 prefix = '2 3 4 5');",
        )
        .expect("the FTS5 schema");
        let started = Instant::now();
        {
            let tx = conn.unchecked_transaction().expect("a transaction");
            {
                let mut doc = tx
                    .prepare(
                        "INSERT INTO initiatives VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )
                    .expect("insert");
                let mut theme = tx
                    .prepare("INSERT INTO themes VALUES (?1, ?2)")
                    .expect("insert");
                let mut licence = tx
                    .prepare("INSERT INTO licences VALUES (?1, ?2)")
                    .expect("insert");
                for (i, d) in docs.iter().enumerate() {
                    let id = i as i64 + 1;
                    doc.execute(rusqlite::params![
                        id,
                        d.name,
                        d.summary,
                        d.description,
                        d.hub,
                        d.stage,
                        d.region,
                        d.departement,
                        d.commune,
                        d.created as i64
                    ])
                    .expect("insert a document");
                    for t in &d.themes {
                        theme
                            .execute(rusqlite::params![id, t])
                            .expect("insert a theme");
                    }
                    for l in &d.licences {
                        licence
                            .execute(rusqlite::params![id, l])
                            .expect("insert a licence");
                    }
                }
            }
            tx.execute_batch(
                "INSERT INTO fts (rowid, name, summary, description)
                     SELECT id, name, summary, description FROM initiatives;
                 CREATE INDEX themes_theme ON themes (theme, doc);
                 CREATE INDEX licences_licence ON licences (licence, doc);
                 CREATE INDEX initiatives_region ON initiatives (region);
                 CREATE INDEX initiatives_departement ON initiatives (departement);
                 CREATE INDEX initiatives_commune ON initiatives (commune);
                 CREATE INDEX initiatives_stage ON initiatives (stage);
                 CREATE INDEX initiatives_created ON initiatives (created);",
            )
            .expect("fill the FTS5 index");
            tx.commit().expect("commit");
        }
        conn.execute_batch(
            "INSERT INTO fts (fts) VALUES ('optimize');
             INSERT INTO fts (fts, rank) VALUES ('rank', 'bm25(2.0, 1.0, 1.0)');
             ANALYZE;",
        )
        .expect("optimize");
        let build_s = started.elapsed().as_secs_f64();
        let report = json!({
            "sqlite_version": version,
            "fts5_compiled_in": fts5,
            "documents": docs.len(),
            "build_s": round(build_s),
            "file_bytes": dir_size(&path),
            "schema": "initiatives(name, summary, description, hub, stage, region, departement, commune, created) + themes(doc, theme) + licences(doc, licence); fts5(name, summary, description) external content, tokenize 'unicode61 remove_diacritics 2', prefix '2 3 4 5', rank bm25(2, 1, 1); mmap 2 GiB, cache 256 MiB",
            "per_query": "one statement for the facet counts (MATERIALIZED CTE of the matches, UNION ALL of GROUP BY: total, theme, région, département, top-100 communes, stage, licence, hub) and one for the top 20 by bm25 with highlight() of the name and snippet(); all words ANDed, then ORed when nothing has them all (as the node does); last word as prefix `w*` unless followed by a space; filters as WHERE clauses; no text: newest first",
            "not_comparable": "FTS5 has no typo tolerance and no stemming (unicode61 only folds case and diacritics); it does not index theme labels, place names or hub names as the node does; no label facet (the corpus has no endorsements)",
        });
        Fts { conn, report }
    }

    /// The FTS5 MATCH expression for `q`: quoted words, the last one a prefix
    /// unless followed by a separator.
    fn expression(q: &str, any: bool) -> Option<(String, usize)> {
        let words: Vec<&str> = tokens(q).take(16).collect();
        if words.is_empty() {
            return None;
        }
        let open_end = q.chars().last().is_some_and(char::is_alphanumeric);
        let last = words.len() - 1;
        let terms: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == last && open_end {
                    format!("\"{w}\"*")
                } else {
                    format!("\"{w}\"")
                }
            })
            .collect();
        Some((terms.join(if any { " OR " } else { " " }), words.len()))
    }

    /// WHERE clauses (on alias `i`) and their parameters.
    fn filters(query: &Query) -> (String, Vec<String>) {
        let mut by_kind: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (kind, value) in &query.filters {
            by_kind.entry(kind).or_default().push(value);
        }
        let mut sql = String::new();
        let mut params = Vec::new();
        for (kind, values) in by_kind {
            let marks = vec!["?"; values.len()].join(", ");
            match kind {
                "theme" => sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM themes t WHERE t.doc = i.id AND t.theme IN ({marks}))"
                )),
                "stage" => sql.push_str(&format!(" AND i.stage IN ({marks})")),
                "territory" => {
                    // Each value at its own level; OR within the kind.
                    let parts: Vec<&str> = values
                        .iter()
                        .map(|v| match v.split_once(':').map(|(l, _)| l) {
                            Some("reg") => "i.region = ?",
                            Some("dep") => "i.departement = ?",
                            Some("com") => "i.commune = ?",
                            // `FR`: every initiative has a territory.
                            _ => "? IS NOT NULL",
                        })
                        .collect();
                    sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
                }
                other => unreachable!("filter {other}"),
            }
            params.extend(values.iter().map(|v| (*v).to_owned()));
        }
        (sql, params)
    }

    /// Total and number of hits on the page, with facet counts computed.
    fn search(&self, query: &Query) -> (usize, usize) {
        let (where_sql, filter_params) = Fts::filters(query);
        let Some((all, words)) = Fts::expression(&query.q, false) else {
            return self.run(None, &where_sql, &filter_params);
        };
        let found = self.run(Some(&all), &where_sql, &filter_params);
        if found.0 == 0 && words > 1 {
            let (any, _) = Fts::expression(&query.q, true).expect("words");
            return self.run(Some(&any), &where_sql, &filter_params);
        }
        found
    }

    fn run(&self, expression: Option<&str>, where_sql: &str, filters: &[String]) -> (usize, usize) {
        let (matches, hits) = match expression {
            Some(_) => (
                format!(
                    "SELECT i.id, i.hub, i.stage, i.region, i.departement, i.commune
                     FROM fts JOIN initiatives i ON i.id = fts.rowid
                     WHERE fts MATCH ?1{where_sql}"
                ),
                format!(
                    "SELECT i.id, i.name, highlight(fts, 0, '<mark>', '</mark>'),
                            snippet(fts, -1, '<mark>', '</mark>', '…', 24)
                     FROM fts JOIN initiatives i ON i.id = fts.rowid
                     WHERE fts MATCH ?1{where_sql}
                     ORDER BY fts.rank LIMIT {LIMIT}"
                ),
            ),
            None => (
                format!(
                    "SELECT i.id, i.hub, i.stage, i.region, i.departement, i.commune
                     FROM initiatives i WHERE 1{where_sql}"
                ),
                format!(
                    "SELECT i.id, i.name, i.name, substr(i.summary, 1, 160)
                     FROM initiatives i WHERE 1{where_sql}
                     ORDER BY i.created DESC LIMIT {LIMIT}"
                ),
            ),
        };
        let facets = format!(
            "WITH m AS MATERIALIZED ({matches})
             SELECT 'total', '', count(*) FROM m
             UNION ALL SELECT 'theme', t.theme, count(*) FROM m JOIN themes t ON t.doc = m.id GROUP BY t.theme
             UNION ALL SELECT 'region', region, count(*) FROM m WHERE region IS NOT NULL GROUP BY region
             UNION ALL SELECT 'departement', departement, count(*) FROM m WHERE departement IS NOT NULL GROUP BY departement
             UNION ALL SELECT * FROM (SELECT 'commune', commune, count(*) AS c FROM m WHERE commune IS NOT NULL
                                      GROUP BY commune ORDER BY c DESC, commune LIMIT 100)
             UNION ALL SELECT 'stage', stage, count(*) FROM m GROUP BY stage
             UNION ALL SELECT 'licence', l.licence, count(*) FROM m JOIN licences l ON l.doc = m.id GROUP BY l.licence
             UNION ALL SELECT 'hub', hub, count(*) FROM m GROUP BY hub"
        );
        let mut params: Vec<&str> = Vec::with_capacity(filters.len() + 1);
        params.extend(expression);
        params.extend(filters.iter().map(String::as_str));
        let mut total = 0usize;
        let mut values = 0usize;
        {
            let mut stmt = self.conn.prepare_cached(&facets).expect("facet statement");
            let mut rows = stmt
                .query(rusqlite::params_from_iter(params.iter()))
                .expect("facet query");
            while let Some(row) = rows.next().expect("a facet row") {
                let kind: String = row.get(0).expect("kind");
                let count: i64 = row.get(2).expect("count");
                if kind == "total" {
                    total = count as usize;
                } else {
                    values += 1;
                }
            }
        }
        std::hint::black_box(values);
        if total == 0 {
            return (0, 0);
        }
        let mut stmt = self.conn.prepare_cached(&hits).expect("hits statement");
        let page: Vec<(i64, String, String, String)> = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .expect("hits query")
            .collect::<Result<_, _>>()
            .expect("hit rows");
        (total, page.len())
    }
}
