//! The playground's data presets: the worked example's one association, and the data sets of
//! points in the plane (two moons, a circle in a ring, two gaussian clouds, two spirals, XOR
//! quadrants), each drawn from a seed with a chosen noise. Targets are 1 and 0 (the two
//! classes), for a sigmoid output.

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use serde::Deserialize;

use crate::data::Dataset;
use crate::nn::Init;
use crate::tutorial;
use std::f64::consts::PI;

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

/// A data set of points in the plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaneSet {
    /// [`two_moons`].
    Moons,
    /// [`circle`].
    Circle,
    /// [`gaussian`].
    Gaussian,
    /// [`spiral`].
    Spiral,
    /// [`xor`].
    Xor,
}

impl PlaneSet {
    /// `count` points of this set with `noise`, drawn from `seed`.
    pub fn generate(self, count: usize, noise: f64, seed: u64) -> Dataset {
        match self {
            PlaneSet::Moons => two_moons(count, noise, seed),
            PlaneSet::Circle => circle(count, noise, seed),
            PlaneSet::Gaussian => gaussian(count, noise, seed),
            PlaneSet::Spiral => spiral(count, noise, seed),
            PlaneSet::Xor => xor(count, noise, seed),
        }
    }
}

/// Points from `point(n, rng) -> (x1, x2, class)` for `n` in `0..count`, each coordinate moved
/// by uniform noise in `[-noise, noise)`.
fn points(
    count: usize,
    noise: f64,
    seed: u64,
    mut point: impl FnMut(usize, &mut Xoshiro256PlusPlus) -> (f64, f64, bool),
) -> Dataset {
    let mut rng = Init::rng(seed);
    let mut inputs = Vec::with_capacity(2 * count);
    let mut targets = Vec::with_capacity(count);
    for n in 0..count {
        let (x1, x2, class) = point(n, &mut rng);
        for v in [x1, x2] {
            let jitter = if noise > 0.0 {
                rng.random_range(-noise..noise)
            } else {
                0.0
            };
            inputs.push(v + jitter);
        }
        targets.push(if class { 1.0 } else { 0.0 });
    }
    Dataset::new(inputs, targets, 2, 1).expect("internal error: the points are finite")
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
    let half = count.div_ceil(2);
    points(count, noise, seed, |n, _| {
        let lower = n >= half;
        let (k, of) = if lower {
            (n - half, count - half)
        } else {
            (n, half)
        };
        let t = PI * k as f64 / (of.max(2) - 1) as f64;
        if lower {
            (1.0 - t.cos(), 0.5 - t.sin(), true)
        } else {
            (t.cos(), t.sin(), false)
        }
    })
}

/// A disc inside a ring: every other point (target 1) at a uniform angle and a radius uniform
/// in `[0, 0.5)`, the others (target 0) at a radius uniform in `[0.7, 1)`.
pub fn circle(count: usize, noise: f64, seed: u64) -> Dataset {
    points(count, noise, seed, |n, rng| {
        let inside = n % 2 == 0;
        let r = if inside {
            rng.random_range(0.0..0.5)
        } else {
            rng.random_range(0.7..1.0)
        };
        let angle: f64 = rng.random_range(0.0..2.0 * PI);
        (r * angle.cos(), r * angle.sin(), inside)
    })
}

/// Two gaussian clouds of standard deviation 0.25, centred on `(0.5, 0.5)` (target 1, every
/// other point) and `(-0.5, -0.5)` (target 0) (Box-Muller from uniform draws).
pub fn gaussian(count: usize, noise: f64, seed: u64) -> Dataset {
    points(count, noise, seed, |n, rng| {
        let first = n % 2 == 0;
        let centre = if first { 0.5 } else { -0.5 };
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        let v: f64 = rng.random_range(0.0..2.0 * PI);
        let r = 0.25 * (-2.0 * u.ln()).sqrt();
        (centre + r * v.cos(), centre + r * v.sin(), first)
    })
}

/// Two interleaved spirals: point `k` of each arm at radius `r = k / half` and angle
/// `1.75 * 2 pi * r` (the second arm turned by `pi`); targets 1 and 0.
pub fn spiral(count: usize, noise: f64, seed: u64) -> Dataset {
    let half = count.div_ceil(2).max(1);
    points(count, noise, seed, |n, _| {
        let second = n >= half;
        let k = if second { n - half } else { n };
        let r = k as f64 / half as f64;
        let angle = 1.75 * 2.0 * PI * r + if second { PI } else { 0.0 };
        (r * angle.sin(), r * angle.cos(), !second)
    })
}

/// Points uniform in `[-1, 1]^2` off the axes (at least 0.05 from each), target 1 where
/// `x1 x2 > 0` (the first and third quadrants).
pub fn xor(count: usize, noise: f64, seed: u64) -> Dataset {
    points(count, noise, seed, |_, rng| {
        let mut coordinate = || {
            let v: f64 = rng.random_range(0.05..1.0);
            if rng.random_range(0.0..1.0) < 0.5 {
                -v
            } else {
                v
            }
        };
        let (x1, x2) = (coordinate(), coordinate());
        (x1, x2, x1 * x2 > 0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class of each point, as its generator defines it before the noise.
    #[test]
    fn noiseless_points_lie_where_their_class_says() {
        let circle = circle(200, 0.0, 3);
        for t in 0..circle.len() {
            let (x, y) = circle.association(t).unwrap();
            let r = (x[0] * x[0] + x[1] * x[1]).sqrt();
            assert!(
                if y[0] == 1.0 {
                    r < 0.5
                } else {
                    (0.7..1.0).contains(&r)
                },
                "{r}"
            );
        }
        let xor = xor(200, 0.0, 3);
        for t in 0..xor.len() {
            let (x, y) = xor.association(t).unwrap();
            assert_eq!(y[0] == 1.0, x[0] * x[1] > 0.0);
            assert!(x[0].abs() >= 0.05 && x[1].abs() >= 0.05);
        }
        // the two arms of the spiral: opposite points at the same radius
        let spiral = spiral(100, 0.0, 0);
        let (a, _) = spiral.association(10).unwrap();
        let (b, _) = spiral.association(60).unwrap();
        assert!((a[0] + b[0]).abs() < 1e-12 && (a[1] + b[1]).abs() < 1e-12);
    }

    #[test]
    fn a_seed_gives_the_same_points_and_noise_stays_in_its_bound() {
        for set in [
            PlaneSet::Moons,
            PlaneSet::Circle,
            PlaneSet::Gaussian,
            PlaneSet::Spiral,
            PlaneSet::Xor,
        ] {
            let a = set.generate(50, 0.2, 9);
            assert_eq!(a.inputs(), set.generate(50, 0.2, 9).inputs());
            assert_eq!((a.len(), a.n_inputs()), (50, 2));
            let clean = set.generate(50, 0.0, 9);
            // the noise is the only difference where the generator draws nothing per point
            if matches!(set, PlaneSet::Moons | PlaneSet::Spiral) {
                for (x, c) in a.inputs().iter().zip(clean.inputs()) {
                    assert!((x - c).abs() < 0.2);
                }
            }
        }
    }
}
