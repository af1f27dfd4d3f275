//! One training step on plain arrays, right or with slips: forward, output deltas, then layer
//! by layer down the network the gradients of the layer's weights, their update, and the
//! deltas below (the order of a matrix implementation, so that a layer's weights may be
//! updated before the deltas below are computed through them).
//!
//! Written from the tutorial's formulas again, on purpose: this module reads no graph, no tape,
//! no op and none of `textbook`'s code, so that its right step is a third opinion.

use std::collections::HashMap;

use super::Problem;
use super::catalogue::{Mistake, Slip};
use super::precision::{Typed, round_significant};
use super::quantity::Quantity;
use crate::nn::{Activation, Loss, Reduction};

/// Every number of one training step, in the model file's layouts.
#[derive(Clone, Debug, PartialEq)]
pub struct Numbers {
    /// `x[t][l][j]`: node inputs (layer 0: the inputs).
    pub x: Vec<Vec<Vec<f64>>>,
    /// `y[t][l][j]`: node outputs (layer 0: the inputs, or what the step made of them).
    pub y: Vec<Vec<Vec<f64>>>,
    /// `delta[t][l][j]` for layers `1..=L` (`delta[t][0]` is empty).
    pub delta: Vec<Vec<Vec<f64>>>,
    /// `dE/dW[l][j][i]`, as reported.
    pub grad_w: Vec<Vec<Vec<f64>>>,
    /// `dE/db[l][j]`, as reported (empty lists without bias).
    pub grad_b: Vec<Vec<f64>>,
    /// `W[l][j][i]` after the update.
    pub w_after: Vec<Vec<Vec<f64>>>,
    /// `b[l][j]` after the update.
    pub b_after: Vec<Vec<f64>>,
}

impl Numbers {
    /// The value of `quantity`, if the step has it.
    pub fn get(&self, quantity: Quantity) -> Option<f64> {
        match quantity {
            Quantity::Y {
                association,
                layer,
                node,
            } => self.y.get(association)?.get(layer)?.get(node).copied(),
            Quantity::Delta {
                association,
                layer,
                node,
            } => self.delta.get(association)?.get(layer)?.get(node).copied(),
            Quantity::GradW { layer, from, to } => {
                self.grad_w.get(layer)?.get(to)?.get(from).copied()
            }
            Quantity::GradB { layer, node } => self.grad_b.get(layer)?.get(node).copied(),
            Quantity::WAfter { layer, from, to } => {
                self.w_after.get(layer)?.get(to)?.get(from).copied()
            }
            Quantity::BAfter { layer, node } => self.b_after.get(layer)?.get(node).copied(),
        }
    }

    /// Every quantity of the step, in the order of the computation.
    pub fn quantities(&self) -> Vec<Quantity> {
        let layers = self.grad_w.len() + 1;
        let mut all = Vec::new();
        for (association, ys) in self.y.iter().enumerate() {
            for (layer, row) in ys.iter().enumerate() {
                all.extend((0..row.len()).map(|node| Quantity::Y {
                    association,
                    layer,
                    node,
                }));
            }
        }
        for (association, ds) in self.delta.iter().enumerate() {
            for (layer, row) in ds.iter().enumerate() {
                all.extend((0..row.len()).map(|node| Quantity::Delta {
                    association,
                    layer,
                    node,
                }));
            }
        }
        for (layer, w) in self.grad_w.iter().enumerate() {
            for (to, row) in w.iter().enumerate() {
                for from in 0..row.len() {
                    all.push(Quantity::GradW { layer, from, to });
                    all.push(Quantity::WAfter { layer, from, to });
                }
            }
            for node in 0..self.grad_b[layer].len() {
                all.push(Quantity::GradB { layer, node });
                all.push(Quantity::BAfter { layer, node });
            }
        }
        all.sort_by_key(|q| q.order(layers));
        all
    }
}

/// What a later formula reads of an earlier number.
pub(crate) enum Carry<'a> {
    /// The number as computed.
    Exact,
    /// The user's number where they gave one (error carried forward, as an examiner marks).
    Given(&'a HashMap<Quantity, Typed>),
    /// The number rounded to this many significant digits (a hand computation).
    Rounded(u32),
}

impl Carry<'_> {
    fn keep(&self, quantity: Quantity, value: f64) -> f64 {
        match self {
            Carry::Exact => value,
            Carry::Given(given) => given.get(&quantity).map_or(value, |t| t.value),
            Carry::Rounded(digits) => round_significant(value, *digits),
        }
    }
}

/// `f(x)`.
pub(crate) fn activate(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::Identity => x,
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu(slope) => {
            if x > 0.0 {
                x
            } else {
                slope * x
            }
        }
    }
}

