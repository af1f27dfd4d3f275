//! `backprop train`: train a layered network, print its error and predictions, optionally save
//! it and plot its error curve.

use std::path::{Path, PathBuf};
use std::time::Instant;

use backprop::data::{CsvOptions, Dataset, Scaler};
use backprop::model_file::{Model, Outputs, Schema};
use backprop::nn::{Loss, Reduction};
use backprop::train::{
    BatchMode, Optimiser, RunOptions, TrainConfig, train_with, train_with_held_out,
};

use super::net::{DEFAULT_ACTIVATION, DEFAULT_HIDDEN, DEFAULT_LOSS, DataArgs, NetArgs};
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
    /// The update rule: gd (the tutorial's), momentum, adam [default: gd].
    #[arg(long)]
    pub optimiser: Option<String>,
    /// The learning rate [default: 0.2].
    #[arg(long, allow_hyphen_values = true)]
    pub learning_rate: Option<f64>,
    /// The momentum of --optimiser momentum [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Associations per step: full (the tutorial's), stochastic, or a mini-batch size.
    #[arg(long, default_value = "full")]
    pub batch: String,
    /// How associations' errors combine: sum (the tutorial's derivation) or mean [default: sum
    /// on XOR, mean with --data, so that a learning rate means the same step on any number of
    /// associations].
    #[arg(long)]
    pub reduction: Option<String>,
    /// The most epochs to run [default: 10000].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop once an epoch's error is below this.
    #[arg(long, default_value_t = 1e-6)]
    pub error_threshold: f64,
    /// Hold out this fraction of the data (shuffled with --seed) and report on it.
    #[arg(long, default_value_t = 0.0)]
    pub test_fraction: f64,
    /// Held-out data from this CSV file (the training data's columns, found by name) instead
    /// of a fraction of --data: reported on after training, and plotted with --plot.
    #[arg(long, value_name = "FILE.csv", requires = "data")]
    pub test_data: Option<PathBuf>,
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

/// `--optimiser` when not given: the tutorial's.
const DEFAULT_OPTIMISER: &str = "gd";
/// `--learning-rate` when not given.
const DEFAULT_LEARNING_RATE: f64 = 0.2;
/// `--momentum` when not given.
const DEFAULT_MOMENTUM: f64 = 0.9;
/// `--epochs` when not given.
const DEFAULT_EPOCHS: usize = 10_000;

impl TrainArgs {
    /// `--reduction`, or its default: the tutorial's sum on its XOR data; with --data, the mean,
    /// whose step does not grow with the number of associations (a learning rate of 0.2 on
    /// the sum over iris's 150 flowers is a step 37 times the one on XOR's 4, and trains
    /// nothing: 33% accuracy, against 98% on the mean).
    fn reduction_name(&self) -> &str {
        match (&self.reduction, &self.data.data) {
            (Some(name), _) => name,
            (None, Some(_)) => "mean",
            (None, None) => "sum",
        }
    }

    fn config(&self) -> CliResult<TrainConfig> {
        let learning_rate = self.learning_rate.unwrap_or(DEFAULT_LEARNING_RATE);
        let name = self.optimiser.as_deref().unwrap_or(DEFAULT_OPTIMISER);
        let optimiser = match name {
            "gd" | "sgd" | "gradient_descent" => Optimiser::GradientDescent { learning_rate },
            "momentum" => Optimiser::Momentum {
                learning_rate,
                momentum: self.momentum.unwrap_or(DEFAULT_MOMENTUM),
            },
            "adam" => Optimiser::adam(learning_rate),
            other => {
                return Err(Failure::usage(format!(
                    "invalid --optimiser {other:?} (expected gd, momentum or adam)"
                )));
            }
        };
        if let (Some(momentum), false) = (self.momentum, name == "momentum") {
            return Err(Failure::usage(format!(
                "--momentum {momentum} is for --optimiser momentum: with --optimiser {name} it would do nothing"
            )));
        }
        let batch = match self.batch.as_str() {
            "full" => BatchMode::Full,
            "stochastic" | "1" => BatchMode::Stochastic,
            n => BatchMode::MiniBatch(n.parse().map_err(|_| {
                Failure::usage(format!(
                    "invalid --batch {n:?} (expected full, stochastic or a number)"
                ))
            })?),
        };
        let reduction = super::parse_reduction(self.reduction_name())?;
        Ok(TrainConfig {
            optimiser,
            batch,
            reduction,
            max_epochs: self.epochs.unwrap_or(DEFAULT_EPOCHS),
            error_threshold: self.error_threshold,
            seed: self.net.seed,
            lanes: 64,
        })
    }
}

