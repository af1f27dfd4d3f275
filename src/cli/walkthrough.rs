//! `backprop walkthrough`: the step-by-step trace of one training step.

use std::path::PathBuf;

use backprop::Error;
use backprop::nn::{Activation, Bias, Init, Mlp, MlpSpec};
use backprop::trace::Trace;
use backprop::tutorial;

use super::{CliResult, Context, Failure, parse_numbers, parse_widths, write_file};

/// Options of `backprop walkthrough`. Without a model or layers: the tutorial's worked example.
#[derive(clap::Args, Debug, Clone)]
pub struct WalkthroughArgs {
    /// A saved model (from `backprop train --save`).
    #[arg(long, value_name = "FILE.json", conflicts_with = "layers")]
    pub model: Option<PathBuf>,
    /// A small network instead: hidden layer widths, comma-separated (input and output widths
    /// come from --input and --target).
    #[arg(long, value_name = "W1,W2,..")]
    pub layers: Option<String>,
    /// Activation of the hidden layers (with --layers).
    #[arg(long, default_value = "sigmoid")]
    pub activation: String,
    /// Activation of the output layer (with --layers).
    #[arg(long, default_value = "identity")]
    pub output_activation: String,
    /// Bias node value or `none` (with --layers).
    #[arg(long, default_value = "none", allow_hyphen_values = true)]
    pub bias: String,
    /// Every weight's initial value (with --layers).
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true)]
    pub weight: f64,
    /// The association's input, comma-separated.
    #[arg(long, default_value = "1,1", allow_hyphen_values = true)]
    pub input: String,
    /// The association's expected output, comma-separated.
    #[arg(long, default_value = "0.5", allow_hyphen_values = true)]
    pub target: String,
    /// The learning rate epsilon.
    #[arg(long, default_value_t = 0.01)]
    pub learning_rate: f64,
    /// Also write one SVG picture per step into this folder.
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
}

/// Runs `backprop walkthrough`.
pub fn run(args: &WalkthroughArgs) -> CliResult {
    let input =
        parse_numbers(&args.input).map_err(|e| Failure::usage("invalid --input").because(e))?;
    let target =
        parse_numbers(&args.target).map_err(|e| Failure::usage("invalid --target").because(e))?;
    if !(args.learning_rate.is_finite() && args.learning_rate > 0.0) {
        return Err(Failure::usage(format!(
            "invalid --learning-rate {}: must be a positive number",
            args.learning_rate
        )));
    }
    let worked = args.model.is_none() && args.layers.is_none();
    let mut net: Mlp = if let Some(path) = &args.model {
        backprop::model_file::load(path)
            .context(|| format!("cannot load the model {}", path.display()))?
    } else if let Some(layers) = &args.layers {
        let mut sizes = vec![input.len()];
        sizes.extend(
            parse_widths(layers).map_err(|e| Failure::usage("invalid --layers").because(e))?,
        );
        sizes.push(target.len());
        let activation =
            Activation::parse(&args.activation).usage(|| "invalid --activation".into())?;
        let output = Activation::parse(&args.output_activation)
            .usage(|| "invalid --output-activation".into())?;
        let bias = match args.bias.as_str() {
            "none" => Bias::None,
            v => Bias::Node(
                v.parse()
                    .map_err(|_| Failure::usage(format!("invalid --bias {v:?}")))?,
            ),
        };
        MlpSpec::new(&sizes, activation, output)
            .with_bias(bias)
            .with_init(Init::Constant(args.weight))
            .build()
            .usage(|| "invalid network options".into())?
    } else {
        tutorial::worked_example()?
    };
    net.set_anomaly_mode(true);
    let trace = Trace::training_step(&net, &input, &target, args.learning_rate).map_err(|e| {
        if matches!(e, Error::Shape { .. }) {
            Failure::usage("the association does not fit the network").because(e)
        } else {
            Failure::fix("cannot evaluate the network").because(e)
        }
    })?;
    let figures = if worked
        && input == tutorial::WORKED_INPUT
        && target == tutorial::WORKED_TARGET
        && args.learning_rate == tutorial::WORKED_LEARNING_RATE
    {
        tutorial::worked_example_figures()
    } else {
        Vec::new()
    };
    out!("{}", trace.render(&figures));
    if let Some(dir) = &args.svg {
        std::fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
        for (stem, svg) in
            backprop::render::walkthrough_svgs(&net, &input, &target, args.learning_rate)?
        {
            let path = dir.join(format!("{stem}.svg"));
            write_file(&path, &svg)?;
            outln!("wrote {}", path.display());
        }
    }
    Ok(())
}
