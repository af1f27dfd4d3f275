//! Gradient checks: central finite differences (the third, derivative-free opinion), and the
//! report that compares reverse mode, the textbook delta rule and finite differences per weight.
//!
//! Finite differences go through [`Tape::forward`] only; no adjoint and no local derivative is
//! used, so they share nothing with reverse mode but the op values.

use crate::error::Result;
use crate::graph::NodeId;
use crate::tape::Tape;

/// The default step of [`central_differences`]: `h = STEP * max(1, |x|)`.
///
/// Central differences have truncation error `h^2 |f'''| / 6` and rounding error about
/// `eps |f| / h`; the two balance near `h = eps^(1/3) ~ 6e-6` for f64, leaving an error of
/// about `eps^(2/3) ~ 4e-11` relative to the size of `f` and its third derivative.
pub const STEP: f64 = 6e-6;

/// Central finite differences of `sum_t output(association t)` with respect to every input and
/// every parameter, through forward passes only:
/// `(f(x + h) - f(x - h)) / 2h` with `h = step * max(1, |x|)`.
///
/// `associations` holds the associations one after the other (`T * input_count` values); the
/// derivative with respect to an input is summed over associations like the output.
///
/// # Errors
/// [`Error::Shape`](crate::Error::Shape) if `associations` is not a whole number of associations or `params` has the
/// wrong length; the errors of [`Tape::forward`].
///
/// # Complexity
/// `2 * (inputs + params)` forward passes per association.
pub fn central_differences(
    tape: &Tape,
    params: &[f64],
    associations: &[f64],
    output: impl Into<NodeId>,
    step: f64,
) -> Result<FiniteDifferences> {
    let output = output.into();
    let n_in = tape.input_count();
    let t_count = tape.association_count(associations)?;
    let mut ws = tape.workspace();
    tape.set_params(&mut ws, params)?; // checks their number up front
    let mut params = params.to_vec();
    let mut inputs = associations.to_vec();
    // sum_t output_t at the current (params, inputs)
    let total = |ws: &mut crate::Workspace, params: &[f64], inputs: &[f64]| -> Result<f64> {
        tape.set_params(ws, params)?;
        let mut sum = 0.0;
        for t in 0..t_count {
            tape.forward(ws, &inputs[t * n_in..(t + 1) * n_in])?;
            sum += tape.value(ws, output)?;
        }
        Ok(sum)
    };
    let mut d_params = vec![0.0; params.len()];
    for p in 0..params.len() {
        let x = params[p];
        let h = step * x.abs().max(1.0);
        params[p] = x + h;
        let up = total(&mut ws, &params, &inputs)?;
        params[p] = x - h;
        let down = total(&mut ws, &params, &inputs)?;
        params[p] = x;
        d_params[p] = (up - down) / (2.0 * h);
    }
    let mut d_inputs = vec![0.0; n_in];
    for (slot, d) in d_inputs.iter_mut().enumerate() {
        for t in 0..t_count {
            let k = t * n_in + slot;
            let x = inputs[k];
            let h = step * x.abs().max(1.0);
            inputs[k] = x + h;
            let up = total(&mut ws, &params, &inputs)?;
            inputs[k] = x - h;
            let down = total(&mut ws, &params, &inputs)?;
            inputs[k] = x;
            *d += (up - down) / (2.0 * h);
        }
    }
    Ok(FiniteDifferences {
        params: d_params,
        inputs: d_inputs,
    })
}

/// The result of [`central_differences`].
#[derive(Clone, Debug, PartialEq)]
pub struct FiniteDifferences {
    /// `d output / d param`, in parameter slot order.
    pub params: Vec<f64>,
    /// `d output / d input`, in input slot order (summed over associations).
    pub inputs: Vec<f64>,
}

/// Tolerances of a gradient check. A comparison of `a` against a reference `b` passes when
/// `|a - b| <= atol + rtol * |b|` (numpy's `allclose` rule, which PyTorch's `gradcheck` and
/// JAX's `check_grads` also use).
///
/// Defaults, and why:
/// - graph vs textbook (`exact_*`): both are exact derivatives that differ only in the order of
///   their roundings; each weight's gradient is a sum over associations of products of O(depth)
///   factors, so they agree to a few hundred ulps: `rtol = 1e-10`, `atol = 1e-12`.
/// - graph vs finite differences (`fd_*`): with the step `STEP ~ eps^(1/3)` the central
///   difference is accurate to about `eps^(2/3) ~ 4e-11` times the scale of the function and its
///   third derivative. `rtol = 1e-5`, `atol = 1e-7` allows that scale to reach 1e3 with margin;
///   it matches JAX's float64 default (`1e-5`) in `rtol` and is tighter than PyTorch's
///   (`rtol = 1e-3`, `atol = 1e-5` around a fixed step of `1e-6`), whose step is further from the
///   optimum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Relative tolerance, graph vs textbook.
    pub exact_rtol: f64,
    /// Absolute tolerance, graph vs textbook.
    pub exact_atol: f64,
    /// Relative tolerance, graph vs finite differences.
    pub fd_rtol: f64,
    /// Absolute tolerance, graph vs finite differences.
    pub fd_atol: f64,
    /// The finite-difference step (see [`STEP`]).
    pub step: f64,
}

