//! The graph file: any graph round-trips exactly, nodes may come in any order, and every kind
//! of bad file gives a typed error naming the node.

use backprop::graph_file::{
    LoadedGraph, from_json_str, load_graph, node_kinds, save_graph, save_graph_file,
};
use backprop::{Binary, Error, Graph, NodeKind, Op, Unary};
use serde_json::{Value, json};

/// The example of the module docs.
fn doc_example() -> Value {
    json!({
        "format": "backprop-graph",
        "version": 1,
        "nodes": [
            {"id": 0, "op": "input", "label": "x", "value": 1.0},
            {"id": 1, "op": "param", "label": "w", "value": 0.5},
            {"id": 2, "op": "const", "value": 1.0},
            {"id": 3, "op": "mul", "operands": [0, 1]},
            {"id": 4, "op": "leaky_relu", "slope": 0.01, "operands": [3]},
            {"id": 5, "op": "powf", "exponent": 2, "operands": [4]}
        ],
        "output": 5
    })
}

/// A file with these nodes and this output.
fn file(nodes: Value, output: u64) -> Value {
    json!({"format": "backprop-graph", "version": 1, "nodes": nodes, "output": output})
}

fn load(value: &Value) -> Result<LoadedGraph, Error> {
    from_json_str(&value.to_string())
}

/// The value of the output and its gradient with respect to every node, in file order.
fn evaluate(loaded: &LoadedGraph) -> (f64, Vec<f64>) {
    let tape = loaded.graph.compile().unwrap();
    let mut ws = tape.workspace();
    tape.forward(&mut ws, &loaded.input_values).unwrap();
    let y = tape.value(&ws, loaded.output).unwrap();
    let grads = tape.gradients(&loaded.input_values, loaded.output).unwrap();
    let g = loaded
        .nodes
        .iter()
        .map(|&(_, n)| grads.wrt(n).unwrap())
        .collect();
    (y, g)
}

#[test]
fn documented_example_loads_and_evaluates() {
    let loaded = load(&doc_example()).unwrap();
    let (y, grads) = evaluate(&loaded);
    // y = leaky_relu(x w)^2 = (1 * 0.5)^2 = 0.25; dy/dw = 2 (x w) x = 1; dy/dx = 2 (x w) w = 0.5
    assert_eq!(y, 0.25);
    assert_eq!(grads[1], 1.0);
    assert_eq!(grads[0], 0.5);
    assert_eq!(loaded.input_values, [1.0]);
    let g = &loaded.graph;
    let w = loaded.node(1).unwrap();
    assert_eq!(
        g.kind(w).unwrap(),
        NodeKind::Param {
            slot: 0,
            value: 0.5
        }
    );
    assert_eq!(g.label(w).unwrap().as_deref(), Some("w"));
    assert_eq!(
        g.kind(loaded.node(4).unwrap()).unwrap(),
        NodeKind::Op(Op::Unary(Unary::LeakyRelu { slope: 0.01 }))
    );
    assert_eq!(
        g.kind(loaded.node(5).unwrap()).unwrap(),
        NodeKind::Op(Op::Unary(Unary::Powf { exponent: 2.0 }))
    );
    assert_eq!(loaded.node(99), None);
}

#[test]
fn nodes_in_any_order_with_arbitrary_ids_are_ordered_topologically() {
    // the example's nodes reversed, with large ids; inputs keep their file order as slots
    let nodes = json!([
        {"id": 900, "op": "sum", "operands": [u64::MAX, 17, 5]},
        {"id": 17, "op": "mul", "operands": [5, 40]},
        {"id": 40, "op": "input", "label": "b", "value": 3.0},
        {"id": u64::MAX, "op": "param", "value": -2.0},
        {"id": 5, "op": "input", "label": "a", "value": 7.0}
    ]);
    let loaded = load(&file(nodes, 900)).unwrap();
    // inputs in file order: b (3) then a (7)
    assert_eq!(loaded.input_values, [3.0, 7.0]);
    let b = loaded.node(40).unwrap();
    assert_eq!(loaded.graph.input_nodes()[0], b);
    let (y, grads) = evaluate(&loaded);
    // y = p + a b + a = -2 + 21 + 7; in file order: dy/dy = 1, dy/d(a b) = 1, dy/db = a = 7,
    // dy/dp = 1, dy/da = b + 1 = 4
    assert_eq!(y, 26.0);
    assert_eq!(grads, [1.0, 1.0, 7.0, 1.0, 4.0]);
    // creation order is topological: every operand is created before its op
    for node in loaded.graph.nodes() {
        for operand in loaded.graph.operands(node).unwrap() {
            assert!(operand.index() < node.index());
        }
    }
}

