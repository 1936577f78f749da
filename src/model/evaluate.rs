//! Evaluating a model on a dataset and classifying one photo: the same code for every front
//! end (CLI, browser), so they give the same results.

use serde::Serialize;

use super::PixelModel;
use crate::data::{Dataset, CLASSES};
use crate::preprocess::{self, Framing};
use crate::Result;

/// Accuracy of a model on both splits, beside the "always the majority class" baseline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Accuracy on the train split, in [0, 1].
    pub train_accuracy: f64,
    /// Accuracy on the test split, in [0, 1]; `None` without a test split.
    pub test_accuracy: Option<f64>,
    /// Accuracy of always answering the test split's majority class, in [0, 1].
    pub test_majority_baseline: Option<f64>,
    pub n_train: usize,
    pub n_test: usize,
}

/// Accuracy of `network` on `dataset`'s train and test splits.
pub fn evaluate(network: &(impl PixelModel + ?Sized), dataset: &Dataset) -> Result<Evaluation> {
    let train = &dataset.train;
    let train_accuracy = network.accuracy_pixels(&train.pixels, &train.labels)?;
    let test = &dataset.test;
    let test_accuracy = if test.is_empty() {
        None
    } else {
        Some(network.accuracy_pixels(&test.pixels, &test.labels)?)
    };
    Ok(Evaluation {
        train_accuracy,
        test_accuracy,
        test_majority_baseline: (!test.is_empty()).then(|| test.majority_rate()),
        n_train: dataset.train.len(),
        n_test: test.len(),
    })
}

/// The verdict on one photo.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Classification {
    /// Probability of "cat", in [0, 1].
    pub probability: f64,
    /// `cat` when `probability > 0.5`, else `non-cat`.
    pub label: &'static str,
    /// Width and height of the decoded, oriented photo, in pixels.
    pub width: u32,
    pub height: u32,
    /// Decoder that read it (`jpeg`, `png`, ...).
    pub format: &'static str,
    /// The exact 64x64 RGB image the model saw, row-major (row, column, channel).
    #[serde(skip)]
    pub pixels: Vec<u8>,
}

/// Decodes and preprocesses `bytes` (the one photo path) and runs the model on the result.
pub fn classify(
    network: &(impl PixelModel + ?Sized),
    bytes: &[u8],
    fit: Framing,
) -> Result<Classification> {
    let photo = preprocess::preprocess(bytes, fit)?;
    let probability = network
        .logits_pixels(&photo.pixels)?
        .mapv(crate::logistic::sigmoid)
        .first()
        .copied()
        .unwrap_or(f64::NAN);
    Ok(Classification {
        probability,
        label: CLASSES[usize::from(probability > 0.5)],
        width: photo.width,
        height: photo.height,
        format: photo.format,
        pixels: photo.pixels,
    })
}
