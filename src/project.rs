//! Project files: a piece of work in one file, to keep or to move to another browser or
//! machine: the dataset (its images as the models see them, 64x64, its split and its class
//! names) and, when one was trained, the model (with its receipt: how, when and on what it was
//! trained).
//!
//! A project file is a safetensors container (`format` = [`FORMAT`], `version` = [`VERSION`])
//! whose `U8` tensors `dataset` and (optional) `model` hold a dataset file's and a model file's
//! bytes unchanged: each part is read by its own reader with its own checks, and unpacking
//! gives back the very files that were packed. Its metadata repeat the class names, the
//! dataset's content sha256 and the model's kind, so a project can be described without
//! reading its parts.

use std::collections::HashMap;

use safetensors::Dtype;

use crate::data::container::{self, Container};
use crate::data::Dataset;
use crate::model::Model;
use crate::{Error, Result};

/// Value of the `format` metadata key.
pub const FORMAT: &str = crate::data::container::PROJECT_FORMAT;
/// Value of the `version` metadata key.
pub const VERSION: &str = "1";
/// The file name extension the page and the CLI's examples use.
pub const EXTENSION: &str = "purrceptron";

fn invalid(msg: String) -> Error {
    Error::InvalidProject(msg)
}

/// A dataset and maybe the model trained on it, each parsed and checked, with the file bytes
/// they were read from.
#[derive(Debug)]
pub struct Project {
    dataset: Dataset,
    dataset_bytes: Vec<u8>,
    model: Option<(Model, Vec<u8>)>,
}

impl Project {
    /// A project of a dataset file's bytes and maybe a model file's. Each is read and checked
    /// by its own reader (an [`Error::InvalidDataset`] or [`Error::InvalidModel`] names what is
    /// wrong), and a model must have the dataset's classes (same names, same order).
    pub fn new(dataset_bytes: Vec<u8>, model_bytes: Option<Vec<u8>>) -> Result<Self> {
        let dataset = Dataset::from_bytes(&dataset_bytes)?;
        let model = match model_bytes {
            Some(bytes) => {
                let model = Model::from_bytes(&bytes)?;
                model.check_dataset(&dataset)?;
                Some((model, bytes))
            }
            None => None,
        };
        Ok(Project {
            dataset,
            dataset_bytes,
            model,
        })
    }

    /// Reads a project file: its container, `format` and `version`, then each part with its
    /// own reader. A defect of the container gives [`Error::InvalidProject`] naming it (a model
    /// or dataset file given instead is named as such); a defect of a part, that part's error.
    /// Nothing here panics, whatever the bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let file = Container::parse(bytes, invalid)?;
        match file.meta("format")? {
            FORMAT => {}
            crate::model::file::FORMAT => {
                return Err(invalid(
                    "this is a model file, not a project (load it as a model)".into(),
                ))
            }
            crate::data::FORMAT => {
                return Err(invalid(
                    "this is a dataset file, not a project (load it as a dataset)".into(),
                ))
            }
            other => return Err(invalid(format!("format is `{other}`, expected `{FORMAT}`"))),
        }
        file.check_version(VERSION)?;
        let part = |name: &str| -> Result<Option<Vec<u8>>> {
            if file.tensors.tensor(name).is_err() {
                return Ok(None);
            }
            let t = file.tensor(name, Dtype::U8)?;
            if t.shape().len() != 1 {
                return Err(invalid(format!(
                    "`{name}` has shape {:?}, expected the bytes of a file (1 dimension)",
                    t.shape()
                )));
            }
            Ok(Some(t.data().to_vec()))
        };
        let dataset = part("dataset")?.ok_or_else(|| invalid("it holds no dataset".into()))?;
        let model = part("model")?;
        let names = file.tensors.names().len();
        let expected = 1 + usize::from(model.is_some());
        if names != expected {
            return Err(invalid(format!(
                "{names} parts, expected a dataset and at most a model"
            )));
        }
        Project::new(dataset, model)
    }

    /// The project file's bytes: the same parts always give the same bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors = vec![(
            "dataset",
            vec![self.dataset_bytes.len()],
            &self.dataset_bytes[..],
        )];
        if let Some((_, bytes)) = &self.model {
            tensors.push(("model", vec![bytes.len()], &bytes[..]));
        }
        let tensors: Vec<_> = tensors
            .into_iter()
            .map(|(name, shape, bytes)| (name.to_string(), shape, bytes))
            .collect();
        let classes =
            serde_json::to_string(&self.dataset.classes).map_err(|e| invalid(e.to_string()))?;
        let mut metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("classes".to_string(), classes),
            ("dataset_sha256".to_string(), self.dataset.content_sha256()),
        ]);
        if let Some((model, _)) = &self.model {
            metadata.insert("model_kind".to_string(), model.kind().to_string());
        }
        container::write(&tensors, Dtype::U8, metadata, invalid)
    }

    /// The dataset.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The dataset file's bytes, as packed.
    pub fn dataset_bytes(&self) -> &[u8] {
        &self.dataset_bytes
    }

    /// The model, if the project has one (a pretrained-feature model without its backbone:
    /// see [`Model::attach_backbone`]).
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref().map(|(m, _)| m)
    }

    /// The model file's bytes, as packed, if the project has a model.
    pub fn model_bytes(&self) -> Option<&[u8]> {
        self.model.as_ref().map(|(_, b)| &b[..])
    }

    /// The dataset and the model, taken out (for a front end that uses them).
    pub fn into_parts(self) -> (Dataset, Option<Model>) {
        (self.dataset, self.model.map(|(m, _)| m))
    }
}
