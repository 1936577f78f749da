//! Evaluating a model on a dataset and classifying one photo: the same code for every front
//! end (CLI, browser), so they give the same results.

use serde::Serialize;

use super::{Model, PixelModel};
use crate::data::{Dataset, Split};
use crate::features::logreg;
use crate::preprocess::{self, Framing};
use crate::{Error, Result};

/// Accuracy of a model on both splits, beside the "always the majority class" baseline, and
/// its confusion matrices.
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
    /// The class names, index = label.
    pub classes: Vec<String>,
    /// The train split's confusion matrix: `[true class][predicted class]` image counts,
    /// `classes x classes`.
    pub train_confusion: Vec<Vec<usize>>,
    /// The test split's; `None` without a test split.
    pub test_confusion: Option<Vec<Vec<usize>>>,
}

/// `[true class][predicted class]` counts of `classes x classes` classes.
pub fn confusion(labels: &[u8], predicted: &[usize], classes: usize) -> Vec<Vec<usize>> {
    let mut counts = vec![vec![0; classes]; classes];
    for (&l, &p) in labels.iter().zip(predicted) {
        if let Some(cell) = counts
            .get_mut(usize::from(l))
            .and_then(|row| row.get_mut(p))
        {
            *cell += 1;
        }
    }
    counts
}

/// The fraction of a confusion matrix's images on its diagonal, in [0, 1] (0 when empty).
pub fn accuracy_of(confusion: &[Vec<usize>]) -> f64 {
    let total: usize = confusion.iter().flatten().sum();
    let right: usize = confusion
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.get(i))
        .sum();
    if total == 0 {
        0.0
    } else {
        right as f64 / total as f64
    }
}

/// Each class's accuracy (recall) from a confusion matrix: its diagonal cell over its row's
/// images, in [0, 1]; `None` for a class with no image.
pub fn per_class_accuracy(confusion: &[Vec<usize>]) -> Vec<Option<f64>> {
    confusion
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let n: usize = row.iter().sum();
            (n > 0).then(|| row.get(i).copied().unwrap_or(0) as f64 / n as f64)
        })
        .collect()
}

impl Evaluation {
    /// The evaluation of the predicted classes of `dataset`'s train and test images (`None`:
    /// no test split), in split order.
    pub fn from_predictions(
        dataset: &Dataset,
        train: &[usize],
        test: Option<&[usize]>,
    ) -> Result<Evaluation> {
        let n = dataset.n_classes();
        let matrix = |split: &Split, predicted: &[usize]| {
            if predicted.len() != split.len() {
                return Err(Error::Shape(format!(
                    "{} predictions for {} images",
                    predicted.len(),
                    split.len()
                )));
            }
            Ok(confusion(&split.labels, predicted, n))
        };
        let train_confusion = matrix(&dataset.train, train)?;
        let test_confusion = match test {
            Some(predicted) if !dataset.test.is_empty() => Some(matrix(&dataset.test, predicted)?),
            _ => None,
        };
        Ok(Evaluation {
            train_accuracy: accuracy_of(&train_confusion),
            test_accuracy: test_confusion.as_deref().map(accuracy_of),
            test_majority_baseline: test_confusion
                .is_some()
                .then(|| dataset.test.majority_rate()),
            n_train: dataset.train.len(),
            n_test: dataset.test.len(),
            classes: dataset.classes.clone(),
            train_confusion,
            test_confusion,
        })
    }
}

/// Accuracy and confusion matrices of `model` on `dataset`'s train and test splits. The
/// model must tell apart as many classes as the dataset has.
pub fn evaluate(model: &(impl PixelModel + ?Sized), dataset: &Dataset) -> Result<Evaluation> {
    if dataset.n_classes() != model.classes() {
        return Err(Error::InvalidDataset(format!(
            "the model tells apart {} classes and this dataset has {} ({})",
            model.classes(),
            dataset.n_classes(),
            dataset.classes.join(", ")
        )));
    }
    let train = model.predict_pixels(&dataset.train.pixels)?;
    let test = if dataset.test.is_empty() {
        None
    } else {
        Some(model.predict_pixels(&dataset.test.pixels)?)
    };
    Evaluation::from_predictions(dataset, &train, test.as_deref())
}

/// The verdict on one photo.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Classification {
    /// The probability of each class, index = label, in [0, 1], summing to 1.
    pub probabilities: Vec<f64>,
    /// Two classes: the probability of the second ("cat" in the classic set); more: the
    /// probability of the class predicted. In [0, 1].
    pub probability: f64,
    /// The class predicted (index = label): two classes, the second when its probability is
    /// > 0.5; more, the most probable (the first on a tie).
    pub class: usize,
    /// Its name.
    pub label: String,
    /// Width and height of the decoded, oriented photo, in pixels.
    pub width: u32,
    pub height: u32,
    /// Decoder that read it (`jpeg`, `png`, ...).
    pub format: &'static str,
    /// The exact RGB image the model saw, row-major (row, column, channel): 64x64, or the
    /// backbone's input side for a pretrained-feature model.
    #[serde(skip)]
    pub pixels: Vec<u8>,
    /// Side of [`pixels`](Self::pixels), in pixels.
    pub side: usize,
}

