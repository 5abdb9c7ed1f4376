//! The data directory: everything a hub's node keeps on disk.
//!
//! ```text
//! <data dir>/            mode 0700
//!   hub.key              the hub's Ed25519 key, PKCS#8 PEM, mode 0600
//!   config.toml          the configuration, every key listed with its default
//!   hub-record.json      the hub's signed profile record (JSON view)
//! ```
//!
//! The data directory is `--data-dir`, else `$ESSAIM_HOME`, else
//! `$XDG_DATA_HOME/essaim`, else `~/.local/share/essaim`. A hub key is never
//! overwritten: losing it means losing the hub's identity.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use essaim_protocol::record::{Hub, KindTag, Slug};
use essaim_protocol::vocab::HubKind;
use essaim_protocol::{Body, HubKey, RecordError, SignedRecord, Territory};

use crate::config::TEMPLATE;

/// File name of the hub key.
pub const KEY_FILE: &str = "hub.key";
/// File name of the configuration.
pub const CONFIG_FILE: &str = "config.toml";
/// File name of the signed hub record.
pub const HUB_RECORD_FILE: &str = "hub-record.json";

/// Why the data directory could not be set up or read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// No data directory was given and none can be derived.
    #[error("no data directory: pass --data-dir DIR or set ESSAIM_HOME")]
    NoHome,
    /// `init` found a key already.
    #[error(
        "{0} already exists: this data directory already holds a hub; refusing to overwrite its key (use another --data-dir, or move the key away if you really mean to)"
    )]
    AlreadyInitialised(PathBuf),
    /// There is no key yet.
    #[error("no hub key at {0}: run `essaim init --data-dir {1}` first")]
    NoKey(PathBuf, PathBuf),
    /// The key file's permissions let others read it.
    #[error("{path} is readable by other users (mode {mode:o}): run `chmod 600 {path}`")]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The key file does not hold a key.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        source: essaim_protocol::KeyError,
    },
    /// The hub record could not be made.
    #[error("hub record: {0}")]
    Record(#[from] RecordError),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError {
    let path = path.to_owned();
    move |source| DataDirError::Io {
        action,
        path,
        source,
    }
}

/// A hub's data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory to use: `explicit`, else `$ESSAIM_HOME`, else the XDG data dir.
    pub fn locate(explicit: Option<PathBuf>) -> Result<DataDir, DataDirError> {
        let env = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = explicit
            .or_else(|| env("ESSAIM_HOME"))
            .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("essaim")))
            .or_else(|| env("HOME").map(|h| h.join(".local/share/essaim")))
            .ok_or(DataDirError::NoHome)?;
        Ok(DataDir { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Load the hub key, refusing one that other users can read.
    pub fn load_key(&self) -> Result<HubKey, DataDirError> {
        let path = self.path(KEY_FILE);
        // Open once, then check the open file: no window between the check
        // and the read.
        let mut file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DataDirError::NoKey(path, self.root.clone()));
            }
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        let meta = file.metadata().map_err(io("cannot read", &path))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(DataDirError::KeyPermissions { path, mode });
        }
        let mut pem = zeroize::Zeroizing::new(String::new());
        std::io::Read::take(&mut file, 64 * 1024)
            .read_to_string(&mut pem)
            .map_err(io("cannot read", &path))?;
        HubKey::from_pkcs8_pem(&pem).map_err(|source| DataDirError::Key { path, source })
    }
}

/// What `essaim init` needs to know about the hub.
#[derive(Clone, Debug)]
pub struct HubProfile {
    /// The hub's name; when absent, `Hub <start of its id>` (to be changed later).
    pub name: Option<String>,
    /// Its kind.
    pub kind: HubKind,
    /// Its territories.
    pub territories: Vec<Territory>,
}

/// What `init` made.
#[derive(Debug)]
pub struct Initialised {
    /// The new hub's signed profile.
    pub hub_record: SignedRecord,
    /// Whether an existing `config.toml` was kept.
    pub kept_config: bool,
}

