//! Find the bug in a hand-written backpropagation: a catalogue of classic mistakes, each an
//! alternative step on plain arrays, and the diagnosis of a user's numbers against them.
//!
//! People who derive the delta rule and implement it themselves (numpy, C, a spreadsheet) get
//! a wrong number and no idea where it came from. Every classic mistake is a precise
//! alternative computation ([`Mistake`]: a hidden delta without `f'(x)`, `f'` fed the output,
//! a transposed weight matrix, ...), so [`diagnose`] recomputes the training step with each
//! mistake and each pair, and keeps those that reproduce every number the user gave, at the
//! precision the user gave ([`precision`]).
//!
//! This module owns the catalogue, the step with mistakes (`step.rs`), the answers format
//! ([`Answers`]), the diagnosis, and exercises whose numbers tell every mistake apart
//! (`backprop exercise`). Like [`crate::textbook`], it never reads a graph, a tape or an op; it does
//! not use `textbook`'s code either (only its plain description of a network,
//! [`TextbookNet`]): its right step is a third, independent opinion.

mod answers;
mod candidates;
mod catalogue;
mod csv;
mod diagnose;

pub mod exercise;
mod explain;
pub mod precision;
mod quantity;
mod step;

pub use answers::{Answers, FIELDS, FORMAT, VERSION};
pub use catalogue::Mistake;
pub use diagnose::{Diagnosis, FirstWrong, Verdict};
pub use precision::Typed;
pub use quantity::Quantity;
pub use step::Numbers;

use crate::error::{Error, Result};
use crate::nn::{Mlp, Reduction};
use crate::textbook::TextbookNet;

use catalogue::Slip;
use step::{Carry, run};

/// A training step to check: a layered network, its associations, the learning rate of the
/// update `w = w - learning_rate * dE/dw`, and how the associations' errors combine.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The network (its weights before the step).
    pub net: TextbookNet,
    /// `inputs[t]`: association `t`'s inputs.
    pub inputs: Vec<Vec<f64>>,
    /// `targets[t]`: association `t`'s expected outputs.
    pub targets: Vec<Vec<f64>>,
    /// The learning rate `eta`.
    pub learning_rate: f64,
    /// `E = sum_t E_t` or `1/T sum_t E_t`.
    pub reduction: Reduction,
}

fn finite(what: impl Fn() -> String, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFiniteConstant {
            what: what(),
            value,
        })
    }
}

impl Problem {
    /// A problem, checked.
    ///
    /// # Errors
    /// [`Error::InvalidNetwork`] for fewer than 2 layers, a layer of width 0, the wrong number
    /// of activations; [`Error::Shape`] naming the first weight list, input or target of the
    /// wrong length; [`Error::NoAssociations`]; [`Error::NonFiniteConstant`] naming the first
    /// number (weight, input, target, learning rate) that is not finite.
    pub fn new(
        net: TextbookNet,
        inputs: Vec<Vec<f64>>,
        targets: Vec<Vec<f64>>,
        learning_rate: f64,
        reduction: Reduction,
    ) -> Result<Problem> {
        let sizes = &net.sizes;
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::InvalidNetwork(format!(
                "layer widths {sizes:?}: at least 2 layers, none of width 0"
            )));
        }
        let layers = sizes.len() - 1;
        if net.activations.len() != layers {
            return Err(Error::InvalidNetwork(format!(
                "{} activations for {layers} layers after the input",
                net.activations.len()
            )));
        }
        let shape = |what: String, expected: usize, got: usize| {
            crate::error::expect_len(what, expected, got)
        };
        shape("layers of weights W".into(), layers, net.w.len())?;
        for l in 0..layers {
            shape(
                format!("W[{l}] (nodes of layer {})", l + 1),
                sizes[l + 1],
                net.w[l].len(),
            )?;
            for (j, row) in net.w[l].iter().enumerate() {
                shape(
                    format!("W[{l}][{j}] (nodes of layer {l})"),
                    sizes[l],
                    row.len(),
                )?;
                for (i, &w) in row.iter().enumerate() {
                    finite(|| format!("weight W[{l}][{j}][{i}]"), w)?;
                }
            }
            let bias_width = if net.bias.is_some() { sizes[l + 1] } else { 0 };
            let got = net.b.get(l).map_or(0, Vec::len);
            shape(
                format!("b[{l}] (bias weights into layer {})", l + 1),
                bias_width,
                got,
            )?;
            for (j, &b) in net.b.get(l).into_iter().flatten().enumerate() {
                finite(|| format!("bias weight b[{l}][{j}]"), b)?;
            }
        }
        if let Some(bias) = net.bias {
            finite(|| "the bias node's value".into(), bias)?;
        }
        if inputs.is_empty() {
            return Err(Error::NoAssociations);
        }
        shape(
            "targets (one list per association)".into(),
            inputs.len(),
            targets.len(),
        )?;
        for (t, (x, y)) in inputs.iter().zip(&targets).enumerate() {
            shape(format!("inputs of association {t}"), sizes[0], x.len())?;
            shape(
                format!("targets of association {t}"),
                sizes[layers],
                y.len(),
            )?;
            for &v in x.iter().chain(y) {
                finite(|| format!("a number of association {t}"), v)?;
            }
        }
        finite(|| "the learning rate".into(), learning_rate)?;
        Ok(Problem {
            net,
            inputs,
            targets,
            learning_rate,
            reduction,
        })
    }

    /// One association of a graph-built network (its weights as they are now), errors summed.
    ///
    /// # Errors
    /// As [`Problem::new`].
    pub fn one(net: &Mlp, input: &[f64], target: &[f64], learning_rate: f64) -> Result<Problem> {
        Problem::new(
            TextbookNet::from_mlp(net),
            vec![input.to_vec()],
            vec![target.to_vec()],
            learning_rate,
            Reduction::Sum,
        )
    }

    /// The right training step's numbers.
    pub fn right(&self) -> Numbers {
        run(self, &[], &Carry::Exact)
    }

    /// The numbers of the training step made with `mistakes` (each in its first form:
    /// `-eta dE/dw` for `learning-rate-in-gradient`, the mean over associations for
    /// `mean-vs-sum`, or over every output with one association).
    pub fn with_mistakes(&self, mistakes: &[Mistake]) -> Numbers {
        let mean = self.reduction == Reduction::Mean;
        let slips: Vec<Slip> = mistakes
            .iter()
            .map(|&m| match m {
                Mistake::LearningRateInGradient => Slip::LearningRateNegative,
                Mistake::MeanVsSum if mean => Slip::SumForMean,
                Mistake::MeanVsSum if self.inputs.len() > 1 => Slip::MeanOverAssociations,
                Mistake::MeanVsSum => Slip::MeanOverEverything,
                other => Slip::Only(other),
            })
            .collect();
        run(self, &slips, &Carry::Exact)
    }

    /// The mistakes this network can show on some example: those that, made alone, change a
    /// number of the step (`derivative-of-output` changes nothing for ReLU, `factor-two`
    /// nothing under cross-entropy, `bias-value-ignored` nothing for a bias of +1, ...).
    pub fn applicable(&self) -> Vec<Mistake> {
        candidates::Candidates::of(self).applicable()
    }
}

