//! The playground's data presets: the worked example's one association, XOR, two moons.

use rand::RngExt;

use crate::data::Dataset;
use crate::nn::Init;
use crate::tutorial;

/// The worked example's one association: `[1, 1] -> [0.5]`.
pub fn worked() -> Dataset {
    Dataset::new(
        tutorial::WORKED_INPUT.to_vec(),
        tutorial::WORKED_TARGET.to_vec(),
        2,
        1,
    )
    .expect("internal error: the worked example's association is valid")
}

/// Two interleaved half circles ("two moons"), `count` points, targets 0 (upper moon) and 1
/// (lower moon), each coordinate moved by uniform noise in `[-noise, noise)`, drawn from `seed`.
/// Upper: `(cos t, sin t)`; lower: `(1 - cos t, 0.5 - sin t)`, `t` evenly spaced in `[0, pi]`.
///
/// # Examples
/// ```
/// let moons = backprop::serve::presets::two_moons(100, 0.1, 0);
/// assert_eq!((moons.len(), moons.n_inputs(), moons.n_targets()), (100, 2, 1));
/// ```
pub fn two_moons(count: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = Init::rng(seed);
    let half = count.div_ceil(2);
    let mut inputs = Vec::with_capacity(2 * count);
    let mut targets = Vec::with_capacity(count);
    for n in 0..count {
        let lower = n >= half;
        let (k, of) = if lower {
            (n - half, count - half)
        } else {
            (n, half)
        };
        let t = std::f64::consts::PI * k as f64 / (of.max(2) - 1) as f64;
        let (x, y) = if lower {
            (1.0 - t.cos(), 0.5 - t.sin())
        } else {
            (t.cos(), t.sin())
        };
        let mut jitter = || {
            if noise > 0.0 {
                rng.random_range(-noise..noise)
            } else {
                0.0
            }
        };
        inputs.push(x + jitter());
        inputs.push(y + jitter());
        targets.push(if lower { 1.0 } else { 0.0 });
    }
    Dataset::new(inputs, targets, 2, 1).expect("internal error: the moons are finite")
}
