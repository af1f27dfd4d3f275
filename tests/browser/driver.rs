//! A WebDriver session on headless Chromium, through chromedriver's HTTP protocol, spoken with
//! the same small HTTP client as the server tests (`tests/it/http.rs`): a handful of JSON
//! requests, no WebDriver crate and its async runtime.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http;

/// chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = http::request(
            self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            &[],
            "",
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn webdriver(addr: SocketAddr, method: &str, path: &str, body: &Value) -> Value {
    let body = if method == "GET" {
        String::new()
    } else {
        body.to_string()
    };
    let reply = http::request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(reply.status, 200, "{method} {path}: {}", reply.body);
    reply.json()["value"].clone()
}

impl Driver {
    pub fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) is installed");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        loop {
            if std::net::TcpStream::connect(addr).is_ok() {
                let ready = http::request(addr, "GET", "/status", &[], "");
                if ready.status == 200 && ready.json()["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile =
            std::env::temp_dir().join(format!("backprop-chromium-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut driver = Driver {
            child,
            addr,
            session: String::new(),
            profile,
        };
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1500,1700",
                    format!("--user-data-dir={}", driver.profile.display()),
                ]
            }
        }}});
        let session = webdriver(addr, "POST", "/session", &capabilities);
        driver.session = session["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_string();
        driver
    }

    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        webdriver(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            &body,
        )
    }

    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    pub fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), json!({}));
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.call("GET", &format!("/element/{id}/text"), json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `script` returns true, failing with `what` after `seconds`.
    pub fn wait(&self, script: &str, seconds: u64, what: &str) {
        let start = Instant::now();
        while self.script(script) != Value::Bool(true) {
            let error = self.script("return document.getElementById('error').textContent");
            assert!(
                start.elapsed() < Duration::from_secs(seconds),
                "timed out waiting for {what}; the page's error: {error}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many walks the page has loaded (it counts them in `data-walks`).
    pub fn walks(&self) -> String {
        self.script("return document.body.dataset.walks || '0'")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Clicks `css` and waits for the walk it reloads.
    pub fn click_and_wait_for_walk(&self, css: &str, seconds: u64) {
        let before = self.walks();
        self.click(css);
        self.wait(
            &format!(
                "return (document.body.dataset.walks || '0') !== {}",
                json!(before)
            ),
            seconds,
            &format!("the walk after clicking {css}"),
        );
    }

    pub fn step_title(&self) -> String {
        self.text("#step-title")
    }

    /// Clicks "next" until the step's title is `title`.
    pub fn next_until(&self, title: &str) {
        for _ in 0..40 {
            if self.step_title() == title {
                return;
            }
            let before = self.text("#step-count");
            self.click("#next");
            self.wait(
                &format!(
                    "return document.getElementById('step-count').textContent !== {}",
                    json!(before)
                ),
                10,
                "the next step",
            );
        }
        panic!("no step titled {title:?}");
    }

    pub fn shown(&self, quantity: &str) -> String {
        self.text(&format!("tr[data-name=\"{quantity}\"] td.graph"))
    }
}

/// Standard base64 (the screenshot's encoding), padding allowed.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut bits = 0u32;
        for (k, &c) in chunk.iter().enumerate() {
            bits |= value(c) << (18 - 6 * k);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

impl Driver {
    /// Empties the text box `css` and types `text` into it, key by key.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/clear"), json!({}));
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    /// Runs `action`, then waits for the walk the page loads after it.
    pub fn and_wait_for_walk(&self, what: &str, seconds: u64, action: impl FnOnce()) {
        let before = self.walks();
        action();
        self.wait(
            &format!(
                "return (document.body.dataset.walks || '0') !== {}",
                json!(before)
            ),
            seconds,
            &format!("the walk after {what}"),
        );
    }

    /// Chooses `value` in the select `css` as a user does (a click on the option).
    pub fn choose(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"));
    }

    /// A script's result as a string (empty if it is not one).
    pub fn string(&self, script: &str) -> String {
        self.script(script).as_str().unwrap_or_default().to_string()
    }

    /// Every pair of SVG text boxes that overlap (by more than half a pixel both ways) in the
    /// elements `ids`, as read from the browser's layout (`getBBox`), named by their texts.
    pub fn overlapping_labels(&self, ids: &[&str]) -> Vec<String> {
        let script = format!(
            "const out = [];
             for (const id of {}) {{
               const boxes = Array.from(document.querySelectorAll('#' + id + ' text'))
                 .filter((t) => t.textContent.trim() !== '')
                 .map((t) => [t.getBBox(), t.textContent]);
               for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {{
                 const [p, s] = boxes[a], [q, t] = boxes[b];
                 const wide = Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x);
                 const high = Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y);
                 if (wide > 0.5 && high > 0.5) out.push(id + ': ' + JSON.stringify(s) + ' over ' + JSON.stringify(t));
               }}
             }}
             return out;",
            json!(ids)
        );
        self.script(&script)
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The page as a PNG.
    pub fn screenshot(&self) -> Vec<u8> {
        let png = self.call("GET", "/screenshot", json!({}));
        let bytes = base64_decode(png.as_str().expect("a base64 screenshot"));
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        bytes
    }
}
