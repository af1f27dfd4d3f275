//! Training any graph (`train::train_graph`): a hand-built topology learns with each optimiser
//! and batch mode, the threshold and divergence behave as for a layered network, and training an
//! `Mlp` is exactly `train_graph` on the network's own tape.

use backprop::nn::{Activation, Init, MlpSpec};
use backprop::train::{
    BatchMode, Optimiser, RunOptions, TrainConfig, train, train_graph, train_with,
};
use backprop::{Error, Graph, NodeId, Tape};

/// The network of `examples/custom_topology.rs`: a tanh and a sigmoid hidden unit sharing a
/// weight, and a skip connection from `x1` to the output. Returns the graph and its loss node.
fn skip_network() -> (Graph, NodeId) {
    let g = Graph::new();
    let (x1, x2, target) = (g.input("x1"), g.input("x2"), g.input("target"));
    let shared = g.param("w_shared", 0.4);
    let h1 = (x1 * shared + x2 * g.param("w2", -0.3) + g.param("b", 0.1)).tanh();
    let h2 = (x1 * g.param("w3", 0.8) + x2 * shared).sigmoid();
    let y = h1 * g.param("v1", 0.5) + h2 * g.param("v2", -0.6) + x1 * g.param("skip", 0.2);
    let loss = (0.5 * (y - target).powi(2)).id();
    (g, loss)
}

/// `0.8 tanh(x1 - x2) + 0.3 x1` on a 5 x 5 grid of `[-1, 1]^2`, each association given by
/// label in an order that is not the inputs' creation order.
fn bend_data(tape: &Tape) -> Vec<f64> {
    let mut data = Vec::new();
    for i in 0..5 {
        for j in 0..5 {
            let (a, b) = (-1.0 + 0.5 * f64::from(i), -1.0 + 0.5 * f64::from(j));
            let want = 0.8 * (a - b).tanh() + 0.3 * a;
            data.extend(
                tape.association_by_label([("target", want), ("x2", b), ("x1", a)])
                    .unwrap(),
            );
        }
    }
    data
}

