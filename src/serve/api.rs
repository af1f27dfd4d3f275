//! The JSON API: request bodies (unknown fields refused), their checks, and what each endpoint
//! does to a session. Every number is computed here, by the library; the page only shows them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::plane::{Feature, Plane};
use super::presets::PlaneSet;
use super::session::Session;
use super::walk::{Walk, walk};
use super::{Limits, presets};
use crate::data::{CsvOptions, Dataset};
use crate::nn::{Activation, Bias, Init, Mlp, MlpSpec, Reduction};
use crate::train::{BatchMode, FULL_BATCH_PIECE, Optimiser, RunOptions, TrainConfig, Trainer};

/// The most points of a 2-D data set sent for the decision surface's scatter.
const MAX_POINTS: usize = 2_000;
/// The most error values kept for the curve (later epochs are trained but not recorded).
const MAX_CURVE: usize = 200_000;

/// `POST /api/build`: a network and its data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuildRequest {
    network: NetworkRequest,
    data: DataRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum NetworkRequest {
    /// A network from layer widths.
    Layers(LayersRequest),
    /// A saved model file's JSON text.
    Model(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayersRequest {
    sizes: Vec<usize>,
    activations: Vec<String>,
    /// The bias node's value, `null` for none.
    bias: Option<f64>,
    init: InitRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum InitRequest {
    /// Every weight this value.
    Constant(f64),
    /// Uniform in `[low, high)` from `seed`.
    Random { seed: u64, low: f64, high: f64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum DataRequest {
    Preset(Preset),
    Csv {
        text: String,
        targets: Vec<String>,
    },
    /// Points in the plane, read through features, some held out for testing.
    Plane(PlaneRequest),
}

/// The most points of a generated data set.
const MAX_PLANE_POINTS: usize = 2_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaneRequest {
    set: PlaneSet,
    count: usize,
    noise: f64,
    test_fraction: f64,
    features: Vec<Feature>,
    seed: u64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Preset {
    Worked,
    Xor,
    Moons,
}

/// `POST /api/walk` and `POST /api/step`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepRequest {
    association: usize,
    learning_rate: f64,
    /// The step to return (`/api/step` only).
    #[serde(default)]
    index: Option<usize>,
}

/// `POST /api/train`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrainRequest {
    epochs: usize,
    learning_rate: f64,
    optimiser: OptimiserRequest,
    batch: BatchRequest,
    #[serde(default)]
    reduction: ReductionRequest,
    /// The decision surface's grid size (2-D inputs only), if wanted.
    #[serde(default)]
    surface: Option<usize>,
    /// The grid size of every neuron's output over the plane (with `surface` only), if wanted.
    #[serde(default)]
    heatmaps: Option<usize>,
    /// `alpha` of the L2 penalty `alpha * sum_p p^2` (0: none).
    #[serde(default)]
    l2: f64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum OptimiserRequest {
    Gd,
    Momentum,
    Adam,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum BatchRequest {
    Full,
    Stochastic,
    Mini(usize),
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
enum ReductionRequest {
    #[default]
    Sum,
    Mean,
}

/// An empty body (`{}`), for endpoints that take no options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

/// Parses a JSON body, naming what is wrong.
///
/// # Errors
/// [`ApiError::Json`] with serde's message (the unknown field, the missing one, the wrong type,
/// the line and column).
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::Json(e.to_string()))
}

fn finite(what: &str, value: f64) -> Result<f64, ApiError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            what,
            format!("{value} is not a finite number"),
        ))
    }
}

fn positive(what: &str, value: f64) -> Result<f64, ApiError> {
    if finite(what, value)? > 0.0 {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            what,
            format!("must be a positive number, got {value}"),
        ))
    }
}

