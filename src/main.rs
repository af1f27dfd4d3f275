//! The `backprop` command line: argument parsing, files, printing and exit codes (0 success,
//! 1 a failure the user must fix, 2 wrong usage). The library never prints.

mod cli;

use clap::Parser;
use cli::{Cli, Command};

fn main() {
    let args = Cli::parse();
    let result = match &args.command {
        None => cli::train::run(&default_train()),
        Some(Command::Train(a)) => cli::train::run(a),
        Some(Command::Walkthrough(a)) => cli::walkthrough::run(a),
        Some(Command::Check(a)) => cli::check::run(a),
        Some(Command::Exercise(a)) => cli::exercise::run(a),
        Some(Command::Grad(a)) => cli::grad::run(a),
        Some(Command::Graph(a)) => cli::graph::run(a),
        Some(Command::Predict(a)) => cli::predict::run(a),
        #[cfg(feature = "serve")]
        Some(Command::Serve(a)) => cli::serve::run(a),
    };
    if let Err(failure) = result {
        eprintln!("error: {}", failure.message);
        for cause in &failure.causes {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(failure.code);
    }
}

/// `backprop train` with every option at its default: the tutorial's 2x2x1 network on XOR.
fn default_train() -> cli::train::TrainArgs {
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        train: cli::train::TrainArgs,
    }
    Defaults::parse_from(["backprop"]).train
}
