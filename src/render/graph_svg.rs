//! The SVG picture of a graph, laid out and drawn by `layout-rs` (a Graphviz-like layout engine
//! written in Rust), with the same labels as the DOT text.

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use crate::graph::{Graph, Inner, Node, NodeKind};
use crate::render::labels::{edges, node_lines, operand_label};
use crate::render::svg::{Anchor, Svg};

/// The most boxes (nodes, edge labels, and one per layer an edge crosses) that [`graph_svg`]
/// asks `layout-rs` to place; a graph needing more gives an SVG saying so. Crossing
/// minimisation is used up to [`GRAPH_SVG_OPTIMISED_MAX_BOXES`]: its time grows steeply (about
/// a second at 400 boxes on one core), the plain layout's about quadratically (under half a
/// second at 10,000).
pub const GRAPH_SVG_MAX_BOXES: usize = 10_000;

/// The most boxes for which [`graph_svg`] lets `layout-rs` reorder ranks and minimise edge
/// crossings; larger graphs are laid out without, faster and with more crossings.
pub const GRAPH_SVG_OPTIMISED_MAX_BOXES: usize = 400;

/// The font size of node and edge text (one size: `layout-rs` lists its font classes in
/// hash-map order, so a single class keeps the output deterministic).
const FONT_SIZE: usize = 13;

/// The SVG picture of `graph`, laid out top to bottom (operands above the ops that use them)
/// without any system tool.
///
/// Nodes carry the same text as in [`graph_dot`](crate::render::graph_dot): label, kind, and
/// optionally `value = ...` and `grad = ...` from `values` and `gradients` (indexed by node
/// index; nodes beyond the end of a slice show no number). Inputs are blue, parameters yellow,
/// constants grey, ops white; edges into `sub`, `div` and `dot` are labelled with the operand's
/// position.
///
/// An empty graph, or one whose layout would need more than [`GRAPH_SVG_MAX_BOXES`] boxes
/// (for instance one parameter shared by every op of a chain of 150), gives a small SVG that
/// says so instead of a drawing: render its DOT text with Graphviz instead.
///
/// # Complexity
/// Dominated by `layout-rs`; bounded by [`GRAPH_SVG_OPTIMISED_MAX_BOXES`] and [`GRAPH_SVG_MAX_BOXES`] to
/// about a second. Estimating the size is O(nodes + edges).
///
/// # Examples
/// ```
/// use backprop::Graph;
/// let g = Graph::new();
/// let x = g.input("x");
/// let y = (x * x).labelled("square");
/// let svg = backprop::render::graph_svg(&g, Some(&[3.0, 9.0]), None);
/// assert!(svg.contains("square") && svg.contains("value = 9.0000"));
/// # let _ = y;
/// ```
pub fn graph_svg(graph: &Graph, values: Option<&[f64]>, gradients: Option<&[f64]>) -> String {
    if graph.is_empty() {
        return message_svg("empty graph: nothing to draw");
    }
    graph.with_inner(|inner| {
        let (optimised_boxes, plain_boxes) = layout_sizes(inner);
        let optimise = optimised_boxes <= GRAPH_SVG_OPTIMISED_MAX_BOXES;
        if !optimise && plain_boxes > GRAPH_SVG_MAX_BOXES {
            return message_svg(&format!(
                "graph of {} nodes: about {plain_boxes} boxes to lay out, more than \
                 {GRAPH_SVG_MAX_BOXES}; render its DOT text with Graphviz",
                inner.len()
            ));
        }
        let direction = Orientation::TopToBottom;
        // layout-rs shapes grow across the graph's direction, as its own DOT front end does.
        let shape_direction = direction.flip();
        let mut visual = VisualGraph::new(direction);
        // layout-rs re-checks the whole graph for cycles after every edge it adds; ours is a DAG
        // by construction (operands exist before their ops), so the check only costs time.
        visual.dag.set_validate(false);
        let handles: Vec<_> = (0..inner.len())
            .map(|index| {
                let kind = &inner
                    .kind(index)
                    .expect("internal error: a node of the graph");
                let text = node_lines(inner, index, values, gradients)
                    .iter()
                    .map(|line| plain(line))
                    .collect::<Vec<_>>()
                    .join("\n");
                let shape = ShapeKind::Box(text);
                let size = get_shape_size(shape_direction, &shape, FONT_SIZE, false);
                let look = StyleAttr::new(
                    Color::new(0x111827ff),
                    1,
                    Some(Color::new(fill(kind))),
                    if matches!(kind, NodeKind::Op(_)) {
                        12
                    } else {
                        0
                    },
                    FONT_SIZE,
                );
                visual.add_node(Element::create(shape, look, shape_direction, size))
            })
            .collect();
        for (operand, op, position) in edges(inner) {
            let text = operand_label(inner.kind(op).as_ref(), position).unwrap_or_default();
            let mut arrow = Arrow::simple(&text);
            arrow.look = StyleAttr::new(Color::new(0x4b5563ff), 1, None, 0, FONT_SIZE);
            visual.add_edge(arrow, handles[operand], handles[op]);
        }
        let mut writer = SVGWriter::new();
        visual.do_it(false, !optimise, false, &mut writer);
        styles_in_order(writer.finalize())
    })
}

