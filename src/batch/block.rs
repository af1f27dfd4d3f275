//! The driver of blocks: a run of associations cut into blocks of `L` lanes, and each block's
//! forward and backward pass over a [`Plan`]'s steps, [`crate::op`]'s rules applied lane by
//! lane (a layer [`super::group::Group`] runs its own kernels). Compiled for the instruction
//! set of the workspace (`pulp`); no fused multiply-add, so every width gives the same bits.

// The kernels index several fixed-width arrays by the same lane `l`: the shape LLVM vectorises
// best, and clearer than zipping four iterators.
#![allow(clippy::needless_range_loop)]

use super::group::VECTOR;
use super::partials::{add_products, add_weight_gradient, partials_mut};
use super::plan::Plan;
use super::rows::{row, row_and_row_mut, row_mut};
use super::steps::{Pair, Step};
use super::workspace::{PlanWorkspace, block_width};
use crate::op::{Binary, Unary, dot};

/// Runs `$body` with `$op` bound to a constant for the ops without a parameter, so that a loop
/// over the lanes inside it is compiled for that one op (no dispatch per lane; with
/// the engine's own `exp`, a loop of sigmoids vectorises whole). `unswitched!(binary ...)` does
/// the same for a [`Binary`] op. Every variant is named: a new op makes this match
/// non-exhaustive, and the compiler asks whether it gets a loop of its own.
macro_rules! unswitched {
    (binary $op:expr, |$name:ident| $body:block) => {
        unswitched!(@binary $op, |$name| $body, [Add, Sub, Mul, Div])
    };
    (@binary $op:expr, |$name:ident| $body:block, [$($fixed:ident),+]) => {
        match $op {
            $(Binary::$fixed => {
                let $name = Binary::$fixed;
                $body
            })+
        }
    };
    ($op:expr, |$name:ident| $body:block) => {
        unswitched!(@unary $op, |$name| $body,
            [Identity, Neg, Exp, Ln, Sigmoid, Tanh, Relu, Abs],
            [LeakyRelu, Powf, Step])
    };
    (@unary $op:expr, |$name:ident| $body:block, [$($fixed:ident),+], [$($param:ident),+]) => {
        match $op {
            $(Unary::$fixed => {
                let $name = Unary::$fixed;
                $body
            })+
            // the ops with a parameter: one loop each, the parameter read from `$name`
            $name @ ($(Unary::$param { .. })|+) => $body,
        }
    };
}

/// Where the blocks of a run read their associations' input values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Inputs<'a> {
    /// Association by association: `(data, width)` sources, association `t`'s values the
    /// concatenation of each source's `data[t * width..(t + 1) * width]`, in input-slot order;
    /// each block transposes its associations into rows.
    Rows(&'a [(&'a [f64], usize)]),
    /// Already in rows, block by block, as [`lay_out`] writes them.
    LaidOut(&'a [f64]),
}

/// The blocks a run of `count` associations from `first` is cut into, in order: `(first
/// association, width)`, each as wide as `max_width` allows (a compiled width,
/// [`block_width`]) and the rest.
pub(crate) fn blocks(
    first: usize,
    count: usize,
    max_width: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let max_width = block_width(max_width);
    let end = first + count;
    let mut start = first;
    std::iter::from_fn(move || {
        (start < end).then(|| {
            let width = block_width(max_width.min(end - start));
            start += width;
            (start - width, width)
        })
    })
}

/// The input values of associations `first..first + lanes` (as [`Inputs::Rows`] gives them)
/// transposed into rows of `lanes`: input slot `s`'s row starts at `buf[row(s)]`.
#[inline(always)]
fn transpose(
    sources: &[(&[f64], usize)],
    first: usize,
    lanes: usize,
    buf: &mut [f64],
    row: impl Fn(usize) -> usize,
) {
    let mut slot = 0;
    for &(data, width) in sources {
        let block = &data[first * width..(first + lanes) * width];
        for i in 0..width {
            let r = row(slot + i);
            for (lane, v) in buf[r..r + lanes].iter_mut().enumerate() {
                *v = block[lane * width + i];
            }
        }
        slot += width;
    }
}

/// The arguments of [`run`], as a `pulp` operation: `with_simd` is inlined into a
/// function compiled for the detected instruction set.
struct Blocks<'p, 'w, 's> {
    plan: &'p Plan,
    ws: &'w mut PlanWorkspace,
    inputs: Inputs<'s>,
    first: usize,
    count: usize,
    max_width: usize,
    seed: f64,
}

