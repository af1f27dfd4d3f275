//! Losses as graph nodes, and their reduction over associations.

use crate::error::{Error, Result};
use crate::graph::Expr;
use crate::graph::Graph;

/// The error of one association `E_t`, built from the output layer's `y_k` and the targets `y'_k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `E_t = 1/2 sum_k (y_k - y'_k)^2`, the tutorial's; `dE_t/dy_k = y_k - y'_k`.
    HalfSquaredError,
    /// Cross-entropy of a softmax over the outputs (which should be identity logits `z_k`):
    /// `E_t = sum_k y'_k (lse(z) - z_k)` with `lse(z) = m + ln sum_k e^(z_k - m)`,
    /// `m = max_k z_k` so that no exponential overflows; `dE_t/dz_k = softmax_k sum_j y'_j - y'_k`
    /// (`softmax_k - y'_k` for one-hot targets).
    SoftmaxCrossEntropy,
    /// The max-margin (hinge) loss of targets `y'_k = +-1`: `E_t = sum_k relu(1 - y'_k y_k)`;
    /// `dE_t/dy_k = -y'_k` where the margin `1 - y'_k y_k` is positive, else 0 (micrograd's
    /// moons demo, with a `Mean` reduction).
    Hinge,
}

impl Loss {
    /// Adds the nodes of `E_t` to the graph.
    pub(crate) fn build<'g>(
        self,
        g: &'g Graph,
        outputs: &[Expr<'g>],
        targets: &[Expr<'g>],
    ) -> Expr<'g> {
        match self {
            Loss::HalfSquaredError => {
                let pairs: Vec<(Expr<'g>, Expr<'g>)> = outputs
                    .iter()
                    .zip(targets)
                    .map(|(&y, &t)| {
                        let d = y - t;
                        (d, d)
                    })
                    .collect();
                0.5 * g.dot(&pairs)
            }
            Loss::SoftmaxCrossEntropy => {
                let m = g.max(outputs);
                let shifted: Vec<Expr<'g>> = outputs.iter().map(|&z| (z - m).exp()).collect();
                let lse = (m + g.sum(&shifted).ln()).labelled("log-sum-exp");
                let pairs: Vec<(Expr<'g>, Expr<'g>)> = outputs
                    .iter()
                    .zip(targets)
                    .map(|(&z, &t)| (t, lse - z))
                    .collect();
                g.dot(&pairs)
            }
            Loss::Hinge => {
                let margins: Vec<Expr<'g>> = outputs
                    .iter()
                    .zip(targets)
                    .map(|(&y, &t)| (1.0 - t * y).relu())
                    .collect();
                match margins.as_slice() {
                    [one] => *one,
                    _ => g.sum(&margins),
                }
            }
        }
    }

    /// The name used on the command line and in files: `half_squared_error`, `cross_entropy`,
    /// `hinge`.
    pub fn name(self) -> &'static str {
        match self {
            Loss::HalfSquaredError => "half_squared_error",
            Loss::SoftmaxCrossEntropy => "cross_entropy",
            Loss::Hinge => "hinge",
        }
    }

    /// Parses a name given by [`Loss::name`] (also `mse` and `softmax_cross_entropy`).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for anything else.
    pub fn parse(text: &str) -> Result<Loss> {
        match text {
            "half_squared_error" | "mse" | "sse" => Ok(Loss::HalfSquaredError),
            "cross_entropy" | "softmax_cross_entropy" => Ok(Loss::SoftmaxCrossEntropy),
            "hinge" | "max_margin" => Ok(Loss::Hinge),
            other => Err(Error::InvalidOption {
                name: "loss".into(),
                reason: format!(
                    "unknown loss {other:?} (expected half_squared_error, cross_entropy or hinge)"
                ),
            }),
        }
    }
}

/// How the errors of `T` associations combine into the error `E` that training minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// `E = sum_t E_t`: the tutorial's derivation (its weight change sums over associations).
    #[default]
    Sum,
    /// `E = 1/T sum_t E_t`: the tutorial's `1/(2T)` form (and its code's update).
    Mean,
}

impl Reduction {
    /// `dE/dE_t`: the seed of each association's backward pass.
    pub fn weight(self, associations: usize) -> f64 {
        match self {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / associations as f64,
        }
    }

    /// The name used on the command line and in files: `sum`, `mean`.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "sum",
            Reduction::Mean => "mean",
        }
    }
}
