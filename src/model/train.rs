//! The one training path, for every model kind and every front end: a [`Training`] advances by
//! bounded steps (so the page's worker can report progress and honour a cancel between them,
//! and the CLI can draw a progress bar), and [`Training::finish`] returns the fitted model with
//! its receipt, its evaluation on both splits and any convergence warning.

use std::sync::Arc;

use serde::Serialize;

use super::{save_features, save_network, save_pretrained, Evaluation, Model, ModelSpec};
use crate::backbone::Backbone;
use crate::convergence::{self, Warning};
use crate::data::{Dataset, Split};
use crate::features::FeatureTrainer;
use crate::network::{Inputs, Trainer};
use crate::pretrained::{ExtractedFeatures, PretrainedTrainer};
use crate::{Error, Result};

/// A training under way.
#[derive(Debug)]
pub struct Training {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Network(Box<Trainer>),
    Features(Box<FeatureTrainer>),
    Pretrained(Box<PretrainedTrainer>),
}

/// What a training may need beside its specification and data: the backbone (required by
/// pretrained features, ignored by the other kinds), to skip the extraction the features of an
/// earlier run on the same splits, backbone and side ([`Training::features`]), and the test
/// split, whose features a pretrained training then extracts with the training images' so that
/// [`Training::finish`] (given the same split) needs no second pass through the backbone.
#[derive(Clone, Default)]
pub struct TrainingContext {
    pub backbone: Option<Arc<Backbone>>,
    pub features: Option<ExtractedFeatures>,
    pub test: Option<Split>,
    /// The training split's exact pixel Gram matrix ([`crate::kernels::gram_u8`]) when it was
    /// computed beforehand (the page's worker does while idle): a network on pixels uses it
    /// instead of computing it. Ignored by the other kinds.
    pub pixel_gram: Option<Arc<Vec<u32>>>,
}

/// Where a training stands. Networks count iterations and report their latest recorded cost;
/// the learned-feature model counts work (millions of multiply-adds) and names its stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainingProgress {
    /// Iterations (or units of work) done, `0..=iterations`.
    pub done: usize,
    /// Iterations (or units of work) planned.
    pub iterations: usize,
    /// Latest recorded cost (networks only).
    pub cost: Option<f64>,
    /// The iteration `cost` belongs to (networks only).
    pub cost_iteration: Option<usize>,
    /// True once every iteration or stage has run.
    pub finished: bool,
    /// Feature models only: the stage running (learned features: `patches`, `whitening`,
    /// `k-means`, `encoding`, `fitting`, `done`; pretrained: `extracting`, `fitting`, `done`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'static str>,
    /// Feature models only: the fraction of the stage done, in [0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_done: Option<f64>,
}

/// A finished training: the model as it will be saved, and what the front ends show of it.
#[derive(Clone, Debug)]
pub struct Finished {
    pub model: Model,
    /// Accuracy on both splits beside the majority baseline.
    pub evaluation: Evaluation,
    /// `(iteration, cost)` as recorded (networks; empty for the learned-feature model).
    pub costs: Vec<(usize, f64)>,
    /// What went wrong with a network that ran all its iterations, if anything.
    pub warning: Option<Warning>,
    /// Learned-feature model: the k-means objective at each iteration (empty otherwise).
    pub kmeans_objective: Vec<f64>,
}

impl ModelSpec {
    /// Starts training this specification on `train` (no backbone: see
    /// [`start_with`](Self::start_with)).
    pub fn start(&self, train: &Split) -> Result<Training> {
        self.start_with(train, TrainingContext::default())
    }

    /// Starts training this specification on `train`, of the two classic classes, with
    /// `context` (see [`start_on`](Self::start_on)).
    pub fn start_with(&self, train: &Split, context: TrainingContext) -> Result<Training> {
        self.start_classes(train, 2, context)
    }

