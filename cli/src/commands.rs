//! The commands that work today: each reads its input, calls the libraries,
//! and prints for people (or JSON with `--json`).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use essaim_node::datadir::{self, DataDir, HubProfile};
use essaim_node::{draft, unix_now, unix_now_ms};
use essaim_protocol::limits::{MAX_JSON_VIEW_BYTES, MAX_PAYLOAD_BYTES};
use essaim_protocol::vocab::HubKind;
use essaim_protocol::{SignedRecord, Territory};
use serde_json::json;

/// Options every command sees.
pub(crate) struct Global {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) json: bool,
}

impl Global {
    pub(crate) fn data_dir(&self) -> Result<DataDir> {
        Ok(DataDir::locate(self.data_dir.clone())?)
    }
}

pub(crate) fn parse_hub_kind(s: &str) -> Result<HubKind, String> {
    HubKind::from_code(s).ok_or_else(|| {
        let allowed: Vec<&str> = HubKind::ALL.iter().map(|k| k.code()).collect();
        format!("`{s}` is not a hub kind; use one of {}", allowed.join(", "))
    })
}

pub(crate) fn parse_territory(s: &str) -> Result<Territory, String> {
    Territory::parse(s).map_err(|e| e.to_string())
}

/// `essaim init`.
pub(crate) fn init(
    global: &Global,
    name: Option<String>,
    kind: HubKind,
    territories: Vec<Territory>,
) -> Result<()> {
    let dir = global.data_dir()?;
    let named = name.is_some();
    let made = datadir::init(
        &dir,
        HubProfile {
            name,
            kind,
            territories,
        },
        unix_now(),
    )?;
    let record = &made.hub_record;
    let root = dir.root().display();
    if global.json {
        println!(
            "{}",
            json!({
                "hub": record.body().author().to_string(),
                "data_dir": dir.root(),
                "key": dir.path(datadir::KEY_FILE),
                "config": dir.path(datadir::CONFIG_FILE),
                "hub_record": dir.path(datadir::HUB_RECORD_FILE),
                "record_id": record.id().to_string(),
                "kept_config": made.kept_config,
            })
        );
        return Ok(());
    }
    let essaim_protocol::Body::Hub(hub) = record.body() else {
        bail!("internal error: init made a record that is not a hub profile");
    };
    println!("Hub created in {root}");
    println!("  id       {}", hub.author);
    println!(
        "  name     {} ({})",
        hub.name,
        hub.hub_kind.label(essaim_protocol::vocab::Lang::Fr)
    );
    if !hub.territories.is_empty() {
        let places: Vec<String> = hub
            .territories
            .iter()
            .map(|t| format!("{t} {}", t.name()))
            .collect();
        println!("  where    {}", places.join(", "));
    }
    println!(
        "  key      {} (secret: back it up, never share it)",
        dir.path(datadir::KEY_FILE).display()
    );
    let config_note = if made.kept_config {
        " (kept the existing file)"
    } else {
        ""
    };
    println!(
        "  config   {}{config_note}",
        dir.path(datadir::CONFIG_FILE).display()
    );
    println!(
        "  record   {}",
        dir.path(datadir::HUB_RECORD_FILE).display()
    );
    if !named {
        println!(
            "Tip: your hub has a placeholder name; renaming it comes with `essaim publish` of a new hub record."
        );
    }
    println!("Next: essaim sign examples/epicerie-solidaire-lyon.toml --data-dir {root}");
    Ok(())
}

/// Read a file (or standard input for `-`), refusing files over `limit` bytes
/// without reading them whole.
pub(crate) fn read_limited(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let shown = path.display();
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?)
    };
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {shown}"))?;
    if bytes.len() > limit {
        bail!("{shown} is larger than {limit} bytes: that is not a single record");
    }
    Ok(bytes)
}

/// `essaim sign`.
pub(crate) fn sign(global: &Global, file: &Path, cbor: bool, out: Option<&Path>) -> Result<()> {
    let dir = global.data_dir()?;
    let key = dir.load_key()?;
    let bytes = read_limited(file, 4 * MAX_PAYLOAD_BYTES)?;
    let shown = file.display();
    let text = String::from_utf8(bytes).with_context(|| format!("{shown} is not UTF-8 text"))?;
    let format = draft::Format::detect(Some(file), &text);
    let now = unix_now();
    let body = draft::parse_with_seq(&text, format, &key.hub_id(), now, unix_now_ms())
        .with_context(|| format!("{shown}: record refused"))?;
    let record = essaim_protocol::sign(body, &key, now)
        .with_context(|| format!("{shown}: record refused"))?;
    let output = if cbor {
        record.to_envelope()
    } else {
        let view = serde_json::to_string_pretty(&record.to_json_view())?;
        format!("{view}\n").into_bytes()
    };
    match out {
        Some(path) => {
            std::fs::write(path, &output)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("signed {} → {}", record.address(), path.display());
        }
        None => {
            let mut stdout = std::io::stdout();
            if cbor && stdout.is_terminal() {
                bail!("--cbor writes binary data: add --out FILE or redirect the output to a file");
            }
            stdout.write_all(&output)?;
        }
    }
    Ok(())
}

/// `essaim verify`.
pub(crate) fn verify(global: &Global, file: &Path) -> Result<()> {
    let bytes = read_limited(file, MAX_JSON_VIEW_BYTES)?;
    let shown = file.display();
    match essaim_protocol::verify_any(&bytes, unix_now()) {
        Ok(record) => {
            print_valid(global, &record);
            Ok(())
        }
        Err(e) => {
            if global.json {
                println!(
                    "{}",
                    json!({"valid": false, "code": e.code(), "field": e.field(), "message": e.to_string()})
                );
            }
            Err(anyhow::Error::new(e).context(format!("{shown}: invalid record")))
        }
    }
}

fn print_valid(global: &Global, record: &SignedRecord) {
    let body = record.body();
    if global.json {
        println!(
            "{}",
            json!({
                "valid": true,
                "id": record.id().to_string(),
                "address": record.address().to_string(),
                "author": body.author().to_string(),
                "kind": body.kind().code(),
                "seq": body.seq(),
                "created": body.created(),
            })
        );
    } else {
        println!("valid {}", body.kind());
        println!("  id       {}", record.id());
        println!("  address  {}", record.address());
        println!("  author   {}", body.author());
        println!("  seq      {}", body.seq());
        println!("  created  {} (unix time)", body.created());
    }
}
