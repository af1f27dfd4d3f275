//! `backprop train`: train a layered network, print its error and predictions, optionally save
//! it and plot its error curve.

use std::path::PathBuf;
use std::time::Instant;

use backprop::data::Dataset;
use backprop::nn::Mlp;
use backprop::train::{BatchMode, Optimiser, RunOptions, TrainConfig, train_with};

use super::net::{DataArgs, NetArgs};
use super::progress::Progress;
use super::{CliResult, Context, Failure, write_file};

/// Options of `backprop train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    /// The network.
    pub net: NetArgs,
    #[command(flatten)]
    /// The data.
    pub data: DataArgs,
    /// The update rule: gd (the tutorial's), momentum, adam.
    #[arg(long, default_value = "gd")]
    pub optimiser: String,
    /// The learning rate.
    #[arg(long, default_value_t = 0.2, allow_hyphen_values = true)]
    pub learning_rate: f64,
    /// The momentum of --optimiser momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Associations per step: full (the tutorial's), stochastic, or a mini-batch size.
    #[arg(long, default_value = "full")]
    pub batch: String,
    /// How associations' errors combine: sum (the tutorial's derivation) or mean.
    #[arg(long, default_value = "sum")]
    pub reduction: String,
    /// The most epochs to run.
    #[arg(long, default_value_t = 10_000)]
    pub epochs: usize,
    /// Stop once an epoch's error is below this.
    #[arg(long, default_value_t = 1e-6)]
    pub error_threshold: f64,
    /// Hold out this fraction of the data (shuffled with --seed) and report on it.
    #[arg(long, default_value_t = 0.0)]
    pub test_fraction: f64,
    /// Save the trained network to this JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub save: Option<PathBuf>,
    /// Threads that evaluate associations in parallel (results do not depend on their number).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Write the error curve as an SVG picture.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

impl TrainArgs {
    fn config(&self) -> CliResult<TrainConfig> {
        let learning_rate = self.learning_rate;
        let optimiser = match self.optimiser.as_str() {
            "gd" | "sgd" | "gradient_descent" => Optimiser::GradientDescent { learning_rate },
            "momentum" => Optimiser::Momentum {
                learning_rate,
                momentum: self.momentum,
            },
            "adam" => Optimiser::adam(learning_rate),
            other => {
                return Err(Failure::usage(format!(
                    "invalid --optimiser {other:?} (expected gd, momentum or adam)"
                )));
            }
        };
        let batch = match self.batch.as_str() {
            "full" => BatchMode::Full,
            "stochastic" | "1" => BatchMode::Stochastic,
            n => BatchMode::MiniBatch(n.parse().map_err(|_| {
                Failure::usage(format!(
                    "invalid --batch {n:?} (expected full, stochastic or a number)"
                ))
            })?),
        };
        let reduction = super::parse_reduction(&self.reduction)?;
        Ok(TrainConfig {
            optimiser,
            batch,
            reduction,
            max_epochs: self.epochs,
            error_threshold: self.error_threshold,
            seed: self.net.seed,
            lanes: 64,
        })
    }
}

/// Runs `backprop train`.
pub fn run(args: &TrainArgs) -> CliResult {
    let config = args.config()?;
    let data = args.data.load()?;
    if !(0.0..1.0).contains(&args.test_fraction) {
        return Err(Failure::usage(format!(
            "invalid --test-fraction {}: must be in [0, 1)",
            args.test_fraction
        )));
    }
    let (train_set, test_set) = if args.test_fraction > 0.0 {
        let (test, train) = data
            .split(args.test_fraction, args.net.seed)
            .usage(|| "invalid --test-fraction".into())?;
        for (set, role) in [(&train, "train"), (&test, "test")] {
            if set.is_empty() {
                return Err(Failure::usage(format!(
                    "invalid --test-fraction {}: it leaves no association to {role} on (of {})",
                    args.test_fraction,
                    data.len()
                )));
            }
        }
        (train, Some(test))
    } else {
        (data, None)
    };
    config
        .validate(train_set.len())
        .usage(|| "invalid training options".into())?;
    let mut net = args
        .net
        .spec(train_set.n_inputs(), train_set.n_targets())?
        .build()?;
    let progress = Progress::new(config.max_epochs);
    let start = Instant::now();
    let options = RunOptions::default().with_threads(args.threads);
    options.validate().usage(|| "invalid --threads".into())?;
    let result = train_with(
        &mut net,
        train_set.inputs(),
        train_set.targets(),
        &config,
        &options,
        |epoch, error| progress.epoch(epoch, error),
    );
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let history = result.map_err(|e| {
        let failure = Failure::fix("training failed").because(e);
        if args.save.is_some() {
            failure.because("nothing was saved")
        } else {
            failure
        }
    })?;
    let sizes: Vec<String> = net.sizes().iter().map(|s| s.to_string()).collect();
    outln!(
        "trained a {} network ({} hidden, {} output, {} optimiser) on {} associations",
        sizes.join("x"),
        net.spec().activations[0],
        net.spec().activations[net.layers() - 1],
        config.optimiser.name(),
        train_set.len()
    );
    let final_error = history.final_error().unwrap_or(f64::NAN);
    outln!(
        "final error: {final_error:.6e} after {} epochs ({}) in {seconds:.2} s",
        history.epochs(),
        if history.reached_threshold {
            format!("below the threshold {:e}", config.error_threshold)
        } else {
            "the epoch limit".into()
        }
    );
    report(&net, &train_set, "training set")?;
    if let Some(test) = &test_set {
        report(&net, test, "held-out set")?;
    }
    // the model first: a picture that cannot be written must not cost the trained weights
    if let Some(path) = &args.save {
        backprop::model_file::save(&net, path)
            .context(|| format!("cannot save the model to {}", path.display()))?;
        outln!("saved the model to {}", path.display());
    }
    if let Some(path) = &args.plot {
        write_file(
            path,
            &backprop::render::loss_curve_svg(&history.errors, "error per epoch"),
        )?;
        outln!("wrote the error curve to {}", path.display());
    }
    Ok(())
}

/// Prints a prediction table (small data sets) and the accuracy (class labels).
fn report(net: &Mlp, data: &Dataset, name: &str) -> CliResult {
    if data.len() <= 16 {
        outln!("\n{name}: input -> output (target)");
        for t in 0..data.len() {
            let (x, y) = data.association(t)?;
            let out = net.predict(x)?;
            let fmt = |v: &[f64], p: usize| {
                v.iter()
                    .map(|v| format!("{v:.p$}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            outln!("  [{}] -> [{}] ({})", fmt(x, 2), fmt(&out, 4), fmt(y, 2));
        }
    }
    if data.classes().is_some() {
        let mut correct = 0;
        for t in 0..data.len() {
            let (x, y) = data.association(t)?;
            if argmax(&net.predict(x)?) == argmax(y) {
                correct += 1;
            }
        }
        outln!(
            "{name}: accuracy {:.2}% ({correct} of {})",
            100.0 * correct as f64 / data.len() as f64,
            data.len()
        );
    }
    Ok(())
}

/// The index of the largest value (the first one on ties).
pub fn argmax(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(best, max), (k, &v)| {
            if v > max { (k, v) } else { (best, max) }
        })
        .0
}
