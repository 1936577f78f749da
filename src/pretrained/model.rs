//! The fitted pretrained-feature model: the head over the backbone's pooled features, the
//! backbone's identity (sha256), the backbone itself once attached, and the class-activation
//! heat map of a photo.

use std::sync::Arc;

use super::{PretrainedParams, FEATURES};
use crate::backbone::{Backbone, Features, Scratch};
use crate::data::{MAX_CLASSES, MIN_CLASSES};
use crate::features::logreg::{predicted, probabilities};
use crate::features::{MAX_PARAMETER, MIN_SCALE};
use crate::preprocess::{PIXELS, SIDE};
use crate::{Error, Result};

/// A fitted head over the backbone's features: one logit (the second class's) for two classes,
/// one per class for 3 to [`MAX_CLASSES`]. It classifies only once the backbone it was trained
/// with is attached ([`attach_backbone`](Self::attach_backbone)).
#[derive(Clone)]
pub struct PretrainedModel {
    params: PretrainedParams,
    scaler_mean: Vec<f64>,
    scaler_std: Vec<f64>,
    /// `(outputs, FEATURES)` row-major.
    weights: Vec<f64>,
    /// `(outputs,)`.
    bias: Vec<f64>,
    /// The inverse penalty the weights were fitted with.
    c: f64,
    /// Hex sha256 of the backbone file the features came from.
    backbone_sha256: String,
    backbone: Option<Arc<Backbone>>,
}

impl std::fmt::Debug for PretrainedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PretrainedModel")
            .field("params", &self.params)
            .field("c", &self.c)
            .field("bias", &self.bias)
            .field("backbone_sha256", &self.backbone_sha256)
            .field("backbone_attached", &self.backbone.is_some())
            .finish_non_exhaustive()
    }
}

/// Two models are equal when their head and backbone identity are (attached or not).
impl PartialEq for PretrainedModel {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params
            && self.scaler_mean == other.scaler_mean
            && self.scaler_std == other.scaler_std
            && self.weights == other.weights
            && self.bias == other.bias
            && self.c == other.c
            && self.backbone_sha256 == other.backbone_sha256
    }
}

impl PretrainedModel {
    /// Assembles a model (no backbone attached), checking every shape ([`FEATURES`] values
    /// for the scaler, `outputs x FEATURES` weights for `outputs` intercepts: one, or 3 to
    /// [`MAX_CLASSES`]), that every value is finite and within [`MAX_PARAMETER`], scales `>=
    /// MIN_SCALE`, `c > 0`, and that `backbone_sha256` is 64 lowercase hex digits: the parts
    /// come from training or from a file. Errors are [`Error::InvalidModel`].
    pub fn from_parts(
        params: PretrainedParams,
        scaler_mean: Vec<f64>,
        scaler_std: Vec<f64>,
        weights: Vec<f64>,
        bias: Vec<f64>,
        c: f64,
        backbone_sha256: String,
    ) -> Result<Self> {
        let bad = |m: String| Err(Error::InvalidModel(m));
        let outputs = bias.len();
        if !(outputs == 1 || (MIN_CLASSES < outputs && outputs <= MAX_CLASSES)) {
            return bad(format!(
                "{outputs} intercepts, expected 1 (two classes) or one per class, 3 to \
                 {MAX_CLASSES}"
            ));
        }
        if weights.len() != outputs * FEATURES {
            return bad(format!(
                "weights has {} values, expected {outputs} x {FEATURES}",
                weights.len()
            ));
        }
        for (name, v) in [("scaler mean", &scaler_mean), ("scaler std", &scaler_std)] {
            if v.len() != FEATURES {
                return bad(format!(
                    "{name} has {} values, expected {FEATURES}",
                    v.len()
                ));
            }
        }
        let all = scaler_mean
            .iter()
            .chain(&scaler_std)
            .chain(&weights)
            .chain(&bias)
            .chain([&c]);
        if let Some(v) = all
            .into_iter()
            .find(|v| !v.is_finite() || v.abs() > MAX_PARAMETER)
        {
            return bad(format!(
                "a parameter is {v}, expected a finite number within {MAX_PARAMETER:e}"
            ));
        }
        if let Some(s) = scaler_std.iter().find(|&&s| s < MIN_SCALE) {
            return bad(format!("a feature scale is {s}, expected >= {MIN_SCALE:e}"));
        }
        if c <= 0.0 {
            return bad(format!("C is {c}, expected > 0"));
        }
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if backbone_sha256.len() != 64 || !backbone_sha256.bytes().all(hex) {
            return bad(format!(
                "backbone sha256 `{backbone_sha256}` is not 64 lowercase hex digits"
            ));
        }
        Ok(PretrainedModel {
            params,
            scaler_mean,
            scaler_std,
            weights,
            bias,
            c,
            backbone_sha256,
            backbone: None,
        })
    }

    /// Attaches the backbone the features come from: refused with
    /// [`Error::BackboneMismatch`] (both hashes in the message) unless its sha256 is the one the
    /// model was trained with.
    pub fn attach_backbone(&mut self, backbone: Arc<Backbone>) -> Result<()> {
        if backbone.sha256() != self.backbone_sha256 {
            return Err(Error::BackboneMismatch {
                model: self.backbone_sha256.clone(),
                file: backbone.sha256().to_string(),
            });
        }
        self.backbone = Some(backbone);
        Ok(())
    }

