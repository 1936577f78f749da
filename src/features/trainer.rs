//! Resumable training of a [`FeatureModel`]: a state machine whose every state holds the data of
//! its stage, advanced a bounded amount of work at a time so that a Web Worker can report
//! progress and honour a cancel between steps.
//!
//! The stages, each in its own file: `sampling` (patches, their covariance, the whitening and
//! the k-means start), `clustering` (k-means iterations), `encoding` (the training images and
//! their mirrors), `fitting` (the shared head: the Gram matrix, cross-validation and the final
//! regression, in [`crate::features::head`]).

mod clustering;
mod encoding;
mod fitting;
mod sampling;

use serde::{Deserialize, Serialize};

use super::head::{CrossValidation, HeadFitter};
use super::{downscale, mirror, FeatureModel, FeatureParams, FOLDS, PATCH_LEN, POSITIONS};
use crate::preprocess::PIXELS;
use crate::rng::Mt19937;
use crate::{Error, Result};

use clustering::Clustering;
use encoding::Encoding;
use fitting::{Finished, Fitting};
use sampling::{Covariance, Eigen};

/// Patches per unit of work in the patch, covariance and k-means stages.
const CHUNK: usize = 1000;

/// Where a training stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Sampling and normalising patches, and their covariance.
    Patches,
    /// Eigen-decomposition for the whitening.
    Whitening,
    /// Spherical k-means.
    Kmeans,
    /// Encoding the training images and their mirrors.
    Encoding,
    /// Cross-validation and the final logistic regression.
    Fitting,
    /// Nothing left to do.
    Done,
}

impl Stage {
    /// Short human name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Patches => "patches",
            Stage::Whitening => "whitening",
            Stage::Kmeans => "k-means",
            Stage::Encoding => "encoding",
            Stage::Fitting => "fitting",
            Stage::Done => "done",
        }
    }
}

/// A progress report of a [`FeatureTrainer`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FeatureProgress {
    pub stage: Stage,
    /// Fraction of the current stage done, in [0, 1].
    pub stage_done: f64,
    /// Work done and planned overall, in millions of multiply-adds (estimates); `done <= total`.
    pub done: f64,
    pub total: f64,
}

/// What training reports beside the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureReport {
    pub cross_validation: CrossValidation,
    /// k-means objective `Σ max_k (d_k·x)²` at each iteration (non-decreasing).
    pub kmeans_objective: Vec<f64>,
    /// Objective of the final fit divided by `C n`: mean cross-entropy on the training images
    /// and their mirrors plus `‖w‖²/(2Cn)`.
    pub final_cost: f64,
    /// Iterations of the final logistic-regression fit.
    pub final_iterations: usize,
    /// Accuracy on the training images (not the mirrors), in [0, 1].
    pub train_accuracy: f64,
    /// The class predicted for each training image (not the mirrors), 0 or 1.
    pub train_predicted: Vec<usize>,
}

/// A fitted model and how it was obtained.
#[derive(Clone, Debug)]
pub struct FeatureTrained {
    pub model: FeatureModel,
    pub report: FeatureReport,
}

/// What every stage reads: the settings, the labels, the images, and the one random stream
/// (patch sampling, k-means start, folds, in that order).
#[derive(Debug)]
struct Inputs {
    params: FeatureParams,
    labels: Vec<u8>,
    /// Downscaled training images, then their mirrors (`2m` images, 32x32x3).
    small: Vec<Vec<f32>>,
    rng: Mt19937,
}

impl Inputs {
    /// Number of training images `m` (without the mirrors).
    fn m(&self) -> usize {
        self.labels.len()
    }

