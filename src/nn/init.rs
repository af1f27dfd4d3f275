//! Weight initialisation schemes.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::error::{Error, Result};

/// A draw from `U[low, high)` for finite `low < high`. When the width `high - low` overflows
/// to infinity (as for `[-1.7e308, 1.7e308)`), the draw is the interpolation
/// `low (1 - u) + high u` of a uniform `u` in `[0, 1)`, whose two terms stay finite, kept below
/// `high` if rounding reaches it.
fn uniform(rng: &mut Xoshiro256PlusPlus, low: f64, high: f64) -> f64 {
    if (high - low).is_finite() {
        return rng.random_range(low..high);
    }
    let u: f64 = rng.random();
    let value = low * (1.0 - u) + high * u;
    if value < high {
        value
    } else {
        high.next_down()
    }
}

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
                let w = (0..n).map(|_| uniform(rng, low, high)).collect();
                let b = (0..fan_out).map(|_| uniform(rng, low, high)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uniform_range_wider_than_the_largest_float_draws_finite_weights_inside_it() {
        // high - low = 3.4e308 overflows f64 (max about 1.8e308); it used to panic
        let (low, high) = (-1.7e308, 1.7e308);
        let init = Init::Uniform { low, high };
        assert!(init.validate().is_ok());
        let (w, b) = init.layer(&mut Init::rng(7), 30, 20);
        assert_eq!((w.len(), b.len()), (600, 20));
        for v in w.iter().chain(&b) {
            assert!(v.is_finite() && (low..high).contains(v), "{v}");
        }
        // they spread over the range: a draw lands above 1e308 with probability
        // (1.7 - 1.0) / 3.4 = 0.21, below -1e308 as often, so none of 600 doing so has
        // probability 0.79^600, below 1e-60
        assert!(w.iter().any(|&v| v > 1e308) && w.iter().any(|&v| v < -1e308));
    }

    #[test]
    fn an_ordinary_uniform_range_draws_as_before() {
        // the wide-range path is taken only when the width overflows: the same seed gives the
        // draws of rand's uniform sampler
        let mut rng = Init::rng(3);
        let expected: Vec<f64> = (0..6).map(|_| rng.random_range(-1.0..1.0)).collect();
        let (w, _) = Init::Uniform {
            low: -1.0,
            high: 1.0,
        }
        .layer(&mut Init::rng(3), 2, 3);
        assert_eq!(w, expected);
    }
}
