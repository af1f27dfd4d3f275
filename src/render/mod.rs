//! Pictures, as strings (the DOT text also streamed to a writer): the library draws, the caller
//! writes the files.
//!
//! This module owns every picture of the project and nothing else: it reads graphs, networks and
//! numbers, never changes them, never prints and never touches the file system.
//!
//! - [`graph_dot`]: the DOT text of any [`Graph`](crate::Graph) (through `petgraph`'s DOT
//!   writer), each node labelled with its op, leaf value and label, and optionally with its value
//!   and gradient; [`write_graph_dot`] writes it as it is made, for large graphs.
//! - [`graph_svg`]: the same picture laid out and drawn as SVG by `layout-rs`, with no system
//!   tool.
//! - [`walkthrough_svgs`]: the tutorial's "visualising backpropagation" pictures of a layered
//!   network: forward values, deltas and gradients, updated weights.
//! - [`loss_curve_svg`], [`loss_curves_svg`]: the error per epoch of a training run (and of
//!   its held-out data).
//!
//! Numbers are printed with a fixed number of decimals (scientific notation for very small or
//! very large magnitudes), so that the same input always gives the same bytes.

mod curve;
mod dot;
mod graph_svg;
mod labels;
mod network;
mod svg;
mod walkthrough;

pub use curve::{loss_curve_svg, loss_curves_svg};
pub use dot::{graph_dot, write_graph_dot};
pub use graph_svg::{GRAPH_SVG_MAX_BOXES, GRAPH_SVG_OPTIMISED_MAX_BOXES, graph_svg};
pub use walkthrough::walkthrough_svgs;
