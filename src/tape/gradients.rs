//! Reading the backward pass: one node's gradient, every parameter's, or every node's as a
//! value of its own.

use super::sweep::neuron_adjoints;
use super::workspace::Entry;
use super::{Instr, Tape, Workspace, check_node};
use crate::error::{Error, Result};
use crate::graph::NodeId;

/// The gradient of one output with respect to every node. A value of its own: it does not refer
/// to the graph, the tape or the workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    graph: u32,
    by_node: Vec<f64>,
}

impl Gradients {
    /// `d output / d node`.
    ///
    /// # Errors
    /// [`Error::ForeignNode`] for a node of another graph; [`Error::NodeAfterCompile`] for one created after the tape was compiled.
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

impl Tape {
    /// `d output / d node` of the last backward pass.
    ///
    /// A node inside a neuron (see [`Tape::value`]) has its adjoint computed again from where
    /// the last backward pass entered that neuron.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::WorkspaceMismatch`];
    /// [`Error::PassNotRun`] if no backward pass has run since the last forward pass.
    pub fn gradient(&self, ws: &Workspace, node: impl Into<NodeId>) -> Result<f64> {
        self.check_workspace(ws)?;
        let node = self.check(node.into())?;
        self.check_backward_done(ws, || format!("the gradient of {}", self.name(node)))?;
        Ok(self.adjoint(ws, node))
    }

    fn adjoint(&self, ws: &Workspace, node: u32) -> f64 {
        match self.rows.row(node) {
            Some(row) => ws.adjoints[row as usize],
            None => self.inner_adjoint(ws, node),
        }
    }

    /// The adjoint of a `mul` or `add` node inside a neuron, from where the last backward pass
    /// entered that neuron (0 if it did not).
    fn inner_adjoint(&self, ws: &Workspace, node: u32) -> f64 {
        let (k, inputs, entry) = self.inner_node(ws, node);
        let Instr::Neuron { op, out, .. } = self.instrs[k] else {
            unreachable!("internal error: inner_node gives a neuron")
        };
        let mul_node = self.rows.node(out) - 2;
        let (from, g) = match ws.output {
            o if o == u32::MAX || o < mul_node => return 0.0,
            o if o == mul_node => (Entry::Mul, ws.seed),
            o if o == mul_node + 1 => (Entry::Add, ws.seed),
            _ => (Entry::Out, ws.adjoints[out as usize]),
        };
        let y = ws.values[out as usize];
        let n = neuron_adjoints(self.unary_ops[op as usize], inputs, y, g, from);
        if entry == Entry::Mul { n.mul } else { n.add }
    }

    /// Adds the last backward pass's gradient with respect to each parameter to `acc[slot]`:
    /// the explicit accumulation over associations.
    ///
    /// # Errors
    /// [`Error::ParamCount`] if `acc` does not have one entry per parameter;
    /// [`Error::WorkspaceMismatch`]; [`Error::PassNotRun`] if no backward pass has run since
    /// the last forward pass.
    pub fn accumulate_param_gradients(&self, ws: &Workspace, acc: &mut [f64]) -> Result<()> {
        self.check_workspace(ws)?;
        self.check_backward_done(ws, || "the parameters' gradients".into())?;
        if acc.len() != self.params.len() {
            return Err(Error::ParamCount {
                expected: self.params.len(),
                got: acc.len(),
            });
        }
        for (acc, &row) in acc.iter_mut().zip(&self.param_rows) {
            *acc += ws.adjoints[row as usize];
        }
        Ok(())
    }

    /// The last backward pass's gradient with respect to every node, as a value of its own.
    ///
    /// # Errors
    /// [`Error::WorkspaceMismatch`]; [`Error::PassNotRun`] if no backward pass has run since
    /// the last forward pass.
    pub fn gradients_of(&self, ws: &Workspace) -> Result<Gradients> {
        self.check_workspace(ws)?;
        self.check_backward_done(ws, || "the gradients".into())?;
        let by_node = (0..self.nodes as u32)
            .map(|node| self.adjoint(ws, node))
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
