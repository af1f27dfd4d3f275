//! Reverse mode as a graph transformation: the gradient appended to the graph as ops, so it can
//! be evaluated, compiled, rendered and differentiated again (second derivatives, to any order).
//!
//! This module owns the symbolic sweep and its simplifications (constant folding, no
//! multiplication by 1 or addition of 0, shared subexpressions reused). The local derivatives
//! are the ones of [`crate::op`], written once and generic over [`Scalar`]: here they are
//! instantiated with node handles instead of numbers. The numeric sweep of [`crate::tape`] and
//! this one visit nodes in the same order and accumulate contributions in the same order, so
//! evaluating the gradient graph gives the tape's gradient bit for bit (see the tests).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::{Error, Result};
use crate::graph::{Graph, NodeId, NodeKind};
use crate::op::{Binary, Op, Scalar, Unary};
use crate::tape::Tape;

/// An op as a hashable key: its name and the bits of its constant parameter.
type OpKey = (&'static str, u64);

fn op_key(op: Op) -> OpKey {
    (op.name(), op.parameter().map_or(0, |(_, p)| p.to_bits()))
}

/// Builds simplified, shared nodes in a graph.
struct Builder<'g> {
    graph: &'g Graph,
    /// Every op node of the graph by (op, operands), to reuse instead of duplicating.
    ops: RefCell<HashMap<(OpKey, Vec<u32>), u32>>,
    /// Every constant node by the bits of its value.
    consts: RefCell<HashMap<u64, u32>>,
    /// The value of each node that is a constant.
    const_values: RefCell<HashMap<u32, f64>>,
}

impl<'g> Builder<'g> {
    fn new(graph: &'g Graph) -> Result<Builder<'g>> {
        let builder = Builder {
            graph,
            ops: RefCell::new(HashMap::new()),
            consts: RefCell::new(HashMap::new()),
            const_values: RefCell::new(HashMap::new()),
        };
        for node in graph.nodes() {
            let index = node.index() as u32;
            match graph.kind(node)? {
                NodeKind::Const(v) => {
                    builder
                        .consts
                        .borrow_mut()
                        .entry(v.to_bits())
                        .or_insert(index);
                    builder.const_values.borrow_mut().insert(index, v);
                }
                NodeKind::Op(op) => {
                    let operands = graph
                        .operands(node)?
                        .iter()
                        .map(|n| n.index() as u32)
                        .collect();
                    builder
                        .ops
                        .borrow_mut()
                        .entry((op_key(op), operands))
                        .or_insert(index);
                }
                NodeKind::Input { .. } | NodeKind::Param { .. } => {}
            }
        }
        Ok(builder)
    }

    fn id(&self, index: u32) -> NodeId {
        NodeId::new(self.graph.id(), index)
    }

    fn constant(&self, value: f64) -> Sym<'_, 'g> {
        let existing = self.consts.borrow().get(&value.to_bits()).copied();
        let index = existing.unwrap_or_else(|| {
            let index = self.graph.constant(value).id().index() as u32;
            self.consts.borrow_mut().insert(value.to_bits(), index);
            self.const_values.borrow_mut().insert(index, value);
            index
        });
        Sym { b: self, index }
    }

    fn value_of(&self, index: u32) -> Option<f64> {
        self.const_values.borrow().get(&index).copied()
    }

    /// The node `op(operands)`, reused if it exists; folded if every operand is a constant.
    fn node(&self, op: Op, operands: &[u32]) -> Sym<'_, 'g> {
        let values: Option<Vec<f64>> = operands.iter().map(|&a| self.value_of(a)).collect();
        if let Some(v) = values.and_then(|v| op.value(&v)).filter(|v| v.is_finite()) {
            return self.constant(v);
        }
        let mut operands = operands.to_vec();
        if matches!(op, Op::Binary(Binary::Add | Binary::Mul)) {
            // a + b and b + a are the same IEEE number: one node for both. (Not for n-ary sums,
            // whose rounding depends on the order.)
            operands.sort_unstable();
        }
        let key = (op_key(op), operands);
        if let Some(&index) = self.ops.borrow().get(&key) {
            return Sym { b: self, index };
        }
        let ids: Vec<NodeId> = key.1.iter().map(|&a| self.id(a)).collect();
        let index = self
            .graph
            .try_op(op, &ids)
            .expect("internal error: operands of a derivative are valid nodes")
            .index() as u32;
        self.ops.borrow_mut().insert(key, index);
        Sym { b: self, index }
    }
}

/// A node handle whose arithmetic simplifies as it builds.
#[derive(Clone, Copy)]
struct Sym<'b, 'g> {
    b: &'b Builder<'g>,
    index: u32,
}

impl Sym<'_, '_> {
    fn is(self, value: f64) -> bool {
        self.b.value_of(self.index) == Some(value)
    }
    fn binary(self, op: Binary, rhs: Self) -> Self {
        self.b.node(Op::Binary(op), &[self.index, rhs.index])
    }
}

impl Add for Sym<'_, '_> {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        if self.is(0.0) {
            rhs
        } else if rhs.is(0.0) {
            self
        } else {
            self.binary(Binary::Add, rhs)
        }
    }
}

