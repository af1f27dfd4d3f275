//! The model file: a trained layered network ([`Mlp`]) as versioned JSON, saved atomically,
//! and with it ([`Model`], version 2) what it takes to use the network on new data: its input
//! columns by name, the scaling fitted on its training data, its targets or classes, and what
//! its outputs are ([`Schema`]); prediction on named columns (`model.rs`).
//!
//! This module owns the format and its validation. It builds networks only through
//! [`MlpSpec::build`] and [`Mlp::set_weights`]; it does not touch graphs directly.
//!
//! # Format, version 2
//! ```json
//! {
//!   "format": "backprop-model",
//!   "version": 2,
//!   "sizes": [2, 2, 3],
//!   "activations": ["sigmoid", "identity"],
//!   "bias": 1.0,
//!   "loss": "cross_entropy",
//!   "inputs": ["petal_length", "petal_width"],
//!   "scaling": {"kind": "standard", "center": [3.76, 1.2], "scale": [1.76, 0.76]},
//!   "targets": {"kind": "classes", "column": "species",
//!               "classes": ["setosa", "versicolor", "virginica"]},
//!   "outputs": "softmax",
//!   "W": [[[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.1, 0.2], [0.3, 0.4]]],
//!   "b": [[0.1, -0.2], [0.3, 0.0, 0.1]]
//! }
//! ```
//! - `inputs`: the input columns by name, in the order of the input layer (found by name in
//!   the data, in any order); none empty, no two alike.
//! - `scaling`: what the network's inputs went through: `x' = (x - center[i]) / scale[i]`,
//!   fitted on the training split; `kind` is `none` (every center 0, scale 1), `minmax`,
//!   `standard` or `divide` (center 0, one divisor), one `center` and one `scale` per input, a
//!   scale never 0.
//! - `targets`: `{"kind": "columns", "columns": [...]}` (regression: one output per column) or
//!   `{"kind": "classes", "column": ..., "classes": [...]}` (one output per class, in order; at
//!   least 2 classes, no two alike).
//! - `outputs`: `raw` (the outputs are the answer) or `softmax` (class scores: softmax gives
//!   the probabilities; classes only).
//! - The other fields are those of version 1.
//!
//! # Format, version 1
//! The same without `inputs`, `scaling`, `targets` and `outputs` (and refused with them): the
//! network alone, its inputs by position and unscaled. Still read, and written for a network
//! saved on its own ([`save`]).
//! ```json
//! {
//!   "format": "backprop-model",
//!   "version": 1,
//!   "sizes": [2, 2, 1],
//!   "activations": ["sigmoid", "identity"],
//!   "bias": 1.0,
//!   "loss": "half_squared_error",
//!   "W": [[[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5]]],
//!   "b": [[0.1, -0.2], [0.3]]
//! }
//! ```
//! - `sizes`: nodes per layer, input layer first; at least 2 layers, none of width 0, and at
//!   most [`MAX_WEIGHTS`] weights in all.
//! - `activations`: one per layer after the input, as [`Activation`]'s `Display`
//!   (`identity`, `sigmoid`, `tanh`, `relu`, `leaky_relu:0.01`).
//! - `bias`: the bias node's constant value, or `null` for a network without bias.
//! - `loss`: [`Loss::name`] (`half_squared_error`, `cross_entropy`).
//! - `W[l][j][i]`: the weight from node `i` of layer `l` to node `j` of layer `l + 1`
//!   (out-major); `b[l][j]`: the bias weight into node `j` of layer `l + 1` (every `b[l]` empty,
//!   or `b` absent, when `bias` is `null`).
//! - Numbers are written so that reading them back gives the same `f64` bit for bit. JSON has
//!   no NaN or infinity: such weights are refused when saving, and a `null` weight when loading.
//! - Unknown fields are refused. A file whose `version` is newer than [`VERSION`] is refused
//!   with a message saying so, before anything else in it is read.
//!
//! Not stored: the initialisation and seed (a loaded network's [`Mlp::spec`] has
//! `Init::Constant(0.0)` and seed 0; its weights are the file's).

use std::path::Path;

use crate::error::{Error, Result};
use crate::files::read_to_string_limited;
use crate::nn::{Activation, Bias, Init, Loss, Mlp, MlpSpec};

mod fields;
mod header;
mod model;
mod stream;

