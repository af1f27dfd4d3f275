//! The tutorial's worked example: a 2x2x1 network, one association, one training step, every
//! figure printed beside the tutorial's.
//!
//! ```sh
//! cargo run --release --example worked_example
//! ```

fn main() -> Result<(), backprop::Error> {
    let trace = backprop::tutorial::worked_example_trace()?;
    print!(
        "{}",
        trace.render(&backprop::tutorial::worked_example_figures())
    );
    Ok(())
}
