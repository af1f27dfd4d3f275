// The kernels index several fixed-width arrays by the same lane `l`: the shape LLVM vectorises
// best, and clearer than zipping four iterators.
#![allow(clippy::needless_range_loop)]

use super::group::VECTOR;
use super::layout::{Pair, Plan, PlanWorkspace, Step};
use super::partials::{PARTIALS, partials_mut};
use crate::op::{Binary, Unary};

/// Runs `$body` with `$op` bound to a constant for the ops without a parameter, so that a loop
/// over the lanes inside it is compiled for that one op (no dispatch per lane; with
/// the engine's own `exp`, a loop of sigmoids vectorises whole). `unswitched!(binary ...)` does
/// the same for a [`Binary`] op.
macro_rules! unswitched {
    (binary $op:expr, |$name:ident| $body:block) => {
        unswitched!(Binary; $op, |$name| $body, Add, Sub, Mul, Div)
    };
    ($op:expr, |$name:ident| $body:block) => {
        unswitched!(Unary; $op, |$name| $body, Identity, Neg, Exp, Ln, Sigmoid, Tanh, Relu, Abs)
    };
    ($kind:ident; $op:expr, |$name:ident| $body:block, $($fixed:ident),+) => {
        match $op {
            $($kind::$fixed => {
                let $name = $kind::$fixed;
                $body
            })+
            // the ops with a parameter (a binary op has none)
            #[allow(unreachable_patterns)]
            $name => $body,
        }
    };
}

/// Widths `L` of a block that have a compiled kernel.
pub(crate) const BLOCK_WIDTHS: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// The widest block width not above `lanes` (at least 1).
pub(crate) fn block_width(lanes: usize) -> usize {
    BLOCK_WIDTHS
        .into_iter()
        .find(|&w| w <= lanes.max(1))
        .unwrap_or(1)
}

/// Where the blocks of a run read their associations' input values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Inputs<'a> {
    /// Association by association: `(data, width)` sources, association `t`'s values the
    /// concatenation of each source's `data[t * width..(t + 1) * width]`, in input-slot order;
    /// each block transposes its associations into rows.
    Rows(&'a [(&'a [f64], usize)]),
    /// Already in rows, block by block, as [`Plan::lay_out`] writes them.
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

/// The arguments of [`Plan::run`], as a `pulp` operation: `with_simd` is inlined into a
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
        self.plan.run_blocks(simd, self)
    }
}

