//! Gradient checks: central finite differences (the third, derivative-free opinion), and the
//! report that compares reverse mode, the textbook delta rule and finite differences per weight.
//!
//! Finite differences go through [`Tape::forward`](crate::Tape::forward) only; no adjoint and no
//! local derivative is used, so they share nothing with reverse mode but the op values.
//!
//! - `differences.rs`: central differences of the output ([`central_differences`]) and of the
//!   reverse-mode gradient ([`gradient_differences`]);
//! - `report.rs`: the three-way check per weight ([`check_mlp`], [`check_graph`]);
//! - `hessian.rs`: the second-derivative check ([`check_hessian`]).

mod differences;
mod hessian;
mod report;

pub use differences::{FiniteDifferences, central_differences, gradient_differences};
pub use hessian::{HessianReport, check_hessian};
pub use report::{Report, Row, check_graph, check_mlp};

/// The default step of [`central_differences`]: `h = STEP * max(1, |x|)`.
///
/// Central differences have truncation error `h^2 |f'''| / 6` and rounding error about
/// `eps |f| / h`; the two balance near `h = eps^(1/3) ~ 6e-6` for f64, leaving an error of
/// about `eps^(2/3) ~ 4e-11` relative to the size of `f` and its third derivative.
pub const STEP: f64 = 6e-6;

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

pub(crate) fn within(a: f64, reference: f64, atol: f64, rtol: f64) -> bool {
    (a - reference).abs() <= atol + rtol * reference.abs()
}
