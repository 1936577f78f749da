//! The learned-feature model in a model file, kind `features`.
//!
//! Tensors (`F64`, row-major): `whitening_mean` `(108,)`, `whitening` `(108, 108)`,
//! `dictionary` `(filters, 108)` (unit filters in whitened space), `scaler_mean` and
//! `scaler_std` `(8 filters,)`, `weights` `(8 filters,)`, `bias` `(1,)`. Metadata (strings):
//! `format`, `version`, `kind` = `features`, `params` (JSON of [`FeatureParams`]), `c` (the
//! inverse penalty), `cross_validation` (JSON of [`CrossValidation`]), `receipt` and `classes`
//! (the two class names; the classic two when absent). The encoder's folded filters are
//! recomputed on load.

use safetensors::Dtype;

use super::{head_metadata, invalid, read_classes};
use crate::data::container::{self, Container};
use crate::features::{CrossValidation, FeatureModel, FeatureParams, Whitening, PATCH_LEN};
use crate::model::Receipt;
use crate::Result;

/// Value of the `kind` metadata key.
pub const KIND: &str = "features";

/// A learned-feature model as saved.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedFeatures {
    pub model: FeatureModel,
    pub cross_validation: CrossValidation,
    pub receipt: Receipt,
    /// The two class names, index = label (the logit is the second's).
    pub classes: Vec<String>,
}

impl SavedFeatures {
    /// Serialises the model (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let m = &self.model;
        let k = m.params().filters();
        let nf = m.params().n_features();
        let bias = [m.bias()];
        let tensors: [(&str, Vec<usize>, &[f64]); 7] = [
            ("whitening_mean", vec![PATCH_LEN], &m.whitening().mean),
            (
                "whitening",
                vec![PATCH_LEN, PATCH_LEN],
                &m.whitening().matrix,
            ),
            ("dictionary", vec![k, PATCH_LEN], m.dictionary()),
            ("scaler_mean", vec![nf], m.scaler_mean()),
            ("scaler_std", vec![nf], m.scaler_std()),
            ("weights", vec![nf], m.weights()),
            ("bias", vec![1], &bias),
        ];
        let tensors: Vec<_> = tensors
            .into_iter()
            .map(|(name, shape, v)| container::f64_owned(name, shape, v.iter().copied()))
            .collect();
        let metadata = head_metadata(
            KIND,
            m.params(),
            m.c(),
            &self.cross_validation,
            &self.receipt,
            &self.classes,
        )?;
        container::write(&tensors, Dtype::F64, metadata, invalid)
    }

    /// Reads a `features` model file whose `format`, `version` and `kind` were checked by
    /// [`crate::model::Model::from_bytes`]: metadata, every tensor's dtype and shape, finite
    /// values, positive scales. Any defect gives [`crate::Error::InvalidModel`] naming it.
    pub(super) fn read(file: &Container<'_>) -> Result<Self> {
        let params: FeatureParams = file.meta_json("params")?;
        let c: f64 = file.meta_json("c")?;
        let cross_validation: CrossValidation = file.meta_json("cross_validation")?;
        let receipt: Receipt = file.meta_json("receipt")?;
        let k = params.filters();
        let nf = params.n_features();
        if file.tensors.len() != 7 {
            return Err(invalid(format!(
                "{} tensors, expected 7 (whitening_mean, whitening, dictionary, scaler_mean, \
                 scaler_std, weights, bias)",
                file.tensors.len()
            )));
        }
        let what = format!(" for {k} filters");
        let read = |name: &str, shape: &[usize]| file.f64_tensor(name, shape, &what);
        let whitening = Whitening {
            mean: read("whitening_mean", &[PATCH_LEN])?,
            matrix: read("whitening", &[PATCH_LEN, PATCH_LEN])?,
        };
        let dictionary = read("dictionary", &[k, PATCH_LEN])?;
        let scaler_mean = read("scaler_mean", &[nf])?;
        let scaler_std = read("scaler_std", &[nf])?;
        let weights = read("weights", &[nf])?;
        let bias = read("bias", &[1])?[0];
        let model = FeatureModel::from_parts(
            params,
            whitening,
            dictionary,
            scaler_mean,
            scaler_std,
            weights,
            bias,
            c,
        )?;
        Ok(SavedFeatures {
            model,
            cross_validation,
            receipt,
            classes: read_classes(file, 2)?,
        })
    }
}