    /// Estimated cost of each stage, millions of multiply-adds (the fitting stage assumes
    /// 150 iterations per fit).
    fn stage_costs(&self) -> [f64; 5] {
        let (n, k, d) = (
            self.params.patches() as f64,
            self.params.filters() as f64,
            PATCH_LEN as f64,
        );
        let m2 = 2.0 * self.m() as f64;
        let patches = n * d * (d + 4.0) / 1e6;
        let whitening = 12.0 * d * d * d / 1e6 * 8.0;
        let kmeans = self.params.kmeans_iterations() as f64 * n * d * (k + 2.0) / 1e6;
        let encoding = m2 * (POSITIONS * POSITIONS) as f64 * d * k / 1e6;
        let fitting = HeadFitter::estimated_cost(2 * self.m(), self.params.n_features());
        [patches, whitening, kmeans, encoding, fitting]
    }
}

/// The trainer's state: each variant holds what its stage works on and what earlier stages
/// produced for later ones.
#[derive(Debug)]
enum State {
    /// Nothing done yet.
    Sampling,
    Covariance(Covariance),
    Eigen(Eigen),
    Clustering(Box<Clustering>),
    Encoding(Box<Encoding>),
    /// The head: Gram matrix, cross-validation fits, the final fit.
    Fitting(Box<Fitting>),
    Done(Box<Finished>),
    /// A step failed: nothing more can be done.
    Failed,
}

/// Resumable training of a [`FeatureModel`]: [`step`](Self::step) advances through the stages
/// by a bounded amount of work, so a caller can report progress and stop between steps.
#[derive(Debug)]
pub struct FeatureTrainer {
    inputs: Inputs,
    state: State,
    /// Work done so far, millions of multiply-adds (estimates).
    done: f64,
}

impl FeatureTrainer {
    /// Prepares training on `pixels` (`m` 64x64x3 images, one after the other) and `labels`
    /// (`m` values, 0 or 1). Needs at least [`FOLDS`] images.
    pub fn new(params: FeatureParams, pixels: &[u8], labels: &[u8]) -> Result<Self> {
        let m = labels.len();
        if pixels.len() != m * PIXELS {
            return Err(Error::Shape(format!(
                "{} pixel bytes for {m} labels (expected {})",
                pixels.len(),
                m * PIXELS
            )));
        }
        if m < FOLDS {
            return Err(Error::Shape(format!(
                "{m} training images: the learned-feature model needs at least {FOLDS} for its \
                 {FOLDS}-fold cross-validation"
            )));
        }
        crate::check::labels(labels, 2)?;
        let mut small: Vec<Vec<f32>> = pixels.chunks_exact(PIXELS).map(downscale).collect();
        let mirrors: Vec<Vec<f32>> = small.iter().map(|s| mirror(s)).collect();
        small.extend(mirrors);
        let rng = Mt19937::new(params.seed());
        Ok(FeatureTrainer {
            inputs: Inputs {
                params,
                labels: labels.to_vec(),
                small,
                rng,
            },
            state: State::Sampling,
            done: 0.0,
        })
    }

    pub fn params(&self) -> &FeatureParams {
        &self.inputs.params
    }

    fn stage(&self) -> Stage {
        match self.state {
            State::Sampling | State::Covariance(_) => Stage::Patches,
            State::Eigen(_) => Stage::Whitening,
            State::Clustering(_) => Stage::Kmeans,
            State::Encoding(_) => Stage::Encoding,
            State::Fitting(_) => Stage::Fitting,
            State::Done(_) | State::Failed => Stage::Done,
        }
    }

    /// Where training stands.
    pub fn progress(&self) -> FeatureProgress {
        let inputs = &self.inputs;
        let costs = inputs.stage_costs();
        let total: f64 = costs.iter().sum();
        let stage_done = match &self.state {
            State::Sampling | State::Eigen(_) => 0.0,
            State::Covariance(s) => s.fraction(inputs),
            State::Clustering(s) => s.fraction(inputs),
            State::Encoding(s) => s.fraction(inputs),
            State::Fitting(s) => s.fraction(),
            State::Done(_) | State::Failed => 1.0,
        };
        let stage = self.stage();
        let before: f64 = match stage {
            Stage::Patches => 0.0,
            Stage::Whitening => costs[0],
            Stage::Kmeans => costs[..2].iter().sum(),
            Stage::Encoding => costs[..3].iter().sum(),
            Stage::Fitting => costs[..4].iter().sum(),
            Stage::Done => total,
        };
        let current = match stage {
            Stage::Patches => costs[0],
            Stage::Whitening => costs[1],
            Stage::Kmeans => costs[2],
            Stage::Encoding => costs[3],
            Stage::Fitting => costs[4],
            Stage::Done => 0.0,
        };
        FeatureProgress {
            stage,
            stage_done: stage_done.clamp(0.0, 1.0),
            done: (before + current * stage_done).min(total),
            total,
        }
    }

