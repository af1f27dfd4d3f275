//! Each op: value and local derivative at hand-derived points, through the graph and the reverse
//! sweep, and against central finite differences.

use backprop::gradcheck::{STEP, central_differences};
use backprop::{Binary, Graph, Op, Unary};

/// Builds `op(x_0, ..., x_{n-1})` on inputs, returns (value, gradient per operand).
fn through_graph(op: Op, at: &[f64]) -> (f64, Vec<f64>) {
    let g = Graph::new();
    let xs: Vec<_> = (0..at.len())
        .map(|k| g.input(&format!("x{k}")).id())
        .collect();
    let y = g.try_op(op, &xs).unwrap();
    let tape = g.compile().unwrap();
    let value = tape.evaluate(at, y).unwrap();
    let grads = tape.gradients(at, y).unwrap();
    (value, xs.iter().map(|&x| grads.wrt(x).unwrap()).collect())
}

/// Exact hand-derived cases are compared to 2 ulp-ish: the formulas are one or two roundings
/// away from the closed form.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs()).max(1.0)
}

#[track_caller]
fn check(op: Op, at: &[f64], value: f64, partials: &[f64]) {
    let (v, d) = through_graph(op, at);
    assert!(
        close(v, value),
        "{op} at {at:?}: value {v}, expected {value}"
    );
    for (k, (&got, &want)) in d.iter().zip(partials).enumerate() {
        assert!(
            close(got, want),
            "{op} at {at:?}: d/dx{k} = {got}, expected {want}"
        );
    }
}

#[test]
fn unary_ops_match_hand_derived_values_and_derivatives() {
    let u = |op| Op::Unary(op);
    check(u(Unary::Identity), &[5.0], 5.0, &[1.0]); // the tutorial's code returned x here
    check(u(Unary::Neg), &[3.0], -3.0, &[-1.0]);
    check(u(Unary::Exp), &[2f64.ln()], 2.0, &[2.0]); // (e^x)' = e^x
    check(u(Unary::Ln), &[4.0], 4f64.ln(), &[0.25]); // 1/x
    check(u(Unary::Sigmoid), &[0.0], 0.5, &[0.25]); // s(1-s) = 1/4
    check(u(Unary::Sigmoid), &[3f64.ln()], 0.75, &[0.1875]); // 1/(1+1/3) = 3/4; 3/4*1/4
    check(u(Unary::Tanh), &[0.0], 0.0, &[1.0]);
    check(u(Unary::Tanh), &[2f64.ln()], 0.6, &[0.64]); // (2-1/2)/(2+1/2); 1 - 0.36
    check(u(Unary::Relu), &[-2.0], 0.0, &[0.0]);
    check(u(Unary::Relu), &[3.0], 3.0, &[1.0]);
    check(u(Unary::Relu), &[0.0], 0.0, &[0.0]); // the subgradient chosen at the kink
    check(u(Unary::LeakyRelu { slope: 0.1 }), &[-2.0], -0.2, &[0.1]);
    check(u(Unary::LeakyRelu { slope: 0.1 }), &[3.0], 3.0, &[1.0]);
    check(u(Unary::Powf { exponent: 3.0 }), &[2.0], 8.0, &[12.0]); // 3 x^2
    check(u(Unary::Powf { exponent: 0.5 }), &[4.0], 2.0, &[0.25]); // 1/(2 sqrt x)
    check(u(Unary::Powf { exponent: -1.0 }), &[2.0], 0.5, &[-0.25]); // -1/x^2
    check(u(Unary::Step { low: 0.3 }), &[-1.0], 0.3, &[0.0]);
    check(u(Unary::Step { low: 0.3 }), &[1.0], 1.0, &[0.0]);
    check(u(Unary::Abs), &[-2.5], 2.5, &[-1.0]); // |x|' = -1 for x < 0
    check(u(Unary::Abs), &[1.5], 1.5, &[1.0]); // 1 for x > 0
    check(u(Unary::Abs), &[0.0], 0.0, &[0.0]); // the subgradient chosen at the kink
}

