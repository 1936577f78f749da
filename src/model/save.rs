//! Fitted models as they are saved: the receipt written, the evaluation on both splits.

use super::{
    evaluate, Evaluation, PixelModel, Receipt, SavedFeatures, SavedNetwork, SavedPretrained,
};
use crate::data::Dataset;
use crate::features::FeatureTrained;
use crate::network::Trained;
use crate::pretrained::PretrainedTrained;
use crate::Result;

/// A trained network as it is saved (receipt written: `dataset_sha256` is
/// [`Dataset::content_sha256`] of `dataset`, `created` an RFC 3339 date), with its evaluation
/// on both splits.
pub fn save_network(
    trained: Trained,
    dataset: &Dataset,
    dataset_sha256: String,
    created: String,
) -> Result<(SavedNetwork, Evaluation)> {
    let evaluation = evaluate(&trained.network, dataset)?;
    let receipt = Receipt {
        dataset_sha256,
        final_cost: trained.report.final_cost,
        train_accuracy: evaluation.train_accuracy,
        test_accuracy: evaluation.test_accuracy,
        iterations_run: trained.report.iterations_run,
        created,
    };
    let saved = SavedNetwork {
        network: trained.network,
        hyperparams: trained.hyperparams,
        receipt,
    };
    Ok((saved, evaluation))
}

/// A trained learned-feature model as it is saved (see [`save_network`]), with its evaluation.
/// The train accuracy comes from the features computed in training: the same numbers an
/// evaluation would compute again.
pub fn save_features(
    trained: FeatureTrained,
    dataset: &Dataset,
    dataset_sha256: String,
    created: String,
) -> Result<(SavedFeatures, Evaluation)> {
    let (evaluation, receipt) = head_receipt(
        &trained.model,
        dataset,
        HeadReport {
            train_accuracy: trained.report.train_accuracy,
            test_accuracy: None,
            final_cost: trained.report.final_cost,
            iterations: trained.report.final_iterations,
        },
        dataset_sha256,
        created,
    )?;
    let saved = SavedFeatures {
        model: trained.model,
        cross_validation: trained.report.cross_validation,
        receipt,
    };
    Ok((saved, evaluation))
}

/// A trained pretrained-feature model as it is saved (see [`save_network`]), with its
/// evaluation. The train accuracy comes from the features extracted in training, and so does the
/// test accuracy when the training extracted the test split's too; else the test split runs
/// through the backbone.
pub fn save_pretrained(
    trained: PretrainedTrained,
    dataset: &Dataset,
    dataset_sha256: String,
    created: String,
) -> Result<(SavedPretrained, Evaluation)> {
    let (evaluation, receipt) = head_receipt(
        &trained.model,
        dataset,
        HeadReport {
            train_accuracy: trained.report.train_accuracy,
            test_accuracy: trained.report.test_accuracy,
            final_cost: trained.report.final_cost,
            iterations: trained.report.final_iterations,
        },
        dataset_sha256,
        created,
    )?;
    let saved = SavedPretrained {
        model: trained.model,
        cross_validation: trained.report.cross_validation,
        receipt,
    };
    Ok((saved, evaluation))
}

/// What a fitted head reports of its training images.
struct HeadReport {
    /// Accuracy on the training images, from the features computed in training, in [0, 1].
    train_accuracy: f64,
    /// Accuracy on the dataset's test split if training computed it (from the test images'
    /// features), in [0, 1]; `None`: computed here from the pixels.
    test_accuracy: Option<f64>,
    /// Objective of the final fit divided by `C n`.
    final_cost: f64,
    /// Iterations of the final logistic-regression fit.
    iterations: usize,
}

/// The evaluation and receipt of a model under the shared head (learned or pretrained
/// features): the train accuracy comes from training, the test split runs through `model`.
fn head_receipt(
    model: &impl PixelModel,
    dataset: &Dataset,
    fit: HeadReport,
    dataset_sha256: String,
    created: String,
) -> Result<(Evaluation, Receipt)> {
    let test = &dataset.test;
    let test_accuracy = match fit.test_accuracy {
        _ if test.is_empty() => None,
        Some(accuracy) => Some(accuracy),
        None => Some(model.accuracy_pixels(&test.pixels, &test.labels)?),
    };
    let evaluation = Evaluation {
        train_accuracy: fit.train_accuracy,
        test_accuracy,
        test_majority_baseline: (!test.is_empty()).then(|| test.majority_rate()),
        n_train: dataset.train.len(),
        n_test: test.len(),
    };
    let receipt = Receipt {
        dataset_sha256,
        final_cost: fit.final_cost,
        train_accuracy: evaluation.train_accuracy,
        test_accuracy: evaluation.test_accuracy,
        iterations_run: fit.iterations,
        created,
    };
    Ok((evaluation, receipt))
}
