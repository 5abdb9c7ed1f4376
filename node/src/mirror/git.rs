//! Running the `git` binary for mirrors, safely: fetch and clone with a
//! scrubbed environment, a pinned address, caps on size and time.
//!
//! Why the binary and not git2 for the network part (`BENCHMARKS.md`,
//! "Mirrors"): git2 is not slower (a little faster, in release), but only
//! `git` (curl) lets the connection be pinned to the addresses the policy
//! checked, and libgit2's HTTPS would need a TLS stack of its own. git2
//! still reads the local mirrors (refs, commits, READMEs: [`super::repo`]).
//!
//! Every `git` process gets: no system or global configuration, no terminal
//! prompt, no credential helper, only the https (and http when allowed)
//! transports (`GIT_ALLOW_PROTOCOL` and `protocol.allow`), no redirects, the
//! connection pinned to the addresses the policy checked
//! (`http.curloptResolve`), no hooks, no templates, no proxy, no submodule
//! recursion; a bare repository never runs LFS filters. A process that
//! outgrows the size cap or the time cap is killed and its partial files
//! removed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use super::policy::CheckedUrl;

/// How often the size of a running fetch is measured.
const SIZE_CHECK: Duration = Duration::from_millis(300);
/// Bytes of `git`'s error output kept for the error message.
const STDERR_KEPT: usize = 2_000;

/// Why fetching failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The repository outgrew the size cap.
    #[error(
        "the repository is larger than the cap of {cap_mib} MiB (mirror.max_size_mib): not mirrored"
    )]
    TooLarge {
        /// The cap.
        cap_mib: u64,
    },
    /// The fetch took longer than the time cap.
    #[error("fetching took longer than {secs} s (mirror.timeout_secs): stopped")]
    Timeout {
        /// The cap.
        secs: u64,
    },
    /// `git` failed.
    #[error("git failed: {message}")]
    Failed {
        /// Its last lines of error output.
        message: String,
    },
    /// `git` could not be run, or the mirror's files could not be handled.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The system's reason.
        source: std::io::Error,
    },
}

/// Caps of one fetch.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest repository on disk, bytes.
    pub max_bytes: u64,
    /// Longest fetch.
    pub timeout: Duration,
    /// Whether `http://` is allowed (for `GIT_ALLOW_PROTOCOL`).
    pub allow_http: bool,
}

/// A running fetch's progress, as `git` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// The phase (`Receiving objects`, `Resolving deltas`…).
    pub phase: String,
    /// Objects done in this phase.
    pub objects: u64,
    /// Objects to do in this phase (0: unknown).
    pub total: u64,
    /// Bytes received so far.
    pub bytes: u64,
}

/// Shared progress of a job.
pub type SharedProgress = Arc<Mutex<Progress>>;

/// The `git` binary: `mirror.git` would go here; `git` on `PATH` meanwhile.
fn git_binary() -> PathBuf {
    PathBuf::from("git")
}

