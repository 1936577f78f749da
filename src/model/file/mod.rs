//! Model files: one safetensors container per fitted model, its `kind` naming the layout of its
//! tensors (one module per kind), and a receipt of how it was made. Every kind shares the
//! container, the `format` and `version` keys and the checks of [`Model::from_bytes`].

mod features;
mod network;
mod pretrained;

pub use features::{SavedFeatures, KIND as FEATURES_KIND};
pub use network::{SavedNetwork, KIND as NETWORK_KIND};
pub use pretrained::{SavedPretrained, KIND as PRETRAINED_KIND};

use std::collections::HashMap;

use super::Model;
use crate::data::container::Container;
use crate::{Error, Result};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "purrceptron-model";
/// Value of the `version` metadata key.
pub const VERSION: &str = "1";

pub(super) fn invalid(msg: String) -> Error {
    Error::InvalidModel(msg)
}

pub(super) fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| invalid(e.to_string()))
}

/// The metadata every model under the shared head (learned or pretrained features) writes:
/// `format`, `version`, `kind`, `params` (JSON), `c`, `cross_validation` (JSON), `receipt`
/// (JSON) and `classes` (JSON); the kind adds its own keys.
pub(super) fn head_metadata<P: serde::Serialize>(
    kind: &str,
    params: &P,
    c: f64,
    cross_validation: &crate::features::CrossValidation,
    receipt: &super::Receipt,
    classes: &[String],
) -> Result<HashMap<String, String>> {
    Ok(HashMap::from([
        classes_json(classes)?,
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("kind".to_string(), kind.to_string()),
        ("params".to_string(), json(params)?),
        ("c".to_string(), json(&c)?),
        ("cross_validation".to_string(), json(cross_validation)?),
        ("receipt".to_string(), json(receipt)?),
    ]))
}

/// The `classes` metadata value: the JSON list of the class names, index = label.
pub(super) fn classes_json(classes: &[String]) -> Result<(String, String)> {
    Ok(("classes".to_string(), json(classes)?))
}

/// The class names of a model file of `count` classes: its `classes` metadata (checked as a
/// dataset's are, and as many as the model has outputs for); a file from before class names
/// were recorded has the classic two.
pub(super) fn read_classes(file: &Container<'_>, count: usize) -> Result<Vec<String>> {
    let classes: Vec<String> = match file.meta_opt("classes") {
        Some(_) => file.meta_json("classes")?,
        None => crate::data::CLASSES.map(String::from).to_vec(),
    };
    crate::data::check_classes(&classes).map_err(|e| invalid(format!("`classes`: {e}")))?;
    if classes.len() != count {
        return Err(invalid(format!(
            "{} class names ({}) for a model of {count} classes",
            classes.len(),
            classes.join(", ")
        )));
    }
    Ok(classes)
}

impl Model {
    /// Reads and validates a model file of any kind: container, `format`, `version`, `kind`,
    /// then the kind's own tensors and metadata. Any defect gives [`Error::InvalidModel`]
    /// naming it (a dataset file is recognised and named as such); nothing here panics. A
    /// pretrained-feature model comes without its backbone: see [`Model::attach_backbone`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let file = Container::parse(bytes, invalid)?;
        match file.meta("format")? {
            FORMAT => {}
            crate::data::FORMAT => {
                return Err(invalid(
                    "this is a dataset file, not a model (load it as a dataset)".into(),
                ))
            }
            crate::data::container::PROJECT_FORMAT => {
                return Err(invalid(
                    "this is a project file (a dataset and maybe a model): open it as a project"
                        .into(),
                ))
            }
            other => return Err(invalid(format!("format is `{other}`, expected `{FORMAT}`"))),
        }
        file.check_version(VERSION)?;
        match file.meta("kind")? {
            NETWORK_KIND => SavedNetwork::read(&file).map(Model::Network),
            FEATURES_KIND => SavedFeatures::read(&file).map(Model::Features),
            PRETRAINED_KIND => SavedPretrained::read(&file).map(Model::Pretrained),
            kind => Err(invalid(format!("unknown model kind `{kind}`"))),
        }
    }

    /// Serialises the model in its own kind's layout.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Model::Network(m) => m.to_bytes(),
            Model::Features(m) => m.to_bytes(),
            Model::Pretrained(m) => m.to_bytes(),
        }
    }
}
