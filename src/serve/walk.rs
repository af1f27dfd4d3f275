//! One association walked through a layered network, as the playground's ordered steps: the
//! forward pass node by node, the error, the backward pass layer by layer, the update.
//!
//! Every number is the engine's: `x`, `y`, `delta` and the adjoints come from
//! [`Mlp::evaluate`] (the graph's reverse sweep), the gradients and the updated weights from
//! [`crate::trace::Trace::training_step`] (what `backprop walkthrough` prints), `f'(x)` from the
//! activation op's own derivative ([`crate::op::Unary::derivative`]). The textbook delta rule
//! ([`crate::textbook::TextbookNet`]) is run beside them as the second opinion, and each
//! quantity carries both values and their difference. This module arranges and formats; it owns
//! no maths. The types are here; `walk/phases.rs` writes each phase's steps, `walk/steps.rs`
//! their numbers and formulas, `walk/snapshot.rs` the diagram's values and the graph panel.

use serde::Serialize;

use crate::error::Result;
use crate::nn::Mlp;
use crate::trace::Section;

mod phases;
mod snapshot;
mod steps;

use phases::Walker;
use steps::Builder;
pub use steps::number;

/// The most quantities a step lists; a step of a larger layer says how many it left out.
pub const MAX_QUANTITIES: usize = 200;

/// The largest graph whose nodes a walk sends for the graph panel.
/// (The page draws one box per neuron past a few dozen nodes.)
pub const GRAPH_PANEL_MAX_NODES: usize = 3_000;

/// The largest network whose every weight, gradient and updated weight a walk sends for the
/// network diagram.
pub const DIAGRAM_MAX_WEIGHTS: usize = 5_000;

/// Where in the training step a [`Step`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// `x` and `y` of one node.
    Forward,
    /// The error `E_t`.
    Error,
    /// The deltas of one layer and the gradients of the weights into it.
    Backward,
    /// `w - learning_rate * dE/dw` for every weight.
    Update,
}

/// One number of a step: its name in the tutorial's notation, the formula with the numbers put
/// in, the graph's value, the textbook delta rule's value and their difference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quantity {
    /// As in `backprop walkthrough`: `x_j[0]`, `delta_j[1]`, `dE/dw_jk[1->0]`, `w_ij[0->1]`, ...
    pub name: String,
    /// The section of `backprop walkthrough`'s trace the quantity belongs to (sent as its
    /// title: `forward pass`, `error`, `backward pass (deltas)`, `gradients`, `update`,
    /// `forward pass after the update`).
    #[serde(serialize_with = "section_title")]
    pub section: Section,
    /// `name = formula = numbers = value`, numbers to 6 decimals.
    pub formula: String,
    /// The engine's value (reverse mode over the graph), exact.
    pub graph: f64,
    /// The textbook delta rule's value, exact.
    pub textbook: f64,
    /// `graph - textbook`.
    pub difference: f64,
}

fn section_title<S: serde::Serializer>(
    section: &Section,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(section.title())
}

/// What the network diagram shows at a step (the page reveals the walk's [`Values`] up to it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reveal {
    /// `x` and `y` are shown for every node up to this `[layer, node]` in forward order.
    pub forward_through: [usize; 2],
    /// Whether the error is shown.
    pub error: bool,
    /// Deltas are shown for layers from this one on, and `dE/dw` for the weights into them.
    pub deltas_from: Option<usize>,
    /// Whether the updated weights are shown.
    pub updated: bool,
}

/// What the graph panel shows at a step: the nodes being processed, and which nodes have their
/// value and their adjoint known by then.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphFocus {
    /// The nodes this step computes (highlighted), by index.
    pub focus: Vec<usize>,
    /// Op nodes of index below this have their value (leaves always do).
    pub values_below: usize,
    /// Nodes whose adjoint `dE/dnode` the reverse sweep has completed by this step.
    pub adjoints_known: Vec<usize>,
}

/// One step of the walk.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Where in the training step.
    pub phase: Phase,
    /// A heading (`forward: node j[0]`).
    pub title: String,
    /// The step's numbers, at most [`MAX_QUANTITIES`].
    pub quantities: Vec<Quantity>,
    /// How many quantities were left out.
    pub omitted: usize,
    /// The network diagram at this step.
    pub reveal: Reveal,
    /// The graph panel at this step (empty lists for a graph too large to show).
    pub graph: GraphFocus,
}