#[test]
fn binary_and_nary_ops_match_hand_derived_values_and_partials() {
    let b = |op| Op::Binary(op);
    check(b(Binary::Add), &[2.0, 3.0], 5.0, &[1.0, 1.0]);
    check(b(Binary::Sub), &[2.0, 3.0], -1.0, &[1.0, -1.0]);
    check(b(Binary::Mul), &[2.0, 3.0], 6.0, &[3.0, 2.0]);
    check(b(Binary::Div), &[3.0, 4.0], 0.75, &[0.25, -3.0 / 16.0]); // 1/b, -a/b^2
    check(Op::Sum, &[1.0, 2.0, 3.0], 6.0, &[1.0, 1.0, 1.0]);
    check(Op::Dot, &[1.0, 2.0, 3.0, 4.0], 14.0, &[2.0, 1.0, 4.0, 3.0]);
    check(Op::Max, &[1.0, 3.0, 2.0], 3.0, &[0.0, 1.0, 0.0]);
    check(Op::Max, &[3.0, 3.0], 3.0, &[1.0, 0.0]); // ties: the first maximum takes it all
}

#[test]
fn sigmoid_and_tanh_are_finite_and_exact_at_extreme_inputs() {
    for x in [30.0, 700.0, 1000.0, -30.0, -700.0, -1000.0] {
        let s = Unary::Sigmoid.value(x);
        let t = Unary::Tanh.value(x);
        assert!(
            s.is_finite() && (0.0..=1.0).contains(&s),
            "sigmoid({x}) = {s}"
        );
        assert!(
            t.is_finite() && (-1.0..=1.0).contains(&t),
            "tanh({x}) = {t}"
        );
        let ds = Unary::Sigmoid.derivative(x, s);
        let dt = Unary::Tanh.derivative(x, t);
        assert!(ds.is_finite() && ds >= 0.0 && dt.is_finite() && dt >= 0.0);
        if x.abs() >= 700.0 {
            // e^-700 ~ 1e-304 and below: the derivative underflows to exactly 0 (or a subnormal)
            assert!(ds < 1e-300 && dt == 0.0, "x = {x}: {ds}, {dt}");
        }
    }
    assert_eq!(Unary::Sigmoid.value(-1000.0), 0.0);
    assert_eq!(Unary::Sigmoid.value(1000.0), 1.0);
}

/// The sigmoid forms `e^-|x|` with one power of two instead of `exp`'s two halves: the same bits
/// down to `x = -744.78`, where `e^x` reaches the smallest subnormal numbers (checked here at
/// 200,001 points of `[-744.7, 744.7]`, and at the ends).
#[test]
fn sigmoid_is_exp_over_one_plus_exp_bit_for_bit() {
    let by_exp = |x: f64| {
        let e = Unary::Exp.value(-x.abs());
        if x >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        }
    };
    let points = (-100_000..=100_000).map(|k| k as f64 * 0.007_447);
    for x in points.chain([-744.78, 744.78, 0.0, -0.0, 1e-300, -1e-300]) {
        assert_eq!(
            Unary::Sigmoid.value(x).to_bits(),
            by_exp(x).to_bits(),
            "sigmoid({x})"
        );
    }
    assert_eq!(Unary::Sigmoid.value(f64::NEG_INFINITY), 0.0);
    assert_eq!(Unary::Sigmoid.value(f64::INFINITY), 1.0);
    assert!(Unary::Sigmoid.value(f64::NAN).is_nan());
}

/// The distance between two finite doubles of the same sign, in units in the last place.
fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
}