/// The session a new page starts with: the `--model` network if any (with the worked example's
/// association if it fits, else one association of zeros), else the worked example.
pub(crate) fn initial_session(model: Option<&str>) -> Result<Session, ApiError> {
    let net = match model {
        Some(text) => crate::model_file::from_json_str(text)?,
        None => crate::tutorial::worked_example()?,
    };
    let sizes = net.sizes();
    let (n_in, n_out) = (sizes[0], sizes[net.layers()]);
    let data = if (n_in, n_out) == (2, 1) {
        presets::worked()
    } else {
        Dataset::new(vec![0.0; n_in], vec![0.0; n_out], n_in, n_out)?
    };
    Ok(new_session(net, data))
}

fn new_session(mut net: Mlp, data: Dataset) -> Session {
    // a walk names the first non-finite node instead of showing NaN
    net.set_anomaly_mode(true);
    Session {
        initial: net.params().to_vec(),
        net,
        data,
        epochs: 0,
        errors: Vec::new(),
        version: 0,
        walk: None,
        plane: None,
        trainer: None,
    }
}

fn count_weights(sizes: &[usize], bias: bool) -> u64 {
    sizes
        .windows(2)
        .map(|w| (w[0] as u64 + u64::from(bias)).saturating_mul(w[1] as u64))
        .fold(0u64, u64::saturating_add)
}

fn build_network(request: NetworkRequest, limits: &Limits) -> Result<Mlp, ApiError> {
    let net = match request {
        NetworkRequest::Model(text) => {
            crate::model_file::from_json_str(&text).map_err(|e| match e {
                // over the file format's own limit: name the one that applies here, the
                // playground's (smaller by default)
                crate::Error::TooLarge {
                    size,
                    unit: "weights",
                    limit,
                    ..
                } => ApiError::NetworkTooLarge {
                    weights: size,
                    limit: limits.max_weights.min(limit),
                },
                other => other.into(),
            })?
        }
        NetworkRequest::Layers(layers) => {
            if layers.sizes.len() < 2 || layers.sizes.len() > limits.max_layers + 1 {
                return Err(ApiError::invalid(
                    "sizes",
                    format!(
                        "a network has 2 to {} layers (input and output included), got {}",
                        limits.max_layers + 1,
                        layers.sizes.len()
                    ),
                ));
            }
            if let Some(l) = layers.sizes.iter().position(|&w| w == 0) {
                return Err(ApiError::invalid(
                    "sizes",
                    format!("layer {l} has width 0: every layer needs at least 1 node"),
                ));
            }
            if layers.activations.len() != layers.sizes.len() - 1 {
                return Err(ApiError::invalid(
                    "activations",
                    format!(
                        "one per layer after the input: expected {}, got {}",
                        layers.sizes.len() - 1,
                        layers.activations.len()
                    ),
                ));
            }
            let weights = count_weights(&layers.sizes, layers.bias.is_some());
            if weights > limits.max_weights {
                return Err(ApiError::NetworkTooLarge {
                    weights,
                    limit: limits.max_weights,
                });
            }
            let activations = layers
                .activations
                .iter()
                .map(|a| Activation::parse(a))
                .collect::<crate::Result<Vec<_>>>()?;
            let bias = match layers.bias {
                None => Bias::None,
                Some(v) => Bias::Node(finite("bias", v)?),
            };
            let (init, seed) = match layers.init {
                InitRequest::Constant(v) => (Init::Constant(finite("initial weight", v)?), 0),
                InitRequest::Random { seed, low, high } => (Init::Uniform { low, high }, seed),
            };
            MlpSpec::new(
                &layers.sizes,
                activations[0],
                *activations.last().expect("internal error: checked above"),
            )
            .with_activations(&activations)
            .with_bias(bias)
            .with_init(init)
            .with_seed(seed)
            .build()?
        }
    };
    let weights = net.params().len() as u64;
    if weights > limits.max_weights {
        return Err(ApiError::NetworkTooLarge {
            weights,
            limit: limits.max_weights,
        });
    }
    Ok(net)
}

