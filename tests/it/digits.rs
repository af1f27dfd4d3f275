//! The digits example reaches its stated held-out accuracy from its fixed seed.

#[path = "../../examples/digits.rs"]
mod example;

#[test]
fn digits_example_reaches_its_stated_accuracy() {
    // README and the example state 98.3% held-out after 30 epochs (359 images: 353 right).
    // Training is deterministic (fixed seeds; results do not depend on the thread count), so
    // the figure is reproduced exactly; the assertion leaves one image of margin.
    let outcome = example::run(30, |_, _| {}).unwrap();
    assert_eq!(outcome.test_images, 359);
    assert!(
        outcome.test_accuracy >= 352.0 / 359.0,
        "held-out accuracy {}",
        outcome.test_accuracy
    );
    assert!(outcome.training_accuracy > 0.99);
    // a short run is already far above chance (10%)
    let short = example::run(3, |_, _| {}).unwrap();
    assert!(
        short.test_accuracy > 0.85,
        "3 epochs: {}",
        short.test_accuracy
    );
}