fn run(config: &TrainConfig) -> (Vec<f64>, backprop::train::History) {
    let (g, loss) = skip_network();
    let tape = g.compile().unwrap();
    let data = bend_data(&tape);
    let mut params = tape.initial_params().to_vec();
    let history = train_graph(
        &tape,
        loss,
        &mut params,
        &data,
        config,
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap();
    (params, history)
}

/// The skip connection alone fits the linear part (`0.3 x1`); the bend needs the hidden units.
/// Each optimiser and batch mode must take the error over the 25 associations to less than a
/// twentieth of where it starts (3.3, summed over the 25 associations; the target is exactly
/// representable and every run here ends below 1e-3); a broken update rule, a gradient of the
/// wrong sign or an optimiser state that is not carried between steps stays far above.
#[test]
fn a_hand_built_skip_network_learns_with_each_optimiser_and_batch_mode() {
    let configs = [
        TrainConfig::gradient_descent(0.05, 3000),
        TrainConfig::new(Optimiser::Momentum {
            learning_rate: 0.01,
            momentum: 0.9,
        })
        .with_max_epochs(2000),
        TrainConfig::new(Optimiser::adam(0.05)).with_max_epochs(1500),
        TrainConfig::new(Optimiser::adam(0.01))
            .with_batch(BatchMode::MiniBatch(5))
            .with_max_epochs(600)
            .with_seed(3),
        TrainConfig::gradient_descent(0.02, 600)
            .with_batch(BatchMode::Stochastic)
            .with_seed(4),
    ];
    for config in &configs {
        let (params, history) = run(config);
        let (first, last) = (history.errors[0], history.final_error().unwrap());
        assert!(
            last < first / 20.0,
            "{:?}, {:?}: error {first} -> {last}",
            config.optimiser,
            config.batch
        );
        assert!(params.iter().all(|p| p.is_finite()));
    }
}

#[test]
fn the_error_threshold_stops_training_of_any_graph() {
    let config = TrainConfig::new(Optimiser::adam(0.05))
        .with_max_epochs(5000)
        .with_error_threshold(0.01);
    let (_, history) = run(&config);
    assert!(history.reached_threshold);
    assert!(history.epochs() < 5000);
    assert!(history.final_error().unwrap() < 0.01);
    assert!(
        history.errors[..history.epochs() - 1]
            .iter()
            .all(|&e| e >= 0.01)
    );
}

/// A step size far too large makes the weights overflow within a few epochs: the run ends
/// with `Diverged`, and the parameters are the last finite ones.
#[test]
fn a_diverging_graph_keeps_its_last_finite_parameters() {
    let g = Graph::new();
    let (x, target) = (g.input("x"), g.input("target"));
    let w = g.param("w", 1.0);
    let loss = (x * w - target).powi(2).id();
    let tape = g.compile().unwrap();
    let data = [3.0, 1.0, -2.0, 0.5];
    let mut params = tape.initial_params().to_vec();
    let config = TrainConfig::gradient_descent(1e3, 1000);
    let result = train_graph(
        &tape,
        loss,
        &mut params,
        &data,
        &config,
        &RunOptions::default(),
        |_, _| {},
    );
    assert!(
        matches!(result, Err(Error::Diverged { epoch, .. }) if epoch > 1),
        "{result:?}"
    );
    assert!(params[0].is_finite() && params[0] != 1.0, "{params:?}");
}

#[test]
fn training_data_of_the_wrong_width_or_non_finite_is_refused_naming_it() {
    let (g, loss) = skip_network();
    let tape = g.compile().unwrap();
    let config = TrainConfig::gradient_descent(0.1, 10);
    let options = RunOptions::default();
    let mut params = tape.initial_params().to_vec();
    let four = [1.0, 2.0, 3.0, 4.0];
    let err = train_graph(
        &tape,
        loss,
        &mut params,
        &four,
        &config,
        &options,
        |_, _| {},
    );
    assert!(matches!(err, Err(Error::Shape { .. })), "{err:?}");
    let nan = [1.0, f64::NAN, 3.0];
    let err = train_graph(&tape, loss, &mut params, &nan, &config, &options, |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("input value"), "{err}");
    let mut short = vec![0.0; tape.param_count() - 1];
    let err = train_graph(
        &tape,
        loss,
        &mut short,
        &[1.0, 2.0, 3.0],
        &config,
        &options,
        |_, _| {},
    );
    assert!(matches!(err, Err(Error::ParamCount { .. })), "{err:?}");
}

/// `train` on an `Mlp` is one user of `train_graph`: the same configuration on the network's
/// tape and loss node, with each association's inputs followed by its targets, gives the same
/// history and the same weights, bit for bit, for each batch mode and on two threads.
#[test]
fn training_an_mlp_is_train_graph_on_its_tape() {
    let (inputs, targets) = backprop::tutorial::xor();
    let spec = MlpSpec::new(&[2, 3, 1], Activation::Tanh, Activation::Sigmoid)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .with_seed(11);
    let configs = [
        TrainConfig::gradient_descent(0.5, 300),
        TrainConfig::new(Optimiser::adam(0.02))
            .with_batch(BatchMode::MiniBatch(3))
            .with_max_epochs(200)
            .with_seed(5),
        TrainConfig::new(Optimiser::Momentum {
            learning_rate: 0.1,
            momentum: 0.9,
        })
        .with_batch(BatchMode::Stochastic)
        .with_max_epochs(100)
        .with_seed(6),
    ];
    for config in &configs {
        for threads in [1, 2] {
            let options = RunOptions::default().with_threads(threads);
            let mut net = spec.build().unwrap();
            let history = if threads == 1 {
                train(&mut net, &inputs, &targets, config, |_, _| {}).unwrap()
            } else {
                train_with(&mut net, &inputs, &targets, config, &options, |_, _| {}).unwrap()
            };

            let fresh = spec.build().unwrap();
            let data: Vec<f64> = inputs
                .chunks(2)
                .zip(targets.chunks(1))
                .flat_map(|(x, t)| x.iter().chain(t).copied())
                .collect();
            let mut params = fresh.params().to_vec();
            let by_graph = train_graph(
                fresh.tape(),
                fresh.loss_node(),
                &mut params,
                &data,
                config,
                &options,
                |_, _| {},
            )
            .unwrap();
            assert_eq!(history, by_graph, "{config:?}, {threads} threads");
            assert_eq!(net.params(), &params[..], "{config:?}, {threads} threads");
        }
    }
}
