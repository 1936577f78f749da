//! Fitted models, whatever their kind: what they are ([`Model`]), how one is specified and
//! trained ([`spec`], [`train`]: the one training path of the CLI and the page), how it is
//! saved ([`file`]) and how it is evaluated and used on a photo ([`evaluate`]).

mod evaluate;
pub mod file;
mod receipt;
mod save;
pub mod spec;
pub mod train;
mod warm;

use std::sync::Arc;

use ndarray::Array1;

pub use evaluate::{
    classify, classify_with_heat_map, evaluate, heat_maps, Classification, Evaluation, HeatMap,
};
pub use file::{SavedFeatures, SavedNetwork, SavedPretrained};
pub use receipt::{rfc3339_utc, Receipt};
pub use save::{save_features, save_network, save_pretrained};
pub use spec::{presets, ModelSpec, Preset};
pub use train::{Finished, Training, TrainingContext, TrainingProgress};
pub use warm::warm_up;

use crate::backbone::Backbone;
use crate::preprocess::SIDE;
use crate::{Error, Result};

/// A fitted model of any kind (trained here or loaded from a file).
#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// Logistic regression or an L-layer network on the pixels.
    Network(SavedNetwork),
    /// Learned convolutional features under a logistic regression.
    Features(SavedFeatures),
    /// The pretrained backbone's features under a logistic regression. Loaded from a file, it
    /// needs its backbone attached ([`Model::attach_backbone`]) before it classifies.
    Pretrained(SavedPretrained),
}

impl Model {
    /// The `kind` metadata value: `network`, `features` or `pretrained`.
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Network(_) => file::NETWORK_KIND,
            Model::Features(_) => file::FEATURES_KIND,
            Model::Pretrained(_) => file::PRETRAINED_KIND,
        }
    }

    /// How the model was obtained.
    pub fn receipt(&self) -> &Receipt {
        match self {
            Model::Network(m) => &m.receipt,
            Model::Features(m) => &m.receipt,
            Model::Pretrained(m) => &m.receipt,
        }
    }

    /// The model's specification (kind and hyper-parameters), as it was trained.
    pub fn spec(&self) -> ModelSpec {
        match self {
            Model::Network(m) => ModelSpec::Network(m.hyperparams.clone()),
            Model::Features(m) => ModelSpec::Features(m.model.params().clone()),
            Model::Pretrained(m) => ModelSpec::Pretrained(m.model.params().clone()),
        }
    }

    /// The sha256 of the backbone file this model needs (pretrained kind), else `None`.
    pub fn backbone_sha256(&self) -> Option<&str> {
        match self {
            Model::Pretrained(m) => Some(m.model.backbone_sha256()),
            _ => None,
        }
    }

    /// Attaches the backbone a pretrained-feature model needs: [`Error::BackboneMismatch`]
    /// (both hashes in the message) unless it is the one the model was trained with. Other
    /// kinds need none and ignore it.
    pub fn attach_backbone(&mut self, backbone: Arc<Backbone>) -> Result<()> {
        match self {
            Model::Pretrained(m) => m.model.attach_backbone(backbone),
            _ => Ok(()),
        }
    }
}

/// A fitted model that maps 64x64x3 images to logits of "cat": a network, a learned-feature
/// model, a pretrained-feature model, or a [`Model`] of any kind.
pub trait PixelModel {
    /// Logits `(m,)` of `m` images of 12288 bytes given one after the other;
    /// `P(cat) = sigmoid(z)`.
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>>;

    /// Fraction of the images whose label `sigmoid(z) > 0.5` matches `y`, in [0, 1].
    fn accuracy_pixels(&self, pixels: &[u8], y: &[u8]) -> Result<f64> {
        crate::network::fraction_right(&self.logits_pixels(pixels)?, y)
    }

    /// The side, in pixels, of the square photo the model wants: 64 but for pretrained
    /// features (the backbone's input side).
    fn photo_side(&self) -> usize {
        SIDE
    }

    /// The logit of one square RGB image of `side` pixels (row-major, 3 bytes a pixel). Models
    /// on 64x64 pixels take only `side == 64`.
    fn logit_image(&self, rgb: &[u8], side: usize) -> Result<f64> {
        if side != SIDE {
            return Err(Error::Shape(format!(
                "an image of side {side} for a model of 64x64 images"
            )));
        }
        first_logit(self.logits_pixels(rgb)?)
    }
}

fn first_logit(logits: Array1<f64>) -> Result<f64> {
    logits
        .first()
        .copied()
        .ok_or_else(|| Error::Shape("no image".into()))
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

impl PixelModel for crate::pretrained::PretrainedModel {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        crate::pretrained::PretrainedModel::logits_pixels(self, pixels)
    }

    fn photo_side(&self) -> usize {
        self.params().side()
    }

    fn logit_image(&self, rgb: &[u8], side: usize) -> Result<f64> {
        let f = self.features(rgb, side, &mut Default::default())?;
        Ok(self.logit_from_features(&f.pooled))
    }
}

impl PixelModel for Model {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        match self {
            Model::Network(m) => m.network.logits_pixels(pixels),
            Model::Features(m) => m.model.logits_pixels(pixels),
            Model::Pretrained(m) => m.model.logits_pixels(pixels),
        }
    }

    fn photo_side(&self) -> usize {
        match self {
            Model::Pretrained(m) => m.model.photo_side(),
            _ => SIDE,
        }
    }

    fn logit_image(&self, rgb: &[u8], side: usize) -> Result<f64> {
        match self {
            Model::Network(m) => m.network.logit_image(rgb, side),
            Model::Features(m) => m.model.logit_image(rgb, side),
            Model::Pretrained(m) => m.model.logit_image(rgb, side),
        }
    }
}
