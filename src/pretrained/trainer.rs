//! Resumable training of a [`PretrainedModel`]: the `extracting` stage runs the backbone on the
//! training images a bounded number at a time, then the `fitting` stage fits the shared head.
//! The extracted features can be taken out ([`PretrainedTrainer::features`]) and given to a
//! later training ([`PretrainedTrainer::new`] with `cached`), which then only fits the head.
//! Given a test split ([`PretrainedTrainer::with_test`]), the extraction covers its images too,
//! so that the evaluation (and a retraining's) needs no second pass through the backbone.

use std::sync::Arc;

use serde::Serialize;

use super::{image_cost, PretrainedModel, PretrainedParams, FEATURES};
use crate::backbone::{Backbone, Scratch};
use crate::data::Split;
use crate::features::head::{CrossValidation, HeadFit, HeadFitter};
use crate::features::logreg::predicted;
use crate::features::FOLDS;
use crate::preprocess::{PIXELS, SIDE};
use crate::rng::Mt19937;
use crate::{Error, Result};

/// Work of one step when training runs to the end in one call (`fit`, the CLI), in millions of
/// multiply-adds (8 images at 128 px).
pub const FIT_STEP: f64 = 1000.0;

/// The pooled backbone features of a training split (and of its test split, if the training
/// had one), to cache and give to a later training: valid for the same images (in the same
/// order), the same backbone and the same side.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtractedFeatures {
    /// Hex sha256 of the backbone file that computed them.
    pub backbone_sha256: String,
    /// The backbone's input side, pixels.
    pub side: usize,
    /// `m x FEATURES` row-major, one row per training image, in the split's order.
    pub rows: Vec<f32>,
    /// `t x FEATURES`, one row per test image in the split's order; empty without a test split.
    pub test_rows: Vec<f32>,
    /// `m x FEATURES`, one row per training image's left-right mirror, in the split's order;
    /// empty unless they were extracted for a training with [`PretrainedParams::flip`].
    pub mirrored_rows: Vec<f32>,
}

impl ExtractedFeatures {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.rows.len() / FEATURES
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Where a training stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PretrainedStage {
    /// Running the backbone on the training images.
    Extracting,
    /// Cross-validation and the final logistic regression.
    Fitting,
    Done,
}

impl PretrainedStage {
    /// Short human name.
    pub fn name(self) -> &'static str {
        match self {
            PretrainedStage::Extracting => "extracting",
            PretrainedStage::Fitting => "fitting",
            PretrainedStage::Done => "done",
        }
    }
}

/// A progress report of a [`PretrainedTrainer`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PretrainedProgress {
    pub stage: PretrainedStage,
    /// Fraction of the current stage done, in [0, 1].
    pub stage_done: f64,
    /// Work done and planned, millions of multiply-adds (estimates); `done <= total`.
    pub done: f64,
    pub total: f64,
}

/// What training reports beside the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PretrainedReport {
    pub cross_validation: CrossValidation,
    /// Objective of the final fit divided by `C m`.
    pub final_cost: f64,
    /// Iterations of the final logistic-regression fit.
    pub final_iterations: usize,
    /// Accuracy on the training images, in [0, 1].
    pub train_accuracy: f64,
    /// The class predicted for each training image.
    pub train_predicted: Vec<usize>,
    /// The class predicted for each test image given with [`PretrainedTrainer::with_test`];
    /// `None` without them.
    pub test_predicted: Option<Vec<usize>>,
    /// Accuracy on the test images given with [`PretrainedTrainer::with_test`] (from their
    /// extracted features), in [0, 1]; `None` without them.
    pub test_accuracy: Option<f64>,
}

/// A fitted model, how it was obtained, and the training features (to cache).
#[derive(Clone, Debug)]
pub struct PretrainedTrained {
    pub model: PretrainedModel,
    pub report: PretrainedReport,
    pub features: ExtractedFeatures,
}

enum State {
    /// Images `0..next` extracted into `rows`: the training images, the test images, then (with
    /// `flip`) the training images' mirrors.
    Extracting {
        next: usize,
        rows: Vec<f32>,
        scratch: Box<Scratch>,
    },
    Fitting(Box<HeadFitter>),
    Done(Box<HeadFit>),
    /// A step failed: nothing more can be done.
    Failed,
}

/// Resumable training of a [`PretrainedModel`].
pub struct PretrainedTrainer {
    params: PretrainedParams,
    backbone: Arc<Backbone>,
    labels: Vec<u8>,
    /// Classes the labels index, 2 to [`crate::data::MAX_CLASSES`].
    classes: usize,
    /// The training images, 64x64x3 each.
    pixels: Vec<u8>,
    /// The test images whose features are extracted too, and their labels (maybe none).
    test: Split,
    rng: Mt19937,
    state: State,
    /// The training features, once extracted.
    extracted: Option<ExtractedFeatures>,
    /// Work done so far, millions of multiply-adds (estimates).
    done: f64,
}

