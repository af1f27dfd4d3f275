//! The scalar operations: each op's value and local partial derivatives, written once.
//!
//! This module owns the mathematics of every op and nothing else: no graph, no traversal, no
//! buffers. A new op is one enum variant and its arms here; every `match` over ops elsewhere is
//! exhaustive, so the compiler names each place that must learn it. The derivative formulas
//! ([`Unary::derivative`], [`Binary::partials`], [`Op::partials`] for any op, the n-ary `sum`,
//! `dot` and `max` included) are generic over [`Scalar`]: the same line of code gives a number
//! in the tape's driver, eight lanes at once in the batch's vector kernels, and a graph node in
//! [`crate::symbolic`] (second derivatives). The chain rule itself (multiplying by the adjoint
//! and accumulating with `+=`) is the drivers' loop: [`crate::tape`] for one association,
//! [`crate::batch`] for blocks of them.
//!
//! `exp.rs`: the engine's own exponential, for `exp`, `sigmoid` and `tanh`; `dot.rs`: the term
//! and partials of one pair of a `dot` node, which every driver applies.

pub(crate) mod dot;
mod exp;

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

use exp::exp;
use exp::{exp_minus_one_nonpositive, exp_nonpositive};

/// What a local derivative formula needs from a number: arithmetic, constants and unary ops.
///
/// Implemented for `f64`. Derivative formulas are written once, generically, so that a symbolic
/// implementation (a graph node handle) can reuse them unchanged.
pub trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The constant `c`, in the same space as `self` (for a graph handle: a node of the same graph).
    fn constant_like(self, c: f64) -> Self;
    /// `op` applied to `self`.
    fn apply(self, op: Unary) -> Self;

    /// The partials of [`Op::Max`]: `visit(k, d max / d a_k)` for each operand that may get a
    /// non-zero partial, with `operand(k)` the `k`-th of `n` operands and `y` their maximum.
    ///
    /// The rule: 1 for the first operand equal to `y`, 0 for the others (a subgradient where
    /// several tie). Written here with steps, so that it is a graph of ops too:
    /// `(1 - step(y - a_k)) * prod_{i<k} step(y - a_i)`, `step(d) = 1 if d > 0 else 0`, for
    /// every operand. A number knows which operand that is, and visits only it (with 1): the
    /// same rule, without the O(n^2) products and without adding zeros.
    fn max_partials(
        y: Self,
        n: usize,
        operand: impl Fn(usize) -> Self,
        mut visit: impl FnMut(usize, Self),
    ) {
        let step = |a: Self| (y - a).apply(Unary::Step { low: 0.0 });
        for k in 0..n {
            let mut d = y.constant_like(1.0) - step(operand(k));
            for i in 0..k {
                d = d * step(operand(i));
            }
            visit(k, d);
        }
    }
}

impl Scalar for f64 {
    #[inline(always)]
    fn constant_like(self, c: f64) -> f64 {
        c
    }
    #[inline(always)]
    fn apply(self, op: Unary) -> f64 {
        op.value(self)
    }
    #[inline(always)]
    fn max_partials(
        y: f64,
        n: usize,
        operand: impl Fn(usize) -> f64,
        mut visit: impl FnMut(usize, f64),
    ) {
        if let Some(k) = (0..n).position(|k| operand(k) == y) {
            visit(k, 1.0);
        }
    }
}

/// An op of one operand `x`, with output `y = f(x)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// `y = x`, `dy/dx = 1` (the tutorial's own code returns `x` here; the text means 1).
    Identity,
    /// `y = -x`, `dy/dx = -1`.
    Neg,
    /// `y = e^x`, `dy/dx = y`. Computed by `exp`, within 1 ulp of `f64::exp`.
    Exp,
    /// `y = ln x`, `dy/dx = 1/x` (NaN for `x < 0`, `-inf` at 0).
    Ln,
    /// `y = 1 / (1 + e^-x)`, `dy/dx = y (1 - y)`, computed from the output. `e^-|x|` by `exp`.
    Sigmoid,
    /// `y = tanh x`, `dy/dx = 1 - y^2`, computed from the output. From `exp`'s reduction,
    /// within 3 ulps of `f64::tanh`.
    Tanh,
    /// `y = max(0, x)`, `dy/dx = 1 if x > 0 else 0` (0 at `x = 0`).
    Relu,
    /// `y = |x|`, `dy/dx = step(x) - step(-x)`: 1 for `x > 0`, -1 for `x < 0`, 0 at `x = 0`.
    Abs,
    /// `y = x if x > 0 else slope * x`, `dy/dx = 1 if x > 0 else slope`.
    LeakyRelu {
        /// The slope for `x <= 0` (commonly 0.01).
        slope: f64,
    },
    /// `y = x^p` for a constant exponent `p`, `dy/dx = p x^(p-1)`.
    Powf {
        /// The constant exponent `p`.
        exponent: f64,
    },
    /// The step `y = 1 if x > 0 else low`, `dy/dx = 0`: the derivative of ReLU (`low = 0`) and of
    /// leaky ReLU (`low = slope`).
    Step {
        /// The value for `x <= 0`.
        low: f64,
    },
}

