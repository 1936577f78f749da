//! The safetensors container shared by dataset files and model files: metadata read and
//! checked the same way, headers written with sorted keys (so the same content always gives the
//! same bytes), tensors read with their dtype and shape checked.

use std::collections::{BTreeMap, HashMap};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The `format` of a project file (`crate::project`): named here, below the readers of dataset
/// and model files, so that they can tell a project given to them by its name.
pub const PROJECT_FORMAT: &str = "purrceptron-project";

/// Makes the caller's error (a dataset's or a model's) from a message.
pub type Bad = fn(String) -> Error;

/// A parsed container: its tensors and its `__metadata__` strings.
pub struct Container<'a> {
    pub tensors: SafeTensors<'a>,
    metadata: HashMap<String, String>,
    bad: Bad,
}

impl<'a> Container<'a> {
    /// Parses `bytes`; any defect of the container is `bad("not a readable safetensors file ...")`.
    pub fn parse(bytes: &'a [u8], bad: Bad) -> Result<Self> {
        let unreadable =
            |e: safetensors::SafeTensorError| bad(format!("not a readable safetensors file ({e})"));
        let tensors = SafeTensors::deserialize(bytes).map_err(unreadable)?;
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(unreadable)?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        Ok(Container {
            tensors,
            metadata,
            bad,
        })
    }

    /// The metadata value of `key`, or `bad("metadata has no `key`")`.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| (self.bad)(format!("metadata has no `{key}`")))
    }

    /// The metadata value of `key`, if any.
    pub fn meta_opt(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The metadata value of `key` parsed as JSON.
    pub fn meta_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T> {
        serde_json::from_str(self.meta(key)?).map_err(|e| (self.bad)(format!("{key}: {e}")))
    }

    /// Checks the `version` key against the one this build reads.
    pub fn check_version(&self, version: &str) -> Result<()> {
        match self.meta("version")? {
            v if v == version => Ok(()),
            v => Err((self.bad)(format!(
                "version `{v}` is not supported (this build reads version {version})"
            ))),
        }
    }

    /// The `F64` tensor `name` (little-endian) of exactly `shape`; `what` ends the shape
    /// message (e.g. "for 128 filters").
    pub fn f64_tensor(&self, name: &str, shape: &[usize], what: &str) -> Result<Vec<f64>> {
        let t = self.tensor(name, Dtype::F64)?;
        if t.shape() != shape {
            return Err((self.bad)(format!(
                "`{name}` has shape {:?}, expected {shape:?}{what}",
                t.shape()
            )));
        }
        Ok(f64s(t.data()))
    }

    /// The `F64` tensor `name` of rank `rank`, with its shape.
    pub fn f64_tensor_rank(&self, name: &str, rank: usize) -> Result<(Vec<usize>, Vec<f64>)> {
        let t = self.tensor(name, Dtype::F64)?;
        if t.shape().len() != rank {
            return Err((self.bad)(format!(
                "`{name}` has shape {:?}, expected {rank} dimensions",
                t.shape()
            )));
        }
        Ok((t.shape().to_vec(), f64s(t.data())))
    }

    /// The tensor `name`, which must have `dtype`.
    pub fn tensor(&self, name: &str, dtype: Dtype) -> Result<TensorView<'a>> {
        let t = self
            .tensors
            .tensor(name)
            .map_err(|_| (self.bad)(format!("tensor `{name}` is missing")))?;
        if t.dtype() != dtype {
            return Err((self.bad)(format!(
                "`{name}` has dtype {:?}, expected {dtype:?}",
                t.dtype()
            )));
        }
        Ok(t)
    }
}

fn f64s(data: &[u8]) -> Vec<f64> {
    data.chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect()
}

/// One tensor to write: name, shape, little-endian bytes.
pub type Owned = (String, Vec<usize>, Vec<u8>);

/// An `F64` tensor to write.
pub fn f64_owned(name: &str, shape: Vec<usize>, values: impl IntoIterator<Item = f64>) -> Owned {
    let bytes = values.into_iter().flat_map(f64::to_le_bytes).collect();
    (name.to_string(), shape, bytes)
}

/// Writes a container of `dtype` tensors and string metadata, the header's keys sorted.
pub fn write<B: AsRef<[u8]>>(
    tensors: &[(String, Vec<usize>, B)],
    dtype: Dtype,
    metadata: HashMap<String, String>,
    bad: Bad,
) -> Result<Vec<u8>> {
    let typed: Vec<_> = tensors
        .iter()
        .map(|(name, shape, bytes)| (name, dtype, shape, bytes))
        .collect();
    write_typed(&typed, metadata, bad)
}

/// Like [`write`], each tensor with its own dtype: `(name, dtype, shape, little-endian bytes)`.
/// A container whose tensors all have one dtype gets the same bytes from either.
pub fn write_typed<N: AsRef<str>, S: AsRef<[usize]>, B: AsRef<[u8]>>(
    tensors: &[(N, Dtype, S, B)],
    metadata: HashMap<String, String>,
    bad: Bad,
) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            let name = name.as_ref();
            TensorView::new(*dtype, shape.as_ref().to_vec(), bytes.as_ref())
                .map(|v| (name.to_string(), v))
                .map_err(|e| bad(format!("{name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| bad(format!("cannot serialise: {e}")))?;
    sorted_header(bytes).map_err(|what| bad(format!("cannot serialise: {what}")))
}

/// Rewrites a safetensors file's JSON header with its keys sorted. `safetensors::serialize`
/// writes the metadata in `HashMap` order, which changes from run to run; sorted, the same
/// dataset (or model) always gives the same bytes (the page and the CLI agree byte for byte).
/// The header keeps its length (the same JSON, reordered), so the tensor data does not move.
fn sorted_header(mut bytes: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or("no header")?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| "header length")?;
    let header = bytes.get(8..8 + len).ok_or("short header")?;
    let mut map: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| e.to_string())?;
    if let Some(meta) = map.get_mut("__metadata__") {
        let sorted: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(meta.take()).map_err(|e| e.to_string())?;
        *meta = serde_json::to_value(sorted).map_err(|e| e.to_string())?;
    }
    let mut json = serde_json::to_vec(&map).map_err(|e| e.to_string())?;
    if json.len() > len {
        return Err("header grew when sorted".into());
    }
    // The original header is padded with spaces to keep the data aligned; pad the same way.
    json.resize(len, b' ');
    bytes[8..8 + len].copy_from_slice(&json);
    Ok(bytes)
}

/// Hex-encoded sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
