//! A saved model: the network and what it takes to use it on new data (its input columns by
//! name, the scaling fitted on its training data, what its outputs mean), and prediction on
//! named columns.

use std::collections::HashMap;

use crate::data::{ConfusionMatrix, CsvOptions, Dataset, Scaler, argmax, check_class_list};
use crate::error::{Error, Result};
use crate::nn::Mlp;

/// What a model's outputs are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outputs {
    /// The network's outputs are the answer as they are (regression values, or class scores
    /// read as they are, such as sigmoid outputs trained on one-hot targets by squared error).
    Raw,
    /// The outputs are class scores `z_k` (logits) to pass through softmax:
    /// `p_k = e^(z_k - m) / sum_j e^(z_j - m)`, `m = max_j z_j`, the probabilities of a network
    /// trained with softmax cross-entropy.
    Softmax,
}

impl Outputs {
    /// The name in model files: `raw`, `softmax`.
    pub fn name(self) -> &'static str {
        match self {
            Outputs::Raw => "raw",
            Outputs::Softmax => "softmax",
        }
    }
}

/// What a model predicts: the target columns of a regression, or the classes of a label column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicts {
    /// These target columns, one output each, in order.
    Columns(Vec<String>),
    /// The class labels of `column`, one output each, in order.
    Classes {
        /// The label column's name.
        column: String,
        /// The classes, in the order of the outputs.
        labels: Vec<String>,
    },
}

impl Predicts {
    /// The number of outputs it needs.
    pub fn width(&self) -> usize {
        match self {
            Predicts::Columns(columns) => columns.len(),
            Predicts::Classes { labels, .. } => labels.len(),
        }
    }
}

/// What a network needs to be used on new data: its input columns by name and in order, the
/// scaling fitted on its training data, what it predicts and what its outputs are.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    inputs: Vec<String>,
    scaler: Scaler,
    predicts: Predicts,
    outputs: Outputs,
}

impl Schema {
    /// A schema from its parts.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] named for the part at fault (`inputs`, `scaling`, `targets`,
    /// `outputs`): no input, an empty or repeated column name, a scaler not of one column per
    /// input, no target column, fewer than 2 classes, an empty or repeated class, a target
    /// column that is also an input, softmax outputs for a regression.
    pub fn new(
        inputs: Vec<String>,
        scaler: Scaler,
        predicts: Predicts,
        outputs: Outputs,
    ) -> Result<Schema> {
        let bad = |name: &str, reason: String| Error::InvalidOption {
            name: name.into(),
            reason,
        };
        if inputs.is_empty() {
            return Err(bad(
                "inputs",
                "no input column: at least 1 is needed".into(),
            ));
        }
        unique_names(&inputs).map_err(|r| bad("inputs", r))?;
        if scaler.width() != inputs.len() {
            return Err(bad(
                "scaling",
                format!(
                    "{} columns, but there are {} inputs ({})",
                    scaler.width(),
                    inputs.len(),
                    inputs.join(", ")
                ),
            ));
        }
        let targets: Vec<&String> = match &predicts {
            Predicts::Columns(columns) => {
                if columns.is_empty() {
                    return Err(bad(
                        "targets",
                        "no target column: at least 1 is needed".into(),
                    ));
                }
                unique_names(columns).map_err(|r| bad("targets", r))?;
                if outputs == Outputs::Softmax {
                    return Err(bad(
                        "outputs",
                        "softmax outputs are class probabilities: they need classes, not target columns".into(),
                    ));
                }
                columns.iter().collect()
            }
            Predicts::Classes { column, labels } => {
                if column.is_empty() {
                    return Err(bad("targets", "the label column has an empty name".into()));
                }
                check_class_list(labels).map_err(|r| bad("targets", r))?;
                vec![column]
            }
        };
        if let Some(both) = targets.iter().find(|t| inputs.contains(t)) {
            return Err(bad(
                "targets",
                format!("column {both:?} is both an input and a target"),
            ));
        }
        Ok(Schema {
            inputs,
            scaler,
            predicts,
            outputs,
        })
    }

    /// The schema of a network trained on `data` (unscaled, as read) with `scaler`: its input
    /// columns, and its classes (a data set with classes) or its target columns.
    ///
    /// # Errors
    /// As [`Schema::new`].
    pub fn for_data(data: &Dataset, scaler: Scaler, outputs: Outputs) -> Result<Schema> {
        let predicts = match (data.label_column(), data.class_labels()) {
            (Some(column), Some(labels)) => Predicts::Classes {
                column: column.to_string(),
                labels: labels.to_vec(),
            },
            _ => Predicts::Columns(data.target_names().to_vec()),
        };
        Schema::new(data.input_names().to_vec(), scaler, predicts, outputs)
    }