impl Unary {
    /// The op's value `f(x)`.
    #[inline(always)]
    pub fn value(self, x: f64) -> f64 {
        match self {
            Unary::Identity => x,
            Unary::Neg => -x,
            Unary::Exp => exp(x),
            Unary::Ln => x.ln(),
            // e^-|x| never overflows: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0.
            // Written as a select rather than two branches, so that a loop of it vectorises.
            Unary::Sigmoid => {
                let e = exp_nonpositive(-x.abs());
                let numerator = if x >= 0.0 { 1.0 } else { e };
                numerator / (1.0 + e)
            }
            // tanh |x| = -t / (2 + t) with t = e^(-2|x|) - 1, which has no cancellation for
            // small |x| (where 1 - e^(-2|x|) would lose digits); odd in x
            Unary::Tanh => {
                let t = exp_minus_one_nonpositive(-2.0 * x.abs());
                (-t / (2.0 + t)).copysign(x)
            }
            Unary::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Unary::Abs => x.abs(),
            Unary::LeakyRelu { slope } => {
                if x > 0.0 {
                    x
                } else {
                    slope * x
                }
            }
            Unary::Powf { exponent } => x.powf(exponent),
            Unary::Step { low } => {
                if x > 0.0 {
                    1.0
                } else {
                    low
                }
            }
        }
    }

    /// The local derivative `dy/dx`, given the operand `x` and the op's output `y`.
    #[inline(always)]
    pub fn derivative<S: Scalar>(self, x: S, y: S) -> S {
        match self {
            Unary::Identity => x.constant_like(1.0),
            Unary::Neg => x.constant_like(-1.0),
            Unary::Exp => y,
            Unary::Ln => x.constant_like(1.0) / x,
            Unary::Sigmoid => y * (y.constant_like(1.0) - y),
            Unary::Tanh => y.constant_like(1.0) - y * y,
            Unary::Relu => x.apply(Unary::Step { low: 0.0 }),
            Unary::Abs => x.apply(Unary::Step { low: 0.0 }) - (-x).apply(Unary::Step { low: 0.0 }),
            Unary::LeakyRelu { slope } => x.apply(Unary::Step { low: slope }),
            Unary::Powf { exponent } => {
                x.constant_like(exponent)
                    * x.apply(Unary::Powf {
                        exponent: exponent - 1.0,
                    })
            }
            Unary::Step { .. } => x.constant_like(0.0),
        }
    }

    /// The op's name as used in traces, pictures, files and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Unary::Identity => "identity",
            Unary::Neg => "neg",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Relu => "relu",
            Unary::Abs => "abs",
            Unary::LeakyRelu { .. } => "leaky_relu",
            Unary::Powf { .. } => "powf",
            Unary::Step { .. } => "step",
        }
    }
}

/// An op of two operands `a`, `b` (in this order), with output `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binary {
    /// `y = a + b`, partials `[1, 1]`.
    Add,
    /// `y = a - b`, partials `[1, -1]`.
    Sub,
    /// `y = a * b`, partials `[b, a]`.
    Mul,
    /// `y = a / b`, partials `[1/b, -a/b^2] = [1/b, -y/b]`.
    Div,
}

impl Binary {
    /// The op's value.
    #[inline(always)]
    pub fn value<S: Scalar>(self, a: S, b: S) -> S {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
        }
    }

    /// The local partial derivatives `[dy/da, dy/db]`, given the operands and the output `y`.
    #[inline(always)]
    pub fn partials<S: Scalar>(self, a: S, b: S, y: S) -> [S; 2] {
        match self {
            Binary::Add => [a.constant_like(1.0), a.constant_like(1.0)],
            Binary::Sub => [a.constant_like(1.0), a.constant_like(-1.0)],
            Binary::Mul => [b, a],
            Binary::Div => [b.constant_like(1.0) / b, -y / b],
        }
    }

    /// The op's name as used in traces, pictures, files and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }
}

