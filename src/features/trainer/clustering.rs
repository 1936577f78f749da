//! The k-means stage: iterations over the whitened patches, [`CHUNK`] patches at a time.

use super::encoding::Encoding;
use super::{Inputs, State, CHUNK};
use crate::features::kmeans::Accumulator;
use crate::features::{Whitening, PATCH_LEN};

/// What the whitening and k-means stages learnt, carried to the model.
#[derive(Debug)]
pub(super) struct Learnt {
    pub(super) whitening: Whitening,
    /// Unit filters in whitened space, `filters x 108` row-major.
    pub(super) dictionary: Vec<f64>,
    /// The objective of each k-means iteration done.
    pub(super) kmeans_objective: Vec<f64>,
}

/// Spherical k-means on the whitened patches.
#[derive(Debug)]
pub(super) struct Clustering {
    /// The whitened patches, `patches x 108` row-major.
    patches: Vec<f32>,
    learnt: Learnt,
    /// Iterations finished.
    iteration: usize,
    /// First patch of this iteration not yet assigned.
    next: usize,
    acc: Accumulator,
}

impl Clustering {
    /// Iteration number `iteration` (from 0), from the filters in `learnt`.
    pub(super) fn begin(patches: Vec<f32>, learnt: Learnt, iteration: usize) -> State {
        let acc = Accumulator::new(&learnt.dictionary, PATCH_LEN);
        State::Clustering(Box::new(Clustering {
            patches,
            learnt,
            iteration,
            next: 0,
            acc,
        }))
    }

    pub(super) fn fraction(&self, inputs: &Inputs) -> f64 {
        let n = inputs.params.patches() as f64;
        (self.iteration as f64 + self.next as f64 / n)
            / inputs.params.kmeans_iterations().max(1) as f64
    }

    /// Assigns the next [`CHUNK`] patches; at the end of an iteration moves the filters, then
    /// starts the next iteration or the encoding.
    pub(super) fn unit(mut self: Box<Self>, inputs: &Inputs) -> (State, f64) {
        let (n, d, next) = (inputs.params.patches(), PATCH_LEN, self.next);
        let end = (next + CHUNK).min(n);
        self.acc.add(&self.patches[next * d..end * d]);
        let cost = ((end - next) * d * (inputs.params.filters() + 2)) as f64 / 1e6;
        if end < n {
            self.next = end;
            return (State::Clustering(self), cost);
        }
        let Clustering {
            patches,
            mut learnt,
            iteration,
            acc,
            ..
        } = *self;
        learnt.kmeans_objective.push(acc.objective);
        learnt.dictionary = acc.finish(&learnt.dictionary);
        if iteration + 1 < inputs.params.kmeans_iterations() {
            (Clustering::begin(patches, learnt, iteration + 1), cost)
        } else {
            (Encoding::start(inputs, learnt), cost)
        }
    }
}
