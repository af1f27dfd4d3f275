//! The compiled graph: a flat instruction list, evaluated forward and swept backward.
//!
//! This module owns the one traversal of reverse mode: a single loop over the instructions in
//! reverse creation order, multiplying each op's local partials (from [`crate::op`]) by the
//! adjoint of its output and accumulating them with `+=` into its operands' adjoints. No
//! recursion, no sort, no hashing and no allocation per association.
//!
//! Values and adjoints live in a [`Workspace`], separate from the tape and from the graph, laid
//! out row-major with one *lane* per association evaluated at once
//! (`values[row * lanes + lane]`), so that each instruction's inner loop runs over contiguous
//! lanes. Every node has a row but the `mul` and `add` inside a *neuron* `unary(a * b + c)`,
//! each used only by the next node, which compiles to one instruction: a chain of such links
//! (W4) keeps 16 bytes per link in its workspace instead of 48. The chain rule through a neuron
//! is its three ops' local partials, applied in the order the three separate instructions
//! would apply them, so the numbers are the same bits.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::error::{Error, NodeName, Result};
use crate::expr::Expr;
use crate::graph::{Inner, Node, NodeId};
use crate::op::{Binary, Op, Unary, max_partial_index};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// One instruction: an op node (or a neuron's three) with its output row and operand rows. 16
/// bytes: a unary op is an index into [`Tape::unary_ops`], because a `Unary` with its `f64`
/// parameter would make every instruction 24.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Instr {
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
    /// Operands are `args[start..start + len]`.
    Sum {
        out: u32,
        start: u32,
        len: u32,
    },
    /// Operand pairs are `args[start..start + len]`, `len` even.
    Dot {
        out: u32,
        start: u32,
        len: u32,
    },
    /// Operands are `args[start..start + len]`.
    Max {
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

impl Instr {
    pub(crate) fn out(&self) -> u32 {
        match *self {
            Instr::Unary { out, .. }
            | Instr::Binary { out, .. }
            | Instr::Sum { out, .. }
            | Instr::Dot { out, .. }
            | Instr::Max { out, .. }
            | Instr::Neuron { out, .. } => out,
        }
    }
}

/// Where each node's value and adjoint live in a workspace: its row. The `mul` and `add` nodes
/// inside an [`Instr::Neuron`] have none; every other node has one, in node order.
#[derive(Clone, Debug, Default)]
struct Rows {
    /// Bit `n % 64` of word `n / 64` is set if node `n` has a row. Empty once built if every
    /// node has one: then the row is the node.
    kept: Vec<u64>,
    /// The number of rows before each word of `kept`.
    before: Vec<u32>,
    nodes: u32,
    count: u32,
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
    fn row(&self, n: u32) -> Option<u32> {
        if self.kept.is_empty() {
            return Some(n);
        }
        let (word, bit) = (self.kept[n as usize / 64], 1u64 << (n % 64));
        (word & bit != 0).then(|| self.before[n as usize / 64] + (word & (bit - 1)).count_ones())
    }

    /// The node of a row (for error reports).
    fn node(&self, row: u32) -> u32 {
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

    fn heap_bytes(&self) -> usize {
        self.kept.capacity() * 8 + self.before.capacity() * 4
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
    pub(crate) id: u64,
    graph: u32,
    pub(crate) nodes: usize,
    rows: Rows,
    /// Operands and outputs are rows (see [`Rows`]).
    pub(crate) instrs: Vec<Instr>,
    /// The distinct unary ops of the graph, which [`Instr::Unary`] refers to by index.
    pub(crate) unary_ops: Vec<Unary>,
    pub(crate) args: Vec<u32>,
    /// Nodes.
    pub(crate) inputs: Vec<u32>,
    /// Nodes.
    pub(crate) params: Vec<u32>,
    input_rows: Vec<u32>,
    param_rows: Vec<u32>,
    param_init: Vec<f64>,
    /// Rows.
    pub(crate) consts: Vec<(u32, f64)>,
    labels: HashMap<u32, Box<str>>,
}

/// Values and adjoints of one tape, for `lanes` associations evaluated at once.
///
/// Made by [`Tape::workspace`] or [`Tape::workspace_with_lanes`]; it starts with the graph's
/// constants and the parameters' initial values.
#[derive(Clone, Debug)]
pub struct Workspace {
    tape: u64,
    nodes: usize,
    lanes: usize,
    values: Vec<f64>,
    adjoints: Vec<f64>,
    anomaly: bool,
    /// The node the last backward pass started from (`u32::MAX` before the first) and its
    /// seeds, from which a node inside a neuron finds its adjoint.
    output: u32,
    seeds: Vec<f64>,
}

impl Workspace {
    /// The number of associations evaluated per pass.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Turns anomaly mode on or off. When on, [`Tape::forward`] and [`Tape::backward`] stop at
    /// the first node whose value or adjoint is not finite and report it as [`Error::Anomaly`]
    /// (naming the node, its op and its operand values in the first association, or lane, that
    /// went wrong). Off by default; when off it costs nothing but one branch per pass.
    pub fn set_anomaly_mode(&mut self, on: bool) {
        self.anomaly = on;
    }
}

/// The gradient of one output with respect to every node, summed over the lanes of the pass
/// that produced it. A value of its own: it does not refer to the graph, the tape or the
/// workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    graph: u32,
    by_node: Vec<f64>,
}

impl Gradients {
    /// `d output / d node`.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] or [`Error::UnknownNode`] for a node not in the graph.
    pub fn wrt(&self, node: impl Into<NodeId>) -> Result<f64> {
        let node = node.into();
        check_node(self.graph, self.by_node.len(), node)?;
        Ok(self.by_node[node.index()])
    }

    /// The gradient with respect to every node, indexed by node index.
    pub fn as_slice(&self) -> &[f64] {
        &self.by_node
    }
}

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
        return Err(Error::UnknownNode {
            index: node.index() as u32,
            len: nodes,
        });
    }
    Ok(node.index())
}

impl From<Expr<'_>> for NodeId {
    fn from(e: Expr<'_>) -> NodeId {
        e.id()
    }
}

