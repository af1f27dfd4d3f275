//! How a graph is stored: a petgraph DAG of 8-byte nodes with constants and ops kept beside it,
//! and the narrow [`View`] through which compiling reads it. Nothing outside this folder sees
//! petgraph: the DOT picture asks [`Inner::write_dot_body`] to run petgraph's own printer.

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::NodeKind;
use crate::error::{Error, NodeName};
use crate::op::{Op, OpKey};

/// The storage: a petgraph DAG whose edges go from operand to op.
///
/// An op's edges are added with it, in operand order, and never removed, so the edge list is
/// grouped by op and an edge's index order is its operand order: an edge needs no weight (20
/// bytes an edge with the position as a weight, 16 without).
#[derive(Clone, Debug, Default)]
pub(crate) struct Inner {
    pub(super) dag: DiGraph<Stored, (), u32>,
    /// The parameters' initial values, by slot (kept out of [`Node`]).
    pub(crate) param_values: Vec<f64>,
    pub(crate) labels: HashMap<u32, Box<str>>,
    pub(crate) inputs: Vec<u32>,
    /// The constants' values, by [`Stored::Const`] index.
    constants: Vec<f64>,
    /// The distinct ops, by [`Stored::Op`] index.
    ops: Vec<Op>,
    op_indices: HashMap<OpKey, u32>,
    /// The last ops looked up, newest first (`None` until filled).
    recent_ops: [Option<(OpKey, u32)>; 4],
    pub(crate) params: Vec<u32>,
    /// The first error made while building with operators (which cannot return a `Result`).
    pub(super) deferred: Option<Error>,
}

/// What a node is, as compiling and drawing read it: a [`NodeKind`] without the parameter's
/// value (kept in [`Inner::param_values`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Node {
    Input { slot: u32 },
    Param { slot: u32 },
    Const(f64),
    Op(Op),
}

/// A node as petgraph holds it, in 8 bytes: a constant's value and an op (16 bytes with its
/// parameter) are kept beside the graph, in [`Inner::constants`] and [`Inner::ops`]. At 3 nodes
/// a link, that is 24 bytes a link less than holding [`Node`] itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    Input(u32),
    Param(u32),
    /// An index into [`Inner::constants`].
    Const(u32),
    /// An index into [`Inner::ops`].
    Op(u32),
}

const _: () = assert!(std::mem::size_of::<Stored>() == 8);

impl Inner {
    /// What node `index` is (`None` past the last node).
    pub(crate) fn kind(&self, index: usize) -> Option<NodeKind> {
        self.node(index).map(|node| match node {
            Node::Input { slot } => NodeKind::Input { slot },
            Node::Param { slot } => NodeKind::Param {
                slot,
                value: self.param_values[slot as usize],
            },
            Node::Const(value) => NodeKind::Const(value),
            Node::Op(op) => NodeKind::Op(op),
        })
    }

    /// Node `index` (`None` past the last node).
    pub(crate) fn node(&self, index: usize) -> Option<Node> {
        let stored = *self.dag.node_weight(NodeIndex::new(index))?;
        Some(self.decode(stored))
    }

    fn decode(&self, stored: Stored) -> Node {
        match stored {
            Stored::Input(slot) => Node::Input { slot },
            Stored::Param(slot) => Node::Param { slot },
            Stored::Const(k) => Node::Const(self.constants[k as usize]),
            Stored::Op(k) => Node::Op(self.ops[k as usize]),
        }
    }

    fn encode(&mut self, node: Node) -> Stored {
        match node {
            Node::Input { slot } => Stored::Input(slot),
            Node::Param { slot } => Stored::Param(slot),
            Node::Const(value) => {
                self.constants.push(value);
                Stored::Const(self.constants.len() as u32 - 1)
            }
            Node::Op(op) => Stored::Op(self.op_index(op)),
        }
    }

    /// The index of `op` in [`Inner::ops`], added if new. The last few ops looked up are tried
    /// first: a graph is built from a handful of distinct ops, in runs and cycles (a chain's
    /// `mul`, `add`, `sigmoid`), which then need no hashing.
    fn op_index(&mut self, op: Op) -> u32 {
        let key = op.key();
        if let Some((_, k)) = self
            .recent_ops
            .iter()
            .flatten()
            .find(|(recent, _)| *recent == key)
        {
            return *k;
        }
        let ops = &mut self.ops;
        let k = *self.op_indices.entry(key).or_insert_with(|| {
            ops.push(op);
            ops.len() as u32 - 1
        });
        self.recent_ops.rotate_right(1);
        self.recent_ops[0] = Some((key, k));
        k
    }

    pub(crate) fn name(&self, index: u32) -> NodeName {
        NodeName {
            index,
            label: self.labels.get(&index).map(|l| l.to_string()),
        }
    }

