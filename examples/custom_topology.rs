//! A topology no layer builder makes, written by hand: a skip connection from the input to the
//! output and one weight shared by two connections. Reverse mode handles it like any graph;
//! finite differences confirm every gradient. Then the library's own training
//! (`train::train_graph`, Adam) fits it to a small task, the associations given by label, and
//! the example checks that it learned.
//!
//! ```sh
//! cargo run --release --example custom_topology
//! ```

use backprop::Graph;
use backprop::gradcheck::{Tolerances, check_graph};
use backprop::train::{Optimiser, TrainConfig, train_graph};

fn main() -> Result<(), backprop::Error> {
    let g = Graph::new();
    let (x1, x2) = (g.input("x1"), g.input("x2"));
    let target = g.input("target");
    let shared = g.param("w_shared", 0.4); // used by both hidden units
    let (w2, w3) = (g.param("w2", -0.3), g.param("w3", 0.8));
    let (v1, v2, skip) = (
        g.param("v1", 0.5),
        g.param("v2", -0.6),
        g.param("skip", 0.2),
    );
    let b = g.param("b", 0.1);
    let h1 = (x1 * shared + x2 * w2 + b).tanh().labelled("h1");
    let h2 = (x1 * w3 + x2 * shared).sigmoid().labelled("h2");
    let y = (h1 * v1 + h2 * v2 + x1 * skip).labelled("y"); // x1 skips the hidden layer
    let error = (0.5 * (y - target).powf(2.0)).labelled("E");

    let mut tape = g.compile()?;
    let association = [1.0, -0.5, 0.3];
    let grads = tape.gradients(&association, error)?;
    println!("E = {:.6}", tape.evaluate(&association, error)?);
    for (name, w) in [
        ("w_shared", shared),
        ("w2", w2),
        ("w3", w3),
        ("v1", v1),
        ("v2", v2),
        ("skip", skip),
        ("b", b),
    ] {
        println!("dE/d{name:<8} = {:+.9}", grads.wrt(w)?);
    }
    let report = check_graph(&tape, error, &association, Tolerances::default())?;
    println!("\n{}", report.render());

    // Train it: y should learn 0.8 tanh(x1 - x2) + 0.3 x1 (a bend, which the skip connection
    // alone cannot give) on a 5 x 5 grid of [-1, 1]^2, the inputs' columns named by label.
    let (mut x1s, mut x2s, mut targets) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        for j in 0..5 {
            let (a, b) = (-1.0 + 0.5 * i as f64, -1.0 + 0.5 * j as f64);
            x1s.push(a);
            x2s.push(b);
            targets.push(0.8 * (a - b).tanh() + 0.3 * a);
        }
    }
    let data = tape.associations_by_label([("x1", x1s), ("x2", x2s), ("target", targets)])?;
    let config = TrainConfig::new(Optimiser::adam(0.05)).with_max_epochs(2000);
    // the tape keeps the trained parameters: evaluate and gradients read them from now on
    let history = train_graph(&mut tape, error, &data, &config)?;
    let (first, last) = (history.errors[0], history.final_error().unwrap_or(f64::NAN));
    println!(
        "trained {} epochs: E over the 25 associations {first:.4} -> {last:.3e}",
        history.epochs()
    );
    let read_back: f64 = (data.chunks(3))
        .map(|association| tape.evaluate(association, error))
        .sum::<Result<f64, _>>()?;
    println!("E read back from the tape: {read_back:.3e}");
    let slot = tape.param_slot(shared)?;
    println!("the shared weight is now {:+.6}", tape.param_values()[slot]);
    assert!(
        last < first / 20.0,
        "the hand-built network did not learn: {first} -> {last}"
    );
    Ok(())
}
