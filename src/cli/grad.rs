//! `backprop grad FILE.json`: evaluate a graph file and print every node's value and the
//! gradient of its output with respect to every node, as JSON.
//!
//! The JSON is written node by node as it is serialised, never built as one value or one string
//! (a 10^6-node graph prints some 130 MB): typed rows whose fields are declared in the order
//! and written in the layout that `serde_json::to_string_pretty` gives a `serde_json::Value` of
//! the same content (keys sorted, two-space indent), the output of the versions that built one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use backprop::graph_file::{LoadedGraph, load_graph};
use backprop::{Gradients, NodeId, NodeKind, Tape, Workspace};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{CliResult, Context, print_with};

/// Options of `backprop grad`.
#[derive(clap::Args, Debug, Clone)]
pub struct GradArgs {
    /// A graph file (see the README for its format).
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,
}

/// What `grad` prints; fields in sorted order.
#[derive(Serialize)]
struct Report<'a> {
    /// Each leaf's gradient by label (`node ID` without one); a label given twice keeps the
    /// last leaf's.
    gradient_wrt_leaves: BTreeMap<String, f64>,
    nodes: Rows<'a>,
    /// The output's id in the file.
    output: Option<u64>,
    value: f64,
}

/// One node of the file; fields in sorted order.
#[derive(Serialize)]
struct Row {
    gradient: f64,
    id: u64,
    label: Option<String>,
    op: &'static str,
    value: f64,
}

/// The nodes in file order, each row made as it is written.
struct Rows<'a> {
    loaded: &'a LoadedGraph,
    tape: &'a Tape,
    ws: &'a Workspace,
    grads: &'a Gradients,
}

impl Rows<'_> {
    fn row(&self, id: u64, node: NodeId) -> backprop::Result<Row> {
        let graph = &self.loaded.graph;
        Ok(Row {
            gradient: self.grads.wrt(node)?,
            id,
            label: graph.label(node)?,
            op: graph.kind(node)?.name(),
            value: self.tape.value(self.ws, node)?,
        })
    }
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.loaded.nodes.len()))?;
        for &(id, node) in &self.loaded.nodes {
            seq.serialize_element(&self.row(id, node).map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
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
    let mut leaves = BTreeMap::new();
    for &(id, node) in &loaded.nodes {
        if !matches!(graph.kind(node)?, NodeKind::Op(_)) {
            let label = graph.label(node)?;
            leaves.insert(
                label.unwrap_or_else(|| format!("node {id}")),
                grads.wrt(node)?,
            );
        }
    }
    let report = Report {
        gradient_wrt_leaves: leaves,
        nodes: Rows {
            loaded: &loaded,
            tape: &tape,
            ws: &ws,
            grads: &grads,
        },
        output: loaded
            .nodes
            .iter()
            .find(|&&(_, n)| n == loaded.output)
            .map(|&(id, _)| id),
        value: tape.value(&ws, loaded.output)?,
    };
    print_with(|out| {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        out.write_all(b"\n")
    })
}
