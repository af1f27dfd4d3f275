//! Compiling: the graph's nodes, read in creation order through [`View`], become the tape's
//! instruction list, with a workspace row for every node but those fused into a neuron.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Instr, Nary, Tape};
use crate::error::Result;
use crate::graph::{Graph, Node, View};
use crate::op::{Binary, Op, OpKey, Unary};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// Where each node's value and adjoint live in a workspace: its row. The `mul` and `add` nodes
/// inside an [`Instr::Neuron`] have none; every other node has one, in node order.
#[derive(Clone, Debug, Default)]
pub(super) struct Rows {
    /// Bit `n % 64` of word `n / 64` is set if node `n` has a row. Empty once built if every
    /// node has one: then the row is the node.
    kept: Vec<u64>,
    /// The number of rows before each word of `kept`.
    before: Vec<u32>,
    nodes: u32,
    pub(super) count: u32,
}

impl Rows {
    /// Appends the next node, with or without a row.
    fn push(&mut self, kept: bool) {
        let n = self.nodes as usize;
        if n.is_multiple_of(64) {
            self.kept.push(0);
            self.before.push(self.count);
        }
        if kept {
            self.kept[n / 64] |= 1 << (n % 64);
            self.count += 1;
        }
        self.nodes += 1;
    }

    fn finish(&mut self) {
        if self.count == self.nodes {
            self.kept = Vec::new();
            self.before = Vec::new();
        }
    }

    /// The row of node `n`, `None` for a node inside a neuron.
    #[inline]
    pub(super) fn row(&self, n: u32) -> Option<u32> {
        if self.kept.is_empty() {
            return Some(n);
        }
        let (word, bit) = (self.kept[n as usize / 64], 1u64 << (n % 64));
        (word & bit != 0).then(|| self.before[n as usize / 64] + (word & (bit - 1)).count_ones())
    }

    /// The row of node `n`, which is not inside a neuron.
    pub(super) fn row_of(&self, n: u32) -> u32 {
        self.row(n)
            .expect("internal error: a node inside a neuron is used by that neuron only")
    }

    /// The node of a row.
    pub(super) fn node(&self, row: u32) -> u32 {
        if self.kept.is_empty() {
            return row;
        }
        let w = self.before.partition_point(|&b| b <= row) - 1;
        let mut word = self.kept[w];
        for _ in 0..row - self.before[w] {
            word &= word - 1;
        }
        w as u32 * 64 + word.trailing_zeros()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.kept.capacity() * 8 + self.before.capacity() * 4
    }
}

/// The distinct unary ops of a tape, by index.
#[derive(Default)]
struct UnaryOps {
    ops: Vec<Unary>,
    index: HashMap<OpKey, u32>,
    /// The last op looked up: runs of the same op (a layer's activations, a chain) skip the
    /// hash map.
    last: Option<(OpKey, u32)>,
}

impl UnaryOps {
    /// The index of `op`, added if new.
    fn index(&mut self, op: Unary) -> u32 {
        let key = Op::Unary(op).key();
        match self.last {
            Some((last, index)) if last == key => index,
            _ => {
                let ops = &mut self.ops;
                let index = *self.index.entry(key).or_insert_with(|| {
                    ops.push(op);
                    ops.len() as u32 - 1
                });
                self.last = Some((key, index));
                index
            }
        }
    }
}

/// The start of a neuron `unary(a * b + c)` seen so far: nodes held back from the instruction
/// list until the next node says whether they fuse.
#[derive(Clone, Copy)]
enum Pending {
    None,
    /// `m = a * b`, used once.
    Mul {
        m: u32,
        a: u32,
        b: u32,
    },
    /// `m = a * b` and `m + 1 = m + c`, each used once.
    MulAdd {
        m: u32,
        a: u32,
        b: u32,
        c: u32,
    },
}

/// The tape under construction.
struct Builder<'v, 'g> {
    view: &'v View<'g>,
    rows: Rows,
    instrs: Vec<Instr>,
    args: Vec<u32>,
    unary_ops: UnaryOps,
    param_init: Vec<f64>,
    consts: Vec<(u32, f64)>,
    pending: Pending,
}

impl Builder<'_, '_> {
    /// Appends node `index` (not part of a neuron) and its instruction, if it is an op.
    fn push(&mut self, index: u32, node: Node, operands: &[u32]) {
        let out = self.rows.count;
        match node {
            Node::Input { .. } => {}
            Node::Param { slot } => {
                self.param_init[slot as usize] = self.view.param_values()[slot as usize]
            }
            Node::Const(value) => self.consts.push((out, value)),
            Node::Op(op) => {
                let row = |n: &u32| self.rows.row_of(*n);
                let instr = match op {
                    Op::Unary(op) => Instr::Unary {
                        op: self.unary_ops.index(op),
                        out,
                        a: row(&operands[0]),
                    },
                    Op::Binary(op) => Instr::Binary {
                        op,
                        out,
                        a: row(&operands[0]),
                        b: row(&operands[1]),
                    },
                    Op::Sum | Op::Dot | Op::Max => {
                        let start = self.args.len() as u32;
                        let rows: Vec<u32> = operands.iter().map(row).collect();
                        self.args.extend_from_slice(&rows);
                        let op = match op {
                            Op::Sum => Nary::Sum,
                            Op::Dot => Nary::Dot,
                            Op::Max => Nary::Max,
                            Op::Unary(_) | Op::Binary(_) => {
                                unreachable!("internal error: matched above")
                            }
                        };
                        Instr::Nary {
                            op,
                            out,
                            start,
                            len: operands.len() as u32,
                        }
                    }
                };
                self.instrs.push(instr);
            }
        }
        debug_assert_eq!(index, self.rows.nodes);
        self.rows.push(true);
    }

