//! What a layered network is, before it is lowered to graph nodes: [`MlpSpec`] and its
//! builder.

use super::Mlp;
use crate::error::{Error, Result};
use crate::nn::{Activation, Bias, Init, Loss};

/// What a layered network is: layer sizes, an activation per layer, bias, initialisation, loss.
///
/// Layer 0 is the input layer (identity: `y_i = x_i`); layers `1..=L` compute
/// `x_j = sum_i w_ij y_i + b_j * bias` and `y_j = f_l(x_j)`.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpSpec {
    /// Nodes per layer, input layer first; at least 2 layers, none empty.
    pub sizes: Vec<usize>,
    /// The activation of layers `1..=L` (one per layer after the input).
    pub activations: Vec<Activation>,
    /// The bias node.
    pub bias: Bias,
    /// How weights start.
    pub init: Init,
    /// Seed of the initialisation's random generator.
    pub seed: u64,
    /// The error of one association.
    pub loss: Loss,
}

impl MlpSpec {
    /// Layers of `sizes`, `hidden` activation on every hidden layer and `output` on the last;
    /// bias `+1`, Xavier initialisation with seed 0, half squared error.
    ///
    /// # Examples
    /// ```
    /// use backprop::nn::{Activation, Bias, Init, MlpSpec};
    /// // the tutorial's worked example: 2x2x1, no bias, every weight 0.5
    /// let net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
    ///     .with_bias(Bias::None)
    ///     .with_init(Init::Constant(0.5))
    ///     .build()?;
    /// let e = net.evaluate(&[1.0, 1.0], &[0.5])?;
    /// assert!((e.y(2, 0)? - 0.731).abs() < 5e-4);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn new(sizes: &[usize], hidden: Activation, output: Activation) -> MlpSpec {
        let layers = sizes.len().saturating_sub(1);
        let mut activations = vec![hidden; layers];
        if let Some(last) = activations.last_mut() {
            *last = output;
        }
        MlpSpec {
            sizes: sizes.to_vec(),
            activations,
            bias: Bias::default(),
            init: Init::Xavier,
            seed: 0,
            loss: Loss::HalfSquaredError,
        }
    }

    /// With this bias.
    pub fn with_bias(mut self, bias: Bias) -> MlpSpec {
        self.bias = bias;
        self
    }

    /// With this initialisation.
    pub fn with_init(mut self, init: Init) -> MlpSpec {
        self.init = init;
        self
    }

    /// With this seed.
    pub fn with_seed(mut self, seed: u64) -> MlpSpec {
        self.seed = seed;
        self
    }

    /// With this loss.
    pub fn with_loss(mut self, loss: Loss) -> MlpSpec {
        self.loss = loss;
        self
    }

    /// With one activation per layer after the input.
    pub fn with_activations(mut self, activations: &[Activation]) -> MlpSpec {
        self.activations = activations.to_vec();
        self
    }

    /// Checks the specification.
    ///
    /// # Errors
    /// [`Error::InvalidNetwork`] for fewer than 2 layers, a layer of width 0, the wrong number
    /// of activations or a non-finite bias or slope; [`Error::InvalidOption`] for a bad
    /// initialisation.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidNetwork(m));
        if self.sizes.len() < 2 {
            return bad(format!(
                "a network needs at least 2 layers (input and output), got {}",
                self.sizes.len()
            ));
        }
        if let Some(l) = self.sizes.iter().position(|&n| n == 0) {
            return bad(format!("layer {l} has width 0"));
        }
        if self.activations.len() != self.sizes.len() - 1 {
            return bad(format!(
                "expected {} activations (one per layer after the input), got {}",
                self.sizes.len() - 1,
                self.activations.len()
            ));
        }
        for (l, a) in self.activations.iter().enumerate() {
            if let Activation::LeakyRelu(slope) = a
                && !slope.is_finite()
            {
                return bad(format!(
                    "layer {}: leaky_relu slope {slope} is not finite",
                    l + 1
                ));
            }
        }
        if let Bias::Node(v) = self.bias
            && !v.is_finite()
        {
            return bad(format!("the bias node's value {v} is not finite"));
        }
        self.init.validate()
    }

    /// Lowers the specification to a graph, compiles it and draws the initial weights.
    ///
    /// # Errors
    /// Those of [`MlpSpec::validate`].
    pub fn build(&self) -> Result<Mlp> {
        self.validate()?;
        Mlp::lower(self.clone())
    }
}
