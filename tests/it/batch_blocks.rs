//! The training fast path (blocks of associations, shards, threads) against the textbook delta
//! rule, and its determinism: any number of threads gives bit-identical results.

use backprop::nn::{Activation, Loss, MlpSpec, Reduction};
use backprop::textbook::TextbookNet;

/// 37 associations of a 3-input net: enough for several shards and a ragged last block.
fn data(n_in: usize, n_out: usize, t: usize) -> (Vec<f64>, Vec<f64>) {
    let inputs = (0..t * n_in).map(|k| (k as f64 * 0.37).sin()).collect();
    let targets = (0..t * n_out)
        .map(|k| {
            if (k as f64 * 0.71).cos() > 0.0 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    (inputs, targets)
}

#[test]
fn blocks_of_any_width_match_the_textbook_delta_rule() {
    let net = MlpSpec::new(&[3, 5, 4, 2], Activation::Tanh, Activation::Identity)
        .with_seed(3)
        .build()
        .unwrap();
    let (inputs, targets) = data(3, 2, 37);
    let book = TextbookNet::from_mlp(&net);
    let want = book
        .gradients(&inputs, &targets, Reduction::Mean)
        .unwrap()
        .1
        .flatten();
    for lanes in [1, 3, 8, 64] {
        let mut batch = net.batch(lanes).unwrap();
        let mut got = vec![0.0; want.len()];
        net.batch_gradient(&mut batch, &inputs, &targets, Reduction::Mean, &mut got)
            .unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-13 * w.abs().max(1.0),
                "lanes {lanes}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn hinge_loss_gradient_matches_the_textbook_delta_rule() {
    // micrograd's moons loss: relu hidden layers, relu(1 - y' y) per association
    let net = MlpSpec::new(&[3, 6, 6, 1], Activation::Relu, Activation::Identity)
        .with_loss(Loss::Hinge)
        .with_seed(11)
        .build()
        .unwrap();
    let (inputs, targets) = data(3, 1, 37);
    let want = TextbookNet::from_mlp(&net)
        .gradients(&inputs, &targets, Reduction::Mean)
        .unwrap()
        .1
        .flatten();
    let (_, got) = net.gradient(&inputs, &targets, Reduction::Mean).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-13 * w.abs().max(1.0), "{g} vs {w}");
    }
}

#[test]
fn threads_give_bit_identical_gradients() {
    let net = MlpSpec::new(&[3, 7, 2], Activation::Sigmoid, Activation::Identity)
        .with_seed(5)
        .build()
        .unwrap();
    let (inputs, targets) = data(3, 2, 301);
    let mut reference = None;
    for threads in [1, 2, 3, 8] {
        let mut batch = net.batch_with_threads(16, threads).unwrap();
        let mut grad = vec![0.0; net.params().len()];
        let e = net
            .batch_gradient(&mut batch, &inputs, &targets, Reduction::Sum, &mut grad)
            .unwrap();
        match &reference {
            None => reference = Some((e, grad)),
            Some((e1, g1)) => {
                assert_eq!(e.to_bits(), e1.to_bits(), "{threads} threads: error");
                assert!(
                    g1.iter()
                        .zip(&grad)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{threads} threads: gradient"
                );
            }
        }
    }
}
