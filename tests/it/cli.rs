//! The command line, end to end: every subcommand's output, the files it writes, its exit codes
//! (0 success, 1 a failure to fix, 2 wrong usage) and its one-line errors.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{backprop, write};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    common::scratch("cli", name)
}

#[test]
fn no_command_trains_xor_and_prints_the_predictions() {
    let o = backprop(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("trained a 2x2x1 network"), "{out}");
    assert!(out.contains("final error:"), "{out}");
    assert!(out.contains("below the threshold"), "{out}");
    // the four XOR predictions, each within 0.01 of its target
    for (input, target) in [
        ("[1.00, 1.00]", 0.0),
        ("[1.00, 0.00]", 1.0),
        ("[0.00, 1.00]", 1.0),
        ("[0.00, 0.00]", 0.0),
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(input))
            .unwrap_or_else(|| panic!("no {input} in\n{out}"));
        let predicted: f64 = line
            .split("-> [")
            .nth(1)
            .unwrap()
            .split(']')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((predicted - target).abs() < 0.01, "{line}");
    }
    // not a terminal: plain progress lines on stderr
    assert!(
        stderr(&o).contains("epoch 1/10000: error"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn walkthrough_prints_the_worked_example_and_writes_pictures() {
    let dir = scratch("walkthrough");
    let o = backprop(&["walkthrough", "--svg", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let expected = std::fs::read_to_string("snapshots/worked_example_trace.snap").unwrap();
    let body = expected.splitn(3, "---\n").nth(2).unwrap();
    assert!(out.starts_with(body.trim_end()), "{out}");
    for stem in ["1-forward", "2-backward", "3-update"] {
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") || svg.starts_with("<?xml"),
            "{stem}"
        );
    }
}

#[test]
fn walkthrough_of_a_small_layer_spec() {
    let o = backprop(&[
        "walkthrough",
        "--layers",
        "3",
        "--input",
        "0.5,-1",
        "--target",
        "1,0",
        "--bias",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("delta_j[2]") && out.contains("dE/db_k[1]"),
        "{out}"
    );
    assert!(!out.contains("tutorial:"));
}

#[test]
fn check_passes_on_the_worked_example_and_on_a_random_net() {
    let o = backprop(&["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("all 6 weights agree"));
    let o = backprop(&[
        "check",
        "--random",
        "--hidden",
        "4,3",
        "--activation",
        "tanh",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("weights agree"));
    let o = backprop(&["check", "--order", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("all 36 entries agree"));
}

#[test]
fn check_fails_with_exit_code_1_when_gradients_disagree() {
    // a relu exactly at its kink: relu'(0) = 0 by convention, finite differences see 1/2
    let dir = scratch("kink");
    let model = write(
        &dir,
        "kink.json",
        r#"{"format":"backprop-model","version":1,"sizes":[1,1,1],"activations":["relu","identity"],"bias":null,"loss":"half_squared_error","W":[[[0.0]],[[1.0]]],"b":[[],[]]}"#,
    );
    let data = write(&dir, "one.csv", "x,y\n1,1\n");
    let o = backprop(&["check", "--model", &model, "--data", &data, "--target", "y"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("1 of 2 weights disagree; the first is w0[0->0]"));
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        "error: the gradients disagree, first at w0[0->0] (node 1)"
    );
}

#[test]
fn train_on_csv_saves_plots_and_predicts_bit_identically() {
    let dir = scratch("train");
    let data = write(&dir, "and.csv", "a,b,y\n0,0,0\n0,1,0\n1,0,0\n1,1,1\n");
    let model = dir.join("and.json");
    let plot = dir.join("loss.svg");
    let o = backprop(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--hidden",
        "3",
        "--epochs",
        "2000",
        "--optimiser",
        "adam",
        "--learning-rate",
        "0.05",
        "--save",
        model.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&plot).unwrap().contains("<svg"));
    let first = backprop(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert_eq!(out.lines().count(), 5, "{out}");
    // predictions printed with full precision ({:?}) agree with the library on the loaded model
    let net = backprop::model_file::load(&model).unwrap();
    let expected: f64 = net.predict(&[1.0, 1.0]).unwrap()[0];
    assert_eq!(
        out.lines().nth(4).unwrap().parse::<f64>().unwrap(),
        expected
    );
}

/// With held-out data, `--plot` draws the held-out error beside the training error: two curves
/// of one point per epoch each, named in a legend.
#[test]
fn the_plot_of_a_run_with_held_out_data_has_both_curves() {
    let dir = scratch("held_out_plot");
    let mut csv = String::from("x,y\n");
    for k in 0..20 {
        let x = f64::from(k) / 10.0;
        csv.push_str(&format!("{x},{}\n", (2.0 * x).sin()));
    }
    let data = write(&dir, "sine.csv", csv);
    let plot = dir.join("curves.svg");
    let o = backprop(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--hidden",
        "4",
        "--test-fraction",
        "0.25",
        "--epochs",
        "40",
        "--error-threshold",
        "0",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&plot).unwrap();
    let curves: Vec<usize> = svg
        .lines()
        .filter(|l| l.starts_with("<polyline") && l.contains("class=\"curve\""))
        .map(|l| l.split('"').nth(1).unwrap().split(' ').count())
        .collect();
    assert_eq!(curves, [40, 40], "{svg}");
    assert!(svg.contains(">training (during the epoch)<"), "{svg}");
    assert!(svg.contains(">held-out (after the epoch)<"), "{svg}");
}

#[test]
fn grad_prints_values_and_gradients_as_json() {
    let dir = scratch("grad");
    let file = write(
        &dir,
        "g.json",
        r#"{"format":"backprop-graph","version":1,"nodes":[
            {"id":0,"op":"input","label":"x","value":3.0},
            {"id":1,"op":"mul","operands":[0,0]},
            {"id":2,"op":"param","label":"w","value":2.0},
            {"id":3,"op":"mul","operands":[1,2],"label":"y"}],"output":3}"#,
    );
    let o = backprop(&["grad", &file]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // y = w x^2 = 18; dy/dx = 2 w x = 12; dy/dw = x^2 = 9
    assert_eq!(json["value"], 18.0);
    assert_eq!(json["gradient_wrt_leaves"]["x"], 12.0);
    assert_eq!(json["gradient_wrt_leaves"]["w"], 9.0);
    assert_eq!(json["nodes"].as_array().unwrap().len(), 4);
}

#[test]
fn graph_writes_dot_and_svg() {
    let dir = scratch("graph");
    let o = backprop(&["graph", "--format", "dot"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("digraph"), "{}", stdout(&o));
    let svg = dir.join("net.svg");
    let o = backprop(&["graph", "--output", svg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn usage_errors_exit_with_2_and_one_line() {
    for args in [
        vec!["train", "--learning-rate", "abc"],
        vec!["train", "--optimiser", "rmsprop"],
        vec!["train", "--hidden", "2,x"],
        vec!["train", "--learning-rate", "-1"],
        vec!["train", "--epochs", "0"],
        vec!["check", "--order", "3"],
        vec!["check", "--data", "some.csv", "--target", "y"], // data without a model to check
        vec!["frobnicate"],
    ] {
        let o = backprop(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("error"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn bad_files_exit_with_1_and_name_the_problem() {
    let dir = scratch("bad");
    let ragged = write(&dir, "ragged.csv", "a,b,y\n1,2,0\n3,4\n");
    let o = backprop(&["train", "--data", &ragged, "--target", "y"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("error: cannot load {ragged}\n  caused by: line 3")),
        "{err}"
    );
    let cell = write(&dir, "cell.csv", "a,b,y\n1,2,0\n3,abc,1\n");
    let o = backprop(&["train", "--data", &cell, "--target", "y"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 3, column 2 (b)"),
        "{}",
        stderr(&o)
    );
    let model = dir.join("m.json");
    let o = backprop(&["train", "--epochs", "10", "--save", model.to_str().unwrap()]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&model).unwrap();
    let truncated = write(&dir, "truncated.json", &text[..text.len() / 2]);
    let o = backprop(&["walkthrough", "--model", &truncated]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(&format!(
            "error: cannot load the model {truncated}\n  caused by:"
        )),
        "{}",
        stderr(&o)
    );
    let future = write(
        &dir,
        "future.json",
        // `train --save` writes version 2 (a model with its columns and scaling)
        text.replace("\"version\": 2", "\"version\": 7"),
    );
    let o = backprop(&["walkthrough", "--model", &future]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("model format version 7 is newer than this program supports (2)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn divergence_exits_with_1_and_saves_nothing() {
    let dir = scratch("diverge");
    let model = dir.join("never.json");
    let o = backprop(&[
        "train",
        "--learning-rate",
        "1e300",
        "--activation",
        "relu",
        "--hidden",
        "8",
        "--save",
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("error: training failed\n  caused by: training diverged at epoch"),
        "{err}"
    );
    assert!(err.contains("nothing was saved"));
    assert!(!model.exists());
}

#[test]
fn a_closed_standard_output_ends_the_program_quietly() {
    // `backprop predict ... | head -1`: the reader goes away after one line
    use std::io::Read;
    let dir = scratch("pipe");
    let model = dir.join("m.json");
    assert!(
        backprop(&["train", "--epochs", "5", "--save", model.to_str().unwrap()])
            .status
            .success()
    );
    let rows: String = (0..20_000)
        .map(|k| format!("{},{}\n", k % 2, k % 3))
        .collect();
    // the XOR data's columns, by the names the saved model knows them by
    let data = write(&dir, "many.csv", format!("x0,x1\n{rows}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args([
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            &data,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe is dropped
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn iris_trained_with_word_labels_predicts_in_another_process_as_train_reported() {
    let dir = scratch("iris");
    let iris = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/iris.csv"
    ))
    .unwrap();
    let mut lines = iris.lines();
    let header = lines.next().unwrap();
    // every fifth flower held out (the file is sorted by species: 10 of each)
    let (mut train, mut test) = (vec![header], vec![header]);
    for (k, line) in lines.enumerate() {
        if k % 5 == 4 {
            test.push(line)
        } else {
            train.push(line)
        }
    }
    let train = write(&dir, "train.csv", train.join("\n") + "\n");
    let test = write(&dir, "test.csv", test.join("\n") + "\n");
    let model = dir.join("iris.json").display().to_string();
    let o = backprop(&[
        "train",
        "--data",
        &train,
        "--test-data",
        &test,
        "--label",
        "species",
        "--scale",
        "standard",
        "--hidden",
        "8",
        "--loss",
        "cross_entropy",
        "--optimiser",
        "adam",
        "--learning-rate",
        "0.01",
        "--reduction",
        "mean",
        "--epochs",
        "300",
        "--seed",
        "1",
        "--save",
        &model,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let trained = stdout(&o);
    assert!(
        trained.contains(
            "(sigmoid hidden, identity output, softmax in the loss (cross-entropy), adam optimiser)"
        ),
        "{trained}"
    );
    let held_out = trained
        .lines()
        .find(|l| l.starts_with("held-out set: accuracy"))
        .unwrap_or_else(|| panic!("{trained}"));
    let accuracy = held_out.trim_start_matches("held-out set: ");
    // no scaling option: the model's own
    let o = backprop(&["predict", "--model", &model, "--data", &test]);
    assert!(o.status.success(), "{}", stderr(&o));
    let predicted = stdout(&o);
    assert!(
        stderr(&o).starts_with(&format!("{test}: {accuracy}\n")),
        "{}\nvs {held_out}",
        stderr(&o)
    );
    // at least 27 of 30: the issue's 90%
    let correct: usize = accuracy
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(correct >= 27, "{accuracy}");
    assert!(
        predicted.starts_with("species,setosa,versicolor,virginica\n"),
        "{predicted}"
    );
    // each row's probabilities sum to 1 (to rounding: three terms, a few ulps)
    for row in predicted.lines().skip(1) {
        let p: f64 = row
            .split(',')
            .skip(1)
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-12, "{row}");
    }
    // the first 5 rows alone give the same text, to the bit
    let head: Vec<String> = std::fs::read_to_string(&test)
        .unwrap()
        .lines()
        .take(6)
        .map(str::to_owned)
        .collect();
    let five = write(&dir, "five.csv", head.join("\n") + "\n");
    let o = backprop(&["predict", "--model", &model, "--data", &five]);
    assert!(o.status.success(), "{}", stderr(&o));
    let expected: Vec<&str> = predicted.lines().take(6).collect();
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), expected);
    // --scale on a version 2 model is a usage error
    let o = backprop(&[
        "predict", "--model", &model, "--data", &test, "--scale", "standard",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris.csv");

/// `--label` without `--loss` trains softmax cross-entropy, as a classifier is expected to, and
/// says so, with the defaults it took; `predict` then prints probabilities under the classes'
/// names. With `--loss half_squared_error` the outputs are scores, not probabilities, and the
/// header says so: `score_<class>`.
#[test]
fn a_label_trains_cross_entropy_and_raw_scores_are_headed_as_scores() {
    let dir = scratch("label-defaults");
    let model = dir.join("iris.json").display().to_string();
    let o = backprop(&[
        "train", "--data", IRIS, "--label", "species", "--scale", "standard", "--epochs", "200",
        "--save", &model,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = stdout(&o);
    assert!(
        summary.contains(
            "(sigmoid hidden, identity output, softmax in the loss (cross-entropy), gd optimiser)"
        ),
        "{summary}"
    );
    assert!(
        summary.contains(
            "defaults: --loss cross_entropy (for --label), --reduction mean (for --data), \
             --hidden 2, --activation sigmoid, --optimiser gd, --learning-rate 0.2 (the \
             tutorial's XOR settings, cross-entropy for classes, the mean for data of any size: \
             set them for your data)"
        ),
        "{summary}"
    );
    let o = backprop(&["predict", "--model", &model, "--data", IRIS]);
    assert!(o.status.success(), "{}", stderr(&o));
    let predicted = stdout(&o);
    assert!(
        predicted.starts_with("species,setosa,versicolor,virginica\n"),
        "{predicted}"
    );
    for row in predicted.lines().skip(1) {
        let p: f64 = row
            .split(',')
            .skip(1)
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-12, "{row}"); // probabilities
    }

    let o = backprop(&[
        "train",
        "--data",
        IRIS,
        "--label",
        "species",
        "--loss",
        "half_squared_error",
        "--epochs",
        "20",
        "--save",
        &model,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("identity output, half_squared_error loss"),
        "{}",
        stdout(&o)
    );
    let o = backprop(&["predict", "--model", &model, "--data", IRIS]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("species,score_setosa,score_versicolor,score_virginica\n"),
        "{}",
        stdout(&o)
    );
}

/// An option that would do nothing for the model or the run given is a usage error (exit 2)
/// that says why, not a silence.
#[test]
fn options_that_would_do_nothing_are_refused_saying_why() {
    let dir = scratch("unused-options");
    let model = dir.join("iris.json").display().to_string();
    let o = backprop(&[
        "train", "--data", IRIS, "--label", "species", "--epochs", "5", "--save", &model,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = backprop(&[
        "predict", "--model", &model, "--data", IRIS, "--ignore", "species",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!(
            "error: --ignore species is for version 1 models: {model} is version 2 and reads only \
             its input columns (sepal_length, sepal_width, petal_length, petal_width), found by \
             name"
        )),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
    let v1 = write(
        &dir,
        "v1.json",
        r#"{"format":"backprop-model","version":1,"sizes":[1,1],"activations":["identity"],"bias":null,"loss":"half_squared_error","W":[[[2.0]]],"b":[[]]}"#,
    );
    let points = write(&dir, "points.csv", "x\n1\n");
    let o = backprop(&["predict", "--model", &v1, "--data", &points, "--raw"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--raw is for version 2 models"),
        "{}",
        stderr(&o)
    );
    let o = backprop(&["predict", "--model", &v1, "--data", &points]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "output_0\n2.0\n");
    let o = backprop(&["train", "--momentum", "0.5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(
            "error: --momentum 0.5 is for --optimiser momentum: with --optimiser gd it would do nothing"
        ),
        "{}",
        stderr(&o)
    );
}
