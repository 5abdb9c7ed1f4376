//! Commands that need the node: run, demo, publish, search, show, status,
//! export, import, reindex. Each goes through the node's JSON API — over
//! HTTP when `essaim run` is up on the data directory, in-process otherwise —
//! and prints the answer for people, or as it is with `--json`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use essaim_node::client::NodeApi;
use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::node::Node;
use essaim_node::store::{Inserted, Source, Store};
use essaim_node::{draft, unix_now};
use essaim_protocol::limits::MAX_JSON_VIEW_BYTES;
use essaim_protocol::{Body, SignedRecord};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::commands::Global;

/// Records per store transaction during imports.
const IMPORT_BATCH: usize = 1_000;

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Turn an API error answer into a one-line error.
pub(crate) fn api_result(status: u16, value: Value) -> Result<Value> {
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let error = &value["error"];
    let message = error["message"]
        .as_str()
        .unwrap_or("the node refused the request");
    match error["field"].as_str() {
        Some(field) if !message.contains(field) => bail!("{message} (field `{field}`)"),
        _ => bail!("{message}"),
    }
}

/// Resolve on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `essaim run`.
pub(crate) fn run(
    global: &Global,
    http: Option<String>,
    listen: &[String],
    bootstrap: &[String],
    no_mdns: bool,
    log_json: bool,
    exit_on_stdin_close: bool,
) -> Result<()> {
    crate::logging::init(log_json);
    let data = global.data_dir()?;
    let multiaddrs = |flag: &str, list: &[String]| {
        list.iter()
            .map(|m| {
                m.parse().map_err(|_| {
                    anyhow::anyhow!("{flag} {m}: write a multiaddr such as /ip4/0.0.0.0/tcp/4001")
                })
            })
            .collect::<Result<Vec<_>>>()
    };
    let listen = multiaddrs("--listen", listen)?;
    let bootstrap = multiaddrs("--bootstrap", bootstrap)?;
    // Flags override the configuration file.
    let node = Node::open_with(&data, |config| {
        if !listen.is_empty() {
            config.p2p_listen = listen;
        }
        config.bootstrap.extend(bootstrap);
        if no_mdns {
            config.mdns = false;
        }
    })?;
    if let Some(reason) = node.rebuilt_index() {
        tracing::warn!(%reason, "the search index was rebuilt from the store");
    }
    let address: SocketAddr = match http {
        Some(text) => text.parse().with_context(|| {
            format!("--http {text}: write an address and port such as 127.0.0.1:8080")
        })?,
        None => node.config().http_listen,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}: is another node using it? choose another with --http"))?;
        let bound = listener.local_addr()?;
        println!("Essaim node of hub {}", node.hub_id());
        println!("  UI      http://{bound}/");
        println!("  API     http://{bound}/api/v1/status");
        println!("  search  http://{bound}/api/v1/search?q=…");
        println!("Stop with Ctrl-C.");
        let _ = std::io::stdout().flush();
        let shutdown = async move {
            if exit_on_stdin_close {
                tokio::select! {
                    () = shutdown_signal() => {}
                    () = stdin_closed() => {}
                }
            } else {
                shutdown_signal().await;
            }
        };
        node.run(listener, shutdown).await?;
        Ok(())
    })
}

