//! Purrceptron: a cat-vs-non-cat classifier, from the classic "logistic regression with a
//! neural-network mindset" exercise grown into an L-layer network.
//!
//! Everything here is plain Rust that builds and tests natively; [`wasm`] is a thin adapter for
//! the browser. Module map:
//! - [`rng`]: seeded MT19937, and numpy's legacy `randn` stream for reproducible initial weights.
//! - [`preprocess`]: photo bytes -> the 64x64 RGB image the model sees (the one path used by the
//!   CLI and the page).
//! - [`dataset`]: the dataset blob (safetensors) and building one from photo folders.
//! - [`photoset`]: photos gathered one at a time and split into a dataset (CLI and page).
//! - [`logistic`]: the exercise's steps (sigmoid, initialize, propagate, optimize, predict).
//! - [`network`]: hyper-parameters, training and prediction of L-layer networks.
//! - [`features`]: learned convolutional features (k-means filters) under logistic regression.
//! - [`modelfile`]: saving and loading a fitted model.
//! - [`classifier`]: train-evaluate-classify, shared by every front end.
//! - [`convergence`]: telling a run that overshot (cost rose) from one that learnt.
//! - [`inspect`]: the first layer's weights drawn as images.
//! - `h5`, `serve` (native only): HDF5 conversion and the static file server.

pub mod check;
pub mod classifier;
pub mod convergence;
pub mod dataset;
pub mod error;
pub mod features;
pub mod inspect;
pub mod kernels;
pub mod logistic;
pub mod modelfile;
pub mod network;
pub mod photoset;
pub mod preprocess;
pub mod rng;

#[cfg(not(target_arch = "wasm32"))]
pub mod h5;
#[cfg(not(target_arch = "wasm32"))]
pub mod serve;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