impl std::fmt::Debug for PretrainedTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PretrainedTrainer")
            .field("params", &self.params)
            .field("images", &self.labels.len())
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

impl PretrainedTrainer {
    /// Prepares training on `pixels` (`m` 64x64x3 images) and `labels` (`m` values,
    /// `0..classes`; `classes` from 2 to [`crate::data::MAX_CLASSES`]) with `backbone`. With `cached` features of these images (same backbone sha256, same
    /// side, `m` rows of finite values; else [`Error::InvalidParameter`] naming what differs)
    /// it skips the extraction. Needs at least [`FOLDS`] images.
    pub fn new(
        params: PretrainedParams,
        backbone: Arc<Backbone>,
        pixels: &[u8],
        labels: &[u8],
        classes: usize,
        cached: Option<ExtractedFeatures>,
    ) -> Result<Self> {
        let m = labels.len();
        if !(crate::data::MIN_CLASSES..=crate::data::MAX_CLASSES).contains(&classes) {
            return Err(Error::InvalidParameter {
                name: "classes",
                value: classes.to_string(),
                expected: "2 to 20 classes",
            });
        }
        if pixels.len() != m * PIXELS {
            return Err(Error::Shape(format!(
                "{} pixel bytes for {m} labels (expected {})",
                pixels.len(),
                m * PIXELS
            )));
        }
        if m < FOLDS {
            return Err(Error::Shape(format!(
                "{m} training images: the pretrained-feature model needs at least {FOLDS} for \
                 its {FOLDS}-fold cross-validation"
            )));
        }
        crate::check::labels(labels, classes)?;
        let mut trainer = PretrainedTrainer {
            rng: Mt19937::new(params.seed()),
            params,
            backbone,
            labels: labels.to_vec(),
            classes,
            pixels: pixels.to_vec(),
            test: Split::default(),
            state: State::Extracting {
                next: 0,
                rows: Vec::with_capacity(m * FEATURES),
                scratch: Box::default(),
            },
            extracted: None,
            done: 0.0,
        };
        trainer.use_cached(cached)?;
        Ok(trainer)
    }

    /// As [`new`](Self::new) on `train`, and the extraction covers `test` too: its accuracy
    /// is then in the report ([`PretrainedReport::test_accuracy`]), and `cached` features
    /// must hold its rows as well.
    pub fn with_test(
        params: PretrainedParams,
        backbone: Arc<Backbone>,
        train: &Split,
        test: &Split,
        classes: usize,
        cached: Option<ExtractedFeatures>,
    ) -> Result<Self> {
        let mut trainer = Self::new(
            params,
            backbone,
            &train.pixels,
            &train.labels,
            classes,
            None,
        )?;
        if test.pixels.len() != test.labels.len() * PIXELS {
            return Err(Error::Shape(format!(
                "{} test pixel bytes for {} labels",
                test.pixels.len(),
                test.labels.len()
            )));
        }
        crate::check::labels(&test.labels, classes)?;
        trainer.test = test.clone();
        trainer.use_cached(cached)?;
        Ok(trainer)
    }

    /// With `cached` features, skips the extraction (after checking they fit); a training with
    /// `flip` given features without the mirrors' extracts just those.
    fn use_cached(&mut self, cached: Option<ExtractedFeatures>) -> Result<()> {
        if let Some(cached) = cached {
            self.check_cached(&cached)?;
            let unmirrored = self.labels.len() + self.test.len();
            if self.params.flip() && cached.mirrored_rows.is_empty() {
                self.done = unmirrored as f64 * image_cost(self.params.side());
                let mut rows = cached.rows;
                rows.reserve(cached.test_rows.len() + self.labels.len() * FEATURES);
                rows.extend_from_slice(&cached.test_rows);
                self.state = State::Extracting {
                    next: unmirrored,
                    rows,
                    scratch: Box::default(),
                };
            } else {
                self.done = self.extraction_cost();
                self.state = self.start_fitting(cached)?;
            }
        }
        Ok(())
    }

    /// Images to extract: the training images, the test images, then (with `flip`) the training
    /// images' mirrors.
    fn images(&self) -> usize {
        let mirrors = if self.params.flip() {
            self.labels.len()
        } else {
            0
        };
        self.labels.len() + self.test.len() + mirrors
    }

    /// Copies of each training image the head is fitted on: 2 with its mirror.
    fn copies(&self) -> usize {
        if self.params.flip() {
            2
        } else {
            1
        }
    }

