//! A fitted model in one safetensors file: its weights plus a receipt of how it was made.
//!
//! Tensors (`F64`, row-major): `W1`, `b1`, `W2`, `b2`, ... with `Wl` `(n_l, n_{l-1})` and `bl`
//! `(n_l,)`, named as in the classic notebook. Metadata (strings): `format` =
//! `purrceptron-model`, `version` = `1`, `kind` = `network`, `hyperparams` (JSON of
//! [`Hyperparams`]) and `receipt` (JSON of [`Receipt`]). Loading validates all of it.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::network::{Hyperparams, Network};
use crate::preprocess::PIXELS;
use crate::{Error, Result};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "purrceptron-model";
/// Value of the `version` metadata key.
pub const VERSION: &str = "1";

/// How a model was obtained and how well it did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`crate::dataset::Dataset::content_sha256`] of the training data.
    pub dataset_sha256: String,
    /// Cost of the final weights on the training set.
    pub final_cost: f64,
    /// Accuracy on the train split, in [0, 1].
    pub train_accuracy: f64,
    /// Accuracy on the test split, in [0, 1]; `None` when the dataset had no test split.
    pub test_accuracy: Option<f64>,
    /// Gradient-descent iterations run.
    pub iterations_run: usize,
    /// When training ended, RFC 3339 UTC (e.g. `2026-11-29T06:30:00Z`); may be empty.
    pub created: String,
}

/// A model as saved: weights, hyper-parameters and receipt.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    pub network: Network,
    pub hyperparams: Hyperparams,
    pub receipt: Receipt,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidModel(msg.into())
}

/// A model file (of either kind) from its tensors and metadata, the metadata sorted so that the
/// same model always gives the same bytes.
pub(crate) fn serialize(
    views: Vec<(String, safetensors::tensor::TensorView<'_>)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| invalid(format!("cannot serialise: {e}")))?;
    crate::dataset::sorted_header(bytes, |what| invalid(format!("cannot serialise: {what}")))
}

impl SavedModel {
    /// Serialises the model (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes = |a: &mut dyn Iterator<Item = &f64>| -> Vec<u8> {
            a.flat_map(|v| v.to_le_bytes()).collect()
        };
        let mut data = Vec::new();
        for (l, (w, b)) in self
            .network
            .weights()
            .iter()
            .zip(self.network.biases())
            .enumerate()
        {
            data.push((
                format!("W{}", l + 1),
                vec![w.nrows(), w.ncols()],
                bytes(&mut w.iter()),
            ));
            data.push((format!("b{}", l + 1), vec![b.len()], bytes(&mut b.iter())));
        }
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
            ("kind".to_string(), "network".to_string()),
            ("hyperparams".to_string(), to_json(&self.hyperparams)?),
            ("receipt".to_string(), to_json(&self.receipt)?),
        ]);
        serialize(views, metadata)
    }

    /// Reads and validates a model file: container, metadata, every weight's dtype and shape,
    /// finite values, and an input layer of 64x64x3 = 12288 features. Any defect gives
    /// [`Error::InvalidModel`] naming it; nothing here panics.
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
        match get("format")? {
            FORMAT => {}
            crate::dataset::FORMAT => {
                return Err(invalid(
                    "this is a dataset file, not a model (load it as a dataset)",
                ))
            }
            other => return Err(invalid(format!("format is `{other}`, expected `{FORMAT}`"))),
        }
        let version = get("version")?;
        if version != VERSION {
            return Err(invalid(format!(
                "version `{version}` is not supported (this build reads version {VERSION})"
            )));
        }
        let kind = get("kind")?;
        if kind != "network" {
            return Err(invalid(format!("unknown model kind `{kind}`")));
        }
        let hyperparams: Hyperparams = serde_json::from_str(get("hyperparams")?)
            .map_err(|e| invalid(format!("hyperparams: {e}")))?;
        let receipt: Receipt =
            serde_json::from_str(get("receipt")?).map_err(|e| invalid(format!("receipt: {e}")))?;

        let layers = hyperparams.hidden().len() + 1;
        if st.len() != 2 * layers {
            return Err(invalid(format!(
                "{} tensors for a network of {layers} layers (expected W1, b1, ... W{layers}, b{layers})",
                st.len()
            )));
        }
        let read = |name: &str, rank: usize| -> Result<(Vec<usize>, Vec<f64>)> {
            let t = st
                .tensor(name)
                .map_err(|_| invalid(format!("tensor `{name}` is missing")))?;
            if t.dtype() != Dtype::F64 {
                return Err(invalid(format!(
                    "`{name}` has dtype {:?}, expected F64",
                    t.dtype()
                )));
            }
            if t.shape().len() != rank {
                return Err(invalid(format!(
                    "`{name}` has shape {:?}, expected {rank} dimensions",
                    t.shape()
                )));
            }
            let values = t
                .data()
                .chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    f64::from_le_bytes(b)
                })
                .collect();
            Ok((t.shape().to_vec(), values))
        };
        let mut weights = Vec::with_capacity(layers);
        let mut biases = Vec::with_capacity(layers);
        for l in 1..=layers {
            let (shape, w) = read(&format!("W{l}"), 2)?;
            let w = Array2::from_shape_vec((shape[0], shape[1]), w)
                .map_err(|e| invalid(format!("W{l}: {e}")))?;
            let (_, b) = read(&format!("b{l}"), 1)?;
            weights.push(w);
            biases.push(Array1::from(b));
        }
        let network = Network::from_parts(weights, biases)?;
        let expected = hyperparams.dims(PIXELS);
        if network.dims() != expected {
            return Err(invalid(format!(
                "layer sizes {:?} do not match the hyper-parameters' {:?}",
                network.dims(),
                expected
            )));
        }
        Ok(SavedModel {
            network,
            hyperparams,
            receipt,
        })
    }
}