fn build_data(request: DataRequest, limits: &Limits) -> Result<(Dataset, Option<Plane>), ApiError> {
    if let DataRequest::Plane(plane) = request {
        if !(1..=MAX_PLANE_POINTS).contains(&plane.count) {
            return Err(ApiError::invalid(
                "count",
                format!("from 1 to {MAX_PLANE_POINTS} points, got {}", plane.count),
            ));
        }
        let noise = finite("noise", plane.noise)?;
        if !(0.0..=1.0).contains(&noise) {
            return Err(ApiError::invalid(
                "noise",
                format!("from 0 to 1, got {noise}"),
            ));
        }
        let raw = plane.set.generate(plane.count, noise, plane.seed);
        let (plane, train) = Plane::new(&raw, plane.features, plane.test_fraction, plane.seed)?;
        return Ok((train, Some(plane)));
    }
    Ok((
        match request {
            DataRequest::Preset(Preset::Worked) => presets::worked(),
            DataRequest::Preset(Preset::Xor) => Dataset::xor(),
            DataRequest::Preset(Preset::Moons) => presets::two_moons(100, 0.1, 0),
            DataRequest::Csv { text, targets } => {
                if targets.is_empty() {
                    return Err(ApiError::invalid(
                        "csv targets",
                        "name at least one target column",
                    ));
                }
                let options = CsvOptions::columns(&targets)
                    .with_max_bytes(limits.max_body_bytes)
                    .with_max_rows(limits.max_associations);
                Dataset::from_csv_str(&text, &options)?
            }
            DataRequest::Plane(_) => unreachable!("internal error: handled above"),
        },
        None,
    ))
}

/// The plane of the session's data, if its points lie in one: generated points, or a data set
/// of 2 inputs and 1 target with at least 4 associations (fewer make no picture).
fn plane_of(session: &Session) -> Option<std::borrow::Cow<'_, Plane>> {
    match &session.plane {
        Some(plane) => Some(std::borrow::Cow::Borrowed(plane)),
        None if session.data.len() >= 4 => {
            Plane::of_data(&session.data).map(std::borrow::Cow::Owned)
        }
        None => None,
    }
}

/// The side of the decision surface and of the neuron heatmaps sent with a summary.
const SUMMARY_PICTURES: (usize, usize) = (40, 16);
/// The engine time a summary's pictures may take (smaller grids for large networks).
const SUMMARY_PICTURE_TIME: Duration = Duration::from_millis(40);

/// What the page needs to draw after a build or a reset.
fn summary(session: &Session) -> Value {
    let net = &session.net;
    let data = &session.data;
    let plane = plane_of(session);
    let points: Vec<[f64; 3]> = if let Some(plane) = &plane {
        plane.points.iter().take(MAX_POINTS).copied().collect()
    } else if data.n_inputs() == 2 && data.len() <= MAX_POINTS {
        (0..data.len())
            .filter_map(|t| data.association(t).ok())
            .map(|(x, y)| [x[0], x[1], y[0]])
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "sizes": net.sizes(),
        "activations": net.spec().activations.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "bias": match net.spec().bias { Bias::None => None, Bias::Node(v) => Some(v) },
        "loss": net.spec().loss.name(),
        "weights": net.params().len(),
        "graph_nodes": net.graph().len(),
        "associations": data.len(),
        "input_names": match &plane {
            Some(plane) if session.plane.is_some() => plane.names().into_iter().map(String::from).collect(),
            _ => data.input_names().to_vec(),
        },
        "check": super::check::offered(net),
        "test_points": plane.as_ref().map(|p| p.test_points.clone()).unwrap_or_default(),
        "pictures": plane.as_ref().and_then(|p| {
            let (n, heatmaps, _) = picture_sides(session, SUMMARY_PICTURES.0, Some(SUMMARY_PICTURES.1), SUMMARY_PICTURE_TIME).ok()?;
            p.pictures(net, n, heatmaps).ok()
        }),
        "target_names": data.target_names(),
        "points": points,
        "epochs": session.epochs,
        "errors": session.errors,
    })
}

/// `GET /api/state`.
pub(crate) fn state(session: &Session) -> Value {
    summary(session)
}