    /// Appends the held-back nodes as plain instructions.
    fn flush(&mut self) {
        let mul = Node::Op(Op::Binary(Binary::Mul));
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Mul { m, a, b } => self.push(m, mul, &[a, b]),
            Pending::MulAdd { m, a, b, c } => {
                self.push(m, mul, &[a, b]);
                self.push(m + 1, Node::Op(Op::Binary(Binary::Add)), &[m, c]);
            }
        }
    }

    /// Reads node `index`; with `fuse`, a `unary(a * b + c)` whose `mul` and `add` are made one
    /// after the other and used once each becomes one [`Instr::Neuron`].
    fn read(&mut self, index: u32, node: Node, operands: &[u32], fuse: bool) {
        if fuse {
            match (node, self.pending) {
                (Node::Op(Op::Binary(Binary::Mul)), _) if self.view.used_once(index) => {
                    self.flush();
                    let (a, b) = (operands[0], operands[1]);
                    self.pending = Pending::Mul { m: index, a, b };
                    return;
                }
                (Node::Op(Op::Binary(Binary::Add)), Pending::Mul { m, a, b })
                    if index == m + 1
                        && operands[0] == m
                        && operands[1] != m
                        && self.view.used_once(index) =>
                {
                    let c = operands[1];
                    self.pending = Pending::MulAdd { m, a, b, c };
                    return;
                }
                (Node::Op(Op::Unary(act)), Pending::MulAdd { m, a, b, c })
                    if index == m + 2 && operands[0] == m + 1 =>
                {
                    self.pending = Pending::None;
                    let start = self.args.len() as u32;
                    let rows = [a, b, c].map(|n| self.rows.row_of(n));
                    self.args.extend_from_slice(&rows);
                    self.rows.push(false);
                    self.rows.push(false);
                    self.instrs.push(Instr::Neuron {
                        op: self.unary_ops.index(act),
                        out: self.rows.count,
                        start,
                    });
                    self.rows.push(true);
                    return;
                }
                _ => {}
            }
        }
        self.flush();
        self.push(index, node, operands);
    }
}

impl Tape {
    /// Compiles the graph seen through `view`; with `fuse`, each `unary(a * b + c)` whose `mul`
    /// and `add` nodes are made one after the other and used once becomes one
    /// [`Instr::Neuron`].
    pub(crate) fn compile(graph: u32, view: &View<'_>, fuse: bool) -> Tape {
        let nodes = view.len();
        let mut b = Builder {
            view,
            rows: Rows::default(),
            instrs: Vec::with_capacity(nodes),
            args: Vec::new(),
            unary_ops: UnaryOps::default(),
            param_init: vec![0.0; view.params().len()],
            consts: Vec::new(),
            pending: Pending::None,
        };
        view.for_each(|index, node, operands| b.read(index, node, operands, fuse));
        b.flush();
        let Builder {
            mut rows,
            mut instrs,
            args,
            unary_ops,
            param_init,
            consts,
            ..
        } = b;
        rows.finish();
        instrs.shrink_to_fit();
        let leaf_row = |&n: &u32| rows.row_of(n);
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            graph,
            nodes,
            instrs,
            unary_ops: unary_ops.ops,
            args,
            input_rows: view.inputs().iter().map(leaf_row).collect(),
            param_rows: view.params().iter().map(leaf_row).collect(),
            inputs: view.inputs().to_vec(),
            params: view.params().to_vec(),
            rows,
            param_init,
            consts,
            labels: view.labels().clone(),
        }
    }
}

impl Graph {
    /// Compiles the graph into a [`Tape`] for repeated evaluation and differentiation.
    ///
    /// # Errors
    /// The first error made while building (see [`Graph::deferred_error`]).
    ///
    /// # Complexity
    /// O(nodes + edges) time; the tape takes about 24 bytes per op node and 4 per edge.
    pub fn compile(&self) -> Result<Tape> {
        if let Some(error) = self.deferred_error() {
            return Err(error);
        }
        Ok(self.with_inner(|inner| Tape::compile(self.id(), &inner.view(), true)))
    }

    /// [`Graph::compile`] without neuron instructions: one instruction per op node and a
    /// workspace row per node: the reference the fused tape is tested against.
    #[cfg(test)]
    pub(crate) fn compile_unfused(&self) -> Result<Tape> {
        if let Some(error) = self.deferred_error() {
            return Err(error);
        }
        Ok(self.with_inner(|inner| Tape::compile(self.id(), &inner.view(), false)))
    }
}
