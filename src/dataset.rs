//! The dataset blob: one safetensors file that holds a whole dataset.
//!
//! Layout (every tensor `U8`, row-major):
//! - `train_x`: `[n_train, 64, 64, 3]` RGB pixels (image, row, column, channel), 0..=255
//! - `train_y`: `[n_train]` labels, 0 = non-cat, 1 = cat
//! - `test_x`, `test_y`: the same for the test split (`n_test` may be 0)
//!
//! Metadata (safetensors `__metadata__`, all strings):
//! - `format` = `purrceptron-dataset`, `version` = `1`
//! - `classes`: JSON array of the two class names, index = label
//! - `source`: what the blob was converted from; `source_sha256`: the sha256 of that source
//!
//! numpy (`safetensors.numpy.load_file`), PyTorch, candle and burn read these files as they are.

use std::collections::HashMap;

use ndarray::{Array2, ShapeBuilder};
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use crate::network::Inputs;
use crate::preprocess::{Framing, PIXELS, SIDE};
use crate::{Error, Result};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "purrceptron-dataset";
/// Value of the `version` metadata key.
pub const VERSION: &str = "1";
/// Class names of the classic set, index = label.
pub const CLASSES: [&str; 2] = ["non-cat", "cat"];

/// One split (train or test): `len()` images of 64x64x3 bytes and their labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// `len() * 12288` bytes, image after image, each row-major (row, column, channel).
    pub pixels: Vec<u8>,
    /// One label per image, 0 or 1.
    pub labels: Vec<u8>,
}

