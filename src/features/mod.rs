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
//!
//! One file per concern: `params` (the checked settings), `patches` (steps 1-2), `whitening`
//! (3), `kmeans` (4), `encoder` (5), `model` (the fitted model), `trainer` (the resumable
//! training, one file per stage in `trainer/`), `head` (standardisation, cross-validated
//! logistic regression: shared with the pretrained model); the matrix product is
//! [`crate::kernels::matmul_f32`].

pub mod eig;
mod encoder;
pub mod head;
pub mod kmeans;
pub mod logreg;
mod model;
mod params;
mod patches;
mod trainer;
mod whitening;

pub use encoder::Encoder;
/// The head's constants and cross-validation result, shared with the pretrained model; the
/// smallest stored feature scale ([`head::MIN_SCALE`]) bounds model files too.
pub use head::{CrossValidation, C_GRID, FOLDS, MIN_SCALE};
pub use model::FeatureModel;
pub use params::{FeatureParams, FeatureParamsBuilder};
pub use patches::{downscale, extract_patch, mirror, normalise_patch};
pub use trainer::{
    FeatureProgress, FeatureReport, FeatureTrained, FeatureTrainer, Stage, FIT_STEP,
};
pub use whitening::Whitening;

use crate::preprocess::SIDE;

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
