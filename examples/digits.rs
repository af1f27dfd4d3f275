//! A real data set: the UCI 8x8 handwritten digits (1,797 images, `examples/data/digits.csv`),
//! pixels scaled to [0, 1], 80% for training and 20% held out. A 64-32-10 network (sigmoid
//! hidden, softmax cross-entropy output) trained with Adam on mini-batches of 32.
//!
//! ```sh
//! cargo run --release --example digits            # 30 epochs (the stated accuracy)
//! cargo run --release --example digits -- 5       # fewer epochs
//! ```

use std::time::Instant;

use backprop::data::{CsvOptions, Dataset, Scaling};
use backprop::nn::{Activation, Init, Loss, Mlp, MlpSpec, Reduction};
use backprop::train::{BatchMode, Optimiser, RunOptions, TrainConfig, train_with};

/// The digits' location, relative to the crate (so the example runs from any folder).
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv");

fn accuracy(net: &Mlp, data: &Dataset) -> Result<f64, backprop::Error> {
    let mut correct = 0;
    for t in 0..data.len() {
        let (x, _) = data.association(t)?;
        let out = net.predict(x)?;
        let guess = (0..out.len()).fold(0, |best, k| if out[k] > out[best] { k } else { best });
        if Some(guess) == data.label(t)? {
            correct += 1;
        }
    }
    Ok(correct as f64 / data.len() as f64)
}

/// What a run measured.
pub struct Outcome {
    /// Epochs run.
    pub epochs: usize,
    /// Seconds spent training.
    pub seconds: f64,
    /// Accuracy on the training images.
    pub training_accuracy: f64,
    /// Accuracy on the held-out images.
    pub test_accuracy: f64,
    /// Held-out images.
    pub test_images: usize,
}

/// Trains for `epochs` epochs from the fixed seed; `on_epoch(epoch, error)` after each.
pub fn run(epochs: usize, on_epoch: impl FnMut(usize, f64)) -> Result<Outcome, backprop::Error> {
    let all = Dataset::from_csv_path(
        DATA,
        &CsvOptions::label("label", Some(10)).with_scaling(Scaling::Divide(16.0)),
    )?;
    let (test, training) = all.split(0.2, 7)?;
    let mut net = MlpSpec::new(&[64, 32, 10], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Xavier)
        .with_seed(7)
        .with_loss(Loss::SoftmaxCrossEntropy)
        .build()?;
    let config = TrainConfig {
        optimiser: Optimiser::adam(0.01),
        batch: BatchMode::MiniBatch(32),
        reduction: Reduction::Mean,
        max_epochs: epochs,
        error_threshold: 0.0,
        seed: 7,
        lanes: 32,
    };
    let start = Instant::now();
    let history = train_with(
        &mut net,
        training.inputs(),
        training.targets(),
        &config,
        &RunOptions::default(),
        on_epoch,
    )?;
    Ok(Outcome {
        epochs: history.epochs(),
        seconds: start.elapsed().as_secs_f64(),
        training_accuracy: accuracy(&net, &training)?,
        test_accuracy: accuracy(&net, &test)?,
        test_images: test.len(),
    })
}

#[allow(dead_code)] // the test that includes this file calls `run` only
fn main() -> Result<(), backprop::Error> {
    let epochs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let outcome = run(epochs, |epoch, error| {
        if epoch % 5 == 0 {
            println!("epoch {epoch:>3}: mean cross-entropy {error:.4}");
        }
    })?;
    println!(
        "{} epochs in {:.2} s; training accuracy {:.2}%, held-out accuracy {:.2}% ({} images)",
        outcome.epochs,
        outcome.seconds,
        100.0 * outcome.training_accuracy,
        100.0 * outcome.test_accuracy,
        outcome.test_images
    );
    Ok(())
}
