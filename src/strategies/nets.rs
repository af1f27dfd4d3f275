//! Random networks: layered ones an [`crate::nn::Mlp`] builds, and skip-connected ones it cannot.

use proptest::collection::vec;
use proptest::prelude::*;

use super::{DagSpec, LeafSpec};
use crate::op::{Op, Unary};

/// A random layered network with data: the specification, `T` associations and a reduction.
#[derive(Clone, Debug, PartialEq)]
pub struct LayeredCase {
    /// The network (uniform initialisation in `[-1, 1)` with a random seed).
    pub spec: crate::nn::MlpSpec,
    /// `T x width(0)` input values in `[-2, 2]`.
    pub inputs: Vec<f64>,
    /// `T x width(L)` target values in `[-2, 2]`.
    pub targets: Vec<f64>,
    /// How the associations' errors combine.
    pub reduction: crate::nn::Reduction,
}

fn activation() -> impl Strategy<Value = crate::nn::Activation> {
    use crate::nn::Activation;
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Relu),
        (0.01f64..0.3).prop_map(Activation::LeakyRelu),
    ]
}

/// Random layered networks: `hidden` hidden layers (the 1 to 4), widths 1 to 6, a random
/// activation per layer, bias `+1`, `-1` or none, 1 to 5 associations, `Sum` or `Mean`, half
/// squared error or (with identity output) softmax cross-entropy. Test code comparing with
/// finite differences must keep ReLU inputs away from 0.
pub fn layered(hidden: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = LayeredCase> {
    use crate::nn::{Bias, Init, Loss, MlpSpec, Reduction};
    (hidden, 1usize..=5).prop_flat_map(|(h, t)| {
        (
            vec(1usize..=6, h + 2),
            vec(activation(), h + 1),
            prop_oneof![
                Just(Bias::None),
                Just(Bias::Node(1.0)),
                Just(Bias::Node(-1.0))
            ],
            any::<u64>(),
            prop_oneof![Just(Reduction::Sum), Just(Reduction::Mean)],
            any::<bool>(),
            Just(t),
        )
            .prop_flat_map(
                |(sizes, activations, bias, seed, reduction, cross_entropy, t)| {
                    let (n_in, n_out) = (sizes[0], sizes[sizes.len() - 1]);
                    (vec(-2.0f64..2.0, t * n_in), vec(-2.0f64..2.0, t * n_out)).prop_map(
                        move |(inputs, targets)| {
                            let mut activations = activations.clone();
                            let loss = if cross_entropy {
                                *activations.last_mut().expect("at least one layer") =
                                    crate::nn::Activation::Identity;
                                Loss::SoftmaxCrossEntropy
                            } else {
                                Loss::HalfSquaredError
                            };
                            let spec = MlpSpec::new(
                                &sizes,
                                crate::nn::Activation::Identity,
                                crate::nn::Activation::Identity,
                            )
                            .with_activations(&activations)
                            .with_bias(bias)
                            .with_init(Init::Uniform {
                                low: -1.0,
                                high: 1.0,
                            })
                            .with_seed(seed)
                            .with_loss(loss);
                            LayeredCase {
                                spec,
                                inputs,
                                targets,
                                reduction,
                            }
                        },
                    )
                },
            )
    })
}

/// Random layered topologies that no [`crate::nn::Mlp`] can express, as a [`DagSpec`]: 3 to 5
/// layers of 1 to 4 nodes, inputs first; every neuron is a `dot` over every node of the layer
/// before and a random third of the nodes of the earlier layers (skip connections), activations
/// are sigmoid or tanh, and the first neuron with two connections uses one weight for both (a
/// shared weight). Every weight is used. The output ([`DagSpec::output`]) is the single neuron
/// of the last layer, or the `sum` of its neurons, so that every weight feeds it.
pub fn skip_net() -> impl Strategy<Value = DagSpec> {
    (vec(1usize..=4, 3..=5), any::<u64>()).prop_map(|(widths, seed)| {
        use rand::RngExt;
        let mut rng = crate::nn::Init::rng(seed);
        let mut leaves = Vec::new();
        let mut ops: Vec<(Op, Vec<usize>)> = Vec::new();
        let n_inputs = widths[0];
        for _ in 0..n_inputs {
            leaves.push(LeafSpec::Input(rng.random_range(-2.0..2.0)));
        }
        // Weights are leaves too, so all leaves come first: count the connections beforehand.
        let mut connections = Vec::new(); // (layer, neuron, sources as (layer, index))
        for l in 1..widths.len() {
            for j in 0..widths[l] {
                let mut sources = Vec::new();
                for (m, &w) in widths[..l].iter().enumerate() {
                    for i in 0..w {
                        if m + 1 == l || rng.random_range(0..3) == 0 {
                            sources.push((m, i));
                        }
                    }
                }
                connections.push((l, j, sources));
            }
        }
        // one weight per connection, but the shared weight serves two
        let connection_count: usize = connections.iter().map(|c| c.2.len()).sum();
        let sharing = connections.iter().any(|c| c.2.len() >= 2);
        let weight_count = connection_count - usize::from(sharing);
        let first_weight = leaves.len();
        for _ in 0..weight_count {
            leaves.push(LeafSpec::Param(rng.random_range(-1.0..1.0)));
        }
        // node index of (layer, neuron): inputs are leaves 0..n_inputs; neurons are ops.
        let mut node_of: Vec<Vec<usize>> = vec![(0..n_inputs).collect()];
        let mut next_weight = first_weight;
        let mut shared = false;
        for (l, _, sources) in connections {
            if node_of.len() <= l {
                node_of.push(Vec::new());
            }
            let mut operands: Vec<usize> = Vec::new();
            for (k, &(m, i)) in sources.iter().enumerate() {
                // the first neuron with two inputs uses one weight for both: a shared weight
                let weight = if k == 1 && !shared {
                    shared = true;
                    operands[1]
                } else {
                    next_weight += 1;
                    next_weight - 1
                };
                operands.extend([node_of[m][i], weight]);
            }
            let x = leaves.len() + ops.len();
            ops.push((Op::Dot, operands));
            let act = if (l + node_of[l].len()).is_multiple_of(2) {
                Unary::Sigmoid
            } else {
                Unary::Tanh
            };
            ops.push((Op::Unary(act), vec![x]));
            node_of[l].push(x + 1);
        }
        debug_assert_eq!(
            next_weight,
            first_weight + weight_count,
            "every weight is used"
        );
        let outputs = node_of.pop().expect("at least 3 layers");
        let output = if let [only] = outputs[..] {
            only
        } else {
            // sigmoid and tanh are within [-1, 1]: the sum of up to 4 of them within [-4, 4]
            ops.push((Op::Sum, outputs));
            leaves.len() + ops.len() - 1
        };
        DagSpec {
            leaves,
            ops,
            output,
        }
    })
}