pub(crate) use header::{check_header, invalid, present};
pub use model::{Assessment, Model, ModelData, Outputs, Prediction, Predicts, Schema};
pub use stream::{ModelStream, Tally};

use fields::{ModelIn, ModelOut, ScalingOut, SchemaIn, TargetsOut};

/// The value of the `format` field.
pub const FORMAT: &str = "backprop-model";
/// The newest format version this program reads, and the one it writes for a [`Model`] with a
/// [`Schema`] (a network alone is written as version 1).
pub const VERSION: u64 = 2;
/// The most weights (bias weights included) a model file may describe, checked from `sizes`
/// before any network is built (a network of scalar nodes needs about 100 bytes per weight).
pub const MAX_WEIGHTS: u64 = 1 << 22;
/// The largest model file [`load`] reads, in bytes.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// The network as a model file's JSON text (pretty-printed, ending with a newline).
///
/// # Errors
/// [`Error::NonFiniteConstant`] naming the first weight that is not finite (JSON cannot hold it).
///
/// # Examples
/// ```
/// let net = backprop::tutorial::worked_example()?;
/// let json = backprop::model_file::to_json_string(&net)?;
/// assert!(json.contains("\"format\": \"backprop-model\""));
/// assert_eq!(backprop::model_file::from_json_str(&json)?.params(), net.params());
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn to_json_string(net: &Mlp) -> Result<String> {
    json_of(net, None)
}

/// The JSON text of a network and its schema: version 2 with a schema, version 1 without.
fn json_of(net: &Mlp, schema: Option<&Schema>) -> Result<String> {
    let (w, b) = (net.weights(), net.biases());
    for (l, layer) in w.iter().enumerate() {
        for (j, row) in layer.iter().enumerate() {
            if let Some(i) = row.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFiniteConstant {
                    what: format!("weight W[{l}][{j}][{i}]"),
                    value: row[i],
                });
            }
        }
    }
    for (l, layer) in b.iter().enumerate() {
        if let Some(j) = layer.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteConstant {
                what: format!("bias weight b[{l}][{j}]"),
                value: layer[j],
            });
        }
    }
    let spec = net.spec();
    let model = ModelOut {
        format: FORMAT,
        version: if schema.is_some() { 2 } else { 1 },
        sizes: &spec.sizes,
        activations: spec.activations.iter().map(|a| a.to_string()).collect(),
        bias: match spec.bias {
            Bias::None => None,
            Bias::Node(v) => Some(v),
        },
        loss: spec.loss.name(),
        inputs: schema.map(Schema::inputs),
        scaling: schema.map(|s| ScalingOut {
            kind: s.scaler().kind().name(),
            center: s.scaler().center(),
            scale: s.scaler().scale(),
        }),
        targets: schema.map(|s| match s.predicts() {
            Predicts::Columns(columns) => TargetsOut::Columns { columns },
            Predicts::Classes { column, labels } => TargetsOut::Classes {
                column,
                classes: labels,
            },
        }),
        outputs: schema.map(|s| s.outputs().name()),
        w,
        b,
    };
    let mut json = serde_json::to_string_pretty(&model)
        .expect("internal error: a model of finite numbers serialises");
    json.push('\n');
    Ok(json)
}

/// Reads the network of a model file's JSON text, of either version (a version 2 file's schema
/// is checked, then left out: [`Model::from_json_str`] keeps it). A new network is returned;
/// nothing else changes, whatever the outcome.
///
/// # Errors
/// [`Error::InvalidFile`] for text that is not JSON, a wrong `format`, a version of 0, a
/// missing, unknown or mistyped field, the wrong number of activations, an unknown activation or
/// loss; [`Error::UnsupportedVersion`] for a version newer than [`VERSION`];
/// [`Error::TooLarge`] for more than [`MAX_WEIGHTS`] weights; [`Error::InvalidNetwork`] for
/// fewer than 2 layers or a layer of width 0; [`Error::Shape`] naming the first list of `W` or
/// `b` of the wrong length; [`Error::NonFiniteConstant`] naming the first `null` weight.
///
/// # Complexity
/// O(file size) to parse; the network is built only once its size and shapes are checked.
pub fn from_json_str(text: &str) -> Result<Mlp> {
    model_from_json_str(text).map(Model::into_net)
}

