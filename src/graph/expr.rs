//! Handles for building graphs the way the maths is written: `(x1 * w1 + x2 * w2 + b).sigmoid()`.
//!
//! An [`Expr`] is a node of a [`Graph`] plus a reference to that graph; operators add op nodes.
//! This module owns the notation only; the ops' maths is in [`crate::op`].

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::graph::{Graph, NodeId};
use crate::op::{Binary, Op, Scalar, Unary};

/// A handle on a node of a graph, for building expressions with operators.
///
/// Mixing handles of two graphs in one operator cannot return an error there; it is recorded and
/// reported by [`Graph::compile`] as [`crate::Error::ForeignNode`].
///
/// # Examples
/// ```
/// use backprop::Graph;
/// let g = Graph::new();
/// let x = g.input("x");
/// let y = x * x + 2.0 * x; // x is used three times: fan-out and both operands of one op
/// let grads = g.compile()?.gradients(&[3.0], y)?;
/// assert_eq!(grads.wrt(x)?, 2.0 * 3.0 + 2.0);
/// # Ok::<(), backprop::Error>(())
/// ```
///
/// # Returning a graph with its handles
/// A handle borrows its graph, so a function cannot return both. Return the graph with the
/// [`NodeId`]s of the nodes that matter (a `NodeId` is plain data), and take handles again
/// with [`Graph::handle`] where operators are wanted:
/// ```
/// use backprop::{Graph, NodeId};
/// /// `y = tanh(w x + b)`, its graph and the nodes the caller needs.
/// fn neuron() -> (Graph, [NodeId; 2]) {
///     let g = Graph::new();
///     let x = g.input("x");
///     let (w, b) = (g.param("w", 0.5), g.param("b", 0.1));
///     let y = (x * w + b).tanh();
///     let ids = [x.id(), y.id()];
///     (g, ids)
/// }
/// let (g, [x, y]) = neuron();
/// let loss = (g.handle(y)? - 1.0).powi(2); // more nodes, on the returned graph
/// let grads = g.compile()?.gradients(&[2.0], loss)?;
/// assert!(grads.wrt(x)?.is_finite());
/// # Ok::<(), backprop::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Expr<'g> {
    graph: &'g Graph,
    id: NodeId,
}

impl fmt::Debug for Expr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.id).finish()
    }
}

impl<'g> Expr<'g> {
    pub(crate) fn new(graph: &'g Graph, id: NodeId) -> Expr<'g> {
        Expr { graph, id }
    }

    /// The node this handle stands for.
    pub fn id(self) -> NodeId {
        self.id
    }

    /// The graph the node belongs to.
    pub fn graph(self) -> &'g Graph {
        self.graph
    }

    /// Gives the node a label (shown in traces, pictures and error messages) and returns it.
    pub fn labelled(self, label: &str) -> Expr<'g> {
        // The handle's own node always exists in its own graph.
        self.graph
            .set_label(self.id, label)
            .expect("internal error: a handle's node is in its graph");
        self
    }

    fn unary(self, op: Unary) -> Expr<'g> {
        self.graph.op_deferred(Op::Unary(op), &[self])
    }

    fn binary(self, op: Binary, rhs: Expr<'_>) -> Expr<'g> {
        self.graph.op_deferred(Op::Binary(op), &[self, rhs])
    }

    /// `1 / (1 + e^-x)`.
    pub fn sigmoid(self) -> Expr<'g> {
        self.unary(Unary::Sigmoid)
    }
    /// `tanh x`.
    pub fn tanh(self) -> Expr<'g> {
        self.unary(Unary::Tanh)
    }
    /// `max(0, x)`.
    pub fn relu(self) -> Expr<'g> {
        self.unary(Unary::Relu)
    }
    /// `x if x > 0 else slope * x`.
    pub fn leaky_relu(self, slope: f64) -> Expr<'g> {
        self.unary(Unary::LeakyRelu { slope })
    }
    /// `x` as a node of its own (the identity activation).
    pub fn identity(self) -> Expr<'g> {
        self.unary(Unary::Identity)
    }
    /// `e^x`.
    pub fn exp(self) -> Expr<'g> {
        self.unary(Unary::Exp)
    }
    /// `ln x`.
    pub fn ln(self) -> Expr<'g> {
        self.unary(Unary::Ln)
    }
    /// `x^exponent` for a constant exponent.
    pub fn powf(self, exponent: f64) -> Expr<'g> {
        self.unary(Unary::Powf { exponent })
    }
    /// `x^n` for a constant integer `n`: [`Expr::powf`] with `n` as the exponent (the same op;
    /// a negative base is fine, as for any integer exponent).
    pub fn powi(self, n: i32) -> Expr<'g> {
        self.powf(f64::from(n))
    }
    /// `sqrt x`: [`Expr::powf`] with exponent 1/2, `d sqrt x / dx = 1 / (2 sqrt x)`.
    pub fn sqrt(self) -> Expr<'g> {
        self.powf(0.5)
    }
    /// `|x|`, with `d|x|/dx` 1 for `x > 0`, -1 for `x < 0` and 0 at 0.
    pub fn abs(self) -> Expr<'g> {
        self.unary(Unary::Abs)
    }
    /// `op` applied to this node.
    pub fn apply(self, op: Unary) -> Expr<'g> {
        self.unary(op)
    }
}

