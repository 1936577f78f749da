//! The learned-feature model in a model file (kind `features`).
//!
//! Tensors (`F64`, row-major): `whitening_mean` `(108,)`, `whitening` `(108, 108)`,
//! `dictionary` `(filters, 108)` (unit filters in whitened space), `scaler_mean` and
//! `scaler_std` `(8 filters,)`, `weights` `(8 filters,)`, `bias` `(1,)`. Metadata (strings):
//! `format` = `purrceptron-model`, `version` = `1`, `kind` = `features`, `params` (JSON of
//! [`FeatureParams`]), `c` (the inverse penalty), `cross_validation` (JSON of
//! [`CrossValidation`]) and `receipt`. The encoder's folded filters are recomputed on load.

use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};

use super::{CrossValidation, FeatureModel, FeatureParams, Whitening, PATCH_LEN};
use crate::modelfile::{Receipt, FORMAT, VERSION};
use crate::{Error, Result};

/// Value of the `kind` metadata key.
pub const KIND: &str = "features";

/// A learned-feature model as saved.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedFeatures {
    pub model: FeatureModel,
    pub cross_validation: CrossValidation,
    pub receipt: Receipt,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidModel(msg.into())
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| invalid(e.to_string()))
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
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(name, shape, v)| {
                let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                (name.to_string(), shape.clone(), bytes)
            })
            .collect();
        let views = data
            .iter()
            .map(|(name, shape, bytes)| {
                safetensors::tensor::TensorView::new(Dtype::F64, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| invalid(format!("{name}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("kind".to_string(), KIND.to_string()),
            ("params".to_string(), json(m.params())?),
            ("c".to_string(), json(&m.c())?),
            (
                "cross_validation".to_string(),
                json(&self.cross_validation)?,
            ),
            ("receipt".to_string(), json(&self.receipt)?),
        ]);
        crate::modelfile::serialize(views, metadata)
    }

    /// Reads and validates a `features` model file: metadata, every tensor's dtype and shape,
    /// finite values, positive scales. Any defect gives [`Error::InvalidModel`] naming it.
    /// (The `format`, `version` and `kind` keys are checked by
    /// [`crate::modelfile::AnyModel::from_bytes`], which dispatches here.)
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| invalid(format!("not a readable safetensors file ({e})")))?;
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| invalid(format!("not a readable safetensors file ({e})")))?;
        let empty = HashMap::new();
        let meta = meta.metadata().as_ref().unwrap_or(&empty);
        let get = |key: &str| {
            meta.get(key)
                .map(String::as_str)
                .ok_or_else(|| invalid(format!("metadata has no `{key}`")))
        };
        if get("kind")? != KIND {
            return Err(invalid(format!(
                "kind is `{}`, expected `{KIND}`",
                get("kind")?
            )));
        }
        let params: FeatureParams =
            serde_json::from_str(get("params")?).map_err(|e| invalid(format!("params: {e}")))?;
        let c: f64 = serde_json::from_str(get("c")?).map_err(|e| invalid(format!("c: {e}")))?;
        let cross_validation: CrossValidation = serde_json::from_str(get("cross_validation")?)
            .map_err(|e| invalid(format!("cross_validation: {e}")))?;
        let receipt: Receipt =
            serde_json::from_str(get("receipt")?).map_err(|e| invalid(format!("receipt: {e}")))?;
        let k = params.filters();
        let nf = params.n_features();
        if st.len() != 7 {
            return Err(invalid(format!(
                "{} tensors, expected 7 (whitening_mean, whitening, dictionary, scaler_mean, \
                 scaler_std, weights, bias)",
                st.len()
            )));
        }
        let read = |name: &str, shape: &[usize]| -> Result<Vec<f64>> {
            let t = st
                .tensor(name)
                .map_err(|_| invalid(format!("tensor `{name}` is missing")))?;
            if t.dtype() != Dtype::F64 {
                return Err(invalid(format!(
                    "`{name}` has dtype {:?}, expected F64",
                    t.dtype()
                )));
            }
            if t.shape() != shape {
                return Err(invalid(format!(
                    "`{name}` has shape {:?}, expected {shape:?} for {k} filters",
                    t.shape()
                )));
            }
            Ok(t.data()
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    f64::from_le_bytes(b)
                })
                .collect())
        };
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
        })
    }
}
