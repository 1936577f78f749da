//! The fuzz targets' checks (fuzz/fuzz_targets/) run on the committed seeds (valid files: each
//! must load or decode) and on every input the fuzzer ever found to crash, hang or over-allocate
//! (fuzz/regressions/<target>/: each must give an error or a sound result, and quickly).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use purrceptron::data::Dataset;
use purrceptron::model::Model;
use purrceptron::model::PixelModel;
use purrceptron::preprocess::{preprocess, Framing, PIXELS};

fn files(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}

/// The dataset_blob target's property; `Ok(true)` when the blob loaded.
fn dataset_blob(data: &[u8]) -> bool {
    match Dataset::from_bytes(data) {
        Ok(d) => {
            let again = d.to_bytes().unwrap();
            assert_eq!(Dataset::from_bytes(&again).unwrap(), d);
            true
        }
        Err(e) => {
            assert!(e.to_string().starts_with("invalid dataset file: "), "{e}");
            false
        }
    }
}

fn model_file(data: &[u8]) -> bool {
    match Model::from_bytes(data) {
        Ok(m) => {
            let again = m.to_bytes().unwrap();
            assert_eq!(Model::from_bytes(&again).unwrap(), m);
            let z = m.logits_pixels(&[128; PIXELS]).unwrap();
            assert!(!z[0].is_nan());
            true
        }
        Err(e) => {
            assert!(e.to_string().starts_with("invalid model file: "), "{e}");
            false
        }
    }
}

fn photo(data: &[u8]) -> bool {
    let fit = if data.len() % 2 == 1 {
        Framing::Squash
    } else {
        Framing::Crop
    };
    match preprocess(data, fit) {
        Ok(p) => {
            assert_eq!(p.pixels.len(), PIXELS);
            true
        }
        Err(_) => false,
    }
}

fn run(target: &str, check: fn(&[u8]) -> bool) {
    let seeds = files("seeds", target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    for (path, bytes) in &seeds {
        assert!(check(bytes), "seed {} does not load", path.display());
    }
    for (path, bytes) in files("regressions", target) {
        let start = Instant::now();
        let ok = check(&bytes);
        let took = start.elapsed();
        println!(
            "{}: {} in {took:?}",
            path.display(),
            if ok { "loaded" } else { "refused" }
        );
        // A hang guard, not a speed target: each of these takes milliseconds.
        assert!(
            took < Duration::from_secs(10),
            "{} took {took:?}",
            path.display()
        );
    }
}

#[test]
fn dataset_blob_inputs() {
    run("dataset_blob", dataset_blob);
}

#[test]
fn model_file_inputs() {
    run("model_file", model_file);
}

#[test]
fn photo_inputs() {
    run("photo", photo);
}

#[test]
fn a_features_model_whose_folded_encoder_overflows_is_refused() {
    // Found by the model_file fuzz target: finite but huge whitening values whose products with
    // the filters overflow f32 when folded into the encoder, so that the model loaded and then
    // predicted NaN. Every parameter is now bounded.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/model_file/features-encoder-overflow.bin");
    let bytes = std::fs::read(&path).unwrap();
    match Model::from_bytes(&bytes) {
        Err(e) => assert!(e.to_string().contains("beyond the 1e6"), "{e}"),
        Ok(_) => panic!("{} loaded", path.display()),
    }
}
