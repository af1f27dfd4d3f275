//! The HTTP layer: HTTP/1.1 connections served by `hyper` on the `tokio` runtime, with the
//! limits and timeouts that keep one client from starving the others, and the Host and Origin
//! checks. It knows nothing of networks: engine work goes to [`super::routes::call`] on the
//! runtime's bounded pool of blocking threads.
//!
//! - Headers: at most [`MAX_HEADERS`] of them in at most [`MAX_HEADER_BYTES`] bytes (else 431,
//!   from hyper); exactly one `Host`.
//! - Time: a request's headers must arrive within [`Limits::read_seconds`] of the connection
//!   starting to wait for them (a kept-alive connection idle that long is closed, from hyper),
//!   then its body within as long again (else 408 and the connection is closed). A client
//!   waiting on its own body holds a few kilobytes and no thread.
//! - Connections: at most [`MAX_CONNECTIONS`] at once; more are closed as they come.
//! - Replies are written whole (hyper writes the head and the body together) on sockets with
//!   `TCP_NODELAY`: no wait for a delayed acknowledgement.
//!
//! [`Limits::read_seconds`]: super::Limits::read_seconds

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::error::ApiError;
use super::routes::{self, Endpoint};
use super::{PAGE, SESSION_HEADER, State};

/// The most header lines of a request.
pub const MAX_HEADERS: usize = 100;
/// The most bytes of a request's head (request line and headers).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most connections open at once.
pub const MAX_CONNECTIONS: usize = 1024;

/// A response: status, content type, body, and whether to close the connection after it.
pub(super) struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    attachment: Option<&'static str>,
    close: bool,
}

impl Reply {
    /// A JSON value, 200.
    pub(super) fn json(value: &serde_json::Value) -> Reply {
        Reply::ok("application/json", value.to_string().into_bytes())
    }

    /// A 200 of this type.
    pub(super) fn ok(content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type,
            body,
            attachment: None,
            close: false,
        }
    }

    /// The same reply, offered as a file of this name.
    pub(super) fn attachment(self, name: &'static str) -> Reply {
        Reply {
            attachment: Some(name),
            ..self
        }
    }

    /// A refusal: `{"error": message}` with the error's status. After a body that was not read
    /// to its end (too large, too slow) the connection is closed.
    pub(super) fn error(error: &ApiError) -> Reply {
        Reply {
            status: error.status(),
            content_type: "application/json",
            body: json!({ "error": error.to_string() })
                .to_string()
                .into_bytes(),
            attachment: None,
            close: matches!(
                error,
                ApiError::Timeout { .. } | ApiError::BodyTooLarge { .. } | ApiError::Body(_)
            ),
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        let content_type = format!("{}; charset=utf-8", self.content_type);
        let mut set = |name: header::HeaderName, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        set(header::CONTENT_TYPE, &content_type);
        set(header::CACHE_CONTROL, "no-store");
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(header::X_FRAME_OPTIONS, "DENY");
        set(header::REFERRER_POLICY, "no-referrer");
        set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src data: blob:; connect-src 'self'; frame-ancestors 'none'",
        );
        if let Some(name) = self.attachment {
            set(
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"{name}\""),
            );
        }
        if self.close {
            set(header::CONNECTION, "close");
        }
        response
    }
}

