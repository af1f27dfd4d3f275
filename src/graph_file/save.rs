//! Writing a graph file: as a string, or streamed to a file.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::files::{from_io, write_atomically_with};
use crate::graph::{Graph, NodeId, NodeKind};

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