impl Default for Tolerances {
    fn default() -> Tolerances {
        Tolerances {
            exact_rtol: 1e-10,
            exact_atol: 1e-12,
            fd_rtol: 1e-5,
            fd_atol: 1e-7,
            step: STEP,
        }
    }
}

fn within(a: f64, reference: f64, atol: f64, rtol: f64) -> bool {
    (a - reference).abs() <= atol + rtol * reference.abs()
}

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
    /// The largest of those relative to the reference (`|b|`, `|c|`; 0 when both are 0).
    pub rel_error: f64,
    /// Whether every comparison is within its tolerance.
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
                let mut pass = within(a, c, tolerances.fd_atol, tolerances.fd_rtol);
                if let Some(b) = b {
                    let e = (a - b).abs();
                    abs_error = abs_error.max(e);
                    rel_error = rel_error.max(rel(e, b));
                    pass &= within(a, b, tolerances.exact_atol, tolerances.exact_rtol);
                }
                Row {
                    name: name(node),
                    node,
                    graph: a,
                    textbook: b,
                    finite_difference: c,
                    abs_error,
                    rel_error,
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

    /// The largest relative error over all rows.
    pub fn max_rel_error(&self) -> f64 {
        self.rows.iter().map(|r| r.rel_error).fold(0.0, f64::max)
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
            " {:>17} {:>7} {:>7}  ok",
            "finite diff", "abs err", "rel err"
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
                " {:>17.10e} {:>7.0e} {:>7.0e}  {}",
                r.finite_difference,
                r.abs_error,
                r.rel_error,
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
            "largest error: {:.0e} absolute, {:.0e} relative",
            self.max_abs_error(),
            self.max_rel_error()
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
    let fd = central_differences(
        net.tape(),
        net.params(),
        &associations,
        net.loss_node(),
        tolerances.step,
    )?;
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
/// `sum_t output_t` for every parameter, at the parameter values `params`.
///
/// # Errors
/// As [`central_differences`].
pub fn check_graph(
    graph: &crate::Graph,
    tape: &Tape,
    params: &[f64],
    associations: &[f64],
    output: impl Into<NodeId>,
    tolerances: Tolerances,
) -> Result<Report> {
    let output = output.into();
    let fd = central_differences(tape, params, associations, output, tolerances.step)?;
    let n_in = tape.input_count();
    let mut ws = tape.workspace();
    tape.set_params(&mut ws, params)?;
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
        label_or_index(|n| graph.label(n).ok().flatten()),
        tolerances,
    ))
}

/// Central differences of the reverse-mode gradient with respect to the parameters:
/// `J[i][j] = (g_i(p + h e_j) - g_i(p - h e_j)) / 2h` with `g = d(sum_t output_t)/dp` from the
/// tape's sweep and `h = step * max(1, |p_j|)`: the second-derivative check's reference.
///
/// # Errors
/// [`Error::ParamCount`](crate::Error::ParamCount); [`Error::Shape`](crate::Error::Shape) for a partial association; those of the passes.
pub fn gradient_differences(
    tape: &Tape,
    params: &[f64],
    associations: &[f64],
    output: impl Into<NodeId>,
    step: f64,
) -> Result<Vec<Vec<f64>>> {
    let output = output.into();
    let n_in = tape.input_count();
    let t_count = tape.association_count(associations)?;
    let mut ws = tape.workspace();
    tape.set_params(&mut ws, params)?; // checks their number up front
    let grad_at = |ws: &mut crate::Workspace, p: &[f64]| -> Result<Vec<f64>> {
        tape.set_params(ws, p)?;
        let mut g = vec![0.0; p.len()];
        for t in 0..t_count {
            tape.forward(ws, &associations[t * n_in..(t + 1) * n_in])?;
            tape.backward(ws, output)?;
            tape.accumulate_param_gradients(ws, &mut g)?;
        }
        Ok(g)
    };
    let mut p = params.to_vec();
    let mut columns = Vec::with_capacity(p.len());
    for j in 0..p.len() {
        let x = p[j];
        let h = step * x.abs().max(1.0);
        p[j] = x + h;
        let up = grad_at(&mut ws, &p)?;
        p[j] = x - h;
        let down = grad_at(&mut ws, &p)?;
        p[j] = x;
        columns.push(
            up.iter()
                .zip(&down)
                .map(|(u, d)| (u - d) / (2.0 * h))
                .collect::<Vec<f64>>(),
        );
    }
    // columns[j][i] = d g_i / d p_j; return rows J[i][j]
    Ok((0..p.len())
        .map(|i| columns.iter().map(|c| c[i]).collect())
        .collect())
}

