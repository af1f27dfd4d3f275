//! The catalogue of hostile input, through the command line: every case exits with 1 (a
//! failure to fix) or 2 (wrong usage), never panics, and ends its standard error with one line
//! `error: <what failed>` followed by `  caused by: <cause>` lines, all asserted exactly.
//! `tests/cli.rs` has the happy paths and a few loosely checked failures; the library's side of
//! each case is in `tests/hostile_library.rs` and the per-topic test files.

use crate::common;

use std::path::{Path, PathBuf};

use common::{backprop, write};

use backprop::nn::{Activation, Init, MlpSpec};

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    common::scratch("hostile", name)
}

/// Runs `backprop args` and checks that it exits with `code`, that nothing panicked, and that
/// standard error ends with `error: {message}` and exactly these `  caused by: ` lines (training
/// progress lines may come before them). Returns standard output.
fn refused(case: &str, args: &[&str], code: i32, message: &str, causes: &[&str]) -> String {
    let o = backprop(args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    assert_eq!(o.status.code(), Some(code), "{case}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{case}: no error line in {stderr}"));
    assert!(
        lines[..at].iter().all(|l| l.starts_with("epoch ")),
        "{case}: only progress before the error: {stderr}"
    );
    assert_eq!(lines[at], format!("error: {message}"), "{case}");
    let expected: Vec<String> = causes.iter().map(|c| format!("  caused by: {c}")).collect();
    assert_eq!(lines[at + 1..], expected[..], "{case}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn graph_file(nodes: &str, output: u64) -> String {
    format!(
        r#"{{"format": "backprop-graph", "version": 1, "nodes": [{nodes}], "output": {output}}}"#
    )
}

/// A model file of `sizes` (identity activations, no bias) with these `W`.
fn model_file(sizes: &str, w: &str, loss: &str) -> String {
    let layers = sizes.matches(',').count();
    let activations = vec!["\"identity\""; layers].join(", ");
    let b = vec!["[]"; layers].join(", ");
    format!(
        r#"{{"format": "backprop-model", "version": 1, "sizes": [{sizes}], "activations": [{activations}], "bias": null, "loss": "{loss}", "W": {w}, "b": [{b}]}}"#
    )
}

/// y = 1e308 (1e308 x): the first weighted sum overflows for any |x| > 1.8.
fn overflowing_model(dir: &Path) -> String {
    write(
        dir,
        "big.json",
        model_file("1, 1, 1", "[[[1e308]], [[1e308]]]", "half_squared_error"),
    )
}

/// A 2-2-1 sigmoid network with bias, saved by the library.
fn small_model(dir: &Path) -> String {
    let net = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Constant(0.5))
        .build()
        .unwrap();
    let path = dir.join("small.json");
    backprop::model_file::save(&net, &path).unwrap();
    path.display().to_string()
}

