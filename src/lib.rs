//! # backprop
//!
//! Neural networks as graphs of scalar operations, differentiated by one reverse sweep of the
//! chain rule, and checked against the textbook delta rule and finite differences.
//!
//! ```
//! use backprop::Graph;
//! let g = Graph::new();
//! let (x1, x2) = (g.input("x1"), g.input("x2"));
//! let (w1, w2, b) = (g.param("w1", 0.5), g.param("w2", 0.5), g.param("b", 0.0));
//! let y = (x1 * w1 + x2 * w2 + b).sigmoid();
//! let grads = g.compile()?.gradients(&[1.0, 1.0], y)?;
//! let s = 1.0 / (1.0 + (-1.0f64).exp()); // sigmoid(1.0) = 0.731...
//! assert!((grads.wrt(w1)? - s * (1.0 - s)).abs() < 1e-15);
//! # Ok::<(), backprop::Error>(())
//! ```
//!
//! ## Module map
//! - [`op`]: each op's value and local derivatives, written once.
//! - [`graph`]: the DAG (held in `petgraph`), node handles, validation.
//! - [`expr`]: operator overloading on node handles.
//! - [`tape`]: the compiled graph; forward pass and the one reverse sweep; workspaces; gradients.
//! - [`gradcheck`]: central finite differences through forward passes only.
//! - [`strategies`]: public `proptest` strategies for random graphs (feature `strategies`).
//! - [`error`]: the one public error type.

pub mod error;
pub mod expr;
pub mod gradcheck;
pub mod graph;
pub mod op;
#[cfg(feature = "strategies")]
pub mod strategies;
pub mod tape;

pub use error::{Error, NodeName, Result};
pub use expr::Expr;
pub use graph::{Graph, NodeId, NodeKind};
pub use op::{Arity, Binary, Op, Scalar, Unary};
pub use tape::{Gradients, Tape, Workspace};

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
