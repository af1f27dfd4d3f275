//! The graph file: any graph of scalar ops as versioned JSON, and the loader that rebuilds it.
//!
//! This module owns the format and its validation. It builds graphs only through the public
//! builders ([`Graph::input`], [`Graph::param`], [`Graph::constant`], [`Graph::try_op`]), so a
//! loaded graph is checked exactly like one built in code.
//!
//! # Format, version 1
//! ```json
//! {
//!   "format": "backprop-graph",
//!   "version": 1,
//!   "nodes": [
//!     {"id": 0, "op": "input", "label": "x", "value": 1.0},
//!     {"id": 1, "op": "param", "label": "w", "value": 0.5},
//!     {"id": 2, "op": "const", "value": 1.0},
//!     {"id": 3, "op": "mul", "operands": [0, 1]},
//!     {"id": 4, "op": "leaky_relu", "slope": 0.01, "operands": [3]},
//!     {"id": 5, "op": "powf", "exponent": 2, "operands": [4]}
//!   ],
//!   "output": 5
//! }
//! ```
//! - `id`: any integer from 0 to 2^64 - 1, unique in the file; nodes may come in any order.
//! - `op`: a leaf, `input` (its `value` is the input's value for evaluation), `param` (its
//!   `value` is its initial value) or `const` (its `value`), or an op by [`Op::name`]; see
//!   [`node_kinds`].
//! - `slope` (`leaky_relu`), `exponent` (`powf`), `low` (`step`): the op's constant, required
//!   for that op and refused on any other.
//! - `operands`: the ids of the op's operands, in order (an id may repeat: `x * x`); absent or
//!   empty for a leaf.
//! - `label`: optional, on any node.
//! - `output`: the id of the node the graph computes.
//!
//! The loader orders the nodes topologically (Kahn's algorithm; among nodes that are ready, the
//! one first in the file goes first), so a file already in topological order keeps its order,
//! and inputs and parameters take their slots in file order. [`save_graph`] (a string) and
//! [`save_graph_file`] (a file, streamed) write nodes in creation order with their index as id,
//! so that loading what they wrote gives the same graph.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Write;
use std::path::Path;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::files::{from_io, read_to_string_limited, write_atomically_with};
use crate::graph::{Graph, NodeId, NodeKind};
use crate::model_file::{check_header, invalid, present};
use crate::op::Op;

/// The value of the `format` field.
pub const FORMAT: &str = "backprop-graph";
/// The newest format version this program reads and the one it writes.
pub const VERSION: u64 = 1;
/// The largest graph file [`load_graph`] reads, in bytes.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// Every `op` name the format knows: the three leaves, then the ops of [`Op::KINDS`] by
/// [`Op::name`].
pub fn node_kinds() -> Vec<&'static str> {
    let leaves = ["input", "param", "const"];
    leaves.into_iter().chain(Op::KINDS.map(Op::name)).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
struct GraphIn {
    #[allow(dead_code)] // checked by `check_header`
    format: String,
    #[allow(dead_code)]
    version: u64,
    nodes: FileNodes,
    output: u64,
}

/// One node as written in the file; read one at a time and turned into a row of [`FileNodes`]
/// at once. The op name is borrowed from the text when it has no escapes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a node object")]
struct NodeIn<'a> {
    id: u64,
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    slope: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    exponent: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    low: Option<Option<f64>>,
    #[serde(default)]
    operands: Vec<u64>,
}

/// The file's nodes in file order, as flat arrays (about 50 bytes a node, against some 200 for
/// a `Vec` of [`NodeIn`]), each node's fields checked as it is read.
#[derive(Default)]
struct FileNodes {
    ids: Vec<u64>,
    kinds: Vec<Kind>,
    /// The labelled nodes' positions and labels, by position.
    labels: Vec<(usize, String)>,
    /// Node `p`'s operands are `operands[operand_ends[p - 1]..operand_ends[p]]`.
    operand_ends: Vec<usize>,
    /// The operands' ids, as in the file.
    operands: Vec<u64>,
    /// The error of the first node (in file order) whose fields are wrong, reported once the
    /// ids are known to be unique.
    first_error: Option<Error>,
}

impl FileNodes {
    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Node `p`'s operands, as stored (ids as read, positions once resolved).
    fn operands(&self, p: usize) -> &[u64] {
        let start = if p == 0 { 0 } else { self.operand_ends[p - 1] };
        &self.operands[start..self.operand_ends[p]]
    }

