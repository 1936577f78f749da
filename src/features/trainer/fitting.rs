//! The fitting stage: the shared head ([`crate::features::head`]) on the features of the
//! training images and their mirrors.

use super::clustering::Learnt;
use super::{FeatureReport, FeatureTrained, Inputs, State};
use crate::features::head::{HeadFit, HeadFitter};
use crate::features::FeatureModel;
use crate::{Error, Result};

/// The head being fitted, and what the earlier stages learnt for the model.
#[derive(Debug)]
pub(super) struct Fitting {
    learnt: Learnt,
    fitter: HeadFitter,
}

impl Fitting {
    /// Starts the head on `features` (`2m` rows: the images, then their mirrors); draws the
    /// folds from the trainer's random stream.
    pub(super) fn start(inputs: &mut Inputs, learnt: Learnt, features: Vec<f32>) -> Result<State> {
        let nf = inputs.params.n_features();
        let fitter = HeadFitter::new(features, nf, &inputs.labels, 2, 2, &mut inputs.rng)?;
        Ok(State::Fitting(Box::new(Fitting { learnt, fitter })))
    }

    pub(super) fn fraction(&self) -> f64 {
        self.fitter.fraction()
    }

    /// One unit of the head's fit; at the end, everything the model is made of.
    pub(super) fn unit(mut self: Box<Self>) -> Result<(State, f64)> {
        let cost = self.fitter.unit()?;
        if !self.fitter.is_done() {
            return Ok((State::Fitting(self), cost));
        }
        let Fitting { learnt, fitter } = *self;
        let (fit, features) = fitter.finish()?;
        let finished = Finished {
            learnt,
            fit,
            features,
        };
        Ok((State::Done(Box::new(finished)), cost))
    }
}

/// Everything the model and its report are made of.
#[derive(Debug)]
pub(super) struct Finished {
    learnt: Learnt,
    fit: HeadFit,
    /// The training features (images, then mirrors), unstandardised.
    features: Vec<f32>,
}

impl Finished {
    /// The checked model, and its accuracy on the training images (not the mirrors).
    pub(super) fn trained(self, inputs: Inputs) -> Result<FeatureTrained> {
        let Finished {
            learnt,
            fit,
            features,
        } = self;
        let model = FeatureModel::from_parts(
            inputs.params,
            learnt.whitening,
            learnt.dictionary,
            fit.mean,
            fit.std,
            fit.weights,
            // Two classes: one output.
            fit.bias.first().copied().unwrap_or(f64::NAN),
            fit.cross_validation.c,
        )
        .map_err(|e| Error::Numerical(format!("training produced an invalid model: {e}")))?;
        let nf = model.params().n_features();
        let m = inputs.labels.len();
        let train_predicted: Vec<usize> = (0..m)
            .map(|i| {
                let z = model.logit_from_features(&features[i * nf..(i + 1) * nf]);
                crate::features::logreg::predicted(&[z])
            })
            .collect();
        let right = train_predicted
            .iter()
            .zip(&inputs.labels)
            .filter(|(&p, &l)| p == usize::from(l))
            .count();
        Ok(FeatureTrained {
            model,
            report: FeatureReport {
                cross_validation: fit.cross_validation,
                kmeans_objective: learnt.kmeans_objective,
                final_cost: fit.final_cost,
                final_iterations: fit.final_iterations,
                train_accuracy: right as f64 / m as f64,
                train_predicted,
            },
        })
    }
}
