//! The catalogue of hostile input, through the library: each case is refused with an exact
//! error (variant, fields and message) and nothing panics. Cases already asserted exactly in
//! `engine_errors`, `layered`, `xor`, `data_csv`, `model_file` and `graph_file` are not repeated
//! here; this file fills the gaps between them (see the count in the report). Numerically hard
//! but legal input gives finite answers checked against closed forms; a failed load leaves the
//! network already in memory as it was.

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};

use backprop::nn::{Activation, Bias, Connection, Init, Loss, Mlp, MlpSpec, Reduction};
use backprop::train::{BatchMode, Optimiser, RunOptions, Schedule, TrainConfig, train, train_with};
use backprop::{Binary, Error, Graph, NodeName, Op, Unary, graph_file, model_file};

/// One case of the catalogue: `run` must neither panic nor succeed, and its error must be
/// `expected` in every field (compared through `Debug`, so that a NaN field matches a NaN) with
/// the message `message`.
fn refused<T: Debug>(
    case: &str,
    run: impl FnOnce() -> Result<T, Error>,
    expected: Error,
    message: &str,
) {
    let outcome = catch_unwind(AssertUnwindSafe(run));
    let result = outcome.unwrap_or_else(|_| panic!("{case}: panicked"));
    let err = match result {
        Ok(value) => panic!("{case}: accepted, gave {value:?}"),
        Err(err) => err,
    };
    assert_eq!(format!("{err:?}"), format!("{expected:?}"), "{case}");
    assert_eq!(err.to_string(), message, "{case}");
}

fn name(index: u32, label: &str) -> NodeName {
    NodeName {
        index,
        label: (!label.is_empty()).then(|| label.to_string()),
    }
}

fn anomaly(pass: &'static str, node: NodeName, op: &str, value: f64, operands: &[f64]) -> Error {
    Error::Anomaly {
        pass,
        node,
        op: op.into(),
        value,
        operands: operands.to_vec(),
    }
}

fn invalid_option(name: &str, reason: &str) -> Error {
    Error::InvalidOption {
        name: name.into(),
        reason: reason.into(),
    }
}

fn invalid_file(format: &str, reason: &str) -> Error {
    Error::InvalidFile {
        format: format.into(),
        reason: reason.into(),
    }
}

fn shape(what: &str, expected: usize, got: usize) -> Error {
    Error::Shape {
        what: what.into(),
        expected,
        got,
    }
}

/// A 2-2-1 sigmoid network with bias, whose nodes are, in creation order: inputs `x0[0..2]`
/// (0, 1), the bias (2), `w0` (3..=6), `b0` (7, 8), `x1[0]`, `y1[0]`, `x1[1]`, `y1[1]`
/// (9..=12), `w1` (13, 14), `b1` (15), `x2[0]`, `y2[0]` (16, 17), `target[0]` (18), the loss.
fn small_net() -> Mlp {
    MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Constant(0.5))
        .build()
        .unwrap()
}