impl pulp::WithSimd for Blocks<'_, '_, '_> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> f64 {
        run_blocks(simd, self)
    }
}

/// Forward and backward over associations `first..first + count`, their input values read
/// from `inputs`, in blocks of up to `max_width`. The output's adjoint is seeded with `seed`
/// in every lane. Returns the sum of the output over the associations, in order; the
/// parameters' gradients accumulate in the workspace.
pub(crate) fn run(
    plan: &Plan,
    ws: &mut PlanWorkspace,
    inputs: Inputs<'_>,
    first: usize,
    count: usize,
    max_width: usize,
    seed: f64,
) -> f64 {
    // The kernels are plain loops; compiled once more inside a function with the CPU's
    // vector extensions enabled (AVX2, AVX-512: detected at run time by `pulp` when the
    // workspace was made, `PlanWorkspace::arch`), LLVM
    // vectorises them to its width. No fused multiply-add is ever formed (Rust does not
    // contract `a * b + c`), so every width gives the same numbers.
    let arch = ws.arch;
    arch.dispatch(Blocks {
        plan,
        ws,
        inputs,
        first,
        count,
        max_width,
        seed,
    })
}

/// The input values of associations `0..count` (as [`Inputs::Rows`] gives them) in the
/// order the blocks of runs over them, cut into shards of whole blocks of `width`, read them:
/// block by block, each input slot's lanes side by side. A run given these as
/// [`Inputs::LaidOut`] copies rows instead of transposing its associations.
pub(crate) fn lay_out(
    plan: &Plan,
    sources: &[(&[f64], usize)],
    shards: impl Iterator<Item = (usize, usize)>,
    width: usize,
) -> Vec<f64> {
    let n = plan.input_rows().len();
    let mut laid = Vec::new();
    for (first, count) in shards {
        for (start, lanes) in blocks(first, count, width) {
            laid.resize((start + lanes) * n, 0.0);
            transpose(sources, start, lanes, &mut laid[start * n..], |slot| {
                slot * lanes
            });
        }
    }
    laid
}

#[inline(always)]
fn run_blocks<S: pulp::Simd>(simd: S, run: Blocks<'_, '_, '_>) -> f64 {
    let Blocks {
        plan,
        ws,
        inputs,
        first,
        count,
        max_width,
        seed,
    } = run;
    let mut sum = 0.0;
    for (start, width) in blocks(first, count, max_width) {
        sum += match width {
            64 => block::<S, 64, 2>(plan, simd, ws, inputs, start, seed),
            32 => block::<S, 32, 2>(plan, simd, ws, inputs, start, seed),
            16 => block::<S, 16, 2>(plan, simd, ws, inputs, start, seed),
            8 => block::<S, 8, 1>(plan, simd, ws, inputs, start, seed),
            4 => block4(plan, simd, ws, inputs, start, seed),
            2 => block::<S, 2, 1>(plan, simd, ws, inputs, start, seed),
            _ => block::<S, 1, 1>(plan, simd, ws, inputs, start, seed),
        };
    }
    sum
}

/// A block of 4 lanes, on AVX2's vectors of 4 where the CPU has them and the run is on vectors
/// at all (inside a function compiled for AVX-512 or AVX2, they are its instructions; a run
/// on `pulp`'s scalar level stays there).
#[inline(always)]
fn block4<S: pulp::Simd>(
    plan: &Plan,
    simd: S,
    ws: &mut PlanWorkspace,
    inputs: Inputs<'_>,
    first: usize,
    seed: f64,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if S::F64_LANES >= 4
        && let Some(v3) = pulp::x86::V3::try_new()
    {
        return block::<pulp::x86::V3, 4, 1>(plan, v3, ws, inputs, first, seed);
    }
    block::<S, 4, 1>(plan, simd, ws, inputs, first, seed)
}

/// Whether a block of `lanes` lanes on vectors of `vector` lanes runs the layer groups: on
/// vectors of 8 for a block of 8 or more, or of 4 in a block of 4. A vector of lanes holds the
/// partial sums of a weight's gradient from the first: they must not wrap (4-lane vectors over
/// a block of 8 would add lane 4 into partial sum 0, which the lone steps add into sum 4).
#[inline(always)]
pub(super) const fn runs_groups(vector: usize, lanes: usize) -> bool {
    (vector == VECTOR && lanes >= VECTOR) || (vector == 4 && lanes == 4)
}

