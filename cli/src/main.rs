//! `essaim`: the command line of an Essaim hub.
//!
//! This binary only parses arguments, calls `essaim-node`, and prints. The
//! contract (commands, flags, exit codes) is in `../shared/DESIGN.md` and
//! `README.md`: exit 0 on success, 1 on error with one line on stderr that
//! says what to do.

mod backup;
mod commands;
mod demo;
mod doctor;
mod endorse;
mod logging;
mod mirror;
mod node_commands;
mod suggest;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Essaim: a federated catalogue of open-source social-innovation solutions.
#[derive(Parser, Debug)]
#[command(name = "essaim", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// The hub's data directory [default: $ESSAIM_HOME, else $XDG_DATA_HOME/essaim].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a hub: key, configuration and signed hub record.
    Init(InitArgs),
    /// Run the hub's node (web UI, API, federation, mirrors).
    Run(RunArgs),
    /// Start a local network of hubs with a sample catalogue.
    Demo {
        /// How many hubs.
        #[arg(long, default_value_t = 3)]
        nodes: u16,
        /// Address of the web UI and API [default: 127.0.0.1:8080, else a free port].
        #[arg(long, value_name = "ADDR")]
        http: Option<String>,
        /// Log format: `text` (default) or `json` lines. Filter with RUST_LOG.
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        log_format: String,
    },
    /// Sign an initiative or endorsement written in TOML, YAML or JSON.
    Sign {
        /// The draft (`-` for standard input).
        file: PathBuf,
        /// Write the binary DAG-CBOR envelope instead of the JSON view.
        #[arg(long)]
        cbor: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a signed record file (JSON view or CBOR envelope).
    Verify {
        /// The record (`-` for standard input).
        file: PathBuf,
    },
    /// Sign and publish a record through the running node (else into the store).
    Publish {
        /// The draft.
        file: PathBuf,
    },
    /// Import records from another format.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export the catalogue.
    Export {
        /// `jsonl` (signed records, re-importable) or `csv` (one row per initiative).
        #[arg(long, value_parser = ["jsonl", "csv"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Search the catalogue.
    Search {
        /// What to look for.
        query: String,
        /// Only this theme.
        #[arg(long)]
        theme: Option<String>,
        /// Only this territory (`reg:84`, `dep:69`, `com:69123`).
        #[arg(long)]
        territory: Option<String>,
        /// Only this stage.
        #[arg(long)]
        stage: Option<String>,
        /// How many results.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Show one initiative, with its labels and provenance.
    Show {
        /// `HUB/SLUG`.
        initiative: String,
    },
    /// Initiatives that could be replicated in a territory, with reasons.
    Suggest {
        /// The territory (`dep:69`).
        territory: String,
    },
    /// Trust a hub's records.
    Follow {
        /// The hub id.
        hub: String,
    },
    /// Stop trusting a hub's records.
    Unfollow {
        /// The hub id.
        hub: String,
    },
    /// Drop a hub's records and never relay them.
    Block {
        /// The hub id.
        hub: String,
    },
    /// Accept a blocked hub's records again (as the trust mode says).
    Unblock {
        /// The hub id.
        hub: String,
    },
    /// List records waiting for a decision, or accept or reject a hub.
    Quarantine {
        /// `accept` or `reject`.
        #[arg(value_parser = ["accept", "reject"])]
        action: Option<String>,
        /// The hub id.
        hub: Option<String>,
    },
    /// Vouch for an initiative: label, replication, funding or recommendation.
    Endorse(EndorseArgs),
    /// Mirrors of the initiatives' git repositories.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Clone an initiative's repository from the nearest node that has it.
    Clone {
        /// `HUB/SLUG`.
        initiative: String,
        /// Where to clone.
        dir: Option<PathBuf>,
    },
    /// Connected peers.
    Peers,
    /// The node's state.
    Status,
    /// Check the installation and say how to fix what is wrong.
    Doctor,
    /// Rebuild the search index from the store.
    Reindex,
    /// Snapshot the hub (store, key, configuration) into a directory.
    Backup {
        /// Where to write the backup.
        dir: PathBuf,
    },
    /// Restore a hub from a backup directory.
    Restore {
        /// The backup.
        dir: PathBuf,
        /// Restore into a data directory that is not empty: its files are
        /// moved into a `pre-restore-<time>` directory inside it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Debug)]
struct InitArgs {
    /// The hub's name ("Ruche Lyon Part-Dieu").
    #[arg(long)]
    name: Option<String>,
    /// What kind of organisation runs the hub.
    #[arg(long, default_value = "autre", value_parser = commands::parse_hub_kind)]
    kind: essaim_protocol::vocab::HubKind,
    /// A territory where the hub works (repeatable): FR, reg:84, dep:69, com:69123.
    #[arg(long = "territory", value_name = "CODE", value_parser = commands::parse_territory)]
    territories: Vec<essaim_protocol::Territory>,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// libp2p listen address (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Address of the web UI and API.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// A node to connect to at start-up (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    bootstrap: Vec<String>,
    /// No local-network discovery.
    #[arg(long)]
    no_mdns: bool,
    /// Log format: `text` (default) or `json` lines. Filter with RUST_LOG.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    log_format: String,
    /// Stop when standard input closes (the nodes `essaim demo` starts).
    #[arg(long, hide = true)]
    exit_on_stdin_close: bool,
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// A publiccode.yml file or URL.
    Publiccode {
        /// The file or URL.
        source: String,
    },
    /// Digital public goods (DPG registry JSON).
    Dpg {
        /// The file.
        file: PathBuf,
    },
    /// Signed records, one JSON view per line.
    Records {
        /// The file.
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
struct EndorseArgs {
    /// The initiative, `HUB/SLUG` (or a hub id, for a label of a hub).
    initiative: Option<String>,
    /// Grant a label ("French Impact — Pionnier", "Structure d'accompagnement labellisée", "Territoire French Impact", or any other).
    #[arg(long)]
    label: Option<String>,
    /// End of validity (YYYY-MM-DD: valid through that day).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// State that the initiative now runs in this territory.
    #[arg(long, value_name = "CODE")]
    replicated_in: Option<String>,
    /// Who carries the replication.
    #[arg(long, value_name = "NAME")]
    carrier: Option<String>,
    /// State funding, in euro cents.
    #[arg(long, value_name = "CENTS")]
    funding: Option<u64>,
    /// The funding programme.
    #[arg(long, value_name = "NAME")]
    programme: Option<String>,
    /// Where the funding applies.
    #[arg(long, value_name = "CODE")]
    territory: Option<String>,
    /// Recommend it.
    #[arg(long)]
    recommend: bool,
    /// A comment.
    #[arg(long)]
    comment: Option<String>,
    /// Withdraw an endorsement of this hub.
    #[arg(long, value_name = "ADDRESS")]
    revoke: Option<String>,
}

#[derive(Subcommand, Debug)]
enum MirrorCommand {
    /// Every mirror and its state.
    Status,
    /// Refresh mirrors now.
    Sync {
        /// Only this initiative's repositories.
        initiative: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let global = commands::Global {
        data_dir: cli.data_dir,
        json: cli.json,
    };
    let result = match cli.command {
        Command::Init(args) => commands::init(&global, args.name, args.kind, args.territories),
        Command::Sign { file, cbor, out } => commands::sign(&global, &file, cbor, out.as_deref()),
        Command::Verify { file } => commands::verify(&global, &file),
        Command::Run(args) => node_commands::run(
            &global,
            args.http,
            &args.listen,
            &args.bootstrap,
            args.no_mdns,
            args.log_format == "json",
            args.exit_on_stdin_close,
        ),
        Command::Demo {
            nodes,
            http,
            log_format,
        } if nodes > 1 => demo::network(&global, nodes, http, log_format == "json"),
        Command::Demo {
            nodes,
            http,
            log_format,
        } => node_commands::demo(&global, nodes, http, log_format == "json"),
        Command::Publish { file } => node_commands::publish(&global, &file),
        Command::Import(ImportCommand::Records { file }) => {
            node_commands::import_records(&global, &file)
        }
        Command::Import(ImportCommand::Publiccode { source }) => {
            node_commands::import_publiccode(&global, &source)
        }
        Command::Import(ImportCommand::Dpg { file }) => node_commands::import_dpg(&global, &file),
        Command::Export { format, out } => node_commands::export(&global, &format, out.as_deref()),
        Command::Search {
            query,
            theme,
            territory,
            stage,
            limit,
        } => node_commands::search(
            &global,
            &query,
            &[("theme", theme), ("territory", territory), ("stage", stage)],
            limit,
        ),
        Command::Show { initiative } => node_commands::show(&global, &initiative),
        Command::Status => node_commands::status(&global),
        Command::Reindex => node_commands::reindex(&global),
        Command::Suggest { territory } => suggest::run(&global, &territory),
        Command::Follow { hub } => trust::change(&global, "follow", &hub),
        Command::Unfollow { hub } => trust::change(&global, "unfollow", &hub),
        Command::Block { hub } => trust::change(&global, "block", &hub),
        Command::Unblock { hub } => trust::change(&global, "unblock", &hub),
        Command::Quarantine {
            action: None,
            hub: None,
        } => trust::list(&global),
        Command::Quarantine {
            action: Some(action),
            hub: Some(hub),
        } => trust::change(&global, &action, &hub),
        Command::Quarantine { .. } => Err(anyhow::anyhow!(
            "write `essaim quarantine` to list, or `essaim quarantine accept|reject HUB`"
        )),
        Command::Endorse(args) => endorse::run(
            &global,
            &endorse::Endorse {
                subject: args.initiative,
                label: args.label,
                until: args.until,
                replicated_in: args.replicated_in,
                carrier: args.carrier,
                funding: args.funding,
                programme: args.programme,
                territory: args.territory,
                recommend: args.recommend,
                comment: args.comment,
                revoke: args.revoke,
            },
        ),
        Command::Mirror(MirrorCommand::Status) => mirror::status(&global),
        Command::Mirror(MirrorCommand::Sync { initiative }) => {
            mirror::sync(&global, initiative.as_deref())
        }
        Command::Clone { initiative, dir } => mirror::clone(&global, &initiative, dir.as_deref()),
        Command::Peers => node_commands::peers(&global),
        Command::Doctor => doctor::run(&global),
        Command::Backup { dir } => backup::backup(&global, &dir),
        Command::Restore { dir, force } => backup::restore(&global, &dir, force),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes joined by ": ".
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Print clap's error on one line (help and version go to stdout as usual).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
        _ => {}
    }
    let text = e.render().to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    eprintln!("{} (see `essaim --help`)", lines.join("; "));
    ExitCode::FAILURE
}
