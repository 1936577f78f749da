//! The pretrained-feature model in a model file, kind `pretrained`: the head only, not the
//! backbone (it is loaded from backbone.safetensors and must have the sha256 recorded here).
//!
//! Tensors (`F64`): `scaler_mean`, `scaler_std` and `weights` `(1280,)`, `bias` `(1,)`.
//! Metadata (strings): `format`, `version`, `kind` = `pretrained`, `params` (JSON of
//! [`PretrainedParams`]), `c` (the inverse penalty), `cross_validation` (JSON of
//! [`CrossValidation`]), `backbone_sha256` (hex sha256 of the backbone file) and `receipt`.

use safetensors::Dtype;

use super::{head_metadata, invalid};
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
}

impl SavedPretrained {
    /// Serialises the head (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let m = &self.model;
        let bias = [m.bias()];
        let tensors: [(&str, &[f64]); 4] = [
            ("scaler_mean", m.scaler_mean()),
            ("scaler_std", m.scaler_std()),
            ("weights", m.weights()),
            ("bias", &bias),
        ];
        let tensors: Vec<_> = tensors
            .into_iter()
            .map(|(name, v)| container::f64_owned(name, vec![v.len()], v.iter().copied()))
            .collect();
        let mut metadata = head_metadata(
            KIND,
            m.params(),
            m.c(),
            &self.cross_validation,
            &self.receipt,
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
        let model = PretrainedModel::from_parts(
            params,
            read("scaler_mean", &[FEATURES])?,
            read("scaler_std", &[FEATURES])?,
            read("weights", &[FEATURES])?,
            read("bias", &[1])?[0],
            c,
            sha256,
        )?;
        Ok(SavedPretrained {
            model,
            cross_validation,
            receipt,
        })
    }
}
