//! A headless Chromium driven through chromedriver and fantoccini, for the
//! browser tests: one chromedriver child per test (its own process group,
//! killed on drop with the Chromium it started), every await bounded.

use std::fmt::Display;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long one WebDriver command (a navigation included) may take.
const STEP: Duration = Duration::from_secs(20);

/// Chromium's flags: headless, and nothing that reaches outside this machine
/// (the closed network refuses it, and a test must not depend on it).
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--no-proxy-server",
    // No name resolves but localhost and 127.0.0.1.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
    // A French reader (the UI's first language), whatever the machine's locale.
    "--lang=fr-FR",
];

/// Whether the browser tests run: `ESSAIM_SKIP_BROWSER=1` skips them (with a
/// line saying so); otherwise Chromium and chromedriver must be installed.
pub(crate) fn enabled(test: &str) -> bool {
    if std::env::var("ESSAIM_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        println!("{test}: skipped (ESSAIM_SKIP_BROWSER=1)");
        return false;
    }
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing (Debian package `{package}`): the browser tests need \
             `apt-get install chromium chromium-driver`, or ESSAIM_SKIP_BROWSER=1 to skip them"
        );
    }
    true
}

/// A multi-threaded runtime for one browser test.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Await `future` at most `within`, panicking with what was awaited.
pub(crate) async fn bounded_for<T, E: Display>(
    what: impl Display,
    within: Duration,
    future: impl Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(within, future).await {
        Err(_) => panic!("timed out after {within:?} waiting for {what}"),
        Ok(Err(e)) => panic!("{what}: {e}"),
        Ok(Ok(value)) => value,
    }
}

/// [`bounded_for`] with the usual step time.
pub(crate) async fn bounded<T, E: Display>(
    what: impl Display,
    future: impl Future<Output = Result<T, E>>,
) -> T {
    bounded_for(what, STEP, future).await
}

/// A chromedriver child and a WebDriver session in a fresh Chromium profile.
pub(crate) struct Browser {
    client: Client,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromedriver on a free loopback port (it picks it: `--port=0`),
    /// wait until `/status` says ready, open a session.
    pub(crate) async fn start() -> Browser {
        let started = Instant::now();
        let mut chromedriver = Command::new(CHROMEDRIVER)
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own process group, so that drop kills Chromium with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let stdout = chromedriver.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // "ChromeDriver was started successfully on port 12345."; then
            // keep draining, so that chromedriver never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("started successfully on port ").nth(1)
                    && let Ok(port) = rest.trim_end_matches('.').trim().parse::<u16>()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let profile = tempfile::tempdir().unwrap();
        let guard = KillGroup(chromedriver.id());
        let port = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("chromedriver printed its port within 10 s");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_ready(&webdriver, Duration::from_secs(10)).await;

        let mut user_data_dir = String::from("--user-data-dir=");
        user_data_dir.push_str(profile.path().to_str().unwrap());
        let mut args: Vec<&str> = CHROMIUM_ARGS.to_vec();
        args.push(&user_data_dir);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("pageLoadStrategy".into(), json!("normal"));
        // Leave dialogs open: a test that looks for an alert must find it.
        capabilities.insert("unhandledPromptBehavior".into(), json!("ignore"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl.accept_languages": "fr-FR,fr" },
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = bounded_for(
            "a WebDriver session (Chromium starting)",
            Duration::from_secs(30),
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&webdriver),
        )
        .await;
        std::mem::forget(guard);
        let browser = Browser {
            client,
            chromedriver,
            _profile: profile,
        };
        bounded(
            "setting the script timeout",
            browser
                .client
                .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                    Some(Duration::from_secs(20)),
                    Some(Duration::from_secs(20)),
                    Some(Duration::ZERO),
                )),
        )
        .await;
        println!(
            "browser: chromedriver on port {port}, Chromium ready in {:?}",
            started.elapsed()
        );
        browser
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Load `url` and wait for its `load` event.
    pub(crate) async fn goto(&self, url: &str) {
        bounded(format!("loading {url}"), self.client.goto(url)).await;
    }

    /// Load `url`; an alert opened by the page is not an error here (the
    /// caller looks for it).
    pub(crate) async fn goto_allowing_alert(&self, url: &str) {
        match tokio::time::timeout(STEP, self.client.goto(url)).await {
            Err(_) => panic!("timed out after {STEP:?} loading {url}"),
            Ok(Err(e)) if e.is_unexpected_alert_open() => {}
            Ok(Err(e)) => panic!("loading {url}: {e}"),
            Ok(Ok(())) => {}
        }
    }