    fn label(&self, p: usize) -> &str {
        match self.labels.binary_search_by_key(&p, |&(q, _)| q) {
            Ok(k) => &self.labels[k].1,
            Err(_) => "",
        }
    }

    fn push(&mut self, node: NodeIn<'_>) {
        let kind = kind(&node).unwrap_or_else(|error| {
            self.first_error.get_or_insert(Error::GraphFileNode {
                node: node.id,
                error: Box::new(error),
            });
            Kind::Const(f64::NAN) // never built: the error is reported first
        });
        if let Some(label) = node.label {
            self.labels.push((self.ids.len(), label));
        }
        self.ids.push(node.id);
        self.kinds.push(kind);
        self.operands.extend_from_slice(&node.operands);
        self.operand_ends.push(self.operands.len());
    }
}

impl<'de> Deserialize<'de> for FileNodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<FileNodes, D::Error> {
        struct Rows;
        impl<'de> Visitor<'de> for Rows {
            type Value = FileNodes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence") // what a `Vec` says
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<FileNodes, A::Error> {
                let mut nodes = FileNodes::default();
                while let Some(node) = seq.next_element::<NodeIn<'de>>()? {
                    nodes.push(node);
                }
                Ok(nodes)
            }
        }
        d.deserialize_seq(Rows)
    }
}

#[derive(Serialize)]
struct NodeOut<'a> {
    id: u64,
    op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slope: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exponent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<f64>,
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    operands: &'a [u64],
}

/// A graph read from a file.
#[derive(Debug)]
pub struct LoadedGraph {
    /// The graph, its nodes created in a topological order.
    pub graph: Graph,
    /// Each file node's id and its node in the graph, in file order.
    pub nodes: Vec<(u64, NodeId)>,
    /// The node of the file's `output`.
    pub output: NodeId,
    /// The input nodes' values, in input slot order (ready for a forward pass).
    pub input_values: Vec<f64>,
}

impl LoadedGraph {
    /// The graph node of file node `id`, if the file has it.
    pub fn node(&self, id: u64) -> Option<NodeId> {
        self.nodes.iter().find(|(i, _)| *i == id).map(|&(_, n)| n)
    }
}

/// What a file node is, once its fields are checked.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Input(f64),
    Param(f64),
    Const(f64),
    Op(Op),
}

/// Reads a graph from a graph file's JSON text.
///
/// # Errors
/// [`Error::InvalidFile`] for text that is not JSON, a wrong `format`, a version of 0, a
/// missing, unknown or mistyped field, or an empty node list; [`Error::UnsupportedVersion`];
/// [`Error::DuplicateNodeId`]; [`Error::DanglingNode`] for an operand or output id that is not a
/// node of the file; [`Error::GraphCycle`] naming the nodes of a cycle;
/// [`Error::GraphFileNode`] naming the node, around [`Error::UnknownOp`],
/// [`Error::MissingField`], [`Error::NonFiniteConstant`] (a `null` value), [`Error::Arity`],
/// [`Error::InvalidOption`] (a constant the op does not take).
///
/// # Complexity
/// O(nodes + operands) time and memory (plus a heap: O(nodes log nodes)).
///
/// # Examples
/// ```
/// let text = r#"{"format": "backprop-graph", "version": 1, "output": 7,
///   "nodes": [{"id": 7, "op": "mul", "operands": [3, 3]},
///             {"id": 3, "op": "input", "label": "x", "value": 3.0}]}"#;
/// let loaded = backprop::graph_file::from_json_str(text)?;
/// let grads = loaded.graph.compile()?.gradients(&loaded.input_values, loaded.output)?;
/// assert_eq!(grads.wrt(loaded.node(3).unwrap())?, 6.0); // d(x x)/dx = 2x
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn from_json_str(text: &str) -> Result<LoadedGraph> {
    build(parse(text)?)
}

/// Reads a graph file (at most [`MAX_FILE_BYTES`]).
///
/// # Errors
/// [`Error::Io`], [`Error::TooLarge`], and those of [`from_json_str`].
///
/// # Complexity
/// That of [`from_json_str`]; the file's text is let go of before the graph is built.
pub fn load_graph(path: impl AsRef<Path>) -> Result<LoadedGraph> {
    let text = read_to_string_limited(path.as_ref(), MAX_FILE_BYTES)?;
    let parsed = parse(&text)?;
    drop(text);
    build(parsed)
}

