//! The tutorial's code example: a 2x2x1 network with biases learns XOR with sigmoid hidden
//! units and plain gradient descent, and cannot with identity hidden units.
//!
//! ```sh
//! cargo run --release --example xor
//! ```

use backprop::nn::{Activation, Init, MlpSpec};
use backprop::train::{TrainConfig, train};

fn main() -> Result<(), backprop::Error> {
    let (inputs, targets) = backprop::tutorial::xor();
    for hidden in [Activation::Sigmoid, Activation::Identity] {
        let mut net = MlpSpec::new(&[2, 2, 1], hidden, Activation::Identity)
            .with_init(Init::Uniform {
                low: -1.0,
                high: 1.0,
            })
            .with_seed(0)
            .build()?;
        let config = TrainConfig::gradient_descent(
            if hidden == Activation::Identity {
                0.05
            } else {
                0.2
            },
            5000,
        );
        let history = train(&mut net, &inputs, &targets, &config, |_, _| {})?;
        println!(
            "{hidden} hidden units: error {:.3e} after {} epochs",
            history.final_error().unwrap_or(f64::NAN),
            history.epochs()
        );
        for t in 0..4 {
            let x = &inputs[2 * t..2 * t + 2];
            println!(
                "  {x:?} -> {:.4} (expected {})",
                net.predict(x)?[0],
                targets[t]
            );
        }
    }
    Ok(())
}
