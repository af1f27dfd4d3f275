//! The integration tests, one module per topic, in one binary: each file under `tests/` would
//! otherwise be a binary of its own, linked on its own (with fat LTO under `--release`, minutes
//! each on two cores). Modules that need a feature are compiled with it only. The tests that
//! measure this process's memory live in `tests/memory/` (another binary: here other tests
//! allocate beside them), and the browser test in `tests/playground_browser.rs` (its own feature).

mod batch_blocks;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod common;
mod data_csv;
mod deep_chain;
mod digits;
mod engine_errors;
mod fuzz_loaders;
mod gradcheck_report;
mod graph_file;
mod graph_gradients;
#[cfg(feature = "cli")]
mod hostile_cli;
mod hostile_library;
#[cfg(all(feature = "serve", feature = "cli"))]
mod http;
mod iris;
mod layered;
mod mistakes;
#[cfg(feature = "cli")]
mod mistakes_cli;
mod model_file;
mod ops;
mod render;
mod second_derivatives;
#[cfg(all(feature = "serve", feature = "cli"))]
mod serve;
#[cfg(all(feature = "serve", feature = "cli"))]
mod serve_limits;
#[cfg(all(feature = "serve", feature = "cli"))]
mod serve_plane;
#[cfg(feature = "strategies")]
mod strategies;
mod textbook_vs_graph;
mod train_graph;
mod trained_network;
mod worked_example;
mod xor;
