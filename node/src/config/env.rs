//! Environment overrides: `ESSAIM_<SECTION>_<KEY>` sets `<section>.<key>`.
//!
//! Containers and systemd units configure through the environment. The
//! order is: defaults, then `config.toml`, then the environment, then the
//! command line's flags. Each variable is checked like the key it sets, and
//! an error names the variable. A variable that starts like a section
//! (`ESSAIM_HTTP_…`) but names no key is an error, so that a typo does not
//! go unnoticed; other `ESSAIM_` variables (`ESSAIM_HOME`…) are not
//! configuration keys and are left alone.
//!
//! The known keys and their types come from [`TEMPLATE`], the documented
//! file `essaim init` writes: a key added there gets its variable for free.
//! Lists are comma-separated (`ESSAIM_P2P_BOOTSTRAP=/ip4/…,/ip4/…`, empty for
//! none), booleans are `true` or `false`.

use std::ffi::OsString;
use std::path::Path;

use super::{Config, ConfigError, TEMPLATE, compat};

/// Prefix of the variables.
pub const PREFIX: &str = "ESSAIM_";

/// Every configuration key (dotted) with its default as written in the template.
pub fn known_keys() -> Vec<(String, toml::Value)> {
    let uncommented: String = TEMPLATE
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|l| l.contains(" = "))
                .unwrap_or(l)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let table: toml::Table =
        toml::from_str(&uncommented).expect("the template parses (a unit test checks it)");
    let mut keys = Vec::new();
    for (section, values) in &table {
        if let Some(values) = values.as_table() {
            for (key, value) in values {
                keys.push((format!("{section}.{key}"), value.clone()));
            }
        }
    }
    keys
}

/// The variable that overrides a dotted key: `p2p.sync_interval_secs` →
/// `ESSAIM_P2P_SYNC_INTERVAL_SECS`.
pub fn variable_of(dotted: &str) -> String {
    format!("{PREFIX}{}", dotted.replace('.', "_").to_uppercase())
}

/// [`Config::load`]: read a file (a missing one means the defaults), then
/// apply the process's environment.
pub(super) fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: shown,
                source,
            });
        }
    };
    parse_with_env(&text, &shown, std::env::vars_os())
}

/// Parse a file's text, upgrade keys of older versions, and apply the
/// `ESSAIM_` variables among `vars`.
pub fn parse_with_env(
    text: &str,
    path: &str,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Config, ConfigError> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    let warnings = compat::upgrade(&mut table, path, compat::RENAMED, compat::REMOVED)?;
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    // The file alone first, from its own text when nothing was upgraded, so
    // that its errors carry its line numbers.
    let file_config = if warnings.is_empty() {
        Config::parse(text, path)?
    } else {
        Config::parse(&to_text(&table), path)?
    };
    let overrides = overrides(vars)?;
    if overrides.is_empty() {
        return Ok(file_config);
    }
    for (_, dotted, value) in &overrides {
        let (section, key) = dotted.split_once('.').unwrap_or(("", dotted));
        let entry = table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(section) = entry.as_table_mut() {
            section.insert(key.to_owned(), value.clone());
        }
    }
    Config::parse(&to_text(&table), &format!("{path} with the environment"))
}

fn to_text(table: &toml::Table) -> String {
    toml::to_string(table).expect("a table read from TOML writes back as TOML")
}

