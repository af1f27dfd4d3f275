//! Layered networks: specification errors, weight layout, initialisation, losses.

use backprop::Error;
use backprop::nn::{Activation, Bias, Connection, Init, Loss, MlpSpec, Reduction};
use backprop::textbook::TextbookNet;

#[test]
fn invalid_specifications_name_the_problem() {
    let err = MlpSpec::new(&[3], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid network: a network needs at least 2 layers (input and output), got 1"
    );
    let err = MlpSpec::new(&[2, 0, 1], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid network: layer 1 has width 0");
    let err = MlpSpec::new(&[2, 1], Activation::Sigmoid, Activation::Identity)
        .with_activations(&[Activation::Tanh, Activation::Tanh])
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidNetwork(_)));
    let err = MlpSpec::new(&[2, 1], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Uniform {
            low: 1.0,
            high: 1.0,
        })
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid weight initialisation: uniform range [1, 1) is empty or not finite"
    );
}

#[test]
fn weights_are_read_and_written_out_major() {
    let mut net = MlpSpec::new(&[3, 2, 1], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap();
    let w = vec![
        vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]],
        vec![vec![7.0, 8.0]],
    ];
    let b = vec![vec![0.1, 0.2], vec![0.3]];
    net.set_weights(&w, &b).unwrap();
    assert_eq!(net.weights(), w);
    assert_eq!(net.biases(), b);
    // w_ij of layer 0 from input node 2 to hidden node 1 is W[0][1][2]
    assert_eq!(
        net.weight(Connection {
            layer: 0,
            from: 2,
            to: 1
        })
        .unwrap(),
        6.0
    );
    assert_eq!(net.bias_weight(1, 0).unwrap(), 0.3);
    assert_eq!(
        net.params(),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.1, 0.2, 7.0, 8.0, 0.3]
    );
    net.set_weight(
        Connection {
            layer: 1,
            from: 1,
            to: 0,
        },
        -8.0,
    )
    .unwrap();
    assert_eq!(net.weights()[1][0][1], -8.0);
    // the graph labels follow the same notation
    let slot = net
        .weight_slot(Connection {
            layer: 0,
            from: 2,
            to: 1,
        })
        .unwrap();
    assert_eq!(
        net.graph()
            .label(net.tape().param_node(slot))
            .unwrap()
            .as_deref(),
        Some("w0[2->1]")
    );
}

#[test]
fn bad_weights_are_rejected_without_changing_the_network() {
    let mut net = MlpSpec::new(&[2, 1], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap();
    let before = net.params().to_vec();
    let err = net
        .set_weights(&[vec![vec![1.0]]], &[vec![0.0]])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch: columns of W[0][0]: expected 2, got 1"
    );
    let err = net
        .set_weights(&[vec![vec![1.0, f64::NAN]]], &[vec![0.0]])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "weight W[0][0][1] must be a finite number, got NaN"
    );
    assert_eq!(net.params(), &before[..]);
    assert!(matches!(
        net.weight(Connection {
            layer: 1,
            from: 0,
            to: 0
        }),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        net.weight(Connection {
            layer: 0,
            from: 2,
            to: 0
        }),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        net.evaluate(&[1.0], &[1.0]),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn initialisation_is_seeded_and_scaled() {
    let spec = |init, seed| {
        MlpSpec::new(&[64, 32, 10], Activation::Sigmoid, Activation::Identity)
            .with_init(init)
            .with_seed(seed)
    };
    let a = spec(Init::Xavier, 1).build().unwrap();
    let b = spec(Init::Xavier, 1).build().unwrap();
    let c = spec(Init::Xavier, 2).build().unwrap();
    assert_eq!(a.params(), b.params());
    assert_ne!(a.params(), c.params());
    // Xavier: |w| < sqrt(6 / (64 + 32)) = 0.25 in layer 0, biases 0
    let limit = (6.0f64 / 96.0).sqrt();
    assert!(a.weights()[0].iter().flatten().all(|w| w.abs() < limit));
    assert!(
        a.weights()[0]
            .iter()
            .flatten()
            .any(|w| w.abs() > 0.8 * limit)
    );
    assert!(a.biases().iter().flatten().all(|&b| b == 0.0));
    // He: |w| < sqrt(6 / 64) in layer 0
    let he = spec(Init::He, 1).build().unwrap();
    let limit = (6.0f64 / 64.0).sqrt();
    assert!(he.weights()[0].iter().flatten().all(|w| w.abs() < limit));
    let constant = spec(Init::Constant(0.5), 0).build().unwrap();
    assert!(constant.params().iter().all(|&w| w == 0.5));
}

#[test]
fn bias_node_value_is_a_parameter_of_the_network() {
    // one neuron, weight 0, bias weight 0.25: x = 0.25 * bias
    for (bias, x) in [(Bias::Node(1.0), 0.25), (Bias::Node(-1.0), -0.25)] {
        let mut net = MlpSpec::new(&[1, 1], Activation::Identity, Activation::Identity)
            .with_bias(bias)
            .build()
            .unwrap();
        net.set_weights(&[vec![vec![0.0]]], &[vec![0.25]]).unwrap();
        let e = net.evaluate(&[3.0], &[0.0]).unwrap();
        assert_eq!(e.x(1, 0).unwrap(), x);
        // dE/db = delta * bias value
        assert_eq!(
            e.bias_gradient(0, 0).unwrap(),
            x * if x > 0.0 { 1.0 } else { -1.0 }
        );
    }
}

#[test]
fn softmax_cross_entropy_is_stable_and_its_delta_is_softmax_minus_target() {
    let mut net = MlpSpec::new(&[1, 3], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .with_loss(Loss::SoftmaxCrossEntropy)
        .build()
        .unwrap();
    // logits 1000, -1000, 999: softmax = (1/(1+e^-1), 0, e^-1/(1+e^-1)) without overflow
    net.set_weights(&[vec![vec![1000.0], vec![-1000.0], vec![999.0]]], &[vec![]])
        .unwrap();
    let e = net.evaluate(&[1.0], &[0.0, 0.0, 1.0]).unwrap();
    let p0 = 1.0 / (1.0 + (-1.0f64).exp());
    let p2 = 1.0 - p0;
    // E = -ln p2 = ln(1 + e)
    assert!((e.error() - (1.0 + 1f64.exp()).ln()).abs() < 1e-12);
    assert!((e.delta(1, 0).unwrap() - p0).abs() < 1e-15);
    assert_eq!(e.delta(1, 1).unwrap(), 0.0);
    assert!((e.delta(1, 2).unwrap() - (p2 - 1.0)).abs() < 1e-15);
    let book = TextbookNet::from_mlp(&net)
        .pass(&[1.0], &[0.0, 0.0, 1.0])
        .unwrap();
    // the textbook computes softmax as e^(z - lse) with lse ~ 1000, which carries one ulp of 1000
    // (1.1e-13) of absolute error into the exponent
    assert!((book.delta[1][0] - p0).abs() < 1e-12);
}

#[test]
fn activation_and_loss_names_parse() {
    assert_eq!(
        Activation::parse("leaky_relu:0.2").unwrap(),
        Activation::LeakyRelu(0.2)
    );
    assert_eq!(Activation::parse("tanh").unwrap(), Activation::Tanh);
    assert!(
        Activation::parse("swish")
            .unwrap_err()
            .to_string()
            .contains("unknown activation \"swish\"")
    );
    assert_eq!(
        Loss::parse("cross_entropy").unwrap(),
        Loss::SoftmaxCrossEntropy
    );
    assert_eq!(Reduction::Mean.weight(4), 0.25);
}
