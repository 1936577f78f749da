//! Pretrained features: the frozen backbone ([`crate::backbone`], EfficientNet-Lite0) gives
//! each image [`FEATURES`] pooled features, and the shared head ([`crate::features::head`]:
//! standardisation, L2 logistic regression, its penalty picked by cross-validation on the
//! training set only) learns cat vs non-cat on them.
//!
//! One file per concern: `params` (the checked settings), `model` (the fitted head, the
//! backbone it needs and the class-activation heat map), `trainer` (resumable: extracting the
//! training features a bounded number of images at a time, then the head's fit), `bench` (its
//! timings, for the benchmarks).

pub mod bench;
mod model;
mod params;
mod trainer;

pub use model::PretrainedModel;
pub use params::{PretrainedParams, PretrainedParamsBuilder};
pub use trainer::{
    ExtractedFeatures, PretrainedProgress, PretrainedReport, PretrainedStage, PretrainedTrained,
    PretrainedTrainer, FIT_STEP,
};

pub use crate::backbone::FEATURES;

/// Multiply-adds of one image through the backbone at its default side (128 px), in millions;
/// the count grows with the square of the side.
pub const MACS_AT_128: f64 = 125.0;
/// Sides accepted: multiples of [`SIDE_STEP`] from [`MIN_SIDE`] to [`MAX_SIDE`] (224 is the
/// network's native size).
pub const MIN_SIDE: usize = 64;
pub const MAX_SIDE: usize = 224;
pub const SIDE_STEP: usize = 32;
/// Default seed of the folds.
pub const DEFAULT_SEED: u32 = 1;

/// Millions of multiply-adds of one image at `side` pixels.
pub fn image_cost(side: usize) -> f64 {
    MACS_AT_128 * (side * side) as f64 / (128.0 * 128.0)
}
