//! The tutorial's code example: a 2x2x1 network with biases learns XOR with sigmoid hidden
//! units and plain gradient descent; with identity hidden units it cannot.

use backprop::nn::{Activation, Init, MlpSpec};
use backprop::train::{TrainConfig, train};
use backprop::tutorial::xor;

/// The tutorial's 2x2x1 network with biases, `hidden` units, uniform weights from seed 0, trained
/// on XOR by plain gradient descent; returns it and its final error.
fn trained_on_xor(hidden: Activation, learning_rate: f64) -> (backprop::nn::Mlp, f64) {
    let (inputs, targets) = xor();
    let mut net = MlpSpec::new(&[2, 2, 1], hidden, Activation::Identity)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .with_seed(0)
        .build()
        .unwrap();
    let config = TrainConfig::gradient_descent(learning_rate, 5000);
    let history = train(&mut net, &inputs, &targets, &config, |_, _| {}).unwrap();
    assert!(history.errors[0] > 0.3, "it starts far from the targets");
    (net, history.final_error().unwrap())
}

#[test]
fn sigmoid_hidden_layer_learns_xor() {
    let (inputs, targets) = xor();
    let (net, error) = trained_on_xor(Activation::Sigmoid, 0.2);
    // the error falls (not necessarily monotonically) to almost nothing
    assert!(error < 1e-6);
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
    let (inputs, _) = xor();
    let (net, error) = trained_on_xor(Activation::Identity, 0.05);
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

#[test]
fn training_rejects_bad_data_and_options_by_name() {
    let (mut inputs, targets) = xor();
    let mut net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap();
    inputs[5] = f64::NAN;
    let err = train(
        &mut net,
        &inputs,
        &targets,
        &TrainConfig::gradient_descent(0.2, 10),
        |_, _| {},
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input 1 of association 2 must be a finite number, got NaN"
    );
    let (inputs, targets) = xor();
    for (lr, reason) in [(f64::NAN, "NaN"), (-0.1, "-0.1"), (0.0, "0")] {
        let err = train(
            &mut net,
            &inputs,
            &targets,
            &TrainConfig::gradient_descent(lr, 10),
            |_, _| {},
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid learning rate: must be a positive finite number, got {reason}")
        );
    }
    let err = train(
        &mut net,
        &inputs,
        &targets,
        &TrainConfig::gradient_descent(0.2, 0),
        |_, _| {},
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "invalid epochs: must be at least 1, got 0");
    let mut config = TrainConfig::gradient_descent(0.2, 10);
    config.batch = backprop::train::BatchMode::MiniBatch(5);
    let err = train(&mut net, &inputs, &targets, &config, |_, _| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid batch size: must be between 1 and the number of associations (4), got 5"
    );
}

#[test]
fn divergence_is_an_error_naming_the_epoch_and_the_last_finite_weights_are_kept() {
    let (inputs, targets) = xor();
    let mut net = MlpSpec::new(&[2, 8, 1], Activation::Relu, Activation::Identity)
        .with_seed(1)
        .build()
        .unwrap();
    let err = train(
        &mut net,
        &inputs,
        &targets,
        &TrainConfig::gradient_descent(1e6, 1000),
        |_, _| {},
    )
    .unwrap_err();
    let backprop::Error::Diverged { epoch, .. } = err else {
        panic!("expected divergence, got {err}")
    };
    assert!(epoch >= 1);
    assert!(net.params().iter().all(|w| w.is_finite()));
    // training again for epoch - 1 epochs from the same start reproduces the kept weights
    let mut again = MlpSpec::new(&[2, 8, 1], Activation::Relu, Activation::Identity)
        .with_seed(1)
        .build()
        .unwrap();
    if epoch > 1 {
        train(
            &mut again,
            &inputs,
            &targets,
            &TrainConfig::gradient_descent(1e6, epoch - 1),
            |_, e| {
                assert!(
                    e.is_finite(),
                    "the epochs before the divergent one are finite"
                )
            },
        )
        .unwrap();
    }
    assert_eq!(net.params(), again.params());
}
