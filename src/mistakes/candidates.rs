//! The computations a user's numbers are compared with: the right step, each slip of the
//! catalogue, each pair of slips, with those that compute the same as a simpler one on this
//! network left out.
//!
//! Whether two computations are the same on a network (a ReLU's `f'(y)` is its `f'(x)`; a bias
//! of +1 hides `bias-value-ignored`; a pair whose second mistake has nothing left to spoil) is
//! decided by running both on two problems of the same shape with generic random numbers: two
//! different formulas agreeing there to 9 digits in every number would be a coincidence of
//! measure zero. What the user's own example hides (equal weights hide a transposition) is then
//! told apart from what the network cannot show.

use rand::{RngExt, SeedableRng};

use super::Problem;
use super::catalogue::{Mistake, Slip};
use super::step::{Carry, Numbers, run};
use crate::nn::Loss;

/// One computation: the right step (no slips), a slip, or two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) slips: Vec<Slip>,
}

impl Candidate {
    /// The mistakes made, in the catalogue's order.
    pub(crate) fn mistakes(&self) -> Vec<Mistake> {
        let mut ms: Vec<Mistake> = self.slips.iter().map(|s| s.mistake()).collect();
        ms.sort_by_key(|m| Mistake::ALL.iter().position(|a| a == m));
        ms.dedup();
        ms
    }
}

/// A candidate that survived, with its numbers on the user's problem and on the generic ones.
pub(crate) struct Entry {
    pub(crate) candidate: Candidate,
    pub(crate) exact: Numbers,
    pub(crate) generic: [Numbers; 2],
    /// Both generic steps' numbers in one list: what tells computations apart.
    signature: Vec<f64>,
}

/// The candidates of a problem: `entries[0]` is the right step, then single slips, then pairs.
pub(crate) struct Candidates {
    pub(crate) entries: Vec<Entry>,
}

/// Every number of a step in one list.
pub(crate) fn flat(n: &Numbers) -> Vec<f64> {
    n.y.iter()
        .chain(&n.delta)
        .flatten()
        .chain(n.grad_w.iter().flatten())
        .chain(n.w_after.iter().flatten())
        .chain(&n.grad_b)
        .chain(&n.b_after)
        .flatten()
        .copied()
        .collect()
}

/// Whether two lists of numbers agree to 9 significant digits.
pub(crate) fn same(u: &[f64], v: &[f64]) -> bool {
    u.len() == v.len()
        && u.iter()
            .zip(v)
            .all(|(u, v)| (u - v).abs() <= 1e-9 * (1.0 + u.abs().max(v.abs())))
}

/// A problem of the same shape, bias value, loss, reduction, learning rate and number of
/// associations, with generic random weights, inputs and targets.
fn generic(problem: &Problem, seed: u64) -> Problem {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut draw = |low: f64, high: f64| rng.random_range(low..high);
    let mut p = problem.clone();
    for w in p.net.w.iter_mut().flatten().flatten() {
        *w = draw(-1.0, 1.0);
    }
    for b in p.net.b.iter_mut().flatten() {
        *b = draw(-1.0, 1.0);
    }
    for v in p.inputs.iter_mut().flatten() {
        *v = draw(-2.0, 2.0);
    }
    for v in p.targets.iter_mut().flatten() {
        *v = match p.net.loss {
            Loss::Hinge => {
                if draw(0.0, 1.0) < 0.5 {
                    -1.0
                } else {
                    1.0
                }
            }
            _ => draw(0.0, 1.0),
        };
    }
    p
}

impl Candidates {
    /// The right step, every slip and every pair of slips of different mistakes, less those
    /// that compute the same as one listed before them on this network.
    pub(crate) fn of(problem: &Problem) -> Candidates {
        let mean_asked = problem.reduction == crate::nn::Reduction::Mean;
        let slips = Slip::all(mean_asked);
        let mut all = vec![Candidate { slips: Vec::new() }];
        all.extend(slips.iter().map(|&s| Candidate { slips: vec![s] }));
        for (n, &a) in slips.iter().enumerate() {
            for &b in &slips[n + 1..] {
                if !a.mistake().conflicts(b.mistake()) {
                    all.push(Candidate { slips: vec![a, b] });
                }
            }
        }
        let probes = [generic(problem, 0x6d69_7374), generic(problem, 0x616b_6573)];
        let mut entries: Vec<Entry> = Vec::new();
        for candidate in all {
            let generic = [
                run(&probes[0], &candidate.slips, &Carry::Exact),
                run(&probes[1], &candidate.slips, &Carry::Exact),
            ];
            let mut signature = flat(&generic[0]);
            signature.extend(flat(&generic[1]));
            if !entries.iter().any(|e| same(&e.signature, &signature)) {
                let exact = run(problem, &candidate.slips, &Carry::Exact);
                entries.push(Entry {
                    candidate,
                    exact,
                    generic,
                    signature,
                });
            }
        }
        Candidates { entries }
    }

    /// The mistakes this network can show (a single slip of theirs differs from the right step).
    pub(crate) fn applicable(&self) -> Vec<Mistake> {
        let mut ms: Vec<Mistake> = self
            .entries
            .iter()
            .filter(|e| e.candidate.slips.len() == 1)
            .map(|e| e.candidate.slips[0].mistake())
            .collect();
        ms.sort_by_key(|m| Mistake::ALL.iter().position(|a| a == m));
        ms.dedup();
        ms
    }
}
