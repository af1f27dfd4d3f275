//! The random DAG strategy: raw random choices turned into a bounded [`DagSpec`] with an output.

use proptest::collection::vec;
use proptest::prelude::*;

use super::jet::{Jet, MAX_THIRD, gentle};
use super::{DagSpec, Kinks, LeafSpec};
use crate::op::{Binary, Op, Unary};

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
fn from_choices(
    leaves: Vec<(u8, f64)>,
    choices: Vec<(u8, u32, u32, u32)>,
    kinks: Kinks,
) -> DagSpec {
    let mut ranges: Vec<Range> = Vec::new();
    // The coordinates finite differences move: the inputs and parameters, in leaf order.
    // (at least one, which nothing moves when every leaf is a constant, so that every node's
    // jets carry its value)
    let coordinates = leaves
        .iter()
        .filter(|(kind, _)| kind % 3 != 2)
        .count()
        .max(1);
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
            // `max`, a kink where its operands tie: their gap at the leaf values
            15 if c3 % 4 == 3 && a != b && kinks.allows(jets[a][0][0] - jets[b][0][0]) => (
                Op::Max,
                vec![a, b],
                Range {
                    bound: ra.bound.max(rb.bound),
                    positive: 0.0,
                },
            ),
            // the operand's value at the leaf values
            15 if kinks.allows(jets[a][0][0]) => {
                if c3 % 3 == 2 {
                    (
                        Op::Unary(Unary::Abs),
                        vec![a],
                        Range {
                            bound: ra.bound,
                            positive: 0.0,
                        },
                    )
                } else if c3 % 3 == 0 {
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
/// constants with values in `[-2, 2]`) then ops drawn from every op kind but `step`, with
/// fan-out, shared parameters, `x * x` and skip connections. ReLU, leaky ReLU, `abs` and `max`
/// (of two operands, their gap its kink's operand) appear as `kinks` says: [`Kinks::AwayFromZero`] for tests that compare with finite differences,
/// which straddle a kink whose operand is within a step of 0.
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
///
/// # Examples
/// ```
/// use backprop::strategies::{Kinks, dag};
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// let mut runner = TestRunner::deterministic();
/// let strategy = dag(2..=40, Kinks::AwayFromZero { margin: 1e-3 });
/// let spec = strategy.new_tree(&mut runner).unwrap().current();
/// assert!(spec.kink_clearance()?.is_none_or(|d| d >= 1e-3));
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn dag(nodes: std::ops::RangeInclusive<usize>, kinks: Kinks) -> impl Strategy<Value = DagSpec> {
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
