//! The graph: a DAG of scalar operations held in `petgraph`, and the handles that build it.
//!
//! This module owns the structure (nodes, ordered operands, labels, leaf values) and its
//! validation. It does not evaluate or differentiate anything: [`Graph::compile`] hands the
//! structure to [`crate::tape`], which does.
//!
//! Nodes are only ever added, and an op's operands must exist before it, so the creation order
//! is a topological order: no traversal needs a sort or a recursion.

mod expr;
mod storage;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};

pub use expr::Expr;
pub(crate) use storage::{Inner, Node, View};

use crate::error::{Error, NodeName, Result};
use crate::op::Op;

static NEXT_GRAPH_ID: AtomicU32 = AtomicU32::new(1);

/// A node of a graph: its index in creation order, and which graph it belongs to.
///
/// Two `NodeId`s are equal only if they are the same node of the same graph: equal values mean
/// nothing. Using a `NodeId` with another graph is reported as [`Error::ForeignNode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    graph: u32,
    index: u32,
}

impl NodeId {
    pub(crate) fn new(graph: u32, index: u32) -> NodeId {
        NodeId { graph, index }
    }

    /// The node's index in creation order (a topological order), from 0.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// The id of the graph the node belongs to.
    pub fn graph_id(self) -> u32 {
        self.graph
    }
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NodeKind {
    /// A value supplied per association; `slot` is its position among the graph's inputs.
    Input {
        /// Position among the inputs, in creation order.
        slot: u32,
    },
    /// A trainable parameter (a weight); `slot` is its position among the graph's parameters.
    Param {
        /// Position among the parameters, in creation order.
        slot: u32,
        /// The value it was created with.
        value: f64,
    },
    /// A constant (the bias node's value, a literal in an expression).
    Const(f64),
    /// An operation on the node's ordered operands.
    Op(Op),
}

impl NodeKind {
    /// The kind's name as shown in traces and pictures: `input`, `param`, `const` or the op's.
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Input { .. } => "input",
            NodeKind::Param { .. } => "param",
            NodeKind::Const(_) => "const",
            NodeKind::Op(op) => op.name(),
        }
    }
}

/// A DAG of scalar operations, built by adding leaves and ops.
///
/// Build it with handles ([`Expr`]) and operators, or with [`Graph::try_op`] on [`NodeId`]s.
/// The graph uses interior mutability so that handles can be combined with `+`, `*`, ... while
/// all borrowing it.
///
/// # Examples
/// ```
/// use backprop::Graph;
/// let g = Graph::new();
/// let (x1, x2) = (g.input("x1"), g.input("x2"));
/// let (w1, w2, b) = (g.param("w1", 0.5), g.param("w2", -0.25), g.param("b", 0.1));
/// let y = (x1 * w1 + x2 * w2 + b).sigmoid();
/// let grads = g.compile()?.gradients(&[1.0, 2.0], y)?;
/// // dy/dw1 = y (1 - y) x1
/// let s = 1.0 / (1.0 + (-(0.5 - 0.5 + 0.1f64)).exp());
/// assert!((grads.wrt(w1)? - s * (1.0 - s) * 1.0).abs() < 1e-15);
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Debug)]
pub struct Graph {
    id: u32,
    inner: RefCell<Inner>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

impl Clone for Graph {
    /// A copy with a new graph id: handles of the original are foreign to the copy.
    fn clone(&self) -> Graph {
        Graph {
            id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
            inner: RefCell::new(self.inner.borrow().clone()),
        }
    }
}

impl Graph {
    /// An empty graph with a fresh id.
    pub fn new() -> Graph {
        Graph {
            id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
            inner: RefCell::new(Inner::default()),
        }
    }

    /// Makes room for `nodes` more nodes and `edges` more operand uses, exactly: a graph whose
    /// size is known (a file's) is then built without its storage growing, and copying, as it
    /// goes, nor ending with up to twice the room it needs.
    pub(crate) fn reserve(&self, nodes: usize, edges: usize) {
        let mut inner = self.inner.borrow_mut();
        inner.dag.reserve_exact_nodes(nodes);
        inner.dag.reserve_exact_edges(edges);
    }

