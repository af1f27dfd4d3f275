//! Exercises whose numbers tell every mistake apart: a network, associations and a learning
//! rate drawn from a seed, re-drawn until every mistake of the catalogue that the network can
//! show, and every pair, changes at least one asked number beyond rounding at 4 and at 6
//! decimals, so that [`super::diagnose`] names each one from its numbers alone.
//!
//! # Format (`exercise.json`)
//! `{"format": "backprop-exercise", "version": 1, "model": {a model file, version 1},
//! "inputs": [[...]], "targets": [[...]], "learning_rate": 0.5, "reduction": "sum",
//! "asks": ["y", "delta", "dE/dW", "dE/db", "W_after", "b_after"]}`.

use std::fmt::Write;

use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::answers::{Answers, FIELDS};
use super::candidates::Candidates;
use super::diagnose::{Verdict, diagnose};
use super::quantity::{Quantity, letter};
use super::{Mistake, Problem};
use crate::error::{Error, Result};
use crate::model_file::{check_header, invalid};
use crate::nn::{Activation, Bias, Init, Loss, MlpSpec, Reduction};
use crate::textbook::TextbookNet;

/// The value of the `format` field.
pub const FORMAT: &str = "backprop-exercise";
/// How many draws are tried before giving up.
pub const MAX_DRAWS: usize = 200;

/// What an exercise is about.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Nodes per layer, input first.
    pub sizes: Vec<usize>,
    /// The hidden layers' activation.
    pub hidden: Activation,
    /// The output layer's activation.
    pub output: Activation,
    /// The bias node's value (`None`: no bias).
    pub bias: Option<f64>,
    /// The error of one association.
    pub loss: Loss,
    /// How many associations.
    pub batch: usize,
    /// The learning rate.
    pub learning_rate: f64,
    /// Sum or mean over associations.
    pub reduction: Reduction,
}

impl Default for Options {
    /// 2x2x2, sigmoid hidden and output, bias -1 (the tutorial's text), half squared error
    /// summed, one association, learning rate 0.5: every mistake of the catalogue but
    /// `softmax-derivative-twice` (cross-entropy only) can show on it. The learning rate is
    /// larger than the tutorial's 0.01 so that weights updated too early show at 4 decimals.
    fn default() -> Options {
        Options {
            sizes: vec![2, 2, 2],
            hidden: Activation::Sigmoid,
            output: Activation::Sigmoid,
            bias: Some(-1.0),
            loss: Loss::HalfSquaredError,
            batch: 1,
            learning_rate: 0.5,
            reduction: Reduction::Sum,
        }
    }
}

/// A problem and the numbers asked of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exercise {
    /// The network, associations and learning rate.
    pub problem: Problem,
    /// The fields of the answers format asked for.
    pub asks: Vec<String>,
}

/// Two decimals in `[low, high)`, never 0.
fn short(rng: &mut rand::rngs::Xoshiro256PlusPlus, low: f64, high: f64) -> f64 {
    let v = (rng.random_range(low..high) * 100.0).round() / 100.0;
    if v == 0.0 { 0.05 } else { v }
}

fn draw(options: &Options, rng: &mut rand::rngs::Xoshiro256PlusPlus) -> Result<Problem> {
    let s = &options.sizes;
    let layers = s.len() - 1;
    let mut activations = vec![options.hidden; layers];
    activations[layers - 1] = options.output;
    let w = (0..layers)
        .map(|l| {
            (0..s[l + 1])
                .map(|_| (0..s[l]).map(|_| short(rng, -1.0, 1.0)).collect())
                .collect()
        })
        .collect();
    let b = (0..layers)
        .map(|l| match options.bias {
            Some(_) => (0..s[l + 1]).map(|_| short(rng, -1.0, 1.0)).collect(),
            None => Vec::new(),
        })
        .collect();
    let inputs = (0..options.batch)
        .map(|_| (0..s[0]).map(|_| short(rng, -1.0, 1.0)).collect())
        .collect();
    let targets = (0..options.batch)
        .map(|_| match options.loss {
            Loss::HalfSquaredError => (0..s[layers]).map(|_| short(rng, 0.05, 0.95)).collect(),
            Loss::SoftmaxCrossEntropy => {
                let k = rng.random_range(0..s[layers]);
                (0..s[layers])
                    .map(|j| f64::from(u8::from(j == k)))
                    .collect()
            }
            Loss::Hinge => (0..s[layers])
                .map(|_| {
                    if rng.random_range(0.0..1.0) < 0.5 {
                        -1.0
                    } else {
                        1.0
                    }
                })
                .collect(),
        })
        .collect();
    let net = TextbookNet {
        sizes: s.clone(),
        activations,
        bias: options.bias,
        w,
        b,
        loss: options.loss,
    };
    Problem::new(
        net,
        inputs,
        targets,
        options.learning_rate,
        options.reduction,
    )
}

