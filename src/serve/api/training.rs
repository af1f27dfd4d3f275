//! `POST /api/train`: training a session in slices of engine time, and the time its pictures
//! and error curves will take, measured before they are drawn.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::Limits;
use super::super::error::ApiError;
use super::super::plane::Plane;
use super::super::session::Session;
use super::plane_of;
use super::requests::{BatchRequest, OptimiserRequest, ReductionRequest, TrainRequest, positive};
use crate::data::Dataset;
use crate::nn::Reduction;
use crate::train::{BatchMode, FULL_BATCH_PIECE, Optimiser, RunOptions, TrainConfig, Trainer};

/// The most error values kept for the curve (later epochs are trained but not recorded).
const MAX_CURVE: usize = 200_000;

/// `POST /api/train`: training in a slice of engine time. It goes on from where the session's
/// last request stopped (its optimiser's memory and its place in the epoch kept, while the
/// settings and weights are unchanged) and stops after `epochs` more epochs, or when the
/// request's work or time budget ([`Limits::train_work_per_request`],
/// [`Limits::engine_millis`], pictures and error curves included) runs out, even within an
/// epoch; it always makes one update. `errors` holds the epochs completed in this request,
/// `error` the last completed epoch's error, `updates` the weight updates made,
/// `epoch_progress` the fraction of the current epoch done; `mean_error` and `test_error` are
/// `null` when computing them would not fit the budget.
pub(crate) fn train_epochs(
    session: &mut Session,
    request: TrainRequest,
    limits: &Limits,
) -> Result<Value, ApiError> {
    let start = Instant::now();
    if request.epochs == 0 || request.epochs > limits.max_epochs_per_request {
        return Err(ApiError::invalid(
            "epochs",
            format!(
                "must be from 1 to {}, got {}",
                limits.max_epochs_per_request, request.epochs
            ),
        ));
    }
    let learning_rate = positive("learning_rate", request.learning_rate)?;
    let optimiser = match request.optimiser {
        OptimiserRequest::Gd => Optimiser::GradientDescent { learning_rate },
        OptimiserRequest::Momentum => Optimiser::Momentum {
            learning_rate,
            momentum: 0.9,
        },
        OptimiserRequest::Adam => Optimiser::adam(learning_rate),
    };
    let batch = match request.batch {
        BatchRequest::Full => BatchMode::Full,
        BatchRequest::Stochastic => BatchMode::Stochastic,
        BatchRequest::Mini(n) => BatchMode::MiniBatch(n),
    };
    let reduction = match request.reduction {
        ReductionRequest::Sum => Reduction::Sum,
        ReductionRequest::Mean => Reduction::Mean,
    };
    if let Some(n) = request.surface
        && !(2..=limits.max_surface).contains(&n)
    {
        return Err(ApiError::invalid(
            "surface",
            format!(
                "grid size must be from 2 to {}, got {n}",
                limits.max_surface
            ),
        ));
    }
    let config = TrainConfig::new(optimiser)
        .with_batch(batch)
        .with_reduction(reduction)
        .with_max_epochs(request.epochs)
        .with_seed(session.epochs as u64);
    let options = RunOptions::default().with_l2(request.l2);
    let budget = Duration::from_millis(limits.engine_millis);
    // the time the pictures and the error curves will take, reserved before training
    let plane = plane_of(session).map(std::borrow::Cow::into_owned);
    let heatmaps = request.heatmaps.map(|h| h.clamp(2, limits.max_surface));
    let pictures = match (request.surface, &plane) {
        (Some(n), Some(_)) => Some(picture_sides(session, n, heatmaps, budget.mul_f64(0.4))?),
        _ => None,
    };
    let curves = curve_time(session, plane.as_ref(), budget.mul_f64(0.25))?;
    let reserved = pictures.map_or(Duration::ZERO, |p| p.2) + curves.unwrap_or(Duration::ZERO);
    let training_deadline = start + budget.saturating_sub(reserved);
    let mut trainer = trainer_for(session, config, options)?;
    // the work of one association, about (weights + nodes); the next update's associations
    // must fit the request's work budget
    let per_association = (session.net.params().len() + session.net.graph().len()) as u64;
    let next = match batch {
        BatchMode::Full => FULL_BATCH_PIECE,
        BatchMode::MiniBatch(n) => n,
        BatchMode::Stochastic => 1,
    }
    .min(session.data.len()) as u64;
    let (inputs, targets) = (session.data.inputs(), session.data.targets());
    let outcome = trainer.run(&mut session.net, inputs, targets, request.epochs, |done| {
        (done as u64 + next).saturating_mul(per_association) <= limits.train_work_per_request
            && Instant::now() < training_deadline
    });
    session.version += 1;
    // a run that diverged starts again from a new trainer
    let slice = outcome?;
    let (done, total) = trainer.progress();
    session.trainer = Some((trainer, session.version));
    let elapsed = start.elapsed();
    session.epochs += slice.errors.len();
    let room = MAX_CURVE.saturating_sub(session.errors.len());
    session
        .errors
        .extend(slice.errors.iter().take(room).copied());
    let surface = match (pictures, &plane) {
        (Some((n, heatmaps, _)), Some(plane)) => Some(plane.pictures(&session.net, n, heatmaps)?),
        _ => None,
    };
    // the training and test errors per association at the weights reached, for the curves
    let (mean_error, test_error) = match (&plane, curves) {
        (Some(plane), Some(_)) => (
            Some(session.net.gradient(inputs, targets, Reduction::Mean)?.0),
            plane.test_error(&session.net)?,
        ),
        _ => (None, None),
    };
    Ok(json!({
        "mean_error": mean_error,
        "test_error": test_error,
        "epochs_run": slice.errors.len(),
        "epochs": session.epochs,
        "errors": slice.errors,
        "error": slice.errors.last().or(session.errors.last()),
        "updates": slice.updates,
        "epoch_progress": done as f64 / total as f64,
        "seconds": elapsed.as_secs_f64(),
        "surface": surface,
    }))
}

