//! Training any graph (`train::train_graph`): a hand-built topology learns with each optimiser
//! and batch mode, the threshold and divergence behave as for a layered network, and training an
//! `Mlp` is exactly `train_graph` on the network's own tape.

use backprop::nn::{Activation, Init, MlpSpec};
use backprop::train::{
    BatchMode, Optimiser, RunOptions, TrainConfig, train, train_graph, train_graph_with, train_with,
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

/// `0.8 tanh(x1 - x2) + 0.3 x1` on a 5 x 5 grid of `[-1, 1]^2`, given as columns by label in
/// an order that is not the inputs' creation order.
fn bend_data(tape: &Tape) -> Vec<f64> {
    let (mut x1, mut x2, mut target) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        for j in 0..5 {
            let (a, b) = (-1.0 + 0.5 * f64::from(i), -1.0 + 0.5 * f64::from(j));
            x1.push(a);
            x2.push(b);
            target.push(0.8 * (a - b).tanh() + 0.3 * a);
        }
    }
    tape.associations_by_label([("target", target), ("x2", x2), ("x1", x1)])
        .unwrap()
}

fn run(config: &TrainConfig) -> (Vec<f64>, backprop::train::History) {
    let (g, loss) = skip_network();
    let mut tape = g.compile().unwrap();
    let data = bend_data(&tape);
    let history = train_graph(&mut tape, loss, &data, config).unwrap();
    (tape.param_values().to_vec(), history)
}

/// What a user did: train, then read the error back with the tape's own calls. The summed
/// error read back must be the trained one (the last epoch's error is measured at the weights
/// that epoch started with, so the error after it is at most that), not the error at the
/// graph's initial values.
#[test]
fn after_train_graph_the_tape_reads_the_trained_parameters() {
    let (g, loss) = skip_network();
    let mut tape = g.compile().unwrap();
    let data = bend_data(&tape);
    let before: f64 = data
        .chunks(3)
        .map(|a| tape.evaluate(a, loss).unwrap())
        .sum();
    let config = TrainConfig::new(Optimiser::adam(0.05)).with_max_epochs(1500);
    let history = train_graph(&mut tape, loss, &data, &config).unwrap();
    let after: f64 = data
        .chunks(3)
        .map(|a| tape.evaluate(a, loss).unwrap())
        .sum();
    let trained = history.final_error().unwrap();
    // today's trap read `before` back; the last step moves the error by far less than 2x
    assert!(
        after < before / 20.0 && after < 2.0 * trained,
        "{before} -> {trained}, read back {after}"
    );
    // the gradient read back is at the trained values too: near a minimum, far below the first
    let norm = |tape: &Tape| -> f64 {
        let mut ws = tape.workspace();
        let mut grad = vec![0.0; tape.param_count()];
        for a in data.chunks(3) {
            tape.forward(&mut ws, a).unwrap();
            tape.backward(&mut ws, loss).unwrap();
            tape.accumulate_param_gradients(&ws, &mut grad).unwrap();
        }
        grad.iter().map(|g| g * g).sum::<f64>().sqrt()
    };
    let fresh = g.compile().unwrap();
    assert!(norm(&tape) < norm(&fresh) / 10.0);
    let grads = tape.gradients(&data[..3], loss).unwrap();
    let shared = g.param_nodes()[0];
    let mut ws = tape.workspace();
    tape.forward(&mut ws, &data[..3]).unwrap();
    tape.backward(&mut ws, loss).unwrap();
    assert_eq!(
        grads.wrt(shared).unwrap(),
        tape.gradient(&ws, shared).unwrap()
    );
}

/// Many associations by label, in columns: association t is the t-th value of each column, in
/// slot order, whatever order the columns come in.
#[test]
fn associations_by_label_lays_columns_out_in_slot_order() {
    let (g, _) = skip_network();
    let tape = g.compile().unwrap();
    let data = tape
        .associations_by_label([
            ("target", [7.0, 8.0]),
            ("x1", [1.0, 2.0]),
            ("x2", [4.0, 5.0]),
        ])
        .unwrap();
    assert_eq!(data, [1.0, 4.0, 7.0, 2.0, 5.0, 8.0]);
    let inputs = g.input_nodes();
    let by_node = tape
        .associations([
            (inputs[2], [7.0, 8.0]),
            (inputs[0], [1.0, 2.0]),
            (inputs[1], [4.0, 5.0]),
        ])
        .unwrap();
    assert_eq!(by_node, data);
    let err = tape
        .associations_by_label([
            ("x1", vec![1.0, 2.0]),
            ("x2", vec![4.0]),
            ("target", vec![7.0, 8.0]),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch: values of node 1 (x2) (one per association, as many as for node 0 (x1)): expected 2, got 1"
    );
    let err = tape
        .associations_by_label([("x1", [1.0]), ("x2", [4.0])])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no value for node 2 (target): an association gives one to every input"
    );
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
    let mut tape = g.compile().unwrap();
    let data = [3.0, 1.0, -2.0, 0.5];
    let config = TrainConfig::gradient_descent(1e3, 1000);
    let result = train_graph(&mut tape, loss, &data, &config);
    assert!(
        matches!(result, Err(Error::Diverged { epoch, .. }) if epoch > 1),
        "{result:?}"
    );
    let params = tape.param_values();
    assert!(params[0].is_finite() && params[0] != 1.0, "{params:?}");
}

