//! `backprop predict`: run a saved model on a CSV file.

use std::io::{BufReader, Write};
use std::path::PathBuf;

use backprop::data::{CsvAssociations, CsvOptions, Dataset, Scaling};
use backprop::model_file::{Model, Tally};

use super::{CliResult, Context, Failure, write_file, write_file_with};

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
    /// Version 1 models only (version 2 models read their input columns by name and leave the
    /// others out): columns to leave out (targets or labels present in the file),
    /// comma-separated.
    #[arg(long, value_name = "COL1,..")]
    pub ignore: Option<String>,
    /// Version 1 models only (version 2 models scale their inputs as they were trained):
    /// scaling of the inputs, as used when training: none, minmax, standard, divide:N,
    /// computed on this file.
    #[arg(long)]
    pub scale: Option<String>,
    /// Version 2 models only: print the network's outputs (`output_0, ...`) rather than
    /// classes and probabilities (or scores) or named target values.
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

/// Runs `backprop predict`: one association at a time, read, predicted and written before the
/// next is read, so that memory does not grow with the number of rows (a version 1 model with
/// --scale other than none reads the whole file: the scaling is fitted on it).
pub fn run(args: &PredictArgs) -> CliResult {
    let mut model = Model::load(&args.model)
        .context(|| format!("cannot load the model {}", args.model.display()))?;
    model.net_mut().set_anomaly_mode(true);
    let ignored: Vec<String> = args
        .ignore
        .as_deref()
        .map(|s| s.split(',').map(|c| c.trim().to_string()).collect())
        .unwrap_or_default();
    refuse_unused_options(args, &model)?;
    let cannot_load = || format!("cannot load {}", args.data.display());
    let scaling = super::parse_scaling(args.scale.as_deref().unwrap_or("none"))?;
    if model.schema().is_none() && scaling != Scaling::None {
        return predict_whole_file(args, &model, &ignored, scaling);
    }
    let file =
        std::fs::File::open(&args.data).map_err(|e| Failure::fix(cannot_load()).because(e))?;
    let reader = BufReader::with_capacity(64 << 10, file);
    let v1_options = CsvOptions::columns(&ignored);
    let (mut associations, has_targets) = match model.schema() {
        None => {
            let rows = CsvAssociations::new(reader, &v1_options).context(cannot_load)?;
            (rows, false)
        }
        Some(_) => {
            let stream = model
                .read_csv_stream(reader, &CsvOptions::columns(&[""; 0]))
                .context(cannot_load)?;
            if !stream.extra_columns.is_empty() {
                note(&format!(
                    "ignoring the columns the model does not use: {}\n",
                    stream.extra_columns.join(", ")
                ));
            }
            (stream.associations, stream.has_targets)
        }
    };
    let mut tally = has_targets.then(|| model.tally());
    let mut rows = 0;
    let mut failure = None;
    let mut body = |out: &mut dyn Write| -> std::io::Result<()> {
        let mut stop = |f: Failure| {
            failure = Some(f);
            std::io::Error::other("the predictions stopped")
        };
        // the first row before the header: a file refused at once prints nothing
        let mut row = next_row(args, &model, &mut associations, &mut tally, &mut rows);
        let mut first = true;
        loop {
            match row {
                Ok(Some(text)) => {
                    if first {
                        writeln!(out, "{}", model.predictions_header(args.raw))?;
                        first = false;
                    }
                    writeln!(out, "{text}")?;
                }
                Ok(None) => return Ok(()),
                Err(f) => return Err(stop(f)),
            }
            row = next_row(args, &model, &mut associations, &mut tally, &mut rows);
        }
    };
    let written = match &args.output {
        Some(path) => write_file_with(path, &mut body),
        None => super::print_with(&mut body),
    };
    if let Some(f) = failure {
        return Err(f);
    }
    written?;
    if let Some(tally) = tally {
        let assessment = tally.finish()?;
        let name = args.data.display().to_string();
        note(&super::assessment_text(&name, &assessment, true));
    }
    if let Some(path) = &args.output {
        outln!("wrote {rows} predictions to {}", path.display());
    }
    Ok(())
}

/// The next association's prediction as a CSV row, tallied if the file has targets; `None`
/// after the last.
fn next_row<R: std::io::BufRead>(
    args: &PredictArgs,
    model: &Model,
    associations: &mut CsvAssociations<'_, R>,
    tally: &mut Option<Tally>,
    rows: &mut usize,
) -> CliResult<Option<String>> {
    let Some((inputs, targets)) = associations
        .next_association()
        .context(|| format!("cannot load {}", args.data.display()))?
    else {
        return Ok(None);
    };
    let width = model.net().sizes()[0];
    if model.schema().is_none() && inputs.len() != width {
        return Err(Failure::fix(format!(
            "{} has {} input columns, the model expects {width}",
            args.data.display(),
            inputs.len(),
        )));
    }
    *rows += 1;
    let evaluate = || {
        format!(
            "cannot evaluate the model on data row {rows} of {}",
            args.data.display()
        )
    };
    let prediction = model.predict(inputs).context(evaluate)?;
    if let Some(tally) = tally {
        tally.add(model, inputs, targets).context(evaluate)?;
    }
    Ok(Some(model.prediction_row(&prediction, args.raw)))
}

/// A version 1 model with --scale fitted on the file: the whole file is read (the scaling needs
/// every row), then predicted as above.
fn predict_whole_file(
    args: &PredictArgs,
    model: &Model,
    ignored: &[String],
    scaling: Scaling,
) -> CliResult {
    let data = Dataset::from_csv_path(
        &args.data,
        &CsvOptions::columns(ignored).with_scaling(scaling),
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
    match &args.output {
        Some(path) => {
            write_file(path, &csv)?;
            outln!("wrote {} predictions to {}", data.len(), path.display());
        }
        None => out!("{csv}"),
    }
    Ok(())
}

/// Options that would do nothing for this model are refused, naming why (exit code 2).
fn refuse_unused_options(args: &PredictArgs, model: &Model) -> CliResult {
    let Some(schema) = model.schema() else {
        if args.raw {
            return Err(Failure::usage(format!(
                "--raw is for version 2 models: {} is version 1, whose outputs are printed raw \
                 anyway (output_0, ...)",
                args.model.display()
            )));
        }
        return Ok(());
    };
    if let Some(scale) = &args.scale {
        return Err(Failure::usage(format!(
            "--scale {scale} is for version 1 models: {} is version 2 and scales its inputs as when it was trained ({})",
            args.model.display(),
            schema.scaler().kind().name()
        )));
    }
    if let Some(ignore) = &args.ignore {
        return Err(Failure::usage(format!(
            "--ignore {ignore} is for version 1 models: {} is version 2 and reads only its input \
             columns ({}), found by name; other columns are left out without it",
            args.model.display(),
            schema.inputs().join(", ")
        )));
    }
    Ok(())
}