    /// The input columns, in the order of the network's inputs.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The scaling applied to the inputs before the network sees them.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }

    /// What the model predicts.
    pub fn predicts(&self) -> &Predicts {
        &self.predicts
    }

    /// What the outputs are.
    pub fn outputs(&self) -> Outputs {
        self.outputs
    }

    /// The class labels, for a classifier.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.predicts {
            Predicts::Classes { labels, .. } => Some(labels),
            Predicts::Columns(_) => None,
        }
    }
}

fn unique_names(names: &[String]) -> std::result::Result<(), String> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(format!("column {k} has an empty name"));
        }
        if let Some(first) = seen.insert(name, k) {
            return Err(format!("columns {first} and {k} are both named {name:?}"));
        }
    }
    Ok(())
}

/// What a file with the columns `header` gives a model: how to read it, whether it has the
/// targets, the columns the model does not use.
pub(super) struct Columns {
    pub(super) options: CsvOptions,
    pub(super) has_targets: bool,
    pub(super) extra: Vec<String>,
}

impl Schema {
    /// How to read a file whose header is `header`: the inputs by name, the targets or label
    /// column if all are there, `options`' limits.
    pub(super) fn columns_in(&self, header: &[String], options: &CsvOptions) -> Columns {
        let has = |c: &String| header.contains(c);
        let (targets, target_columns) = match &self.predicts {
            Predicts::Columns(columns) if columns.iter().all(has) => (
                crate::data::Targets::Columns(columns.clone()),
                columns.clone(),
            ),
            Predicts::Classes { column, labels } if has(column) => (
                crate::data::Targets::Classes {
                    column: column.clone(),
                    labels: labels.clone(),
                },
                vec![column.clone()],
            ),
            _ => (crate::data::Targets::Columns(Vec::new()), Vec::new()),
        };
        let extra = (header.iter())
            .filter(|c| !self.inputs.contains(c) && !target_columns.contains(c))
            .cloned()
            .collect();
        Columns {
            options: CsvOptions {
                targets,
                inputs: Some(self.inputs.clone()),
                scaling: crate::data::Scaling::None,
                ..options.clone()
            },
            has_targets: !target_columns.is_empty(),
            extra,
        }
    }
}

/// A trained network and, for a model file of version 2, its [`Schema`] (a version 1 file
/// carries none: its inputs are unnamed and unscaled).
#[derive(Debug)]
pub struct Model {
    net: Mlp,
    schema: Option<Schema>,
}

/// One association's prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The network's outputs.
    pub outputs: Vec<f64>,
    /// The softmax of the outputs, for a model whose outputs are [`Outputs::Softmax`].
    pub probabilities: Option<Vec<f64>>,
    /// The predicted class (the largest output, the first of ties), for a classifier.
    pub class: Option<usize>,
}

/// Data read for a model ([`Model::read_csv_str`]): its input columns, as read (unscaled), in
/// the model's order, and its targets if the file has them.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelData {
    /// The associations (no targets when `has_targets` is false).
    pub data: Dataset,
    /// Whether the file has the model's target columns (or its label column).
    pub has_targets: bool,
    /// The file's columns the model does not use, in the file's order.
    pub extra_columns: Vec<String>,
}

/// How well a model does on data with targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// The mean error per association, `(1/T) sum_t E_t`, with the network's own loss.
    pub mean_error: f64,
    /// For a classifier, the counts of actual against predicted classes.
    pub confusion: Option<ConfusionMatrix>,
}

impl Model {
    /// A model of version 2: the network with its schema.
    ///
    /// # Errors
    /// [`Error::Shape`] if the network's input layer is not one node per input column, or its
    /// output layer not one node per target column or class.
    pub fn new(net: Mlp, schema: Schema) -> Result<Model> {
        crate::error::expect_len(
            "network inputs (one per input column of the schema)".into(),
            schema.inputs.len(),
            net.sizes()[0],
        )?;
        crate::error::expect_len(
            "network outputs (one per target column or class of the schema)".into(),
            schema.predicts.width(),
            net.sizes()[net.layers()],
        )?;
        Ok(Model {
            net,
            schema: Some(schema),
        })
    }

    /// A model of version 1: the network alone.
    pub fn bare(net: Mlp) -> Model {
        Model { net, schema: None }
    }

    /// The network.
    pub fn net(&self) -> &Mlp {
        &self.net
    }

    /// The network, to change (anomaly mode, ...). Its layer widths cannot change.
    pub fn net_mut(&mut self) -> &mut Mlp {
        &mut self.net
    }

    /// The network, without the schema.
    pub fn into_net(self) -> Mlp {
        self.net
    }

    /// The schema; `None` for a version 1 model.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// The version of the model file format this model is written as: 2 with a schema, 1
    /// without.
    pub fn version(&self) -> u64 {
        if self.schema.is_some() { 2 } else { 1 }
    }

