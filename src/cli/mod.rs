//! The command line's arguments, its failures and their exit codes. Everything that reads or
//! writes a file or prints lives under `cli/`; the library never does.

/// `print!` that never panics: a closed standard output (`backprop ... | head`) ends the
/// program quietly with exit code 0, any other write error with exit code 1.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::emit(format_args!($($arg)*)) };
}

/// `println!` that never panics (see `out!`).
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::emit(format_args!("{}\n", format_args!($($arg)*))) };
}

pub mod answers;
pub mod check;
pub mod exercise;
pub mod grad;
pub mod graph;
pub mod net;
pub mod predict;
pub mod progress;
#[cfg(feature = "serve")]
pub mod serve;
pub mod train;
pub mod walkthrough;

use std::fmt;
use std::path::Path;

use clap::{Parser, Subcommand};

/// Neural networks as graphs of scalar ops, differentiated by reverse mode and checked
/// against the textbook delta rule. With no command: `train` on XOR.
#[derive(Parser, Debug)]
#[command(name = "backprop", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: train the tutorial's 2x2x1 network on XOR).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a layered network (default: the tutorial's 2x2x1 sigmoid network on XOR).
    Train(train::TrainArgs),
    /// Print the step-by-step trace of one training step (default: the tutorial's worked example).
    Walkthrough(walkthrough::WalkthroughArgs),
    /// Compare reverse mode, the textbook delta rule and finite differences, weight by weight.
    Check(check::CheckArgs),
    /// Write a one-step backpropagation exercise whose numbers tell every classic mistake apart.
    Exercise(exercise::ExerciseArgs),
    /// Evaluate a graph file and print every node's value and the output's gradient, as JSON.
    Grad(grad::GradArgs),
    /// Draw a model or a graph file as DOT or SVG.
    Graph(graph::GraphArgs),
    /// Run a saved model on a CSV file.
    Predict(predict::PredictArgs),
    #[cfg(feature = "serve")]
    /// Start the playground: a local web page that steps through backpropagation and trains.
    Serve(serve::ServeArgs),
}

/// Why the command line stopped: a failure the user must fix (exit 1) or a wrong usage (exit 2),
/// with a message and the chain of causes.
#[derive(Debug)]
pub struct Failure {
    /// 1 or 2.
    pub code: i32,
    /// One clear line.
    pub message: String,
    /// What caused it, outermost first.
    pub causes: Vec<String>,
}

impl Failure {
    /// A failure the user must fix (a bad file, divergence, a failed check): exit code 1.
    pub fn fix(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// A wrong usage of the command line: exit code 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// Adds a cause below the message.
    pub fn because(mut self, cause: impl fmt::Display) -> Failure {
        self.causes.push(cause.to_string());
        self
    }
}

impl From<backprop::Error> for Failure {
    fn from(error: backprop::Error) -> Failure {
        Failure::fix(error.to_string())
    }
}

/// Results of the command line.
pub type CliResult<T = ()> = Result<T, Failure>;

/// Context for a library error: `what` failed, because of `error`.
pub trait Context<T> {
    /// Exit code 1 with `what` as the message and the error as its cause.
    fn context(self, what: impl FnOnce() -> String) -> CliResult<T>;
    /// Exit code 2 (a flag's value is wrong) with `what` as the message.
    fn usage(self, what: impl FnOnce() -> String) -> CliResult<T>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| Failure::fix(what()).because(e))
    }
    fn usage(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| Failure::usage(what()).because(e))
    }
}

/// Writes `text` to `path` atomically (see [`backprop::files::write_atomically`]).
pub fn write_file(path: &Path, text: &str) -> CliResult {
    write_file_with(path, |out| out.write_all(text.as_bytes()))
}

/// Writes to `path` atomically what `write` writes, streamed (see
/// [`backprop::files::write_atomically_with`]).
pub fn write_file_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> CliResult {
    backprop::files::write_atomically_with(path, write).map_err(|e| {
        let failure = Failure::fix(format!("cannot write {}", path.display()));
        match e {
            // the path is already in the message
            backprop::Error::Io { reason, .. } => failure.because(reason),
            other => failure.because(other),
        }
    })
}

/// Writes to standard output what `write` writes, through a buffer: for output too large to
/// build as one string. A closed standard output ends the program as in `out!`.
pub fn print_with(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> CliResult {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::fix("cannot write to standard output").because(e)),
    }
}

/// How a model did on data with targets, as `train` prints it for its held-out set and
/// `predict` on standard error: the accuracy (classes), the mean error per association (with
/// `error`, or for a regression), the confusion matrix (classes, with `error`).
pub fn assessment_text(
    name: &str,
    assessment: &backprop::model_file::Assessment,
    error: bool,
) -> String {
    let mut text = String::new();
    if let Some(confusion) = &assessment.confusion {
        text.push_str(&format!(
            "{name}: accuracy {:.2}% ({} of {})\n",
            100.0 * confusion.accuracy().unwrap_or(f64::NAN),
            confusion.correct(),
            confusion.total()
        ));
    }
    if error || assessment.confusion.is_none() {
        text.push_str(&format!(
            "{name}: mean error {:.6e} per association\n",
            assessment.mean_error
        ));
    }
    if let (Some(confusion), true) = (&assessment.confusion, error) {
        text.push_str(&format!("{name}: confusion matrix\n{confusion}"));
    }
    text
}

/// Parses a comma-separated list of numbers (`1,0.5,-2`).
pub fn parse_numbers(text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{s:?} is not a finite number"))
        })
        .collect()
}

/// Parses a comma-separated list of layer widths (`2,2,1`).
pub fn parse_widths(text: &str) -> Result<Vec<usize>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("{s:?} is not a layer width"))
        })
        .collect()
}

/// Parses `--reduction`: `sum` or `mean`.
pub fn parse_reduction(text: &str) -> CliResult<backprop::nn::Reduction> {
    match text {
        "sum" => Ok(backprop::nn::Reduction::Sum),
        "mean" => Ok(backprop::nn::Reduction::Mean),
        other => Err(Failure::usage(format!(
            "invalid --reduction {other:?} (expected sum or mean)"
        ))),
    }
}

/// Parses `--scale`: `none`, `minmax`, `standard` or `divide:N`.
pub fn parse_scaling(text: &str) -> CliResult<backprop::data::Scaling> {
    use backprop::data::Scaling;
    match text.split(':').collect::<Vec<_>>().as_slice() {
        ["none"] => Ok(Scaling::None),
        ["minmax"] => Ok(Scaling::MinMax),
        ["standard"] | ["standardize"] => Ok(Scaling::Standardize),
        ["divide", n] => n
            .parse()
            .map(Scaling::Divide)
            .map_err(|_| Failure::usage(format!("invalid --scale: {n:?} is not a number"))),
        _ => Err(Failure::usage(format!(
            "invalid --scale {text:?} (expected none, minmax, standard or divide:N)"
        ))),
    }
}

/// Writes to standard output; see `out!`.
pub fn emit(args: fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output\n  caused by: {e}");
        std::process::exit(1);
    }
}
