//! The order in which a graph file's nodes are built: topological, file order among ready
//! nodes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::FileNodes;
use crate::error::{Error, Result};

/// Kahn's algorithm over file positions (`nodes`' operands resolved to positions); among ready
/// nodes, the first in the file goes first. On a cycle, names one.
///
/// A file already in topological order (every operand before its user, as [`save_graph`]
/// writes them) is in the order Kahn's algorithm gives, file order: it is recognised in one
/// pass, without the consumer lists and the heap.
pub(super) fn topological_order(nodes: &FileNodes) -> Result<Vec<usize>> {
    let n = nodes.len();
    if (0..n).all(|p| nodes.operands(p).iter().all(|&q| (q as usize) < p)) {
        return Ok((0..n).collect());
    }
    let mut waiting: Vec<usize> = (0..n).map(|p| nodes.operands(p).len()).collect();
    // the consumers of q are consumers[consumer_ends[q - 1]..consumer_ends[q]], in file order
    let mut consumer_ends = vec![0usize; n];
    for &q in &nodes.operands {
        consumer_ends[q as usize] += 1;
    }
    let mut end = 0;
    for count in &mut consumer_ends {
        end += *count;
        *count = end;
    }
    let mut consumers = vec![0usize; end];
    for p in (0..n).rev() {
        for &q in nodes.operands(p).iter().rev() {
            consumer_ends[q as usize] -= 1;
            consumers[consumer_ends[q as usize]] = p;
        }
    }
    // consumer_ends[q] is now where q's consumers start; they end where q + 1's start
    let consumers_of = |q: usize| {
        let stop = consumer_ends.get(q + 1).copied().unwrap_or(consumers.len());
        &consumers[consumer_ends[q]..stop]
    };
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&p| waiting[p] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(p)) = ready.pop() {
        order.push(p);
        for &c in consumers_of(p) {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left waits on an operand that is also left: walk operands until one repeats.
    let mut step_of: HashMap<usize, usize> = HashMap::new();
    let mut path = Vec::new();
    let mut p = (0..n)
        .find(|&p| waiting[p] > 0)
        .expect("internal error: a node is left");
    while let std::collections::hash_map::Entry::Vacant(e) = step_of.entry(p) {
        e.insert(path.len());
        path.push(p);
        p = *nodes
            .operands(p)
            .iter()
            .find(|&&q| waiting[q as usize] > 0)
            .expect("internal error: a waiting node has a waiting operand") as usize;
    }
    // path[step_of[p]..] walks consumer -> operand; reverse it to read operand -> consumer
    let ids = &nodes.ids;
    let mut cycle: Vec<u64> = path[step_of[&p]..].iter().rev().map(|&q| ids[q]).collect();
    let smallest = (0..cycle.len())
        .min_by_key(|&k| cycle[k])
        .expect("internal error: a cycle has a node");
    cycle.rotate_left(smallest);
    cycle.push(cycle[0]);
    Err(Error::GraphCycle { nodes: cycle })
}
