//! The rules of one pair `(a, b)` of a `dot` node ([`super::Op::Dot`]), written once for every
//! driver: [`super::Op::eval`] and [`super::Op::partials`] (the tape's sweep), the block
//! driver's lone `dot` steps and its layer kernels (eight lanes at once, through a
//! [`Scalar`] of lanes).
//!
//! `y = sum_k a_k b_k`, the terms added in pair order from 0. A pair's term is its product,
//! [`Binary::Mul`]'s value, and its partials are `Mul`'s, `[dy/da, dy/db] = [b, a]`: the partial
//! with respect to a factor is the other factor, and reads neither the factor itself nor the
//! output, so a kernel may form it without loading them ([`partial`]).

use super::{Binary, Scalar};

/// The term of the pair `(a, b)` in its `dot`'s sum: `a * b`.
#[inline(always)]
pub(crate) fn term<S: Scalar>(a: S, b: S) -> S {
    Binary::Mul.value(a, b)
}

/// The partial of a `dot` with respect to one factor of a pair, given the pair's `other`
/// factor: `d(a b)/da = b`.
#[inline(always)]
pub(crate) fn partial<S: Scalar>(other: S) -> S {
    other
}

/// The partials `[dy/da, dy/db] = [b, a]` of a `dot` with respect to the pair `(a, b)`:
/// [`Binary::Mul`]'s partials, each the [`partial`] of its factor.
#[inline(always)]
pub(crate) fn partials<S: Scalar>(a: S, b: S) -> [S; 2] {
    [partial(b), partial(a)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A pair's rules are `mul`'s: its term is `Binary::Mul`'s value and its partials are
        /// `Binary::Mul`'s, which do not read the output (so none is passed here).
        #[test]
        fn a_pair_is_a_product(a in -1e6f64..1e6, b in -1e6f64..1e6) {
            prop_assert_eq!(term(a, b).to_bits(), (a * b).to_bits());
            let y = Binary::Mul.value(a, b);
            let [da, db] = Binary::Mul.partials(a, b, y);
            let [pa, pb] = partials(a, b);
            prop_assert_eq!((pa.to_bits(), pb.to_bits()), (da.to_bits(), db.to_bits()));
        }
    }
}
