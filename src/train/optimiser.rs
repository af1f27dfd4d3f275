//! The update rules: gradient descent, momentum, Adam, and their memory between steps.

use crate::error::{Error, Result};

/// How the accumulated gradient changes the weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimiser {
    /// The tutorial's rule: `w = w - learning_rate * dE/dw`.
    GradientDescent {
        /// The step size `epsilon`.
        learning_rate: f64,
    },
    /// `v = momentum * v + dE/dw; w = w - learning_rate * v`.
    Momentum {
        /// The step size.
        learning_rate: f64,
        /// How much of the previous step is kept, in `[0, 1)` (commonly 0.9).
        momentum: f64,
    },
    /// Adam (Kingma & Ba): bias-corrected moving averages of the gradient and its square,
    /// `w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)`.
    Adam {
        /// The step size (commonly 0.001).
        learning_rate: f64,
        /// Decay of the first moment (commonly 0.9).
        beta1: f64,
        /// Decay of the second moment (commonly 0.999).
        beta2: f64,
        /// Added to the denominator (commonly 1e-8).
        epsilon: f64,
    },
}

impl Optimiser {
    /// Adam with its usual constants and this learning rate.
    pub fn adam(learning_rate: f64) -> Optimiser {
        Optimiser::Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// The optimiser's learning rate.
    pub fn learning_rate(self) -> f64 {
        match self {
            Optimiser::GradientDescent { learning_rate }
            | Optimiser::Momentum { learning_rate, .. }
            | Optimiser::Adam { learning_rate, .. } => learning_rate,
        }
    }

    /// The same optimiser with another learning rate (for a schedule).
    pub fn with_learning_rate(self, rate: f64) -> Optimiser {
        match self {
            Optimiser::GradientDescent { .. } => Optimiser::GradientDescent {
                learning_rate: rate,
            },
            Optimiser::Momentum { momentum, .. } => Optimiser::Momentum {
                learning_rate: rate,
                momentum,
            },
            Optimiser::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => Optimiser::Adam {
                learning_rate: rate,
                beta1,
                beta2,
                epsilon,
            },
        }
    }

    /// The name used on the command line: `gd`, `momentum`, `adam`.
    pub fn name(self) -> &'static str {
        match self {
            Optimiser::GradientDescent { .. } => "gd",
            Optimiser::Momentum { .. } => "momentum",
            Optimiser::Adam { .. } => "adam",
        }
    }

    pub(super) fn validate(self) -> Result<()> {
        let bad = |name: &str, reason: String| {
            Err(Error::InvalidOption {
                name: name.into(),
                reason,
            })
        };
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr > 0.0) {
            return bad(
                "learning rate",
                format!("must be a positive finite number, got {lr}"),
            );
        }
        match self {
            Optimiser::GradientDescent { .. } => Ok(()),
            Optimiser::Momentum { momentum, .. } if !(0.0..1.0).contains(&momentum) => {
                bad("momentum", format!("must be in [0, 1), got {momentum}"))
            }
            Optimiser::Momentum { .. } => Ok(()),
            Optimiser::Adam {
                beta1,
                beta2,
                epsilon,
                ..
            } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
                    bad(
                        "adam betas",
                        format!("must be in [0, 1), got {beta1} and {beta2}"),
                    )
                } else if !(epsilon.is_finite() && epsilon > 0.0) {
                    bad(
                        "adam epsilon",
                        format!("must be a positive finite number, got {epsilon}"),
                    )
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// The optimiser's memory between steps.
#[derive(Clone, Debug)]
pub(super) struct OptimiserState {
    first: Vec<f64>,
    second: Vec<f64>,
    steps: i32,
}

impl OptimiserState {
    pub(super) fn new(params: usize) -> OptimiserState {
        OptimiserState {
            first: vec![0.0; params],
            second: vec![0.0; params],
            steps: 0,
        }
    }

    pub(super) fn step(&mut self, optimiser: Optimiser, params: &mut [f64], grad: &[f64]) {
        self.steps = self.steps.saturating_add(1);
        match optimiser {
            Optimiser::GradientDescent { learning_rate } => {
                for (w, g) in params.iter_mut().zip(grad) {
                    *w -= learning_rate * g;
                }
            }
            Optimiser::Momentum {
                learning_rate,
                momentum,
            } => {
                for ((w, g), v) in params.iter_mut().zip(grad).zip(&mut self.first) {
                    *v = momentum * *v + g;
                    *w -= learning_rate * *v;
                }
            }
            Optimiser::Adam {
                learning_rate,
                beta1,
                beta2,
                epsilon,
            } => {
                let c1 = 1.0 - beta1.powi(self.steps);
                let c2 = 1.0 - beta2.powi(self.steps);
                for (((w, g), m), v) in params
                    .iter_mut()
                    .zip(grad)
                    .zip(&mut self.first)
                    .zip(&mut self.second)
                {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *w -= learning_rate * (*m / c1) / ((*v / c2).sqrt() + epsilon);
                }
            }
        }
    }
}
