//! Options shared by the subcommands that build a network or read a data set.

use std::path::PathBuf;

use backprop::data::{CsvOptions, Dataset};
use backprop::nn::{Activation, Bias, Init, Loss, MlpSpec};

use super::{CliResult, Context, Failure, parse_widths};

/// How to build a layered network whose input and output widths come from the data.
#[derive(clap::Args, Debug, Clone)]
pub struct NetArgs {
    /// Widths of the hidden layers, comma-separated (empty for none) [default: 2, the
    /// tutorial's XOR network].
    #[arg(long, value_name = "W1,W2,..")]
    pub hidden: Option<String>,
    /// Activation of the hidden layers: identity, sigmoid, tanh, relu, leaky_relu[:SLOPE]
    /// [default: sigmoid].
    #[arg(long)]
    pub activation: Option<String>,
    /// Activation of the output layer.
    #[arg(long, default_value = "identity")]
    pub output_activation: String,
    /// The bias node's value (1, -1 as in the tutorial's text, ...) or `none`.
    #[arg(long, default_value = "1", allow_hyphen_values = true)]
    pub bias: String,
    /// Weight initialisation: uniform (in [-1, 1)), uniform:LOW:HIGH, xavier, he, constant:VALUE.
    #[arg(long, default_value = "uniform")]
    pub init: String,
    /// Loss of one association: half_squared_error or cross_entropy (softmax) [default:
    /// cross_entropy for `train --label`, half_squared_error otherwise].
    #[arg(long)]
    pub loss: Option<String>,
    /// Seed of the initialisation (and of shuffling when training).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn parse_bias(text: &str) -> Result<Bias, String> {
    match text {
        "none" => Ok(Bias::None),
        other => other
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Bias::Node)
            .ok_or_else(|| format!("expected a number or `none`, got {other:?}")),
    }
}

fn parse_init(text: &str) -> Result<Init, String> {
    let number = |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["uniform"] => Ok(Init::Uniform {
            low: -1.0,
            high: 1.0,
        }),
        ["uniform", low, high] => Ok(Init::Uniform {
            low: number(low)?,
            high: number(high)?,
        }),
        ["xavier"] | ["glorot"] => Ok(Init::Xavier),
        ["he"] => Ok(Init::He),
        ["constant", v] => Ok(Init::Constant(number(v)?)),
        _ => Err(format!(
            "unknown initialisation {text:?} (expected uniform, uniform:LOW:HIGH, xavier, he or constant:VALUE)"
        )),
    }
}

/// `--hidden` when not given: the tutorial's XOR network.
pub const DEFAULT_HIDDEN: &str = "2";
/// `--activation` when not given.
pub const DEFAULT_ACTIVATION: &str = "sigmoid";
/// `--loss` when not given (and, for `train`, without `--label`).
pub const DEFAULT_LOSS: &str = "half_squared_error";

impl NetArgs {
    /// The specification for data of `n_inputs` inputs and `n_outputs` targets.
    pub fn spec(&self, n_inputs: usize, n_outputs: usize) -> CliResult<MlpSpec> {
        let hidden = parse_widths(self.hidden.as_deref().unwrap_or(DEFAULT_HIDDEN))
            .map_err(|e| Failure::usage("invalid --hidden").because(e))?;
        let activation =
            Activation::parse(self.activation.as_deref().unwrap_or(DEFAULT_ACTIVATION))
                .usage(|| "invalid --activation".into())?;
        let output = Activation::parse(&self.output_activation)
            .usage(|| "invalid --output-activation".into())?;
        let bias =
            parse_bias(&self.bias).map_err(|e| Failure::usage("invalid --bias").because(e))?;
        let init =
            parse_init(&self.init).map_err(|e| Failure::usage("invalid --init").because(e))?;
        let loss = Loss::parse(self.loss.as_deref().unwrap_or(DEFAULT_LOSS))
            .usage(|| "invalid --loss".into())?;
        let mut sizes = vec![n_inputs];
        sizes.extend(hidden);
        sizes.push(n_outputs);
        let spec = MlpSpec::new(&sizes, activation, output)
            .with_bias(bias)
            .with_init(init)
            .with_seed(self.seed)
            .with_loss(loss);
        spec.validate().usage(|| "invalid network options".into())?;
        Ok(spec)
    }
}

/// Where the associations come from.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// A CSV file with a header row (default: the four XOR associations).
    #[arg(long, value_name = "FILE.csv")]
    pub data: Option<PathBuf>,
    /// Target columns, comma-separated (the other columns are inputs).
    #[arg(long, value_name = "COL1,COL2,..", conflicts_with = "label")]
    pub target: Option<String>,
    /// A class-label column (any text: words or integers), turned into one-hot targets.
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Number of classes of --label, whose labels are then the integers 0 to N - 1 (default:
    /// the distinct labels found, sorted as numbers if all are integers, else as text).
    #[arg(long, requires = "label")]
    pub classes: Option<usize>,
    /// Scaling of the inputs: none, minmax, standard, divide:N (`train` fits it on the training
    /// split only and saves it with the model).
    #[arg(long, default_value = "none")]
    pub scale: String,
}

impl DataArgs {
    /// Loads the data set (XOR without --data), scaled as a whole by --scale.
    pub fn load(&self) -> CliResult<Dataset> {
        let data = self.load_unscaled()?;
        match super::parse_scaling(&self.scale)? {
            backprop::data::Scaling::None => Ok(data),
            scaling => {
                let scaler = backprop::data::Scaler::fit(scaling, &data)
                    .usage(|| "invalid --scale".into())?;
                Ok(data.scaled(&scaler)?)
            }
        }
    }

    /// Loads the data set (XOR without --data) as it is in the file, --scale not applied.
    pub fn load_unscaled(&self) -> CliResult<Dataset> {
        let Some(path) = &self.data else {
            if self.target.is_some() || self.label.is_some() {
                return Err(Failure::usage("--target and --label need --data"));
            }
            return Ok(Dataset::xor());
        };
        super::parse_scaling(&self.scale)?;
        let options = match (&self.target, &self.label) {
            (Some(columns), None) => {
                CsvOptions::columns(&columns.split(',').map(str::trim).collect::<Vec<_>>())
            }
            (None, Some(column)) => CsvOptions::label(column, self.classes),
            _ => {
                return Err(Failure::usage(
                    "--data needs --target COLUMNS or --label COLUMN",
                ));
            }
        };
        Dataset::from_csv_path(path, &options).context(|| format!("cannot load {}", path.display()))
    }
}
