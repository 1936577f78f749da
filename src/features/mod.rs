//! A single layer of learned features (Coates, Lee & Ng, "An analysis of single-layer networks
//! in unsupervised feature learning", AISTATS 2011) under an L2 logistic regression.
//!
//! Pipeline, with the defaults of [`FeatureParams`]:
//! 1. every 64x64 image is averaged down to 32x32 ([`downscale`]), values in [0, 1];
//! 2. `patches` random 6x6x3 patches (108 values) are sampled from the training images, each
//!    normalised to zero mean and divided by `sqrt(variance + 0.01)` ([`normalise_patch`]);
//! 3. ZCA whitening of the sampled patches: `V diag(1/sqrt(eig + 0.1)) Vᵀ` after subtracting
//!    their mean ([`Whitening`]; eigen-decomposition in [`eig`]);
//! 4. `filters` unit filters learnt by spherical k-means on the whitened patches ([`kmeans`]);
//! 5. encoding ([`Encoder`]): the whitening is folded into the filters (`W = Wz Dᵀ`,
//!    `bias = mean·W`), every one of the 27x27 normalised patches gives `z = patch·W - bias`,
//!    and the features are `max(0, z - 0.25)` and `max(0, -z - 0.25)` averaged over the four
//!    quadrants of the 27x27 grid: `4 x 2 x filters` = 1024 values per image;
//! 6. the training images and their mirror images are encoded, the features standardised and
//!    an L2 logistic regression fitted ([`logreg`]), its inverse penalty `C` picked by 5-fold
//!    cross-validation on the training set (mirror images stay in their original's fold).
//!
//! Training is resumable ([`FeatureTrainer::step`]) so that a Web Worker can run it in slices.
//! Everything inside one image's features runs in `f32` in a fixed order, so the browser and the
//! native build compute the same features.

pub mod eig;
pub mod file;
pub mod logreg;

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use crate::preprocess::{PIXELS, SIDE};
use crate::rng::Mt19937;
use crate::{Error, Result};

use crate::kernels::matmul_f32;

/// Side of the downscaled image.
pub const SMALL: usize = SIDE / 2;
/// Side of a patch.
pub const PATCH: usize = 6;
/// Values in one patch (6 x 6 x 3).
pub const PATCH_LEN: usize = PATCH * PATCH * 3;
/// Patch positions along one side (stride 1).
pub const POSITIONS: usize = SMALL - PATCH + 1;
/// Rows (and columns) of positions in the first half of the grid for pooling (27 = 14 + 13).
const HALF: usize = POSITIONS.div_ceil(2);
/// Added to a patch's variance before dividing by its square root (pixels in [0, 1]).
pub const NORM_EPSILON: f32 = 0.01;
/// Added to the covariance eigenvalues in ZCA whitening.
pub const ZCA_EPSILON: f64 = 0.1;
/// Soft threshold of the encoder.
pub const THRESHOLD: f32 = 0.25;
/// Weight of the old filter in a k-means update (keeps empty clusters' filters).
pub const KMEANS_DAMPING: f64 = 1e-3;
/// Largest magnitude of any stored parameter of a model file (see [`FeatureModel::from_parts`]).
pub const MAX_PARAMETER: f64 = 1e6;
/// Smallest stored feature scale: the trainer leaves scales below it at 1.
pub const MIN_SCALE: f64 = 1e-6;
/// Inverse penalties tried by cross-validation.
pub const C_GRID: [f64; 8] = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0];
/// Folds of the cross-validation.
pub const FOLDS: usize = 5;

/// Default number of filters.
pub const DEFAULT_FILTERS: usize = 128;
/// Default number of sampled patches.
pub const DEFAULT_PATCHES: usize = 10_000;
/// Default k-means iterations.
pub const DEFAULT_KMEANS_ITERATIONS: usize = 5;
/// Default seed (patch sampling, k-means start, folds).
pub const DEFAULT_SEED: u32 = 1;
/// Most filters accepted.
pub const MAX_FILTERS: usize = 1024;
/// Most patches accepted.
pub const MAX_PATCHES: usize = 200_000;
/// Most k-means iterations accepted.
pub const MAX_KMEANS_ITERATIONS: usize = 100;
/// Relative gradient norm at which a logistic-regression fit stops.
const SOLVER_TOLERANCE: f64 = 1e-3;
/// Iterations at most per logistic-regression fit.
const SOLVER_MAX_ITERATIONS: usize = 300;

/// Checked settings of the learned-feature model. Build them with [`FeatureParams::builder`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureParams {
    filters: usize,
    patches: usize,
    kmeans_iterations: usize,
    seed: u32,
}

/// Unchecked settings; [`FeatureParamsBuilder::build`] checks them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureParamsBuilder {
    /// Filters learnt by k-means, 1..=[`MAX_FILTERS`]; default [`DEFAULT_FILTERS`]. The model
    /// has `8 x filters` features.
    pub filters: usize,
    /// Patches sampled for whitening and k-means, from `filters` to [`MAX_PATCHES`]; default
    /// [`DEFAULT_PATCHES`].
    pub patches: usize,
    /// k-means iterations, 0..=[`MAX_KMEANS_ITERATIONS`] (0 = random patches as filters);
    /// default [`DEFAULT_KMEANS_ITERATIONS`].
    pub kmeans_iterations: usize,
    /// Seed of the patch sampling, the k-means start and the folds; default [`DEFAULT_SEED`].
    pub seed: u32,
}

impl Default for FeatureParamsBuilder {
    fn default() -> Self {
        FeatureParamsBuilder {
            filters: DEFAULT_FILTERS,
            patches: DEFAULT_PATCHES,
            kmeans_iterations: DEFAULT_KMEANS_ITERATIONS,
            seed: DEFAULT_SEED,
        }
    }
}

impl FeatureParamsBuilder {
    /// Number of filters.
    pub fn filters(mut self, filters: usize) -> Self {
        self.filters = filters;
        self
    }
    /// Number of sampled patches.
    pub fn patches(mut self, patches: usize) -> Self {
        self.patches = patches;
        self
    }
    /// k-means iterations.
    pub fn kmeans_iterations(mut self, iterations: usize) -> Self {
        self.kmeans_iterations = iterations;
        self
    }
    /// Seed.
    pub fn seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every value against its documented range.
    pub fn build(self) -> Result<FeatureParams> {
        if self.filters == 0 || self.filters > MAX_FILTERS {
            return Err(Error::InvalidParameter {
                name: "filters",
                value: self.filters.to_string(),
                expected: "an integer from 1 to 1024",
            });
        }
        if self.patches < self.filters || self.patches > MAX_PATCHES {
            return Err(Error::InvalidParameter {
                name: "patches",
                value: self.patches.to_string(),
                expected: "an integer from the number of filters to 200000",
            });
        }
        if self.kmeans_iterations > MAX_KMEANS_ITERATIONS {
            return Err(Error::InvalidParameter {
                name: "kmeans_iterations",
                value: self.kmeans_iterations.to_string(),
                expected: "an integer from 0 to 100",
            });
        }
        Ok(FeatureParams {
            filters: self.filters,
            patches: self.patches,
            kmeans_iterations: self.kmeans_iterations,
            seed: self.seed,
        })
    }
}