/// A `git` command with the safe environment; `url` pins the connection.
pub fn command(url: Option<&CheckedUrl>, allow_http: bool) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(git_binary());
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let protocols = if allow_http { "https:http" } else { "https" };
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", "/nonexistent")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", protocols)
        .env("GIT_PROTOCOL_FROM_USER", "0")
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .env("LC_ALL", "C");
    let mut config = vec![
        "protocol.allow=never".to_owned(),
        "protocol.https.allow=always".to_owned(),
        "http.followRedirects=false".to_owned(),
        "http.proxy=".to_owned(),
        "credential.helper=".to_owned(),
        "core.askPass=".to_owned(),
        "core.hooksPath=/dev/null".to_owned(),
        "core.fsmonitor=false".to_owned(),
        "submodule.recurse=false".to_owned(),
        "fetch.recurseSubmodules=false".to_owned(),
        "init.templateDir=".to_owned(),
        "gc.auto=0".to_owned(),
    ];
    if allow_http {
        config.push("protocol.http.allow=always".to_owned());
    }
    if let Some(pin) = url.and_then(CheckedUrl::curl_resolve) {
        config.push(format!("http.curloptResolve={pin}"));
    }
    for c in config {
        cmd.arg("-c").arg(c);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// The refs a mirror keeps: branches and tags (not a forge's pull requests).
pub const REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// Bring the bare mirror at `target` up to date from `url`: a first clone
/// into a temporary directory under `tmp_root`, renamed into place when
/// complete, or a fetch with pruning into the existing mirror.
pub async fn fetch(
    target: &Path,
    tmp_root: &Path,
    url: &CheckedUrl,
    limits: Limits,
    progress: &SharedProgress,
) -> Result<(), GitError> {
    if target.join("HEAD").is_file() {
        let mut cmd = command(Some(url), limits.allow_http);
        cmd.arg("--git-dir")
            .arg(target)
            .args([
                "fetch",
                "--prune",
                "--progress",
                "--no-write-fetch-head",
                "--",
            ])
            .arg(url.url.as_str())
            .args(REFSPECS);
        let result = run(cmd, target, limits, progress).await;
        if result.is_err() {
            remove_partial_packs(target);
        }
        result
    } else {
        let tmp = clone_fresh(tmp_root, url, limits, progress).await?;
        install(&tmp, target)
    }
}

/// Clone `url` into a new temporary bare repository under `tmp_root`;
/// removed again if anything fails.
pub async fn clone_fresh(
    tmp_root: &Path,
    url: &CheckedUrl,
    limits: Limits,
    progress: &SharedProgress,
) -> Result<TempRepo, GitError> {
    std::fs::create_dir_all(tmp_root).map_err(|source| GitError::Io {
        what: format!("cannot create {}", tmp_root.display()),
        source,
    })?;
    let dir = tempfile::Builder::new()
        .prefix("clone-")
        .tempdir_in(tmp_root)
        .map_err(|source| GitError::Io {
            what: format!("cannot create a directory in {}", tmp_root.display()),
            source,
        })?;
    let repo = dir.path().join("repo.git");
    let mut cmd = command(Some(url), limits.allow_http);
    cmd.args(["clone", "--bare", "--progress", "--no-local", "--template="])
        .arg("--")
        .arg(url.url.as_str())
        .arg(&repo);
    run(cmd, dir.path(), limits, progress).await?;
    Ok(TempRepo { dir, repo })
}

/// A complete clone in a temporary directory (removed on drop).
#[derive(Debug)]
pub struct TempRepo {
    dir: tempfile::TempDir,
    repo: PathBuf,
}

impl TempRepo {
    /// The bare repository.
    pub fn path(&self) -> &Path {
        &self.repo
    }
}

/// Put a complete clone in place of `target` (replacing an older mirror).
pub fn install(tmp: &TempRepo, target: &Path) -> Result<(), GitError> {
    let io = |what: &str, source| GitError::Io {
        what: format!("{what} {}", target.display()),
        source,
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("cannot create the parent of", e))?;
    }
    let old = tmp.dir.path().join("old.git");
    let replaced = match std::fs::rename(target, &old) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io("cannot move aside", e)),
    };
    if let Err(e) = std::fs::rename(&tmp.repo, target) {
        if replaced {
            let _ = std::fs::rename(&old, target);
        }
        return Err(io("cannot put the new mirror at", e));
    }
    Ok(())
}

/// Remove what an interrupted fetch leaves in a mirror.
fn remove_partial_packs(repo: &Path) {
    for dir in [repo.join("objects/pack"), repo.join("objects")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("tmp_") || name.starts_with("incoming-") {
                    let path = entry.path();
                    let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
                }
            }
        }
    }
}

