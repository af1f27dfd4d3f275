//! Second derivatives from the gradient graph: closed forms, the tutorial's Hessian against
//! finite differences of the gradient, and properties on random DAGs.

use backprop::gradcheck::{Tolerances, check_hessian};
use backprop::{Graph, Op, Unary, symbolic};

/// Second derivative of `op` at `x` from the gradient graph (gradient of the gradient).
fn second(op: Unary, x: f64) -> f64 {
    let g = Graph::new();
    let input = g.input("x");
    let y = input.apply(op);
    let h = symbolic::hessian(&g, y, &[input.id()], &[x], None).unwrap();
    h[0][0]
}

/// Closed forms are a handful of roundings away from the gradient graph's value.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-14 * b.abs().max(1.0)
}

#[test]
fn second_derivatives_of_each_op_match_closed_forms() {
    let x = 0.4f64;
    let s = 1.0 / (1.0 + (-x).exp());
    let t = x.tanh();
    let cases = [
        (Unary::Sigmoid, s * (1.0 - s) * (1.0 - 2.0 * s)), // s'' = s(1-s)(1-2s)
        (Unary::Tanh, -2.0 * t * (1.0 - t * t)),           // t'' = -2t(1-t^2)
        (Unary::Exp, x.exp()),
        (Unary::Ln, -1.0 / (x * x)),
        (Unary::Powf { exponent: 3.5 }, 3.5 * 2.5 * x.powf(1.5)), // p(p-1)x^(p-2)
        (Unary::Identity, 0.0),
        (Unary::Neg, 0.0),
        (Unary::Relu, 0.0),
        (Unary::LeakyRelu { slope: 0.1 }, 0.0),
    ];
    for (op, expected) in cases {
        let got = second(op, x);
        assert!(
            close(got, expected),
            "{}'' at {x}: {got} vs {expected}",
            op.name()
        );
    }
}

#[test]
fn cross_terms_of_a_triple_product() {
    // f = x y z: H = [[0, z, y], [z, 0, x], [y, x, 0]]
    let g = Graph::new();
    let (x, y, z) = (g.input("x"), g.input("y"), g.input("z"));
    let f = x * y * z;
    let h = symbolic::hessian(&g, f, &[x.id(), y.id(), z.id()], &[2.0, 3.0, 5.0], None).unwrap();
    assert_eq!(
        h,
        vec![
            vec![0.0, 5.0, 3.0],
            vec![5.0, 0.0, 2.0],
            vec![3.0, 2.0, 0.0]
        ]
    );
}

#[test]
fn division_and_max_have_correct_second_derivatives() {
    // f = a / b: d2f/db2 = 2a/b^3, d2f/dadb = -1/b^2
    let g = Graph::new();
    let (a, b) = (g.input("a"), g.input("b"));
    let f = a / b;
    let h = symbolic::hessian(&g, f, &[a.id(), b.id()], &[3.0, 2.0], None).unwrap();
    assert_eq!(h, vec![vec![0.0, -0.25], vec![-0.25, 0.75]]);
    // m = max(a, b)^2 with b the maximum: dm/db = 2b, d2m/db2 = 2, d2m/da2 = 0
    let g = Graph::new();
    let (a, b) = (g.input("a"), g.input("b"));
    let m = g.max(&[a, b]).powf(2.0);
    let h = symbolic::hessian(&g, m, &[a.id(), b.id()], &[1.0, 4.0], None).unwrap();
    assert_eq!(h, vec![vec![0.0, 0.0], vec![0.0, 2.0]]);
}

#[test]
fn third_derivative_by_differentiating_three_times() {
    // sigmoid''' = s(1-s)(1 - 6s + 6s^2)
    let g = Graph::new();
    let x = g.input("x");
    let mut d = x.sigmoid().id();
    for _ in 0..3 {
        d = symbolic::gradient(&g, d, &[x.id()]).unwrap().gradients[0];
    }
    let v = 0.7f64;
    let s = 1.0 / (1.0 + (-v).exp());
    let got = g.compile().unwrap().evaluate(&[v], d).unwrap();
    assert!(close(got, s * (1.0 - s) * (1.0 - 6.0 * s + 6.0 * s * s)));
}

#[test]
fn hessian_of_the_tutorials_error_matches_finite_differences_of_its_gradient() {
    let net = backprop::tutorial::worked_example().unwrap();
    let report = check_hessian(
        net.graph(),
        net.loss_node(),
        &[1.0, 1.0, 0.5],
        Some(net.params()),
        Tolerances::default(),
    )
    .unwrap();
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.names.len(), 6);
    // d2E/dw_jk^2 = y_j^2 (E = 1/2 (y_k - y')^2 with y_k linear in w_jk)
    let s = 1.0 / (1.0 + (-1.0f64).exp());
    assert!(close(report.symbolic[4][4], s * s));
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("hessian_worked_example", report.render());
    });
}

#[test]
fn gradient_graph_simplifies() {
    // y = w * x: dy/dw is x itself (no node for 1 * x), dy/dx is w.
    let g = Graph::new();
    let (x, w) = (g.input("x"), g.param("w", 2.0));
    let y = w * x;
    let nodes = symbolic::gradient(&g, y, &[w.id(), x.id()]).unwrap();
    assert_eq!(nodes.gradients, vec![x.id(), w.id()]);
    // only the seed constant 1 was added
    assert_eq!(nodes.nodes_after - nodes.nodes_before, 1);
    // asking again reuses everything: nothing new
    let again = symbolic::gradient(&g, y, &[w.id(), x.id()]).unwrap();
    assert_eq!(again.nodes_after, again.nodes_before);
}