impl<'de> Deserialize<'de> for FeatureParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        FeatureParamsBuilder::deserialize(d)?
            .build()
            .map_err(serde::de::Error::custom)
    }
}

impl FeatureParams {
    /// Starts from the documented defaults.
    pub fn builder() -> FeatureParamsBuilder {
        FeatureParamsBuilder::default()
    }
    pub fn filters(&self) -> usize {
        self.filters
    }
    pub fn patches(&self) -> usize {
        self.patches
    }
    pub fn kmeans_iterations(&self) -> usize {
        self.kmeans_iterations
    }
    pub fn seed(&self) -> u32 {
        self.seed
    }
    /// Features per image: 4 quadrants x 2 signs x filters.
    pub fn n_features(&self) -> usize {
        8 * self.filters
    }
}

// ---- image and patch operations ------------------------------------------------------------

/// A 64x64x3 image (bytes, row-major) averaged over 2x2 blocks into a 32x32x3 `f32` image with
/// values in [0, 1]. Panics if `image` holds fewer than 12288 bytes.
pub fn downscale(image: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0f32; SMALL * SMALL * 3];
    for r in 0..SMALL {
        for c in 0..SMALL {
            for ch in 0..3 {
                let at = |rr: usize, cc: usize| u32::from(image[(rr * SIDE + cc) * 3 + ch]);
                let s = at(2 * r, 2 * c)
                    + at(2 * r, 2 * c + 1)
                    + at(2 * r + 1, 2 * c)
                    + at(2 * r + 1, 2 * c + 1);
                // One rounding: the integer sum (exact) divided once.
                out[(r * SMALL + c) * 3 + ch] = s as f32 / 1020.0;
            }
        }
    }
    out
}

/// The left-right mirror image of a 32x32x3 image.
pub fn mirror(small: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; small.len()];
    for r in 0..SMALL {
        for c in 0..SMALL {
            let (src, dst) = ((r * SMALL + c) * 3, (r * SMALL + SMALL - 1 - c) * 3);
            out[dst..dst + 3].copy_from_slice(&small[src..src + 3]);
        }
    }
    out
}

/// Copies the 6x6x3 patch whose top-left corner is at `(row, col)` of a 32x32x3 image into `out`
/// (108 values, row-major (row, column, channel)) and normalises it ([`normalise_patch`]).
pub fn extract_patch(small: &[f32], row: usize, col: usize, out: &mut [f32]) {
    for dr in 0..PATCH {
        let src = ((row + dr) * SMALL + col) * 3;
        out[dr * PATCH * 3..(dr + 1) * PATCH * 3].copy_from_slice(&small[src..src + PATCH * 3]);
    }
    normalise_patch(out);
}

/// Subtracts the mean of `patch` and divides by `sqrt(variance + 0.01)` (variance over the
/// values, without Bessel's correction), in place.
pub fn normalise_patch(patch: &mut [f32]) {
    let n = patch.len() as f32;
    let mean = patch.iter().sum::<f32>() / n;
    let var = patch.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let scale = 1.0 / (var + NORM_EPSILON).sqrt();
    for v in patch {
        *v = (*v - mean) * scale;
    }
}

/// ZCA whitening of 108-value patches.
#[derive(Clone, Debug, PartialEq)]
pub struct Whitening {
    /// Mean of the patches it was fitted on (108 values).
    pub mean: Vec<f64>,
    /// `V diag(1/sqrt(eig + 0.1)) Vᵀ`, row-major 108 x 108 (symmetric).
    pub matrix: Vec<f64>,
}

impl Whitening {
    /// From the mean and the covariance (row-major `d x d`) of the patches.
    pub fn from_covariance(mean: Vec<f64>, cov: &[f64]) -> Result<Self> {
        let d = mean.len();
        let (values, v) = eig::symmetric_eigen(cov, d)?;
        let scale: Vec<f64> = values
            .iter()
            .map(|&l| 1.0 / (l.max(0.0) + ZCA_EPSILON).sqrt())
            .collect();
        let mut matrix = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                matrix[i * d + j] = (0..d).map(|k| v[i * d + k] * scale[k] * v[j * d + k]).sum();
            }
        }
        Ok(Whitening { mean, matrix })
    }

    /// Whitens `patches` (`n x d`, row-major) in place: `(x - mean) Wz`.
    pub fn apply(&self, patches: &mut [f32]) {
        let d = self.mean.len();
        let w: Vec<f32> = self.matrix.iter().map(|&v| v as f32).collect();
        let n = patches.len() / d;
        for p in patches.chunks_exact_mut(d) {
            for (x, m) in p.iter_mut().zip(&self.mean) {
                *x -= *m as f32;
            }
        }
        let mut out = vec![0.0f32; n * d];
        matmul_f32(patches, &w, &mut out, n, d, d);
        patches[..n * d].copy_from_slice(&out);
    }
}

/// Spherical k-means, one step at a time.
pub mod kmeans {
    use super::*;

    /// `filters` unit rows (row-major `k x d`) from `k` distinct patches of `x` (`n x d`),
    /// chosen with `rng`. Zero patches get a unit first coordinate.
    pub fn init(x: &[f32], d: usize, k: usize, rng: &mut Mt19937) -> Vec<f64> {
        let n = x.len() / d;
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        let mut dict = vec![0.0; k * d];
        for (f, &i) in order.iter().take(k).enumerate() {
            for j in 0..d {
                dict[f * d + j] = f64::from(x[i * d + j]);
            }
        }
        normalise_rows(&mut dict, d, None);
        dict
    }

    /// Scales every row of `dict` to unit length; a zero row is replaced by the same row of
    /// `fallback` (or by a unit first coordinate).
    pub fn normalise_rows(dict: &mut [f64], d: usize, fallback: Option<&[f64]>) {
        for (f, row) in dict.chunks_exact_mut(d).enumerate() {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 && norm.is_finite() {
                row.iter_mut().for_each(|v| *v /= norm);
            } else if let Some(old) = fallback {
                row.copy_from_slice(&old[f * d..(f + 1) * d]);
            } else {
                row.fill(0.0);
                row[0] = 1.0;
            }
        }
    }

    /// The running sums of one k-means iteration.
    #[derive(Clone, Debug)]
    pub struct Accumulator {
        d: usize,
        k: usize,
        /// Filters of this iteration, transposed to `d x k` `f32` for the product.
        dict_t: Vec<f32>,
        sums: Vec<f64>,
        /// `Σ max_k (d_k·x)²` over the patches seen: the objective, which k-means never lowers.
        pub objective: f64,
    }