    /// Starts training this specification on `dataset`'s training split and classes with
    /// `context`. A kind that cannot tell apart that many classes is refused first
    /// ([`check_classes`](Self::check_classes)); pretrained features without a backbone are
    /// [`Error::State`]; cached features that do not fit (another backbone, side or image
    /// count) are [`Error::InvalidParameter`].
    pub fn start_on(&self, dataset: &Dataset, context: TrainingContext) -> Result<Training> {
        self.check_classes(&dataset.classes)?;
        self.start_classes(&dataset.train, dataset.n_classes(), context)
    }

    fn start_classes(
        &self,
        train: &Split,
        classes: usize,
        context: TrainingContext,
    ) -> Result<Training> {
        let inner = match self {
            ModelSpec::Network(hyper) => {
                let inputs = Inputs::from(train).with_gram(context.pixel_gram)?;
                Inner::Network(Box::new(Trainer::new(
                    hyper.clone(),
                    inputs,
                    &train.labels,
                )?))
            }
            ModelSpec::Features(params) => Inner::Features(Box::new(FeatureTrainer::new(
                params.clone(),
                &train.pixels,
                &train.labels,
            )?)),
            ModelSpec::Pretrained(params) => {
                let backbone = context.backbone.ok_or(Error::State(
                    "training on pretrained features needs the backbone: load \
                     backbone.safetensors (./build.sh writes it to www/data) and pass it in",
                ))?;
                let trainer = match &context.test {
                    Some(test) => PretrainedTrainer::with_test(
                        params.clone(),
                        backbone,
                        train,
                        test,
                        classes,
                        context.features,
                    ),
                    None => PretrainedTrainer::new(
                        params.clone(),
                        backbone,
                        &train.pixels,
                        &train.labels,
                        classes,
                        context.features,
                    ),
                };
                Inner::Pretrained(Box::new(trainer?))
            }
        };
        Ok(Training { inner })
    }

    /// Trains to the end on `dataset` (linfa's `fit`), calling `progress` after every step;
    /// `created` gives the receipt's RFC 3339 date when training has ended (the core has no
    /// clock: the browser's and the CLI's differ).
    pub fn fit(
        &self,
        dataset: &Dataset,
        created: impl FnOnce() -> String,
        progress: impl FnMut(&TrainingProgress),
    ) -> Result<Finished> {
        self.fit_with(dataset, TrainingContext::default(), created, progress)
    }

    /// [`fit`](Self::fit) with a [`TrainingContext`] (the backbone pretrained features need).
    pub fn fit_with(
        &self,
        dataset: &Dataset,
        context: TrainingContext,
        created: impl FnOnce() -> String,
        mut progress: impl FnMut(&TrainingProgress),
    ) -> Result<Finished> {
        let mut training = self.start_on(dataset, context)?;
        while !training.is_done() {
            training.step_default()?;
            progress(&training.progress());
        }
        training.finish(dataset, dataset.content_sha256(), created())
    }
}

impl Training {
    /// Runs up to `work` more iterations (networks) or about `work` million multiply-adds
    /// (feature models).
    pub fn step(&mut self, work: usize) -> Result<()> {
        match &mut self.inner {
            Inner::Network(t) => t.step(work),
            Inner::Features(t) => t.step(work as f64),
            Inner::Pretrained(t) => t.step(work as f64),
        }
    }

