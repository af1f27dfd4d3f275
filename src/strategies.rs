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

use proptest::collection::vec;
use proptest::prelude::*;

use crate::graph::{Graph, NodeId};
use crate::op::{Binary, Op, Unary};

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

/// What is known of a node's value: `|v| <= bound`, and `v >= positive` when `positive > 0`.
#[derive(Clone, Copy)]
struct Range {
    bound: f64,
    positive: f64,
}

/// Largest value bound an op may produce; keeps products and exponentials finite and keeps
/// finite differences well conditioned.
const MAX_BOUND: f64 = 50.0;
/// Smallest value `ln`, `/` and negative powers may take as operand.
const MIN_POSITIVE: f64 = 0.1;
/// Largest third derivative a node may have along any one input or parameter, at the case's
/// leaf values. Central differences of step `h` err by `h^2 |f'''| / 6`: with the default step
/// (`h <= 6e-6 * 2` for leaves in `[-2, 2]`) that is at most `2.4e-11 * 1e4 = 2.4e-7`.
/// Bounded values alone do not bound it: `tanh` of a node of slope 200 has `|f'''| ~ 1e7`.
const MAX_THIRD: f64 = 1e4;

/// A node's value and its first three derivatives along one input or parameter, at the case's
/// leaf values: `[v, v', v'', v''']`. Computed here, apart from the engine's own derivatives.
type Jet = [f64; 4];

/// The jet of `y = f(u)` from `f` and its first three derivatives at `u`:
/// `y' = f' u'`, `y'' = f'' u'^2 + f' u''`, `y''' = f''' u'^3 + 3 f'' u' u'' + f' u'''`.
fn compose(f: [f64; 4], u: Jet) -> Jet {
    [
        f[0],
        f[1] * u[1],
        f[2] * u[1] * u[1] + f[1] * u[2],
        f[3] * u[1].powi(3) + 3.0 * f[2] * u[1] * u[2] + f[1] * u[3],
    ]
}

/// The jet of `a b` (Leibniz): `(ab)''' = a''' b + 3 a'' b' + 3 a' b'' + a b'''`.
fn product(a: Jet, b: Jet) -> Jet {
    [
        a[0] * b[0],
        a[1] * b[0] + a[0] * b[1],
        a[2] * b[0] + 2.0 * a[1] * b[1] + a[0] * b[2],
        a[3] * b[0] + 3.0 * a[2] * b[1] + 3.0 * a[1] * b[2] + a[0] * b[3],
    ]
}

/// `[f(x), f'(x), f''(x), f'''(x)]` for a unary op, from the textbook formulas.
fn unary_derivatives(op: Unary, x: f64) -> [f64; 4] {
    match op {
        Unary::Identity => [x, 1.0, 0.0, 0.0],
        Unary::Neg => [-x, -1.0, 0.0, 0.0],
        Unary::Exp => [x.exp(); 4],
        Unary::Ln => [x.ln(), 1.0 / x, -1.0 / (x * x), 2.0 / x.powi(3)],
        Unary::Sigmoid => {
            // s' = s (1 - s), s'' = s' (1 - 2s), s''' = s' (1 - 6s + 6s^2)
            let s = 1.0 / (1.0 + (-x).exp());
            let d = s * (1.0 - s);
            [s, d, d * (1.0 - 2.0 * s), d * (1.0 - 6.0 * s + 6.0 * s * s)]
        }
        Unary::Tanh => {
            // t' = 1 - t^2, t'' = -2 t t', t''' = t' (6 t^2 - 2)
            let t = x.tanh();
            let d = 1.0 - t * t;
            [t, d, -2.0 * t * d, d * (6.0 * t * t - 2.0)]
        }
        Unary::Relu if x > 0.0 => [x, 1.0, 0.0, 0.0],
        Unary::Relu => [0.0; 4],
        Unary::LeakyRelu { .. } if x > 0.0 => [x, 1.0, 0.0, 0.0],
        Unary::LeakyRelu { slope } => [slope * x, slope, 0.0, 0.0],
        Unary::Powf { exponent: p } => {
            // c x^(p - k); a zero coefficient stays 0 where x^(p - k) is infinite (x^2 at 0)
            let term = |c: f64, k: f64| if c == 0.0 { 0.0 } else { c * x.powf(p - k) };
            [
                x.powf(p),
                term(p, 1.0),
                term(p * (p - 1.0), 2.0),
                term(p * (p - 1.0) * (p - 2.0), 3.0),
            ]
        }
        Unary::Step { low } => [if x > 0.0 { 1.0 } else { low }, 0.0, 0.0, 0.0],
    }
}

