//! A minimal git forge: the bare repositories of one directory served over
//! smart HTTP (`http://addr/<name>.git`), read-only, through the same
//! `git http-backend` bridge as `/git/`. For `essaim demo` (its sample
//! initiatives point at repositories it makes and serves), the benchmark
//! (an origin on loopback) and tests. Not a production forge: no
//! authentication, no pushes, no web pages.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use essaim_protocol::record::Slug;
use futures_util::Stream;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;

use crate::web::git::{Service, backend};

/// Requests served at once, at most.
const CONCURRENCY: usize = 32;

fn answer(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(text.into());
    *response.status_mut() = status;
    response
}

async fn handle<S, B>(
    root: Arc<PathBuf>,
    permits: Arc<Semaphore>,
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: S,
) -> Response
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin + 'static,
    B: warp::Buf + Send + 'static,
{
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some((name, rest)) = parts.split_first() else {
        return answer(StatusCode::NOT_FOUND, "not found\n");
    };
    let Some(Ok(slug)) = name.strip_suffix(".git").map(str::parse::<Slug>) else {
        return answer(StatusCode::NOT_FOUND, "no such repository\n");
    };
    let service = match (&method, rest, query.as_str()) {
        (&Method::GET, ["info", "refs"], "service=git-upload-pack") => Service::InfoRefs,
        (&Method::POST, ["git-upload-pack"], _) => Service::UploadPack,
        _ => return answer(StatusCode::FORBIDDEN, "read-only smart HTTP only\n"),
    };
    if !root.join(format!("{slug}.git")).join("HEAD").is_file() {
        return answer(StatusCode::NOT_FOUND, "no such repository\n");
    }
    let Ok(permit) = permits.try_acquire_owned() else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, "busy\n");
    };
    let suffix = match service {
        Service::InfoRefs => "info/refs",
        Service::UploadPack => "git-upload-pack",
    };
    let path_info = format!("/{slug}.git/{suffix}");
    // Demo forges serve their own small repositories: 10 minutes is ample.
    let limit = std::time::Duration::from_secs(600);
    backend(
        &root,
        &path_info,
        service,
        &method,
        &headers,
        body,
        (permit, limit),
    )
    .await
}

/// Serve the bare repositories `<root>/<name>.git` on `listener` until
/// `shutdown` completes.
pub async fn serve(
    root: PathBuf,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let root = Arc::new(root);
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let routes = warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and(warp::any().map(move || (root.clone(), permits.clone())))
        .then(
            |method, path: warp::path::FullPath, query, headers, body, (root, permits)| async move {
                handle(
                    root,
                    permits,
                    method,
                    path.as_str().to_owned(),
                    query,
                    headers,
                    body,
                )
                .await
            },
        );
    warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Why a sample repository could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot make the sample repository {path}: {reason}")]
pub struct SampleRepoError {
    /// The repository.
    pub path: String,
    /// `git`'s message.
    pub reason: String,
}

/// Runs `git args` in `dir` as a committer of its own (no system or user
/// configuration, branch `main`, no signing); its standard output,
/// trimmed, or its error message. For the demo's repositories and tests.
pub fn run_git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Essaim demo",
            "-c",
            "user.email=demo@essaim.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgSign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Make a small bare repository at `bare` with a README (and a
/// `docs/index.md`) and a few commits; returns HEAD's commit id.
pub fn make_sample_repo(bare: &Path, title: &str, readme: &str) -> Result<String, SampleRepoError> {
    let fail = |reason: String| SampleRepoError {
        path: bare.display().to_string(),
        reason,
    };
    let work = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let w = work.path();
    let git = |args: &[&str]| run_git(w, args).map_err(fail);
    let write = |path: &str, text: &str| {
        let p = w.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        std::fs::write(p, text).map_err(|e| fail(e.to_string()))
    };
    git(&["init", "-q", "."])?;
    write("README.md", &format!("# {title}\n\n{readme}\n"))?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "Premier import"])?;
    write(
        "docs/index.md",
        &format!("# {title} : documentation\n\nInstaller, configurer, essaimer.\n"),
    )?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "Documentation"])?;
    git(&["tag", "v1.0.0"])?;
    let head = git(&["rev-parse", "HEAD"])?;
    let _ = std::fs::remove_dir_all(bare);
    git(&["clone", "-q", "--bare", ".", &bare.display().to_string()])?;
    Ok(head)
}