/// Parses the text into [`FileNodes`]; the errors of the text and of each node's own fields.
fn parse(text: &str) -> Result<GraphIn> {
    check_header(text, "graph", FORMAT, VERSION)?;
    serde_json::from_str(text).map_err(|e| invalid("graph", e.to_string()))
}

/// The graph of parsed nodes; the errors between nodes (ids, operands, cycles, arities).
fn build(file: GraphIn) -> Result<LoadedGraph> {
    let mut nodes = file.nodes;
    if nodes.len() == 0 {
        return Err(invalid(
            "graph",
            "\"nodes\" is empty: a graph needs at least 1 node".into(),
        ));
    }
    let mut position: HashMap<u64, usize> = HashMap::with_capacity(nodes.len());
    for (p, &id) in nodes.ids.iter().enumerate() {
        if position.insert(id, p).is_some() {
            return Err(Error::DuplicateNodeId { id });
        }
    }
    if let Some(error) = nodes.first_error.take() {
        return Err(error);
    }
    // operand ids to file positions, in place
    let mut user = 0;
    for (k, operand) in nodes.operands.iter_mut().enumerate() {
        while nodes.operand_ends[user] <= k {
            user += 1;
        }
        *operand = *position.get(operand).ok_or(Error::DanglingNode {
            user: format!("node {}", nodes.ids[user]),
            missing: *operand,
        })? as u64;
    }
    let output = *position.get(&file.output).ok_or(Error::DanglingNode {
        user: "the output".into(),
        missing: file.output,
    })?;
    drop(position);
    let order = topological_order(&nodes)?;

    let graph = Graph::new();
    graph.reserve(nodes.len(), nodes.operands.len());
    let mut built: Vec<Option<NodeId>> = vec![None; nodes.len()];
    let mut input_values = Vec::new();
    let mut args: Vec<NodeId> = Vec::new();
    for p in order {
        let label = nodes.label(p);
        let at = |error: Error| Error::GraphFileNode {
            node: nodes.ids[p],
            error: Box::new(error),
        };
        let id = match nodes.kinds[p] {
            Kind::Input(value) => {
                input_values.push(value);
                graph.input(label).id()
            }
            Kind::Param(value) => graph.param(label, value).id(),
            Kind::Const(value) => {
                let id = graph.constant(value).id();
                graph.set_label(id, label)?;
                id
            }
            Kind::Op(op) => {
                args.clear();
                args.extend(
                    nodes
                        .operands(p)
                        .iter()
                        .map(|&q| built[q as usize].expect("internal error: operands come first")),
                );
                let id = graph.try_op(op, &args).map_err(at)?;
                graph.set_label(id, label)?;
                id
            }
        };
        built[p] = Some(id);
    }
    let node = |p: usize| built[p].expect("internal error: every node is built");
    Ok(LoadedGraph {
        nodes: nodes
            .ids
            .iter()
            .enumerate()
            .map(|(p, &id)| (id, node(p)))
            .collect(),
        output: node(output),
        input_values,
        graph,
    })
}

/// Checks a node's op name and fields.
fn kind(node: &NodeIn<'_>) -> Result<Kind> {
    let name = &*node.op;
    let field = |field: &str, given: Option<Option<f64>>| -> Result<f64> {
        match given {
            None => Err(Error::MissingField {
                op: name.into(),
                field: field.into(),
            }),
            Some(None) => Err(Error::NonFiniteConstant {
                what: format!("the {field} of {name} (null in the file)"),
                value: f64::NAN,
            }),
            Some(Some(v)) => Ok(v),
        }
    };
    let kind = match name {
        "input" => Kind::Input(field("value", node.value)?),
        "param" => Kind::Param(field("value", node.value)?),
        "const" => Kind::Const(field("value", node.value)?),
        other => {
            let op = Op::kind_named(other).ok_or_else(|| Error::UnknownOp {
                name: other.into(),
                known: node_kinds(),
            })?;
            match op.parameter() {
                None => Kind::Op(op),
                Some((parameter, _)) => {
                    let given = match parameter {
                        "slope" => node.slope,
                        "exponent" => node.exponent,
                        _ => node.low,
                    };
                    Kind::Op(op.with_parameter(field(parameter, given)?))
                }
            }
        }
    };
    // a constant the node does not take is a mistake, not something to ignore
    let takes = match kind {
        Kind::Input(_) | Kind::Param(_) | Kind::Const(_) => Some("value"),
        Kind::Op(op) => op.parameter().map(|(name, _)| name),
    };
    let given = [
        ("value", node.value.is_some()),
        ("slope", node.slope.is_some()),
        ("exponent", node.exponent.is_some()),
        ("low", node.low.is_some()),
    ];
    if let Some((extra, _)) = given.iter().find(|&&(f, g)| g && Some(f) != takes) {
        return Err(Error::InvalidOption {
            name: (*extra).into(),
            reason: format!("{name} takes no {extra}"),
        });
    }
    if matches!(kind, Kind::Input(_) | Kind::Param(_) | Kind::Const(_)) && !node.operands.is_empty()
    {
        return Err(Error::Arity {
            op: name.into(),
            expected: "0".into(),
            got: node.operands.len(),
        });
    }
    Ok(kind)
}