impl Tape {
    /// Compiles `inner`; with `neurons`, each `unary(a * b + c)` whose `mul` and `add` nodes are
    /// made one after the other and used once becomes one [`Instr::Neuron`].
    pub(crate) fn compile(graph: u32, inner: &Inner, neurons: bool) -> Tape {
        let nodes = inner.dag.node_count();
        let kinds = inner.dag.raw_nodes();
        let mut rows = Rows::default();
        let mut instrs = Vec::with_capacity(nodes);
        let mut args = Vec::new();
        let mut param_init = vec![0.0; inner.params.len()];
        let mut consts = Vec::new();
        let mut operands = Vec::new();
        let mut unary_ops = UnaryOps::default();
        // Building adds an op's edges right after the op, in operand order, and never removes
        // one (see `Inner`), so each op's operands are the next run of the edge list: one
        // linear scan instead of a walk of each node's incoming list.
        let edges = inner.dag.raw_edges();
        let mut cursor = 0;
        let row_of = |rows: &Rows, n: u32| {
            rows.row(n)
                .expect("internal error: a node inside a neuron is used by that neuron only")
        };
        let mut index = 0;
        while index < nodes {
            let out = rows.count;
            match kinds[index].weight {
                Node::Input { .. } => {}
                Node::Param { slot } => {
                    param_init[slot as usize] = inner.param_values[slot as usize]
                }
                Node::Const(value) => consts.push((out, value)),
                Node::Op(op) => {
                    if let Some((a, b, c, act)) =
                        neurons.then(|| neuron(inner, cursor, index)).flatten()
                    {
                        let (start, _) = push_args(
                            &mut args,
                            &[row_of(&rows, a), row_of(&rows, b), row_of(&rows, c)],
                        );
                        rows.push(false);
                        rows.push(false);
                        rows.push(true);
                        instrs.push(Instr::Neuron {
                            op: unary_ops.index(act),
                            out,
                            start,
                        });
                        cursor += 5;
                        index += 3;
                        continue;
                    }
                    operands.clear();
                    while cursor < edges.len() && edges[cursor].target().index() == index {
                        operands.push(row_of(&rows, edges[cursor].source().index() as u32));
                        cursor += 1;
                    }
                    instrs.push(match op {
                        Op::Unary(op) => Instr::Unary {
                            op: unary_ops.index(op),
                            out,
                            a: operands[0],
                        },
                        Op::Binary(op) => Instr::Binary {
                            op,
                            out,
                            a: operands[0],
                            b: operands[1],
                        },
                        Op::Sum => {
                            let (start, len) = push_args(&mut args, &operands);
                            Instr::Sum { out, start, len }
                        }
                        Op::Dot => {
                            let (start, len) = push_args(&mut args, &operands);
                            Instr::Dot { out, start, len }
                        }
                        Op::Max => {
                            let (start, len) = push_args(&mut args, &operands);
                            Instr::Max { out, start, len }
                        }
                    });
                }
            }
            rows.push(true);
            index += 1;
        }
        rows.finish();
        instrs.shrink_to_fit();
        let leaf_row = |&n: &u32| row_of(&rows, n);
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            graph,
            nodes,
            instrs,
            unary_ops: unary_ops.ops,
            args,
            input_rows: inner.inputs.iter().map(leaf_row).collect(),
            param_rows: inner.params.iter().map(leaf_row).collect(),
            inputs: inner.inputs.clone(),
            params: inner.params.clone(),
            rows,
            param_init,
            consts,
            labels: inner.labels.clone(),
        }
    }

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
    /// [`Error::Shape`] if `values` is not a whole number of associations.
    pub fn association_count(&self, values: &[f64]) -> Result<usize> {
        let n_in = self.inputs.len();
        let whole = if n_in == 0 {
            values.is_empty()
        } else {
            values.len().is_multiple_of(n_in)
        };
        if !whole {
            return Err(Error::Shape {
                what: "input values (a whole number of associations)".into(),
                expected: n_in,
                got: values.len(),
            });
        }
        Ok(values.len().checked_div(n_in).unwrap_or(1))
    }

    /// The parameters' initial values (from the graph), in slot order.
    pub fn initial_params(&self) -> &[f64] {
        &self.param_init
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

    /// Bytes held by the tape itself (instructions, operand lists, leaf tables), for reports.
    pub fn heap_bytes(&self) -> usize {
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

    fn name(&self, index: u32) -> NodeName {
        NodeName {
            index,
            label: self.labels.get(&index).map(|l| l.to_string()),
        }
    }

    fn check(&self, node: NodeId) -> Result<usize> {
        check_node(self.graph, self.nodes, node)
    }

    fn check_workspace(&self, ws: &Workspace) -> Result<()> {
        if ws.tape != self.id {
            return Err(Error::WorkspaceMismatch {
                workspace_nodes: ws.nodes,
                tape_nodes: self.nodes,
            });
        }
        Ok(())
    }

    /// A workspace for one association per pass.
    pub fn workspace(&self) -> Workspace {
        self.new_workspace(1)
    }

    /// A workspace for `lanes` associations per pass.
    ///
    /// # Errors
    /// [`Error::NoLanes`] if `lanes` is 0.
    ///
    /// # Complexity
    /// Allocates `2 * 8 * rows * lanes` bytes, with a row for every node but the `mul` and `add`
    /// inside each neuron `unary(a * b + c)` (see [`Tape::value`]).
    pub fn workspace_with_lanes(&self, lanes: usize) -> Result<Workspace> {
        if lanes == 0 {
            return Err(Error::NoLanes);
        }
        Ok(self.new_workspace(lanes))
    }

    fn new_workspace(&self, lanes: usize) -> Workspace {
        let mut ws = Workspace {
            tape: self.id,
            nodes: self.nodes,
            lanes,
            values: vec![0.0; self.row_count() * lanes],
            adjoints: vec![0.0; self.row_count() * lanes],
            anomaly: false,
            output: u32::MAX,
            seeds: vec![0.0; lanes],
        };
        for &(row, value) in &self.consts {
            lane_slice_mut(&mut ws.values, row, lanes).fill(value);
        }
        for (&row, &value) in self.param_rows.iter().zip(&self.param_init) {
            lane_slice_mut(&mut ws.values, row, lanes).fill(value);
        }
        ws
    }

    /// Sets every parameter's value (in slot order) for the following passes.
    ///
    /// # Errors
    /// [`Error::ParamCount`] if `params` does not have one value per parameter;
    /// [`Error::WorkspaceMismatch`] for a workspace of another tape.
    pub fn set_params(&self, ws: &mut Workspace, params: &[f64]) -> Result<()> {
        self.check_workspace(ws)?;
        if params.len() != self.params.len() {
            return Err(Error::ParamCount {
                expected: self.params.len(),
                got: params.len(),
            });
        }
        let lanes = ws.lanes;
        for (&row, &value) in self.param_rows.iter().zip(params) {
            lane_slice_mut(&mut ws.values, row, lanes).fill(value);
        }
        Ok(())
    }

    /// The current parameter values of a workspace, in slot order.
    pub fn params(&self, ws: &Workspace) -> Vec<f64> {
        self.param_rows
            .iter()
            .map(|&row| ws.values[row as usize * ws.lanes])
            .collect()
    }

    /// The forward pass: sets the inputs and computes every node's value.
    ///
    /// `inputs` holds `lanes` associations one after the other, each with one value per input
    /// leaf in slot order: `inputs[lane * input_count + slot]`.
    ///
    /// # Errors
    /// [`Error::InputCount`] for the wrong number of values; [`Error::WorkspaceMismatch`];
    /// in anomaly mode, [`Error::Anomaly`] naming the first node whose value is not finite.
    ///
    /// # Complexity
    /// O(lanes * (nodes + edges)), no allocation.
    pub fn forward(&self, ws: &mut Workspace, inputs: &[f64]) -> Result<()> {
        self.check_workspace(ws)?;
        let lanes = ws.lanes;
        let n_inputs = self.inputs.len();
        if inputs.len() != n_inputs * lanes {
            return Err(Error::InputCount {
                expected: n_inputs * lanes,
                inputs: n_inputs,
                lanes,
                got: inputs.len(),
            });
        }
        for (slot, &row) in self.input_rows.iter().enumerate() {
            let dst = lane_slice_mut(&mut ws.values, row, lanes);
            for (lane, v) in dst.iter_mut().enumerate() {
                *v = inputs[lane * n_inputs + slot];
            }
        }
        if lanes == 1 && !ws.anomaly {
            self.forward_single(&mut ws.values);
        } else if ws.anomaly {
            // leaves first: a NaN input or weight is named as itself, not as its first consumer
            let leaves = self
                .input_rows
                .iter()
                .map(|&n| (n, "input"))
                .chain(self.param_rows.iter().map(|&n| (n, "param")));
            for (row, kind) in leaves {
                if let Some(&value) = lane_slice(&ws.values, row, lanes)
                    .iter()
                    .find(|v| !v.is_finite())
                {
                    return Err(Error::Anomaly {
                        pass: "forward",
                        node: self.name(self.rows.node(row)),
                        op: kind.to_string(),
                        value,
                        operands: Vec::new(),
                    });
                }
            }
            for instr in &self.instrs {
                if let Instr::Neuron { out, start, .. } = *instr {
                    self.check_neuron_forward(out, start, &ws.values, lanes)?;
                }
                self.forward_one(instr, &mut ws.values, lanes);
                let out = instr.out();
                let values = lane_slice(&ws.values, out, lanes);
                if let Some(lane) = values.iter().position(|v| !v.is_finite()) {
                    let value = values[lane];
                    return Err(self.anomaly("forward", instr, value, &ws.values, lanes, lane));
                }
            }
        } else {
            for instr in &self.instrs {
                self.forward_one(instr, &mut ws.values, lanes);
            }
        }
        Ok(())
    }

    /// The forward pass of one association: scalar reads and writes by index, no lane loops.
    fn forward_single(&self, values: &mut [f64]) {
        // The last value written stays in a register: in a chain, each instruction's operand is
        // usually the previous one's output, which need not come back through memory.
        let mut last = (u32::MAX, 0.0);
        for instr in &self.instrs {
            match *instr {
                Instr::Unary { op, out, a } => {
                    let y = self.unary_ops[op as usize].value(carried(values, last, a));
                    values[out as usize] = y;
                    last = (out, y);
                }
                Instr::Binary { op, out, a, b } => {
                    let y = op.value(carried(values, last, a), carried(values, last, b));
                    values[out as usize] = y;
                    last = (out, y);
                }
                Instr::Neuron { op, out, start } => {
                    let [a, b, c] = self.neuron_operands(start);
                    let x = Binary::Mul.value(carried(values, last, a), carried(values, last, b));
                    let x = Binary::Add.value(x, carried(values, last, c));
                    let y = self.unary_ops[op as usize].value(x);
                    values[out as usize] = y;
                    last = (out, y);
                }
                Instr::Sum { out, .. } | Instr::Dot { out, .. } | Instr::Max { out, .. } => {
                    self.forward_one(instr, values, 1);
                    last = (out, values[out as usize]);
                }
            }
        }
    }

    /// The reverse sweep of one association (see [`Tape::backward_one`]).
    fn sweep_single(&self, values: &[f64], adjoints: &mut [f64], end: usize) {
        // As in the forward pass, an adjoint just written stays in a register: the next
        // instruction in the sweep is usually the one that made that operand.
        let mut last = (u32::MAX, 0.0);
        for instr in self.instrs[..end].iter().rev() {
            match *instr {
                Instr::Unary { op, out, a } => {
                    let op = self.unary_ops[op as usize];
                    let g = carried(adjoints, last, out);
                    let ga = adjoints[a as usize]
                        + g * op.derivative(values[a as usize], values[out as usize]);
                    adjoints[a as usize] = ga;
                    last = (a, ga);
                }
                Instr::Binary { op, out, a, b } => {
                    let g = carried(adjoints, last, out);
                    let [da, db] =
                        op.partials(values[a as usize], values[b as usize], values[out as usize]);
                    // a and b may be the same node (x * x): two separate accumulations.
                    let ga = adjoints[a as usize] + g * da;
                    adjoints[a as usize] = ga;
                    let gb = adjoints[b as usize] + g * db;
                    adjoints[b as usize] = gb;
                    // the later-made operand is the likelier next in the sweep (a chain's
                    // previous link, not a shared weight)
                    last = if a > b { (a, ga) } else { (b, gb) };
                }
                Instr::Neuron { op, out, start } => {
                    let [a, b, c] = self.neuron_operands(start);
                    let g = carried(adjoints, last, out);
                    let inputs = [a, b, c].map(|row| values[row as usize]);
                    let op = self.unary_ops[op as usize];
                    let n = neuron_adjoints(op, inputs, values[out as usize], g, Entry::Out);
                    adjoints[c as usize] += n.add_to_c;
                    let ga = adjoints[a as usize] + n.add_to_a;
                    adjoints[a as usize] = ga;
                    let gb = adjoints[b as usize] + n.add_to_b;
                    adjoints[b as usize] = gb;
                    last = if a > b { (a, ga) } else { (b, gb) };
                }
                Instr::Sum { .. } | Instr::Dot { .. } | Instr::Max { .. } => {
                    self.backward_one(instr, values, adjoints, 1);
                    last = (u32::MAX, 0.0);
                }
            }
        }
    }

    #[inline(always)]
    fn forward_one(&self, instr: &Instr, values: &mut [f64], lanes: usize) {
        let (below, rest) = values.split_at_mut(instr.out() as usize * lanes);
        let y = &mut rest[..lanes];
        match *instr {
            Instr::Unary { op, a, .. } => {
                let op = self.unary_ops[op as usize];
                let x = lane_slice(below, a, lanes);
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = op.value(x);
                }
            }
            Instr::Binary { op, a, b, .. } => {
                let (a, b) = (lane_slice(below, a, lanes), lane_slice(below, b, lanes));
                for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
                    *y = op.value(a, b);
                }
            }
            Instr::Sum { start, len, .. } => {
                y.fill(0.0);
                for &a in &self.args[start as usize..(start + len) as usize] {
                    for (y, &a) in y.iter_mut().zip(lane_slice(below, a, lanes)) {
                        *y += a;
                    }
                }
            }
            Instr::Dot { start, len, .. } => {
                y.fill(0.0);
                for pair in self.args[start as usize..(start + len) as usize].chunks_exact(2) {
                    let (a, b) = (
                        lane_slice(below, pair[0], lanes),
                        lane_slice(below, pair[1], lanes),
                    );
                    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
                        *y += Binary::Mul.value(a, b);
                    }
                }
            }
            Instr::Neuron { op, start, .. } => {
                let op = self.unary_ops[op as usize];
                let [a, b, c] = self
                    .neuron_operands(start)
                    .map(|r| lane_slice(below, r, lanes));
                for (lane, y) in y.iter_mut().enumerate() {
                    let x = Binary::Mul.value(a[lane], b[lane]);
                    *y = op.value(Binary::Add.value(x, c[lane]));
                }
            }
            Instr::Max { start, len, .. } => {
                y.fill(f64::NEG_INFINITY);
                for &a in &self.args[start as usize..(start + len) as usize] {
                    for (y, &a) in y.iter_mut().zip(lane_slice(below, a, lanes)) {
                        *y = y.max(a);
                    }
                }
            }
        }
    }

    /// The backward pass: the gradient of `output` (summed over lanes: each lane's adjoint is
    /// seeded with 1) with respect to every node, by one reverse sweep. Read the result with
    /// [`Tape::gradient`], [`Tape::adjoints`] or [`Tape::gradients`].
    ///
    /// Run it after [`Tape::forward`]; running it twice gives the same adjoints.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`] for an output not in the graph;
    /// [`Error::WorkspaceMismatch`]; in anomaly mode, [`Error::Anomaly`].
    pub fn backward(&self, ws: &mut Workspace, output: impl Into<NodeId>) -> Result<()> {
        self.check_workspace(ws)?;
        let output = self.check(output.into())? as u32;
        ws.seeds.fill(1.0);
        self.sweep(ws, output)
    }

    /// [`Tape::backward`] with lane `k`'s output adjoint seeded with `seeds[k]` instead of 1:
    /// `1/T` for a mean over associations, 0 for a lane that holds no association.
    ///
    /// # Errors
    /// As [`Tape::backward`]; [`Error::Shape`] if `seeds` does not have one value per lane.
    pub fn backward_lanes(
        &self,
        ws: &mut Workspace,
        output: impl Into<NodeId>,
        seeds: &[f64],
    ) -> Result<()> {
        self.check_workspace(ws)?;
        let output = self.check(output.into())? as u32;
        if seeds.len() != ws.lanes {
            return Err(Error::Shape {
                what: "backward seeds (one per lane)".into(),
                expected: ws.lanes,
                got: seeds.len(),
            });
        }
        ws.seeds.copy_from_slice(seeds);
        self.sweep(ws, output)
    }

    /// The reverse sweep from `output` (a node), seeded with `ws.seeds`.
    fn sweep(&self, ws: &mut Workspace, output: u32) -> Result<()> {
        let lanes = ws.lanes;
        ws.adjoints.fill(0.0);
        ws.output = output;
        // Nodes created after the output cannot influence it: start at its instruction.
        let end = match self.rows.row(output) {
            Some(row) => {
                lane_slice_mut(&mut ws.adjoints, row, lanes).copy_from_slice(&ws.seeds);
                self.instrs.partition_point(|i| i.out() <= row)
            }
            None => {
                // inside a neuron: its instruction from that node on, then the ones before it
                let (k, entry) = self.neuron_of(output);
                let Instr::Neuron { op, out, start } = self.instrs[k] else {
                    unreachable!("internal error: neuron_of gives a neuron")
                };
                let seeds = std::mem::take(&mut ws.seeds);
                let swept = self.neuron_backward(
                    (op, out, start),
                    &ws.values,
                    &mut ws.adjoints,
                    lanes,
                    (entry, &seeds),
                    ws.anomaly,
                );
                ws.seeds = seeds;
                swept?;
                k
            }
        };
        if lanes == 1 && !ws.anomaly {
            self.sweep_single(&ws.values, &mut ws.adjoints, end);
            return Ok(());
        }
        for instr in self.instrs[..end].iter().rev() {
            if let (Instr::Neuron { op, out, start }, true) = (*instr, ws.anomaly) {
                // the operands' rows are below the output's, whose adjoints are `g`
                let (below, rest) = ws.adjoints.split_at_mut(out as usize * lanes);
                let g = (Entry::Out, &rest[..lanes]);
                self.neuron_backward((op, out, start), &ws.values, below, lanes, g, true)?;
                continue;
            }
            self.backward_one(instr, &ws.values, &mut ws.adjoints, lanes);
            if ws.anomaly {
                // the first instruction whose contribution makes an operand's adjoint non-finite
                for a in self.op_and_operands(instr).1 {
                    let adjoint = lane_slice(&ws.adjoints, a, lanes);
                    if let Some(lane) = adjoint.iter().position(|v| !v.is_finite()) {
                        let value = adjoint[lane];
                        return Err(self.anomaly("backward", instr, value, &ws.values, lanes, lane));
                    }
                }
            }
        }
        Ok(())
    }

    /// `[a, b, c]` of a neuron `op(a * b + c)` (rows).
    #[inline(always)]
    fn neuron_operands(&self, start: u32) -> [u32; 3] {
        let k = start as usize;
        [self.args[k], self.args[k + 1], self.args[k + 2]]
    }

    /// The neuron instruction holding `node`, a node without a row, and which of its two nodes
    /// `node` is.
    fn neuron_of(&self, node: u32) -> (usize, Entry) {
        // the `mul` is followed by the `add`, which has no row either; the `add` by the output
        let (out, entry) = match self.rows.row(node + 1) {
            None => (node + 2, Entry::Mul),
            Some(_) => (node + 1, Entry::Add),
        };
        let row = self
            .rows
            .row(out)
            .expect("internal error: a neuron's output has a row");
        (self.instrs.partition_point(|i| i.out() < row), entry)
    }

    /// The chain rule through one neuron `op(a * b + c)` in every lane, from `entry` with
    /// `g[lane]` its adjoint, adding the contributions to `c`, `a` and `b`. With `check`, stops
    /// at the first of its three ops whose contribution is not finite, as the three separate
    /// instructions would in anomaly mode.
    fn neuron_backward(
        &self,
        (op, out, start): (u32, u32, u32),
        values: &[f64],
        adjoints: &mut [f64],
        lanes: usize,
        (entry, g): (Entry, &[f64]),
        check: bool,
    ) -> Result<()> {
        let act = self.unary_ops[op as usize];
        let [a, b, c] = self.neuron_operands(start);
        let at = |row: u32, lane: usize| values[row as usize * lanes + lane];
        let inputs = |lane: usize| [at(a, lane), at(b, lane), at(c, lane)];
        let each = |lane: usize| neuron_adjoints(act, inputs(lane), at(out, lane), g[lane], entry);
        let node = self.rows.node(out);
        let (mul_node, add_node) = (node - 2, node - 1);
        let report = |node: u32, op: Op, value: f64, lane: usize| {
            let [va, vb, vc] = inputs(lane);
            let x = Binary::Mul.value(va, vb);
            let operands = match op {
                Op::Binary(Binary::Mul) => vec![va, vb],
                Op::Binary(_) => vec![x, vc],
                _ => vec![Binary::Add.value(x, vc)],
            };
            Error::Anomaly {
                pass: "backward",
                node: self.name(node),
                op: op.to_string(),
                value,
                operands,
            }
        };
        // the first lane whose number is not finite, and that number
        let first_bad = |of_lanes: &[f64]| {
            let lane = of_lanes.iter().position(|v| !v.is_finite())?;
            Some((of_lanes[lane], lane))
        };
        if check && entry == Entry::Out {
            let adds: Vec<f64> = (0..lanes).map(|lane| each(lane).add).collect();
            if let Some((value, lane)) = first_bad(&adds) {
                return Err(report(node, Op::Unary(act), value, lane));
            }
        }
        if entry != Entry::Mul {
            for lane in 0..lanes {
                adjoints[c as usize * lanes + lane] += each(lane).add_to_c;
            }
            if check {
                let muls: Vec<f64> = (0..lanes).map(|lane| each(lane).mul).collect();
                let bad = first_bad(&muls).or_else(|| first_bad(lane_slice(adjoints, c, lanes)));
                if let Some((value, lane)) = bad {
                    return Err(report(add_node, Op::Binary(Binary::Add), value, lane));
                }
            }
        }
        for lane in 0..lanes {
            let n = each(lane);
            adjoints[a as usize * lanes + lane] += n.add_to_a;
            adjoints[b as usize * lanes + lane] += n.add_to_b;
        }
        if check
            && let Some((value, lane)) = first_bad(lane_slice(adjoints, a, lanes))
                .or_else(|| first_bad(lane_slice(adjoints, b, lanes)))
        {
            return Err(report(mul_node, Op::Binary(Binary::Mul), value, lane));
        }
        Ok(())
    }

    /// In anomaly mode, the neuron's `mul` and `add` values, which have no rows, checked as the
    /// separate instructions would be.
    fn check_neuron_forward(
        &self,
        out: u32,
        start: u32,
        values: &[f64],
        lanes: usize,
    ) -> Result<()> {
        let [a, b, c] = self.neuron_operands(start);
        let at = |row: u32, lane: usize| values[row as usize * lanes + lane];
        let node = self.rows.node(out);
        let mul = |lane| Binary::Mul.value(at(a, lane), at(b, lane));
        let add = |lane| Binary::Add.value(mul(lane), at(c, lane));
        let report = |node: u32, op: Binary, value: f64, operands: Vec<f64>| Error::Anomaly {
            pass: "forward",
            node: self.name(node),
            op: Op::Binary(op).to_string(),
            value,
            operands,
        };
        if let Some(lane) = (0..lanes).find(|&l| !mul(l).is_finite()) {
            return Err(report(
                node - 2,
                Binary::Mul,
                mul(lane),
                vec![at(a, lane), at(b, lane)],
            ));
        }
        if let Some(lane) = (0..lanes).find(|&l| !add(l).is_finite()) {
            return Err(report(
                node - 1,
                Binary::Add,
                add(lane),
                vec![mul(lane), at(c, lane)],
            ));
        }
        Ok(())
    }

    /// The chain rule for one instruction: operand adjoint += output adjoint * local partial.
    #[inline(always)]
    fn backward_one(&self, instr: &Instr, values: &[f64], adjoints: &mut [f64], lanes: usize) {
        let out = instr.out();
        let (below, rest) = adjoints.split_at_mut(out as usize * lanes);
        let g = &rest[..lanes];
        let y = lane_slice(values, out, lanes);
        match *instr {
            Instr::Unary { op, a, .. } => {
                let op = self.unary_ops[op as usize];
                let x = lane_slice(values, a, lanes);
                let ga = lane_slice_mut(below, a, lanes);
                for (((ga, &g), &x), &y) in ga.iter_mut().zip(g).zip(x).zip(y) {
                    *ga += g * op.derivative(x, y);
                }
            }
            Instr::Binary { op, a, b, .. } => {
                let (xa, xb) = (lane_slice(values, a, lanes), lane_slice(values, b, lanes));
                for lane in 0..lanes {
                    let [da, db] = op.partials(xa[lane], xb[lane], y[lane]);
                    // a and b may be the same node (x * x): two separate accumulations.
                    below[a as usize * lanes + lane] += g[lane] * da;
                    below[b as usize * lanes + lane] += g[lane] * db;
                }
            }
            Instr::Sum { start, len, .. } => {
                for &a in &self.args[start as usize..(start + len) as usize] {
                    for (ga, &g) in lane_slice_mut(below, a, lanes).iter_mut().zip(g) {
                        *ga += g; // d sum / d a_i = 1
                    }
                }
            }
            Instr::Dot { start, len, .. } => {
                for pair in self.args[start as usize..(start + len) as usize].chunks_exact(2) {
                    let (a, b) = (pair[0], pair[1]);
                    for lane in 0..lanes {
                        let (xa, xb) = (
                            values[a as usize * lanes + lane],
                            values[b as usize * lanes + lane],
                        );
                        let [da, db] = Binary::Mul.partials(xa, xb, xa * xb);
                        below[a as usize * lanes + lane] += g[lane] * da;
                        below[b as usize * lanes + lane] += g[lane] * db;
                    }
                }
            }
            Instr::Neuron { op, start, .. } => {
                let act = self.unary_ops[op as usize];
                let [a, b, c] = self.neuron_operands(start);
                for lane in 0..lanes {
                    let at = |row: u32| values[row as usize * lanes + lane];
                    let n =
                        neuron_adjoints(act, [at(a), at(b), at(c)], y[lane], g[lane], Entry::Out);
                    below[c as usize * lanes + lane] += n.add_to_c;
                    below[a as usize * lanes + lane] += n.add_to_a;
                    below[b as usize * lanes + lane] += n.add_to_b;
                }
            }
            Instr::Max { start, len, .. } => {
                let operands = &self.args[start as usize..(start + len) as usize];
                for lane in 0..lanes {
                    let of_lane = operands.iter().map(|&a| values[a as usize * lanes + lane]);
                    if let Some(k) = max_partial_index(of_lane, y[lane]) {
                        below[operands[k] as usize * lanes + lane] += g[lane]; // partial 1
                    }
                }
            }
        }
    }

    /// The anomaly report of `instr` in lane `lane`: the operand values are that lane's, the
    /// association whose value or adjoint is not finite.
    fn anomaly(
        &self,
        pass: &'static str,
        instr: &Instr,
        value: f64,
        values: &[f64],
        lanes: usize,
        lane: usize,
    ) -> Error {
        let (op, operands) = self.op_and_operands(instr);
        let mut operands: Vec<f64> = operands
            .iter()
            .map(|&a| values[a as usize * lanes + lane])
            .collect();
        if let [va, vb, vc] = operands[..]
            && matches!(instr, Instr::Neuron { .. })
        {
            // the unary op's operand is the `add` node
            operands = vec![Binary::Add.value(Binary::Mul.value(va, vb), vc)];
        }
        Error::Anomaly {
            pass,
            node: self.name(self.rows.node(instr.out())),
            op: op.to_string(),
            value,
            operands,
        }
    }

    /// The op of an instruction and its operand rows (allocates: for error reports only); for
    /// a neuron, its unary op and `[a, b, c]`.
    fn op_and_operands(&self, instr: &Instr) -> (Op, Vec<u32>) {
        match *instr {
            Instr::Neuron { op, start, .. } => (
                Op::Unary(self.unary_ops[op as usize]),
                self.neuron_operands(start).to_vec(),
            ),
            Instr::Unary { op, a, .. } => (Op::Unary(self.unary_ops[op as usize]), vec![a]),
            Instr::Binary { op, a, b, .. } => (Op::Binary(op), vec![a, b]),
            Instr::Sum { start, len, .. } => (
                Op::Sum,
                self.args[start as usize..(start + len) as usize].to_vec(),
            ),
            Instr::Dot { start, len, .. } => (
                Op::Dot,
                self.args[start as usize..(start + len) as usize].to_vec(),
            ),
            Instr::Max { start, len, .. } => (
                Op::Max,
                self.args[start as usize..(start + len) as usize].to_vec(),
            ),
        }
    }

    /// The value of `node` in the first lane of the last forward pass.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::WorkspaceMismatch`].
    pub fn value(&self, ws: &Workspace, node: impl Into<NodeId>) -> Result<f64> {
        Ok(self.values(ws, node)?[0])
    }

    /// The values of `node` in every lane of the last forward pass.
    ///
    /// The `mul` and `add` nodes inside a neuron `unary(a * b + c)` (compiled as one
    /// instruction when each is used once, by the next node) have no room in the workspace:
    /// their values are computed again from `a`, `b` and `c`, with the same operations, so
    /// with the same bits unless a parameter among them was set since the forward pass.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::WorkspaceMismatch`].
    pub fn values<'w>(&self, ws: &'w Workspace, node: impl Into<NodeId>) -> Result<Cow<'w, [f64]>> {
        self.check_workspace(ws)?;
        let node = self.check(node.into())? as u32;
        Ok(self.lanes_of(ws, &ws.values, node, Tape::inner_value))
    }

    /// The adjoints `d output / d node` of `node` in every lane of the last backward pass
    /// (for a node inside a neuron, computed again as in [`Tape::values`]).
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::WorkspaceMismatch`].
    pub fn adjoints<'w>(
        &self,
        ws: &'w Workspace,
        node: impl Into<NodeId>,
    ) -> Result<Cow<'w, [f64]>> {
        self.check_workspace(ws)?;
        let node = self.check(node.into())? as u32;
        Ok(self.lanes_of(ws, &ws.adjoints, node, Tape::inner_adjoint))
    }

    /// `node`'s lanes of `buf` (the workspace's values or adjoints), or, for a node inside a
    /// neuron, computed again by `inner`.
    fn lanes_of<'w>(
        &self,
        ws: &Workspace,
        buf: &'w [f64],
        node: u32,
        inner: fn(&Tape, &Workspace, u32, usize) -> f64,
    ) -> Cow<'w, [f64]> {
        match self.rows.row(node) {
            Some(row) => Cow::Borrowed(lane_slice(buf, row, ws.lanes)),
            None => Cow::Owned(
                (0..ws.lanes)
                    .map(|lane| inner(self, ws, node, lane))
                    .collect(),
            ),
        }
    }

    /// The neuron of `node` (a node without a row): its unary op, its output row, its
    /// operands' values in `lane`, and which of its nodes `node` is.
    fn inner_node(&self, ws: &Workspace, node: u32, lane: usize) -> (Unary, u32, [f64; 3], Entry) {
        let (k, entry) = self.neuron_of(node);
        let Instr::Neuron { op, out, start } = self.instrs[k] else {
            unreachable!("internal error: neuron_of gives a neuron")
        };
        let inputs = self
            .neuron_operands(start)
            .map(|row| ws.values[row as usize * ws.lanes + lane]);
        (self.unary_ops[op as usize], out, inputs, entry)
    }

    /// The value of a `mul` or `add` node inside a neuron, in `lane`.
    fn inner_value(&self, ws: &Workspace, node: u32, lane: usize) -> f64 {
        let (_, _, [va, vb, vc], entry) = self.inner_node(ws, node, lane);
        let x = Binary::Mul.value(va, vb);
        if entry == Entry::Mul {
            x
        } else {
            Binary::Add.value(x, vc)
        }
    }

    /// The adjoint of a `mul` or `add` node inside a neuron, in `lane`, from where the last
    /// backward pass entered that neuron (0 if it did not).
    fn inner_adjoint(&self, ws: &Workspace, node: u32, lane: usize) -> f64 {
        let (op, out, inputs, entry) = self.inner_node(ws, node, lane);
        let mul_node = self.rows.node(out) - 2;
        let (from, g) = match ws.output {
            o if o == u32::MAX || o < mul_node => return 0.0,
            o if o == mul_node => (Entry::Mul, ws.seeds[lane]),
            o if o == mul_node + 1 => (Entry::Add, ws.seeds[lane]),
            _ => (Entry::Out, ws.adjoints[out as usize * ws.lanes + lane]),
        };
        let y = ws.values[out as usize * ws.lanes + lane];
        let n = neuron_adjoints(op, inputs, y, g, from);
        if entry == Entry::Mul { n.mul } else { n.add }
    }

    /// `d output / d node` of the last backward pass, summed over lanes.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::WorkspaceMismatch`].
    pub fn gradient(&self, ws: &Workspace, node: impl Into<NodeId>) -> Result<f64> {
        Ok(self.adjoints(ws, node)?.iter().sum())
    }

    /// Adds the last backward pass's gradient with respect to each parameter (summed over lanes)
    /// to `acc[slot]`: the explicit accumulation over associations.
    ///
    /// # Errors
    /// [`Error::ParamCount`] if `acc` does not have one entry per parameter;
    /// [`Error::WorkspaceMismatch`].
    pub fn accumulate_param_gradients(&self, ws: &Workspace, acc: &mut [f64]) -> Result<()> {
        self.check_workspace(ws)?;
        if acc.len() != self.params.len() {
            return Err(Error::ParamCount {
                expected: self.params.len(),
                got: acc.len(),
            });
        }
        for (acc, &row) in acc.iter_mut().zip(&self.param_rows) {
            *acc += lane_slice(&ws.adjoints, row, ws.lanes).iter().sum::<f64>();
        }
        Ok(())
    }

    /// The last backward pass's gradient with respect to every node (summed over lanes), as a
    /// value of its own.
    ///
    /// # Errors
    /// [`Error::WorkspaceMismatch`].
    pub fn gradients_of(&self, ws: &Workspace) -> Result<Gradients> {
        self.check_workspace(ws)?;
        let by_node = (0..self.nodes as u32)
            .map(|node| {
                let adjoints = self.lanes_of(ws, &ws.adjoints, node, Tape::inner_adjoint);
                adjoints.iter().sum()
            })
            .collect();
        Ok(Gradients {
            graph: self.graph,
            by_node,
        })
    }

    /// One association, start to end: a fresh workspace with the graph's parameter values, a
    /// forward pass on `inputs`, a backward pass from `output`, the gradients.
    ///
    /// # Errors
    /// As [`Tape::forward`] and [`Tape::backward`].
    pub fn gradients(&self, inputs: &[f64], output: impl Into<NodeId>) -> Result<Gradients> {
        let mut ws = self.workspace();
        self.forward(&mut ws, inputs)?;
        self.backward(&mut ws, output)?;
        self.gradients_of(&ws)
    }

    /// One association's forward pass with the graph's parameter values: the value of `output`.
    ///
    /// # Errors
    /// As [`Tape::forward`].
    pub fn evaluate(&self, inputs: &[f64], output: impl Into<NodeId>) -> Result<f64> {
        let mut ws = self.workspace();
        self.forward(&mut ws, inputs)?;
        self.value(&ws, output)
    }
}

