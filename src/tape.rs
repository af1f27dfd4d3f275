//! The compiled graph: a flat instruction list, evaluated forward and swept backward.
//!
//! This module owns the one traversal of reverse mode: a single loop over the instructions in
//! reverse creation order, multiplying each op's local partials (from [`crate::op`]) by the
//! adjoint of its output and accumulating them with `+=` into its operands' adjoints. No
//! recursion, no sort, no hashing and no allocation per association.
//!
//! Values and adjoints live in a [`Workspace`], separate from the tape and from the graph, laid
//! out node-major with one *lane* per association evaluated at once
//! (`values[node * lanes + lane]`), so that each instruction's inner loop runs over contiguous
//! lanes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, NodeName, Result};
use crate::expr::Expr;
use crate::graph::{Inner, Node, NodeId};
use crate::op::{Binary, Op, Unary, max_partial_index};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// One instruction: an op node with its output slot and operand slots (node indices). 16
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
}

impl Instr {
    pub(crate) fn out(&self) -> u32 {
        match *self {
            Instr::Unary { out, .. }
            | Instr::Binary { out, .. }
            | Instr::Sum { out, .. }
            | Instr::Dot { out, .. }
            | Instr::Max { out, .. } => out,
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
    pub(crate) id: u64,
    graph: u32,
    pub(crate) nodes: usize,
    pub(crate) instrs: Vec<Instr>,
    /// The distinct unary ops of the graph, which [`Instr::Unary`] refers to by index.
    pub(crate) unary_ops: Vec<Unary>,
    pub(crate) args: Vec<u32>,
    pub(crate) inputs: Vec<u32>,
    pub(crate) params: Vec<u32>,
    param_init: Vec<f64>,
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
    pub(crate) fn compile(graph: u32, inner: &Inner) -> Tape {
        let nodes = inner.dag.node_count();
        let mut instrs = Vec::with_capacity(nodes);
        let mut args = Vec::new();
        let mut param_init = vec![0.0; inner.params.len()];
        let mut consts = Vec::new();
        let mut operands = Vec::new();
        let mut unary_ops = Vec::new();
        let mut unary_index = HashMap::new();
        let mut last_unary = None;
        // Building adds an op's edges right after the op, in operand order, and never removes
        // one (see `Inner`), so each op's operands are the next run of the edge list: one
        // linear scan instead of a walk of each node's incoming list.
        let edges = inner.dag.raw_edges();
        let mut cursor = 0;
        for (index, kind) in inner.dag.node_weights().enumerate() {
            let out = index as u32;
            match *kind {
                Node::Input { .. } => {}
                Node::Param { slot } => {
                    param_init[slot as usize] = inner.param_values[slot as usize]
                }
                Node::Const(value) => consts.push((out, value)),
                Node::Op(op) => {
                    operands.clear();
                    while cursor < edges.len() && edges[cursor].target().index() == index {
                        operands.push(edges[cursor].source().index() as u32);
                        cursor += 1;
                    }
                    instrs.push(match op {
                        Op::Unary(op) => {
                            // an op is named by its name and its parameter's bits; runs of the
                            // same op (a layer's activations, a chain) skip the hash map
                            let bits = Op::Unary(op).parameter().map(|(_, v)| v.to_bits());
                            let key = (op.name(), bits);
                            let index = match last_unary {
                                Some((last, index)) if last == key => index,
                                _ => {
                                    let index = *unary_index.entry(key).or_insert_with(|| {
                                        unary_ops.push(op);
                                        unary_ops.len() as u32 - 1
                                    });
                                    last_unary = Some((key, index));
                                    index
                                }
                            };
                            Instr::Unary {
                                op: index,
                                out,
                                a: operands[0],
                            }
                        }
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
        }
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            graph,
            nodes,
            instrs,
            unary_ops,
            args,
            inputs: inner.inputs.clone(),
            params: inner.params.clone(),
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
            + (self.inputs.capacity() + self.params.capacity()) * 4
            + self.param_init.capacity() * 8
            + self.consts.capacity() * std::mem::size_of::<(u32, f64)>()
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
    /// Allocates `2 * 8 * nodes * lanes` bytes.
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
            values: vec![0.0; self.nodes * lanes],
            adjoints: vec![0.0; self.nodes * lanes],
            anomaly: false,
        };
        for &(node, value) in &self.consts {
            lane_slice_mut(&mut ws.values, node, lanes).fill(value);
        }
        for (&node, &value) in self.params.iter().zip(&self.param_init) {
            lane_slice_mut(&mut ws.values, node, lanes).fill(value);
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
        for (&node, &value) in self.params.iter().zip(params) {
            lane_slice_mut(&mut ws.values, node, lanes).fill(value);
        }
        Ok(())
    }

    /// The current parameter values of a workspace, in slot order.
    pub fn params(&self, ws: &Workspace) -> Vec<f64> {
        self.params
            .iter()
            .map(|&node| ws.values[node as usize * ws.lanes])
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
        for (slot, &node) in self.inputs.iter().enumerate() {
            let dst = lane_slice_mut(&mut ws.values, node, lanes);
            for (lane, v) in dst.iter_mut().enumerate() {
                *v = inputs[lane * n_inputs + slot];
            }
        }
        if lanes == 1 && !ws.anomaly {
            self.forward_single(&mut ws.values);
        } else if ws.anomaly {
            // leaves first: a NaN input or weight is named as itself, not as its first consumer
            let leaves = self
                .inputs
                .iter()
                .map(|&n| (n, "input"))
                .chain(self.params.iter().map(|&n| (n, "param")));
            for (node, kind) in leaves {
                if let Some(&value) = lane_slice(&ws.values, node, lanes)
                    .iter()
                    .find(|v| !v.is_finite())
                {
                    return Err(Error::Anomaly {
                        pass: "forward",
                        node: self.name(node),
                        op: kind.to_string(),
                        value,
                        operands: Vec::new(),
                    });
                }
            }
            for instr in &self.instrs {
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
        ws.adjoints.fill(0.0);
        lane_slice_mut(&mut ws.adjoints, output, ws.lanes).fill(1.0);
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
        ws.adjoints.fill(0.0);
        lane_slice_mut(&mut ws.adjoints, output, ws.lanes).copy_from_slice(seeds);
        self.sweep(ws, output)
    }

    /// The reverse sweep from a seeded `output`.
    fn sweep(&self, ws: &mut Workspace, output: u32) -> Result<()> {
        let lanes = ws.lanes;
        // Nodes created after the output cannot influence it: start at its instruction.
        let end = self.instrs.partition_point(|i| i.out() <= output);
        if lanes == 1 && !ws.anomaly {
            self.sweep_single(&ws.values, &mut ws.adjoints, end);
            return Ok(());
        }
        for instr in self.instrs[..end].iter().rev() {
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
        Error::Anomaly {
            pass,
            node: self.name(instr.out()),
            op: op.to_string(),
            value,
            operands: operands
                .iter()
                .map(|&a| values[a as usize * lanes + lane])
                .collect(),
        }
    }

    /// The op of an instruction and its operand nodes (allocates: for error reports only).
    fn op_and_operands(&self, instr: &Instr) -> (Op, Vec<u32>) {
        match *instr {
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
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::WorkspaceMismatch`].
    pub fn values<'w>(&self, ws: &'w Workspace, node: impl Into<NodeId>) -> Result<&'w [f64]> {
        self.check_workspace(ws)?;
        let index = self.check(node.into())? as u32;
        Ok(lane_slice(&ws.values, index, ws.lanes))
    }

    /// The adjoints `d output / d node` of `node` in every lane of the last backward pass.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::UnknownNode`]; [`Error::WorkspaceMismatch`].
    pub fn adjoints<'w>(&self, ws: &'w Workspace, node: impl Into<NodeId>) -> Result<&'w [f64]> {
        self.check_workspace(ws)?;
        let index = self.check(node.into())? as u32;
        Ok(lane_slice(&ws.adjoints, index, ws.lanes))
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
        for (acc, &node) in acc.iter_mut().zip(&self.params) {
            *acc += lane_slice(&ws.adjoints, node, ws.lanes).iter().sum::<f64>();
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
        let by_node = ws
            .adjoints
            .chunks_exact(ws.lanes)
            .map(|lanes| lanes.iter().sum())
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
