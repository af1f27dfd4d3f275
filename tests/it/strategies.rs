//! The public strategies keep their promises: a designated output that every input and
//! parameter feeds, every value within the stated bound, and no weight of `skip_net` left
//! without a consumer.

use backprop::strategies::{DagSpec, Kinks, LeafSpec, dag, skip_net};
use backprop::{Error, Graph, NodeId, NodeKind, Op, Unary, symbolic};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

/// The bound the strategies' docs promise on every value.
const MAX_BOUND: f64 = 50.0;
/// The bound `dag`'s doc promises on third derivatives along one input or parameter.
const MAX_THIRD: f64 = 1e4;

fn config() -> Config {
    Config {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/strategies.txt",
        ))),
        ..Config::default()
    }
}

/// Which nodes are ancestors of `output` (itself included), by walking operands from it: the
/// nodes whose gradient reverse mode may make nonzero.
fn ancestors(g: &Graph, output: NodeId) -> Vec<bool> {
    let mut seen = vec![false; g.len()];
    seen[output.index()] = true;
    let mut stack = vec![output];
    while let Some(node) = stack.pop() {
        for operand in g.operands(node).unwrap() {
            if !seen[operand.index()] {
                seen[operand.index()] = true;
                stack.push(operand);
            }
        }
    }
    seen
}

/// Whether some op of `g` takes `node` as an operand.
fn consumed(g: &Graph) -> Vec<bool> {
    let mut used = vec![false; g.len()];
    for node in g.nodes() {
        for operand in g.operands(node).unwrap() {
            used[operand.index()] = true;
        }
    }
    used
}

