//! The phases of a walk, each its own function over what the engine computed for the
//! association: the forward pass node by node, the error, the backward pass layer by layer, the
//! update.

use super::steps::{Builder, letter, number, products};
use super::{GRAPH_PANEL_MAX_NODES, GraphFocus, Phase, Reveal};
use crate::error::Result;
use crate::nn::{Bias, Connection, Evaluation, Loss, Mlp, Reduction};
use crate::textbook::{Grads, Pass, TextbookNet};
use crate::trace::{Section, Trace};

/// What the phases of a walk read: the engine's evaluation before and after the update, the
/// trace of the training step, the textbook rule's pass, gradients and updated weights, and
/// the graph's shape for the graph panel.
pub(super) struct Walker<'n> {
    net: &'n Mlp,
    pub(super) eval: Evaluation<'n>,
    pub(super) after: Evaluation<'n>,
    pub(super) trace: Trace,
    /// The textbook rule's network after its update.
    book: TextbookNet,
    pass: Pass,
    book_grads: Grads,
    book_after: Pass,
    sizes: Vec<usize>,
    last: usize,
    bias: Option<f64>,
    learning_rate: f64,
    pub(super) node_values: Vec<f64>,
    pub(super) adjoints: Vec<f64>,
    pub(super) operands: Vec<Vec<usize>>,
    node_count: usize,
    pub(super) show_graph: bool,
    /// The output layer's last `y` node: the loss's nodes come after it.
    last_y: usize,
}

impl<'n> Walker<'n> {
    pub(super) fn new(
        net: &'n Mlp,
        input: &[f64],
        target: &[f64],
        learning_rate: f64,
    ) -> Result<Walker<'n>> {
        let eval = net.evaluate(input, target)?;
        let trace = Trace::training_step(net, input, target, learning_rate)?;
        let after = net.evaluate_with_params(&trace.updated, input, target)?;
        let mut book = TextbookNet::from_mlp(net);
        let pass = book.pass(input, target)?;
        let (_, book_grads) = book.gradients(input, target, Reduction::Sum)?;
        book.update(&book_grads, learning_rate);
        let book_after = book.pass(input, target)?;
        let graph = net.graph();
        let operands: Vec<Vec<usize>> = graph
            .nodes()
            .map(|n| {
                graph
                    .operands(n)
                    .map(|ops| ops.iter().map(|o| o.index()).collect())
                    .unwrap_or_default()
            })
            .collect();
        let last = net.layers();
        let sizes = net.sizes().to_vec();
        Ok(Walker {
            net,
            node_values: eval.node_values(),
            adjoints: eval.gradients().as_slice().to_vec(),
            eval,
            after,
            trace,
            book,
            pass,
            book_grads,
            book_after,
            last_y: net.y_node(last, sizes[last] - 1)?.index(),
            sizes,
            last,
            bias: match net.spec().bias {
                Bias::None => None,
                Bias::Node(v) => Some(v),
            },
            learning_rate,
            node_count: graph.len(),
            show_graph: graph.len() <= GRAPH_PANEL_MAX_NODES,
            operands,
        })
    }

    /// The letter of layer `l`'s nodes.
    fn name(&self, l: usize) -> String {
        letter(self.sizes.len(), l)
    }

    /// `nodes` if the graph panel is shown, else none.
    fn focus(&self, nodes: Vec<usize>) -> Vec<usize> {
        if self.show_graph { nodes } else { Vec::new() }
    }

    /// The nodes whose adjoint the reverse sweep has completed once it has gone down to node
    /// `cut`: every node from `cut` on, and their operands (each operand's users all come after
    /// it in creation order).
    fn adjoints_known(&self, cut: usize) -> Vec<usize> {
        if !self.show_graph {
            return Vec::new();
        }
        let mut known = vec![false; self.node_count];
        for n in cut..self.node_count {
            known[n] = true;
            for &o in &self.operands[n] {
                known[o] = true;
            }
        }
        (0..self.node_count).filter(|&n| known[n]).collect()
    }

    /// The forward pass, node by node: `x` and `y` of each.
    pub(super) fn forward(&self, b: &mut Builder) -> Result<()> {
        let (net, sizes, last, bias) = (self.net, &self.sizes, self.last, self.bias);
        let (eval, pass, b) = (&self.eval, &self.pass, &mut *b);
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
                    focus: self.focus(if l == 0 { vec![xn] } else { vec![xn, yn] }),
                    values_below: yn + 1,
                    adjoints_known: Vec::new(),
                };
                let (x, y) = (eval.x(l, j)?, eval.y(l, j)?);
                let n = self.name(l);
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
                let p = self.name(l - 1);
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
        Ok(())
    }

    /// The error: `y - y'` of each output and `E_t`.
    pub(super) fn error(&self, b: &mut Builder, target: &[f64]) {
        let (net, sizes, last) = (self.net, &self.sizes, self.last);
        let (eval, pass, node_count, last_y) =
            (&self.eval, &self.pass, self.node_count, self.last_y);
        // the error
        let k = self.name(last);
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
                focus: self.focus((last_y + 1..node_count).collect()),
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
    }

    /// The backward pass, layer by layer from the output: the deltas and the gradients of the
    /// weights into the layer.
    pub(super) fn backward(&self, b: &mut Builder) -> Result<()> {
        let (net, sizes, last, bias) = (self.net, &self.sizes, self.last, self.bias);
        let (eval, pass, b) = (&self.eval, &self.pass, &mut *b);
        let (trace, adjoints, book_grads) = (&self.trace, &self.adjoints, &self.book_grads);
        let (node_count, last_y) = (self.node_count, self.last_y);
        // backward, layer by layer
        for l in (1..=last).rev() {
            let n = self.name(l);
            let p = self.name(l - 1);
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
                    focus: self.focus(nodes),
                    values_below: node_count,
                    adjoints_known: self.adjoints_known(cut),
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
                    let q = self.name(l + 1);
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
        Ok(())
    }

    /// The update, output side first as the tutorial goes, and the error after it.
    pub(super) fn update(&self, b: &mut Builder) -> Result<()> {
        let (net, sizes, last, bias) = (self.net, &self.sizes, self.last, self.bias);
        let (trace, book, learning_rate) = (&self.trace, &self.book, self.learning_rate);
        let node_count = self.node_count;
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
                focus: self.focus(net.tape().param_nodes().iter().map(|n| n.index()).collect()),
                values_below: node_count,
                adjoints_known: self.adjoints_known(0),
            },
        );
        for l in (0..last).rev() {
            let (p, n) = (self.name(l), self.name(l + 1));
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
            self.after.error(),
            self.book_after.error,
        );
        Ok(())
    }
}
