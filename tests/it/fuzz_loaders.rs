//! Fuzzing by property: arbitrary bytes and arbitrary mutations of valid files fed to every
//! loader (graph JSON, model JSON, CSV) give an error or a valid result, never a panic; valid
//! results survive save -> load exactly.

use backprop::Graph;
use backprop::data::{CsvOptions, Dataset};
use backprop::graph_file;
use backprop::model_file;
use backprop::nn::{Activation, Bias, MlpSpec};
#[cfg(feature = "strategies")]
use backprop::strategies::{Kinks, dag};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn config(file: &'static str) -> Config {
    Config {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::default()
    }
}

/// A valid model file to mutate.
fn model_text() -> String {
    let net = MlpSpec::new(&[2, 3, 1], Activation::Tanh, Activation::Identity)
        .with_bias(Bias::Node(-1.0))
        .with_seed(4)
        .build()
        .unwrap();
    model_file::to_json_string(&net).unwrap()
}

/// A valid graph file to mutate.
fn graph_text() -> String {
    let g = Graph::new();
    let (x, w) = (g.input("x"), g.param("w", 0.5));
    let y = (x * w + 1.0).sigmoid().powf(2.0);
    graph_file::save_graph(&g, y.id(), &[0.25]).unwrap()
}

const CSV: &str = "a,b,label\n0.5,1,0\n-2,3.25,1\n7,0,2\n";

/// Mutations of a text: replace, insert or delete bytes at random places (kept as UTF-8 by
/// going through lossy conversion).
fn mutated(text: String) -> impl Strategy<Value = String> {
    let len = text.len();
    proptest::collection::vec((0..len.max(1), any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut bytes = text.clone().into_bytes();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len().saturating_sub(1));
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

proptest! {
    #![proptest_config(config("tests/proptest-regressions/fuzz_loaders.txt"))]

    #[test]
    fn arbitrary_bytes_never_panic_any_loader(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = graph_file::from_json_str(&text);
        let _ = model_file::from_json_str(&text);
        let _ = Dataset::from_csv_str(&text, &CsvOptions::label("label", None));
        let _ = Dataset::from_csv_str(&text, &CsvOptions::columns(&["b"]));
    }

    #[test]
    fn mutated_model_files_load_or_fail_cleanly_and_round_trip(text in mutated(model_text())) {
        if let Ok(net) = model_file::from_json_str(&text) {
            let saved = model_file::to_json_string(&net).unwrap();
            let again = model_file::from_json_str(&saved).unwrap();
            prop_assert_eq!(net.params(), again.params());
            prop_assert_eq!(net.spec(), again.spec());
            prop_assert_eq!(model_file::to_json_string(&again).unwrap(), saved);
        }
    }

    #[test]
    fn mutated_graph_files_load_or_fail_cleanly_and_round_trip(text in mutated(graph_text())) {
        if let Ok(loaded) = graph_file::from_json_str(&text) {
            let saved = graph_file::save_graph(&loaded.graph, loaded.output, &loaded.input_values).unwrap();
            let again = graph_file::from_json_str(&saved).unwrap();
            prop_assert_eq!(graph_file::save_graph(&again.graph, again.output, &again.input_values).unwrap(), saved);
            // and it still evaluates, or reports why not, without panicking
            if let Ok(tape) = loaded.graph.compile() {
                let _ = tape.gradients(&loaded.input_values, loaded.output);
            }
        }
    }

    #[test]
    fn mutated_csv_files_load_or_fail_cleanly(text in mutated(CSV.to_string())) {
        if let Ok(data) = Dataset::from_csv_str(&text, &CsvOptions::label("label", None)) {
            prop_assert_eq!(data.inputs().len(), data.len() * data.n_inputs());
            prop_assert!(data.inputs().iter().chain(data.targets()).all(|v| v.is_finite()));
        }
    }

    // Random DAGs come from `backprop::strategies` (feature `strategies`).
    #[cfg(feature = "strategies")]
    #[test]
    fn random_graphs_round_trip_through_the_graph_file(spec in dag(2..=60, Kinks::Anywhere)) {
        let g = Graph::new();
        let ids = spec.build(&g).unwrap();
        let output = ids[spec.output];
        let text = graph_file::save_graph(&g, output, &spec.input_values()).unwrap();
        let loaded = graph_file::from_json_str(&text).unwrap();
        let a = g.compile().unwrap().gradients(&spec.input_values(), output).unwrap();
        let b = loaded.graph.compile().unwrap().gradients(&loaded.input_values, loaded.output).unwrap();
        prop_assert_eq!(a.as_slice(), b.as_slice());
    }
}
