//! Second derivatives: the Hessian of the tutorial's worked example, checked against finite
//! differences of its gradient, and the size of gradient graphs relative to their originals.
//!
//! ```sh
//! cargo run --release --example second_derivatives
//! ```

use backprop::gradcheck::{Tolerances, check_hessian};
use backprop::nn::{Activation, Init, MlpSpec};
use backprop::{Graph, symbolic};

fn main() -> Result<(), backprop::Error> {
    let net = backprop::tutorial::worked_example()?;
    let report = check_hessian(
        net.graph(),
        net.loss_node(),
        &[1.0, 1.0, 0.5],
        Some(net.params()),
        Tolerances::default(),
    )?;
    println!("Hessian of the worked example's error E with respect to its six weights:\n");
    print!("{}", report.render());

    println!("\nnodes of the gradient graph (dE/d every weight) relative to the original:");
    let xor = MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_init(Init::Uniform {
            low: -1.0,
            high: 1.0,
        })
        .build()?;
    let digits = MlpSpec::new(&[64, 32, 10], Activation::Sigmoid, Activation::Identity).build()?;
    for (name, net) in [
        ("worked example 2x2x1", &net),
        ("XOR 2x2x1 with biases", &xor),
        ("digits 64-32-10", &digits),
    ] {
        let copy = net.graph().clone();
        // the gradient is appended to a copy, so that the network's own graph stays as built
        let wrt = net
            .tape()
            .param_nodes()
            .iter()
            .map(|n| copy.node(n.index()))
            .collect::<Result<Vec<_>, _>>()?;
        let output = copy.node(net.loss_node().index())?;
        let nodes = symbolic::gradient(&copy, output, &wrt)?;
        report_counts(name, nodes.nodes_before, nodes.nodes_after);
    }
    for links in [1_000usize, 100_000] {
        let g = Graph::new();
        let x0 = g.input("x0");
        let (w, b) = (g.param("w", 3.9), g.param("b", -1.95));
        let mut x = x0;
        for _ in 0..links {
            x = (x * w + b).sigmoid();
        }
        let nodes = symbolic::gradient(&g, x, &[w.id(), b.id(), x0.id()])?;
        report_counts(
            &format!("W4 chain, {links} links"),
            nodes.nodes_before,
            nodes.nodes_after,
        );
    }
    Ok(())
}

fn report_counts(name: &str, before: usize, after: usize) {
    let added = after - before;
    println!(
        "  {name:<26} original {before:>7}, gradient adds {added:>7} ({:.2}x the original)",
        added as f64 / before as f64
    );
}
