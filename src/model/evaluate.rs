//! Evaluating a model on a dataset and classifying one photo: the same code for every front
//! end (CLI, browser), so they give the same results.

use serde::Serialize;

use super::{Model, PixelModel};
use crate::data::{Dataset, Split, CLASSES};
use crate::preprocess::{self, Framing};
use crate::{Error, Result};

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
    // A two-class model's accuracy on more classes would count every other class as wrong.
    if dataset.n_classes() != 2 {
        return Err(Error::InvalidDataset(format!(
            "the model is a two-class model and this dataset has {} classes ({})",
            dataset.n_classes(),
            dataset.classes.join(", ")
        )));
    }
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
    /// The exact RGB image the model saw, row-major (row, column, channel): 64x64, or the
    /// backbone's input side for a pretrained-feature model.
    #[serde(skip)]
    pub pixels: Vec<u8>,
    /// Side of [`pixels`](Self::pixels), in pixels.
    pub side: usize,
}

/// A class-activation heat map: where the model saw a cat.
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

fn verdict(logit: f64, photo: preprocess::Photo) -> Classification {
    let probability = crate::logistic::sigmoid(logit);
    Classification {
        probability,
        label: CLASSES[usize::from(probability > 0.5)],
        width: photo.width,
        height: photo.height,
        format: photo.format,
        pixels: photo.pixels,
        side: photo.side,
    }
}

/// Decodes and preprocesses `bytes` (the one photo path) and runs the model on the result.
pub fn classify(
    network: &(impl PixelModel + ?Sized),
    bytes: &[u8],
    fit: Framing,
) -> Result<Classification> {
    let photo = photo(bytes, fit, network.photo_side())?;
    let logit = network.logit_image(&photo.pixels, photo.side)?;
    Ok(verdict(logit, photo))
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
    let (logit, values, map_side) = saved.model.classify_rgb(&photo.pixels, photo.side)?;
    let heat = HeatMap {
        side: map_side,
        values,
    };
    Ok((verdict(logit, photo), Some(heat)))
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
            Ok(HeatMap {
                side: f.side,
                values: saved.model.heat_map(&f),
            })
        })
        .collect()
}
