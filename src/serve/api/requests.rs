//! The API's request bodies, as the page sends them (unknown fields refused), and the checks
//! of their numbers. What each endpoint does with them is the parent module's.

use serde::Deserialize;

use super::super::error::ApiError;
use super::super::plane::Feature;
use super::super::presets::PlaneSet;

/// `POST /api/build`: a network and its data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuildRequest {
    pub(super) network: NetworkRequest,
    pub(super) data: DataRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum NetworkRequest {
    /// A network from layer widths.
    Layers(LayersRequest),
    /// A saved model file's JSON text.
    Model(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LayersRequest {
    pub(super) sizes: Vec<usize>,
    pub(super) activations: Vec<String>,
    /// The bias node's value, `null` for none.
    pub(super) bias: Option<f64>,
    pub(super) init: InitRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum InitRequest {
    /// Every weight this value.
    Constant(f64),
    /// Uniform in `[low, high)` from `seed`.
    Random { seed: u64, low: f64, high: f64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum DataRequest {
    Preset(Preset),
    Csv {
        text: String,
        targets: Vec<String>,
    },
    /// Points in the plane, read through features, some held out for testing.
    Plane(PlaneRequest),
}

/// The most points of a generated data set.
pub(super) const MAX_PLANE_POINTS: usize = 2_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlaneRequest {
    pub(super) set: PlaneSet,
    pub(super) count: usize,
    pub(super) noise: f64,
    pub(super) test_fraction: f64,
    pub(super) features: Vec<Feature>,
    pub(super) seed: u64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum Preset {
    Worked,
    Xor,
    Moons,
}

/// `POST /api/walk` and `POST /api/step`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepRequest {
    pub(super) association: usize,
    pub(super) learning_rate: f64,
    /// The step to return (`/api/step` only).
    #[serde(default)]
    pub(super) index: Option<usize>,
}

/// `POST /api/train`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrainRequest {
    pub(super) epochs: usize,
    pub(super) learning_rate: f64,
    pub(super) optimiser: OptimiserRequest,
    pub(super) batch: BatchRequest,
    #[serde(default)]
    pub(super) reduction: ReductionRequest,
    /// The decision surface's grid size (2-D inputs only), if wanted.
    #[serde(default)]
    pub(super) surface: Option<usize>,
    /// The grid size of every neuron's output over the plane (with `surface` only), if wanted.
    #[serde(default)]
    pub(super) heatmaps: Option<usize>,
    /// `alpha` of the L2 penalty `alpha * sum_p p^2` (0: none).
    #[serde(default)]
    pub(super) l2: f64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum OptimiserRequest {
    Gd,
    Momentum,
    Adam,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum BatchRequest {
    Full,
    Stochastic,
    Mini(usize),
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
pub(super) enum ReductionRequest {
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

pub(super) fn finite(what: &str, value: f64) -> Result<f64, ApiError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            what,
            format!("{value} is not a finite number"),
        ))
    }
}

pub(super) fn positive(what: &str, value: f64) -> Result<f64, ApiError> {
    if finite(what, value)? > 0.0 {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            what,
            format!("must be a positive number, got {value}"),
        ))
    }
}
