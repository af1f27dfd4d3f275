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
//! classified once ([`Pair`]): varying x uniform (an input or activation times a weight: the
//! weight is broadcast, its gradient is a sum over lanes), varying x varying, uniform x uniform
//! (the bias node times its weight). Adjoints are only propagated into nodes that lead to a
//! parameter (the first layer's weights need no input deltas). A uniform operand of any other
//! op reads a *shadow* row filled with its value. Adjoints of uniform nodes accumulate over
//! every block of a shard until [`Plan::take_gradients`] reads them.
//!
//! The `dot` steps of a layer (same rows, own weights) are also found here as [`Group`]s
//! (`group.rs`), which run as one step. This file only lays out: `block.rs` runs the steps.

use std::ops::ControlFlow;

use super::group::{Group, find_layers};
use super::partials::take;
use super::steps::{Pair, Products, Step};
use super::workspace::PlanWorkspace;
use crate::op::Op;
use crate::tape::Tape;

/// A tape re-laid for blocks of associations (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    rows: usize,
    uniforms: usize,
    steps: Vec<Step>,
    /// The operand rows of the `sum` and `max` steps.
    args: Vec<u32>,
    products: Products,
    /// `steps` with each [`Group`]'s members replaced by one [`Step::Group`].
    grouped: Vec<Step>,
    groups: Vec<Group>,
    /// The length of [`PlanWorkspace::packed`].
    packed: usize,
    /// Whether a row's adjoint leads to a parameter.
    need: Vec<bool>,
    /// Runs `start..end` of the rows whose adjoint a backward pass writes: those that lead to a
    /// parameter, and the output; a pass clears only these. The others' adjoints (the inputs',
    /// those of nodes that depend on no parameter) are read, if at all, only on the way to a
    /// constant's adjoint, which nothing reads: what they hold, zero or a value left by a block
    /// of another width, changes no result.
    written: Vec<(u32, u32)>,
    input_rows: Vec<u32>,
    param_count: usize,
    const_uniforms: Vec<(u32, f64)>,
    /// (row, uniform): rows that hold a uniform's value in every lane.
    shadows: Vec<(u32, u32)>,
    output: u32,
}

/// Where a node lives in a plan: its row, or its uniform.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Row(u32),
    Uniform(u32),
}

/// The slots of a tape's nodes: parameters first, then constants, as uniforms; inputs and ops
/// as rows, in creation order (a topological order).
struct Slots {
    slot: Vec<Slot>,
    /// Whether a node leads to a parameter (filled in for the ops as they are lowered).
    need: Vec<bool>,
    uniforms: u32,
    rows: u32,
    const_uniforms: Vec<(u32, f64)>,
    param_count: usize,
}

impl Slots {
    fn new(tape: &Tape) -> Slots {
        let nodes = tape.len();
        let leaves = tape.leaves();
        let mut slots = Slots {
            slot: vec![Slot::Uniform(u32::MAX); nodes],
            need: vec![false; nodes],
            uniforms: 0,
            rows: 0,
            const_uniforms: Vec::new(),
            param_count: leaves.params.len(),
        };
        // parameters first, so that `u < param count` tells one ([`Plan::is_param`]): parameter
        // `k` is uniform `k`
        for &node in leaves.params {
            slots.slot[node as usize] = Slot::Uniform(slots.uniforms);
            slots.need[node as usize] = true;
            slots.uniforms += 1;
        }
        for &(node, value) in &leaves.consts {
            slots.slot[node as usize] = Slot::Uniform(slots.uniforms);
            slots.const_uniforms.push((slots.uniforms, value));
            slots.uniforms += 1;
        }
        let mut is_row = vec![false; nodes];
        for &node in leaves.inputs {
            is_row[node as usize] = true;
        }
        tape.for_each_op(|node, _, _| {
            is_row[node as usize] = true;
            ControlFlow::Continue(())
        });
        for (node, &row) in is_row.iter().enumerate() {
            if row {
                slots.slot[node] = Slot::Row(slots.rows);
                slots.rows += 1;
            }
        }
        slots
    }

    /// The row of a node that has one (an input or an op).
    fn row(&self, node: u32) -> u32 {
        match self.slot[node as usize] {
            Slot::Row(r) => r,
            Slot::Uniform(_) => unreachable!("internal error: inputs and ops have rows"),
        }
    }
}

