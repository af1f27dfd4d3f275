//! The tests that measure this process's memory (the kernel's resident-set figures), in a binary
//! of their own so that no other test allocates beside them; within it they take turns.

mod large_files;
mod scale;

/// The tests here measure the process's memory: one at a time, across both modules.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());
