//! Logs of a running node (`essaim run`, `essaim demo`): `tracing` to
//! stderr, filtered by `RUST_LOG`, as text for people or as JSON lines for a
//! log collector (`--log-format json`: one object per line with
//! `timestamp`, `level`, `target`, `fields.message` and the event's fields).

/// The filter when `RUST_LOG` is unset or not understood: `info`, without
/// libp2p's own chatter (a kad bootstrap with no peer yet, the local peer
/// id), which is not the operator's business by default.
const DEFAULT_FILTER: &str = "info,libp2p_kad=error,libp2p_swarm=warn";

/// Start logging once (a second call does nothing).
pub(crate) fn init(json: bool) {
    let (filter, bad) = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => {
            match tracing_subscriber::EnvFilter::try_new(&text) {
                Ok(filter) => (filter, None),
                Err(e) => (
                    tracing_subscriber::EnvFilter::new(DEFAULT_FILTER),
                    Some((text, e)),
                ),
            }
        }
        _ => (tracing_subscriber::EnvFilter::new(DEFAULT_FILTER), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a terminal: not in journald or a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Some((text, e)) = bad {
        tracing::warn!(
            "RUST_LOG=`{text}` is not a log filter ({e}); logging at `info` instead (e.g. RUST_LOG=debug or RUST_LOG=essaim_node=debug,info)"
        );
    }
}