/// A graph with every node kind, labels, a repeated operand, fan-out and n-ary ops.
fn every_kind() -> (Graph, usize) {
    let g = Graph::new();
    let x = g.input("x");
    let z = g.input("");
    let w = g.param("w", -0.75);
    let c = g.constant(0.1);
    let a = (x + w) * (z - c) / (x * x + 2.0);
    let u = (-a).exp().ln().sigmoid().tanh().relu();
    let v = u.identity().leaky_relu(0.2).powf(3.5).abs().labelled("v");
    let s = g.sum(&[u, v, x]).labelled("s");
    let d = g.dot(&[(s, w), (x, z)]);
    let m = g.max(&[d, s, c]);
    let st = g
        .try_op(Op::Unary(Unary::Step { low: 0.25 }), &[m.id()])
        .unwrap();
    let out = g.try_op(Op::Binary(Binary::Add), &[st, m.id()]).unwrap();
    (g, out.index())
}

#[test]
fn saving_then_loading_any_graph_gives_the_same_graph_and_the_same_text() {
    let (g, out) = every_kind();
    let output = g.nodes().nth(out).unwrap();
    let text = save_graph(&g, output, &[0.5, 1.5]).unwrap();
    let loaded = from_json_str(&text).unwrap();
    assert_eq!(loaded.graph.len(), g.len());
    assert_eq!(loaded.output.index(), out);
    assert_eq!(loaded.input_values, [0.5, 1.5]);
    for (node, (id, back)) in g.nodes().zip(&loaded.nodes) {
        assert_eq!(*id, node.index() as u64);
        assert_eq!(back.index(), node.index());
        assert_eq!(loaded.graph.kind(*back).unwrap(), g.kind(node).unwrap());
        assert_eq!(loaded.graph.label(*back).unwrap(), g.label(node).unwrap());
        let operands = |g: &Graph, n| -> Vec<usize> {
            g.operands(n).unwrap().iter().map(|o| o.index()).collect()
        };
        assert_eq!(operands(&loaded.graph, *back), operands(&g, node));
    }
    assert_eq!(
        save_graph(&loaded.graph, loaded.output, &loaded.input_values).unwrap(),
        text
    );
    // and it computes the same, bit for bit
    let original = g.compile().unwrap().gradients(&[0.5, 1.5], output).unwrap();
    let again = evaluate(&loaded).1;
    for (node, grad) in g.nodes().zip(again) {
        assert_eq!(original.wrt(node).unwrap().to_bits(), grad.to_bits());
    }
}

#[test]
fn every_node_kind_of_the_graph_is_in_the_format() {
    let (g, _) = every_kind();
    let mut names: Vec<&str> = g.nodes().map(|n| g.kind(n).unwrap().name()).collect();
    names.sort_unstable();
    names.dedup();
    let mut known = node_kinds();
    known.sort_unstable();
    assert_eq!(names, known);
}

#[test]
fn a_layered_networks_graph_round_trips() {
    let net = backprop::tutorial::worked_example().unwrap();
    let inputs = [1.0, 1.0, 0.5]; // x_0, x_1, the target y'
    let text = save_graph(net.graph(), net.loss_node(), &inputs).unwrap();
    let loaded = from_json_str(&text).unwrap();
    let (e, _) = evaluate(&loaded);
    let expected = net.evaluate(&[1.0, 1.0], &[0.5]).unwrap().error();
    assert_eq!(e.to_bits(), expected.to_bits());
}

