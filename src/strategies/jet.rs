//! Third derivatives of random DAGs' nodes along each input or parameter, computed apart from
//! the engine's own derivatives, to keep finite differences meaningful (see [`MAX_THIRD`]).

use crate::op::{Binary, Op, Unary};

/// Largest third derivative a node may have along any one input or parameter, at the case's
/// leaf values. Central differences of step `h` err by `h^2 |f'''| / 6`: with the default step
/// (`h <= 6e-6 * 2` for leaves in `[-2, 2]`) that is at most `2.4e-11 * 1e4 = 2.4e-7`.
/// Bounded values alone do not bound it: `tanh` of a node of slope 200 has `|f'''| ~ 1e7`.
pub(super) const MAX_THIRD: f64 = 1e4;

/// A node's value and its first three derivatives along one input or parameter, at the case's
/// leaf values: `[v, v', v'', v''']`. Computed here, apart from the engine's own derivatives.
pub(super) type Jet = [f64; 4];

/// The jet of `y = f(u)` from `f` and its first three derivatives at `u`:
/// `y' = f' u'`, `y'' = f'' u'^2 + f' u''`, `y''' = f''' u'^3 + 3 f'' u' u'' + f' u'''`.
fn compose(f: [f64; 4], u: Jet) -> Jet {
    [
        f[0],
        f[1] * u[1],
        f[2] * u[1] * u[1] + f[1] * u[2],
        f[3] * u[1].powi(3) + 3.0 * f[2] * u[1] * u[2] + f[1] * u[3],
    ]
}

/// The jet of `a b` (Leibniz): `(ab)''' = a''' b + 3 a'' b' + 3 a' b'' + a b'''`.
fn product(a: Jet, b: Jet) -> Jet {
    [
        a[0] * b[0],
        a[1] * b[0] + a[0] * b[1],
        a[2] * b[0] + 2.0 * a[1] * b[1] + a[0] * b[2],
        a[3] * b[0] + 3.0 * a[2] * b[1] + 3.0 * a[1] * b[2] + a[0] * b[3],
    ]
}

/// `[f(x), f'(x), f''(x), f'''(x)]` for a unary op, from the textbook formulas.
fn unary_derivatives(op: Unary, x: f64) -> [f64; 4] {
    match op {
        Unary::Identity => [x, 1.0, 0.0, 0.0],
        Unary::Neg => [-x, -1.0, 0.0, 0.0],
        Unary::Exp => [x.exp(); 4],
        Unary::Ln => [x.ln(), 1.0 / x, -1.0 / (x * x), 2.0 / x.powi(3)],
        Unary::Sigmoid => {
            // s' = s (1 - s), s'' = s' (1 - 2s), s''' = s' (1 - 6s + 6s^2)
            let s = 1.0 / (1.0 + (-x).exp());
            let d = s * (1.0 - s);
            [s, d, d * (1.0 - 2.0 * s), d * (1.0 - 6.0 * s + 6.0 * s * s)]
        }
        Unary::Tanh => {
            // t' = 1 - t^2, t'' = -2 t t', t''' = t' (6 t^2 - 2)
            let t = x.tanh();
            let d = 1.0 - t * t;
            [t, d, -2.0 * t * d, d * (6.0 * t * t - 2.0)]
        }
        Unary::Relu if x > 0.0 => [x, 1.0, 0.0, 0.0],
        Unary::Relu => [0.0; 4],
        Unary::LeakyRelu { .. } if x > 0.0 => [x, 1.0, 0.0, 0.0],
        Unary::LeakyRelu { slope } => [slope * x, slope, 0.0, 0.0],
        Unary::Powf { exponent: p } => {
            // c x^(p - k); a zero coefficient stays 0 where x^(p - k) is infinite (x^2 at 0)
            let term = |c: f64, k: f64| if c == 0.0 { 0.0 } else { c * x.powf(p - k) };
            [
                x.powf(p),
                term(p, 1.0),
                term(p * (p - 1.0), 2.0),
                term(p * (p - 1.0) * (p - 2.0), 3.0),
            ]
        }
        Unary::Step { low } => [if x > 0.0 { 1.0 } else { low }, 0.0, 0.0, 0.0],
        // the engine's step(x) - step(-x): 0 at the kink
        Unary::Abs if x > 0.0 => [x, 1.0, 0.0, 0.0],
        Unary::Abs if x < 0.0 => [-x, -1.0, 0.0, 0.0],
        Unary::Abs => [0.0; 4],
    }
}

/// The jet of an op's output from its operands' jets along the same coordinate.
fn op_jet(op: Op, operands: &[Jet]) -> Jet {
    let add = |a: Jet, b: Jet| -> Jet { std::array::from_fn(|k| a[k] + b[k]) };
    match op {
        Op::Unary(u) => compose(unary_derivatives(u, operands[0][0]), operands[0]),
        Op::Binary(Binary::Add) => add(operands[0], operands[1]),
        Op::Binary(Binary::Sub) => add(operands[0], operands[1].map(|v| -v)),
        Op::Binary(Binary::Mul) => product(operands[0], operands[1]),
        Op::Binary(Binary::Div) => {
            let recip = unary_derivatives(Unary::Powf { exponent: -1.0 }, operands[1][0]);
            product(operands[0], compose(recip, operands[1]))
        }
        Op::Sum => operands.iter().fold([0.0; 4], |acc, &a| add(acc, a)),
        Op::Dot => operands
            .chunks_exact(2)
            .fold([0.0; 4], |acc, pair| add(acc, product(pair[0], pair[1]))),
        // the first maximum, as the engine takes it
        Op::Max => *operands
            .iter()
            .reduce(|m, a| if a[0] > m[0] { a } else { m })
            .expect("internal error: max has operands"),
    }
}

/// The jets of the op `(op, operands)` along every coordinate, or `None` if some third
/// derivative is above [`MAX_THIRD`] (or not finite).
pub(super) fn gentle(
    op: Op,
    operands: &[usize],
    jets: &[Vec<Jet>],
    coordinates: usize,
) -> Option<Vec<Jet>> {
    let out: Vec<Jet> = (0..coordinates)
        .map(|j| {
            let at: Vec<Jet> = operands.iter().map(|&i| jets[i][j]).collect();
            op_jet(op, &at)
        })
        .collect();
    out.iter()
        .all(|jet| jet.iter().all(|v| v.is_finite()) && jet[3].abs() <= MAX_THIRD)
        .then_some(out)
}