/// An operation node of the graph: what it computes from its ordered operands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// One operand.
    Unary(Unary),
    /// Two operands, in order.
    Binary(Binary),
    /// `y = sum_i a_i` over one or more operands; `dy/da_i = 1` (the identity's partial, summed).
    Sum,
    /// `y = sum_k a_{2k} a_{2k+1}` over pairs of operands: a neuron's weighted sum in one node.
    /// Each pair is a [`Binary::Mul`], so its partials are `Mul`'s: `[a_{2k+1}, a_{2k}]`.
    Dot,
    /// `y = max_i a_i` over one or more operands; `dy/da_i = 1` for the first operand equal to
    /// the maximum, 0 for the others (a subgradient where several tie). Used for a numerically
    /// stable log-sum-exp.
    Max,
}

/// How many operands an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// One or more.
    AtLeastOne,
    /// A positive even number (pairs).
    Pairs,
}

impl Arity {
    /// Whether `n` operands are acceptable.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeastOne => n >= 1,
            Arity::Pairs => n >= 2 && n.is_multiple_of(2),
        }
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arity::Exactly(k) => write!(f, "{k}"),
            Arity::AtLeastOne => f.write_str("at least 1"),
            Arity::Pairs => f.write_str("a positive even number of"),
        }
    }
}

impl Op {
    /// How many operands the op takes.
    pub fn arity(self) -> Arity {
        match self {
            Op::Unary(_) => Arity::Exactly(1),
            Op::Binary(_) => Arity::Exactly(2),
            Op::Sum | Op::Max => Arity::AtLeastOne,
            Op::Dot => Arity::Pairs,
        }
    }

    /// The op's name as used in traces, pictures, files and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Sum => "sum",
            Op::Dot => "dot",
            Op::Max => "max",
        }
    }

    /// The op's constant parameter and its name, if it has one (leaky ReLU's `slope`, the
    /// `exponent` of `powf`, the step's `low` value).
    pub fn parameter(self) -> Option<(&'static str, f64)> {
        let mut op = self;
        op.parameter_mut().map(|(name, value)| (name, *value))
    }

    /// The op's constant parameter, to read or change, and its name.
    fn parameter_mut(&mut self) -> Option<(&'static str, &mut f64)> {
        match self {
            Op::Unary(Unary::LeakyRelu { slope }) => Some(("slope", slope)),
            Op::Unary(Unary::Powf { exponent }) => Some(("exponent", exponent)),
            Op::Unary(Unary::Step { low }) => Some(("low", low)),
            Op::Unary(
                Unary::Identity
                | Unary::Neg
                | Unary::Exp
                | Unary::Ln
                | Unary::Sigmoid
                | Unary::Tanh
                | Unary::Relu
                | Unary::Abs,
            )
            | Op::Binary(_)
            | Op::Sum
            | Op::Dot
            | Op::Max => None,
        }
    }

    /// The op's value on `operands`, or `None` if their number does not fit the op's arity.
    pub fn value(self, operands: &[f64]) -> Option<f64> {
        self.arity()
            .accepts(operands.len())
            .then(|| self.eval(operands.len(), |k| operands[k]))
    }

    /// The op's value `y`, with `operand(k)` the `k`-th of its `n` operands (`n` fits the arity).
    ///
    /// The n-ary ops add their terms in operand order, from 0 (`max` from minus infinity), the
    /// order every driver and the textbook's sums keep.
    #[inline(always)]
    pub(crate) fn eval(self, n: usize, operand: impl Fn(usize) -> f64) -> f64 {
        match self {
            Op::Unary(u) => u.value(operand(0)),
            Op::Binary(b) => b.value(operand(0), operand(1)),
            Op::Sum => (0..n).fold(0.0, |y, k| y + operand(k)),
            Op::Dot => (0..n / 2).fold(0.0, |y, p| {
                y + dot::term(operand(2 * p), operand(2 * p + 1))
            }),
            Op::Max => (0..n).fold(f64::NEG_INFINITY, |y, k| y.max(operand(k))),
        }
    }

    /// The local partials of the op: `visit(k, dy/da_k)` for each operand `k` that may get a
    /// non-zero partial, in operand order, with `operand(k)` the `k`-th of its `n` operands and
    /// `y` its output. The chain rule (`adjoint(a_k) += adjoint(y) * dy/da_k`) is the caller's.
    ///
    /// - unary and binary ops: [`Unary::derivative`], [`Binary::partials`];
    /// - `sum`: 1 for every operand;
    /// - `dot`: each pair is a [`Binary::Mul`], so its partials are `Mul`'s, `[a_{2k+1}, a_{2k}]`
    ///   (`dot.rs`, which the block driver applies too);
    /// - `max`: 1 for the first operand equal to `y` (see [`Scalar::max_partials`]).
    #[inline(always)]
    pub fn partials<S: Scalar>(
        self,
        n: usize,
        operand: impl Fn(usize) -> S,
        y: S,
        mut visit: impl FnMut(usize, S),
    ) {
        match self {
            Op::Unary(u) => visit(0, u.derivative(operand(0), y)),
            Op::Binary(b) => {
                let [da, db] = b.partials(operand(0), operand(1), y);
                visit(0, da);
                visit(1, db);
            }
            Op::Sum => {
                for k in 0..n {
                    visit(k, y.constant_like(1.0));
                }
            }
            Op::Dot => {
                for p in 0..n / 2 {
                    let [da, db] = dot::partials(operand(2 * p), operand(2 * p + 1));
                    visit(2 * p, da);
                    visit(2 * p + 1, db);
                }
            }
            Op::Max => S::max_partials(y, n, operand, visit),
        }
    }
}

