//! `essaim suggest TERRITORY`: initiatives not yet deployed in a territory,
//! ranked by evidence, with the reasons (`/api/v1/suggest`).

use anyhow::Result;
use essaim_node::client::NodeApi;
use serde_json::Value;

use crate::commands::Global;
use crate::node_commands::api_result;

fn print_list(list: &[Value]) {
    for (i, s) in list.iter().enumerate() {
        let hub = s["hub_name"]
            .as_str()
            .filter(|h| !h.is_empty())
            .unwrap_or("?");
        println!(
            "{:>2}. {}  ({} points)",
            i + 1,
            s["name"].as_str().unwrap_or(""),
            s["score"]
        );
        println!("    {hub} · {}", s["short"].as_str().unwrap_or(""));
        let reasons: Vec<&str> = s["reasons"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["fr"].as_str()).collect())
            .unwrap_or_default();
        if !reasons.is_empty() {
            println!("    {}", reasons.join(" ; "));
        }
    }
}

/// `essaim suggest`.
pub(crate) fn run(global: &Global, territory: &str) -> Result<()> {
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("territory", territory)
        .finish();
    let (status, value) = api.get(&format!("/api/v1/suggest?{query}"))?;
    let value = api_result(status, value)?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let suggestions = value["suggestions"].as_array().cloned().unwrap_or_default();
    println!(
        "Pour {} ({}) : {} initiative(s) pas encore déployée(s) ici",
        value["name"].as_str().unwrap_or(""),
        value["territory"].as_str().unwrap_or(""),
        value["candidates"]
    );
    if suggestions.is_empty() {
        println!(
            "No initiative to suggest: every one already runs there, or the catalogue is empty."
        );
    }
    print_list(&suggestions);
    let local = value["local"].as_array().cloned().unwrap_or_default();
    if !local.is_empty() {
        println!();
        println!("Nées ici, à faire connaître ailleurs :");
        print_list(&local);
    }
    Ok(())
}
