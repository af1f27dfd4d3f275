//! One association through a layered network, read back in the tutorial's notation.

use super::{Connection, Mlp};
use crate::error::{Error, Result};
use crate::tape::Workspace;

impl Mlp {
    fn association(&self, input: &[f64], target: &[f64], into: &mut Vec<f64>) -> Result<()> {
        let (n_in, n_out) = (self.spec.sizes[0], self.targets.len());
        if input.len() != n_in {
            return Err(Error::Shape {
                what: "input values (width of layer 0)".into(),
                expected: n_in,
                got: input.len(),
            });
        }
        if target.len() != n_out {
            return Err(Error::Shape {
                what: "target values (width of the output layer)".into(),
                expected: n_out,
                got: target.len(),
            });
        }
        into.extend_from_slice(input);
        into.extend_from_slice(target);
        Ok(())
    }

    /// One association's forward and backward pass, readable in the tutorial's notation.
    ///
    /// # Errors
    /// [`Error::Shape`] for an input or target of the wrong width; in anomaly mode
    /// ([`Mlp::set_anomaly_mode`]), [`Error::Anomaly`] naming the first node whose value or
    /// gradient is not finite.
    pub fn evaluate(&self, input: &[f64], target: &[f64]) -> Result<Evaluation<'_>> {
        self.evaluate_with_params(&self.params, input, target)
    }

    /// [`Mlp::evaluate`] with other parameter values (in the layout of [`Mlp::params`]), for
    /// instance the weights after an update, without changing the network.
    ///
    /// # Errors
    /// [`Error::Shape`]; [`Error::ParamCount`]; in anomaly mode, [`Error::Anomaly`] (a
    /// non-finite parameter is named as itself).
    pub fn evaluate_with_params(
        &self,
        params: &[f64],
        input: &[f64],
        target: &[f64],
    ) -> Result<Evaluation<'_>> {
        let mut values = Vec::with_capacity(input.len() + target.len());
        self.association(input, target, &mut values)?;
        let mut ws = self.tape.workspace();
        ws.set_anomaly_mode(self.anomaly);
        self.tape.set_params(&mut ws, params)?;
        self.tape.forward(&mut ws, &values)?;
        self.tape.backward(&mut ws, self.loss)?;
        Ok(Evaluation { net: self, ws })
    }

    /// The output layer's values for one input (the targets are irrelevant and set to 0).
    ///
    /// # Errors
    /// [`Error::Shape`] for an input of the wrong width; in anomaly mode, [`Error::Anomaly`] if
    /// an output is not finite, naming the first node that is not (the loss, computed against
    /// zero targets, is not checked).
    pub fn predict(&self, input: &[f64]) -> Result<Vec<f64>> {
        let zeros = vec![0.0; self.targets.len()];
        let mut values = Vec::new();
        self.association(input, &zeros, &mut values)?;
        let mut ws = self.tape.workspace();
        self.tape.set_params(&mut ws, &self.params)?;
        self.tape.forward(&mut ws, &values)?;
        let outputs = self.y[self.layers()]
            .iter()
            .map(|&k| self.tape.value(&ws, k))
            .collect::<Result<Vec<f64>>>()?;
        if self.anomaly && outputs.iter().any(|y| !y.is_finite()) {
            // Again, checked: the outputs come before the targets and the loss in creation
            // order, so the first non-finite node is one of them or feeds one of them.
            ws.set_anomaly_mode(true);
            self.tape.forward(&mut ws, &values)?;
        }
        Ok(outputs)
    }
}

/// One association's forward and backward pass through a layered network, in the tutorial's
/// notation. Deltas are `delta_j = dE_t/dx_j`, gradients `dE_t/dw_ij`, all read from the
/// graph's reverse sweep.
#[derive(Debug)]
pub struct Evaluation<'n> {
    net: &'n Mlp,
    ws: Workspace,
}

impl Evaluation<'_> {
    /// The value of every node of the network's graph, by node index (for pictures).
    pub fn node_values(&self) -> Vec<f64> {
        self.net
            .graph
            .nodes()
            .map(|n| {
                self.net
                    .tape
                    .value(&self.ws, n)
                    .expect("internal error: the graph's nodes are in its tape")
            })
            .collect()
    }

    /// `dE_t/d node` for every node of the network's graph.
    pub fn gradients(&self) -> crate::tape::Gradients {
        self.net
            .tape
            .gradients_of(&self.ws)
            .expect("internal error: the evaluation's workspace is its tape's")
    }

    /// `x` of node `node` of layer `layer` (for layer 0, the input).
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn x(&self, layer: usize, node: usize) -> Result<f64> {
        self.net.tape.value(&self.ws, self.net.x_node(layer, node)?)
    }

    /// `y = f(x)` of node `node` of layer `layer`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn y(&self, layer: usize, node: usize) -> Result<f64> {
        self.net.tape.value(&self.ws, self.net.y_node(layer, node)?)
    }

    /// `delta = dE_t/dx` of node `node` of layer `layer`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn delta(&self, layer: usize, node: usize) -> Result<f64> {
        self.net
            .tape
            .gradient(&self.ws, self.net.x_node(layer, node)?)
    }

    /// The output layer's values.
    pub fn output(&self) -> Vec<f64> {
        let last = self.net.layers();
        (0..self.net.sizes()[last])
            .map(|k| {
                self.y(last, k)
                    .expect("internal error: output node in range")
            })
            .collect()
    }

    /// The error `E_t` of this association.
    pub fn error(&self) -> f64 {
        self.net
            .tape
            .value(&self.ws, self.net.loss)
            .expect("internal error: the loss node is in the tape")
    }

    /// `dE_t/dw_ij` of the connection.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn weight_gradient(&self, connection: Connection) -> Result<f64> {
        let slot = self.net.weight_slot(connection)?;
        self.net
            .tape
            .gradient(&self.ws, self.net.tape.param_node(slot))
    }

    /// `dE_t/db_j` of node `to` of layer `layer + 1`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn bias_gradient(&self, layer: usize, to: usize) -> Result<f64> {
        let slot = self.net.bias_slot(layer, to)?;
        self.net
            .tape
            .gradient(&self.ws, self.net.tape.param_node(slot))
    }
}
