//! Central finite differences of an output and of its reverse-mode gradient.

use crate::error::Result;
use crate::graph::NodeId;
use crate::tape::Tape;

/// Central finite differences of `sum_t output(association t)` with respect to every input and
/// every parameter, at the tape's parameter values ([`Tape::param_values`]), through forward
/// passes only: `(f(x + h) - f(x - h)) / 2h` with `h = step * max(1, |x|)`.
///
/// `associations` holds the associations one after the other (`T * input_count` values, as
/// [`Tape::associations_by_label`] builds them); the derivative with respect to an input is
/// summed over associations like the output.
///
/// # Errors
/// [`Error::PartialAssociation`](crate::Error::PartialAssociation) if `associations` is not a
/// whole number of associations; the errors of [`Tape::forward`].
///
/// # Complexity
/// `2 * (inputs + params)` forward passes per association.
pub fn central_differences(
    tape: &Tape,
    output: impl Into<NodeId>,
    associations: &[f64],
    step: f64,
) -> Result<FiniteDifferences> {
    let output = output.into();
    let n_in = tape.input_count();
    let t_count = tape.association_count(associations)?;
    let mut ws = tape.workspace();
    let mut params = tape.param_values().to_vec();
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

/// Central differences of the reverse-mode gradient with respect to the parameters, at the
/// tape's parameter values `p` ([`Tape::param_values`]):
/// `J[i][j] = (g_i(p + h e_j) - g_i(p - h e_j)) / 2h` with `g = d(sum_t output_t)/dp` from the
/// tape's sweep and `h = step * max(1, |p_j|)`: the second-derivative check's reference.
///
/// # Errors
/// [`Error::PartialAssociation`](crate::Error::PartialAssociation) for a partial association;
/// those of the passes.
pub fn gradient_differences(
    tape: &Tape,
    output: impl Into<NodeId>,
    associations: &[f64],
    step: f64,
) -> Result<Vec<Vec<f64>>> {
    let output = output.into();
    let n_in = tape.input_count();
    let t_count = tape.association_count(associations)?;
    let mut ws = tape.workspace();
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
    let mut p = tape.param_values().to_vec();
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
