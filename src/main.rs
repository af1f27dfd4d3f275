//! The `backprop` command line.

use backprop::Graph;

fn main() -> Result<(), backprop::Error> {
    let g = Graph::new();
    let (x1, x2) = (g.input("x1"), g.input("x2"));
    let (w1, w2, b) = (g.param("w1", 0.5), g.param("w2", 0.5), g.param("b", 0.0));
    let y = (x1 * w1 + x2 * w2 + b).sigmoid().labelled("y");
    let tape = g.compile()?;
    let grads = tape.gradients(&[1.0, 1.0], y)?;
    println!("y = {:.6}", tape.evaluate(&[1.0, 1.0], y)?);
    for (name, node) in [("w1", w1), ("w2", w2), ("b", b)] {
        println!("dy/d{name} = {:.6}", grads.wrt(node)?);
    }
    Ok(())
}
