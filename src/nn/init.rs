//! Weight initialisation schemes.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::error::{Error, Result};

/// How a layered network's weights start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every weight and bias weight equal to this value (the worked example's 0.5).
    Constant(f64),
    /// Every weight and bias weight drawn uniformly from `[low, high)` with the network's seed.
    Uniform {
        /// Lower end (inclusive).
        low: f64,
        /// Upper end (exclusive).
        high: f64,
    },
    /// Xavier/Glorot uniform: weights from `U(-a, a)`, `a = sqrt(6 / (fan_in + fan_out))`,
    /// bias weights 0. Suits sigmoid and tanh.
    Xavier,
    /// He uniform: weights from `U(-a, a)`, `a = sqrt(6 / fan_in)`, bias weights 0. Suits ReLU.
    He,
}

impl Init {
    /// Checks the scheme's numbers.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a non-finite constant or an empty or non-finite range.
    pub fn validate(self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidOption {
                name: "weight initialisation".into(),
                reason,
            })
        };
        match self {
            Init::Constant(v) if !v.is_finite() => bad(format!("constant {v} is not finite")),
            Init::Uniform { low, high } if !(low.is_finite() && high.is_finite() && low < high) => {
                bad(format!(
                    "uniform range [{low}, {high}) is empty or not finite"
                ))
            }
            Init::Constant(_) | Init::Uniform { .. } | Init::Xavier | Init::He => Ok(()),
        }
    }

    /// Draws the weights of one layer: `(W[j][i] flattened out-major, b[j])`.
    pub(crate) fn layer(
        self,
        rng: &mut Xoshiro256PlusPlus,
        fan_in: usize,
        fan_out: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let n = fan_in * fan_out;
        let mut symmetric = |a: f64, count: usize| -> Vec<f64> {
            (0..count).map(|_| rng.random_range(-a..a)).collect()
        };
        match self {
            Init::Constant(v) => (vec![v; n], vec![v; fan_out]),
            Init::Uniform { low, high } => {
                let w = (0..n).map(|_| rng.random_range(low..high)).collect();
                let b = (0..fan_out).map(|_| rng.random_range(low..high)).collect();
                (w, b)
            }
            Init::Xavier => {
                let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
                (symmetric(a, n), vec![0.0; fan_out])
            }
            Init::He => {
                let a = (6.0 / fan_in as f64).sqrt();
                (symmetric(a, n), vec![0.0; fan_out])
            }
        }
    }

    /// A seeded generator (xoshiro256++, a fixed, documented algorithm: same seed, same weights
    /// on every platform and version of this crate).
    pub fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }
}
