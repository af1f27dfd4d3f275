//! The verdict on a user's numbers: right; made with one mistake of the catalogue (or a pair);
//! or unknown, with the first wrong number and its right formula.
//!
//! A computation *reproduces* the numbers given when each of them matches (see
//! [`super::precision`]) its value in that computation, its formula evaluated on
//! exact operands, on the user's own earlier numbers where given (error carried forward), or on
//! operands rounded to the user's working precision (a hand computation's rounded figures).

use std::collections::HashMap;
use std::fmt::Write;

use super::Problem;
use super::answers::Answers;
use super::candidates::{Candidates, Entry};
use super::catalogue::Mistake;
use super::explain::formula;
use super::precision::{Typed, working_digits};
use super::quantity::Quantity;
use super::step::{Carry, Numbers, run};
use crate::error::{Error, Result};

/// What the numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The right computation reproduces every number given.
    Correct,
    /// A mistake of the catalogue, or a pair, reproduces them (and the right step does not).
    Mistake,
    /// Nothing in the catalogue reproduces them.
    Unknown,
}

impl Verdict {
    /// `correct`, `mistake`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Mistake => "mistake",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The first number given that the right computation does not reproduce.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstWrong {
    /// Which number.
    pub quantity: Quantity,
    /// Its name in the tutorial's notation (`delta_j[0]`).
    pub name: String,
    /// The number as given.
    pub given: Typed,
    /// Its right value.
    pub right: f64,
    /// The right formula with its numbers put in, as `walkthrough` prints it.
    pub formula: String,
}

/// The diagnosis of a user's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    /// Correct, a mistake, or unknown.
    pub verdict: Verdict,
    /// The mistake (or the pair) that reproduces the numbers, when exactly one explanation
    /// does; empty otherwise.
    pub mistakes: Vec<Mistake>,
    /// Explanations that reproduce every number given and that this example cannot tell
    /// apart: several of them with a verdict of `mistake`; with a verdict of `correct`, the
    /// mistakes that would have shown in these numbers but do not on this example.
    pub indistinguishable: Vec<Vec<Mistake>>,
    /// Why they cannot be told apart, and what would tell them apart.
    pub why: Option<String>,
    /// With a verdict of `unknown`: the first wrong number, in the order of the computation.
    pub first_wrong: Option<FirstWrong>,
    /// How many numbers were checked.
    pub checked: usize,
}

fn ids(ms: &[Mistake]) -> String {
    ms.iter().map(|m| m.id()).collect::<Vec<_>>().join(" + ")
}

impl Diagnosis {
    /// The verdict as text: what was found, the formulas of each mistake, or the first wrong
    /// number with its right formula.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "verdict: {} ({} numbers checked)",
            self.verdict.name(),
            self.checked
        );
        if !self.mistakes.is_empty() {
            let _ = writeln!(out, "mistake: {}", ids(&self.mistakes));
            for m in &self.mistakes {
                let _ = writeln!(out, "  {}: {}", m.id(), m.name());
                let _ = writeln!(out, "    you:   {}", m.wrong());
                let _ = writeln!(out, "    right: {}", m.right());
            }
        }
        if !self.indistinguishable.is_empty() {
            let list: Vec<String> = self.indistinguishable.iter().map(|e| ids(e)).collect();
            let _ = writeln!(
                out,
                "indistinguishable on these numbers: {}",
                list.join(", ")
            );
        }
        if let Some(why) = &self.why {
            let _ = writeln!(out, "  {why}");
        }
        if let Some(w) = &self.first_wrong {
            let _ = writeln!(
                out,
                "first wrong number: {} = {} (right: {:.6})",
                w.name, w.given, w.right
            );
            let _ = writeln!(out, "  {}", w.formula);
        }
        out
    }
}

/// Whether `entry`'s computation reproduces every number given.
fn reproduces(
    problem: &Problem,
    entry: &Entry,
    given: &[(Quantity, Typed)],
    by_quantity: &HashMap<Quantity, Typed>,
    digits: Option<u32>,
) -> bool {
    fn unmatched<'a>(
        numbers: &Numbers,
        pending: Vec<&'a (Quantity, Typed)>,
    ) -> Vec<&'a (Quantity, Typed)> {
        pending
            .into_iter()
            .filter(|(q, t)| !numbers.get(*q).is_some_and(|v| t.matches(v)))
            .collect()
    }
    let mut pending = unmatched(&entry.exact, given.iter().collect());
    if !pending.is_empty() {
        let carried = run(problem, &entry.candidate.slips, &Carry::Given(by_quantity));
        pending = unmatched(&carried, pending);
    }
    if let (false, Some(d)) = (pending.is_empty(), digits) {
        let rounded = run(problem, &entry.candidate.slips, &Carry::Rounded(d));
        pending = unmatched(&rounded, pending);
    }
    pending.is_empty()
}

/// The first quantity, in the order of the computation, where the steps differ (to 6
/// significant digits), if any.
fn first_difference(steps: &[&Numbers]) -> Option<Quantity> {
    let all = steps.first()?.quantities();
    all.into_iter().find(|&q| {
        let values: Vec<f64> = steps.iter().filter_map(|n| n.get(q)).collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        hi - lo > 1e-6 * (1.0 + hi.abs().max(lo.abs()))
    })
}