impl Sub for Sym<'_, '_> {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        if rhs.is(0.0) {
            self
        } else if self.is(0.0) {
            -rhs
        } else {
            self.binary(Binary::Sub, rhs)
        }
    }
}

impl Mul for Sym<'_, '_> {
    type Output = Self;
    fn mul(self, rhs: Self) -> Self {
        if self.is(0.0) || rhs.is(1.0) {
            self
        } else if rhs.is(0.0) || self.is(1.0) {
            rhs
        } else if self.is(-1.0) {
            -rhs
        } else if rhs.is(-1.0) {
            -self
        } else {
            self.binary(Binary::Mul, rhs)
        }
    }
}

impl Div for Sym<'_, '_> {
    type Output = Self;
    fn div(self, rhs: Self) -> Self {
        if rhs.is(1.0) {
            self
        } else {
            self.binary(Binary::Div, rhs)
        }
    }
}

impl Neg for Sym<'_, '_> {
    type Output = Self;
    fn neg(self) -> Self {
        self.apply(Unary::Neg)
    }
}

impl Scalar for Sym<'_, '_> {
    fn constant_like(self, c: f64) -> Self {
        self.b.constant(c)
    }
    fn apply(self, op: Unary) -> Self {
        match op {
            Unary::Identity => self,
            _ => self.b.node(Op::Unary(op), &[self.index]),
        }
    }
}

/// The result of [`gradient`]: the nodes of `d output / d wrt_i`, appended to the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GradientNodes {
    /// `d output / d wrt[i]`, one node each (a constant 0 where the output does not depend on it).
    pub gradients: Vec<NodeId>,
    /// Nodes in the graph before the gradient was appended.
    pub nodes_before: usize,
    /// Nodes after.
    pub nodes_after: usize,
}

/// Appends to `graph` the gradient of `output` with respect to each node of `wrt`, as nodes, by
/// one reverse sweep over the nodes up to `output` that applies the ops' local derivatives
/// symbolically. The graph only grows: existing nodes and their ids are unchanged.
///
/// # Errors
/// [`Error::ForeignNode`]/[`Error::UnknownNode`] for a node not in the graph.
///
/// # Complexity
/// O(nodes + edges) new nodes at most; fewer after simplification and sharing.
///
/// # Examples
/// ```
/// use backprop::{symbolic, Graph};
/// let g = Graph::new();
/// let x = g.input("x");
/// let y = x.sigmoid();
/// let first = symbolic::gradient(&g, y, &[x.id()])?.gradients[0]; // s (1 - s)
/// let second = symbolic::gradient(&g, first, &[x.id()])?.gradients[0]; // s (1 - s)(1 - 2s)
/// let s = 1.0 / (1.0 + (-0.3f64).exp());
/// let value = g.compile()?.evaluate(&[0.3], second)?;
/// assert!((value - s * (1.0 - s) * (1.0 - 2.0 * s)).abs() < 1e-15);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn gradient(graph: &Graph, output: impl Into<NodeId>, wrt: &[NodeId]) -> Result<GradientNodes> {
    let output = graph.check(output.into())?;
    for &node in wrt {
        graph.check(node)?;
    }
    let nodes_before = graph.len();
    let b = Builder::new(graph)?;
    let n = output as usize + 1;
    // contributions to each node's adjoint, in the order the tape's sweep adds them
    let mut contributions: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut adjoint: Vec<Option<u32>> = vec![None; n];
    contributions[n - 1].push(b.constant(1.0).index);
    for v in (0..n).rev() {
        let parts = std::mem::take(&mut contributions[v]);
        let g = match parts.len() {
            0 => continue,
            1 => Sym {
                b: &b,
                index: parts[0],
            },
            _ => b.node(Op::Sum, &parts),
        };
        adjoint[v] = Some(g.index);
        let node = b.id(v as u32);
        let NodeKind::Op(op) = graph.kind(node)? else {
            continue;
        };
        let operands: Vec<u32> = graph
            .operands(node)?
            .iter()
            .map(|o| o.index() as u32)
            .collect();
        let sym = |index: u32| Sym { b: &b, index };
        let y = sym(v as u32);
        let mut add = |to: u32, partial: Sym<'_, '_>| {
            let c = g * partial;
            if !c.is(0.0) {
                contributions[to as usize].push(c.index);
            }
        };
        op.partials(
            operands.len(),
            |k| sym(operands[k]),
            y,
            |k, partial| add(operands[k], partial),
        );
    }
    let gradients = wrt
        .iter()
        .map(|node| {
            let adjoint = adjoint.get(node.index()).copied().flatten();
            b.id(adjoint.unwrap_or_else(|| b.constant(0.0).index))
        })
        .collect();
    Ok(GradientNodes {
        gradients,
        nodes_before,
        nodes_after: graph.len(),
    })
}

