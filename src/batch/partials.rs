//! The partial sums of the uniforms' adjoints, and how they are read.
//!
//! Each uniform (a parameter or a constant) has [`PARTIALS`] partial sums: lane `l` of every
//! block adds into partial `l % 8`, and the eight are reduced in one fixed order when read
//! ([`reduce`]), so that no horizontal sum is needed per product and the order does not depend
//! on the vector width the compiler picks. [`take`] reads the parameters' sums at the end of a
//! shard: on a CPU with AVX-512, eight parameters at a time, with the same additions in the same
//! order as [`reduce`].

use crate::op::dot;

/// Partial sums per uniform adjoint.
pub(super) const PARTIALS: usize = 8;

#[inline(always)]
pub(super) fn partials_mut(buf: &mut [f64], u: u32) -> &mut [f64; PARTIALS] {
    let start = u as usize * PARTIALS;
    (&mut buf[start..start + PARTIALS])
        .try_into()
        .expect("internal error: eight partial sums")
}

/// `dst[l % 8] += g[l] * x[l]` for every lane `l`, in lane order.
// lane `l` indexes three arrays: the shape LLVM vectorises best
#[allow(clippy::needless_range_loop)]
#[inline(always)]
pub(super) fn add_products<const L: usize>(dst: &mut [f64; PARTIALS], g: &[f64; L], x: &[f64; L]) {
    for c in 0..L.div_ceil(PARTIALS) {
        for k in 0..PARTIALS.min(L) {
            let l = c * PARTIALS + k;
            dst[k] += g[l] * x[l];
        }
    }
}

/// A weight's gradient over a block, `g * d(x w)/dw` per lane (`dot`'s partial: the row `x`),
/// into its partial sums as [`add_products`] adds them.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
pub(super) fn add_weight_gradient<const L: usize>(
    dst: &mut [f64; PARTIALS],
    g: &[f64; L],
    x: &[f64; L],
) {
    for c in 0..L.div_ceil(PARTIALS) {
        for k in 0..PARTIALS.min(L) {
            let l = c * PARTIALS + k;
            dst[k] += g[l] * dot::partial(x[l]);
        }
    }
}

/// The sum of the eight partial sums, in a fixed order.
#[inline(always)]
pub(super) fn reduce(p: &[f64; PARTIALS]) -> f64 {
    ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]))
}

/// `grad[k] += reduce(partials of uniform k)` for every parameter `k` (the parameters are the
/// uniforms `0..grad.len()`, in slot order), then every partial sum of `partials` cleared.
pub(super) fn take(partials: &mut [f64], grad: &mut [f64]) {
    let (params, constants) = partials.split_at_mut(grad.len() * PARTIALS);
    // eight parameters' sums are eight vectors: one 512-bit register each
    let whole = grad.len() / 8 * 8;
    let done = take_eights(&mut params[..whole * PARTIALS], &mut grad[..whole]);
    for (g, p) in grad
        .iter_mut()
        .zip(params.chunks_exact_mut(PARTIALS))
        .skip(done)
    {
        let p: &mut [f64; PARTIALS] = p.try_into().expect("internal error: eight partial sums");
        *g += reduce(p);
        *p = [0.0; PARTIALS];
    }
    constants.fill(0.0);
}

