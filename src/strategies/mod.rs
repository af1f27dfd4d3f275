//! Public `proptest` strategies for random graphs, to reuse in your own property tests
//! (cargo feature `strategies`, on by default).
//!
//! Strategies produce plain descriptions ([`DagSpec`]) that build into a [`Graph`], each with a
//! designated output ([`DagSpec::output`]) that every node of the description feeds, so that
//! differentiating the output reaches every parameter. They are bounded: leaf values are finite
//! and small, and ops are only applied where their result stays within a known bound (|v| <= 50)
//! and away from their singularities (`ln` and `/` of values >= 0.1), and, in [`dag`], where
//! their third derivative along any one input or parameter at the case's leaf values stays
//! within 1e4, so that finite differences are meaningful on every generated case.

mod dag;
mod jet;
mod nets;

pub use dag::dag;
pub use nets::{LayeredCase, layered, skip_net};

use crate::graph::{Graph, NodeId};
use crate::op::Op;

/// A leaf of a [`DagSpec`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LeafSpec {
    /// An input leaf, with the value the test should feed it.
    Input(f64),
    /// A trainable parameter with its initial value.
    Param(f64),
    /// A constant.
    Const(f64),
}

/// A random DAG as plain data: leaves first, then ops whose operands index earlier nodes
/// (leaves are nodes `0..leaves.len()`, op `k` is node `leaves.len() + k`), and the node to
/// differentiate.
#[derive(Clone, Debug, PartialEq)]
pub struct DagSpec {
    /// The leaves, in creation order.
    pub leaves: Vec<LeafSpec>,
    /// The ops, in creation order, with their operands' node indices.
    pub ops: Vec<(Op, Vec<usize>)>,
    /// The index of the output node, the one to differentiate. The strategies of this module
    /// make it an op of which every other node, constants aside, is an ancestor.
    pub output: usize,
}

impl DagSpec {
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.leaves.len() + self.ops.len()
    }

    /// Whether the spec has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds the DAG into `graph`; returns every node's id, in spec order: the output is
    /// `ids[spec.output]`.
    ///
    /// # Errors
    /// [`crate::Error::UnknownNode`] if [`DagSpec::output`] is not a node of the spec (checked
    /// before anything is added to `graph`); those of [`Graph::try_op`]. None for a spec
    /// produced by this module's strategies.
    ///
    /// # Examples
    /// ```
    /// use backprop::Graph;
    /// use backprop::strategies::{DagSpec, LeafSpec};
    /// use backprop::{Binary, Op};
    /// // y = w * x, with w = 3 and x fed 2
    /// let spec = DagSpec {
    ///     leaves: vec![LeafSpec::Input(2.0), LeafSpec::Param(3.0)],
    ///     ops: vec![(Op::Binary(Binary::Mul), vec![1, 0])],
    ///     output: 2,
    /// };
    /// let g = Graph::new();
    /// let ids = spec.build(&g)?;
    /// let grads = g.compile()?.gradients(&spec.input_values(), ids[spec.output])?;
    /// assert_eq!(grads.wrt(ids[1])?, 2.0); // dy/dw = x
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn build(&self, graph: &Graph) -> crate::Result<Vec<NodeId>> {
        if self.output >= self.len() {
            return Err(crate::Error::UnknownNode {
                index: self.output.min(u32::MAX as usize) as u32,
                len: self.len(),
            });
        }
        let mut ids = Vec::with_capacity(self.len());
        for (k, leaf) in self.leaves.iter().enumerate() {
            let e = match *leaf {
                LeafSpec::Input(_) => graph.input(&format!("x{k}")),
                LeafSpec::Param(v) => graph.param(&format!("p{k}"), v),
                LeafSpec::Const(v) => graph.constant(v),
            };
            ids.push(e.id());
        }
        for (op, operands) in &self.ops {
            let operands: Vec<NodeId> = operands.iter().map(|&i| ids[i]).collect();
            ids.push(graph.try_op(*op, &operands)?);
        }
        Ok(ids)
    }

    /// The values to feed the input leaves, in slot order.
    pub fn input_values(&self) -> Vec<f64> {
        self.leaves
            .iter()
            .filter_map(|l| match l {
                LeafSpec::Input(v) => Some(*v),
                LeafSpec::Param(_) | LeafSpec::Const(_) => None,
            })
            .collect()
    }
}
