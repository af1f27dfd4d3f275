//! The JSON API: request bodies (unknown fields refused), their checks, and what each endpoint
//! does to a session. Every number is computed here, by the library; the page only shows them.

mod requests;
mod training;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use requests::{
    BuildRequest, DataRequest, InitRequest, MAX_PLANE_POINTS, NetworkRequest, Preset, StepRequest,
    finite, positive,
};
pub(crate) use requests::{Empty, parse};
use training::picture_sides;
pub(crate) use training::train_epochs;

use super::error::ApiError;
use super::plane::Plane;
use super::session::Session;
use super::walk::{Walk, walk};
use super::{Limits, presets};
use crate::data::{CsvOptions, Dataset};
use crate::nn::{Activation, Bias, Init, Mlp, MlpSpec};

/// The most points of a 2-D data set sent for the decision surface's scatter.
const MAX_POINTS: usize = 2_000;

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

/// `GET /api/model`: the network as a model file (the format of `backprop train --save`).
pub(crate) fn model(session: &Session) -> Result<String, ApiError> {
    Ok(crate::model_file::to_json_string(&session.net)?)
}
