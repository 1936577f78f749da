//! The fitted learned-feature model: whitening, filters, feature scaling and the logistic
//! regression on top, checked when assembled.

use ndarray::Array1;

use super::{downscale, Encoder, FeatureParams, Whitening, MAX_PARAMETER, MIN_SCALE, PATCH_LEN};
use crate::preprocess::PIXELS;
use crate::{Error, Result};

/// A fitted learned-feature model: everything needed to classify a 64x64 image.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureModel {
    params: FeatureParams,
    whitening: Whitening,
    /// Unit filters in whitened space, `k x 108` row-major.
    dictionary: Vec<f64>,
    encoder: Encoder,
    scaler_mean: Vec<f64>,
    scaler_std: Vec<f64>,
    weights: Vec<f64>,
    bias: f64,
    /// The inverse penalty the weights were fitted with.
    c: f64,
}

impl FeatureModel {
    /// Assembles a model, checking every shape and that every value is finite (`scaler_std`
    /// positive): the parts come from training or from a file.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        params: FeatureParams,
        whitening: Whitening,
        dictionary: Vec<f64>,
        scaler_mean: Vec<f64>,
        scaler_std: Vec<f64>,
        weights: Vec<f64>,
        bias: f64,
        c: f64,
    ) -> Result<Self> {
        let bad = |m: String| Err(Error::InvalidModel(m));
        let k = params.filters();
        let nf = params.n_features();
        let checks: [(&str, usize, usize); 6] = [
            ("whitening mean", whitening.mean.len(), PATCH_LEN),
            (
                "whitening matrix",
                whitening.matrix.len(),
                PATCH_LEN * PATCH_LEN,
            ),
            ("dictionary", dictionary.len(), k * PATCH_LEN),
            ("scaler mean", scaler_mean.len(), nf),
            ("scaler std", scaler_std.len(), nf),
            ("weights", weights.len(), nf),
        ];
        for (name, got, want) in checks {
            if got != want {
                return bad(format!(
                    "{name} has {got} values, expected {want} for {k} filters"
                ));
            }
        }
        let all = whitening
            .mean
            .iter()
            .chain(&whitening.matrix)
            .chain(&dictionary)
            .chain(&scaler_mean)
            .chain(&scaler_std)
            .chain(&weights)
            .chain([&bias, &c]);
        if all.clone().any(|v| !v.is_finite()) {
            return bad("a parameter is not a finite number".into());
        }
        // Bounds that keep every intermediate finite: the folded encoder weights (108 products
        // of whitening and filter values) and the encodings in f32, the standardised features
        // and the logit in f64. Trained models are far inside them (whitening entries <= ~3,
        // unit filters, |weights| ~ 1; the trainer leaves scales below 1e-6 at 1).
        if let Some(v) = all.into_iter().find(|v| v.abs() > MAX_PARAMETER) {
            return bad(format!(
                "a parameter is {v}, beyond the {MAX_PARAMETER:e} a trained model stays within"
            ));
        }
        if let Some(s) = scaler_std.iter().find(|&&s| s < MIN_SCALE) {
            return bad(format!("a feature scale is {s}, expected >= {MIN_SCALE:e}"));
        }
        if c <= 0.0 {
            return bad(format!("C is {c}, expected > 0"));
        }
        let encoder = Encoder::new(&whitening, &dictionary);
        if !encoder.is_finite() {
            return bad(
                "the whitening and the filters give encoder weights that are not finite".into(),
            );
        }
        Ok(FeatureModel {
            params,
            whitening,
            dictionary,
            encoder,
            scaler_mean,
            scaler_std,
            weights,
            bias,
            c,
        })
    }

    pub fn params(&self) -> &FeatureParams {
        &self.params
    }
    pub fn whitening(&self) -> &Whitening {
        &self.whitening
    }
    /// Unit filters in whitened space, `filters x 108` row-major.
    pub fn dictionary(&self) -> &[f64] {
        &self.dictionary
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
    pub fn bias(&self) -> f64 {
        self.bias
    }
    /// Inverse penalty of the logistic regression.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The unstandardised features of one 64x64x3 image (`8 x filters` values).
    pub fn features(&self, image: &[u8]) -> Result<Vec<f32>> {
        if image.len() != PIXELS {
            return Err(Error::Shape(format!(
                "an image of {} bytes, expected {PIXELS}",
                image.len()
            )));
        }
        Ok(self.encoder.encode(&downscale(image)))
    }

    /// Logit of "cat" from unstandardised features.
    pub fn logit_from_features(&self, f: &[f32]) -> f64 {
        crate::features::head::logit(
            f,
            &self.scaler_mean,
            &self.scaler_std,
            &self.weights,
            self.bias,
        )
    }

    /// Logits `(m,)` of `m` 64x64x3 images given one after the other; `P(cat) = sigmoid(z)`.
    pub fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        if pixels.len() % PIXELS != 0 {
            return Err(Error::Shape(format!(
                "{} bytes are not a whole number of {PIXELS}-byte images",
                pixels.len()
            )));
        }
        pixels
            .chunks_exact(PIXELS)
            .map(|img| Ok(self.logit_from_features(&self.features(img)?)))
            .collect::<Result<Vec<f64>>>()
            .map(Array1::from)
    }
}