fn model_from_json_str(text: &str) -> Result<Model> {
    check_header(text, "model", FORMAT, VERSION)?;
    let model: ModelIn = serde_json::from_str(text).map_err(|e| invalid("model", e.to_string()))?;
    let bias = match model.bias {
        None => {
            return Err(invalid(
                "model",
                "no \"bias\" field (a number, or null for none)".into(),
            ));
        }
        Some(None) => Bias::None,
        Some(Some(v)) => Bias::Node(v),
    };
    check_size(&model.sizes, bias)?;
    let sizes: Vec<usize> = model.sizes.iter().map(|&n| n as usize).collect();
    let layers = sizes.len() - 1;
    if model.activations.len() != layers {
        return Err(invalid(
            "model",
            format!(
                "expected {layers} activations (one per layer after the input), got {}",
                model.activations.len()
            ),
        ));
    }
    let reason = |e: Error| match e {
        Error::InvalidOption { reason, .. } => reason,
        other => other.to_string(),
    };
    let activations = model
        .activations
        .iter()
        .enumerate()
        .map(|(l, a)| {
            Activation::parse(a)
                .map_err(|e| invalid("model", format!("activations[{l}]: {}", reason(e))))
        })
        .collect::<Result<Vec<_>>>()?;
    let loss =
        Loss::parse(&model.loss).map_err(|e| invalid("model", format!("loss: {}", reason(e))))?;
    let b = match model.b {
        Some(b) => b,
        None if bias == Bias::None => vec![Vec::new(); layers],
        None => return Err(invalid("model", "no \"b\" field (the bias weights)".into())),
    };
    let w = finite_weights(&sizes, bias, model.w, b)?;
    let mut net = MlpSpec::new(&sizes, Activation::Identity, Activation::Identity)
        .with_activations(&activations)
        .with_bias(bias)
        .with_loss(loss)
        .with_init(Init::Constant(0.0))
        .build()?;
    net.set_weights(&w.0, &w.1)?;
    let parts = SchemaIn {
        inputs: model.inputs,
        scaling: model.scaling,
        targets: model.targets,
        outputs: model.outputs,
    };
    if model.version == 1 {
        if let Some(field) = parts.present().first() {
            return Err(invalid(
                "model",
                format!("{field:?} is a field of version 2, not of version 1"),
            ));
        }
        return Ok(Model::bare(net));
    }
    Model::new(net, parts.schema()?)
}

impl Model {
    /// The model as a model file's JSON text (pretty-printed, ending with a newline): version
    /// 2 with its schema, version 1 for a network alone.
    ///
    /// # Errors
    /// [`Error::NonFiniteConstant`] naming the first weight that is not finite.
    pub fn to_json_string(&self) -> Result<String> {
        json_of(self.net(), self.schema())
    }

    /// Reads a model from a model file's JSON text, of version 1 (no schema) or 2.
    ///
    /// # Errors
    /// Those of [`from_json_str`]; for version 2, [`Error::InvalidFile`] naming the field at
    /// fault: `inputs`, `scaling`, `targets` or `outputs` missing, a scaler not of one number
    /// per input, a center or scale that is `null`, a scale of 0, a kind the numbers do not fit,
    /// fewer than 2 classes or a repeated one, an input or target name empty or repeated;
    /// [`Error::Shape`] for a network whose input or output layer does not fit the schema. A
    /// version 1 file with a field of version 2 is refused.
    ///
    /// # Examples
    /// ```
    /// use backprop::model_file::Model;
    /// let net = backprop::tutorial::worked_example()?;
    /// let v1 = backprop::model_file::to_json_string(&net)?;
    /// let model = Model::from_json_str(&v1)?;
    /// assert_eq!((model.version(), model.schema()), (1, None));
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn from_json_str(text: &str) -> Result<Model> {
        model_from_json_str(text)
    }

    /// Reads a model file (at most [`MAX_FILE_BYTES`]).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::TooLarge`], and those of [`Model::from_json_str`].
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let text = read_to_string_limited(path.as_ref(), MAX_FILE_BYTES)?;
        Model::from_json_str(&text)
    }

    /// Saves the model as a model file, atomically (as [`save`]).
    ///
    /// # Errors
    /// [`Error::NonFiniteConstant`] for a weight JSON cannot hold; [`Error::Io`] naming the file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let json = self.to_json_string()?;
        crate::files::write_atomically(path, json.as_bytes())
    }
}

