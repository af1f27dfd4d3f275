//! The layered network: a specification, its lowering to graph nodes, and the tutorial's
//! notation (x, y, delta per node; w per connection) read back from the graph's passes.

use std::sync::Arc;

use crate::batch::{Batch, Plan};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::graph::{Graph, NodeId};
use crate::nn::{Activation, Bias, Init, Loss, Reduction};
use crate::tape::{Tape, Workspace};

/// What a layered network is: layer sizes, an activation per layer, bias, initialisation, loss.
///
/// Layer 0 is the input layer (identity: `y_i = x_i`); layers `1..=L` compute
/// `x_j = sum_i w_ij y_i + b_j * bias` and `y_j = f_l(x_j)`.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpSpec {
    /// Nodes per layer, input layer first; at least 2 layers, none empty.
    pub sizes: Vec<usize>,
    /// The activation of layers `1..=L` (one per layer after the input).
    pub activations: Vec<Activation>,
    /// The bias node.
    pub bias: Bias,
    /// How weights start.
    pub init: Init,
    /// Seed of the initialisation's random generator.
    pub seed: u64,
    /// The error of one association.
    pub loss: Loss,
}

impl MlpSpec {
    /// Layers of `sizes`, `hidden` activation on every hidden layer and `output` on the last;
    /// bias `+1`, Xavier initialisation with seed 0, half squared error.
    ///
    /// # Examples
    /// ```
    /// use backprop::nn::{Activation, Bias, Init, MlpSpec};
    /// // the tutorial's worked example: 2x2x1, no bias, every weight 0.5
    /// let net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
    ///     .with_bias(Bias::None)
    ///     .with_init(Init::Constant(0.5))
    ///     .build()?;
    /// let e = net.evaluate(&[1.0, 1.0], &[0.5])?;
    /// assert!((e.y(2, 0)? - 0.731).abs() < 5e-4);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn new(sizes: &[usize], hidden: Activation, output: Activation) -> MlpSpec {
        let layers = sizes.len().saturating_sub(1);
        let mut activations = vec![hidden; layers];
        if let Some(last) = activations.last_mut() {
            *last = output;
        }
        MlpSpec {
            sizes: sizes.to_vec(),
            activations,
            bias: Bias::default(),
            init: Init::Xavier,
            seed: 0,
            loss: Loss::HalfSquaredError,
        }
    }

    /// With this bias.
    pub fn with_bias(mut self, bias: Bias) -> MlpSpec {
        self.bias = bias;
        self
    }

    /// With this initialisation.
    pub fn with_init(mut self, init: Init) -> MlpSpec {
        self.init = init;
        self
    }

    /// With this seed.
    pub fn with_seed(mut self, seed: u64) -> MlpSpec {
        self.seed = seed;
        self
    }

    /// With this loss.
    pub fn with_loss(mut self, loss: Loss) -> MlpSpec {
        self.loss = loss;
        self
    }

    /// With one activation per layer after the input.
    pub fn with_activations(mut self, activations: &[Activation]) -> MlpSpec {
        self.activations = activations.to_vec();
        self
    }

    /// Checks the specification.
    ///
    /// # Errors
    /// [`Error::InvalidNetwork`] for fewer than 2 layers, a layer of width 0, the wrong number
    /// of activations or a non-finite bias or slope; [`Error::InvalidOption`] for a bad
    /// initialisation.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidNetwork(m));
        if self.sizes.len() < 2 {
            return bad(format!(
                "a network needs at least 2 layers (input and output), got {}",
                self.sizes.len()
            ));
        }
        if let Some(l) = self.sizes.iter().position(|&n| n == 0) {
            return bad(format!("layer {l} has width 0"));
        }
        if self.activations.len() != self.sizes.len() - 1 {
            return bad(format!(
                "expected {} activations (one per layer after the input), got {}",
                self.sizes.len() - 1,
                self.activations.len()
            ));
        }
        for (l, a) in self.activations.iter().enumerate() {
            if let Activation::LeakyRelu(slope) = a
                && !slope.is_finite()
            {
                return bad(format!(
                    "layer {}: leaky_relu slope {slope} is not finite",
                    l + 1
                ));
            }
        }
        if let Bias::Node(v) = self.bias
            && !v.is_finite()
        {
            return bad(format!("the bias node's value {v} is not finite"));
        }
        self.init.validate()
    }

    /// Lowers the specification to a graph, compiles it and draws the initial weights.
    ///
    /// # Errors
    /// Those of [`MlpSpec::validate`].
    pub fn build(&self) -> Result<Mlp> {
        self.validate()?;
        Mlp::lower(self.clone())
    }
}

