// The kernels index several fixed-width arrays by the same lane `l`: the shape LLVM vectorises
// best, and clearer than zipping four iterators.
#![allow(clippy::needless_range_loop)]

use std::collections::{HashMap, HashSet};

use super::block::{add_products, row};
use super::layout::{Pair, Plan, PlanWorkspace, Step};
use super::partials::{PARTIALS, partials_mut};
use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::op::{Binary, Scalar, Unary};

/// A product position of a [`Group`] that multiplies two uniforms (the bias node and its
/// weight) rather than a shared row and a weight.
pub(super) const NO_ROW: u32 = u32::MAX;

/// `dot` steps that multiply the same rows, in the same order, each by weights of its own: a
/// layer of neurons. They run as one step, at the place of the first, tile by tile: in the
/// forward pass each row loaded serves four neurons; in the backward pass each neuron's
/// adjoint serves four rows' adjoints, and the weights' gradients are sixteen independent sums.
/// Each sum still adds its terms in the order of the lone `dot` steps. The one exception: a
/// step placed between two members that also adds into a shared row's adjoint (a skip
/// connection) is now summed before the group's terms instead of among them. A layered net has
/// none, and gets the same bits as without groups.
///
/// Moving a member to the first's place is sound: its operands are the first's (created before
/// it) and uniforms; its consumers all come after it, so its adjoint is complete when the
/// reverse sweep reaches the first's place.
#[derive(Clone, Debug)]
pub(super) struct Group {
    /// The members' output rows, in step order.
    pub(super) outs: Vec<u32>,
    /// The shared row of each product position, [`NO_ROW`] for a uniform x uniform product.
    pub(super) rows: Vec<u32>,
    /// The positions with a row, and those of them whose row's adjoint is needed.
    pub(super) row_positions: Vec<u32>,
    pub(super) need_positions: Vec<u32>,
    /// The positions of the uniform x uniform products.
    pub(super) uniform_positions: Vec<u32>,
    /// `[p * members + m]`: member `m`'s factors at position `p`: `a` holds the weight of a row
    /// product or the first uniform of a uniform product, `b` the second (unused for a row
    /// product).
    pub(super) a: Vec<u32>,
    pub(super) b: Vec<u32>,
    /// Where the group's weights (a uniform product: its value) start in
    /// [`PlanWorkspace::packed`], laid out as `a`.
    pub(super) packed: usize,
}

