//! The tutorial's closed-form delta rule on plain arrays: the second, independent opinion on
//! every layered gradient.
//!
//! This module shares no gradient code with the graph: it writes the activations and their
//! derivatives out again from the tutorial's formulas, and never touches a graph, a tape or an
//! op. It owns the forward pass, the output deltas, the hidden-delta recursion
//! `delta_j = f'(x_j) sum_k delta_k w_jk` for any depth, the gradients `delta_j y_i` summed over
//! associations, and the update `w = w - lr * dE/dw`.

use crate::error::{Error, Result};
use crate::nn::{Activation, Bias, Loss, Mlp, Reduction};

/// A dense layered network as plain arrays, in the out-major layout `w[l][j][i]`, `b[l][j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextbookNet {
    /// Nodes per layer, input first.
    pub sizes: Vec<usize>,
    /// The activation of layers `1..=L`.
    pub activations: Vec<Activation>,
    /// The bias node's constant value (`None`: no bias).
    pub bias: Option<f64>,
    /// `w[l][j][i]`: from node `i` of layer `l` to node `j` of layer `l + 1`.
    pub w: Vec<Vec<Vec<f64>>>,
    /// `b[l][j]`: from the bias node to node `j` of layer `l + 1` (empty without bias).
    pub b: Vec<Vec<f64>>,
    /// The error of one association.
    pub loss: Loss,
}

/// One association's forward and backward values: `x[l][j]`, `y[l][j]` for every layer
/// (layer 0: the input), `delta[l][j] = dE_t/dx_j` (empty for layer 0), and `E_t`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pass {
    /// Node inputs.
    pub x: Vec<Vec<f64>>,
    /// Node outputs.
    pub y: Vec<Vec<f64>>,
    /// Deltas.
    pub delta: Vec<Vec<f64>>,
    /// The association's error.
    pub error: f64,
}

/// Gradients in the network's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    /// `dE/dw[l][j][i]`.
    pub w: Vec<Vec<Vec<f64>>>,
    /// `dE/db[l][j]`.
    pub b: Vec<Vec<f64>>,
}

impl Grads {
    /// Layer by layer, `w[l]` out-major then `b[l]`: the layout of [`Mlp::params`].
    pub fn flatten(&self) -> Vec<f64> {
        let mut out = Vec::new();
        for (w, b) in self.w.iter().zip(&self.b) {
            for row in w {
                out.extend_from_slice(row);
            }
            out.extend_from_slice(b);
        }
        out
    }
}