/// Create a hub in `dir`: key (0600), configuration, signed hub record. Refuses
/// if a key is there already, and writes nothing unless the hub record is valid.
pub fn init(dir: &DataDir, profile: HubProfile, now: u64) -> Result<Initialised, DataDirError> {
    let key_path = dir.path(KEY_FILE);
    if key_path.exists() {
        return Err(DataDirError::AlreadyInitialised(key_path));
    }
    let key = HubKey::generate().map_err(|source| DataDirError::Key {
        path: key_path.clone(),
        source,
    })?;
    let name = profile
        .name
        .unwrap_or_else(|| format!("Hub {}", &key.hub_id().short()[..12]));
    let body = Body::Hub(Hub {
        v: 1,
        kind: KindTag,
        author: key.hub_id(),
        slug: "profile"
            .parse::<Slug>()
            .expect("`profile` is a valid slug"),
        seq: now.saturating_mul(1000),
        created: now,
        name,
        hub_kind: profile.kind,
        territories: profile.territories,
        description: Default::default(),
        website: None,
        contact: None,
        endpoints: None,
    });
    // Sign before touching the disk: a bad name or territory leaves nothing behind.
    let record = essaim_protocol::sign(body, &key, now)?;

    let created = !dir.root.exists();
    fs::create_dir_all(&dir.root).map_err(io("cannot create", &dir.root))?;
    if created {
        fs::set_permissions(&dir.root, fs::Permissions::from_mode(0o700))
            .map_err(io("cannot set permissions of", &dir.root))?;
    }
    let pem = key.to_pkcs8_pem().map_err(|source| DataDirError::Key {
        path: key_path.clone(),
        source,
    })?;
    // The key goes to a temporary file first (new, 0600, synced), and is
    // linked into place last: until then, a failure leaves no key behind
    // and `init` can simply be run again; a hard link never overwrites.
    let tmp_key = dir.path(&format!(".{KEY_FILE}.{}.tmp", std::process::id()));
    let written = write_new(&tmp_key, pem.as_bytes(), 0o600);
    let config_path = dir.path(CONFIG_FILE);
    let kept_config = config_path.exists();
    let finish = written
        .and_then(|()| {
            if kept_config {
                Ok(())
            } else {
                write_atomically(&config_path, TEMPLATE.as_bytes())
            }
        })
        .and_then(|()| {
            let view = serde_json::to_string_pretty(&record.to_json_view())
                .expect("a JSON view is plain data");
            write_atomically(&dir.path(HUB_RECORD_FILE), format!("{view}\n").as_bytes())
        })
        .and_then(|()| {
            fs::hard_link(&tmp_key, &key_path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    DataDirError::AlreadyInitialised(key_path.clone())
                } else {
                    io("cannot create", &key_path)(e)
                }
            })
        })
        .and_then(|()| sync_dir(&dir.root));
    let _ = fs::remove_file(&tmp_key);
    finish?;
    Ok(Initialised {
        hub_record: record,
        kept_config,
    })
}

/// Create a new file (never an existing one, never through a symbolic
/// link) with `mode`, write it and sync it.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DataDirError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io("cannot create", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io("cannot write", path))
}

/// Sync a directory, so that the names created in it survive a power cut.
fn sync_dir(dir: &Path) -> Result<(), DataDirError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))
}

/// Write a file through a new temporary file, a rename and a directory
/// sync, so that it is whole or absent, even after a power cut.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, bytes, 0o644)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io("cannot rename into", path)(e));
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> HubProfile {
        HubProfile {
            name: Some("Ruche Lyon Part-Dieu".into()),
            kind: HubKind::Ruche,
            territories: vec!["dep:69".parse().unwrap()],
        }
    }

    #[test]
    fn init_creates_files_with_modes_and_refuses_twice() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::locate(Some(tmp.path().join("hub"))).unwrap();
        let made = init(&dir, profile(), 1_790_000_000).unwrap();
        let key = dir.load_key().unwrap();
        assert_eq!(*made.hub_record.body().author(), key.hub_id());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path(KEY_FILE)), 0o600);
        assert_eq!(mode(dir.root()), 0o700);
        let before = fs::read(dir.path(KEY_FILE)).unwrap();
        assert!(matches!(
            init(&dir, profile(), 1_790_000_000),
            Err(DataDirError::AlreadyInitialised(_))
        ));
        assert_eq!(fs::read(dir.path(KEY_FILE)).unwrap(), before);
    }

    #[test]
    fn a_bad_profile_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::locate(Some(tmp.path().join("hub"))).unwrap();
        let mut bad = profile();
        bad.name = Some(String::new());
        assert!(init(&dir, bad, 1_790_000_000).is_err());
        assert!(!dir.root().exists());
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::locate(Some(tmp.path().to_owned())).unwrap();
        init(&dir, profile(), 1_790_000_000).unwrap();
        fs::set_permissions(dir.path(KEY_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            dir.load_key(),
            Err(DataDirError::KeyPermissions { .. })
        ));
    }
}