/// `POST /api/build`: a new network and data set for the session.
///
/// # Errors
/// Every refusal of a bad network, data set, or a data set that does not fit the network.
pub(crate) fn build(
    session: &mut Session,
    request: BuildRequest,
    limits: &Limits,
) -> Result<Value, ApiError> {
    let net = build_network(request.network, limits)?;
    let (data, plane) = build_data(request.data, limits)?;
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    if (data.n_inputs(), data.n_targets()) != (n_in, n_out) {
        return Err(ApiError::invalid(
            "network for this data",
            format!(
                "the data has {} inputs and {} targets per association, the network's input and \
                 output layers have {n_in} and {n_out} nodes",
                data.n_inputs(),
                data.n_targets()
            ),
        ));
    }
    let version = session.version + 1;
    *session = new_session(net, data);
    session.version = version;
    session.plane = plane;
    Ok(summary(session))
}

/// `POST /api/reset`: the weights the network was built with, no training history.
pub(crate) fn reset(session: &mut Session) -> Result<Value, ApiError> {
    let initial = session.initial.clone();
    session.net.set_params(&initial)?;
    session.epochs = 0;
    session.errors.clear();
    session.version += 1;
    Ok(summary(session))
}

fn walk_of(session: &mut Session, request: &StepRequest) -> Result<Arc<Walk>, ApiError> {
    let learning_rate = positive("learning_rate", request.learning_rate)?;
    let t = request.association;
    if t >= session.data.len() {
        return Err(ApiError::invalid(
            "association",
            format!(
                "{t} is out of range: the data has {} associations (0 to {})",
                session.data.len(),
                session.data.len() - 1
            ),
        ));
    }
    let key = (t, learning_rate.to_bits(), session.version);
    if let Some((cached, walk)) = &session.walk
        && *cached == key
    {
        return Ok(walk.clone());
    }
    let (input, target) = session.data.association(t)?;
    let walk = Arc::new(walk(&session.net, input, target, learning_rate)?);
    session.walk = Some((key, walk.clone()));
    Ok(walk)
}

/// `POST /api/walk`: the walk's outline (titles), the diagram's numbers and the graph.
pub(crate) fn walk_outline(session: &mut Session, request: StepRequest) -> Result<Value, ApiError> {
    let walk = walk_of(session, &request)?;
    let (input, target) = session.data.association(request.association)?;
    Ok(json!({
        "association": request.association,
        "input": input,
        "target": target,
        "count": walk.steps.len(),
        "titles": walk.steps.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(),
        "values": walk.values,
        "graph": walk.graph,
        "learning_rate": walk.learning_rate,
    }))
}

/// `POST /api/step`: one step of the walk.
pub(crate) fn step(session: &mut Session, request: StepRequest) -> Result<Value, ApiError> {
    let walk = walk_of(session, &request)?;
    let index = request
        .index
        .ok_or_else(|| ApiError::Json("missing field `index`".into()))?;
    let step = walk.steps.get(index).ok_or_else(|| {
        ApiError::invalid(
            "index",
            format!(
                "step {index} is out of range: the walk has {} steps (0 to {})",
                walk.steps.len(),
                walk.steps.len() - 1
            ),
        )
    })?;
    Ok(json!({ "index": index, "count": walk.steps.len(), "step": step }))
}

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
fn trainer_for(
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
fn forward_time(session: &Session) -> Result<f64, ApiError> {
    let (x, _) = session.data.association(0)?;
    let probe = Instant::now();
    session.net.predict(x)?;
    Ok(probe.elapsed().as_secs_f64().max(1e-7))
}

/// The sides of the decision surface and the heatmaps for a request of `n` and `heatmaps`, and
/// the time they are expected to take (one forward pass per grid point): as asked if they fit
/// `share`, else both scaled down to fit (at least 2).
fn picture_sides(
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
fn curve_time(
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

/// `GET /api/model`: the network as a model file (the format of `backprop train --save`).
pub(crate) fn model(session: &Session) -> Result<String, ApiError> {
    Ok(crate::model_file::to_json_string(&session.net)?)
}