/// Properties on random DAGs from `backprop::strategies` (feature `strategies`).
#[cfg(feature = "strategies")]
mod random_dags {
    use backprop::gradcheck::{STEP, gradient_differences};
    use backprop::strategies::{Kinks, dag};
    use backprop::{Graph, NodeKind, symbolic};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, FileFailurePersistence};

    fn config(file: &'static str) -> Config {
        Config {
            cases: 128,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config("tests/proptest-regressions/second_derivatives.txt"))]

        /// The gradient graph visits nodes and adds contributions in the tape's order, with the
        /// same local-derivative formulas, so it gives the tape's gradient bit for bit.
        #[test]
        fn gradient_graph_equals_the_reverse_sweep_bit_for_bit(spec in dag(2..=120, Kinks::Anywhere)) {
            let g = Graph::new();
            let ids = spec.build(&g).unwrap();
            let output = ids[spec.output];
            let leaves: Vec<_> = g.nodes().filter(|&n| !matches!(g.kind(n).unwrap(), NodeKind::Op(_))).collect();
            let before = g.compile().unwrap();
            let inputs = spec.input_values();
            let swept = before.gradients(&inputs, output).unwrap();
            let nodes = symbolic::gradient(&g, output, &leaves).unwrap();
            let tape = g.compile().unwrap();
            let mut ws = tape.workspace();
            tape.forward(&mut ws, &inputs).unwrap();
            for (&leaf, &d) in leaves.iter().zip(&nodes.gradients) {
                let a = swept.wrt(leaf).unwrap(); // ids are unchanged by appending the gradient
                let b = tape.value(&ws, d).unwrap();
                prop_assert!(a == b || (a.is_nan() && b.is_nan()), "leaf {}: sweep {} vs gradient graph {}", leaf.index(), a, b);
            }
        }

        /// Hessian-vector products match finite differences of the gradient in direction v, and
        /// Hessians are symmetric to rounding.
        #[test]
        fn hessian_vector_products_match_finite_differences(spec in dag(2..=60, Kinks::Excluded), v_seed in any::<u64>()) {
            let g = Graph::new();
            let ids = spec.build(&g).unwrap();
            let output = ids[spec.output];
            let tape = g.compile().unwrap();
            let params = tape.param_values().to_vec();
            prop_assume!(!params.is_empty());
            let wrt = tape.param_nodes();
            let inputs = spec.input_values();
            let v: Vec<f64> = (0..params.len()).map(|k| (((v_seed >> (k % 60)) & 7) as f64 - 3.5) / 3.5).collect();
            let hv = symbolic::hessian_vector_product(&g, output, &wrt, &v, &inputs, None).unwrap();
            let jac = gradient_differences(&tape, output, &inputs, STEP).unwrap();
            let h = symbolic::hessian(&g, output, &wrt, &inputs, None).unwrap();
            for i in 0..params.len() {
                let fd: f64 = (0..params.len()).map(|j| jac[i][j] * v[j]).sum();
                // finite differences of a gradient: error ~ eps^(2/3) times the scale of the third
                // derivatives, bounded by the strategy (values <= 50): 1e-5 relative + 1e-6 absolute
                prop_assert!((hv[i] - fd).abs() <= 1e-6 + 1e-5 * fd.abs(), "row {}: Hv {} vs fd {}", i, hv[i], fd);
                let row: f64 = (0..params.len()).map(|j| h[i][j] * v[j]).sum();
                prop_assert!((hv[i] - row).abs() <= 1e-10 * (1.0 + row.abs()));
                for (j, &hij) in h[i].iter().enumerate() {
                    // symmetric up to the rounding of two different evaluation orders
                    prop_assert!((hij - h[j][i]).abs() <= 1e-10 * (1.0 + hij.abs()), "H[{}][{}] = {} vs {}", i, j, hij, h[j][i]);
                }
            }
        }
    }
}

#[test]
fn max_partial_rules_agree_on_ties() {
    // The tape takes the first maximum; the symbolic rule must too.
    {
        let op = Op::Max;
        let g = Graph::new();
        let (a, b, c) = (g.input("a"), g.input("b"), g.input("c"));
        let m = g.try_op(op, &[a.id(), b.id(), c.id()]).unwrap();
        let tape = g.compile().unwrap();
        let swept = tape.gradients(&[1.0, 3.0, 3.0], m).unwrap();
        let nodes = symbolic::gradient(&g, m, &[a.id(), b.id(), c.id()]).unwrap();
        let tape2 = g.compile().unwrap();
        let mut ws = tape2.workspace();
        tape2.forward(&mut ws, &[1.0, 3.0, 3.0]).unwrap();
        let graph_grads: Vec<f64> = nodes
            .gradients
            .iter()
            .map(|&n| tape2.value(&ws, n).unwrap())
            .collect();
        assert_eq!(graph_grads, vec![0.0, 1.0, 0.0]);
        assert_eq!(
            [
                swept.wrt(a).unwrap(),
                swept.wrt(b).unwrap(),
                swept.wrt(c).unwrap()
            ],
            [0.0, 1.0, 0.0]
        );
    }
}
