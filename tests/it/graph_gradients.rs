//! Reverse mode over hand-built graphs with closed-form gradients derived in comments, and over
//! random DAGs against central finite differences.

use backprop::{Graph, NodeKind};

#[test]
fn x_times_x_at_3_gives_6() {
    // d(x*x)/dx = 2x: both operands are the same node, both contributions must accumulate
    let g = Graph::new();
    let x = g.input("x");
    let y = x * x;
    assert_eq!(g.operands(y.id()).unwrap(), vec![x.id(), x.id()]);
    let grads = g.compile().unwrap().gradients(&[3.0], y).unwrap();
    assert_eq!(grads.wrt(x).unwrap(), 6.0);
}

#[test]
fn operands_keep_their_order_whatever_the_order_of_creation() {
    // the operand order is the order of the op's edges: never the creation order of the operands
    let g = Graph::new();
    let a = g.input("a");
    let b = g.input("b");
    let c = g.param("c", 2.0);
    let y = b - a;
    let d = g.dot(&[(c, b), (a, a), (b, c)]);
    assert_eq!(g.operands(y.id()).unwrap(), vec![b.id(), a.id()]);
    assert_eq!(
        g.operands(d.id()).unwrap(),
        vec![c.id(), b.id(), a.id(), a.id(), b.id(), c.id()]
    );
    // and the compiled tape reads them in that order: (5 - 2) and 2*5 + 2*2 + 5*2
    let tape = g.compile().unwrap();
    assert_eq!(tape.evaluate(&[2.0, 5.0], y).unwrap(), 3.0);
    assert_eq!(tape.evaluate(&[2.0, 5.0], d).unwrap(), 24.0);
}

#[test]
fn diamond_accumulates_both_paths() {
    // a = 2x, b = x^2 (via powf), c = a * b = 2x^3: dc/dx = 6x^2 = 24 at x = 2
    let g = Graph::new();
    let x = g.input("x");
    let a = 2.0 * x;
    let b = x.powf(2.0);
    let c = a * b;
    let grads = g.compile().unwrap().gradients(&[2.0], c).unwrap();
    assert_eq!(grads.wrt(x).unwrap(), 24.0);
    // intermediate adjoints: dc/da = b = 4, dc/db = a = 4
    assert_eq!(grads.wrt(a).unwrap(), 4.0);
    assert_eq!(grads.wrt(b).unwrap(), 4.0);
}

#[test]
fn operand_order_is_kept() {
    // a - b and a / b are not symmetric: d(a-b)/db = -1, d(a/b)/da = 1/b
    let g = Graph::new();
    let (a, b) = (g.input("a"), g.input("b"));
    let d = a - b;
    let q = a / b;
    let tape = g.compile().unwrap();
    assert_eq!(tape.evaluate(&[5.0, 2.0], d).unwrap(), 3.0);
    assert_eq!(tape.evaluate(&[5.0, 2.0], q).unwrap(), 2.5);
    let gd = tape.gradients(&[5.0, 2.0], d).unwrap();
    assert_eq!((gd.wrt(a).unwrap(), gd.wrt(b).unwrap()), (1.0, -1.0));
    let gq = tape.gradients(&[5.0, 2.0], q).unwrap();
    assert_eq!((gq.wrt(a).unwrap(), gq.wrt(b).unwrap()), (0.5, -1.25)); // 1/b, -a/b^2
}

#[test]
fn shared_weight_skip_connection_and_several_outputs() {
    // h = tanh(w x); y1 = w h + x (skip connection, w shared); y2 = h * h
    // dy1/dw = h + w (1 - h^2) x;  dy1/dx = w (1 - h^2) w + 1;  dy2/dw = 2 h (1 - h^2) x
    let g = Graph::new();
    let x = g.input("x");
    let w = g.param("w", 0.8);
    let h = (w * x).tanh();
    let y1 = w * h + x;
    let y2 = h * h;
    let tape = g.compile().unwrap();
    let xv = 0.6;
    let hv = (0.8f64 * xv).tanh();
    let g1 = tape.gradients(&[xv], y1).unwrap();
    let g2 = tape.gradients(&[xv], y2).unwrap();
    let tol = 4.0 * f64::EPSILON;
    assert!((g1.wrt(w).unwrap() - (hv + 0.8 * (1.0 - hv * hv) * xv)).abs() < tol);
    assert!((g1.wrt(x).unwrap() - (0.8 * (1.0 - hv * hv) * 0.8 + 1.0)).abs() < tol);
    assert!((g2.wrt(w).unwrap() - 2.0 * hv * (1.0 - hv * hv) * xv).abs() < tol);
}

