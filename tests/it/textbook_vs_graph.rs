//! The graph's reverse sweep against the textbook delta rule and finite differences on layered
//! networks, plus tests that pin what the tutorial's own code got wrong.

use backprop::gradcheck::{STEP, central_differences};
use backprop::nn::{Activation, Bias, Init, MlpSpec, Reduction};
use backprop::textbook::TextbookNet;

/// Random layered and skip-connected nets from `backprop::strategies` (feature `strategies`).
#[cfg(feature = "strategies")]
mod random_nets {
    use backprop::Graph;
    use backprop::gradcheck::{Tolerances, check_graph, check_mlp};
    use backprop::nn::{Activation, Mlp};
    use backprop::strategies::{LayeredCase, layered, skip_net};
    use backprop::textbook::TextbookNet;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, FileFailurePersistence};

    fn config(file: &'static str) -> Config {
        Config {
            cases: 200,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
            ..Config::default()
        }
    }

    /// Whether every ReLU / leaky ReLU input of the case is at least `margin` away from its kink
    /// (finite differences straddle the kink otherwise).
    fn away_from_kinks(net: &Mlp, case: &LayeredCase, margin: f64) -> bool {
        let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
        let t_count = case.inputs.len() / n_in;
        (0..t_count).all(|t| {
            let e = net
                .evaluate(
                    &case.inputs[t * n_in..(t + 1) * n_in],
                    &case.targets[t * n_out..(t + 1) * n_out],
                )
                .unwrap();
            (1..=net.layers()).all(|l| match net.spec().activations[l - 1] {
                Activation::Relu | Activation::LeakyRelu(_) => {
                    (0..net.sizes()[l]).all(|j| e.x(l, j).unwrap().abs() > margin)
                }
                Activation::Identity | Activation::Sigmoid | Activation::Tanh => true,
            })
        })
    }

    proptest! {
        #![proptest_config(config("tests/proptest-regressions/textbook_vs_graph.txt"))]

        /// Graph and textbook compute the same derivative with different rounding orders: they
        /// agree to 1e-12 relative to the largest gradient of the network (a component that is
        /// itself tiny can only be compared to the scale of the sums it came from).
        #[test]
        fn graph_gradients_equal_the_textbook_delta_rule(case in layered(1..=4)) {
            let net = case.spec.build().unwrap();
            let (e_graph, g_graph) = net.gradient(&case.inputs, &case.targets, case.reduction).unwrap();
            let (e_book, g_book) = TextbookNet::from_mlp(&net).gradients(&case.inputs, &case.targets, case.reduction).unwrap();
            let g_book = g_book.flatten();
            let scale = g_book.iter().fold(1e-300f64, |m, g| m.max(g.abs()));
            prop_assert!((e_graph - e_book).abs() <= 1e-12 * e_book.abs().max(1e-300));
            for (slot, (a, b)) in g_graph.iter().zip(&g_book).enumerate() {
                prop_assert!((a - b).abs() <= 1e-12 * scale, "param {}: graph {} vs textbook {}", slot, a, b);
            }
        }

        /// The three-way report passes on every random layered net (ReLU inputs kept 1e-3 from 0:
        /// with the finite-difference step of ~6e-6 relative, a kink closer than that would be
        /// straddled).
        #[test]
        fn three_way_check_passes_on_random_layered_nets(case in layered(1..=4)) {
            let net = case.spec.build().unwrap();
            prop_assume!(away_from_kinks(&net, &case, 1e-3));
            let report = check_mlp(&net, &case.inputs, &case.targets, case.reduction, Tolerances::default()).unwrap();
            prop_assert!(report.passed(), "{}", report.render());
        }

        /// Skip connections across layers and a shared weight: reverse mode vs finite differences.
        #[test]
        fn skip_connections_and_shared_weights_match_finite_differences(spec in skip_net()) {
            let g = Graph::new();
            let ids = spec.build(&g).unwrap();
            let tape = g.compile().unwrap();
            let output = ids[spec.output];
            let report = check_graph(&tape, output, &spec.input_values(), Tolerances::default()).unwrap();
            prop_assert!(report.passed(), "{}", report.render());
        }
    }
}