    impl Accumulator {
        /// Starts an iteration with unit filters `dict` (`k x d`).
        pub fn new(dict: &[f64], d: usize) -> Self {
            let k = dict.len() / d;
            let mut dict_t = vec![0.0f32; d * k];
            for f in 0..k {
                for j in 0..d {
                    dict_t[j * k + f] = dict[f * d + j] as f32;
                }
            }
            Accumulator {
                d,
                k,
                dict_t,
                sums: vec![0.0; k * d],
                objective: 0.0,
            }
        }

        /// Assigns the patches `x` (`n x d`) to the filter with the largest |dot| and adds
        /// `dot x patch` to that filter's sum.
        pub fn add(&mut self, x: &[f32]) {
            let (d, k) = (self.d, self.k);
            let n = x.len() / d;
            let mut s = vec![0.0f32; n * k];
            matmul_f32(x, &self.dict_t, &mut s, n, d, k);
            for i in 0..n {
                let row = &s[i * k..(i + 1) * k];
                let mut best = 0;
                for f in 1..k {
                    if row[f].abs() > row[best].abs() {
                        best = f;
                    }
                }
                let dot = f64::from(row[best]);
                self.objective += dot * dot;
                for j in 0..d {
                    self.sums[best * d + j] += dot * f64::from(x[i * d + j]);
                }
            }
        }

        /// The new unit filters: `sum + 1e-3 old`, normalised.
        pub fn finish(mut self, old: &[f64]) -> Vec<f64> {
            for (s, o) in self.sums.iter_mut().zip(old) {
                *s += KMEANS_DAMPING * o;
            }
            normalise_rows(&mut self.sums, self.d, Some(old));
            self.sums
        }
    }
}

// ---- the encoder -----------------------------------------------------------------------------

/// Filters with the whitening folded in: from a normalised patch `p` (108 values) the response
/// of filter `f` is `z_f = p·W[:, f] - bias[f]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoder {
    k: usize,
    /// `108 x k`, row-major.
    w: Vec<f32>,
    bias: Vec<f32>,
}

impl Encoder {
    /// `W = Wz Dᵀ` and `bias = mean·W`, computed in `f64` then rounded once to `f32`.
    pub fn new(whitening: &Whitening, dict: &[f64]) -> Self {
        let d = PATCH_LEN;
        let k = dict.len() / d;
        let mut w64 = vec![0.0f64; d * k];
        for i in 0..d {
            for f in 0..k {
                w64[i * k + f] = (0..d)
                    .map(|j| whitening.matrix[i * d + j] * dict[f * d + j])
                    .sum();
            }
        }
        let bias = (0..k)
            .map(|f| {
                (0..d)
                    .map(|i| whitening.mean[i] * w64[i * k + f])
                    .sum::<f64>() as f32
            })
            .collect();
        Encoder {
            k,
            w: w64.iter().map(|&v| v as f32).collect(),
            bias,
        }
    }

    /// Number of filters.
    pub fn filters(&self) -> usize {
        self.k
    }

    /// Features of a 32x32x3 image: `[quadrant][sign][filter]` with quadrants in row-major order
    /// (top-left, top-right, bottom-left, bottom-right), sign 0 = `max(0, z - 0.25)` and
    /// 1 = `max(0, -z - 0.25)`, each the mean over the quadrant's positions. `8k` values.
    pub fn encode(&self, small: &[f32]) -> Vec<f32> {
        let k = self.k;
        let npos = POSITIONS * POSITIONS;
        let mut patches = vec![0.0f32; npos * PATCH_LEN];
        for r in 0..POSITIONS {
            for c in 0..POSITIONS {
                let at = (r * POSITIONS + c) * PATCH_LEN;
                extract_patch(small, r, c, &mut patches[at..at + PATCH_LEN]);
            }
        }
        let mut z = vec![0.0f32; npos * k];
        matmul_f32(&patches, &self.w, &mut z, npos, PATCH_LEN, k);
        let mut sums = vec![0.0f32; 8 * k];
        for r in 0..POSITIONS {
            for c in 0..POSITIONS {
                let q = 2 * usize::from(r >= HALF) + usize::from(c >= HALF);
                let row = &z[(r * POSITIONS + c) * k..(r * POSITIONS + c + 1) * k];
                let (pos, neg) = sums[q * 2 * k..(q + 1) * 2 * k].split_at_mut(k);
                for f in 0..k {
                    let v = row[f] - self.bias[f];
                    pos[f] += (v - THRESHOLD).max(0.0);
                    neg[f] += (-v - THRESHOLD).max(0.0);
                }
            }
        }
        for q in 0..4 {
            let rows = if q < 2 { HALF } else { POSITIONS - HALF };
            let cols = if q % 2 == 0 { HALF } else { POSITIONS - HALF };
            let count = (rows * cols) as f32;
            for v in &mut sums[q * 2 * k..(q + 1) * 2 * k] {
                *v /= count;
            }
        }
        sums
    }
}

// ---- the fitted model ------------------------------------------------------------------------

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
        let k = params.filters;
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
        if encoder
            .w
            .iter()
            .chain(&encoder.bias)
            .any(|v| !v.is_finite())
        {
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
        let z: Vec<f64> = f
            .iter()
            .zip(&self.scaler_mean)
            .zip(&self.scaler_std)
            .map(|((&x, m), s)| (f64::from(x) - m) / s)
            .collect();
        crate::kernels::dot(&z, &self.weights) + self.bias
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

// ---- training --------------------------------------------------------------------------------

/// Where a training stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Sampling and normalising patches, and their covariance.
    Patches,
    /// Eigen-decomposition for the whitening.
    Whitening,
    /// Spherical k-means.
    Kmeans,
    /// Encoding the training images and their mirrors.
    Encoding,
    /// Cross-validation and the final logistic regression.
    Fitting,
    /// Nothing left to do.
    Done,
}

impl Stage {
    /// Short human name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Patches => "patches",
            Stage::Whitening => "whitening",
            Stage::Kmeans => "k-means",
            Stage::Encoding => "encoding",
            Stage::Fitting => "fitting",
            Stage::Done => "done",
        }
    }
}

/// A progress report of a [`FeatureTrainer`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FeatureProgress {
    pub stage: Stage,
    /// Fraction of the current stage done, in [0, 1].
    pub stage_done: f64,
    /// Work done and planned overall, in millions of multiply-adds (estimates); `done <= total`.
    pub done: f64,
    pub total: f64,
}

/// Result of the cross-validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// `(C, validation accuracy)` for every C tried, accuracy over the held-out images and
    /// their mirrors.
    pub scores: Vec<(f64, f64)>,
    /// The C picked: the best accuracy, the smallest C among ties.
    pub c: f64,
}

