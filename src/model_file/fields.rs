//! The model file's fields as they are written and read (serde's shapes, every field named as in
//! the file), and the version 2 fields read back into a [`Schema`], each number checked.

use serde::{Deserialize, Serialize};

use super::header::{invalid, present};
use super::model::{Outputs, Predicts, Schema};
use crate::data::{Scaler, ScalerKind};
use crate::error::{Error, Result};

/// A model file as it is written (version 1 leaves out the four fields of version 2).
#[derive(Serialize)]
pub(super) struct ModelOut<'a> {
    pub(super) format: &'static str,
    pub(super) version: u64,
    pub(super) sizes: &'a [usize],
    pub(super) activations: Vec<String>,
    pub(super) bias: Option<f64>,
    pub(super) loss: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) inputs: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) scaling: Option<ScalingOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) targets: Option<TargetsOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) outputs: Option<&'static str>,
    #[serde(rename = "W")]
    pub(super) w: Vec<Vec<Vec<f64>>>,
    pub(super) b: Vec<Vec<f64>>,
}

/// `scaling`, as written.
#[derive(Serialize)]
pub(super) struct ScalingOut<'a> {
    pub(super) kind: &'static str,
    pub(super) center: &'a [f64],
    pub(super) scale: &'a [f64],
}

/// `targets`, as written: `{"kind": "columns", ...}` or `{"kind": "classes", ...}`.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(super) enum TargetsOut<'a> {
    Columns {
        columns: &'a [String],
    },
    Classes {
        column: &'a str,
        classes: &'a [String],
    },
}

/// `scaling`, as read (nulls kept, to be named).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
pub(super) struct ScalingIn {
    pub(super) kind: String,
    pub(super) center: Vec<Option<f64>>,
    pub(super) scale: Vec<Option<f64>>,
}

/// `targets`, as read: which fields go with which kind is checked by [`SchemaIn::schema`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
pub(super) struct TargetsIn {
    pub(super) kind: String,
    #[serde(default)]
    pub(super) columns: Option<Vec<String>>,
    #[serde(default)]
    pub(super) column: Option<String>,
    #[serde(default)]
    pub(super) classes: Option<Vec<String>>,
}

/// A model file as it is read, either version; unknown fields refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
pub(super) struct ModelIn {
    #[allow(dead_code)] // checked by `check_header`
    pub(super) format: String,
    pub(super) version: u64,
    pub(super) sizes: Vec<u64>,
    pub(super) activations: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    pub(super) bias: Option<Option<f64>>,
    pub(super) loss: String,
    #[serde(default)]
    pub(super) inputs: Option<Vec<String>>,
    #[serde(default)]
    pub(super) scaling: Option<ScalingIn>,
    #[serde(default)]
    pub(super) targets: Option<TargetsIn>,
    #[serde(default)]
    pub(super) outputs: Option<String>,
    #[serde(rename = "W")]
    pub(super) w: Vec<Vec<Vec<Option<f64>>>>,
    #[serde(default)]
    pub(super) b: Option<Vec<Vec<Option<f64>>>>,
}

/// The fields of a version 2 file that describe the network's use.
pub(super) struct SchemaIn {
    pub(super) inputs: Option<Vec<String>>,
    pub(super) scaling: Option<ScalingIn>,
    pub(super) targets: Option<TargetsIn>,
    pub(super) outputs: Option<String>,
}

impl SchemaIn {
    pub(super) fn present(&self) -> Vec<&'static str> {
        [
            ("inputs", self.inputs.is_some()),
            ("scaling", self.scaling.is_some()),
            ("targets", self.targets.is_some()),
            ("outputs", self.outputs.is_some()),
        ]
        .into_iter()
        .filter(|&(_, p)| p)
        .map(|(name, _)| name)
        .collect()
    }

    pub(super) fn schema(self) -> Result<Schema> {
        let missing = |field: &str, what: &str| {
            invalid(
                "model",
                format!("no {field:?} field ({what}; version 2 needs it)"),
            )
        };
        let inputs = self
            .inputs
            .ok_or_else(|| missing("inputs", "the input column names"))?;
        let scaling = self
            .scaling
            .ok_or_else(|| missing("scaling", "the input scaling"))?;
        let targets = self
            .targets
            .ok_or_else(|| missing("targets", "the target columns or classes"))?;
        let outputs = self
            .outputs
            .ok_or_else(|| missing("outputs", "raw or softmax"))?;
        let scaler = scaler_of(scaling, &inputs)?;
        let predicts = match (
            targets.kind.as_str(),
            targets.columns,
            targets.column,
            targets.classes,
        ) {
            ("columns", Some(columns), None, None) => Predicts::Columns(columns),
            ("classes", None, Some(column), Some(labels)) => Predicts::Classes { column, labels },
            ("columns", ..) => {
                return Err(invalid(
                    "model",
                    "targets: kind \"columns\" has a \"columns\" list and nothing else".into(),
                ));
            }
            ("classes", ..) => {
                return Err(invalid(
                    "model",
                    "targets: kind \"classes\" has a \"column\" and a \"classes\" list, and nothing else"
                        .into(),
                ));
            }
            (other, ..) => {
                return Err(invalid(
                    "model",
                    format!("targets: kind {other:?} is not \"columns\" or \"classes\""),
                ));
            }
        };
        let outputs = match outputs.as_str() {
            "raw" => Outputs::Raw,
            "softmax" => Outputs::Softmax,
            other => {
                return Err(invalid(
                    "model",
                    format!("outputs: {other:?} is not \"raw\" or \"softmax\""),
                ));
            }
        };
        Schema::new(inputs, scaler, predicts, outputs).map_err(|e| match e {
            Error::InvalidOption { name, reason } => invalid("model", format!("{name}: {reason}")),
            other => other,
        })
    }
}

/// The scaler of a version 2 file, each number checked and named by its input column.
fn scaler_of(scaling: ScalingIn, inputs: &[String]) -> Result<Scaler> {
    let bad = |reason: String| invalid("model", format!("scaling: {reason}"));
    let kind = ScalerKind::parse(&scaling.kind).map_err(|_| {
        bad(format!(
            "kind {:?} is not one of none, minmax, standard, divide",
            scaling.kind
        ))
    })?;
    for (field, numbers) in [("center", &scaling.center), ("scale", &scaling.scale)] {
        if numbers.len() != inputs.len() {
            return Err(bad(format!(
                "{} numbers in {field:?}, but there are {} inputs ({}): one per input column",
                numbers.len(),
                inputs.len(),
                inputs.join(", ")
            )));
        }
    }
    let mut center = Vec::with_capacity(inputs.len());
    let mut scale = Vec::with_capacity(inputs.len());
    for (i, name) in inputs.iter().enumerate() {
        let c = scaling.center[i]
            .ok_or_else(|| bad(format!("center[{i}] (input {name:?}) is null")))?;
        let s = scaling.scale[i].filter(|s| *s != 0.0).ok_or_else(|| {
            bad(format!(
                "scale[{i}] (input {name:?}) is {}: it must be finite and non-zero",
                scaling.scale[i].map_or("null".into(), |s| s.to_string())
            ))
        })?;
        center.push(c);
        scale.push(s);
    }
    Scaler::from_parts(kind, center, scale).map_err(|e| match e {
        Error::InvalidOption { reason, .. } => bad(reason),
        other => other,
    })
}
