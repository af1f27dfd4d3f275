//! Data sets: associations `(x, y')` held as flat arrays, a numeric CSV reader, train/test
//! splits.
//!
//! This module owns reading and shaping data. It knows nothing of networks or graphs: a
//! [`Dataset`]'s `inputs` and `targets` are exactly the flat `T x width` arrays that
//! [`crate::train::train`] and [`crate::nn::Mlp::gradient`] take.
//!
//! The CSV reader is hand-written (a data set here is a table of numbers; the `csv` crate would
//! add a dependency for quoting rules that numeric files do not use). It reads one record per
//! line, separated by commas; cells may be quoted with `"` (with `""` for a quote inside), but a
//! quoted cell cannot span lines. Blank lines are skipped. A header row is required.

use std::path::Path;

use rand::RngExt;

use crate::error::{Error, Result};
use crate::nn::Init;

mod confusion;
mod csv;
mod labels;
mod options;
mod records;
mod scaler;

pub use confusion::ConfusionMatrix;
pub(crate) use labels::check_class_list;
pub use options::{CsvOptions, Scaling, Targets};
pub use records::CsvAssociations;
pub use scaler::{Scaler, ScalerKind};

/// The most classes a label column may have (one-hot targets of this width are already far
/// beyond what a network of scalar ops can train).
pub const MAX_CLASSES: usize = 1 << 16;

/// A set of `T` associations `(x_t, y'_t)`: inputs `T x n_inputs` and targets `T x n_targets`,
/// each stored association-major (association `t`'s values are contiguous).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    inputs: Vec<f64>,
    targets: Vec<f64>,
    n_inputs: usize,
    n_targets: usize,
    input_names: Vec<String>,
    target_names: Vec<String>,
    classes: Option<Classes>,
}

/// The class labels of a data set whose targets are one-hot: the label column and the labels
/// in the order of the targets.
#[derive(Clone, Debug, PartialEq)]
struct Classes {
    column: String,
    labels: Vec<String>,
}

fn invalid(name: &str, reason: String) -> Error {
    Error::InvalidOption {
        name: name.into(),
        reason,
    }
}

