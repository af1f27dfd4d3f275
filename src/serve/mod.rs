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
//! - `mod.rs` (here): [`Options`], [`Limits`], the [`Server`] and its runtime.
//! - `transport.rs`: HTTP/1.1 on `hyper` and `tokio`: connections, timeouts, header and body
//!   limits, the Host and Origin checks.
//! - `routes.rs`: which endpoint a request names and what it does, on an engine thread.
//! - `api.rs`: the JSON requests and what each endpoint does to a session.
//! - `session.rs`: per-session state, the store, idle expiry.
//! - [`walk`]: the steps of one association. [`presets`]: the data presets.
//! - [`ApiError`]: every refusal, with its message and status.
//! - `page.rs`: the page, plain JavaScript and SVG, embedded in the binary (parts in `page/`).
//! - [`plane`]: features, test points and pictures of 2-D data.
//! - `check.rs`: a student's numbers for the association being stepped, diagnosed.
//!
//! ## Safe by default
//! Binds 127.0.0.1 unless told otherwise. A request whose `Host` is not the server's own
//! (DNS rebinding), repeated, or whose `Origin` is another site's is refused with 403 (400 for a
//! repeated one). A session is a random 128-bit token sent in the `X-Backprop-Session` header
//! (a header, not a cookie: a page on another site cannot make the browser send it).
//!
//! ## No client starves another
//! Reading requests costs no thread: connections are tasks on a small `tokio` runtime, and a
//! request whose headers, then body, have not arrived within [`Limits::read_seconds`] is
//! dropped. Engine work (builds, walks, steps, training) runs on at most [`Options::workers`]
//! threads, in turn; a training request stops after [`Limits::engine_millis`] of it. Headers,
//! bodies, networks, data, sessions and the sessions' memory are bounded by [`Limits`] and the
//! constants of `transport.rs`.
//!
//! ## API
//! `GET /` the page; `POST /api/session` a new session (`{"session": token, "limits": ...}`);
//! with the session header: `GET /api/state`, `POST /api/build`, `POST /api/reset`,
//! `POST /api/walk`, `POST /api/step`, `POST /api/train`, `GET /api/model`, `POST /api/check`
//! (the "check my numbers" panel: `check.rs`, through [`crate::mistakes`]). Errors are
//! `{"error": message}` with a 4xx status (see [`ApiError::status`]).

mod api;
mod check;
mod error;
mod page;
pub mod plane;
pub mod presets;
mod routes;
mod session;
mod transport;
pub mod walk;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

pub use error::ApiError;
use session::Store;
pub use transport::{MAX_CONNECTIONS, MAX_HEADER_BYTES, MAX_HEADERS};

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
    /// The work one training request may do, in (weights + graph nodes) x associations summed
    /// over its updates; it stops, even within an epoch, when the next update would not fit
    /// (it always makes one update of at least one association).
    pub train_work_per_request: u64,
    /// The engine time one training request may take, in milliseconds (decision surface
    /// included): it stops, even within an epoch, when that time has passed; the next request
    /// goes on from there.
    pub engine_millis: u64,
    /// The largest decision-surface grid side.
    pub max_surface: usize,
    /// The most sessions at once; a new one then replaces the longest idle.
    pub max_sessions: usize,
    /// Seconds after which an idle session is dropped.
    pub idle_seconds: u64,
    /// The server's memory budget, in bytes. Three quarters of it go to the sessions (their
    /// estimated memory: beyond it the sessions idle longest are dropped), the rest is left to
    /// the requests being answered (at most [`Options::workers`] at once) and to what the
    /// allocator keeps.
    pub memory_bytes: u64,
    /// Seconds a client has to send a request's headers (or, kept alive, to start the next
    /// request), then as long again for its body.
    pub read_seconds: u64,
}

impl Default for Limits {
    /// 4 MiB bodies, 100,000 weights, 16 layers, 20,000 associations, 10,000 epochs and
    /// 50 million units of work or 100 ms per training request, 100 x 100 surfaces, 256
    /// sessions idle for at most 30 minutes and 512 MiB in all, 5 seconds to send headers and 5 more for a body.
    fn default() -> Limits {
        Limits {
            max_body_bytes: 4 << 20,
            max_weights: 100_000,
            max_layers: 16,
            max_associations: 20_000,
            max_epochs_per_request: 10_000,
            train_work_per_request: 50_000_000,
            engine_millis: 100,
            max_surface: 100,
            max_sessions: 256,
            idle_seconds: 30 * 60,
            memory_bytes: 512 << 20,
            read_seconds: 5,
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
    /// Threads doing engine work (builds, walks, steps, training), each one request at a
    /// time; requests beyond them wait in turn. Reading and writing connections takes none
    /// of them.
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

/// What every request may read: the limits, the sessions, the names the server answers to.
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
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<watch::Sender<bool>>,
}

/// Stops a [`Server`] from another thread.
#[derive(Clone)]
pub struct Stopper {
    stop: Arc<watch::Sender<bool>>,
}

impl Stopper {
    /// Asks the server to stop: [`Server::run`] returns once the requests being answered are
    /// done.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl Server {
    /// Binds the address of `options` and checks the model.
    ///
    /// # Errors
    /// [`ServeError::Bind`] if the address cannot be bound or the runtime cannot start;
    /// [`ServeError::Model`] for an invalid model text; [`ServeError::Option`] for 0 workers or
    /// a read time of 0 seconds.
    pub fn bind(options: Options) -> Result<Server, ServeError> {
        if options.workers == 0 {
            return Err(ServeError::Option("at least 1 worker is needed".into()));
        }
        if options.limits.read_seconds == 0 {
            return Err(ServeError::Option("read_seconds must be at least 1".into()));
        }
        if let Some(text) = &options.model {
            crate::model_file::from_json_str(text).map_err(ServeError::Model)?;
        }
        let addr = SocketAddr::new(options.host, options.port);
        let failed = |e: std::io::Error| ServeError::Bind {
            addr,
            reason: e.to_string(),
        };
        // two threads read and write every connection; the engine's threads are apart
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(options.workers)
            .thread_name("backprop-serve")
            .enable_io()
            .enable_time()
            .build()
            .map_err(failed)?;
        let listener = std::net::TcpListener::bind(addr).map_err(failed)?;
        listener.set_nonblocking(true).map_err(failed)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(failed)?
        };
        let addr = listener.local_addr().map_err(failed)?;
        let (host, port) = (options.host, addr.port());
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
                options.limits.memory_bytes / 4 * 3,
            ),
            limits: options.limits,
            model: options.model,
            hosts,
            any_ip: host.is_unspecified(),
            port,
        };
        Ok(Server {
            runtime,
            listener,
            addr,
            state: Arc::new(state),
            stop: Arc::new(watch::Sender::new(false)),
        })
    }

    /// The address the server listens on (with the port chosen when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
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
            stop: self.stop.clone(),
        }
    }

    /// Answers requests until stopped (see [`Server::stopper`]).
    pub fn run(self) {
        let Server {
            runtime,
            listener,
            state,
            stop,
            ..
        } = self;
        runtime.block_on(transport::serve(listener, state, stop.subscribe()));
        // engine work still running (a training slice) ends within its time budget
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}
