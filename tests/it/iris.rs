//! The iris example: word labels, scaling fitted on the training split, a saved model
//! reloaded into a fresh network, predictions on a CSV file by column name.

#[path = "../../examples/iris.rs"]
mod example;

#[test]
fn iris_example_reloads_its_model_and_reaches_90_percent_held_out() {
    let dir = std::env::temp_dir().join(format!("backprop-iris-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let outcome = example::run(&dir).unwrap();
    // 20% of 150 flowers
    assert_eq!(outcome.held_out, 30);
    assert_eq!(outcome.confusion.total(), 30);
    // the bar: at least 90% (27 of 30) of flowers the network never saw
    assert!(outcome.confusion.correct() >= 27, "{}", outcome.confusion);
    assert!(outcome.reload_identical);
    std::fs::remove_dir_all(&dir).unwrap();
}
