//! The tutorial's "visualising backpropagation" pictures of one training step of a layered
//! network: forward values, deltas and gradients, updated weights. Every number comes from
//! [`Mlp::evaluate`]; the drawing is [`super::network`]'s.

use crate::error::Result;
use crate::nn::{Evaluation, Mlp};
use crate::render::labels::number;
use crate::render::network::{DECIMALS, Layout, Texts};
use crate::trace::Trace;

/// The three pictures of one training step of `net` on one association (`input`, `target`)
/// with plain gradient descent, as `(file stem, SVG)`:
///
/// 1. `1-forward`: the forward pass: `x` and `y` of each node (`y'` beside the outputs), each
///    weight `w_ij` on its line, the error `E_t`.
/// 2. `2-backward`: the backward pass: `delta = dE/dx` on each node after the input layer,
///    `dE/dw_ij = delta_j y_i` on each weight's line.
/// 3. `3-update`: the updated weights `w - learning_rate * dE/dw` on the lines, and the `y` of
///    each node in the forward pass they give, with the error before and after.
///
/// Layers are columns of circles named as in the tutorial (`i`, `j`, `k` for three layers,
/// `l0`, `l1`, ... otherwise); the bias node, when the network has one, is a grey square below
/// each layer that feeds the next, its lines dashed. Line colour is the sign of the number on
/// it (blue positive, red negative), line width its magnitude relative to the layer's largest.
/// In layers of more than 64 weights the lines carry no numbers. Numbers have 6 decimals. The
/// network is not changed.
///
/// # Errors
/// [`crate::Error::Shape`] for an input or target of the wrong width.
///
/// # Examples
/// ```
/// use backprop::tutorial::{worked_example, WORKED_INPUT, WORKED_LEARNING_RATE, WORKED_TARGET};
/// let net = worked_example()?;
/// let pictures = backprop::render::walkthrough_svgs(
///     &net, &WORKED_INPUT, &WORKED_TARGET, WORKED_LEARNING_RATE)?;
/// let stems: Vec<&str> = pictures.iter().map(|(stem, _)| stem.as_str()).collect();
/// assert_eq!(stems, ["1-forward", "2-backward", "3-update"]);
/// assert!(pictures[0].1.contains("y = 0.731059")); // the tutorial's 0.731
/// assert!(pictures[1].1.contains("delta = 0.022714")); // the tutorial's 0.0227
/// assert!(pictures[2].1.contains("0.499773")); // the tutorial's updated w_ij
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn walkthrough_svgs(
    net: &Mlp,
    input: &[f64],
    target: &[f64],
    learning_rate: f64,
) -> Result<Vec<(String, String)>> {
    let before = net.evaluate(input, target)?;
    // the gradients and the update are the trace's: one place for the training step
    let step = Trace::training_step(net, input, target, learning_rate)?;
    let after = net.evaluate_with_params(&step.updated, input, target)?;
    let layout = Layout::new(net);
    Ok(vec![
        ("1-forward".into(), forward(&layout, &before, target)?),
        ("2-backward".into(), backward(&layout, &before, &step)?),
        (
            "3-update".into(),
            update(&layout, &before, &after, &step, learning_rate)?,
        ),
    ])
}

fn list(values: &[f64]) -> String {
    let parts: Vec<String> = values.iter().map(|&v| number(v, DECIMALS)).collect();
    format!("[{}]", parts.join(", "))
}

fn forward(layout: &Layout<'_>, eval: &Evaluation<'_>, target: &[f64]) -> Result<String> {
    let net = layout.net;
    let bias_term = if layout.bias.is_some() {
        " + b_j * bias"
    } else {
        ""
    };
    let texts = Texts {
        title: "1. Forward pass".into(),
        subtitle: "x and y = f(x) of each node (y' beside the outputs); each weight w_ij on its \
                   line"
            .into(),
        captions: vec![format!(
            "x_j = sum_i w_ij y_i{bias_term}; y_j = f(x_j). Error E_t = {} ({}).",
            number(eval.error(), DECIMALS),
            net.spec().loss.name().replace('_', " ")
        )],
    };
    let mut svg = layout.picture(&texts, net.params())?;
    let last = net.layers();
    layout.nodes(&mut svg, |l, n| {
        let (x, y) = (eval.x(l, n)?, eval.y(l, n)?);
        let mut lines = if l == 0 {
            vec![format!("x = y = {}", number(y, DECIMALS))]
        } else {
            vec![
                format!("x = {}", number(x, DECIMALS)),
                format!("y = {}", number(y, DECIMALS)),
            ]
        };
        if let (true, Some(&t)) = (l == last, target.get(n)) {
            lines.push(format!("y' = {}", number(t, DECIMALS)));
        }
        Ok(lines)
    })?;
    Ok(svg.finish())
}

fn backward(layout: &Layout<'_>, eval: &Evaluation<'_>, step: &Trace) -> Result<String> {
    let texts = Texts {
        title: "2. Backward pass".into(),
        subtitle: "delta = dE/dx on each node; dE/dw_ij = delta_j y_i on each weight's line".into(),
        captions: vec![
            "Output layer: delta_k = dE/dy_k * f'(x_k). Hidden layers: delta_j = f'(x_j) * \
             sum_k delta_k w_jk."
                .into(),
        ],
    };
    let mut svg = layout.picture(&texts, &step.gradient)?;
    layout.nodes(&mut svg, |l, n| {
        if l == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![format!(
            "delta = {}",
            number(eval.delta(l, n)?, DECIMALS)
        )])
    })?;
    Ok(svg.finish())
}

fn update(
    layout: &Layout<'_>,
    before: &Evaluation<'_>,
    after: &Evaluation<'_>,
    step: &Trace,
    learning_rate: f64,
) -> Result<String> {
    let texts = Texts {
        title: "3. Update".into(),
        // the learning rate as given (shortest exact form), not padded to 6 decimals
        subtitle: format!(
            "w = w - {learning_rate} * dE/dw on each line; y of each node with the new weights"
        ),
        captions: vec![format!(
            "Error E_t: {} before the update, {} after. Outputs {} -> {}.",
            number(before.error(), DECIMALS),
            number(after.error(), DECIMALS),
            list(&before.output()),
            list(&after.output()),
        )],
    };
    let mut svg = layout.picture(&texts, &step.updated)?;
    let last = layout.net.layers();
    layout.nodes(&mut svg, |l, n| {
        let y = number(after.y(l, n)?, DECIMALS);
        if l == 0 {
            return Ok(vec![format!("x = y = {y}")]);
        }
        let mut lines = vec![format!("y = {y}")];
        if l == last {
            lines.push(format!("was {}", number(before.y(l, n)?, DECIMALS)));
        }
        Ok(lines)
    })?;
    Ok(svg.finish())
}
