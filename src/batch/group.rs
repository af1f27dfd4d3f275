// The kernels index several fixed-width arrays by the same lane `l`: the shape LLVM vectorises
// best, and clearer than zipping four iterators.
#![allow(clippy::needless_range_loop)]

use std::collections::{HashMap, HashSet};

use super::partials::{PARTIALS, add_products, partials_mut};
use super::rows::row;
use super::steps::{Pair, Products, Step};
use super::vector::{Lanes, store};
use crate::op::dot;

/// A product position of a [`Group`] that multiplies two uniforms (the bias node and its
/// weight) rather than a shared row and a weight.
const NO_ROW: u32 = u32::MAX;

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
    outs: Vec<u32>,
    /// The shared row of each product position, [`NO_ROW`] for a uniform x uniform product.
    rows: Vec<u32>,
    /// The positions with a row, and those of them whose row's adjoint is needed.
    row_positions: Vec<u32>,
    need_positions: Vec<u32>,
    /// The positions of the uniform x uniform products.
    uniform_positions: Vec<u32>,
    /// `[p * members + m]`: member `m`'s factors at position `p`: `a` holds the weight of a row
    /// product or the first uniform of a uniform product, `b` the second (unused for a row
    /// product).
    a: Vec<u32>,
    b: Vec<u32>,
    /// Where the group's weights (a uniform product: its value) start in
    /// the workspace's packed weights (`PlanWorkspace::packed`), laid out as `a`.
    packed: usize,
}

/// The layers found among a plan's steps ([`find_layers`]).
pub(super) struct Layers {
    pub(super) groups: Vec<Group>,
    /// The steps with each group's members replaced by one [`Step::Group`], at the first's place.
    pub(super) grouped: Vec<Step>,
    /// The length of the packed weights of every group ([`Group::pack`]).
    pub(super) packed: usize,
}