/// Whether every candidate's numbers of `asks`, written to 4 and to 6 decimals, are diagnosed
/// as exactly that candidate.
pub fn separable(problem: &Problem, asks: &[&str]) -> bool {
    let candidates = Candidates::of(problem);
    candidates.entries.iter().all(|e| {
        [4, 6].into_iter().all(|d| {
            let answers = Answers::from_numbers(&e.exact, asks, Some(d));
            let Ok(found) = diagnose(problem, &candidates, &answers) else {
                return false;
            };
            match e.candidate.slips.len() {
                0 => found.verdict == Verdict::Correct && found.indistinguishable.is_empty(),
                _ => found.verdict == Verdict::Mistake && found.mistakes == e.candidate.mistakes(),
            }
        })
    })
}

impl Exercise {
    /// The exercise of `seed`: problems drawn from the seed's stream (weights, bias weights
    /// and inputs of two decimals in [-1, 1), targets in [0.05, 0.95), one-hot for
    /// cross-entropy, +-1 for the hinge) until one is [`separable`] on every field.
    ///
    /// # Errors
    /// [`Error::InvalidNetwork`] for sizes of fewer than 2 layers or a layer of width 0;
    /// [`Error::InvalidOption`] for a batch of 0, or when no draw of [`MAX_DRAWS`] separates
    /// every mistake (the network is too small to show them apart).
    pub fn generate(options: &Options, seed: u64) -> Result<Exercise> {
        if options.batch == 0 {
            return Err(Error::InvalidOption {
                name: "batch".into(),
                reason: "at least 1 association".into(),
            });
        }
        if options.sizes.len() < 2 || options.sizes.contains(&0) {
            return Err(Error::InvalidNetwork(format!(
                "sizes {:?}: at least 2 layers, none of width 0",
                options.sizes
            )));
        }
        let asks: Vec<&str> = FIELDS
            .into_iter()
            .filter(|f| options.bias.is_some() || !f.contains('b'))
            .collect();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..MAX_DRAWS {
            let problem = draw(options, &mut rng)?;
            if separable(&problem, &asks) {
                return Ok(Exercise {
                    problem,
                    asks: asks.iter().map(|a| a.to_string()).collect(),
                });
            }
        }
        Err(Error::InvalidOption {
            name: "exercise".into(),
            reason: format!(
                "no draw of {MAX_DRAWS} tells every mistake apart on this network: try other sizes or activations"
            ),
        })
    }

    /// The mistakes of the catalogue this exercise's network cannot show.
    pub fn not_applicable(&self) -> Vec<Mistake> {
        let can = self.problem.applicable();
        Mistake::ALL
            .into_iter()
            .filter(|m| !can.contains(m))
            .collect()
    }

    /// `exercise.json`.
    ///
    /// # Errors
    /// [`Error::NonFiniteConstant`] for a weight JSON cannot hold.
    pub fn to_json(&self) -> Result<String> {
        let net = &self.problem.net;
        let mut mlp = MlpSpec::new(&net.sizes, Activation::Identity, Activation::Identity)
            .with_activations(&net.activations)
            .with_bias(net.bias.map_or(Bias::None, Bias::Node))
            .with_loss(net.loss)
            .with_init(Init::Constant(0.0))
            .build()?;
        mlp.set_weights(&net.w, &net.b)?;
        let model = crate::model_file::to_json_string(&mlp)?;
        let file = ExerciseFile {
            format: FORMAT.into(),
            version: 1,
            model: RawValue::from_string(model).map_err(|e| invalid("exercise", e.to_string()))?,
            inputs: self.problem.inputs.clone(),
            targets: self.problem.targets.clone(),
            learning_rate: self.problem.learning_rate,
            reduction: Some(self.problem.reduction.name().into()),
            asks: self.asks.clone(),
        };
        let mut text =
            serde_json::to_string_pretty(&file).map_err(|e| invalid("exercise", e.to_string()))?;
        text.push('\n');
        Ok(text)
    }

    /// Reads `exercise.json`.
    ///
    /// # Errors
    /// [`Error::InvalidFile`] naming the field at fault (the model's as the model file's reader
    /// names them), and those of [`Problem::new`].
    pub fn from_json_str(text: &str) -> Result<Exercise> {
        check_header(text, "exercise", FORMAT, 1)?;
        let file: ExerciseFile =
            serde_json::from_str(text).map_err(|e| invalid("exercise", e.to_string()))?;
        let net = crate::model_file::from_json_str(file.model.get())?;
        let reduction = match file.reduction.as_deref() {
            None | Some("sum") => Reduction::Sum,
            Some("mean") => Reduction::Mean,
            Some(other) => {
                return Err(invalid(
                    "exercise",
                    format!("reduction: {other:?} is not \"sum\" or \"mean\""),
                ));
            }
        };
        if let Some(bad) = file.asks.iter().find(|a| !FIELDS.contains(&a.as_str())) {
            return Err(invalid(
                "exercise",
                format!("asks: {bad:?} is not one of {}", FIELDS.join(", ")),
            ));
        }
        let problem = Problem::new(
            TextbookNet::from_mlp(&net),
            file.inputs,
            file.targets,
            file.learning_rate,
            reduction,
        )?;
        Ok(Exercise {
            problem,
            asks: file.asks,
        })
    }

