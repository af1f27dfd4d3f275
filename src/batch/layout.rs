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

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::block::block_width;
use super::group::Group;
use super::partials::{PARTIALS, take};
use crate::op::{Binary, Op, Unary};
use crate::tape::Tape;

/// How a product of a `dot` node reads its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pair {
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
pub(super) enum Step {
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
    /// `sum` or `max` of rows `args[start..start + len]`.
    Nary {
        op: Op,
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

/// A tape re-laid for blocks of associations (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(super) rows: usize,
    pub(super) uniforms: usize,
    pub(super) steps: Vec<Step>,
    pub(super) args: Vec<u32>,
    pub(super) pair_a: Vec<u32>,
    pub(super) pair_b: Vec<u32>,
    pub(super) pair_kind: Vec<Pair>,
    /// `steps` with each [`Group`]'s members replaced by one [`Step::Group`].
    pub(super) grouped: Vec<Step>,
    pub(super) groups: Vec<Group>,
    /// The length of [`PlanWorkspace::packed`].
    pub(super) packed: usize,
    /// Whether a row's adjoint leads to a parameter.
    pub(super) need: Vec<bool>,
    /// Runs `start..end` of the rows whose adjoint a backward pass writes: those that lead to a
    /// parameter, and the output; a pass clears only these. The others' adjoints (the inputs',
    /// those of nodes that depend on no parameter) are read, if at all, only on the way to a
    /// constant's adjoint, which nothing reads: what they hold, zero or a value left by a block
    /// of another width, changes no result.
    pub(super) written: Vec<(u32, u32)>,
    pub(super) input_rows: Vec<u32>,
    pub(super) param_uniforms: Vec<u32>,
    pub(super) const_uniforms: Vec<(u32, f64)>,
    /// (row, uniform): rows that hold a uniform's value in every lane.
    pub(super) shadows: Vec<(u32, u32)>,
    pub(super) output: u32,
}

/// The buffers of one thread running a [`Plan`].
#[derive(Clone, Debug)]
pub(crate) struct PlanWorkspace {
    pub(super) values: Lines,
    pub(super) adjoints: Lines,
    pub(super) uniform_values: Vec<f64>,
    pub(super) uniform_adjoints: Lines,
    /// The groups' weights, copied from `uniform_values` by [`Plan::set_params`] so that a tile
    /// reads its neurons' weights side by side.
    pub(super) packed: Vec<f64>,
}

/// A zeroed buffer of `f64` that starts on a 64-byte cache line, so that every vector of 8
/// lanes the kernels read at a multiple of 8 lies in one line (a `Vec<f64>` is only 8- or
/// 16-byte aligned, and a row that starts mid-line is read from two lines per vector). Buffers
/// start at staggered offsets within a page (9 lines apart, cycling over 7), so that the
/// buffers of one workspace, and those of two threads' workspaces, do not all begin in the same
/// cache sets: aligned but not staggered, two threads ran W3 at 770-930 us per epoch in most
/// runs instead of 540-580 (`benches/README.md`, 1 Dec).
///
/// Where a buffer starts changes no result: only the addresses of the same numbers move.
#[derive(Debug)]
pub(crate) struct Lines {
    buf: Vec<f64>,
    start: usize,
    len: usize,
}

impl Lines {
    /// `f64`s in a 64-byte line.
    const PER_LINE: usize = 8;
    /// Lines between the starts of successive buffers, and how many starts before they repeat.
    const STAGGER: (usize, usize) = (9, 7);