    /// True once the model is fitted, or once a step has failed (then [`finish`](Self::finish)
    /// says so).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_) | State::Failed)
    }

    /// Does about `work` millions of multiply-adds (at least one unit of work, at most one more
    /// than asked), then returns. A numerical failure is an error; the trainer is then unusable.
    pub fn step(&mut self, work: f64) -> Result<()> {
        let start = self.done;
        loop {
            if self.is_done() {
                return Ok(());
            }
            self.done += self.unit()?;
            if self.done - start >= work {
                return Ok(());
            }
        }
    }

    /// One unit of work of the current stage; returns its cost estimate. On an error the state
    /// stays [`State::Failed`].
    fn unit(&mut self) -> Result<f64> {
        let inputs = &mut self.inputs;
        let (next, cost) = match std::mem::replace(&mut self.state, State::Failed) {
            State::Sampling => sampling::sample(inputs),
            State::Covariance(s) => s.unit(inputs),
            State::Eigen(s) => s.unit(inputs)?,
            State::Clustering(s) => s.unit(inputs),
            State::Encoding(s) => s.unit(inputs)?,
            State::Fitting(s) => s.unit()?,
            done @ (State::Done(_) | State::Failed) => (done, 0.0),
        };
        self.state = next;
        Ok(cost)
    }

    /// The fitted model and its report. Fails unless [`is_done`](Self::is_done) after no failed
    /// step.
    pub fn finish(self) -> Result<FeatureTrained> {
        match self.state {
            State::Done(finished) => finished.trained(self.inputs),
            State::Failed => Err(Error::State(
                "learned-feature training failed at an earlier step: there is no model",
            )),
            _ => Err(Error::State(
                "the learned-feature model is not trained yet: it cannot stop half-way",
            )),
        }
    }
}

/// Work of one step when training runs to the end in one call (`fit`, the CLI), in millions of
/// multiply-adds; the page steps by time instead, and both reach the same model.
pub const FIT_STEP: f64 = 200.0;

impl FeatureParams {
    /// Trains to the end on `pixels`/`labels` (see [`FeatureTrainer::new`]), calling `progress`
    /// after every step of [`FIT_STEP`] millions of multiply-adds.
    pub fn fit(
        &self,
        pixels: &[u8],
        labels: &[u8],
        mut progress: impl FnMut(&FeatureProgress),
    ) -> Result<FeatureTrained> {
        let mut t = FeatureTrainer::new(self.clone(), pixels, labels)?;
        while !t.is_done() {
            t.step(FIT_STEP)?;
            progress(&t.progress());
        }
        t.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_needs_enough_well_formed_data() {
        let p = FeatureParams::builder().build().unwrap();
        assert!(matches!(
            FeatureTrainer::new(p.clone(), &[0; PIXELS], &[1]),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            FeatureTrainer::new(p.clone(), &[0; 10], &[1; 5]),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            FeatureTrainer::new(p, &vec![0; 5 * PIXELS], &[0, 1, 2, 0, 1]),
            Err(Error::InvalidLabel {
                index: 2,
                label: 2,
                classes: 2
            })
        ));
    }

    #[test]
    fn a_model_is_only_handed_over_once_trained() {
        let p = FeatureParams::builder().build().unwrap();
        let t = FeatureTrainer::new(p, &vec![0; 5 * PIXELS], &[0, 1, 1, 0, 1]).unwrap();
        assert!(!t.is_done());
        assert!(matches!(t.finish(), Err(Error::State(_))));
    }
}