/// Which mistakes of the catalogue (or pair of them) reproduce the user's numbers.
///
/// Recomputes the training step of `problem` right, with each mistake of the catalogue, and
/// with each pair, and compares every number given in `answers` at the precision it was typed
/// with (see [`precision`]). The verdict is [`Verdict::Correct`] when the right step reproduces
/// them all; else [`Verdict::Mistake`] with the one mistake (or the one pair) that does, or
/// with the explanations this example cannot tell apart ([`Diagnosis::indistinguishable`],
/// and why); else [`Verdict::Unknown`] with the first number, in the order of the computation,
/// that the right step does not reproduce, and its right formula with the numbers put in.
/// Any subset of the numbers may be given: a single `delta_j` is enough to be checked.
///
/// # Errors
/// [`Error::InvalidOption`] for a quantity that is not one of this network's (a layer or a
/// node out of range).
///
/// # Complexity
/// About 150 recomputations of the step (the catalogue's pairs), up to 3 each: microseconds for
/// the tutorial's networks, linear in the number of weights.
///
/// # Examples
/// The tutorial's worked example, with its own rounded figures (`0.168861` is its
/// `0.231 x 0.731`), and the same `delta_j` without `f'(x_j)`:
/// ```
/// use backprop::mistakes::{Answers, Mistake, Problem, Quantity, Verdict, diagnose};
/// use backprop::tutorial::{worked_example, WORKED_INPUT, WORKED_LEARNING_RATE, WORKED_TARGET};
/// let net = worked_example()?;
/// let problem = Problem::one(&net, &WORKED_INPUT, &WORKED_TARGET, WORKED_LEARNING_RATE)?;
/// let delta_j = Quantity::Delta { association: 0, layer: 1, node: 0 };
/// let dw_jk = Quantity::GradW { layer: 1, from: 0, to: 0 };
///
/// let tutorial = Answers::new().with(delta_j, "0.0227")?.with(dw_jk, "0.168861")?;
/// assert_eq!(diagnose(&problem, &tutorial)?.verdict, Verdict::Correct);
///
/// // 0.231059 * 0.5: the sum of delta_k w_jk, no sigmoid'(x_j)
/// let mine = Answers::new().with(delta_j, "0.115529")?;
/// let found = diagnose(&problem, &mine)?;
/// assert_eq!(found.verdict, Verdict::Mistake);
/// assert_eq!(found.mistakes, [Mistake::MissingDerivativeHidden]);
/// # Ok::<(), backprop::Error>(())
/// ```
pub fn diagnose(problem: &Problem, answers: &Answers) -> Result<Diagnosis> {
    diagnose::diagnose(problem, &candidates::Candidates::of(problem), answers)
}

#[cfg(test)]
mod tests;
