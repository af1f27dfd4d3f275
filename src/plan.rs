//! The tape re-laid for blocks of associations: the fast path of training.
//!
//! A [`Plan`] is made from a compiled [`Tape`] and one output node. It splits the nodes in two:
//! - *uniform* leaves (parameters and constants) have one value for every association and are
//!   stored once; their gradient is accumulated once per block, summed over its lanes;
//! - *varying* nodes (inputs and ops) get one row of `L` lanes, one per association of the
//!   block, `rows[row * L + lane]`, so that every instruction's inner loop runs over contiguous
//!   lanes with a width `L` known at compile time (1 to 64), which LLVM vectorises.
//!
//! A `dot` node (a neuron: a sum of products) keeps its operands in order; each product is
//! classified once: varying x uniform (an input or activation times a weight: the weight is
//! broadcast, its gradient is a sum over lanes), varying x varying, uniform x uniform (the bias
//! node times its weight). Adjoints are only propagated into nodes that lead to a parameter (the
//! first layer's weights need no input deltas). A uniform operand of any other op reads a
//! *shadow* row filled with its value. Adjoints of uniform nodes accumulate over every block of
//! a shard until [`Plan::take_gradients`] reads them.
//!
//! The `dot` steps of a layer (same rows, own weights) also run as one [`Group`] step, in tiles
//! on 8-lane vectors, when the CPU has them and a block has at least 8 lanes; for a layered net
//! the numbers are the same bits as the lone steps'.
//!
//! The arithmetic of every op is [`crate::op`]'s (`Unary::value`/`derivative`,
//! `Binary::value`/`partials`, `max_partial_index`); only the traversal and the layout are
//! this module's. For one association per block a plan computes the same numbers as the tape,
//! except that a parameter's gradient is summed over the lanes of a block first.

// The kernels index several fixed-width arrays by the same lane `l`: the shape LLVM vectorises
// best, and clearer than zipping four iterators.
#![allow(clippy::needless_range_loop)]

use std::collections::{HashMap, HashSet};

use crate::op::{Binary, Unary, max_partial_index};
use crate::tape::{Instr, Tape};