#[test]
fn long_chain_in_reverse_order_loads_without_recursion() {
    let n = 20_000u64;
    let mut nodes: Vec<Value> = (1..n)
        .rev()
        .map(|id| json!({"id": id, "op": "neg", "operands": [id - 1]}))
        .collect();
    nodes.push(json!({"id": 0, "op": "input", "value": 1.0}));
    let text = file(Value::Array(nodes), n - 1).to_string();
    let loaded = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let loaded = from_json_str(&text).unwrap();
            loaded.graph.len()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(loaded, n as usize);
}

fn node_error(err: &Error) -> (u64, &Error) {
    match err {
        Error::GraphFileNode { node, error } => (*node, error),
        other => panic!("expected a node error, got {other:?}"),
    }
}

#[test]
fn duplicate_id_is_refused() {
    let mut value = doc_example();
    value["nodes"][3]["id"] = json!(1);
    let err = load(&value).unwrap_err();
    assert_eq!(err, Error::DuplicateNodeId { id: 1 });
    assert_eq!(
        err.to_string(),
        "graph file: node id 1 is used by more than one node"
    );
}

#[test]
fn dangling_operand_and_unknown_output_are_refused() {
    let mut value = doc_example();
    value["nodes"][3]["operands"] = json!([0, 9]);
    let err = load(&value).unwrap_err();
    assert_eq!(
        err,
        Error::DanglingNode {
            user: "node 3".into(),
            missing: 9
        }
    );
    assert_eq!(
        err.to_string(),
        "graph file: node 3 refers to node 9, which the file does not have"
    );
    let mut value = doc_example();
    value["output"] = json!(6);
    assert_eq!(
        load(&value).unwrap_err().to_string(),
        "graph file: the output refers to node 6, which the file does not have"
    );
}

#[test]
fn cycle_is_refused_naming_its_nodes() {
    let nodes = json!([
        {"id": 1, "op": "input", "value": 1.0},
        {"id": 3, "op": "mul", "operands": [1, 5]},
        {"id": 5, "op": "exp", "operands": [3]},
        {"id": 6, "op": "neg", "operands": [5]}
    ]);
    let err = load(&file(nodes, 6)).unwrap_err();
    assert_eq!(
        err,
        Error::GraphCycle {
            nodes: vec![3, 5, 3]
        }
    );
    assert_eq!(
        err.to_string(),
        "graph file: nodes 3 -> 5 -> 3 form a cycle"
    );

    // a longer one, read operand -> consumer from its smallest id; and a node feeding itself
    let nodes = json!([
        {"id": 8, "op": "neg", "operands": [4]},
        {"id": 4, "op": "neg", "operands": [9]},
        {"id": 9, "op": "neg", "operands": [8]}
    ]);
    assert_eq!(
        load(&file(nodes, 9)).unwrap_err().to_string(),
        "graph file: nodes 4 -> 8 -> 9 -> 4 form a cycle"
    );
    let nodes = json!([{"id": 2, "op": "neg", "operands": [2]}]);
    assert_eq!(
        load(&file(nodes, 2)).unwrap_err(),
        Error::GraphCycle { nodes: vec![2, 2] }
    );
}

#[test]
fn unknown_op_is_refused_listing_the_known_ones() {
    let mut value = doc_example();
    value["nodes"][4]["op"] = json!("softplus");
    let err = load(&value).unwrap_err();
    let (node, inner) = node_error(&err);
    assert_eq!(node, 4);
    assert_eq!(
        inner,
        &Error::UnknownOp {
            name: "softplus".into(),
            known: node_kinds()
        }
    );
    assert_eq!(
        err.to_string(),
        "graph file node 4: unknown op \"softplus\" (known: input, param, const, add, sub, mul, div, neg, identity, exp, ln, sigmoid, tanh, relu, abs, leaky_relu, powf, step, sum, dot, max)"
    );
}

