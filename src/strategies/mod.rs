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

use crate::graph::{Graph, NodeId, NodeKind};
use crate::op::{Op, Unary};

/// Whether random DAGs hold ops with a kink (ReLU, leaky ReLU, `abs`: a jump of slope at 0),
/// and where their operands may be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kinks {
    /// None: every op is smooth at the generated values.
    Excluded,
    /// Kinks with operands anywhere, 0 included: for tests that do not compare with finite
    /// differences (those straddle a kink whose operand is within a step of 0, and see the mean
    /// of its two slopes).
    Anywhere,
    /// Kinks whose operand is at least `margin` from 0 at the spec's leaf values (elsewhere
    /// `tanh` takes the kink's place): for comparisons with central finite differences, whose
    /// step moves an operand by about `step * |d operand / d x|`. `1e-3` suits the default
    /// step ([`crate::gradcheck::STEP`]) on [`dag`]'s bounded values.
    AwayFromZero {
        /// The least `|operand|` of a kink.
        margin: f64,
    },
}

impl Kinks {
    /// Whether a kink may take an operand of value `x`.
    fn allows(self, x: f64) -> bool {
        match self {
            Kinks::Excluded => false,
            Kinks::Anywhere => true,
            Kinks::AwayFromZero { margin } => x.abs() >= margin,
        }
    }
}

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

    /// The distance from 0 of the operand of the kink (ReLU, leaky ReLU, `abs`) nearest its
    /// kink, at the spec's leaf values (for a `max`, the gap between its two operands); `None`
    /// without kinks. For a spec of your own, before comparing with finite differences:
    /// `prop_assume!(spec.kink_clearance()?.is_none_or(|d| d > 1e-3))` keeps central
    /// differences from straddling a kink ([`dag`] does it itself
    /// with [`Kinks::AwayFromZero`]).
    ///
    /// # Errors
    /// As [`DagSpec::build`] and [`crate::Tape::forward`].
    pub fn kink_clearance(&self) -> crate::Result<Option<f64>> {
        let graph = Graph::new();
        let ids = self.build(&graph)?;
        let tape = graph.compile()?;
        let mut ws = tape.workspace();
        tape.forward(&mut ws, &self.input_values())?;
        let mut nearest: Option<f64> = None;
        for id in ids {
            if let NodeKind::Op(Op::Unary(Unary::Relu | Unary::LeakyRelu { .. } | Unary::Abs)) =
                graph.kind(id)?
            {
                let x = tape.value(&ws, graph.operands(id)?[0])?.abs();
                nearest = Some(nearest.map_or(x, |d| d.min(x)));
            }
            // `max`: the gap between its two operands
            if let (NodeKind::Op(Op::Max), [a, b]) = (graph.kind(id)?, &graph.operands(id)?[..]) {
                let x = (tape.value(&ws, *a)? - tape.value(&ws, *b)?).abs();
                nearest = Some(nearest.map_or(x, |d| d.min(x)));
            }
        }
        Ok(nearest)
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