/// `buf[node]`, or the value in hand if it is the last one written there: `last` is
/// `(node, value)` of the latest write (`u32::MAX` for none).
#[inline(always)]
fn carried(buf: &[f64], last: (u32, f64), node: u32) -> f64 {
    if node == last.0 {
        last.1
    } else {
        buf[node as usize]
    }
}

/// Where the reverse sweep enters a neuron `y = op(a * b + c)`: at its output (from `dE/dy`), or
/// at its `add` or `mul` node when that node is the output of the backward pass (from its seed).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    Out,
    Add,
    Mul,
}

/// The adjoints inside a neuron and its contributions to its operands.
struct NeuronAdjoints {
    /// Of the `add` node (0 when entered at the `mul`).
    add: f64,
    /// Of the `mul` node.
    mul: f64,
    add_to_a: f64,
    add_to_b: f64,
    /// 0 when entered at the `mul`, where the `add` is not swept (callers skip it).
    add_to_c: f64,
}

/// The chain rule through a neuron `y = op(a * b + c)` from `entry` with adjoint `g`: each
/// adjoint formed exactly as the sweep over its three separate ops would form it (an adjoint
/// accumulated onto 0, or seeded), so that the bits are the same.
#[inline(always)]
fn neuron_adjoints(
    op: Unary,
    [va, vb, vc]: [f64; 3],
    y: f64,
    g: f64,
    entry: Entry,
) -> NeuronAdjoints {
    let x = Binary::Mul.value(va, vb);
    let s = Binary::Add.value(x, vc);
    let add = match entry {
        Entry::Out => 0.0 + g * op.derivative(s, y),
        Entry::Add => g,
        Entry::Mul => 0.0,
    };
    let [to_mul, to_c] = Binary::Add.partials(x, vc, s);
    let mul = match entry {
        Entry::Mul => g,
        _ => 0.0 + add * to_mul,
    };
    let [to_a, to_b] = Binary::Mul.partials(va, vb, x);
    NeuronAdjoints {
        add,
        mul,
        add_to_a: mul * to_a,
        add_to_b: mul * to_b,
        add_to_c: add * to_c,
    }
}