    fn check_cached(&self, cached: &ExtractedFeatures) -> Result<()> {
        let refuse = |value: String, expected: &'static str| {
            Err(Error::InvalidParameter {
                name: "cached features",
                value,
                expected,
            })
        };
        if cached.backbone_sha256 != self.backbone.sha256() {
            return refuse(
                format!("from backbone {}", cached.backbone_sha256),
                "features from the backbone in use",
            );
        }
        if cached.side != self.params.side() {
            return refuse(
                format!("extracted at {} px", cached.side),
                "features extracted at the model's side",
            );
        }
        if cached.rows.len() != self.labels.len() * FEATURES {
            return refuse(
                format!("{} values", cached.rows.len()),
                "1280 features for each training image",
            );
        }
        if cached.test_rows.len() != self.test.len() * FEATURES {
            return refuse(
                format!("{} test values", cached.test_rows.len()),
                "1280 features for each test image",
            );
        }
        if !cached.mirrored_rows.is_empty() && cached.mirrored_rows.len() != cached.rows.len() {
            return refuse(
                format!("{} mirror values", cached.mirrored_rows.len()),
                "1280 features for each training image's mirror, or none",
            );
        }
        if cached
            .rows
            .iter()
            .chain(&cached.test_rows)
            .chain(&cached.mirrored_rows)
            .any(|v| !v.is_finite())
        {
            return refuse("a non-finite value".into(), "finite features");
        }
        Ok(())
    }

    /// Keeps the features and starts the head's fit on them: one row per training image, then
    /// (with `flip`) one per mirror.
    fn start_fitting(&mut self, features: ExtractedFeatures) -> Result<State> {
        let rows = if self.params.flip() {
            [&features.rows[..], &features.mirrored_rows[..]].concat()
        } else {
            features.rows.clone()
        };
        let fitter = HeadFitter::new(
            rows,
            FEATURES,
            &self.labels,
            self.classes,
            self.copies(),
            &mut self.rng,
        )?;
        self.extracted = Some(features);
        Ok(State::Fitting(Box::new(fitter)))
    }

    pub fn params(&self) -> &PretrainedParams {
        &self.params
    }

    /// The test images whose features the extraction covers (empty without them).
    pub fn test(&self) -> &Split {
        &self.test
    }

    /// The training features, once extracted (or given).
    pub fn features(&self) -> Option<&ExtractedFeatures> {
        self.extracted.as_ref()
    }

    fn extraction_cost(&self) -> f64 {
        self.images() as f64 * image_cost(self.params.side())
    }

    /// Where training stands.
    pub fn progress(&self) -> PretrainedProgress {
        let extraction = self.extraction_cost();
        let fitting = HeadFitter::estimated_cost(self.copies() * self.labels.len(), FEATURES);
        let total = extraction + fitting;
        let (stage, stage_done, before, current) = match &self.state {
            State::Extracting { next, .. } => (
                PretrainedStage::Extracting,
                *next as f64 / self.images() as f64,
                0.0,
                extraction,
            ),
            State::Fitting(f) => (PretrainedStage::Fitting, f.fraction(), extraction, fitting),
            State::Done(_) | State::Failed => (PretrainedStage::Done, 1.0, total, 0.0),
        };
        PretrainedProgress {
            stage,
            stage_done,
            done: (before + current * stage_done).min(total),
            total,
        }
    }

    /// True once the head is fitted, or once a step has failed (then
    /// [`finish`](Self::finish) says so).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_) | State::Failed)
    }

    /// Does about `work` millions of multiply-adds (at least one image or one unit of the
    /// head's fit, at most one more than asked), then returns; it returns early when the
    /// extraction ends, so that a front end reports the fitting stage from its start (the fit
    /// of a small dataset can be shorter than one step).
    pub fn step(&mut self, work: f64) -> Result<()> {
        let start = self.done;
        let extracting = matches!(self.state, State::Extracting { .. });
        while !self.is_done() {
            self.done += self.unit()?;
            let extracted = extracting && !matches!(self.state, State::Extracting { .. });
            if self.done - start >= work || extracted {
                break;
            }
        }
        Ok(())
    }

    /// One image, or one unit of the head's fit; returns its cost estimate. On an error the
    /// state stays [`State::Failed`].
    fn unit(&mut self) -> Result<f64> {
        let (next, cost) = match std::mem::replace(&mut self.state, State::Failed) {
            State::Extracting {
                next,
                mut rows,
                mut scratch,
            } => {
                let side = self.params.side();
                let m = self.labels.len();
                let t = self.test.len();
                let (pixels, i) = if next < m {
                    (&self.pixels, next)
                } else if next < m + t {
                    (&self.test.pixels, next - m)
                } else {
                    (&self.pixels, next - m - t)
                };
                let image = pixels
                    .get(i * PIXELS..(i + 1) * PIXELS)
                    .ok_or(Error::Shape(format!("no image {next}")))?;
                let mirrored;
                let image = if next < m + t {
                    image
                } else {
                    mirrored = mirror(image);
                    &mirrored[..]
                };
                let f = self
                    .backbone
                    .features_with(image, SIDE, side, &mut scratch)?;
                rows.extend_from_slice(&f.pooled);
                let state = if next + 1 < self.images() {
                    State::Extracting {
                        next: next + 1,
                        rows,
                        scratch,
                    }
                } else {
                    let mirrored_rows = if self.params.flip() {
                        rows.split_off((m + t) * FEATURES)
                    } else {
                        Vec::new()
                    };
                    let test_rows = rows.split_off(m * FEATURES);
                    let features = ExtractedFeatures {
                        backbone_sha256: self.backbone.sha256().to_string(),
                        side,
                        rows,
                        test_rows,
                        mirrored_rows,
                    };
                    self.start_fitting(features)?
                };
                (state, image_cost(side))
            }
            State::Fitting(mut fitter) => {
                let cost = fitter.unit()?;
                if fitter.is_done() {
                    (State::Done(Box::new(fitter.finish()?.0)), cost)
                } else {
                    (State::Fitting(fitter), cost)
                }
            }
            done @ (State::Done(_) | State::Failed) => (done, 0.0),
        };
        self.state = next;
        Ok(cost)
    }

    /// The fitted model (its backbone attached), its report and the training features. Fails
    /// unless [`is_done`](Self::is_done) after no failed step.
    pub fn finish(self) -> Result<PretrainedTrained> {
        let fit = match self.state {
            State::Done(fit) => *fit,
            State::Failed => {
                return Err(Error::State(
                    "pretrained-feature training failed at an earlier step: there is no model",
                ))
            }
            _ => {
                return Err(Error::State(
                    "the pretrained-feature model is not trained yet: it cannot stop half-way",
                ))
            }
        };
        let features = self
            .extracted
            .ok_or(Error::State("the training features were never extracted"))?;
        let mut model = PretrainedModel::from_parts(
            self.params,
            fit.mean,
            fit.std,
            fit.weights,
            fit.bias,
            fit.cross_validation.c,
            features.backbone_sha256.clone(),
        )
        .map_err(|e| Error::Numerical(format!("training produced an invalid model: {e}")))?;
        model.attach_backbone(self.backbone)?;
        let predict = |rows: &[f32]| -> Vec<usize> {
            rows.chunks_exact(FEATURES)
                .map(|f| predicted(&model.logits_from_features(f)))
                .collect()
        };
        let accuracy = |predicted: &[usize], labels: &[u8]| {
            let right = predicted
                .iter()
                .zip(labels)
                .filter(|(&p, &y)| p == usize::from(y))
                .count();
            right as f64 / labels.len() as f64
        };
        let train_predicted = predict(&features.rows);
        let train_accuracy = accuracy(&train_predicted, &self.labels);
        let test_predicted = (!self.test.is_empty()).then(|| predict(&features.test_rows));
        let test_accuracy = test_predicted
            .as_deref()
            .map(|p| accuracy(p, &self.test.labels));
        Ok(PretrainedTrained {
            model,
            report: PretrainedReport {
                cross_validation: fit.cross_validation,
                final_cost: fit.final_cost,
                final_iterations: fit.final_iterations,
                train_accuracy,
                test_accuracy,
                train_predicted,
                test_predicted,
            },
            features,
        })
    }
}

/// The left-right mirror of a 64x64x3 image (`PIXELS` bytes, row-major (row, column,
/// channel)).
fn mirror(image: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; image.len()];
    for (src, dst) in image
        .chunks_exact(SIDE * 3)
        .zip(out.chunks_exact_mut(SIDE * 3))
    {
        for (c, pixel) in src.chunks_exact(3).enumerate() {
            dst[(SIDE - 1 - c) * 3..(SIDE - c) * 3].copy_from_slice(pixel);
        }
    }
    out
}

impl PretrainedParams {
    /// Trains to the end on `pixels`/`labels` of two classes with `backbone` (see
    /// [`PretrainedTrainer::new`]), calling `progress` after every step of [`FIT_STEP`].
    pub fn fit(
        &self,
        backbone: Arc<Backbone>,
        pixels: &[u8],
        labels: &[u8],
        cached: Option<ExtractedFeatures>,
        mut progress: impl FnMut(&PretrainedProgress),
    ) -> Result<PretrainedTrained> {
        let mut t = PretrainedTrainer::new(self.clone(), backbone, pixels, labels, 2, cached)?;
        while !t.is_done() {
            t.step(FIT_STEP)?;
            progress(&t.progress());
        }
        t.finish()
    }
}
