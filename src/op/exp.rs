//! The engine's own exponential, for the `exp`, `sigmoid` and `tanh` ops: plain arithmetic that
//! vectorises and gives the same bits in a vector lane as in scalar code.

/// `e^x`, the exponential of [`super::Unary::Exp`] and [`super::Unary::Sigmoid`].
///
/// Written as plain arithmetic, with no call and no branch, so that a loop of it vectorises (the
/// C library's `exp` is one call per number), and with no fused multiply-add, so that every
/// operation rounds the same way in a vector lane as in scalar code: a sigmoid gives the same bits
/// in the plan's blocks as in the tape.
///
/// - `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2`, so `|r| <= ln 2 / 2`. `ln 2` is
///   split in a high part with 32 significant bits (`k * LN2_HI` is exact for `|k| < 2^21`) and a
///   low part that carries the next 53 bits.
/// - `e^r` is its Taylor series to degree 13: the first term left out is below `5e-18`, a fiftieth
///   of an ulp of 1. The terms past `r` are summed in Estrin's scheme: pairs `c_i + c_(i+1) r`,
///   pairs of pairs by `r^2`, and the three quadruples by `r^2`, `r^6` and `r^10`. Its dependency
///   chain is 7 operations deep instead of Horner's 26: a chain of sigmoids (W4) waits on each.
/// - `2^k` is applied in two halves, each a normal power of two, so that a result in the subnormal
///   range is rounded once and `x` near the overflow threshold gives infinity.
///
/// Within 1 ulp of the C library's `exp` over the whole range (tested); NaN gives NaN,
/// `x > 709.79` gives infinity and `x < -745.2` gives 0.
#[inline(always)]
pub(super) fn exp(x: f64) -> f64 {
    let (m, [half, other_half]) = exp_reduced(x);
    let y = (1.0 + m) * half * other_half;
    if x < UNDERFLOW {
        0.0
    } else if x > OVERFLOW {
        f64::INFINITY
    } else {
        y
    }
}

/// Below this, `e^x` rounds to 0 (and `k` would leave the range of the two halves).
const UNDERFLOW: f64 = -746.0;
/// Above this, `e^x` is infinity.
const OVERFLOW: f64 = 710.0;

/// `e^y` for `y <= 0`, for [`super::Unary::Sigmoid`]: [`exp`] with `2^k` applied as one power of two,
/// formed beside the series instead of in two halves after it, one multiplication shorter for
/// a chain of sigmoids. `2^k` is exact down to `2^-1074`, so the result has the same bits as
/// [`exp`]'s except for `-745.14 < y < -744.78`, where it rounds to 0 instead of the smallest
/// subnormal number.
#[inline(always)]
pub(super) fn exp_nonpositive(y: f64) -> f64 {
    let (m, [half, other_half]) = exp_reduced(y);
    let e = (1.0 + m) * (half * other_half);
    if y < UNDERFLOW { 0.0 } else { e }
}

/// `e^y - 1` for `y <= 0`, for [`super::Unary::Tanh`]: with `e^y = 2^k (1 + m)` as in [`exp`], it is
/// `(2^k - 1) + 2^k m`, where `2^k - 1` is exact for the `k` that matter (`-53 <= k <= 0`) and
/// `k = 0` gives `m` itself, with no cancellation near `y = 0`.
#[inline(always)]
pub(super) fn exp_minus_one_nonpositive(y: f64) -> f64 {
    let (m, [half, other_half]) = exp_reduced(y);
    let power_of_two = half * other_half;
    let e = (power_of_two - 1.0) + power_of_two * m;
    if y < UNDERFLOW { -1.0 } else { e }
}

/// `e^x = (1 + m) 2^k`, as `m = e^r - 1` and `2^k` in two halves (see [`exp`]).
#[inline(always)]
fn exp_reduced(x: f64) -> (f64, [f64; 2]) {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // Adding 1.5 * 2^52 rounds to an integer, which is then read from the low bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    // Outside [UNDERFLOW, OVERFLOW] the results are garbage (no panic: the integer arithmetic
    // wraps), for the callers to replace. A select there at the end instead of a clamp here
    // keeps two operations off the dependency chain.
    let t = x * LOG2_E + SHIFT;
    let k_float = t - SHIFT;
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let r = (x - k_float * LN2_HI) - k_float * LN2_LO;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q0 = (C[0] + C[1] * r) + (C[2] + C[3] * r) * r2;
    let q1 = (C[4] + C[5] * r) + (C[6] + C[7] * r) * r2;
    let q2 = (C[8] + C[9] * r) + (C[10] + C[11] * r) * r2;
    let (r6, r10) = (r2 * r4, r2 * r8);
    let m = r + ((r2 * q0 + r6 * q1) + r10 * q2);
    let power_of_two = |e: i64| f64::from_bits((e.wrapping_add(1023) as u64) << 52);
    let half = k >> 1;
    (m, [power_of_two(half), power_of_two(k.wrapping_sub(half))])
}
