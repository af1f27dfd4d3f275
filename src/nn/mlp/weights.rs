//! A layered network's weights, addressed as in the tutorial: `w_ij` of layer `l` by a named
//! [`Connection`], or as the flat parameter vector.

use std::fmt;
use std::sync::Arc;

use super::{Mlp, finite};
use crate::error::{Error, Result};

/// One connection `w_ij` of a layered network: from node `from` (`i`) of layer `layer` to node
/// `to` (`j`) of layer `layer + 1`.
///
/// The fields are named because the two orders meet here: the tutorial writes `w_ij` from `i`
/// to `j`, while the nested lists of [`Mlp::weights`] and the textbook arrays are out-major,
/// `W[l][j][i]`. A connection prints as the graph labels its weight, `w0[2->1]`.
///
/// ```
/// use backprop::nn::{Activation, Connection, MlpSpec};
///
/// let mut net = MlpSpec::new(&[3, 2, 1], Activation::Sigmoid, Activation::Identity).build()?;
/// let w = Connection { layer: 0, from: 2, to: 1 };
/// net.set_weight(w, 6.0)?;
/// assert_eq!(net.weights()[0][1][2], 6.0); // out-major: [layer][to][from]
/// assert_eq!(w.to_string(), "w0[2->1]");
/// assert_eq!(format!("[{w:<10}]"), "[w0[2->1]  ]");
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Connection {
    /// The layer of the node the connection leaves (`0` for the inputs).
    pub layer: usize,
    /// The node it leaves, in layer `layer` (`i`).
    pub from: usize,
    /// The node it enters, in layer `layer + 1` (`j`).
    pub to: usize,
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`: width, fill and alignment apply, as for a string (`{c:<10}`)
        f.pad(&format!("w{}[{}->{}]", self.layer, self.from, self.to))
    }
}

impl Mlp {
    /// The slot of the connection's weight in the parameter vector.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn weight_slot(&self, connection: Connection) -> Result<usize> {
        let Connection { layer, from, to } = connection;
        if layer >= self.layers() {
            return Err(Error::OutOfRange {
                what: "weight layer".into(),
                index: layer,
                len: self.layers(),
            });
        }
        self.check_node(layer, from)?;
        self.check_node(layer + 1, to)?;
        Ok(self.offsets[layer] + to * self.spec.sizes[layer] + from)
    }

    /// The slot of the bias weight `b_j` of node `to` of layer `layer + 1`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`], also when the network has no bias.
    pub fn bias_slot(&self, layer: usize, to: usize) -> Result<usize> {
        if self.bias_node.is_none() {
            return Err(Error::OutOfRange {
                what: "bias weight (the network has no bias)".into(),
                index: to,
                len: 0,
            });
        }
        // checks the layer and the node
        self.weight_slot(Connection { layer, from: 0, to })?;
        Ok(self.offsets[layer] + self.spec.sizes[layer] * self.spec.sizes[layer + 1] + to)
    }

    /// The connection's weight `w_ij`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn weight(&self, connection: Connection) -> Result<f64> {
        Ok(self.params[self.weight_slot(connection)?])
    }

    /// Sets the connection's weight `w_ij`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`]; [`Error::NonFiniteConstant`] for a non-finite value.
    pub fn set_weight(&mut self, connection: Connection, value: f64) -> Result<()> {
        let slot = self.weight_slot(connection)?;
        finite(value, || format!("weight {connection}"))?;
        self.params[slot] = value;
        self.sync();
        Ok(())
    }

    /// The bias weight `b_j` of node `to` of layer `layer + 1`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn bias_weight(&self, layer: usize, to: usize) -> Result<f64> {
        Ok(self.params[self.bias_slot(layer, to)?])
    }

    /// The weights out-major, `W[l][j][i]`.
    pub fn weights(&self) -> Vec<Vec<Vec<f64>>> {
        (0..self.layers())
            .map(|l| {
                let n_in = self.spec.sizes[l];
                self.params[self.offsets[l]..self.offsets[l] + n_in * self.spec.sizes[l + 1]]
                    .chunks_exact(n_in)
                    .map(|row| row.to_vec())
                    .collect()
            })
            .collect()
    }

    /// The bias weights `b[l][j]` (empty lists without a bias).
    pub fn biases(&self) -> Vec<Vec<f64>> {
        (0..self.layers())
            .map(|l| match self.bias_node {
                Some(_) => {
                    let start = self.offsets[l] + self.spec.sizes[l] * self.spec.sizes[l + 1];
                    self.params[start..start + self.spec.sizes[l + 1]].to_vec()
                }
                None => Vec::new(),
            })
            .collect()
    }

    /// Sets every weight from `W[l][j][i]` and `b[l][j]` (pass empty lists for `b` without a
    /// bias). Nothing changes unless everything is valid.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the first list of the wrong length; [`Error::NonFiniteConstant`]
    /// naming the first non-finite weight.
    pub fn set_weights(&mut self, w: &[Vec<Vec<f64>>], b: &[Vec<f64>]) -> Result<()> {
        let mut params = Vec::with_capacity(self.params.len());
        let shape = crate::error::expect_len;
        shape("weight layers W".into(), self.layers(), w.len())?;
        shape("bias layers b".into(), self.layers(), b.len())?;
        for l in 0..self.layers() {
            let (n_in, n_out) = (self.spec.sizes[l], self.spec.sizes[l + 1]);
            shape(format!("rows of W[{l}]"), n_out, w[l].len())?;
            for (j, row) in w[l].iter().enumerate() {
                shape(format!("columns of W[{l}][{j}]"), n_in, row.len())?;
                for (i, &v) in row.iter().enumerate() {
                    finite(v, || format!("weight W[{l}][{j}][{i}]"))?;
                }
                params.extend_from_slice(row);
            }
            let expected = if self.bias_node.is_some() { n_out } else { 0 };
            shape(format!("b[{l}]"), expected, b[l].len())?;
            for (j, &v) in b[l].iter().enumerate() {
                finite(v, || format!("bias weight b[{l}][{j}]"))?;
            }
            params.extend_from_slice(&b[l]);
        }
        self.params = params;
        self.sync();
        Ok(())
    }

    /// The flat parameter vector (layer by layer, `W[l]` out-major then `b[l]`).
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// Sets the flat parameter vector.
    ///
    /// # Errors
    /// [`Error::ParamCount`]; [`Error::NonFiniteConstant`].
    pub fn set_params(&mut self, params: &[f64]) -> Result<()> {
        if params.len() != self.params.len() {
            return Err(Error::ParamCount {
                expected: self.params.len(),
                got: params.len(),
            });
        }
        for (k, &v) in params.iter().enumerate() {
            finite(v, || format!("parameter {k}"))?;
        }
        self.params.copy_from_slice(params);
        self.sync();
        Ok(())
    }

    /// Hands the current weights to the graph and the tape, so that whatever the network hands
    /// out ([`Mlp::graph`], [`Mlp::tape`]) answers with them.
    pub(crate) fn sync(&mut self) {
        self.graph
            .set_param_values(&self.params)
            .expect("internal error: the network's parameters fit its graph and are finite");
        Arc::make_mut(&mut self.tape)
            .set_param_values(&self.params)
            .expect("internal error: the network's parameters fit its tape");
    }

    /// The flat parameter vector, to be changed in place by training, which calls
    /// [`Mlp::sync`] when it is done.
    pub(crate) fn params_in_training(&mut self) -> &mut [f64] {
        &mut self.params
    }
}
