//! The compiled graph: one flat instruction list, and the driver that runs it one association
//! at a time.
//!
//! - `compile.rs` reads the graph through its narrow view, in
//!   creation order, into instructions over workspace *rows*. A *neuron* `unary(a * b + c)`,
//!   whose `mul` and `add` are each used only by the next node, becomes one instruction, and
//!   those two nodes get no row: a chain of such links (W4) keeps 16 bytes per link in its
//!   workspace instead of 48.
//! - `sweep.rs` is the driver: one loop forward, one loop backward in reverse creation order,
//!   multiplying each op's local partials ([`crate::op`]) by the adjoint of its output and
//!   accumulating them with `+=`. No recursion, no sort, no hashing, no allocation. Anomaly mode
//!   is the same two loops compiled with their checks on.
//! - `workspace.rs` holds the values and adjoints ([`Workspace`]), separate from the tape and
//!   the graph; `gradients.rs` reads them back ([`Gradients`]).
//!
//! Blocks of many associations at once run on the other driver, [`crate::batch`], which is laid
//! out from this tape through `Tape::for_each_op` and `Tape::leaves`.

mod compile;
mod gradients;
mod names;
mod sweep;
#[cfg(test)]
mod tests;
mod workspace;

use std::collections::HashMap;
use std::ops::ControlFlow;

pub use gradients::Gradients;
pub use workspace::Workspace;

use crate::error::{Error, NodeName, Result};
use crate::graph::NodeId;
use crate::op::{Binary, Op, Unary};
use compile::Rows;

/// One instruction: an op node (or a neuron's three) with its output row and operand rows. 16
/// bytes: a unary op is an index into [`Tape::unary_ops`], because a `Unary` with its `f64`
/// parameter would make every instruction 24.
#[derive(Clone, Copy, Debug)]
enum Instr {
    Unary {
        op: u32,
        out: u32,
        a: u32,
    },
    Binary {
        op: Binary,
        out: u32,
        a: u32,
        b: u32,
    },
    /// An op of any number of operands, `args[start..start + len]`.
    Nary {
        op: Nary,
        out: u32,
        start: u32,
        len: u32,
    },
    /// A neuron of one input, `out = op(a * b + c)` with `[a, b, c] = args[start..start + 3]`:
    /// the `mul` and `add` nodes before `out`, each used only by the next, have no rows.
    Neuron {
        op: u32,
        out: u32,
        start: u32,
    },
}

/// The ops of [`Instr::Nary`], without [`Op`]'s 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nary {
    Sum,
    Dot,
    Max,
}

impl Nary {
    fn op(self) -> Op {
        match self {
            Nary::Sum => Op::Sum,
            Nary::Dot => Op::Dot,
            Nary::Max => Op::Max,
        }
    }
}

impl Instr {
    fn out(&self) -> u32 {
        match *self {
            Instr::Unary { out, .. }
            | Instr::Binary { out, .. }
            | Instr::Nary { out, .. }
            | Instr::Neuron { out, .. } => out,
        }
    }
}

/// A graph compiled for repeated evaluation: build once with [`crate::Graph::compile`], then
/// run forward and backward for as many associations as needed.
///
/// The tape is immutable; values, adjoints and the current parameter values live in a
/// [`Workspace`].
///
/// # Examples
/// ```
/// use backprop::Graph;
/// let g = Graph::new();
/// let x = g.input("x");
/// let w = g.param("w", 2.0);
/// let y = (x * w).tanh();
/// let tape = g.compile()?;
/// let mut ws = tape.workspace();
/// let mut dw = 0.0; // gradients summed over associations: an explicit step
/// for x_t in [0.5, -1.0, 2.0] {
///     tape.forward(&mut ws, &[x_t])?;
///     tape.backward(&mut ws, y)?;
///     dw += tape.gradient(&ws, w)?;
/// }
/// let expected: f64 = [0.5f64, -1.0, 2.0].iter().map(|x| (1.0 - (2.0 * x).tanh().powi(2)) * x).sum();
/// assert!((dw - expected).abs() < 1e-15);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tape {
    /// Distinct for every compilation; a workspace remembers the tape it was made for.
    id: u64,
    graph: u32,
    nodes: usize,
    rows: Rows,
    /// Operands and outputs are rows (see [`Rows`]).
    instrs: Vec<Instr>,
    /// The distinct unary ops of the graph, which [`Instr::Unary`] refers to by index.
    unary_ops: Vec<Unary>,
    args: Vec<u32>,
    /// Nodes, in slot order.
    inputs: Vec<u32>,
    /// Nodes, in slot order.
    params: Vec<u32>,
    input_rows: Vec<u32>,
    param_rows: Vec<u32>,
    param_init: Vec<f64>,
    /// Rows.
    consts: Vec<(u32, f64)>,
    labels: HashMap<u32, Box<str>>,
}

