//! The fuzz targets' checks (fuzz/fuzz_targets/) run on the committed seeds (valid files: each
//! must load or decode) and on the regression inputs of fuzz/regressions/<target>/: what the
//! fuzzer found to crash, hang or over-allocate, and hand-made hostile files (see
//! fuzz/make_seeds.rs). Each regression input must give, quickly, exactly the outcome recorded in
//! its folder's `expected.json` (the error's kind and message, or a hash of what loaded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use purrceptron::data::Dataset;
use purrceptron::error::ErrorKind;
use purrceptron::model::Model;
use purrceptron::model::PixelModel;
use purrceptron::preprocess::{preprocess, Framing, PIXELS};
use purrceptron::Error;
use sha2::{Digest, Sha256};

/// The file that records each regression input's outcome, in the inputs' folder.
const EXPECTED: &str = "expected.json";

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target)
}

/// Every input file of `fuzz/<kind>/<target>/` (not `expected.json`), sorted by name. A missing
/// or empty folder fails: the test would otherwise pass on nothing.
fn files(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = dir(kind, target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the folder must exist)", dir.display()));
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != EXPECTED))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} holds no inputs", dir.display());
    out
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn refused(e: &Error) -> String {
    format!("{} error: {e}", e.kind().as_str())
}

/// The dataset_blob target's property; the outcome: `ok <sha256 of the saved blob>` or the error.
fn dataset_blob(data: &[u8]) -> String {
    match Dataset::from_bytes(data) {
        Ok(d) => {
            let again = d.to_bytes().unwrap();
            assert_eq!(Dataset::from_bytes(&again).unwrap(), d);
            format!("ok {}", sha256(&again))
        }
        Err(e) => {
            // A bad label is `InvalidLabel`, every other defect `InvalidDataset`: both are the
            // dataset's.
            assert_eq!(e.kind(), ErrorKind::Dataset, "{e}");
            refused(&e)
        }
    }
}

/// The model_file target's property; the outcome: `ok <kind> <sha256 of the saved file> logit
/// <logit of a grey image>` or the error.
fn model_file(data: &[u8]) -> String {
    match Model::from_bytes(data) {
        Ok(m) => {
            let again = m.to_bytes().unwrap();
            assert_eq!(Model::from_bytes(&again).unwrap(), m);
            let z = m.scores_pixels(&[128; PIXELS]).unwrap();
            assert_eq!(z.len(), 1);
            assert!(!z[0].is_nan());
            format!("ok {} {} logit {:?}", m.kind(), sha256(&again), z[0])
        }
        Err(e) => {
            assert!(matches!(e, Error::InvalidModel(_)), "{e:?}");
            refused(&e)
        }
    }
}

/// The photo target's property; the outcome: `ok <format> <width>x<height> <sha256 of the 64x64
/// pixels>` or the error.
fn photo(data: &[u8]) -> String {
    let fit = if data.len() % 2 == 1 {
        Framing::Squash
    } else {
        Framing::Crop
    };
    match preprocess(data, fit) {
        Ok(p) => {
            assert_eq!(p.pixels.len(), PIXELS);
            assert!(p.width >= 1 && p.height >= 1);
            format!(
                "ok {} {}x{} {}",
                p.format,
                p.width,
                p.height,
                sha256(&p.pixels)
            )
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Photo, "{e:?}");
            refused(&e)
        }
    }
}

fn run(target: &str, check: fn(&[u8]) -> String) {
    for (name, bytes) in files("seeds", target) {
        let outcome = check(&bytes);
        assert!(outcome.starts_with("ok "), "seed {name}: {outcome}");
    }

    let expected_path = dir("regressions", target).join(EXPECTED);
    let text = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let expected: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    let mut got = BTreeMap::new();
    for (name, bytes) in files("regressions", target) {
        let start = Instant::now();
        let outcome = check(&bytes);
        let took = start.elapsed();
        // A hang guard, not a speed target: each of these takes milliseconds.
        assert!(took < Duration::from_secs(10), "{name} took {took:?}");
        got.insert(name, outcome);
    }
    // On a difference, the whole table as it now is, ready to be reviewed and committed.
    assert!(
        got == expected,
        "the outcomes of fuzz/regressions/{target}/ differ from {EXPECTED}; they are now:\n{}",
        serde_json::to_string_pretty(&got).unwrap()
    );
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
    let path = dir("regressions", "model_file").join("features-encoder-overflow.bin");
    let bytes = std::fs::read(&path).unwrap();
    match Model::from_bytes(&bytes) {
        Err(e) => assert!(e.to_string().contains("beyond the 1e6"), "{e}"),
        Ok(_) => panic!("{} loaded", path.display()),
    }
}
