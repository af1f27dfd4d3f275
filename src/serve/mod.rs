//! The playground: a local web server (`backprop serve`) whose one page builds a layered
//! network, walks one association through it step by step (forward node by node, the error,
//! backward layer by layer, the update), shows the scalar-op graph that reverse mode walks, and
//! trains it live. Feature `serve`.
//!
//! This module is a front end like the command line: every number comes from the library
//! ([`walk`] arranges [`crate::nn::Mlp::evaluate`], [`crate::trace::Trace`] and
//! [`crate::textbook`]; training is [`crate::train::train`]); the page only displays. It reads
//! no file and writes none (the command line reads `--model` and hands over its text).
//!
//! - `mod.rs` (here): [`Options`], [`Limits`], the [`Server`] on `tiny_http`, the Host and
//!   Origin checks, routing.
//! - `api.rs`: the JSON requests and what each endpoint does.
//! - `session.rs`: per-session state, the store, idle expiry.
//! - [`walk`]: the steps of one association. [`presets`]: the data presets.
//! - [`ApiError`]: every refusal, with its message and status.
//! - `page.rs`: the page, plain JavaScript and SVG, embedded in the binary (parts in `page/`).
//! - [`plane`]: features, test points and pictures of 2-D data.
//!
//! ## Safe by default
//! Binds 127.0.0.1 unless told otherwise. A request whose `Host` is not the server's own
//! (DNS rebinding) or whose `Origin` is another site's is refused with 403. A session is a
//! random 128-bit token sent in the `X-Backprop-Session` header (a header, not a cookie: a page
//! on another site cannot make the browser send it). Bodies, networks, data, training work per
//! request, sessions, and training jobs (one per session, at most one per worker thread) are
//! bounded by [`Limits`].
//!
//! ## API
//! `GET /` the page; `POST /api/session` a new session (`{"session": token, "limits": ...}`);
//! with the session header: `GET /api/state`, `POST /api/build`, `POST /api/reset`,
//! `POST /api/walk`, `POST /api/step`, `POST /api/train`, `GET /api/model`. Errors are
//! `{"error": message}` with a 4xx status (see [`ApiError::status`]).

mod api;
mod error;
mod page;
pub mod plane;
pub mod presets;
mod session;
pub mod walk;

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

pub use error::ApiError;
use session::Store;

pub use page::PAGE;

/// The header that carries a session's token.
pub const SESSION_HEADER: &str = "X-Backprop-Session";

/// What the server accepts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limits {
    /// The largest request body, in bytes (a CSV file is sent in one).
    pub max_body_bytes: u64,
    /// The most weights (bias weights included) of a network.
    pub max_weights: u64,
    /// The most layers after the input.
    pub max_layers: usize,
    /// The most associations of a CSV data set.
    pub max_associations: usize,
    /// The most epochs one training request may ask for.
    pub max_epochs_per_request: usize,
    /// The work one training request may do, in (weights + graph nodes) x associations per
    /// epoch summed over its epochs; it runs fewer epochs than asked when they would not fit
    /// (at least one).
    pub train_work_per_request: u64,
    /// The largest decision-surface grid side.
    pub max_surface: usize,
    /// The most sessions at once.
    pub max_sessions: usize,
    /// Seconds after which an idle session is dropped.
    pub idle_seconds: u64,
}

impl Default for Limits {
    /// 4 MiB bodies, 100,000 weights, 16 layers, 20,000 associations, 10,000 epochs and
    /// 50 million units of work per training request, 100 x 100 surfaces, 256 sessions idle for
    /// at most 30 minutes.
    fn default() -> Limits {
        Limits {
            max_body_bytes: 4 << 20,
            max_weights: 100_000,
            max_layers: 16,
            max_associations: 20_000,
            max_epochs_per_request: 10_000,
            train_work_per_request: 50_000_000,
            max_surface: 100,
            max_sessions: 256,
            idle_seconds: 30 * 60,
        }
    }
}

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Options {
    /// The address to bind (`127.0.0.1` by default).
    pub host: IpAddr,
    /// The port (0: any free port).
    pub port: u16,
    /// A model file's JSON text every new session starts with (else the worked example).
    pub model: Option<String>,
    /// Threads answering requests.
    pub workers: usize,
    /// The limits.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8000,
            model: None,
            workers: 4,
            limits: Limits::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The `--model` text is not a valid model.
    #[error("invalid model: {0}")]
    Model(crate::Error),
    /// An option out of its domain.
    #[error("invalid option: {0}")]
    Option(String),
}

