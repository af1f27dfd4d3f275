//! The "check my numbers" panel's endpoint: a student's numbers for the association being
//! stepped (by their names in the walk, `delta_j[0]`, `dE/dw_jk[0->0]`, ...) diagnosed by the
//! library ([`crate::mistakes::diagnose`]): right, a classic mistake (or two), or the first
//! wrong number with its right formula.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::session::Session;
use crate::mistakes::{Answers, Problem, diagnose};

/// `POST /api/check`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckRequest {
    association: usize,
    learning_rate: f64,
    /// The numbers as typed, by name.
    answers: BTreeMap<String, String>,
}

/// The most weights of a network whose numbers the panel checks (each of the catalogue's
/// mistakes and pairs of them is a step of the whole network).
const CHECK_MAX_WEIGHTS: usize = 5_000;

/// Whether the panel is offered for `net`.
pub(crate) fn offered(net: &crate::nn::Mlp) -> bool {
    net.params().len() <= CHECK_MAX_WEIGHTS
}

/// The diagnosis of the numbers in `request`, for the session's network at its current weights.
///
/// # Errors
/// [`ApiError::Invalid`] for an association out of range, a learning rate that is not a
/// positive number, no number, a name that is not a number of this step, or a number that does
/// not parse.
pub(crate) fn check(session: &Session, request: CheckRequest) -> Result<Value, ApiError> {
    if !(request.learning_rate.is_finite() && request.learning_rate > 0.0) {
        return Err(ApiError::invalid(
            "learning_rate",
            format!("must be a positive number, got {}", request.learning_rate),
        ));
    }
    let t = request.association;
    if t >= session.data.len() {
        return Err(ApiError::invalid(
            "association",
            format!(
                "{t} is out of range: the data has {} associations",
                session.data.len()
            ),
        ));
    }
    if !offered(&session.net) {
        return Err(ApiError::invalid(
            "network",
            format!("numbers are checked for networks of at most {CHECK_MAX_WEIGHTS} weights"),
        ));
    }
    let (input, target) = session.data.association(t)?;
    let problem = Problem::one(&session.net, input, target, request.learning_rate)?;
    let layers = session.net.sizes().len();
    let known = problem.right().quantities();
    let mut answers = Answers::new();
    for (name, text) in &request.answers {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let quantity = known
            .iter()
            .find(|q| q.name(layers, 1) == *name)
            .ok_or_else(|| {
                ApiError::invalid(
                    "answers",
                    format!("{name} is not a number of this step (type y, delta, dE/dw, dE/db or an updated weight)"),
                )
            })?;
        answers = answers
            .with(*quantity, text)
            .map_err(|_| ApiError::invalid(name, format!("{text:?} is not a number")))?;
    }
    if answers.is_empty() {
        return Err(ApiError::invalid(
            "answers",
            "type at least one of your numbers",
        ));
    }
    let found = diagnose(&problem, &answers)?;
    let ids = |ms: &[crate::mistakes::Mistake]| ms.iter().map(|m| m.id()).collect::<Vec<_>>();
    Ok(json!({
        "verdict": found.verdict.name(),
        "mistakes": found.mistakes.iter().map(|m| json!({
            "id": m.id(), "name": m.name(), "wrong": m.wrong(), "right": m.right(),
        })).collect::<Vec<_>>(),
        "indistinguishable": found.indistinguishable.iter().map(|ms| ids(ms)).collect::<Vec<_>>(),
        "why": found.why,
        "first_wrong": found.first_wrong.as_ref().map(|w| json!({
            "name": w.name, "right": w.right, "formula": w.formula,
        })),
        "checked": found.checked,
    }))
}
