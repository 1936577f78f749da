//! The pretrained-feature model in a model file, kind `pretrained`: the head only, not the
//! backbone (it is loaded from backbone.safetensors and must have the sha256 recorded here).
//!
//! Tensors (`F64`): `scaler_mean` and `scaler_std` `(1280,)`; two classes: `weights` `(1280,)`
//! and `bias` `(1,)` (the second class's logit); N classes (3 to 20): `weights` `(N, 1280)`
//! and `bias` `(N,)` (a softmax). Metadata (strings): `format`, `version`, `kind` =
//! `pretrained`, `params` (JSON of [`PretrainedParams`]), `c` (the inverse penalty),
//! `cross_validation` (JSON of [`CrossValidation`]), `backbone_sha256` (hex sha256 of the
//! backbone file), `receipt` and `classes` (JSON list of the N names; the classic two when
//! absent).

use safetensors::Dtype;

use super::{head_metadata, invalid, read_classes};
use crate::data::container::{self, Container};
use crate::features::CrossValidation;
use crate::model::Receipt;
use crate::pretrained::{PretrainedModel, PretrainedParams, FEATURES};
use crate::Result;

/// Value of the `kind` metadata key.
pub const KIND: &str = "pretrained";

/// A pretrained-feature model as saved (its backbone attached or not: see
/// [`PretrainedModel::attach_backbone`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SavedPretrained {
    pub model: PretrainedModel,
    pub cross_validation: CrossValidation,
    pub receipt: Receipt,
    /// The class names, index = label.
    pub classes: Vec<String>,
}

impl SavedPretrained {
    /// Serialises the head (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let m = &self.model;
        let outputs = m.bias().len();
        // Two classes keep the layout of the files from before N classes.
        let weights_shape = match outputs {
            1 => vec![FEATURES],
            n => vec![n, FEATURES],
        };
        let tensors: [(&str, Vec<usize>, &[f64]); 4] = [
            ("scaler_mean", vec![FEATURES], m.scaler_mean()),
            ("scaler_std", vec![FEATURES], m.scaler_std()),
            ("weights", weights_shape, m.weights()),
            ("bias", vec![outputs], m.bias()),
        ];
        let tensors: Vec<_> = tensors
            .into_iter()
            .map(|(name, shape, v)| container::f64_owned(name, shape, v.iter().copied()))
            .collect();
        let mut metadata = head_metadata(
            KIND,
            m.params(),
            m.c(),
            &self.cross_validation,
            &self.receipt,
            &self.classes,
        )?;
        metadata.insert(
            "backbone_sha256".to_string(),
            m.backbone_sha256().to_string(),
        );
        container::write(&tensors, Dtype::F64, metadata, invalid)
    }

    /// Reads a `pretrained` model file whose `format`, `version` and `kind` were checked by
    /// [`crate::model::Model::from_bytes`]. Any defect gives [`crate::Error::InvalidModel`]
    /// naming it. The model comes without its backbone.
    pub(super) fn read(file: &Container<'_>) -> Result<Self> {
        let params: PretrainedParams = file.meta_json("params")?;
        let c: f64 = file.meta_json("c")?;
        let cross_validation: CrossValidation = file.meta_json("cross_validation")?;
        let receipt: Receipt = file.meta_json("receipt")?;
        let sha256 = file.meta("backbone_sha256")?.to_string();
        if file.tensors.len() != 4 {
            return Err(invalid(format!(
                "{} tensors, expected 4 (scaler_mean, scaler_std, weights, bias)",
                file.tensors.len()
            )));
        }
        let what = " for the pretrained features";
        let read = |name: &str, shape: &[usize]| file.f64_tensor(name, shape, what);
        let (bias_shape, bias) = file.f64_tensor_rank("bias", 1)?;
        let outputs = bias_shape[0];
        let weights = match outputs {
            1 => read("weights", &[FEATURES])?,
            n => read("weights", &[n, FEATURES])?,
        };
        let model = PretrainedModel::from_parts(
            params,
            read("scaler_mean", &[FEATURES])?,
            read("scaler_std", &[FEATURES])?,
            weights,
            bias,
            c,
            sha256,
        )?;
        let classes = read_classes(file, model.classes())?;
        Ok(SavedPretrained {
            model,
            cross_validation,
            receipt,
            classes,
        })
    }
}