/// The steps of a plan as they are lowered from the tape's ops, one op at a time.
struct Lowering {
    slots: Slots,
    steps: Vec<Step>,
    args: Vec<u32>,
    products: Products,
    /// (row, uniform) of each shadow row, and the shadow row of each uniform (`u32::MAX`: none).
    shadows: Vec<(u32, u32)>,
    shadow_of: Vec<u32>,
    /// Whether an op's row leads to a parameter.
    row_need: Vec<bool>,
}

impl Lowering {
    /// A row for an operand: its own, or a shadow of a uniform (made at its first use).
    fn as_row(&mut self, node: u32) -> u32 {
        match self.slots.slot[node as usize] {
            Slot::Row(r) => r,
            Slot::Uniform(u) => {
                if self.shadow_of[u as usize] == u32::MAX {
                    self.shadow_of[u as usize] = self.slots.rows;
                    self.shadows.push((self.slots.rows, u));
                    self.slots.rows += 1;
                }
                self.shadow_of[u as usize]
            }
        }
    }

    /// The step of the op writing `out_node` from `operands`.
    fn lower(&mut self, out_node: u32, op: Op, operands: &[u32]) {
        let out = self.slots.row(out_node);
        let any_need = operands.iter().any(|&a| self.slots.need[a as usize]);
        let step = match op {
            Op::Unary(op) => Step::Unary {
                op,
                out,
                a: self.as_row(operands[0]),
            },
            Op::Binary(op) => Step::Binary {
                op,
                out,
                a: self.as_row(operands[0]),
                b: self.as_row(operands[1]),
            },
            Op::Sum | Op::Max => {
                let start = self.args.len() as u32;
                for &a in operands {
                    let r = self.as_row(a);
                    self.args.push(r);
                }
                let len = operands.len() as u32;
                Step::Nary {
                    op,
                    out,
                    start,
                    len,
                }
            }
            Op::Dot => {
                let start = self.products.len() as u32;
                for pair in operands.chunks_exact(2) {
                    self.lower_product(pair[0], pair[1]);
                }
                let len = operands.len() as u32 / 2;
                Step::Dot { out, start, len }
            }
        };
        self.slots.need[out_node as usize] = any_need;
        self.row_need[out as usize] = any_need;
        self.steps.push(step);
    }

    /// Classifies the product `a * b` of a `dot` node ([`Pair`]).
    fn lower_product(&mut self, a: u32, b: u32) {
        let slot = &self.slots.slot;
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
                let kind = if self.slots.need[row_node as usize] {
                    Pair::RowWeight
                } else {
                    Pair::Weight
                };
                (kind, x, w)
            }
        };
        self.products.push(kind, x, y);
    }
}