/// Runs `backprop train`.
pub fn run(args: &TrainArgs) -> CliResult {
    let config = args.config()?;
    let scaling = super::parse_scaling(&args.data.scale)?;
    let data = args.data.load_unscaled()?;
    if !(0.0..1.0).contains(&args.test_fraction) {
        return Err(Failure::usage(format!(
            "invalid --test-fraction {}: must be in [0, 1)",
            args.test_fraction
        )));
    }
    let (train_raw, test_raw) = match &args.test_data {
        Some(_) if args.test_fraction > 0.0 => {
            return Err(Failure::usage(
                "--test-data and --test-fraction both choose the held-out data: give one",
            ));
        }
        Some(path) => (data.clone(), Some(load_like(&data, path)?)),
        None if args.test_fraction > 0.0 => {
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
        }
        None => (data, None),
    };
    // fitted on the training split only: the held-out data is scaled as new data would be
    let scaler = Scaler::fit(scaling, &train_raw).context(|| {
        format!(
            "cannot fit --scale {} to the training data",
            args.data.scale
        )
    })?;
    let train_set = train_raw.scaled(&scaler)?;
    let test_set = test_raw.as_ref().map(|t| t.scaled(&scaler)).transpose()?;
    config
        .validate(train_set.len())
        .usage(|| "invalid training options".into())?;
    // a label asks for classes: softmax cross-entropy unless --loss says otherwise
    let mut net_args = args.net.clone();
    let classes = train_set.classes().is_some();
    net_args.loss.get_or_insert_with(|| {
        if classes {
            "cross_entropy"
        } else {
            DEFAULT_LOSS
        }
        .into()
    });
    let spec = net_args.spec(train_set.n_inputs(), train_set.n_targets())?;
    let outputs = if train_set.classes().is_some() && spec.loss == Loss::SoftmaxCrossEntropy {
        Outputs::Softmax
    } else {
        Outputs::Raw
    };
    let schema = Schema::for_data(&train_raw, scaler, outputs)
        .context(|| "the data's columns cannot describe a model".into())?;
    let mut net = spec.build()?;
    let progress = Progress::new(config.max_epochs);
    let start = Instant::now();
    let options = RunOptions::default().with_threads(args.threads);
    options.validate().usage(|| "invalid --threads".into())?;
    let on_epoch = |epoch, error| progress.epoch(epoch, error);
    let result = match &test_set {
        Some(test) => train_with_held_out(
            &mut net,
            (train_set.inputs(), train_set.targets()),
            (test.inputs(), test.targets()),
            &config,
            &options,
            on_epoch,
        ),
        None => train_with(
            &mut net,
            train_set.inputs(),
            train_set.targets(),
            &config,
            &options,
            on_epoch,
        ),
    };
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
    // a cross-entropy network's softmax is part of its loss, after the output layer
    let loss = match net.spec().loss {
        Loss::SoftmaxCrossEntropy => ", softmax in the loss (cross-entropy)".to_string(),
        other => format!(", {} loss", other.name()),
    };
    outln!(
        "trained a {} network ({} hidden, {} output{loss}, {} optimiser) on {} associations",
        sizes.join("x"),
        net.spec().activations[0],
        net.spec().activations[net.layers() - 1],
        config.optimiser.name(),
        train_set.len()
    );
    if args.data.data.is_some() {
        outln!("{}", defaults_note(args, classes));
    }
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
    let model = Model::new(net, schema)?;
    report(&model, &train_set, &train_raw, "training set", false)?;
    if let (Some(test), Some(raw)) = (&test_set, &test_raw) {
        report(&model, test, raw, "held-out set", true)?;
    }
    // the model first: a picture that cannot be written must not cost the trained weights
    if let Some(path) = &args.save {
        model
            .save(path)
            .context(|| format!("cannot save the model to {}", path.display()))?;
        outln!("saved the model to {}", path.display());
    }
    if let Some(path) = &args.plot {
        let svg = if history.held_out_errors.is_empty() {
            backprop::render::loss_curve_svg(&history.errors, "error per epoch")
        } else {
            // both as means per association, whatever the training reduction
            let per = match config.reduction {
                Reduction::Sum => train_set.len() as f64,
                Reduction::Mean => 1.0,
            };
            let training: Vec<f64> = history.errors.iter().map(|e| e / per).collect();
            backprop::render::loss_curves_svg(
                &[
                    ("training (during the epoch)", &training),
                    ("held-out (after the epoch)", &history.held_out_errors),
                ],
                "mean error per association",
            )
        };
        write_file(path, &svg)?;
        outln!("wrote the error curve to {}", path.display());
    }
    Ok(())
}

