//! The one error type of the crate. Every variant carries the values that were wrong, so a
//! message can say exactly what to fix.

use thiserror::Error;

/// Everything that can go wrong in Purrceptron, natively or in the browser.
#[derive(Debug, Error)]
pub enum Error {
    // ---- hyper-parameters -------------------------------------------------------------------
    /// A hyper-parameter outside its documented range.
    #[error("invalid hyper-parameter {name} = {value}: {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },

    /// Training produced a non-finite cost or weight: the learning rate is too large.
    #[error(
        "training diverged at iteration {iteration} (learning rate {learning_rate}): the cost \
         became {cost}; try a smaller learning rate"
    )]
    Diverged {
        iteration: usize,
        learning_rate: f64,
        cost: f64,
    },

    /// Inputs whose shapes do not fit together (features, examples, layer sizes).
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// A numerical procedure that met a non-finite value or did not converge.
    #[error("numerical failure: {0}")]
    Numerical(String),

    // ---- dataset blobs ----------------------------------------------------------------------
    /// A dataset blob that cannot be read: bad container, missing tensor, wrong dtype or shape,
    /// label outside {0, 1}, bad metadata.
    #[error("invalid dataset file: {0}")]
    InvalidDataset(String),

    /// A source dataset (HDF5 file or photo folder) that cannot be converted.
    #[error("cannot convert {path}: {reason}")]
    Convert { path: String, reason: String },

    // ---- model files ------------------------------------------------------------------------
    /// A model file that cannot be read: bad container, missing or mis-shaped weights, bad
    /// metadata.
    #[error("invalid model file: {0}")]
    InvalidModel(String),

    // ---- photos -----------------------------------------------------------------------------
    /// Zero bytes: nothing to decode.
    #[error("the file is empty")]
    EmptyImage,

    /// Bytes in a format this build cannot decode (named when it is recognised, e.g. HEIC).
    #[error("unsupported image format: {0}")]
    UnsupportedImage(String),

    /// An image larger than the decoding limits allow (decompression bombs, absurd headers).
    #[error("image too large: {width} x {height} pixels (limit {max_side} px a side, {max_pixels} pixels)")]
    ImageTooLarge {
        width: u64,
        height: u64,
        max_side: u32,
        max_pixels: u64,
    },

    /// The decoder refused the bytes: truncated, corrupt, or over the memory limit.
    #[error("cannot decode image: {0}")]
    ImageDecode(String),

    // ---- files ------------------------------------------------------------------------------
    /// An I/O error, with the path that caused it.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
