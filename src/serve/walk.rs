//! One association walked through a layered network, as the playground's ordered steps: the
//! forward pass node by node, the error, the backward pass layer by layer, the update.
//!
//! Every number is the engine's: `x`, `y`, `delta` and the adjoints come from
//! [`Mlp::evaluate`] (the graph's reverse sweep), the gradients and the updated weights from
//! [`Trace::training_step`] (what `backprop walkthrough` prints), `f'(x)` from the activation
//! op's own derivative ([`crate::op::Unary::derivative`]). The textbook delta rule
//! ([`TextbookNet`]) is run beside them as the second opinion, and each quantity carries both
//! values and their difference. This module arranges and formats; it owns no maths.

use serde::Serialize;

use crate::error::Result;
use crate::nn::{Bias, Connection, Loss, Mlp, Reduction};
use crate::textbook::TextbookNet;
use crate::trace::{Section, Trace};

mod snapshot;
mod steps;

pub use steps::number;
use steps::{Builder, letter, products};

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
    let eval = net.evaluate(input, target)?;
    let trace = Trace::training_step(net, input, target, learning_rate)?;
    let after = net.evaluate_with_params(&trace.updated, input, target)?;
    let mut book = TextbookNet::from_mlp(net);
    let pass = book.pass(input, target)?;
    let (_, book_grads) = book.gradients(input, target, Reduction::Sum)?;
    book.update(&book_grads, learning_rate);
    let book_after = book.pass(input, target)?;

    let sizes = net.sizes().to_vec();
    let last = net.layers();
    let name = |l: usize| letter(sizes.len(), l);
    let bias = match net.spec().bias {
        Bias::None => None,
        Bias::Node(v) => Some(v),
    };
    let node_values = eval.node_values();
    let adjoints = eval.gradients().as_slice().to_vec();
    let graph = net.graph();
    let node_count = graph.len();
    let show_graph = node_count <= GRAPH_PANEL_MAX_NODES;
    let operands: Vec<Vec<usize>> = graph
        .nodes()
        .map(|n| {
            graph
                .operands(n)
                .map(|ops| ops.iter().map(|o| o.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    // the reverse sweep has completed the adjoint of every node from `cut` on, and of their
    // operands (each operand's users all come after it in creation order)
    let adjoints_known = |cut: usize| -> Vec<usize> {
        if !show_graph {
            return Vec::new();
        }
        let mut known = vec![false; node_count];
        for n in cut..node_count {
            known[n] = true;
            for &o in &operands[n] {
                known[o] = true;
            }
        }
        (0..node_count).filter(|&n| known[n]).collect()
    };
    let focus = |nodes: Vec<usize>| if show_graph { nodes } else { Vec::new() };
    let last_y = net.y_node(last, sizes[last] - 1)?.index();
    let mut b = Builder { steps: Vec::new() };

    // forward, node by node
    for l in 0..=last {
        for j in 0..sizes[l] {
            let reveal = Reveal {
                forward_through: [l, j],
                error: false,
                deltas_from: None,
                updated: false,
            };
            let (xn, yn) = (net.x_node(l, j)?.index(), net.y_node(l, j)?.index());
            let graph_focus = GraphFocus {
                focus: focus(if l == 0 { vec![xn] } else { vec![xn, yn] }),
                values_below: yn + 1,
                adjoints_known: Vec::new(),
            };
            let (x, y) = (eval.x(l, j)?, eval.y(l, j)?);
            let n = name(l);
            b.push(
                Phase::Forward,
                format!("forward: node {n}[{j}]"),
                reveal,
                graph_focus,
            );
            if l == 0 {
                b.quantity(
                    Section::Forward,
                    format!("y_{n}[{j}]"),
                    || format!("x_{n}[{j}] (identity input)"),
                    y,
                    pass.y[0][j],
                );
                continue;
            }
            let p = name(l - 1);
            let mut parts: Vec<(f64, f64)> = (0..sizes[l - 1])
                .map(|i| {
                    Ok((
                        net.weight(Connection {
                            layer: l - 1,
                            from: i,
                            to: j,
                        })?,
                        eval.y(l - 1, i)?,
                    ))
                })
                .collect::<Result<_>>()?;
            let mut sum = format!("sum_{p} w_{p}{n} y_{p}");
            if let Some(v) = bias {
                parts.push((net.bias_weight(l - 1, j)?, v));
                sum.push_str(&format!(" + b_{n} * {}", number(v)));
            }
            b.quantity(
                Section::Forward,
                format!("x_{n}[{j}]"),
                || format!("{sum} = {}", products(&parts)),
                x,
                pass.x[l][j],
            );
            let act = net.spec().activations[l - 1];
            b.quantity(
                Section::Forward,
                format!("y_{n}[{j}]"),
                || format!("{act}(x_{n}[{j}]) = {act}({})", number(x)),
                y,
                pass.y[l][j],
            );
        }
    }

    // the error
    let k = name(last);
    b.push(
        Phase::Error,
        "error".into(),
        Reveal {
            forward_through: [last, sizes[last] - 1],
            error: true,
            deltas_from: None,
            updated: false,
        },
        GraphFocus {
            focus: focus((last_y + 1..node_count).collect()),
            values_below: node_count,
            adjoints_known: Vec::new(),
        },
    );
    let output = eval.output();
    for (o, (&y, &t)) in output.iter().zip(target).enumerate() {
        b.quantity(
            Section::Error,
            format!("y_{k}[{o}] - y'_{k}[{o}]"),
            || format!("{} - {}", number(y), number(t)),
            y - t,
            pass.y[last][o] - t,
        );
    }
    let error_formula = match net.spec().loss {
        Loss::HalfSquaredError => {
            let squares: Vec<String> = output
                .iter()
                .zip(target)
                .take(4)
                .map(|(y, t)| format!("{}^2", number(y - t)))
                .collect();
            let more = if output.len() > 4 { " + ..." } else { "" };
            format!(
                "1/2 sum_{k} (y_{k} - y'_{k})^2 = 1/2 * ({}{more})",
                squares.join(" + ")
            )
        }
        other => other.name().replace('_', " "),
    };
    b.quantity(
        Section::Error,
        "E".into(),
        || error_formula,
        eval.error(),
        pass.error,
    );

    // backward, layer by layer
    for l in (1..=last).rev() {
        let n = name(l);
        let p = name(l - 1);
        let cut = net.x_node(l, 0)?.index();
        let mut nodes: Vec<usize> = Vec::new();
        for j in 0..sizes[l] {
            nodes.push(net.x_node(l, j)?.index());
            nodes.push(net.y_node(l, j)?.index());
            for i in 0..sizes[l - 1] {
                nodes.push(
                    net.tape()
                        .param_node(net.weight_slot(Connection {
                            layer: l - 1,
                            from: i,
                            to: j,
                        })?)
                        .index(),
                );
            }
        }
        if l == last {
            nodes.extend(last_y + 1..node_count);
        }
        b.push(
            Phase::Backward,
            format!("backward: layer {n}"),
            Reveal {
                forward_through: [last, sizes[last] - 1],
                error: true,
                deltas_from: Some(l),
                updated: false,
            },
            GraphFocus {
                focus: focus(nodes),
                values_below: node_count,
                adjoints_known: adjoints_known(cut),
            },
        );
        let act = net.spec().activations[l - 1];
        for j in 0..sizes[l] {
            let (x, y) = (eval.x(l, j)?, eval.y(l, j)?);
            let f_prime = act.unary().derivative(x, y);
            // dE/dy_j: the adjoint of the activation's output node, as the sweep left it
            let d_out = adjoints[net.y_node(l, j)?.index()];
            let formula = if l == last {
                let d_name = match net.spec().loss {
                    Loss::HalfSquaredError => format!("(y_{n} - y'_{n})"),
                    _ => format!("dE/dy_{n}"),
                };
                format!(
                    "{d_name} * f'(x_{n}) = {} * {}",
                    number(d_out),
                    number(f_prime)
                )
            } else {
                let q = name(l + 1);
                let parts: Vec<(f64, f64)> = (0..sizes[l + 1])
                    .map(|o| {
                        Ok((
                            eval.delta(l + 1, o)?,
                            net.weight(Connection {
                                layer: l,
                                from: j,
                                to: o,
                            })?,
                        ))
                    })
                    .collect::<Result<_>>()?;
                format!(
                    "f'(x_{n}) * sum_{q} delta_{q} w_{n}{q} = {} * ({})",
                    number(f_prime),
                    products(&parts)
                )
            };
            b.quantity(
                Section::Backward,
                format!("delta_{n}[{j}]"),
                || formula,
                eval.delta(l, j)?,
                pass.delta[l][j],
            );
        }
        for j in 0..sizes[l] {
            let delta = eval.delta(l, j)?;
            for i in 0..sizes[l - 1] {
                let slot = net.weight_slot(Connection {
                    layer: l - 1,
                    from: i,
                    to: j,
                })?;
                let y_i = eval.y(l - 1, i)?;
                b.quantity(
                    Section::Gradients,
                    format!("dE/dw_{p}{n}[{i}->{j}]"),
                    || format!("delta_{n} * y_{p} = {} * {}", number(delta), number(y_i)),
                    trace.gradient[slot],
                    book_grads.w[l - 1][j][i],
                );
            }
            if let Some(v) = bias {
                let slot = net.bias_slot(l - 1, j)?;
                b.quantity(
                    Section::Gradients,
                    format!("dE/db_{n}[{j}]"),
                    || format!("delta_{n} * bias = {} * {}", number(delta), number(v)),
                    trace.gradient[slot],
                    book_grads.b[l - 1][j],
                );
            }
        }
    }

    // the update, output side first as the tutorial goes
    b.push(
        Phase::Update,
        "update".into(),
        Reveal {
            forward_through: [last, sizes[last] - 1],
            error: true,
            deltas_from: Some(1),
            updated: true,
        },
        GraphFocus {
            focus: focus(net.tape().param_nodes().iter().map(|n| n.index()).collect()),
            values_below: node_count,
            adjoints_known: adjoints_known(0),
        },
    );
    for l in (0..last).rev() {
        let (p, n) = (name(l), name(l + 1));
        for j in 0..sizes[l + 1] {
            for i in 0..sizes[l] {
                let slot = net.weight_slot(Connection {
                    layer: l,
                    from: i,
                    to: j,
                })?;
                b.quantity(
                    Section::Update,
                    format!("w_{p}{n}[{i}->{j}]"),
                    || {
                        format!(
                            "w - epsilon * dE/dw = {} - {} * {}",
                            number(net.params()[slot]),
                            number(learning_rate),
                            number(trace.gradient[slot])
                        )
                    },
                    trace.updated[slot],
                    book.w[l][j][i],
                );
            }
            if bias.is_some() {
                let slot = net.bias_slot(l, j)?;
                b.quantity(
                    Section::Update,
                    format!("b_{n}[{j}]"),
                    || {
                        format!(
                            "b - epsilon * dE/db = {} - {} * {}",
                            number(net.params()[slot]),
                            number(learning_rate),
                            number(trace.gradient[slot])
                        )
                    },
                    trace.updated[slot],
                    book.b[l][j],
                );
            }
        }
    }
    b.quantity(
        Section::After,
        "E".into(),
        || "error with the updated weights".into(),
        after.error(),
        book_after.error,
    );

    let values = snapshot::values(net, (&eval, &after), &trace, target)?;
    let graph_nodes = if show_graph {
        snapshot::graph_nodes(net, &operands, &node_values, &adjoints)?
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