impl Plan {
    /// Finds the [`Group`]s: `dot` steps whose products are all row x weight or
    /// uniform x uniform, with the same rows at the same positions. A group needs two members,
    /// distinct rows and distinct weights (a tile holds each in a register of its own).
    pub(super) fn group_layers(&mut self) {
        let mut by_rows: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            let Step::Dot { start, len, .. } = *step else {
                continue;
            };
            let range = start as usize..(start + len) as usize;
            let mut rows = Vec::with_capacity(range.len());
            for p in range {
                match self.pair_kind[p] {
                    Pair::Rows => break,
                    Pair::Uniforms => rows.push(NO_ROW),
                    Pair::Weight | Pair::RowWeight => rows.push(self.pair_a[p]),
                }
            }
            if rows.len() != len as usize {
                continue;
            }
            let next = members.len();
            let group = *by_rows.entry(rows).or_insert(next);
            if group == next {
                members.push(Vec::new());
            }
            members[group].push(index);
        }
        let mut grouped = vec![u32::MAX; self.steps.len()];
        for steps in members.into_iter().filter(|m| m.len() >= 2) {
            if let Some(group) = self.group(&steps) {
                let index = self.groups.len() as u32;
                self.groups.push(group);
                for &s in &steps {
                    grouped[s] = index;
                }
            }
        }
        let mut placed = vec![false; self.groups.len()];
        for (&step, &index) in self.steps.iter().zip(&grouped) {
            if index == u32::MAX {
                self.grouped.push(step);
            } else if !placed[index as usize] {
                placed[index as usize] = true;
                self.grouped.push(Step::Group { index });
            }
        }
    }

    /// The group of the `dot` steps `steps` (same rows at the same positions), if its rows and
    /// weights are distinct.
    fn group(&mut self, steps: &[usize]) -> Option<Group> {
        let dot = |step: &Step| match *step {
            Step::Dot { out, start, len } => (out, start as usize, len as usize),
            _ => unreachable!("internal error: groups are made of dot steps"),
        };
        let (_, first, len) = dot(&self.steps[steps[0]]);
        let m_count = steps.len();
        let mut group = Group {
            outs: Vec::with_capacity(m_count),
            rows: Vec::with_capacity(len),
            row_positions: Vec::new(),
            need_positions: Vec::new(),
            uniform_positions: Vec::new(),
            a: vec![0; len * m_count],
            b: vec![0; len * m_count],
            packed: self.packed,
        };
        for p in 0..len {
            let k = first + p;
            let kind = self.pair_kind[k];
            if kind == Pair::Uniforms {
                group.rows.push(NO_ROW);
                group.uniform_positions.push(p as u32);
                continue;
            }
            group.rows.push(self.pair_a[k]);
            group.row_positions.push(p as u32);
            if kind == Pair::RowWeight {
                group.need_positions.push(p as u32);
            }
        }
        for (m, &s) in steps.iter().enumerate() {
            let (out, start, _) = dot(&self.steps[s]);
            group.outs.push(out);
            for p in 0..len {
                let k = start + p;
                // a row product keeps the row first, so its weight is `pair_b`
                if group.rows[p] == NO_ROW {
                    group.a[p * m_count + m] = self.pair_a[k];
                    group.b[p * m_count + m] = self.pair_b[k];
                } else {
                    group.a[p * m_count + m] = self.pair_b[k];
                }
            }
        }
        let mut seen = HashSet::new();
        let rows_distinct = group
            .row_positions
            .iter()
            .all(|&p| seen.insert(group.rows[p as usize]));
        seen.clear();
        let weights_distinct = group.row_positions.iter().all(|&p| {
            let p = p as usize;
            group.a[p * m_count..(p + 1) * m_count]
                .iter()
                .all(|&w| seen.insert(w))
        });
        // a weight must not also be a factor of a uniform product: its gradient would then be
        // summed in another order
        let factors_apart = group
            .rows
            .iter()
            .enumerate()
            .filter(|&(_, &r)| r == NO_ROW)
            .all(|(p, _)| {
                let members = p * m_count..(p + 1) * m_count;
                !group.a[members.clone()]
                    .iter()
                    .chain(&group.b[members])
                    .any(|u| seen.contains(u))
            });
        if !(rows_distinct && weights_distinct && factors_apart) {
            return None;
        }
        self.packed += len * m_count;
        Some(group)
    }

    /// Copies the groups' weights (and their uniform products) from the uniform values.
    pub(super) fn pack(&self, ws: &mut PlanWorkspace) {
        let uv = &ws.uniform_values;
        for g in &self.groups {
            let m_count = g.outs.len();
            for (p, &row) in g.rows.iter().enumerate() {
                for m in 0..m_count {
                    let k = p * m_count + m;
                    ws.packed[g.packed + k] = if row == NO_ROW {
                        Binary::Mul.value(uv[g.a[k] as usize], uv[g.b[k] as usize])
                    } else {
                        uv[g.a[k] as usize]
                    };
                }
            }
        }
    }
}

/// The lanes of the vectors the [`Group`] kernels are written for (AVX-512's `f64` lanes): a
/// vector holds the eight partial sums of a weight's gradient.
pub(super) const VECTOR: usize = PARTIALS;

/// Tiles of four neurons (or rows), then one at a time.
const TILE: usize = 4;

/// The vector of lanes `start..start + S::F64_LANES` of `buf`.
#[inline(always)]
fn load<S: pulp::Simd>(buf: &[f64], start: usize) -> S::f64s {
    S::as_simd_f64s(&buf[start..start + S::F64_LANES]).0[0]
}