    /// The graph's id (distinct for every graph made in this process).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.inner.borrow().dag.node_count()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of edges (operand uses; `x * x` counts 2).
    pub fn edge_count(&self) -> usize {
        self.inner.borrow().dag.edge_count()
    }

    /// Read access to the storage, for read-only views such as [`crate::render`].
    pub(crate) fn with_inner<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        f(&self.inner.borrow())
    }

    fn expr(&self, index: u32) -> Expr<'_> {
        Expr::new(self, NodeId::new(self.id, index))
    }

    fn labelled(&self, kind: Node, label: &str) -> Expr<'_> {
        let mut inner = self.inner.borrow_mut();
        let index = inner.push(kind, &[]);
        if !label.is_empty() {
            inner.labels.insert(index, label.into());
        }
        drop(inner);
        self.expr(index)
    }

    /// A new input leaf: a value supplied per association, in creation order among inputs.
    /// An empty label means none.
    pub fn input(&self, label: &str) -> Expr<'_> {
        let slot = self.inner.borrow().inputs.len() as u32;
        let e = self.labelled(Node::Input { slot }, label);
        self.inner.borrow_mut().inputs.push(e.id().index);
        e
    }

    /// A new trainable parameter with an initial value. A non-finite value is reported by
    /// [`Graph::compile`] as [`Error::NonFiniteConstant`].
    pub fn param(&self, label: &str, value: f64) -> Expr<'_> {
        let slot = self.inner.borrow().params.len() as u32;
        let e = self.labelled(Node::Param { slot }, label);
        let mut inner = self.inner.borrow_mut();
        inner.params.push(e.id().index);
        inner.param_values.push(value);
        if !value.is_finite() {
            let what = format!(
                "the initial value of parameter {}",
                inner.name(e.id().index)
            );
            inner.defer(Error::NonFiniteConstant { what, value });
        }
        e
    }

    /// The parameters' values as held by the graph (the initial values a compiled tape starts
    /// from), in slot order.
    pub fn param_values(&self) -> Vec<f64> {
        self.inner.borrow().param_values.clone()
    }

    /// Sets the parameters' values held by the graph (in slot order): what
    /// [`Graph::compile`], [`crate::symbolic`] and [`crate::gradcheck`] read as the parameters'
    /// values from then on.
    ///
    /// # Errors
    /// [`Error::ParamCount`] for the wrong number of values; [`Error::NonFiniteConstant`]
    /// naming the first parameter whose value is not finite (nothing is changed then).
    pub fn set_param_values(&self, values: &[f64]) -> Result<()> {
        let mut inner = self.inner.borrow_mut();
        if values.len() != inner.param_values.len() {
            return Err(Error::ParamCount {
                expected: inner.param_values.len(),
                got: values.len(),
            });
        }
        if let Some(slot) = values.iter().position(|v| !v.is_finite()) {
            let what = format!("the value of parameter {}", inner.name(inner.params[slot]));
            return Err(Error::NonFiniteConstant {
                what,
                value: values[slot],
            });
        }
        inner.param_values.copy_from_slice(values);
        Ok(())
    }

    /// A new constant leaf. A non-finite value is reported by [`Graph::compile`].
    pub fn constant(&self, value: f64) -> Expr<'_> {
        let e = self.labelled(Node::Const(value), "");
        if !value.is_finite() {
            let what = format!("constant {}", self.inner.borrow().name(e.id().index));
            self.inner
                .borrow_mut()
                .defer(Error::NonFiniteConstant { what, value });
        }
        e
    }

    /// Sets (or with `""` removes) a node's label.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] or [`Error::UnknownNode`] for a node not in this graph.
    pub fn set_label(&self, node: impl Into<NodeId>, label: &str) -> Result<()> {
        let index = self.check(node.into())?;
        let mut inner = self.inner.borrow_mut();
        if label.is_empty() {
            inner.labels.remove(&index);
        } else {
            inner.labels.insert(index, label.into());
        }
        Ok(())
    }

    /// The node's label, if it has one.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] or [`Error::UnknownNode`] for a node not in this graph.
    pub fn label(&self, node: impl Into<NodeId>) -> Result<Option<String>> {
        let index = self.check(node.into())?;
        Ok(self
            .inner
            .borrow()
            .labels
            .get(&index)
            .map(|l| l.to_string()))
    }

    /// What the node is.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] or [`Error::UnknownNode`] for a node not in this graph.
    pub fn kind(&self, node: impl Into<NodeId>) -> Result<NodeKind> {
        let index = self.check(node.into())?;
        Ok(self
            .inner
            .borrow()
            .kind(index as usize)
            .expect("internal error: a checked node exists"))
    }

    /// The node's operands, in order (empty for a leaf). `x * x` lists `x` twice.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] or [`Error::UnknownNode`] for a node not in this graph.
    pub fn operands(&self, node: impl Into<NodeId>) -> Result<Vec<NodeId>> {
        let index = self.check(node.into())?;
        let mut out = Vec::new();
        self.inner.borrow().operands(index, &mut out);
        Ok(out.into_iter().map(|i| NodeId::new(self.id, i)).collect())
    }

    /// The node of index `index` (creation order), for instance to find a node of a graph in
    /// its [`Clone`].
    ///
    /// # Errors
    /// [`Error::UnknownNode`] past the end.
    pub fn node(&self, index: usize) -> Result<NodeId> {
        let len = self.len();
        if index >= len {
            return Err(Error::UnknownNode {
                index: index.min(u32::MAX as usize) as u32,
                len,
            });
        }
        Ok(NodeId::new(self.id, index as u32))
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.len() as u32).map(move |i| NodeId::new(self.id, i))
    }

    /// The input leaves, in slot order.
    pub fn input_nodes(&self) -> Vec<NodeId> {
        let inner = self.inner.borrow();
        inner
            .inputs
            .iter()
            .map(|&i| NodeId::new(self.id, i))
            .collect()
    }

    /// The parameter leaves, in slot order.
    pub fn param_nodes(&self) -> Vec<NodeId> {
        let inner = self.inner.borrow();
        inner
            .params
            .iter()
            .map(|&i| NodeId::new(self.id, i))
            .collect()
    }

    /// The handle of an existing node.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] or [`Error::UnknownNode`] for a node not in this graph.
    pub fn handle(&self, node: impl Into<NodeId>) -> Result<Expr<'_>> {
        let index = self.check(node.into())?;
        Ok(self.expr(index))
    }

    /// Node `index` of this graph as error messages name it.
    pub(crate) fn name_of(&self, index: u32) -> NodeName {
        self.inner.borrow().name(index)
    }

    /// Checks that `node` belongs to this graph and exists; returns its index.
    ///
    /// # Errors
    /// [`Error::ForeignNode`], [`Error::UnknownNode`].
    pub(crate) fn check(&self, node: NodeId) -> Result<u32> {
        if node.graph != self.id {
            return Err(Error::ForeignNode {
                node: NodeName {
                    index: node.index,
                    label: None,
                },
                node_graph: node.graph,
                graph: self.id,
            });
        }
        let len = self.len();
        if node.index as usize >= len {
            return Err(Error::UnknownNode {
                index: node.index,
                len,
            });
        }
        Ok(node.index)
    }

    /// Adds an op on the given operands (in order) and returns the new node.
    ///
    /// # Errors
    /// [`Error::Arity`] if the op does not take that many operands; [`Error::ForeignNode`] or
    /// [`Error::UnknownNode`] for an operand not in this graph; [`Error::NonFiniteConstant`] for a
    /// non-finite slope or exponent.
    ///
    /// # Examples
    /// ```
    /// use backprop::{Binary, Graph, Op};
    /// let g = Graph::new();
    /// let (a, b) = (g.input("a").id(), g.input("b").id());
    /// let d = g.try_op(Op::Binary(Binary::Sub), &[a, b])?;
    /// assert_eq!(g.operands(d)?, vec![a, b]);
    /// assert!(g.try_op(Op::Sum, &[]).is_err());
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn try_op(&self, op: Op, operands: &[NodeId]) -> Result<NodeId> {
        validate_op(op, operands.len())?;
        let mut indices = Vec::with_capacity(operands.len());
        for &operand in operands {
            indices.push(self.check(operand)?);
        }
        let index = self.inner.borrow_mut().push(Node::Op(op), &indices);
        Ok(NodeId::new(self.id, index))
    }

    /// Adds an op from handles; errors are deferred to [`Graph::compile`] (operators cannot
    /// return a `Result`). Foreign or invalid operands give a NaN constant in place of the op.
    pub(crate) fn op_deferred<'g>(&'g self, op: Op, operands: &[Expr<'_>]) -> Expr<'g> {
        let problem = validate_op(op, operands.len()).err().or_else(|| {
            operands.iter().find_map(|operand| {
                let error = self.check(operand.id()).err()?;
                Some(match error {
                    // a handle knows its own graph: name the foreign node with its label
                    Error::ForeignNode {
                        node_graph, graph, ..
                    } => Error::ForeignNode {
                        node: operand.graph().name_of(operand.id().index),
                        node_graph,
                        graph,
                    },
                    other => other,
                })
            })
        });
        if let Some(error) = problem {
            self.inner.borrow_mut().defer(error);
            let index = self.inner.borrow_mut().push(Node::Const(f64::NAN), &[]);
            return self.expr(index);
        }
        let mut inner = self.inner.borrow_mut();
        let index = if operands.len() <= 4 {
            let mut buf = [0u32; 4];
            for (slot, operand) in buf.iter_mut().zip(operands) {
                *slot = operand.id().index;
            }
            inner.push(Node::Op(op), &buf[..operands.len()])
        } else {
            let indices: Vec<u32> = operands.iter().map(|e| e.id().index).collect();
            inner.push(Node::Op(op), &indices)
        };
        drop(inner);
        self.expr(index)
    }

    /// `y = sum_i terms_i`, one n-ary node. An empty list is reported by [`Graph::compile`].
    pub fn sum<'g>(&'g self, terms: &[Expr<'_>]) -> Expr<'g> {
        self.op_deferred(Op::Sum, terms)
    }

    /// `y = sum_k a_k * b_k` over pairs, one n-ary node (a neuron's weighted sum). An empty list
    /// is reported by [`Graph::compile`].
    pub fn dot<'g>(&'g self, pairs: &[(Expr<'_>, Expr<'_>)]) -> Expr<'g> {
        let flat: Vec<Expr<'_>> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        self.op_deferred(Op::Dot, &flat)
    }

    /// `y = max_i terms_i`, one n-ary node. An empty list is reported by [`Graph::compile`].
    pub fn max<'g>(&'g self, terms: &[Expr<'_>]) -> Expr<'g> {
        self.op_deferred(Op::Max, terms)
    }

    /// The first error made while building with operators or the leaf constructors, if any.
    pub fn deferred_error(&self) -> Option<Error> {
        self.inner.borrow().deferred.clone()
    }
}