    pub(super) fn push(&mut self, kind: Node, operands: &[u32]) -> u32 {
        let stored = self.encode(kind);
        let node = self.dag.add_node(stored);
        for &operand in operands {
            self.dag
                .add_edge(NodeIndex::new(operand as usize), node, ());
        }
        node.index() as u32
    }

    /// The operands of node `index`, in order: its incoming edges in edge index order.
    pub(crate) fn operands(&self, index: u32, out: &mut Vec<u32>) {
        out.clear();
        let node = NodeIndex::new(index as usize);
        let mut edges: Vec<_> = self
            .dag
            .edges_directed(node, Direction::Incoming)
            .map(|edge| (edge.id().index(), edge.source().index() as u32))
            .collect();
        edges.sort_unstable();
        out.extend(edges.into_iter().map(|(_, source)| source));
    }

    /// Every edge as `(operand, op, position)`, in edge index order (creation order of the ops,
    /// then operand order).
    pub(crate) fn operand_edges(&self) -> impl Iterator<Item = (usize, usize, u32)> + '_ {
        let mut previous = (usize::MAX, 0);
        self.dag.raw_edges().iter().map(move |edge| {
            let (source, target) = (edge.source().index(), edge.target().index());
            let position = if target == previous.0 {
                previous.1 + 1
            } else {
                0
            };
            previous = (target, position);
            (source, target, position)
        })
    }

    /// Writes the nodes and edges of the DOT text (Graphviz) through petgraph's DOT writer,
    /// without the `digraph {` line and the closing brace: a node's attributes are
    /// `node_attributes(index)`, an edge's `edge_attributes(op, position)` (the operand's
    /// position among the op's operands). What the attributes say is the caller's.
    pub(crate) fn write_dot_body(
        &self,
        out: &mut dyn std::io::Write,
        node_attributes: impl Fn(usize) -> String,
        edge_attributes: impl Fn(usize, u32) -> String,
    ) -> std::io::Result<()> {
        use petgraph::dot::{Config, Dot};
        let positions: Vec<u32> = self.operand_edges().map(|(_, _, p)| p).collect();
        let nodes = |_, (index, _): (NodeIndex<u32>, &Stored)| node_attributes(index.index());
        let edges = |_, edge: petgraph::graph::EdgeReference<'_, (), u32>| {
            edge_attributes(edge.target().index(), positions[edge.id().index()])
        };
        let config = [
            Config::NodeNoLabel,
            Config::EdgeNoLabel,
            Config::GraphContentOnly,
        ];
        // `Debug` only because petgraph asks for it: with NodeNoLabel and EdgeNoLabel it never
        // formats a node or edge weight.
        write!(
            out,
            "{:?}",
            Dot::with_attr_getters(&self.dag, &config, &edges, &nodes)
        )
    }

    /// The number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.dag.node_count()
    }

    /// The narrow view that compiling reads.
    pub(crate) fn view(&self) -> View<'_> {
        View { inner: self }
    }

    pub(super) fn defer(&mut self, error: Error) {
        if self.deferred.is_none() {
            self.deferred = Some(error);
        }
    }
}

/// What compiling reads of a graph, and nothing of how petgraph stores it: the nodes in
/// creation order (a topological order), each with its ordered operands; how often a node is
/// used; the leaves' slots, values and labels.
pub(crate) struct View<'a> {
    inner: &'a Inner,
}

impl View<'_> {
    /// The number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.inner.dag.node_count()
    }

    /// Calls `visit(index, node, operands)` for every node in creation order.
    ///
    /// Building adds an op's edges right after the op, in operand order, and never removes
    /// one, so each op's operands are the next run of the edge list: one linear scan.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(u32, Node, &[u32])) {
        let edges = self.inner.dag.raw_edges();
        let mut cursor = 0;
        let mut operands = Vec::new();
        for (index, node) in self.inner.dag.raw_nodes().iter().enumerate() {
            operands.clear();
            while cursor < edges.len() && edges[cursor].target().index() == index {
                operands.push(edges[cursor].source().index() as u32);
                cursor += 1;
            }
            visit(index as u32, self.inner.decode(node.weight), &operands);
        }
    }

    /// Whether node `n` is the operand of exactly one op, once (`x` in `x * x` is used twice).
    pub(crate) fn used_once(&self, n: u32) -> bool {
        self.inner
            .dag
            .neighbors_directed(NodeIndex::new(n as usize), Direction::Outgoing)
            .take(2)
            .count()
            == 1
    }

    /// The input leaves, in slot order.
    pub(crate) fn inputs(&self) -> &[u32] {
        &self.inner.inputs
    }

    /// The parameter leaves, in slot order.
    pub(crate) fn params(&self) -> &[u32] {
        &self.inner.params
    }

    /// The parameters' values as built, in slot order.
    pub(crate) fn param_values(&self) -> &[f64] {
        &self.inner.param_values
    }

    /// The nodes' labels.
    pub(crate) fn labels(&self) -> &HashMap<u32, Box<str>> {
        &self.inner.labels
    }
}
