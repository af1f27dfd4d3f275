//! The driver of one association: one loop forward, one loop backward.
//!
//! Both loops are compiled twice from the same code, `CHECK` off and on. With it on (anomaly
//! mode) each op's output, or each adjoint it adds to, is checked as it is written, and the
//! first that is not finite stops the pass with [`Error::Anomaly`], naming that node, its op and
//! its operand values. A neuron is checked at its `mul`, `add` and unary op as the three
//! separate instructions would be.
//!
//! The value or adjoint just written stays in a register: in a chain, each instruction's
//! operand is usually the previous one's output, which need not come back through memory.

use super::workspace::Entry;
use super::{Instr, Tape, Workspace};
use crate::error::{Error, Result};
use crate::graph::NodeId;
use crate::op::{Binary, Op, Unary};

impl Tape {
    /// The forward pass: sets the inputs (one value per input leaf, in slot order) and computes
    /// every node's value.
    ///
    /// # Errors
    /// [`Error::InputCount`] for the wrong number of values; [`Error::WorkspaceMismatch`];
    /// in anomaly mode, [`Error::Anomaly`] naming the first node whose value is not finite.
    ///
    /// # Complexity
    /// O(nodes + edges), no allocation.
    pub fn forward(&self, ws: &mut Workspace, inputs: &[f64]) -> Result<()> {
        self.check_workspace(ws)?;
        if inputs.len() != self.inputs.len() {
            return Err(Error::InputCount {
                expected: self.inputs.len(),
                inputs: self.inputs.len(),
                lanes: 1,
                got: inputs.len(),
            });
        }
        for (&row, &value) in self.input_rows.iter().zip(inputs) {
            ws.values[row as usize] = value;
        }
        // the adjoints of an earlier backward pass are for other values
        ws.output = u32::MAX;
        ws.forward_done = true;
        if ws.anomaly {
            self.forward_pass::<true>(&mut ws.values)
        } else {
            self.forward_pass::<false>(&mut ws.values)
        }
    }

    /// The backward pass: the gradient of `output` with respect to every node, by one reverse
    /// sweep. Read it with [`Tape::gradient`] or [`Tape::gradients_of`].
    ///
    /// Run it after [`Tape::forward`]; running it twice gives the same adjoints.
    ///
    /// # Errors
    /// [`Error::ForeignNode`]/[`Error::NodeAfterCompile`] for an output not in the graph;
    /// [`Error::WorkspaceMismatch`]; [`Error::PassNotRun`] before any forward pass; in anomaly
    /// mode, [`Error::Anomaly`].
    pub fn backward(&self, ws: &mut Workspace, output: impl Into<NodeId>) -> Result<()> {
        self.backward_seeded(ws, output, 1.0)
    }

    /// [`Tape::backward`] with the output's adjoint seeded with `seed` instead of 1 (`1/T` for
    /// a mean over associations).
    pub(crate) fn backward_seeded(
        &self,
        ws: &mut Workspace,
        output: impl Into<NodeId>,
        seed: f64,
    ) -> Result<()> {
        self.check_workspace(ws)?;
        let output = self.check(output.into())?;
        if !ws.forward_done {
            return Err(Error::PassNotRun {
                pass: "forward",
                what: "the values the backward pass needs".into(),
            });
        }
        ws.adjoints.fill(0.0);
        ws.output = output;
        ws.seed = seed;
        let check = ws.anomaly;
        let (values, adjoints) = (&ws.values[..], &mut ws.adjoints[..]);
        // Nodes created after the output cannot influence it: start at its instruction.
        let end = match self.rows.row(output) {
            Some(row) => {
                adjoints[row as usize] = seed;
                self.instrs.partition_point(|i| i.out() <= row)
            }
            None => {
                // inside a neuron: its instruction from that node on, then the ones before it
                let (k, entry) = self.neuron_of(output);
                let Instr::Neuron { op, out, start } = self.instrs[k] else {
                    unreachable!("internal error: neuron_of gives a neuron")
                };
                let neuron = (op, out, start);
                if check {
                    self.neuron_backward::<true>(neuron, values, adjoints, entry, seed)?;
                } else {
                    self.neuron_backward::<false>(neuron, values, adjoints, entry, seed)?;
                }
                k
            }
        };
        if check {
            self.backward_pass::<true>(values, adjoints, end)
        } else {
            self.backward_pass::<false>(values, adjoints, end)
        }
    }