#[inline(always)]
fn store<S: pulp::Simd>(buf: &mut [f64], start: usize, v: S::f64s) {
    S::as_mut_simd_f64s(&mut buf[start..start + S::F64_LANES]).0[0] = v;
}

/// A vector of 8 lanes (4 in a block of 4) as a [`Scalar`], so that the kernels apply
/// [`crate::op`]'s rules to that many associations at once: each lane computes what a lone
/// [`Step::Dot`] computes in it.
#[derive(Clone, Copy)]
struct Lanes<S: pulp::Simd> {
    simd: S,
    v: S::f64s,
}

impl<S: pulp::Simd> Lanes<S> {
    #[inline(always)]
    fn load(simd: S, buf: &[f64], start: usize) -> Lanes<S> {
        Lanes {
            simd,
            v: load::<S>(buf, start),
        }
    }

    #[inline(always)]
    fn splat(simd: S, value: f64) -> Lanes<S> {
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
        let mut lanes = [0.0; VECTOR];
        store::<S>(&mut lanes, 0, self.v);
        for x in &mut lanes {
            *x = op.value(*x);
        }
        Lanes::load(self.simd, &lanes, 0)
    }
}

/// The kernels of a [`Group`], on vectors of 8 lanes (4 in a block of 4), in [`Lanes`]: each
/// lane does exactly what a lone [`Step::Dot`] does in that lane, a product then a sum
/// ([`Binary::Mul`]'s value, then the sum's; never fused), and the chain rule with `mul`'s
/// partials from [`Binary::partials`].
impl Group {
    fn members(&self) -> usize {
        self.outs.len()
    }

    /// The members' `dot`s: `acc += row * weight` (or `+= uniform product`) position by
    /// position, for four members and `H` vectors of lanes at a time.
    #[inline(always)]
    pub(super) fn forward<S: pulp::Simd, const L: usize, const H: usize>(
        &self,
        simd: S,
        values: &mut [f64],
        packed: &[f64],
    ) {
        let full = self.members() / TILE * TILE;
        for m in (0..full).step_by(TILE) {
            self.forward_tile::<S, L, H, TILE>(simd, m, values, packed);
        }
        for m in full..self.members() {
            self.forward_tile::<S, L, H, 1>(simd, m, values, packed);
        }
    }

    #[inline(always)]
    pub(super) fn forward_tile<S: pulp::Simd, const L: usize, const H: usize, const MT: usize>(
        &self,
        simd: S,
        m0: usize,
        values: &mut [f64],
        packed: &[f64],
    ) {
        let m_count = self.members();
        let weights = &packed[self.packed..self.packed + self.rows.len() * m_count];
        let zero = Lanes::splat(simd, 0.0);
        for c0 in (0..L).step_by(H * S::F64_LANES) {
            let mut acc = [[zero; H]; MT];
            for (p, &r) in self.rows.iter().enumerate() {
                let w: &[f64; MT] = chunk::<MT>(weights, p * m_count + m0);
                if r == NO_ROW {
                    // the uniform product, packed by `Plan::pack` with `Binary::Mul`
                    for t in 0..MT {
                        let c = Lanes::splat(simd, w[t]);
                        for h in 0..H {
                            acc[t][h] = acc[t][h] + c;
                        }
                    }
                } else {
                    let mut x = [zero; H];
                    for h in 0..H {
                        x[h] = Lanes::load(simd, values, r as usize * L + c0 + h * S::F64_LANES);
                    }
                    for t in 0..MT {
                        let w = Lanes::splat(simd, w[t]);
                        for h in 0..H {
                            acc[t][h] = acc[t][h] + Binary::Mul.value(x[h], w);
                        }
                    }
                }
            }
            for t in 0..MT {
                for h in 0..H {
                    let out = self.outs[m0 + t] as usize * L + c0 + h * S::F64_LANES;
                    store::<S>(values, out, acc[t][h].v);
                }
            }
        }
    }

