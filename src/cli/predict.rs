//! `backprop predict`: run a saved model on a CSV file.

use std::fmt::Write;
use std::path::PathBuf;

use backprop::data::{CsvOptions, Dataset};

use super::{CliResult, Context, Failure, write_file};

/// Options of `backprop predict`.
#[derive(clap::Args, Debug, Clone)]
pub struct PredictArgs {
    /// A saved model (from `backprop train --save`).
    #[arg(long, value_name = "FILE.json")]
    pub model: PathBuf,
    /// A CSV file with a header row; every column is an input unless named by --ignore.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Columns to leave out (targets or labels present in the file), comma-separated.
    #[arg(long, value_name = "COL1,..")]
    pub ignore: Option<String>,
    /// Scaling of the inputs, as used when training: none, minmax, standard, divide:N.
    #[arg(long, default_value = "none")]
    pub scale: String,
    /// Write the predictions as CSV to this file instead of standard output.
    #[arg(long, short, value_name = "FILE.csv")]
    pub output: Option<PathBuf>,
}

/// Runs `backprop predict`.
pub fn run(args: &PredictArgs) -> CliResult {
    let mut net = backprop::model_file::load(&args.model)
        .context(|| format!("cannot load the model {}", args.model.display()))?;
    net.set_anomaly_mode(true);
    let scaling = super::parse_scaling(&args.scale)?;
    let ignored: Vec<String> = args
        .ignore
        .as_deref()
        .map(|s| s.split(',').map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    let data = Dataset::from_csv_path(
        &args.data,
        &CsvOptions::columns(&ignored).with_scaling(scaling),
    )
    .context(|| format!("cannot load {}", args.data.display()))?;
    if data.n_inputs() != net.sizes()[0] {
        return Err(Failure::fix(format!(
            "{} has {} input columns, the model expects {}",
            args.data.display(),
            data.n_inputs(),
            net.sizes()[0]
        )));
    }
    let outputs = net.sizes()[net.layers()];
    // several outputs are scores of classes: also name the class with the highest
    let classes = outputs > 1;
    let mut csv = (0..outputs)
        .map(|k| format!("output_{k}"))
        .collect::<Vec<_>>()
        .join(",");
    if classes {
        csv.push_str(",class");
    }
    csv.push('\n');
    for t in 0..data.len() {
        let (x, _) = data.association(t)?;
        let y = net.predict(x).context(|| {
            format!(
                "cannot evaluate the model on data row {} of {}",
                t + 1,
                args.data.display()
            )
        })?;
        let _ = write!(
            csv,
            "{}",
            y.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        if classes {
            let _ = write!(csv, ",{}", super::train::argmax(&y));
        }
        csv.push('\n');
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