/// The jet of an op's output from its operands' jets along the same coordinate.
fn op_jet(op: Op, operands: &[Jet]) -> Jet {
    let add = |a: Jet, b: Jet| -> Jet { std::array::from_fn(|k| a[k] + b[k]) };
    match op {
        Op::Unary(u) => compose(unary_derivatives(u, operands[0][0]), operands[0]),
        Op::Binary(Binary::Add) => add(operands[0], operands[1]),
        Op::Binary(Binary::Sub) => add(operands[0], operands[1].map(|v| -v)),
        Op::Binary(Binary::Mul) => product(operands[0], operands[1]),
        Op::Binary(Binary::Div) => {
            let recip = unary_derivatives(Unary::Powf { exponent: -1.0 }, operands[1][0]);
            product(operands[0], compose(recip, operands[1]))
        }
        Op::Sum => operands.iter().fold([0.0; 4], |acc, &a| add(acc, a)),
        Op::Dot => operands
            .chunks_exact(2)
            .fold([0.0; 4], |acc, pair| add(acc, product(pair[0], pair[1]))),
        // the first maximum, as the engine takes it
        Op::Max => *operands
            .iter()
            .reduce(|m, a| if a[0] > m[0] { a } else { m })
            .expect("internal error: max has operands"),
    }
}

/// The jets of the op `(op, operands)` along every coordinate, or `None` if some third
/// derivative is above [`MAX_THIRD`] (or not finite).
fn gentle(op: Op, operands: &[usize], jets: &[Vec<Jet>], coordinates: usize) -> Option<Vec<Jet>> {
    let out: Vec<Jet> = (0..coordinates)
        .map(|j| {
            let at: Vec<Jet> = operands.iter().map(|&i| jets[i][j]).collect();
            op_jet(op, &at)
        })
        .collect();
    out.iter()
        .all(|jet| jet.iter().all(|v| v.is_finite()) && jet[3].abs() <= MAX_THIRD)
        .then_some(out)
}

fn pick(choice: u32, len: usize) -> usize {
    // Half of the picks among the 4 most recent nodes (depth), half anywhere (skip connections).
    let recent = 4.min(len);
    if choice.is_multiple_of(2) {
        len - 1 - (choice as usize / 2) % recent
    } else {
        (choice as usize / 2) % len
    }
}

