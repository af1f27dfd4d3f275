//! `--scaling`: W3-shaped nets (64-H-10, sigmoid, 1,797 associations of the digits data) with
//! hidden widths H = 16, 32, 64, 128, 256, time per epoch for the project and for the baseline's
//! `closed_form` and `closed_form_batched` (run on data files written to
//! `target/scaling/hH/digits.json` with the same inputs and seeded random initial weights). All
//! should grow linearly with the number of weights; the table prints the time per weight.

use std::path::Path;
use std::process::{Command, ExitCode};

use serde_json::json;

use super::{Args, Data, Json, median};
use backprop::nn::{Activation, Init, MlpSpec, Reduction};
use backprop::train::{RunOptions, TrainConfig, train_with};

const WIDTHS: [usize; 5] = [16, 32, 64, 128, 256];

/// A small deterministic generator for the initial weights (uniform in [-0.5, 0.5)).
fn weights(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

fn write_data(dir: &Path, digits: &Json, h: usize) -> (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) {
    let sizes = [64, h, 10];
    let mut w = Vec::new();
    let mut b = Vec::new();
    for l in 0..2 {
        let flat = weights((h * 10 + l) as u64, sizes[l] * sizes[l + 1]);
        w.push(
            flat.chunks(sizes[l])
                .map(|r| r.to_vec())
                .collect::<Vec<_>>(),
        );
        b.push(vec![0.0; sizes[l + 1]]);
    }
    let mut d = digits.clone();
    d["init"] = json!({"sizes": sizes, "W": w, "b": b});
    std::fs::create_dir_all(dir).expect("create the scaling data folder");
    std::fs::write(dir.join("digits.json"), d.to_string()).expect("write scaling data");
    (w, b)
}

/// One run of a baseline program on the digits data of `dir`: its seconds per epoch (none when
/// the program is missing or prints no result).
fn baseline_epoch(program: &Path, epochs: usize, dir: &Path) -> Option<f64> {
    if !program.exists() {
        return None;
    }
    let out = Command::new(program)
        .args([
            "--only",
            "digits",
            "--digits-epochs",
            &epochs.to_string(),
            "--data",
        ])
        .arg(dir)
        .output()
        .expect("run a baseline program");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| serde_json::from_str::<Json>(l).ok())
        .and_then(|line| line["seconds_per_epoch"].as_f64())
}

pub fn run(args: &Args) -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(args.data.join("digits.json")).expect("digits.json");
    let digits: Json = serde_json::from_str(&text).expect("JSON");
    let epochs = args.digits_epochs.unwrap_or(5);
    let closed_form = args.baseline.join("closed_form");
    let closed_form_batched = args.baseline.join("closed_form_batched");
    println!(
        "| hidden H | weights | backprop ms/epoch | closed_form ms/epoch | closed_form_batched ms/epoch | ratio vs closed_form | ratio vs batched | backprop ns/weight/assoc | closed_form ns/weight/assoc | batched ns/weight/assoc |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for h in WIDTHS {
        let dir = root.join(format!("target/scaling/h{h}"));
        let (w, b) = write_data(&dir, &digits, h);
        let mut data_args = args.clone();
        data_args.data = dir.clone();
        let data = Data::load(&data_args, "digits");
        let n_weights = 64 * h + h + h * 10 + 10;
        let (mut mine, mut theirs, mut batched) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.runs {
            theirs.extend(baseline_epoch(&closed_form, epochs, &dir));
            batched.extend(baseline_epoch(&closed_form_batched, epochs, &dir));
            let mut net = MlpSpec::new(&[64, h, 10], Activation::Sigmoid, Activation::Identity)
                .with_init(Init::Constant(0.0))
                .build()
                .expect("net");
            net.set_weights(&w, &b).expect("weights");
            let mut config = TrainConfig::gradient_descent(0.2, epochs);
            config.reduction = Reduction::Mean;
            config.lanes = args.lanes;
            let t0 = std::time::Instant::now();
            train_with(
                &mut net,
                &data.inputs,
                &data.targets,
                &config,
                &RunOptions::default(),
                |_, _| {},
            )
            .expect("train");
            mine.push(t0.elapsed().as_secs_f64() / epochs as f64);
        }
        let (m, t, b) = (median(mine), median(theirs), median(batched));
        let per = |s: f64| s * 1e9 / (n_weights as f64 * data.t as f64);
        println!(
            "| {h} | {n_weights} | {:.3} | {:.3} | {:.3} | {:.2}x | {:.2}x | {:.3} | {:.3} | {:.3} |",
            m * 1e3,
            t * 1e3,
            b * 1e3,
            m / t,
            m / b,
            per(m),
            per(t),
            per(b)
        );
    }
    ExitCode::SUCCESS
}