/// Kahn's algorithm over file positions (`nodes`' operands resolved to positions); among ready
/// nodes, the first in the file goes first. On a cycle, names one.
///
/// A file already in topological order (every operand before its user, as [`save_graph`]
/// writes them) is in the order Kahn's algorithm gives, file order: it is recognised in one
/// pass, without the consumer lists and the heap.
fn topological_order(nodes: &FileNodes) -> Result<Vec<usize>> {
    let n = nodes.len();
    if (0..n).all(|p| nodes.operands(p).iter().all(|&q| (q as usize) < p)) {
        return Ok((0..n).collect());
    }
    let mut waiting: Vec<usize> = (0..n).map(|p| nodes.operands(p).len()).collect();
    // the consumers of q are consumers[consumer_ends[q - 1]..consumer_ends[q]], in file order
    let mut consumer_ends = vec![0usize; n];
    for &q in &nodes.operands {
        consumer_ends[q as usize] += 1;
    }
    let mut end = 0;
    for count in &mut consumer_ends {
        end += *count;
        *count = end;
    }
    let mut consumers = vec![0usize; end];
    for p in (0..n).rev() {
        for &q in nodes.operands(p).iter().rev() {
            consumer_ends[q as usize] -= 1;
            consumers[consumer_ends[q as usize]] = p;
        }
    }
    // consumer_ends[q] is now where q's consumers start; they end where q + 1's start
    let consumers_of = |q: usize| {
        let stop = consumer_ends.get(q + 1).copied().unwrap_or(consumers.len());
        &consumers[consumer_ends[q]..stop]
    };
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&p| waiting[p] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(p)) = ready.pop() {
        order.push(p);
        for &c in consumers_of(p) {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left waits on an operand that is also left: walk operands until one repeats.
    let mut step_of: HashMap<usize, usize> = HashMap::new();
    let mut path = Vec::new();
    let mut p = (0..n)
        .find(|&p| waiting[p] > 0)
        .expect("internal error: a node is left");
    while let std::collections::hash_map::Entry::Vacant(e) = step_of.entry(p) {
        e.insert(path.len());
        path.push(p);
        p = *nodes
            .operands(p)
            .iter()
            .find(|&&q| waiting[q as usize] > 0)
            .expect("internal error: a waiting node has a waiting operand") as usize;
    }
    // path[step_of[p]..] walks consumer -> operand; reverse it to read operand -> consumer
    let ids = &nodes.ids;
    let mut cycle: Vec<u64> = path[step_of[&p]..].iter().rev().map(|&q| ids[q]).collect();
    let smallest = (0..cycle.len())
        .min_by_key(|&k| cycle[k])
        .expect("internal error: a cycle has a node");
    cycle.rotate_left(smallest);
    cycle.push(cycle[0]);
    Err(Error::GraphCycle { nodes: cycle })
}

/// Any graph as a graph file's JSON text: nodes in creation order, each id its index, one node
/// per line. A parameter is written with the value it was created with.
///
/// # Errors
/// [`Error::ForeignNode`] or [`Error::UnknownNode`] for an `output` not in the graph;
/// [`Error::Shape`] for `input_values` not one per input; [`Error::NonFiniteConstant`] for a
/// value JSON cannot hold (an input value, a leaf, an op's constant).
///
/// # Complexity
/// O(nodes + operands) time; the text (about 50 bytes a node) and the operands of one node in
/// memory. [`save_graph_file`] writes to a file without holding the text.
///
/// # Examples
/// ```
/// use backprop::graph_file::{from_json_str, save_graph};
/// let g = backprop::Graph::new();
/// let x = g.input("x");
/// let y = (x * g.param("w", 0.5)).sigmoid();
/// let text = save_graph(&g, y.id(), &[2.0])?;
/// let back = from_json_str(&text)?;
/// assert_eq!(save_graph(&back.graph, back.output, &back.input_values)?, text);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn save_graph(graph: &Graph, output: NodeId, input_values: &[f64]) -> Result<String> {
    check_saved(graph, output, input_values)?;
    let mut text = Vec::new();
    write_graph(&mut text, graph, output, input_values)
        .map_err(|e| from_io(Path::new("the graph file's text"), e))?;
    Ok(String::from_utf8(text).expect("internal error: JSON is UTF-8"))
}