/// Accepts connections until `stop` turns true, then lets each connection finish the request
/// it is answering. Drops idle sessions once a second.
pub(super) async fn serve(listener: TcpListener, state: Arc<State>, stop: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    let mut stopping = stop.clone();
    loop {
        while connections.try_join_next().is_some() {}
        tokio::select! {
            _ = stopping.wait_for(|stopped| *stopped) => break,
            _ = sweep.tick() => state.store.expire(),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // over the limit the connection is closed at once
                    if let Ok(permit) = permits.clone().try_acquire_owned() {
                        let (state, stop) = (state.clone(), stop.clone());
                        connections.spawn(async move {
                            connection(stream, state, stop).await;
                            drop(permit);
                        });
                    }
                }
                // out of file descriptors, or a connection reset before it was accepted
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Serves one connection's requests, one after the other (kept alive), until the client
/// closes it, a limit or timeout closes it, or the server stops.
async fn connection(stream: TcpStream, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    // a reply goes out in one write; without this a second segment would wait for the
    // client's delayed acknowledgement (Nagle's algorithm)
    let _ = stream.set_nodelay(true);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(state.limits.read_seconds))
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEADER_BYTES);
    let service = hyper::service::service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(answer(&state, request).await.into_response()) }
    });
    let serving = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(serving);
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    tokio::select! {
        // a closed or broken connection, a timeout: nothing to tell anyone
        _ = serving.as_mut() => {}
        () = stopped => {
            serving.as_mut().graceful_shutdown();
            let _ = serving.await;
        }
    }
}

async fn answer(state: &Arc<State>, request: Request<Incoming>) -> Reply {
    match handle(state, request).await {
        Ok(reply) => reply,
        Err(error) => Reply::error(&error),
    }
}

async fn handle(state: &Arc<State>, request: Request<Incoming>) -> Result<Reply, ApiError> {
    let (parts, body) = request.into_parts();
    check_origin(state, &parts.headers)?;
    let endpoint = Endpoint::of(parts.method.as_str(), parts.uri.path())?;
    if endpoint == Endpoint::Page {
        return Ok(Reply::ok("text/html", PAGE.as_bytes().to_vec()));
    }
    let body = if endpoint.takes_body() {
        read_body(state, &parts.headers, body).await?
    } else {
        String::new()
    };
    let token = text(&parts.headers, SESSION_HEADER);
    let state = state.clone();
    // engine work on the bounded pool: a request waits its turn there, never on the runtime
    // that reads the other connections
    tokio::task::spawn_blocking(move || routes::call(&state, endpoint, token.as_deref(), &body))
        .await
        .unwrap_or(Err(ApiError::Internal))
}

/// A header's value as text (invalid UTF-8 replaced), if present.
fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Refuses a request whose `Host` is missing, repeated or not the server's own, or whose
/// `Origin` is another site's.
fn check_origin(state: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    let accepts = |host: &str| {
        let host = host.to_ascii_lowercase();
        state.hosts.contains(&host)
            || (state.any_ip
                && host
                    .parse::<SocketAddr>()
                    .is_ok_and(|a| a.port() == state.port))
    };
    let count = headers.get_all(header::HOST).iter().count();
    if count > 1 {
        return Err(ApiError::RepeatedHost { count });
    }
    let host = text(headers, header::HOST.as_str()).ok_or(ApiError::NoHost)?;
    if !accepts(&host) {
        return Err(ApiError::Host {
            got: host,
            expected: state.hosts.join(" or "),
        });
    }
    if let Some(origin) = text(headers, header::ORIGIN.as_str()) {
        let ok = origin.strip_prefix("http://").is_some_and(accepts);
        if !ok {
            return Err(ApiError::Origin {
                got: origin,
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

/// The body as text: at most [`super::Limits::max_body_bytes`], all of it within
/// [`super::Limits::read_seconds`].
async fn read_body(state: &State, headers: &HeaderMap, body: Incoming) -> Result<String, ApiError> {
    let limit = state.limits.max_body_bytes;
    let declared = text(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok());
    if let Some(size) = declared
        && size > limit
    {
        return Err(ApiError::BodyTooLarge { size, limit });
    }
    let seconds = state.limits.read_seconds;
    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    let collected = tokio::time::timeout(Duration::from_secs(seconds), limited.collect())
        .await
        .map_err(|_| ApiError::Timeout { seconds })?;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return Err(ApiError::BodyTooLarge {
                size: limit + 1,
                limit,
            });
        }
        Err(e) => return Err(ApiError::Body(e.to_string())),
    };
    String::from_utf8(bytes.to_vec()).map_err(|e| ApiError::Body(format!("not UTF-8 text ({e})")))
}
