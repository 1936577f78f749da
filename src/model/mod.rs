//! Fitted models, whatever their kind: what they are ([`Model`]), how one is specified and
//! trained ([`spec`], [`train`]: the one training path of the CLI and the page), how it is
//! saved ([`file`]) and how it is evaluated and used on a photo ([`evaluate`]).

mod evaluate;
pub mod file;
mod receipt;
pub mod results;
mod save;
pub mod spec;
pub mod train;

use std::sync::Arc;

pub use evaluate::{
    accuracy_of, classify, classify_with_heat_map, confusion, evaluate, heat_maps,
    per_class_accuracy, Classification, Evaluation, HeatMap,
};
pub use file::{SavedFeatures, SavedNetwork, SavedPretrained};
pub use receipt::{rfc3339_utc, Receipt};
pub use results::Results;
pub use save::{save_features, save_network, save_pretrained};
pub use spec::{presets, ModelSpec, Preset};
pub use train::{Finished, Training, TrainingContext, TrainingProgress};

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

    /// The class names, index = label: the two of a two-class model (its output is the
    /// second's logit), or one per output.
    pub fn class_names(&self) -> &[String] {
        match self {
            Model::Network(m) => &m.classes,
            Model::Features(m) => &m.classes,
            Model::Pretrained(m) => &m.classes,
        }
    }

    /// Refuses a dataset whose classes are not this model's (the same names in the same
    /// order): its labels would be read as other classes. [`Error::InvalidDataset`] names both.
    pub fn check_dataset(&self, dataset: &crate::data::Dataset) -> Result<()> {
        if self.class_names() == dataset.classes.as_slice() {
            return Ok(());
        }
        Err(Error::InvalidDataset(format!(
            "the model's classes are {} and this dataset's are {}: evaluate a model on a \
             dataset of its own classes",
            self.class_names().join(", "),
            dataset.classes.join(", ")
        )))
    }

    /// Accuracy and confusion matrices on a dataset of this model's classes (see [`evaluate`]);
    /// a dataset of other classes is refused ([`check_dataset`](Self::check_dataset)).
    pub fn evaluate_on(&self, dataset: &crate::data::Dataset) -> Result<Evaluation> {
        self.check_dataset(dataset)?;
        evaluate(self, dataset)
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

/// A fitted model that maps 64x64x3 images to logits: a network, a learned-feature model, a
/// pretrained-feature model, or a [`Model`] of any kind. A two-class model has one output (the
/// second class's logit, `P = sigmoid(z)`); a model of more classes one per class (a softmax).
pub trait PixelModel {
    /// Logits of `m` images of 12288 bytes given one after the other: `m x outputs` row-major.
    fn scores_pixels(&self, pixels: &[u8]) -> Result<Vec<f64>>;

    /// The classes told apart (index = label): 2 but for a pretrained-feature model of more.
    fn classes(&self) -> usize {
        2
    }

    /// Logits per image: [`crate::features::logreg::outputs`] of [`classes`](Self::classes).
    fn outputs(&self) -> usize {
        crate::features::logreg::outputs(self.classes())
    }

    /// The class predicted for each image ([`crate::features::logreg::predicted`]).
    fn predict_pixels(&self, pixels: &[u8]) -> Result<Vec<usize>> {
        let outputs = self.outputs();
        Ok(self
            .scores_pixels(pixels)?
            .chunks_exact(outputs)
            .map(crate::features::logreg::predicted)
            .collect())
    }

    /// Fraction of the images whose predicted class is their label `y`, in [0, 1].
    fn accuracy_pixels(&self, pixels: &[u8], y: &[u8]) -> Result<f64> {
        let predicted = self.predict_pixels(pixels)?;
        if predicted.len() != y.len() {
            return Err(Error::Shape(format!(
                "{} images and {} labels",
                predicted.len(),
                y.len()
            )));
        }
        let right = predicted
            .iter()
            .zip(y)
            .filter(|(&p, &l)| p == usize::from(l))
            .count();
        Ok(if y.is_empty() {
            0.0
        } else {
            right as f64 / y.len() as f64
        })
    }

    /// The side, in pixels, of the square photo the model wants: 64 but for pretrained
    /// features (the backbone's input side).
    fn photo_side(&self) -> usize {
        SIDE
    }

    /// The logits of one square RGB image of `side` pixels (row-major, 3 bytes a pixel).
    /// Models on 64x64 pixels take only `side == 64`.
    fn scores_image(&self, rgb: &[u8], side: usize) -> Result<Vec<f64>> {
        if side != SIDE {
            return Err(Error::Shape(format!(
                "an image of side {side} for a model of 64x64 images"
            )));
        }
        let scores = self.scores_pixels(rgb)?;
        if scores.is_empty() {
            return Err(Error::Shape("no image".into()));
        }
        Ok(scores)
    }
}

impl PixelModel for crate::network::Network {
    fn scores_pixels(&self, pixels: &[u8]) -> Result<Vec<f64>> {
        Ok(crate::network::Network::logits_pixels(self, pixels)?.to_vec())
    }
}

impl PixelModel for crate::features::FeatureModel {
    fn scores_pixels(&self, pixels: &[u8]) -> Result<Vec<f64>> {
        Ok(crate::features::FeatureModel::logits_pixels(self, pixels)?.to_vec())
    }
}

impl PixelModel for crate::pretrained::PretrainedModel {
    fn scores_pixels(&self, pixels: &[u8]) -> Result<Vec<f64>> {
        crate::pretrained::PretrainedModel::logits_pixels(self, pixels)
    }

    fn classes(&self) -> usize {
        crate::pretrained::PretrainedModel::classes(self)
    }

    fn photo_side(&self) -> usize {
        self.params().side()
    }

    fn scores_image(&self, rgb: &[u8], side: usize) -> Result<Vec<f64>> {
        let f = self.features(rgb, side, &mut Default::default())?;
        Ok(self.logits_from_features(&f.pooled))
    }
}

impl PixelModel for Model {
    fn scores_pixels(&self, pixels: &[u8]) -> Result<Vec<f64>> {
        match self {
            Model::Network(m) => m.network.scores_pixels(pixels),
            Model::Features(m) => m.model.scores_pixels(pixels),
            Model::Pretrained(m) => m.model.scores_pixels(pixels),
        }
    }

    fn classes(&self) -> usize {
        match self {
            Model::Pretrained(m) => m.model.classes(),
            _ => 2,
        }
    }

    fn photo_side(&self) -> usize {
        match self {
            Model::Pretrained(m) => m.model.photo_side(),
            _ => SIDE,
        }
    }

    fn scores_image(&self, rgb: &[u8], side: usize) -> Result<Vec<f64>> {
        match self {
            Model::Network(m) => m.network.scores_image(rgb, side),
            Model::Features(m) => m.model.scores_image(rgb, side),
            Model::Pretrained(m) => m.model.scores_image(rgb, side),
        }
    }
}