    /// The prediction for one association whose inputs are given as read, in the order of
    /// [`Schema::inputs`]: they are scaled by the model's scaler, then run through the network.
    ///
    /// # Errors
    /// [`Error::Shape`] for a row of the wrong width; in anomaly mode, [`Error::Anomaly`].
    pub fn predict(&self, row: &[f64]) -> Result<Prediction> {
        let Some(schema) = &self.schema else {
            let outputs = self.net.predict(row)?;
            return Ok(Prediction {
                outputs,
                probabilities: None,
                class: None,
            });
        };
        let mut x = row.to_vec();
        schema.scaler.apply(&mut x)?;
        let outputs = self.net.predict(&x)?;
        let probabilities = match schema.outputs {
            Outputs::Softmax => Some(softmax(&outputs)),
            Outputs::Raw => None,
        };
        let class = schema.classes().map(|_| argmax(&outputs));
        Ok(Prediction {
            outputs,
            probabilities,
            class,
        })
    }

    /// The prediction for one association given as `(column, value)` pairs, in any order;
    /// columns the model does not use are ignored.
    ///
    /// # Errors
    /// [`Error::CsvMissingColumn`] naming the first input column not given;
    /// [`Error::InvalidOption`] for a version 1 model (its inputs have no names) or an input
    /// given twice; as [`Model::predict`].
    ///
    /// # Examples
    /// ```
    /// use backprop::data::{CsvOptions, Dataset, Scaler, Scaling};
    /// use backprop::model_file::{Model, Outputs, Schema};
    /// use backprop::nn::{Activation, MlpSpec};
    /// let data = Dataset::from_csv_str("a,b,y\n1,2,3\n3,4,7\n", &CsvOptions::columns(&["y"]))?;
    /// let scaler = Scaler::fit(Scaling::MinMax, &data)?;
    /// let schema = Schema::for_data(&data, scaler, Outputs::Raw)?;
    /// let net = MlpSpec::new(&[2, 1], Activation::Identity, Activation::Identity).build()?;
    /// let model = Model::new(net, schema)?;
    /// let by_name = model.predict_named(&[("b", 4.0), ("a", 3.0), ("id", 9.0)])?;
    /// assert_eq!(by_name, model.predict(&[3.0, 4.0])?);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn predict_named(&self, columns: &[(&str, f64)]) -> Result<Prediction> {
        let schema = self.schema_or_refuse()?;
        let mut row = Vec::with_capacity(schema.inputs.len());
        for name in &schema.inputs {
            let mut given = columns.iter().filter(|(c, _)| c == name);
            match (given.next(), given.next()) {
                (Some(&(_, v)), None) => row.push(v),
                (Some(_), Some(_)) => {
                    return Err(Error::InvalidOption {
                        name: "columns".into(),
                        reason: format!("input {name:?} is given twice"),
                    });
                }
                (None, _) => {
                    return Err(Error::CsvMissingColumn {
                        column: name.clone(),
                        available: columns.iter().map(|(c, _)| c.to_string()).collect(),
                    });
                }
            }
        }
        self.predict(&row)
    }

    pub(super) fn schema_or_refuse(&self) -> Result<&Schema> {
        self.schema.as_ref().ok_or_else(|| Error::InvalidOption {
            name: "model".into(),
            reason: "a version 1 model names no columns: give its inputs by position".into(),
        })
    }

    /// Reads CSV text for this model: its input columns found by name (in any order; other
    /// columns are not read, and listed in [`ModelData::extra_columns`]), and its target or
    /// label column if the file has it (a label must be one of the model's classes). The
    /// inputs are kept as read: [`Model::predict`] scales them.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a version 1 model; [`Error::CsvMissingColumn`] naming an
    /// input column the file does not have; [`Error::UnknownClass`] for a label the model does
    /// not know; those of [`Dataset::from_csv_str`] (`options` gives the limits; its targets,
    /// inputs and scaling are replaced by the model's).
    pub fn read_csv_str(&self, text: &str, options: &CsvOptions) -> Result<ModelData> {
        let schema = self.schema_or_refuse()?;
        let header = Dataset::csv_header(text)?;
        let columns = schema.columns_in(&header, options);
        let data = Dataset::from_csv_str(text, &columns.options)?;
        Ok(ModelData {
            data,
            has_targets: columns.has_targets,
            extra_columns: columns.extra,
        })
    }

    /// [`Model::read_csv_str`] on a file, its size checked against `options.max_bytes` first.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::TooLarge`]; those of [`Model::read_csv_str`].
    pub fn read_csv_path(
        &self,
        path: impl AsRef<std::path::Path>,
        options: &CsvOptions,
    ) -> Result<ModelData> {
        let text = crate::files::read_to_string_limited(path.as_ref(), options.max_bytes)?;
        self.read_csv_str(&text, options)
    }

    /// The prediction of every association of `data` (inputs as read, in the model's order).
    ///
    /// # Errors
    /// As [`Model::predict`], for the first association that fails.
    pub fn predict_all(&self, data: &Dataset) -> Result<Vec<Prediction>> {
        (0..data.len())
            .map(|t| self.predict(data.association(t)?.0))
            .collect()
    }

    /// How well the model does on `data` (inputs as read, targets present): the mean of the
    /// network's loss `E_t` over the associations, and for a classifier the confusion matrix.
    ///
    /// # Errors
    /// [`Error::Shape`] for data of the wrong widths (no targets, among others);
    /// [`Error::NoAssociations`].
    pub fn assess(&self, data: &Dataset) -> Result<Assessment> {
        let mut tally = self.tally();
        for t in 0..data.len() {
            let (x, y) = data.association(t)?;
            tally.add(self, x, y)?;
        }
        tally.finish()
    }

    /// Predictions as CSV text, one row per prediction after a header
    /// ([`Model::predictions_header`], then [`Model::prediction_row`] for each).
    pub fn predictions_csv(&self, predictions: &[Prediction], raw: bool) -> String {
        let mut csv = self.predictions_header(raw);
        csv.push('\n');
        for p in predictions {
            csv.push_str(&self.prediction_row(p, raw));
            csv.push('\n');
        }
        csv
    }

    /// The header of [`Model::predictions_csv`], without a line break. For a classifier: the
    /// label column's name (the predicted class), then one column per class: headed by its
    /// label when it holds the probability ([`Outputs::Softmax`]), by `score_<label>` when it
    /// holds the network's raw output (a network trained without softmax, whose outputs are
    /// not probabilities). For a regression: one column per target, headed by its name. With
    /// `raw`, or for a version 1 model: the network's outputs `output_0, output_1, ...` (and
    /// for a version 1 model of several outputs, `class`, the index of the largest).
    pub fn predictions_header(&self, raw: bool) -> String {
        let outputs = self.net.sizes()[self.net.layers()];
        match (&self.schema, raw) {
            (None, _) | (Some(_), true) => {
                let mut header: Vec<String> = (0..outputs).map(|k| format!("output_{k}")).collect();
                if self.schema.is_none() && outputs > 1 {
                    header.push("class".into());
                }
                header.join(",")
            }
            (Some(schema), false) => match &schema.predicts {
                Predicts::Columns(columns) => {
                    let header: Vec<String> = columns.iter().map(|c| csv_cell(c)).collect();
                    header.join(",")
                }
                Predicts::Classes { column, labels } => {
                    let scores = match schema.outputs {
                        Outputs::Softmax => "",
                        Outputs::Raw => "score_",
                    };
                    let header: Vec<String> = std::iter::once(csv_cell(column))
                        .chain(labels.iter().map(|l| csv_cell(&format!("{scores}{l}"))))
                        .collect();
                    header.join(",")
                }
            },
        }
    }

    /// One row of [`Model::predictions_csv`], without a line break. Numbers are written in full
    /// (they read back as the same `f64`).
    pub fn prediction_row(&self, p: &Prediction, raw: bool) -> String {
        use std::fmt::Write;
        let mut row = String::new();
        let numbers = |row: &mut String, v: &[f64]| {
            for (k, v) in v.iter().enumerate() {
                let _ = write!(row, "{}{v:?}", if k == 0 { "" } else { "," });
            }
        };
        match (&self.schema, raw) {
            (None, _) | (Some(_), true) => {
                numbers(&mut row, &p.outputs);
                // a version 1 model's several outputs are taken for class scores
                if self.schema.is_none() && p.outputs.len() > 1 {
                    let _ = write!(row, ",{}", argmax(&p.outputs));
                }
            }
            (Some(schema), false) => match &schema.predicts {
                Predicts::Columns(_) => numbers(&mut row, &p.outputs),
                Predicts::Classes { labels, .. } => {
                    let class = p.class.unwrap_or_else(|| argmax(&p.outputs));
                    row.push_str(&csv_cell(&labels[class]));
                    row.push(',');
                    numbers(&mut row, p.probabilities.as_deref().unwrap_or(&p.outputs));
                }
            },
        }
        row
    }
}

/// A CSV cell: quoted when it holds a comma, a quote, a line break or spaces at its ends.
fn csv_cell(text: &str) -> String {
    let needs_quotes = text.contains([',', '"', '\n', '\r']) || text.trim() != text;
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `p_k = e^(z_k - m) / sum_j e^(z_j - m)` with `m = max_j z_j`, so that no exponential
/// overflows.
fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&v| (v - m).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}