/// Writes [`save_graph`]'s text to `path`, node by node, atomically (see
/// [`write_atomically_with`]): a crash or an error leaves the old file, or none.
///
/// # Errors
/// Those of [`save_graph`], and [`Error::Io`] naming `path`.
///
/// # Complexity
/// O(nodes + operands) time; memory for one node at a time, whatever the size of the graph.
///
/// # Examples
/// ```
/// use backprop::graph_file::{load_graph, save_graph, save_graph_file};
/// let g = backprop::Graph::new();
/// let x = g.input("x");
/// let y = (x * x).sigmoid();
/// let path = std::env::temp_dir().join(format!("backprop-doc-graph-{}.json", std::process::id()));
/// save_graph_file(&path, &g, y.id(), &[2.0])?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), save_graph(&g, y.id(), &[2.0])?);
/// assert_eq!(load_graph(&path)?.graph.len(), 3);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn save_graph_file(
    path: impl AsRef<Path>,
    graph: &Graph,
    output: NodeId,
    input_values: &[f64],
) -> Result<()> {
    check_saved(graph, output, input_values)?;
    write_atomically_with(path, |out| write_graph(out, graph, output, input_values))
}

/// The checks of [`save_graph`] that come before any node is written.
fn check_saved(graph: &Graph, output: NodeId, input_values: &[f64]) -> Result<()> {
    graph.kind(output)?;
    let inputs = graph.input_nodes();
    if input_values.len() != inputs.len() {
        return Err(Error::Shape {
            what: "input values (one per input of the graph)".into(),
            expected: inputs.len(),
            got: input_values.len(),
        });
    }
    Ok(())
}

/// Writes the graph file, node by node; an error of this library (a value JSON cannot hold)
/// comes as `std::io::Error::other`, after the nodes before it.
fn write_graph(
    out: &mut dyn Write,
    graph: &Graph,
    output: NodeId,
    input_values: &[f64],
) -> std::io::Result<()> {
    let fail = std::io::Error::other;
    write!(
        out,
        "{{\n  \"format\": \"{FORMAT}\",\n  \"version\": {VERSION},\n  \"nodes\": [\n    "
    )?;
    for node in graph.nodes() {
        let kind = graph.kind(node).map_err(fail)?;
        let label = graph.label(node).map_err(fail)?;
        let operands: Vec<u64> = graph
            .operands(node)
            .map_err(fail)?
            .iter()
            .map(|o| o.index() as u64)
            .collect();
        let mut row = NodeOut {
            id: node.index() as u64,
            op: kind.name(),
            label: label.as_deref(),
            value: None,
            slope: None,
            exponent: None,
            low: None,
            operands: &operands,
        };
        let constant = match kind {
            NodeKind::Input { slot } => Some(("value", input_values[slot as usize])),
            NodeKind::Param { value, .. } | NodeKind::Const(value) => Some(("value", value)),
            NodeKind::Op(op) => op.parameter(),
        };
        if let Some((field, value)) = constant {
            if !value.is_finite() {
                return Err(fail(Error::NonFiniteConstant {
                    what: format!("the {field} of node {} ({})", node.index(), kind.name()),
                    value,
                }));
            }
            let slot = match field {
                "value" => &mut row.value,
                "slope" => &mut row.slope,
                "exponent" => &mut row.exponent,
                "low" => &mut row.low,
                other => {
                    return Err(fail(Error::InvalidOption {
                        name: other.into(),
                        reason: format!("graph file version {VERSION} has no field for it"),
                    }));
                }
            };
            *slot = Some(value);
        }
        if node.index() > 0 {
            out.write_all(b",\n    ")?;
        }
        serde_json::to_writer(&mut *out, &row)?;
    }
    writeln!(out, "\n  ],\n  \"output\": {}\n}}", output.index())
}
