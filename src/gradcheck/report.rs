//! The three-way check per weight: reverse mode, the textbook delta rule, finite differences.

use super::{Tolerances, central_differences};
use crate::error::Result;
use crate::graph::NodeId;
use crate::tape::Tape;

/// One weight of a [`Report`].
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The weight's name (its node's label, e.g. `w0[1->0]`, or `node N`).
    pub name: String,
    /// The weight's node.
    pub node: NodeId,
    /// (a) reverse mode over the graph.
    pub graph: f64,
    /// (b) the textbook delta rule (layered networks only).
    pub textbook: Option<f64>,
    /// (c) central finite differences.
    pub finite_difference: f64,
    /// The largest `|a - b|` and `|a - c|`.
    pub abs_error: f64,
    /// The largest of those relative to the reference (`|b|`, `|c|`; 0 when both are 0). Not the
    /// verdict: next to a reference near 0 it is large while the absolute tolerance covers the
    /// error (see [`Row::tolerance_used`]).
    pub rel_error: f64,
    /// The largest error as a fraction of what its tolerance allows,
    /// `|a - r| / (atol + rtol |r|)` over the comparisons (reference `r` the textbook's `b` or
    /// the finite difference `c`, with their [`Tolerances`]): the figure the verdict reads.
    pub tolerance_used: f64,
    /// Whether every comparison is within its tolerance: `tolerance_used <= 1`.
    pub pass: bool,
}

/// The result of a gradient check: one row per weight, and where it first fails.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// One row per weight, in parameter slot order.
    pub rows: Vec<Row>,
    /// The tolerances used.
    pub tolerances: Tolerances,
}

impl Report {
    fn build(
        tape: &Tape,
        graph_grads: &[f64],
        textbook: Option<&[f64]>,
        fd: &[f64],
        name: impl Fn(NodeId) -> String,
        tolerances: Tolerances,
    ) -> Report {
        let rows = (0..graph_grads.len())
            .map(|slot| {
                let node = tape.param_node(slot);
                let (a, c) = (graph_grads[slot], fd[slot]);
                let b = textbook.map(|t| t[slot]);
                let rel = |err: f64, reference: f64| {
                    if err == 0.0 {
                        0.0
                    } else {
                        err / reference.abs()
                    }
                };
                let mut abs_error = (a - c).abs();
                let mut rel_error = rel(abs_error, c);
                let mut tolerance_used =
                    share_of_tolerance(abs_error, c, tolerances.fd_atol, tolerances.fd_rtol);
                if let Some(b) = b {
                    let e = (a - b).abs();
                    abs_error = abs_error.max(e);
                    rel_error = rel_error.max(rel(e, b));
                    tolerance_used = tolerance_used.max(share_of_tolerance(
                        e,
                        b,
                        tolerances.exact_atol,
                        tolerances.exact_rtol,
                    ));
                }
                // NaN (a non-finite gradient) fails
                let pass = tolerance_used <= 1.0;
                Row {
                    name: name(node),
                    node,
                    graph: a,
                    textbook: b,
                    finite_difference: c,
                    abs_error,
                    rel_error,
                    tolerance_used,
                    pass,
                }
            })
            .collect();
        Report { rows, tolerances }
    }

    /// Whether every row passes.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.pass)
    }

    /// The first row that fails, if any.
    pub fn first_failure(&self) -> Option<&Row> {
        self.rows.iter().find(|r| !r.pass)
    }

    /// The largest absolute error over all rows.
    pub fn max_abs_error(&self) -> f64 {
        self.rows.iter().map(|r| r.abs_error).fold(0.0, f64::max)
    }

    /// The largest relative error over all rows. Not the verdict (see [`Row::rel_error`]):
    /// [`Report::max_tolerance_used`] is.
    pub fn max_rel_error(&self) -> f64 {
        self.rows.iter().map(|r| r.rel_error).fold(0.0, f64::max)
    }

    /// The largest [`Row::tolerance_used`]: the report passes exactly when it is at most 1.
    pub fn max_tolerance_used(&self) -> f64 {
        self.rows
            .iter()
            .map(|r| r.tolerance_used)
            .fold(0.0, |m, u| {
                if u.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(u)
                }
            })
    }

    /// A fixed-precision table: one line per weight (gradients to 10 significant digits, errors
    /// to 1), then a summary naming the first disagreement.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let with_textbook = self.rows.iter().any(|r| r.textbook.is_some());
        let _ = write!(
            out,
            "{:<14} {:>5} {:>17}",
            "weight", "node", "graph (reverse)"
        );
        if with_textbook {
            let _ = write!(out, " {:>17}", "textbook (delta)");
        }
        let _ = writeln!(
            out,
            " {:>17} {:>7} {:>7} {:>7}  ok",
            "finite diff", "abs err", "rel err", "of tol"
        );
        for r in &self.rows {
            let _ = write!(
                out,
                "{:<14} {:>5} {:>17.10e}",
                r.name,
                r.node.index(),
                r.graph
            );
            if let Some(b) = r.textbook {
                let _ = write!(out, " {b:>17.10e}");
            }
            let _ = writeln!(
                out,
                " {:>17.10e} {:>7.0e} {:>7.0e} {:>7.0e}  {}",
                r.finite_difference,
                r.abs_error,
                r.rel_error,
                r.tolerance_used,
                if r.pass { "yes" } else { "NO" }
            );
        }
        let t = &self.tolerances;
        if with_textbook {
            let _ = writeln!(
                out,
                "tolerances: graph vs textbook |a-b| <= {:.0e} + {:.0e}|b|; vs finite differences (step {:.0e}) |a-c| <= {:.0e} + {:.0e}|c|",
                t.exact_atol, t.exact_rtol, t.step, t.fd_atol, t.fd_rtol
            );
        } else {
            let _ = writeln!(
                out,
                "tolerances: graph vs finite differences (step {:.0e}) |a-c| <= {:.0e} + {:.0e}|c|",
                t.step, t.fd_atol, t.fd_rtol
            );
        }
        let _ = writeln!(
            out,
            "largest error: {:.0e} absolute, {:.0e} relative, {:.0e} of its tolerance (a weight passes at 1 or less)",
            self.max_abs_error(),
            self.max_rel_error(),
            self.max_tolerance_used()
        );
        match self.first_failure() {
            None => {
                let _ = writeln!(out, "all {} weights agree", self.rows.len());
            }
            Some(r) => {
                let failed = self.rows.iter().filter(|r| !r.pass).count();
                let _ = writeln!(
                    out,
                    "{failed} of {} weights disagree; the first is {} (node {})",
                    self.rows.len(),
                    r.name,
                    r.node.index()
                );
            }
        }
        out
    }
}