/// Runs `$body` with `$op` bound to a constant for the ops without a parameter, so that a loop
/// over the lanes inside it is compiled for that one op (no dispatch per lane; with
/// [`crate::op::exp`], a loop of sigmoids vectorises whole).
macro_rules! unswitched {
    ($op:expr, |$name:ident| $body:block) => {
        unswitched!($op, |$name| $body, Identity, Neg, Exp, Ln, Sigmoid, Tanh, Relu)
    };
    ($op:expr, |$name:ident| $body:block, $($fixed:ident),+) => {
        match $op {
            $(Unary::$fixed => {
                let $name = Unary::$fixed;
                $body
            })+
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

/// How a product of a `dot` node reads its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pair {
    /// Row `a` times uniform `b`; the row's adjoint is needed.
    RowWeight,
    /// Row `a` times uniform `b`; only the uniform's adjoint is needed.
    Weight,
    /// Row `a` times row `b`.
    Rows,
    /// Uniform `a` times uniform `b`: the same product in every lane.
    Uniforms,
}

/// One varying op; operands are rows (uniform operands were given shadow rows).
#[derive(Clone, Copy, Debug)]
enum Step {
    Unary {
        op: Unary,
        out: u32,
        a: u32,
    },
    Binary {
        op: Binary,
        out: u32,
        a: u32,
        b: u32,
    },
    /// Rows `args[start..start + len]`.
    Sum {
        out: u32,
        start: u32,
        len: u32,
    },
    /// Rows `args[start..start + len]`.
    Max {
        out: u32,
        start: u32,
        len: u32,
    },
    /// Products `pairs[start..start + len]`.
    Dot {
        out: u32,
        start: u32,
        len: u32,
    },
    /// `groups[index]`: several `dot` steps evaluated together.
    Group {
        index: u32,
    },
}

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
struct Group {
    /// The members' output rows, in step order.
    outs: Vec<u32>,
    /// The shared row of each product position, [`NO_ROW`] for a uniform x uniform product.
    rows: Vec<u32>,
    /// The positions with a row, and those of them whose row's adjoint is needed.
    row_positions: Vec<u32>,
    need_positions: Vec<u32>,
    /// `[p * members + m]`: member `m`'s factors at position `p`: `a` holds the weight of a row
    /// product or the first uniform of a uniform product, `b` the second (unused for a row
    /// product).
    a: Vec<u32>,
    b: Vec<u32>,
    /// Where the group's weights (a uniform product: its value) start in
    /// [`PlanWorkspace::packed`], laid out as `a`.
    packed: usize,
}

/// A tape re-laid for blocks of associations (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    tape: u64,
    rows: usize,
    uniforms: usize,
    steps: Vec<Step>,
    args: Vec<u32>,
    pair_a: Vec<u32>,
    pair_b: Vec<u32>,
    pair_kind: Vec<Pair>,
    /// `steps` with each [`Group`]'s members replaced by one [`Step::Group`].
    grouped: Vec<Step>,
    groups: Vec<Group>,
    /// The length of [`PlanWorkspace::packed`].
    packed: usize,
    /// Whether a row's adjoint leads to a parameter.
    need: Vec<bool>,
    input_rows: Vec<u32>,
    param_uniforms: Vec<u32>,
    const_uniforms: Vec<(u32, f64)>,
    /// (row, uniform): rows that hold a uniform's value in every lane.
    shadows: Vec<(u32, u32)>,
    output: u32,
}

/// The buffers of one thread running a [`Plan`].
#[derive(Clone, Debug)]
pub(crate) struct PlanWorkspace {
    values: Vec<f64>,
    adjoints: Vec<f64>,
    uniform_values: Vec<f64>,
    uniform_adjoints: Vec<f64>,
    /// The groups' weights, copied from `uniform_values` by [`Plan::set_params`] so that a tile
    /// reads its neurons' weights side by side.
    packed: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Row(u32),
    Uniform(u32),
}

/// The arguments of [`Plan::run`], as a `pulp` operation: `with_simd` is inlined into a
/// function compiled for the detected instruction set.
struct Blocks<'p, 'w, 's> {
    plan: &'p Plan,
    ws: &'w mut PlanWorkspace,
    sources: &'s [(&'s [f64], usize)],
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
    /// Re-lays `tape` for the gradient of `output` (a node index that must be an op or input).
    pub(crate) fn new(tape: &Tape, output: u32) -> Plan {
        debug_assert_eq!(tape.row_count(), tape.nodes, "a plan reads an unfused tape");
        let nodes = tape.nodes;
        let mut slot = vec![Slot::Uniform(u32::MAX); nodes];
        let mut need_node = vec![false; nodes];
        let mut uniforms = 0u32;
        let mut const_uniforms = Vec::new();
        let mut param_uniforms = vec![0; tape.params.len()];
        for (k, &node) in tape.params.iter().enumerate() {
            slot[node as usize] = Slot::Uniform(uniforms);
            need_node[node as usize] = true;
            param_uniforms[k] = uniforms;
            uniforms += 1;
        }
        for &(node, value) in &tape.consts {
            slot[node as usize] = Slot::Uniform(uniforms);
            const_uniforms.push((uniforms, value));
            uniforms += 1;
        }
        // Rows in creation order: inputs and ops (a topological order).
        let mut is_row = vec![false; nodes];
        for &node in &tape.inputs {
            is_row[node as usize] = true;
        }
        for instr in &tape.instrs {
            is_row[instr.out() as usize] = true;
        }
        let mut rows = 0u32;
        for (node, &row) in is_row.iter().enumerate() {
            if row {
                slot[node] = Slot::Row(rows);
                rows += 1;
            }
        }
        let input_rows = tape
            .inputs
            .iter()
            .map(|&n| match slot[n as usize] {
                Slot::Row(r) => r,
                Slot::Uniform(_) => unreachable!("internal error: inputs have rows"),
            })
            .collect();
        let mut plan = Plan {
            tape: tape.id,
            rows: 0,
            uniforms: uniforms as usize,
            steps: Vec::with_capacity(tape.instrs.len()),
            args: Vec::new(),
            pair_a: Vec::new(),
            pair_b: Vec::new(),
            pair_kind: Vec::new(),
            grouped: Vec::new(),
            groups: Vec::new(),
            packed: 0,
            need: Vec::new(),
            input_rows,
            param_uniforms,
            const_uniforms,
            shadows: Vec::new(),
            output: 0,
        };
        let mut shadow_of = vec![u32::MAX; uniforms as usize];
        let mut row_need = vec![false; rows as usize];
        // A row for an operand: its own, or a shadow of a uniform.
        let mut as_row = |plan: &mut Plan, node: u32, rows: &mut u32| -> u32 {
            match slot[node as usize] {
                Slot::Row(r) => r,
                Slot::Uniform(u) => {
                    if shadow_of[u as usize] == u32::MAX {
                        shadow_of[u as usize] = *rows;
                        plan.shadows.push((*rows, u));
                        *rows += 1;
                    }
                    shadow_of[u as usize]
                }
            }
        };
        let mut shadow_need = Vec::new();
        for instr in &tape.instrs {
            let out_node = instr.out();
            let Slot::Row(out) = slot[out_node as usize] else {
                unreachable!("internal error: ops have rows")
            };
            let mut any_need = false;
            let mut note = |node: u32| any_need |= need_node[node as usize];
            let step = match *instr {
                Instr::Neuron { .. } => {
                    unreachable!("internal error: a plan reads an unfused tape")
                }
                Instr::Unary { op, a, .. } => {
                    note(a);
                    Step::Unary {
                        op: tape.unary_ops[op as usize],
                        out,
                        a: as_row(&mut plan, a, &mut rows),
                    }
                }
                Instr::Binary { op, a, b, .. } => {
                    note(a);
                    note(b);
                    Step::Binary {
                        op,
                        out,
                        a: as_row(&mut plan, a, &mut rows),
                        b: as_row(&mut plan, b, &mut rows),
                    }
                }
                Instr::Sum { start, len, .. } | Instr::Max { start, len, .. } => {
                    let begin = plan.args.len() as u32;
                    for k in start..start + len {
                        let a = tape.args[k as usize];
                        note(a);
                        let r = as_row(&mut plan, a, &mut rows);
                        plan.args.push(r);
                    }
                    if matches!(instr, Instr::Sum { .. }) {
                        Step::Sum {
                            out,
                            start: begin,
                            len,
                        }
                    } else {
                        Step::Max {
                            out,
                            start: begin,
                            len,
                        }
                    }
                }
                Instr::Dot { start, len, .. } => {
                    let begin = plan.pair_a.len() as u32;
                    for k in (start..start + len).step_by(2) {
                        let (a, b) = (tape.args[k as usize], tape.args[k as usize + 1]);
                        note(a);
                        note(b);
                        let (kind, x, y) = match (slot[a as usize], slot[b as usize]) {
                            (Slot::Row(x), Slot::Row(y)) => (Pair::Rows, x, y),
                            (Slot::Uniform(x), Slot::Uniform(y)) => (Pair::Uniforms, x, y),
                            // a * b == b * a exactly: keep the row first
                            (Slot::Row(x), Slot::Uniform(w)) | (Slot::Uniform(w), Slot::Row(x)) => {
                                let row_node = if matches!(slot[a as usize], Slot::Row(_)) {
                                    a
                                } else {
                                    b
                                };
                                let kind = if need_node[row_node as usize] {
                                    Pair::RowWeight
                                } else {
                                    Pair::Weight
                                };
                                (kind, x, w)
                            }
                        };
                        plan.pair_a.push(x);
                        plan.pair_b.push(y);
                        plan.pair_kind.push(kind);
                    }
                    Step::Dot {
                        out,
                        start: begin,
                        len: len / 2,
                    }
                }
            };
            need_node[out_node as usize] = any_need;
            row_need[out as usize] = any_need;
            plan.steps.push(step);
            if out_node == output {
                break;
            }
        }
        for &(_, u) in &plan.shadows {
            // a shadow passes its adjoint on to a uniform: needed if that is a parameter
            shadow_need.push(plan.param_uniforms.contains(&u));
        }
        plan.rows = rows as usize;
        row_need.resize(plan.rows, false);
        for (&(row, _), &n) in plan.shadows.iter().zip(&shadow_need) {
            row_need[row as usize] = n;
        }
        plan.need = row_need;
        plan.output = match slot[output as usize] {
            Slot::Row(r) => r,
            Slot::Uniform(_) => unreachable!("internal error: the output of a plan is an op"),
        };
        plan.group_layers();
        plan
    }

    /// Finds the [`Group`]s: `dot` steps whose products are all row x weight or
    /// uniform x uniform, with the same rows at the same positions. A group needs two members,
    /// distinct rows and distinct weights (a tile holds each in a register of its own).
    fn group_layers(&mut self) {
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
            a: vec![0; len * m_count],
            b: vec![0; len * m_count],
            packed: self.packed,
        };
        for p in 0..len {
            let k = first + p;
            let kind = self.pair_kind[k];
            if kind == Pair::Uniforms {
                group.rows.push(NO_ROW);
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
    fn pack(&self, ws: &mut PlanWorkspace) {
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

    /// The id of the tape the plan was made from.
    pub(crate) fn tape_id(&self) -> u64 {
        self.tape
    }

    /// Buffers for blocks of up to `lanes` associations (see [`block_width`]).
    pub(crate) fn workspace(&self, lanes: usize) -> PlanWorkspace {
        let width = block_width(lanes);
        let mut uniform_values = vec![0.0; self.uniforms];
        for &(u, value) in &self.const_uniforms {
            uniform_values[u as usize] = value;
        }
        let mut ws = PlanWorkspace {
            values: vec![0.0; self.rows * width],
            adjoints: vec![0.0; self.rows * width],
            uniform_values,
            uniform_adjoints: vec![0.0; self.uniforms * PARTIALS],
            packed: vec![0.0; self.packed],
        };
        self.pack(&mut ws);
        ws
    }

    /// Sets the parameters' values (in slot order).
    pub(crate) fn set_params(&self, ws: &mut PlanWorkspace, params: &[f64]) {
        for (&u, &value) in self.param_uniforms.iter().zip(params) {
            ws.uniform_values[u as usize] = value;
        }
        self.pack(ws);
    }

    /// Adds the accumulated gradient of each parameter to `grad[slot]` and starts a new
    /// accumulation (every uniform is a parameter or a constant: both are cleared, each
    /// parameter's partial sums in the pass that reads them).
    pub(crate) fn take_gradients(&self, ws: &mut PlanWorkspace, grad: &mut [f64]) {
        let ua = &mut ws.uniform_adjoints;
        for (g, &u) in grad.iter_mut().zip(&self.param_uniforms) {
            let p = partials_mut(ua, u);
            *g += reduce(p);
            *p = [0.0; PARTIALS];
        }
        for &(u, _) in &self.const_uniforms {
            *partials_mut(ua, u) = [0.0; PARTIALS];
        }
    }

    /// Forward and backward over associations `first..first + count`; each association's input
    /// values are the concatenation of its rows in `sources` (`(data, width)`: association `t`
    /// is `data[t * width..(t + 1) * width]`), in input-slot order. The output's adjoint is
    /// seeded with `seed` in every lane. Returns the sum of the output over the associations,
    /// in order; the parameters' gradients accumulate in the workspace.
    pub(crate) fn run(
        &self,
        ws: &mut PlanWorkspace,
        sources: &[(&[f64], usize)],
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
            sources,
            first,
            count,
            max_width,
            seed,
        })
    }

    #[inline(always)]
    fn run_blocks<S: pulp::Simd>(&self, simd: S, blocks: Blocks<'_, '_, '_>) -> f64 {
        let Blocks {
            ws,
            sources,
            first,
            count,
            max_width,
            seed,
            ..
        } = blocks;
        let max_width = block_width(max_width);
        let mut sum = 0.0;
        let mut start = first;
        let end = first + count;
        while start < end {
            let width = block_width(max_width.min(end - start));
            sum += match width {
                64 => self.block::<S, 64, 2>(simd, ws, sources, start, seed),
                32 => self.block::<S, 32, 2>(simd, ws, sources, start, seed),
                16 => self.block::<S, 16, 2>(simd, ws, sources, start, seed),
                8 => self.block::<S, 8, 1>(simd, ws, sources, start, seed),
                4 => self.block::<S, 4, 1>(simd, ws, sources, start, seed),
                2 => self.block::<S, 2, 1>(simd, ws, sources, start, seed),
                _ => self.block::<S, 1, 1>(simd, ws, sources, start, seed),
            };
            start += width;
        }
        sum
    }

    /// One block of `L` lanes. With 8-lane vectors and `L >= 8`, the [`Group`] steps run (on
    /// `H` vectors at a time in the forward pass, `8 * H` dividing `L`); otherwise every `dot`
    /// runs on its own.
    #[inline(always)]
    fn block<S: pulp::Simd, const L: usize, const H: usize>(
        &self,
        simd: S,
        ws: &mut PlanWorkspace,
        sources: &[(&[f64], usize)],
        first: usize,
        seed: f64,
    ) -> f64 {
        let values = &mut ws.values[..self.rows * L];
        let adjoints = &mut ws.adjoints[..self.rows * L];
        let uv = &ws.uniform_values;
        let ua = &mut ws.uniform_adjoints;
        let packed = &ws.packed;
        // inputs, transposed into rows
        let mut slot = 0;
        for &(data, width) in sources {
            let block = &data[first * width..(first + L) * width];
            for i in 0..width {
                let r = self.input_rows[slot + i] as usize * L;
                for (lane, v) in values[r..r + L].iter_mut().enumerate() {
                    *v = block[lane * width + i];
                }
            }
            slot += width;
        }
        for &(shadow, u) in &self.shadows {
            row_mut::<L>(values, shadow).fill(uv[u as usize]);
        }
        let steps = if S::F64_LANES == VECTOR && L >= VECTOR {
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
        adjoints.fill(0.0);
        row_mut::<L>(adjoints, self.output).fill(seed);
        for step in steps.iter().rev() {
            match *step {
                Step::Group { index } => {
                    let group = &self.groups[index as usize];
                    group.backward::<S, L>(simd, values, adjoints, (uv, ua), packed);
                }
                _ => self.backward::<L>(step, values, adjoints, uv, ua),
            }
        }
        for &(shadow, u) in &self.shadows {
            add_products::<L>(partials_mut(ua, u), row::<L>(adjoints, shadow), &[1.0; L]);
        }
        sum
    }

    #[inline(always)]
    fn forward<const L: usize>(&self, step: &Step, values: &mut [f64], uv: &[f64]) {
        match *step {
            Step::Unary { op, out, a } => {
                let x = *row::<L>(values, a);
                let y = row_mut::<L>(values, out);
                unswitched!(op, |op| {
                    for l in 0..L {
                        y[l] = op.value(x[l]);
                    }
                });
            }
            Step::Binary { op, out, a, b } => {
                let (x, z) = (*row::<L>(values, a), *row::<L>(values, b));
                let y = row_mut::<L>(values, out);
                for l in 0..L {
                    y[l] = op.value(x[l], z[l]);
                }
            }
            Step::Sum { out, start, len } => {
                let mut acc = [0.0; L];
                for &a in &self.args[start as usize..(start + len) as usize] {
                    let x = row::<L>(values, a);
                    for l in 0..L {
                        acc[l] += x[l];
                    }
                }
                *row_mut::<L>(values, out) = acc;
            }
            Step::Max { out, start, len } => {
                let mut acc = [f64::NEG_INFINITY; L];
                for &a in &self.args[start as usize..(start + len) as usize] {
                    let x = row::<L>(values, a);
                    for l in 0..L {
                        acc[l] = acc[l].max(x[l]);
                    }
                }
                *row_mut::<L>(values, out) = acc;
            }
            Step::Dot { out, start, len } => {
                let mut acc = [0.0; L];
                let range = start as usize..(start + len) as usize;
                for ((&kind, &a), &b) in self.pair_kind[range.clone()]
                    .iter()
                    .zip(&self.pair_a[range.clone()])
                    .zip(&self.pair_b[range])
                {
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
                let g = *row::<L>(adjoints, out);
                let (x, y) = (row::<L>(values, a), row::<L>(values, out));
                let ga = row_mut::<L>(adjoints, a);
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
                for l in 0..L {
                    [da[l], db[l]] = op.partials(x[l], z[l], y[l]);
                }
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
            Step::Sum { out, start, len } => {
                let g = *row::<L>(adjoints, out);
                for &a in &self.args[start as usize..(start + len) as usize] {
                    if self.need[a as usize] {
                        let ga = row_mut::<L>(adjoints, a);
                        for l in 0..L {
                            ga[l] += g[l]; // d sum / d a_i = 1
                        }
                    }
                }
            }
            Step::Max { out, start, len } => {
                let g = *row::<L>(adjoints, out);
                let y = *row::<L>(values, out);
                let operands = &self.args[start as usize..(start + len) as usize];
                for l in 0..L {
                    let of_lane = operands.iter().map(|&a| values[a as usize * L + l]);
                    if let Some(k) = max_partial_index(of_lane, y[l])
                        && self.need[operands[k] as usize]
                    {
                        adjoints[operands[k] as usize * L + l] += g[l]; // partial 1
                    }
                }
            }
            Step::Dot { out, start, len } => {
                let g = *row::<L>(adjoints, out);
                let range = start as usize..(start + len) as usize;
                for ((&kind, &a), &b) in self.pair_kind[range.clone()]
                    .iter()
                    .zip(&self.pair_a[range.clone()])
                    .zip(&self.pair_b[range])
                {
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
                            add_products::<L>(partials_mut(ua, a), &g, &[dx; L]);
                            add_products::<L>(partials_mut(ua, b), &g, &[dz; L]);
                        }
                    }
                }
            }
            Step::Group { .. } => unreachable!("internal error: groups run in `block`"),
        }
    }
}

/// The lanes of the vectors the [`Group`] kernels are written for (AVX-512's `f64` lanes): a
/// vector holds the eight partial sums of a weight's gradient.
const VECTOR: usize = PARTIALS;

/// Tiles of four neurons (or rows), then one at a time.
const TILE: usize = 4;

/// The vector of lanes `start..start + 8` of `buf` (`S` has 8 lanes).
#[inline(always)]
fn load<S: pulp::Simd>(buf: &[f64], start: usize) -> S::f64s {
    S::as_simd_f64s(&buf[start..start + VECTOR]).0[0]
}

#[inline(always)]
fn store<S: pulp::Simd>(buf: &mut [f64], start: usize, v: S::f64s) {
    S::as_mut_simd_f64s(&mut buf[start..start + VECTOR]).0[0] = v;
}

/// The kernels of a [`Group`], on vectors of 8 lanes. Each lane does exactly what a lone
/// [`Step::Dot`] does in that lane: a product then a sum (`mul` then `add`, never fused), with
/// `mul`'s partials `d(x w)/dx = w` and `d(x w)/dw = x` (as [`Binary::partials`] gives them).
impl Group {
    fn members(&self) -> usize {
        self.outs.len()
    }

    /// The members' `dot`s: `acc += row * weight` (or `+= uniform product`) position by
    /// position, for four members and `H` vectors of lanes at a time.
    #[inline(always)]
    fn forward<S: pulp::Simd, const L: usize, const H: usize>(
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
        let zero = simd.splat_f64s(0.0);
        for c0 in (0..L).step_by(H * VECTOR) {
            let mut acc = [[zero; H]; MT];
            for (p, &r) in self.rows.iter().enumerate() {
                let w: &[f64; MT] = chunk::<MT>(weights, p * m_count + m0);
                if r == NO_ROW {
                    for t in 0..MT {
                        let c = simd.splat_f64s(w[t]);
                        for h in 0..H {
                            acc[t][h] = simd.add_f64s(acc[t][h], c);
                        }
                    }
                } else {
                    let mut x = [zero; H];
                    for h in 0..H {
                        x[h] = load::<S>(values, r as usize * L + c0 + h * VECTOR);
                    }
                    for t in 0..MT {
                        let w = simd.splat_f64s(w[t]);
                        for h in 0..H {
                            acc[t][h] = simd.add_f64s(acc[t][h], simd.mul_f64s(x[h], w));
                        }
                    }
                }
            }
            for t in 0..MT {
                for h in 0..H {
                    let out = self.outs[m0 + t] as usize * L + c0 + h * VECTOR;
                    store::<S>(values, out, acc[t][h]);
                }
            }
        }
    }

    /// The chain rule for every member, as [`Step::Dot`] applies it member by member from the
    /// last: the rows' adjoints (summed over the members from the last), the weights'
    /// gradients, then the uniform products' factors.
    #[inline(always)]
    fn backward<S: pulp::Simd, const L: usize>(
        &self,
        simd: S,
        values: &[f64],
        adjoints: &mut [f64],
        (uv, ua): (&[f64], &mut [f64]),
        packed: &[f64],
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
            for (p, &r) in self.rows.iter().enumerate() {
                if r == NO_ROW {
                    let k = p * m_count + m;
                    let (a, b) = (self.a[k], self.b[k]);
                    let [da, db] = Binary::Mul.partials(uv[a as usize], uv[b as usize], 0.0);
                    add_products::<L>(partials_mut(ua, a), g, &[da; L]);
                    add_products::<L>(partials_mut(ua, b), g, &[db; L]);
                }
            }
        }
    }

    /// `adjoint(row) += adjoint(member) * weight` for the rows at `positions`, over the
    /// members from the last, 8 lanes at a time.
    #[inline(always)]
    fn row_adjoint_tile<S: pulp::Simd, const L: usize, const PT: usize>(
        &self,
        simd: S,
        positions: &[u32],
        adjoints: &mut [f64],
        weights: &[f64],
    ) {
        let m_count = self.members();
        let mut rows = [0; PT];
        for q in 0..PT {
            rows[q] = self.rows[positions[q] as usize] as usize * L;
        }
        for c0 in (0..L).step_by(VECTOR) {
            let mut acc = [simd.splat_f64s(0.0); PT];
            for q in 0..PT {
                acc[q] = load::<S>(adjoints, rows[q] + c0);
            }
            for m in (0..m_count).rev() {
                let g = load::<S>(adjoints, self.outs[m] as usize * L + c0);
                for q in 0..PT {
                    let w = simd.splat_f64s(weights[positions[q] as usize * m_count + m]);
                    acc[q] = simd.add_f64s(acc[q], simd.mul_f64s(g, w));
                }
            }
            for q in 0..PT {
                store::<S>(adjoints, rows[q] + c0, acc[q]);
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
        let zero = simd.splat_f64s(0.0);
        let mut at = [[0; PT]; MT];
        let mut acc = [[zero; PT]; MT];
        for t in 0..MT {
            for q in 0..PT {
                at[t][q] = self.a[positions[q] as usize * m_count + m0 + t] as usize * PARTIALS;
                acc[t][q] = load::<S>(ua, at[t][q]);
            }
        }
        for c0 in (0..L).step_by(VECTOR) {
            let mut g = [zero; MT];
            let mut x = [zero; PT];
            for t in 0..MT {
                g[t] = load::<S>(adjoints, self.outs[m0 + t] as usize * L + c0);
            }
            for q in 0..PT {
                x[q] = load::<S>(values, self.rows[positions[q] as usize] as usize * L + c0);
            }
            for t in 0..MT {
                for q in 0..PT {
                    acc[t][q] = simd.add_f64s(acc[t][q], simd.mul_f64s(g[t], x[q]));
                }
            }
        }
        for t in 0..MT {
            for q in 0..PT {
                store::<S>(ua, at[t][q], acc[t][q]);
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

/// Partial sums per uniform adjoint: lane `l` of every block adds into partial `l % 8`, and
/// the eight are reduced in a fixed order when read, so that no horizontal sum is needed per
/// product and the order does not depend on the vector width the compiler picks.
const PARTIALS: usize = 8;

#[inline(always)]
fn partials_mut(buf: &mut [f64], u: u32) -> &mut [f64; PARTIALS] {
    let start = u as usize * PARTIALS;
    (&mut buf[start..start + PARTIALS])
        .try_into()
        .expect("internal error: eight partial sums")
}

/// The sum of the eight partial sums, in a fixed order.
#[inline(always)]
fn reduce(p: &[f64; PARTIALS]) -> f64 {
    ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]))
}

/// `dst[l % 8] += g[l] * x[l]` for every lane `l`, in lane order.
#[inline(always)]
fn add_products<const L: usize>(dst: &mut [f64; PARTIALS], g: &[f64; L], x: &[f64; L]) {
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
fn add_weight_gradient<const L: usize>(
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
fn row<const L: usize>(buf: &[f64], r: u32) -> &[f64; L] {
    let start = r as usize * L;
    buf[start..start + L]
        .try_into()
        .expect("internal error: a row has L lanes")
}

#[inline(always)]
fn row_mut<const L: usize>(buf: &mut [f64], r: u32) -> &mut [f64; L] {
    let start = r as usize * L;
    (&mut buf[start..start + L])
        .try_into()
        .expect("internal error: a row has L lanes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Graph;

    /// A 6-5-3 tanh net with a bias node, half squared error against inputs 6..9; with
    /// `shared`, the first two neurons of each layer share a weight (which must stop grouping).
    fn net(shared: bool) -> (Tape, u32) {
        let g = Graph::new();
        let x: Vec<_> = (0..9).map(|i| g.input(&format!("x{i}"))).collect();
        let bias = g.constant(1.0);
        let mut value = 0.3;
        let mut weight = || {
            value = (value * 7.3f64).sin();
            g.param("w", value)
        };
        let mut layer = |inputs: &[crate::Expr<'_>], width: usize| -> Vec<_> {
            let first = weight();
            (0..width)
                .map(|j| {
                    let mut pairs: Vec<_> = inputs.iter().map(|&i| (i, weight())).collect();
                    if shared && j < 2 {
                        pairs[0].1 = first;
                    }
                    pairs.push((bias, weight()));
                    g.dot(&pairs).tanh()
                })
                .collect()
        };
        let hidden = layer(&x[..6], 5);
        let out = layer(&hidden, 3);
        let errors: Vec<_> = out
            .iter()
            .zip(&x[6..])
            .map(|(&y, &t)| (y - t).powf(2.0) * 0.5)
            .collect();
        let loss = g.sum(&errors);
        (g.compile_unfused().unwrap(), loss.id().index() as u32)
    }

    /// The sum of the loss and the parameters' gradients over 77 associations in blocks of up
    /// to `lanes`.
    fn run(plan: &Plan, tape: &Tape, lanes: usize) -> (f64, Vec<f64>) {
        let data: Vec<f64> = (0..77 * 9).map(|k| (k as f64 * 0.61).cos()).collect();
        let mut ws = plan.workspace(lanes);
        plan.set_params(&mut ws, tape.initial_params());
        let loss = plan.run(&mut ws, &[(&data, 9)], 0, 77, lanes, 1.0);
        let mut grad = vec![0.0; tape.param_count()];
        plan.take_gradients(&mut ws, &mut grad);
        (loss, grad)
    }

    /// On a CPU without 8-lane vectors both plans run the lone steps, and this compares a path
    /// with itself; the machines this project is built and checked on have AVX-512.
    #[test]
    fn groups_give_the_bits_of_lone_dot_steps() {
        let (tape, loss) = net(false);
        let plan = Plan::new(&tape, loss);
        assert_eq!(plan.groups.len(), 2, "one group per layer");
        assert_eq!(plan.groups[0].outs.len(), 5);
        let mut plain = plan.clone();
        plain.grouped = plain.steps.clone();
        for lanes in [64, 16, 8, 5] {
            let (l1, g1) = run(&plan, &tape, lanes);
            let (l2, g2) = run(&plain, &tape, lanes);
            assert_eq!(l1.to_bits(), l2.to_bits(), "{lanes} lanes: loss");
            for (k, (a, b)) in g1.iter().zip(&g2).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{lanes} lanes: parameter {k}");
            }
        }
    }

    #[test]
    fn a_weight_shared_between_neurons_is_not_grouped() {
        let (tape, loss) = net(true);
        let plan = Plan::new(&tape, loss);
        assert!(plan.groups.is_empty(), "no layer is grouped");
        // the tape's gradient, summed over the associations one at a time
        let data: Vec<f64> = (0..77 * 9).map(|k| (k as f64 * 0.61).cos()).collect();
        let node = crate::NodeId::new(tape.param_node(0).graph_id(), loss);
        let mut want = vec![0.0; tape.param_count()];
        let mut ws = tape.workspace();
        for t in 0..77 {
            tape.forward(&mut ws, &data[t * 9..(t + 1) * 9]).unwrap();
            tape.backward(&mut ws, node).unwrap();
            for (k, w) in want.iter_mut().enumerate() {
                *w += tape.gradient(&ws, tape.param_node(k)).unwrap();
            }
        }
        let (_, got) = run(&plan, &tape, 64);
        for (g, w) in got.iter().zip(&want) {
            // sums of 77 terms of size ~1 in two orders: a few ulps of the sum
            assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} vs {w}");
        }
    }
}