    fn forward_pass<const CHECK: bool>(&self, values: &mut [f64]) -> Result<()> {
        if CHECK {
            // leaves first: a NaN input or weight is named as itself, not as its first consumer
            let leaves = (self.input_rows.iter().map(|&r| (r, "input")))
                .chain(self.param_rows.iter().map(|&r| (r, "param")));
            for (row, kind) in leaves {
                let value = values[row as usize];
                if !value.is_finite() {
                    return Err(Error::Anomaly {
                        pass: "forward",
                        node: self.name(self.rows.node(row)),
                        op: kind.to_string(),
                        value,
                        operands: Vec::new(),
                    });
                }
            }
        }
        let mut last = (u32::MAX, 0.0);
        for instr in &self.instrs {
            let out = instr.out();
            let node = || self.rows.node(out);
            let y = match *instr {
                Instr::Unary { op, a, .. } => {
                    let op = self.unary_ops[op as usize];
                    let x = carried(values, last, a);
                    let y = op.value(x);
                    if CHECK && !y.is_finite() {
                        return Err(self.anomaly("forward", node(), Op::Unary(op), y, vec![x]));
                    }
                    y
                }
                Instr::Binary { op, a, b, .. } => {
                    let (xa, xb) = (carried(values, last, a), carried(values, last, b));
                    let y = op.value(xa, xb);
                    if CHECK && !y.is_finite() {
                        let operands = vec![xa, xb];
                        return Err(self.anomaly("forward", node(), Op::Binary(op), y, operands));
                    }
                    y
                }
                Instr::Nary { op, start, len, .. } => {
                    let operands = &self.args[start as usize..(start + len) as usize];
                    let y = op
                        .op()
                        .eval(operands.len(), |k| values[operands[k] as usize]);
                    if CHECK && !y.is_finite() {
                        let operands = operands.iter().map(|&r| values[r as usize]).collect();
                        return Err(self.anomaly("forward", node(), op.op(), y, operands));
                    }
                    y
                }
                Instr::Neuron { op, start, .. } => {
                    let [va, vb, vc] = self
                        .neuron_operands(start)
                        .map(|r| carried(values, last, r));
                    let act = self.unary_ops[op as usize];
                    let x = Binary::Mul.value(va, vb);
                    if CHECK && !x.is_finite() {
                        let mul = Op::Binary(Binary::Mul);
                        return Err(self.anomaly("forward", node() - 2, mul, x, vec![va, vb]));
                    }
                    let s = Binary::Add.value(x, vc);
                    if CHECK && !s.is_finite() {
                        let add = Op::Binary(Binary::Add);
                        return Err(self.anomaly("forward", node() - 1, add, s, vec![x, vc]));
                    }
                    let y = act.value(s);
                    if CHECK && !y.is_finite() {
                        return Err(self.anomaly("forward", node(), Op::Unary(act), y, vec![s]));
                    }
                    y
                }
            };
            values[out as usize] = y;
            last = (out, y);
        }
        Ok(())
    }

    /// The reverse sweep over instructions `..end`, from the adjoints already seeded.
    fn backward_pass<const CHECK: bool>(
        &self,
        values: &[f64],
        adjoints: &mut [f64],
        end: usize,
    ) -> Result<()> {
        // As in the forward pass, an adjoint just written stays in a register: the next
        // instruction in the sweep is usually the one that made that operand.
        let mut last = (u32::MAX, 0.0);
        for instr in self.instrs[..end].iter().rev() {
            last = match *instr {
                Instr::Unary { op, out, a } => {
                    let op = self.unary_ops[op as usize];
                    let g = carried(adjoints, last, out);
                    let x = values[a as usize];
                    let ga = adjoints[a as usize] + g * op.derivative(x, values[out as usize]);
                    adjoints[a as usize] = ga;
                    if CHECK && !ga.is_finite() {
                        let node = self.rows.node(out);
                        return Err(self.anomaly("backward", node, Op::Unary(op), ga, vec![x]));
                    }
                    (a, ga)
                }
                Instr::Binary { op, out, a, b } => {
                    let g = carried(adjoints, last, out);
                    let (xa, xb) = (values[a as usize], values[b as usize]);
                    let [da, db] = op.partials(xa, xb, values[out as usize]);
                    // a and b may be the same node (x * x): two separate accumulations.
                    let ga = adjoints[a as usize] + g * da;
                    adjoints[a as usize] = ga;
                    let gb = adjoints[b as usize] + g * db;
                    adjoints[b as usize] = gb;
                    if CHECK {
                        self.check_adjoints((Op::Binary(op), out), &[a, b], values, adjoints)?;
                    }
                    // the later-made operand is the likelier next in the sweep (a chain's
                    // previous link, not a shared weight)
                    if a > b { (a, ga) } else { (b, gb) }
                }
                Instr::Nary {
                    op,
                    out,
                    start,
                    len,
                } => {
                    let g = adjoints[out as usize];
                    let operands = &self.args[start as usize..(start + len) as usize];
                    let value = |k: usize| values[operands[k] as usize];
                    op.op()
                        .partials(operands.len(), value, values[out as usize], |k, d| {
                            adjoints[operands[k] as usize] += g * d;
                        });
                    if CHECK {
                        self.check_adjoints((op.op(), out), operands, values, adjoints)?;
                    }
                    (u32::MAX, 0.0)
                }
                Instr::Neuron { op, out, start } => {
                    let g = carried(adjoints, last, out);
                    let neuron = (op, out, start);
                    self.neuron_backward::<CHECK>(neuron, values, adjoints, Entry::Out, g)?
                }
            };
        }
        Ok(())
    }

