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
            supported: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "model format version 7 is newer than this program supports (1)"
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
