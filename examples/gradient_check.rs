//! The three-way gradient check on a random 3-4-4-2 tanh network: reverse mode over the
//! graph, the textbook delta rule and central finite differences, weight by weight.
//!
//! ```sh
//! cargo run --release --example gradient_check
//! ```

use backprop::gradcheck::{Tolerances, check_mlp};
use backprop::nn::{Activation, MlpSpec, Reduction};

fn main() -> Result<(), backprop::Error> {
    let net = MlpSpec::new(&[3, 4, 4, 2], Activation::Tanh, Activation::Identity)
        .with_seed(42)
        .build()?;
    let inputs = [0.5, -1.0, 2.0, 0.1, 0.2, -0.3];
    let targets = [1.0, 0.0, -1.0, 0.5];
    let report = check_mlp(
        &net,
        &inputs,
        &targets,
        Reduction::Mean,
        Tolerances::default(),
    )?;
    print!("{}", report.render());
    Ok(())
}
