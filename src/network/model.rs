//! The fitted network: the only way to predict, obtained by training or from a checked file.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::inputs::project_pixels;
use crate::logistic::sigmoid;
use crate::{Error, Result};

/// A fitted network: `weights[l]` is `(dims[l+1], dims[l])`, `biases[l]` has `dims[l+1]` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    dims: Vec<usize>,
    weights: Vec<Array2<f64>>,
    biases: Vec<Array1<f64>>,
}

impl Network {
    /// Builds a network from its parameters, checking shapes and that every value is finite
    /// (used when loading a file).
    pub fn from_parts(weights: Vec<Array2<f64>>, biases: Vec<Array1<f64>>) -> Result<Self> {
        if weights.is_empty() || weights.len() != biases.len() {
            return Err(Error::InvalidModel(format!(
                "{} weight matrices and {} bias vectors: expected the same number, at least 1",
                weights.len(),
                biases.len()
            )));
        }
        let mut dims = vec![weights[0].ncols()];
        for (l, (w, b)) in weights.iter().zip(&biases).enumerate() {
            let prev = dims[l];
            if w.ncols() != prev || w.nrows() == 0 || b.len() != w.nrows() {
                return Err(Error::InvalidModel(format!(
                    "layer {}: W is {:?} and b has {} values after a layer of {prev}",
                    l + 1,
                    w.dim(),
                    b.len()
                )));
            }
            if w.iter().chain(b.iter()).any(|v| !v.is_finite()) {
                return Err(Error::InvalidModel(format!(
                    "layer {} holds a value that is not a finite number",
                    l + 1
                )));
            }
            dims.push(w.nrows());
        }
        if dims.last() != Some(&1) {
            return Err(Error::InvalidModel(format!(
                "the output layer has {} units, expected 1",
                dims.last().copied().unwrap_or(0)
            )));
        }
        Ok(Network {
            dims,
            weights,
            biases,
        })
    }

    /// Layer sizes `[n_x, hidden..., 1]`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// `weights[l]` is `(dims[l+1], dims[l])`.
    pub fn weights(&self) -> &[Array2<f64>] {
        &self.weights
    }
    /// `biases[l]` has `dims[l+1]` values.
    pub fn biases(&self) -> &[Array1<f64>] {
        &self.biases
    }

    fn check_input(&self, x: &ArrayView2<f64>) -> Result<()> {
        if x.nrows() != self.dims[0] {
            return Err(Error::Shape(format!(
                "the model takes {} features per example, got {}",
                self.dims[0],
                x.nrows()
            )));
        }
        Ok(())
    }

    /// Output logits `z` `(m,)` for `x` `(n_x, m)`; `P(cat) = sigmoid(z)`.
    pub fn logits(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        self.check_input(&x)?;
        Ok(self.head(self.weights[0].dot(&x)))
    }

    /// Output logits `z` `(m,)` for `m` images of `n_x` bytes each, one after the other (the
    /// model sees `byte / 255`). This is the path training and the apps use: the first layer
    /// runs on the bytes with the fast kernels.
    pub fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        let n_x = self.dims[0];
        if pixels.len() % n_x != 0 {
            return Err(Error::Shape(format!(
                "{} bytes are not a whole number of {n_x}-byte images",
                pixels.len()
            )));
        }
        Ok(self.head(project_pixels(pixels, n_x, &self.weights[0])))
    }

    /// Layers after the first product `W1 X`: bias, ReLU, ..., output logits.
    fn head(&self, z1: Array2<f64>) -> Array1<f64> {
        let last = self.weights.len() - 1;
        let mut a = z1;
        for (l, b) in self.biases.iter().enumerate() {
            if l > 0 {
                a = self.weights[l].dot(&a);
            }
            a += &b.view().insert_axis(Axis(1));
            if l < last {
                a.mapv_inplace(relu);
            }
        }
        a.row(0).to_owned()
    }

    /// Fraction of the images (bytes, see [`Network::logits_pixels`]) whose predicted label
    /// equals `y`, in [0, 1].
    pub fn accuracy_pixels(&self, pixels: &[u8], y: &[u8]) -> Result<f64> {
        fraction_right(&self.logits_pixels(pixels)?, y)
    }

    /// Probability of "cat" for each column of `x` `(n_x, m)`, in [0, 1].
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(self.logits(x)?.mapv(sigmoid))
    }

    /// Labels 0/1 (1 where the probability of "cat" is > 0.5).
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<u8>> {
        Ok(self
            .logits(x)?
            .iter()
            .map(|&z| u8::from(sigmoid(z) > 0.5))
            .collect())
    }

    /// Fraction of `x`'s examples whose predicted label equals `y`, in [0, 1].
    pub fn accuracy(&self, x: ArrayView2<f64>, y: &[u8]) -> Result<f64> {
        fraction_right(&self.logits(x)?, y)
    }
}

/// Fraction of logits `z` whose label (1 where `sigmoid(z) > 0.5`) equals `y`; 0 when empty.
pub(crate) fn fraction_right(z: &Array1<f64>, y: &[u8]) -> Result<f64> {
    if z.len() != y.len() {
        return Err(Error::Shape(format!(
            "{} examples and {} labels",
            z.len(),
            y.len()
        )));
    }
    if y.is_empty() {
        return Ok(0.0);
    }
    let right = z
        .iter()
        .zip(y)
        .filter(|(&z, &y)| u8::from(sigmoid(z) > 0.5) == y)
        .count();
    Ok(right as f64 / y.len() as f64)
}

/// The hidden layers' activation.
pub(super) fn relu(z: f64) -> f64 {
    z.max(0.0)
}
