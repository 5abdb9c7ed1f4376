//! `essaim backup DIR` and `essaim restore DIR`: print what
//! `essaim_node::backup` did.

use std::path::Path;

use anyhow::{Context, Result};
use essaim_node::backup::{self, Manifest};
use essaim_node::unix_now;
use serde_json::json;

use crate::commands::Global;

fn summary(manifest: &Manifest) -> serde_json::Value {
    json!({
        "hub": manifest.hub,
        "created": manifest.created,
        "essaim_version": manifest.essaim_version,
        "store": manifest.store,
        "files": manifest.files,
    })
}

fn heads(manifest: &Manifest) -> String {
    let parts: Vec<String> = manifest
        .store
        .heads
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// `essaim backup DIR`.
pub(crate) fn backup(global: &Global, dir: &Path) -> Result<()> {
    let data = global.data_dir()?;
    let manifest = backup::backup(&data, dir, unix_now())
        .with_context(|| format!("backup of {} failed", data.root().display()))?;
    if global.json {
        let mut value = summary(&manifest);
        value["dir"] = json!(dir);
        println!("{value}");
        return Ok(());
    }
    println!(
        "Backup of hub {} written to {}",
        manifest.hub,
        dir.display()
    );
    println!(
        "  records  {} (up to change {}); heads: {}",
        manifest.store.records,
        manifest.store.last_change,
        heads(&manifest)
    );
    let files: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
    println!("  files    {} + manifest.json", files.join(", "));
    println!(
        "It holds the hub's key: keep it where only you can read it. Restore with `essaim restore {}`.",
        dir.display()
    );
    Ok(())
}

/// `essaim restore DIR`.
pub(crate) fn restore(global: &Global, dir: &Path, force: bool) -> Result<()> {
    let data = global.data_dir()?;
    let restored = backup::restore(dir, &data, force, unix_now())
        .with_context(|| format!("nothing restored into {}", data.root().display()))?;
    let manifest = &restored.manifest;
    if global.json {
        let mut value = summary(manifest);
        value["data_dir"] = json!(data.root());
        value["moved_aside"] = json!(restored.moved_aside);
        println!("{value}");
        return Ok(());
    }
    println!(
        "Hub {} restored into {}",
        manifest.hub,
        data.root().display()
    );
    println!(
        "  records  {} (up to change {}); heads: {}",
        manifest.store.records,
        manifest.store.last_change,
        heads(manifest)
    );
    if let Some(aside) = &restored.moved_aside {
        println!("  the files that were there are in {}", aside.display());
    }
    println!(
        "Start it with `essaim run --data-dir {}`: the search index is rebuilt from the store at start-up.",
        data.root().display()
    );
    Ok(())
}
