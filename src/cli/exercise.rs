//! `backprop exercise`: a fresh one-step backpropagation problem whose numbers tell every
//! mistake of the catalogue apart (`exercise.json`, `sheet.md`, `key.json`).

use std::path::PathBuf;

use backprop::mistakes::exercise::{Exercise, Options};
use backprop::nn::{Activation, Loss};

use super::{CliResult, Context, Failure};

/// Options of `backprop exercise`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExerciseArgs {
    /// The seed: one exercise per seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Nodes per layer, input first.
    #[arg(long, default_value = "2,2,2", value_name = "N0,N1,..")]
    pub sizes: String,
    /// Activation of the hidden layers.
    #[arg(long, default_value = "sigmoid")]
    pub activation: String,
    /// Activation of the output layer.
    #[arg(long, default_value = "sigmoid")]
    pub output_activation: String,
    /// The bias node's value (-1 as in the tutorial's text, 1, ...) or `none`.
    #[arg(long, default_value = "-1", allow_hyphen_values = true)]
    pub bias: String,
    /// Loss of one association: half_squared_error, cross_entropy or hinge.
    #[arg(long, default_value = "half_squared_error")]
    pub loss: String,
    /// How many associations.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// The learning rate of the update.
    #[arg(long, default_value_t = 0.5)]
    pub learning_rate: f64,
    /// How the associations' errors combine: sum or mean.
    #[arg(long, default_value = "sum")]
    pub reduction: String,
    /// The directory to write exercise.json, sheet.md and key.json into.
    #[arg(long, default_value = "exercise")]
    pub out: PathBuf,
}

/// Runs `backprop exercise`.
pub fn run(args: &ExerciseArgs) -> CliResult {
    let sizes = super::parse_widths(&args.sizes)
        .map_err(|e| Failure::usage("invalid --sizes").because(e))?;
    let activation =
        |flag: &str, text: &str| Activation::parse(text).usage(|| format!("invalid --{flag}"));
    let bias = match args.bias.as_str() {
        "none" => None,
        text => Some(
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Failure::usage(format!("invalid --bias {text:?}: a number or none"))
                })?,
        ),
    };
    if !args.learning_rate.is_finite() {
        return Err(Failure::usage("invalid --learning-rate: a finite number"));
    }
    let options = Options {
        sizes,
        hidden: activation("activation", &args.activation)?,
        output: activation("output-activation", &args.output_activation)?,
        bias,
        loss: Loss::parse(&args.loss).usage(|| "invalid --loss".into())?,
        batch: args.batch,
        learning_rate: args.learning_rate,
        reduction: super::parse_reduction(&args.reduction)?,
    };
    let exercise = Exercise::generate(&options, args.seed)
        .context(|| format!("cannot make exercise {}", args.seed))?;
    std::fs::create_dir_all(&args.out)
        .context(|| format!("cannot create {}", args.out.display()))?;
    super::write_file(&args.out.join("exercise.json"), &exercise.to_json()?)?;
    super::write_file(&args.out.join("sheet.md"), &exercise.sheet())?;
    super::write_file(&args.out.join("key.json"), &exercise.key())?;
    let skipped: Vec<&str> = exercise.not_applicable().iter().map(|m| m.id()).collect();
    outln!(
        "wrote {0}/exercise.json, {0}/sheet.md, {0}/key.json (seed {1}; mistakes this network cannot show: {2})",
        args.out.display(),
        args.seed,
        if skipped.is_empty() {
            "none".into()
        } else {
            skipped.join(", ")
        }
    );
    Ok(())
}
