//! The three-way gradient-check report: what it prints, and that it names the first weight
//! where the opinions disagree.

use backprop::Graph;
use backprop::gradcheck::{Tolerances, check_graph, check_mlp};
use backprop::nn::{Activation, Bias, Init, MlpSpec, Reduction};

#[test]
fn report_on_the_worked_example_matches_snapshot() {
    let net = backprop::tutorial::worked_example().unwrap();
    let report = check_mlp(
        &net,
        &[1.0, 1.0],
        &[0.5],
        Reduction::Sum,
        Tolerances::default(),
    )
    .unwrap();
    assert!(report.passed());
    // gradients to 10 digits; the error columns are only orders of magnitude
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("gradcheck_worked_example", report.render());
    });
}

#[test]
fn a_relu_exactly_at_its_kink_is_reported_as_the_first_disagreement() {
    // relu'(0) = 0 by convention, but central differences straddle the kink and see slope 1/2:
    // with input 1 and weight w0 = 0, x_1 = 0 exactly. The report must fail and name w0[0->0].
    let mut net = MlpSpec::new(&[1, 1, 1], Activation::Relu, Activation::Identity)
        .with_bias(Bias::None)
        .with_init(Init::Constant(1.0))
        .build()
        .unwrap();
    net.set_weights(&[vec![vec![0.0]], vec![vec![1.0]]], &[vec![], vec![]])
        .unwrap();
    let report = check_mlp(&net, &[1.0], &[1.0], Reduction::Sum, Tolerances::default()).unwrap();
    assert!(!report.passed());
    let first = report.first_failure().unwrap();
    assert_eq!(first.name, "w0[0->0]");
    assert_eq!(first.graph, 0.0);
    assert_eq!(first.textbook, Some(0.0));
    // E = 1/2 (relu(w) - 1)^2: (E(h) - E(-h)) / 2h = ((h - 1)^2 - 1) / 4h = h/4 - 1/2,
    // with h = 6e-6: -1/2 to within 2e-6
    assert!((first.finite_difference + 0.5).abs() < 2e-6);
    assert!(
        report
            .render()
            .contains("1 of 2 weights disagree; the first is w0[0->0]")
    );
}

#[test]
fn graph_only_report_for_an_arbitrary_graph() {
    // y = w^3 x + w x: dy/dw = 3 w^2 x + x
    let g = Graph::new();
    let x = g.input("x");
    let w = g.param("w", 0.7);
    let y = w.powf(3.0) * x + w * x;
    let tape = g.compile().unwrap();
    let report = check_graph(&tape, y, &[2.0, -1.0], Tolerances::default()).unwrap();
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].name, "w");
    assert!(report.rows[0].textbook.is_none());
    // summed over both associations: (3 * 0.49 + 1) * (2 - 1)
    assert!((report.rows[0].graph - (3.0 * 0.49 + 1.0)).abs() < 1e-15);
}

/// A gradient near 0 makes the relative error large while the absolute tolerance covers it:
/// the report's verdict and its figures must say the same thing. Here `E = 1/2 (w x - t)^2`
/// with `w = 0.5`, `x = 1`, `t = 0.5 + 1e-9`: `dE/dw = (w x - t) x = -1e-9` (to rounding), so
/// the finite difference's rounding error (about `eps |E| / h`, here far below 1e-7) is a
/// large fraction of the gradient but a tiny fraction of `fd_atol = 1e-7`.
#[test]
fn the_verdict_reads_the_share_of_the_tolerance_not_the_relative_error() {
    let mut net = MlpSpec::new(&[1, 1], Activation::Identity, Activation::Identity)
        .with_bias(Bias::None)
        .build()
        .unwrap();
    net.set_weights(&[vec![vec![0.5]]], &[vec![]]).unwrap();
    let report = check_mlp(
        &net,
        &[1.0],
        &[0.5 + 1e-9],
        Reduction::Sum,
        Tolerances::default(),
    )
    .unwrap();
    assert!(
        (report.rows[0].graph + 1e-9).abs() < 1e-15,
        "{}",
        report.render()
    );
    assert!(report.passed(), "{}", report.render());
    for row in &report.rows {
        assert_eq!(row.pass, row.tolerance_used <= 1.0);
    }
    assert!(report.max_tolerance_used() <= 1.0);
    let text = report.render();
    assert!(
        text.contains("of its tolerance (a weight passes at 1 or less)"),
        "{text}"
    );
    // and a failing report reads above 1
    let mut net = MlpSpec::new(&[1, 1, 1], Activation::Relu, Activation::Identity)
        .with_bias(Bias::None)
        .build()
        .unwrap();
    net.set_weights(&[vec![vec![0.0]], vec![vec![1.0]]], &[vec![], vec![]])
        .unwrap();
    let report = check_mlp(&net, &[1.0], &[1.0], Reduction::Sum, Tolerances::default()).unwrap();
    assert!(!report.passed() && report.max_tolerance_used() > 1.0);
}
