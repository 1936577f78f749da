//! Shared by the integration tests: the real dataset and the numpy reference numbers.
#![allow(dead_code)]

pub mod backbone;
pub mod cli;
pub mod images;
pub mod scenes;

use std::path::PathBuf;
use std::sync::OnceLock;

use purrceptron::data::Dataset;

/// Folder of the catvnoncat HDF5 files: `$PURRCEPTRON_DATA`, else `../shared/datasets/catvnoncat`.
/// Missing data fails the test (it is never skipped silently).
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("PURRCEPTRON_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/catvnoncat")
        });
    assert!(
        dir.join("train_catvnoncat.h5").is_file() && dir.join("test_catvnoncat.h5").is_file(),
        "the catvnoncat dataset is missing: put train_catvnoncat.h5 and test_catvnoncat.h5 in {} \
         or set PURRCEPTRON_DATA to their folder",
        dir.display()
    );
    dir
}

/// The real dataset, converted once per test binary by the CLI (HDF5 conversion lives in the
/// binary, not in the library).
pub fn catvnoncat() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let out = std::env::temp_dir().join(format!(
            "purrceptron-catvnoncat-{}.safetensors",
            std::process::id()
        ));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_purrceptron"))
            .args(["convert", "--h5"])
            .arg(data_dir())
            .arg("-o")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("the CLI runs");
        assert!(status.success(), "purrceptron convert --h5 failed");
        let bytes = std::fs::read(&out).expect("the converted dataset is readable");
        let _ = std::fs::remove_file(&out);
        Dataset::from_bytes(&bytes).expect("the converted dataset loads")
    })
}

/// `tests/reference/numpy_reference.json`: numbers printed by
/// `python3 tests/reference/numpy_reference.py` (numpy float64 runs of the same algorithms).
pub fn reference() -> &'static serde_json::Value {
    static REF: OnceLock<serde_json::Value> = OnceLock::new();
    REF.get_or_init(|| {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/numpy_reference.json");
        let text = std::fs::read_to_string(&path).expect("numpy_reference.json is readable");
        serde_json::from_str(&text).expect("numpy_reference.json is JSON")
    })
}

/// `value` at a `/`-separated JSON pointer, as f64.
pub fn num(pointer: &str) -> f64 {
    reference()
        .pointer(pointer)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("numpy_reference.json has no number at {pointer}"))
}

/// Asserts |a - b| <= tol * max(|b|, tiny).
pub fn assert_rel(a: f64, b: f64, tol: f64, what: &str) {
    let scale = b.abs().max(1e-300);
    assert!(
        (a - b).abs() <= tol * scale,
        "{what}: got {a}, expected {b} (relative error {:.3e} > {tol:.0e})",
        (a - b).abs() / scale
    );
}