    pub(super) fn zeroed(len: usize) -> Lines {
        static BUFFERS: AtomicUsize = AtomicUsize::new(0);
        let (step, cycle) = Lines::STAGGER;
        let stagger = BUFFERS.fetch_add(1, Ordering::Relaxed) % cycle * step * Lines::PER_LINE;
        let spare = Lines::PER_LINE - 1 + (cycle - 1) * step * Lines::PER_LINE;
        let buf = vec![0.0; len + spare];
        let misalignment = buf.as_ptr() as usize % 64 / std::mem::size_of::<f64>();
        let start = (Lines::PER_LINE - misalignment) % Lines::PER_LINE + stagger;
        Lines { buf, start, len }
    }
}

impl Clone for Lines {
    fn clone(&self) -> Lines {
        let mut copy = Lines::zeroed(self.len);
        copy.copy_from_slice(self);
        copy
    }
}

impl std::ops::Deref for Lines {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Row(u32),
    Uniform(u32),
}

impl Plan {
    /// Lays `tape` out again for the gradient of `output` (a node index that must be an op),
    /// reading it only through [`Tape::for_each_op`] and [`Tape::leaves`].
    pub(crate) fn new(tape: &Tape, output: u32) -> Plan {
        let nodes = tape.len();
        let leaves = tape.leaves();
        let mut slot = vec![Slot::Uniform(u32::MAX); nodes];
        let mut need_node = vec![false; nodes];
        let mut uniforms = 0u32;
        let mut const_uniforms = Vec::new();
        let mut param_uniforms = vec![0; leaves.params.len()];
        // parameters first, so that `u < param count` tells one ([`Plan::is_param`])
        for (k, &node) in leaves.params.iter().enumerate() {
            slot[node as usize] = Slot::Uniform(uniforms);
            need_node[node as usize] = true;
            param_uniforms[k] = uniforms;
            uniforms += 1;
        }
        for &(node, value) in &leaves.consts {
            slot[node as usize] = Slot::Uniform(uniforms);
            const_uniforms.push((uniforms, value));
            uniforms += 1;
        }
        // Rows in creation order: inputs and ops (a topological order).
        let mut is_row = vec![false; nodes];
        for &node in leaves.inputs {
            is_row[node as usize] = true;
        }
        tape.for_each_op(|node, _, _| {
            is_row[node as usize] = true;
            ControlFlow::Continue(())
        });
        let mut rows = 0u32;
        for (node, &row) in is_row.iter().enumerate() {
            if row {
                slot[node] = Slot::Row(rows);
                rows += 1;
            }
        }
        let input_rows = leaves
            .inputs
            .iter()
            .map(|&n| match slot[n as usize] {
                Slot::Row(r) => r,
                Slot::Uniform(_) => unreachable!("internal error: inputs have rows"),
            })
            .collect();
        let mut plan = Plan {
            rows: 0,
            uniforms: uniforms as usize,
            steps: Vec::with_capacity(nodes),
            args: Vec::new(),
            pair_a: Vec::new(),
            pair_b: Vec::new(),
            pair_kind: Vec::new(),
            grouped: Vec::new(),
            groups: Vec::new(),
            packed: 0,
            need: Vec::new(),
            written: Vec::new(),
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
        tape.for_each_op(|out_node, op, operands| {
            let Slot::Row(out) = slot[out_node as usize] else {
                unreachable!("internal error: ops have rows")
            };
            let any_need = operands.iter().any(|&a| need_node[a as usize]);
            let step = match op {
                Op::Unary(op) => Step::Unary {
                    op,
                    out,
                    a: as_row(&mut plan, operands[0], &mut rows),
                },
                Op::Binary(op) => Step::Binary {
                    op,
                    out,
                    a: as_row(&mut plan, operands[0], &mut rows),
                    b: as_row(&mut plan, operands[1], &mut rows),
                },
                Op::Sum | Op::Max => {
                    let start = plan.args.len() as u32;
                    for &a in operands {
                        let r = as_row(&mut plan, a, &mut rows);
                        plan.args.push(r);
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
                    let start = plan.pair_a.len() as u32;
                    for pair in operands.chunks_exact(2) {
                        let (a, b) = (pair[0], pair[1]);
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
                    let len = operands.len() as u32 / 2;
                    Step::Dot { out, start, len }
                }
            };
            need_node[out_node as usize] = any_need;
            row_need[out as usize] = any_need;
            plan.steps.push(step);
            if out_node == output {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        for &(_, u) in &plan.shadows {
            // a shadow passes its adjoint on to a uniform: needed if that is a parameter
            shadow_need.push(plan.is_param(u));
        }
        plan.rows = rows as usize;
        row_need.resize(plan.rows, false);
        for (&(row, _), &n) in plan.shadows.iter().zip(&shadow_need) {
            row_need[row as usize] = n;
        }
        plan.output = match slot[output as usize] {
            Slot::Row(r) => r,
            Slot::Uniform(_) => unreachable!("internal error: the output of a plan is an op"),
        };
        // the rows whose adjoint a backward pass writes, in runs
        for (row, &n) in row_need.iter().enumerate() {
            let row = row as u32;
            if !(n || row == plan.output) {
                continue;
            }
            match plan.written.last_mut() {
                Some((_, end)) if *end == row => *end += 1,
                _ => plan.written.push((row, row + 1)),
            }
        }
        plan.need = row_need;
        plan.group_layers();
        plan
    }

    /// Whether uniform `u` is a parameter (they come first), whose adjoint is read; a
    /// constant's is not, and the kernels may skip it.
    #[inline(always)]
    pub(super) fn is_param(&self, u: u32) -> bool {
        (u as usize) < self.param_uniforms.len()
    }

    /// Buffers for blocks of up to `lanes` associations (see [`block_width`]).
    pub(crate) fn workspace(&self, lanes: usize) -> PlanWorkspace {
        let width = block_width(lanes);
        let mut uniform_values = vec![0.0; self.uniforms];
        for &(u, value) in &self.const_uniforms {
            uniform_values[u as usize] = value;
        }
        let mut ws = PlanWorkspace {
            values: Lines::zeroed(self.rows * width),
            adjoints: Lines::zeroed(self.rows * width),
            uniform_values,
            uniform_adjoints: Lines::zeroed(self.uniforms * PARTIALS),
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

    /// Adds the accumulated gradient of each parameter to `grad[slot]` (one value per
    /// parameter) and starts a new accumulation: every uniform's partial sums are cleared.
    pub(crate) fn take_gradients(&self, ws: &mut PlanWorkspace, grad: &mut [f64]) {
        // parameter `k` is uniform `k` (`Plan::new`)
        debug_assert_eq!(grad.len(), self.param_uniforms.len());
        take(&mut ws.uniform_adjoints, grad);
    }
}

#[cfg(test)]
mod tests {
    use super::super::block::Inputs;
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
        plan.set_params(&mut ws, tape.param_values());
        let loss = plan.run(&mut ws, Inputs::Rows(&[(&data, 9)]), 0, 77, lanes, 1.0);
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

    /// A pass clears only the adjoints it writes: a workspace reused over passes whose blocks
    /// change width (77 = 64 + 8 + 4 + 1, then 5 = 4 + 1, then 77 again), so that rows hold
    /// values left by another layout, gives the bits of a fresh one each time.
    #[test]
    fn a_reused_workspace_gives_the_bits_of_a_fresh_one() {
        let (tape, loss) = net(false);
        let plan = Plan::new(&tape, loss);
        assert!(
            plan.written.iter().map(|(s, e)| e - s).sum::<u32>() < plan.rows as u32,
            "the inputs' adjoints are never written"
        );
        let data: Vec<f64> = (0..77 * 9).map(|k| (k as f64 * 0.37).sin()).collect();
        let pass = |ws: &mut PlanWorkspace, count: usize| {
            plan.set_params(ws, tape.param_values());
            let loss = plan.run(ws, Inputs::Rows(&[(&data, 9)]), 0, count, 64, 1.0);
            let mut grad = vec![0.0; tape.param_count()];
            plan.take_gradients(ws, &mut grad);
            (
                loss.to_bits(),
                grad.iter().map(|g| g.to_bits()).collect::<Vec<_>>(),
            )
        };
        let mut reused = plan.workspace(64);
        for count in [77, 5, 77, 64, 77] {
            let fresh = pass(&mut plan.workspace(64), count);
            assert_eq!(pass(&mut reused, count), fresh, "{count} associations");
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
