//! Helpers shared by the command-line test files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `backprop` binary with `args`.
pub fn backprop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A fresh, empty folder for one test's files (`suite` keeps test files apart).
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("backprop-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// Writes `text` to `dir/name`; returns the path as the command line takes it.
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a test file is written");
    path.display().to_string()
}
