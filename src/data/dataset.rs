//! The dataset blob: one safetensors file that holds a whole dataset.
//!
//! Layout (every tensor `U8`, row-major):
//! - `train_x`: `[n_train, 64, 64, 3]` RGB pixels (image, row, column, channel), 0..=255
//! - `train_y`: `[n_train]` labels, the index of the image's class in `classes`
//! - `test_x`, `test_y`: the same for the test split (`n_test` may be 0)
//!
//! Metadata (safetensors `__metadata__`, all strings):
//! - `format` = `purrceptron-dataset`, `version` = `1`
//! - `classes`: JSON array of the class names (2 to 20), index = label; the classic set's are
//!   `["non-cat", "cat"]`
//! - `source`: what the blob was converted from; `source_sha256`: the sha256 of that source
//!
//! numpy (`safetensors.numpy.load_file`), PyTorch, candle and burn read these files as they are.

use std::collections::HashMap;

use safetensors::Dtype;
use sha2::{Digest, Sha256};

use super::container::{self, Container};
use super::Split;
use crate::preprocess::SIDE;
use crate::{Error, Result};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "purrceptron-dataset";
/// Value of the `version` metadata key.
pub const VERSION: &str = "1";
/// Class names of the classic set, index = label.
pub const CLASSES: [&str; 2] = ["non-cat", "cat"];
/// Fewest and most classes a dataset may have.
pub const MIN_CLASSES: usize = 2;
pub const MAX_CLASSES: usize = 20;
/// Longest class name, in characters.
pub const MAX_CLASS_NAME: usize = 64;

/// Checks a list of class names (index = label): [`MIN_CLASSES`]..=[`MAX_CLASSES`] names, each
/// 1..=[`MAX_CLASS_NAME`] characters with something other than spaces, no two equal. The error
/// names what is wrong.
pub fn check_classes(classes: &[String]) -> Result<()> {
    if !(MIN_CLASSES..=MAX_CLASSES).contains(&classes.len()) {
        return Err(Error::InvalidParameter {
            name: "classes",
            value: format!("{} ({})", classes.len(), classes.join(", ")),
            expected: "2 to 20 classes",
        });
    }
    for (i, name) in classes.iter().enumerate() {
        if name.trim().is_empty() || name.chars().count() > MAX_CLASS_NAME {
            return Err(Error::InvalidParameter {
                name: "class name",
                value: format!("{name:?}"),
                expected: "1 to 64 characters, not only spaces",
            });
        }
        if classes[..i].contains(name) {
            return Err(Error::InvalidParameter {
                name: "class name",
                value: format!("{name:?} (twice)"),
                expected: "a different name for each class",
            });
        }
    }
    Ok(())
}

/// A whole dataset: train and test splits plus provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub train: Split,
    pub test: Split,
    /// Class names, index = label: 2 to 20 (see [`check_classes`]). The classic set and the
    /// two-class files are `["non-cat", "cat"]`.
    pub classes: Vec<String>,
    /// What the dataset was converted from (free text, e.g. `catvnoncat HDF5`).
    pub source: String,
    /// Hex sha256 of the source (see the converters for what exactly is hashed).
    pub source_sha256: String,
}

fn invalid(message: String) -> Error {
    Error::InvalidDataset(message)
}

impl Dataset {
    /// sha256 of the images and labels alone (not of the file): it identifies what a model was
    /// trained on, whatever the container's byte layout.
    pub fn content_sha256(&self) -> String {
        let mut h = Sha256::new();
        for split in [&self.train, &self.test] {
            h.update((split.len() as u64).to_le_bytes());
            h.update(&split.pixels);
            h.update(&split.labels);
        }
        container::hex(&h.finalize())
    }

