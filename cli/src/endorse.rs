//! `essaim endorse HUB/SLUG --label NAME [--until DATE] | --replicated-in
//! TERRITORY [--carrier NAME] | --funding CENTS --programme NAME [--territory
//! T] | --recommend`, and `essaim endorse --revoke ADDRESS`: the node signs
//! the endorsement as this hub (`/api/v1/endorse`, operator).

use anyhow::{Context, Result, bail};
use essaim_node::client::NodeApi;
use serde_json::{Value, json};

use crate::commands::Global;
use crate::node_commands::api_result;

/// What the command line asked for.
pub(crate) struct Endorse {
    pub(crate) subject: Option<String>,
    pub(crate) label: Option<String>,
    pub(crate) until: Option<String>,
    pub(crate) replicated_in: Option<String>,
    pub(crate) carrier: Option<String>,
    pub(crate) funding: Option<u64>,
    pub(crate) programme: Option<String>,
    pub(crate) territory: Option<String>,
    pub(crate) recommend: bool,
    pub(crate) comment: Option<String>,
    pub(crate) revoke: Option<String>,
}

fn request(args: &Endorse) -> Result<Value> {
    if let Some(address) = &args.revoke {
        if args.subject.is_some() || args.label.is_some() || args.replicated_in.is_some() {
            bail!("--revoke ADDRESS comes alone: it withdraws an endorsement this hub signed");
        }
        return Ok(json!({ "revoke": address }));
    }
    let Some(subject) = &args.subject else {
        bail!("say what to endorse: essaim endorse HUB/SLUG --label NAME (or --revoke ADDRESS)");
    };
    let kinds = [
        args.label.is_some(),
        args.replicated_in.is_some(),
        args.funding.is_some(),
        args.recommend,
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        bail!(
            "give exactly one of --label NAME, --replicated-in TERRITORY, --funding CENTS, --recommend"
        );
    }
    let mut body = json!({ "subject": subject });
    if let Some(label) = &args.label {
        body["type"] = json!("label");
        body["label"] = json!(label);
    } else if let Some(territory) = &args.replicated_in {
        body["type"] = json!("replication");
        body["territory"] = json!(territory);
        if let Some(carrier) = &args.carrier {
            body["carrier"] = json!(carrier);
        }
    } else if let Some(cents) = args.funding {
        body["type"] = json!("funding");
        body["amount_cents"] = json!(cents);
        let Some(programme) = &args.programme else {
            bail!("--funding needs --programme NAME (the funding programme)");
        };
        body["programme"] = json!(programme);
        if let Some(territory) = &args.territory {
            body["territory"] = json!(territory);
        }
    } else {
        body["type"] = json!("recommendation");
    }
    if args.carrier.is_some() && args.replicated_in.is_none() {
        bail!("--carrier goes with --replicated-in");
    }
    if (args.programme.is_some() || args.territory.is_some()) && args.funding.is_none() {
        bail!("--programme and --territory go with --funding");
    }
    if let Some(until) = &args.until {
        body["until"] = json!(until);
    }
    if let Some(comment) = &args.comment {
        body["comment"] = json!(comment);
    }
    Ok(body)
}

/// `essaim endorse`.
pub(crate) fn run(global: &Global, args: &Endorse) -> Result<()> {
    let body = request(args)?;
    let data = global.data_dir()?;
    let api = NodeApi::connect(&data)?;
    let (status, value) = api.post(
        "/api/v1/endorse",
        "application/json",
        body.to_string().into_bytes(),
        true,
    )?;
    let value = api_result(status, value).context("endorsement refused")?;
    if global.json {
        println!("{value}");
        return Ok(());
    }
    let what = if args.revoke.is_some() {
        "revoked"
    } else {
        "signed"
    };
    println!(
        "{what} {} ({})",
        value["address"].as_str().unwrap_or(""),
        value["outcome"].as_str().unwrap_or("")
    );
    println!("  id  {}", value["id"].as_str().unwrap_or(""));
    if args.revoke.is_none() {
        println!(
            "  revoke it with: essaim endorse --revoke {}",
            value["address"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