/// What training reports beside the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureReport {
    pub cross_validation: CrossValidation,
    /// k-means objective `Σ max_k (d_k·x)²` at each iteration (non-decreasing).
    pub kmeans_objective: Vec<f64>,
    /// Objective of the final fit divided by `C n`: mean cross-entropy on the training images
    /// and their mirrors plus `‖w‖²/(2Cn)`.
    pub final_cost: f64,
    /// Iterations of the final logistic-regression fit.
    pub final_iterations: usize,
    /// Accuracy on the training images (not the mirrors), in [0, 1].
    pub train_accuracy: f64,
}

/// A fitted model and how it was obtained.
#[derive(Clone, Debug)]
pub struct FeatureTrained {
    pub model: FeatureModel,
    pub report: FeatureReport,
}

/// Patches per unit of work in the patch, covariance and k-means stages.
const CHUNK: usize = 1000;
/// Rows of the Gram matrix per unit of work.
const GRAM_ROWS: usize = 32;
/// Logistic-regression iterations per unit of work.
const SOLVER_CHUNK: usize = 20;

#[derive(Debug)]
enum State {
    Sample,
    Covariance {
        next: usize,
        cov: Vec<f64>,
    },
    Eigen {
        cov: Vec<f64>,
    },
    Kmeans {
        iteration: usize,
        next: usize,
        acc: Box<kmeans::Accumulator>,
    },
    Encode {
        next: usize,
    },
    Gram {
        next: usize,
        z: Vec<f32>,
        zt: Vec<f32>,
        k: Vec<f32>,
    },
    Fit {
        task: usize,
        solver: Box<logreg::Solver>,
    },
    Done,
}

/// Resumable training of a [`FeatureModel`]: [`step`](Self::step) advances through the stages
/// by a bounded amount of work, so a caller can report progress and stop between steps.
#[derive(Debug)]
pub struct FeatureTrainer {
    params: FeatureParams,
    labels: Vec<u8>,
    /// Downscaled training images, then their mirrors (`2n` images, 32x32x3).
    small: Vec<Vec<f32>>,
    rng: Mt19937,
    patches: Vec<f32>,
    whitening: Option<Whitening>,
    dictionary: Vec<f64>,
    kmeans_objective: Vec<f64>,
    encoder: Option<Encoder>,
    /// Features of `small[i]`, `2n x nf` row-major.
    features: Vec<f32>,
    scaler_mean: Vec<f64>,
    scaler_std: Vec<f64>,
    /// Gram matrix of the standardised features (`2n x 2n`).
    gram: Vec<f64>,
    /// Fold of each original image.
    fold: Vec<usize>,
    /// Held-out correct answers per C.
    cv_correct: Vec<usize>,
    /// Warm start per fold.
    warm: Vec<Option<(Vec<f64>, f64)>>,
    cv: Option<CrossValidation>,
    final_fit: Option<(Vec<f64>, f64, f64, usize)>,
    state: State,
    done: f64,
    fit_tasks_done: usize,
}