#[test]
fn identity_derivative_is_one_not_x() {
    // The tutorial's code returned x as the identity's derivative. With an identity output and
    // y_k = x_k = 3 (far from 1), delta_k must be (y - y') * 1 = 3 - 1 = 2, not (y - y') * x = 6.
    let net = MlpSpec::new(&[1, 1], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .with_init(Init::Constant(3.0))
        .build()
        .unwrap();
    let e = net.evaluate(&[1.0], &[1.0]).unwrap();
    assert_eq!(e.y(1, 0).unwrap(), 3.0);
    assert_eq!(e.delta(1, 0).unwrap(), 2.0);
    let book = TextbookNet::from_mlp(&net).pass(&[1.0], &[1.0]).unwrap();
    assert_eq!(book.delta[1][0], 2.0);
}

#[test]
fn error_sums_squares_so_opposite_errors_do_not_cancel() {
    // Two outputs off by +0.5 and -0.5: E = 1/2 (0.25 + 0.25) = 0.25. The tutorial's code squared
    // the sum of signed errors, which gives 0 here.
    let mut net = MlpSpec::new(&[1, 2], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .build()
        .unwrap();
    net.set_weights(&[vec![vec![1.0], vec![1.0]]], &[vec![]])
        .unwrap();
    let e = net.evaluate(&[1.0], &[0.5, 1.5]).unwrap();
    assert_eq!(e.error(), 0.25);
    let book = TextbookNet::from_mlp(&net)
        .pass(&[1.0], &[0.5, 1.5])
        .unwrap();
    assert_eq!(book.error, 0.25);
}

#[test]
fn sum_and_mean_reductions_differ_by_exactly_the_number_of_associations() {
    let net = MlpSpec::new(&[2, 3, 2], Activation::Sigmoid, Activation::Identity)
        .with_seed(3)
        .build()
        .unwrap();
    let inputs = [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8];
    let targets = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    let (e_sum, g_sum) = net.gradient(&inputs, &targets, Reduction::Sum).unwrap();
    let (e_mean, g_mean) = net.gradient(&inputs, &targets, Reduction::Mean).unwrap();
    // T = 4 is a power of two, so dividing by it is exact in binary floating point
    assert_eq!(e_sum, 4.0 * e_mean);
    for (s, m) in g_sum.iter().zip(&g_mean) {
        assert_eq!(*s, 4.0 * m);
    }
}

#[test]
fn lanes_do_not_change_the_gradient_beyond_rounding() {
    // 7 associations in blocks of 3 lanes (a padded last block) vs one at a time
    let net = MlpSpec::new(&[2, 4, 1], Activation::Tanh, Activation::Identity)
        .with_seed(5)
        .build()
        .unwrap();
    let inputs: Vec<f64> = (0..14).map(|k| (k as f64 * 0.37).sin()).collect();
    let targets: Vec<f64> = (0..7).map(|k| (k as f64 * 0.71).cos()).collect();
    let (e1, g1) = net.gradient(&inputs, &targets, Reduction::Sum).unwrap();
    let mut batch = net.batch(3).unwrap();
    let mut g3 = vec![0.0; g1.len()];
    let e3 = net
        .batch_gradient(&mut batch, &inputs, &targets, Reduction::Sum, &mut g3)
        .unwrap();
    assert!((e1 - e3).abs() <= 1e-14 * e1.abs());
    for (a, b) in g1.iter().zip(&g3) {
        assert!((a - b).abs() <= 1e-14 * a.abs().max(1.0));
    }
}

#[test]
fn finite_differences_of_the_mean_error_are_the_mean_of_the_sum() {
    let net = MlpSpec::new(&[1, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_seed(9)
        .build()
        .unwrap();
    let associations = [0.3, 1.0, -0.7, 0.0];
    let fd = central_differences(net.tape(), net.loss_node(), &associations, STEP).unwrap();
    let (_, g) = net
        .gradient(&[0.3, -0.7], &[1.0, 0.0], Reduction::Sum)
        .unwrap();
    for (a, f) in g.iter().zip(&fd.params) {
        assert!((a - f).abs() <= 1e-7 + 1e-5 * f.abs());
    }
}
