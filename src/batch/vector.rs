//! A vector of lanes (8 on AVX-512, 4 on AVX2, as `pulp` gives them) as a [`Scalar`], so that
//! the layer kernels apply [`crate::op`]'s rules to that many associations at once, and the
//! loads and stores of such vectors.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::op::{Scalar, Unary};

/// The vector of lanes `start..start + S::F64_LANES` of `buf`.
#[inline(always)]
pub(super) fn load<S: pulp::Simd>(buf: &[f64], start: usize) -> S::f64s {
    S::as_simd_f64s(&buf[start..start + S::F64_LANES]).0[0]
}

#[inline(always)]
pub(super) fn store<S: pulp::Simd>(buf: &mut [f64], start: usize, v: S::f64s) {
    S::as_mut_simd_f64s(&mut buf[start..start + S::F64_LANES]).0[0] = v;
}

/// A vector of 8 lanes (4 in a block of 4) as a [`Scalar`], so that the kernels apply
/// [`crate::op`]'s rules to that many associations at once: each lane computes what a lone
/// [`super::steps::Step::Dot`] computes in it.
#[derive(Clone, Copy)]
pub(super) struct Lanes<S: pulp::Simd> {
    simd: S,
    pub(super) v: S::f64s,
}

impl<S: pulp::Simd> Lanes<S> {
    #[inline(always)]
    pub(super) fn load(simd: S, buf: &[f64], start: usize) -> Lanes<S> {
        Lanes {
            simd,
            v: load::<S>(buf, start),
        }
    }

    #[inline(always)]
    pub(super) fn splat(simd: S, value: f64) -> Lanes<S> {
        Lanes {
            simd,
            v: simd.splat_f64s(value),
        }
    }

    #[inline(always)]
    fn with(self, v: S::f64s) -> Lanes<S> {
        Lanes { simd: self.simd, v }
    }
}

impl<S: pulp::Simd> Add for Lanes<S> {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        self.with(self.simd.add_f64s(self.v, rhs.v))
    }
}

impl<S: pulp::Simd> Sub for Lanes<S> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        self.with(self.simd.sub_f64s(self.v, rhs.v))
    }
}

impl<S: pulp::Simd> Mul for Lanes<S> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        self.with(self.simd.mul_f64s(self.v, rhs.v))
    }
}

impl<S: pulp::Simd> Div for Lanes<S> {
    type Output = Self;
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        self.with(self.simd.div_f64s(self.v, rhs.v))
    }
}

impl<S: pulp::Simd> Neg for Lanes<S> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.with(self.simd.neg_f64s(self.v))
    }
}

impl<S: pulp::Simd> Scalar for Lanes<S> {
    #[inline(always)]
    fn constant_like(self, c: f64) -> Self {
        Lanes::splat(self.simd, c)
    }

    /// Lane by lane, through [`Unary::value`] (the kernels apply no unary op).
    fn apply(self, op: Unary) -> Self {
        // no `pulp` vector holds more than AVX-512's eight
        let mut lanes = [0.0; 8];
        store::<S>(&mut lanes, 0, self.v);
        for x in &mut lanes {
            *x = op.value(*x);
        }
        Lanes::load(self.simd, &lanes, 0)
    }
}