/// Turns raw random choices into a DAG, applying each op only where it keeps values bounded
/// and third derivatives at most [`MAX_THIRD`]; elsewhere `tanh` of the first operand, or if
/// that is too steep too, its identity.
fn from_choices(leaves: Vec<(u8, f64)>, choices: Vec<(u8, u32, u32, u32)>, kinks: bool) -> DagSpec {
    let mut ranges: Vec<Range> = Vec::new();
    // The coordinates finite differences move: the inputs and parameters, in leaf order.
    let coordinates = leaves.iter().filter(|(kind, _)| kind % 3 != 2).count();
    let mut jets: Vec<Vec<Jet>> = Vec::new();
    let mut coordinate = 0;
    let leaves: Vec<LeafSpec> = leaves
        .into_iter()
        .map(|(kind, v)| {
            let leaf = match kind % 3 {
                0 => LeafSpec::Input(v),
                1 => LeafSpec::Param(v),
                _ => LeafSpec::Const(v),
            };
            let positive = if matches!(leaf, LeafSpec::Const(_)) && v >= MIN_POSITIVE {
                v
            } else {
                0.0
            };
            ranges.push(Range {
                bound: v.abs(),
                positive,
            });
            let moves = !matches!(leaf, LeafSpec::Const(_));
            jets.push(
                (0..coordinates)
                    .map(|j| [v, f64::from(u8::from(moves && j == coordinate)), 0.0, 0.0])
                    .collect(),
            );
            coordinate += usize::from(moves);
            leaf
        })
        .collect();
    let mut ops = Vec::with_capacity(choices.len());
    for (kind, c1, c2, c3) in choices {
        let len = ranges.len();
        let a = pick(c1, len);
        // One op in eight reuses `a` as its second operand: x * x, x + x, x - x.
        let b = if c2 % 8 == 0 { a } else { pick(c2, len) };
        let (ra, rb) = (ranges[a], ranges[b]);
        let squash = (
            Op::Unary(Unary::Tanh),
            vec![a],
            Range {
                bound: 1.0,
                positive: 0.0,
            },
        );
        let candidate = match kind % 16 {
            0 | 1 => (
                Op::Binary(Binary::Add),
                vec![a, b],
                Range {
                    bound: ra.bound + rb.bound,
                    positive: if ra.positive > 0.0 && rb.positive > 0.0 {
                        ra.positive + rb.positive
                    } else {
                        0.0
                    },
                },
            ),
            2 => (
                Op::Binary(Binary::Sub),
                vec![a, b],
                Range {
                    bound: ra.bound + rb.bound,
                    positive: 0.0,
                },
            ),
            3 | 4 => (
                Op::Binary(Binary::Mul),
                vec![a, b],
                Range {
                    bound: ra.bound * rb.bound,
                    positive: ra.positive * rb.positive,
                },
            ),
            5 if rb.positive >= MIN_POSITIVE => (
                Op::Binary(Binary::Div),
                vec![a, b],
                Range {
                    bound: ra.bound / rb.positive,
                    positive: 0.0,
                },
            ),
            6 => (
                Op::Unary(Unary::Sigmoid),
                vec![a],
                Range {
                    bound: 1.0,
                    positive: 1.0 / (1.0 + ra.bound.exp()),
                },
            ),
            7 => squash.clone(),
            8 => (
                Op::Unary(Unary::Exp),
                vec![a],
                Range {
                    bound: ra.bound.exp(),
                    positive: (-ra.bound).exp(),
                },
            ),
            9 if ra.positive >= MIN_POSITIVE => (
                Op::Unary(Unary::Ln),
                vec![a],
                Range {
                    bound: ra.bound.ln().abs().max(ra.positive.ln().abs()),
                    positive: 0.0,
                },
            ),
            10 => (
                Op::Unary(Unary::Neg),
                vec![a],
                Range {
                    bound: ra.bound,
                    positive: 0.0,
                },
            ),
            11 => (Op::Unary(Unary::Identity), vec![a], ra),
            12 => {
                let exponent = [2.0, 3.0, 0.5, -1.0][c3 as usize % 4];
                if exponent > 1.0 || ra.positive >= MIN_POSITIVE {
                    let bound = if exponent > 0.0 {
                        ra.bound.powf(exponent)
                    } else {
                        1.0 / ra.positive
                    };
                    (
                        Op::Unary(Unary::Powf { exponent }),
                        vec![a],
                        Range {
                            bound,
                            positive: 0.0,
                        },
                    )
                } else {
                    squash.clone()
                }
            }
            13 => {
                let n = 1 + c3 as usize % 5;
                let terms: Vec<usize> = (0..n)
                    .map(|k| pick(c1.wrapping_add(k as u32 * 7919), len))
                    .collect();
                let bound = terms.iter().map(|&t| ranges[t].bound).sum();
                (
                    Op::Sum,
                    terms,
                    Range {
                        bound,
                        positive: 0.0,
                    },
                )
            }
            14 => {
                let n = 1 + c3 as usize % 4;
                let mut terms = Vec::with_capacity(2 * n);
                let mut bound = 0.0;
                for k in 0..n as u32 {
                    let (p, q) = (
                        pick(c1.wrapping_add(k * 7919), len),
                        pick(c2.wrapping_add(k * 104_729), len),
                    );
                    bound += ranges[p].bound * ranges[q].bound;
                    terms.extend([p, q]);
                }
                (
                    Op::Dot,
                    terms,
                    Range {
                        bound,
                        positive: 0.0,
                    },
                )
            }
            15 if kinks => {
                if c3 % 2 == 0 {
                    (
                        Op::Unary(Unary::Relu),
                        vec![a],
                        Range {
                            bound: ra.bound,
                            positive: 0.0,
                        },
                    )
                } else {
                    (
                        Op::Unary(Unary::LeakyRelu { slope: 0.01 }),
                        vec![a],
                        Range {
                            bound: ra.bound,
                            positive: 0.0,
                        },
                    )
                }
            }
            _ => squash.clone(),
        };
        let bounded = if candidate.2.bound.is_finite() && candidate.2.bound <= MAX_BOUND {
            candidate
        } else {
            squash.clone()
        };
        let (op, operands, range, jet) = [bounded, squash]
            .into_iter()
            .find_map(|(op, operands, range)| {
                let jet = gentle(op, &operands, &jets, coordinates)?;
                Some((op, operands, range, jet))
            })
            // the identity of `a` keeps `a`'s jets, within the limit
            .unwrap_or_else(|| (Op::Unary(Unary::Identity), vec![a], ra, jets[a].clone()));
        ops.push((op, operands));
        ranges.push(range);
        jets.push(jet);
    }
    with_output(leaves, ops, &ranges, &jets)
}