    /// Reads an `exercise.json` file (at most 16 MiB).
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::TooLarge`], and those of [`Exercise::from_json_str`].
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Exercise> {
        let text = crate::files::read_to_string_limited(path.as_ref(), 16 << 20)?;
        Exercise::from_json_str(&text)
    }

    /// `key.json`: the right numbers of the fields asked, every digit, in the answers format.
    pub fn key(&self) -> String {
        let right = self.problem.right();
        let batch = self.problem.inputs.len() > 1;
        let mut key = serde_json::Map::new();
        key.insert("format".into(), super::FORMAT.into());
        key.insert("version".into(), super::VERSION.into());
        for ask in &self.asks {
            let value = match ask.as_str() {
                "y" if batch => serde_json::json!(right.y),
                "y" => serde_json::json!(right.y[0]),
                "delta" if batch => serde_json::json!(right.delta),
                "delta" => serde_json::json!(right.delta[0]),
                "dE/dW" => serde_json::json!(right.grad_w),
                "dE/db" => serde_json::json!(right.grad_b),
                "W_after" => serde_json::json!(right.w_after),
                _ => serde_json::json!(right.b_after),
            };
            key.insert(ask.clone(), value);
        }
        let mut text = serde_json::to_string_pretty(&key).unwrap_or_default();
        text.push('\n');
        text
    }

    /// `sheet.md`: the problem as a student reads it, in the tutorial's notation.
    pub fn sheet(&self) -> String {
        let p = &self.problem;
        let net = &p.net;
        let layers = net.sizes.len();
        let l = |layer| letter(layers, layer);
        let mut s = String::new();
        let _ = writeln!(s, "# One step of backpropagation\n");
        let shape: Vec<String> = net.sizes.iter().map(|n| n.to_string()).collect();
        let acts: Vec<String> = net.activations.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            s,
            "A {} network: identity input layer, then {} (layers 1 to {}). {}. Error of one \
             association: {}; over the associations: {}. Learning rate eta = {}.\n",
            shape.join("x"),
            acts.join(", "),
            layers - 1,
            match net.bias {
                Some(b) => format!("A bias node of value {b} feeds every layer after the input"),
                None => "No bias".into(),
            },
            net.loss.name().replace('_', " "),
            p.reduction.name(),
            p.learning_rate
        );
        let _ = writeln!(s, "## Weights\n");
        for (layer, w) in net.w.iter().enumerate() {
            for (j, row) in w.iter().enumerate() {
                for (i, v) in row.iter().enumerate() {
                    let q = Quantity::WAfter {
                        layer,
                        from: i,
                        to: j,
                    };
                    let _ = writeln!(s, "- {} = {v}", q.name(layers, 1));
                }
                if let Some(b) = net.b.get(layer).and_then(|b| b.get(j)) {
                    let _ = writeln!(s, "- b_{}[{j}] = {b}", l(layer + 1));
                }
            }
        }
        let _ = writeln!(s, "\n## Associations\n");
        for (t, (x, y)) in p.inputs.iter().zip(&p.targets).enumerate() {
            let _ = writeln!(
                s,
                "- association {t}: x_{} = {x:?}, y'_{} = {y:?}",
                l(0),
                l(layers - 1)
            );
        }
        let _ = writeln!(
            s,
            "\n## Asked\n\nCompute one training step (forward, deltas, gradients summed over the \
             associations, the update w = w - eta dE/dw) and write {} in the answers format \
             (`answers.json`, layouts of the model file: W[l][j][i] from node i of layer l to \
             node j of layer l+1; y[0] the inputs; delta[0] = []), or as CSV rows \
             `quantity,layer,from,to,value`. Check them with \
             `backprop check --exercise exercise.json --answers answers.json`.",
            self.asks.join(", ")
        );
        s
    }
}

/// `exercise.json` as read and written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseFile {
    format: String,
    version: u64,
    model: Box<RawValue>,
    inputs: Vec<Vec<f64>>,
    targets: Vec<Vec<f64>>,
    learning_rate: f64,
    #[serde(default)]
    reduction: Option<String>,
    asks: Vec<String>,
}