#[test]
fn wrong_operand_count_is_the_engines_arity_error_naming_the_file_node() {
    let mut value = doc_example();
    value["nodes"][3]["operands"] = json!([0, 1, 2]);
    let err = load(&value).unwrap_err();
    let (node, inner) = node_error(&err);
    assert_eq!(node, 3);
    assert!(matches!(inner, Error::Arity { got: 3, .. }));
    assert_eq!(
        err.to_string(),
        "graph file node 3: op mul: expected 2 operands, got 3"
    );
    let nodes = json!([{"id": 7, "op": "sum"}]);
    assert_eq!(
        load(&file(nodes, 7)).unwrap_err().to_string(),
        "graph file node 7: op sum: expected at least 1 operands, got 0"
    );
    let nodes = json!([
        {"id": 0, "op": "input", "value": 1.0},
        {"id": 1, "op": "dot", "operands": [0, 0, 0]}
    ]);
    assert_eq!(
        load(&file(nodes, 1)).unwrap_err().to_string(),
        "graph file node 1: op dot: expected a positive even number of operands, got 3"
    );
    let nodes = json!([
        {"id": 0, "op": "input", "value": 1.0},
        {"id": 1, "op": "const", "value": 1.0, "operands": [0]}
    ]);
    assert_eq!(
        load(&file(nodes, 1)).unwrap_err().to_string(),
        "graph file node 1: op const: expected 0 operands, got 1"
    );
}

#[test]
fn missing_or_null_values_and_constants_are_refused() {
    let cases = [
        (
            0,
            "value",
            None,
            "graph file node 0: input needs a \"value\" field",
        ),
        (
            1,
            "value",
            None,
            "graph file node 1: param needs a \"value\" field",
        ),
        (
            2,
            "value",
            Some(Value::Null),
            "graph file node 2: the value of const (null in the file) must be a finite number, got NaN",
        ),
        (
            4,
            "slope",
            None,
            "graph file node 4: leaky_relu needs a \"slope\" field",
        ),
        (
            5,
            "exponent",
            None,
            "graph file node 5: powf needs a \"exponent\" field",
        ),
        (
            5,
            "exponent",
            Some(Value::Null),
            "graph file node 5: the exponent of powf (null in the file) must be a finite number, got NaN",
        ),
    ];
    for (index, field, replacement, message) in cases {
        let mut value = doc_example();
        let node = value["nodes"][index].as_object_mut().unwrap();
        match replacement {
            None => {
                node.remove(field);
            }
            Some(v) => {
                node.insert(field.into(), v);
            }
        }
        let err = load(&value).unwrap_err();
        assert_eq!(node_error(&err).0, index as u64);
        assert_eq!(err.to_string(), message);
    }
    let nodes = json!([
        {"id": 0, "op": "input", "value": 1.0},
        {"id": 1, "op": "step", "operands": [0]}
    ]);
    let err = load(&file(nodes, 1)).unwrap_err();
    assert_eq!(
        node_error(&err).1,
        &Error::MissingField {
            op: "step".into(),
            field: "low".into()
        }
    );
}

#[test]
fn a_constant_the_op_does_not_take_is_refused() {
    let mut value = doc_example();
    value["nodes"][3]["slope"] = json!(0.1);
    assert_eq!(
        load(&value).unwrap_err().to_string(),
        "graph file node 3: invalid slope: mul takes no slope"
    );
    let mut value = doc_example();
    value["nodes"][4]["exponent"] = json!(2.0);
    assert_eq!(
        load(&value).unwrap_err().to_string(),
        "graph file node 4: invalid exponent: leaky_relu takes no exponent"
    );
}

#[test]
fn version_from_the_future_is_refused() {
    let mut value = doc_example();
    value["version"] = json!(2);
    let err = load(&value).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedVersion {
            format: "graph".into(),
            version: 2,
            supported: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "graph format version 2 is newer than this program supports (1)"
    );
}