/// The session's trainer for `config` and `options`, taken out of the session: the one it has
/// if it was made with the same settings and nothing changed the weights since, else a new one.
pub(super) fn trainer_for(
    session: &mut Session,
    config: TrainConfig,
    options: RunOptions,
) -> Result<Trainer, ApiError> {
    let settings = |c: &TrainConfig, o: &RunOptions| (c.optimiser, c.batch, c.reduction, o.l2);
    match session.trainer.take() {
        Some((trainer, version))
            if version == session.version
                && settings(trainer.config(), trainer.options()) == settings(&config, &options) =>
        {
            Ok(trainer)
        }
        _ => {
            let (inputs, targets) = (session.data.inputs(), session.data.targets());
            Ok(Trainer::new(
                &session.net,
                inputs,
                targets,
                config,
                options,
            )?)
        }
    }
}

/// The time of one forward pass of the session's network, measured on its first association.
pub(super) fn forward_time(session: &Session) -> Result<f64, ApiError> {
    let (x, _) = session.data.association(0)?;
    let probe = Instant::now();
    session.net.predict(x)?;
    Ok(probe.elapsed().as_secs_f64().max(1e-7))
}

/// The sides of the decision surface and the heatmaps for a request of `n` and `heatmaps`, and
/// the time they are expected to take (one forward pass per grid point): as asked if they fit
/// `share`, else both scaled down to fit (at least 2).
pub(super) fn picture_sides(
    session: &Session,
    n: usize,
    heatmaps: Option<usize>,
    share: Duration,
) -> Result<(usize, Option<usize>, Duration), ApiError> {
    let per_point = forward_time(session)?;
    let points = (n * n + heatmaps.map_or(0, |h| h * h)) as f64;
    let scale = (share.as_secs_f64() / (points * per_point)).sqrt().min(1.0);
    let side = |s: usize| ((s as f64 * scale) as usize).clamp(2, s.max(2));
    let (n, heatmaps) = (side(n), heatmaps.map(side));
    let points = n * n + heatmaps.map_or(0, |h| h * h);
    Ok((
        n,
        heatmaps,
        Duration::from_secs_f64(per_point * points as f64),
    ))
}

/// The time the error curves' points take (a forward and backward pass over the training and
/// test associations, counted as two forward passes each), if it fits `share`; `None` if it
/// does not, or if the data lies in no plane (no curves then).
pub(super) fn curve_time(
    session: &Session,
    plane: Option<&Plane>,
    share: Duration,
) -> Result<Option<Duration>, ApiError> {
    let Some(plane) = plane else {
        return Ok(None);
    };
    let associations = session.data.len() + plane.test.as_ref().map_or(0, Dataset::len);
    let time = Duration::from_secs_f64(2.0 * forward_time(session)? * associations as f64);
    Ok((time <= share).then_some(time))
}