impl FeatureTrainer {
    /// Prepares training on `pixels` (`m` 64x64x3 images, one after the other) and `labels`
    /// (`m` values, 0 or 1). Needs at least [`FOLDS`] images.
    pub fn new(params: FeatureParams, pixels: &[u8], labels: &[u8]) -> Result<Self> {
        let m = labels.len();
        if pixels.len() != m * PIXELS {
            return Err(Error::Shape(format!(
                "{} pixel bytes for {m} labels (expected {})",
                pixels.len(),
                m * PIXELS
            )));
        }
        if m < FOLDS {
            return Err(Error::Shape(format!(
                "{m} training images: the learned-feature model needs at least {FOLDS} for its \
                 {FOLDS}-fold cross-validation"
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l > 1) {
            return Err(Error::InvalidDataset(format!(
                "label {bad}: labels must be 0 or 1"
            )));
        }
        let mut small: Vec<Vec<f32>> = pixels.chunks_exact(PIXELS).map(downscale).collect();
        let mirrors: Vec<Vec<f32>> = small.iter().map(|s| mirror(s)).collect();
        small.extend(mirrors);
        let rng = Mt19937::new(params.seed);
        Ok(FeatureTrainer {
            params,
            labels: labels.to_vec(),
            small,
            rng,
            patches: Vec::new(),
            whitening: None,
            dictionary: Vec::new(),
            kmeans_objective: Vec::new(),
            encoder: None,
            features: Vec::new(),
            scaler_mean: Vec::new(),
            scaler_std: Vec::new(),
            gram: Vec::new(),
            fold: Vec::new(),
            cv_correct: vec![0; C_GRID.len()],
            warm: vec![None; FOLDS],
            cv: None,
            final_fit: None,
            state: State::Sample,
            done: 0.0,
            fit_tasks_done: 0,
        })
    }

    pub fn params(&self) -> &FeatureParams {
        &self.params
    }

    fn m(&self) -> usize {
        self.labels.len()
    }

    /// Estimated cost of each stage, millions of multiply-adds (the fitting stage assumes
    /// 150 iterations per fit).
    fn stage_costs(&self) -> [f64; 5] {
        let (n, k, d) = (
            self.params.patches as f64,
            self.params.filters as f64,
            PATCH_LEN as f64,
        );
        let m2 = 2.0 * self.m() as f64;
        let nf = self.params.n_features() as f64;
        let patches = n * d * (d + 4.0) / 1e6;
        let whitening = 12.0 * d * d * d / 1e6 * 8.0;
        let kmeans = self.params.kmeans_iterations as f64 * n * d * (k + 2.0) / 1e6;
        let encoding = m2 * (POSITIONS * POSITIONS) as f64 * d * k / 1e6;
        let fits = (FOLDS * C_GRID.len() + 1) as f64;
        let fitting = m2 * m2 * nf / 1e6 + fits * 150.0 * (0.8 * m2).powi(2) / 1e6;
        [patches, whitening, kmeans, encoding, fitting]
    }

    fn stage(&self) -> Stage {
        match self.state {
            State::Sample | State::Covariance { .. } => Stage::Patches,
            State::Eigen { .. } => Stage::Whitening,
            State::Kmeans { .. } => Stage::Kmeans,
            State::Encode { .. } => Stage::Encoding,
            State::Gram { .. } | State::Fit { .. } => Stage::Fitting,
            State::Done => Stage::Done,
        }
    }

    /// Where training stands.
    pub fn progress(&self) -> FeatureProgress {
        let costs = self.stage_costs();
        let total: f64 = costs.iter().sum();
        let n = self.params.patches;
        let fits = FOLDS * C_GRID.len() + 1;
        let stage_done = match &self.state {
            State::Sample => 0.0,
            State::Covariance { next, .. } => *next as f64 / n as f64,
            State::Eigen { .. } => 0.0,
            State::Kmeans {
                iteration, next, ..
            } => {
                (*iteration as f64 + *next as f64 / n as f64)
                    / self.params.kmeans_iterations.max(1) as f64
            }
            State::Encode { next } => *next as f64 / self.small.len() as f64,
            State::Gram { next, .. } => 0.1 * *next as f64 / self.small.len() as f64,
            State::Fit { .. } => 0.1 + 0.9 * self.fit_tasks_done as f64 / fits as f64,
            State::Done => 1.0,
        };
        let stage = self.stage();
        let before: f64 = match stage {
            Stage::Patches => 0.0,
            Stage::Whitening => costs[0],
            Stage::Kmeans => costs[..2].iter().sum(),
            Stage::Encoding => costs[..3].iter().sum(),
            Stage::Fitting => costs[..4].iter().sum(),
            Stage::Done => total,
        };
        let current = match stage {
            Stage::Patches => costs[0],
            Stage::Whitening => costs[1],
            Stage::Kmeans => costs[2],
            Stage::Encoding => costs[3],
            Stage::Fitting => costs[4],
            Stage::Done => 0.0,
        };
        FeatureProgress {
            stage,
            stage_done: stage_done.clamp(0.0, 1.0),
            done: (before + current * stage_done).min(total),
            total,
        }
    }

    /// True once the model is fitted.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Does about `work` millions of multiply-adds (at least one unit of work, at most one more
    /// than asked), then returns. A numerical failure is an error; the trainer is then unusable.
    pub fn step(&mut self, work: f64) -> Result<()> {
        let start = self.done;
        loop {
            if self.is_done() {
                return Ok(());
            }
            self.done += self.unit()?;
            if self.done - start >= work {
                return Ok(());
            }
        }
    }

    /// One unit of work; returns its cost estimate.
    fn unit(&mut self) -> Result<f64> {
        let d = PATCH_LEN;
        let n = self.params.patches;
        let state = std::mem::replace(&mut self.state, State::Done);
        let (next_state, cost) = match state {
            State::Sample => {
                let m = self.m();
                let mut patches = vec![0.0f32; n * d];
                for p in patches.chunks_exact_mut(d) {
                    let img = self.rng.below(m as u32) as usize;
                    let r = self.rng.below(POSITIONS as u32) as usize;
                    let c = self.rng.below(POSITIONS as u32) as usize;
                    extract_patch(&self.small[img], r, c, p);
                }
                self.patches = patches;
                let cost = (n * d * 4) as f64 / 1e6;
                (
                    State::Covariance {
                        next: 0,
                        cov: vec![0.0; d * d],
                    },
                    cost,
                )
            }
            State::Covariance { next, mut cov } => {
                let end = (next + CHUNK).min(n);
                let chunk = &self.patches[next * d..end * d];
                let rows = end - next;
                let mut t = vec![0.0f32; d * rows];
                for i in 0..rows {
                    for j in 0..d {
                        t[j * rows + i] = chunk[i * d + j];
                    }
                }
                let mut prod = vec![0.0f32; d * d];
                matmul_f32(&t, chunk, &mut prod, d, rows, d);
                for (c, p) in cov.iter_mut().zip(&prod) {
                    *c += f64::from(*p);
                }
                let cost = (rows * d * d) as f64 / 1e6;
                if end < n {
                    (State::Covariance { next: end, cov }, cost)
                } else {
                    (State::Eigen { cov }, cost)
                }
            }
            State::Eigen { cov } => {
                let mean: Vec<f64> = (0..d)
                    .map(|j| {
                        self.patches
                            .chunks_exact(d)
                            .map(|p| f64::from(p[j]))
                            .sum::<f64>()
                            / n as f64
                    })
                    .collect();
                let cov: Vec<f64> = (0..d * d)
                    .map(|ij| cov[ij] / n as f64 - mean[ij / d] * mean[ij % d])
                    .collect();
                let whitening = Whitening::from_covariance(mean, &cov)?;
                whitening.apply(&mut self.patches);
                self.whitening = Some(whitening);
                self.dictionary =
                    kmeans::init(&self.patches, d, self.params.filters, &mut self.rng);
                let cost = self.stage_costs()[1];
                let next = if self.params.kmeans_iterations == 0 {
                    self.start_encoding()
                } else {
                    State::Kmeans {
                        iteration: 0,
                        next: 0,
                        acc: Box::new(kmeans::Accumulator::new(&self.dictionary, d)),
                    }
                };
                (next, cost)
            }
            State::Kmeans {
                iteration,
                next,
                mut acc,
            } => {
                let end = (next + CHUNK).min(n);
                acc.add(&self.patches[next * d..end * d]);
                let cost = ((end - next) * d * (self.params.filters + 2)) as f64 / 1e6;
                if end < n {
                    (
                        State::Kmeans {
                            iteration,
                            next: end,
                            acc,
                        },
                        cost,
                    )
                } else {
                    self.kmeans_objective.push(acc.objective);
                    self.dictionary = acc.finish(&self.dictionary);
                    if iteration + 1 < self.params.kmeans_iterations {
                        let acc = Box::new(kmeans::Accumulator::new(&self.dictionary, d));
                        (
                            State::Kmeans {
                                iteration: iteration + 1,
                                next: 0,
                                acc,
                            },
                            cost,
                        )
                    } else {
                        (self.start_encoding(), cost)
                    }
                }
            }
            State::Encode { next } => {
                let encoder = self.encoder.as_ref().ok_or_else(missing)?;
                let f = encoder.encode(&self.small[next]);
                self.features.extend_from_slice(&f);
                let cost = (POSITIONS * POSITIONS * d * self.params.filters) as f64 / 1e6;
                if next + 1 < self.small.len() {
                    (State::Encode { next: next + 1 }, cost)
                } else {
                    (self.start_gram()?, cost)
                }
            }
            State::Gram { next, z, zt, mut k } => {
                let rows2 = self.small.len();
                let nf = self.params.n_features();
                let end = (next + GRAM_ROWS).min(rows2);
                matmul_f32(
                    &z[next * nf..end * nf],
                    &zt,
                    &mut k[next * rows2..end * rows2],
                    end - next,
                    nf,
                    rows2,
                );
                let cost = ((end - next) * nf * rows2) as f64 / 1e6;
                if end < rows2 {
                    (
                        State::Gram {
                            next: end,
                            z,
                            zt,
                            k,
                        },
                        cost,
                    )
                } else {
                    // Symmetrise: the upper triangle, as computed, wins.
                    self.gram = vec![0.0; rows2 * rows2];
                    for i in 0..rows2 {
                        for j in i..rows2 {
                            let v = f64::from(k[i * rows2 + j]);
                            self.gram[i * rows2 + j] = v;
                            self.gram[j * rows2 + i] = v;
                        }
                    }
                    let mut order: Vec<usize> = (0..self.m()).collect();
                    self.rng.shuffle(&mut order);
                    self.fold = vec![0; self.m()];
                    for (pos, &i) in order.iter().enumerate() {
                        self.fold[i] = pos % FOLDS;
                    }
                    (self.start_fit(0)?, cost)
                }
            }
            State::Fit { task, mut solver } => {
                solver.step(SOLVER_CHUNK)?;
                let n = self.train_rows(task).len();
                let cost = (SOLVER_CHUNK * n * n) as f64 / 1e6;
                if !solver.is_done() {
                    (State::Fit { task, solver }, cost)
                } else {
                    self.fit_tasks_done += 1;
                    self.end_fit(task, &solver)?;
                    if task < FOLDS * C_GRID.len() {
                        (self.start_fit(task + 1)?, cost)
                    } else {
                        (State::Done, cost)
                    }
                }
            }
            State::Done => (State::Done, 0.0),
        };
        self.state = next_state;
        Ok(cost)
    }

    fn start_encoding(&mut self) -> State {
        let whitening = self.whitening.as_ref();
        if let Some(w) = whitening {
            self.encoder = Some(Encoder::new(w, &self.dictionary));
        }
        // The sampled patches are no longer needed.
        self.patches = Vec::new();
        self.features = Vec::with_capacity(self.small.len() * self.params.n_features());
        State::Encode { next: 0 }
    }

    fn start_gram(&mut self) -> Result<State> {
        let rows = self.small.len();
        let nf = self.params.n_features();
        let mut mean = vec![0.0f64; nf];
        for f in self.features.chunks_exact(nf) {
            for (m, &x) in mean.iter_mut().zip(f) {
                *m += f64::from(x);
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows as f64);
        let mut var = vec![0.0f64; nf];
        for f in self.features.chunks_exact(nf) {
            for ((v, &x), m) in var.iter_mut().zip(f).zip(&mean) {
                *v += (f64::from(x) - m).powi(2);
            }
        }
        // A feature that never varies (a filter that never passes the threshold) is left
        // unscaled: standardised it is 0 on every training image.
        let std: Vec<f64> = var
            .iter()
            .map(|v| (v / rows as f64).sqrt())
            .map(|s| if s > 1e-6 { s } else { 1.0 })
            .collect();
        if std.iter().chain(&mean).any(|v| !v.is_finite()) {
            return Err(Error::Numerical(
                "the features of the training images are not finite".into(),
            ));
        }
        let z: Vec<f32> = self
            .features
            .chunks_exact(nf)
            .flat_map(|f| {
                f.iter()
                    .zip(&mean)
                    .zip(&std)
                    .map(|((&x, m), s)| ((f64::from(x) - m) / s) as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut zt = vec![0.0f32; nf * rows];
        for i in 0..rows {
            for j in 0..nf {
                zt[j * rows + i] = z[i * nf + j];
            }
        }
        self.scaler_mean = mean;
        self.scaler_std = std;
        Ok(State::Gram {
            next: 0,
            z,
            zt,
            k: vec![0.0; rows * rows],
        })
    }

    /// Rows (images and mirrors) a fit trains on: task `t < FOLDS x C` leaves out fold
    /// `t % FOLDS` at C number `t / FOLDS`; the last task uses everything.
    fn train_rows(&self, task: usize) -> Vec<usize> {
        let m = self.m();
        let held = (task < FOLDS * C_GRID.len()).then_some(task % FOLDS);
        (0..2 * m)
            .filter(|&r| Some(self.fold[r % m]) != held)
            .collect()
    }

    fn sub_gram(&self, rows: &[usize], cols: &[usize]) -> Vec<f64> {
        let n2 = self.small.len();
        rows.iter()
            .flat_map(|&i| cols.iter().map(move |&j| self.gram[i * n2 + j]))
            .collect()
    }

    fn row_labels(&self, rows: &[usize]) -> Vec<u8> {
        rows.iter().map(|&r| self.labels[r % self.m()]).collect()
    }

    fn start_fit(&mut self, task: usize) -> Result<State> {
        let rows = self.train_rows(task);
        let k = self.sub_gram(&rows, &rows);
        let y = self.row_labels(&rows);
        let (c, warm) = if task < FOLDS * C_GRID.len() {
            (C_GRID[task / FOLDS], self.warm[task % FOLDS].as_ref())
        } else {
            let c = self.cv.as_ref().map(|cv| cv.c).ok_or_else(missing)?;
            (c, None)
        };
        let start = warm.map(|(a, b)| (a.as_slice(), *b));
        let solver = logreg::Solver::new(k, &y, c, start, SOLVER_TOLERANCE, SOLVER_MAX_ITERATIONS)?;
        Ok(State::Fit {
            task,
            solver: Box::new(solver),
        })
    }

    fn end_fit(&mut self, task: usize, solver: &logreg::Solver) -> Result<()> {
        let rows = self.train_rows(task);
        let (alpha, b) = solver.solution();
        if task < FOLDS * C_GRID.len() {
            let fold = task % FOLDS;
            let m = self.m();
            let held: Vec<usize> = (0..2 * m).filter(|&r| self.fold[r % m] == fold).collect();
            let kv = self.sub_gram(&held, &rows);
            let logits = logreg::matvec_rect(&kv, alpha, held.len(), rows.len());
            let correct = held
                .iter()
                .zip(&logits)
                .filter(|(&r, &z)| u8::from(z + b > 0.0) == self.labels[r % m])
                .count();
            self.cv_correct[task / FOLDS] += correct;
            self.warm[fold] = Some((alpha.to_vec(), b));
            if task + 1 == FOLDS * C_GRID.len() {
                let total = (2 * m) as f64;
                let scores: Vec<(f64, f64)> = C_GRID
                    .iter()
                    .zip(&self.cv_correct)
                    .map(|(&c, &n)| (c, n as f64 / total))
                    .collect();
                // The first maximum: the smallest C among ties.
                let best = scores
                    .iter()
                    .fold(scores[0], |best, &s| if s.1 > best.1 { s } else { best });
                self.cv = Some(CrossValidation { scores, c: best.0 });
            }
        } else {
            let nf = self.params.n_features();
            let n2 = self.small.len();
            // w = Zᵀα over the standardised features.
            let mut w = vec![0.0f64; nf];
            for (&r, &a) in rows.iter().zip(alpha) {
                let f = &self.features[r * nf..(r + 1) * nf];
                for j in 0..nf {
                    w[j] += a * (f64::from(f[j]) - self.scaler_mean[j]) / self.scaler_std[j];
                }
            }
            debug_assert_eq!(rows.len(), n2);
            self.final_fit = Some((w, b, solver.mean_cost(), solver.iterations()));
        }
        Ok(())
    }

    /// The fitted model and its report. Fails unless [`is_done`](Self::is_done).
    pub fn finish(self) -> Result<FeatureTrained> {
        let (Some(whitening), Some(cv), Some((weights, bias, final_cost, iterations))) =
            (self.whitening, self.cv, self.final_fit)
        else {
            return Err(Error::Shape(
                "the learned-feature model is not trained yet: it cannot stop half-way".into(),
            ));
        };
        let model = FeatureModel::from_parts(
            self.params,
            whitening,
            self.dictionary,
            self.scaler_mean,
            self.scaler_std,
            weights,
            bias,
            cv.c,
        )
        .map_err(|e| Error::Numerical(format!("training produced an invalid model: {e}")))?;
        let nf = model.params.n_features();
        let m = self.labels.len();
        let right = (0..m)
            .filter(|&i| {
                let z = model.logit_from_features(&self.features[i * nf..(i + 1) * nf]);
                u8::from(z > 0.0) == self.labels[i]
            })
            .count();
        Ok(FeatureTrained {
            model,
            report: FeatureReport {
                cross_validation: cv,
                kmeans_objective: self.kmeans_objective,
                final_cost,
                final_iterations: iterations,
                train_accuracy: right as f64 / m as f64,
            },
        })
    }
}

fn missing() -> Error {
    Error::Shape("learned-feature training ran its stages out of order".into())
}

impl FeatureParams {
    /// Trains to the end on `pixels`/`labels` (see [`FeatureTrainer::new`]), calling `progress`
    /// after every step of about `work` millions of multiply-adds.
    pub fn fit(
        &self,
        pixels: &[u8],
        labels: &[u8],
        mut progress: impl FnMut(&FeatureProgress),
    ) -> Result<FeatureTrained> {
        let mut t = FeatureTrainer::new(self.clone(), pixels, labels)?;
        while !t.is_done() {
            t.step(200.0)?;
            progress(&t.progress());
        }
        t.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_averages_2x2_blocks_and_mirror_flips_columns() {
        let mut img = vec![0u8; PIXELS];
        // Block (0, 0), red: 0, 255, 255, 0 -> 510 / 1020 = 0.5.
        img[3] = 255; // (0, 1)
        img[SIDE * 3] = 255; // (1, 0)
                             // Block (0, 1), green: all 255 -> 1.
        for (r, c) in [(0, 2), (0, 3), (1, 2), (1, 3)] {
            img[(r * SIDE + c) * 3 + 1] = 255;
        }
        let small = downscale(&img);
        assert_eq!(small[0], 0.5);
        assert_eq!(small[3 + 1], 1.0);
        assert_eq!(small.iter().filter(|&&v| v != 0.0).count(), 2);
        let m = mirror(&small);
        assert_eq!(m[(SMALL - 1) * 3], 0.5);
        assert_eq!(m[(SMALL - 2) * 3 + 1], 1.0);
        assert_eq!(mirror(&m), small);
    }

    #[test]
    fn patch_normalisation_by_hand() {
        // Alternating 0, 1: mean 0.5, variance 0.25, so each value becomes ±0.5 / sqrt(0.26).
        let mut p: Vec<f32> = (0..PATCH_LEN).map(|i| (i % 2) as f32).collect();
        normalise_patch(&mut p);
        let want = 0.5 / 0.26f32.sqrt();
        for (i, v) in p.iter().enumerate() {
            let w = if i % 2 == 0 { -want } else { want };
            assert!((v - w).abs() < 1e-6, "{i}: {v} vs {w}");
        }
        // A flat patch becomes zero (the +0.01 keeps the division finite).
        let mut flat = vec![0.7f32; PATCH_LEN];
        normalise_patch(&mut flat);
        assert!(flat.iter().all(|&v| v.abs() < 1e-6));
    }

    #[test]
    fn whitened_patches_have_identity_covariance() {
        // 4-dimensional correlated data with variances far above the 0.1 regulariser, whose
        // whitened covariance V diag(λ/(λ+0.1)) Vᵀ is then within 0.01 of the identity.
        let d = 4;
        let a = [
            [10.0, 3.0, 0.0, 1.0],
            [3.0, 12.0, 2.0, 0.0],
            [0.0, 2.0, 8.0, 4.0],
            [1.0, 0.0, 4.0, 15.0],
        ];
        let mut rng = Mt19937::new(7);
        let n = 20_000;
        let mut x = vec![0.0f32; n * d];
        for i in 0..n {
            // Uniform on [-√3, √3): unit variance.
            let g: Vec<f64> = (0..d)
                .map(|_| (rng.next_f64() * 2.0 - 1.0) * 3f64.sqrt())
                .collect();
            for r in 0..d {
                x[i * d + r] = (5.0 + (0..d).map(|k| a[r][k] * g[k]).sum::<f64>()) as f32;
            }
        }
        let cov_of = |x: &[f32]| -> (Vec<f64>, Vec<f64>) {
            let mean: Vec<f64> = (0..d)
                .map(|j| x.chunks_exact(d).map(|p| f64::from(p[j])).sum::<f64>() / n as f64)
                .collect();
            let mut cov = vec![0.0; d * d];
            for p in x.chunks_exact(d) {
                for i in 0..d {
                    for j in 0..d {
                        cov[i * d + j] +=
                            (f64::from(p[i]) - mean[i]) * (f64::from(p[j]) - mean[j]) / n as f64;
                    }
                }
            }
            (mean, cov)
        };
        let (mean, cov) = cov_of(&x);
        let w = Whitening::from_covariance(mean, &cov).unwrap();
        // The ZCA matrix is symmetric.
        for i in 0..d {
            for j in 0..d {
                assert!((w.matrix[i * d + j] - w.matrix[j * d + i]).abs() < 1e-12);
            }
        }
        w.apply(&mut x);
        let (mean, cov) = cov_of(&x);
        for i in 0..d {
            assert!(mean[i].abs() < 1e-4, "mean {mean:?}");
            for j in 0..d {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (cov[i * d + j] - want).abs() < 0.01,
                    "cov[{i}][{j}] = {}",
                    cov[i * d + j]
                );
            }
        }
    }

    #[test]
    fn one_kmeans_iteration_by_hand() {
        // Points (2, 0), (0, 3), (-1, 0); filters (1, 0.2) and (0.2, 1), normalised (÷ √1.04).
        // (2, 0) and (-1, 0) go to filter 0 with dots 2/√1.04 and -1/√1.04, (0, 3) to filter 1
        // with 3/√1.04: objective (4 + 1 + 9)/1.04. New filter 0 ∝ (5/√1.04, 0) + 1e-3 old,
        // new filter 1 ∝ (0, 9/√1.04) + 1e-3 old.
        let x = [2.0f32, 0.0, 0.0, 3.0, -1.0, 0.0];
        let mut dict = vec![1.0, 0.2, 0.2, 1.0];
        kmeans::normalise_rows(&mut dict, 2, None);
        let mut acc = kmeans::Accumulator::new(&dict, 2);
        acc.add(&x);
        assert!(
            (acc.objective - 14.0 / 1.04).abs() < 1e-5,
            "{}",
            acc.objective
        );
        let new = acc.finish(&dict);
        let s = 1.04f64.sqrt();
        let f0 = [5.0 / s + 1e-3 * dict[0], 1e-3 * dict[1]];
        let f1 = [1e-3 * dict[2], 9.0 / s + 1e-3 * dict[3]];
        let n0 = (f0[0] * f0[0] + f0[1] * f0[1]).sqrt();
        let n1 = (f1[0] * f1[0] + f1[1] * f1[1]).sqrt();
        let want = [f0[0] / n0, f0[1] / n0, f1[0] / n1, f1[1] / n1];
        for (g, w) in new.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{new:?} vs {want:?}");
        }
    }

    #[test]
    fn kmeans_keeps_the_filter_of_an_empty_cluster() {
        let x = [1.0f32, 0.0, 0.9, 0.1];
        let dict = vec![1.0, 0.0, 0.0, 1.0];
        let mut acc = kmeans::Accumulator::new(&dict, 2);
        acc.add(&x);
        let new = acc.finish(&dict);
        assert_eq!(&new[2..], &[0.0, 1.0]);
    }

    /// Identity whitening with mean `mean`, and the first `k` unit vectors as filters.
    fn simple_encoder(mean: Vec<f64>, k: usize) -> Encoder {
        let mut matrix = vec![0.0; PATCH_LEN * PATCH_LEN];
        for i in 0..PATCH_LEN {
            matrix[i * PATCH_LEN + i] = 1.0;
        }
        let mut dict = vec![0.0; k * PATCH_LEN];
        for f in 0..k {
            dict[f * PATCH_LEN + f] = 1.0;
        }
        Encoder::new(&Whitening { mean, matrix }, &dict)
    }

    #[test]
    fn encoding_a_flat_image_by_hand() {
        // Every patch of a flat image normalises to zero, so z = -bias = -mean·d_f everywhere:
        // with mean_0 = 1 and mean_1 = -0.5, z = (-1, 0.5): positive parts (0, 0.25), negative
        // parts (0.75, 0), the same in every quadrant.
        let mut mean = vec![0.0; PATCH_LEN];
        mean[0] = 1.0;
        mean[1] = -0.5;
        let enc = simple_encoder(mean, 2);
        let f = enc.encode(&vec![0.3f32; SMALL * SMALL * 3]);
        assert_eq!(f.len(), 16);
        for q in 0..4 {
            // Means of ~190 f32 terms: equal up to f32 rounding.
            for (g, w) in f[q * 4..q * 4 + 4].iter().zip([0.0, 0.25, 0.75, 0.0]) {
                assert!(
                    (g - w).abs() < 1e-5,
                    "quadrant {q}: {:?}",
                    &f[q * 4..q * 4 + 4]
                );
            }
        }
    }

    #[test]
    fn encoding_matches_a_direct_f64_computation() {
        // Random whitening and filters; the reference computes every position's whitened patch
        // and its dot with each filter in f64, without folding, then thresholds and pools.
        let mut rng = Mt19937::new(3);
        let mut r = |s: f64| (rng.next_f64() - 0.5) * s;
        let k = 9;
        let mean: Vec<f64> = (0..PATCH_LEN).map(|_| r(0.2)).collect();
        let matrix: Vec<f64> = (0..PATCH_LEN * PATCH_LEN).map(|_| r(0.3)).collect();
        let mut dict: Vec<f64> = (0..k * PATCH_LEN).map(|_| r(1.0)).collect();
        kmeans::normalise_rows(&mut dict, PATCH_LEN, None);
        let whitening = Whitening { mean, matrix };
        let enc = Encoder::new(&whitening, &dict);
        let img: Vec<u8> = (0..PIXELS).map(|i| ((i * 7919) % 251) as u8).collect();
        let small = downscale(&img);
        let got = enc.encode(&small);

        let mut want = vec![0.0f64; 8 * k];
        for row in 0..POSITIONS {
            for col in 0..POSITIONS {
                let mut p = vec![0.0f64; PATCH_LEN];
                for dr in 0..PATCH {
                    for j in 0..PATCH * 3 {
                        p[dr * PATCH * 3 + j] =
                            f64::from(small[((row + dr) * SMALL + col) * 3 + j]);
                    }
                }
                let mu = p.iter().sum::<f64>() / PATCH_LEN as f64;
                let var = p.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / PATCH_LEN as f64;
                let n: Vec<f64> = p.iter().map(|v| (v - mu) / (var + 0.01).sqrt()).collect();
                let centred: Vec<f64> = n.iter().zip(&whitening.mean).map(|(a, b)| a - b).collect();
                let white: Vec<f64> = (0..PATCH_LEN)
                    .map(|j| {
                        (0..PATCH_LEN)
                            .map(|i| centred[i] * whitening.matrix[i * PATCH_LEN + j])
                            .sum()
                    })
                    .collect();
                let q = 2 * usize::from(row >= 14) + usize::from(col >= 14);
                let count = [196.0, 182.0, 182.0, 169.0][q];
                for f in 0..k {
                    let z: f64 = (0..PATCH_LEN)
                        .map(|j| white[j] * dict[f * PATCH_LEN + j])
                        .sum();
                    want[q * 2 * k + f] += (z - 0.25).max(0.0) / count;
                    want[q * 2 * k + k + f] += (-z - 0.25).max(0.0) / count;
                }
            }
        }
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            scale > 0.1,
            "a test whose features are all ~0 would check little"
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(*g) - w).abs() < 1e-4 * scale,
                "feature {i}: {g} vs {w}"
            );
        }
    }

    #[test]
    fn params_are_checked() {
        let b = FeatureParams::builder;
        assert!(b().build().is_ok());
        assert!(matches!(
            b().filters(0).build(),
            Err(Error::InvalidParameter {
                name: "filters",
                ..
            })
        ));
        assert!(matches!(
            b().filters(2000).build(),
            Err(Error::InvalidParameter {
                name: "filters",
                ..
            })
        ));
        assert!(matches!(
            b().patches(10).build(),
            Err(Error::InvalidParameter {
                name: "patches",
                ..
            })
        ));
        assert!(matches!(
            b().kmeans_iterations(1000).build(),
            Err(Error::InvalidParameter {
                name: "kmeans_iterations",
                ..
            })
        ));
    }

    #[test]
    fn training_needs_enough_well_formed_data() {
        let p = FeatureParams::builder().build().unwrap();
        assert!(matches!(
            FeatureTrainer::new(p.clone(), &[0; PIXELS], &[1]),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            FeatureTrainer::new(p.clone(), &[0; 10], &[1; 5]),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            FeatureTrainer::new(p, &vec![0; 5 * PIXELS], &[0, 1, 2, 0, 1]),
            Err(Error::InvalidDataset(_))
        ));
    }
}