    /// One step of the size the CLI uses: up to the network's next cost report, or
    /// [`crate::features::FIT_STEP`] of the learned-feature model's work.
    pub fn step_default(&mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Network(t) => t.step_to_next_report(),
            Inner::Features(t) => t.step(crate::features::FIT_STEP),
            Inner::Pretrained(t) => t.step(crate::pretrained::FIT_STEP),
        }
    }

    /// True once every iteration or stage has run.
    pub fn is_done(&self) -> bool {
        match &self.inner {
            Inner::Network(t) => t.is_done(),
            Inner::Features(t) => t.is_done(),
            Inner::Pretrained(t) => t.is_done(),
        }
    }

    /// Pretrained features only: the training features once extracted (or given), to cache
    /// keyed by dataset, backbone sha256 and side and give to a later training
    /// ([`TrainingContext::features`]), which then only fits the head.
    pub fn features(&self) -> Option<&ExtractedFeatures> {
        match &self.inner {
            Inner::Pretrained(t) => t.features(),
            _ => None,
        }
    }

    /// True when [`finish`](Self::finish) gives a usable model before the end: a network's
    /// weights so far are a model, a learned-feature model half-way through its stages is not.
    pub fn can_stop_early(&self) -> bool {
        matches!(self.inner, Inner::Network(_))
    }

    /// Where the training stands.
    pub fn progress(&self) -> TrainingProgress {
        match &self.inner {
            Inner::Network(t) => {
                let p = t.progress();
                TrainingProgress {
                    done: t.iteration(),
                    iterations: t.hyperparams().iterations(),
                    cost: p.map(|p| p.cost),
                    cost_iteration: p.map(|p| p.iteration),
                    finished: t.is_done(),
                    stage: None,
                    stage_done: None,
                }
            }
            Inner::Features(t) => {
                let p = t.progress();
                staged(p.done, p.total, t.is_done(), p.stage.name(), p.stage_done)
            }
            Inner::Pretrained(t) => {
                let p = t.progress();
                staged(p.done, p.total, t.is_done(), p.stage.name(), p.stage_done)
            }
        }
    }

    /// Ends the training where it stands and returns the fitted model, its receipt
    /// (`dataset_sha256`: [`Dataset::content_sha256`] of `dataset`, passed in because the page
    /// computes it once per dataset; `created`: an RFC 3339 date), its evaluation on both splits
    /// and, for a network that ran all its iterations, any convergence warning. A learned-feature
    /// model (of either feature kind) stopped before its last stage is [`crate::Error::State`].
    pub fn finish(
        self,
        dataset: &Dataset,
        dataset_sha256: String,
        created: String,
    ) -> Result<Finished> {
        match self.inner {
            Inner::Network(trainer) => {
                let complete = trainer.is_done();
                let trained = trainer.finish()?;
                let costs = trained.report.costs.clone();
                let (saved, evaluation) = save_network(trained, dataset, dataset_sha256, created)?;
                // A run stopped early is not judged: it may simply not have got far.
                let warning = complete
                    .then(|| {
                        convergence::check(
                            &costs,
                            saved.receipt.final_cost,
                            saved.hyperparams.learning_rate(),
                            evaluation.train_accuracy,
                            dataset.train.majority_rate(),
                        )
                    })
                    .flatten();
                Ok(Finished {
                    model: Model::Network(saved),
                    evaluation,
                    costs,
                    warning,
                    kmeans_objective: Vec::new(),
                })
            }
            Inner::Features(trainer) => {
                let trained = trainer.finish()?;
                let kmeans_objective = trained.report.kmeans_objective.clone();
                let (saved, evaluation) = save_features(trained, dataset, dataset_sha256, created)?;
                // No learning rate to overshoot: its solver steps by 1/L, L bounding the
                // curvature.
                Ok(Finished {
                    model: Model::Features(saved),
                    evaluation,
                    costs: Vec::new(),
                    warning: None,
                    kmeans_objective,
                })
            }
            Inner::Pretrained(trainer) => {
                // The test accuracy from the extracted features holds for this dataset's split
                // only.
                let same_test = trainer.test() == &dataset.test;
                let mut trained = trainer.finish()?;
                if !same_test {
                    trained.report.test_accuracy = None;
                    trained.report.test_predicted = None;
                }
                let (saved, evaluation) =
                    save_pretrained(trained, dataset, dataset_sha256, created)?;
                Ok(Finished {
                    model: Model::Pretrained(saved),
                    evaluation,
                    costs: Vec::new(),
                    warning: None,
                    kmeans_objective: Vec::new(),
                })
            }
        }
    }
}

/// The progress of a model trained in stages (learned or pretrained features): work counted in
/// millions of multiply-adds, `done` of `total`, and the stage running.
fn staged(
    done: f64,
    total: f64,
    finished: bool,
    stage: &'static str,
    stage_done: f64,
) -> TrainingProgress {
    TrainingProgress {
        done: done.round() as usize,
        iterations: total.round() as usize,
        cost: None,
        cost_iteration: None,
        finished,
        stage: Some(stage),
        stage_done: Some(stage_done),
    }
}
