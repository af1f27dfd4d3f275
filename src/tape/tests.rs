//! The fused neuron instruction against the separate ops it stands for.

use proptest::prelude::*;

use super::*;
use crate::Graph;
use crate::error::Error;
use crate::op::{Binary, Op, Unary};

/// A graph of neurons `act(x * w + b)` and plain ops on earlier nodes: `(kind, i, j, k,
/// act)` picks its operands among the nodes made so far. Some neurons have their `mul` or
/// `add` used again later, which must keep them out of a neuron instruction.
fn build(g: &Graph, steps: &[(u8, u16, u16, u16, u8)]) -> Vec<NodeId> {
    let mut nodes = vec![g.input("x").id(), g.input("y").id()];
    for k in 0..3 {
        nodes.push(g.param(&format!("w{k}"), 0.3 * k as f64 - 0.4).id());
    }
    let acts = [Unary::Sigmoid, Unary::Tanh, Unary::Relu, Unary::Identity];
    for &(kind, i, j, k, act) in steps {
        let pick = |n: u16| nodes[n as usize % nodes.len()];
        let (a, b, c) = (pick(i), pick(j), pick(k));
        let act = Op::Unary(acts[act as usize % acts.len()]);
        let mul = Op::Binary(Binary::Mul);
        let add = Op::Binary(Binary::Add);
        match kind % 5 {
            0 | 1 => {
                let m = g.try_op(mul, &[a, b]).unwrap();
                let s = g.try_op(add, &[m, c]).unwrap();
                nodes.push(g.try_op(act, &[s]).unwrap());
                if kind % 5 == 1 {
                    // the mul or the add used once more: no neuron instruction
                    let again = if k % 2 == 0 { m } else { s };
                    nodes.push(g.try_op(Op::Binary(Binary::Sub), &[again, a]).unwrap());
                }
            }
            2 => nodes.push(g.try_op(Op::Binary(Binary::Mul), &[a, b]).unwrap()),
            3 => nodes.push(g.try_op(add, &[a, c]).unwrap()),
            _ => nodes.push(g.try_op(act, &[a]).unwrap()),
        }
    }
    nodes
}

/// Every node's value and adjoint (bits) and the gradient, or the error, after a forward and
/// a backward pass from `output`.
fn run(tape: &Tape, anomaly: bool, output: NodeId) -> String {
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(anomaly);
    let inputs: Vec<f64> = (0..tape.input_count())
        .map(|k| 0.7 - 0.45 * k as f64)
        .collect();
    let passes = tape
        .forward(&mut ws, &inputs)
        .and_then(|()| tape.backward(&mut ws, output));
    if let Err(e) = passes {
        return format!("{e:?}");
    }
    let mut all = String::new();
    for node in 0..tape.len() as u32 {
        let node = NodeId::new(tape.graph, node);
        let value = tape.value(&ws, node).unwrap().to_bits();
        let adjoint = tape.gradient(&ws, node).unwrap().to_bits();
        all += &format!("{value} {adjoint}\n");
    }
    format!("{all}{:?}", tape.gradients_of(&ws).unwrap())
}

proptest! {
    /// With neuron instructions or without, every node's value and adjoint has the same
    /// bits, from any output (inside a neuron too), with anomaly mode on or off; and the
    /// workspace has no rows for the fused nodes.
    #[test]
    fn neurons_give_the_bits_of_separate_ops(
        steps in proptest::collection::vec((0u8..5, 0u16..400, 0u16..400, 0u16..400, 0u8..4), 1..30),
        at in 0.0..1.0f64,
    ) {
        let g = Graph::new();
        let nodes = build(&g, &steps);
        let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
        prop_assert_eq!(plain.row_count(), g.len());
        let last = *nodes.last().unwrap();
        let anywhere = NodeId::new(g.id(), ((g.len() - 1) as f64 * at) as u32);
        for output in [last, anywhere] {
            for anomaly in [false, true] {
                prop_assert_eq!(
                    run(&fused, anomaly, output),
                    run(&plain, anomaly, output),
                    "output {}, anomaly {}", output.index(), anomaly
                );
            }
        }
    }
}

#[test]
fn a_chain_of_neurons_has_one_row_per_link() {
    let g = Graph::new();
    let (x0, w, b) = (g.input("x0"), g.param("w", 3.9), g.param("b", -1.95));
    let mut x = x0;
    for _ in 0..100 {
        x = (x * w + b).sigmoid();
    }
    let tape = g.compile().unwrap();
    assert_eq!(tape.row_count(), 3 + 100);
    assert_eq!(tape.instrs.len(), 100);
    assert_eq!(g.compile_unfused().unwrap().row_count(), 3 + 300);
    let _ = x;
}

#[test]
fn an_overflow_inside_a_neuron_is_reported_at_its_own_node() {
    let g = Graph::new();
    let (x, w, b) = (g.input("x"), g.param("w", 1e300), g.param("b", 1.0));
    let m = x * w;
    let y = (m + b).tanh();
    let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
    assert!(fused.row_count() < plain.row_count());
    for tape in [&fused, &plain] {
        let mut ws = tape.workspace();
        ws.set_anomaly_mode(true);
        match tape.forward(&mut ws, &[1e10]) {
            Err(Error::Anomaly { node, op, .. }) => {
                assert_eq!((node.index, op.as_str()), (m.id().index() as u32, "mul"))
            }
            other => panic!("expected an anomaly at the mul, got {other:?}"),
        }
    }
    let _ = y;
}

#[test]
fn an_infinite_adjoint_inside_a_neuron_is_reported_as_separate_ops_report_it() {
    // d sqrt(s) / ds is infinite at s = x * w + b = 0: the sweep stops at the power node
    let g = Graph::new();
    let (x, w, b) = (g.input("x"), g.param("w", 2.0), g.param("b", -1.4));
    let s = g
        .try_op(Op::Binary(Binary::Mul), &[x.id(), w.id()])
        .unwrap();
    let s = g.try_op(Op::Binary(Binary::Add), &[s, b.id()]).unwrap();
    let sqrt = Op::Unary(Unary::Powf { exponent: 0.5 });
    let y = g.try_op(sqrt, &[s]).unwrap();
    let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
    assert!(fused.row_count() < plain.row_count());
    let mut ws = fused.workspace();
    ws.set_anomaly_mode(true);
    fused.forward(&mut ws, &[0.7]).unwrap();
    match fused.backward(&mut ws, y) {
        Err(Error::Anomaly {
            pass: "backward",
            node,
            ..
        }) => assert_eq!(node.index, y.index() as u32),
        other => panic!("expected an anomaly at the power node, got {other:?}"),
    }
    // the error is the separate ops' error
    let report = run(&fused, true, y);
    assert!(report.starts_with("Anomaly"), "{report}");
    assert_eq!(report, run(&plain, true, y));
}
