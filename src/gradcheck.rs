//! Finite differences: the third, derivative-free opinion on a gradient.
//!
//! Everything here goes through [`Tape::forward`] only; no adjoint and no local derivative is
//! used, so it shares nothing with reverse mode but the op values.

use crate::error::{Error, Result};
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
/// [`Error::Shape`] if `associations` is not a whole number of associations or `params` has the
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
    if params.len() != tape.param_count() {
        return Err(Error::ParamCount {
            expected: tape.param_count(),
            got: params.len(),
        });
    }
    if n_in == 0 && !associations.is_empty() || n_in > 0 && associations.len() % n_in != 0 {
        return Err(Error::Shape {
            what: "input values (a whole number of associations)".into(),
            expected: n_in,
            got: associations.len(),
        });
    }
    let mut ws = tape.workspace();
    let mut params = params.to_vec();
    let mut inputs = associations.to_vec();
    // A graph without inputs has one (empty) association.
    let t_count = associations.len().checked_div(n_in).unwrap_or(1);
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