/// Refuses absurd sizes from the numbers alone, before anything is allocated for them.
fn check_size(sizes: &[u64], bias: Bias) -> Result<()> {
    if sizes.len() < 2 {
        return Err(Error::InvalidNetwork(format!(
            "a network needs at least 2 layers (input and output), got {}",
            sizes.len()
        )));
    }
    if let Some(l) = sizes.iter().position(|&n| n == 0) {
        return Err(Error::InvalidNetwork(format!("layer {l} has width 0")));
    }
    let with_bias = u64::from(bias != Bias::None);
    let weights = sizes.windows(2).fold(0u64, |total, pair| {
        let layer = pair[0].saturating_add(with_bias).saturating_mul(pair[1]);
        total.saturating_add(layer)
    });
    if weights > MAX_WEIGHTS {
        return Err(Error::TooLarge {
            what: "the network".into(),
            size: weights,
            unit: "weights",
            limit: MAX_WEIGHTS,
        });
    }
    Ok(())
}

type Weights = (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>);

/// Checks the shapes of `W` and `b` against `sizes` and that no weight is `null`.
fn finite_weights(
    sizes: &[usize],
    bias: Bias,
    w: Vec<Vec<Vec<Option<f64>>>>,
    b: Vec<Vec<Option<f64>>>,
) -> Result<Weights> {
    let shape = crate::error::expect_len;
    let null = |what: String| Error::NonFiniteConstant {
        what: format!("{what} (null in the file)"),
        value: f64::NAN,
    };
    let layers = sizes.len() - 1;
    shape("weight layers W".into(), layers, w.len())?;
    shape("bias layers b".into(), layers, b.len())?;
    let mut weights = Vec::with_capacity(layers);
    for (l, layer) in w.into_iter().enumerate() {
        shape(format!("rows of W[{l}]"), sizes[l + 1], layer.len())?;
        let mut rows = Vec::with_capacity(layer.len());
        for (j, row) in layer.into_iter().enumerate() {
            shape(format!("columns of W[{l}][{j}]"), sizes[l], row.len())?;
            let row = row
                .into_iter()
                .enumerate()
                .map(|(i, v)| v.ok_or_else(|| null(format!("weight W[{l}][{j}][{i}]"))))
                .collect::<Result<Vec<f64>>>()?;
            rows.push(row);
        }
        weights.push(rows);
    }
    let mut biases = Vec::with_capacity(layers);
    for (l, layer) in b.into_iter().enumerate() {
        let expected = if bias == Bias::None { 0 } else { sizes[l + 1] };
        shape(format!("b[{l}]"), expected, layer.len())?;
        let layer = layer
            .into_iter()
            .enumerate()
            .map(|(j, v)| v.ok_or_else(|| null(format!("bias weight b[{l}][{j}]"))))
            .collect::<Result<Vec<f64>>>()?;
        biases.push(layer);
    }
    Ok((weights, biases))
}

/// Reads a model file (at most [`MAX_FILE_BYTES`]).
///
/// # Errors
/// [`Error::Io`], [`Error::TooLarge`], and those of [`from_json_str`].
pub fn load(path: impl AsRef<Path>) -> Result<Mlp> {
    let text = read_to_string_limited(path.as_ref(), MAX_FILE_BYTES)?;
    from_json_str(&text)
}

/// Saves the network as a model file, atomically: the JSON is written to a temporary file in
/// the same directory, flushed to disk, then renamed over `path` (and the directory flushed
/// where the platform allows). A crash leaves either the old file or the new one, never a part;
/// on an error the temporary file is removed.
///
/// # Errors
/// [`Error::NonFiniteConstant`] for a weight JSON cannot hold; [`Error::Io`] naming the file.
///
/// # Examples
/// ```
/// let net = backprop::tutorial::worked_example()?;
/// let path = std::env::temp_dir().join(format!("backprop-doc-{}.json", std::process::id()));
/// backprop::model_file::save(&net, &path)?;
/// let back = backprop::model_file::load(&path)?;
/// assert_eq!(back.predict(&[1.0, 1.0])?, net.predict(&[1.0, 1.0])?);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn save(net: &Mlp, path: impl AsRef<Path>) -> Result<()> {
    save_with_hook(net, path.as_ref(), |_| Ok(()))
}

/// [`save`], calling `before_rename` between writing the temporary file and renaming it.
pub(crate) fn save_with_hook(
    net: &Mlp,
    path: &Path,
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let json = to_json_string(net)?;
    crate::files::write_atomically_with_hook(path, json.as_bytes(), before_rename)
}