impl Split {
    /// Checks that pixels and labels fit together and labels are 0 or 1.
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self> {
        if pixels.len() != labels.len() * PIXELS {
            return Err(Error::Shape(format!(
                "{} pixel bytes for {} labels (expected {} bytes)",
                pixels.len(),
                labels.len(),
                labels.len() * PIXELS
            )));
        }
        if let Some((i, &bad)) = labels.iter().enumerate().find(|(_, &l)| l > 1) {
            return Err(Error::InvalidDataset(format!(
                "label {bad} at index {i}: labels must be 0 or 1"
            )));
        }
        Ok(Split { pixels, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 12288 bytes of image `i` (panics if `i >= len()`, like slice indexing).
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }

    /// The model's input matrix `(12288, len())`: one image per column, pixels row-major
    /// (row, column, channel) scaled to [0, 1] by `x / 255`, as the classic notebook's
    /// `x.reshape(m, -1).T / 255`.
    pub fn to_matrix(&self) -> Array2<f64> {
        pixels_to_matrix(&self.pixels)
    }

    /// The training inputs for this split: its pixels, kept as bytes.
    pub fn inputs(&self) -> Inputs {
        Inputs::Pixels {
            bytes: self.pixels.clone(),
            n_x: PIXELS,
        }
    }

    /// How many images carry `label`.
    pub fn count(&self, label: u8) -> usize {
        self.labels.iter().filter(|&&l| l == label).count()
    }

    /// Fraction of the split that the majority class makes up (the "always guess the majority"
    /// accuracy), in 0..=1; 0 for an empty split.
    pub fn majority_rate(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let cats = self.count(1);
        cats.max(self.len() - cats) as f64 / self.len() as f64
    }
}

/// A whole dataset: train and test splits plus provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub train: Split,
    pub test: Split,
    /// Class names, index = label.
    pub classes: [String; 2],
    /// What the dataset was converted from (free text, e.g. `catvnoncat HDF5`).
    pub source: String,
    /// Hex sha256 of the source (see the converters for what exactly is hashed).
    pub source_sha256: String,
}

/// `(12288, n)` inputs in [0, 1] from `n` images of 12288 bytes each (a trailing partial image
/// is ignored).
pub fn pixels_to_matrix(pixels: &[u8]) -> Array2<f64> {
    let n = pixels.len() / PIXELS;
    let data = pixels[..n * PIXELS]
        .iter()
        .map(|&p| crate::kernels::UNIT[usize::from(p)])
        .collect();
    // Image-major bytes are exactly the column-major layout of the (12288, n) matrix.
    Array2::from_shape_vec((PIXELS, n).f(), data).unwrap_or_else(|_| Array2::zeros((PIXELS, 0)))
}

/// Hex-encoded sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrites a safetensors file's JSON header with its keys sorted. `safetensors::serialize`
/// writes the metadata in `HashMap` order, which changes from run to run; sorted, the same
/// dataset (or model) always gives the same bytes (the page and the CLI agree byte for byte).
/// The header keeps its length (the same JSON, reordered), so the tensor data does not move.
/// `bad` makes the error (a dataset's or a model's) from what went wrong.
pub(crate) fn sorted_header(mut bytes: Vec<u8>, bad: impl Fn(&str) -> Error) -> Result<Vec<u8>> {
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("no header"))?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad("header length"))?;
    let header = bytes.get(8..8 + len).ok_or_else(|| bad("short header"))?;
    let mut map: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    if let Some(meta) = map.get_mut("__metadata__") {
        let sorted: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_value(meta.take()).map_err(|e| bad(&e.to_string()))?;
        *meta = serde_json::to_value(sorted).map_err(|e| bad(&e.to_string()))?;
    }
    let mut json = serde_json::to_vec(&map).map_err(|e| bad(&e.to_string()))?;
    if json.len() > len {
        return Err(bad("header grew when sorted"));
    }
    // The original header is padded with spaces to keep the data aligned; pad the same way.
    json.resize(len, b' ');
    bytes[8..8 + len].copy_from_slice(&json);
    Ok(bytes)
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
        hex(&h.finalize())
    }

    /// Serialises the dataset as a safetensors blob (see the module docs for the layout).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors = Vec::new();
        for (name, split) in [("train", &self.train), ("test", &self.test)] {
            let x = safetensors::tensor::TensorView::new(
                Dtype::U8,
                vec![split.len(), SIDE, SIDE, 3],
                &split.pixels,
            )
            .map_err(|e| Error::Shape(format!("{name}_x: {e}")))?;
            let y =
                safetensors::tensor::TensorView::new(Dtype::U8, vec![split.len()], &split.labels)
                    .map_err(|e| Error::Shape(format!("{name}_y: {e}")))?;
            tensors.push((format!("{name}_x"), x));
            tensors.push((format!("{name}_y"), y));
        }
        let classes = serde_json::to_string(&self.classes)
            .map_err(|e| Error::InvalidDataset(e.to_string()))?;
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("classes".to_string(), classes),
            ("source".to_string(), self.source.clone()),
            ("source_sha256".to_string(), self.source_sha256.clone()),
        ]);
        let bytes = safetensors::serialize(tensors, Some(metadata))
            .map_err(|e| Error::InvalidDataset(format!("cannot serialise: {e}")))?;
        sorted_header(bytes, |what| {
            Error::InvalidDataset(format!("cannot serialise: {what}"))
        })
    }

    /// Reads and validates a blob: container, metadata, tensor names, dtypes, shapes and labels.
    /// Any defect gives [`Error::InvalidDataset`] naming it; nothing here panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::InvalidDataset(format!("not a readable safetensors file ({e})")))?;
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::InvalidDataset(format!("not a readable safetensors file ({e})")))?;
        let empty = HashMap::new();
        let meta = meta.metadata().as_ref().unwrap_or(&empty);
        let get = |key: &str| {
            meta.get(key)
                .ok_or_else(|| Error::InvalidDataset(format!("metadata has no `{key}`")))
        };
        let format = get("format")?;
        if format != FORMAT {
            return Err(Error::InvalidDataset(format!(
                "metadata format is `{format}`, expected `{FORMAT}`"
            )));
        }
        let version = get("version")?;
        if version != VERSION {
            return Err(Error::InvalidDataset(format!(
                "version `{version}` is not supported (this build reads version {VERSION})"
            )));
        }
        let classes: Vec<String> = serde_json::from_str(get("classes")?)
            .map_err(|e| Error::InvalidDataset(format!("classes is not a JSON list ({e})")))?;
        let classes: [String; 2] = classes.try_into().map_err(|c: Vec<String>| {
            Error::InvalidDataset(format!("{} class names, expected 2", c.len()))
        })?;
        let mut names = st.names();
        names.sort_unstable();
        let expected = ["test_x", "test_y", "train_x", "train_y"];
        if names != expected {
            return Err(Error::InvalidDataset(format!(
                "tensors are {names:?}, expected {expected:?}"
            )));
        }
        let split = |name: &str| -> Result<Split> {
            let tensor = |t: &str| {
                st.tensor(t)
                    .map_err(|e| Error::InvalidDataset(format!("{t}: {e}")))
            };
            let x = tensor(&format!("{name}_x"))?;
            let y = tensor(&format!("{name}_y"))?;
            for (t, v) in [("x", &x), ("y", &y)] {
                if v.dtype() != Dtype::U8 {
                    return Err(Error::InvalidDataset(format!(
                        "{name}_{t} has dtype {:?}, expected U8",
                        v.dtype()
                    )));
                }
            }
            let n = match y.shape() {
                [n] => *n,
                s => {
                    return Err(Error::InvalidDataset(format!(
                        "{name}_y has shape {s:?}, expected [n]"
                    )))
                }
            };
            if x.shape() != [n, SIDE, SIDE, 3] {
                return Err(Error::InvalidDataset(format!(
                    "{name}_x has shape {:?}, expected [{n}, {SIDE}, {SIDE}, 3]",
                    x.shape()
                )));
            }
            Split::new(x.data().to_vec(), y.data().to_vec()).map_err(|e| match e {
                Error::InvalidDataset(m) => Error::InvalidDataset(format!("{name}_y: {m}")),
                other => other,
            })
        };
        let train = split("train")?;
        let test = split("test")?;
        if train.is_empty() {
            return Err(Error::InvalidDataset("the train split is empty".into()));
        }
        Ok(Dataset {
            train,
            test,
            classes,
            source: meta.get("source").cloned().unwrap_or_default(),
            source_sha256: meta.get("source_sha256").cloned().unwrap_or_default(),
        })
    }

    /// Builds a dataset from photos: every photo goes through [`crate::preprocess::preprocess`],
    /// then a seeded split puts `round(test_fraction * n)` photos of each class into the test
    /// split (see [`crate::photoset::PhotoSet::build`], which the page uses too).
    ///
    /// `cats` and `non_cats` yield `(name, bytes or read error)`, consumed one photo at a time
    /// so a large folder is never held in memory whole; the names order each class before the
    /// shuffle (so the order they come in does not matter) and appear in the skip list. Photos
    /// that cannot be read are skipped and returned beside the dataset with their error, so one
    /// bad file loses nothing else. `test_fraction` is in `[0, 1)`.
    pub fn from_photos<C, N>(
        cats: C,
        non_cats: N,
        test_fraction: f64,
        seed: u32,
        fit: Framing,
    ) -> Result<(Dataset, Vec<(String, Error)>)>
    where
        C: IntoIterator<Item = (String, Result<Vec<u8>>)>,
        N: IntoIterator<Item = (String, Result<Vec<u8>>)>,
    {
        // Checked before any photo is read, so a typo does not cost a pass over a big folder.
        crate::photoset::check_test_fraction(test_fraction)?;
        let mut set = crate::photoset::PhotoSet::new(fit);
        let mut skipped = Vec::new();
        type Photos<'a> = Box<dyn Iterator<Item = (String, Result<Vec<u8>>)> + 'a>;
        let photos: [(u8, Photos); 2] = [
            (0, Box::new(non_cats.into_iter())),
            (1, Box::new(cats.into_iter())),
        ];
        for (label, photos) in photos {
            for (name, bytes) in photos {
                let result = match bytes {
                    Ok(bytes) => set.add(label, name.clone(), &bytes).map(drop),
                    Err(e) => set.add_unreadable(label, name.clone()).and(Err(e)),
                };
                if let Err(e) = result {
                    skipped.push((name, e));
                }
            }
        }
        let dataset = set.build(test_fraction, seed)?;
        Ok((dataset, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        let img = |v: u8| vec![v; PIXELS];
        Dataset {
            train: Split::new([img(1), img(2), img(3)].concat(), vec![0, 1, 1]).unwrap(),
            test: Split::new(img(4), vec![1]).unwrap(),
            classes: CLASSES.map(String::from),
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
