//! `backprop grad FILE.json`: evaluate a graph file and print every node's value and the
//! gradient of its output with respect to every node, as JSON.

use std::path::PathBuf;

use backprop::NodeKind;
use backprop::graph_file::load_graph;
use serde_json::{Value, json};

use super::{CliResult, Context};

/// Options of `backprop grad`.
#[derive(clap::Args, Debug, Clone)]
pub struct GradArgs {
    /// A graph file (see the README for its format).
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,
}

/// Runs `backprop grad`.
pub fn run(args: &GradArgs) -> CliResult {
    let loaded = load_graph(&args.file)
        .context(|| format!("cannot load the graph {}", args.file.display()))?;
    let graph = &loaded.graph;
    let tape = graph.compile()?;
    let mut ws = tape.workspace();
    ws.set_anomaly_mode(true);
    tape.forward(&mut ws, &loaded.input_values)
        .context(|| "cannot evaluate the graph".into())?;
    tape.backward(&mut ws, loaded.output)
        .context(|| "cannot differentiate the graph".into())?;
    let grads = tape.gradients_of(&ws)?;
    let file_id = |node: backprop::NodeId| {
        loaded
            .nodes
            .iter()
            .find(|(_, n)| *n == node)
            .map(|(id, _)| *id)
    };
    let mut nodes = Vec::new();
    let mut leaves = serde_json::Map::new();
    for &(id, node) in &loaded.nodes {
        let kind = graph.kind(node)?;
        let label = graph.label(node)?;
        let gradient = grads.wrt(node)?;
        nodes.push(json!({
            "id": id,
            "op": kind.name(),
            "label": label,
            "value": tape.value(&ws, node)?,
            "gradient": gradient,
        }));
        if !matches!(kind, NodeKind::Op(_)) {
            leaves.insert(
                label.unwrap_or_else(|| format!("node {id}")),
                json!(gradient),
            );
        }
    }
    let out = json!({
        "output": file_id(loaded.output),
        "value": tape.value(&ws, loaded.output)?,
        "gradient_wrt_leaves": Value::Object(leaves),
        "nodes": nodes,
    });
    outln!(
        "{}",
        serde_json::to_string_pretty(&out).context(|| "cannot print JSON".into())?
    );
    Ok(())
}
