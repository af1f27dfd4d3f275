//! The diagnosis of a user's numbers (`backprop::mistakes`): every mistake and pair named from
//! its numbers on separable exercises, the right numbers (from `textbook`, an independent
//! implementation) called correct, perturbations outside the catalogue named at their first
//! wrong number, bad answers files named by field, line and column.

use backprop::mistakes::exercise::{Exercise, Options};
use backprop::mistakes::{Answers, Mistake, Problem, Quantity, Verdict, diagnose};
use backprop::nn::{Activation, Reduction};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn config() -> Config {
    Config {
        // each case generates an exercise (~0.2 s in the test profile) and diagnoses ~150 sets
        cases: 6,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/mistakes.txt",
        ))),
        ..Config::default()
    }
}

/// The right step's numbers from `textbook` (forward, deltas, gradients, update), in the
/// answers format's fields, each written with `decimals` decimals.
fn textbook_answers(p: &Problem, decimals: usize) -> Answers {
    let inputs: Vec<f64> = p.inputs.concat();
    let targets: Vec<f64> = p.targets.concat();
    let (_, grads) = p.net.gradients(&inputs, &targets, p.reduction).unwrap();
    let mut after = p.net.clone();
    after.update(&grads, p.learning_rate);
    let mut a = Answers::new();
    let text = |v: f64| format!("{v:.decimals$}");
    for (t, (x, y)) in p.inputs.iter().zip(&p.targets).enumerate() {
        let pass = p.net.pass(x, y).unwrap();
        for (layer, row) in pass.y.iter().enumerate() {
            for (node, &v) in row.iter().enumerate() {
                let q = Quantity::Y {
                    association: t,
                    layer,
                    node,
                };
                a = a.with(q, &text(v)).unwrap();
            }
        }
        for (layer, row) in pass.delta.iter().enumerate() {
            for (node, &v) in row.iter().enumerate() {
                let q = Quantity::Delta {
                    association: t,
                    layer,
                    node,
                };
                a = a.with(q, &text(v)).unwrap();
            }
        }
    }
    for (layer, w) in grads.w.iter().enumerate() {
        for (to, row) in w.iter().enumerate() {
            for (from, &g) in row.iter().enumerate() {
                a = a
                    .with(Quantity::GradW { layer, from, to }, &text(g))
                    .unwrap();
                let w = after.w[layer][to][from];
                a = a
                    .with(Quantity::WAfter { layer, from, to }, &text(w))
                    .unwrap();
            }
        }
        for (node, &g) in grads.b[layer].iter().enumerate() {
            a = a.with(Quantity::GradB { layer, node }, &text(g)).unwrap();
            let b = after.b[layer][node];
            a = a.with(Quantity::BAfter { layer, node }, &text(b)).unwrap();
        }
    }
    a
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop::sample::select(vec![vec![2, 2, 2], vec![2, 3, 2], vec![3, 2, 2]]),
        prop::sample::select(vec![Activation::Sigmoid, Activation::Tanh]),
        1usize..=2,
        prop::sample::select(vec![Reduction::Sum, Reduction::Mean]),
    )
        .prop_map(|(sizes, hidden, batch, reduction)| Options {
            sizes,
            hidden,
            batch,
            reduction,
            ..Options::default()
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_mistake_and_pair_is_named_from_its_numbers(options in options(), seed in 0u64..1000) {
        let e = Exercise::generate(&options, seed).unwrap();
        let p = &e.problem;
        let asks: Vec<&str> = e.asks.iter().map(String::as_str).collect();
        for decimals in [4, 6] {
            let right = diagnose(p, &textbook_answers(p, decimals)).unwrap();
            prop_assert_eq!(right.verdict, Verdict::Correct, "{}", right.render());
            let applicable = p.applicable();
            let mut sets: Vec<Vec<Mistake>> = applicable.iter().map(|&m| vec![m]).collect();
            for (n, &a) in applicable.iter().enumerate() {
                for &b in &applicable[n + 1..] {
                    sets.push(vec![a, b]);
                }
            }
            for set in sets {
                let numbers = p.with_mistakes(&set);
                if numbers == p.right() {
                    continue;
                }
                let d = diagnose(p, &Answers::from_numbers(&numbers, &asks, Some(decimals))).unwrap();
                prop_assert_eq!(d.verdict, Verdict::Mistake, "{:?}: {}", set, d.render());
                // a pair may compute as one mistake does on this network (the second has
                // nothing left to spoil): then that mistake is the answer
                if !d.mistakes.iter().all(|m| set.contains(m)) || d.mistakes.is_empty() {
                    prop_assert!(false, "{:?} diagnosed as {}", set, d.render());
                }
            }
        }
    }
}

fn tutorial() -> Problem {
    use backprop::tutorial::*;
    Problem::one(
        &worked_example().unwrap(),
        &WORKED_INPUT,
        &WORKED_TARGET,
        WORKED_LEARNING_RATE,
    )
    .unwrap()
}

#[test]
fn a_tanh_derivative_in_a_sigmoid_net_is_unknown_at_its_first_number() {
    let p = tutorial();
    let right = p.right();
    // delta_j with tanh's 1 - y^2 instead of sigmoid's y (1 - y), y_j = 0.731059
    let y = right.y[0][1][0];
    let wrong = (1.0 - y * y) * 0.5 * right.delta[0][2][0];
    let delta_j = Quantity::Delta {
        association: 0,
        layer: 1,
        node: 0,
    };
    let a = Answers::from_numbers(&right, &["y", "delta"], Some(6))
        .with(delta_j, &format!("{wrong:.6}"))
        .unwrap()
        .with(
            Quantity::Delta {
                association: 0,
                layer: 1,
                node: 1,
            },
            &format!("{wrong:.6}"),
        )
        .unwrap();
    let d = diagnose(&p, &a).unwrap();
    assert_eq!(d.verdict, Verdict::Unknown, "{}", d.render());
    let first = d.first_wrong.unwrap();
    assert_eq!(first.name, "delta_j[0]");
    assert_eq!(
        first.formula,
        "delta_j[0] = sigmoid'(x_j[0]) * sum_k delta_k w_jk = 0.731059*(1 - 0.731059) * (0.231059*0.500000) = 0.022714"
    );
}

#[test]
fn a_random_error_in_one_gradient_is_named() {
    let e = Exercise::generate(&Options::default(), 3).unwrap();
    let p = &e.problem;
    let right = p.right();
    let q = Quantity::GradW {
        layer: 0,
        from: 1,
        to: 0,
    };
    let a = Answers::from_numbers(&right, &["y", "delta", "dE/dW"], Some(6))
        .with(q, &format!("{:.6}", right.get(q).unwrap() + 0.0123))
        .unwrap();
    let d = diagnose(p, &a).unwrap();
    assert_eq!(d.verdict, Verdict::Unknown, "{}", d.render());
    assert_eq!(d.first_wrong.unwrap().quantity, q);
}

#[test]
fn equal_weights_hide_a_transposition() {
    // a 2x2x2 net of equal weights: W and its transpose are the same matrix
    let mut e = Exercise::generate(&Options::default(), 1).unwrap();
    for w in e.problem.net.w.iter_mut().flatten().flatten() {
        *w = 0.5;
    }
    let p = &e.problem;
    let numbers = p.with_mistakes(&[Mistake::TransposedWeights]);
    let d = diagnose(p, &Answers::from_numbers(&numbers, &["delta"], Some(6))).unwrap();
    assert_eq!(d.verdict, Verdict::Correct, "{}", d.render());
    assert!(
        d.indistinguishable
            .contains(&vec![Mistake::TransposedWeights])
    );
    assert!(
        d.why
            .unwrap()
            .contains("identical numbers for every quantity")
    );
}

#[test]
fn bad_answers_files_name_the_field() {
    let p = tutorial();
    let json = |body: &str| {
        let text = format!(r#"{{"format": "backprop-answers", "version": 1, {body}}}"#);
        Answers::from_json_str(&text, &p).unwrap_err().to_string()
    };
    let e = json(r#""delta": [[], [0.1]]"#);
    assert!(e.contains(r#""delta": 2 entries, expected 3"#), "{e}");
    let e = json(r#""delta": [[], [0.1], [0.2]]"#);
    assert!(e.contains(r#""delta"[1]: 1 entries, expected 2"#), "{e}");
    let e = json(r#""dE/dW": [[[0.1, "NaN"], null], null]"#);
    assert!(
        e.contains(r#""dE/dW"[0][0][1]: "\"NaN\"" is not a finite"#),
        "{e}"
    );
    let e = json(r#""y": [[1, 1], [0.7, 0.7], [[0.7]]]"#);
    assert!(
        e.contains(r#""y"[2][0]: a list where a number belongs"#),
        "{e}"
    );
    let e = json(r#""dE/db": [[0.1, 0.1], [0.1]]"#);
    assert!(e.contains("no bias node"), "{e}");
    let e = json(r#""delta_j": 0.0227"#);
    assert!(e.contains(r#"unknown field "delta_j""#), "{e}");
    let e = Answers::from_json_str(
        "{\"format\": \"backprop-answers\", \"version\": 1, \"y\": [NaN]}",
        &p,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 1 column"), "{e}");
    let csv = |body: &str| {
        Answers::from_csv_str(&format!("quantity,layer,from,to,value\n{body}"), &p)
            .unwrap_err()
            .to_string()
    };
    let e = csv("delta,1,,0,abc\n");
    assert!(e.contains("line 2, column 5 (value)"), "{e}");
    let e = csv("delta,0,,0,0.1\n");
    assert!(e.contains("line 2, column 4 (to)"), "{e}");
    let e = csv("dE/dW,1,,0,0.1\n");
    assert!(e.contains("column 3 (from): dE/dW needs a from"), "{e}");
    let e = csv("delta,1,,0,0.1\ndelta,1,,0,0.1\n");
    assert!(e.contains("given twice (first on line 2)"), "{e}");
}