impl Dataset {
    /// `T` associations from flat arrays: `inputs` is `T x n_inputs`, `targets` is
    /// `T x n_targets`. Columns are named `x0, x1, ...` and `y0, y1, ...`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a width of 0; [`Error::Shape`] for arrays that are not
    /// the same whole number of associations; [`Error::NonFiniteConstant`] naming the first
    /// non-finite value.
    ///
    /// # Examples
    /// ```
    /// use backprop::data::Dataset;
    /// let data = Dataset::new(vec![0.0, 1.0, 2.0, 3.0], vec![1.0, 5.0], 2, 1)?;
    /// assert_eq!(data.len(), 2);
    /// assert_eq!(data.association(1)?, (&[2.0, 3.0][..], &[5.0][..]));
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn new(
        inputs: Vec<f64>,
        targets: Vec<f64>,
        n_inputs: usize,
        n_targets: usize,
    ) -> Result<Dataset> {
        if n_inputs == 0 || n_targets == 0 {
            return Err(invalid(
                "data set",
                format!(
                    "needs at least 1 input and 1 target per association, got {n_inputs} and {n_targets}"
                ),
            ));
        }
        let t_count = inputs.len() / n_inputs;
        if !inputs.len().is_multiple_of(n_inputs) || targets.len() != t_count * n_targets {
            return Err(Error::Shape {
                what: format!(
                    "targets for {t_count} associations of {n_inputs} inputs (got {} input values)",
                    inputs.len()
                ),
                expected: t_count * n_targets,
                got: targets.len(),
            });
        }
        for (what, values, width) in [
            ("input", &inputs, n_inputs),
            ("target", &targets, n_targets),
        ] {
            if let Some(k) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFiniteConstant {
                    what: format!("{what} {} of association {}", k % width, k / width),
                    value: values[k],
                });
            }
        }
        Ok(Dataset {
            inputs,
            targets,
            n_inputs,
            n_targets,
            input_names: (0..n_inputs).map(|i| format!("x{i}")).collect(),
            target_names: (0..n_targets).map(|k| format!("y{k}")).collect(),
            classes: None,
        })
    }

    /// The tutorial's XOR associations: (1,1)->0, (1,0)->1, (0,1)->1, (0,0)->0.
    pub fn xor() -> Dataset {
        let (inputs, targets) = crate::tutorial::xor();
        Dataset::new(inputs, targets, 2, 1).expect("internal error: the XOR data is valid")
    }

    /// The number of associations `T`.
    pub fn len(&self) -> usize {
        self.inputs.len() / self.n_inputs
    }

    /// Whether there are no associations.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Inputs per association.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Targets per association.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// All inputs, `T x n_inputs`, association-major.
    pub fn inputs(&self) -> &[f64] {
        &self.inputs
    }

    /// All targets, `T x n_targets`, association-major.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// The input columns' names.
    pub fn input_names(&self) -> &[String] {
        &self.input_names
    }

    /// The target columns' names (for one-hot targets: `label=0`, `label=1`, ...,
    /// `species=setosa`, ...).
    pub fn target_names(&self) -> &[String] {
        &self.target_names
    }

    /// The number of classes, for a data set whose targets are one-hot class labels.
    pub fn classes(&self) -> Option<usize> {
        self.classes.as_ref().map(|c| c.labels.len())
    }

    /// The class labels in the order of the one-hot targets, for a data set with classes.
    pub fn class_labels(&self) -> Option<&[String]> {
        self.classes.as_ref().map(|c| &c.labels[..])
    }

    /// The column the class labels were read from, for a data set with classes.
    pub fn label_column(&self) -> Option<&str> {
        self.classes.as_ref().map(|c| c.column.as_str())
    }

    /// The same associations with every input row scaled by `scaler` (targets unchanged).
    ///
    /// # Errors
    /// [`Error::Shape`] if the scaler is not for [`Dataset::n_inputs`] columns.
    ///
    /// # Examples
    /// ```
    /// use backprop::data::{Dataset, Scaler, Scaling};
    /// let (train, test) = Dataset::xor().split(0.5, 1)?;
    /// let scaler = Scaler::fit(Scaling::Standardize, &train)?; // fitted on training data only
    /// let test = test.scaled(&scaler)?;
    /// assert_eq!(test.len(), 2);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn scaled(&self, scaler: &Scaler) -> Result<Dataset> {
        crate::error::expect_len(
            "columns of the scaler (one per input column)".into(),
            self.n_inputs,
            scaler.width(),
        )?;
        let mut scaled = self.clone();
        scaler.apply_all(&mut scaled.inputs)?;
        Ok(scaled)
    }

    /// Association `t`: `(x_t, y'_t)`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for `t >= len()`.
    pub fn association(&self, t: usize) -> Result<(&[f64], &[f64])> {
        if t >= self.len() {
            return Err(Error::OutOfRange {
                what: "association".into(),
                index: t,
                len: self.len(),
            });
        }
        Ok((
            &self.inputs[t * self.n_inputs..(t + 1) * self.n_inputs],
            &self.targets[t * self.n_targets..(t + 1) * self.n_targets],
        ))
    }

    /// The class of association `t` (the position of the largest target, the first of ties),
    /// for a data set with classes; `None` otherwise.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for `t >= len()`.
    pub fn label(&self, t: usize) -> Result<Option<usize>> {
        let (_, target) = self.association(t)?;
        Ok(self.classes.as_ref().map(|_| argmax(target)))
    }

    /// Shuffles the associations with `seed` (xoshiro256++, Fisher-Yates) and splits them:
    /// the first part has `round(fraction * T)` of them, the second the rest. Names and
    /// classes are kept by both.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a fraction outside `[0, 1]`.
    ///
    /// # Examples
    /// ```
    /// use backprop::data::Dataset;
    /// let (train, test) = Dataset::xor().split(0.75, 7)?;
    /// assert_eq!((train.len(), test.len()), (3, 1));
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(invalid(
                "split fraction",
                format!("must be between 0 and 1, got {fraction}"),
            ));
        }
        let t_count = self.len();
        let mut order: Vec<usize> = (0..t_count).collect();
        let mut rng = Init::rng(seed);
        for i in (1..t_count).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let first = ((fraction * t_count as f64).round() as usize).min(t_count);
        let (a, b) = order.split_at(first);
        Ok((self.subset(a), self.subset(b)))
    }

    fn subset(&self, order: &[usize]) -> Dataset {
        let mut inputs = Vec::with_capacity(order.len() * self.n_inputs);
        let mut targets = Vec::with_capacity(order.len() * self.n_targets);
        for &t in order {
            inputs.extend_from_slice(&self.inputs[t * self.n_inputs..(t + 1) * self.n_inputs]);
            targets.extend_from_slice(&self.targets[t * self.n_targets..(t + 1) * self.n_targets]);
        }
        Dataset {
            inputs,
            targets,
            ..self.clone_empty()
        }
    }

    fn clone_empty(&self) -> Dataset {
        Dataset {
            inputs: Vec::new(),
            targets: Vec::new(),
            n_inputs: self.n_inputs,
            n_targets: self.n_targets,
            input_names: self.input_names.clone(),
            target_names: self.target_names.clone(),
            classes: self.classes.clone(),
        }
    }

    /// Reads a data set from CSV text (see the [module docs](self) for the dialect).
    ///
    /// # Errors
    /// [`Error::TooLarge`] for text over `max_bytes`, more than `max_rows` rows or more than
    /// `max_values` numbers; [`Error::CsvEmpty`], [`Error::CsvNoRows`];
    /// [`Error::CsvDuplicateColumn`]; [`Error::CsvMissingColumn`] for a target, label or input
    /// column the header does not have; [`Error::CsvRagged`] for a row of the wrong width;
    /// [`Error::CsvCell`] for a cell that is not a finite number or not a class label in range;
    /// [`Error::UnknownClass`] for a label not in a known list ([`Targets::Classes`]);
    /// [`Error::TooFewClasses`] for a label column with fewer than 2 distinct labels (classes
    /// not given); [`Error::InvalidFile`] for an unclosed quote; [`Error::InvalidOption`] for
    /// options that make no sense (no input, a column both input and target, fewer than 2
    /// classes, a duplicate class, a bad divisor).
    ///
    /// # Complexity
    /// One pass over the text to count rows, one to parse them; O(bytes + T x width) memory.
    ///
    /// # Examples
    /// ```
    /// use backprop::data::{CsvOptions, Dataset};
    /// let text = "a,b,species\n0.5,1,virginica\n1.5,0,setosa\n2,2,versicolor\n";
    /// let data = Dataset::from_csv_str(text, &CsvOptions::label("species", None))?;
    /// assert_eq!(data.association(0)?, (&[0.5, 1.0][..], &[0.0, 0.0, 1.0][..]));
    /// assert_eq!(data.class_labels().unwrap(), ["setosa", "versicolor", "virginica"]);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn from_csv_str(text: &str, options: &CsvOptions) -> Result<Dataset> {
        csv::read(text, options)
    }

    /// The column names of CSV text (its header row, read as [`Dataset::from_csv_str`] reads
    /// it), without reading the rows: to see which columns a file has before choosing the
    /// [`CsvOptions`].
    ///
    /// # Errors
    /// [`Error::CsvEmpty`] for text without a header; [`Error::InvalidFile`] for an unclosed
    /// quote.
    pub fn csv_header(text: &str) -> Result<Vec<String>> {
        csv::header(text)
    }

    /// Reads a data set from a CSV file; the file's size is checked against `max_bytes` before
    /// it is read.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read or is not UTF-8; [`Error::TooLarge`]; those of
    /// [`Dataset::from_csv_str`].
    pub fn from_csv_path(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset> {
        let text = crate::files::read_to_string_limited(path.as_ref(), options.max_bytes)?;
        Dataset::from_csv_str(&text, options)
    }

    /// Assembles a data set read from a file (used by the CSV reader).
    pub(crate) fn from_parts(
        inputs: Vec<f64>,
        targets: Vec<f64>,
        input_names: Vec<String>,
        target_names: Vec<String>,
        classes: Option<(String, Vec<String>)>,
    ) -> Dataset {
        Dataset {
            n_inputs: input_names.len(),
            n_targets: target_names.len(),
            inputs,
            targets,
            input_names,
            target_names,
            classes: classes.map(|(column, labels)| Classes { column, labels }),
        }
    }
}

/// The index of the largest value, the first of ties (the predicted class of a row of scores).
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = k;
        }
    }
    best
}
