//! Layered networks as a convenience built on the graph: perceptrons with an activation per
//! layer, bias as an extra node of constant value, weight initialisation, losses as graph nodes.
//!
//! This module lowers a layer specification to graph nodes and keeps the map between the
//! tutorial's notation (layer, node, weight `w_ij`) and node ids. It evaluates and
//! differentiates only through [`crate::tape`]; it has no gradient code of its own.

mod init;
mod loss;
mod mlp;

pub use crate::batch::Batch;
pub use init::Init;
pub use loss::{Loss, Reduction};
pub use mlp::{Connection, Evaluation, Mlp, MlpSpec};

use crate::op::Unary;

/// A node's activation function `y = f(x)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `f(x) = x`, `f'(x) = 1`.
    Identity,
    /// `f(x) = 1 / (1 + e^-x)`, `f'(x) = f(x) (1 - f(x))`.
    Sigmoid,
    /// `f(x) = tanh x`, `f'(x) = 1 - f(x)^2`.
    Tanh,
    /// `f(x) = max(0, x)`, `f'(x) = 1 if x > 0 else 0`.
    Relu,
    /// `f(x) = x if x > 0 else slope x`, `f'(x) = 1 if x > 0 else slope`.
    LeakyRelu(f64),
}

impl Activation {
    /// The graph op that applies the activation.
    pub fn unary(self) -> Unary {
        match self {
            Activation::Identity => Unary::Identity,
            Activation::Sigmoid => Unary::Sigmoid,
            Activation::Tanh => Unary::Tanh,
            Activation::Relu => Unary::Relu,
            Activation::LeakyRelu(slope) => Unary::LeakyRelu { slope },
        }
    }

    /// The name used on the command line and in files: `identity`, `sigmoid`, `tanh`, `relu`,
    /// `leaky_relu` (its slope is stored separately).
    pub fn name(self) -> &'static str {
        self.unary().name()
    }

    /// Parses `identity`, `sigmoid`, `tanh`, `relu`, `leaky_relu` (slope 0.01) or
    /// `leaky_relu:SLOPE`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] for anything else.
    pub fn parse(text: &str) -> crate::Result<Activation> {
        let bad = |reason: String| crate::Error::InvalidOption {
            name: "activation".into(),
            reason,
        };
        Ok(match text {
            "identity" | "linear" => Activation::Identity,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(0.01),
            other => match other.strip_prefix("leaky_relu:") {
                Some(slope) => {
                    let slope: f64 = slope
                        .parse()
                        .map_err(|_| bad(format!("the slope in {other:?} is not a number")))?;
                    if !slope.is_finite() {
                        return Err(bad(format!("the slope in {other:?} is not finite")));
                    }
                    Activation::LeakyRelu(slope)
                }
                None => {
                    return Err(bad(format!(
                        "unknown activation {other:?} (expected identity, sigmoid, tanh, relu, leaky_relu or leaky_relu:SLOPE)"
                    )));
                }
            },
        })
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::LeakyRelu(slope) => write!(f, "leaky_relu:{slope}"),
            other => f.write_str(other.name()),
        }
    }
}

/// The bias: an extra node of constant value in every layer but the last, with its own weight
/// to each node of the next layer (`b[l][j]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bias {
    /// No bias node (the tutorial's worked example).
    None,
    /// A bias node of this constant value: `+1` in most code (the default), `-1` in the
    /// tutorial's text.
    Node(f64),
}

impl Default for Bias {
    fn default() -> Bias {
        Bias::Node(1.0)
    }
}
