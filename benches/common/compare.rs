//! `--compare`: the project against the baseline of `../shared/bench/baseline`, in one session:
//! `runs` rounds, each running `closed_form`, `closed_form_batched` and this program one after
//! the other (alternated, so that a noisy neighbour hits all three alike); medians per workload;
//! a Markdown table of times and ratios on stdout, one JSON line per row on stderr.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};

use serde_json::json;

use super::{Args, Json, median};

/// Builds the baseline (release, its own lto profile) into `target/baseline` if it is missing.
fn ensure_baseline(args: &Args) -> bool {
    if args.baseline.join("closed_form").exists() {
        return true;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = root.join("../shared/bench/baseline/Cargo.toml");
    eprintln!("building the baseline from {}", manifest.display());
    Command::new("cargo")
        .args(["build", "--release", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", root.join("target/baseline"))
        .status()
        .is_ok_and(|s| s.success())
}

fn lines_of(program: &Path, options: &[String]) -> Vec<Json> {
    let out = Command::new(program)
        .args(options)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .collect()
}

/// (impl, workload, threads) -> measure -> values over the rounds.
type Samples = BTreeMap<(String, String, u64), BTreeMap<String, Vec<f64>>>;

fn collect(samples: &mut Samples, lines: &[Json]) {
    for line in lines {
        let key = (
            line["impl"].as_str().unwrap_or("?").to_string(),
            line["workload"].as_str().unwrap_or("?").to_string(),
            line["threads"].as_u64().unwrap_or(1),
        );
        let entry = samples.entry(key).or_default();
        for field in [
            "seconds_per_epoch",
            "seconds_per_step",
            "seconds_per_node",
            "build_seconds_per_node",
            "peak_bytes_per_node",
            "final_loss",
        ] {
            if let Some(v) = line[field].as_f64() {
                entry.entry(field.to_string()).or_default().push(v);
            }
        }
    }
}

pub fn run(args: &Args) -> ExitCode {
    if !ensure_baseline(args) {
        eprintln!("the baseline did not build; pass --baseline DIR");
        return ExitCode::FAILURE;
    }
    let me = std::env::current_exe().expect("current_exe");
    let only = args.only.clone().unwrap_or_else(|| {
        ["xor", "moons", "digits", "chain"]
            .map(String::from)
            .to_vec()
    });
    let chain_ns = args
        .chain_ns
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let trained: Vec<String> = only.iter().filter(|w| *w != "chain").cloned().collect();
    let mut samples = Samples::new();
    for round in 0..args.runs {
        eprintln!("round {} of {}", round + 1, args.runs);
        let cf = lines_of(
            &args.baseline.join("closed_form"),
            &[
                "--only".into(),
                only.join(","),
                "--chain-ns".into(),
                chain_ns.clone(),
            ],
        );
        collect(&mut samples, &cf);
        if !trained.is_empty() {
            let batched = lines_of(
                &args.baseline.join("closed_form_batched"),
                &["--only".into(), trained.join(",")],
            );
            collect(&mut samples, &batched);
        }
        let mine = lines_of(
            &me,
            &[
                "--only".into(),
                only.join(","),
                "--threads".into(),
                args.threads.to_string(),
                "--chain-ns".into(),
                chain_ns.clone(),
            ],
        );
        collect(&mut samples, &mine);
    }
    let med = |imp: &str, workload: &str, threads: u64, field: &str| -> Option<f64> {
        samples
            .get(&(imp.to_string(), workload.to_string(), threads))
            .and_then(|m| m.get(field))
            .map(|v| median(v.clone()))
    };
    let us = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.3}", v * 1e6));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}x", a / b),
        _ => "-".to_string(),
    };
    println!(
        "| workload | measure | backprop 1 thread | backprop {} threads | closed_form | closed_form_batched | ratio vs closed_form (1 thr / {} thr) | ratio vs batched (1 thr / {} thr) |",
        args.threads, args.threads, args.threads
    );
    println!("|---|---|---|---|---|---|---|---|");
    for workload in ["xor", "moons", "digits"] {
        if !only.iter().any(|w| w == workload) {
            continue;
        }
        let field = if workload == "moons" {
            "seconds_per_step"
        } else {
            "seconds_per_epoch"
        };
        let p1 = med("backprop/graph", workload, 1, field);
        let pn = med("backprop/graph", workload, args.threads as u64, field);
        let cf = med("rust/closed_form", workload, 1, field);
        let cb = med("rust/closed_form_batched", workload, 1, field);
        let pn_shown = if workload == "digits" && args.threads > 1 {
            pn
        } else {
            None
        };
        println!(
            "| {workload} | us per {} | {} | {} | {} | {} | {} / {} | {} / {} |",
            &field[12..],
            us(p1),
            us(pn_shown),
            us(cf),
            us(cb),
            ratio(p1, cf),
            ratio(pn_shown, cf),
            ratio(p1, cb),
            ratio(pn_shown, cb),
        );
        eprintln!(
            "{}",
            json!({"workload": workload, "field": field, "project_1": p1, "project_n": pn_shown,
                   "closed_form": cf, "closed_form_batched": cb,
                   "final_loss_project": med("backprop/graph", workload, 1, "final_loss"),
                   "final_loss_closed_form": med("rust/closed_form", workload, 1, "final_loss")})
        );
    }
    if only.iter().any(|w| w == "chain") {
        for (field, label) in [
            ("seconds_per_node", "forward + backward, ns per link"),
            (
                "build_seconds_per_node",
                "build (graph + compile), ns per link",
            ),
            ("peak_bytes_per_node", "peak bytes per link"),
        ] {
            let p = med("backprop/graph", "chain", 1, field);
            let cf = med("rust/closed_form", "chain", 1, field);
            let scale = if field == "peak_bytes_per_node" {
                1.0
            } else {
                1e9
            };
            let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}", v * scale));
            println!(
                "| chain | {label} | {} | - | {} | - | {} | - |",
                show(p),
                show(cf),
                ratio(p, cf)
            );
        }
    }
    ExitCode::SUCCESS
}