/// Bytes used by the files under `dir`.
pub fn disk_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Run `cmd`, watching the size of `watched` and the clock.
async fn run(
    mut cmd: tokio::process::Command,
    watched: &Path,
    limits: Limits,
    progress: &SharedProgress,
) -> Result<(), GitError> {
    let mut child = cmd.spawn().map_err(|source| GitError::Io {
        what: "cannot run git (is it installed?)".into(),
        source,
    })?;
    let mut stderr = child.stderr.take();
    let started = Instant::now();
    let errors = Arc::new(Mutex::new(String::new()));
    let reader = {
        let progress = progress.clone();
        let errors = errors.clone();
        tokio::spawn(async move {
            let Some(stderr) = stderr.as_mut() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let mut line = Vec::new();
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                for &b in &buf[..n] {
                    if b == b'\r' || b == b'\n' {
                        note_line(&String::from_utf8_lossy(&line), &progress, &errors);
                        line.clear();
                    } else if line.len() < 4096 {
                        line.push(b);
                    }
                }
            }
            note_line(&String::from_utf8_lossy(&line), &progress, &errors);
        })
    };
    let outcome = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|source| GitError::Io {
                what: "git did not finish".into(),
                source,
            }),
            () = tokio::time::sleep(SIZE_CHECK) => {
                if started.elapsed() > limits.timeout {
                    let _ = child.kill().await;
                    return Err(GitError::Timeout { secs: limits.timeout.as_secs() });
                }
                let dir = watched.to_path_buf();
                let size = tokio::task::spawn_blocking(move || disk_size(&dir)).await.unwrap_or(0);
                if size > limits.max_bytes {
                    let _ = child.kill().await;
                    return Err(GitError::TooLarge { cap_mib: limits.max_bytes / (1024 * 1024) });
                }
            }
        }
    };
    let status = outcome?;
    let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    if status.success() {
        // A last look: a pack written between two checks.
        let dir = watched.to_path_buf();
        let size = tokio::task::spawn_blocking(move || disk_size(&dir))
            .await
            .unwrap_or(0);
        if size > limits.max_bytes {
            return Err(GitError::TooLarge {
                cap_mib: limits.max_bytes / (1024 * 1024),
            });
        }
        Ok(())
    } else {
        let message = errors
            .lock()
            .map(|e| e.trim().to_owned())
            .unwrap_or_default();
        Err(GitError::Failed {
            message: if message.is_empty() {
                format!("exit status {status}")
            } else {
                message
            },
        })
    }
}

/// Take one line of `git`'s error output: progress, or an error to keep.
fn note_line(line: &str, progress: &SharedProgress, errors: &Arc<Mutex<String>>) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    if let Some(p) = parse_progress(line) {
        if let Ok(mut shared) = progress.lock() {
            let bytes = if p.bytes == 0 { shared.bytes } else { p.bytes };
            *shared = Progress { bytes, ..p };
        }
        return;
    }
    // Local paths are nobody's business on a public page.
    if line.starts_with("Cloning into") {
        return;
    }
    let explained;
    let line = match line.find("returned error: 30") {
        Some(_) => {
            explained = format!(
                "{line} (the origin redirects; redirects are not followed: \
                 the record must give the repository's final URL)"
            );
            explained.as_str()
        }
        None => line,
    };
    if let Ok(mut kept) = errors.lock() {
        kept.push_str(line);
        kept.push('\n');
        if kept.len() > STDERR_KEPT {
            let cut = kept.len() - STDERR_KEPT;
            let cut = (cut..kept.len())
                .find(|i| kept.is_char_boundary(*i))
                .unwrap_or(kept.len());
            kept.drain(..cut);
        }
    }
}

/// `Receiving objects:  45% (450/1000), 1.20 MiB | 2.00 MiB/s` → progress.
pub fn parse_progress(line: &str) -> Option<Progress> {
    let line = line.strip_prefix("remote: ").unwrap_or(line);
    let (phase, rest) = line.split_once(": ")?;
    if !phase.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
        return None;
    }
    let open = rest.find('(')?;
    let close = rest[open..].find(')')? + open;
    let (done, total) = rest[open + 1..close].split_once('/')?;
    let objects = done.trim().parse().ok()?;
    let total = total.trim().parse().ok()?;
    let mut bytes = 0;
    if let Some(after) = rest[close..].strip_prefix("), ") {
        let amount = after.split('|').next().unwrap_or("").trim();
        if let Some((number, unit)) = amount.split_once(' ') {
            let factor = match unit {
                "bytes" => 1.0,
                "KiB" => 1024.0,
                "MiB" => 1024.0 * 1024.0,
                "GiB" => 1024.0 * 1024.0 * 1024.0,
                _ => 0.0,
            };
            bytes = (number.parse::<f64>().unwrap_or(0.0) * factor) as u64;
        }
    }
    Some(Progress {
        phase: phase.to_owned(),
        objects,
        total,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines() {
        let p =
            parse_progress("Receiving objects:  45% (450/1000), 1.50 MiB | 2.00 MiB/s").unwrap();
        assert_eq!((p.objects, p.total, p.bytes), (450, 1000, 1_572_864));
        assert_eq!(p.phase, "Receiving objects");
        let p = parse_progress("remote: Counting objects: 100% (7/7), done.").unwrap();
        assert_eq!((p.objects, p.total, p.bytes), (7, 7, 0));
        assert!(parse_progress("fatal: repository not found").is_none());
        assert!(parse_progress("error: RPC failed; HTTP 403 (curl 22)").is_none());
    }
}
