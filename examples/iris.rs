//! Fisher's iris flowers (`examples/data/iris.csv`, species as words): a 4-8-3 network
//! trained on 80% of them with standard scaling fitted on that 80%, saved as a model file,
//! loaded back into a fresh network, and run on the other 20% written out as a CSV file, as
//! new data would come: columns found by name, the model's own scaling applied.
//!
//! ```sh
//! cargo run --example iris
//! ```

use backprop::data::{CsvOptions, Dataset, Scaler, Scaling};
use backprop::model_file::{Model, Outputs, Schema};
use backprop::nn::{Activation, Init, Loss, MlpSpec, Reduction};
use backprop::train::{BatchMode, Optimiser, RunOptions, TrainConfig, train_with};

/// The flowers' location, relative to the crate (so the example runs from any folder).
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris.csv");

/// What a run measured.
pub struct Outcome {
    /// The held-out flowers.
    pub held_out: usize,
    /// The confusion matrix of the held-out flowers, predicted by the reloaded model.
    pub confusion: backprop::data::ConfusionMatrix,
    /// Whether the reloaded model's outputs equal the trained network's, bit for bit.
    pub reload_identical: bool,
}

/// Trains, saves, reloads and predicts; files go to `dir`.
pub fn run(dir: &std::path::Path) -> Result<Outcome, backprop::Error> {
    let text = std::fs::read_to_string(DATA).map_err(|e| backprop::Error::Io {
        path: DATA.into(),
        reason: e.to_string(),
    })?;
    let all = Dataset::from_csv_str(&text, &CsvOptions::label("species", None))?;
    // the same shuffle of row numbers picks the held-out rows of the text below
    let (held_out_rows, train_rows) = Dataset::new(
        (0..all.len()).map(|t| t as f64).collect(),
        vec![0.0; all.len()],
        1,
        1,
    )?
    .split(0.2, 7)?;
    let (held_out, training) = all.split(0.2, 7)?;
    assert_eq!(training.len(), train_rows.len());
    let scaler = Scaler::fit(Scaling::Standardize, &training)?; // the training 80% only
    let schema = Schema::for_data(&training, scaler.clone(), Outputs::Softmax)?;
    let scaled = training.scaled(&scaler)?;
    let mut net = MlpSpec::new(&[4, 8, 3], Activation::Tanh, Activation::Identity)
        .with_init(Init::Xavier)
        .with_seed(7)
        .with_loss(Loss::SoftmaxCrossEntropy)
        .build()?;
    let config = TrainConfig::new(Optimiser::adam(0.02))
        .with_batch(BatchMode::MiniBatch(16))
        .with_reduction(Reduction::Mean)
        .with_max_epochs(200)
        .with_error_threshold(0.0)
        .with_seed(7);
    train_with(
        &mut net,
        scaled.inputs(),
        scaled.targets(),
        &config,
        &RunOptions::default(),
        |_, _| {},
    )?;
    let trained = Model::new(net, schema)?;
    let path = dir.join("iris-model.json");
    trained.save(&path)?;

    // the held-out flowers as a CSV file, unscaled, columns as in the original
    let lines: Vec<&str> = text.lines().collect();
    let mut csv = vec![lines[0]];
    for t in 0..held_out_rows.len() {
        let row = held_out_rows.association(t)?.0[0] as usize;
        csv.push(lines[row + 1]);
    }
    let csv_path = dir.join("iris-held-out.csv");
    backprop::files::write_atomically(&csv_path, (csv.join("\n") + "\n").as_bytes())?;

    // a fresh network from the file, and the held-out file read by column name
    let model = Model::load(&path)?;
    let read = model.read_csv_path(&csv_path, &CsvOptions::columns(&[""; 0]))?;
    assert_eq!(read.data.len(), held_out.len());
    let mut reload_identical = true;
    for t in 0..read.data.len() {
        let x = read.data.association(t)?.0;
        let (a, b) = (model.predict(x)?, trained.predict(x)?);
        reload_identical &= a
            .outputs
            .iter()
            .map(|v| v.to_bits())
            .eq(b.outputs.iter().map(|v| v.to_bits()));
    }
    let confusion = model
        .assess(&read.data)?
        .confusion
        .expect("internal error: the model classifies");
    Ok(Outcome {
        held_out: read.data.len(),
        confusion,
        reload_identical,
    })
}

#[allow(dead_code)] // the test that includes this file calls `run` only
fn main() -> Result<(), backprop::Error> {
    let dir = std::env::temp_dir();
    let outcome = run(&dir)?;
    println!(
        "held-out accuracy {:.2}% ({} of {} flowers), predicted by the model reloaded from {}",
        100.0 * outcome.confusion.accuracy().unwrap_or(0.0),
        outcome.confusion.correct(),
        outcome.held_out,
        dir.join("iris-model.json").display()
    );
    print!("{}", outcome.confusion);
    Ok(())
}
