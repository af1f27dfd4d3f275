//! What a trained or changed network hands out answers with its current weights: its graph,
//! its compiled tape, and what is computed from them.

use backprop::nn::{Activation, Connection, Init, Mlp, MlpSpec};
use backprop::train::{TrainConfig, train};
use backprop::{symbolic, tutorial};

fn xor_net() -> Mlp {
    MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .with_seed(0)
        .build()
        .unwrap()
}

/// After training, the tape's own evaluation, a fresh compile of the graph, the Hessian at the
/// graph's parameter values and a workspace made from the tape all see the trained weights:
/// each gives what `Mlp::evaluate` gives with them, or what the same call gives with the
/// trained weights passed explicitly. Before training had moved the weights far, the error was
/// larger than 10x the trained one, so a path still on the initial weights cannot pass.
#[test]
fn a_trained_network_hands_out_its_trained_weights() {
    let (inputs, targets) = tutorial::xor();
    let mut net = xor_net();
    let association = [inputs[0], inputs[1], targets[0]];
    let initial = net.evaluate(&inputs[..2], &targets[..1]).unwrap().error();
    let config = TrainConfig::gradient_descent(0.2, 3000);
    train(&mut net, &inputs, &targets, &config, |_, _| {}).unwrap();
    let trained = net.evaluate(&inputs[..2], &targets[..1]).unwrap().error();
    assert!(trained * 10.0 < initial, "{trained} vs {initial}");

    // the same driver on the same weights: the same bits
    let loss = net.loss_node();
    assert_eq!(net.tape().evaluate(&association, loss).unwrap(), trained);
    assert_eq!(net.tape().param_values(), net.params());
    let recompiled = net.graph().compile().unwrap();
    assert_eq!(recompiled.evaluate(&association, loss).unwrap(), trained);
    assert_eq!(net.graph().param_values(), net.params());
    let ws = net.tape().workspace();
    assert_eq!(net.tape().params(&ws), net.params());

    // the Hessian at the graph's own values is the Hessian at the trained weights
    let wrt = net.tape().param_nodes();
    let at_graph = symbolic::hessian(net.graph(), loss, &wrt, &association, None).unwrap();
    let at_trained =
        symbolic::hessian(net.graph(), loss, &wrt, &association, Some(net.params())).unwrap();
    assert_eq!(at_graph, at_trained);
}

/// Setting the weights by any of the network's setters reaches the graph and the tape too.
#[test]
fn set_weights_reach_the_graph_and_the_tape() {
    let mut net = xor_net();
    net.set_weight(
        Connection {
            layer: 0,
            from: 1,
            to: 0,
        },
        0.25,
    )
    .unwrap();
    let slot = net
        .weight_slot(Connection {
            layer: 0,
            from: 1,
            to: 0,
        })
        .unwrap();
    assert_eq!(net.graph().param_values()[slot], 0.25);
    assert_eq!(net.tape().param_values()[slot], 0.25);
    let mut params = net.params().to_vec();
    params[0] = -0.5;
    net.set_params(&params).unwrap();
    assert_eq!(net.graph().param_values(), params);
    assert_eq!(net.tape().param_values(), &params[..]);
    let (w, b) = (net.weights(), net.biases());
    let mut w2 = w.clone();
    w2[1][0][1] = 0.75;
    net.set_weights(&w2, &b).unwrap();
    assert_eq!(net.tape().param_values(), net.params());
    assert_eq!(net.graph().param_values(), net.params());
}