    /// Serialises the dataset as a safetensors blob (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors = Vec::new();
        for (name, split) in [("train", &self.train), ("test", &self.test)] {
            let n = split.len();
            tensors.push((
                format!("{name}_x"),
                vec![n, SIDE, SIDE, 3],
                &split.pixels[..],
            ));
            tensors.push((format!("{name}_y"), vec![n], &split.labels[..]));
        }
        let classes = serde_json::to_string(&self.classes).map_err(|e| invalid(e.to_string()))?;
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("classes".to_string(), classes),
            ("source".to_string(), self.source.clone()),
            ("source_sha256".to_string(), self.source_sha256.clone()),
        ]);
        container::write(&tensors, Dtype::U8, metadata, invalid)
    }

    /// How many classes it has ([`Dataset::classes`]).
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Reads and validates a blob: container, metadata, tensor names, dtypes, shapes and labels.
    /// Any defect gives [`Error::InvalidDataset`] naming it; nothing here panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let file = Container::parse(bytes, invalid)?;
        let format = file.meta("format")?;
        // Named, not just refused: a project holds a dataset, and people will try it here.
        if format == super::container::PROJECT_FORMAT {
            return Err(invalid(
                "this is a project file (a dataset and maybe a model): open it as a project".into(),
            ));
        }
        if format != FORMAT {
            return Err(invalid(format!(
                "metadata format is `{format}`, expected `{FORMAT}`"
            )));
        }
        file.check_version(VERSION)?;
        let classes: Vec<String> = serde_json::from_str(file.meta("classes")?)
            .map_err(|e| invalid(format!("classes is not a JSON list ({e})")))?;
        check_classes(&classes).map_err(|e| invalid(format!("classes: {e}")))?;
        let mut names = file.tensors.names();
        names.sort_unstable();
        let expected = ["test_x", "test_y", "train_x", "train_y"];
        if names != expected {
            return Err(invalid(format!(
                "tensors are {names:?}, expected {expected:?}"
            )));
        }
        let split = |name: &str| -> Result<Split> {
            let tensor = |t: &str| {
                file.tensors
                    .tensor(t)
                    .map_err(|e| invalid(format!("{t}: {e}")))
            };
            let x = tensor(&format!("{name}_x"))?;
            let y = tensor(&format!("{name}_y"))?;
            for (t, v) in [("x", &x), ("y", &y)] {
                if v.dtype() != Dtype::U8 {
                    return Err(invalid(format!(
                        "{name}_{t} has dtype {:?}, expected U8",
                        v.dtype()
                    )));
                }
            }
            let n = match y.shape() {
                [n] => *n,
                s => return Err(invalid(format!("{name}_y has shape {s:?}, expected [n]"))),
            };
            if x.shape() != [n, SIDE, SIDE, 3] {
                return Err(invalid(format!(
                    "{name}_x has shape {:?}, expected [{n}, {SIDE}, {SIDE}, 3]",
                    x.shape()
                )));
            }
            Split::new(x.data().to_vec(), y.data().to_vec(), classes.len()).map_err(|e| match e {
                e @ Error::InvalidLabel { .. } => invalid(format!("{name}_y: {e}")),
                other => other,
            })
        };
        let train = split("train")?;
        let test = split("test")?;
        if train.is_empty() {
            return Err(invalid("the train split is empty".into()));
        }
        Ok(Dataset {
            train,
            test,
            source: file.meta_opt("source").unwrap_or_default().to_string(),
            source_sha256: file
                .meta_opt("source_sha256")
                .unwrap_or_default()
                .to_string(),
            classes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::PIXELS;

    fn tiny() -> Dataset {
        let img = |v: u8| vec![v; PIXELS];
        Dataset {
            train: Split::new([img(1), img(2), img(3)].concat(), vec![0, 1, 1], 2).unwrap(),
            test: Split::new(img(4), vec![1], 2).unwrap(),
            classes: CLASSES.map(String::from).to_vec(),
            source: "test".into(),
            source_sha256: "00".into(),
        }
    }

    #[test]
    fn round_trip() {
        let d = tiny();
        let bytes = d.to_bytes().unwrap();
        assert_eq!(Dataset::from_bytes(&bytes).unwrap(), d);
    }

    #[test]
    fn the_same_dataset_always_gives_the_same_bytes() {
        // The metadata map is a HashMap: without sorting, its order (and so the file) would
        // change from one HashMap to the next.
        let d = tiny();
        let first = d.to_bytes().unwrap();
        for _ in 0..20 {
            assert_eq!(d.clone().to_bytes().unwrap(), first);
        }
        let header_len = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&first[8..8 + header_len]).unwrap();
        let meta_keys = ["classes", "format", "source", "source_sha256", "version"];
        let pos: Vec<usize> = meta_keys
            .iter()
            .map(|k| header.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{header}");
        assert_eq!(Dataset::from_bytes(&first).unwrap(), d);
    }

    #[test]
    fn every_truncated_prefix_is_an_error() {
        let bytes = tiny().to_bytes().unwrap();
        for len in 0..bytes.len() {
            assert!(
                Dataset::from_bytes(&bytes[..len]).is_err(),
                "prefix of {len} bytes was accepted"
            );
        }
    }

    #[test]
    fn bad_labels_wrong_shapes_and_dtypes_are_named() {
        let d = tiny();
        let mut bad = d.clone();
        bad.train.labels[1] = 2;
        let err = Dataset::from_bytes(&bad.to_bytes().unwrap()).unwrap_err();
        assert!(err.to_string().contains("label 2"), "{err}");

        // A tensor of the wrong shape, written with the safetensors crate directly.
        let pix = vec![0u8; 2 * 32 * 32 * 3];
        let lab = vec![0u8, 1];
        fn view(shape: Vec<usize>, data: &[u8]) -> safetensors::tensor::TensorView<'_> {
            safetensors::tensor::TensorView::new(Dtype::U8, shape, data).unwrap()
        }
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("classes".to_string(), r#"["non-cat","cat"]"#.to_string()),
        ]);
        let tensors = vec![
            ("train_x", view(vec![2, 32, 32, 3], &pix)),
            ("train_y", view(vec![2], &lab)),
            ("test_x", view(vec![2, 32, 32, 3], &pix)),
            ("test_y", view(vec![2], &lab)),
        ];
        let bytes = safetensors::serialize(tensors, Some(meta.clone())).unwrap();
        let err = Dataset::from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("[2, 32, 32, 3]"), "{err}");

        // Labels stored as I64, as in the HDF5 source.
        let lab64: Vec<u8> = [0i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let px = vec![0u8; 2 * PIXELS];
        let tensors = vec![
            ("train_x", view(vec![2, 64, 64, 3], &px)),
            (
                "train_y",
                safetensors::tensor::TensorView::new(Dtype::I64, vec![2], &lab64).unwrap(),
            ),
            ("test_x", view(vec![2, 64, 64, 3], &px)),
            ("test_y", view(vec![2], &lab)),
        ];
        let bytes = safetensors::serialize(tensors, Some(meta)).unwrap();
        let err = Dataset::from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("I64"), "{err}");
    }

    #[test]
    fn datasets_of_up_to_twenty_named_classes_round_trip() {
        let img = |v: u8| vec![v; PIXELS];
        let names: Vec<String> = ["ripe", "unripe", "no fruit"].map(String::from).to_vec();
        let d = Dataset {
            train: Split::new([img(1), img(2), img(3)].concat(), vec![0, 2, 1], 3).unwrap(),
            test: Split::new(img(4), vec![2], 3).unwrap(),
            classes: names,
            source: "test".into(),
            source_sha256: "00".into(),
        };
        let back = Dataset::from_bytes(&d.to_bytes().unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.n_classes(), 3);
        // A label past the last class, one class, 21 classes, twice a name, an empty name.
        let mut bad = d.clone();
        bad.train.labels[0] = 3;
        let err = Dataset::from_bytes(&bad.to_bytes().unwrap()).unwrap_err();
        assert!(err.to_string().contains("label 3"), "{err}");
        for classes in [
            vec!["one".to_string()],
            (0..21).map(|i| format!("c{i}")).collect(),
            vec!["a".into(), "b".into(), "a".into()],
            vec!["a".into(), " ".into(), "c".into()],
        ] {
            let mut bad = d.clone();
            bad.classes = classes.clone();
            let err = Dataset::from_bytes(&bad.to_bytes().unwrap()).unwrap_err();
            assert!(
                matches!(err, Error::InvalidDataset(_)) && err.to_string().contains("class"),
                "{classes:?}: {err}"
            );
        }
    }

    #[test]
    fn wrong_format_is_refused() {
        let meta = HashMap::from([("format".to_string(), "model".to_string())]);
        let px = vec![0u8; 4];
        let t = safetensors::tensor::TensorView::new(Dtype::U8, vec![4], &px).unwrap();
        let bytes = safetensors::serialize(vec![("w", t)], Some(meta)).unwrap();
        let err = Dataset::from_bytes(&bytes).unwrap_err();
        assert!(err.to_string().contains("format"), "{err}");
        assert!(Dataset::from_bytes(b"not a dataset at all").is_err());
    }
}
