//! Running the binary from a test: its output, its stdout when it must succeed, and a fresh
//! temporary folder per test file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `purrceptron ARGS`.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_purrceptron"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Runs `purrceptron ARGS`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A path as an argument.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// An empty folder `purrceptron-NAME-PID` in the temporary directory.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("purrceptron-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