/// Checks an op's operand count and its constant parameter.
fn validate_op(op: Op, operands: usize) -> Result<()> {
    let arity = op.arity();
    if !arity.accepts(operands) {
        return Err(Error::Arity {
            op: op.to_string(),
            expected: arity.to_string(),
            got: operands,
        });
    }
    if let Some((name, value)) = op.parameter()
        && !value.is_finite()
    {
        return Err(Error::NonFiniteConstant {
            what: format!("the {name} of {}", op.name()),
            value,
        });
    }
    Ok(())
}

#[cfg(all(test, feature = "strategies"))]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::strategies::{Kinks, dag};

    proptest! {
        /// Creation order is a topological order: every operand was created before its op, and
        /// petgraph's own toposort of the same graph finds no cycle and agrees on every edge.
        #[test]
        fn creation_order_is_a_topological_order(spec in dag(2..=200, Kinks::Anywhere)) {
            let g = Graph::new();
            spec.build(&g).unwrap();
            let inner = g.inner.borrow();
            let order = petgraph::algo::toposort(&inner.dag, None).expect("petgraph finds no cycle");
            prop_assert_eq!(order.len(), g.len());
            let mut position = vec![0; g.len()];
            for (k, n) in order.iter().enumerate() {
                position[n.index()] = k;
            }
            for n in g.nodes() {
                for operand in g.operands(n).unwrap() {
                    prop_assert!(operand.index() < n.index());
                    prop_assert!(position[operand.index()] < position[n.index()]);
                }
            }
        }
    }
}