/// Every number the network diagram can show, by `[layer][node]` and `[layer][to][from]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Values {
    /// Nodes per layer.
    pub sizes: Vec<usize>,
    /// Activation names of layers `1..=L`.
    pub activations: Vec<String>,
    /// The bias node's value, if any.
    pub bias: Option<f64>,
    /// `x` of each node.
    pub x: Vec<Vec<f64>>,
    /// `y` of each node.
    pub y: Vec<Vec<f64>>,
    /// `delta` of each node (layer 0: empty).
    pub delta: Vec<Vec<f64>>,
    /// The expected outputs `y'`.
    pub target: Vec<f64>,
    /// `E_t` before and after the update.
    pub error: [f64; 2],
    /// `w[l][j][i]` (empty above [`DIAGRAM_MAX_WEIGHTS`]).
    pub w: Vec<Vec<Vec<f64>>>,
    /// `dE/dw[l][j][i]` (idem).
    pub grad_w: Vec<Vec<Vec<f64>>>,
    /// The updated `w[l][j][i]` (idem).
    pub new_w: Vec<Vec<Vec<f64>>>,
    /// `b[l][j]`, its gradient, its update (idem; empty without bias).
    pub b: Vec<Vec<[f64; 3]>>,
}

/// A node of the scalar-op graph, for the graph panel.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphNode {
    /// Its label (`x1[0]`, `w0[1->0]`), or its kind.
    pub label: String,
    /// `input`, `param`, `const` or the op's name (`dot`, `sigmoid`, `sub`, ...).
    pub kind: String,
    /// Its operands' indices, in order.
    pub operands: Vec<usize>,
    /// Its value in this association's forward pass.
    pub value: f64,
    /// Its adjoint `dE_t/dnode` from the reverse sweep.
    pub adjoint: f64,
    /// The longest path from a leaf (the panel's column).
    pub depth: usize,
    /// The neuron `[layer, node]` it belongs to: its input `x`, its output `y`, and the
    /// weights into it (the bias weight included); `None` for the bias, targets and loss.
    pub neuron: Option<[usize; 2]>,
}

/// The whole walk of one association: the steps, the diagram's numbers, the graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Walk {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The network diagram's numbers.
    pub values: Values,
    /// The graph's nodes (empty above [`GRAPH_PANEL_MAX_NODES`]).
    pub graph: Vec<GraphNode>,
    /// The learning rate of the update.
    pub learning_rate: f64,
}

/// Walks one association (`input`, `target`) through `net` with the update
/// `w = w - learning_rate * dE_t/dw`. The network is not changed.
///
/// # Errors
/// [`crate::Error::Shape`] for an input or target of the wrong width; in anomaly mode, the
/// first non-finite node.
///
/// # Complexity
/// One forward and backward pass of the graph and of the textbook rule, twice (before and after
/// the update): O(weights). Formulas are built for at most [`MAX_QUANTITIES`] per step.
///
/// # Examples
/// ```
/// use backprop::serve::walk::walk;
/// use backprop::tutorial::{worked_example, WORKED_INPUT, WORKED_LEARNING_RATE, WORKED_TARGET};
/// let walk = walk(&worked_example()?, &WORKED_INPUT, &WORKED_TARGET, WORKED_LEARNING_RATE)?;
/// let delta_j = walk.steps.iter().flat_map(|s| &s.quantities)
///     .find(|q| q.name == "delta_j[0]").unwrap();
/// assert!(delta_j.formula.ends_with("= 0.196612 * (0.231059 * 0.5) = 0.022714"));
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn walk(net: &Mlp, input: &[f64], target: &[f64], learning_rate: f64) -> Result<Walk> {
    let walker = Walker::new(net, input, target, learning_rate)?;
    let mut b = Builder { steps: Vec::new() };
    walker.forward(&mut b)?;
    walker.error(&mut b, target);
    walker.backward(&mut b)?;
    walker.update(&mut b)?;
    let values = snapshot::values(net, (&walker.eval, &walker.after), &walker.trace, target)?;
    let graph_nodes = if walker.show_graph {
        snapshot::graph_nodes(net, &walker.operands, &walker.node_values, &walker.adjoints)?
    } else {
        Vec::new()
    };
    Ok(Walk {
        steps: b.steps,
        values,
        graph: graph_nodes,
        learning_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_drop_trailing_zeros_down_to_one() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1.0), "1.0");
        assert_eq!(number(-0.0), "0.0");
        assert_eq!(number(0.2310585786300049), "0.231059");
        assert_eq!(number(-1e-9), "-1.000000e-9");
        assert_eq!(number(0.01), "0.01");
    }
}
