//! `backprop check`: the three-way gradient report (or the second-derivative check); with
//! `--answers`, the diagnosis of a user's numbers (`answers.rs`).

use std::path::PathBuf;

use backprop::gradcheck::{Tolerances, check_hessian, check_mlp};
use backprop::nn::{Init, Mlp};
use rand::RngExt;

use super::net::{DataArgs, NetArgs};
use super::{CliResult, Context, Failure};

/// The most weights `--order 2` accepts (the Hessian has their square of entries).
const MAX_HESSIAN_WEIGHTS: usize = 200;

/// Options of `backprop check`. Without a model or --random: the tutorial's worked example.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// A saved model; the associations come from --data (default XOR).
    #[arg(long, value_name = "FILE.json", conflicts_with = "random")]
    pub model: Option<PathBuf>,
    /// A random network (of --hidden, --activation, ..., --seed) on random associations.
    #[arg(long)]
    pub random: bool,
    /// With --random: input and output widths.
    #[arg(long, default_value = "3,2", value_name = "IN,OUT")]
    pub widths: String,
    /// With --random: how many random associations.
    #[arg(long, default_value_t = 4)]
    pub associations: usize,
    #[command(flatten)]
    /// The random network.
    pub net: NetArgs,
    #[command(flatten)]
    /// The data for --model.
    pub data: DataArgs,
    /// 1: gradients (graph vs textbook vs finite differences); 2: the Hessian (gradient graph vs
    /// finite differences of the gradient).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub order: u8,
    /// How associations' errors combine: sum or mean.
    #[arg(long, default_value = "sum")]
    pub reduction: String,
    /// Your numbers of one training step (answers format, JSON or CSV): says which classic
    /// mistake made them, on --exercise or on --model with --input and --target.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// With --answers: an exercise written by `backprop exercise`.
    #[arg(long, value_name = "exercise.json", requires = "answers", conflicts_with_all = ["model", "random"])]
    pub exercise: Option<PathBuf>,
    /// With --answers and --model: the inputs, one association or several separated by `;`.
    #[arg(long, value_name = "X1,X2;..", requires = "answers")]
    pub input: Option<String>,
    /// With --answers and --model: the learning rate of the update.
    #[arg(long, default_value_t = 0.01, requires = "answers")]
    pub learning_rate: f64,
    /// With --answers: text or json.
    #[arg(long, default_value = "text", requires = "answers")]
    pub format: String,
}

/// Runs `backprop check`; fails with exit code 1 when the gradients disagree.
pub fn run(args: &CheckArgs) -> CliResult {
    if let Some(answers) = &args.answers {
        return super::answers::run(args, answers);
    }
    let reduction = super::parse_reduction(&args.reduction)?;
    let (mut net, inputs, targets): (Mlp, Vec<f64>, Vec<f64>) = if let Some(path) = &args.model {
        let net = backprop::model_file::load(path)
            .context(|| format!("cannot load the model {}", path.display()))?;
        let data = args.data.load()?;
        let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
        if (data.n_inputs(), data.n_targets()) != (n_in, n_out) {
            return Err(Failure::fix(format!(
                "the data has {} input and {} target columns, the model {} expects {n_in} and {n_out}",
                data.n_inputs(),
                data.n_targets(),
                path.display()
            )));
        }
        (net, data.inputs().to_vec(), data.targets().to_vec())
    } else if args.data.data.is_some() {
        return Err(Failure::usage(
            "--data needs --model (the network to check on it)",
        ));
    } else if args.random {
        let widths = super::parse_widths(&args.widths)
            .map_err(|e| Failure::usage("invalid --widths").because(e))?;
        let [n_in, n_out] = widths[..] else {
            return Err(Failure::usage(
                "invalid --widths: expected two numbers, IN,OUT",
            ));
        };
        if args.associations == 0 {
            return Err(Failure::usage("invalid --associations: at least 1"));
        }
        let net = args.net.spec(n_in, n_out)?.build()?;
        let mut rng = Init::rng(args.net.seed.wrapping_add(1));
        let inputs = (0..args.associations * n_in)
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let targets = (0..args.associations * n_out)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        (net, inputs, targets)
    } else {
        let net = backprop::tutorial::worked_example()?;
        (
            net,
            backprop::tutorial::WORKED_INPUT.to_vec(),
            backprop::tutorial::WORKED_TARGET.to_vec(),
        )
    };
    first_anomaly(&mut net, &inputs, &targets)?;
    let tolerances = Tolerances::default();
    if args.order == 2 {
        let weights = net.params().len();
        if weights > MAX_HESSIAN_WEIGHTS {
            return Err(Failure::usage(format!(
                "--order 2 on {weights} weights would compute a {weights}x{weights} Hessian; use a network of at most {MAX_HESSIAN_WEIGHTS} weights"
            )));
        }
        let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
        let mut associations = Vec::new();
        for t in 0..inputs.len() / n_in {
            associations.extend_from_slice(&inputs[t * n_in..(t + 1) * n_in]);
            associations.extend_from_slice(&targets[t * n_out..(t + 1) * n_out]);
        }
        let r = reduction.weight(inputs.len() / n_in);
        let mut report = check_hessian(
            net.graph(),
            net.loss_node(),
            &associations,
            Some(net.params()),
            tolerances,
        )?;
        for row in report
            .symbolic
            .iter_mut()
            .chain(report.finite_difference.iter_mut())
        {
            row.iter_mut().for_each(|v| *v *= r);
        }
        out!("{}", report.render());
        if !report.passed() {
            return Err(Failure::fix("the second derivatives disagree"));
        }
        return Ok(());
    }
    let report = check_mlp(&net, &inputs, &targets, reduction, tolerances)?;
    out!("{}", report.render());
    match report.first_failure() {
        None => Ok(()),
        Some(row) => Err(Failure::fix(format!(
            "the gradients disagree, first at {} (node {})",
            row.name,
            row.node.index()
        ))),
    }
}

/// Evaluates every association in anomaly mode, so that a non-finite value or gradient is named
/// at its first node rather than reported as gradients that disagree.
fn first_anomaly(net: &mut Mlp, inputs: &[f64], targets: &[f64]) -> CliResult {
    net.set_anomaly_mode(true);
    let (n_in, n_out) = (net.sizes()[0], net.sizes()[net.layers()]);
    for (t, (x, y)) in inputs
        .chunks_exact(n_in)
        .zip(targets.chunks_exact(n_out))
        .enumerate()
    {
        net.evaluate(x, y)
            .context(|| format!("cannot evaluate the network on association {t}"))?;
    }
    Ok(())
}