    /// The chain rule for every member, as [`Step::Dot`] applies it member by member from the
    /// last: the rows' adjoints (summed over the members from the last), the weights'
    /// gradients, then the uniform products' factors.
    #[inline(always)]
    pub(super) fn backward<S: pulp::Simd, const L: usize>(
        &self,
        simd: S,
        values: &[f64],
        adjoints: &mut [f64],
        (uv, ua): (&[f64], &mut [f64]),
        packed: &[f64],
        is_param: impl Fn(u32) -> bool,
    ) {
        let m_count = self.members();
        let weights = &packed[self.packed..self.packed + self.rows.len() * m_count];
        let need = &self.need_positions;
        let full = need.len() / TILE * TILE;
        for q in (0..full).step_by(TILE) {
            self.row_adjoint_tile::<S, L, TILE>(simd, &need[q..q + TILE], adjoints, weights);
        }
        for q in full..need.len() {
            self.row_adjoint_tile::<S, L, 1>(simd, &need[q..q + 1], adjoints, weights);
        }
        let rows = &self.row_positions;
        let (full_m, full_q) = (m_count / TILE * TILE, rows.len() / TILE * TILE);
        // rows outside, members inside: a tile's four input rows stay in L1 while every
        // member's adjoint passes by (all 64 input rows of a block are 32 KB, L1's size)
        for q in (0..full_q).step_by(TILE) {
            let positions = &rows[q..q + TILE];
            for m in (0..full_m).step_by(TILE) {
                self.weight_tile::<S, L, TILE, TILE>(simd, m, positions, values, adjoints, ua);
            }
            for m in full_m..m_count {
                self.weight_tile::<S, L, 1, TILE>(simd, m, positions, values, adjoints, ua);
            }
        }
        for q in full_q..rows.len() {
            let positions = &rows[q..q + 1];
            for m in (0..full_m).step_by(TILE) {
                self.weight_tile::<S, L, TILE, 1>(simd, m, positions, values, adjoints, ua);
            }
            for m in full_m..m_count {
                self.weight_tile::<S, L, 1, 1>(simd, m, positions, values, adjoints, ua);
            }
        }
        for m in (0..m_count).rev() {
            let g = row::<L>(adjoints, self.outs[m]);
            for &p in &self.uniform_positions {
                let k = p as usize * m_count + m;
                let (a, b) = (self.a[k], self.b[k]);
                let [da, db] = Binary::Mul.partials(uv[a as usize], uv[b as usize], 0.0);
                // the bias node is a constant: its adjoint is never read
                if is_param(a) {
                    add_products::<L>(partials_mut(ua, a), g, &[da; L]);
                }
                if is_param(b) {
                    add_products::<L>(partials_mut(ua, b), g, &[db; L]);
                }
            }
        }
    }

    /// `adjoint(row) += adjoint(member) * weight` for the rows at `positions`, over the
    /// members from the last, up to four vectors of lanes at a time.
    #[inline(always)]
    fn row_adjoint_tile<S: pulp::Simd, const L: usize, const PT: usize>(
        &self,
        simd: S,
        positions: &[u32],
        adjoints: &mut [f64],
        weights: &[f64],
    ) {
        if L >= 4 * S::F64_LANES {
            self.row_adjoint_chunks::<S, L, PT, 4>(simd, positions, adjoints, weights);
        } else if L >= 2 * S::F64_LANES {
            self.row_adjoint_chunks::<S, L, PT, 2>(simd, positions, adjoints, weights);
        } else {
            self.row_adjoint_chunks::<S, L, PT, 1>(simd, positions, adjoints, weights);
        }
    }