/// The engine's own `exp` (plain arithmetic, so that loops of sigmoids vectorise) against the C
/// library's, over a grid of 2 million points covering the whole range where `e^x` is neither 0
/// nor infinite, a denser grid near 0, and the edges. Bound: 1 ulp. The C library is within about
/// half an ulp of the true value and ours within about half an ulp plus the Taylor remainder (a
/// fiftieth of an ulp) and the rounding of the small terms, so the two can differ by one ulp but
/// not more. A wrong low coefficient shows up as thousands of ulps (1/24 changed to 1/24.000001
/// fails with 225,603).
#[test]
fn exp_is_within_one_ulp_of_the_c_library() {
    let mut worst = (0, 0.0);
    let grid = (0..2_000_000).map(|i| -745.0 + 1454.7 * (i as f64 + 0.5) / 2e6);
    let near_zero = (0..200_001).map(|i| (i as f64 - 100_000.0) * 1.3e-5);
    for x in grid.chain(near_zero) {
        let (got, want) = (Unary::Exp.value(x), x.exp());
        let d = if want == 0.0 || want.is_infinite() {
            u64::from(got != want)
        } else {
            ulps(got, want)
        };
        if d > worst.0 {
            worst = (d, x);
        }
    }
    assert!(worst.0 <= 1, "{} ulps at x = {}", worst.0, worst.1);
    assert_eq!(Unary::Exp.value(0.0), 1.0);
    assert_eq!(Unary::Exp.value(-0.0), 1.0);
    assert!(ulps(Unary::Exp.value(1.0), std::f64::consts::E) <= 1);
    assert!(Unary::Exp.value(f64::NAN).is_nan());
    assert_eq!(Unary::Exp.value(f64::INFINITY), f64::INFINITY);
    assert_eq!(Unary::Exp.value(f64::NEG_INFINITY), 0.0);
    // the overflow threshold ln(f64::MAX) = 709.782712893384
    assert!(Unary::Exp.value(709.78).is_finite() && Unary::Exp.value(709.79).is_infinite());
    // subnormal results, rounded once, down to the smallest (e^-744.44 = 2^-1074)
    for x in [-708.5, -720.0, -740.0, -744.4, -745.1] {
        assert!(
            ulps(Unary::Exp.value(x), x.exp()) <= 1,
            "x = {x}: {} vs {}",
            Unary::Exp.value(x),
            x.exp()
        );
    }
    assert_eq!(Unary::Exp.value(-745.2), 0.0);
}

/// The `tanh` op (built on the engine's `exp`, see `op::exp`) against the C library's, over a grid
/// of a million points covering `|x| < 20` (beyond, both give exactly +-1), a denser grid near 0
/// where `1 - e^-2x` would cancel, and the edges. Bound: 3 ulps, the worst this grid gives (at
/// `x = -0.9949`). Why it is about that: `t = e^y - 1` is within about an ulp; `-t / (2 + t)`
/// multiplies `t`'s relative error by `2 / (2 + t)` (1.76 there) and adds two roundings; the C
/// library is within an ulp the other way. Computing `t` as `exp(y) - 1`, which cancels near 0,
/// fails by 131,927,326 ulps at `x = 1e-9`.
#[test]
fn tanh_is_within_three_ulps_of_the_c_library() {
    let mut worst = (0, 0.0);
    let grid = (0..1_000_000).map(|i| -20.0 + 40.0 * (i as f64 + 0.5) / 1e6);
    let near_zero = (1..100_000).flat_map(|i| [i as f64 * 1e-9, -(i as f64) * 3.7e-6]);
    for x in grid.chain(near_zero) {
        let (got, want) = (Unary::Tanh.value(x), x.tanh());
        let d = ulps(got, want);
        if d > worst.0 {
            worst = (d, x);
        }
    }
    assert!(worst.0 <= 3, "{} ulps at x = {}", worst.0, worst.1);
    for x in [
        0.0,
        -0.0,
        20.0,
        -20.0,
        710.0,
        -1000.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e-300,
    ] {
        assert_eq!(
            Unary::Tanh.value(x).to_bits(),
            x.tanh().to_bits(),
            "x = {x}"
        );
    }
    assert!(Unary::Tanh.value(f64::NAN).is_nan());
}