    /// The current URL.
    pub(crate) async fn url(&self) -> url::Url {
        bounded("the current URL", self.client.current_url()).await
    }

    /// Run `script` (a function body; `arguments` are `args`) in the page.
    pub(crate) async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        bounded(
            format!("script `{}`", abbreviate(script)),
            self.client.execute(script, args),
        )
        .await
    }

    /// Run an asynchronous script; it calls `arguments[arguments.length - 1]`
    /// with its result.
    pub(crate) async fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        bounded(
            format!("async script `{}`", abbreviate(script)),
            self.client.execute_async(script, args),
        )
        .await
    }

    /// The one element matching `css`.
    pub(crate) async fn find(&self, css: &str) -> Element {
        bounded(
            format!("element `{css}` on {}", self.url().await),
            self.client.find(Locator::Css(css)),
        )
        .await
    }

    /// Every element matching `css`, maybe none.
    pub(crate) async fn find_all(&self, css: &str) -> Vec<Element> {
        bounded(
            format!("elements `{css}`"),
            self.client.find_all(Locator::Css(css)),
        )
        .await
    }

    /// Whether an element matches `css`.
    pub(crate) async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The rendered text of the element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        bounded(format!("the text of `{css}`"), element.text()).await
    }

    /// An attribute of the element matching `css`.
    pub(crate) async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        bounded(format!("attribute {name} of `{css}`"), element.attr(name)).await
    }

    /// Click the element matching `css`.
    pub(crate) async fn click(&self, css: &str) {
        let element = self.find(css).await;
        bounded(format!("clicking `{css}`"), element.click()).await;
    }

    /// Type `text` into the element matching `css` (after clearing it).
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        bounded(format!("clearing `{css}`"), element.clear()).await;
        bounded(format!("typing into `{css}`"), element.send_keys(text)).await;
    }

    /// Poll `condition` (a script body returning a boolean) until it holds,
    /// at most `within`; panics with `what` and the page's URL otherwise.
    pub(crate) async fn wait_until(&self, what: &str, within: Duration, condition: &str) {
        let deadline = Instant::now() + within;
        loop {
            if self.js(condition, vec![]).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {within:?} for {what} (`{condition}`) on {}",
                    self.url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Resize the window (CSS pixels of the whole window, headless: the
    /// viewport).
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        bounded(
            format!("resizing the window to {width}×{height}"),
            self.client.set_window_size(width, height),
        )
        .await;
    }

    /// Save a PNG of the viewport as `<CARGO_TARGET_TMPDIR>/browser/<name>`.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let png = bounded(format!("a screenshot for {name}"), self.client.screenshot()).await;
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
        path
    }

    /// The text of an open alert, or None if there is none.
    pub(crate) async fn alert_text(&self) -> Option<String> {
        match tokio::time::timeout(STEP, self.client.get_alert_text()).await {
            Err(_) => panic!("timed out after {STEP:?} asking for an alert"),
            Ok(Ok(text)) => Some(text),
            Ok(Err(e)) if e.is_no_such_alert() => None,
            Ok(Err(e)) => panic!("asking for an alert: {e}"),
        }
    }

    /// Dismiss an open alert.
    pub(crate) async fn dismiss_alert(&self) {
        bounded("dismissing an alert", self.client.dismiss_alert()).await;
    }

    /// End the session (Chromium quits), then chromedriver.
    pub(crate) async fn quit(self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        drop(KillGroup(self.chromedriver.id()));
        let _ = self.chromedriver.wait();
    }
}

/// Kills a process group on drop (chromedriver and the Chromium it started).
struct KillGroup(u32);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Wait until chromedriver's `/status` says it is ready.
async fn wait_ready(webdriver: &str, within: Duration) {
    let url = format!("{webdriver}/status");
    let deadline = Instant::now() + within;
    loop {
        let url = url.clone();
        let answer = tokio::task::spawn_blocking(move || crate::util::get(&url))
            .await
            .unwrap();
        if let Ok((200, status)) = &answer
            && status["value"]["ready"] == Value::Bool(true)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver at {webdriver} not ready within {within:?}: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where screenshots go.
pub(crate) fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser")
}

fn abbreviate(script: &str) -> String {
    let line = script.trim().lines().next().unwrap_or_default();
    if line.chars().count() > 80 || script.trim().lines().count() > 1 {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// The status of the last navigation (Navigation Timing's `responseStatus`).
pub(crate) async fn navigation_status(browser: &Browser) -> u64 {
    browser
        .js(
            "return performance.getEntriesByType('navigation')[0].responseStatus;",
            vec![],
        )
        .await
        .as_u64()
        .expect("Navigation Timing gives responseStatus")
}
