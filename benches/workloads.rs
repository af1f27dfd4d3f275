//! The benchmark workloads of `../shared/bench/WORKLOADS.md`, run through the graph engine.
//!
//! Every network is built through the public API as a graph of scalar ops (the layer builder
//! lowers it to one `dot` node per neuron, an activation node, loss nodes), compiled, evaluated
//! and differentiated by the engine, and updated by the library's optimiser (`train_with`). The
//! textbook delta rule is not used anywhere in this program. One JSON line per workload, with the
//! fields of the baseline in `../shared/bench/baseline`.
//!
//! ```sh
//! cargo bench --bench workloads                       # W1..W4, full size
//! cargo bench --bench workloads -- --smoke            # reduced sizes, checks losses, exit 1 if wrong
//! cargo bench --bench workloads -- --compare          # vs the baseline: medians of 5, a table
//! cargo bench --bench workloads -- --scaling          # W3-shaped nets of hidden width 16..256
//! ```
//! Options: `--only xor,moons,digits,chain`, `--threads N` (digits also runs with 1 thread),
//! `--chain-ns 1e5,1e7`, `--runs K` (compare), `--baseline DIR` (compare, scaling).

mod common;

use std::process::ExitCode;

use common::{Args, Json};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(n) = args.chain_one {
        println!("{}", common::chain::run_one(n));
        return ExitCode::SUCCESS;
    }
    if args.compare {
        return common::compare::run(&args);
    }
    if args.scaling {
        return common::scaling::run(&args);
    }
    let mut failures = Vec::new();
    for name in ["xor", "moons", "digits"] {
        if args.wants(name) {
            for line in common::train::run(&args, name) {
                report(&line, &mut failures);
            }
        }
    }
    if args.wants("chain") {
        let line = common::chain::drive(&args);
        report(&line, &mut failures);
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("wrong results: {}", failures.join("; "));
        ExitCode::FAILURE
    }
}

fn report(line: &Json, failures: &mut Vec<String>) {
    println!("{line}");
    if let Some(checks) = line.get("checks").and_then(|c| c.as_object()) {
        for (name, ok) in checks {
            if ok.as_bool() != Some(true) {
                failures.push(format!("{} {name}", line["workload"]));
            }
        }
    }
}
