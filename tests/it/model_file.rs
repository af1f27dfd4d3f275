//! The model file: save -> load -> predict is bit-identical, saving is atomic, and every kind
//! of bad file gives a typed error naming what is wrong.

use backprop::Error;
use backprop::model_file::{MAX_WEIGHTS, from_json_str, load, save, to_json_string};
use backprop::nn::{Activation, Bias, Connection, Init, Loss, Mlp, MlpSpec};
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// A fresh, empty directory of this test's own.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("backprop-model-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A network with every feature the format stores: several layers, leaky ReLU with an odd
/// slope, a bias of -1, cross entropy, and random weights (full 17-digit mantissas).
fn rich_net() -> Mlp {
    MlpSpec::new(&[3, 4, 2], Activation::LeakyRelu(0.1), Activation::Identity)
        .with_activations(&[Activation::LeakyRelu(0.1), Activation::Identity])
        .with_bias(Bias::Node(-1.0))
        .with_loss(Loss::SoftmaxCrossEntropy)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .with_seed(11)
        .build()
        .unwrap()
}

/// The model file of `rich_net`, as a JSON value to edit.
fn rich_json() -> Value {
    serde_json::from_str(&to_json_string(&rich_net()).unwrap()).unwrap()
}

fn load_value(value: &Value) -> Result<Mlp, Error> {
    from_json_str(&value.to_string())
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn f64_survives_a_json_round_trip_bit_for_bit() {
    // serde_json writes the shortest digits that read back to the same f64; reading them back
    // exactly needs its `float_roundtrip` feature. Random bit patterns cover every exponent.
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
    let values: Vec<f64> = (0..200_000)
        .map(|_| f64::from_bits(rng.random::<u64>()))
        .filter(|v| v.is_finite())
        .chain([f64::MIN_POSITIVE, 5e-324, f64::MAX, -0.0, 0.1, 1.0 / 3.0])
        .collect();
    let text = serde_json::to_string(&values).unwrap();
    let back: Vec<f64> = serde_json::from_str(&text).unwrap();
    assert_eq!(bits(&back), bits(&values));
}

#[test]
fn save_then_load_then_predict_is_bit_identical() {
    let dir = temp_dir("round-trip");
    let path = dir.join("net.json");
    for net in [rich_net(), backprop::tutorial::worked_example().unwrap()] {
        save(&net, &path).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(bits(back.params()), bits(net.params()));
        assert_eq!(back.sizes(), net.sizes());
        assert_eq!(back.spec().activations, net.spec().activations);
        assert_eq!(back.spec().bias, net.spec().bias);
        assert_eq!(back.spec().loss, net.spec().loss);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(9);
        for _ in 0..50 {
            let input: Vec<f64> = (0..net.sizes()[0])
                .map(|_| rng.random_range(-3.0..3.0))
                .collect();
            let (a, b) = (net.predict(&input).unwrap(), back.predict(&input).unwrap());
            assert_eq!(bits(&a), bits(&b));
        }
        // and the text is a fixed point
        assert_eq!(
            to_json_string(&back).unwrap(),
            to_json_string(&net).unwrap()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn file_has_the_documented_fields() {
    let net = rich_net();
    let value = rich_json();
    let w = net.weights();
    let b = net.biases();
    assert_eq!(
        value,
        json!({
            "format": "backprop-model",
            "version": 1,
            "sizes": [3, 4, 2],
            "activations": ["leaky_relu:0.1", "identity"],
            "bias": -1.0,
            "loss": "cross_entropy",
            "W": w,
            "b": b,
        })
    );
    // W[l][j][i] is the weight from node i of layer l to node j of layer l + 1
    assert_eq!(
        value["W"][1][0][3].as_f64(),
        Some(
            net.weight(Connection {
                layer: 1,
                from: 3,
                to: 0
            })
            .unwrap()
        )
    );
    assert_eq!(
        value["b"][0][2].as_f64(),
        Some(net.bias_weight(0, 2).unwrap())
    );
}

#[test]
fn network_without_bias_is_written_with_null_and_empty_bias_lists() {
    let net = backprop::tutorial::worked_example().unwrap();
    let value: Value = serde_json::from_str(&to_json_string(&net).unwrap()).unwrap();
    assert_eq!(value["bias"], Value::Null);
    assert_eq!(value["b"], json!([[], []]));
    // `b` may also be left out when there is no bias
    let mut value = value;
    value.as_object_mut().unwrap().remove("b");
    assert_eq!(load_value(&value).unwrap().params(), net.params());
}

#[test]
fn failure_between_write_and_rename_leaves_the_old_file_intact_and_no_temporary_file() {
    let dir = temp_dir("atomic");
    let path = dir.join("model.json");
    let old = backprop::tutorial::worked_example().unwrap();
    save(&old, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut temp_seen = None;
    let err = backprop::internal::save_with_hook(&rich_net(), &path, |temp| {
        // the new model is fully on disk, under another name, in the same directory
        assert_eq!(temp.parent(), Some(dir.as_path()));
        let written = std::fs::read_to_string(temp).unwrap();
        assert_eq!(written, to_json_string(&rich_net()).unwrap());
        temp_seen = Some(temp.to_path_buf());
        Err(std::io::Error::other("injected failure"))
    })
    .unwrap_err();
    assert_eq!(
        err,
        Error::Io {
            path: path.display().to_string(),
            reason: "injected failure".into()
        }
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!temp_seen.unwrap().exists());
    assert_eq!(files_in(&dir), ["model.json"]);
    assert_eq!(load(&path).unwrap().params(), old.params());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_replaces_an_existing_file_and_leaves_no_temporary_file() {
    let dir = temp_dir("replace");
    let path = dir.join("model.json");
    save(&backprop::tutorial::worked_example().unwrap(), &path).unwrap();
    save(&rich_net(), &path).unwrap();
    assert_eq!(load(&path).unwrap().params(), rich_net().params());
    assert_eq!(files_in(&dir), ["model.json"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_into_a_missing_directory_is_an_io_error_naming_the_file() {
    let dir = temp_dir("missing-dir");
    let path = dir.join("no").join("such").join("model.json");
    let err = save(&rich_net(), &path).unwrap_err();
    assert!(matches!(&err, Error::Io { path: p, .. } if *p == path.display().to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_finite_weight_is_refused_when_saving_and_nothing_is_written() {
    let dir = temp_dir("non-finite");
    let path = dir.join("model.json");
    let mut net = rich_net();
    let slot = net
        .weight_slot(Connection {
            layer: 1,
            from: 2,
            to: 1,
        })
        .unwrap();
    backprop::internal::set_param_unchecked(&mut net, slot, f64::INFINITY);
    let err = save(&net, &path).unwrap_err();
    assert_eq!(
        err,
        Error::NonFiniteConstant {
            what: "weight W[1][1][2]".into(),
            value: f64::INFINITY
        }
    );
    assert!(files_in(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn version_from_the_future_is_refused_before_its_body_is_read() {
    // version 7 may look nothing like version 1: only "format" and "version" are read
    let err = from_json_str(r#"{"format": "backprop-model", "version": 7, "layers": "new"}"#)
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedVersion {
            format: "model".into(),
            version: 7,
            supported: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "model format version 7 is newer than this program supports (2)"
    );
}

#[test]
fn wrong_or_missing_format_and_bad_versions_are_refused() {
    let cases = [
        (
            json!({"format": "backprop-graph", "version": 1}),
            "invalid model file: \"format\" is \"backprop-graph\", expected \"backprop-model\"",
        ),
        (
            json!({"version": 1}),
            "invalid model file: no \"format\" field (expected \"backprop-model\")",
        ),
        (
            json!({"format": "backprop-model"}),
            "invalid model file: no \"version\" field",
        ),
        (
            json!({"format": "backprop-model", "version": 0}),
            "invalid model file: \"version\" must be an integer from 1, got 0",
        ),
        (
            json!({"format": "backprop-model", "version": "1"}),
            "invalid model file: \"version\" must be an integer from 1, got \"1\"",
        ),
    ];
    for (value, message) in cases {
        let err = load_value(&value).unwrap_err();
        assert!(matches!(err, Error::InvalidFile { .. }), "{err:?}");
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn text_that_is_not_a_json_object_is_refused_with_its_position() {
    let err = from_json_str("W = 1").unwrap_err();
    assert_eq!(
        err,
        Error::InvalidFile {
            format: "model".into(),
            reason: "expected value at line 1 column 1".into()
        }
    );
    let err = from_json_str("[1, 2]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model file: invalid type: sequence, expected a JSON object at line 1 column 0"
    );
}

#[test]
fn unknown_and_missing_fields_are_refused() {
    let mut value = rich_json();
    value["Bias"] = json!(1.0);
    let err = load_value(&value).unwrap_err();
    assert!(matches!(err, Error::InvalidFile { .. }));
    assert!(
        err.to_string()
            .starts_with("invalid model file: unknown field `Bias`, expected one of")
    );

    let mut value = rich_json();
    value.as_object_mut().unwrap().remove("bias");
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "invalid model file: no \"bias\" field (a number, or null for none)"
    );
    let mut value = rich_json();
    value.as_object_mut().unwrap().remove("b");
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "invalid model file: no \"b\" field (the bias weights)"
    );
}

#[test]
fn wrong_shapes_name_the_layer_and_row() {
    let mut value = rich_json();
    value["W"][1].as_array_mut().unwrap().pop();
    let err = load_value(&value).unwrap_err();
    assert_eq!(
        err,
        Error::Shape {
            what: "rows of W[1]".into(),
            expected: 2,
            got: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "shape mismatch: rows of W[1]: expected 2, got 1"
    );

    let mut value = rich_json();
    value["W"][0][3].as_array_mut().unwrap().push(json!(0.5));
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "shape mismatch: columns of W[0][3]: expected 3, got 4"
    );

    let mut value = rich_json();
    value["b"][1] = json!([]);
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "shape mismatch: b[1]: expected 2, got 0"
    );

    let mut value = rich_json();
    value["W"].as_array_mut().unwrap().push(json!([]));
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "shape mismatch: weight layers W: expected 2, got 3"
    );
}

#[test]
fn null_weight_is_named() {
    // JSON has no NaN or infinity; serde_json writes them as null
    let mut value = rich_json();
    value["W"][1][0][3] = Value::Null;
    let err = load_value(&value).unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteConstant { ref what, value } if what == "weight W[1][0][3] (null in the file)" && value.is_nan())
    );
    assert_eq!(
        err.to_string(),
        "weight W[1][0][3] (null in the file) must be a finite number, got NaN"
    );
    let mut value = rich_json();
    value["b"][0][1] = Value::Null;
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "bias weight b[0][1] (null in the file) must be a finite number, got NaN"
    );
}

#[test]
fn number_too_large_for_f64_is_refused_with_its_position() {
    let text = to_json_string(&rich_net()).unwrap();
    let text = text.replacen("\"bias\": -1.0", "\"bias\": 1e999", 1);
    let err = from_json_str(&text).unwrap_err();
    assert!(matches!(err, Error::InvalidFile { .. }));
    assert!(
        err.to_string()
            .starts_with("invalid model file: number out of range at line"),
        "{err}"
    );
}

#[test]
fn absurd_sizes_are_refused_before_anything_is_built() {
    // 10^10 weights would take a terabyte as graph nodes; the file itself is tiny
    let mut value = rich_json();
    value["sizes"] = json!([100000, 100000, 2]);
    let err = load_value(&value).unwrap_err();
    assert_eq!(
        err,
        Error::TooLarge {
            what: "the network".into(),
            size: 100001 * 100000 + 100001 * 2,
            unit: "weights",
            limit: MAX_WEIGHTS
        }
    );
    assert_eq!(
        err.to_string(),
        format!("the network: 10000300002 weights, over the limit of {MAX_WEIGHTS}")
    );
    // products that overflow 64 bits saturate rather than wrap around to something small
    value["sizes"] = json!([u64::MAX, u64::MAX, 2]);
    assert!(matches!(
        load_value(&value).unwrap_err(),
        Error::TooLarge { size: u64::MAX, .. }
    ));
}

#[test]
fn degenerate_sizes_are_invalid_networks() {
    let mut value = rich_json();
    value["sizes"] = json!([3]);
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "invalid network: a network needs at least 2 layers (input and output), got 1"
    );
    value["sizes"] = json!([3, 0, 2]);
    assert_eq!(
        load_value(&value).unwrap_err(),
        Error::InvalidNetwork("layer 1 has width 0".into())
    );
}

#[test]
fn unknown_activation_or_loss_and_wrong_activation_count_are_refused() {
    let mut value = rich_json();
    value["activations"][1] = json!("swish");
    assert_eq!(
        load_value(&value).unwrap_err(),
        Error::InvalidFile {
            format: "model".into(),
            reason: "activations[1]: unknown activation \"swish\" (expected identity, sigmoid, tanh, relu, leaky_relu or leaky_relu:SLOPE)".into()
        }
    );
    let mut value = rich_json();
    value["loss"] = json!("squared_hinge");
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "invalid model file: loss: unknown loss \"squared_hinge\" (expected half_squared_error, cross_entropy or hinge)"
    );
    let mut value = rich_json();
    value["activations"] = json!(["sigmoid"]);
    assert_eq!(
        load_value(&value).unwrap_err().to_string(),
        "invalid model file: expected 2 activations (one per layer after the input), got 1"
    );
}

#[test]
fn failed_load_leaves_the_file_and_the_network_in_memory_unchanged() {
    let dir = temp_dir("failed-load");
    let path = dir.join("model.json");
    let net = rich_net();
    save(&net, &path).unwrap();
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    value["W"][0][0][0] = Value::Null;
    let broken = dir.join("broken.json");
    std::fs::write(&broken, value.to_string()).unwrap();
    let before = net.params().to_vec();
    assert!(load(&broken).is_err());
    assert_eq!(net.params(), before);
    assert_eq!(load(&path).unwrap().params(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loading_a_missing_file_is_an_io_error_naming_it() {
    let path = std::env::temp_dir().join("backprop-model-no-such-file.json");
    let err = load(&path).unwrap_err();
    assert!(matches!(&err, Error::Io { path: p, .. } if *p == path.display().to_string()));
}

// ---- version 2: the network with its schema ----

use backprop::data::{CsvOptions, Dataset, Scaler, Scaling};
use backprop::model_file::{Model, Outputs, Predicts, Schema};

/// Four flowers of two species, the columns in an order of their own and an id column.
const FLOWERS: &str = "id,petal_width,species,petal_length\n\
    a,0.2,setosa,1.4\n\
    b,1.3,versicolor,4.0\n\
    c,0.3,setosa,1.7\n\
    d,1.5,versicolor,4.5\n";

/// A 2-3-2 classifier of `FLOWERS` with standard scaling fitted on them, random weights.
fn flower_model() -> Model {
    let data = Dataset::from_csv_str(
        FLOWERS,
        &CsvOptions::label("species", None).with_inputs(&["petal_length", "petal_width"]),
    )
    .unwrap();
    let scaler = Scaler::fit(Scaling::Standardize, &data).unwrap();
    let schema = Schema::for_data(&data, scaler, Outputs::Softmax).unwrap();
    let net = MlpSpec::new(&[2, 3, 2], Activation::Tanh, Activation::Identity)
        .with_loss(Loss::SoftmaxCrossEntropy)
        .with_seed(3)
        .build()
        .unwrap();
    Model::new(net, schema).unwrap()
}

fn flower_json() -> Value {
    serde_json::from_str(&flower_model().to_json_string().unwrap()).unwrap()
}

fn load_model(value: &Value) -> Result<Model, Error> {
    Model::from_json_str(&value.to_string())
}

#[test]
fn version_2_file_has_the_documented_fields() {
    let model = flower_model();
    let value = flower_json();
    let scaler = model.schema().unwrap().scaler();
    assert_eq!(
        value,
        json!({
            "format": "backprop-model",
            "version": 2,
            "sizes": [2, 3, 2],
            "activations": ["tanh", "identity"],
            "bias": 1.0,
            "loss": "cross_entropy",
            "inputs": ["petal_length", "petal_width"],
            "scaling": {"kind": "standard", "center": scaler.center(), "scale": scaler.scale()},
            "targets": {"kind": "classes", "column": "species", "classes": ["setosa", "versicolor"]},
            "outputs": "softmax",
            "W": model.net().weights(),
            "b": model.net().biases(),
        })
    );
    // the mean of petal_length 1.4, 4.0, 1.7, 4.5 is 11.6 / 4 = 2.9 (to rounding)
    assert!((scaler.center()[0] - 2.9).abs() < 1e-15);
}

#[test]
fn version_2_round_trips_bit_for_bit_with_its_schema() {
    let dir = temp_dir("v2-round-trip");
    let path = dir.join("flowers.json");
    let model = flower_model();
    model.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    assert_eq!(back.version(), 2);
    assert_eq!(back.schema(), model.schema());
    assert_eq!(bits(back.net().params()), bits(model.net().params()));
    let center = model.schema().unwrap().scaler().center();
    let back_center = back.schema().unwrap().scaler().center();
    assert_eq!(bits(back_center), bits(center));
    assert_eq!(
        back.to_json_string().unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );
    for row in [[1.4, 0.2], [4.0, 1.3], [-3.0, 7.5]] {
        let (a, b) = (model.predict(&row).unwrap(), back.predict(&row).unwrap());
        assert_eq!(bits(&a.outputs), bits(&b.outputs));
        assert_eq!(
            bits(a.probabilities.as_ref().unwrap()),
            bits(b.probabilities.as_ref().unwrap())
        );
    }
    // the network alone is still read from a version 2 file
    assert_eq!(
        bits(load(&path).unwrap().params()),
        bits(model.net().params())
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn prediction_scales_with_the_model_and_softmax_gives_probabilities() {
    let model = flower_model();
    let schema = model.schema().unwrap();
    let (center, scale) = (schema.scaler().center(), schema.scaler().scale());
    let row = [4.2, 1.1];
    let p = model.predict(&row).unwrap();
    // oracle: the network on the row scaled by hand, then softmax written out
    let scaled: Vec<f64> = (0..2).map(|i| (row[i] - center[i]) / scale[i]).collect();
    let z = model.net().predict(&scaled).unwrap();
    assert_eq!(bits(&p.outputs), bits(&z));
    let m = z[0].max(z[1]);
    let e = [(z[0] - m).exp(), (z[1] - m).exp()];
    let probabilities = p.probabilities.unwrap();
    for k in 0..2 {
        // the same operations in the same order: equal to the last bit
        assert_eq!(probabilities[k], e[k] / (e[0] + e[1]));
    }
    assert_eq!(p.class, Some(usize::from(z[1] > z[0])));
    // by name, in any order, an extra column ignored
    let by_name = model
        .predict_named(&[("petal_width", 1.1), ("id", 0.0), ("petal_length", 4.2)])
        .unwrap();
    assert_eq!(by_name.outputs, p.outputs);
    let err = model.predict_named(&[("petal_width", 1.1)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no column named \"petal_length\": the columns are petal_width"
    );
}

#[test]
fn csv_for_a_model_finds_columns_by_name_and_reads_its_classes() {
    let model = flower_model();
    let read = model
        .read_csv_str(FLOWERS, &CsvOptions::columns(&[""; 0]))
        .unwrap();
    assert!(read.has_targets);
    assert_eq!(read.extra_columns, ["id"]);
    assert_eq!(read.data.input_names(), ["petal_length", "petal_width"]);
    assert_eq!(read.data.association(1).unwrap().0, [4.0, 1.3]); // as read, not scaled
    // without the label column: inputs only
    let no_label = "petal_length,petal_width\n1.4,0.2\n";
    let read = model
        .read_csv_str(no_label, &CsvOptions::columns(&[""; 0]))
        .unwrap();
    assert!(!read.has_targets && read.extra_columns.is_empty());
    assert_eq!(read.data.n_targets(), 0);
    // a missing input is named; a class the model does not know is named
    let err = model
        .read_csv_str(
            "petal_length,species\n1,setosa\n",
            &CsvOptions::columns(&[""; 0]),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no column named \"petal_width\": the columns are petal_length, species"
    );
    let err = model
        .read_csv_str(
            "petal_length,petal_width,species\n1,2,setosa\n1,2,virginica\n",
            &CsvOptions::columns(&[""; 0]),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3, column 3 (species): class \"virginica\" is not one of the model's classes (setosa, versicolor)"
    );
}

#[test]
fn bad_version_2_files_are_refused_naming_the_field() {
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "scaler of the wrong width",
            |v| v["scaling"]["scale"] = json!([1.0]),
            "invalid model file: scaling: 1 numbers in \"scale\", but there are 2 inputs (petal_length, petal_width): one per input column",
        ),
        (
            "zero scale",
            |v| v["scaling"]["scale"][1] = json!(0.0),
            "invalid model file: scaling: scale[1] (input \"petal_width\") is 0: it must be finite and non-zero",
        ),
        (
            "null scale",
            |v| v["scaling"]["scale"][0] = Value::Null,
            "invalid model file: scaling: scale[0] (input \"petal_length\") is null: it must be finite and non-zero",
        ),
        (
            "null center",
            |v| v["scaling"]["center"][0] = Value::Null,
            "invalid model file: scaling: center[0] (input \"petal_length\") is null",
        ),
        (
            "unknown kind",
            |v| v["scaling"]["kind"] = json!("log"),
            "invalid model file: scaling: kind \"log\" is not one of none, minmax, standard, divide",
        ),
        (
            "none with numbers",
            |v| v["scaling"]["kind"] = json!("none"),
            "invalid model file: scaling: column 0: center",
        ),
        (
            "empty class list",
            |v| v["targets"]["classes"] = json!([]),
            "invalid model file: targets: 0 classes (): at least 2 are needed",
        ),
        (
            "one class",
            |v| v["targets"]["classes"] = json!(["setosa"]),
            "invalid model file: targets: 1 classes (setosa): at least 2 are needed",
        ),
        (
            "duplicate class",
            |v| v["targets"]["classes"] = json!(["setosa", "setosa"]),
            "invalid model file: targets: classes 0 and 1 are both \"setosa\"",
        ),
        (
            "more classes than outputs",
            |v| v["targets"]["classes"] = json!(["a", "b", "c"]),
            "shape mismatch: network outputs (one per target column or class of the schema): expected 3, got 2",
        ),
        (
            "more inputs than the network's",
            |v| {
                v["inputs"] = json!(["a", "b", "c"]);
                v["scaling"] = json!({"kind": "none", "center": [0, 0, 0], "scale": [1, 1, 1]});
            },
            "shape mismatch: network inputs (one per input column of the schema): expected 3, got 2",
        ),
        (
            "duplicate input",
            |v| v["inputs"] = json!(["a", "a"]),
            "invalid model file: inputs: columns 0 and 1 are both named \"a\"",
        ),
        (
            "target also an input",
            |v| v["targets"]["column"] = json!("petal_width"),
            "invalid model file: targets: column \"petal_width\" is both an input and a target",
        ),
        (
            "softmax regression",
            |v| v["targets"] = json!({"kind": "columns", "columns": ["y", "z"]}),
            "invalid model file: outputs: softmax outputs are class probabilities: they need classes, not target columns",
        ),
        (
            "classes without a column",
            |v| {
                v["targets"].as_object_mut().unwrap().remove("column");
            },
            "invalid model file: targets: kind \"classes\" has a \"column\" and a \"classes\" list, and nothing else",
        ),
        (
            "unknown outputs",
            |v| v["outputs"] = json!("logits"),
            "invalid model file: outputs: \"logits\" is not \"raw\" or \"softmax\"",
        ),
        (
            "missing inputs",
            |v| {
                v.as_object_mut().unwrap().remove("inputs");
            },
            "invalid model file: no \"inputs\" field (the input column names; version 2 needs it)",
        ),
        (
            "unknown field in scaling",
            |v| v["scaling"]["offset"] = json!([0, 0]),
            "invalid model file: unknown field `offset`, expected one of `kind`, `center`, `scale`",
        ),
        (
            "unknown field in targets",
            |v| v["targets"]["labels"] = json!([]),
            "invalid model file: unknown field `labels`",
        ),
        (
            "unknown top-level field",
            |v| v["preprocessing"] = json!(null),
            "invalid model file: unknown field `preprocessing`",
        ),
        (
            "version 1 with a schema",
            |v| v["version"] = json!(1),
            "invalid model file: \"inputs\" is a field of version 2, not of version 1",
        ),
    ];
    for (case, edit, message) in cases {
        let mut value = flower_json();
        edit(&mut value);
        let err = load_model(&value).unwrap_err();
        assert!(
            err.to_string().starts_with(message),
            "{case}: {err} (expected {message})"
        );
        assert!(
            matches!(err, Error::InvalidFile { .. } | Error::Shape { .. }),
            "{case}: {err:?}"
        );
    }
}

#[test]
fn version_1_file_of_an_older_program_loads_and_predicts_as_it_did() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let model = Model::load(format!("{dir}/v1_model.json")).unwrap();
    assert_eq!((model.version(), model.schema()), (1, None));
    let data = Dataset::from_csv_path(
        format!("{dir}/v1_points.csv"),
        &CsvOptions::label("label", Some(3)),
    )
    .unwrap();
    let predictions = model.predict_all(&data).unwrap();
    // the file the older program wrote, to the byte
    let before = std::fs::read_to_string(format!("{dir}/v1_predictions.csv")).unwrap();
    assert_eq!(model.predictions_csv(&predictions, false), before);
    // and an oracle sharing no code with the network: the forward pass written out from the
    // file's weights (sigmoid hidden layer, identity output, bias node +1)
    let value: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/v1_model.json")).unwrap())
            .unwrap();
    let num = |v: &Value| v.as_f64().unwrap();
    for (t, p) in predictions.iter().enumerate() {
        let x = data.association(t).unwrap().0;
        let hidden: Vec<f64> = (0..4)
            .map(|j| {
                let w = &value["W"][0][j];
                let s = num(&w[0]) * x[0] + num(&w[1]) * x[1] + num(&value["b"][0][j]);
                1.0 / (1.0 + (-s).exp())
            })
            .collect();
        for k in 0..3 {
            let w = &value["W"][1][k];
            let y: f64 =
                (0..4).map(|j| num(&w[j]) * hidden[j]).sum::<f64>() + num(&value["b"][1][k]);
            // summation order differs from the graph's dot node: a few ulps of outputs near 5
            assert!(
                (y - p.outputs[k]).abs() < 1e-12,
                "row {t}, output {k}: {y} vs {}",
                p.outputs[k]
            );
        }
    }
    // a version 1 model names no columns
    assert!(
        model
            .read_csv_str("x1,x2\n1,2\n", &CsvOptions::columns(&[""; 0]))
            .is_err()
    );
    // and the network alone, as before
    assert_eq!(
        bits(load(format!("{dir}/v1_model.json")).unwrap().params()),
        bits(model.net().params())
    );
}

#[test]
fn a_network_saved_alone_is_still_written_as_version_1() {
    let net = rich_net();
    let value: Value = serde_json::from_str(&to_json_string(&net).unwrap()).unwrap();
    assert_eq!(value["version"], json!(1));
    let text = to_json_string(&net).unwrap();
    assert_eq!(Model::bare(net).to_json_string().unwrap(), text);
}

#[test]
fn schema_refuses_a_network_of_the_wrong_widths() {
    let schema = flower_model().schema().unwrap().clone();
    let net = MlpSpec::new(&[3, 2], Activation::Identity, Activation::Identity)
        .build()
        .unwrap();
    let err = Model::new(net, schema.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
    let regression = Schema::new(
        vec!["a".into()],
        Scaler::identity(1),
        Predicts::Columns(vec!["y".into()]),
        Outputs::Raw,
    )
    .unwrap();
    assert_eq!(regression.classes(), None);
}