/// The leaves of a tape, by node: what [`crate::batch`] lays out beside the ops.
pub(crate) struct Leaves<'t> {
    pub(crate) inputs: &'t [u32],
    pub(crate) params: &'t [u32],
    /// `(node, value)`.
    pub(crate) consts: Vec<(u32, f64)>,
}

impl Tape {
    /// The number of nodes of the compiled graph.
    pub fn len(&self) -> usize {
        self.nodes
    }

    /// Whether the compiled graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes == 0
    }

    /// The number of input leaves (values per association).
    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// The number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// How many associations `values` holds, one after the other, `input_count` values each
    /// (a graph without inputs has one, empty, association).
    ///
    /// # Errors
    /// [`Error::PartialAssociation`] if `values` is not a whole number of associations (naming
    /// the inputs in slot order).
    pub fn association_count(&self, values: &[f64]) -> Result<usize> {
        let n_in = self.inputs.len();
        let whole = if n_in == 0 {
            values.is_empty()
        } else {
            values.len().is_multiple_of(n_in)
        };
        if !whole {
            return Err(Error::PartialAssociation {
                inputs: self.inputs.iter().map(|&n| self.input_name(n)).collect(),
                got: values.len(),
            });
        }
        Ok(values.len().checked_div(n_in).unwrap_or(1))
    }

    /// The parameters' values, in slot order: the graph's when compiled, then as set by
    /// [`Tape::set_param_values`] or trained by [`crate::train::train_graph`]. They are what a
    /// new [`Workspace`], [`Tape::evaluate`], [`Tape::gradients`], [`Tape::batch`] and
    /// [`crate::gradcheck`] use, so that after training every one of them reads the trained
    /// values. (The graph keeps the values it was built with; copy them back with
    /// [`crate::Graph::set_param_values`] if you need them there.)
    pub fn param_values(&self) -> &[f64] {
        &self.param_init
    }

    /// Sets the parameters' values (see [`Tape::param_values`]).
    ///
    /// # Errors
    /// [`Error::ParamCount`] for the wrong number of values.
    pub fn set_param_values(&mut self, values: &[f64]) -> Result<()> {
        if values.len() != self.param_init.len() {
            return Err(Error::ParamCount {
                expected: self.param_init.len(),
                got: values.len(),
            });
        }
        self.param_init.copy_from_slice(values);
        Ok(())
    }

    /// The input nodes, in slot order.
    pub fn input_nodes(&self) -> Vec<NodeId> {
        self.inputs
            .iter()
            .map(|&i| NodeId::new(self.graph, i))
            .collect()
    }

    /// The node of parameter `slot`.
    ///
    /// # Panics
    /// If `slot >= param_count()`.
    pub fn param_node(&self, slot: usize) -> NodeId {
        NodeId::new(self.graph, self.params[slot])
    }

    /// The parameter nodes, in slot order.
    pub fn param_nodes(&self) -> Vec<NodeId> {
        self.params
            .iter()
            .map(|&i| NodeId::new(self.graph, i))
            .collect()
    }

    /// Bytes held by the tape itself (instructions, operand lists, leaf tables), for memory
    /// reports.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.instrs.capacity() * std::mem::size_of::<Instr>()
            + self.unary_ops.capacity() * std::mem::size_of::<Unary>()
            + self.args.capacity() * 4
            + (self.inputs.capacity() + self.params.capacity()) * 8
            + self.rows.heap_bytes()
            + self.param_init.capacity() * 8
            + self.consts.capacity() * std::mem::size_of::<(u32, f64)>()
    }

    /// The number of workspace rows: one per node outside a neuron instruction.
    pub(crate) fn row_count(&self) -> usize {
        self.rows.count as usize
    }

    /// The id of the graph it was compiled from.
    pub(crate) fn graph_id(&self) -> u32 {
        self.graph
    }

    /// Every op node in creation order, as `visit(node, op, operand nodes)`, a neuron as its
    /// three ops; stops early if `visit` breaks. With [`Tape::leaves`], all that the block
    /// driver needs to lay the graph out again.
    pub(crate) fn for_each_op(&self, mut visit: impl FnMut(u32, Op, &[u32]) -> ControlFlow<()>) {
        let node = |row: u32| self.rows.node(row);
        let mut operands = Vec::new();
        for instr in &self.instrs {
            let out = node(instr.out());
            let step = match *instr {
                Instr::Unary { op, a, .. } => {
                    visit(out, Op::Unary(self.unary_ops[op as usize]), &[node(a)])
                }
                Instr::Binary { op, a, b, .. } => visit(out, Op::Binary(op), &[node(a), node(b)]),
                Instr::Nary { op, start, len, .. } => {
                    operands.clear();
                    let rows = &self.args[start as usize..(start + len) as usize];
                    operands.extend(rows.iter().map(|&r| node(r)));
                    visit(out, op.op(), &operands)
                }
                Instr::Neuron { op, start, .. } => {
                    let [a, b, c] = self.neuron_operands(start).map(node);
                    let (m, s) = (out - 2, out - 1);
                    let act = Op::Unary(self.unary_ops[op as usize]);
                    if visit(m, Op::Binary(Binary::Mul), &[a, b]).is_break()
                        || visit(s, Op::Binary(Binary::Add), &[m, c]).is_break()
                    {
                        return;
                    }
                    visit(out, act, &[s])
                }
            };
            if step.is_break() {
                return;
            }
        }
    }

    /// The leaves, by node.
    pub(crate) fn leaves(&self) -> Leaves<'_> {
        Leaves {
            inputs: &self.inputs,
            params: &self.params,
            consts: self
                .consts
                .iter()
                .map(|&(row, value)| (self.rows.node(row), value))
                .collect(),
        }
    }

    /// `[a, b, c]` of a neuron `op(a * b + c)` (rows).
    #[inline(always)]
    fn neuron_operands(&self, start: u32) -> [u32; 3] {
        let k = start as usize;
        [self.args[k], self.args[k + 1], self.args[k + 2]]
    }

    fn name(&self, index: u32) -> NodeName {
        NodeName {
            index,
            label: self.labels.get(&index).map(|l| l.to_string()),
        }
    }

    /// The label of `node`, if it has one.
    pub(crate) fn label(&self, node: NodeId) -> Option<&str> {
        let index = self.check(node).ok()?;
        self.labels.get(&index).map(|l| &**l)
    }

    /// An input as messages name it: its label, or `node N`.
    fn input_name(&self, index: u32) -> String {
        match self.labels.get(&index) {
            Some(label) => label.to_string(),
            None => format!("node {index}"),
        }
    }

    /// `node`'s index if it is an op: the node to differentiate, given as `role` ("the loss").
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::NotAnOp`] for a leaf.
    pub(crate) fn check_op(&self, node: NodeId, role: &'static str) -> Result<u32> {
        let index = self.check(node)?;
        let kind = if self.inputs.contains(&index) {
            "an input"
        } else if self.params.contains(&index) {
            "a parameter"
        } else if self
            .consts
            .iter()
            .any(|&(row, _)| self.rows.node(row) == index)
        {
            "a constant"
        } else {
            return Ok(index);
        };
        Err(Error::NotAnOp {
            role,
            node: self.name(index),
            kind,
        })
    }

    pub(crate) fn check(&self, node: NodeId) -> Result<u32> {
        check_node(self.graph, self.nodes, node).map(|n| n as u32)
    }
}

/// `node`'s index, if it is a node of graph `graph` of `nodes` nodes.
fn check_node(graph: u32, nodes: usize, node: NodeId) -> Result<usize> {
    if node.graph_id() != graph {
        return Err(Error::ForeignNode {
            node: NodeName {
                index: node.index() as u32,
                label: None,
            },
            node_graph: node.graph_id(),
            graph,
        });
    }
    if node.index() >= nodes {
        // graphs only grow: a node of this graph past the tape's end came after compile()
        return Err(Error::NodeAfterCompile {
            index: node.index() as u32,
            nodes,
        });
    }
    Ok(node.index())
}
