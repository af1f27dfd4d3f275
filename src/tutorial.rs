//! The tutorial's examples, ready to run: the 2x2x1 worked example with its printed figures,
//! and the XOR associations of its code example.

use crate::error::Result;
use crate::nn::{Activation, Bias, Init, Mlp, MlpSpec};
use crate::trace::{Figure, Section, Trace};

/// The worked example's input.
pub const WORKED_INPUT: [f64; 2] = [1.0, 1.0];
/// The worked example's expected output.
pub const WORKED_TARGET: [f64; 1] = [0.5];
/// The worked example's learning rate `epsilon`.
pub const WORKED_LEARNING_RATE: f64 = 0.01;

/// The worked example's network: 2x2x1, no bias, every weight 0.5, identity input, sigmoid
/// hidden, identity output, half squared error.
///
/// # Errors
/// None in practice (the specification is valid); the `Result` is [`MlpSpec::build`]'s.
pub fn worked_example() -> Result<Mlp> {
    MlpSpec::new(&[2, 2, 1], Activation::Sigmoid, Activation::Identity)
        .with_bias(Bias::None)
        .with_init(Init::Constant(0.5))
        .build()
}

/// The trace of the worked example's training step.
///
/// # Errors
/// None in practice.
pub fn worked_example_trace() -> Result<Trace> {
    Trace::training_step(
        &worked_example()?,
        &WORKED_INPUT,
        &WORKED_TARGET,
        WORKED_LEARNING_RATE,
    )
}

/// Why two of the tutorial's figures are not the exact values rounded.
pub const ROUNDED_PRODUCT_NOTE: &str =
    "= 0.231 x 0.731, its rounded figures multiplied; exact y_j * delta_k differs";
/// See [`ROUNDED_PRODUCT_NOTE`].
pub const ROUNDED_UPDATE_NOTE: &str = "= 0.5 - 0.01 x 0.168861, from that rounded gradient";

/// Every figure the tutorial prints for its worked example, by step.
pub fn worked_example_figures() -> Vec<Figure> {
    let figure = |section, name, printed, note| Figure {
        section,
        name,
        printed,
        note,
    };
    vec![
        figure(Section::Forward, "x_j[*]", "1.0", ""),
        figure(Section::Forward, "y_j[*]", "0.731", ""),
        figure(Section::Forward, "x_k[*]", "0.731", ""),
        figure(Section::Forward, "y_k[*]", "0.731", ""),
        figure(Section::Error, "y_k[0] - y'_k[0]", "0.231", ""),
        figure(Section::Backward, "delta_k[*]", "0.231", ""),
        figure(Section::Backward, "delta_j[*]", "0.0227", ""),
        figure(
            Section::Gradients,
            "dE/dw_jk[*]",
            "0.168861",
            ROUNDED_PRODUCT_NOTE,
        ),
        figure(Section::Gradients, "dE/dw_ij[*]", "0.0227", ""),
        figure(
            Section::Update,
            "w_jk[*]",
            "0.49831139",
            ROUNDED_UPDATE_NOTE,
        ),
        figure(Section::Update, "w_ij[*]", "0.499773", ""),
        figure(Section::After, "y_k[0]", "0.7285", ""),
        figure(Section::After, "y_k[0] - y'_k[0]", "0.2285", ""),
    ]
}

/// The XOR associations of the tutorial's code example, `(x, y')`: (1,1)->0, (1,0)->1,
/// (0,1)->1, (0,0)->0, as flat inputs (4 x 2) and targets (4 x 1).
pub fn xor() -> (Vec<f64>, Vec<f64>) {
    (
        vec![1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        vec![0.0, 1.0, 1.0, 0.0],
    )
}
