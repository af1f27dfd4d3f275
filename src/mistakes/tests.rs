//! The catalogue's formulas on the tutorial's worked example, each against a value derived by
//! hand in its comment (s = sigmoid(1) = 0.7310585786, the hidden outputs; every weight 0.5;
//! input (1, 1); target 0.5; learning rate 0.01; no bias).

use super::*;
use crate::tutorial::{WORKED_INPUT, WORKED_LEARNING_RATE, WORKED_TARGET, worked_example};

const S: f64 = 0.731_058_578_630_004_9;

fn worked() -> Problem {
    let net = worked_example().unwrap();
    Problem::one(&net, &WORKED_INPUT, &WORKED_TARGET, WORKED_LEARNING_RATE).unwrap()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

const DELTA_J: Quantity = Quantity::Delta {
    association: 0,
    layer: 1,
    node: 0,
};
const DW_JK: Quantity = Quantity::GradW {
    layer: 1,
    from: 0,
    to: 0,
};
const DW_IJ: Quantity = Quantity::GradW {
    layer: 0,
    from: 1,
    to: 0,
};

#[test]
fn the_right_step_is_the_tutorials() {
    let n = worked().right();
    // y_k = 0.5 s + 0.5 s = s; delta_k = s - 0.5
    close(n.y[0][2][0], S);
    close(n.delta[0][2][0], S - 0.5);
    // delta_j = s (1 - s) * 0.5 (s - 0.5)
    close(n.get(DELTA_J).unwrap(), S * (1.0 - S) * 0.5 * (S - 0.5));
    close(n.get(DW_JK).unwrap(), (S - 0.5) * S);
    close(
        n.w_after[1][0][0],
        0.5 - WORKED_LEARNING_RATE * (S - 0.5) * S,
    );
}

#[test]
fn each_mistake_computes_its_formula() {
    let p = worked();
    let with = |m: Mistake| p.with_mistakes(&[m]);
    let dk = S - 0.5;
    // f'(y_j) = s(s)(1 - s(s)), sigmoid of the output
    let ss = 1.0 / (1.0 + (-S).exp());
    close(
        with(Mistake::DerivativeOfOutput).get(DELTA_J).unwrap(),
        ss * (1.0 - ss) * 0.5 * dk,
    );
    // x_j = 1: x (1 - x) = 0
    close(
        with(Mistake::OutputFormOnNetInput).get(DELTA_J).unwrap(),
        0.0,
    );
    close(
        with(Mistake::MissingDerivativeHidden).get(DELTA_J).unwrap(),
        0.5 * dk,
    );
    close(with(Mistake::SignFlipped).delta[0][2][0], -dk);
    close(with(Mistake::FactorTwo).get(DW_JK).unwrap(), 2.0 * dk * S);
    close(
        with(Mistake::WeightsForgotten).get(DELTA_J).unwrap(),
        S * (1.0 - S) * dk,
    );
    // dE/dw_jk = delta_k y_k, and y_k = s here
    close(
        with(Mistake::OwnOutputInGradient).get(DW_JK).unwrap(),
        dk * S,
    );
    // dE/dw_ij[1->0] = delta_j y_j = delta_j s
    let dj = S * (1.0 - S) * 0.5 * dk;
    close(
        with(Mistake::OwnOutputInGradient).get(DW_IJ).unwrap(),
        dj * S,
    );
    // w_jk already updated: 0.5 - 0.01 dk s
    let w = 0.5 - 0.01 * dk * S;
    close(
        with(Mistake::UpdatedWeightsInBackward)
            .get(DELTA_J)
            .unwrap(),
        S * (1.0 - S) * w * dk,
    );
    close(
        with(Mistake::LearningRateInGradient).get(DW_JK).unwrap(),
        -0.01 * dk * S,
    );
    // the weights are still updated right
    close(
        with(Mistake::LearningRateInGradient).w_after[1][0][0],
        0.5 - 0.01 * dk * S,
    );
    // y_i = sigmoid(1) = s; x_j = 0.5 s + 0.5 s = s
    let n = with(Mistake::InputActivation);
    close(n.y[0][0][0], S);
    close(n.x[0][1][0], S);
}

#[test]
fn the_tutorials_rounded_figures_are_right_at_their_precision() {
    let p = worked();
    let q = |layer, node| Quantity::Y {
        association: 0,
        layer,
        node,
    };
    let answers = Answers::new()
        .with(q(1, 0), "0.731")
        .and_then(|a| a.with(q(2, 0), "0.731"))
        .and_then(|a| a.with(DELTA_J, "0.0227"))
        .and_then(|a| a.with(DW_JK, "0.168861"))
        .and_then(|a| a.with(DW_IJ, "0.0227"))
        .and_then(|a| {
            a.with(
                Quantity::WAfter {
                    layer: 1,
                    from: 0,
                    to: 0,
                },
                "0.49831139",
            )
        })
        .and_then(|a| {
            a.with(
                Quantity::WAfter {
                    layer: 0,
                    from: 0,
                    to: 0,
                },
                "0.499773",
            )
        })
        .unwrap();
    let d = diagnose(&p, &answers).unwrap();
    assert_eq!(d.verdict, Verdict::Correct, "{}", d.render());
    // the issue's pair: delta_j to 3 digits says the user works to 3 digits, and 0.231 x 0.731
    // = 0.168861 is then the right product of the rounded figures
    let pair = Answers::new()
        .with(DELTA_J, "0.0227")
        .and_then(|a| a.with(DW_JK, "0.168861"))
        .unwrap();
    assert_eq!(diagnose(&p, &pair).unwrap().verdict, Verdict::Correct);
    // alone, its 6 digits claim 6-digit precision, and the exact gradient is 0.168917
    let alone = Answers::new().with(DW_JK, "0.168861").unwrap();
    let d = diagnose(&p, &alone).unwrap();
    assert_eq!(d.verdict, Verdict::Unknown, "{}", d.render());
    // a figure that neither the exact nor the 3-digit computation gives
    let off = Answers::new()
        .with(DELTA_J, "0.0227")
        .and_then(|a| a.with(DW_JK, "0.168700"))
        .unwrap();
    let d = diagnose(&p, &off).unwrap();
    assert_eq!(d.verdict, Verdict::Unknown, "{}", d.render());
    let wrong = d.first_wrong.unwrap();
    assert_eq!(wrong.name, "dE/dw_jk[0->0]");
    assert_eq!(
        wrong.formula,
        "dE/dw_jk[0->0] = delta_k[0] * y_j[0] = 0.231059*0.731059 = 0.168917"
    );
}

#[test]
fn answers_keep_the_digits_as_typed() {
    let p = worked();
    let json = r#"{"format": "backprop-answers", "version": 1,
        "y": [null, [0.731, 0.731], [0.731]],
        "delta": [[], [0.0227, null], null],
        "dE/dW": [null, [[0.168861, 0.168861]]]}"#;
    let a = Answers::from_json_str(json, &p).unwrap();
    assert_eq!(a.len(), 6);
    let (_, t) = a.iter().find(|(q, _)| *q == DW_JK).unwrap();
    assert_eq!((t.text.as_str(), t.decimals), ("0.168861", 6));
    assert_eq!(diagnose(&p, &a).unwrap().verdict, Verdict::Correct);
    let csv = "quantity,layer,from,to,value\ndelta,1,,0,0.0227\ndE/dW,1,0,0,0.168861\n";
    let c = Answers::from_csv_str(csv, &p).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(diagnose(&p, &c).unwrap().verdict, Verdict::Correct);
}

#[test]
fn an_exercise_separates_every_mistake_and_reads_back() {
    let start = std::time::Instant::now();
    let e = exercise::Exercise::generate(&exercise::Options::default(), 7).unwrap();
    eprintln!("generated in {:?}", start.elapsed());
    assert_eq!(e.not_applicable(), [Mistake::SoftmaxDerivativeTwice]);
    let back = exercise::Exercise::from_json_str(&e.to_json().unwrap()).unwrap();
    assert_eq!(back, e);
    let key = Answers::from_json_str(&e.key(), &e.problem).unwrap();
    assert_eq!(
        diagnose(&e.problem, &key).unwrap().verdict,
        Verdict::Correct
    );
}