/// The overrides found among `vars`, each checked on its own so that an
/// error names its variable: (variable, dotted key, value).
fn overrides(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Vec<(String, String, toml::Value)>, ConfigError> {
    let keys = known_keys();
    let sections: Vec<String> = keys
        .iter()
        .filter_map(|(k, _)| k.split_once('.').map(|(s, _)| s.to_uppercase()))
        .collect();
    let mut found = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let looks_like_key = sections.iter().any(|s| {
            rest.strip_prefix(s.as_str())
                .is_some_and(|r| r.starts_with('_'))
        });
        if !looks_like_key {
            continue;
        }
        let bad = |expected: String| ConfigError::Env {
            variable: name.to_owned(),
            value: value.to_string_lossy().into_owned(),
            expected,
        };
        let Some((dotted, default)) = keys.iter().find(|(k, _)| variable_of(k) == name) else {
            // The variables of the same section: the likely intended one is there.
            let known: Vec<String> = keys
                .iter()
                .map(|(k, _)| variable_of(k))
                .filter(|v| v.split('_').nth(1) == rest.split('_').next())
                .collect();
            return Err(bad(format!(
                "a configuration key (unset it, or use one of {}; all in deploy/CONFIG.md)",
                known.join(", ")
            )));
        };
        let Some(text) = value.to_str() else {
            return Err(bad("UTF-8 text".into()));
        };
        let typed = match default {
            toml::Value::Boolean(_) => match text.trim() {
                "true" | "1" => toml::Value::Boolean(true),
                "false" | "0" => toml::Value::Boolean(false),
                _ => return Err(bad("`true` or `false`".into())),
            },
            toml::Value::Integer(_) => match text.trim().parse::<i64>() {
                Ok(n) => toml::Value::Integer(n),
                Err(_) => return Err(bad("a whole number".into())),
            },
            toml::Value::Array(_) => toml::Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_owned()))
                    .collect(),
            ),
            _ => toml::Value::String(text.to_owned()),
        };
        // Check this one value alone, through the same rules as the file.
        let (section, key) = dotted.split_once('.').unwrap_or(("", dotted));
        let mut alone = toml::Table::new();
        let mut inner = toml::Table::new();
        inner.insert(key.to_owned(), typed.clone());
        alone.insert(section.to_owned(), toml::Value::Table(inner));
        let text = to_text(&alone);
        if let Err(e) = toml::from_str::<super::RawConfig>(&text) {
            return Err(bad(format!("a valid `{dotted}`: {}", e.message())));
        }
        if let Err(e) = Config::parse(&text, name) {
            return Err(bad(match e {
                // In a list, say which element is wrong.
                ConfigError::Value {
                    expected, value, ..
                } if value != text => format!("{expected}, for `{value}` (it sets `{dotted}`)"),
                ConfigError::Value { expected, .. } => format!("{expected} (it sets `{dotted}`)"),
                other => format!("a valid `{dotted}`: {other}"),
            }));
        }
        found.push((name.to_owned(), dotted.clone(), typed));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        list.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn variables_override_the_file() {
        let file = "[http]\nlisten = \"127.0.0.1:9000\"\n[p2p]\nmdns = true\n";
        let config = parse_with_env(
            file,
            "c.toml",
            vars(&[
                ("ESSAIM_HTTP_LISTEN", "0.0.0.0:8081"),
                (
                    "ESSAIM_P2P_BOOTSTRAP",
                    "/ip4/127.0.0.1/tcp/4001, /ip4/127.0.0.2/tcp/4002",
                ),
                ("ESSAIM_P2P_MDNS", "false"),
                ("ESSAIM_P2P_SYNC_INTERVAL_SECS", "15"),
                ("ESSAIM_TRUST_MODE", "open"),
                // Not configuration keys: left alone.
                ("ESSAIM_HOME", "/var/lib/essaim"),
                ("ESSAIM_SKIP_BROWSER", "1"),
                ("ESSAIM_INDEX_BENCH_DOCS", "10"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.http_listen.to_string(), "0.0.0.0:8081");
        assert_eq!(config.bootstrap.len(), 2);
        assert!(!config.mdns);
        assert_eq!(config.sync_interval_secs, 15);
        assert_eq!(config.trust_mode, super::super::TrustMode::Open);
        // An empty list variable empties the list.
        let config = parse_with_env(
            "[p2p]\nbootstrap = [\"/ip4/127.0.0.1/tcp/1\"]\n",
            "c.toml",
            vars(&[("ESSAIM_P2P_BOOTSTRAP", "")]),
        )
        .unwrap();
        assert!(config.bootstrap.is_empty());
    }

    #[test]
    fn bad_variables_are_named_with_their_value_and_the_expected_form() {
        for (name, value, expected) in [
            ("ESSAIM_HTTP_LISTEN", "localhost", "127.0.0.1:8080"),
            ("ESSAIM_P2P_MDNS", "yes", "`true` or `false`"),
            ("ESSAIM_P2P_SYNC_INTERVAL_SECS", "1m", "a whole number"),
            ("ESSAIM_P2P_SYNC_INTERVAL_SECS", "0", "from 1 to 86400"),
            (
                "ESSAIM_P2P_BOOTSTRAP",
                "/ip4/1.2.3.4/tcp/1,nonsense",
                "multiaddr",
            ),
            ("ESSAIM_TRUST_MODE", "closed", "web-of-trust"),
            ("ESSAIM_TRUST_DEPTH", "-1", "trust.depth"),
            (
                "ESSAIM_HTTP_LISTN",
                "127.0.0.1:1",
                "ESSAIM_HTTP_LISTEN, ESSAIM_HTTP_METRICS, ESSAIM_HTTP_PUBLIC_URL;",
            ),
        ] {
            let err = parse_with_env("", "c.toml", vars(&[(name, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(name), "{err}");
            assert!(err.contains(&format!("`{value}`")), "{err}");
            assert!(err.contains(expected), "{name}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn the_file_is_checked_before_the_environment() {
        let err = parse_with_env(
            "[http]\nlisten = \"nowhere\"\n",
            "c.toml",
            vars(&[("ESSAIM_HTTP_LISTEN", "127.0.0.1:1")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("c.toml:"), "{err}");
    }

    #[test]
    fn every_key_of_the_code_is_in_the_template() {
        // The raw structs refuse unknown keys and list the known ones in
        // their error: a key added to the code but not to the template (so
        // not documented, and without a variable) is caught here.
        let templated: Vec<String> = known_keys().into_iter().map(|(k, _)| k).collect();
        let listed = |text: &str| -> Vec<String> {
            let err = Config::parse(text, "probe").unwrap_err().to_string();
            let expected = err.split("expected").nth(1).unwrap_or_default();
            expected
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        let sections = listed("zz_probe = 1\n");
        assert!(sections.contains(&"http".to_owned()), "{sections:?}");
        for section in sections {
            for key in listed(&format!("[{section}]\nzz_probe = 1\n")) {
                let dotted = format!("{section}.{key}");
                assert!(
                    templated.contains(&dotted),
                    "`{dotted}` is read by the code but missing from config.template.toml"
                );
            }
        }
    }

    #[test]
    fn config_md_documents_every_key_with_its_variable() {
        // deploy/CONFIG.md is the operator's reference: every key of the
        // template has a row naming it, its variable and its default, and
        // the document names no key that does not exist.
        let doc = include_str!("../../../deploy/CONFIG.md");
        let keys = known_keys();
        for (dotted, default) in &keys {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{dotted}` ")))
                .unwrap_or_else(|| panic!("deploy/CONFIG.md has no row for `{dotted}`"));
            assert!(
                row.contains(&format!("`{}`", variable_of(dotted))),
                "{dotted}: {row}"
            );
            assert!(
                row.contains(&format!("`{default}`")),
                "{dotted}: the default `{default}` is not in its row: {row}"
            );
        }
        for line in doc.lines().filter(|l| l.starts_with("| `")) {
            let key = line.split('`').nth(1).unwrap_or_default();
            assert!(
                keys.iter().any(|(k, _)| k == key),
                "deploy/CONFIG.md documents `{key}`, which is not a key of the template"
            );
        }
    }
}