    /// The chain rule through one neuron `op(a * b + c)` from `entry` with `g` its adjoint,
    /// adding the contributions to `c`, `a` and `b`; returns the later-made of `a` and `b` with
    /// its new adjoint. With `CHECK`, stops at the first of its three ops whose contribution is
    /// not finite, as the three separate instructions would.
    #[inline(always)]
    fn neuron_backward<const CHECK: bool>(
        &self,
        (op, out, start): (u32, u32, u32),
        values: &[f64],
        adjoints: &mut [f64],
        entry: Entry,
        g: f64,
    ) -> Result<(u32, f64)> {
        let act = self.unary_ops[op as usize];
        let [a, b, c] = self.neuron_operands(start);
        let inputs = [a, b, c].map(|r| values[r as usize]);
        let n = neuron_adjoints(act, inputs, values[out as usize], g, entry);
        let report = |at: u32, op: Op, value: f64| {
            let [va, vb, vc] = inputs;
            let x = Binary::Mul.value(va, vb);
            let operands = match at {
                2 => vec![va, vb],
                1 => vec![x, vc],
                _ => vec![Binary::Add.value(x, vc)],
            };
            self.anomaly("backward", self.rows.node(out) - at, op, value, operands)
        };
        if CHECK && entry == Entry::Out && !n.add.is_finite() {
            return Err(report(0, Op::Unary(act), n.add));
        }
        if entry != Entry::Mul {
            adjoints[c as usize] += n.add_to_c;
            if CHECK {
                let add = Op::Binary(Binary::Add);
                for value in [n.mul, adjoints[c as usize]] {
                    if !value.is_finite() {
                        return Err(report(1, add, value));
                    }
                }
            }
        }
        let ga = adjoints[a as usize] + n.add_to_a;
        adjoints[a as usize] = ga;
        let gb = adjoints[b as usize] + n.add_to_b;
        adjoints[b as usize] = gb;
        if CHECK {
            for value in [adjoints[a as usize], adjoints[b as usize]] {
                if !value.is_finite() {
                    return Err(report(2, Op::Binary(Binary::Mul), value));
                }
            }
        }
        Ok(if a > b { (a, ga) } else { (b, gb) })
    }

    /// In anomaly mode, after the op `op` of the instruction writing row `out` added to its
    /// operands' adjoints: the first that is not finite, reported at that op.
    fn check_adjoints(
        &self,
        (op, out): (Op, u32),
        operands: &[u32],
        values: &[f64],
        adjoints: &[f64],
    ) -> Result<()> {
        for &r in operands {
            let value = adjoints[r as usize];
            if !value.is_finite() {
                let operands = operands.iter().map(|&r| values[r as usize]).collect();
                let node = self.rows.node(out);
                return Err(self.anomaly("backward", node, op, value, operands));
            }
        }
        Ok(())
    }

    #[cold]
    fn anomaly(
        &self,
        pass: &'static str,
        node: u32,
        op: Op,
        value: f64,
        operands: Vec<f64>,
    ) -> Error {
        Error::Anomaly {
            pass,
            node: self.name(node),
            op: op.to_string(),
            value,
            operands,
        }
    }
}

/// `buf[node]`, or the value in hand if it is the last one written there: `last` is
/// `(node, value)` of the latest write (`u32::MAX` for none).
#[inline(always)]
fn carried(buf: &[f64], last: (u32, f64), node: u32) -> f64 {
    if node == last.0 {
        last.1
    } else {
        buf[node as usize]
    }
}