/// Against finite differences at points away from kinks and singularities. Tolerance: the
/// central difference error is about eps^(2/3) ~ 4e-11 times the size of f and f''' (see
/// `gradcheck::STEP`); at these points f''' is O(10), so 1e-8 absolute + relative leaves a
/// margin of ~100 and still catches any wrong formula (which errs by O(1)).
#[test]
fn every_op_matches_central_finite_differences() {
    let cases: Vec<(Op, Vec<f64>)> = vec![
        (Op::Unary(Unary::Identity), vec![0.7]),
        (Op::Unary(Unary::Neg), vec![0.7]),
        (Op::Unary(Unary::Exp), vec![0.7]),
        (Op::Unary(Unary::Ln), vec![0.7]),
        (Op::Unary(Unary::Sigmoid), vec![-0.7]),
        (Op::Unary(Unary::Tanh), vec![0.3]),
        (Op::Unary(Unary::Relu), vec![0.7]),
        (Op::Unary(Unary::Relu), vec![-0.7]),
        (Op::Unary(Unary::Abs), vec![0.7]),
        (Op::Unary(Unary::Abs), vec![-0.7]),
        (Op::Unary(Unary::LeakyRelu { slope: 0.02 }), vec![-0.7]),
        (Op::Unary(Unary::Powf { exponent: 2.5 }), vec![1.3]),
        (Op::Unary(Unary::Step { low: 0.5 }), vec![-0.7]),
        (Op::Binary(Binary::Add), vec![0.7, -1.1]),
        (Op::Binary(Binary::Sub), vec![0.7, -1.1]),
        (Op::Binary(Binary::Mul), vec![0.7, -1.1]),
        (Op::Binary(Binary::Div), vec![0.7, -1.1]),
        (Op::Sum, vec![0.7, -1.1, 2.0]),
        (Op::Dot, vec![0.7, -1.1, 2.0, 0.4]),
        (Op::Max, vec![0.7, -1.1, 2.0]),
    ];
    for (op, at) in cases {
        let g = Graph::new();
        let xs: Vec<_> = (0..at.len()).map(|_| g.input("").id()).collect();
        let y = g.try_op(op, &xs).unwrap();
        let tape = g.compile().unwrap();
        let grads = tape.gradients(&at, y).unwrap();
        let fd = central_differences(&tape, y, &at, STEP).unwrap();
        for (k, &x) in xs.iter().enumerate() {
            let (a, f) = (grads.wrt(x).unwrap(), fd.inputs[k]);
            assert!(
                (a - f).abs() <= 1e-8 * (1.0 + a.abs()),
                "{op} d/dx{k}: reverse {a}, finite differences {f}"
            );
        }
    }
}

/// The handle's sugar: `powi` and `sqrt` are `powf`, compound assignment is the binary op, and a
/// `Sum` of handles is one `sum` node; each against its closed-form derivative.
#[test]
fn handle_sugar_builds_the_ops_it_stands_for() {
    let g = Graph::new();
    let x = g.input("x");
    let cube = x.powi(3); // 3 x^2
    let root = x.sqrt(); // 1 / (2 sqrt x)
    let mut acc = x;
    acc += 2.0; // x + 2
    acc *= x; // (x + 2) x: derivative 2x + 2
    acc -= x; // x^2 + x: derivative 2x + 1
    acc /= 2.0; // (x^2 + x) / 2: derivative x + 1/2
    let total: Option<backprop::Expr> = [cube, root, acc].into_iter().sum();
    let total = total.unwrap();
    assert_eq!(g.kind(total.id()).unwrap(), backprop::NodeKind::Op(Op::Sum));
    let none: Option<backprop::Expr> = std::iter::empty().sum();
    assert!(none.is_none());
    let tape = g.compile().unwrap();
    let at = 4.0;
    let grads = tape.gradients(&[at], total).unwrap();
    let want = 3.0 * at * at + 1.0 / (2.0 * at.sqrt()) + (at + 0.5);
    assert!(
        close(grads.wrt(x).unwrap(), want),
        "{} vs {want}",
        grads.wrt(x).unwrap()
    );
    assert_eq!(tape.evaluate(&[at], total).unwrap(), 64.0 + 2.0 + 10.0);
}