/// Which options took their defaults (those of the tutorial's XOR network, but for the loss),
/// for a user who gave data of their own and may not know them.
fn defaults_note(args: &TrainArgs, classes: bool) -> String {
    let mut defaults = Vec::new();
    if args.net.loss.is_none() {
        defaults.push(if classes {
            "--loss cross_entropy (for --label)".to_string()
        } else {
            format!("--loss {DEFAULT_LOSS}")
        });
    }
    if args.reduction.is_none() {
        defaults.push("--reduction mean (for --data)".into());
    }
    if args.net.hidden.is_none() {
        defaults.push(format!("--hidden {DEFAULT_HIDDEN}"));
    }
    if args.net.activation.is_none() {
        defaults.push(format!("--activation {DEFAULT_ACTIVATION}"));
    }
    if args.optimiser.is_none() {
        defaults.push(format!("--optimiser {DEFAULT_OPTIMISER}"));
    }
    if args.learning_rate.is_none() {
        defaults.push(format!("--learning-rate {DEFAULT_LEARNING_RATE}"));
    }
    if args.epochs.is_none() {
        defaults.push(format!("--epochs {DEFAULT_EPOCHS}"));
    }
    if defaults.is_empty() {
        return "defaults: none of the network's and training's main options".into();
    }
    format!(
        "defaults: {} (the tutorial's XOR settings, {}the mean for data of any size: set them \
         for your data)",
        defaults.join(", "),
        if classes {
            "cross-entropy for classes, "
        } else {
            ""
        }
    )
}

/// Reads --test-data with the columns of the training data: the same inputs (by name), the
/// same targets, or the same label column and classes.
fn load_like(train: &Dataset, path: &Path) -> CliResult<Dataset> {
    let options = match (train.label_column(), train.class_labels()) {
        (Some(column), Some(labels)) => CsvOptions::classes(column, labels),
        _ => CsvOptions::columns(train.target_names()),
    }
    .with_inputs(train.input_names());
    Dataset::from_csv_path(path, &options)
        .context(|| format!("cannot load the held-out data {}", path.display()))
}

/// Prints a prediction table (small data sets, scaled inputs), the accuracy (classes) and, for
/// held-out data, the mean error and the confusion matrix. `raw` is `data` as read (unscaled).
fn report(model: &Model, data: &Dataset, raw: &Dataset, name: &str, held_out: bool) -> CliResult {
    let net = model.net();
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
    if data.classes().is_none() && !held_out {
        return Ok(());
    }
    let assessment = model.assess(raw)?;
    out!("{}", super::assessment_text(name, &assessment, held_out));
    Ok(())
}
