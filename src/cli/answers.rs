//! `backprop check --answers`: which classic mistake made the user's numbers.

use std::path::Path;

use backprop::mistakes::exercise::Exercise;
use backprop::mistakes::{Answers, Diagnosis, Problem, Verdict, diagnose};
use backprop::textbook::TextbookNet;

use super::check::CheckArgs;
use super::{CliResult, Context, Failure};

fn associations(text: &str, flag: &str) -> CliResult<Vec<Vec<f64>>> {
    text.split(';')
        .map(|a| {
            super::parse_numbers(a)
                .map_err(|e| Failure::usage(format!("invalid --{flag}")).because(e))
        })
        .collect()
}

fn problem(args: &CheckArgs) -> CliResult<Problem> {
    if let Some(path) = &args.exercise {
        return Ok(Exercise::load(path)
            .context(|| format!("cannot read the exercise {}", path.display()))?
            .problem);
    }
    let Some(path) = &args.model else {
        return Err(Failure::usage(
            "--answers needs --exercise FILE, or --model FILE with --input and --target",
        ));
    };
    let (Some(input), Some(target)) = (&args.input, &args.data.target) else {
        return Err(Failure::usage(
            "--answers with --model needs --input and --target",
        ));
    };
    let net = backprop::model_file::load(path)
        .context(|| format!("cannot load the model {}", path.display()))?;
    Problem::new(
        TextbookNet::from_mlp(&net),
        associations(input, "input")?,
        associations(target, "target")?,
        args.learning_rate,
        super::parse_reduction(&args.reduction)?,
    )
    .usage(|| "the model, --input and --target do not fit".into())
}

fn json(d: &Diagnosis) -> String {
    let ids =
        |ms: &[backprop::mistakes::Mistake]| -> Vec<&str> { ms.iter().map(|m| m.id()).collect() };
    let value = serde_json::json!({
        "verdict": d.verdict.name(),
        "mistakes": ids(&d.mistakes),
        "indistinguishable": d.indistinguishable.iter().map(|e| ids(e)).collect::<Vec<_>>(),
        "why": d.why,
        "first_wrong": d.first_wrong.as_ref().map(|w| serde_json::json!({
            "quantity": w.quantity.to_string(),
            "name": w.name,
            "given": w.given.text,
            "right": w.right,
            "formula": w.formula,
        })),
        "checked": d.checked,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Runs `backprop check --answers FILE`: exit 0 when the numbers are right, 1 otherwise.
pub fn run(args: &CheckArgs, path: &Path) -> CliResult {
    if !matches!(args.format.as_str(), "text" | "json") {
        return Err(Failure::usage(format!(
            "invalid --format {:?} (expected text or json)",
            args.format
        )));
    }
    let problem = problem(args)?;
    let answers = Answers::load(path, &problem)
        .context(|| format!("cannot read the answers {}", path.display()))?;
    let diagnosis = diagnose(&problem, &answers)?;
    if args.format == "json" {
        outln!("{}", json(&diagnosis));
    } else {
        out!("{}", diagnosis.render());
    }
    match diagnosis.verdict {
        Verdict::Correct => Ok(()),
        other => Err(Failure::fix(format!(
            "the answers are not right: {}",
            other.name()
        ))),
    }
}
