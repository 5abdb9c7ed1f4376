//! `essaim follow | unfollow | block | unblock HUB` and `essaim quarantine
//! [accept|reject HUB]`: the operator's trust decisions, through the node's
//! `/api/v1/trust` (over HTTP when the node runs, in-process otherwise).

use anyhow::{Context, Result};
use essaim_node::client::NodeApi;
use serde_json::{Value, json};

use crate::commands::Global;
use crate::node_commands::api_result;

/// Apply a trust action (`follow`, `unfollow`, `block`, `unblock`, `accept`,
/// `reject`) to a hub and print what changed.
pub(crate) fn change(global: &Global, action: &str, hub: &str) -> Result<()> {
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let body = json!({"action": action, "hub": hub})
        .to_string()
        .into_bytes();
    let (status, value) = api.post("/api/v1/trust", "application/json", body, true)?;
    let value = api_result(status, value).with_context(|| format!("{action} {hub}"))?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let released = value["changed"]["released"].as_u64().unwrap_or(0);
    let held = value["changed"]["held"].as_u64().unwrap_or(0);
    let done = match action {
        "follow" | "accept" => "followed",
        "unfollow" => "no longer followed",
        "block" | "reject" => "blocked",
        _ => "unblocked",
    };
    println!("{hub}: {done}");
    if released > 0 {
        println!("  {released} record(s) admitted into the catalogue");
    }
    if held > 0 {
        println!("  {held} record(s) taken out of the catalogue");
    }
    Ok(())
}

fn name_of(entry: &Value) -> String {
    entry["name"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| "(no profile received)".to_owned())
}

/// `essaim quarantine`: the policy, and the hubs waiting for a decision.
pub(crate) fn list(global: &Global) -> Result<()> {
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.get("/api/v1/trust")?;
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let policy = &value["policy"];
    println!(
        "mode     {} (depth {}, quotas {} records/hour and {} in all per hub)",
        policy["mode"].as_str().unwrap_or(""),
        policy["depth"],
        policy["quota_per_hour"],
        policy["quota_total"]
    );
    let list = |key: &str| value[key].as_array().cloned().unwrap_or_default();
    for entry in list("followed") {
        println!(
            "followed {}  {}",
            entry["hub"].as_str().unwrap_or(""),
            name_of(&entry)
        );
    }
    for entry in list("trusted") {
        if entry["depth"].as_u64().unwrap_or(0) > 0 {
            println!(
                "trusted  {}  {} (labelled by {})",
                entry["hub"].as_str().unwrap_or(""),
                name_of(&entry),
                entry["via"].as_str().unwrap_or("?")
            );
        }
    }
    for entry in list("blocked") {
        println!(
            "blocked  {}  {}",
            entry["hub"].as_str().unwrap_or(""),
            name_of(&entry)
        );
    }
    let waiting = list("quarantine");
    if waiting.is_empty() {
        println!("quarantine: empty");
    } else {
        println!("quarantine:");
        for entry in waiting {
            println!(
                "  {}  {}  {} record(s)",
                entry["hub"].as_str().unwrap_or(""),
                name_of(&entry),
                entry["records"]
            );
        }
        println!(
            "Decide with `essaim quarantine accept HUB` (follow it) or `essaim quarantine reject HUB` (block it)."
        );
    }
    Ok(())
}