    /// [`Group::row_adjoint_tile`] on `CH` vectors of lanes at a time: each member's adjoint
    /// and weights are read once for `CH * PT` vectors of sums.
    #[inline(always)]
    fn row_adjoint_chunks<S: pulp::Simd, const L: usize, const PT: usize, const CH: usize>(
        &self,
        simd: S,
        positions: &[u32],
        adjoints: &mut [f64],
        weights: &[f64],
    ) {
        let m_count = self.members();
        let lanes = S::F64_LANES;
        let mut rows = [0; PT];
        let mut weights_at = [0; PT];
        for q in 0..PT {
            rows[q] = self.rows[positions[q] as usize] as usize * L;
            weights_at[q] = positions[q] as usize * m_count;
        }
        // `mul`'s partial with respect to the row is the weight: it does not read the row's
        // value (or the product), which this tile has no need to load
        let unread = Lanes::splat(simd, 0.0);
        for c0 in (0..L).step_by(CH * lanes) {
            let mut acc = [[unread; CH]; PT];
            for q in 0..PT {
                for c in 0..CH {
                    acc[q][c] = Lanes::load(simd, adjoints, rows[q] + c0 + c * lanes);
                }
            }
            for m in (0..m_count).rev() {
                let mut d_row = [unread; PT];
                for q in 0..PT {
                    let w = Lanes::splat(simd, weights[weights_at[q] + m]);
                    [d_row[q], _] = Binary::Mul.partials(unread, w, unread);
                }
                let g_at = self.outs[m] as usize * L + c0;
                for c in 0..CH {
                    let g = Lanes::load(simd, adjoints, g_at + c * lanes);
                    for q in 0..PT {
                        acc[q][c] = acc[q][c] + g * d_row[q];
                    }
                }
            }
            for q in 0..PT {
                for c in 0..CH {
                    store::<S>(adjoints, rows[q] + c0 + c * lanes, acc[q][c].v);
                }
            }
        }
    }

    /// The gradients of the weights of members `m0..m0 + MT` at `positions`: up to sixteen
    /// independent sums, lane `l` of every vector into partial sum `l`, as
    /// [`add_weight_gradient`] adds them.
    #[inline(always)]
    fn weight_tile<S: pulp::Simd, const L: usize, const MT: usize, const PT: usize>(
        &self,
        simd: S,
        m0: usize,
        positions: &[u32],
        values: &[f64],
        adjoints: &[f64],
        ua: &mut [f64],
    ) {
        let m_count = self.members();
        // `mul`'s partial with respect to the weight is the row: it does not read the weight's
        // value (or the product)
        let unread = Lanes::splat(simd, 0.0);
        let mut at = [[0; PT]; MT];
        let mut acc = [[unread; PT]; MT];
        for t in 0..MT {
            for q in 0..PT {
                at[t][q] = self.a[positions[q] as usize * m_count + m0 + t] as usize * PARTIALS;
                acc[t][q] = Lanes::load(simd, ua, at[t][q]);
            }
        }
        // where the rows start, once per tile rather than once per vector of lanes
        let mut g_at = [0; MT];
        for t in 0..MT {
            g_at[t] = self.outs[m0 + t] as usize * L;
        }
        let mut x_at = [0; PT];
        for q in 0..PT {
            x_at[q] = self.rows[positions[q] as usize] as usize * L;
        }
        for c0 in (0..L).step_by(S::F64_LANES) {
            let mut g = [unread; MT];
            let mut x = [unread; PT];
            for t in 0..MT {
                g[t] = Lanes::load(simd, adjoints, g_at[t] + c0);
            }
            for q in 0..PT {
                x[q] = Lanes::load(simd, values, x_at[q] + c0);
            }
            for t in 0..MT {
                for q in 0..PT {
                    let [_, d_weight] = Binary::Mul.partials(x[q], unread, unread);
                    acc[t][q] = acc[t][q] + g[t] * d_weight;
                }
            }
        }
        for t in 0..MT {
            for q in 0..PT {
                store::<S>(ua, at[t][q], acc[t][q].v);
            }
        }
    }
}

/// `C` values of a buffer from `start`.
#[inline(always)]
fn chunk<const C: usize>(buf: &[f64], start: usize) -> &[f64; C] {
    buf[start..start + C]
        .try_into()
        .expect("internal error: a chunk of C values")
}