/// `err / (atol + rtol |reference|)`: at most 1 within the tolerance (`0/0` reads 0, an error
/// against a zero tolerance infinity).
fn share_of_tolerance(err: f64, reference: f64, atol: f64, rtol: f64) -> f64 {
    let allowed = atol + rtol * reference.abs();
    if err == 0.0 { 0.0 } else { err / allowed }
}

fn label_or_index(graph_labels: impl Fn(NodeId) -> Option<String>) -> impl Fn(NodeId) -> String {
    move |node| graph_labels(node).unwrap_or_else(|| format!("node {}", node.index()))
}

/// The three-way check of a layered network on a set of associations: (a) reverse mode over
/// the graph, (b) the textbook delta rule, (c) central finite differences of `E` (under
/// `reduction`), for every weight.
///
/// # Errors
/// [`Error::Shape`](crate::Error::Shape) for data that is not a whole number of associations.
///
/// # Examples
/// ```
/// use backprop::gradcheck::{check_mlp, Tolerances};
/// use backprop::nn::{Activation, MlpSpec, Reduction};
/// let net = MlpSpec::new(&[2, 3, 1], Activation::Tanh, Activation::Identity).with_seed(7).build()?;
/// let report = check_mlp(&net, &[0.5, -1.0, 1.0, 0.25], &[1.0, -1.0], Reduction::Sum, Tolerances::default())?;
/// assert!(report.passed(), "{}", report.render());
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn check_mlp(
    net: &crate::nn::Mlp,
    inputs: &[f64],
    targets: &[f64],
    reduction: crate::nn::Reduction,
    tolerances: Tolerances,
) -> Result<Report> {
    let (_, graph_grads) = net.gradient(inputs, targets, reduction)?;
    let (_, textbook) =
        crate::textbook::TextbookNet::from_mlp(net).gradients(inputs, targets, reduction)?;
    let textbook = textbook.flatten();
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    let t_count = inputs.len() / n_in;
    let mut associations = Vec::with_capacity(t_count * (n_in + n_out));
    for t in 0..t_count {
        associations.extend_from_slice(&inputs[t * n_in..(t + 1) * n_in]);
        associations.extend_from_slice(&targets[t * n_out..(t + 1) * n_out]);
    }
    // the network's tape holds its current weights (`Mlp::tape`)
    let fd = central_differences(net.tape(), net.loss_node(), &associations, tolerances.step)?;
    let r = reduction.weight(t_count);
    let fd: Vec<f64> = fd.params.iter().map(|d| d * r).collect();
    let graph = net.graph();
    Ok(Report::build(
        net.tape(),
        &graph_grads,
        Some(&textbook),
        &fd,
        label_or_index(|n| graph.label(n).ok().flatten()),
        tolerances,
    ))
}

/// The check of an arbitrary graph: (a) reverse mode vs (c) central finite differences of
/// `sum_t output_t` for every parameter, at the tape's parameter values
/// ([`Tape::param_values`]: the trained ones after [`crate::train::train_graph`]). The
/// arguments come in the order of [`crate::train::train_graph`]'s: the tape, the node, the
/// associations (one after the other, as [`Tape::associations_by_label`] builds them).
///
/// # Errors
/// As [`central_differences`].
///
/// # Examples
/// ```
/// use backprop::Graph;
/// use backprop::gradcheck::{check_graph, Tolerances};
/// let g = Graph::new();
/// let (x, w) = (g.input("x"), g.param("w", 0.5));
/// let y = (x * w).tanh();
/// let tape = g.compile()?;
/// let report = check_graph(&tape, y, &[1.0, -2.0], Tolerances::default())?;
/// assert!(report.passed(), "{}", report.render());
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn check_graph(
    tape: &Tape,
    output: impl Into<NodeId>,
    associations: &[f64],
    tolerances: Tolerances,
) -> Result<Report> {
    let output = output.into();
    let fd = central_differences(tape, output, associations, tolerances.step)?;
    let n_in = tape.input_count();
    let mut ws = tape.workspace();
    let mut grads = vec![0.0; tape.param_count()];
    let t_count = associations.len().checked_div(n_in).unwrap_or(1);
    for t in 0..t_count {
        tape.forward(&mut ws, &associations[t * n_in..(t + 1) * n_in])?;
        tape.backward(&mut ws, output)?;
        tape.accumulate_param_gradients(&ws, &mut grads)?;
    }
    Ok(Report::build(
        tape,
        &grads,
        None,
        &fd.params,
        label_or_index(|n| tape.label(n).map(str::to_string)),
        tolerances,
    ))
}