impl Plan {
    /// The products `start..start + len` of the `dot` steps: how each reads its operands, and
    /// its two factors (rows or uniforms).
    #[inline(always)]
    fn products(&self, start: u32, len: u32) -> impl Iterator<Item = (Pair, u32, u32)> + '_ {
        let range = start as usize..(start + len) as usize;
        (self.pair_kind[range.clone()].iter())
            .zip(&self.pair_a[range.clone()])
            .zip(&self.pair_b[range])
            .map(|((&kind, &a), &b)| (kind, a, b))
    }

    /// Forward and backward over associations `first..first + count`, their input values read
    /// from `inputs`, in blocks of up to `max_width`. The output's adjoint is seeded with `seed`
    /// in every lane. Returns the sum of the output over the associations, in order; the
    /// parameters' gradients accumulate in the workspace.
    pub(crate) fn run(
        &self,
        ws: &mut PlanWorkspace,
        inputs: Inputs<'_>,
        first: usize,
        count: usize,
        max_width: usize,
        seed: f64,
    ) -> f64 {
        // The kernels are plain loops; compiled once more inside a function with the CPU's
        // vector extensions enabled (AVX2, AVX-512: detected at run time by `pulp`), LLVM
        // vectorises them to its width. No fused multiply-add is ever formed (Rust does not
        // contract `a * b + c`), so every width gives the same numbers.
        pulp::Arch::new().dispatch(Blocks {
            plan: self,
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
        &self,
        sources: &[(&[f64], usize)],
        shards: impl Iterator<Item = (usize, usize)>,
        width: usize,
    ) -> Vec<f64> {
        let n = self.input_rows.len();
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
    fn run_blocks<S: pulp::Simd>(&self, simd: S, blocks: Blocks<'_, '_, '_>) -> f64 {
        let Blocks {
            ws,
            inputs,
            first,
            count,
            max_width,
            seed,
            ..
        } = blocks;
        let mut sum = 0.0;
        for (start, width) in self::blocks(first, count, max_width) {
            sum += match width {
                64 => self.block::<S, 64, 2>(simd, ws, inputs, start, seed),
                32 => self.block::<S, 32, 2>(simd, ws, inputs, start, seed),
                16 => self.block::<S, 16, 2>(simd, ws, inputs, start, seed),
                8 => self.block::<S, 8, 1>(simd, ws, inputs, start, seed),
                4 => self.block4(simd, ws, inputs, start, seed),
                2 => self.block::<S, 2, 1>(simd, ws, inputs, start, seed),
                _ => self.block::<S, 1, 1>(simd, ws, inputs, start, seed),
            };
        }
        sum
    }

    /// A block of 4 lanes, on AVX2's vectors of 4 where the CPU has them (inside a function
    /// compiled for AVX-512 or AVX2, they are its instructions).
    #[inline(always)]
    fn block4<S: pulp::Simd>(
        &self,
        simd: S,
        ws: &mut PlanWorkspace,
        inputs: Inputs<'_>,
        first: usize,
        seed: f64,
    ) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            return self.block::<pulp::x86::V3, 4, 1>(v3, ws, inputs, first, seed);
        }
        self.block::<S, 4, 1>(simd, ws, inputs, first, seed)
    }

    /// One block of `L` lanes. With 8-lane vectors and `L >= 8`, or 4-lane vectors and
    /// `L = 4`, the [`Group`] steps run (on `H` vectors at a time in the forward pass); otherwise
    /// every `dot` runs on its own.
    #[inline(always)]
    fn block<S: pulp::Simd, const L: usize, const H: usize>(
        &self,
        simd: S,
        ws: &mut PlanWorkspace,
        inputs: Inputs<'_>,
        first: usize,
        seed: f64,
    ) -> f64 {
        let values = &mut ws.values[..self.rows * L];
        let adjoints = &mut ws.adjoints[..self.rows * L];
        let uv = &ws.uniform_values;
        let ua = &mut ws.uniform_adjoints;
        let packed = &ws.packed;
        match inputs {
            Inputs::Rows(sources) => {
                let row = |slot: usize| self.input_rows[slot] as usize * L;
                transpose(sources, first, L, values, row);
            }
            Inputs::LaidOut(laid) => {
                let n = self.input_rows.len();
                let block = &laid[first * n..(first + L) * n];
                for (&r, lanes) in self.input_rows.iter().zip(block.chunks_exact(L)) {
                    row_mut::<L>(values, r).copy_from_slice(lanes);
                }
            }
        }
        for &(shadow, u) in &self.shadows {
            row_mut::<L>(values, shadow).fill(uv[u as usize]);
        }
        // groups run on vectors of 8 lanes, or of 4 in a block of 4 (a vector of lanes holds
        // the partial sums of a weight's gradient from its first: they must not wrap)
        let steps = if (S::F64_LANES == VECTOR && L >= VECTOR) || (S::F64_LANES == 4 && L == 4) {
            &self.grouped
        } else {
            &self.steps
        };
        for step in steps {
            match *step {
                Step::Group { index } => {
                    self.groups[index as usize].forward::<S, L, H>(simd, values, packed);
                }
                _ => self.forward::<L>(step, values, uv),
            }
        }
        let out = row::<L>(values, self.output);
        let mut sum = 0.0;
        for &v in out {
            sum += v;
        }
        // only the adjoints a pass writes: no parameter's gradient reads the others
        for &(start, end) in &self.written {
            adjoints[start as usize * L..end as usize * L].fill(0.0);
        }
        row_mut::<L>(adjoints, self.output).fill(seed);
        for step in steps.iter().rev() {
            match *step {
                Step::Group { index } => {
                    let group = &self.groups[index as usize];
                    let is_param = |u| self.is_param(u);
                    group.backward::<S, L>(simd, values, adjoints, (uv, ua), packed, is_param);
                }
                _ => self.backward::<L>(step, values, adjoints, uv, ua),
            }
        }
        for &(shadow, u) in &self.shadows {
            if self.is_param(u) {
                add_products::<L>(partials_mut(ua, u), row::<L>(adjoints, shadow), &[1.0; L]);
            }
        }
        sum
    }

    #[inline(always)]
    fn forward<const L: usize>(&self, step: &Step, values: &mut [f64], uv: &[f64]) {
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
                let operands = &self.args[start as usize..(start + len) as usize];
                let mut y = [0.0; L];
                for l in 0..L {
                    y[l] = op.eval(operands.len(), |k| values[operands[k] as usize * L + l]);
                }
                *row_mut::<L>(values, out) = y;
            }
            Step::Dot { out, start, len } => {
                let mut acc = [0.0; L];
                for (kind, a, b) in self.products(start, len) {
                    match kind {
                        Pair::RowWeight | Pair::Weight => {
                            let (x, w) = (row::<L>(values, a), uv[b as usize]);
                            for l in 0..L {
                                acc[l] += Binary::Mul.value(x[l], w);
                            }
                        }
                        Pair::Rows => {
                            let (x, z) = (row::<L>(values, a), row::<L>(values, b));
                            for l in 0..L {
                                acc[l] += Binary::Mul.value(x[l], z[l]);
                            }
                        }
                        Pair::Uniforms => {
                            let c = Binary::Mul.value(uv[a as usize], uv[b as usize]);
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
        &self,
        step: &Step,
        values: &[f64],
        adjoints: &mut [f64],
        uv: &[f64],
        ua: &mut [f64],
    ) {
        match *step {
            Step::Unary { op, out, a } => {
                if !self.need[a as usize] {
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
                if self.need[a as usize] {
                    let ga = row_mut::<L>(adjoints, a);
                    for l in 0..L {
                        ga[l] += g[l] * da[l];
                    }
                }
                if self.need[b as usize] {
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
                let operands = &self.args[start as usize..(start + len) as usize];
                for l in 0..L {
                    let value = |k: usize| values[operands[k] as usize * L + l];
                    op.partials(operands.len(), value, y[l], |k, d| {
                        if self.need[operands[k] as usize] {
                            adjoints[operands[k] as usize * L + l] += g[l] * d;
                        }
                    });
                }
            }
            Step::Dot { out, start, len } => {
                let g = *row::<L>(adjoints, out);
                for (kind, a, b) in self.products(start, len) {
                    match kind {
                        Pair::RowWeight => {
                            let w = uv[b as usize];
                            let x = *row::<L>(values, a);
                            let ga = row_mut::<L>(adjoints, a);
                            for l in 0..L {
                                ga[l] += g[l] * Binary::Mul.partials(x[l], w, 0.0)[0];
                            }
                            add_weight_gradient::<L>(partials_mut(ua, b), &g, &x, w);
                        }
                        Pair::Weight => {
                            let (x, w) = (row::<L>(values, a), uv[b as usize]);
                            add_weight_gradient::<L>(partials_mut(ua, b), &g, x, w);
                        }
                        Pair::Rows => {
                            let (x, z) = (*row::<L>(values, a), *row::<L>(values, b));
                            if self.need[a as usize] {
                                let ga = row_mut::<L>(adjoints, a);
                                for l in 0..L {
                                    ga[l] += g[l] * Binary::Mul.partials(x[l], z[l], 0.0)[0];
                                }
                            }
                            if self.need[b as usize] {
                                let gb = row_mut::<L>(adjoints, b);
                                for l in 0..L {
                                    gb[l] += g[l] * Binary::Mul.partials(x[l], z[l], 0.0)[1];
                                }
                            }
                        }
                        Pair::Uniforms => {
                            let (x, z) = (uv[a as usize], uv[b as usize]);
                            let [dx, dz] = Binary::Mul.partials(x, z, 0.0);
                            if self.is_param(a) {
                                add_products::<L>(partials_mut(ua, a), &g, &[dx; L]);
                            }
                            if self.is_param(b) {
                                add_products::<L>(partials_mut(ua, b), &g, &[dz; L]);
                            }
                        }
                    }
                }
            }
            Step::Group { .. } => unreachable!("internal error: groups run in `block`"),
        }
    }
}

/// `dst[l % 8] += g[l] * x[l]` for every lane `l`, in lane order.
#[inline(always)]
pub(super) fn add_products<const L: usize>(dst: &mut [f64; PARTIALS], g: &[f64; L], x: &[f64; L]) {
    for c in 0..L.div_ceil(PARTIALS) {
        for k in 0..PARTIALS.min(L) {
            let l = c * PARTIALS + k;
            dst[k] += g[l] * x[l];
        }
    }
}

/// A weight's gradient over a block, `g * d(x w)/dw` per lane (`Mul`'s partial), into its
/// partial sums.
#[inline(always)]
pub(super) fn add_weight_gradient<const L: usize>(
    dst: &mut [f64; PARTIALS],
    g: &[f64; L],
    x: &[f64; L],
    w: f64,
) {
    for c in 0..L.div_ceil(PARTIALS) {
        for k in 0..PARTIALS.min(L) {
            let l = c * PARTIALS + k;
            dst[k] += g[l] * Binary::Mul.partials(x[l], w, 0.0)[1];
        }
    }
}

#[inline(always)]
pub(super) fn row<const L: usize>(buf: &[f64], r: u32) -> &[f64; L] {
    let start = r as usize * L;
    buf[start..start + L]
        .try_into()
        .expect("internal error: a row has L lanes")
}

/// Row `r` to read and row `w` to write (`r != w`), without copying either.
#[inline(always)]
fn row_and_row_mut<const L: usize>(buf: &mut [f64], r: u32, w: u32) -> (&[f64; L], &mut [f64; L]) {
    let (r, w) = (r as usize * L, w as usize * L);
    let (read, write) = if r < w {
        let (low, high) = buf.split_at_mut(w);
        (&low[r..r + L], &mut high[..L])
    } else {
        let (low, high) = buf.split_at_mut(r);
        (&high[..L], &mut low[w..w + L])
    };
    (
        read.try_into().expect("internal error: a row has L lanes"),
        write.try_into().expect("internal error: a row has L lanes"),
    )
}

#[inline(always)]
pub(super) fn row_mut<const L: usize>(buf: &mut [f64], r: u32) -> &mut [f64; L] {
    let start = r as usize * L;
    (&mut buf[start..start + L])
        .try_into()
        .expect("internal error: a row has L lanes")
}