/// Designates the output of a random DAG so that every node feeds it: the nodes without a
/// consumer (constant leaves aside) are the DAG's sinks, every other node is an ancestor of one
/// of them. A single sink (the last op) is the output; several are weighed by one new constant
/// leaf `c` in a `dot` node, `y = sum_i c s_i` with
/// `c = min(1, 50 / sum_i bound(s_i), 1e4 / max_j sum_i |d^3 s_i / dx_j^3|)`, so that `|y| <= 50`
/// and `|d^3 y / dx_j^3| <= 1e4` along every input or parameter `x_j`, like every other node.
fn with_output(
    mut leaves: Vec<LeafSpec>,
    mut ops: Vec<(Op, Vec<usize>)>,
    ranges: &[Range],
    jets: &[Vec<Jet>],
) -> DagSpec {
    let len = leaves.len() + ops.len();
    let mut consumed = vec![false; len];
    for (_, operands) in &ops {
        for &i in operands {
            consumed[i] = true;
        }
    }
    let sinks: Vec<usize> = (0..len)
        .filter(|&i| !consumed[i] && !matches!(leaves.get(i), Some(LeafSpec::Const(_))))
        .collect();
    if let [only] = sinks[..] {
        return DagSpec {
            leaves,
            ops,
            output: only,
        };
    }
    let total: f64 = sinks.iter().map(|&i| ranges[i].bound).sum();
    let coordinates = jets.first().map_or(0, Vec::len);
    let steepest = (0..coordinates)
        .map(|j| sinks.iter().map(|&i| jets[i][j][3].abs()).sum::<f64>())
        .fold(0.0, f64::max);
    // a zero denominator gives infinity, which the minimum ignores
    let weight = [1.0, MAX_BOUND / total, MAX_THIRD / steepest]
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    // The weight is a leaf, and leaves come first: the ops move up by one node.
    let c = leaves.len();
    let shift = |i: usize| if i >= c { i + 1 } else { i };
    leaves.push(LeafSpec::Const(weight));
    for (_, operands) in &mut ops {
        for i in operands.iter_mut() {
            *i = shift(*i);
        }
    }
    ops.push((Op::Dot, sinks.iter().flat_map(|&i| [shift(i), c]).collect()));
    let output = leaves.len() + ops.len() - 1;
    DagSpec {
        leaves,
        ops,
        output,
    }
}

/// Random DAGs of `nodes` random nodes (at least 2): 1 to 8 leaves (inputs, parameters,
/// constants with values in `[-2, 2]`) then ops drawn from every op kind, with fan-out, shared
/// parameters, `x * x` and skip connections. With `kinks`, ReLU and leaky ReLU appear too (test
/// code must then keep their inputs away from 0 before comparing with finite differences).
///
/// The output ([`DagSpec::output`]) is an op that every input and parameter feeds: the last
/// random op if it is the only node without a consumer, or else one more op,
/// `y = sum_i c s_i` (a `dot`) over the nodes `s_i` without a consumer, with one more constant
/// leaf `c`; so a spec has up to `nodes + 2` nodes.
///
/// Every node, the output included, stays within `|v| <= 50`, and at the spec's leaf values its
/// third derivative along any one input or parameter `x_j` stays within `|d^3 v / dx_j^3| <=
/// 1e4` (an op that would break either is replaced by `tanh` of its first operand, or if that
/// is too steep, its identity; `c = min(1, 50 / sum_i bound(s_i), 1e4 / max_j sum_i |d^3 s_i /
/// dx_j^3|)`). Central differences of step `h <= 1.2e-5` then err by at most
/// `h^2 / 6 * 1e4 ~ 2.4e-7` from truncation.
pub fn dag(nodes: std::ops::RangeInclusive<usize>, kinks: bool) -> impl Strategy<Value = DagSpec> {
    let (lo, hi) = (*nodes.start().max(&2), *nodes.end().max(&2));
    (lo..=hi).prop_flat_map(move |n| {
        let n_leaves = 1..=(n - 1).clamp(1, 8);
        n_leaves.prop_flat_map(move |l| {
            (
                vec((any::<u8>(), -2.0f64..2.0), l),
                vec(any::<(u8, u32, u32, u32)>(), n - l),
            )
                .prop_map(move |(leaves, choices)| from_choices(leaves, choices, kinks))
        })
    })
}

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

/// Random layered networks: `hidden` hidden layers (the issue's 1 to 4), widths 1 to 6, a random
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
