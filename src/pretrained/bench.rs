//! The pretrained-feature model's benchmark, for the native example `backbone_bench` and the
//! page www/bench-backbone.html (the same code in both, the caller's clock in milliseconds):
//! the backbone's pass and layers ([`crate::backbone::bench`]), then a training as the page runs
//! it (every image of both splits through the backbone, the head's fit, the evaluation),
//! head-only retrainings from the features it kept, and a photo classified by the model trained
//! (decoded, framed, resized to the backbone's side, its heat map: a photo card's work). Nothing
//! here asserts anything about speed.

use std::sync::Arc;

use serde::Serialize;

use super::{ExtractedFeatures, PretrainedParams, PretrainedTrained, PretrainedTrainer};
use crate::backbone::{bench, Backbone, INPUT_SIDE};
use crate::data::Dataset;
use crate::model::{classify_with_heat_map, Model, Receipt, SavedPretrained};
use crate::preprocess::{Framing, SIDE};
use crate::{Error, Result};

/// A training's times, milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingTimes {
    /// Images whose features the training extracted (both splits).
    pub images: usize,
    /// A training from nothing: extraction, the head's fit and the test accuracy.
    pub cold_ms: f64,
    /// Of which the extraction.
    pub extraction_ms: f64,
    /// Each head-only retraining from the kept features: the fit and the test accuracy.
    pub retrain_ms: Vec<f64>,
    /// Each classification of the photo given, with its heat map (none without a photo).
    pub photo_ms: Vec<f64>,
    /// The photo's P(cat) (`None` without a photo).
    pub photo_probability: Option<f64>,
}

/// What [`run`] measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub backbone: bench::Report,
    pub training: TrainingTimes,
}

/// The backbone's benchmark over the dataset's images (training, then test; see
/// [`bench::run`]), then [`training`] with `retrains` retrainings and as many classifications
/// of `photo` (a file's bytes, e.g. a 12-megapixel JPEG).
pub fn run(
    backbone: Arc<Backbone>,
    dataset: &Dataset,
    passes: usize,
    min_ms: f64,
    retrains: usize,
    photo: Option<&[u8]>,
    now: &mut dyn FnMut() -> f64,
) -> Result<Report> {
    let images: Vec<&[u8]> = (0..dataset.train.len())
        .map(|i| dataset.train.image(i))
        .chain((0..dataset.test.len()).map(|i| dataset.test.image(i)))
        .collect();
    let pass = bench::run(&backbone, &images, SIDE, INPUT_SIDE, passes, min_ms, now)?;
    Ok(Report {
        backbone: pass,
        training: training(backbone, dataset, retrains, photo, now)?,
    })
}

/// A pretrained-feature training with the default settings from nothing, then `retrains`
/// head-only retrainings from the features it extracted, and as many classifications of
/// `photo` by the model trained.
pub fn training(
    backbone: Arc<Backbone>,
    dataset: &Dataset,
    retrains: usize,
    photo: Option<&[u8]>,
    now: &mut dyn FnMut() -> f64,
) -> Result<TrainingTimes> {
    let params = PretrainedParams::builder().build()?;
    let train = |cached: Option<ExtractedFeatures>,
                 now: &mut dyn FnMut() -> f64|
     -> Result<(f64, PretrainedTrained)> {
        let mut t = PretrainedTrainer::with_test(
            params.clone(),
            Arc::clone(&backbone),
            &dataset.train,
            &dataset.test,
            dataset.n_classes(),
            cached,
        )?;
        let mut extracted_at = f64::NAN;
        while !t.is_done() {
            t.step(1.0)?;
            if extracted_at.is_nan() && t.features().is_some() {
                extracted_at = now();
            }
        }
        Ok((extracted_at, t.finish()?))
    };
    let t0 = now();
    let (extracted_at, trained) = train(None, now)?;
    let cold_ms = now() - t0;
    let mut retrain_ms = Vec::with_capacity(retrains);
    for _ in 0..retrains {
        let t0 = now();
        train(Some(trained.features.clone()), now)?;
        retrain_ms.push(now() - t0);
    }
    let model = Model::Pretrained(SavedPretrained {
        model: trained.model,
        cross_validation: trained.report.cross_validation,
        receipt: Receipt::default(),
        classes: dataset.classes.clone(),
    });
    let mut photo_ms = Vec::new();
    let mut photo_probability = None;
    for bytes in photo.iter().flat_map(|p| std::iter::repeat_n(p, retrains)) {
        let t0 = now();
        let (verdict, _heat) = classify_with_heat_map(&model, bytes, Framing::Crop)?;
        photo_ms.push(now() - t0);
        photo_probability = Some(verdict.probability);
    }
    if !cold_ms.is_finite() {
        return Err(Error::State("the benchmark's clock gave no time"));
    }
    Ok(TrainingTimes {
        images: dataset.train.len() + dataset.test.len(),
        cold_ms,
        extraction_ms: extracted_at - t0,
        retrain_ms,
        photo_ms,
        photo_probability,
    })
}