#[test]
fn wrong_format_empty_node_list_and_malformed_files_are_refused() {
    let mut value = doc_example();
    value["format"] = json!("backprop-model");
    assert_eq!(
        load(&value).unwrap_err().to_string(),
        "invalid graph file: \"format\" is \"backprop-model\", expected \"backprop-graph\""
    );
    let err = load(&file(json!([]), 0)).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidFile {
            format: "graph".into(),
            reason: "\"nodes\" is empty: a graph needs at least 1 node".into()
        }
    );
    let mut value = doc_example();
    value["nodes"][0]["lable"] = json!("x");
    assert!(
        load(&value)
            .unwrap_err()
            .to_string()
            .starts_with("invalid graph file: unknown field `lable`, expected one of")
    );
    let mut value = doc_example();
    value["nodes"][0]["id"] = json!(-1);
    assert!(
        load(&value)
            .unwrap_err()
            .to_string()
            .starts_with("invalid graph file: invalid value: integer `-1`, expected u64")
    );
    let err = from_json_str("{\"format\": \"backprop-graph\", \"version\": 1,").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid graph file: EOF while parsing a value at line 1 column 42"
    );
}

#[test]
fn saving_refuses_a_foreign_output_wrong_input_values_and_non_finite_numbers() {
    let (g, _) = every_kind();
    let other = Graph::new();
    let foreign = other.input("y").id();
    assert!(matches!(
        save_graph(&g, foreign, &[0.0, 0.0]).unwrap_err(),
        Error::ForeignNode { .. }
    ));
    let output = g.nodes().last().unwrap();
    assert_eq!(
        save_graph(&g, output, &[0.0]).unwrap_err(),
        Error::Shape {
            what: "input values (one per input of the graph)".into(),
            expected: 2,
            got: 1
        }
    );
    assert_eq!(
        save_graph(&g, output, &[0.0, f64::NAN])
            .unwrap_err()
            .to_string(),
        "the value of node 1 (input) must be a finite number, got NaN"
    );
    let g = Graph::new();
    let c = g.constant(f64::INFINITY);
    assert_eq!(
        save_graph(&g, c.id(), &[]).unwrap_err().to_string(),
        "the value of node 0 (const) must be a finite number, got inf"
    );
}

#[test]
fn loading_a_file_reads_it_and_a_missing_file_is_an_io_error() {
    let path = std::env::temp_dir().join(format!("backprop-graph-{}.json", std::process::id()));
    std::fs::write(&path, doc_example().to_string()).unwrap();
    let loaded = load_graph(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(evaluate(&loaded).0, 0.25);
    let err = load_graph(&path).unwrap_err();
    assert!(matches!(&err, Error::Io { path: p, .. } if *p == path.display().to_string()));
}

#[test]
fn saving_to_a_file_streams_the_same_text_and_a_refused_graph_leaves_the_old_file_alone() {
    let dir = std::env::temp_dir().join(format!("backprop-graph-save-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("g.json");
    let (g, out) = every_kind();
    let output = g.node(out).unwrap();
    save_graph_file(&path, &g, output, &[0.5, 1.5]).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, save_graph(&g, output, &[0.5, 1.5]).unwrap());
    assert_eq!(load_graph(&path).unwrap().graph.len(), g.len());
    // a value JSON cannot hold, found after other nodes were written: the file keeps its old
    // text and no temporary file is left. Nodes: x 0, the constant 2 1, mul 2, sigmoid 3, the
    // infinite constant 4.
    let g2 = Graph::new();
    let x = g2.input("x");
    let y = (x * 2.0).sigmoid() * g2.constant(f64::INFINITY);
    assert_eq!(
        save_graph_file(&path, &g2, y.id(), &[1.0])
            .unwrap_err()
            .to_string(),
        "the value of node 4 (const) must be a finite number, got inf"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["g.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
