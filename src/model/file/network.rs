//! A network (logistic regression or L-layer) in a model file, kind `network`.
//!
//! Tensors (`F64`, row-major): `W1`, `b1`, `W2`, `b2`, ... with `Wl` `(n_l, n_{l-1})` and `bl`
//! `(n_l,)`, named as in the classic notebook. Metadata (strings): `format`, `version`,
//! `kind` = `network`, `hyperparams` (JSON of [`Hyperparams`]), `receipt` (JSON of
//! [`Receipt`]) and `classes` (JSON list of the two class names; the classic two when absent).
//! Loading validates all of it.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use safetensors::Dtype;

use super::{classes_json, invalid, json, read_classes, FORMAT, VERSION};
use crate::data::container::{self, Container};
use crate::model::Receipt;
use crate::network::{Hyperparams, Network};
use crate::preprocess::PIXELS;
use crate::Result;

/// Value of the `kind` metadata key.
pub const KIND: &str = "network";

/// A network as saved: weights, hyper-parameters and receipt.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedNetwork {
    pub network: Network,
    pub hyperparams: Hyperparams,
    pub receipt: Receipt,
    /// The two class names, index = label (the logit is the second's).
    pub classes: Vec<String>,
}

impl SavedNetwork {
    /// Serialises the model (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors = Vec::new();
        let layers = self.network.weights().iter().zip(self.network.biases());
        for (l, (w, b)) in layers.enumerate() {
            let shape = vec![w.nrows(), w.ncols()];
            tensors.push(container::f64_owned(
                &format!("W{}", l + 1),
                shape,
                w.iter().copied(),
            ));
            tensors.push(container::f64_owned(
                &format!("b{}", l + 1),
                vec![b.len()],
                b.iter().copied(),
            ));
        }
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("kind".to_string(), KIND.to_string()),
            ("hyperparams".to_string(), json(&self.hyperparams)?),
            ("receipt".to_string(), json(&self.receipt)?),
            classes_json(&self.classes)?,
        ]);
        container::write(&tensors, Dtype::F64, metadata, invalid)
    }

    /// Reads a `network` model file whose `format`, `version` and `kind` were checked by
    /// [`crate::model::Model::from_bytes`]: every weight's dtype and shape, finite values, and
    /// an input layer of 64x64x3 = 12288 features. Any defect gives
    /// [`crate::Error::InvalidModel`] naming it; nothing here panics.
    pub(super) fn read(file: &Container<'_>) -> Result<Self> {
        let hyperparams: Hyperparams = file.meta_json("hyperparams")?;
        let receipt: Receipt = file.meta_json("receipt")?;
        let layers = hyperparams.hidden().len() + 1;
        if file.tensors.len() != 2 * layers {
            return Err(invalid(format!(
                "{} tensors for a network of {layers} layers (expected W1, b1, ... W{layers}, b{layers})",
                file.tensors.len()
            )));
        }
        let mut weights = Vec::with_capacity(layers);
        let mut biases = Vec::with_capacity(layers);
        for l in 1..=layers {
            let (shape, w) = file.f64_tensor_rank(&format!("W{l}"), 2)?;
            let w = Array2::from_shape_vec((shape[0], shape[1]), w)
                .map_err(|e| invalid(format!("W{l}: {e}")))?;
            let (_, b) = file.f64_tensor_rank(&format!("b{l}"), 1)?;
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
        Ok(SavedNetwork {
            network,
            hyperparams,
            receipt,
            classes: read_classes(file, 2)?,
        })
    }
}
