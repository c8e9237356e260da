//! A browser for the dashboard's tests: Debian's headless Chromium, driven through chromedriver
//! by the W3C WebDriver protocol (JSON over HTTP/1.1), with a small blocking HTTP client of our
//! own over a TCP socket. Chromium and chromedriver are installed with apt when missing; a test
//! that cannot get them fails and says why.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// An HTTP response: status, headers (names lower-case), body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to `addr` (`host:port`), the connection closed after it.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    // chromedriver keeps the connection open after its answer whatever the request asks, so the
    // answer's end is found by its length (or its last chunk), not by the connection closing.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let fail = |e: std::io::Error| -> ! { panic!("{method} {path}: no answer from {addr}: {e}") };
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        match stream.read(&mut buf) {
            Ok(0) => panic!("{method} {path}: {addr} closed the connection before answering"),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => fail(e),
        }
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    loop {
        let complete = match (length, chunked) {
            (Some(length), _) => body.len() >= length,
            (None, true) => body.ends_with(b"0\r\n\r\n"),
            (None, false) => false,
        };
        if complete {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(e) => fail(e),
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    Response { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        data = &data[end + 2..];
        if size == 0 || data.len() < size {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
}

/// Installs Chromium and chromedriver from Debian's packages if either is missing; once per
/// test process. Panics, saying why, if they cannot be had.
pub fn ensure_chromium() {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _once = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let present = || Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if present() {
        return;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").output().map_or_else(
            |e| format!("cannot run apt-get: {e}"),
            |o| {
                if o.status.success() {
                    String::new()
                } else {
                    format!("apt-get {}: {}\n{}", args.join(" "), o.status, String::from_utf8_lossy(&o.stderr))
                }
            },
        )
    };
    let mut failed = apt(&["install", "-y", "-q", "chromium", "chromium-driver"]);
    if !failed.is_empty() {
        // A fresh machine may not have the package lists yet.
        let update = apt(&["update", "-q"]);
        failed = if update.is_empty() { apt(&["install", "-y", "-q", "chromium", "chromium-driver"]) } else { update };
    }
    assert!(
        present(),
        "the browser test needs {CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium and chromium-driver), and \
         installing them failed: {failed}"
    );
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A headless Chromium session, 1366×768.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// The key WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver on a free port and opens a session in a fresh profile.
    pub fn start() -> Browser {
        ensure_chromium();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if TcpStream::connect(&addr).is_ok() {
                let status = http(&addr, "GET", "/status", &[], "");
                if status.body.contains("\"ready\":true") {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not become ready on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--window-size=1366,768".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
            }}
        });
        let mut browser = Browser { driver, addr, session: String::new(), _profile: profile };
        let opened = browser.call("POST", "/session", Some(capabilities));
        browser.session = opened["sessionId"].as_str().expect("a WebDriver session id").to_owned();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers: &[(&str, &str)] = &[("Content-Type", "application/json; charset=utf-8")];
        let answer = http(&self.addr, method, path, headers, &body);
        let value: Value = serde_json::from_str(&answer.body).unwrap_or_else(|e| {
            panic!("{method} {path}: chromedriver answered {} ({e}): {}", answer.status, answer.body)
        });
        assert!(answer.status == 200, "{method} {path}: WebDriver error {}: {}", answer.status, value["value"]);
        value["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url`, waiting for it to load.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The URL shown.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    /// Waits (up to 15 s) until the URL shown contains `part`: a click that submits a form
    /// returns before the page it leads to has replaced the one shown.
    pub fn wait_for_url(&self, part: &str) {
        let started = Instant::now();
        while !self.url().contains(part) {
            assert!(started.elapsed() < Duration::from_secs(15), "still on {} instead of …{part}…", self.url());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first element `css` selects; panics if none.
    pub fn find(&self, css: &str) -> String {
        self.try_find(css).unwrap_or_else(|| panic!("no element {css:?} on {}", self.url()))
    }

    /// The first element `css` selects, if any.
    pub fn try_find(&self, css: &str) -> Option<String> {
        self.find_all(css).into_iter().next()
    }

    /// Every element `css` selects.
    pub fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.session_call("POST", "/elements", Some(json!({ "using": "css selector", "value": css })));
        found.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT].as_str().map(str::to_owned)).collect()
    }

    /// Clicks `element` (and waits for the page it leads to, if it navigates).
    pub fn click(&self, element: &str) {
        self.session_call("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    /// Types `text` into `element`.
    pub fn type_into(&self, element: &str, text: &str) {
        self.session_call("POST", &format!("/element/{element}/value"), Some(json!({ "text": text })));
    }

    /// The rendered text of `element`.
    pub fn text(&self, element: &str) -> String {
        self.session_call("GET", &format!("/element/{element}/text"), None).as_str().unwrap_or_default().to_owned()
    }

    /// The text of the first element `css` selects.
    pub fn text_of(&self, css: &str) -> String {
        self.text(&self.find(css))
    }

    /// Attribute `name` of `element`.
    pub fn attr(&self, element: &str, name: &str) -> Option<String> {
        self.session_call("GET", &format!("/element/{element}/attribute/{name}"), None).as_str().map(str::to_owned)
    }

    /// Runs `script` in the page; its return value.
    pub fn run(&self, script: &str) -> Value {
        self.session_call("POST", "/execute/sync", Some(json!({ "script": script, "args": [] })))
    }

    /// The server's own time for the page shown (its `Server-Timing: app;dur=…`), in ms.
    pub fn server_time(&self) -> f64 {
        let timing = self.run(
            "const n = performance.getEntriesByType('navigation')[0]; \
             const t = n && n.serverTiming.find(t => t.name === 'app'); return t ? t.duration : -1;",
        );
        timing.as_f64().unwrap_or(-1.0)
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let data = self.session_call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).expect("a base64 PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(&self.addr, "DELETE", &format!("/session/{}", self.session), &[], "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