/// A layered network, held as a graph of scalar ops (one `dot` node per neuron input `x_j`, one
/// activation node per `y_j`, the loss as nodes), with its current weights.
///
/// Weights are addressed as in the tutorial: `w_ij` of layer `l` connects node `i` of layer `l`
/// to node `j` of layer `l + 1`. The flat parameter vector is, layer by layer, `W[l]`
/// out-major (`W[l][j][i]`) then `b[l]`.
#[derive(Debug)]
pub struct Mlp {
    spec: MlpSpec,
    graph: Graph,
    tape: Arc<Tape>,
    /// The tape laid out for blocks of associations, for the gradient of the loss.
    plan: Arc<Plan>,
    params: Vec<f64>,
    targets: Vec<NodeId>,
    /// `x[l][j]`, `y[l][j]` for layers `0..=L` (layer 0: the input leaves, `x = y`).
    x: Vec<Vec<NodeId>>,
    y: Vec<Vec<NodeId>>,
    /// Offset of `W[l]` in the parameter vector; `b[l]` follows it.
    offsets: Vec<usize>,
    bias_node: Option<NodeId>,
    loss: NodeId,
    /// Whether [`Mlp::evaluate`] and [`Mlp::predict`] run in anomaly mode.
    anomaly: bool,
}

impl Mlp {
    fn lower(spec: MlpSpec) -> Result<Mlp> {
        let graph = Graph::new();
        let mut rng = Init::rng(spec.seed);
        let mut params = Vec::new();
        let mut offsets = Vec::new();
        let (x, y, targets, bias_node, loss) = {
            let g = &graph;
            let inputs: Vec<Expr<'_>> = (0..spec.sizes[0])
                .map(|i| g.input(&format!("x0[{i}]")))
                .collect();
            let bias = match spec.bias {
                Bias::None => None,
                Bias::Node(v) => Some(g.constant(v).labelled("bias")),
            };
            let mut xs = vec![inputs.clone()];
            let mut ys = vec![inputs];
            for l in 0..spec.sizes.len() - 1 {
                let (n_in, n_out) = (spec.sizes[l], spec.sizes[l + 1]);
                let (w, b) = spec.init.layer(&mut rng, n_in, n_out);
                offsets.push(params.len());
                let weights: Vec<Expr<'_>> = (0..n_out * n_in)
                    .map(|k| g.param(&format!("w{l}[{}->{}]", k % n_in, k / n_in), w[k]))
                    .collect();
                params.extend_from_slice(&w);
                let bias_weights: Vec<Expr<'_>> = match bias {
                    Some(_) => (0..n_out)
                        .map(|j| g.param(&format!("b{l}[{j}]"), b[j]))
                        .collect(),
                    None => Vec::new(),
                };
                if bias.is_some() {
                    params.extend_from_slice(&b);
                }
                let activation = spec.activations[l].unary();
                let (mut layer_x, mut layer_y) = (Vec::new(), Vec::new());
                for j in 0..n_out {
                    let mut pairs: Vec<(Expr<'_>, Expr<'_>)> = (0..n_in)
                        .map(|i| (ys[l][i], weights[j * n_in + i]))
                        .collect();
                    if let Some(bias) = bias {
                        pairs.push((bias, bias_weights[j]));
                    }
                    let xj = g.dot(&pairs).labelled(&format!("x{}[{j}]", l + 1));
                    layer_y.push(xj.apply(activation).labelled(&format!("y{}[{j}]", l + 1)));
                    layer_x.push(xj);
                }
                xs.push(layer_x);
                ys.push(layer_y);
            }
            let outputs = ys
                .last()
                .expect("internal error: at least 2 layers")
                .clone();
            let targets: Vec<Expr<'_>> = (0..outputs.len())
                .map(|k| g.input(&format!("target[{k}]")))
                .collect();
            let loss = spec.loss.build(g, &outputs, &targets).labelled("E");
            let ids = |v: &Vec<Vec<Expr<'_>>>| -> Vec<Vec<NodeId>> {
                v.iter()
                    .map(|l| l.iter().map(|e| e.id()).collect())
                    .collect()
            };
            (
                ids(&xs),
                ids(&ys),
                targets.iter().map(|e| e.id()).collect(),
                bias.map(|b| b.id()),
                loss.id(),
            )
        };
        let tape = Arc::new(graph.compile()?);
        let plan = Arc::new(Plan::new(&tape, loss.index() as u32));
        Ok(Mlp {
            spec,
            graph,
            tape,
            plan,
            params,
            targets,
            x,
            y,
            offsets,
            bias_node,
            loss,
            anomaly: false,
        })
    }

    /// Turns anomaly mode on or off for [`Mlp::evaluate`], [`Mlp::evaluate_with_params`] and
    /// [`Mlp::predict`] (see [`Workspace::set_anomaly_mode`]): when on, a pass stops at the
    /// first node whose value or gradient is not finite (a NaN or infinite input, target or
    /// weight, an overflow) and reports it as [`Error::Anomaly`], naming the node by its label
    /// (`x0[0]`, `w0[1->0]`, `x1[0]`, `E`, ...). Off by default: IEEE arithmetic, no checks.
    /// Training does not use it: [`crate::train::train`] checks each epoch's error and weights.
    ///
    /// # Examples
    /// ```
    /// use backprop::nn::{Activation, Bias, Init, MlpSpec};
    /// let mut net = MlpSpec::new(&[1, 1], Activation::Identity, Activation::Identity)
    ///     .with_bias(Bias::None)
    ///     .with_init(Init::Constant(1e300))
    ///     .build()?;
    /// assert_eq!(net.predict(&[1e10])?, vec![f64::INFINITY]);
    /// net.set_anomaly_mode(true);
    /// let err = net.predict(&[1e10]).unwrap_err();
    /// assert_eq!(err.to_string(), "forward pass: node 2 (x1[0]) = dot gave inf from operands [10000000000.0, 1e300]");
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn set_anomaly_mode(&mut self, on: bool) {
        self.anomaly = on;
    }

    /// Whether anomaly mode is on (see [`Mlp::set_anomaly_mode`]).
    pub fn anomaly_mode(&self) -> bool {
        self.anomaly
    }

    /// The specification the network was built from.
    pub fn spec(&self) -> &MlpSpec {
        &self.spec
    }

    /// Nodes per layer, input layer first.
    pub fn sizes(&self) -> &[usize] {
        &self.spec.sizes
    }

    /// The number of layers after the input (`L`).
    pub fn layers(&self) -> usize {
        self.spec.sizes.len() - 1
    }

    /// The graph the network is made of.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The compiled graph.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// The node of `E_t`, the error of one association.
    pub fn loss_node(&self) -> NodeId {
        self.loss
    }

    /// The bias node, if the network has one.
    pub fn bias_node(&self) -> Option<NodeId> {
        self.bias_node
    }

    /// The target input nodes `y'_k`.
    pub fn target_nodes(&self) -> &[NodeId] {
        &self.targets
    }

    fn check_node(&self, layer: usize, node: usize) -> Result<()> {
        let len = self.spec.sizes.len();
        if layer >= len {
            return Err(Error::OutOfRange {
                what: "layer".into(),
                index: layer,
                len,
            });
        }
        if node >= self.spec.sizes[layer] {
            return Err(Error::OutOfRange {
                what: format!("node of layer {layer}"),
                index: node,
                len: self.spec.sizes[layer],
            });
        }
        Ok(())
    }

    /// The node holding `x` (the weighted input) of node `node` of layer `layer`; for layer 0,
    /// the input leaf.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn x_node(&self, layer: usize, node: usize) -> Result<NodeId> {
        self.check_node(layer, node)?;
        Ok(self.x[layer][node])
    }

    /// The node holding `y = f(x)` of node `node` of layer `layer`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn y_node(&self, layer: usize, node: usize) -> Result<NodeId> {
        self.check_node(layer, node)?;
        Ok(self.y[layer][node])
    }

    /// The slot of `w_ij` of layer `layer` (from node `from` of layer `layer` to node `to` of
    /// layer `layer + 1`) in the parameter vector.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn weight_slot(&self, layer: usize, from: usize, to: usize) -> Result<usize> {
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
        self.weight_slot(layer, 0, to)?; // checks the layer and the node
        Ok(self.offsets[layer] + self.spec.sizes[layer] * self.spec.sizes[layer + 1] + to)
    }

    /// `w_ij` of layer `layer`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn weight(&self, layer: usize, from: usize, to: usize) -> Result<f64> {
        Ok(self.params[self.weight_slot(layer, from, to)?])
    }

    /// Sets `w_ij` of layer `layer`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`]; [`Error::NonFiniteConstant`] for a non-finite value.
    pub fn set_weight(&mut self, layer: usize, from: usize, to: usize, value: f64) -> Result<()> {
        let slot = self.weight_slot(layer, from, to)?;
        finite(value, || format!("weight w{layer}[{from}->{to}]"))?;
        self.params[slot] = value;
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
        Ok(())
    }

    /// The flat parameter vector (layer by layer, `W[l]` out-major then `b[l]`).
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// The flat parameter vector, for optimisers.
    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
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
        Ok(())
    }

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

    /// A reusable workspace for [`Mlp::batch_gradient`], evaluating `lanes` associations per
    /// pass.
    ///
    /// # Errors
    /// [`Error::NoLanes`] for 0 lanes.
    pub fn batch(&self, lanes: usize) -> Result<Batch> {
        self.batch_with_threads(lanes, 1)
    }

    /// [`Mlp::batch`] with `threads` worker threads (results do not depend on their number).
    ///
    /// # Errors
    /// [`Error::NoLanes`] for 0 lanes; [`Error::InvalidOption`] for 0 threads.
    pub fn batch_with_threads(&self, lanes: usize, threads: usize) -> Result<Batch> {
        let loss = self.loss.index() as u32;
        Batch::new(self.tape.clone(), self.plan.clone(), loss, lanes, threads)
    }

    /// The error `E` of the associations (`inputs`: `T x width(0)`, `targets`:
    /// `T x width(L)`, one after the other) under `reduction`, and its gradient with respect to
    /// every parameter, **added** to `grad` (the accumulation is the caller's to reset).
    ///
    /// Runs through the graph: forward and backward over blocks of `lanes` associations, each
    /// lane's backward seeded with `dE/dE_t` (1 for `Sum`, `1/T` for `Mean`).
    ///
    /// # Errors
    /// [`Error::NoAssociations`] for empty data; [`Error::Shape`] for data whose length is not
    /// `T` associations; [`Error::ParamCount`] for
    /// a `grad` of the wrong length; [`Error::WorkspaceMismatch`] for a batch of another network.
    pub fn batch_gradient(
        &self,
        batch: &mut Batch,
        inputs: &[f64],
        targets: &[f64],
        reduction: Reduction,
        grad: &mut [f64],
    ) -> Result<f64> {
        let (n_in, n_out) = (self.spec.sizes[0], self.targets.len());
        let t_count = inputs.len() / n_in;
        if inputs.is_empty() {
            return Err(Error::NoAssociations);
        }
        if inputs.len() != t_count * n_in || targets.len() != t_count * n_out || t_count == 0 {
            return Err(Error::Shape {
                what: format!(
                    "targets for {} associations of {n_in} inputs (got {} input values)",
                    t_count,
                    inputs.len()
                ),
                expected: t_count * n_out,
                got: targets.len(),
            });
        }
        if grad.len() != self.params.len() {
            return Err(Error::ParamCount {
                expected: self.params.len(),
                got: grad.len(),
            });
        }
        if !batch.runs(&self.plan) {
            return Err(Error::WorkspaceMismatch {
                workspace_nodes: batch.tape().len(),
                tape_nodes: self.tape.len(),
            });
        }
        let weight = reduction.weight(t_count);
        let sources = [(inputs, n_in), (targets, n_out)];
        let error = batch.run(&self.params, &sources, t_count, weight, grad)?;
        Ok(error * weight)
    }

    /// The error `E` of the associations under `reduction` and its gradient, in a fresh vector.
    ///
    /// # Errors
    /// As [`Mlp::batch_gradient`].
    pub fn gradient(
        &self,
        inputs: &[f64],
        targets: &[f64],
        reduction: Reduction,
    ) -> Result<(f64, Vec<f64>)> {
        let mut grad = vec![0.0; self.params.len()];
        let mut batch = self.batch(1)?;
        let e = self.batch_gradient(&mut batch, inputs, targets, reduction, &mut grad)?;
        Ok((e, grad))
    }
}

fn finite(value: f64, what: impl FnOnce() -> String) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFiniteConstant {
            what: what(),
            value,
        })
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

    /// `dE_t/dw_ij` of layer `layer`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`].
    pub fn weight_gradient(&self, layer: usize, from: usize, to: usize) -> Result<f64> {
        let slot = self.net.weight_slot(layer, from, to)?;
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
