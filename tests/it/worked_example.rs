//! The tutorial's 2x2x1 worked example, number for number.

use backprop::nn::Connection;
use backprop::trace::Section;
use backprop::tutorial::{
    WORKED_LEARNING_RATE, worked_example, worked_example_figures, worked_example_trace,
};

/// Rounds `value` to the number of decimals `printed` shows.
fn rounds_to(value: f64, printed: &str) -> bool {
    let decimals = printed.split('.').nth(1).map_or(0, str::len);
    format!("{value:.decimals$}") == printed
}

#[test]
fn trace_matches_snapshot() {
    let trace = worked_example_trace().unwrap();
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("worked_example_trace", trace.render(&worked_example_figures()));
    });
}

#[test]
fn exact_values_round_to_every_figure_the_tutorial_derives_from_exact_inputs() {
    let trace = worked_example_trace().unwrap();
    let figures = worked_example_figures();
    let mut checked = 0;
    for step in &trace.steps {
        for figure in figures
            .iter()
            .filter(|f| f.matches(step) && f.note.is_empty())
        {
            assert!(
                rounds_to(step.value, figure.printed),
                "{}: exact {} does not round to the tutorial's {}",
                step.name,
                step.value,
                figure.printed
            );
            checked += 1;
        }
    }
    // x_j x2, y_j x2, x_k, y_k, y-y', delta_k, delta_j x2, dE/dw_ij x4, w_ij x4, y_k after, y-y' after
    assert_eq!(checked, 20);
    // the list, each at least once: 1.0, 0.731, 0.731, 0.231, 0.0227, 0.499773, 0.7285, 0.2285
    for printed in [
        "1.0", "0.731", "0.231", "0.0227", "0.499773", "0.7285", "0.2285",
    ] {
        assert!(
            figures
                .iter()
                .any(|f| f.printed == printed && f.note.is_empty())
        );
    }
}

#[test]
fn the_two_figures_that_do_not_round_come_from_the_tutorials_rounded_factors() {
    let trace = worked_example_trace().unwrap();
    // the tutorial's 0.168861 is its rounded 0.231 times its rounded 0.731
    assert!((0.231f64 * 0.731 - 0.168861).abs() < 1e-15);
    // and 0.49831139 follows from that rounded gradient
    assert!((0.5 - WORKED_LEARNING_RATE * 0.168861 - 0.49831139f64).abs() < 1e-15);
    // the exact gradient is y_j * delta_k, about 0.168917, which does not round to 0.168861
    let y_j = trace.value(Section::Forward, "y_j[0]").unwrap();
    let delta_k = trace.value(Section::Backward, "delta_k[0]").unwrap();
    let exact = trace.value(Section::Gradients, "dE/dw_jk[0->0]").unwrap();
    assert_eq!(exact, delta_k * y_j);
    assert!(rounds_to(exact, "0.168917") && !rounds_to(exact, "0.168861"));
    let w_jk = trace.value(Section::Update, "w_jk[0->0]").unwrap();
    assert!(rounds_to(w_jk, "0.498311") && !rounds_to(w_jk, "0.49831139"));
}

#[test]
fn closed_forms_of_the_worked_example() {
    // Derived by hand from section 1: y_j = s(1) = 1/(1+e^-1); y_k = 0.5 y_j + 0.5 y_j = y_j;
    // delta_k = y_k - 0.5; delta_j = y_j (1 - y_j) * 0.5 * delta_k; dE/dw_ij = delta_j * 1.
    let net = worked_example().unwrap();
    let e = net.evaluate(&[1.0, 1.0], &[0.5]).unwrap();
    let s = 1.0 / (1.0 + (-1.0f64).exp());
    let tol = 4.0 * f64::EPSILON;
    assert!((e.y(1, 0).unwrap() - s).abs() < tol);
    assert!((e.y(2, 0).unwrap() - s).abs() < tol);
    assert!((e.delta(2, 0).unwrap() - (s - 0.5)).abs() < tol);
    assert!((e.delta(1, 1).unwrap() - s * (1.0 - s) * 0.5 * (s - 0.5)).abs() < tol);
    assert!(
        (e.weight_gradient(Connection {
            layer: 0,
            from: 1,
            to: 0
        })
        .unwrap()
            - s * (1.0 - s) * 0.5 * (s - 0.5))
            .abs()
            < tol
    );
    assert!((e.error() - 0.5 * (s - 0.5) * (s - 0.5)).abs() < tol);
}
