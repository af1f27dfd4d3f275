//! Bad input to the engine gives a typed error that names the culprit, never a panic.

use backprop::{Binary, Error, Graph, Op, Unary};

#[test]
fn node_from_another_graph_is_reported_by_try_op() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.input("a");
    let b = g2.input("b");
    let err = g1
        .try_op(Op::Binary(Binary::Add), &[a.id(), b.id()])
        .unwrap_err();
    assert!(
        matches!(err, Error::ForeignNode { node_graph, graph, .. } if node_graph == g2.id() && graph == g1.id())
    );
    assert_eq!(
        err.to_string(),
        format!(
            "node 0 belongs to graph #{}, not to graph #{}",
            g2.id(),
            g1.id()
        )
    );
}

#[test]
fn node_from_another_graph_in_an_operator_is_reported_at_compile() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.input("a");
    let b = g2.input("b");
    let _ = a * b;
    let err = g1.compile().unwrap_err();
    assert!(matches!(err, Error::ForeignNode { .. }));
    // the handle knows its own graph, so the node is named with its label there
    assert_eq!(
        err.to_string(),
        format!(
            "node 0 (b) belongs to graph #{}, not to graph #{}",
            g2.id(),
            g1.id()
        )
    );
}

#[test]
fn foreign_node_in_gradients_and_tape_queries_is_reported() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let x = g1.input("x");
    let y = x.sigmoid();
    let other = g2.input("z");
    let tape = g1.compile().unwrap();
    let grads = tape.gradients(&[0.0], y).unwrap();
    assert!(matches!(grads.wrt(other), Err(Error::ForeignNode { .. })));
    let mut ws = tape.workspace();
    assert!(matches!(
        tape.backward(&mut ws, other),
        Err(Error::ForeignNode { .. })
    ));
    assert!(matches!(
        g1.kind(other.id()),
        Err(Error::ForeignNode { .. })
    ));
}

#[test]
fn wrong_number_of_operands_names_the_op_and_counts() {
    let g = Graph::new();
    let a = g.input("a").id();
    let err = g.try_op(Op::Binary(Binary::Mul), &[a]).unwrap_err();
    assert_eq!(err.to_string(), "op mul: expected 2 operands, got 1");
    let err = g.try_op(Op::Sum, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "op sum: expected at least 1 operands, got 0"
    );
    let err = g.try_op(Op::Dot, &[a, a, a]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "op dot: expected a positive even number of operands, got 3"
    );
    // the operator form defers the same error to compile
    let _ = g.sum(&[]);
    assert_eq!(
        g.compile().unwrap_err().to_string(),
        "op sum: expected at least 1 operands, got 0"
    );
}

#[test]
fn non_finite_op_parameters_and_constants_are_rejected() {
    let g = Graph::new();
    let a = g.input("a").id();
    let err = g
        .try_op(Op::Unary(Unary::Powf { exponent: f64::NAN }), &[a])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the exponent of powf must be a finite number, got NaN"
    );
    let g = Graph::new();
    let _ = g.param("w", f64::INFINITY);
    assert_eq!(
        g.compile().unwrap_err().to_string(),
        "the initial value of parameter node 0 (w) must be a finite number, got inf"
    );
}

#[test]
fn wrong_number_of_input_values_says_what_was_expected() {
    let g = Graph::new();
    let (a, b) = (g.input("a"), g.input("b"));
    let y = a + b;
    let tape = g.compile().unwrap();
    let err = tape.gradients(&[1.0], y).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected 2 input values (2 inputs x 1 associations), got 1"
    );
    // a batch takes whole associations of 2 values
    let mut batch = tape.batch(y).unwrap();
    let err = batch.gradient(&[], &[1.0; 5], &mut []).unwrap_err();
    assert!(matches!(err, Error::PartialAssociation { got: 5, .. }));
    assert!(err.to_string().starts_with(
        "5 input values are not a whole number of associations of 2 (one value per input, in \
         slot order: a, b); 1 left over"
    ));
    assert!(matches!(
        tape.batch(y).unwrap().with_lanes(0),
        Err(Error::NoLanes)
    ));
}

