//! The playground's refusals: one enum, each message naming what is wrong, each with its HTTP
//! status.

/// Why the playground refused a request. The message is what the page shows.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Host` header (HTTP/1.1 requires one; without it the server cannot tell whose it is).
    #[error("refused: the request has no Host header")]
    NoHost,
    /// More than one `Host` header: which one a proxy or the server would believe is anyone's
    /// guess, so neither is.
    #[error("refused: the request has {count} Host headers; send exactly one")]
    RepeatedHost {
        /// How many.
        count: usize,
    },
    /// A `Host` that is not the server's own: a page on another site (DNS rebinding) or a
    /// mistyped address.
    #[error("refused: the Host header {got:?} is not this server's (expected {expected})")]
    Host {
        /// The header as received.
        got: String,
        /// What the server answers to.
        expected: String,
    },
    /// An `Origin` that is not the server's own: a page on another site driving it.
    #[error("refused: the Origin {got:?} is not this server's (expected {expected})")]
    Origin {
        /// The header as received.
        got: String,
        /// What the server answers to.
        expected: String,
    },
    /// No such endpoint.
    #[error("no endpoint {method} {path}")]
    NotFound {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// An endpoint called with the wrong method.
    #[error("{method} is not allowed on {path}: use {allowed}")]
    Method {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
        /// The method the endpoint takes.
        allowed: &'static str,
    },
    /// A body larger than the limit.
    #[error("the request body is {size} bytes, over the limit of {limit}")]
    BodyTooLarge {
        /// The body's size, or the limit plus one when it was cut off while reading.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A body that did not arrive in time after the headers (a stalled or very slow client).
    #[error("the request body did not arrive within {seconds} seconds; send it again")]
    Timeout {
        /// The time allowed.
        seconds: u64,
    },
    /// A body that could not be read, or is not UTF-8.
    #[error("the request body cannot be read: {0}")]
    Body(String),
    /// Malformed JSON, an unknown or missing field, a value of the wrong type.
    #[error("invalid request body: {0}")]
    Json(String),
    /// No session header (API clients: the token of `POST /api/session` goes in the
    /// `X-Backprop-Session` header).
    #[error("this page has no playground session: reload the page to start one")]
    NoSession,
    /// A session the server does not have (never created, or dropped when idle).
    #[error("unknown or expired session: reload the page to start a new one")]
    UnknownSession,
    /// A session alone over the sessions' memory budget.
    #[error(
        "this network and its data need about {:.1} MB, over the {:.1} MB the playground keeps \
         for its sessions: build a smaller network and reload the page",
        *bytes as f64 / 1048576.0, *budget as f64 / 1048576.0
    )]
    OverMemory {
        /// The session's estimated bytes.
        bytes: u64,
        /// The sessions' budget, in bytes.
        budget: u64,
    },
    /// A network over the size limit.
    #[error("the network has {weights} weights, over the playground's limit of {limit}")]
    NetworkTooLarge {
        /// Its weights (bias weights included).
        weights: u64,
        /// The limit.
        limit: u64,
    },
    /// A value of the request out of its domain.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The field or thing.
        what: String,
        /// Why.
        reason: String,
    },
    /// A second training request while one runs for the same session.
    #[error("a training job is already running for this session: wait for it to finish")]
    Busy,
    /// What the engine refused (a shape, an option, a CSV cell, divergence, ...).
    #[error("{0}")]
    Engine(#[from] crate::Error),
    /// A bug: the handler panicked (the server keeps serving).
    #[error("internal error while handling the request; the server keeps serving")]
    Internal,
}

impl ApiError {
    /// The HTTP status of the refusal: 400 for a bad request, 401 for a missing or unknown
    /// session, 403 for a foreign Host or Origin, 404, 405, 408 for a body too slow, 409 when
    /// busy, 413 for a body too
    /// large, 422 for training that diverged, 503 for a session over the memory budget, 500 for a bug.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NoHost | ApiError::RepeatedHost { .. } => 400,
            ApiError::Json(_) | ApiError::Body(_) => 400,
            ApiError::Invalid { .. } | ApiError::NetworkTooLarge { .. } => 400,
            ApiError::Engine(crate::Error::Diverged { .. }) => 422,
            ApiError::Engine(_) => 400,
            ApiError::NoSession | ApiError::UnknownSession => 401,
            ApiError::Host { .. } | ApiError::Origin { .. } => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::Method { .. } => 405,
            ApiError::Timeout { .. } => 408,
            ApiError::Busy => 409,
            ApiError::BodyTooLarge { .. } => 413,
            ApiError::Internal => 500,
            ApiError::OverMemory { .. } => 503,
        }
    }

    pub(crate) fn invalid(what: &str, reason: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
