//! The one training path, for every model kind and every front end: a [`Training`] advances by
//! bounded steps (so the page's worker can report progress and honour a cancel between them,
//! and the CLI can draw a progress bar), and [`Training::finish`] returns the fitted model with
//! its receipt, its evaluation on both splits and any convergence warning.

use serde::Serialize;

use super::{
    evaluate, Evaluation, Model, ModelSpec, PixelModel, Receipt, SavedFeatures, SavedNetwork,
};
use crate::convergence::{self, Warning};
use crate::data::{Dataset, Split};
use crate::features::{FeatureTrained, FeatureTrainer};
use crate::network::{Inputs, Trained, Trainer};
use crate::Result;

/// A training under way.
#[derive(Debug)]
pub struct Training {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Network(Box<Trainer>),
    Features(Box<FeatureTrainer>),
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
    /// Learned-feature model only: the stage running (`patches`, `whitening`, `k-means`,
    /// `encoding`, `fitting`, `done`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'static str>,
    /// Learned-feature model only: the fraction of the stage done, in [0, 1].
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
    /// Starts training this specification on `train`.
    pub fn start(&self, train: &Split) -> Result<Training> {
        let inner = match self {
            ModelSpec::Network(hyper) => {
                let inputs = Inputs::from(train);
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
        mut progress: impl FnMut(&TrainingProgress),
    ) -> Result<Finished> {
        let mut training = self.start(&dataset.train)?;
        while !training.is_done() {
            training.step_default()?;
            progress(&training.progress());
        }
        training.finish(dataset, dataset.content_sha256(), created())
    }
}

impl Training {
    /// Runs up to `work` more iterations (networks) or about `work` million multiply-adds
    /// (learned-feature model).
    pub fn step(&mut self, work: usize) -> Result<()> {
        match &mut self.inner {
            Inner::Network(t) => t.step(work),
            Inner::Features(t) => t.step(work as f64),
        }
    }

    /// One step of the size the CLI uses: up to the network's next cost report, or
    /// [`crate::features::FIT_STEP`] of the learned-feature model's work.
    pub fn step_default(&mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Network(t) => t.step_to_next_report(),
            Inner::Features(t) => t.step(crate::features::FIT_STEP),
        }
    }

    /// True once every iteration or stage has run.
    pub fn is_done(&self) -> bool {
        match &self.inner {
            Inner::Network(t) => t.is_done(),
            Inner::Features(t) => t.is_done(),
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
                TrainingProgress {
                    done: p.done.round() as usize,
                    iterations: p.total.round() as usize,
                    cost: None,
                    cost_iteration: None,
                    finished: t.is_done(),
                    stage: Some(p.stage.name()),
                    stage_done: Some(p.stage_done),
                }
            }
        }
    }

    /// Ends the training where it stands and returns the fitted model, its receipt
    /// (`dataset_sha256`: [`Dataset::content_sha256`] of `dataset`, passed in because the page
    /// computes it once per dataset; `created`: an RFC 3339 date), its evaluation on both splits
    /// and, for a network that ran all its iterations, any convergence warning. A learned-feature
    /// model stopped before its last stage is [`crate::Error::State`].
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
        }
    }
}

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
        dataset_sha256,
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
