//! The tutorial's code example: a 2x2x1 network with biases learns XOR with sigmoid hidden
//! units and plain gradient descent; with identity hidden units it cannot.

use backprop::nn::{Activation, Init, MlpSpec};
use backprop::train::{train, TrainConfig};
use backprop::tutorial::xor;

#[test]
fn sigmoid_hidden_layer_learns_xor() {
    let (inputs, targets) = xor();
    let mut net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .with_seed(0)
        .build()
        .unwrap();
    let history = train(
        &mut net,
        &inputs,
        &targets,
        &TrainConfig::gradient_descent(0.2, 5000),
        |_, _| {},
    )
    .unwrap();
    // the error falls (not necessarily monotonically) to almost nothing
    assert!(history.errors[0] > 0.3);
    assert!(history.final_error().unwrap() < 1e-6);
    for t in 0..4 {
        let y = net.predict(&inputs[2 * t..2 * t + 2]).unwrap()[0];
        assert!(
            (y - targets[t]).abs() < 1e-3,
            "association {t}: {y} vs {}",
            targets[t]
        );
    }
}

#[test]
fn identity_hidden_layer_cannot_learn_xor() {
    // A linear network's best least-squares fit to XOR predicts 0.5 for every association:
    // E = 1/2 * 4 * 0.25 = 0.5 is the lowest error it can reach, however long it trains.
    let (inputs, targets) = xor();
    let mut net = MlpSpec::new(&[2, 2, 1], Activation::Identity, Activation::Identity)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .with_seed(0)
        .build()
        .unwrap();
    let history = train(
        &mut net,
        &inputs,
        &targets,
        &TrainConfig::gradient_descent(0.05, 5000),
        |_, _| {},
    )
    .unwrap();
    let error = history.final_error().unwrap();
    assert!(error >= 0.5 - 1e-9, "a linear net reached {error}");
    assert!(
        error < 0.5 + 1e-6,
        "training did converge to the least-squares fit ({error})"
    );
    for t in 0..4 {
        let y = net.predict(&inputs[2 * t..2 * t + 2]).unwrap()[0];
        assert!((y - 0.5).abs() < 1e-3);
    }
}
