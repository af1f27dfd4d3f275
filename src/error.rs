//! The one public error type. Every message names the culprit (node, layer, weight, line,
//! column) and what was expected; messages are lowercase without a final period.

use std::fmt;

/// A node as named in error messages: its id and, if it has one, its label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeName {
    /// The node's index in its graph (creation order).
    pub index: u32,
    /// The node's label, if it has one.
    pub label: Option<String>,
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.label {
            Some(label) => write!(f, "node {} ({label})", self.index),
            None => write!(f, "node {}", self.index),
        }
    }
}

/// Everything a user of `backprop` can get wrong, and what the library reports for it.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A node handle was used with a graph (or a tape, or gradients) it does not belong to.
    #[error("{node} belongs to graph #{node_graph}, not to graph #{graph}")]
    ForeignNode {
        /// The node, as named in its own graph.
        node: NodeName,
        /// The id of the graph the node belongs to.
        node_graph: u32,
        /// The id of the graph it was used with.
        graph: u32,
    },
    /// A node index past the end of the graph.
    #[error("node {index} does not exist: the graph has {len} nodes")]
    UnknownNode {
        /// The index that was asked for.
        index: u32,
        /// How many nodes the graph has.
        len: usize,
    },
    /// A node created after the tape (or the gradients) in use was compiled: graphs grow, a
    /// tape does not.
    #[error(
        "node {index} was created after compile(): the tape was compiled from the graph's first {nodes} nodes; compile the graph again to use it"
    )]
    NodeAfterCompile {
        /// The node's index.
        index: u32,
        /// How many nodes the graph had when the tape was compiled.
        nodes: usize,
    },
    /// A node that must be an op (the loss to train, the output to differentiate over
    /// associations) is a leaf.
    #[error(
        "{role} {node} is {kind}, not an op: pass the node of the expression to differentiate (such as the loss `(y - target).powf(2.0)`)"
    )]
    NotAnOp {
        /// What the node was given as ("the loss", "the output").
        role: &'static str,
        /// The node.
        node: NodeName,
        /// What it is: "an input", "a parameter", "a constant".
        kind: &'static str,
    },
    /// Values that are not a whole number of associations: each association gives one value
    /// per input, in slot order.
    #[error(
        "{got} input values are not a whole number of associations of {} (one value per input, in slot order: {}); {} left over: is a column missing? Tape::associations_by_label builds the values from columns named by label",
        inputs.len(),
        inputs.join(", "),
        got % inputs.len().max(1)
    )]
    PartialAssociation {
        /// The inputs, in slot order, as named in messages.
        inputs: Vec<String>,
        /// The number of values given.
        got: usize,
    },
    /// An op was given a number of operands its arity does not accept.
    #[error("op {op}: expected {expected} operands, got {got}")]
    Arity {
        /// The op's name.
        op: String,
        /// What the op accepts ("2", "at least 1", ...).
        expected: String,
        /// How many operands were given.
        got: usize,
    },
    /// An op's constant parameter (slope, exponent) or a constant leaf is not a finite number.
    #[error("{what} must be a finite number, got {value}")]
    NonFiniteConstant {
        /// What the number is (e.g. "the exponent of powf").
        what: String,
        /// The number given.
        value: f64,
    },
    /// The wrong number of input values for a forward pass.
    #[error("expected {expected} input values ({inputs} inputs x {lanes} associations), got {got}")]
    InputCount {
        /// `inputs * lanes`.
        expected: usize,
        /// The graph's number of input leaves.
        inputs: usize,
        /// The number of associations evaluated at once.
        lanes: usize,
        /// The number of values given.
        got: usize,
    },
    /// The wrong number of parameter values.
    #[error("expected {expected} parameter values, got {got}")]
    ParamCount {
        /// The graph's number of parameter leaves.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A node that should be a trainable parameter is not one.
    #[error("{node} is not a trainable parameter")]
    NotAParam {
        /// The node.
        node: NodeName,
    },
    /// A workspace was used with a tape it was not made for.
    #[error(
        "the workspace was made for another tape (of {workspace_nodes} nodes; this one has {tape_nodes}): make one with this tape's `workspace()`"
    )]
    WorkspaceMismatch {
        /// Nodes of the tape the workspace was made for.
        workspace_nodes: usize,
        /// Nodes of this tape.
        tape_nodes: usize,
    },
    /// Training or a gradient was asked of data with no association at all.
    #[error("the data has no associations: at least 1 is needed")]
    NoAssociations,
    /// Zero associations at once were asked for.
    #[error("a batch needs blocks of at least 1 association, got 0")]
    NoLanes,
    /// A node given as an input is not one of the graph's input leaves.
    #[error("{node} is not an input")]
    NotAnInput {
        /// The node.
        node: NodeName,
    },
    /// An association names an input that it gives a value to twice.
    #[error("{node} is given a value twice in one association")]
    InputGivenTwice {
        /// The input.
        node: NodeName,
    },
    /// An association gives no value to an input.
    #[error("no value for {node}: an association gives one to every input")]
    MissingInput {
        /// The input.
        node: NodeName,
    },
    /// No input carries the label asked for, or more than one does.
    #[error("{}", input_label_message(label, *count, labels))]
    InputLabel {
        /// The label.
        label: String,
        /// How many inputs carry it.
        count: usize,
        /// The inputs' labels, in slot order (unlabelled inputs left out).
        labels: Vec<String>,
    },
    /// A workspace was read before the pass that computes what was asked for.
    #[error("{what} read before any {pass} pass on this workspace: run Tape::{pass} first")]
    PassNotRun {
        /// "forward" or "backward".
        pass: &'static str,
        /// What was read ("the value of node 3", "the gradient", ...).
        what: String,
    },
    /// A value of the forward or backward pass is not finite (reported in anomaly mode).
    #[error("{pass} pass: {node} = {op} gave {value} from operands {operands:?}")]
    Anomaly {
        /// "forward" or "backward".
        pass: &'static str,
        /// The first node whose value (forward) or gradient contribution (backward) is not finite.
        node: NodeName,
        /// The node's op.
        op: String,
        /// The non-finite value.
        value: f64,
        /// The operand values the op was given.
        operands: Vec<f64>,
    },
    /// A network description that does not make sense (zero layers, a layer of width 0, ...).
    #[error("invalid network: {0}")]
    InvalidNetwork(String),
    /// A weight, layer or node index out of range in a layered network.
    #[error("{what} {index} is out of range: there are {len}")]
    OutOfRange {
        /// What was indexed ("layer", "node of layer 1", ...).
        what: String,
        /// The index given.
        index: usize,
        /// How many there are.
        len: usize,
    },
    /// Data whose shape does not match the network or the other data.
    #[error("shape mismatch: {what}: expected {expected}, got {got}")]
    Shape {
        /// What has the wrong shape.
        what: String,
        /// The expected size.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// Training produced a non-finite error or weight.
    #[error(
        "training diverged at epoch {epoch}: the error became {error}; the weights from before that epoch were kept (try a smaller learning rate)"
    )]
    Diverged {
        /// The epoch (from 1) whose error or weights stopped being finite.
        epoch: usize,
        /// That epoch's error.
        error: f64,
    },
    /// A hyper-parameter or option out of its domain (learning rate, epochs, batch size, ...).
    #[error("invalid {name}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong (the operating system's message).
        reason: String,
    },
    /// Input refused because it is larger than a guard allows (checked before reading or
    /// allocating it all).
    #[error("{what}: {size} {unit}, over the limit of {limit}")]
    TooLarge {
        /// What is too large ("the file \"x.csv\"", "the network", ...).
        what: String,
        /// Its size (saturated at `u64::MAX`).
        size: u64,
        /// What the size counts ("bytes", "rows", "weights", ...).
        unit: &'static str,
        /// The limit.
        limit: u64,
    },
    /// CSV data with no header row.
    #[error("the csv data is empty: a header row naming the columns is expected")]
    CsvEmpty,
    /// CSV data with a header row and no data rows.
    #[error("the csv data has a header row (line {header_line}) but no data rows")]
    CsvNoRows {
        /// The header's line (1-based).
        header_line: usize,
    },
    /// A CSV row with a number of cells other than the header's.
    #[error("line {line}: expected {expected} cells, got {got}")]
    CsvRagged {
        /// The line (1-based; the header is line 1 unless blank lines precede it).
        line: usize,
        /// The header's number of columns.
        expected: usize,
        /// The row's number of cells.
        got: usize,
    },
    /// A CSV cell that is not what its column needs (a finite number, a class label).
    #[error("line {line}, column {column} ({name}): {reason}")]
    CsvCell {
        /// The line (1-based).
        line: usize,
        /// The column (1-based).
        column: usize,
        /// The column's header name.
        name: String,
        /// What is wrong with the cell, quoting it.
        reason: String,
    },
    /// A label column with fewer than 2 distinct labels: nothing to tell apart.
    #[error(
        "label column {column:?} has {} class ({}): at least 2 are needed to classify",
        found.len(),
        found.join(", ")
    )]
    TooFewClasses {
        /// The label column.
        column: String,
        /// The labels found.
        found: Vec<String>,
    },
    /// A class label that is not one of the known classes (a model's).
    #[error("line {line}, column {column} ({name}): class {label:?} is not one of the model's classes ({})", known.join(", "))]
    UnknownClass {
        /// The line (1-based).
        line: usize,
        /// The column (1-based).
        column: usize,
        /// The column's header name.
        name: String,
        /// The label found.
        label: String,
        /// The known classes, in order.
        known: Vec<String>,
    },
    /// A column asked for (input, target, label) that the header does not have.
    #[error("no column named {column:?}: the columns are {}", available.join(", "))]
    CsvMissingColumn {
        /// The column asked for.
        column: String,
        /// The header's columns, in order.
        available: Vec<String>,
    },
    /// Two header cells with the same name.
    #[error("columns {first} and {second} are both named {name:?}")]
    CsvDuplicateColumn {
        /// The name.
        name: String,
        /// The first column with it (1-based).
        first: usize,
        /// The second column with it (1-based).
        second: usize,
    },
    /// A file that is not valid in its format (JSON syntax, wrong structure, wrong format
    /// name, an impossible version, a field out of its domain).
    #[error("invalid {format} file: {reason}")]
    InvalidFile {
        /// The format ("model", "graph").
        format: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// A file written by a newer version of the format than this program reads.
    #[error("{format} format version {version} is newer than this program supports ({supported})")]
    UnsupportedVersion {
        /// The format ("model", "graph").
        format: String,
        /// The file's version.
        version: u64,
        /// The newest version this program reads.
        supported: u64,
    },
    /// An error in one node of a graph file.
    #[error("graph file node {node}: {error}")]
    GraphFileNode {
        /// The node's id in the file.
        node: u64,
        /// What is wrong with it.
        error: Box<Error>,
    },
    /// Two nodes of a graph file with the same id.
    #[error("graph file: node id {id} is used by more than one node")]
    DuplicateNodeId {
        /// The id.
        id: u64,
    },
    /// A graph file node whose operand (or the file's output) names no node of the file.
    #[error("graph file: {user} refers to node {missing}, which the file does not have")]
    DanglingNode {
        /// Who refers to it ("node 4", "the output").
        user: String,
        /// The id that is not in the file.
        missing: u64,
    },
    /// Graph file nodes that feed each other in a cycle (listed operand to consumer, the first
    /// repeated at the end).
    #[error("graph file: nodes {} form a cycle", nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" -> "))]
    GraphCycle {
        /// The cycle's node ids, operand before consumer, the first one repeated at the end.
        nodes: Vec<u64>,
    },
    /// An op or leaf name that the graph file format does not know.
    #[error("unknown op {name:?} (known: {})", known.join(", "))]
    UnknownOp {
        /// The name found.
        name: String,
        /// The names the format knows.
        known: Vec<&'static str>,
    },
    /// A field a node of this kind needs (a leaf's `value`, leaky ReLU's `slope`, ...).
    #[error("{op} needs a {field:?} field")]
    MissingField {
        /// The node's op or leaf kind.
        op: String,
        /// The missing field.
        field: String,
    },
}

/// The message of [`Error::InputLabel`].
fn input_label_message(label: &str, count: usize, labels: &[String]) -> String {
    if count == 0 {
        let known = if labels.is_empty() {
            "no input has a label".to_string()
        } else {
            format!("the inputs are labelled {}", labels.join(", "))
        };
        format!("no input is labelled {label:?}: {known}")
    } else {
        format!(
            "{count} inputs are labelled {label:?}: give each input its own label to name it, or name it by its node"
        )
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Ok` if `got == expected`, else [`Error::Shape`] naming `what`.
pub(crate) fn expect_len(what: String, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::Shape {
            what,
            expected,
            got,
        })
    }
}
