//! How a CSV file is read into a [`Dataset`](super::Dataset): which columns are targets and
//! inputs, how inputs are scaled, and the limits on the data's size.

/// Which columns of a CSV file are the targets `y'`; the other columns are the inputs `x`.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// These columns, in this order, are the targets (regression, or targets already encoded).
    /// An empty list makes every column an input: data to predict on, without targets.
    Columns(Vec<String>),
    /// This column holds a class label, turned into a one-hot target with one position per
    /// class (class `c` gives `y'_c = 1`, every other `y'_k = 0`).
    Label {
        /// The label column's header name.
        column: String,
        /// `Some(k)`: the labels are the integers `0..k` (`3` or `3.0`), class `c` is label `c`,
        /// whether or not the data has every one. `None`: the classes are the distinct labels
        /// found, any text, sorted as numbers if all are integers (`-1 < 2 < 10`, written
        /// back in their shortest form: `3.0` is class `3`) and as text otherwise (by bytes:
        /// `Setosa < setosa`); at least 2 are needed.
        classes: Option<usize>,
    },
    /// This column holds a class label from a list known beforehand (a model's classes), in
    /// the order of the one-hot targets. A label not in the list is an error naming it (an
    /// integer label also matches its shortest form: `3.0` matches `3`).
    Classes {
        /// The label column's header name.
        column: String,
        /// The classes, in order.
        labels: Vec<String>,
    },
}

/// How input columns are rescaled after reading (targets are never rescaled).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Scaling {
    /// As read.
    #[default]
    None,
    /// Per column, `x' = (x - min) / (max - min)` into `[0, 1]`; a constant column becomes 0.
    MinMax,
    /// Per column, `x' = (x - mean) / sd` (population standard deviation); a constant column
    /// becomes 0.
    Standardize,
    /// Every input divided by this finite, non-zero number (16 for the 8x8 digits' 0-16 pixels).
    Divide(f64),
}

/// How to read a CSV file into a [`Dataset`](super::Dataset).
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// Which columns are targets.
    pub targets: Targets,
    /// `Some`: exactly these columns, in this order, are the inputs, and the file's other
    /// columns that are not targets are ignored (not read). `None`: every column that is not
    /// a target is an input, in the file's order.
    pub inputs: Option<Vec<String>>,
    /// How inputs are rescaled.
    pub scaling: Scaling,
    /// Refuse data larger than this many bytes (checked before a file is read).
    pub max_bytes: u64,
    /// Refuse data with more rows than this.
    pub max_rows: usize,
    /// Refuse a data set of more numbers than this (inputs plus targets; one-hot targets can be
    /// far larger than the text they come from).
    pub max_values: usize,
}

impl CsvOptions {
    /// The default limits: 256 MiB, 10 million rows, 2^27 numbers (1 GiB of `f64`).
    pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;
    /// See [`CsvOptions::DEFAULT_MAX_BYTES`].
    pub const DEFAULT_MAX_ROWS: usize = 10_000_000;
    /// See [`CsvOptions::DEFAULT_MAX_BYTES`].
    pub const DEFAULT_MAX_VALUES: usize = 1 << 27;

    /// Targets in these columns, no scaling, default limits.
    pub fn columns<S: AsRef<str>>(columns: &[S]) -> CsvOptions {
        CsvOptions::with_targets(Targets::Columns(
            columns.iter().map(|c| c.as_ref().to_string()).collect(),
        ))
    }

    /// A class label in `column` turned into one-hot targets, no scaling, default limits.
    pub fn label(column: &str, classes: Option<usize>) -> CsvOptions {
        CsvOptions::with_targets(Targets::Label {
            column: column.to_string(),
            classes,
        })
    }

    /// A class label in `column` from the known list `labels` (in the order of the one-hot
    /// targets), no scaling, default limits.
    pub fn classes<S: AsRef<str>>(column: &str, labels: &[S]) -> CsvOptions {
        CsvOptions::with_targets(Targets::Classes {
            column: column.to_string(),
            labels: labels.iter().map(|c| c.as_ref().to_string()).collect(),
        })
    }

    fn with_targets(targets: Targets) -> CsvOptions {
        CsvOptions {
            targets,
            inputs: None,
            scaling: Scaling::None,
            max_bytes: CsvOptions::DEFAULT_MAX_BYTES,
            max_rows: CsvOptions::DEFAULT_MAX_ROWS,
            max_values: CsvOptions::DEFAULT_MAX_VALUES,
        }
    }

    /// With this scaling of the inputs.
    pub fn with_scaling(mut self, scaling: Scaling) -> CsvOptions {
        self.scaling = scaling;
        self
    }

    /// With exactly these input columns, in this order (found by name; the file's other
    /// columns that are not targets are ignored).
    pub fn with_inputs<S: AsRef<str>>(mut self, inputs: &[S]) -> CsvOptions {
        self.inputs = Some(inputs.iter().map(|c| c.as_ref().to_string()).collect());
        self
    }

    /// With this limit on the data's size in bytes.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> CsvOptions {
        self.max_bytes = max_bytes;
        self
    }

    /// With this limit on the number of rows.
    pub fn with_max_rows(mut self, max_rows: usize) -> CsvOptions {
        self.max_rows = max_rows;
        self
    }
}
