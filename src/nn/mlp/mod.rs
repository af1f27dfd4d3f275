//! The layered network: its specification (`spec.rs`), its lowering to graph nodes (here),
//! its weights by [`Connection`] (`weights.rs`), one association in the tutorial's notation
//! (`evaluation.rs`) and the error and gradient over many (`gradient.rs`).

mod evaluation;
mod gradient;
mod spec;
mod weights;

use std::sync::Arc;

pub use evaluation::Evaluation;
pub use spec::MlpSpec;
pub use weights::Connection;

use crate::batch::Plan;
use crate::error::{Error, Result};
use crate::graph::Expr;
use crate::graph::{Graph, NodeId};
use crate::nn::{Bias, Init};
use crate::tape::Tape;

/// A layered network, held as a graph of scalar ops (one `dot` node per neuron input `x_j`, one
/// activation node per `y_j`, the loss as nodes), with its current weights.
///
/// Weights are addressed as in the tutorial: `w_ij` of layer `l` connects node `i` of layer `l`
/// to node `j` of layer `l + 1`. The flat parameter vector is, layer by layer, `W[l]`
/// out-major (`W[l][j][i]`) then `b[l]`.
///
/// The graph's nodes carry labels in the tutorial's notation, by which the tape's calls name
/// them ([`Tape::associations_by_label`], [`Tape::association_by_label`], error messages):
/// the inputs `x0[i]`, then (after every layer) the targets `target[k]`, one per output `k`;
/// the weights `w{l}[i->j]` (as [`Connection`] prints them) and bias weights `b{l}[j]`; the
/// bias node `bias`; each neuron's `x{l}[j]` and `y{l}[j]`; the loss of one association `E`.
/// An association's values are the inputs in order, then the targets in order.
///
/// # Examples
/// ```
/// use backprop::gradcheck::{Tolerances, check_graph};
/// use backprop::nn::{Activation, MlpSpec};
/// let net = MlpSpec::new(&[2, 2, 1], Activation::Tanh, Activation::Identity).build()?;
/// let tape = net.tape();
/// let data = tape.associations_by_label([
///     ("x0[0]", [0.0, 1.0]),
///     ("x0[1]", [1.0, 1.0]),
///     ("target[0]", [1.0, 0.0]),
/// ])?;
/// assert_eq!(data, [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
/// assert!(check_graph(tape, net.loss_node(), &data, Tolerances::default())?.passed());
/// # Ok::<(), backprop::Error>(())
/// ```
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
    /// [`Mlp::predict`] (see [`crate::Workspace::set_anomaly_mode`]): when on, a pass stops at the
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

    /// The graph the network is made of, its parameters at the network's current weights (set,
    /// loaded or trained): [`crate::symbolic`] and [`crate::gradcheck`] on it see those weights.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The compiled graph, its initial parameters at the network's current weights: a new
    /// workspace, [`Tape::gradients`] and [`Tape::evaluate`] start from them.
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

    /// The target input nodes `y'_k`, labelled `target[k]`, in slot order after the inputs.
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