/// Any model file, by its `kind`: an L-layer network or a learned-feature model.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    Network(SavedModel),
    Features(crate::features::file::SavedFeatures),
}

impl AnyModel {
    /// Reads and validates a model file of either kind (see [`SavedModel::from_bytes`] and
    /// [`crate::features::file::SavedFeatures::from_bytes`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let kind = SafeTensors::read_metadata(bytes)
            .ok()
            .and_then(|(_, m)| m.metadata().as_ref()?.get("kind").cloned());
        if kind.as_deref() != Some(crate::features::file::KIND) {
            return SavedModel::from_bytes(bytes).map(AnyModel::Network);
        }
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| invalid(format!("not a readable safetensors file ({e})")))?;
        let empty = HashMap::new();
        let meta = meta.metadata().as_ref().unwrap_or(&empty);
        let format = meta.get("format").map(String::as_str).unwrap_or("");
        if format != FORMAT {
            return Err(invalid(format!(
                "format is `{format}`, expected `{FORMAT}`"
            )));
        }
        let version = meta.get("version").map(String::as_str).unwrap_or("");
        if version != VERSION {
            return Err(invalid(format!(
                "version `{version}` is not supported (this build reads version {VERSION})"
            )));
        }
        crate::features::file::SavedFeatures::from_bytes(bytes).map(AnyModel::Features)
    }

    /// Serialises the model in its own kind's layout.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        match self {
            AnyModel::Network(m) => m.to_bytes(),
            AnyModel::Features(m) => m.to_bytes(),
        }
    }

    /// The `kind` metadata value: `network` or `features`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyModel::Network(_) => "network",
            AnyModel::Features(_) => crate::features::file::KIND,
        }
    }

    /// How the model was obtained.
    pub fn receipt(&self) -> &Receipt {
        match self {
            AnyModel::Network(m) => &m.receipt,
            AnyModel::Features(m) => &m.receipt,
        }
    }
}

impl crate::classifier::PixelModel for AnyModel {
    fn logits_pixels(&self, pixels: &[u8]) -> Result<ndarray::Array1<f64>> {
        match self {
            AnyModel::Network(m) => m.network.logits_pixels(pixels),
            AnyModel::Features(m) => m.model.logits_pixels(pixels),
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| invalid(e.to_string()))
}

/// Formats Unix seconds as RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`), for [`Receipt::created`].
pub fn rfc3339_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Days to civil date: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms".
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1795933750 +%FT%TZ`
        assert_eq!(rfc3339_utc(1_795_933_750), "2026-11-29T06:29:10Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