/// A copy of `graph` (a new graph id) and the ids of `nodes` in it.
fn copy_of(graph: &Graph, nodes: &[NodeId]) -> Result<(Graph, Vec<NodeId>)> {
    for &node in nodes {
        graph.check(node)?;
    }
    let copy = graph.clone();
    let ids = nodes
        .iter()
        .map(|n| NodeId::new(copy.id(), n.index() as u32))
        .collect();
    Ok((copy, ids))
}

/// `sum_t node(association t)` for each node.
fn evaluate(
    tape: &Tape,
    associations: &[f64],
    params: Option<&[f64]>,
    nodes: &[NodeId],
) -> Result<Vec<f64>> {
    let mut ws = tape.workspace();
    if let Some(params) = params {
        tape.set_params(&mut ws, params)?;
    }
    let n_in = tape.input_count();
    let t_count = tape.association_count(associations)?;
    let mut sums = vec![0.0; nodes.len()];
    for t in 0..t_count {
        tape.forward(&mut ws, &associations[t * n_in..(t + 1) * n_in])?;
        for (sum, &node) in sums.iter_mut().zip(nodes) {
            *sum += tape.value(&ws, node)?;
        }
    }
    Ok(sums)
}

/// The Hessian `H[i][j] = d^2 E / d wrt_i d wrt_j` of `E = sum_t output(association t)`, by
/// reverse over reverse: the gradient as nodes, then the gradient of each of its entries.
/// `associations` holds `T x input_count` values; `params` (in slot order) defaults to the
/// graph's values. Works on a copy: `graph` is unchanged.
///
/// # Errors
/// As [`gradient`] and [`Tape::forward`].
///
/// # Complexity
/// `wrt.len() + 1` symbolic sweeps and one forward pass.
pub fn hessian(
    graph: &Graph,
    output: impl Into<NodeId>,
    wrt: &[NodeId],
    associations: &[f64],
    params: Option<&[f64]>,
) -> Result<Vec<Vec<f64>>> {
    let mut all = wrt.to_vec();
    all.push(output.into());
    let (copy, ids) = copy_of(graph, &all)?;
    let (output, wrt) = (ids[wrt.len()], &ids[..wrt.len()]);
    let first = gradient(&copy, output, wrt)?.gradients;
    let mut rows = Vec::with_capacity(wrt.len());
    for &g in &first {
        rows.push(gradient(&copy, g, wrt)?.gradients);
    }
    let tape = copy.compile()?;
    let flat: Vec<NodeId> = rows.iter().flatten().copied().collect();
    let values = evaluate(&tape, associations, params, &flat)?;
    Ok(values
        .chunks(wrt.len().max(1))
        .map(|r| r.to_vec())
        .take(wrt.len())
        .collect())
}

/// The Hessian-vector product `H v` (`(Hv)_i = sum_j d^2 E / d wrt_i d wrt_j v_j`, `E` summed
/// over the associations as in [`hessian`]), by reverse over reverse:
/// `d/d wrt (sum_j v_j dE / d wrt_j)`, without forming `H`. Works on a copy: `graph` is
/// unchanged.
///
/// # Errors
/// [`Error::Shape`] if `v` does not have one entry per `wrt` node; as [`hessian`].
pub fn hessian_vector_product(
    graph: &Graph,
    output: impl Into<NodeId>,
    wrt: &[NodeId],
    v: &[f64],
    associations: &[f64],
    params: Option<&[f64]>,
) -> Result<Vec<f64>> {
    if v.len() != wrt.len() {
        return Err(Error::Shape {
            what: "the vector of a Hessian-vector product (one entry per node differentiated)"
                .into(),
            expected: wrt.len(),
            got: v.len(),
        });
    }
    let mut all = wrt.to_vec();
    all.push(output.into());
    let (copy, ids) = copy_of(graph, &all)?;
    let (output, wrt) = (ids[wrt.len()], &ids[..wrt.len()]);
    let first = gradient(&copy, output, wrt)?.gradients;
    let b = Builder::new(&copy)?;
    let pairs: Vec<u32> = first
        .iter()
        .zip(v)
        .flat_map(|(g, &vj)| [g.index() as u32, b.constant(vj).index])
        .collect();
    let directional = if pairs.is_empty() {
        b.constant(0.0)
    } else {
        b.node(Op::Dot, &pairs)
    };
    let hv = gradient(&copy, b.id(directional.index), wrt)?.gradients;
    let tape = copy.compile()?;
    evaluate(&tape, associations, params, &hv)
}
