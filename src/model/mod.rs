//! Fitted models, whatever their kind: what they are ([`Model`]), how one is specified and
//! trained ([`spec`], [`train`]: the one training path of the CLI and the page), how it is
//! saved ([`file`]) and how it is evaluated and used on a photo ([`evaluate`]).

mod evaluate;
pub mod file;
mod receipt;
pub mod spec;
pub mod train;

use ndarray::Array1;

pub use evaluate::{classify, evaluate, Classification, Evaluation};
pub use file::{SavedFeatures, SavedNetwork};
pub use receipt::{rfc3339_utc, Receipt};
pub use spec::{presets, ModelSpec, Preset};
pub use train::{save_features, save_network, Finished, Training, TrainingProgress};

use crate::Result;

/// A fitted model of any kind (trained here or loaded from a file).
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// Logistic regression or an L-layer network on the pixels.
    Network(SavedNetwork),
    /// Learned convolutional features under a logistic regression.
    Features(SavedFeatures),
}

impl Model {
    /// The `kind` metadata value: `network` or `features`.
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Network(_) => file::NETWORK_KIND,
            Model::Features(_) => file::FEATURES_KIND,
        }
    }

    /// How the model was obtained.
    pub fn receipt(&self) -> &Receipt {
        match self {
            Model::Network(m) => &m.receipt,
            Model::Features(m) => &m.receipt,
        }
    }

    /// The model's specification (kind and hyper-parameters), as it was trained.
    pub fn spec(&self) -> ModelSpec {
        match self {
            Model::Network(m) => ModelSpec::Network(m.hyperparams.clone()),
            Model::Features(m) => ModelSpec::Features(m.model.params().clone()),
        }
    }
}

/// A fitted model that maps 64x64x3 images to logits of "cat": a network, a learned-feature
/// model, or a [`Model`] of either kind.
pub trait PixelModel {
    /// Logits `(m,)` of `m` images of 12288 bytes given one after the other;
    /// `P(cat) = sigmoid(z)`.
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>>;

    /// Fraction of the images whose label `sigmoid(z) > 0.5` matches `y`, in [0, 1].
    fn accuracy_pixels(&self, pixels: &[u8], y: &[u8]) -> Result<f64> {
        crate::network::fraction_right(&self.logits_pixels(pixels)?, y)
    }
}

impl PixelModel for crate::network::Network {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        crate::network::Network::logits_pixels(self, pixels)
    }
}

impl PixelModel for crate::features::FeatureModel {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        crate::features::FeatureModel::logits_pixels(self, pixels)
    }
}

impl PixelModel for Model {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        match self {
            Model::Network(m) => m.network.logits_pixels(pixels),
            Model::Features(m) => m.model.logits_pixels(pixels),
        }
    }
}
