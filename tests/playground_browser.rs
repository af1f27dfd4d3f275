//! The playground in a real browser: headless Chromium driven through chromedriver's WebDriver
//! HTTP protocol (Debian's `chromium` and `chromium-driver`; feature `browser-tests`, which
//! `.ci/run` turns on after installing them). The page is opened, the worked example built and
//! stepped forward and back, the displayed `delta_j` and `dE/dw_jk` read and compared with the
//! library's trace; XOR is trained through the page's buttons to an error below 0.01; a
//! screenshot is saved to `examples/pictures/playground.png`.
//!
//! WebDriver is spoken with the same small HTTP client as the server tests (`tests/http`): a
//! handful of JSON requests, no WebDriver crate and its async runtime.

#[path = "it/http.rs"]
mod http;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backprop::serve::{Options, Server};
use backprop::trace::Section;
use serde_json::{Value, json};

/// chromedriver, killed when dropped.
struct Driver {
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
    fn start() -> Driver {
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
            std::env::temp_dir().join(format!("backprop-chromium-{}", std::process::id()));
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
                    "--window-size=1500,1250",
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

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        webdriver(
            self.addr,
            method,
            &format!("/session/{}{path}", self.session),
            &body,
        )
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    fn element(&self, css: &str) -> String {
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

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn text(&self, css: &str) -> String {
        let id = self.element(css);
        self.call("GET", &format!("/element/{id}/text"), json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `script` returns true, failing with `what` after `seconds`.
    fn wait(&self, script: &str, seconds: u64, what: &str) {
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
    fn walks(&self) -> String {
        self.script("return document.body.dataset.walks || '0'")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Clicks `css` and waits for the walk it reloads.
    fn click_and_wait_for_walk(&self, css: &str, seconds: u64) {
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

    fn step_title(&self) -> String {
        self.text("#step-title")
    }

    /// Clicks "next" until the step's title is `title`.
    fn next_until(&self, title: &str) {
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

    fn shown(&self, quantity: &str) -> String {
        self.text(&format!("tr[data-name=\"{quantity}\"] td.graph"))
    }
}

/// Standard base64 (the screenshot's encoding), padding allowed.
fn base64_decode(text: &str) -> Vec<u8> {
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

#[test]
fn the_page_steps_through_the_worked_example_and_trains_xor() {
    let server = Server::bind(Options {
        port: 0,
        ..Options::default()
    })
    .expect("the playground binds a free port");
    let url = server.url();
    let stopper = server.stopper();
    let serving = std::thread::spawn(move || server.run());
    let driver = Driver::start();
    driver.call("POST", "/url", json!({ "url": url }));
    driver.wait(
        "return document.body.dataset.ready === 'true'",
        30,
        "the page to load",
    );

    // the oracle: the trace `backprop walkthrough` prints, at the page's 6 decimals
    let trace = backprop::tutorial::worked_example_trace().expect("the worked example");
    let shown = |section, name| format!("{:.6}", trace.value(section, name).expect("in the trace"));

    // build the worked example (the preset the page opens with) and step through it
    driver.click("#preset option[value=worked]");
    driver.click_and_wait_for_walk("#build-button", 10);
    assert_eq!(driver.step_title(), "forward: node i[0]");
    driver.next_until("forward: node j[0]");
    assert_eq!(driver.shown("x_j[0]"), shown(Section::Forward, "x_j[0]"));
    driver.next_until("backward: layer k");
    assert_eq!(
        driver.shown("dE/dw_jk[0->0]"),
        shown(Section::Gradients, "dE/dw_jk[0->0]")
    );
    driver.next_until("backward: layer j");
    assert_eq!(
        driver.shown("delta_j[0]"),
        shown(Section::Backward, "delta_j[0]")
    );
    let formula = driver.text("tr[data-name=\"delta_j[0]\"] td.formula");
    assert!(
        formula.contains("f'(x_j) * sum_k delta_k w_jk"),
        "{formula}"
    );
    // back: the output layer's step again, its gradient still shown
    driver.click("#back");
    driver.wait(
        "return document.getElementById('step-title').textContent === 'backward: layer k'",
        10,
        "the step back",
    );
    assert_eq!(
        driver.shown("dE/dw_jk[0->0]"),
        shown(Section::Gradients, "dE/dw_jk[0->0]")
    );
    // the graph panel highlights what this step computes
    let highlighted =
        driver.script("return document.querySelectorAll('#graph rect[stroke=\"#ea580c\"]').length");
    assert!(highlighted.as_u64().unwrap_or(0) >= 1, "{highlighted}");

    // XOR, trained through the page
    driver.click("#preset option[value=xor]");
    driver.click_and_wait_for_walk("#build-button", 10);
    assert!(driver.text("#summary").starts_with("network 2-3-1"));
    driver.click("#run");
    driver.wait(
        "const e = parseFloat(document.getElementById('train-error').textContent); \
         return e < 0.01",
        180,
        "the XOR error to fall below 0.01",
    );
    // the walk is reloaded with the trained weights once the running request returns
    driver.click_and_wait_for_walk("#pause", 30);
    let error: f64 = driver
        .text("#train-error")
        .parse()
        .expect("the error is a number");
    assert!(error < 0.01, "{error}");
    // step to the hidden layer for the picture
    driver.next_until("backward: layer j");
    let png = driver.call("GET", "/screenshot", json!({}));
    let bytes = base64_decode(png.as_str().expect("a base64 screenshot"));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pictures/playground.png");
    std::fs::write(&path, &bytes).expect("the screenshot is written");

    drop(driver);
    stopper.stop();
    serving.join().expect("the server stops");
}