/// The second-derivative check: the Hessian of `E = sum_t output_t` with respect to every
/// parameter from the gradient graph ([`crate::symbolic::hessian`]) against central differences
/// of the reverse-mode gradient ([`gradient_differences`]), with the finite-difference
/// tolerances of [`Tolerances`].
#[derive(Clone, Debug, PartialEq)]
pub struct HessianReport {
    /// The parameters' names, in slot order.
    pub names: Vec<String>,
    /// The Hessian from the gradient graph.
    pub symbolic: Vec<Vec<f64>>,
    /// The finite differences of the gradient.
    pub finite_difference: Vec<Vec<f64>>,
    /// The tolerances used.
    pub tolerances: Tolerances,
}

impl HessianReport {
    fn pass(&self, i: usize, j: usize) -> bool {
        let t = &self.tolerances;
        within(
            self.symbolic[i][j],
            self.finite_difference[i][j],
            t.fd_atol,
            t.fd_rtol,
        )
    }

    /// Whether every entry agrees.
    pub fn passed(&self) -> bool {
        let n = self.names.len();
        (0..n).all(|i| (0..n).all(|j| self.pass(i, j)))
    }

    /// The first entry (row-major) that disagrees, as `(i, j)`.
    pub fn first_failure(&self) -> Option<(usize, usize)> {
        let n = self.names.len();
        (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .find(|&(i, j)| !self.pass(i, j))
    }

    /// The largest `|H[i][j] - H[j][i]|` of the symbolic Hessian.
    pub fn asymmetry(&self) -> f64 {
        let n = self.names.len();
        (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| (self.symbolic[i][j] - self.symbolic[j][i]).abs())
            .fold(0.0, f64::max)
    }

    /// The largest `|symbolic - finite difference|`.
    pub fn max_abs_error(&self) -> f64 {
        self.symbolic
            .iter()
            .flatten()
            .zip(self.finite_difference.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    /// The Hessian as a fixed-precision matrix with named rows and columns, then a summary.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let width = self.names.iter().map(|n| n.len()).max().unwrap_or(0).max(6);
        let _ = write!(out, "{:width$}", "d2E");
        for name in &self.names {
            let _ = write!(out, " {name:>13}");
        }
        out.push('\n');
        for (name, row) in self.names.iter().zip(&self.symbolic) {
            let _ = write!(out, "{name:width$}");
            for v in row {
                let _ = write!(out, " {v:>13.9}");
            }
            out.push('\n');
        }
        let t = &self.tolerances;
        let _ = writeln!(
            out,
            "vs finite differences of the gradient (step {:.0e}, |a-c| <= {:.0e} + {:.0e}|c|): largest error {:.0e}; asymmetry {:.0e}",
            t.step,
            t.fd_atol,
            t.fd_rtol,
            self.max_abs_error(),
            self.asymmetry()
        );
        match self.first_failure() {
            None => {
                let _ = writeln!(out, "all {} entries agree", self.names.len().pow(2));
            }
            Some((i, j)) => {
                let _ = writeln!(
                    out,
                    "disagreement at ({}, {}): gradient graph {} vs finite differences {}",
                    self.names[i], self.names[j], self.symbolic[i][j], self.finite_difference[i][j]
                );
            }
        }
        out
    }
}

/// Checks the second derivatives of `E = sum_t output_t` with respect to every parameter of
/// `graph` (see [`HessianReport`]). `params` defaults to the graph's values.
///
/// # Errors
/// As [`crate::symbolic::hessian`] and [`gradient_differences`].
///
/// # Examples
/// ```
/// use backprop::gradcheck::{check_hessian, Tolerances};
/// let net = backprop::tutorial::worked_example()?;
/// let report = check_hessian(net.graph(), net.loss_node(), &[1.0, 1.0, 0.5], Some(net.params()), Tolerances::default())?;
/// assert!(report.passed(), "{}", report.render());
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn check_hessian(
    graph: &crate::Graph,
    output: impl Into<NodeId>,
    associations: &[f64],
    params: Option<&[f64]>,
    tolerances: Tolerances,
) -> Result<HessianReport> {
    let output = output.into();
    let tape = graph.compile()?;
    let params = params.unwrap_or(tape.initial_params()).to_vec();
    let wrt = tape.param_nodes();
    let symbolic = crate::symbolic::hessian(graph, output, &wrt, associations, Some(&params))?;
    let finite_difference =
        gradient_differences(&tape, &params, associations, output, tolerances.step)?;
    let names = wrt
        .iter()
        .map(|&n| {
            graph
                .label(n)
                .ok()
                .flatten()
                .unwrap_or_else(|| format!("node {}", n.index()))
        })
        .collect();
    Ok(HessianReport {
        names,
        symbolic,
        finite_difference,
        tolerances,
    })
}