/// `svg` with the lines of its `<style>` block sorted. `layout-rs` lists a class per font size
/// there in the order of a `HashMap`, which changes from run to run (and between two maps of
/// one run); it draws some edge labels at its own default size besides ours, so there can be
/// two classes, and the same graph gave different bytes.
fn styles_in_order(svg: String) -> String {
    let Some(start) = svg.find("<style>\n").map(|k| k + "<style>\n".len()) else {
        return svg;
    };
    let Some(end) = svg[start..].find("</style>").map(|k| start + k) else {
        return svg;
    };
    let mut lines: Vec<&str> = svg[start..end].lines().collect();
    lines.sort_unstable();
    let mut sorted = String::with_capacity(svg.len());
    sorted.push_str(&svg[..start]);
    for line in lines {
        sorted.push_str(line);
        sorted.push('\n');
    }
    sorted.push_str(&svg[end..]);
    sorted
}

/// Estimates of the number of boxes `layout-rs` places, `(with, without)` its rank optimiser:
/// the nodes, one connector per labelled edge, and one per rank an edge crosses. Ranks are
/// longest paths from the sources, a labelled edge spanning two; the optimiser pulls each leaf
/// down to just above its first user, without it leaves stay on the top rank.
fn layout_sizes(inner: &Inner) -> (usize, usize) {
    let edges = edges(inner);
    let span = |op: usize, position: u32| -> usize {
        1 + usize::from(operand_label(inner.kind(op).as_ref(), position).is_some())
    };
    let mut rank = vec![0usize; inner.len()];
    // edges are listed op by op in creation order, so operands are ranked before their ops
    for &(operand, op, position) in &edges {
        rank[op] = rank[op].max(rank[operand] + span(op, position));
    }
    let boxes = |rank: &[usize]| -> usize {
        edges.iter().fold(rank.len(), |boxes, &(operand, op, _)| {
            boxes.saturating_add(rank[op].saturating_sub(rank[operand]).saturating_sub(1))
        })
    };
    let plain = boxes(&rank);
    let mut first_use = vec![usize::MAX; rank.len()];
    for &(operand, op, position) in &edges {
        first_use[operand] = first_use[operand].min(rank[op].saturating_sub(span(op, position)));
    }
    let mut pulled = rank;
    for index in 0..pulled.len() {
        if !matches!(inner.node(index), Some(Node::Op(_))) && first_use[index] != usize::MAX {
            pulled[index] = first_use[index];
        }
    }
    (boxes(&pulled), plain)
}

/// The fill colour (RGBA) of a node of this kind.
fn fill(kind: &NodeKind) -> u32 {
    match kind {
        NodeKind::Input { .. } => 0xdbeafeff,
        NodeKind::Param { .. } => 0xfef3c7ff,
        NodeKind::Const(_) => 0xe5e7ebff,
        NodeKind::Op(_) => 0xffffffff,
    }
}

/// `text` without characters XML cannot hold (`layout-rs` escapes the others itself) and on one
/// line (lines are how `layout-rs` separates our label lines).
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A small SVG holding one line of text, in place of a picture.
fn message_svg(message: &str) -> String {
    let width = 40.0 + 7.0 * message.chars().count() as f64;
    let mut svg = Svg::new(width, 60.0);
    svg.text(20.0, 35.0, Anchor::Start, "note", message);
    svg.finish()
}