#[test]
fn wrong_number_of_parameters_and_a_workspace_of_another_tape() {
    let g = Graph::new();
    let w = g.param("w", 1.0);
    let _ = w * w;
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    assert!(matches!(
        tape.set_params(&mut ws, &[1.0, 2.0]),
        Err(Error::ParamCount {
            expected: 1,
            got: 2
        })
    ));
    let h = Graph::new();
    let _ = h.input("x").sigmoid();
    let other = h.compile().unwrap();
    assert!(matches!(
        other.forward(&mut ws, &[0.0]),
        Err(Error::WorkspaceMismatch { .. })
    ));
}

#[test]
fn anomaly_mode_names_the_first_non_finite_node() {
    let g = Graph::new();
    let x = g.input("x");
    let y = (x.ln() * 2.0).labelled("twice log x");
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    // off: NaN flows silently, like IEEE arithmetic
    tape.forward(&mut ws, &[-1.0]).unwrap();
    assert!(tape.value(&ws, y).unwrap().is_nan());
    ws.set_anomaly_mode(true);
    let err = tape.forward(&mut ws, &[-1.0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "forward pass: node 1 = ln gave NaN from operands [-1.0]"
    );
    // backward: d/dx ln x at 0 is infinite; the forward value -inf is caught first
    let err = tape.forward(&mut ws, &[0.0]).unwrap_err();
    assert!(
        matches!(err, Error::Anomaly { pass: "forward", value, .. } if value == f64::NEG_INFINITY)
    );
}

#[test]
fn anomaly_mode_names_a_non_finite_input_or_weight_itself() {
    let g = Graph::new();
    let x = g.input("x");
    let w = g.param("w", 1.0);
    let y = (x * w).sigmoid();
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(true);
    let err = tape.forward(&mut ws, &[f64::NAN]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "forward pass: node 0 (x) = input gave NaN from operands []"
    );
    tape.set_params(&mut ws, &[f64::INFINITY]).unwrap();
    let err = tape.forward(&mut ws, &[1.0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "forward pass: node 1 (w) = param gave inf from operands []"
    );
    // off: no check, IEEE arithmetic
    ws.set_anomaly_mode(false);
    tape.forward(&mut ws, &[1.0]).unwrap();
    assert_eq!(tape.value(&ws, y).unwrap(), 1.0);
}

#[test]
fn division_by_zero_and_exp_overflow_are_caught_in_anomaly_mode() {
    let g = Graph::new();
    let (a, b) = (g.input("a"), g.input("b"));
    let _quotient = (a / b).labelled("q");
    let e = a.exp().labelled("e");
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(true);
    let err = tape.forward(&mut ws, &[1.0, 0.0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "forward pass: node 2 (q) = div gave inf from operands [1.0, 0.0]"
    );
    let err = tape.forward(&mut ws, &[710.0, 1.0]).unwrap_err();
    assert!(
        matches!(err, Error::Anomaly { ref node, .. } if node.index == e.id().index() as u32),
        "{err}"
    );
}

#[test]
fn anomaly_mode_catches_a_non_finite_gradient_in_the_backward_pass() {
    // z = 3 sqrt(x) at x = 0: every value is finite, but d sqrt(x)/dx = 1/(2 sqrt x) is not
    let g = Graph::new();
    let x = g.input("x");
    let root = x.powf(0.5).labelled("root");
    let z = (root * 3.0).labelled("z");
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(true);
    tape.forward(&mut ws, &[0.0]).unwrap();
    let err = tape.backward(&mut ws, z).unwrap_err();
    assert_eq!(
        err.to_string(),
        "backward pass: node 1 (root) = powf(0.5) gave inf from operands [0.0]"
    );
    // off: the infinite gradient is returned as such
    ws.set_anomaly_mode(false);
    tape.backward(&mut ws, z).unwrap();
    assert_eq!(tape.gradient(&ws, x).unwrap(), f64::INFINITY);
}

#[test]
fn reading_a_pass_that_has_not_run_is_an_error_naming_it() {
    let g = Graph::new();
    let x = g.input("x");
    let w = g.param("w", 2.0);
    let y = (x * w).labelled("y");
    let tape = g.compile().unwrap();
    let mut ws = tape.workspace();
    let err = tape.value(&ws, y).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the value of node 2 (y) read before any forward pass on this workspace: run Tape::forward first"
    );
    assert!(matches!(
        tape.backward(&mut ws, y),
        Err(Error::PassNotRun {
            pass: "forward",
            ..
        })
    ));
    tape.forward(&mut ws, &[3.0]).unwrap();
    assert_eq!(tape.value(&ws, y).unwrap(), 6.0);
    // no backward pass yet: a gradient of 0 would be a silent lie
    let err = tape.gradient(&ws, w).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the gradient of node 1 (w) read before any backward pass on this workspace: run Tape::backward first"
    );
    assert!(tape.gradients_of(&ws).is_err());
    assert!(tape.accumulate_param_gradients(&ws, &mut [0.0]).is_err());
    tape.backward(&mut ws, y).unwrap();
    assert_eq!(tape.gradient(&ws, w).unwrap(), 3.0); // dy/dw = x
    // a new forward pass makes the old adjoints stale
    tape.forward(&mut ws, &[5.0]).unwrap();
    assert!(matches!(
        tape.gradient(&ws, w),
        Err(Error::PassNotRun {
            pass: "backward",
            ..
        })
    ));
}

#[test]
fn associations_by_name_refuse_unknown_doubled_and_missing_inputs_naming_them() {
    let g = Graph::new();
    let (x, t) = (g.input("x"), g.input("t"));
    let (a, b) = (g.input("same"), g.input("same"));
    let w = g.param("w", 1.0);
    let y = x * w - t + a + b;
    let tape = g.compile().unwrap();
    let err = tape.association_by_label([("nope", 1.0)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no input is labelled \"nope\": the inputs are labelled x, t, same, same"
    );
    let err = tape.association_by_label([("same", 1.0)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 inputs are labelled \"same\": give each input its own label to name it, or name it by its node"
    );
    let err = tape
        .association_by_label([("x", 1.0), ("x", 2.0)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "node 0 (x) is given a value twice in one association"
    );
    let err = tape
        .association([(x, 1.0), (a, 0.0), (b, 0.0)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no value for node 1 (t): an association gives one to every input"
    );
    let err = tape.association([(w, 1.0)]).unwrap_err();
    assert_eq!(err.to_string(), "node 4 (w) is not an input");
    let err = tape.param_slot(x).unwrap_err();
    assert_eq!(err.to_string(), "node 0 (x) is not a trainable parameter");
    // by handle, in any order: the slots come from the graph, not from the caller's order
    let values = tape
        .association([(b, 4.0), (t, 1.0), (a, 3.0), (x, 2.0)])
        .unwrap();
    assert_eq!(values, [2.0, 1.0, 3.0, 4.0]);
    assert_eq!(tape.evaluate(&values, y).unwrap(), 2.0 - 1.0 + 3.0 + 4.0);
    let mut ws = tape.workspace();
    tape.set_param(&mut ws, w, 0.5).unwrap();
    assert_eq!(tape.param(&ws, w).unwrap(), 0.5);
    assert_eq!(tape.params(&ws)[tape.param_slot(w).unwrap()], 0.5);
}

/// Declaring one more input in the middle shifts every later slot; associations given by label
/// are unaffected and give the same value.
#[test]
fn an_input_declared_in_the_middle_does_not_shift_a_labelled_association() {
    let evaluate = |extra: bool| {
        let g = Graph::new();
        let x = g.input("x");
        let bonus = extra.then(|| g.input("bonus"));
        let t = g.input("t");
        let mut y = x * 3.0 - t;
        if let Some(bonus) = bonus {
            y += bonus * 0.0;
        }
        let tape = g.compile().unwrap();
        let mut values = vec![("t", 1.0), ("x", 2.0)];
        if extra {
            values.push(("bonus", 7.0));
        }
        let association = tape.association_by_label(values).unwrap();
        tape.evaluate(&association, y).unwrap()
    };
    assert_eq!(evaluate(false), 5.0);
    assert_eq!(evaluate(true), 5.0);
}