/// One block of `L` lanes. With 8-lane vectors and `L >= 8`, or 4-lane vectors and
/// `L = 4`, the [`Group`] steps run (on `H` vectors at a time in the forward pass); otherwise
/// every `dot` runs on its own.
#[inline(always)]
fn block<S: pulp::Simd, const L: usize, const H: usize>(
    plan: &Plan,
    simd: S,
    ws: &mut PlanWorkspace,
    inputs: Inputs<'_>,
    first: usize,
    seed: f64,
) -> f64 {
    let values = &mut ws.values[..plan.rows() * L];
    let adjoints = &mut ws.adjoints[..plan.rows() * L];
    let uv = &ws.uniform_values;
    let ua = &mut ws.uniform_adjoints;
    let packed = &ws.packed;
    match inputs {
        Inputs::Rows(sources) => {
            let row = |slot: usize| plan.input_rows()[slot] as usize * L;
            transpose(sources, first, L, values, row);
        }
        Inputs::LaidOut(laid) => {
            let n = plan.input_rows().len();
            let block = &laid[first * n..(first + L) * n];
            for (&r, lanes) in plan.input_rows().iter().zip(block.chunks_exact(L)) {
                row_mut::<L>(values, r).copy_from_slice(lanes);
            }
        }
    }
    for &(shadow, u) in plan.shadows() {
        row_mut::<L>(values, shadow).fill(uv[u as usize]);
    }
    let steps = plan.steps(runs_groups(S::F64_LANES, L));
    for step in steps {
        match *step {
            Step::Group { index } => {
                plan.groups()[index as usize].forward::<S, L, H>(simd, values, packed);
            }
            _ => forward::<L>(plan, step, values, uv),
        }
    }
    let out = row::<L>(values, plan.output());
    let mut sum = 0.0;
    for &v in out {
        sum += v;
    }
    // only the adjoints a pass writes: no parameter's gradient reads the others
    for &(start, end) in plan.written() {
        adjoints[start as usize * L..end as usize * L].fill(0.0);
    }
    row_mut::<L>(adjoints, plan.output()).fill(seed);
    for step in steps.iter().rev() {
        match *step {
            Step::Group { index } => {
                let group = &plan.groups()[index as usize];
                let is_param = |u| plan.is_param(u);
                group.backward::<S, L>(simd, values, adjoints, (uv, ua), packed, is_param);
            }
            _ => backward::<L>(plan, step, values, adjoints, uv, ua),
        }
    }
    for &(shadow, u) in plan.shadows() {
        if plan.is_param(u) {
            add_products::<L>(partials_mut(ua, u), row::<L>(adjoints, shadow), &[1.0; L]);
        }
    }
    sum
}

#[inline(always)]
fn forward<const L: usize>(plan: &Plan, step: &Step, values: &mut [f64], uv: &[f64]) {
    match *step {
        Step::Unary { op, out, a } => {
            let (x, y) = row_and_row_mut::<L>(values, a, out);
            unswitched!(op, |op| {
                for l in 0..L {
                    y[l] = op.value(x[l]);
                }
            });
        }
        Step::Binary { op, out, a, b } => {
            let (x, z) = (*row::<L>(values, a), *row::<L>(values, b));
            let y = row_mut::<L>(values, out);
            unswitched!(binary op, |op| {
                for l in 0..L {
                    y[l] = op.value(x[l], z[l]);
                }
            });
        }
        Step::Nary {
            op,
            out,
            start,
            len,
        } => {
            let operands = plan.args(start, len);
            let mut y = [0.0; L];
            for l in 0..L {
                y[l] = op.eval(operands.len(), |k| values[operands[k] as usize * L + l]);
            }
            *row_mut::<L>(values, out) = y;
        }
        Step::Dot { out, start, len } => {
            let mut acc = [0.0; L];
            for (kind, a, b) in plan.products().range(start, len) {
                match kind {
                    Pair::RowWeight | Pair::Weight => {
                        let (x, w) = (row::<L>(values, a), uv[b as usize]);
                        for l in 0..L {
                            acc[l] += dot::term(x[l], w);
                        }
                    }
                    Pair::Rows => {
                        let (x, z) = (row::<L>(values, a), row::<L>(values, b));
                        for l in 0..L {
                            acc[l] += dot::term(x[l], z[l]);
                        }
                    }
                    Pair::Uniforms => {
                        let c = dot::term(uv[a as usize], uv[b as usize]);
                        for v in acc.iter_mut() {
                            *v += c;
                        }
                    }
                }
            }
            *row_mut::<L>(values, out) = acc;
        }
        Step::Group { .. } => unreachable!("internal error: groups run in `block`"),
    }
}