/// Completes when standard input reaches its end (its writer is gone).
async fn stdin_closed() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// `essaim demo --nodes 1`: one node on a temporary data directory with the
/// whole sample catalogue (several nodes: [`crate::demo::network`]).
pub(crate) fn demo(
    global: &Global,
    _nodes: u16,
    http: Option<String>,
    log_json: bool,
) -> Result<()> {
    crate::logging::init(log_json);
    let root = match &global.data_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("essaim-demo-{}", std::process::id())),
    };
    let data = DataDir::locate(Some(root.clone()))?;
    if !data.path(datadir::KEY_FILE).exists() {
        datadir::init(
            &data,
            HubProfile {
                name: Some("Hub de démonstration".into()),
                kind: essaim_protocol::vocab::HubKind::Reseau,
                territories: vec![essaim_protocol::Territory::NATIONAL],
            },
            unix_now(),
        )?;
    }
    // A demo federates on loopback only, without mdns.
    let node = Node::open_with(&data, |config| {
        config.p2p_listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a literal multiaddr")];
        config.mdns = false;
        crate::demo::allow_demo_forge(config);
    })?;
    let now = unix_now();
    let (hubs, forge) = crate::demo::catalogue_with_forge(&root, now)?;
    // Web-of-trust: follow the network and the funder; the hubs the network
    // labels are trusted through its labels.
    let followed: Vec<essaim_protocol::HubId> = hubs
        .iter()
        .filter(|h| crate::demo::DEMO_FOLLOWS.contains(&h.key_name))
        .map(|h| h.hub_id())
        .collect();
    crate::demo::follow_all(&node, &followed)?;
    let records: Vec<(SignedRecord, Source)> = hubs
        .iter()
        .flat_map(|hub| hub.records.iter().cloned())
        .map(|r| (r, Source::Import))
        .collect();
    let count = records.len();
    node.ingest_blocking(records)?;
    node.index_now()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let forge_url = forge.url();
        let example = forge.example.clone();
        forge.spawn()?;
        let listener = demo_listener(http.as_deref()).await?;
        let bound = listener.local_addr()?;
        println!(
            "Essaim demo: {} sample hubs, {count} signed records",
            hubs.len()
        );
        println!("  UI      http://{bound}/");
        println!("  data    {}", root.display());
        println!(
            "  publish http://{bound}/publish (operator token: {})",
            root.join(essaim_node::node::TOKEN_FILE).display()
        );
        println!("  API     http://{bound}/api/v1/status");
        println!("  search  http://{bound}/api/v1/search?q=epicerie+solidaire");
        println!("  forge   {forge_url} (the sample initiatives' code, mirrored by the hub)");
        if let Some((slug, repo)) = &example
            && let Some(owner) = hubs
                .iter()
                .find(|h| h.records.iter().any(|r| r.address().slug.as_str() == slug))
        {
            println!(
                "  clone   git clone http://{bound}/git/{}/{slug}/{repo}.git",
                owner.hub_id().short()
            );
        }
        println!("Stop with Ctrl-C.");
        let _ = std::io::stdout().flush();
        node.run(listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// `essaim publish FILE`.
pub(crate) fn publish(global: &Global, file: &Path) -> Result<()> {
    let data = global.data_dir()?;
    let text = String::from_utf8(crate::commands::read_limited(file, MAX_JSON_VIEW_BYTES)?)
        .with_context(|| format!("{} is not UTF-8 text", file.display()))?;
    let format = draft::Format::detect(Some(file), &text);
    let content_type = match format {
        draft::Format::Toml => "application/toml",
        draft::Format::Yaml => "application/yaml",
        draft::Format::Json => "application/json",
    };
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.post("/api/v1/publish", content_type, text.into_bytes(), true)?;
    let value =
        api_result(status, value).with_context(|| format!("{}: record refused", file.display()))?;
    if global.json {
        println!("{value}");
    } else {
        let via = if api.is_remote() {
            "through the running node"
        } else {
            "into the store"
        };
        println!(
            "published {} ({})",
            value["address"].as_str().unwrap_or(""),
            value["outcome"].as_str().unwrap_or("")
        );
        println!("  id  {}", value["id"].as_str().unwrap_or(""));
        println!("  {via}; searchable now");
    }
    Ok(())
}

/// Strip `<mark>` and decode the few entities the index escapes, for a terminal.
fn plain(html: &str) -> String {
    html.replace("<mark>", "")
        .replace("</mark>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// `essaim search`.
pub(crate) fn search(
    global: &Global,
    query: &str,
    filters: &[(&str, Option<String>)],
    limit: usize,
) -> Result<()> {
    let data = global.data_dir()?;
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("q", query);
    for (name, value) in filters {
        if let Some(value) = value {
            url.append_pair(name, value);
        }
    }
    url.append_pair("limit", &limit.to_string());
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.get(&format!("/api/v1/search?{}", url.finish()))?;
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let total = value["total"].as_u64().unwrap_or(0);
    let hits = value["hits"].as_array().cloned().unwrap_or_default();
    if hits.is_empty() {
        println!("No initiative matches. Try fewer words, or remove a filter.");
        return Ok(());
    }
    println!(
        "{total} initiative(s){}",
        if value["all_words"] == Value::Bool(false) {
            " matching some of the words"
        } else {
            ""
        }
    );
    for hit in &hits {
        let address = hit["address"].as_str().unwrap_or("");
        let short = address
            .strip_prefix("did:key:")
            .map(|rest| rest.replace("/initiative/", "/"))
            .unwrap_or_default();
        println!();
        println!("{}", plain(hit["name_highlighted"].as_str().unwrap_or("")));
        let hub = hit["hub_name"]
            .as_str()
            .filter(|h| !h.is_empty())
            .unwrap_or("?");
        println!(
            "  {} · {} · {short}",
            hub,
            hit["stage"].as_str().unwrap_or("")
        );
        let snippet = plain(hit["snippet"].as_str().unwrap_or(""));
        if !snippet.is_empty() {
            println!("  {snippet}");
        }
    }
    Ok(())
}

/// `essaim show HUB/SLUG`.
pub(crate) fn show(global: &Global, initiative: &str) -> Result<()> {
    let data = global.data_dir()?;
    let address = essaim_protocol::Address::parse_initiative(initiative).map_err(|rule| {
        anyhow::anyhow!("`{initiative}`: {rule}; write HUB/SLUG, e.g. z6Mk…/epicerie-solidaire")
    })?;
    let api = NodeApi::connect(&data)?;
    let path = format!(
        "/api/v1/initiatives/{}/{}",
        address.author.short(),
        address.slug
    );
    let (status, value) = api.get(&path)?;
    if status == 410 {
        if global.json {
            println!("{value}");
        }
        bail!("{initiative} was withdrawn by its author");
    }
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let body = &value["head"]["body"];
    println!("{}", body["name"].as_str().unwrap_or(""));
    println!("  {}", body["summary"]["fr"].as_str().unwrap_or(""));
    println!();
    let list = |v: &Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!(
        "  hub          {}",
        value["hub"]["body"]["name"].as_str().unwrap_or("?")
    );
    println!("  stage        {}", body["stage"].as_str().unwrap_or(""));
    println!("  themes       {}", list(&body["themes"]));
    println!("  origin       {}", body["origin"].as_str().unwrap_or(""));
    if body["territories"].is_array() {
        println!("  territories  {}", list(&body["territories"]));
    }
    if let Some(repos) = body["repositories"].as_array() {
        for repo in repos {
            println!(
                "  repository   {} ({})",
                repo["url"].as_str().unwrap_or(""),
                repo["licence"].as_str().unwrap_or("")
            );
        }
    }
    for e in value["endorsements"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let b = &e["body"];
        let what = match b["type"].as_str().unwrap_or("") {
            "label" => format!("label « {} »", b["label"].as_str().unwrap_or("")),
            "replication" => format!("essaimée en {}", b["territory"].as_str().unwrap_or("")),
            "funding" => format!(
                "financement {} € ({})",
                b["amount_cents"].as_u64().unwrap_or(0) / 100,
                b["programme"].as_str().unwrap_or("")
            ),
            other => other.to_owned(),
        };
        let valid = if e["valid"] == Value::Bool(false) {
            " (expired or revoked)"
        } else {
            ""
        };
        println!(
            "  endorsement  {what} by {}{valid}",
            b["author"].as_str().unwrap_or("")
        );
    }
    println!();
    println!(
        "  record       {}",
        value["provenance"]["id"].as_str().unwrap_or("")
    );
    println!(
        "  author       {} (signature verified)",
        value["provenance"]["author"].as_str().unwrap_or("")
    );
    println!(
        "  received     from {}",
        value["provenance"]["received_from"].as_str().unwrap_or("")
    );
    println!(
        "  versions     {}",
        value["history"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}

/// `essaim status`.
pub(crate) fn status(global: &Global) -> Result<()> {
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.get("/api/v1/status")?;
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    println!(
        "hub      {} ({})",
        value["name"].as_str().unwrap_or(""),
        value["hub"].as_str().unwrap_or("")
    );
    println!(
        "node     {}",
        if api.is_remote() {
            "running"
        } else {
            "not running (read from the data directory)"
        }
    );
    println!("records  {} (all versions)", value["store"]["records"]);
    if let Some(heads) = value["store"]["heads"].as_object() {
        let parts: Vec<String> = heads.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!("heads    {}", parts.join(", "));
    }
    println!(
        "index    {} documents, {} change(s) behind",
        value["index"]["documents"], value["index"]["behind"]
    );
    let sync = &value["sync"];
    if sync.is_object() {
        println!(
            "peers    {} connected; head-set digest {}",
            sync["connected_peers"],
            sync["digest"].as_str().unwrap_or("")
        );
        println!(
            "reach    {}",
            sync["reachability"].as_str().unwrap_or("unknown")
        );
        for relay in sync["relays"].as_array().into_iter().flatten() {
            println!(
                "relay    {} ({})",
                relay["address"].as_str().unwrap_or(""),
                if relay["reserved"] == true {
                    "reserved"
                } else {
                    "reserving"
                }
            );
        }
    }
    let mirrors = &value["mirrors"];
    if mirrors.is_object() {
        println!(
            "mirrors  {} ok of {}, {} failed, {} too large, {} refused, {} running",
            mirrors["ok"],
            mirrors["total"],
            mirrors["failed"],
            mirrors["too_large"],
            mirrors["refused"],
            mirrors["running"]
        );
        for missing in mirrors["pins_missing"].as_array().into_iter().flatten() {
            println!(
                "WARNING  mirror {} lacks its pinned commit: see `essaim mirror status`",
                missing.as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// `essaim peers`: connected peers (when the node runs) and remembered ones.
pub(crate) fn peers(global: &Global) -> Result<()> {
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.get("/api/v1/peers")?;
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let connected = value["connected"].as_array().cloned().unwrap_or_default();
    if !api.is_remote() {
        println!("the node is not running: peers remembered from earlier connections");
    } else if connected.is_empty() {
        println!("no connected peer");
    }
    for peer in &connected {
        println!("{}", peer["peer_id"].as_str().unwrap_or(""));
        println!("  hub       {}", peer["hub"].as_str().unwrap_or("-"));
        let addresses: Vec<&str> = peer["addresses"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        println!("  addresses {}", addresses.join(" "));
        match peer["latency_ms"].as_f64() {
            Some(ms) => println!("  latency   {ms:.1} ms"),
            None => println!("  latency   -"),
        }
        let sync = &peer["last_sync"];
        if sync.is_null() {
            println!("  last sync -");
        } else if sync["ok"] == true {
            println!(
                "  last sync ok, {} fetched, {} pushed, {} bytes, {} ms",
                sync["fetched"],
                sync["pushed"],
                sync["bytes_sent"].as_u64().unwrap_or(0)
                    + sync["bytes_received"].as_u64().unwrap_or(0),
                sync["duration_ms"]
            );
        } else {
            println!(
                "  last sync failed: {}",
                sync["error"].as_str().unwrap_or("")
            );
        }
    }
    if !api.is_remote() {
        for peer in value["known"].as_array().cloned().unwrap_or_default() {
            println!(
                "{}  hub {}  last sync: {}",
                peer["peer_id"].as_str().unwrap_or(""),
                peer["hub"].as_str().unwrap_or("-"),
                peer["last_sync_result"].as_str().unwrap_or("never")
            );
        }
    }
    Ok(())
}

/// `essaim export`.
pub(crate) fn export(global: &Global, format: &str, out: Option<&Path>) -> Result<()> {
    let data = global.data_dir()?;
    let store = Store::open(&data.path(essaim_node::node::STORE_FILE))?;
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut since = 0;
    let mut count = 0u64;
    if format == "csv" {
        writeln!(
            writer,
            "address,name,hub,stage,themes,origin,territories,summary_fr,website,repositories,licences,created"
        )?;
    }
    loop {
        let page = store.records_since(since, 2_000)?;
        let Some(last) = page.last().map(|r| r.change) else {
            break;
        };
        for stored in &page {
            if format == "jsonl" {
                serde_json::to_writer(&mut writer, &stored.record.to_json_view())?;
                writeln!(writer)?;
                count += 1;
            } else if let Body::Initiative(i) = stored.record.body() {
                // One row per current head.
                let head = store.head(&stored.record.address())?;
                if head.is_some_and(|h| h.change == stored.change) {
                    let join = |items: Vec<String>| items.join(" ");
                    let row = [
                        stored.record.address().to_string(),
                        i.name.clone(),
                        i.author.to_string(),
                        i.stage.code().to_owned(),
                        join(i.themes.iter().map(|t| t.code().to_owned()).collect()),
                        i.origin.to_string(),
                        join(i.territories.iter().map(|t| t.to_string()).collect()),
                        i.summary.values().next().cloned().unwrap_or_default(),
                        i.website
                            .as_ref()
                            .map(|w| w.to_string())
                            .unwrap_or_default(),
                        join(i.repositories.iter().map(|r| r.url.to_string()).collect()),
                        join(
                            i.repositories
                                .iter()
                                .map(|r| r.licence.to_string())
                                .collect(),
                        ),
                        i.created.to_string(),
                    ];
                    let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
                    writeln!(writer, "{}", cells.join(","))?;
                    count += 1;
                }
            }
        }
        since = last;
    }
    writer.flush()?;
    eprintln!(
        "exported {count} {}",
        if format == "jsonl" {
            "signed records"
        } else {
            "initiatives"
        }
    );
    Ok(())
}

/// A CSV cell (RFC 4180), defused for spreadsheets (a leading `=`, `+`, `-`,
/// `@` would start a formula).
fn csv_cell(text: &str) -> String {
    let mut text = text.replace(['\r', '\n'], " ");
    if text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Store verified records in batches with a progress bar; then, when no node
/// runs, bring the index up to date (a running node notices within seconds).
fn store_records(data: &DataDir, records: Vec<SignedRecord>, what: &str) -> Result<(u64, u64)> {
    let store = Store::open(&data.path(essaim_node::node::STORE_FILE))?;
    // Imports go through the trust policy like every other arrival.
    let config = essaim_node::config::Config::load(&data.path(datadir::CONFIG_FILE))?;
    let trust = essaim_node::trust::Trust::new(&config, data.load_key()?.hub_id());
    let bar = progress_bar(records.len() as u64, what);
    let (mut new, mut known, mut quarantined, mut refused) = (0u64, 0u64, 0u64, 0u64);
    for chunk in records.chunks(IMPORT_BATCH) {
        let batch: Vec<(SignedRecord, Source)> =
            chunk.iter().cloned().map(|r| (r, Source::Import)).collect();
        let (outcomes, _) = trust.ingest(&store, &batch, unix_now())?;
        for outcome in outcomes {
            match outcome {
                Inserted::Duplicate => known += 1,
                Inserted::Quarantined => quarantined += 1,
                Inserted::Refused(_) => refused += 1,
                _ => new += 1,
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    drop(store);
    if quarantined > 0 {
        eprintln!(
            "note: {quarantined} record(s) kept in quarantine: their hubs are not followed (see `essaim quarantine`)"
        );
    }
    if refused > 0 {
        eprintln!(
            "note: {refused} record(s) refused by the trust policy (blocked hub or quota; see `essaim quarantine`)"
        );
    }
    if essaim_node::node::running_node(data).is_none() {
        let node = Node::open(data)?;
        node.index_now()?;
    }
    Ok((new, known))
}

/// `essaim import records FILE.jsonl`.
pub(crate) fn import_records(global: &Global, file: &Path) -> Result<()> {
    let data = global.data_dir()?;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let now = unix_now();
    let mut records = Vec::new();
    let mut refused = Vec::new();
    for (n, line) in std::io::BufRead::lines(reader).enumerate() {
        let line = line.with_context(|| format!("{}: line {}", file.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        match essaim_protocol::verify_json(&line, now) {
            Ok(record) => records.push(record),
            Err(e) => refused.push(format!("line {}: {e}", n + 1)),
        }
    }
    let (new, known) = store_records(&data, records, "records")?;
    report_import(global, new, known, &refused)
}

fn report_import(global: &Global, new: u64, known: u64, refused: &[String]) -> Result<()> {
    if global.json {
        println!(
            "{}",
            serde_json::json!({"stored": new, "already_known": known, "refused": refused})
        );
    } else {
        println!(
            "{new} record(s) stored, {known} already known, {} refused",
            refused.len()
        );
        for line in refused.iter().take(20) {
            println!("  refused {line}");
        }
        if refused.len() > 20 {
            println!("  … and {} more", refused.len() - 20);
        }
    }
    Ok(())
}

/// `essaim import publiccode FILE`.
pub(crate) fn import_publiccode(global: &Global, source: &str) -> Result<()> {
    if source.starts_with("http://") || source.starts_with("https://") {
        bail!(
            "importing from a URL is not in this version: download the file (e.g. `curl -o publiccode.yml {source}`) and import the file"
        );
    }
    let data = global.data_dir()?;
    let key = data.load_key()?;
    let now = unix_now();
    let imported =
        essaim_node::import::publiccode::parse_file(Path::new(source), &key.hub_id(), now)
            .with_context(|| format!("{source}: not imported"))?;
    for warning in &imported.warnings {
        eprintln!("warning: {}: {}", warning.key, warning.message);
    }
    let record = essaim_protocol::sign(imported.body, &key, now)?;
    let address = record.address();
    let (new, known) = store_records(&data, vec![record], "publiccode")?;
    println!("imported {address} ({new} new, {known} already known)");
    Ok(())
}

/// `essaim import dpg FILE`.
pub(crate) fn import_dpg(global: &Global, file: &Path) -> Result<()> {
    let data = global.data_dir()?;
    let key = data.load_key()?;
    let now = unix_now();
    let text = essaim_node::import::dpg::read_file(file)?;
    let bar = progress_bar(0, "mapping");
    let report = essaim_node::import::dpg::parse(&text, &key.hub_id(), now, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let sign_bar = progress_bar(report.imported.len() as u64, "signing");
    let mut records = Vec::with_capacity(report.imported.len());
    for imported in report.imported {
        records.push(essaim_protocol::sign(imported.body, &key, now)?);
        sign_bar.inc(1);
    }
    sign_bar.finish_and_clear();
    for (source, message) in report.warnings.iter().take(10) {
        eprintln!("warning: {source}: {message}");
    }
    if report.warnings.len() > 10 {
        eprintln!("warning: … and {} more", report.warnings.len() - 10);
    }
    let refused: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.source, s.reason))
        .collect();
    let (new, known) = store_records(&data, records, "storing")?;
    report_import(global, new, known, &refused)
}

/// `essaim reindex`.
pub(crate) fn reindex(global: &Global) -> Result<()> {
    let data = global.data_dir()?;
    if essaim_node::node::running_node(&data).is_some() {
        bail!(
            "a node is running on {}: stop it first (it keeps its index up to date by itself)",
            data.root().display()
        );
    }
    let node = Node::open(&data)?;
    let bar = progress_bar(0, "reindexing");
    let started = std::time::Instant::now();
    let watermark = node.reindex(&mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    println!(
        "index rebuilt: {} initiatives from {watermark} changes in {:.1} s",
        node.index().num_docs(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The demo's HTTP listener: `--http ADDR` if given (it must be free), else
/// 127.0.0.1:8080, else any free loopback port (a demo just needs one).
pub(crate) async fn demo_listener(http: Option<&str>) -> Result<tokio::net::TcpListener> {
    let address: SocketAddr = http
        .unwrap_or("127.0.0.1:8080")
        .parse()
        .context("--http: write an address and port such as 127.0.0.1:8080")?;
    match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => Ok(listener),
        Err(_) if http.is_none() => Ok(tokio::net::TcpListener::bind("127.0.0.1:0").await?),
        Err(e) => Err(e).with_context(|| format!("cannot listen on {address}")),
    }
}
