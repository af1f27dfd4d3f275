//! `backprop graph`: a picture of a model or graph file, as DOT text or SVG.

use std::path::PathBuf;

use backprop::render::{graph_svg, write_graph_dot};
use backprop::{Graph, NodeId, Tape, Workspace};

use super::{CliResult, Context, Failure, parse_numbers, print_with, write_file_with};

/// Options of `backprop graph`. Without a file: the tutorial's worked example.
#[derive(clap::Args, Debug, Clone)]
pub struct GraphArgs {
    /// A saved model (layered network).
    #[arg(long, value_name = "FILE.json", conflicts_with = "graph")]
    pub model: Option<PathBuf>,
    /// A graph file.
    #[arg(long, value_name = "FILE.json")]
    pub graph: Option<PathBuf>,
    /// For a model: an input to show values and gradients for (comma-separated).
    #[arg(long, allow_hyphen_values = true)]
    pub input: Option<String>,
    /// For a model: the target of that input.
    #[arg(long, allow_hyphen_values = true)]
    pub target: Option<String>,
    /// dot or svg.
    #[arg(long, default_value = "svg")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Forward and backward passes of a graph file's association, in anomaly mode.
fn passes(tape: &Tape, inputs: &[f64], output: NodeId) -> CliResult<Workspace> {
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(true);
    tape.forward(&mut ws, inputs)
        .context(|| "cannot evaluate the graph".into())?;
    tape.backward(&mut ws, output)
        .context(|| "cannot differentiate the graph".into())?;
    Ok(ws)
}

/// Runs `backprop graph`.
pub fn run(args: &GraphArgs) -> CliResult {
    let svg = match args.format.as_str() {
        "svg" => true,
        "dot" => false,
        other => {
            return Err(Failure::usage(format!(
                "invalid --format {other:?} (expected dot or svg)"
            )));
        }
    };
    let render = |graph: &Graph, values: Option<&[f64]>, gradients: Option<&[f64]>| {
        draw(args.output.as_deref(), svg, graph, values, gradients)
    };
    if let Some(path) = &args.graph {
        let loaded = backprop::graph_file::load_graph(path)
            .context(|| format!("cannot load the graph {}", path.display()))?;
        let tape = loaded.graph.compile()?;
        let ws = passes(&tape, &loaded.input_values, loaded.output)?;
        let values: Vec<f64> = loaded
            .graph
            .nodes()
            .map(|n| tape.value(&ws, n))
            .collect::<Result<_, _>>()?;
        let grads = tape.gradients_of(&ws)?;
        render(&loaded.graph, Some(&values), Some(grads.as_slice()))
    } else {
        let net = match &args.model {
            Some(path) => backprop::model_file::load(path)
                .context(|| format!("cannot load the model {}", path.display()))?,
            None => backprop::tutorial::worked_example()?,
        };
        let input = match (&args.input, &args.model) {
            (Some(text), _) => Some(
                parse_numbers(text).map_err(|e| Failure::usage("invalid --input").because(e))?,
            ),
            (None, None) => Some(backprop::tutorial::WORKED_INPUT.to_vec()),
            (None, Some(_)) => None,
        };
        let target = match (&args.target, &args.model) {
            (Some(text), _) => {
                parse_numbers(text).map_err(|e| Failure::usage("invalid --target").because(e))?
            }
            (None, None) => backprop::tutorial::WORKED_TARGET.to_vec(),
            (None, Some(_)) => vec![0.0; net.sizes()[net.layers()]],
        };
        match input {
            None => render(net.graph(), None, None),
            Some(input) => {
                let mut net = net;
                net.set_anomaly_mode(true);
                let eval = net.evaluate(&input, &target).map_err(|e| match e {
                    backprop::Error::Shape { .. } => {
                        Failure::usage("--input/--target do not fit the model").because(e)
                    }
                    other => Failure::fix("cannot evaluate the graph").because(other),
                })?;
                let (values, grads) = (eval.node_values(), eval.gradients());
                render(net.graph(), Some(&values), Some(grads.as_slice()))
            }
        }
    }
}

/// Writes the picture to `output` (atomically) or to standard output: the DOT text as it is
/// made (it grows with the graph), the SVG as one string (its size is bounded by
/// [`backprop::render::GRAPH_SVG_MAX_BOXES`]).
fn draw(
    output: Option<&std::path::Path>,
    svg: bool,
    graph: &Graph,
    values: Option<&[f64]>,
    gradients: Option<&[f64]>,
) -> CliResult {
    let write = |out: &mut dyn std::io::Write| {
        if svg {
            out.write_all(graph_svg(graph, values, gradients).as_bytes())
        } else {
            write_graph_dot(out, graph, values, gradients)
        }
    };
    match output {
        Some(path) => {
            write_file_with(path, write)?;
            outln!("wrote {}", path.display());
        }
        None => print_with(write)?,
    }
    Ok(())
}