/// The chain rule for one step: operand adjoint += output adjoint * local partial.
#[inline(always)]
fn backward<const L: usize>(
    plan: &Plan,
    step: &Step,
    values: &[f64],
    adjoints: &mut [f64],
    uv: &[f64],
    ua: &mut [f64],
) {
    match *step {
        Step::Unary { op, out, a } => {
            if !plan.needs(a) {
                return;
            }
            let (g, ga) = row_and_row_mut::<L>(adjoints, out, a);
            let (x, y) = (row::<L>(values, a), row::<L>(values, out));
            unswitched!(op, |op| {
                for l in 0..L {
                    ga[l] += g[l] * op.derivative(x[l], y[l]);
                }
            });
        }
        Step::Binary { op, out, a, b } => {
            let g = *row::<L>(adjoints, out);
            let (x, z, y) = (
                row::<L>(values, a),
                row::<L>(values, b),
                row::<L>(values, out),
            );
            let mut da = [0.0; L];
            let mut db = [0.0; L];
            unswitched!(binary op, |op| {
                for l in 0..L {
                    [da[l], db[l]] = op.partials(x[l], z[l], y[l]);
                }
            });
            // a and b may be the same row (x * x): two separate accumulations
            if plan.needs(a) {
                let ga = row_mut::<L>(adjoints, a);
                for l in 0..L {
                    ga[l] += g[l] * da[l];
                }
            }
            if plan.needs(b) {
                let gb = row_mut::<L>(adjoints, b);
                for l in 0..L {
                    gb[l] += g[l] * db[l];
                }
            }
        }
        Step::Nary {
            op,
            out,
            start,
            len,
        } => {
            let g = *row::<L>(adjoints, out);
            let y = *row::<L>(values, out);
            let operands = plan.args(start, len);
            for l in 0..L {
                let value = |k: usize| values[operands[k] as usize * L + l];
                op.partials(operands.len(), value, y[l], |k, d| {
                    if plan.needs(operands[k]) {
                        adjoints[operands[k] as usize * L + l] += g[l] * d;
                    }
                });
            }
        }
        Step::Dot { out, start, len } => {
            dot_backward::<L>(plan, (out, start, len), values, adjoints, (uv, ua));
        }
        Step::Group { .. } => unreachable!("internal error: groups run in `block`"),
    }
}

/// The chain rule for a lone `dot` step, product by product: `op::dot`'s partials (a row's
/// adjoint and a weight's partial sums), as the layer kernels apply them.
#[inline(always)]
fn dot_backward<const L: usize>(
    plan: &Plan,
    (out, start, len): (u32, u32, u32),
    values: &[f64],
    adjoints: &mut [f64],
    (uv, ua): (&[f64], &mut [f64]),
) {
    let g = *row::<L>(adjoints, out);
    for (kind, a, b) in plan.products().range(start, len) {
        match kind {
            Pair::RowWeight => {
                let w = uv[b as usize];
                let x = *row::<L>(values, a);
                let ga = row_mut::<L>(adjoints, a);
                for l in 0..L {
                    ga[l] += g[l] * dot::partial(w);
                }
                add_weight_gradient::<L>(partials_mut(ua, b), &g, &x);
            }
            Pair::Weight => {
                add_weight_gradient::<L>(partials_mut(ua, b), &g, row::<L>(values, a));
            }
            Pair::Rows => {
                let (x, z) = (*row::<L>(values, a), *row::<L>(values, b));
                // a and b may be the same row (x * x): two separate accumulations
                if plan.needs(a) {
                    let ga = row_mut::<L>(adjoints, a);
                    for l in 0..L {
                        ga[l] += g[l] * dot::partials(x[l], z[l])[0];
                    }
                }
                if plan.needs(b) {
                    let gb = row_mut::<L>(adjoints, b);
                    for l in 0..L {
                        gb[l] += g[l] * dot::partials(x[l], z[l])[1];
                    }
                }
            }
            Pair::Uniforms => {
                let (x, z) = (uv[a as usize], uv[b as usize]);
                let [dx, dz] = dot::partials(x, z);
                if plan.is_param(a) {
                    add_products::<L>(partials_mut(ua, a), &g, &[dx; L]);
                }
                if plan.is_param(b) {
                    add_products::<L>(partials_mut(ua, b), &g, &[dz; L]);
                }
            }
        }
    }
}