struct State {
    limits: Limits,
    model: Option<String>,
    store: Store,
    /// The `host:port` names the server answers to.
    hosts: Vec<String>,
    /// Whether any IP literal with the server's port is accepted as `Host` (bound to all
    /// interfaces: the server cannot know which address the browser used).
    any_ip: bool,
    port: u16,
}

/// A running playground server.
pub struct Server {
    http: Arc<tiny_http::Server>,
    state: Arc<State>,
    stopped: Arc<AtomicBool>,
    workers: usize,
}

/// Stops a [`Server`] from another thread.
#[derive(Clone)]
pub struct Stopper {
    http: Arc<tiny_http::Server>,
    stopped: Arc<AtomicBool>,
    workers: usize,
}

impl Stopper {
    /// Asks the server to stop: [`Server::run`] returns once the requests being answered are
    /// done.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        for _ in 0..self.workers {
            self.http.unblock();
        }
    }
}

impl Server {
    /// Binds the address of `options` and checks the model.
    ///
    /// # Errors
    /// [`ServeError::Bind`] if the address cannot be bound; [`ServeError::Model`] for an invalid
    /// model text; [`ServeError::Option`] for 0 workers.
    pub fn bind(options: Options) -> Result<Server, ServeError> {
        if options.workers == 0 {
            return Err(ServeError::Option("at least 1 worker is needed".into()));
        }
        if let Some(text) = &options.model {
            crate::model_file::from_json_str(text).map_err(ServeError::Model)?;
        }
        let addr = SocketAddr::new(options.host, options.port);
        let http = tiny_http::Server::http(addr).map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let port = http
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| ServeError::Bind {
                addr,
                reason: "not an IP socket".into(),
            })?;
        let host = options.host;
        let mut hosts = vec![format!("{}:{port}", host_text(host))];
        if host.is_loopback() || host.is_unspecified() {
            for name in ["localhost", "127.0.0.1", "[::1]"] {
                let host = format!("{name}:{port}");
                if !hosts.contains(&host) {
                    hosts.push(host);
                }
            }
        }
        let state = State {
            store: Store::new(
                options.limits.max_sessions,
                Duration::from_secs(options.limits.idle_seconds),
            ),
            limits: options.limits,
            model: options.model,
            hosts,
            any_ip: host.is_unspecified(),
            port,
        };
        Ok(Server {
            http: Arc::new(http),
            state: Arc::new(state),
            stopped: Arc::new(AtomicBool::new(false)),
            workers: options.workers,
        })
    }

    /// The address the server listens on (with the port chosen when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        match self.http.server_addr().to_ip() {
            Some(addr) => addr,
            None => unreachable!("internal error: the server listens on an IP socket"),
        }
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        let addr = self.addr();
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            host_text(addr.ip())
        };
        format!("http://{host}:{}/", addr.port())
    }

    /// A handle that stops the server.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            http: self.http.clone(),
            stopped: self.stopped.clone(),
            workers: self.workers,
        }
    }

    /// Answers requests on the worker threads until stopped (see [`Server::stopper`]).
    pub fn run(self) {
        let threads: Vec<_> = (0..self.workers)
            .map(|_| {
                let (http, state, stopped) =
                    (self.http.clone(), self.state.clone(), self.stopped.clone());
                std::thread::spawn(move || {
                    while !stopped.load(Ordering::Acquire) {
                        match http.recv_timeout(Duration::from_secs(1)) {
                            Ok(Some(request)) => answer(&state, request),
                            Ok(None) => state.store.expire(),
                            // an accept error on one connection; a stop unblocks with an error
                            Err(_) => continue,
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// A response: status, content type, body, extra headers.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    attachment: Option<&'static str>,
}

impl Reply {
    fn json(value: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            attachment: None,
        }
    }

    fn error(error: &ApiError) -> Reply {
        Reply {
            status: error.status(),
            content_type: "application/json",
            body: json!({ "error": error.to_string() })
                .to_string()
                .into_bytes(),
            attachment: None,
        }
    }
}

fn header<'r>(request: &'r tiny_http::Request, name: &str) -> Option<&'r str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn answer(state: &State, mut request: tiny_http::Request) {
    let reply =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(state, &mut request)))
            .unwrap_or(Err(ApiError::Internal));
    let reply = match reply {
        Ok(reply) => reply,
        Err(error) => Reply::error(&error),
    };
    // a Content-Length on every response, never chunked: simpler for every client
    let mut response = tiny_http::Response::from_data(reply.body)
        .with_status_code(reply.status)
        .with_chunked_threshold(usize::MAX);
    let mut headers = vec![
        (
            "Content-Type",
            format!("{}; charset=utf-8", reply.content_type),
        ),
        ("Cache-Control", "no-store".to_string()),
        ("X-Content-Type-Options", "nosniff".to_string()),
        ("X-Frame-Options", "DENY".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src data: blob:; connect-src 'self'; frame-ancestors 'none'"
                .to_string(),
        ),
    ];
    if let Some(name) = reply.attachment {
        headers.push((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ));
    }
    for (field, value) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(field.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    // the client may have gone; nothing to do about it
    let _ = request.respond(response);
}

/// Refuses a request whose `Host` or `Origin` is not the server's own.
fn check_origin(state: &State, request: &tiny_http::Request) -> Result<(), ApiError> {
    let expected = || state.hosts.join(" or ");
    let accepts = |host: &str| {
        let host = host.to_ascii_lowercase();
        state.hosts.contains(&host)
            || (state.any_ip
                && host
                    .parse::<SocketAddr>()
                    .is_ok_and(|a| a.port() == state.port))
    };
    let host = header(request, "Host").ok_or(ApiError::NoHost)?;
    if !accepts(host) {
        return Err(ApiError::Host {
            got: host.into(),
            expected: expected(),
        });
    }
    if let Some(origin) = header(request, "Origin") {
        let ok = origin.strip_prefix("http://").is_some_and(accepts);
        if !ok {
            return Err(ApiError::Origin {
                got: origin.into(),
                expected: state
                    .hosts
                    .iter()
                    .map(|h| format!("http://{h}"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            });
        }
    }
    Ok(())
}

fn read_body(state: &State, request: &mut tiny_http::Request) -> Result<String, ApiError> {
    let limit = state.limits.max_body_bytes;
    if let Some(size) = request.body_length()
        && size as u64 > limit
    {
        return Err(ApiError::BodyTooLarge {
            size: size as u64,
            limit,
        });
    }
    let mut bytes = Vec::new();
    request
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ApiError::Body(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(ApiError::BodyTooLarge {
            size: limit + 1,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| ApiError::Body(format!("not UTF-8 text ({e})")))
}

fn route(state: &State, request: &mut tiny_http::Request) -> Result<Reply, ApiError> {
    check_origin(state, request)?;
    let method = request.method().as_str().to_ascii_uppercase();
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let allowed = match path.as_str() {
        "/" | "/index.html" | "/api/state" | "/api/model" => "GET",
        "/api/session" | "/api/build" | "/api/reset" | "/api/walk" | "/api/step" | "/api/train" => {
            "POST"
        }
        _ => {
            return Err(ApiError::NotFound { method, path });
        }
    };
    if method != allowed {
        return Err(ApiError::Method {
            method,
            path,
            allowed,
        });
    }
    if allowed == "GET" && (path == "/" || path == "/index.html") {
        return Ok(Reply {
            status: 200,
            content_type: "text/html",
            body: PAGE.as_bytes().to_vec(),
            attachment: None,
        });
    }
    let body = if allowed == "POST" {
        read_body(state, request)?
    } else {
        String::new()
    };
    if path == "/api/session" {
        api::parse::<api::Empty>(&body)?;
        let session = api::initial_session(state.model.as_deref())?;
        let token = state.store.create(session)?;
        return Ok(Reply::json(
            &json!({ "session": token, "limits": state.limits }),
        ));
    }
    let token = header(request, SESSION_HEADER).ok_or(ApiError::NoSession)?;
    let slot = state.store.get(token)?;
    let value = match path.as_str() {
        "/api/state" => api::state(&slot.lock()),
        "/api/model" => {
            let text = api::model(&slot.lock())?;
            return Ok(Reply {
                status: 200,
                content_type: "application/json",
                body: text.into_bytes(),
                attachment: Some("model.json"),
            });
        }
        "/api/build" => {
            let request = api::parse(&body)?;
            api::build(&mut slot.lock(), request, &state.limits)?
        }
        "/api/reset" => {
            api::parse::<api::Empty>(&body)?;
            api::reset(&mut slot.lock())?
        }
        "/api/walk" => api::walk_outline(&mut slot.lock(), api::parse(&body)?)?,
        "/api/step" => api::step(&mut slot.lock(), api::parse(&body)?)?,
        "/api/train" => {
            let request = api::parse(&body)?;
            let _job = slot.start_training().ok_or(ApiError::Busy)?;
            api::train_epochs(&mut slot.lock(), request, &state.limits)?
        }
        _ => unreachable!("internal error: every routed path is handled"),
    };
    Ok(Reply::json(&value))
}