impl Op {
    /// One op of every kind, in the order of their declaration, those with a parameter with
    /// 0: the ops a file or a page can name ([`Op::kind_named`]).
    pub const KINDS: [Op; 18] = [
        Op::Binary(Binary::Add),
        Op::Binary(Binary::Sub),
        Op::Binary(Binary::Mul),
        Op::Binary(Binary::Div),
        Op::Unary(Unary::Neg),
        Op::Unary(Unary::Identity),
        Op::Unary(Unary::Exp),
        Op::Unary(Unary::Ln),
        Op::Unary(Unary::Sigmoid),
        Op::Unary(Unary::Tanh),
        Op::Unary(Unary::Relu),
        Op::Unary(Unary::Abs),
        Op::Unary(Unary::LeakyRelu { slope: 0.0 }),
        Op::Unary(Unary::Powf { exponent: 0.0 }),
        Op::Unary(Unary::Step { low: 0.0 }),
        Op::Sum,
        Op::Dot,
        Op::Max,
    ];

    /// The op of [`Op::KINDS`] named `name` ([`Op::name`]), without its parameter's value.
    pub fn kind_named(name: &str) -> Option<Op> {
        Op::KINDS.into_iter().find(|op| op.name() == name)
    }

    /// The op with its parameter (if it has one: see [`Op::parameter`]) set to `value`.
    pub fn with_parameter(mut self, value: f64) -> Op {
        if let Some((_, parameter)) = self.parameter_mut() {
            *parameter = value;
        }
        self
    }
}

/// Tells ops apart exactly, cheaply: the variant and the bits of the op's parameter (so that
/// `powf(-0.0)` and `powf(0.0)` are two ops), for tables of the distinct ops of a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum OpKey {
    Unary(std::mem::Discriminant<Unary>, u64),
    Binary(Binary),
    Sum,
    Dot,
    Max,
}

impl Op {
    /// The op's [`OpKey`].
    #[inline]
    pub(crate) fn key(self) -> OpKey {
        match self {
            Op::Unary(u) => {
                let bits = self.parameter().map_or(0, |(_, v)| v.to_bits());
                OpKey::Unary(std::mem::discriminant(&u), bits)
            }
            Op::Binary(b) => OpKey::Binary(b),
            Op::Sum => OpKey::Sum,
            Op::Dot => OpKey::Dot,
            Op::Max => OpKey::Max,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parameter() {
            Some((_, p)) => write!(f, "{}({p})", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Op::KINDS`] has every op once: the match below names every variant (the compiler
    /// asks for a new one here), and each must be found in the catalogue by its name.
    #[test]
    fn the_catalogue_names_every_op_once() {
        let every = |op: Op| match op {
            Op::Unary(
                Unary::Identity
                | Unary::Neg
                | Unary::Exp
                | Unary::Ln
                | Unary::Sigmoid
                | Unary::Tanh
                | Unary::Relu
                | Unary::Abs
                | Unary::LeakyRelu { .. }
                | Unary::Powf { .. }
                | Unary::Step { .. },
            )
            | Op::Binary(Binary::Add | Binary::Sub | Binary::Mul | Binary::Div)
            | Op::Sum
            | Op::Dot
            | Op::Max => op.name(),
        };
        let names: Vec<&str> = Op::KINDS.into_iter().map(every).collect();
        let mut distinct = names.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "a name twice in {names:?}");
        // the count of variants named in `every` above
        assert_eq!(names.len(), 11 + 4 + 3, "{names:?}");
        for op in Op::KINDS {
            assert_eq!(Op::kind_named(op.name()), Some(op));
        }
    }
}
