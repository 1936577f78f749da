//! The encoding stage: the features of every training image and of its mirror, one image per
//! unit of work.

use super::clustering::Learnt;
use super::fitting::Fitting;
use super::{Inputs, State};
use crate::features::{Encoder, PATCH_LEN, POSITIONS};
use crate::Result;

/// Encoding `inputs.small` in order.
#[derive(Debug)]
pub(super) struct Encoding {
    learnt: Learnt,
    encoder: Encoder,
    /// Features of the images encoded so far, `8 x filters` each, one after the other.
    features: Vec<f32>,
    /// Next image to encode.
    next: usize,
}

impl Encoding {
    /// Folds the whitening into the learnt filters. (The sampled patches are no longer needed:
    /// the caller drops them.)
    pub(super) fn start(inputs: &Inputs, learnt: Learnt) -> State {
        let encoder = Encoder::new(&learnt.whitening, &learnt.dictionary);
        let features = Vec::with_capacity(inputs.small.len() * inputs.params.n_features());
        State::Encoding(Box::new(Encoding {
            learnt,
            encoder,
            features,
            next: 0,
        }))
    }

    pub(super) fn fraction(&self, inputs: &Inputs) -> f64 {
        self.next as f64 / inputs.small.len() as f64
    }

    /// Encodes one image; after the last, starts the head's fit.
    pub(super) fn unit(mut self: Box<Self>, inputs: &mut Inputs) -> Result<(State, f64)> {
        let f = self.encoder.encode(&inputs.small[self.next]);
        self.features.extend_from_slice(&f);
        let cost = (POSITIONS * POSITIONS * PATCH_LEN * inputs.params.filters()) as f64 / 1e6;
        if self.next + 1 < inputs.small.len() {
            self.next += 1;
            Ok((State::Encoding(self), cost))
        } else {
            let Encoding {
                learnt, features, ..
            } = *self;
            Ok((Fitting::start(inputs, learnt, features)?, cost))
        }
    }
}