/// `f'` at a node of net input `x` and output `y`: right, `f'(y)` (derivative-of-output), or
/// the output form fed `x` (output-form-on-net-input).
fn derivative(activation: Activation, x: f64, y: f64, slips: &[Slip]) -> f64 {
    let of_output = slips.contains(&Slip::Only(Mistake::DerivativeOfOutput));
    let output_form_on_x = slips.contains(&Slip::Only(Mistake::OutputFormOnNetInput));
    let step = |at: f64, slope: f64| if at > 0.0 { 1.0 } else { slope };
    match activation {
        Activation::Identity => 1.0,
        Activation::Sigmoid if of_output => {
            let s = activate(Activation::Sigmoid, y);
            s * (1.0 - s)
        }
        Activation::Sigmoid if output_form_on_x => x * (1.0 - x),
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Tanh if of_output => 1.0 - y.tanh() * y.tanh(),
        Activation::Tanh if output_form_on_x => 1.0 - x * x,
        Activation::Tanh => 1.0 - y * y,
        Activation::Relu => step(if of_output { y } else { x }, 0.0),
        Activation::LeakyRelu(slope) => step(if of_output { y } else { x }, slope),
    }
}

/// `dE_t/dy_k` of the output layer, with the slips that touch it.
fn output_error(loss: Loss, y: &[f64], target: &[f64], slips: &[Slip]) -> Vec<f64> {
    let has = |m| slips.contains(&Slip::Only(m));
    let sign = if has(Mistake::SignFlipped) { -1.0 } else { 1.0 };
    match loss {
        Loss::HalfSquaredError => {
            let factor = if has(Mistake::FactorTwo) { 2.0 } else { 1.0 };
            y.iter()
                .zip(target)
                .map(|(y, t)| sign * factor * (y - t))
                .collect()
        }
        Loss::SoftmaxCrossEntropy => {
            let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = y.iter().map(|z| (z - m).exp()).sum();
            let target_sum: f64 = target.iter().sum();
            y.iter()
                .zip(target)
                .map(|(z, t)| {
                    let p = (z - m).exp() / total;
                    let twice = if has(Mistake::SoftmaxDerivativeTwice) {
                        p * (1.0 - p)
                    } else {
                        1.0
                    };
                    sign * (p * target_sum - t) * twice
                })
                .collect()
        }
        Loss::Hinge => y
            .iter()
            .zip(target)
            .map(|(y, t)| if 1.0 - t * y > 0.0 { -sign * t } else { 0.0 })
            .collect(),
    }
}

/// `dE/dE_t`: the reduction's weight of each association, or the slip's.
fn reduction_weight(
    reduction: Reduction,
    associations: usize,
    outputs: usize,
    slips: &[Slip],
) -> f64 {
    let t = associations as f64;
    match reduction {
        Reduction::Sum if slips.contains(&Slip::MeanOverAssociations) => 1.0 / t,
        Reduction::Sum if slips.contains(&Slip::MeanOverEverything) => 1.0 / (t * outputs as f64),
        Reduction::Mean if slips.contains(&Slip::SumForMean) => 1.0,
        Reduction::Sum => 1.0,
        Reduction::Mean => 1.0 / t,
    }
}

/// The numbers a formula reads: what [`Carry`] made of the numbers reported.
struct Used {
    y: Vec<Vec<Vec<f64>>>,
    delta: Vec<Vec<Vec<f64>>>,
}

/// The forward pass: `x_j = sum_i w_ij y_i (+ bias b_j)`, `y_j = f(x_j)`, with the input layer's
/// activation where `input-activation` is made. Returns `(x, y reported, y used)`.
#[allow(clippy::type_complexity)]
fn forward(
    problem: &Problem,
    slips: &[Slip],
    carry: &Carry<'_>,
) -> (Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>) {
    let net = &problem.net;
    let layers = net.sizes.len() - 1;
    let bias = net.bias.unwrap_or(0.0);
    let (mut x, mut reported, mut used) = (Vec::new(), Vec::new(), Vec::new());
    for (t, input) in problem.inputs.iter().enumerate() {
        let first: Vec<f64> = input
            .iter()
            .map(|&v| {
                if slips.contains(&Slip::Only(Mistake::InputActivation)) {
                    activate(net.activations[0], v)
                } else {
                    v
                }
            })
            .collect();
        let keep = |layer: usize, row: &[f64]| -> Vec<f64> {
            row.iter()
                .enumerate()
                .map(|(node, &v)| {
                    let q = Quantity::Y {
                        association: t,
                        layer,
                        node,
                    };
                    carry.keep(q, v)
                })
                .collect()
        };
        let (mut xs, mut ys, mut us) = (
            vec![input.clone()],
            vec![first.clone()],
            vec![keep(0, &first)],
        );
        for l in 0..layers {
            let xl: Vec<f64> = (0..net.sizes[l + 1])
                .map(|j| {
                    let weighted: f64 = net.w[l][j].iter().zip(&us[l]).map(|(w, y)| w * y).sum();
                    weighted
                        + net
                            .b
                            .get(l)
                            .and_then(|b| b.get(j))
                            .map_or(0.0, |b| b * bias)
                })
                .collect();
            let yl: Vec<f64> = xl
                .iter()
                .map(|&v| activate(net.activations[l], v))
                .collect();
            us.push(keep(l + 1, &yl));
            xs.push(xl);
            ys.push(yl);
        }
        x.push(xs);
        reported.push(ys);
        used.push(us);
    }
    (x, reported, used)
}

