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
//! - [`nn`]: layered networks built on the graph: activations, bias node, initialisation,
//!   losses as nodes, the tutorial's notation (x, y, delta, w_ij) read back from the passes.
//! - [`tape`]: the compiled graph; forward pass and the one reverse sweep; workspaces; gradients.
//! - `plan` (internal): the tape re-laid for blocks of associations (the lanes of one row per
//!   node, weights stored once): the fast path of [`nn::Mlp::batch_gradient`] and training.
//! - [`textbook`]: the tutorial's closed-form delta rule on plain arrays (no graph code).
//! - [`symbolic`]: reverse mode as a graph transformation (gradients as nodes), Hessians and
//!   Hessian-vector products by reverse over reverse.
//! - [`gradcheck`]: central finite differences through forward passes only, and the three-way
//!   report (graph vs textbook vs finite differences).
//! - [`strategies`]: public `proptest` strategies for random graphs (feature `strategies`).
//! - [`train`]: epochs, batch modes, optimisers (gradient descent, momentum, Adam), stopping.
//! - [`trace`]: the step-by-step record of one training step, rendered as text.
//! - [`render`]: pictures as strings: DOT and SVG of any graph, a layered network's forward,
//!   backward and update pictures, the loss curve.
//! - [`tutorial`]: the tutorial's worked example (with its printed figures) and XOR data.
//! - [`data`]: data sets of associations, the numeric CSV reader, train/test splits.
//! - [`model_file`]: trained layered networks as versioned JSON, saved atomically.
//! - [`graph_file`]: any graph as versioned JSON, loaded in topological order.
//! - [`error`]: the one public error type.

pub mod batch;
pub mod data;
pub mod error;
pub mod expr;
pub mod gradcheck;
pub mod graph;
pub mod graph_file;
#[doc(hidden)]
pub mod internal;
pub mod model_file;
pub mod nn;
pub mod op;
pub mod render;
#[cfg(feature = "strategies")]
pub mod strategies;
pub mod symbolic;
pub mod tape;
pub mod textbook;
pub mod trace;
pub mod train;
pub mod tutorial;

pub use batch::Batch;
pub use error::{Error, NodeName, Result};
pub use expr::Expr;
pub use graph::{Graph, NodeId, NodeKind};
pub use op::{Arity, Binary, Op, Scalar, Unary};
pub use tape::{Gradients, Tape, Workspace};

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