/// A class-activation heat map: where the model saw a cat (two classes: the second class), or
/// the class it predicted (more classes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeatMap {
    /// Positions along a side (the backbone's last feature map: its input side / 32).
    pub side: usize,
    /// `side x side` logits, row-major (top row first); their mean is the photo's logit.
    pub values: Vec<f32>,
}

/// The one photo path: `bytes` decoded and preprocessed to the square RGB image of `side`
/// pixels the model wants (64 for the pixel models; a pretrained-feature model's input side, so
/// a photo is resampled once from the original instead of shrunk to 64 and blown up again).
fn photo(bytes: &[u8], fit: Framing, side: usize) -> Result<preprocess::Photo> {
    if side == preprocess::SIDE {
        preprocess::preprocess(bytes, fit)
    } else {
        preprocess::preprocess_to(bytes, fit, side, &preprocess::Limits::default())
    }
}

fn verdict(scores: &[f64], names: &[String], photo: preprocess::Photo) -> Classification {
    let probabilities = logreg::probabilities(scores);
    let class = logreg::predicted(scores);
    let probability = match scores {
        [_] => probabilities[1],
        _ => probabilities[class],
    };
    Classification {
        probability,
        class,
        label: names
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string()),
        probabilities,
        width: photo.width,
        height: photo.height,
        format: photo.format,
        pixels: photo.pixels,
        side: photo.side,
    }
}

/// Decodes and preprocesses `bytes` (the one photo path) and runs the model on the result.
pub fn classify(model: &Model, bytes: &[u8], fit: Framing) -> Result<Classification> {
    let photo = photo(bytes, fit, model.photo_side())?;
    let scores = model.scores_image(&photo.pixels, photo.side)?;
    Ok(verdict(&scores, model.class_names(), photo))
}

/// [`classify`], with the heat map of a pretrained-feature model (`None` for other kinds).
pub fn classify_with_heat_map(
    model: &Model,
    bytes: &[u8],
    fit: Framing,
) -> Result<(Classification, Option<HeatMap>)> {
    let Model::Pretrained(saved) = model else {
        return classify(model, bytes, fit).map(|c| (c, None));
    };
    let photo = photo(bytes, fit, model.photo_side())?;
    let (scores, values, map_side) = saved.model.classify_rgb(&photo.pixels, photo.side)?;
    let heat = HeatMap {
        side: map_side,
        values,
    };
    Ok((verdict(&scores, &saved.classes, photo), Some(heat)))
}

/// The heat maps of images `indices` of `split` (64x64, resized up to the model's side as when
/// it is evaluated) under a pretrained-feature model, in the order given: where it saw a cat in
/// the test images it gets wrong. Other kinds have none ([`Error::State`]); an index past the
/// split is [`Error::InvalidParameter`].
pub fn heat_maps(model: &Model, split: &Split, indices: &[usize]) -> Result<Vec<HeatMap>> {
    let Model::Pretrained(saved) = model else {
        return Err(Error::State(
            "heat maps are drawn for pretrained-feature models only",
        ));
    };
    let mut scratch = crate::backbone::Scratch::default();
    indices
        .iter()
        .map(|&i| {
            if i >= split.len() {
                return Err(Error::InvalidParameter {
                    name: "index",
                    value: i.to_string(),
                    expected: "an image of the split (below its length)",
                });
            }
            let f = saved
                .model
                .features(split.image(i), preprocess::SIDE, &mut scratch)?;
            let logits = saved.model.logits_from_features(&f.pooled);
            let output = crate::pretrained::PretrainedModel::seen_output(&logits);
            Ok(HeatMap {
                side: f.side,
                values: saved.model.heat_map(&f, output),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrices_by_hand() {
        // Labels 0 0 1 2 2 2, predicted 0 1 1 2 0 2: rows are the true classes.
        let m = confusion(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 0, 2], 3);
        assert_eq!(m, vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]);
        assert_eq!(accuracy_of(&m), 4.0 / 6.0);
        assert_eq!(
            per_class_accuracy(&m),
            vec![Some(0.5), Some(1.0), Some(2.0 / 3.0)]
        );
        // A class with no image has no accuracy; an empty matrix scores 0.
        let m = confusion(&[0, 0], &[0, 1], 3);
        assert_eq!(per_class_accuracy(&m)[2], None);
        assert_eq!(accuracy_of(&confusion(&[], &[], 2)), 0.0);
        // A prediction past the classes is not counted (and does not panic).
        assert_eq!(confusion(&[0], &[5], 2), vec![vec![0, 0], vec![0, 0]]);
    }
}
