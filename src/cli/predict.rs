//! `backprop predict`: run a saved model on a CSV file.

use std::io::Write;
use std::path::PathBuf;

use backprop::data::{CsvOptions, Dataset};
use backprop::model_file::Model;

use super::{CliResult, Context, Failure, write_file};

/// Options of `backprop predict`.
#[derive(clap::Args, Debug, Clone)]
pub struct PredictArgs {
    /// A saved model (from `backprop train --save`).
    #[arg(long, value_name = "FILE.json")]
    pub model: PathBuf,
    /// A CSV file with a header row. For a model of version 2, its input columns are found by
    /// name (other columns are ignored); for version 1, every column is an input unless named
    /// by --ignore.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Columns to leave out (targets or labels present in the file), comma-separated.
    #[arg(long, value_name = "COL1,..")]
    pub ignore: Option<String>,
    /// Version 1 models only (version 2 models scale their inputs as they were trained):
    /// scaling of the inputs, as used when training: none, minmax, standard, divide:N,
    /// computed on this file.
    #[arg(long)]
    pub scale: Option<String>,
    /// Print the network's outputs (`output_0, ...`) rather than classes and probabilities or
    /// named target values.
    #[arg(long)]
    pub raw: bool,
    /// Write the predictions as CSV to this file (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE.csv")]
    pub output: Option<PathBuf>,
}

/// Writes a line to standard error (a closed standard error is not worth failing for).
fn note(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Runs `backprop predict`.
pub fn run(args: &PredictArgs) -> CliResult {
    let mut model = Model::load(&args.model)
        .context(|| format!("cannot load the model {}", args.model.display()))?;
    model.net_mut().set_anomaly_mode(true);
    let ignored: Vec<String> = args
        .ignore
        .as_deref()
        .map(|s| s.split(',').map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    let (data, has_targets) = match model.schema() {
        None => {
            let scaling = super::parse_scaling(args.scale.as_deref().unwrap_or("none"))?;
            let data = Dataset::from_csv_path(
                &args.data,
                &CsvOptions::columns(&ignored).with_scaling(scaling),
            )
            .context(|| format!("cannot load {}", args.data.display()))?;
            let inputs = model.net().sizes()[0];
            if data.n_inputs() != inputs {
                return Err(Failure::fix(format!(
                    "{} has {} input columns, the model expects {}",
                    args.data.display(),
                    data.n_inputs(),
                    inputs
                )));
            }
            (data, false)
        }
        Some(schema) => {
            if let Some(scale) = &args.scale {
                return Err(Failure::usage(format!(
                    "--scale {scale} is for version 1 models: {} is version 2 and scales its inputs as when it was trained ({})",
                    args.model.display(),
                    schema.scaler().kind().name()
                )));
            }
            let read = model
                .read_csv_path(&args.data, &CsvOptions::columns(&[""; 0]))
                .context(|| format!("cannot load {}", args.data.display()))?;
            let extra: Vec<&String> = read
                .extra_columns
                .iter()
                .filter(|c| !ignored.contains(c))
                .collect();
            if !extra.is_empty() {
                note(&format!(
                    "ignoring the columns the model does not use: {}\n",
                    extra
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            (read.data, read.has_targets)
        }
    };
    let predictions = (0..data.len())
        .map(|t| {
            model.predict(data.association(t)?.0).context(|| {
                format!(
                    "cannot evaluate the model on data row {} of {}",
                    t + 1,
                    args.data.display()
                )
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    let csv = model.predictions_csv(&predictions, args.raw);
    if has_targets {
        let assessment = model.assess(&data)?;
        let name = args.data.display().to_string();
        note(&super::assessment_text(&name, &assessment, true));
    }
    match &args.output {
        Some(path) => {
            write_file(path, &csv)?;
            outln!("wrote {} predictions to {}", data.len(), path.display());
        }
        None => out!("{csv}"),
    }
    Ok(())
}