impl Scalar for Expr<'_> {
    fn constant_like(self, c: f64) -> Self {
        self.graph.constant(c)
    }
    fn apply(self, op: Unary) -> Self {
        self.unary(op)
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<'g> $trait<Expr<'g>> for Expr<'g> {
            type Output = Expr<'g>;
            fn $method(self, rhs: Expr<'g>) -> Expr<'g> {
                self.binary($op, rhs)
            }
        }
        impl<'g> $trait<f64> for Expr<'g> {
            type Output = Expr<'g>;
            fn $method(self, rhs: f64) -> Expr<'g> {
                let rhs = self.graph.constant(rhs);
                self.binary($op, rhs)
            }
        }
        impl<'g> $trait<Expr<'g>> for f64 {
            type Output = Expr<'g>;
            fn $method(self, rhs: Expr<'g>) -> Expr<'g> {
                rhs.graph.constant(self).binary($op, rhs)
            }
        }
    };
}

binary_operator!(Add, add, Binary::Add);
binary_operator!(Sub, sub, Binary::Sub);
binary_operator!(Mul, mul, Binary::Mul);
binary_operator!(Div, div, Binary::Div);

/// `x += y` is `x = x + y`: a new node, the handle moved to it (the old node stays in the graph).
macro_rules! assign_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<'g> $trait<Expr<'g>> for Expr<'g> {
            fn $method(&mut self, rhs: Expr<'g>) {
                *self = self.binary($op, rhs);
            }
        }
        impl $trait<f64> for Expr<'_> {
            fn $method(&mut self, rhs: f64) {
                let rhs = self.graph.constant(rhs);
                *self = self.binary($op, rhs);
            }
        }
    };
}

assign_operator!(AddAssign, add_assign, Binary::Add);
assign_operator!(SubAssign, sub_assign, Binary::Sub);
assign_operator!(MulAssign, mul_assign, Binary::Mul);
assign_operator!(DivAssign, div_assign, Binary::Div);

/// The sum of handles as one `sum` node, `None` for no handle (there is no graph to put a 0
/// in): `let total: Option<Expr> = terms.into_iter().sum();`. For a sum that is never empty,
/// [`Graph::sum`] takes a slice.
impl<'g> Sum<Expr<'g>> for Option<Expr<'g>> {
    fn sum<I: Iterator<Item = Expr<'g>>>(iter: I) -> Option<Expr<'g>> {
        let terms: Vec<Expr<'g>> = iter.collect();
        let first = terms.first()?;
        Some(first.graph.sum(&terms))
    }
}

impl<'g> Neg for Expr<'g> {
    type Output = Expr<'g>;
    fn neg(self) -> Expr<'g> {
        self.unary(Unary::Neg)
    }
}

impl From<Expr<'_>> for NodeId {
    fn from(e: Expr<'_>) -> NodeId {
        e.id()
    }
}