/// `f(x)`, written from the tutorial.
fn f(activation: Activation, x: f64) -> f64 {
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

/// `f'(x)` given `x` and `y = f(x)`, written from the tutorial.
fn f_prime(activation: Activation, x: f64, y: f64) -> f64 {
    match activation {
        Activation::Identity => 1.0,
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Tanh => 1.0 - y * y,
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyRelu(slope) => {
            if x > 0.0 {
                1.0
            } else {
                slope
            }
        }
    }
}

impl TextbookNet {
    /// The same network and weights as a graph-built [`Mlp`].
    pub fn from_mlp(net: &Mlp) -> TextbookNet {
        let spec = net.spec();
        TextbookNet {
            sizes: spec.sizes.clone(),
            activations: spec.activations.clone(),
            bias: match spec.bias {
                Bias::None => None,
                Bias::Node(v) => Some(v),
            },
            w: net.weights(),
            b: net.biases(),
            loss: spec.loss,
        }
    }

    fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// The forward pass: `x_j = sum_i w_ij y_i (+ b_j * bias)`, `y_j = f(x_j)`.
    ///
    /// # Errors
    /// [`Error::Shape`] for an input of the wrong width.
    pub fn forward(&self, input: &[f64]) -> Result<Pass> {
        if input.len() != self.sizes[0] {
            return Err(Error::Shape {
                what: "input values (width of layer 0)".into(),
                expected: self.sizes[0],
                got: input.len(),
            });
        }
        let mut x = vec![input.to_vec()];
        let mut y = vec![input.to_vec()];
        for l in 0..self.layers() {
            let xs: Vec<f64> = (0..self.sizes[l + 1])
                .map(|j| {
                    let weighted: f64 = (0..self.sizes[l]).map(|i| self.w[l][j][i] * y[l][i]).sum();
                    weighted + self.bias.map_or(0.0, |bias| bias * self.b[l][j])
                })
                .collect();
            let ys = xs.iter().map(|&xj| f(self.activations[l], xj)).collect();
            x.push(xs);
            y.push(ys);
        }
        let delta = vec![Vec::new(); self.sizes.len()];
        Ok(Pass {
            x,
            y,
            delta,
            error: f64::NAN,
        })
    }

    /// Forward, then the error `E_t` and the deltas: output `delta_k = dE_t/dy_k * f'(x_k)`,
    /// hidden `delta_j = f'(x_j) sum_k delta_k w_jk`, layer by layer down to layer 1.
    ///
    /// # Errors
    /// [`Error::Shape`] for an input or target of the wrong width.
    pub fn pass(&self, input: &[f64], target: &[f64]) -> Result<Pass> {
        let mut p = self.forward(input)?;
        let last = self.layers();
        if target.len() != self.sizes[last] {
            return Err(Error::Shape {
                what: "target values (width of the output layer)".into(),
                expected: self.sizes[last],
                got: target.len(),
            });
        }
        let out = &p.y[last];
        // dE_t/dy_k
        let (error, d_out): (f64, Vec<f64>) = match self.loss {
            Loss::HalfSquaredError => (
                0.5 * out
                    .iter()
                    .zip(target)
                    .map(|(y, t)| (y - t) * (y - t))
                    .sum::<f64>(),
                out.iter().zip(target).map(|(y, t)| y - t).collect(),
            ),
            Loss::SoftmaxCrossEntropy => {
                let m = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum_exp: f64 = out.iter().map(|z| (z - m).exp()).sum();
                let lse = m + sum_exp.ln();
                let t_sum: f64 = target.iter().sum();
                (
                    target.iter().zip(out).map(|(t, z)| t * (lse - z)).sum(),
                    out.iter()
                        .zip(target)
                        .map(|(z, t)| (z - lse).exp() * t_sum - t)
                        .collect(),
                )
            }
            Loss::Hinge => (
                out.iter()
                    .zip(target)
                    .map(|(y, t)| (1.0 - t * y).max(0.0))
                    .sum(),
                out.iter()
                    .zip(target)
                    .map(|(y, t)| if 1.0 - t * y > 0.0 { -t } else { 0.0 })
                    .collect(),
            ),
        };
        p.error = error;
        p.delta[last] = d_out
            .iter()
            .zip(p.x[last].iter().zip(&p.y[last]))
            .map(|(d, (&x, &y))| d * f_prime(self.activations[last - 1], x, y))
            .collect();
        for l in (1..last).rev() {
            p.delta[l] = (0..self.sizes[l])
                .map(|j| {
                    let back: f64 = (0..self.sizes[l + 1])
                        .map(|k| p.delta[l + 1][k] * self.w[l][k][j])
                        .sum();
                    f_prime(self.activations[l - 1], p.x[l][j], p.y[l][j]) * back
                })
                .collect();
        }
        Ok(p)
    }

    /// The error `E` over the associations and its gradient: `dE/dw_ij = sum_t r delta_j y_i`,
    /// `dE/db_j = sum_t r delta_j * bias`, with `r = dE/dE_t` of the reduction.
    ///
    /// # Errors
    /// [`Error::Shape`] for data that is not a whole number of associations.
    pub fn gradients(
        &self,
        inputs: &[f64],
        targets: &[f64],
        reduction: Reduction,
    ) -> Result<(f64, Grads)> {
        let (n_in, n_out) = (self.sizes[0], self.sizes[self.layers()]);
        let t_count = inputs.len() / n_in;
        if t_count == 0 || inputs.len() != t_count * n_in || targets.len() != t_count * n_out {
            return Err(Error::Shape {
                what: format!("targets for {t_count} associations of {n_in} inputs"),
                expected: t_count * n_out,
                got: targets.len(),
            });
        }
        let r = match reduction {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / t_count as f64,
        };
        let mut grads = Grads {
            w: self
                .w
                .iter()
                .map(|l| l.iter().map(|row| vec![0.0; row.len()]).collect())
                .collect(),
            b: self.b.iter().map(|l| vec![0.0; l.len()]).collect(),
        };
        let mut error = 0.0;
        for t in 0..t_count {
            let p = self.pass(
                &inputs[t * n_in..(t + 1) * n_in],
                &targets[t * n_out..(t + 1) * n_out],
            )?;
            error += p.error;
            for l in 0..self.layers() {
                for (j, &delta) in p.delta[l + 1].iter().enumerate() {
                    for (i, &yi) in p.y[l].iter().enumerate() {
                        grads.w[l][j][i] += r * delta * yi;
                    }
                    if let Some(bias) = self.bias {
                        grads.b[l][j] += r * delta * bias;
                    }
                }
            }
        }
        Ok((error * r, grads))
    }

    /// The update `w = w - learning_rate * dE/dw` for every weight.
    pub fn update(&mut self, grads: &Grads, learning_rate: f64) {
        for (w, g) in self.w.iter_mut().zip(&grads.w) {
            for (row, grow) in w.iter_mut().zip(g) {
                for (wi, gi) in row.iter_mut().zip(grow) {
                    *wi -= learning_rate * gi;
                }
            }
        }
        for (b, g) in self.b.iter_mut().zip(&grads.b) {
            for (bi, gi) in b.iter_mut().zip(g) {
                *bi -= learning_rate * gi;
            }
        }
    }
}
