//! The endpoints: which method and path name which, and what each does with a session, on an
//! engine thread (the transport has already checked the Host, the Origin and the body's size).

use serde_json::json;

use super::error::ApiError;
use super::session::Slot;
use super::transport::Reply;
use super::{State, api};

/// An endpoint of the playground.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// `GET /` (or `/index.html`): the page.
    Page,
    /// `POST /api/session`.
    Session,
    /// `GET /api/state`.
    State,
    /// `GET /api/model`.
    Model,
    /// `POST /api/build`.
    Build,
    /// `POST /api/reset`.
    Reset,
    /// `POST /api/walk`.
    Walk,
    /// `POST /api/step`.
    Step,
    /// `POST /api/train`.
    Train,
    /// `POST /api/check`.
    Check,
}

impl Endpoint {
    /// The endpoint of a method and path.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for an unknown path; [`ApiError::Method`] for a known path asked
    /// with the wrong method.
    pub(super) fn of(method: &str, path: &str) -> Result<Endpoint, ApiError> {
        let method = method.to_ascii_uppercase();
        let (endpoint, allowed) = match path {
            "/" | "/index.html" => (Endpoint::Page, "GET"),
            "/api/state" => (Endpoint::State, "GET"),
            "/api/model" => (Endpoint::Model, "GET"),
            "/api/session" => (Endpoint::Session, "POST"),
            "/api/build" => (Endpoint::Build, "POST"),
            "/api/reset" => (Endpoint::Reset, "POST"),
            "/api/walk" => (Endpoint::Walk, "POST"),
            "/api/step" => (Endpoint::Step, "POST"),
            "/api/train" => (Endpoint::Train, "POST"),
            "/api/check" => (Endpoint::Check, "POST"),
            _ => {
                return Err(ApiError::NotFound {
                    method,
                    path: path.into(),
                });
            }
        };
        if method != allowed {
            return Err(ApiError::Method {
                method,
                path: path.into(),
                allowed,
            });
        }
        Ok(endpoint)
    }

    /// Whether the endpoint reads a JSON body (every POST does).
    pub(super) fn takes_body(self) -> bool {
        !matches!(self, Endpoint::Page | Endpoint::State | Endpoint::Model)
    }
}

/// Does what `endpoint` asks, with the session of `token` and the request's `body`.
pub(super) fn call(
    state: &State,
    endpoint: Endpoint,
    token: Option<&str>,
    body: &str,
) -> Result<Reply, ApiError> {
    if endpoint == Endpoint::Session {
        api::parse::<api::Empty>(body)?;
        let session = api::initial_session(state.model.as_deref())?;
        let token = state.store.create(session)?;
        return Ok(Reply::json(
            &json!({ "session": token, "limits": state.limits }),
        ));
    }
    let token = token.ok_or(ApiError::NoSession)?;
    let slot = state.store.get(token)?;
    let value = answer(state, endpoint, &slot, body)?;
    // a build, a walk or a training run may have changed what the session holds
    if matches!(
        endpoint,
        Endpoint::Build | Endpoint::Walk | Endpoint::Step | Endpoint::Train
    ) {
        let bytes = slot.lock().estimated_bytes();
        state.store.account(token, bytes)?;
    }
    Ok(value)
}

fn answer(state: &State, endpoint: Endpoint, slot: &Slot, body: &str) -> Result<Reply, ApiError> {
    let value = match endpoint {
        Endpoint::State => api::state(&slot.lock()),
        Endpoint::Model => {
            let text = api::model(&slot.lock())?;
            return Ok(Reply::ok("application/json", text.into_bytes()).attachment("model.json"));
        }
        Endpoint::Build => {
            let request = api::parse(body)?;
            api::build(&mut slot.lock(), request, &state.limits)?
        }
        Endpoint::Reset => {
            api::parse::<api::Empty>(body)?;
            api::reset(&mut slot.lock())?
        }
        Endpoint::Walk => api::walk_outline(&mut slot.lock(), api::parse(body)?)?,
        Endpoint::Step => api::step(&mut slot.lock(), api::parse(body)?)?,
        Endpoint::Check => super::check::check(&slot.lock(), api::parse(body)?)?,
        Endpoint::Train => {
            let request = api::parse(body)?;
            let _job = slot.start_training().ok_or(ApiError::Busy)?;
            api::train_epochs(&mut slot.lock(), request, &state.limits)?
        }
        Endpoint::Page | Endpoint::Session => {
            unreachable!("internal error: answered before the session is looked up")
        }
    };
    Ok(Reply::json(&value))
}
