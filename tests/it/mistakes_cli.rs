//! `backprop exercise` and `backprop check --answers`, run as a user runs them.

use std::process::Command;

use backprop::mistakes::exercise::Exercise;
use backprop::mistakes::{Answers, Mistake};

fn backprop(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn an_exercise_key_is_correct_and_a_flipped_sign_is_named() {
    let dir = std::env::temp_dir().join(format!("backprop-exercise-{}", std::process::id()));
    let out = dir.to_str().unwrap();
    assert_eq!(backprop(&["exercise", "--seed", "5", "--out", out]).0, 0);
    let exercise = dir.join("exercise.json");
    let (code, text) = backprop(&[
        "check",
        "--exercise",
        exercise.to_str().unwrap(),
        "--answers",
        dir.join("key.json").to_str().unwrap(),
    ]);
    assert_eq!(
        (code, text.lines().next()),
        (0, Some("verdict: correct (34 numbers checked)"))
    );
    // the same step with t - y for y - t, written as CSV rows to 4 decimals
    let e = Exercise::load(&exercise).unwrap();
    let numbers = e.problem.with_mistakes(&[Mistake::SignFlipped]);
    let mut csv = String::from("quantity,layer,from,to,value\n");
    for (q, t) in Answers::from_numbers(&numbers, &["delta", "dE/dW"], Some(4)).iter() {
        let (layer, from, to) = match q {
            backprop::mistakes::Quantity::Delta { layer, node, .. } => (layer, String::new(), node),
            backprop::mistakes::Quantity::GradW { layer, from, to } => {
                (layer, from.to_string(), to)
            }
            _ => unreachable!(),
        };
        csv.push_str(&format!("{},{layer},{from},{to},{t}\n", q.field()));
    }
    let mine = dir.join("mine.csv");
    std::fs::write(&mine, csv).unwrap();
    let (code, text) = backprop(&[
        "check",
        "--exercise",
        exercise.to_str().unwrap(),
        "--answers",
        mine.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["verdict"], "mistake");
    assert_eq!(json["mistakes"], serde_json::json!(["sign-flipped"]));
}
