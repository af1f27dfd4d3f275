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
//! and inputs and parameters take their slots in file order. [`save_graph`] writes nodes in
//! creation order with their index as id, so that loading what it wrote gives the same graph.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::read_to_string_limited;
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
    nodes: Vec<NodeIn>,
    output: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a node object")]
struct NodeIn {
    id: u64,
    op: String,
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
    check_header(text, "graph", FORMAT, VERSION)?;
    let file: GraphIn = serde_json::from_str(text).map_err(|e| invalid("graph", e.to_string()))?;
    if file.nodes.is_empty() {
        return Err(invalid(
            "graph",
            "\"nodes\" is empty: a graph needs at least 1 node".into(),
        ));
    }
    let mut position: HashMap<u64, usize> = HashMap::with_capacity(file.nodes.len());
    for (p, node) in file.nodes.iter().enumerate() {
        if position.insert(node.id, p).is_some() {
            return Err(Error::DuplicateNodeId { id: node.id });
        }
    }
    let kinds = file
        .nodes
        .iter()
        .map(|node| {
            kind(node).map_err(|error| Error::GraphFileNode {
                node: node.id,
                error: Box::new(error),
            })
        })
        .collect::<Result<Vec<Kind>>>()?;
    let operands = file
        .nodes
        .iter()
        .map(|node| {
            node.operands
                .iter()
                .map(|id| {
                    position.get(id).copied().ok_or(Error::DanglingNode {
                        user: format!("node {}", node.id),
                        missing: *id,
                    })
                })
                .collect::<Result<Vec<usize>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let output = *position.get(&file.output).ok_or(Error::DanglingNode {
        user: "the output".into(),
        missing: file.output,
    })?;
    let ids: Vec<u64> = file.nodes.iter().map(|n| n.id).collect();
    let order = topological_order(&ids, &operands)?;

    let graph = Graph::new();
    let mut built: Vec<Option<NodeId>> = vec![None; ids.len()];
    let mut input_values = Vec::new();
    for p in order {
        let node = &file.nodes[p];
        let label = node.label.as_deref().unwrap_or("");
        let at = |error: Error| Error::GraphFileNode {
            node: node.id,
            error: Box::new(error),
        };
        let id = match kinds[p] {
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
                let args: Vec<NodeId> = operands[p]
                    .iter()
                    .map(|&q| built[q].expect("internal error: operands come first"))
                    .collect();
                let id = graph.try_op(op, &args).map_err(at)?;
                graph.set_label(id, label)?;
                id
            }
        };
        built[p] = Some(id);
    }
    let node = |p: usize| built[p].expect("internal error: every node is built");
    Ok(LoadedGraph {
        nodes: ids
            .iter()
            .enumerate()
            .map(|(p, &id)| (id, node(p)))
            .collect(),
        output: node(output),
        input_values,
        graph,
    })
}

/// Reads a graph file (at most [`MAX_FILE_BYTES`]).
///
/// # Errors
/// [`Error::Io`], [`Error::TooLarge`], and those of [`from_json_str`].
pub fn load_graph(path: impl AsRef<Path>) -> Result<LoadedGraph> {
    let text = read_to_string_limited(path.as_ref(), MAX_FILE_BYTES)?;
    from_json_str(&text)
}

/// Checks a node's op name and fields.
fn kind(node: &NodeIn) -> Result<Kind> {
    let name = node.op.as_str();
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

/// Kahn's algorithm over file positions; among ready nodes, the first in the file goes first.
/// On a cycle, names one.
fn topological_order(ids: &[u64], operands: &[Vec<usize>]) -> Result<Vec<usize>> {
    let n = ids.len();
    let mut waiting: Vec<usize> = operands.iter().map(Vec::len).collect();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (p, ops) in operands.iter().enumerate() {
        for &q in ops {
            consumers[q].push(p);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&p| waiting[p] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(p)) = ready.pop() {
        order.push(p);
        for &c in &consumers[p] {
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
        p = *operands[p]
            .iter()
            .find(|&&q| waiting[q] > 0)
            .expect("internal error: a waiting node has a waiting operand");
    }
    // path[step_of[p]..] walks consumer -> operand; reverse it to read operand -> consumer
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
    graph.kind(output)?;
    let inputs = graph.input_nodes();
    if input_values.len() != inputs.len() {
        return Err(Error::Shape {
            what: "input values (one per input of the graph)".into(),
            expected: inputs.len(),
            got: input_values.len(),
        });
    }
    let mut lines = Vec::with_capacity(graph.len());
    for node in graph.nodes() {
        let kind = graph.kind(node)?;
        let label = graph.label(node)?;
        let operands: Vec<u64> = graph
            .operands(node)?
            .iter()
            .map(|o| o.index() as u64)
            .collect();
        let mut out = NodeOut {
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
                return Err(Error::NonFiniteConstant {
                    what: format!("the {field} of node {} ({})", node.index(), kind.name()),
                    value,
                });
            }
            let slot = match field {
                "value" => &mut out.value,
                "slope" => &mut out.slope,
                "exponent" => &mut out.exponent,
                "low" => &mut out.low,
                other => {
                    return Err(Error::InvalidOption {
                        name: other.into(),
                        reason: format!("graph file version {VERSION} has no field for it"),
                    });
                }
            };
            *slot = Some(value);
        }
        lines.push(
            serde_json::to_string(&out)
                .expect("internal error: a node of finite numbers serialises"),
        );
    }
    Ok(format!(
        "{{\n  \"format\": \"{FORMAT}\",\n  \"version\": {VERSION},\n  \"nodes\": [\n    {}\n  ],\n  \"output\": {}\n}}\n",
        lines.join(",\n    "),
        output.index()
    ))
}