/// The adjoints inside a neuron and its contributions to its operands.
pub(super) struct NeuronAdjoints {
    /// Of the `add` node (0 when entered at the `mul`).
    pub(super) add: f64,
    /// Of the `mul` node.
    pub(super) mul: f64,
    add_to_a: f64,
    add_to_b: f64,
    /// 0 when entered at the `mul`, where the `add` is not swept (callers skip it).
    add_to_c: f64,
}

/// The chain rule through a neuron `y = op(a * b + c)` from `entry` with adjoint `g`: its three
/// ops' local partials, each adjoint formed exactly as the sweep over the three separate ops
/// would form it (an adjoint accumulated onto 0, or seeded), so that the bits are the same.
#[inline(always)]
pub(super) fn neuron_adjoints(
    op: Unary,
    [va, vb, vc]: [f64; 3],
    y: f64,
    g: f64,
    entry: Entry,
) -> NeuronAdjoints {
    let x = Binary::Mul.value(va, vb);
    let s = Binary::Add.value(x, vc);
    let add = match entry {
        Entry::Out => 0.0 + g * op.derivative(s, y),
        Entry::Add => g,
        Entry::Mul => 0.0,
    };
    let [to_mul, to_c] = Binary::Add.partials(x, vc, s);
    let mul = match entry {
        Entry::Mul => g,
        _ => 0.0 + add * to_mul,
    };
    let [to_a, to_b] = Binary::Mul.partials(va, vb, x);
    NeuronAdjoints {
        add,
        mul,
        add_to_a: mul * to_a,
        add_to_b: mul * to_b,
        add_to_c: add * to_c,
    }
}

#[cfg(test)]
mod tests {
    use crate::Graph;
    use crate::error::Error;

    /// Where the checked sweep stops, in the fused tape and in the tape of separate ops (the
    /// oracle: each op checked as it is written): `(pass, node index, op)`.
    fn stop(tape: &super::Tape, input: f64, output: crate::NodeId) -> (&'static str, u32, String) {
        let mut ws = tape.workspace();
        ws.set_anomaly_mode(true);
        let err = match tape.forward(&mut ws, &[input]) {
            Ok(()) => tape.backward(&mut ws, output).unwrap_err(),
            Err(err) => err,
        };
        match err {
            Error::Anomaly { pass, node, op, .. } => (pass, node.index, op),
            other => panic!("expected an anomaly, got {other:?}"),
        }
    }

    /// `tanh(x * w + b)` at `x = 1.5`, `w = b = 1e308`: the product 1.5e308 is finite, the
    /// sum 2.5e308 is not (above f64::MAX, 1.8e308): the forward pass stops at the `add`.
    #[test]
    fn an_overflow_of_a_neurons_add_is_reported_at_the_add_forward() {
        let g = Graph::new();
        let (x, w, b) = (g.input("x"), g.param("w", 1e308), g.param("b", 1e308));
        let s = x * w + b;
        let y = s.tanh();
        let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
        assert!(fused.row_count() < plain.row_count(), "the neuron is fused");
        let want = ("forward", s.id().index() as u32, "add".to_string());
        assert_eq!(stop(&fused, 1.5, y.id()), want);
        assert_eq!(stop(&plain, 1.5, y.id()), want);
    }

    /// `E = tanh(x * w + b) * 1e308 + b * 1e308` at `x = 0`, `b = 0`: every value is finite
    /// (tanh 0 = 0), and so is each adjoint the sweep forms on the way, 1e308 at most, until
    /// the neuron's `add` passes `d tanh/ds * 1e308 = 1e308` on to `b`, whose adjoint already
    /// holds 1e308 from its other use: 2e308 overflows. The backward pass stops at the `add`.
    #[test]
    fn an_overflow_of_a_neurons_add_is_reported_at_the_add_backward() {
        let g = Graph::new();
        let (x, w, b) = (g.input("x"), g.param("w", 0.5), g.param("b", 0.0));
        let s = x * w + b;
        let y = s.tanh();
        let error = g.sum(&[y * 1e308, b * 1e308]);
        let (fused, plain) = (g.compile().unwrap(), g.compile_unfused().unwrap());
        assert!(fused.row_count() < plain.row_count(), "the neuron is fused");
        let want = ("backward", s.id().index() as u32, "add".to_string());
        assert_eq!(stop(&fused, 0.0, error.id()), want);
        assert_eq!(stop(&plain, 0.0, error.id()), want);
    }
}