/// The distinct unary ops of a tape, by index.
#[derive(Default)]
struct UnaryOps {
    ops: Vec<Unary>,
    index: HashMap<(&'static str, Option<u64>), u32>,
    /// The last op looked up: runs of the same op (a layer's activations, a chain) skip the
    /// hash map.
    last: Option<((&'static str, Option<u64>), u32)>,
}

impl UnaryOps {
    /// The index of `op` (named by its name and its parameter's bits), added if new.
    fn index(&mut self, op: Unary) -> u32 {
        let key = (
            op.name(),
            Op::Unary(op).parameter().map(|(_, v)| v.to_bits()),
        );
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

/// The neuron `unary(a * b + c)` whose `mul` is op node `m`, whose edges start at `cursor`:
/// `(a, b, c, unary)` if node `m + 1` is `m + c`, node `m + 2` is a unary op of `m + 1`, and
/// `m` and `m + 1` are used once each.
fn neuron(inner: &Inner, cursor: usize, m: usize) -> Option<(u32, u32, u32, Unary)> {
    let kind = |n: usize| inner.dag.raw_nodes().get(n).map(|node| node.weight);
    let (
        Some(Node::Op(Op::Binary(Binary::Mul))),
        Some(Node::Op(Op::Binary(Binary::Add))),
        Some(Node::Op(Op::Unary(act))),
    ) = (kind(m), kind(m + 1), kind(m + 2))
    else {
        return None;
    };
    // the mul's two operands, the add's two, the unary's one
    let e = inner.dag.raw_edges().get(cursor..cursor + 5)?;
    let source = |k: usize| e[k].source().index();
    let used_once = |n: usize| {
        inner
            .dag
            .neighbors_directed(NodeIndex::new(n), Direction::Outgoing)
            .take(2)
            .count()
            == 1
    };
    let fits = source(2) == m && source(3) != m && source(4) == m + 1;
    (fits && used_once(m) && used_once(m + 1))
        .then(|| (source(0) as u32, source(1) as u32, source(3) as u32, act))
}

/// Appends an n-ary instruction's operands; returns their (start, len) in `args`.
fn push_args(args: &mut Vec<u32>, operands: &[u32]) -> (u32, u32) {
    let start = args.len() as u32;
    args.extend_from_slice(operands);
    (start, operands.len() as u32)
}

#[inline(always)]
fn lane_slice(buf: &[f64], node: u32, lanes: usize) -> &[f64] {
    let start = node as usize * lanes;
    &buf[start..start + lanes]
}

#[inline(always)]
fn lane_slice_mut(buf: &mut [f64], node: u32, lanes: usize) -> &mut [f64] {
    let start = node as usize * lanes;
    &mut buf[start..start + lanes]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Graph;

    /// A graph of neurons `act(x * w + b)` and plain ops on earlier nodes: `(kind, i, j, k,
    /// act)` picks its operands among the nodes made so far. Some neurons have their `mul` or
    /// `add` used again later, which must keep them out of a neuron instruction.
    fn build(g: &Graph, steps: &[(u8, u16, u16, u16, u8)]) -> Vec<NodeId> {
        let mut nodes = vec![g.input("x").id(), g.input("y").id()];
        for k in 0..3 {
            nodes.push(g.param(&format!("w{k}"), 0.3 * k as f64 - 0.4).id());
        }
        let acts = [Unary::Sigmoid, Unary::Tanh, Unary::Relu, Unary::Identity];
        for &(kind, i, j, k, act) in steps {
            let pick = |n: u16| nodes[n as usize % nodes.len()];
            let (a, b, c) = (pick(i), pick(j), pick(k));
            let act = Op::Unary(acts[act as usize % acts.len()]);
            let mul = Op::Binary(Binary::Mul);
            let add = Op::Binary(Binary::Add);
            match kind % 5 {
                0 | 1 => {
                    let m = g.try_op(mul, &[a, b]).unwrap();
                    let s = g.try_op(add, &[m, c]).unwrap();
                    nodes.push(g.try_op(act, &[s]).unwrap());
                    if kind % 5 == 1 {
                        // the mul or the add used once more: no neuron instruction
                        let again = if k % 2 == 0 { m } else { s };
                        nodes.push(g.try_op(Op::Binary(Binary::Sub), &[again, a]).unwrap());
                    }
                }
                2 => nodes.push(g.try_op(Op::Binary(Binary::Mul), &[a, b]).unwrap()),
                3 => nodes.push(g.try_op(add, &[a, c]).unwrap()),
                _ => nodes.push(g.try_op(act, &[a]).unwrap()),
            }
        }
        nodes
    }

    /// Every node's values and adjoints (bits) and the gradient, or the error, after a forward
    /// and a backward pass from `output`.
    fn run(tape: &Tape, lanes: usize, anomaly: bool, output: NodeId) -> String {
        let mut ws = tape.workspace_with_lanes(lanes).unwrap();
        ws.set_anomaly_mode(anomaly);
        let inputs: Vec<f64> = (0..tape.input_count() * lanes)
            .map(|k| 0.7 - 0.45 * k as f64)
            .collect();
        let passes = tape
            .forward(&mut ws, &inputs)
            .and_then(|()| tape.backward(&mut ws, output));
        if let Err(e) = passes {
            return format!("{e:?}");
        }
        let mut all = String::new();
        for node in 0..tape.len() as u32 {
            let node = NodeId::new(tape.graph, node);
            let bits = |v: Cow<'_, [f64]>| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let values = bits(tape.values(&ws, node).unwrap());
            let adjoints = bits(tape.adjoints(&ws, node).unwrap());
            all += &format!("{values:?} {adjoints:?}\n");
        }
        format!("{all}{:?}", tape.gradients_of(&ws).unwrap())
    }

    proptest! {
        /// With neuron instructions or without, every node's value and adjoint has the same
        /// bits, from any output (inside a neuron too), with 1 or 3 lanes, with anomaly mode
        /// on or off; and the workspace has no rows for the fused nodes.
        #[test]
        fn neurons_give_the_bits_of_separate_ops(
            steps in proptest::collection::vec((0u8..5, 0u16..400, 0u16..400, 0u16..400, 0u8..4), 1..30),
            at in 0.0..1.0f64,
        ) {
            let g = Graph::new();
            let nodes = build(&g, &steps);
            let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
            prop_assert_eq!(plain.row_count(), g.len());
            let last = *nodes.last().unwrap();
            let anywhere = NodeId::new(g.id(), ((g.len() - 1) as f64 * at) as u32);
            for output in [last, anywhere] {
                for (lanes, anomaly) in [(1, false), (1, true), (3, false), (3, true)] {
                    prop_assert_eq!(
                        run(&fused, lanes, anomaly, output),
                        run(&plain, lanes, anomaly, output),
                        "output {}, {} lanes, anomaly {}", output.index(), lanes, anomaly
                    );
                }
            }
        }
    }

    #[test]
    fn a_chain_of_neurons_has_one_row_per_link() {
        let g = Graph::new();
        let (x0, w, b) = (g.input("x0"), g.param("w", 3.9), g.param("b", -1.95));
        let mut x = x0;
        for _ in 0..100 {
            x = (x * w + b).sigmoid();
        }
        let tape = g.compile().unwrap();
        assert_eq!(tape.row_count(), 3 + 100);
        assert_eq!(tape.instrs.len(), 100);
        assert_eq!(g.compile_unfused().unwrap().row_count(), 3 + 300);
        let _ = x;
    }

    #[test]
    fn an_overflow_inside_a_neuron_is_reported_at_its_own_node() {
        let g = Graph::new();
        let (x, w, b) = (g.input("x"), g.param("w", 1e300), g.param("b", 1.0));
        let m = x * w;
        let y = (m + b).tanh();
        let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
        assert!(fused.row_count() < plain.row_count());
        for tape in [&fused, &plain] {
            let mut ws = tape.workspace();
            ws.set_anomaly_mode(true);
            match tape.forward(&mut ws, &[1e10]) {
                Err(Error::Anomaly { node, op, .. }) => {
                    assert_eq!((node.index, op.as_str()), (m.id().index() as u32, "mul"))
                }
                other => panic!("expected an anomaly at the mul, got {other:?}"),
            }
        }
        let _ = y;
    }

    #[test]
    fn an_infinite_adjoint_inside_a_neuron_is_reported_as_separate_ops_report_it() {
        // d sqrt(s) / ds is infinite at s = x * w + b = 0: the sweep stops at the power node
        let g = Graph::new();
        let (x, w, b) = (g.input("x"), g.param("w", 2.0), g.param("b", -1.4));
        let s = g
            .try_op(Op::Binary(Binary::Mul), &[x.id(), w.id()])
            .unwrap();
        let s = g.try_op(Op::Binary(Binary::Add), &[s, b.id()]).unwrap();
        let sqrt = Op::Unary(Unary::Powf { exponent: 0.5 });
        let y = g.try_op(sqrt, &[s]).unwrap();
        let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
        assert!(fused.row_count() < plain.row_count());
        let mut ws = fused.workspace();
        ws.set_anomaly_mode(true);
        fused.forward(&mut ws, &[0.7]).unwrap();
        match fused.backward(&mut ws, y) {
            Err(Error::Anomaly {
                pass: "backward",
                node,
                ..
            }) => assert_eq!(node.index, y.index() as u32),
            other => panic!("expected an anomaly at the power node, got {other:?}"),
        }
        // the error is the separate ops' error, whatever the lanes (lane 0 has x = 0.7)
        for lanes in [1, 3] {
            let report = run(&fused, lanes, true, y);
            assert!(report.starts_with("Anomaly"), "{report}");
            assert_eq!(report, run(&plain, lanes, true, y));
        }
    }
}
