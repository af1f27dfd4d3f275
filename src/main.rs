//! The `backprop` command line.

fn main() -> Result<(), backprop::Error> {
    let trace = backprop::tutorial::worked_example_trace()?;
    print!(
        "{}",
        trace.render(&backprop::tutorial::worked_example_figures())
    );
    Ok(())
}