fn why(problem: &Problem, steps: &[&Numbers], by_quantity: &HashMap<Quantity, Typed>) -> String {
    let layers = problem.net.sizes.len();
    let t = problem.inputs.len();
    match first_difference(steps) {
        None => "they give identical numbers for every quantity of this example (equal weights, \
                 for one, hide a transposition): another example tells them apart"
            .into(),
        Some(q) => match by_quantity.get(&q) {
            Some(typed) => format!(
                "they give the same numbers at the precision you gave: {} = {typed} is too coarse to tell them apart; give more digits",
                q.name(layers, t)
            ),
            None => format!(
                "they give the same value to every number you gave; give {} ({q}) to tell them apart",
                q.name(layers, t)
            ),
        },
    }
}

/// Checks that every quantity is one of the problem's.
fn check_quantities(problem: &Problem, right: &Numbers, given: &[(Quantity, Typed)]) -> Result<()> {
    let layers = problem.net.sizes.len();
    for (q, _) in given {
        if right.get(*q).is_none() {
            return Err(Error::InvalidOption {
                name: q.field().into(),
                reason: format!(
                    "{q} ({}) is not a number of this network's training step",
                    q.name(layers, problem.inputs.len())
                ),
            });
        }
    }
    Ok(())
}

pub(crate) fn diagnose(
    problem: &Problem,
    candidates: &Candidates,
    answers: &Answers,
) -> Result<Diagnosis> {
    let layers = problem.net.sizes.len();
    let right = &candidates.entries[0];
    let mut given: Vec<(Quantity, Typed)> = answers.iter().map(|(q, t)| (q, t.clone())).collect();
    check_quantities(problem, &right.exact, &given)?;
    given.sort_by_key(|(q, _)| q.order(layers));
    let by_quantity: HashMap<Quantity, Typed> = given.iter().cloned().collect();
    let computed = given
        .iter()
        .filter(|(q, _)| !matches!(q, Quantity::Y { layer: 0, .. }));
    let digits = working_digits(computed.map(|(_, t)| t));
    let mut diagnosis = Diagnosis {
        verdict: Verdict::Unknown,
        mistakes: Vec::new(),
        indistinguishable: Vec::new(),
        why: None,
        first_wrong: None,
        checked: given.len(),
    };
    let fits = |e: &Entry| reproduces(problem, e, &given, &by_quantity, digits);
    if fits(right) {
        diagnosis.verdict = Verdict::Correct;
        // mistakes that would show in these numbers on a generic example, hidden on this one
        let hidden: Vec<&Entry> = candidates.entries[1..]
            .iter()
            .filter(|e| e.candidate.slips.len() == 1)
            .filter(|e| {
                given.iter().any(|(q, _)| {
                    (0..2).any(|p| {
                        let (u, v) = (e.generic[p].get(*q), right.generic[p].get(*q));
                        u.zip(v)
                            .is_some_and(|(u, v)| (u - v).abs() > 1e-9 * (1.0 + u.abs()))
                    })
                })
            })
            .filter(|e| fits(e))
            .collect();
        let mut seen = Vec::new();
        for e in &hidden {
            let ms = e.candidate.mistakes();
            if !seen.contains(&ms) {
                seen.push(ms);
            }
        }
        if !seen.is_empty() {
            let mut steps = vec![&right.exact];
            steps.extend(hidden.iter().map(|e| &e.exact));
            diagnosis.why = Some(why(problem, &steps, &by_quantity));
            diagnosis.indistinguishable = seen;
        }
        return Ok(diagnosis);
    }
    for size in [1, 2] {
        let found: Vec<&Entry> = candidates.entries[1..]
            .iter()
            .filter(|e| e.candidate.slips.len() == size && fits(e))
            .collect();
        let mut explanations: Vec<Vec<Mistake>> = Vec::new();
        for e in &found {
            let ms = e.candidate.mistakes();
            if !explanations.contains(&ms) {
                explanations.push(ms);
            }
        }
        match explanations.len() {
            0 => continue,
            1 => {
                diagnosis.verdict = Verdict::Mistake;
                diagnosis.mistakes = explanations.remove(0);
            }
            _ => {
                diagnosis.verdict = Verdict::Mistake;
                let steps: Vec<&Numbers> = found.iter().map(|e| &e.exact).collect();
                diagnosis.why = Some(why(problem, &steps, &by_quantity));
                diagnosis.indistinguishable = explanations;
            }
        }
        return Ok(diagnosis);
    }
    // unknown: the first number the right computation does not reproduce
    let one = |(q, t): &(Quantity, Typed)| {
        let pair = [(*q, t.clone())];
        !reproduces(problem, right, &pair, &by_quantity, digits)
    };
    if let Some((q, t)) = given.iter().find(|g| one(g)) {
        diagnosis.first_wrong = Some(FirstWrong {
            quantity: *q,
            name: q.name(layers, problem.inputs.len()),
            given: t.clone(),
            right: right.exact.get(*q).unwrap_or(f64::NAN),
            formula: formula(problem, &right.exact, *q),
        });
    }
    Ok(diagnosis)
}
