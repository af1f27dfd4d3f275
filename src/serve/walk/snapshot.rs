//! What the playground's panels show besides the steps: the network diagram's values (x, y,
//! delta, and every weight before, its gradient and after) and the scalar-op graph with each
//! node's value and adjoint, laid out by depth.

use super::{DIAGRAM_MAX_WEIGHTS, GraphNode, Values};
use crate::error::Result;
use crate::nn::{Bias, Connection, Evaluation, Mlp};
use crate::trace::Trace;

/// The diagram's values for one association: `eval` before the update, `after` with the
/// updated weights of `trace`. The weights are left out past [`DIAGRAM_MAX_WEIGHTS`].
pub(super) fn values(
    net: &Mlp,
    (eval, after): (&Evaluation<'_>, &Evaluation<'_>),
    trace: &Trace,
    target: &[f64],
) -> Result<Values> {
    let sizes = net.sizes();
    let last = net.layers();
    let bias = match net.spec().bias {
        Bias::None => None,
        Bias::Node(v) => Some(v),
    };
    let small = net.params().len() <= DIAGRAM_MAX_WEIGHTS;
    let by_layer = |f: &dyn Fn(usize, usize, usize) -> f64| -> Vec<Vec<Vec<f64>>> {
        if !small {
            return Vec::new();
        }
        (0..last)
            .map(|l| {
                (0..sizes[l + 1])
                    .map(|j| (0..sizes[l]).map(|i| f(l, i, j)).collect())
                    .collect()
            })
            .collect()
    };
    let slot = |l, i, j| {
        net.weight_slot(Connection {
            layer: l,
            from: i,
            to: j,
        })
        .expect("internal error: a weight of the network")
    };
    Ok(Values {
        sizes: sizes.to_vec(),
        activations: net
            .spec()
            .activations
            .iter()
            .map(|a| a.to_string())
            .collect(),
        bias,
        x: (0..=last)
            .map(|l| (0..sizes[l]).map(|j| eval.x(l, j)).collect())
            .collect::<Result<_>>()?,
        y: (0..=last)
            .map(|l| (0..sizes[l]).map(|j| eval.y(l, j)).collect())
            .collect::<Result<_>>()?,
        delta: (0..=last)
            .map(|l| {
                if l == 0 {
                    Ok(Vec::new())
                } else {
                    (0..sizes[l]).map(|j| eval.delta(l, j)).collect()
                }
            })
            .collect::<Result<_>>()?,
        target: target.to_vec(),
        error: [eval.error(), after.error()],
        w: by_layer(&|l, i, j| net.params()[slot(l, i, j)]),
        grad_w: by_layer(&|l, i, j| trace.gradient[slot(l, i, j)]),
        new_w: by_layer(&|l, i, j| trace.updated[slot(l, i, j)]),
        b: match bias {
            Some(_) if small => (0..last)
                .map(|l| {
                    (0..sizes[l + 1])
                        .map(|j| {
                            let s = net
                                .bias_slot(l, j)
                                .expect("internal error: a bias weight of the network");
                            [net.params()[s], trace.gradient[s], trace.updated[s]]
                        })
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        },
    })
}

/// The scalar-op graph as the graph panel draws it: each node with its label, kind, operands,
/// value and adjoint, its depth (the longest path from a leaf) and the neuron it belongs to.
pub(super) fn graph_nodes(
    net: &Mlp,
    operands: &[Vec<usize>],
    node_values: &[f64],
    adjoints: &[f64],
) -> Result<Vec<GraphNode>> {
    let graph = net.graph();
    let node_count = graph.len();
    let neuron = neurons(net)?;
    let mut depth = vec![0usize; node_count];
    let mut nodes = Vec::with_capacity(node_count);
    for node in graph.nodes() {
        let index = node.index();
        depth[index] = operands[index]
            .iter()
            .map(|&o| depth[o] + 1)
            .max()
            .unwrap_or(0);
        let kind = graph.kind(node)?;
        nodes.push(GraphNode {
            label: graph
                .label(node)?
                .unwrap_or_else(|| kind.name().to_string()),
            kind: kind.name().to_string(),
            operands: operands[index].clone(),
            value: node_values[index],
            adjoint: adjoints[index],
            depth: depth[index],
            neuron: neuron[index],
        });
    }
    Ok(nodes)
}

/// The neuron `[layer, node]` each graph node belongs to: `x` and `y` of the node, and the
/// weights into it.
fn neurons(net: &Mlp) -> Result<Vec<Option<[usize; 2]>>> {
    let mut neuron = vec![None; net.graph().len()];
    let sizes = net.sizes();
    let has_bias = net.spec().bias != Bias::None;
    for l in 0..=net.layers() {
        for j in 0..sizes[l] {
            let owner = Some([l, j]);
            neuron[net.x_node(l, j)?.index()] = owner;
            neuron[net.y_node(l, j)?.index()] = owner;
            if l == 0 {
                continue;
            }
            for i in 0..sizes[l - 1] {
                let slot = net.weight_slot(Connection {
                    layer: l - 1,
                    from: i,
                    to: j,
                })?;
                neuron[net.tape().param_node(slot).index()] = owner;
            }
            if has_bias {
                neuron[net.tape().param_node(net.bias_slot(l - 1, j)?).index()] = owner;
            }
        }
    }
    Ok(neuron)
}