#[test]
fn graph_building_mistakes_in_a_graph_file() {
    let dir = scratch("building");
    let x = r#"{"id": 0, "op": "input", "label": "x", "value": 1}"#;
    let cases = [
        (
            "an op with one operand of two",
            r#"{"id": 1, "op": "mul", "operands": [0]}"#,
            "graph file node 1: op mul: expected 2 operands, got 1",
        ),
        (
            "an empty n-ary sum",
            r#"{"id": 1, "op": "sum", "operands": []}"#,
            "graph file node 1: op sum: expected at least 1 operands, got 0",
        ),
        (
            "a NaN exponent (null: JSON has no NaN)",
            r#"{"id": 1, "op": "powf", "exponent": null, "operands": [0]}"#,
            "graph file node 1: the exponent of powf (null in the file) must be a finite number, got NaN",
        ),
        (
            "a leaf with an operand",
            r#"{"id": 1, "op": "const", "value": 2, "operands": [0]}"#,
            "graph file node 1: op const: expected 0 operands, got 1",
        ),
        (
            "a slope on an op without one",
            r#"{"id": 1, "op": "relu", "slope": 0.1, "operands": [0]}"#,
            "graph file node 1: invalid slope: relu takes no slope",
        ),
        (
            "a leaky relu without its slope",
            r#"{"id": 1, "op": "leaky_relu", "operands": [0]}"#,
            "graph file node 1: leaky_relu needs a \"slope\" field",
        ),
    ];
    for (k, (case, node, cause)) in cases.into_iter().enumerate() {
        let file = write(
            &dir,
            &format!("{k}.json"),
            graph_file(&format!("{x}, {node}"), 1),
        );
        refused(
            case,
            &["grad", &file],
            1,
            &format!("cannot load the graph {file}"),
            &[cause],
        );
    }
    // an exponent JSON reads but f64 cannot hold
    let text = graph_file(
        &format!(r#"{x}, {{"id": 1, "op": "powf", "exponent": 1e999, "operands": [0]}}"#),
        1,
    );
    let column = text.find("1e999").unwrap() + 5;
    let file = write(&dir, "huge-exponent.json", &text);
    refused(
        "an exponent too large for f64",
        &["graph", "--graph", &file],
        1,
        &format!("cannot load the graph {file}"),
        &[&format!(
            "invalid graph file: number out of range at line 1 column {column}"
        )],
    );
}

#[test]
fn evaluation_failures_are_named_by_anomaly_mode() {
    let dir = scratch("anomaly");
    let x = |v: f64| format!(r#"{{"id": 0, "op": "input", "label": "x", "value": {v:?}}}"#);
    let ln = write(
        &dir,
        "ln.json",
        graph_file(
            &format!(
                r#"{}, {{"id": 1, "op": "ln", "label": "y", "operands": [0]}}"#,
                x(-1.0)
            ),
            1,
        ),
    );
    let ln_cause = "forward pass: node 1 (y) = ln gave NaN from operands [-1.0]";
    refused(
        "ln of a negative number",
        &["grad", &ln],
        1,
        "cannot evaluate the graph",
        &[ln_cause],
    );
    refused(
        "ln of a negative number, drawn",
        &["graph", "--graph", &ln, "--format", "dot"],
        1,
        "cannot evaluate the graph",
        &[ln_cause],
    );
    let div = write(
        &dir,
        "div.json",
        graph_file(
            &format!(
                r#"{}, {{"id": 1, "op": "const", "value": 0}}, {{"id": 2, "op": "div", "label": "q", "operands": [0, 1]}}"#,
                x(1.0)
            ),
            2,
        ),
    );
    refused(
        "division by zero",
        &["grad", &div],
        1,
        "cannot evaluate the graph",
        &["forward pass: node 2 (q) = div gave inf from operands [1.0, 0.0]"],
    );
    let exp = write(
        &dir,
        "exp.json",
        graph_file(
            &format!(r#"{}, {{"id": 1, "op": "exp", "operands": [0]}}"#, x(710.0)),
            1,
        ),
    );
    refused(
        "exp overflow",
        &["grad", &exp],
        1,
        "cannot evaluate the graph",
        &["forward pass: node 1 = exp gave inf from operands [710.0]"],
    );
    // every value finite, but d sqrt(x)/dx at 0 is not
    let root = write(
        &dir,
        "root.json",
        graph_file(
            &format!(
                r#"{}, {{"id": 1, "op": "powf", "exponent": 0.5, "label": "root", "operands": [0]}}, {{"id": 2, "op": "const", "value": 3}}, {{"id": 3, "op": "mul", "operands": [1, 2]}}"#,
                x(0.0)
            ),
            3,
        ),
    );
    refused(
        "an infinite gradient",
        &["grad", &root],
        1,
        "cannot differentiate the graph",
        &["backward pass: node 1 (root) = powf(0.5) gave inf from operands [0.0]"],
    );

    // a model whose weights are finite but whose first weighted sum overflows
    let big = overflowing_model(&dir);
    let one = write(&dir, "one.csv", "x,y\n10,1\n");
    let dot = "forward pass: node 2 (x1[0]) = dot gave inf from operands [10.0, 1e308]";
    refused(
        "overflow in a walkthrough",
        &[
            "walkthrough",
            "--model",
            &big,
            "--input",
            "10",
            "--target",
            "1",
        ],
        1,
        "cannot evaluate the network",
        &[dot],
    );
    refused(
        "overflow in a drawing",
        &[
            "graph", "--model", &big, "--input", "10", "--target", "1", "--format", "dot",
        ],
        1,
        "cannot evaluate the graph",
        &[dot],
    );
    refused(
        "overflow in a prediction",
        &["predict", "--model", &big, "--data", &one, "--ignore", "y"],
        1,
        &format!("cannot evaluate the model on data row 1 of {one}"),
        &[dot],
    );
    refused(
        "overflow in a gradient check",
        &["check", "--model", &big, "--data", &one, "--target", "y"],
        1,
        "cannot evaluate the network on association 0",
        &[dot],
    );
    refused(
        "an overflowing weight from the command line",
        &[
            "walkthrough",
            "--layers",
            "2",
            "--weight",
            "1e200",
            "--input",
            "1e200",
            "--target",
            "0,0",
        ],
        1,
        "cannot evaluate the network",
        &["forward pass: node 3 (x1[0]) = dot gave inf from operands [1e200, 1e200]"],
    );
}

#[test]
fn inputs_and_targets_that_do_not_fit_are_refused() {
    let dir = scratch("fit");
    let small = small_model(&dir);
    let wide = write(&dir, "wide.csv", "a,b,c,y\n1,2,3,0\n");
    let nan = write(&dir, "nan.csv", "a,y\n1,0\nnan,1\n");
    let inf = |flag: &str, value: &str| {
        (
            format!("invalid {flag}"),
            format!("{value:?} is not a finite number"),
        )
    };
    for (flag, value) in [
        ("--input", "NaN"),
        ("--target", "-inf"),
        ("--input", "1e999"),
    ] {
        let (message, cause) = inf(flag, value);
        refused(
            &format!("{flag} {value}"),
            &["walkthrough", flag, value],
            2,
            &message,
            &[&cause],
        );
    }
    refused(
        "an input wider than the model",
        &["walkthrough", "--model", &small, "--input", "1,2,3"],
        2,
        "the association does not fit the network",
        &["shape mismatch: input values (width of layer 0): expected 2, got 3"],
    );
    refused(
        "a target wider than the model",
        &[
            "graph", "--model", &small, "--input", "1,2", "--target", "1,2",
        ],
        2,
        "--input/--target do not fit the model",
        &["shape mismatch: target values (width of the output layer): expected 1, got 2"],
    );
    refused(
        "check data wider than the model",
        &["check", "--model", &small, "--data", &wide, "--target", "y"],
        1,
        &format!("the data has 3 input and 1 target columns, the model {small} expects 2 and 1"),
        &[],
    );
    refused(
        "prediction data wider than the model",
        &[
            "predict", "--model", &small, "--data", &wide, "--ignore", "y",
        ],
        1,
        &format!("{wide} has 3 input columns, the model expects 2"),
        &[],
    );
    refused(
        "a NaN cell",
        &["train", "--data", &nan, "--target", "y"],
        1,
        &format!("cannot load {nan}"),
        &["line 3, column 1 (a): \"nan\" is not a finite number"],
    );
    let null = write(
        &dir,
        "null.json",
        model_file("1, 1", "[[[null]]]", "half_squared_error"),
    );
    refused(
        "a null weight",
        &[
            "walkthrough",
            "--model",
            &null,
            "--input",
            "1",
            "--target",
            "1",
        ],
        1,
        &format!("cannot load the model {null}"),
        &["weight W[0][0][0] (null in the file) must be a finite number, got NaN"],
    );
}

#[test]
fn hard_but_legal_numbers_give_finite_answers() {
    let dir = scratch("legal");
    for op in ["sigmoid", "tanh"] {
        for x in [30.0, -30.0, 700.0, -700.0, 1000.0, -1000.0f64] {
            let file = write(
                &dir,
                &format!("{op}{x}.json"),
                graph_file(
                    &format!(
                        r#"{{"id": 0, "op": "input", "label": "x", "value": {x:?}}}, {{"id": 1, "op": "{op}", "operands": [0]}}"#
                    ),
                    1,
                ),
            );
            let o = backprop(&["grad", &file]);
            assert!(
                o.status.success(),
                "{op}({x}): {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let (value, slope) = (
                json["value"].as_f64().unwrap(),
                json["gradient_wrt_leaves"]["x"].as_f64().unwrap(),
            );
            // sigmoid(+-1000) and tanh beyond |x| = 19.1 are +-1 or 0 exactly, and their slopes 0
            let limit = if op == "sigmoid" {
                f64::from(x > 0.0)
            } else {
                x.signum()
            };
            if x.abs() >= 700.0 && !(op == "sigmoid" && x == -700.0) {
                assert_eq!((value, slope), (limit, 0.0), "{op}({x})");
            } else {
                assert!(
                    (value - limit).abs() < 1e-12 && (0.0..1e-12).contains(&slope),
                    "{op}({x}): {value}, {slope}"
                );
            }
        }
    }
    // softmax cross-entropy on logits (1000, -1000), the target on the second: E = 2000 exactly
    let logits = write(
        &dir,
        "logits.json",
        model_file("1, 2", "[[[1000.0], [-1000.0]]]", "cross_entropy"),
    );
    let o = backprop(&[
        "walkthrough",
        "--model",
        &logits,
        "--input",
        "1",
        "--target",
        "0,1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("2000.000000000"), "{out}");
    assert!(!out.contains("NaN") && !out.contains("inf"), "{out}");
    // training on inputs of +-1000 with cross-entropy: logits of hundreds, a finite error
    let data = write(&dir, "far.csv", "x,label\n1000,0\n-1000,1\n");
    let o = backprop(&[
        "train",
        "--data",
        &data,
        "--label",
        "label",
        "--hidden",
        "",
        "--loss",
        "cross_entropy",
        "--epochs",
        "20",
        "--learning-rate",
        "0.001",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let error: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("final error: "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(error.is_finite(), "{out}");
}

#[test]
fn layered_specifications_and_options_out_of_their_domain() {
    let dir = scratch("options");
    let train_usage = |case: &str, flags: &[&str], cause: &str| {
        let mut args = vec!["train"];
        args.extend_from_slice(flags);
        refused(case, &args, 2, "invalid training options", &[cause]);
    };
    train_usage(
        "a NaN learning rate",
        &["--learning-rate", "NaN"],
        "invalid learning rate: must be a positive finite number, got NaN",
    );
    train_usage(
        "a negative learning rate",
        &["--learning-rate", "-0.5"],
        "invalid learning rate: must be a positive finite number, got -0.5",
    );
    train_usage(
        "a zero learning rate",
        &["--learning-rate", "0"],
        "invalid learning rate: must be a positive finite number, got 0",
    );
    train_usage(
        "zero epochs",
        &["--epochs", "0"],
        "invalid epochs: must be at least 1, got 0",
    );
    train_usage(
        "a batch of 0",
        &["--batch", "0"],
        "invalid batch size: must be between 1 and the number of associations (4), got 0",
    );
    train_usage(
        "a batch larger than the data",
        &["--batch", "5"],
        "invalid batch size: must be between 1 and the number of associations (4), got 5",
    );
    train_usage(
        "a momentum of 1",
        &["--optimiser", "momentum", "--momentum", "1"],
        "invalid momentum: must be in [0, 1), got 1",
    );
    train_usage(
        "a NaN error threshold",
        &["--error-threshold", "NaN"],
        "invalid error threshold: must be a finite number >= 0, got NaN",
    );
    refused(
        "a held-out fraction that leaves nothing to train on",
        &["train", "--test-fraction", "0.9"],
        2,
        "invalid --test-fraction 0.9: it leaves no association to train on (of 4)",
        &[],
    );
    refused(
        "a held-out fraction that holds out nothing",
        &["train", "--test-fraction", "0.1"],
        2,
        "invalid --test-fraction 0.1: it leaves no association to test on (of 4)",
        &[],
    );
    refused(
        "a hidden layer of width 0",
        &["train", "--hidden", "0"],
        2,
        "invalid network options",
        &["invalid network: layer 1 has width 0"],
    );
    refused(
        "a walkthrough layer of width 0",
        &["walkthrough", "--layers", "2,0"],
        2,
        "invalid network options",
        &["invalid network: layer 2 has width 0"],
    );
    refused(
        "a random network of 0 inputs",
        &["check", "--random", "--widths", "0,1"],
        2,
        "invalid network options",
        &["invalid network: layer 0 has width 0"],
    );
    refused(
        "a random check of no associations",
        &["check", "--random", "--associations", "0"],
        2,
        "invalid --associations: at least 1",
        &[],
    );
    refused(
        "a NaN leaky relu slope",
        &["train", "--activation", "leaky_relu:nan"],
        2,
        "invalid --activation",
        &["invalid activation: the slope in \"leaky_relu:nan\" is not finite"],
    );
    refused(
        "an infinite bias node",
        &["train", "--bias", "inf"],
        2,
        "invalid --bias",
        &["expected a number or `none`, got \"inf\""],
    );
    refused(
        "a NaN constant initialisation",
        &["train", "--init", "constant:nan"],
        2,
        "invalid network options",
        &["invalid weight initialisation: constant NaN is not finite"],
    );
    refused(
        "an infinite walkthrough learning rate",
        &["walkthrough", "--learning-rate", "inf"],
        2,
        "invalid --learning-rate inf: must be a positive number",
        &[],
    );

    // the same mistakes in a model file are failures to fix (exit 1)
    let zero = write(
        &dir,
        "zero.json",
        model_file("", "[]", "half_squared_error"),
    );
    refused(
        "a model of zero layers",
        &["walkthrough", "--model", &zero],
        1,
        &format!("cannot load the model {zero}"),
        &["invalid network: a network needs at least 2 layers (input and output), got 0"],
    );
    let narrow = write(
        &dir,
        "narrow.json",
        model_file("2, 0", "[[]]", "half_squared_error"),
    );
    refused(
        "a model layer of width 0",
        &["walkthrough", "--model", &narrow],
        1,
        &format!("cannot load the model {narrow}"),
        &["invalid network: layer 1 has width 0"],
    );
    let misshapen = write(
        &dir,
        "misshapen.json",
        model_file("2, 1", "[[[0.5]]]", "half_squared_error"),
    );
    refused(
        "a weight row one short",
        &["predict", "--model", &misshapen, "--data", "x.csv"],
        1,
        &format!("cannot load the model {misshapen}"),
        &["shape mismatch: columns of W[0][0]: expected 2, got 1"],
    );
}

#[test]
fn bad_files_of_every_kind() {
    let dir = scratch("files");
    let empty = write(&dir, "empty", "");
    refused(
        "an empty model file",
        &["walkthrough", "--model", &empty],
        1,
        &format!("cannot load the model {empty}"),
        &["invalid model file: EOF while parsing a value at line 1 column 0"],
    );
    refused(
        "an empty graph file",
        &["grad", &empty],
        1,
        &format!("cannot load the graph {empty}"),
        &["invalid graph file: EOF while parsing a value at line 1 column 0"],
    );
    refused(
        "an empty csv file",
        &["train", "--data", &empty, "--target", "y"],
        1,
        &format!("cannot load {empty}"),
        &["the csv data is empty: a header row naming the columns is expected"],
    );
    let header = write(&dir, "header.csv", "a,b,y\n\n");
    refused(
        "a csv file of a header only",
        &["train", "--data", &header, "--target", "y"],
        1,
        &format!("cannot load {header}"),
        &["the csv data has a header row (line 1) but no data rows"],
    );

    let small = small_model(&dir);
    let model_text = std::fs::read_to_string(&small).unwrap();
    let graph_text = graph_file(
        r#"{"id": 0, "op": "input", "label": "x", "value": 2}, {"id": 1, "op": "param", "label": "w", "value": 0.5}, {"id": 2, "op": "mul", "operands": [0, 1]}"#,
        2,
    );
    // whatever the library says about these texts is what the command line must show
    let model_cases = [
        (
            "a truncated model file",
            model_text[..model_text.len() / 2].to_string(),
        ),
        (
            "a model file that is not JSON",
            "W = [[0.5, 0.5]]".to_string(),
        ),
        (
            "sizes as a string",
            model_text.replace(
                "\"sizes\": [\n    2,\n    2,\n    1\n  ]",
                "\"sizes\": \"2,2,1\"",
            ),
        ),
        (
            "a misspelt field",
            model_text.replace("\"sizes\"", "\"sizez\""),
        ),
        (
            "a model from the future",
            model_text.replace("\"version\": 1", "\"version\": 7"),
        ),
        ("a graph file given as a model", graph_text.clone()),
        (
            "a huge declared size",
            model_text.replace(
                "\"sizes\": [\n    2,\n    2,",
                "\"sizes\": [\n    100000,\n    100000,",
            ),
        ),
        (
            "an unknown activation",
            model_text.replace("\"sigmoid\"", "\"softplus\""),
        ),
    ];
    for (k, (case, text)) in model_cases.into_iter().enumerate() {
        let cause = backprop::model_file::from_json_str(&text)
            .unwrap_err()
            .to_string();
        let file = write(&dir, &format!("model{k}.json"), &text);
        refused(
            case,
            &["predict", "--model", &file, "--data", &empty],
            1,
            &format!("cannot load the model {file}"),
            &[&cause],
        );
    }
    let node = |id: u64, op: &str, operands: &str| {
        format!(r#"{{"id": {id}, "op": "{op}", "operands": [{operands}]}}"#)
    };
    let x = r#"{"id": 0, "op": "input", "value": 1}"#;
    let graph_cases = [
        (
            "a truncated graph file",
            graph_text[..graph_text.len() / 2].to_string(),
            None,
        ),
        (
            "a graph file that is not JSON",
            "y = w * x".to_string(),
            None,
        ),
        (
            "a node id as a string",
            graph_text.replace(r#""id": 2"#, r#""id": "2""#),
            None,
        ),
        ("a model file given as a graph", model_text.clone(), None),
        (
            "a graph from the future",
            graph_text.replace(r#""version": 1"#, r#""version": 2"#),
            Some("graph format version 2 is newer than this program supports (1)"),
        ),
        (
            "a duplicate node id",
            graph_file(&format!("{x}, {}", node(0, "neg", "0")), 0),
            Some("graph file: node id 0 is used by more than one node"),
        ),
        (
            "a dangling operand",
            graph_file(&format!("{x}, {}", node(1, "neg", "9")), 1),
            Some("graph file: node 1 refers to node 9, which the file does not have"),
        ),
        (
            "a dangling output",
            graph_file(x, 4),
            Some("graph file: the output refers to node 4, which the file does not have"),
        ),
        (
            "a cycle",
            graph_file(
                &format!(
                    "{x}, {}, {}, {}",
                    node(1, "neg", "2"),
                    node(2, "exp", "1"),
                    node(3, "add", "0, 2")
                ),
                3,
            ),
            Some("graph file: nodes 1 -> 2 -> 1 form a cycle"),
        ),
        (
            "an unknown op",
            graph_file(&format!("{x}, {}", node(1, "softplus", "0")), 1),
            Some(
                "graph file node 1: unknown op \"softplus\" (known: input, param, const, add, sub, mul, div, neg, identity, exp, ln, sigmoid, tanh, relu, abs, leaky_relu, powf, step, sum, dot, max)",
            ),
        ),
    ];
    for (k, (case, text, cause)) in graph_cases.into_iter().enumerate() {
        let from_library = backprop::graph_file::from_json_str(&text)
            .unwrap_err()
            .to_string();
        if let Some(cause) = cause {
            assert_eq!(from_library, cause, "{case}");
        }
        let file = write(&dir, &format!("graph{k}.json"), &text);
        refused(
            case,
            &["grad", &file],
            1,
            &format!("cannot load the graph {file}"),
            &[&from_library],
        );
    }

    let csv_cases = [
        (
            "a ragged row",
            "a,b,y\n1,2,0\n3,4\n",
            "--target",
            "line 3: expected 3 cells, got 2",
        ),
        (
            "a non-numeric cell",
            "a,b,y\n1,2,0\n3,abc,1\n",
            "--target",
            "line 3, column 2 (b): \"abc\" is not a number",
        ),
        (
            "an unclosed quote",
            "a,b,y\n1,\"2,0\n",
            "--target",
            "invalid csv file: line 2: a quoted cell is not closed (a cell cannot span lines)",
        ),
        (
            "a missing target column",
            "a,b,z\n1,2,0\n",
            "--target",
            "no column named \"y\": the columns are a, b, z",
        ),
        (
            "a missing label column",
            "a,b,y\n1,2,0\n",
            "--label",
            "no column named \"class\": the columns are a, b, y",
        ),
        (
            "a label column of one class only (labels are any text)",
            "a,class\n1,0.5\n2,0.5\n",
            "--label",
            "label column \"class\" has 1 class (0.5): at least 2 are needed to classify",
        ),
        (
            "a duplicate column name",
            "a,a,y\n1,2,0\n",
            "--target",
            "columns 1 and 2 are both named \"a\"",
        ),
    ];
    for (k, (case, text, flag, cause)) in csv_cases.into_iter().enumerate() {
        let file = write(&dir, &format!("data{k}.csv"), text);
        let column = if flag == "--label" { "class" } else { "y" };
        refused(
            case,
            &["train", "--data", &file, flag, column],
            1,
            &format!("cannot load {file}"),
            &[cause],
        );
    }
    let binary = write(&dir, "binary.csv", [0xff, 0xfe, 0x00, 0x01]);
    refused(
        "a csv file that is not text",
        &["train", "--data", &binary, "--target", "y"],
        1,
        &format!("cannot load {binary}"),
        &[&format!(
            "{binary}: not UTF-8 text (invalid byte at offset 0)"
        )],
    );
    let labels = write(&dir, "labels.csv", "a,class\n1,0\n");
    refused(
        "a huge number of classes",
        &[
            "train",
            "--data",
            &labels,
            "--label",
            "class",
            "--classes",
            "100000",
        ],
        1,
        &format!("cannot load {labels}"),
        &["invalid targets: 100000 classes is over the limit of 65536"],
    );
    let missing = dir.join("no-such-file.json").display().to_string();
    refused(
        "a missing model file",
        &["walkthrough", "--model", &missing],
        1,
        &format!("cannot load the model {missing}"),
        &[&format!(
            "{missing}: No such file or directory (os error 2)"
        )],
    );
}

/// `y = w x` from w = 1 on x = 1, y' = 0 at rate 3: w <- -2 w each epoch, so the error
/// (w x)^2 / 2 first overflows at epoch 513 (see `tests/hostile_library.rs`).
#[test]
fn diverging_training_names_the_epoch_and_loses_nothing() {
    let dir = scratch("diverge");
    let data = write(&dir, "line.csv", "x,y\n1,0\n");
    let old = "the model saved by an earlier run\n";
    let model = write(&dir, "model.json", old);
    refused(
        "training that diverges",
        &[
            "train",
            "--data",
            &data,
            "--target",
            "y",
            "--hidden",
            "",
            "--bias",
            "none",
            "--init",
            "constant:1",
            "--learning-rate",
            "3",
            "--save",
            &model,
        ],
        1,
        "training failed",
        &[
            "training diverged at epoch 513: the error became inf; the weights from before that epoch were kept (try a smaller learning rate)",
            "nothing was saved",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&model).unwrap(),
        old,
        "the earlier model is kept"
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["line.csv", "model.json"],
        "no temporary file is left"
    );

    // a picture that cannot be written does not cost the trained model
    let saved = dir.join("xor.json").display().to_string();
    let plot = dir
        .join("no-such-folder")
        .join("loss.svg")
        .display()
        .to_string();
    refused(
        "a plot into a missing folder",
        &["train", "--epochs", "50", "--save", &saved, "--plot", &plot],
        1,
        &format!("cannot write {plot}"),
        &["No such file or directory (os error 2)"],
    );
    assert!(backprop::model_file::load(&saved).is_ok());
    let nowhere = dir
        .join("no-such-folder")
        .join("m.json")
        .display()
        .to_string();
    refused(
        "a model saved into a missing folder",
        &["train", "--epochs", "50", "--save", &nowhere],
        1,
        &format!("cannot save the model to {nowhere}"),
        &[&format!(
            "{nowhere}: No such file or directory (os error 2)"
        )],
    );
}

/// A version 2 model of two inputs `a`, `b` and classes `no`, `yes`, trained and saved by the
/// command line itself.
fn classifier(dir: &Path) -> String {
    let data = write(
        dir,
        "train.csv",
        "a,b,answer\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n",
    );
    let model = dir.join("classifier.json").display().to_string();
    let o = backprop(&[
        "train", "--data", &data, "--label", "answer", "--scale", "minmax", "--epochs", "3",
        "--save", &model,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    model
}

#[test]
fn version_2_models_refuse_data_and_files_that_do_not_fit_and_write_nothing() {
    let dir = scratch("v2");
    let model = classifier(&dir);
    let out = dir.join("out.csv").display().to_string();
    let missing = write(&dir, "missing.csv", "b,answer\n1,no\n");
    refused(
        "a csv missing an input column",
        &[
            "predict", "--model", &model, "--data", &missing, "--output", &out,
        ],
        1,
        &format!("cannot load {missing}"),
        &["no column named \"a\": the columns are b, answer"],
    );
    let stranger = write(&dir, "stranger.csv", "a,b,answer\n1,0,yes\n1,1,maybe\n");
    refused(
        "a class the model does not know",
        &[
            "predict", "--model", &model, "--data", &stranger, "--output", &out,
        ],
        1,
        &format!("cannot load {stranger}"),
        &["line 3, column 3 (answer): class \"maybe\" is not one of the model's classes (no, yes)"],
    );
    let fine = write(&dir, "fine.csv", "b,a\n1,0\n");
    refused(
        "--scale on a version 2 model",
        &[
            "predict", "--model", &model, "--data", &fine, "--scale", "minmax",
        ],
        2,
        &format!(
            "--scale minmax is for version 1 models: {model} is version 2 and scales its inputs as when it was trained (minmax)"
        ),
        &[],
    );
    let text = std::fs::read_to_string(&model).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit, &str); 4] = [
        (
            "a scaler of the wrong number of columns",
            |v| v["scaling"]["center"] = serde_json::json!([0.0]),
            "invalid model file: scaling: 1 numbers in \"center\", but there are 2 inputs (a, b): one per input column",
        ),
        (
            "a zero scale",
            |v| v["scaling"]["scale"][1] = serde_json::json!(0.0),
            "invalid model file: scaling: scale[1] (input \"b\") is 0: it must be finite and non-zero",
        ),
        (
            "an empty class list",
            |v| v["targets"]["classes"] = serde_json::json!([]),
            "invalid model file: targets: 0 classes (): at least 2 are needed",
        ),
        (
            "a duplicate class",
            |v| v["targets"]["classes"] = serde_json::json!(["no", "no"]),
            "invalid model file: targets: classes 0 and 1 are both \"no\"",
        ),
    ];
    for (case, edit, cause) in edits {
        let mut bad = value.clone();
        edit(&mut bad);
        let path = write(&dir, "bad.json", bad.to_string());
        refused(
            case,
            &[
                "predict", "--model", &path, "--data", &fine, "--output", &out,
            ],
            1,
            &format!("cannot load the model {path}"),
            &[cause],
        );
    }
    assert!(!Path::new(&out).exists(), "nothing is written");
    // and the same file, unedited, predicts
    let o = backprop(&[
        "predict", "--model", &model, "--data", &fine, "--output", &out,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("answer,no,yes\n"), "{written}");
}