/// Checks that the output is an op and that every input and parameter is one of its ancestors.
fn output_reaches_every_leaf(spec: &DagSpec) -> Result<(), TestCaseError> {
    let g = Graph::new();
    let ids = spec.build(&g).unwrap();
    let output = ids[spec.output];
    prop_assert!(matches!(g.kind(output).unwrap(), NodeKind::Op(_)));
    let reached = ancestors(&g, output);
    for leaf in g.param_nodes().into_iter().chain(g.input_nodes()) {
        prop_assert!(
            reached[leaf.index()],
            "leaf {} does not feed the output {}",
            leaf.index(),
            output.index()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// The output is built so that every node without a consumer feeds it, so every leaf but a
    /// constant is an ancestor of it in every case (before the output was designated, the last
    /// node reached 59% of the parameters).
    #[test]
    fn every_input_and_parameter_of_a_dag_feeds_its_output(spec in dag(2..=200, Kinks::Anywhere)) {
        output_reaches_every_leaf(&spec)?;
    }

    /// Every value of a random DAG, the output's included, is finite and within the documented
    /// bound of 50, up to the rounding of the bounds themselves.
    #[test]
    fn every_value_of_a_dag_is_within_the_bound(spec in dag(2..=200, Kinks::Anywhere)) {
        let g = Graph::new();
        spec.build(&g).unwrap();
        let tape = g.compile().unwrap();
        let mut ws = tape.workspace();
        tape.forward(&mut ws, &spec.input_values()).unwrap();
        for node in g.nodes() {
            let v = tape.value(&ws, node).unwrap();
            prop_assert!(v.abs() <= MAX_BOUND * (1.0 + 1e-12), "node {}: {}", node.index(), v);
        }
    }

    /// `ln` and `/` only see operands >= 0.1, as documented.
    #[test]
    fn ln_and_division_stay_away_from_zero(spec in dag(2..=200, Kinks::Anywhere)) {
        let g = Graph::new();
        spec.build(&g).unwrap();
        let tape = g.compile().unwrap();
        let mut ws = tape.workspace();
        tape.forward(&mut ws, &spec.input_values()).unwrap();
        for node in g.nodes() {
            let guarded = match g.kind(node).unwrap() {
                NodeKind::Op(Op::Unary(Unary::Ln)) => Some(g.operands(node).unwrap()[0]),
                NodeKind::Op(Op::Binary(backprop::Binary::Div)) => Some(g.operands(node).unwrap()[1]),
                _ => None,
            };
            if let Some(operand) = guarded {
                let v = tape.value(&ws, operand).unwrap();
                prop_assert!(v >= 0.1, "node {} of {}: operand {}", node.index(), g.len(), v);
            }
        }
    }

    /// The output's third derivative along every input and parameter, at the case's leaf
    /// values, is within the documented 1e4 (so that central differences of step 1.2e-5 err by
    /// at most 2.4e-7), up to the rounding of the strategy's own computation of it. Measured
    /// here through the gradient graph, differentiated three times.
    #[test]
    fn third_derivatives_of_a_dag_output_are_within_the_limit(spec in dag(2..=80, Kinks::Anywhere)) {
        let g = Graph::new();
        let ids = spec.build(&g).unwrap();
        let output = ids[spec.output];
        let coordinates: Vec<NodeId> = g.input_nodes().into_iter().chain(g.param_nodes()).collect();
        let mut third = Vec::new();
        for &x in &coordinates {
            let mut d = output;
            for _ in 0..3 {
                d = symbolic::gradient(&g, d, &[x]).unwrap().gradients[0];
            }
            third.push(d);
        }
        let tape = g.compile().unwrap();
        let mut ws = tape.workspace();
        tape.forward(&mut ws, &spec.input_values()).unwrap();
        for (&x, &d) in coordinates.iter().zip(&third) {
            let v = tape.value(&ws, d).unwrap();
            prop_assert!(v.abs() <= MAX_THIRD * (1.0 + 1e-6), "d3 output / d node {}^3 = {}", x.index(), v);
        }
    }

    /// Every weight `skip_net` creates is an operand of some op, and feeds the output.
    #[test]
    fn every_weight_of_a_skip_net_is_used_and_feeds_the_output(spec in skip_net()) {
        let g = Graph::new();
        spec.build(&g).unwrap();
        let used = consumed(&g);
        for p in g.param_nodes() {
            prop_assert!(used[p.index()], "weight {} has no consumer", p.index());
        }
        output_reaches_every_leaf(&spec)?;
    }
}

/// Over 2,000 deterministic cases of `dag(2..=200, Kinks::Anywhere)`, nearly every parameter gets a
/// nonzero gradient from the output. Measured: 2,887 of 2,923 parameters (98.8%); the others
/// sit behind a ReLU at a negative input, in `x - x`, or under a saturated squash. The bar,
/// 95%, leaves a margin for another random stream (proptest's); before the output was
/// designated, the last node reached 1,463 (50%).
#[test]
fn the_output_of_a_dag_has_a_nonzero_gradient_for_nearly_every_parameter() {
    let mut runner = TestRunner::deterministic();
    let strategy = dag(2..=200, Kinks::Anywhere);
    let (mut params, mut nonzero) = (0usize, 0usize);
    for _ in 0..2000 {
        let spec = strategy.new_tree(&mut runner).unwrap().current();
        let g = Graph::new();
        let ids = spec.build(&g).unwrap();
        let grads = g
            .compile()
            .unwrap()
            .gradients(&spec.input_values(), ids[spec.output])
            .unwrap();
        for p in g.param_nodes() {
            params += 1;
            nonzero += usize::from(grads.wrt(p).unwrap() != 0.0);
        }
    }
    let share = nonzero as f64 / params as f64;
    assert!(
        share >= 0.95,
        "{nonzero} of {params} parameters ({:.1}%) have a nonzero gradient",
        100.0 * share
    );
}

#[test]
fn a_spec_whose_output_is_not_a_node_is_rejected_before_building() {
    let spec = DagSpec {
        leaves: vec![LeafSpec::Param(1.0)],
        ops: vec![(Op::Unary(Unary::Tanh), vec![0])],
        output: 2,
    };
    let g = Graph::new();
    assert!(matches!(
        spec.build(&g),
        Err(Error::UnknownNode { index: 2, len: 2 })
    ));
    assert!(g.is_empty());
}

/// `Kinks` says where ReLU, leaky ReLU and `abs` may be: nowhere, anywhere, or with operands
/// at least a margin from their kink (the helper `DagSpec::kink_clearance` measures it, through
/// the engine's forward pass, apart from the strategy's own bookkeeping). Over 300
/// deterministic cases each: no kink with `Excluded`; kinks with a margin, all clear of it.
#[test]
fn kinks_are_excluded_or_kept_clear_of_zero_as_asked() {
    let mut runner = TestRunner::deterministic();
    let margin = 1e-3;
    let (mut clear, mut excluded) = (0, 0);
    let with_margin = dag(2..=60, Kinks::AwayFromZero { margin });
    let smooth = dag(2..=60, Kinks::Excluded);
    for _ in 0..300 {
        let spec = with_margin.new_tree(&mut runner).unwrap().current();
        if let Some(d) = spec.kink_clearance().unwrap() {
            assert!(d >= margin, "a kink's operand is {d} from 0: {spec:?}");
            clear += 1;
        }
        let spec = smooth.new_tree(&mut runner).unwrap().current();
        excluded += usize::from(spec.kink_clearance().unwrap().is_some());
    }
    assert_eq!(excluded, 0);
    assert!(clear > 50, "only {clear} of 300 cases have a kink");
}