/// [`take`] for `grad.len()` parameters (a multiple of 8) eight at a time, if the CPU has
/// AVX-512; returns how many it took (`grad.len()` or 0).
#[cfg(target_arch = "x86_64")]
fn take_eights(partials: &mut [f64], grad: &mut [f64]) -> usize {
    match pulp::x86::V4::try_new() {
        Some(simd) => {
            let done = grad.len();
            pulp::Simd::vectorize(
                simd,
                TakeEight {
                    simd,
                    partials,
                    grad,
                },
            );
            done
        }
        None => 0,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn take_eights(_: &mut [f64], _: &mut [f64]) -> usize {
    0
}

/// [`take`] for eight parameters at a time, on AVX-512 (`pulp`'s `V4`). [`reduce`]'s three
/// levels of additions, each done for eight parameters by one vector addition of two shuffles:
/// `p[k] + p[k + 4]`, then `(p[0] + p[4]) + (p[1] + p[5])` and `(p[2] + p[6]) + (p[3] + p[7])`,
/// then their sum. Every addition has the same two operands as in [`reduce`], so the same bits.
#[cfg(target_arch = "x86_64")]
struct TakeEight<'a> {
    simd: pulp::x86::V4,
    partials: &'a mut [f64],
    grad: &'a mut [f64],
}

#[cfg(target_arch = "x86_64")]
impl pulp::WithSimd for TakeEight<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        use core::arch::x86_64::__m512d;
        use pulp::Simd;
        let TakeEight {
            simd,
            partials,
            grad,
        } = self;
        let f = simd.avx512f;
        let load = |s: &[f64]| -> __m512d { pulp::cast(pulp::x86::V4::as_simd_f64s(s).0[0]) };
        // a 512-bit vector is four 128-bit lanes; `_mm512_shuffle_f64x2` picks two lanes of
        // its first operand, then two of its second
        let halves = |a, b| {
            let low = f._mm512_shuffle_f64x2::<0b01_00_01_00>(a, b);
            let high = f._mm512_shuffle_f64x2::<0b11_10_11_10>(a, b);
            f._mm512_add_pd(low, high)
        };
        let pairs = |a, b| f._mm512_add_pd(f._mm512_unpacklo_pd(a, b), f._mm512_unpackhi_pd(a, b));
        for (p, g) in partials
            .chunks_exact_mut(8 * PARTIALS)
            .zip(grad.chunks_exact_mut(8))
        {
            let v: [__m512d; 8] = std::array::from_fn(|j| load(&p[j * PARTIALS..]));
            // parameter j's p[k] + p[k + 4], k = 0..4, beside parameter j + 2's
            let (s02, s13) = (halves(v[0], v[2]), halves(v[1], v[3]));
            let (s46, s57) = (halves(v[4], v[6]), halves(v[5], v[7]));
            // per 128-bit lane, two parameters' (p[0] + p[4]) + (p[1] + p[5]) (lanes 0 and 2)
            // or (p[2] + p[6]) + (p[3] + p[7]) (lanes 1 and 3): parameters 0 1 | 0 1 | 2 3 | 2 3
            let (t03, t47) = (pairs(s02, s13), pairs(s46, s57));
            let low = f._mm512_shuffle_f64x2::<0b10_00_10_00>(t03, t47);
            let high = f._mm512_shuffle_f64x2::<0b11_01_11_01>(t03, t47);
            let sums = f._mm512_add_pd(low, high);
            let total: __m512d = f._mm512_add_pd(load(g), sums);
            let out: [f64; 8] = pulp::cast(total);
            g.copy_from_slice(&out);
            // cleared while in L1, not in a pass of its own over every parameter
            p.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector path gives [`reduce`]'s bits for every parameter, with partial sums of mixed
    /// magnitudes and signs (where another order of additions would round differently), and
    /// clears every partial sum; 21 parameters exercise two vectors and a scalar tail.
    #[test]
    fn take_adds_reduce_of_each_parameter_and_clears() {
        let n = 21;
        let partials: Vec<f64> = (0..(n + 3) * PARTIALS)
            .map(|k| {
                let x = (k as f64 * 0.731).sin();
                x * 10f64.powi((k % 7) as i32 * 3 - 9)
            })
            .collect();
        let start: Vec<f64> = (0..n).map(|k| (k as f64 * 1.37).cos()).collect();
        let want: Vec<u64> = (0..n)
            .map(|k| {
                let p = partials[k * PARTIALS..(k + 1) * PARTIALS]
                    .try_into()
                    .unwrap();
                (start[k] + reduce(p)).to_bits()
            })
            .collect();
        let mut got_partials = partials.clone();
        let mut grad = start.clone();
        take(&mut got_partials, &mut grad);
        let got: Vec<u64> = grad.iter().map(|g| g.to_bits()).collect();
        assert_eq!(got, want);
        assert!(got_partials.iter().all(|&p| p == 0.0));
        // another order of the additions rounds differently for some of these, so the test
        // tells the order apart
        assert!((0..n).any(|k| {
            let p = &partials[k * PARTIALS..(k + 1) * PARTIALS];
            p.iter().sum::<f64>().to_bits() != reduce(p.try_into().unwrap()).to_bits()
        }));
    }
}
