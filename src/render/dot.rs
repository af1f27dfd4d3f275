//! The DOT text of a graph: our own node and edge attributes, written by `petgraph`'s DOT
//! writer (which the graph runs: petgraph stays in `graph/`).

use crate::graph::{Graph, Node};
use crate::render::labels::{node_lines, operand_label};

/// The DOT text (Graphviz) of `graph`, for `dot -Tsvg` or any DOT viewer.
///
/// Each node is named by its index in creation order and labelled with its label (or `#index`),
/// its kind (`input`, `param = 0.5000`, `const = 1.0000`, or the op, e.g. `sigmoid`), and, when
/// given, `value = ...` from `values` and `grad = ...` from `gradients`, both indexed by node
/// index (e.g. from [`Tape::value`](crate::Tape::value) per node and
/// [`Gradients::as_slice`](crate::Gradients::as_slice)). Nodes beyond the end of a slice are
/// shown without that number. Inputs are blue ellipses, parameters yellow boxes, constants grey
/// boxes, ops white ellipses. Edges go from operand to op; where the order of operands matters
/// (`sub`, `div`, `dot`) they are labelled with the operand's position.
///
/// Numbers have 4 decimals (scientific notation for magnitudes below `1e-4` or from `1e6`), so
/// the same graph and numbers always give the same text.
///
/// # Complexity
/// O(nodes + edges).
///
/// # Examples
/// ```
/// use backprop::Graph;
/// let g = Graph::new();
/// let (a, b) = (g.input("a"), g.param("b", 2.0));
/// let d = a - b;
/// let dot = backprop::render::graph_dot(&g, Some(&[5.0, 2.0, 3.0]), None);
/// assert!(dot.starts_with("digraph {"));
/// assert!(dot.contains("label = \"#2\\nsub\\nvalue = 3.0000\""));
/// assert!(dot.contains("1 -> 2 [ label = \"1\" ]"));
/// # let _ = d;
/// ```
pub fn graph_dot(graph: &Graph, values: Option<&[f64]>, gradients: Option<&[f64]>) -> String {
    let mut text = Vec::new();
    write_graph_dot(&mut text, graph, values, gradients)
        .expect("internal error: writing into memory cannot fail");
    String::from_utf8(text).expect("internal error: the DOT text is UTF-8")
}

/// Writes [`graph_dot`]'s text to `out` as it is made, node by node, without holding it all
/// (with a buffered `out`: for large graphs).
///
/// # Errors
/// Those of `out`.
///
/// # Complexity
/// O(nodes + edges) time; memory: 4 bytes an edge.
///
/// # Examples
/// ```
/// use backprop::Graph;
/// use backprop::render::{graph_dot, write_graph_dot};
/// let g = Graph::new();
/// let y = (g.input("x") * g.param("w", 2.0)).sigmoid();
/// let mut out = Vec::new();
/// write_graph_dot(&mut out, &g, None, None)?;
/// assert_eq!(String::from_utf8(out).unwrap(), graph_dot(&g, None, None));
/// # let _ = y;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_graph_dot(
    out: &mut dyn std::io::Write,
    graph: &Graph,
    values: Option<&[f64]>,
    gradients: Option<&[f64]>,
) -> std::io::Result<()> {
    graph.with_inner(|inner| {
        let node_attributes = |index: usize| {
            let node = inner
                .node(index)
                .expect("internal error: the graph lists its own nodes");
            let lines = node_lines(inner, index, values, gradients);
            let label = lines
                .iter()
                .map(|line| dot_escape(line))
                .collect::<Vec<_>>()
                .join("\\n");
            format!("label = \"{label}\" {} ", node_style(&node))
        };
        let edge_attributes =
            |op: usize, position: u32| match operand_label(inner.kind(op).as_ref(), position) {
                Some(position) => format!("label = \"{position}\" "),
                None => String::new(),
            };
        out.write_all(b"digraph {\n    node [ fontname = \"Helvetica\" fontsize = 10 ]\n")?;
        inner.write_dot_body(out, node_attributes, edge_attributes)?;
        out.write_all(b"}\n")
    })
}

/// The DOT shape and colours of a node of this kind.
fn node_style(node: &Node) -> &'static str {
    match node {
        Node::Input { .. } => "shape = ellipse style = filled fillcolor = \"#dbeafe\"",
        Node::Param { .. } => "shape = box style = filled fillcolor = \"#fef3c7\"",
        Node::Const(_) => "shape = box style = filled fillcolor = \"#e5e7eb\"",
        Node::Op(_) => "shape = ellipse",
    }
}

/// `text` inside a DOT double-quoted string: `"` and `\` escaped, line breaks as `\n`.
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
