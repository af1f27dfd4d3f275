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

mod order;
mod save;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::files::read_to_string_limited;
use crate::graph::{Graph, NodeId};
use crate::model_file::{check_header, invalid, present};
use crate::op::{Op, Unary};
use order::topological_order;
pub use save::{save_graph, save_graph_file};

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
            // the file's field for the op's parameter, if it has one
            let given = match op {
                Op::Unary(Unary::LeakyRelu { .. }) => Some(node.slope),
                Op::Unary(Unary::Powf { .. }) => Some(node.exponent),
                Op::Unary(Unary::Step { .. }) => Some(node.low),
                Op::Unary(
                    Unary::Identity
                    | Unary::Neg
                    | Unary::Exp
                    | Unary::Ln
                    | Unary::Sigmoid
                    | Unary::Tanh
                    | Unary::Relu
                    | Unary::Abs,
                )
                | Op::Binary(_)
                | Op::Sum
                | Op::Dot
                | Op::Max => None,
            };
            match (given, op.parameter()) {
                (Some(given), Some((parameter, _))) => {
                    Kind::Op(op.with_parameter(field(parameter, given)?))
                }
                // no parameter (the op's and the match above agree: `Op::parameter`)
                (None, _) | (Some(_), None) => Kind::Op(op),
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