/// `y = w x`, no bias, identity: nodes `x0[0]` (0), `w0[0->0]` (1), `x1[0]` = dot (2),
/// `y1[0]` (3), `target[0]` (4), `y - target` (5), its dot with itself (6), 0.5 (7), `E` (8).
fn line(w: f64) -> Mlp {
    MlpSpec::new(&[1, 1], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .with_init(Init::Constant(w))
        .build()
        .unwrap()
}

#[test]
fn graph_building_catalogue() {
    let (g1, g2) = (Graph::new(), Graph::new());
    let a = g1.input("a");
    let b = g2.input("b");
    let foreign = |graph: &Graph| Error::ForeignNode {
        node: name(0, ""),
        node_graph: g2.id(),
        graph: graph.id(),
    };
    let message = format!(
        "node 0 belongs to graph #{}, not to graph #{}",
        g2.id(),
        g1.id()
    );
    let _ = a * b;
    // through a handle, which knows its own graph, the node is named with its label there
    refused(
        "foreign operand of an operator, reported by compile",
        || g1.compile(),
        Error::ForeignNode {
            node: name(0, "b"),
            node_graph: g2.id(),
            graph: g1.id(),
        },
        &format!(
            "node 0 (b) belongs to graph #{}, not to graph #{}",
            g2.id(),
            g1.id()
        ),
    );
    refused(
        "foreign node given a label",
        || g1.set_label(b.id(), "x"),
        foreign(&g1),
        &message,
    );

    let g = Graph::new();
    let x = g.input("x");
    let y = x.sigmoid();
    let tape = g.compile().unwrap();
    let grads = tape.gradients(&[0.0], y).unwrap();
    let foreign_to_g = Error::ForeignNode {
        node: name(0, ""),
        node_graph: g2.id(),
        graph: g.id(),
    };
    let message = format!(
        "node 0 belongs to graph #{}, not to graph #{}",
        g2.id(),
        g.id()
    );
    refused(
        "foreign node asked of gradients",
        || grads.wrt(b),
        foreign_to_g.clone(),
        &message,
    );
    refused(
        "foreign node asked of a tape",
        || tape.value(&tape.workspace(), b),
        foreign_to_g,
        &message,
    );
    // a clone is another graph: the original's handles are foreign to it
    let copy = g.clone();
    refused(
        "original's node used with its clone",
        || copy.kind(y.id()),
        Error::ForeignNode {
            node: name(1, ""),
            node_graph: g.id(),
            graph: copy.id(),
        },
        &format!(
            "node 1 belongs to graph #{}, not to graph #{}",
            g.id(),
            copy.id()
        ),
    );
    refused(
        "node index past the end",
        || g.node(7),
        Error::UnknownNode { index: 7, len: 2 },
        "node 7 does not exist: the graph has 2 nodes",
    );

    let arity = |op: &str, expected: &str, got: usize| Error::Arity {
        op: op.into(),
        expected: expected.into(),
        got,
    };
    refused(
        "unary op given two operands",
        || g.try_op(Op::Unary(Unary::Sigmoid), &[x.id(), x.id()]),
        arity("sigmoid", "1", 2),
        "op sigmoid: expected 1 operands, got 2",
    );
    refused(
        "op with a constant given no operand (named with its constant)",
        || g.try_op(Op::Unary(Unary::Powf { exponent: 2.0 }), &[]),
        arity("powf(2)", "1", 0),
        "op powf(2): expected 1 operands, got 0",
    );
    refused(
        "binary op given three operands",
        || g.try_op(Op::Binary(Binary::Div), &[x.id(), x.id(), x.id()]),
        arity("div", "2", 3),
        "op div: expected 2 operands, got 3",
    );
    let g = Graph::new();
    let _ = g.max(&[]);
    refused(
        "empty n-ary max",
        || g.compile(),
        arity("max", "at least 1", 0),
        "op max: expected at least 1 operands, got 0",
    );
    let g = Graph::new();
    let _ = g.dot(&[]);
    refused(
        "empty dot product",
        || g.compile(),
        arity("dot", "a positive even number of", 0),
        "op dot: expected a positive even number of operands, got 0",
    );

    let non_finite = |what: &str, value: f64| Error::NonFiniteConstant {
        what: what.into(),
        value,
    };
    let g = Graph::new();
    let _ = g.input("x").powf(f64::NAN);
    refused(
        "NaN exponent through the operator form",
        || g.compile(),
        non_finite("the exponent of powf", f64::NAN),
        "the exponent of powf must be a finite number, got NaN",
    );
    let g = Graph::new();
    let x = g.input("x").id();
    refused(
        "infinite leaky relu slope",
        || {
            g.try_op(
                Op::Unary(Unary::LeakyRelu {
                    slope: f64::INFINITY,
                }),
                &[x],
            )
        },
        non_finite("the slope of leaky_relu", f64::INFINITY),
        "the slope of leaky_relu must be a finite number, got inf",
    );
    refused(
        "step with a low value of -inf",
        || {
            g.try_op(
                Op::Unary(Unary::Step {
                    low: f64::NEG_INFINITY,
                }),
                &[x],
            )
        },
        non_finite("the low of step", f64::NEG_INFINITY),
        "the low of step must be a finite number, got -inf",
    );
    let g = Graph::new();
    let _ = g.input("x") + f64::NAN;
    refused(
        "NaN literal in an expression",
        || g.compile(),
        non_finite("constant node 1", f64::NAN),
        "constant node 1 must be a finite number, got NaN",
    );
    // two mistakes: the first one made is the one reported
    let g = Graph::new();
    let x = g.input("x");
    let _ = g.sum(&[]);
    let _ = x.powf(f64::NAN);
    refused(
        "first of two mistakes",
        || g.compile(),
        arity("sum", "at least 1", 0),
        "op sum: expected at least 1 operands, got 0",
    );
}

#[test]
fn evaluation_catalogue_through_the_tape() {
    let g = Graph::new();
    let c = g.constant(2.0);
    let _ = c.exp();
    let tape = g.compile().unwrap();
    refused(
        "input values given to a graph without inputs",
        || tape.evaluate(&[1.0], c),
        Error::InputCount {
            expected: 0,
            inputs: 0,
            lanes: 1,
            got: 1,
        },
        "expected 0 input values (0 inputs x 1 associations), got 1",
    );

    // one op per graph, so that each case fails where it is meant to
    let ln = Graph::new();
    let x = ln.input("x");
    let _ = x.ln();
    let div = Graph::new();
    let (a, b) = (div.input("a"), div.input("b"));
    let _ = (a / b).labelled("q");
    let exp = Graph::new();
    let x = exp.input("x");
    let _ = (x * 2.0).exp().labelled("e");
    let run = |g: &Graph, inputs: &[f64]| {
        let tape = g.compile()?;
        let mut ws = tape.workspace();
        ws.set_anomaly_mode(true);
        tape.forward(&mut ws, inputs)
    };
    refused(
        "ln of 0",
        || run(&ln, &[0.0]),
        anomaly("forward", name(1, ""), "ln", f64::NEG_INFINITY, &[0.0]),
        "forward pass: node 1 = ln gave -inf from operands [0.0]",
    );
    refused(
        "ln of a negative number",
        || run(&ln, &[-1e-300]),
        anomaly("forward", name(1, ""), "ln", f64::NAN, &[-1e-300]),
        "forward pass: node 1 = ln gave NaN from operands [-1e-300]",
    );
    refused(
        "0 / 0",
        || run(&div, &[0.0, 0.0]),
        anomaly("forward", name(2, "q"), "div", f64::NAN, &[0.0, 0.0]),
        "forward pass: node 2 (q) = div gave NaN from operands [0.0, 0.0]",
    );
    refused(
        "division by negative zero",
        || run(&div, &[1.0, -0.0]),
        anomaly(
            "forward",
            name(2, "q"),
            "div",
            f64::NEG_INFINITY,
            &[1.0, -0.0],
        ),
        "forward pass: node 2 (q) = div gave -inf from operands [1.0, -0.0]",
    );
    refused(
        "exp overflow (e^710 > f64::MAX = 1.8e308)",
        || run(&exp, &[355.0]),
        anomaly("forward", name(3, "e"), "exp", f64::INFINITY, &[710.0]),
        "forward pass: node 3 (e) = exp gave inf from operands [710.0]",
    );
    refused(
        "infinite input",
        || run(&div, &[1.0, f64::NEG_INFINITY]),
        anomaly("forward", name(1, "b"), "input", f64::NEG_INFINITY, &[]),
        "forward pass: node 1 (b) = input gave -inf from operands []",
    );
    // off: no error, IEEE arithmetic
    assert!(div.compile().unwrap().evaluate(&[0.0, 0.0], b).is_ok());

    // several associations at once: the operands shown are those of the one that went wrong
    let g = Graph::new();
    let x = g.input("x");
    let root = x.powf(0.5).labelled("root");
    let tape = g.compile().unwrap();
    let mut batch = tape.batch(root).unwrap();
    batch.set_anomaly_mode(true);
    refused(
        "square root of a negative number in the third of three associations",
        || batch.gradient(&[], &[4.0, 9.0, -4.0], &mut []),
        anomaly("forward", name(1, "root"), "powf(0.5)", f64::NAN, &[-4.0]),
        "forward pass: node 1 (root) = powf(0.5) gave NaN from operands [-4.0]",
    );
    refused(
        "infinite gradient in the second of three associations",
        || batch.gradient(&[], &[4.0, 0.0, 9.0], &mut []),
        anomaly(
            "backward",
            name(1, "root"),
            "powf(0.5)",
            f64::INFINITY,
            &[0.0],
        ),
        "backward pass: node 1 (root) = powf(0.5) gave inf from operands [0.0]",
    );
}

#[test]
fn evaluation_catalogue_through_a_layered_network() {
    let net = small_net();
    refused(
        "input of the wrong width",
        || net.evaluate(&[1.0, 2.0, 3.0], &[0.0]),
        shape("input values (width of layer 0)", 2, 3),
        "shape mismatch: input values (width of layer 0): expected 2, got 3",
    );
    refused(
        "target of the wrong width",
        || net.evaluate(&[1.0, 2.0], &[]),
        shape("target values (width of the output layer)", 1, 0),
        "shape mismatch: target values (width of the output layer): expected 1, got 0",
    );
    refused(
        "prediction of an input of the wrong width",
        || net.predict(&[1.0]),
        shape("input values (width of layer 0)", 2, 1),
        "shape mismatch: input values (width of layer 0): expected 2, got 1",
    );
    refused(
        "evaluation with the wrong number of weights",
        || net.evaluate_with_params(&[0.5; 8], &[1.0, 2.0], &[0.0]),
        Error::ParamCount {
            expected: 9,
            got: 8,
        },
        "expected 9 parameter values, got 8",
    );

    let mut net = small_net();
    // off (the default): IEEE arithmetic, the NaN flows to the output
    assert!(
        net.evaluate(&[f64::NAN, 0.0], &[0.0])
            .unwrap()
            .error()
            .is_nan()
    );
    net.set_anomaly_mode(true);
    assert!(net.anomaly_mode());
    refused(
        "NaN input",
        || net.evaluate(&[0.0, f64::NAN], &[0.0]),
        anomaly("forward", name(1, "x0[1]"), "input", f64::NAN, &[]),
        "forward pass: node 1 (x0[1]) = input gave NaN from operands []",
    );
    refused(
        "infinite target",
        || net.evaluate(&[0.0, 1.0], &[f64::INFINITY]),
        anomaly(
            "forward",
            name(18, "target[0]"),
            "input",
            f64::INFINITY,
            &[],
        ),
        "forward pass: node 18 (target[0]) = input gave inf from operands []",
    );
    let mut weights = net.params().to_vec();
    weights[2] = f64::NAN;
    refused(
        "NaN weight",
        || net.evaluate_with_params(&weights, &[0.0, 1.0], &[0.0]),
        anomaly("forward", name(5, "w0[0->1]"), "param", f64::NAN, &[]),
        "forward pass: node 5 (w0[0->1]) = param gave NaN from operands []",
    );
    refused(
        "NaN input to a prediction",
        || net.predict(&[f64::NAN, 0.0]),
        anomaly("forward", name(0, "x0[0]"), "input", f64::NAN, &[]),
        "forward pass: node 0 (x0[0]) = input gave NaN from operands []",
    );

    let mut net = line(1e300);
    net.set_anomaly_mode(true);
    refused(
        "overflow in a weighted sum",
        || net.evaluate(&[1e10], &[0.0]),
        anomaly(
            "forward",
            name(2, "x1[0]"),
            "dot",
            f64::INFINITY,
            &[1e10, 1e300],
        ),
        "forward pass: node 2 (x1[0]) = dot gave inf from operands [10000000000.0, 1e300]",
    );
    // y = 1e200 is finite, E = (1e200)^2 / 2 is not: evaluation fails, a prediction does not
    let mut net = line(1e200);
    net.set_anomaly_mode(true);
    refused(
        "overflow in the error",
        || net.evaluate(&[1.0], &[0.0]),
        anomaly(
            "forward",
            name(6, ""),
            "dot",
            f64::INFINITY,
            &[1e200, 1e200],
        ),
        "forward pass: node 6 = dot gave inf from operands [1e200, 1e200]",
    );
    assert_eq!(net.predict(&[1.0]).unwrap(), vec![1e200]);
    // every value finite (E = (1e154)^2 / 2 = 5e307), but dE/dx = (y - y') w = 1e154 * 2e154
    let mut net = line(2e154);
    net.set_anomaly_mode(true);
    refused(
        "overflow in a gradient",
        || net.evaluate(&[0.5], &[0.0]),
        anomaly(
            "backward",
            name(2, "x1[0]"),
            "dot",
            f64::INFINITY,
            &[0.5, 2e154],
        ),
        "backward pass: node 2 (x1[0]) = dot gave inf from operands [0.5, 2e154]",
    );
}

/// sigmoid(x) = 1 / (1 + e^-x), sigmoid' = e^-x / (1 + e^-x)^2; tanh' = 1 - tanh^2 =
/// 4 / (e^x + e^-x)^2. Written from the definitions with the exponential of -|x| only (no
/// overflow), independently of the engine's two-branch sigmoid.
fn sigmoid_closed_form(x: f64) -> (f64, f64) {
    let e = (-x.abs()).exp();
    let s = if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (s, e / ((1.0 + e) * (1.0 + e)))
}

fn tanh_derivative_closed_form(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    // 4 / (e^x + e^-x)^2 = 4 e^-2|x| / (1 + e^-2|x|)^2
    4.0 * e * e / ((1.0 + e * e) * (1.0 + e * e))
}

#[test]
fn sigmoid_and_tanh_at_extreme_inputs_are_finite_through_the_graph() {
    let g = Graph::new();
    let x = g.input("x");
    let (s, t) = (x.sigmoid(), x.tanh());
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(true); // any non-finite value or gradient would be an error
    for at in [30.0, -30.0, 700.0, -700.0, 1000.0, -1000.0] {
        tape.forward(&mut ws, &[at]).unwrap();
        tape.backward(&mut ws, s).unwrap();
        let (value, slope) = (tape.value(&ws, s).unwrap(), tape.gradient(&ws, x).unwrap());
        let (want, want_slope) = sigmoid_closed_form(at);
        assert_eq!(value, want, "sigmoid({at})");
        // the slope comes from the output, y (1 - y): near y = 1, 1 - y carries the rounding
        // of y, half an ulp of 1 (1.1e-16), as absolute error
        assert!(
            (slope - want_slope).abs() <= f64::EPSILON / 2.0,
            "sigmoid'({at}) = {slope}"
        );
        tape.backward(&mut ws, t).unwrap();
        let (value, slope) = (tape.value(&ws, t).unwrap(), tape.gradient(&ws, x).unwrap());
        assert_eq!(
            value,
            at.signum(),
            "tanh({at}) rounds to +-1 from |x| = 19.1 on"
        );
        assert!(
            slope == 0.0 && tanh_derivative_closed_form(at) < f64::EPSILON,
            "tanh'({at})"
        );
    }
    // where e^-|x| underflows (|x| > 745) or 1 - y rounds to 0, the slope is exactly 0
    for at in [700.0, 1000.0, -1000.0] {
        tape.forward(&mut ws, &[at]).unwrap();
        tape.backward(&mut ws, s).unwrap();
        assert_eq!(tape.gradient(&ws, x).unwrap(), 0.0, "sigmoid'({at})");
    }
    // at -700 nothing underflows: y = e^-700 = 9.86e-305 is a normal number and so is y'
    tape.forward(&mut ws, &[-700.0]).unwrap();
    tape.backward(&mut ws, s).unwrap();
    let want = (-700.0f64).exp();
    assert!((tape.gradient(&ws, x).unwrap() - want).abs() <= 1e-15 * want);
}

/// Logits z = (1000, -1000) with the target on the second: log-sum-exp = 1000 + ln(1 + e^-2000)
/// = 1000 exactly, E = lse - z_1 = 2000, dE/dz = softmax - y' = (1, 0) - (0, 1) = (1, -1).
fn huge_logits() -> Mlp {
    let mut net = MlpSpec::new(&[1, 2], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .with_loss(Loss::SoftmaxCrossEntropy)
        .build()
        .unwrap();
    net.set_weights(&[vec![vec![1000.0], vec![-1000.0]]], &[vec![]])
        .unwrap();
    net
}

#[test]
fn softmax_cross_entropy_with_logits_of_plus_minus_1000_is_exact() {
    let mut net = huge_logits();
    net.set_anomaly_mode(true);
    let e = net.evaluate(&[1.0], &[0.0, 1.0]).unwrap();
    assert_eq!(e.output(), vec![1000.0, -1000.0]);
    assert_eq!(e.error(), 2000.0);
    assert_eq!(
        (e.delta(1, 0).unwrap(), e.delta(1, 1).unwrap()),
        (1.0, -1.0)
    );
    // dE/dw = delta * x = (1, -1)
    assert_eq!(
        e.weight_gradient(Connection {
            layer: 0,
            from: 0,
            to: 0
        })
        .unwrap(),
        1.0
    );
    assert_eq!(
        e.weight_gradient(Connection {
            layer: 0,
            from: 0,
            to: 1
        })
        .unwrap(),
        -1.0
    );
    // the other way round, the target on the larger logit: E = ln(1 + e^-2000) = 0
    let e = net.evaluate(&[1.0], &[1.0, 0.0]).unwrap();
    assert_eq!(e.error(), 0.0);
    assert_eq!((e.delta(1, 0).unwrap(), e.delta(1, 1).unwrap()), (0.0, 0.0));
}

#[test]
fn training_with_logits_of_plus_minus_1000_stays_finite_and_exact() {
    let mut net = huge_logits();
    // epoch 1 starts at the weights above (E = 2000) and steps by -0.25 (1, -1):
    // w = (999.75, -999.75); epoch 2's error is 1999.5
    let history = train(
        &mut net,
        &[1.0],
        &[0.0, 1.0],
        &TrainConfig::gradient_descent(0.25, 2),
        |_, _| {},
    )
    .unwrap();
    assert_eq!(history.errors, vec![2000.0, 1999.5]);
    assert_eq!(net.params(), &[999.5, -999.5]);
}

#[test]
fn layered_specification_catalogue() {
    let spec = |sizes: &[usize]| MlpSpec::new(sizes, Activation::Sigmoid, Activation::Identity);
    let network = |m: &str| Error::InvalidNetwork(m.into());
    refused(
        "zero layers",
        || spec(&[]).build(),
        network("a network needs at least 2 layers (input and output), got 0"),
        "invalid network: a network needs at least 2 layers (input and output), got 0",
    );
    refused(
        "an input layer of width 0",
        || spec(&[0, 1]).build(),
        network("layer 0 has width 0"),
        "invalid network: layer 0 has width 0",
    );
    refused(
        "an output layer of width 0",
        || spec(&[3, 2, 0]).build(),
        network("layer 2 has width 0"),
        "invalid network: layer 2 has width 0",
    );
    refused(
        "one activation too many",
        || {
            spec(&[2, 1])
                .with_activations(&[Activation::Tanh, Activation::Tanh])
                .build()
        },
        network("expected 1 activations (one per layer after the input), got 2"),
        "invalid network: expected 1 activations (one per layer after the input), got 2",
    );
    refused(
        "a NaN leaky relu slope",
        || {
            spec(&[2, 2, 1])
                .with_activations(&[Activation::Sigmoid, Activation::LeakyRelu(f64::NAN)])
                .build()
        },
        network("layer 2: leaky_relu slope NaN is not finite"),
        "invalid network: layer 2: leaky_relu slope NaN is not finite",
    );
    refused(
        "an infinite bias node",
        || spec(&[2, 1]).with_bias(Bias::Node(f64::INFINITY)).build(),
        network("the bias node's value inf is not finite"),
        "invalid network: the bias node's value inf is not finite",
    );
    refused(
        "a NaN constant initialisation",
        || spec(&[2, 1]).with_init(Init::Constant(f64::NAN)).build(),
        invalid_option("weight initialisation", "constant NaN is not finite"),
        "invalid weight initialisation: constant NaN is not finite",
    );

    let mut net = small_net();
    let before = net.params().to_vec();
    let w0 = vec![vec![0.1, 0.2], vec![0.3, 0.4]];
    refused(
        "weights for one layer of two",
        || net.set_weights(std::slice::from_ref(&w0), &[vec![0.0; 2], vec![0.0]]),
        shape("weight layers W", 2, 1),
        "shape mismatch: weight layers W: expected 2, got 1",
    );
    refused(
        "three rows for a layer of two nodes",
        || {
            net.set_weights(
                &[vec![vec![0.0; 2]; 3], vec![vec![0.0; 2]]],
                &[vec![0.0; 2], vec![0.0]],
            )
        },
        shape("rows of W[0]", 2, 3),
        "shape mismatch: rows of W[0]: expected 2, got 3",
    );
    refused(
        "one bias weight for a layer of two nodes",
        || net.set_weights(&[w0.clone(), vec![vec![0.0; 2]]], &[vec![0.0], vec![0.0]]),
        shape("b[0]", 2, 1),
        "shape mismatch: b[0]: expected 2, got 1",
    );
    refused(
        "a flat weight vector one too long",
        || net.set_params(&[0.0; 10]),
        Error::ParamCount {
            expected: 9,
            got: 10,
        },
        "expected 9 parameter values, got 10",
    );
    refused(
        "an infinite weight in the flat vector",
        || net.set_params(&[0.0, 0.0, 0.0, f64::INFINITY, 0.0, 0.0, 0.0, 0.0, 0.0]),
        Error::NonFiniteConstant {
            what: "parameter 3".into(),
            value: f64::INFINITY,
        },
        "parameter 3 must be a finite number, got inf",
    );
    refused(
        "a NaN single weight",
        || {
            net.set_weight(
                Connection {
                    layer: 1,
                    from: 1,
                    to: 0,
                },
                f64::NAN,
            )
        },
        Error::NonFiniteConstant {
            what: "weight w1[1->0]".into(),
            value: f64::NAN,
        },
        "weight w1[1->0] must be a finite number, got NaN",
    );
    let mut unbiased = MlpSpec::new(&[1, 1], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .build()
        .unwrap();
    refused(
        "a bias weight for a network without bias",
        || unbiased.set_weights(&[vec![vec![1.0]]], &[vec![1.0]]),
        shape("b[0]", 0, 1),
        "shape mismatch: b[0]: expected 0, got 1",
    );
    assert_eq!(
        net.params(),
        &before[..],
        "no failed setter changed a weight"
    );

    // data that does not fit the network: XOR has 2 inputs and 1 target per association
    let (inputs, targets) = backprop::tutorial::xor();
    let gd = TrainConfig::gradient_descent(0.1, 5);
    let three_wide: Vec<f64> = inputs.chunks(2).flat_map(|x| [x[0], x[1], 0.0]).collect();
    refused(
        "inputs three wide for a network of two inputs",
        || train(&mut net, &three_wide, &targets, &gd, |_, _| {}),
        shape("target values (1 for each of 6 associations)", 6, 4),
        "shape mismatch: target values (1 for each of 6 associations): expected 6, got 4",
    );
    refused(
        "targets two wide for a network of one output",
        || train(&mut net, &inputs, &[0.0; 8], &gd, |_, _| {}),
        shape("target values (1 for each of 4 associations)", 4, 8),
        "shape mismatch: target values (1 for each of 4 associations): expected 4, got 8",
    );
    // inputs that are not a whole number of associations are named as such, with the
    // next whole number of values (it used to report the targets: "expected 2, got 2")
    let mut three_inputs = MlpSpec::new(&[3, 2, 2], Activation::Sigmoid, Activation::Identity)
        .build()
        .unwrap();
    refused(
        "4 input values for a network of 3 inputs",
        || train(&mut three_inputs, &[0.5; 4], &[0.0; 2], &gd, |_, _| {}),
        shape("input values (a whole number of associations of 3)", 6, 4),
        "shape mismatch: input values (a whole number of associations of 3): expected 6, got 4",
    );
    refused(
        "no data at all",
        || train(&mut net, &[], &[], &gd, |_, _| {}),
        Error::NoAssociations,
        "the data has no associations: at least 1 is needed",
    );
    refused(
        "a gradient of no data",
        || net.gradient(&[], &[], Reduction::Mean),
        Error::NoAssociations,
        "the data has no associations: at least 1 is needed",
    );
    let mut bad_targets = targets.clone();
    bad_targets[3] = f64::NEG_INFINITY;
    refused(
        "an infinite target",
        || train(&mut net, &inputs, &bad_targets, &gd, |_, _| {}),
        Error::NonFiniteConstant {
            what: "target 0 of association 3".into(),
            value: f64::NEG_INFINITY,
        },
        "target 0 of association 3 must be a finite number, got -inf",
    );

    // options out of their domain
    let with = |change: &dyn Fn(&mut TrainConfig)| {
        let mut config = TrainConfig::gradient_descent(0.1, 5);
        change(&mut config);
        config
    };
    let cases: Vec<(&str, TrainConfig, Error, &str)> = vec![
        (
            "an infinite learning rate",
            with(&|c| {
                c.optimiser = Optimiser::GradientDescent {
                    learning_rate: f64::INFINITY,
                }
            }),
            invalid_option("learning rate", "must be a positive finite number, got inf"),
            "invalid learning rate: must be a positive finite number, got inf",
        ),
        (
            "a negative learning rate for adam",
            with(&|c| c.optimiser = Optimiser::adam(-0.001)),
            invalid_option(
                "learning rate",
                "must be a positive finite number, got -0.001",
            ),
            "invalid learning rate: must be a positive finite number, got -0.001",
        ),
        (
            "a momentum of 1",
            with(&|c| {
                c.optimiser = Optimiser::Momentum {
                    learning_rate: 0.1,
                    momentum: 1.0,
                }
            }),
            invalid_option("momentum", "must be in [0, 1), got 1"),
            "invalid momentum: must be in [0, 1), got 1",
        ),
        (
            "an adam beta of 1",
            with(&|c| {
                c.optimiser = Optimiser::Adam {
                    learning_rate: 0.1,
                    beta1: 1.0,
                    beta2: 0.999,
                    epsilon: 1e-8,
                }
            }),
            invalid_option("adam betas", "must be in [0, 1), got 1 and 0.999"),
            "invalid adam betas: must be in [0, 1), got 1 and 0.999",
        ),
        (
            "an adam epsilon of 0",
            with(&|c| {
                c.optimiser = Optimiser::Adam {
                    learning_rate: 0.1,
                    beta1: 0.9,
                    beta2: 0.999,
                    epsilon: 0.0,
                }
            }),
            invalid_option("adam epsilon", "must be a positive finite number, got 0"),
            "invalid adam epsilon: must be a positive finite number, got 0",
        ),
        (
            "a batch size of 0",
            with(&|c| c.batch = BatchMode::MiniBatch(0)),
            invalid_option(
                "batch size",
                "must be between 1 and the number of associations (4), got 0",
            ),
            "invalid batch size: must be between 1 and the number of associations (4), got 0",
        ),
        (
            "0 lanes",
            with(&|c| c.lanes = 0),
            invalid_option("lanes", "must be at least 1, got 0"),
            "invalid lanes: must be at least 1, got 0",
        ),
        (
            "a NaN error threshold",
            with(&|c| c.error_threshold = f64::NAN),
            invalid_option("error threshold", "must be a finite number >= 0, got NaN"),
            "invalid error threshold: must be a finite number >= 0, got NaN",
        ),
    ];
    for (case, config, expected, message) in cases {
        refused(
            case,
            || train(&mut net, &inputs, &targets, &config, |_, _| {}),
            expected,
            message,
        );
    }
    let run = |options: RunOptions| {
        let mut net = small_net();
        train_with(&mut net, &inputs, &targets, &gd, &options, |_, _| {})
    };
    refused(
        "0 threads",
        || run(RunOptions::default().with_threads(0)),
        invalid_option("threads", "must be at least 1, got 0"),
        "invalid threads: must be at least 1, got 0",
    );
    refused(
        "a negative l2 penalty",
        || run(RunOptions::default().with_l2(-1.0)),
        invalid_option("l2", "must be a finite number >= 0, got -1"),
        "invalid l2: must be a finite number >= 0, got -1",
    );
    refused(
        "a schedule that ends above its start",
        || {
            run(RunOptions::default().with_schedule(Schedule::Linear {
                final_fraction: 1.5,
            }))
        },
        invalid_option("schedule", "the final fraction must be in [0, 1], got 1.5"),
        "invalid schedule: the final fraction must be in [0, 1], got 1.5",
    );
    refused(
        "a batch of 0 lanes",
        || net.batch(0),
        Error::NoLanes,
        "a batch needs blocks of at least 1 association, got 0",
    );
    assert_eq!(
        net.params(),
        &before[..],
        "no refused training changed a weight"
    );
}

#[test]
fn file_catalogue() {
    let model = |text: &str| model_file::from_json_str(text);
    let graph = |text: &str| graph_file::from_json_str(text);
    refused(
        "an empty model file",
        || model(""),
        invalid_file("model", "EOF while parsing a value at line 1 column 0"),
        "invalid model file: EOF while parsing a value at line 1 column 0",
    );
    refused(
        "an empty graph file",
        || graph(""),
        invalid_file("graph", "EOF while parsing a value at line 1 column 0"),
        "invalid graph file: EOF while parsing a value at line 1 column 0",
    );
    refused(
        "a JSON list instead of an object",
        || model("[1, 2]"),
        invalid_file(
            "model",
            "invalid type: sequence, expected a JSON object at line 1 column 0",
        ),
        "invalid model file: invalid type: sequence, expected a JSON object at line 1 column 0",
    );
    let good = model_file::to_json_string(&small_net()).unwrap();
    refused(
        "sizes as a string",
        || {
            model(&good.replace(
                "\"sizes\": [\n    2,\n    2,\n    1\n  ]",
                "\"sizes\": \"2,2,1\"",
            ))
        },
        invalid_file(
            "model",
            "invalid type: string \"2,2,1\", expected a sequence at line 4 column 18",
        ),
        "invalid model file: invalid type: string \"2,2,1\", expected a sequence at line 4 column 18",
    );
    refused(
        "a version as a string",
        || model(&good.replace("\"version\": 1", "\"version\": \"1\"")),
        invalid_file("model", "\"version\" must be an integer from 1, got \"1\""),
        "invalid model file: \"version\" must be an integer from 1, got \"1\"",
    );
    refused(
        "a version too large for any integer",
        || model(&good.replace("\"version\": 1", "\"version\": 1e30")),
        invalid_file("model", "\"version\" must be an integer from 1, got 1e+30"),
        "invalid model file: \"version\" must be an integer from 1, got 1e+30",
    );
    let head = r#"{"format": "backprop-graph", "version": 1, "output": 1, "nodes": "#;
    refused(
        "a negative node id",
        || {
            graph(&format!(
                r#"{head}[{{"id": -1, "op": "input", "value": 1}}]}}"#
            ))
        },
        invalid_file(
            "graph",
            "invalid value: integer `-1`, expected u64 at line 1 column 75",
        ),
        "invalid graph file: invalid value: integer `-1`, expected u64 at line 1 column 75",
    );
    refused(
        "operands as a number",
        || {
            graph(&format!(
                r#"{head}[{{"id": 1, "op": "neg", "operands": 0}}]}}"#
            ))
        },
        invalid_file(
            "graph",
            "invalid type: integer `0`, expected a sequence at line 1 column 102",
        ),
        "invalid graph file: invalid type: integer `0`, expected a sequence at line 1 column 102",
    );
    refused(
        "a graph file truncated in a node",
        || graph(&format!(r#"{head}[{{"id": 1, "op": "ne"#)),
        invalid_file("graph", "EOF while parsing a string at line 1 column 85"),
        "invalid graph file: EOF while parsing a string at line 1 column 85",
    );
    refused(
        "a model file given as a graph file",
        || graph(&good),
        invalid_file(
            "graph",
            "\"format\" is \"backprop-model\", expected \"backprop-graph\"",
        ),
        "invalid graph file: \"format\" is \"backprop-model\", expected \"backprop-graph\"",
    );
    refused(
        "a huge declared size, saturated rather than wrapped",
        || {
            model(&good.replace(
                "\"sizes\": [\n    2,",
                "\"sizes\": [\n    18446744073709551615,",
            ))
        },
        Error::TooLarge {
            what: "the network".into(),
            size: u64::MAX,
            unit: "weights",
            limit: model_file::MAX_WEIGHTS,
        },
        "the network: 18446744073709551615 weights, over the limit of 4194304",
    );
}

/// `y = w x` trained on x = 1, y' = 0 with rate 3 from w = 1: each step is w <- w - 3 w = -2 w
/// (exact: powers of 2), so epoch e starts at w = (-2)^(e-1) with E = (w x)^2 / 2. The square
/// 4^(e-1) = 2^(2e-2) first overflows at e = 513 (2^1024); the kept weight is (-2)^512 = 2^512.
#[test]
fn divergence_names_the_first_epoch_whose_error_is_not_finite() {
    let mut net = line(1.0);
    let mut seen = 0;
    let err = train(
        &mut net,
        &[1.0],
        &[0.0],
        &TrainConfig::gradient_descent(3.0, 10_000),
        |_, _| seen += 1,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::Diverged {
            epoch: 513,
            error: f64::INFINITY
        }
    );
    assert_eq!(
        err.to_string(),
        "training diverged at epoch 513: the error became inf; the weights from before that epoch were kept (try a smaller learning rate)"
    );
    assert_eq!(seen, 512, "every finite epoch was reported");
    assert_eq!(net.params(), &[2f64.powi(512)]);
    // what is kept is finite, so it can be saved, and it reads back bit for bit
    let text = model_file::to_json_string(&net).unwrap();
    assert_eq!(
        model_file::from_json_str(&text).unwrap().params(),
        net.params()
    );
}

/// Bad files of every kind, each loaded over a network already in memory: `net = load(..)?`
/// returns before the assignment, so the network (weights, predictions) is what it was.
#[test]
fn a_failed_load_never_changes_the_network_in_memory() {
    let dir = std::env::temp_dir().join(format!("backprop-hostile-lib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good_path = dir.join("good.json");
    model_file::save(&small_net(), &good_path).unwrap();
    let good = std::fs::read_to_string(&good_path).unwrap();
    let bad_files = [
        ("empty", String::new()),
        ("truncated", good[..good.len() / 2].to_string()),
        ("not json", "W = [[0.5]]".to_string()),
        ("future", good.replace("\"version\": 1", "\"version\": 2")),
        ("null weight", good.replacen("0.5", "null", 1)),
        (
            "huge",
            good.replace("\"sizes\": [\n    2,", "\"sizes\": [\n    4000000,"),
        ),
        ("wrong shape", good.replacen("0.5,\n", "", 1)),
    ];
    let mut net = model_file::load(&good_path).unwrap();
    let before = (net.params().to_vec(), net.predict(&[1.0, 0.0]).unwrap());
    for (what, text) in bad_files {
        let path = dir.join(format!("{}.json", what.replace(' ', "-")));
        std::fs::write(&path, text).unwrap();
        let mut reload = || -> Result<(), Error> {
            net = model_file::load(&path)?;
            Ok(())
        };
        assert!(reload().is_err(), "{what} was accepted");
        assert_eq!(net.params(), &before.0[..], "{what}");
        assert_eq!(net.predict(&[1.0, 0.0]).unwrap(), before.1, "{what}");
    }
    // the good file is still there, untouched, and still loads to the same network
    assert_eq!(std::fs::read_to_string(&good_path).unwrap(), good);
    assert_eq!(
        model_file::load(&good_path).unwrap().params(),
        &before.0[..]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
