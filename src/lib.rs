//! # backprop
//!
//! Neural networks as graphs of scalar operations, differentiated by reverse sweeps of the
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
//! The data flows one way: a [`Graph`] is compiled once into a [`Tape`]; the tape runs one
//! association at a time, or is laid out again for blocks of associations as a [`Batch`]. Both
//! drivers apply the rules of [`op`] and nothing else.
//!
//! - [`op`]: each op's value and local partial derivatives (the n-ary `sum`, `dot`, `max`
//!   included), written once, generic over what they run on.
//! - [`graph`]: the DAG (held in `petgraph`, and nowhere else), node handles and their
//!   operators ([`Expr`]), validation, the narrow view that compiling reads.
//! - [`tape`]: the compiled form (`compile.rs`), the driver of one association (`sweep.rs`:
//!   one loop forward, one backward; anomaly mode is the same loops with checks compiled in),
//!   workspaces and gradients.
//! - [`batch`]: the driver of blocks of associations: the tape laid out with one row of lanes
//!   per node (`layout.rs`), one block forward and backward (`block.rs`), layers as SIMD tiles
//!   (`group.rs`), shards on threads ([`Batch`]).
//! - [`nn`]: layered networks built on the graph: the spec, its lowering, weights by (layer,
//!   from, to), the tutorial's notation (x, y, delta, w_ij) read back from the passes, losses.
//! - [`train`]: epochs, batch modes, optimisers (gradient descent, momentum, Adam), stopping.
//! - [`textbook`]: the tutorial's closed-form delta rule on plain arrays (no graph code).
//! - [`mistakes`]: classic mistakes of a hand-written backpropagation as alternative steps on
//!   plain arrays, the diagnosis of a user's numbers, exercises that tell them apart.
//! - [`symbolic`]: reverse mode as a graph transformation (gradients as nodes) over the same
//!   [`op`] rules; Hessians and Hessian-vector products by reverse over reverse.
//! - [`gradcheck`]: central finite differences through forward passes only, and the three-way
//!   report (graph vs textbook vs finite differences).
//! - [`strategies`]: public `proptest` strategies for random graphs (feature `strategies`).
//! - [`trace`]: the step-by-step record of one training step, rendered as text.
//! - [`render`]: pictures as strings: DOT and SVG of any graph, a layered network's forward,
//!   backward and update pictures, the loss curve.
//! - [`tutorial`]: the tutorial's worked example (with its printed figures) and XOR data.
//! - [`data`], [`model_file`], [`graph_file`]: data sets and the CSV reader, trained networks
//!   and any graph as versioned JSON.
//! - [`serve`]: the playground, a local web page that steps through backpropagation and
//!   trains (feature `serve`); it computes nothing the library does not.
//! - [`files`]: all of the library's file I/O: size-limited reads, atomic writes.
//! - [`error`]: the one public error type.
//! - `internal` (hidden): hooks for this repository's own tests and benchmarks.

pub mod batch;
pub mod data;
pub mod error;
pub mod files;
pub mod gradcheck;
pub mod graph;
pub mod graph_file;
#[doc(hidden)]
pub mod internal;
pub mod mistakes;
pub mod model_file;
pub mod nn;
pub mod op;
pub mod render;
#[cfg(feature = "serve")]
pub mod serve;
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
pub use graph::{Expr, Graph, NodeId, NodeKind};
pub use op::{Arity, Binary, Op, Scalar, Unary};
pub use tape::{Gradients, Tape, Workspace};

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