/// One training step of `problem` with `slips`, later formulas reading earlier numbers as
/// `carry` says. The numbers returned are those the step reports, each computed from the
/// numbers its formula read.
pub(crate) fn run(problem: &Problem, slips: &[Slip], carry: &Carry<'_>) -> Numbers {
    let net = &problem.net;
    let sizes = &net.sizes;
    let layers = sizes.len() - 1;
    let has = |m| slips.contains(&Slip::Only(m));
    let (x, y, used_y) = forward(problem, slips, carry);
    let mut used = Used {
        y: used_y,
        delta: Vec::new(),
    };
    let associations = problem.inputs.len();
    let r = reduction_weight(problem.reduction, associations, sizes[layers], slips);
    let mut delta = vec![vec![Vec::new(); layers + 1]; associations];
    used.delta = delta.clone();
    for t in 0..associations {
        let error = output_error(net.loss, &used.y[t][layers], &problem.targets[t], slips);
        delta[t][layers] = (0..sizes[layers])
            .map(|k| {
                let act = net.activations[layers - 1];
                let d = if has(Mistake::MissingDerivativeOutput) {
                    1.0
                } else {
                    derivative(act, x[t][layers][k], used.y[t][layers][k], slips)
                };
                error[k] * d
            })
            .collect();
        used.delta[t][layers] = keep_deltas(carry, t, layers, &delta[t][layers]);
    }
    let lr = problem.learning_rate;
    // the weight change of a reported gradient, and the gradient as reported
    let (change, report): (&dyn Fn(f64) -> f64, &dyn Fn(f64) -> f64) =
        if slips.contains(&Slip::LearningRateNegative) {
            (&|g| g, &|g| -lr * g)
        } else if slips.contains(&Slip::LearningRatePositive) {
            (&|g| -g, &|g| lr * g)
        } else {
            (&|g| -lr * g, &|g| g)
        };
    let mut grad_w = vec![Vec::new(); layers];
    let mut grad_b = vec![Vec::new(); layers];
    let mut w_after = vec![Vec::new(); layers];
    let mut b_after = vec![Vec::new(); layers];
    for l in (0..layers).rev() {
        let mut gw = vec![vec![0.0; sizes[l]]; sizes[l + 1]];
        let (mut wa, mut wa_used) = (gw.clone(), gw.clone());
        for j in 0..sizes[l + 1] {
            for i in 0..sizes[l] {
                let g: f64 = (0..associations)
                    .map(|t| {
                        let end = if has(Mistake::OwnOutputInGradient) {
                            used.y[t][l + 1][j]
                        } else {
                            used.y[t][l][i]
                        };
                        r * used.delta[t][l + 1][j] * end
                    })
                    .sum();
                gw[j][i] = report(g);
                let q = Quantity::GradW {
                    layer: l,
                    from: i,
                    to: j,
                };
                wa[j][i] = net.w[l][j][i] + change(carry.keep(q, gw[j][i]));
                wa_used[j][i] = carry.keep(
                    Quantity::WAfter {
                        layer: l,
                        from: i,
                        to: j,
                    },
                    wa[j][i],
                );
            }
        }
        if let Some(bias) = net.bias {
            let value = if has(Mistake::BiasValueIgnored) {
                1.0
            } else {
                bias
            };
            for j in 0..sizes[l + 1] {
                let g: f64 = (0..associations)
                    .map(|t| r * used.delta[t][l + 1][j] * value)
                    .sum();
                let g = report(g);
                let kept = carry.keep(Quantity::GradB { layer: l, node: j }, g);
                grad_b[l].push(g);
                b_after[l].push(net.b[l][j] + change(kept));
            }
        }
        if l >= 1 {
            let through = if has(Mistake::UpdatedWeightsInBackward) {
                &wa_used
            } else {
                &net.w[l]
            };
            let square = sizes[l] == sizes[l + 1];
            for t in 0..associations {
                delta[t][l] = (0..sizes[l])
                    .map(|j| {
                        let back: f64 = (0..sizes[l + 1])
                            .map(|k| {
                                let w = if has(Mistake::WeightsForgotten) {
                                    1.0
                                } else if has(Mistake::TransposedWeights) && square {
                                    through[j][k]
                                } else {
                                    through[k][j]
                                };
                                used.delta[t][l + 1][k] * w
                            })
                            .sum();
                        let d = if has(Mistake::MissingDerivativeHidden) {
                            1.0
                        } else {
                            derivative(net.activations[l - 1], x[t][l][j], used.y[t][l][j], slips)
                        };
                        d * back
                    })
                    .collect();
                used.delta[t][l] = keep_deltas(carry, t, l, &delta[t][l]);
            }
        }
        grad_w[l] = gw;
        w_after[l] = wa;
    }
    Numbers {
        x,
        y,
        delta,
        grad_w,
        grad_b,
        w_after,
        b_after,
    }
}

fn keep_deltas(carry: &Carry<'_>, association: usize, layer: usize, row: &[f64]) -> Vec<f64> {
    row.iter()
        .enumerate()
        .map(|(node, &v)| {
            let q = Quantity::Delta {
                association,
                layer,
                node,
            };
            carry.keep(q, v)
        })
        .collect()
}
