//! Configuration files written by older versions.
//!
//! A hub runs for months and is upgraded in place: its `config.toml` must
//! keep loading. The policy (also in `deploy/CONFIG.md`): a key is never
//! silently reinterpreted. A renamed key is still accepted under its old name,
//! moved to its new name with a warning in the log (both names at once is an
//! error: which one is meant?); a removed key is accepted and ignored with a
//! warning, for at least one release, after which it becomes an unknown-key
//! error like any typo. The lists below are empty because no key has been
//! renamed or removed since the first release.

use super::ConfigError;

/// Keys renamed since the first release: (old dotted name, new dotted name).
pub(super) const RENAMED: &[(&str, &str)] = &[];

/// Keys removed since the first release (dotted names): ignored with a warning.
pub(super) const REMOVED: &[&str] = &[];

/// Bring a file's table to today's key names. Returns one warning per old
/// key met, and whether the table changed.
pub(super) fn upgrade(
    table: &mut toml::Table,
    path: &str,
    renamed: &[(&str, &str)],
    removed: &[&str],
) -> Result<Vec<String>, ConfigError> {
    let mut warnings = Vec::new();
    for (old, new) in renamed {
        let Some(value) = take(table, old) else {
            continue;
        };
        if get(table, new).is_some() {
            return Err(ConfigError::Parse {
                path: path.to_owned(),
                message: format!(
                    "both `{old}` (its old name) and `{new}` are set: keep only `{new}`"
                ),
            });
        }
        put(table, new, value);
        warnings.push(format!(
            "{path}: `{old}` was renamed `{new}`: it still works, but rename it in the file"
        ));
    }
    for old in removed {
        if take(table, old).is_some() {
            warnings.push(format!(
                "{path}: `{old}` no longer exists and is ignored: remove it from the file"
            ));
        }
    }
    Ok(warnings)
}

fn split(dotted: &str) -> (&str, &str) {
    dotted.split_once('.').unwrap_or(("", dotted))
}

fn get<'t>(table: &'t toml::Table, dotted: &str) -> Option<&'t toml::Value> {
    let (section, key) = split(dotted);
    table.get(section)?.as_table()?.get(key)
}

fn take(table: &mut toml::Table, dotted: &str) -> Option<toml::Value> {
    let (section, key) = split(dotted);
    table.get_mut(section)?.as_table_mut()?.remove(key)
}

fn put(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let (section, key) = split(dotted);
    let entry = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(section) = entry.as_table_mut() {
        section.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// Today's configuration file as `essaim init` wrote it in the first
    /// release, with keys changed: it must load in every later version.
    const V1: &str = include_str!("../../tests/fixtures/config-v1.toml");

    #[test]
    fn a_config_of_the_first_release_still_loads() {
        let config = super::super::env::parse_with_env(V1, "config-v1.toml", Vec::new()).unwrap();
        assert_eq!(config.http_listen.to_string(), "127.0.0.1:8090");
        assert_eq!(config.bootstrap.len(), 1);
        assert!(!config.mdns);
        assert_eq!(config.sync_interval_secs, 30);
        assert_eq!(config.trust_depth, 1);
        assert_eq!(config.mirror_interval_secs, 3600);
        assert_ne!(config, Config::default());
    }

    #[test]
    fn renamed_keys_move_and_removed_keys_are_dropped_with_warnings() {
        let mut table: toml::Table =
            toml::from_str("[p2p]\nsync_secs = 5\nold_knob = true\n").unwrap();
        let warnings = upgrade(
            &mut table,
            "c.toml",
            &[("p2p.sync_secs", "p2p.sync_interval_secs")],
            &["p2p.old_knob"],
        )
        .unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("renamed `p2p.sync_interval_secs`"));
        assert!(warnings[1].contains("`p2p.old_knob` no longer exists"));
        let config = Config::parse(&toml::to_string(&table).unwrap(), "c.toml").unwrap();
        assert_eq!(config.sync_interval_secs, 5);

        let mut both: toml::Table =
            toml::from_str("[p2p]\nsync_secs = 5\nsync_interval_secs = 6\n").unwrap();
        let err = upgrade(
            &mut both,
            "c.toml",
            &[("p2p.sync_secs", "p2p.sync_interval_secs")],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("keep only"), "{err}");
    }

    #[test]
    fn renamed_targets_are_known_keys() {
        // A rename must point at a key that exists today.
        let known = super::super::env::known_keys();
        for (_, new) in RENAMED {
            assert!(known.iter().any(|(k, _)| k == new), "{new}");
        }
    }
}