impl Plan {
    /// Lays `tape` out again for the gradient of `output` (a node index that must be an op),
    /// reading it only through [`Tape::for_each_op`] and [`Tape::leaves`].
    pub(crate) fn new(tape: &Tape, output: u32) -> Plan {
        let slots = Slots::new(tape);
        let input_rows = tape.leaves().inputs.iter().map(|&n| slots.row(n)).collect();
        let output_row = match slots.slot[output as usize] {
            Slot::Row(r) => r,
            Slot::Uniform(_) => unreachable!("internal error: the output of a plan is an op"),
        };
        let mut lowering = Lowering {
            shadow_of: vec![u32::MAX; slots.uniforms as usize],
            row_need: vec![false; slots.rows as usize],
            slots,
            steps: Vec::with_capacity(tape.len()),
            args: Vec::new(),
            products: Products::default(),
            shadows: Vec::new(),
        };
        tape.for_each_op(|out_node, op, operands| {
            lowering.lower(out_node, op, operands);
            if out_node == output {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let Lowering {
            slots,
            steps,
            args,
            products,
            shadows,
            mut row_need,
            ..
        } = lowering;
        let rows = slots.rows as usize;
        row_need.resize(rows, false);
        // a shadow passes its adjoint on to a uniform: needed if that is a parameter
        for &(row, u) in &shadows {
            row_need[row as usize] = (u as usize) < slots.param_count;
        }
        let layers = find_layers(&steps, &products);
        Plan {
            rows,
            uniforms: slots.uniforms as usize,
            written: written_runs(&row_need, output_row),
            need: row_need,
            steps,
            args,
            products,
            grouped: layers.grouped,
            groups: layers.groups,
            packed: layers.packed,
            input_rows,
            param_count: slots.param_count,
            const_uniforms: slots.const_uniforms,
            shadows,
            output: output_row,
        }
    }

    /// Buffers for blocks of up to `lanes` associations (see [`super::workspace::block_width`]).
    pub(crate) fn workspace(&self, lanes: usize) -> PlanWorkspace {
        let mut ws = PlanWorkspace::zeroed(self.rows, lanes, self.uniforms, self.packed);
        for &(u, value) in &self.const_uniforms {
            ws.uniform_values[u as usize] = value;
        }
        self.pack(&mut ws);
        ws
    }

    /// Sets the parameters' values (in slot order).
    pub(crate) fn set_params(&self, ws: &mut PlanWorkspace, params: &[f64]) {
        // parameter `k` is uniform `k` (`Slots::new`)
        for (value, &param) in ws.uniform_values[..self.param_count].iter_mut().zip(params) {
            *value = param;
        }
        self.pack(ws);
    }

    /// Copies the groups' weights from the uniform values.
    fn pack(&self, ws: &mut PlanWorkspace) {
        for group in &self.groups {
            group.pack(&ws.uniform_values, &mut ws.packed);
        }
    }

    /// Adds the accumulated gradient of each parameter to `grad[slot]` (one value per
    /// parameter) and starts a new accumulation: every uniform's partial sums are cleared.
    pub(crate) fn take_gradients(&self, ws: &mut PlanWorkspace, grad: &mut [f64]) {
        // parameter `k` is uniform `k` (`Slots::new`)
        debug_assert_eq!(grad.len(), self.param_count);
        take(&mut ws.uniform_adjoints, grad);
    }

    /// Whether uniform `u` is a parameter (they come first), whose adjoint is read; a
    /// constant's is not, and the kernels may skip it.
    #[inline(always)]
    pub(super) fn is_param(&self, u: u32) -> bool {
        (u as usize) < self.param_count
    }

    /// How many rows a block has.
    #[inline(always)]
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// The steps, each `dot` on its own ([`Step::Dot`]), or with the layers grouped
    /// ([`Step::Group`]).
    #[inline(always)]
    pub(super) fn steps(&self, grouped: bool) -> &[Step] {
        if grouped { &self.grouped } else { &self.steps }
    }

    /// The operand rows `start..start + len` of a `sum` or `max` step.
    #[inline(always)]
    pub(super) fn args(&self, start: u32, len: u32) -> &[u32] {
        &self.args[start as usize..(start + len) as usize]
    }

    /// The products of the `dot` steps.
    #[inline(always)]
    pub(super) fn products(&self) -> &Products {
        &self.products
    }

    /// The layer groups, indexed by [`Step::Group`].
    #[inline(always)]
    pub(super) fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Whether row `r`'s adjoint leads to a parameter.
    #[inline(always)]
    pub(super) fn needs(&self, r: u32) -> bool {
        self.need[r as usize]
    }

    /// The runs of rows whose adjoints a backward pass writes (and clears first).
    #[inline(always)]
    pub(super) fn written(&self) -> &[(u32, u32)] {
        &self.written
    }

    /// The rows of the input leaves, in slot order.
    #[inline(always)]
    pub(super) fn input_rows(&self) -> &[u32] {
        &self.input_rows
    }

    /// The shadow rows: (row, uniform).
    #[inline(always)]
    pub(super) fn shadows(&self) -> &[(u32, u32)] {
        &self.shadows
    }

    /// The output's row.
    #[inline(always)]
    pub(super) fn output(&self) -> u32 {
        self.output
    }

    /// The same plan with no groups: every `dot` runs on its own (the oracle of the groups'
    /// tests).
    #[cfg(test)]
    pub(super) fn without_groups(&self) -> Plan {
        Plan {
            grouped: self.steps.clone(),
            ..self.clone()
        }
    }
}

/// The rows whose adjoint a backward pass writes (`need`, and the output), as runs
/// `start..end`.
fn written_runs(need: &[bool], output: u32) -> Vec<(u32, u32)> {
    let mut written: Vec<(u32, u32)> = Vec::new();
    for (row, &n) in need.iter().enumerate() {
        let row = row as u32;
        if !(n || row == output) {
            continue;
        }
        match written.last_mut() {
            Some((_, end)) if *end == row => *end += 1,
            _ => written.push((row, row + 1)),
        }
    }
    written
}