    /// The attached backbone, or [`Error::NoBackbone`].
    pub fn backbone(&self) -> Result<&Backbone> {
        self.backbone.as_deref().ok_or(Error::NoBackbone)
    }

    pub fn has_backbone(&self) -> bool {
        self.backbone.is_some()
    }
    pub fn params(&self) -> &PretrainedParams {
        &self.params
    }
    /// Hex sha256 of the backbone file the model was trained with.
    pub fn backbone_sha256(&self) -> &str {
        &self.backbone_sha256
    }
    pub fn scaler_mean(&self) -> &[f64] {
        &self.scaler_mean
    }
    pub fn scaler_std(&self) -> &[f64] {
        &self.scaler_std
    }
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
    /// The intercepts, one per output.
    pub fn bias(&self) -> &[f64] {
        &self.bias
    }
    /// The classes told apart: 2 for one output, else one per output.
    pub fn classes(&self) -> usize {
        match self.bias.len() {
            1 => 2,
            outputs => outputs,
        }
    }
    /// Inverse penalty of the logistic regression.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The probability of each class for each row of `rows` (`n x FEATURES` pooled features
    /// row-major, from this model's backbone at its side, as a training extracts them), `n x
    /// classes` row-major: the numbers the pixel path gives for the same images, without the
    /// backbone. A length not a multiple of [`FEATURES`] is [`Error::Shape`].
    pub fn probabilities_of_features(&self, rows: &[f32]) -> Result<Vec<f64>> {
        if rows.len() % FEATURES != 0 {
            return Err(Error::Shape(format!(
                "{} feature values: not rows of {FEATURES}",
                rows.len()
            )));
        }
        Ok(rows
            .chunks_exact(FEATURES)
            .flat_map(|f| probabilities(&self.logits_from_features(f)))
            .collect())
    }

    /// The logits from [`FEATURES`] unstandardised features (pooled, or one position of the
    /// map), one per output: `Σ_j w_oj (x_j - mean_j) / std_j + bias_o`, summed in f64 in
    /// feature order.
    pub fn logits_from_features(&self, f: &[f32]) -> Vec<f64> {
        crate::features::head::logits(
            f,
            &self.scaler_mean,
            &self.scaler_std,
            &self.weights,
            &self.bias,
        )
    }

    /// The backbone's features of `rgb` (`side x side` RGB, row-major) at the model's side,
    /// reusing `scratch`.
    pub fn features(&self, rgb: &[u8], side: usize, scratch: &mut Scratch) -> Result<Features> {
        self.backbone()?
            .features_with(rgb, side, self.params.side(), scratch)
    }

    /// The class-activation heat map of `features` for output `output` (0 for two classes: the
    /// second class's logit; else a class): that output's logit at each position of
    /// [`Features::map`], `features.side x features.side` logits, row-major. The map's mean
    /// over positions is the pooled features, and the head is affine, so the heat map's mean
    /// is the image's logit (up to the rounding of the f32 pooling).
    pub fn heat_map(&self, features: &Features, output: usize) -> Vec<f32> {
        let row = output.min(self.bias.len() - 1);
        let weights = &self.weights[row * FEATURES..(row + 1) * FEATURES];
        features
            .map
            .chunks_exact(FEATURES)
            .map(|position| {
                crate::features::head::logit(
                    position,
                    &self.scaler_mean,
                    &self.scaler_std,
                    weights,
                    self.bias[row],
                ) as f32
            })
            .collect()
    }

    /// The logits of `rgb` (`side x side` RGB) and the heat map (see
    /// [`heat_map`](Self::heat_map)) of the second class (two classes) or of the class
    /// predicted, with the side of the map.
    pub fn classify_rgb(&self, rgb: &[u8], side: usize) -> Result<(Vec<f64>, Vec<f32>, usize)> {
        let f = self.features(rgb, side, &mut Scratch::default())?;
        let logits = self.logits_from_features(&f.pooled);
        let output = Self::seen_output(&logits);
        Ok((logits, self.heat_map(&f, output), f.side))
    }

    /// The output a heat map of an image with these logits shows: the second class's (the
    /// one output) for two classes, else the predicted class's.
    pub fn seen_output(logits: &[f64]) -> usize {
        match logits {
            [_] => 0,
            _ => predicted(logits),
        }
    }

    /// Logits of `m` 64x64x3 images given one after the other (resized up to the model's side
    /// in the backbone), `m x outputs` row-major.
    pub fn logits_pixels(&self, pixels: &[u8]) -> Result<Vec<f64>> {
        if pixels.len() % PIXELS != 0 {
            return Err(Error::Shape(format!(
                "{} bytes are not a whole number of {PIXELS}-byte images",
                pixels.len()
            )));
        }
        let mut scratch = Scratch::default();
        pixels
            .chunks_exact(PIXELS)
            .map(|img| {
                let f = self.features(img, SIDE, &mut scratch)?;
                Ok(self.logits_from_features(&f.pooled))
            })
            .collect::<Result<Vec<Vec<f64>>>>()
            .map(|rows| rows.concat())
    }
}
