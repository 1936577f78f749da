//! The few operations every front end (CLI, browser) performs, so that they give the same
//! results: train on a dataset and write the receipt, evaluate, classify a photo.

use serde::Serialize;

use ndarray::Array1;

use crate::dataset::{Dataset, CLASSES};
use crate::features::file::SavedFeatures;
use crate::features::{FeatureModel, FeatureTrained};
use crate::modelfile::{Receipt, SavedModel};
use crate::network::{Network, Trained};
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

/// A fitted model that maps 64x64x3 images to logits of "cat": a network, a learned-feature
/// model, or a loaded file of either kind.
pub trait PixelModel {
    /// Logits `(m,)` of `m` images of 12288 bytes given one after the other;
    /// `P(cat) = sigmoid(z)`.
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>>;

    /// Fraction of the images whose label `sigmoid(z) > 0.5` matches `y`, in [0, 1].
    fn accuracy_pixels(&self, pixels: &[u8], y: &[u8]) -> Result<f64> {
        crate::network::fraction_right(&self.logits_pixels(pixels)?, y)
    }
}

impl PixelModel for Network {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        Network::logits_pixels(self, pixels)
    }
}

impl PixelModel for FeatureModel {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        FeatureModel::logits_pixels(self, pixels)
    }
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

/// Evaluates a freshly trained model and writes its receipt. `created` is an RFC 3339 date.
pub fn save_trained(
    trained: Trained,
    dataset: &Dataset,
    created: String,
) -> Result<(SavedModel, Evaluation)> {
    let sha256 = dataset.content_sha256();
    save_trained_for(trained, dataset, sha256, created)
}

/// [`save_trained`] with the dataset's [`Dataset::content_sha256`] already known.
pub fn save_trained_for(
    trained: Trained,
    dataset: &Dataset,
    dataset_sha256: String,
    created: String,
) -> Result<(SavedModel, Evaluation)> {
    let evaluation = evaluate(&trained.network, dataset)?;
    let receipt = Receipt {
        dataset_sha256,
        final_cost: trained.report.final_cost,
        train_accuracy: evaluation.train_accuracy,
        test_accuracy: evaluation.test_accuracy,
        iterations_run: trained.report.iterations_run,
        created,
    };
    let model = SavedModel {
        network: trained.network,
        hyperparams: trained.hyperparams,
        receipt,
    };
    Ok((model, evaluation))
}

/// Evaluates a freshly trained learned-feature model and writes its receipt (the train
/// accuracy comes from the features computed in training, the same numbers an evaluation would
/// recompute). `created` is an RFC 3339 date.
pub fn save_trained_features(
    trained: FeatureTrained,
    dataset: &Dataset,
    created: String,
) -> Result<(SavedFeatures, Evaluation)> {
    let test = &dataset.test;
    let test_accuracy = if test.is_empty() {
        None
    } else {
        Some(trained.model.accuracy_pixels(&test.pixels, &test.labels)?)
    };
    let evaluation = Evaluation {
        train_accuracy: trained.report.train_accuracy,
        test_accuracy,
        test_majority_baseline: (!test.is_empty()).then(|| test.majority_rate()),
        n_train: dataset.train.len(),
        n_test: test.len(),
    };
    let receipt = Receipt {
        dataset_sha256: dataset.content_sha256(),
        final_cost: trained.report.final_cost,
        train_accuracy: evaluation.train_accuracy,
        test_accuracy: evaluation.test_accuracy,
        iterations_run: trained.report.final_iterations,
        created,
    };
    let saved = SavedFeatures {
        model: trained.model,
        cross_validation: trained.report.cross_validation,
        receipt,
    };
    Ok((saved, evaluation))
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
