//! The second-derivative check: the gradient graph's Hessian against differences of the gradient.

use super::{Tolerances, gradient_differences, within};
use crate::error::Result;
use crate::graph::NodeId;

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
    let mut tape = graph.compile()?;
    if let Some(params) = params {
        tape.set_param_values(params)?;
    }
    let params = tape.param_values().to_vec();
    let wrt = tape.param_nodes();
    let symbolic = crate::symbolic::hessian(graph, output, &wrt, associations, Some(&params))?;
    let finite_difference = gradient_differences(&tape, output, associations, tolerances.step)?;
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
