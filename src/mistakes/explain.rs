//! The right formula of a number with its numbers put in, in the notation `walkthrough` prints:
//! `delta_j[0] = sigmoid'(x_j[0]) * sum_k delta_k w_jk = 0.196612 * (0.231059*0.500000) = ...`.

use super::Problem;
use super::quantity::{Quantity, letter};
use super::step::Numbers;
use crate::nn::{Activation, Loss, Reduction};
use crate::trace::terms as products;

fn derivative_text(activation: Activation, x: f64, y: f64) -> String {
    match activation {
        Activation::Sigmoid => format!("{y:.6}*(1 - {y:.6})"),
        Activation::Tanh => format!("1 - {y:.6}^2"),
        Activation::Identity => "1".into(),
        Activation::Relu | Activation::LeakyRelu(_) => format!("step({x:.6})"),
    }
}

/// `name = formula = numbers = value` for `quantity`, from the right step `right`.
pub(crate) fn formula(problem: &Problem, right: &Numbers, quantity: Quantity) -> String {
    let net = &problem.net;
    let layers = net.sizes.len();
    let last = layers - 1;
    let t_count = problem.inputs.len();
    let l = |layer| letter(layers, layer);
    let name = quantity.name(layers, t_count);
    let value = right.get(quantity).unwrap_or(f64::NAN);
    let r = match problem.reduction {
        Reduction::Sum => String::new(),
        Reduction::Mean => format!("1/{t_count} "),
    };
    let sum_t = if t_count > 1 { "sum_t " } else { "" };
    let body = match quantity {
        Quantity::Y { layer: 0, node, .. } => {
            format!("x_{}[{node}] (identity input)", l(0))
        }
        Quantity::Y {
            association: t,
            layer,
            node,
        } => {
            let mut parts: Vec<(f64, f64)> = right.y[t][layer - 1]
                .iter()
                .zip(&net.w[layer - 1][node])
                .map(|(&y, &w)| (y, w))
                .collect();
            if let Some(bias) = net.bias {
                parts.push((bias, net.b[layer - 1][node]));
            }
            let act = net.activations[layer - 1];
            format!(
                "{act}(x_{}[{node}]) = {act}({}) = {act}({:.6})",
                l(layer),
                products(&parts),
                right.x[t][layer][node]
            )
        }
        Quantity::Delta {
            association: t,
            layer,
            node,
        } if layer == last => {
            let act = net.activations[layer - 1];
            let (x, y) = (right.x[t][layer][node], right.y[t][layer][node]);
            let target = problem.targets[t][node];
            let error = match net.loss {
                Loss::HalfSquaredError => format!("({y:.6} - {target:.6})"),
                Loss::SoftmaxCrossEntropy => {
                    format!("(softmax_{}[{node}] - {target:.6})", l(layer))
                }
                Loss::Hinge => format!("dE/dy_{}[{node}]", l(layer)),
            };
            format!(
                "dE/dy_{0}[{node}] * {act}'(x_{0}[{node}]) = {error} * {1}",
                l(layer),
                derivative_text(act, x, y)
            )
        }
        Quantity::Delta {
            association: t,
            layer,
            node,
        } => {
            let act = net.activations[layer - 1];
            let (x, y) = (right.x[t][layer][node], right.y[t][layer][node]);
            let parts: Vec<(f64, f64)> = right.delta[t][layer + 1]
                .iter()
                .zip(&net.w[layer])
                .map(|(&d, row)| (d, row[node]))
                .collect();
            format!(
                "{act}'(x_{0}[{node}]) * sum_{1} delta_{1} w_{0}{1} = {2} * ({3})",
                l(layer),
                l(layer + 1),
                derivative_text(act, x, y),
                products(&parts)
            )
        }
        Quantity::GradW { layer, from, to } => {
            let (a, b) = (l(layer), l(layer + 1));
            let parts: Vec<(f64, f64)> = (0..t_count)
                .map(|t| (right.delta[t][layer + 1][to], right.y[t][layer][from]))
                .collect();
            format!(
                "{r}{sum_t}delta_{b}[{to}] * y_{a}[{from}] = {r}{}",
                products(&parts)
            )
        }
        Quantity::GradB { layer, node } => {
            let b = l(layer + 1);
            let bias = net.bias.unwrap_or(0.0);
            let parts: Vec<(f64, f64)> = (0..t_count)
                .map(|t| (right.delta[t][layer + 1][node], bias))
                .collect();
            format!(
                "{r}{sum_t}delta_{b}[{node}] * bias = {r}{}",
                products(&parts)
            )
        }
        Quantity::WAfter { layer, from, to } => {
            let g = right.grad_w[layer][to][from];
            format!(
                "w - {} * dE/dw = {:.6} - {} * {g:.6}",
                problem.learning_rate, net.w[layer][to][from], problem.learning_rate
            )
        }
        Quantity::BAfter { layer, node } => {
            let g = right.grad_b[layer][node];
            format!(
                "b - {} * dE/db = {:.6} - {} * {g:.6}",
                problem.learning_rate, net.b[layer][node], problem.learning_rate
            )
        }
    };
    format!("{name} = {body} = {value:.6}")
}