/// Finds the [`Group`]s among `steps`: `dot` steps whose products are all row x weight or
/// uniform x uniform, with the same rows at the same positions. A group needs two members,
/// distinct rows and distinct weights (a tile holds each in a register of its own).
pub(super) fn find_layers(steps: &[Step], products: &Products) -> Layers {
    let mut by_rows: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        let Step::Dot { start, len, .. } = *step else {
            continue;
        };
        let mut rows = Vec::with_capacity(len as usize);
        for (kind, a, _) in products.range(start, len) {
            match kind {
                Pair::Rows => break,
                Pair::Uniforms => rows.push(NO_ROW),
                Pair::Weight | Pair::RowWeight => rows.push(a),
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
    let mut layers = Layers {
        groups: Vec::new(),
        grouped: Vec::new(),
        packed: 0,
    };
    let mut grouped = vec![u32::MAX; steps.len()];
    for member_steps in members.into_iter().filter(|m| m.len() >= 2) {
        if let Some(group) = Group::new(steps, products, &member_steps, layers.packed) {
            let index = layers.groups.len() as u32;
            layers.packed += group.rows.len() * group.members();
            layers.groups.push(group);
            for &s in &member_steps {
                grouped[s] = index;
            }
        }
    }
    let mut placed = vec![false; layers.groups.len()];
    for (&step, &index) in steps.iter().zip(&grouped) {
        if index == u32::MAX {
            layers.grouped.push(step);
        } else if !placed[index as usize] {
            placed[index as usize] = true;
            layers.grouped.push(Step::Group { index });
        }
    }
    layers
}

impl Group {
    /// The group of the `dot` steps `members` of `steps` (same rows at the same positions), its
    /// weights packed from `packed` on, if its rows and weights are distinct.
    fn new(steps: &[Step], products: &Products, members: &[usize], packed: usize) -> Option<Group> {
        let dot = |step: &Step| match *step {
            Step::Dot { out, start, len } => (out, start as usize, len as usize),
            _ => unreachable!("internal error: groups are made of dot steps"),
        };
        let (_, first, len) = dot(&steps[members[0]]);
        let m_count = members.len();
        let mut group = Group {
            outs: Vec::with_capacity(m_count),
            rows: Vec::with_capacity(len),
            row_positions: Vec::new(),
            need_positions: Vec::new(),
            uniform_positions: Vec::new(),
            a: vec![0; len * m_count],
            b: vec![0; len * m_count],
            packed,
        };
        for p in 0..len {
            let (kind, row, _) = products.get(first + p);
            if kind == Pair::Uniforms {
                group.rows.push(NO_ROW);
                group.uniform_positions.push(p as u32);
                continue;
            }
            group.rows.push(row);
            group.row_positions.push(p as u32);
            if kind == Pair::RowWeight {
                group.need_positions.push(p as u32);
            }
        }
        for (m, &s) in members.iter().enumerate() {
            let (out, start, _) = dot(&steps[s]);
            group.outs.push(out);
            for p in 0..len {
                let (_, a, b) = products.get(start + p);
                // a row product keeps the row first, so its weight is `b`
                if group.rows[p] == NO_ROW {
                    group.a[p * m_count + m] = a;
                    group.b[p * m_count + m] = b;
                } else {
                    group.a[p * m_count + m] = b;
                }
            }
        }
        group.factors_distinct().then_some(group)
    }

    /// Whether the rows are distinct, the weights are distinct, and no weight is also a factor
    /// of a uniform product (its gradient would then be summed in another order).
    fn factors_distinct(&self) -> bool {
        let m_count = self.members();
        let mut seen = HashSet::new();
        let rows_distinct = self
            .row_positions
            .iter()
            .all(|&p| seen.insert(self.rows[p as usize]));
        seen.clear();
        let weights_distinct = self.row_positions.iter().all(|&p| {
            let p = p as usize;
            self.a[p * m_count..(p + 1) * m_count]
                .iter()
                .all(|&w| seen.insert(w))
        });
        let factors_apart = self.uniform_positions.iter().all(|&p| {
            let members = p as usize * m_count..(p as usize + 1) * m_count;
            !self.a[members.clone()]
                .iter()
                .chain(&self.b[members])
                .any(|u| seen.contains(u))
        });
        rows_distinct && weights_distinct && factors_apart
    }

    /// Copies the group's weights (and its uniform products' values) from the uniform values
    /// `uv` into its place in `packed`.
    pub(super) fn pack(&self, uv: &[f64], packed: &mut [f64]) {
        let m_count = self.members();
        for (p, &row) in self.rows.iter().enumerate() {
            for m in 0..m_count {
                let k = p * m_count + m;
                packed[self.packed + k] = if row == NO_ROW {
                    dot::term(uv[self.a[k] as usize], uv[self.b[k] as usize])
                } else {
                    uv[self.a[k] as usize]
                };
            }
        }
    }

    /// How many `dot` steps (neurons) the group runs.
    pub(super) fn members(&self) -> usize {
        self.outs.len()
    }
}

/// The lanes of the vectors the [`Group`] kernels are written for (AVX-512's `f64` lanes): a
/// vector holds the eight partial sums of a weight's gradient.
pub(super) const VECTOR: usize = PARTIALS;

/// Tiles of four neurons (or rows), then one at a time.
const TILE: usize = 4;

/// The kernels of a [`Group`], on vectors of 8 lanes (4 in a block of 4), in [`Lanes`]: each
/// lane does exactly what a lone [`Step::Dot`] does in that lane, a pair's term then a sum
/// (`op::dot::term`, then the sum's; never fused), and the chain rule with the pair's
/// partials (`op::dot::partial`).
impl Group {
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
    fn forward_tile<S: pulp::Simd, const L: usize, const H: usize, const MT: usize>(
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
                    // the uniform product, packed by `Plan::pack` with `dot::term`
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
                            acc[t][h] = acc[t][h] + dot::term(x[h], w);
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
                let [da, db] = dot::partials(uv[a as usize], uv[b as usize]);
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
        // `dot`'s partial with respect to the row is the weight: it does not read the row's
        // value (or the product), which this tile has no need to load
        let zero = Lanes::splat(simd, 0.0);
        for c0 in (0..L).step_by(CH * lanes) {
            let mut acc = [[zero; CH]; PT];
            for q in 0..PT {
                for c in 0..CH {
                    acc[q][c] = Lanes::load(simd, adjoints, rows[q] + c0 + c * lanes);
                }
            }
            for m in (0..m_count).rev() {
                let mut d_row = [zero; PT];
                for q in 0..PT {
                    d_row[q] = dot::partial(Lanes::splat(simd, weights[weights_at[q] + m]));
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
    /// [`super::partials::add_weight_gradient`] adds them.
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
        // `dot`'s partial with respect to the weight is the row: it does not read the weight's
        // value (or the product)
        let zero = Lanes::splat(simd, 0.0);
        let mut at = [[0; PT]; MT];
        let mut acc = [[zero; PT]; MT];
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
            let mut g = [zero; MT];
            let mut x = [zero; PT];
            for t in 0..MT {
                g[t] = Lanes::load(simd, adjoints, g_at[t] + c0);
            }
            for q in 0..PT {
                x[q] = Lanes::load(simd, values, x_at[q] + c0);
            }
            for t in 0..MT {
                for q in 0..PT {
                    acc[t][q] = acc[t][q] + g[t] * dot::partial(x[q]);
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