#[test]
fn training_data_of_the_wrong_width_or_non_finite_is_refused_naming_it() {
    let (g, loss) = skip_network();
    let mut tape = g.compile().unwrap();
    let config = TrainConfig::gradient_descent(0.1, 10);
    let four = [1.0, 2.0, 3.0, 4.0];
    let err = train_graph(&mut tape, loss, &four, &config);
    assert!(
        matches!(err, Err(Error::PartialAssociation { .. })),
        "{err:?}"
    );
    let nan = [1.0, f64::NAN, 3.0];
    let err = train_graph(&mut tape, loss, &nan, &config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("input value"), "{err}");
    assert_eq!(
        tape.param_values(),
        g.param_values(),
        "refused runs leave the tape as it was"
    );
}

/// Data without its target column (two inputs given for a graph of three): the message says
/// the values are not a whole number of associations, names the inputs in slot order and
/// says what to do, instead of "expected 3, got 8".
#[test]
fn data_missing_a_column_names_the_inputs_it_needs() {
    let (g, loss) = skip_network();
    let mut tape = g.compile().unwrap();
    let without_target = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let err = train_graph(
        &mut tape,
        loss,
        &without_target,
        &TrainConfig::gradient_descent(0.1, 10),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "8 input values are not a whole number of associations of 3 (one value per input, in slot \
         order: x1, x2, target); 2 left over: is a column missing? Tape::associations_by_label \
         builds the values from columns named by label"
    );
}

/// An input given as the loss: the message names the node by its label, says it is an input,
/// and says what to pass (no batch was built by the user, so no "batch output").
#[test]
fn an_input_passed_as_the_loss_is_named_with_what_to_pass() {
    let (g, _) = skip_network();
    let mut tape = g.compile().unwrap();
    let x1 = g.input_nodes()[0];
    let data = [0.0, 0.0, 0.0];
    let err = train_graph(
        &mut tape,
        x1,
        &data,
        &TrainConfig::gradient_descent(0.1, 10),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the loss node 0 (x1) is an input, not an op: pass the node of the expression to \
         differentiate (such as the loss `(y - target).powf(2.0)`)"
    );
}

/// A node created after compile(): the graph has grown, the tape has not. The message says so
/// and says to compile again (the old one said the graph had 3 nodes when it had 4).
#[test]
fn a_node_created_after_compile_says_to_compile_again() {
    let g = Graph::new();
    let (x, w) = (g.input("x"), g.param("w", 2.0));
    let y = x * w;
    let tape = g.compile().unwrap();
    let z = y.tanh();
    let err = tape.evaluate(&[1.0], z).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node 3 was created after compile(): the tape was compiled from the graph's first 3 \
         nodes; compile the graph again to use it"
    );
    // tanh(2), to the engine's rounding
    let z_value = g.compile().unwrap().evaluate(&[1.0], z).unwrap();
    assert!((z_value - 2f64.tanh()).abs() < 1e-15, "{z_value}");
}

/// A label with a typo: the message lists the labels there are.
#[test]
fn a_label_typo_lists_the_labels_there_are() {
    let (g, _) = skip_network();
    let tape = g.compile().unwrap();
    let err = tape
        .association_by_label([("x1", 1.0), ("X2", 2.0), ("target", 0.0)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no input is labelled \"X2\": the inputs are labelled x1, x2, target"
    );
    let err = tape
        .associations_by_label([("x1", [1.0]), ("X2", [2.0]), ("target", [0.0])])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the inputs are labelled x1, x2, target"),
        "{err}"
    );
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
            let mut tape = fresh.tape().clone();
            let by_graph = train_graph_with(
                &mut tape,
                fresh.loss_node(),
                &data,
                config,
                &options,
                |_, _| {},
            )
            .unwrap();
            assert_eq!(history, by_graph, "{config:?}, {threads} threads");
            assert_eq!(
                net.params(),
                tape.param_values(),
                "{config:?}, {threads} threads"
            );
        }
    }
}

/// `Graph`'s read-back methods take a handle as `Tape`'s do (`impl Into<NodeId>`): the
/// expression itself, not only its id.
#[test]
fn graph_methods_take_handles_like_the_tape() {
    let g = Graph::new();
    let (x, w) = (g.input("x"), g.param("w", 2.0));
    let y = x * w;
    g.set_label(y, "y").unwrap();
    assert_eq!(g.label(y).unwrap().as_deref(), Some("y"));
    assert_eq!(g.operands(y).unwrap(), [x.id(), w.id()]);
    assert!(matches!(
        g.kind(w).unwrap(),
        backprop::NodeKind::Param { .. }
    ));
    assert_eq!(g.handle(y).unwrap().id(), y.id());
}
