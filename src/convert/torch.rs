//! The legacy (non-zip) `torch.save` container: five pickles (magic number, protocol, sys info,
//! the state dict, the storage keys), then each storage as an int64 element count and its raw
//! little-endian data, in the order of the keys.
//!
//! Tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` calls;
//! they are read back in logical row-major order by following their STRIDES (the EfficientNet
//! weights keep TensorFlow's memory layout, so reading their storage as contiguous would
//! silently scramble them).

use std::collections::{HashMap, HashSet};

use super::pickle::{self, Value};
use crate::{Error, Result};

/// The legacy format's magic number (first pickle).
pub const MAGIC: i128 = 0x1950a86a20f9469cfc6c;
/// The legacy format's protocol version (second pickle).
pub const PROTOCOL: i128 = 1001;
/// Most elements of one tensor.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 24;
/// Most elements of all tensors together.
pub const MAX_TOTAL_ELEMENTS: usize = 1 << 25;

/// A tensor's values in logical row-major order of its `shape`.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// One entry of a state dict.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// torch's `size`, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    /// The values when they are `f32`.
    pub fn f32s(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            TensorData::I64(_) => None,
        }
    }
}

fn bad(msg: String) -> Error {
    Error::BackboneSource(msg)
}

/// The storage types this reads: element size in bytes, and whether it is a float.
fn storage_type(v: &Value) -> Result<(usize, bool)> {
    match v {
        Value::Global(m, n) if m == "torch" && n == "FloatStorage" => Ok((4, true)),
        Value::Global(m, n) if m == "torch" && n == "LongStorage" => Ok((8, false)),
        Value::Global(m, n) => Err(bad(format!("unsupported storage type {m}.{n}"))),
        other => Err(bad(format!(
            "a storage type that is a {}",
            other.type_name()
        ))),
    }
}

struct Storage {
    elem: usize,
    float: bool,
    numel: usize,
    data: Option<std::ops::Range<usize>>,
}

fn int(v: &Value, what: &str) -> Result<i128> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(bad(format!(
            "{what} is a {}, expected an int",
            other.type_name()
        ))),
    }
}

fn usize_of(v: &Value, what: &str) -> Result<usize> {
    let i = int(v, what)?;
    usize::try_from(i).map_err(|_| bad(format!("{what} is {i}, expected a size")))
}

fn ints(v: &Value, what: &str) -> Result<Vec<usize>> {
    match v {
        Value::Tuple(items) => items.iter().map(|i| usize_of(i, what)).collect(),
        other => Err(bad(format!(
            "{what} is a {}, expected a tuple",
            other.type_name()
        ))),
    }
}

fn string<'v>(v: &'v Value, what: &str) -> Result<&'v str> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(bad(format!(
            "{what} is a {}, expected a str",
            other.type_name()
        ))),
    }
}

/// A tensor before its data is read: storage key, offset, size and stride.
struct Pending {
    name: String,
    key: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// Reads a legacy `torch.save` file of a state dict: every tensor, in the dict's order, its
/// values gathered by its strides. Any defect is an error naming it, never a panic.
pub fn read_state_dict(bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    let (magic, pos) = pickle::load(bytes, 0)?;
    if magic != Value::Int(MAGIC) {
        return Err(bad(
            "not a legacy torch file (its first pickle is not torch's magic number)".into(),
        ));
    }
    let (protocol, pos) = pickle::load(bytes, pos)?;
    if protocol != Value::Int(PROTOCOL) {
        return Err(bad(format!(
            "torch protocol {protocol:?}, expected {PROTOCOL}"
        )));
    }
    let (sys_info, pos) = pickle::load(bytes, pos)?;
    let little = match &sys_info {
        Value::Dict(pairs) => pairs
            .iter()
            .find(|(k, _)| *k == Value::Str("little_endian".into()))
            .map(|(_, v)| v.clone()),
        _ => None,
    };
    if little != Some(Value::Bool(true)) {
        return Err(bad("the file was not saved little-endian".into()));
    }
    let (dict, pos) = pickle::load(bytes, pos)?;
    let (keys, mut pos) = pickle::load(bytes, pos)?;

    let mut storages: HashMap<String, Storage> = HashMap::new();
    let pending = tensors_of(&dict, &mut storages)?;

    let Value::List(keys) = keys else {
        return Err(bad(format!(
            "the storage keys are a {}, expected a list",
            keys.type_name()
        )));
    };
    for key in &keys {
        let key = string(key, "a storage key")?;
        let storage = storages
            .get_mut(key)
            .ok_or_else(|| bad(format!("storage {key} is listed but no tensor uses it")))?;
        let count = bytes
            .get(pos..pos + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| bad(format!("truncated: storage {key}'s size at byte {pos}")))?;
        if count != storage.numel as u64 {
            return Err(bad(format!(
                "storage {key} holds {count} elements, its tensors say {}",
                storage.numel
            )));
        }
        let start = pos + 8;
        let end = storage
            .numel
            .checked_mul(storage.elem)
            .and_then(|n| n.checked_add(start))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                bad(format!(
                    "truncated: storage {key} needs {} bytes from byte {start}, the file has {}",
                    storage.numel.saturating_mul(storage.elem),
                    bytes.len()
                ))
            })?;
        if storage.data.replace(start..end).is_some() {
            return Err(bad(format!("storage {key} is listed twice")));
        }
        pos = end;
    }

    let mut total = 0usize;
    pending
        .into_iter()
        .map(|p| {
            let storage = &storages[&p.key];
            let range = storage.data.clone().ok_or_else(|| {
                bad(format!(
                    "storage {} of {} is not in the file",
                    p.key, p.name
                ))
            })?;
            let index = gather_index(&p, storage.numel)?;
            total += index.len();
            if total > MAX_TOTAL_ELEMENTS {
                return Err(bad(format!(
                    "more than {MAX_TOTAL_ELEMENTS} elements in all"
                )));
            }
            let raw = &bytes[range];
            let data = if storage.float {
                TensorData::F32(
                    index
                        .iter()
                        .map(|&i| f32::from_le_bytes(word(raw, i)))
                        .collect(),
                )
            } else {
                TensorData::I64(
                    index
                        .iter()
                        .map(|&i| i64::from_le_bytes(word(raw, i)))
                        .collect(),
                )
            };
            Ok((
                p.name,
                Tensor {
                    shape: p.shape,
                    data,
                },
            ))
        })
        .collect()
}

