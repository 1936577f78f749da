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
        classes: dataset.classes.clone(),
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
            train_predicted: trained.report.train_predicted,
            test_predicted: None,
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
        classes: dataset.classes.clone(),
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
            train_predicted: trained.report.train_predicted,
            test_predicted: trained.report.test_predicted,
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
        classes: dataset.classes.clone(),
    };
    Ok((saved, evaluation))
}

/// What a fitted head reports of its training images.
struct HeadReport {
    /// The class predicted for each training image, from the features computed in training.
    train_predicted: Vec<usize>,
    /// The class predicted for each image of the dataset's test split if training computed
    /// them (from the test images' features); `None`: computed here from the pixels.
    test_predicted: Option<Vec<usize>>,
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
    let test_predicted = match fit.test_predicted {
        _ if test.is_empty() => None,
        Some(predicted) => Some(predicted),
        None => Some(model.predict_pixels(&test.pixels)?),
    };
    let evaluation =
        Evaluation::from_predictions(dataset, &fit.train_predicted, test_predicted.as_deref())?;
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
