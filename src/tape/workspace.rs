//! The values and adjoints of one association, separate from the tape and the graph.

use super::{Instr, Tape};
use crate::error::{Error, Result};
use crate::graph::NodeId;
use crate::op::Binary;

/// Values and adjoints of one tape, for one association at a time.
///
/// Made by [`Tape::workspace`]; it starts with the graph's constants and the parameters'
/// initial values.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub(super) tape: u64,
    pub(super) nodes: usize,
    pub(super) values: Vec<f64>,
    pub(super) adjoints: Vec<f64>,
    pub(super) anomaly: bool,
    /// Whether a forward pass has run.
    pub(super) forward_done: bool,
    /// The node the last backward pass started from (`u32::MAX` before the first, and after a
    /// forward pass, which makes the adjoints stale) and its seed, from which a node inside a
    /// neuron finds its adjoint.
    pub(super) output: u32,
    pub(super) seed: f64,
}

impl Workspace {
    /// Turns anomaly mode on or off. When on, [`Tape::forward`] and [`Tape::backward`] stop at
    /// the first node whose value or adjoint is not finite and report it as [`Error::Anomaly`]
    /// (naming the node, its op and its operand values). Off by default; when off it costs
    /// nothing but one branch per pass.
    pub fn set_anomaly_mode(&mut self, on: bool) {
        self.anomaly = on;
    }

    /// Whether anomaly mode is on.
    pub fn anomaly_mode(&self) -> bool {
        self.anomaly
    }
}

impl Tape {
    /// A workspace for this tape.
    ///
    /// # Complexity
    /// Allocates `2 * 8 * rows` bytes, with a row for every node but the `mul` and `add` inside
    /// each neuron `unary(a * b + c)` (see [`Tape::value`]).
    pub fn workspace(&self) -> Workspace {
        let mut ws = Workspace {
            tape: self.id,
            nodes: self.nodes,
            values: vec![0.0; self.row_count()],
            adjoints: vec![0.0; self.row_count()],
            anomaly: false,
            forward_done: false,
            output: u32::MAX,
            seed: 0.0,
        };
        for &(row, value) in &self.consts {
            ws.values[row as usize] = value;
        }
        for (&row, &value) in self.param_rows.iter().zip(&self.param_init) {
            ws.values[row as usize] = value;
        }
        ws
    }

    /// [`Error::PassNotRun`] if no backward pass has run since the last forward pass.
    pub(super) fn check_backward_done(
        &self,
        ws: &Workspace,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        if ws.output == u32::MAX {
            return Err(Error::PassNotRun {
                pass: "backward",
                what: what(),
            });
        }
        Ok(())
    }

    pub(super) fn check_workspace(&self, ws: &Workspace) -> Result<()> {
        if ws.tape != self.id {
            return Err(Error::WorkspaceMismatch {
                workspace_nodes: ws.nodes,
                tape_nodes: self.nodes,
            });
        }
        Ok(())
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
        for (&row, &value) in self.param_rows.iter().zip(params) {
            ws.values[row as usize] = value;
        }
        Ok(())
    }

    /// The current parameter values of a workspace, in slot order.
    pub fn params(&self, ws: &Workspace) -> Vec<f64> {
        self.param_rows
            .iter()
            .map(|&row| ws.values[row as usize])
            .collect()
    }

    /// The value of `node` in the last forward pass.
    ///
    /// The `mul` and `add` nodes inside a neuron `unary(a * b + c)` (compiled as one
    /// instruction when each is used once, by the next node) have no room in the workspace:
    /// their values are computed again from `a`, `b` and `c`, with the same operations, so
    /// with the same bits unless a parameter among them was set since the forward pass.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`]; [`Error::WorkspaceMismatch`];
    /// [`Error::PassNotRun`] before any forward pass.
    pub fn value(&self, ws: &Workspace, node: impl Into<NodeId>) -> Result<f64> {
        self.check_workspace(ws)?;
        let node = self.check(node.into())?;
        if !ws.forward_done {
            return Err(Error::PassNotRun {
                pass: "forward",
                what: format!("the value of {}", self.name(node)),
            });
        }
        Ok(match self.rows.row(node) {
            Some(row) => ws.values[row as usize],
            None => {
                let (_, [va, vb, vc], entry) = self.inner_node(ws, node);
                let x = Binary::Mul.value(va, vb);
                if entry == Entry::Mul {
                    x
                } else {
                    Binary::Add.value(x, vc)
                }
            }
        })
    }

    /// The neuron of `node` (a node without a row): its instruction's index, its operands'
    /// values, and which of its nodes `node` is.
    pub(super) fn inner_node(&self, ws: &Workspace, node: u32) -> (usize, [f64; 3], Entry) {
        let (k, entry) = self.neuron_of(node);
        let Instr::Neuron { start, .. } = self.instrs[k] else {
            unreachable!("internal error: neuron_of gives a neuron")
        };
        let inputs = self
            .neuron_operands(start)
            .map(|row| ws.values[row as usize]);
        (k, inputs, entry)
    }

    /// The neuron instruction holding `node`, a node without a row, and which of its two nodes
    /// `node` is.
    pub(super) fn neuron_of(&self, node: u32) -> (usize, Entry) {
        // the `mul` is followed by the `add`, which has no row either; the `add` by the output
        let (out, entry) = match self.rows.row(node + 1) {
            None => (node + 2, Entry::Mul),
            Some(_) => (node + 1, Entry::Add),
        };
        let row = self.rows.row_of(out);
        (self.instrs.partition_point(|i| i.out() < row), entry)
    }
}

/// Where the reverse sweep enters a neuron `y = op(a * b + c)`: at its output (from `dE/dy`), or
/// at its `add` or `mul` node when that node is the output of the backward pass (from its seed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Entry {
    Out,
    Add,
    Mul,
}