/// The `N` bytes of element `i` (in range: `gather_index` checked it).
fn word<const N: usize>(raw: &[u8], i: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&raw[i * N..(i + 1) * N]);
    b
}

/// The storage index of every element of `p` in logical row-major order:
/// `offset + sum(index[d] * stride[d])`, every one checked to be inside the storage.
fn gather_index(p: &Pending, numel: usize) -> Result<Vec<usize>> {
    if p.shape.len() != p.stride.len() {
        return Err(bad(format!(
            "{}: size {:?} and stride {:?} differ in length",
            p.name, p.shape, p.stride
        )));
    }
    let count = p
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
        .ok_or_else(|| bad(format!("{}: size {:?} is too large", p.name, p.shape)))?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let last = p
        .shape
        .iter()
        .zip(&p.stride)
        .try_fold(p.offset, |a, (&d, &s)| {
            (d - 1).checked_mul(s).and_then(|x| x.checked_add(a))
        });
    if last.is_none_or(|l| l >= numel) {
        return Err(bad(format!(
            "{}: offset {}, size {:?} and stride {:?} reach outside its storage of {numel} elements",
            p.name, p.offset, p.shape, p.stride
        )));
    }
    let mut index = vec![p.offset];
    for (&d, &s) in p.shape.iter().zip(&p.stride) {
        index = index
            .iter()
            .flat_map(|&base| (0..d).map(move |i| base + i * s))
            .collect();
    }
    Ok(index)
}

/// The state dict's tensors (not yet read), registering each storage they use.
fn tensors_of(dict: &Value, storages: &mut HashMap<String, Storage>) -> Result<Vec<Pending>> {
    let Value::Dict(pairs) = dict else {
        return Err(bad(format!(
            "the state dict is a {}, expected a dict",
            dict.type_name()
        )));
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let name = string(k, "a state-dict key")?.to_string();
        if !seen.insert(name.clone()) {
            return Err(bad(format!("tensor {name} appears twice")));
        }
        let p = rebuild(&name, v, storages)?;
        out.push(p);
    }
    Ok(out)
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`.
fn rebuild(name: &str, v: &Value, storages: &mut HashMap<String, Storage>) -> Result<Pending> {
    let args = match v {
        Value::Call(func, args)
            if **func == Value::Global("torch._utils".into(), "_rebuild_tensor_v2".into()) =>
        {
            match &**args {
                Value::Tuple(a) if a.len() >= 4 => a,
                _ => {
                    return Err(bad(format!(
                        "{name}: _rebuild_tensor_v2 with too few arguments"
                    )))
                }
            }
        }
        other => {
            return Err(bad(format!(
                "{name} is a {}, expected a tensor (_rebuild_tensor_v2)",
                other.type_name()
            )))
        }
    };
    // ('storage', storage_type, key, location, numel[, view_metadata])
    let pid = match &args[0] {
        Value::PersId(p) => match &**p {
            Value::Tuple(t) if t.len() >= 5 && t[0] == Value::Str("storage".into()) => t,
            _ => {
                return Err(bad(format!(
                    "{name}: its storage reference is not ('storage', ...)"
                )))
            }
        },
        other => {
            return Err(bad(format!(
                "{name}: its storage is a {}, expected a persistent id",
                other.type_name()
            )))
        }
    };
    let (elem, float) = storage_type(&pid[1])?;
    let key = string(&pid[2], "a storage key")?.to_string();
    let numel = usize_of(&pid[4], "a storage size")?;
    if numel > MAX_TOTAL_ELEMENTS {
        return Err(bad(format!(
            "{name}: a storage of {numel} elements is too large"
        )));
    }
    let s = storages.entry(key.clone()).or_insert(Storage {
        elem,
        float,
        numel,
        data: None,
    });
    if (s.elem, s.float, s.numel) != (elem, float, numel) {
        return Err(bad(format!(
            "storage {key} is described two different ways"
        )));
    }
    Ok(Pending {
        name: name.to_string(),
        key,
        offset: usize_of(&args[1], "a storage offset")?,
        shape: ints(&args[2], "a tensor size")?,
        stride: ints(&args[3], "a tensor stride")?,
    })
}