#[test]
fn backward_twice_gives_identical_gradients_and_leaves_the_graph_unchanged() {
    let g = Graph::new();
    let x = g.input("x");
    let w = g.param("w", 0.3);
    let y = (x * w + w).sigmoid() * x;
    let before: Vec<(NodeKind, Vec<_>)> = g
        .nodes()
        .map(|n| (g.kind(n).unwrap(), g.operands(n).unwrap()))
        .collect();
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    tape.forward(&mut ws, &[1.5]).unwrap();
    tape.backward(&mut ws, y).unwrap();
    let first = tape.gradients_of(&ws).unwrap();
    tape.backward(&mut ws, y).unwrap();
    let second = tape.gradients_of(&ws).unwrap();
    assert_eq!(first, second);
    assert!(first.wrt(w).unwrap() != 0.0);
    let after: Vec<(NodeKind, Vec<_>)> = g
        .nodes()
        .map(|n| (g.kind(n).unwrap(), g.operands(n).unwrap()))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn lanes_evaluate_associations_independently_and_sum_gradients() {
    // y = sigmoid(w x); with 3 lanes the parameter gradient is the sum of the three
    // one-association gradients, and each lane's value is its own association's.
    let g = Graph::new();
    let x = g.input("x");
    let w = g.param("w", 0.7);
    let y = (w * x).sigmoid();
    let tape = g.compile().unwrap();
    let xs = [0.5, -2.0, 3.0];
    let mut one = tape.workspace();
    let mut sum_of_gradients = [0.0];
    let mut values = Vec::new();
    for &xt in &xs {
        tape.forward(&mut one, &[xt]).unwrap();
        values.push(tape.value(&one, y).unwrap());
        tape.backward(&mut one, y).unwrap();
        tape.accumulate_param_gradients(&one, &mut sum_of_gradients)
            .unwrap();
    }
    let mut batch = tape.batch(y).unwrap();
    let mut batched = [0.0];
    let sum = batch.gradient(&[0.7], &xs, &mut batched).unwrap();
    // three terms of size < 1 added in another order: within 2 ulps of the sum
    let want: f64 = values.iter().sum();
    assert!((sum - want).abs() <= 2.0 * f64::EPSILON * want.abs());
    assert!(
        (batched[0] - sum_of_gradients[0]).abs() <= 2.0 * f64::EPSILON * sum_of_gradients[0].abs()
    );
}

/// Random DAGs from `backprop::strategies` (feature `strategies`) against finite differences.
#[cfg(feature = "strategies")]
mod random_dags {
    use backprop::Graph;
    use backprop::gradcheck::{STEP, central_differences};
    use backprop::strategies::{Kinks, dag};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, FileFailurePersistence};

    fn config() -> Config {
        Config {
            cases: 256,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
                "tests/proptest-regressions/graph_gradients.txt",
            ))),
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Reverse mode agrees with central finite differences on random DAGs of 2-200 nodes.
        ///
        /// Tolerance 1e-6 (absolute + relative): the strategy bounds every value by 50, keeps `ln`
        /// and `/` at operands >= 0.1 and the output's third derivative along each input and
        /// parameter within 1e4, so |f| and |f'''| stay within 1e4 even on deep compositions; the
        /// central-difference error eps^(2/3) * (|f| + |f'''|) ~ 4e-11 * 1e4 ~ 4e-7 is then below
        /// 1e-6, while a wrong local derivative errs by the size of the gradient itself.
        #[test]
        fn reverse_mode_matches_finite_differences_on_random_dags(spec in dag(2..=200, Kinks::AwayFromZero { margin: 1e-3 })) {
            let g = Graph::new();
            let ids = spec.build(&g).unwrap();
            let tape = g.compile().unwrap();
            let inputs = spec.input_values();
            // ReLU, leaky ReLU and abs have a kink at 0, where finite differences straddle two
            // slopes: the strategy keeps their operands at least 1e-3 from it
            prop_assert!(spec.kink_clearance().unwrap().is_none_or(|d| d >= 1e-3));
            let output = ids[spec.output];
            let grads = tape.gradients(&inputs, output).unwrap();
            let fd = central_differences(&tape, output, &inputs, STEP).unwrap();
            for (slot, node) in tape.param_nodes().into_iter().enumerate() {
                let (a, f) = (grads.wrt(node).unwrap(), fd.params[slot]);
                prop_assert!((a - f).abs() <= 1e-6 * (1.0 + a.abs()), "param {}: reverse {} vs fd {}", node.index(), a, f);
            }
            for (slot, node) in tape.input_nodes().into_iter().enumerate() {
                let (a, f) = (grads.wrt(node).unwrap(), fd.inputs[slot]);
                prop_assert!((a - f).abs() <= 1e-6 * (1.0 + a.abs()), "input {}: reverse {} vs fd {}", node.index(), a, f);
            }
        }

        /// The block driver ([`backprop::Batch`]: lanes, shadows of uniform leaves, `dot` products
        /// by kind) agrees with central finite differences on random DAGs, over three associations
        /// in one block (one, for a graph without inputs). The tolerance is the one-association
        /// test's above, for a sum of three.
        #[test]
        fn the_block_driver_matches_finite_differences_on_random_dags(spec in dag(2..=200, Kinks::AwayFromZero { margin: 1e-3 })) {
            let g = Graph::new();
            let ids = spec.build(&g).unwrap();
            let tape = g.compile().unwrap();
            let output = ids[spec.output];
            let one = spec.input_values();
            let mut ws = tape.workspace();
            tape.forward(&mut ws, &one).unwrap();
            // a graph without inputs has one association, of no values
            let copies = if one.is_empty() { 1.0 } else { 3.0 };
            let three = [one.clone(), one.clone(), one].concat();
            let params = tape.param_values().to_vec();
            let mut grad = vec![0.0; params.len()];
            let sum = tape.batch(output).unwrap().gradient(&params, &three, &mut grad).unwrap();
            let value = tape.value(&ws, output).unwrap();
            prop_assert!((sum - copies * value).abs() <= 1e-12 * (1.0 + sum.abs()), "sum {} vs {} x {}", sum, copies, value);
            let fd = central_differences(&tape, output, &three, STEP).unwrap();
            for (slot, (&a, &f)) in grad.iter().zip(&fd.params).enumerate() {
                prop_assert!((a - f).abs() <= 3e-6 * (1.0 + a.abs()), "param slot {}: block {} vs fd {}", slot, a, f);
            }
        }

        /// Anomaly mode runs the same sweep with its checks compiled in: they must not change a
        /// bit of any node's value or adjoint, from the output and from a node in the middle.
        #[test]
        fn anomaly_mode_gives_the_bits_of_the_fast_sweep(spec in dag(2..=200, Kinks::Anywhere), at in 0.0..1.0f64) {
            let g = Graph::new();
            let ids = spec.build(&g).unwrap();
            let tape = g.compile().unwrap();
            let inputs = spec.input_values();
            let (mut fast, mut checked) = (tape.workspace(), tape.workspace());
            checked.set_anomaly_mode(true);
            let middle = ids[((ids.len() - 1) as f64 * at) as usize];
            for output in [ids[spec.output], middle] {
                tape.forward(&mut fast, &inputs).unwrap();
                tape.backward(&mut fast, output).unwrap();
                tape.forward(&mut checked, &inputs).unwrap();
                tape.backward(&mut checked, output).unwrap();
                for node in g.nodes() {
                    let bits = |ws| (tape.value(ws, node).unwrap().to_bits(), tape.gradient(ws, node).unwrap().to_bits());
                    prop_assert_eq!(bits(&fast), bits(&checked), "node {}, output {}", node.index(), output.index());
                }
            }
        }
    }
}
