//! `essaim mirror status`, `essaim mirror sync [HUB/SLUG]` and `essaim clone
//! HUB/SLUG [DIR]`: the mirrors of the node of the data directory, through
//! the running node's API when it runs, else in-process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use essaim_node::client::NodeApi;
use essaim_node::mirror::git::SharedProgress;
use essaim_node::node::running_node;
use essaim_protocol::Address;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::commands::Global;

/// How long `mirror sync` follows a running node's fetches at most.
const SYNC_WAIT: Duration = Duration::from_secs(3600);

fn api_result(status: u16, value: Value) -> Result<Value> {
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let message = value["error"]["message"]
        .as_str()
        .unwrap_or("the node refused the request");
    bail!("{message}")
}

fn parse_initiative(text: &str) -> Result<Address> {
    Address::parse_initiative(text).with_context(|| {
        format!("`{text}` is not an initiative: write it HUB/SLUG, as `essaim search` shows it")
    })
}

/// `essaim mirror status`.
pub(crate) fn status(global: &Global) -> Result<()> {
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.get("/api/v1/mirrors")?;
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    print_table(&value);
    Ok(())
}

fn short(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn print_table(value: &Value) {
    let mirrors = value["mirrors"].as_array().cloned().unwrap_or_default();
    if value["enabled"] == false {
        println!("mirrors are off on this node (mirror.enabled = false in config.toml)");
    }
    if mirrors.is_empty() {
        println!("no mirror yet: none of the stored initiatives lists a repository");
        return;
    }
    println!(
        "{:<40} {:<10} {:<8} {:>10} {:<12} {:<6} ERROR",
        "INITIATIVE/REPO", "STATE", "ORIGIN", "SIZE", "HEAD", "PIN"
    );
    for m in &mirrors {
        let name = format!(
            "{}/{}/{}",
            short(m["hub"].as_str().unwrap_or(""), 10),
            m["slug"].as_str().unwrap_or(""),
            m["repo"].as_str().unwrap_or("")
        );
        let origin = match m["origin_ok"].as_bool() {
            Some(true) => "ok",
            Some(false) => "down",
            None => "-",
        };
        let pin = match m["pin_ok"].as_bool() {
            Some(true) => "ok",
            Some(false) => "MISSING",
            None => "-",
        };
        let size = m["size"].as_u64().unwrap_or(0);
        println!(
            "{:<40} {:<10} {:<8} {:>10} {:<12} {:<6} {}",
            short(&name, 40),
            m["state"].as_str().unwrap_or(""),
            origin,
            human(size),
            m["head"]
                .as_str()
                .map(|h| short(h, 12))
                .unwrap_or("-".into()),
            pin,
            short(m["error"].as_str().unwrap_or(""), 80)
        );
    }
    let s = &value["summary"];
    println!(
        "{} mirror(s): {} ok, {} pending, {} failed, {} too large, {} refused; {} pinned commit(s) missing; {} running",
        s["total"],
        s["ok"],
        s["pending"],
        s["failed"],
        s["too_large"],
        s["refused"],
        s["pin_missing"],
        s["running"]
    );
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn bar(global: &Global) -> ProgressBar {
    if global.json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn progress_text(repo: &str, p: &Value) -> String {
    format!(
        "{repo}: {} {}/{} objects, {}",
        p["phase"].as_str().unwrap_or("starting"),
        p["objects"],
        p["total"],
        human(p["bytes"].as_u64().unwrap_or(0))
    )
}

/// `essaim mirror sync [HUB/SLUG]`.
pub(crate) fn sync(global: &Global, initiative: Option<&str>) -> Result<()> {
    let address = initiative.map(parse_initiative).transpose()?;
    let selected = address
        .as_ref()
        .map(|a| (a.author.short(), a.slug.to_string()));
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let bar = bar(global);
    let started = essaim_node::unix_now();
    match &api {
        NodeApi::Remote { .. } => {
            let body = match &address {
                Some(a) => json!({"initiative": a.short()}),
                None => json!({}),
            };
            let (status, value) = api.post(
                "/api/v1/mirrors/sync",
                "application/json",
                body.to_string().into_bytes(),
                true,
            )?;
            let value = api_result(status, value)?;
            if value["accepted"] == false {
                bail!("{}", value["reason"].as_str().unwrap_or("the node refused"));
            }
            let deadline = Instant::now() + SYNC_WAIT;
            loop {
                std::thread::sleep(Duration::from_millis(300));
                let (status, value) = api.get("/api/v1/mirrors")?;
                let value = api_result(status, value)?;
                let mine: Vec<&Value> = value["mirrors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| {
                        selected
                            .as_ref()
                            .is_none_or(|(h, s)| m["hub"] == h.as_str() && m["slug"] == s.as_str())
                    })
                    .collect();
                if let Some(running) = mine.iter().find(|m| !m["running"].is_null()) {
                    bar.set_message(progress_text(
                        running["repo"].as_str().unwrap_or(""),
                        &running["running"],
                    ));
                }
                let done = mine.iter().all(|m| {
                    m["running"].is_null()
                        && m["last_attempt"].as_u64().is_some_and(|t| t >= started)
                });
                if done {
                    bar.finish_and_clear();
                    return report(global, &value, &mine);
                }
                if Instant::now() > deadline {
                    bail!("the mirrors did not finish within an hour; see `essaim mirror status`");
                }
            }
        }
        NodeApi::Local { node, runtime } => {
            if !node.mirrors().enabled() {
                bail!("mirrors are off on this node (mirror.enabled = false in config.toml)");
            }
            let progress = SharedProgress::default();
            let shown = progress.clone();
            let ticker_bar = bar.clone();
            let ticker = std::thread::spawn(move || {
                while !ticker_bar.is_finished() {
                    if let Ok(p) = shown.lock() {
                        ticker_bar.set_message(progress_text("", &json!(*p)));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
            let mut outcomes = Vec::new();
            let result = runtime.block_on(essaim_node::mirror::sync_now(
                node,
                selected.clone(),
                &progress,
                &mut |key, attempt| outcomes.push((key.clone(), attempt.clone())),
            ));
            bar.finish_and_clear();
            let _ = ticker.join();
            result?;
            let (status, value) = api.get("/api/v1/mirrors")?;
            let value = api_result(status, value)?;
            let mine: Vec<&Value> = value["mirrors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| {
                    selected
                        .as_ref()
                        .is_none_or(|(h, s)| m["hub"] == h.as_str() && m["slug"] == s.as_str())
                })
                .collect();
            report(global, &value, &mine)
        }
    }
}

fn report(global: &Global, all: &Value, mine: &[&Value]) -> Result<()> {
    if global.json {
        println!("{}", json!({"mirrors": mine}));
    } else if mine.is_empty() {
        println!("no repository to mirror");
    } else {
        print_table(
            &json!({"enabled": all["enabled"], "summary": all["summary"], "mirrors": mine}),
        );
    }
    let failed = mine.iter().filter(|m| m["state"] != "ok").count();
    if failed > 0 {
        bail!("{failed} mirror(s) not up to date: see the ERROR column");
    }
    Ok(())
}

/// `essaim clone HUB/SLUG [DIR]`: from this node's mirror, else from the
/// first other hub that serves it; then check the pinned commit.
pub(crate) fn clone(global: &Global, initiative: &str, dir: Option<&Path>) -> Result<()> {
    let address = parse_initiative(initiative)?;
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.get(&format!("/api/v1/initiatives/{}", address.short()))?;
    let value =
        api_result(status, value).with_context(|| format!("{initiative}: not on this node"))?;
    let repositories = value["repositories"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if repositories.is_empty() {
        bail!("{initiative} lists no code repository");
    }
    let base = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(address.slug.as_str()));
    let running = running_node(&data);
    let mut cloned = Vec::new();
    for repo in &repositories {
        let name = repo["name"].as_str().unwrap_or("repo");
        let target = if repositories.len() == 1 {
            base.clone()
        } else {
            base.join(name)
        };
        let mut sources: Vec<String> = Vec::new();
        if repo["mirror"]["served"] == true {
            let path = repo["mirror"]["path"].as_str().unwrap_or("");
            match running {
                Some(addr) => sources.push(format!("http://{addr}{path}")),
                None => {
                    // The node does not run: its mirror is on this disk.
                    let local = data
                        .path(essaim_node::mirror::MIRRORS_DIR)
                        .join(path.trim_start_matches("/git/"));
                    sources.push(local.display().to_string());
                }
            }
        }
        sources.extend(
            repo["other_hubs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(str::to_owned)),
        );
        if sources.is_empty() {
            bail!(
                "no node known to serve {name} yet (this node has no copy and no other hub publishes a web address); try `essaim mirror sync {initiative}`"
            );
        }
        let mut errors = Vec::new();
        let mut done = None;
        for source in &sources {
            if !global.json {
                eprintln!("cloning {name} from {source}");
            }
            let out = Command::new("git")
                .args([
                    "-c",
                    "protocol.allow=never",
                    "-c",
                    "protocol.https.allow=always",
                ])
                .args([
                    "-c",
                    "protocol.http.allow=always",
                    "-c",
                    "protocol.file.allow=always",
                ])
                .args(["clone", "--quiet", "--", source])
                .arg(&target)
                .env("GIT_TERMINAL_PROMPT", "0")
                .output()
                .context("cannot run git: is it installed?")?;
            if out.status.success() {
                done = Some(source.clone());
                break;
            }
            errors.push(format!(
                "{source}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            let _ = std::fs::remove_dir_all(&target);
        }
        let Some(source) = done else {
            bail!("cannot clone {name}: {}", errors.join("; "));
        };
        let pin = repo["commit"].as_str();
        let pin_ok = pin.map(|commit| {
            Command::new("git")
                .arg("-C")
                .arg(&target)
                .args(["merge-base", "--is-ancestor", commit, "HEAD"])
                .status()
                .is_ok_and(|s| s.success())
                || Command::new("git")
                    .arg("-C")
                    .arg(&target)
                    .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
                    .status()
                    .is_ok_and(|s| s.success())
        });
        if pin_ok == Some(false) {
            bail!(
                "{name} was cloned into {} from {source}, but it does NOT contain the pinned commit {}: do not trust this copy",
                target.display(),
                pin.unwrap_or("")
            );
        }
        if !global.json {
            println!(
                "{name} → {}{}",
                target.display(),
                if pin_ok == Some(true) {
                    " (pinned commit present)"
                } else {
                    ""
                }
            );
        }
        cloned.push(json!({"name": name, "dir": target, "source": source, "pin_ok": pin_ok}));
    }
    if global.json {
        println!("{}", json!({"cloned": cloned}));
    }
    Ok(())
}
