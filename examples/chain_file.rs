//! Writes a large graph file: a chain x_{k+1} = sigmoid(x_k w) of `mul` and `sigmoid` nodes
//! with one input x_0 and one shared parameter w, the file that `backprop grad` is measured on
//! (README, "File formats").
//!
//! ```sh
//! cargo run --release --example chain_file -- 1000000 /tmp/chain.json
//! /usr/bin/time -v target/release/backprop grad /tmp/chain.json > /tmp/chain-grad.json
//! ```
//!
//! The first argument is the number of nodes (even, at least 2: x_0, w, then a `mul` and a
//! `sigmoid` per link), the second the file to write (atomically, streamed).

use backprop::Graph;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: chain_file NODES FILE.json (NODES even, at least 2)";
    let nodes: usize = args.next().ok_or(usage)?.parse().map_err(|_| usage)?;
    let path = args.next().ok_or(usage)?;
    if nodes < 2 || !nodes.is_multiple_of(2) {
        return Err(usage.into());
    }
    let g = Graph::new();
    let x0 = g.input("x0");
    let w = g.param("w", 0.9);
    let mut x = x0;
    for _ in 0..(nodes - 2) / 2 {
        x = (x * w).sigmoid();
    }
    backprop::graph_file::save_graph_file(&path, &g, x.id(), &[0.5])?;
    eprintln!("wrote {nodes} nodes to {path}");
    Ok(())
}
