//! A reader of the small part of HDF5 that the classic catvnoncat files use, in Rust, so that
//! converting them needs no C library: superblock version 0 or 1 with 8-byte offsets and
//! lengths, the root group as a symbol table (a version-1 B-tree of symbol-table nodes, names in
//! a local heap), version-1 object headers (with continuation blocks), and datasets stored
//! contiguously (or compactly) without filters, of little- or big-endian integers or
//! fixed-length strings. Anything else is an error that names it, never a panic: every read is
//! bounds-checked, and the walk is bounded (tree depth, entries, messages, continuations).

use std::collections::HashSet;
use std::ops::Range;

use crate::{Error, Result};

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// Offsets and lengths are 8 bytes in every file this reads.
const WORD: usize = 8;
/// "Undefined address".
const UNDEFINED: u64 = u64::MAX;
/// Bounds of the walk: B-tree levels, symbols in the root group, messages per object,
/// continuation blocks per object.
const MAX_DEPTH: usize = 8;
const MAX_SYMBOLS: usize = 10_000;
const MAX_MESSAGES: usize = 1_000;
const MAX_CONTINUATIONS: usize = 16;

/// The type of a dataset's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H5Type {
    /// Integers of `size` bytes (1, 2, 4 or 8).
    Int {
        size: usize,
        signed: bool,
        big_endian: bool,
    },
    /// Fixed-length strings of `size` bytes (NUL- or space-padded).
    Str { size: usize },
}

impl H5Type {
    fn size(self) -> usize {
        match self {
            H5Type::Int { size, .. } | H5Type::Str { size } => size,
        }
    }
}

/// A dataset of the root group: its shape, element type and the bytes of its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H5Dataset {
    pub shape: Vec<usize>,
    pub dtype: H5Type,
    data: Range<usize>,
}

/// An HDF5 file's root-group datasets, read from its bytes.
#[derive(Debug)]
pub struct H5File<'a> {
    bytes: &'a [u8],
    datasets: Vec<(String, H5Dataset)>,
}

fn bad(what: impl Into<String>) -> Error {
    Error::InvalidDataset(format!("HDF5: {}", what.into()))
}

/// Bounds-checked little-endian reads from the file's bytes.
struct At<'a> {
    bytes: &'a [u8],
}

impl At<'_> {
    fn slice(&self, at: u64, len: usize, what: &str) -> Result<&[u8]> {
        let start =
            usize::try_from(at).map_err(|_| bad(format!("{what} at {at}: past the end")))?;
        start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| {
                bad(format!(
                    "{what} at {at} ({len} bytes) is past the end of the file ({} bytes): \
                     truncated?",
                    self.bytes.len()
                ))
            })
    }

    fn uint(&self, at: u64, len: usize, what: &str) -> Result<u64> {
        let b = self.slice(at, len, what)?;
        Ok(b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
    }

    fn u8(&self, at: u64, what: &str) -> Result<u8> {
        Ok(self.slice(at, 1, what)?[0])
    }

    fn word(&self, at: u64, what: &str) -> Result<u64> {
        self.uint(at, WORD, what)
    }
}

fn add(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b).ok_or_else(|| bad("an address overflows"))
}

impl<'a> H5File<'a> {
    /// Reads the superblock, the root group and every dataset's header in `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let at = At { bytes };
        if at.slice(0, 8, "the signature")? != SIGNATURE {
            return Err(bad("not an HDF5 file (no signature at its start)"));
        }
        let version = at.u8(8, "the superblock version")?;
        if version > 1 {
            return Err(bad(format!(
                "superblock version {version} (0 or 1 are read)"
            )));
        }
        let (offsets, lengths) = (at.u8(13, "offset size")?, at.u8(14, "length size")?);
        if usize::from(offsets) != WORD || usize::from(lengths) != WORD {
            return Err(bad(format!(
                "{offsets}-byte offsets and {lengths}-byte lengths (8 are read)"
            )));
        }
        // Version 1 adds 4 bytes (indexed-storage K and a reserved pair) before the addresses.
        let addresses = if version == 0 { 24 } else { 28 };
        let base = at.word(addresses, "the base address")?;
        if base != 0 {
            return Err(bad(format!("base address {base} (0 is read)")));
        }
        // Base, free-space, end-of-file and driver addresses, then the root's symbol entry.
        let root = addresses + 4 * WORD as u64;
        let cache = at.uint(root + 16, 4, "the root entry's cache type")?;
        if cache != 1 {
            return Err(bad(format!(
                "the root group's entry has cache type {cache}: only a symbol-table root group \
                 is read"
            )));
        }
        let btree = at.word(root + 24, "the root group's B-tree address")?;
        let heap = at.word(root + 32, "the root group's heap address")?;
        let names = local_heap(&at, heap)?;
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        group_tree(&at, btree, 0, &mut entries, &mut seen)?;
        let mut datasets = Vec::new();
        for (name_offset, header) in entries {
            let name = heap_name(&at, &names, name_offset)?;
            if let Some(d) = object(&at, header)? {
                datasets.push((name, d));
            }
        }
        Ok(H5File { bytes, datasets })
    }

    /// The root group's dataset `name`, if any.
    pub fn dataset(&self, name: &str) -> Option<&H5Dataset> {
        self.datasets
            .iter()
            .find_map(|(n, d)| (n == name).then_some(d))
    }

    fn find(&self, name: &str) -> Result<&H5Dataset> {
        self.dataset(name)
            .ok_or_else(|| bad(format!("no dataset `{name}` in the root group")))
    }

    fn data(&self, d: &H5Dataset) -> &'a [u8] {
        // Checked against the file's length when the header was read.
        self.bytes.get(d.data.clone()).unwrap_or_default()
    }

    /// Dataset `name` as bytes: unsigned 1-byte integers only.
    pub fn read_u8(&self, name: &str) -> Result<(Vec<usize>, Vec<u8>)> {
        let d = self.find(name)?;
        match d.dtype {
            H5Type::Int {
                size: 1,
                signed: false,
                ..
            } => Ok((d.shape.clone(), self.data(d).to_vec())),
            t => Err(bad(format!("`{name}` holds {t:?}, not unsigned bytes"))),
        }
    }

    /// Dataset `name`'s integers, each as an `i64` (an unsigned 8-byte value above
    /// `i64::MAX` is an error).
    pub fn read_ints(&self, name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
        let d = self.find(name)?;
        let H5Type::Int {
            size,
            signed,
            big_endian,
        } = d.dtype
        else {
            return Err(bad(format!("`{name}` holds {:?}, not integers", d.dtype)));
        };
        let values = self
            .data(d)
            .chunks_exact(size)
            .map(|c| {
                let byte = |v: u64, &x: &u8| (v << 8) | u64::from(x);
                let raw = if big_endian {
                    c.iter().fold(0u64, byte)
                } else {
                    c.iter().rev().fold(0u64, byte)
                };
                let bits = 8 * size as u32;
                if signed && bits < 64 && raw >> (bits - 1) & 1 == 1 {
                    // Sign-extend.
                    Ok((raw | (u64::MAX << bits)) as i64)
                } else if signed {
                    Ok(raw as i64)
                } else {
                    i64::try_from(raw).map_err(|_| bad(format!("`{name}` holds {raw}")))
                }
            })
            .collect::<Result<Vec<i64>>>()?;
        Ok((d.shape.clone(), values))
    }

    /// Dataset `name`'s fixed-length strings, padding removed.
    pub fn read_strings(&self, name: &str) -> Result<Vec<String>> {
        let d = self.find(name)?;
        let H5Type::Str { size } = d.dtype else {
            return Err(bad(format!("`{name}` holds {:?}, not strings", d.dtype)));
        };
        Ok(self
            .data(d)
            .chunks_exact(size.max(1))
            .map(|c| {
                let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
                String::from_utf8_lossy(&c[..end]).trim_end().to_string()
            })
            .collect())
    }
}

/// The data segment of the local heap at `at`: (start, length).
fn local_heap(at: &At, heap: u64) -> Result<(u64, u64)> {
    if at.slice(heap, 4, "the local heap")? != b"HEAP" {
        return Err(bad(format!("no local heap at {heap}")));
    }
    let size = at.word(heap + 8, "the local heap's size")?;
    let data = at.word(heap + 24, "the local heap's data address")?;
    let len = usize::try_from(size).map_err(|_| bad("a local heap too large"))?;
    at.slice(data, len, "the local heap's data")?;
    Ok((data, size))
}

/// The NUL-terminated name at `offset` in the heap's data.
fn heap_name(at: &At, (start, size): &(u64, u64), offset: u64) -> Result<String> {
    if offset >= *size {
        return Err(bad(format!(
            "a name at heap offset {offset}, past its {size} bytes"
        )));
    }
    let len = usize::try_from(size - offset).map_err(|_| bad("a local heap too large"))?;
    let rest = at.slice(start + offset, len, "a name")?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| bad("a name without its terminating NUL"))?;
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// Collects (name offset, object header address) of every symbol under the group B-tree node
/// at `node`.
fn group_tree(
    at: &At,
    node: u64,
    depth: usize,
    out: &mut Vec<(u64, u64)>,
    seen: &mut HashSet<u64>,
) -> Result<()> {
    if depth > MAX_DEPTH || !seen.insert(node) {
        return Err(bad("the root group's B-tree is too deep or loops"));
    }
    if at.slice(node, 4, "a B-tree node")? != b"TREE" {
        return Err(bad(format!("no B-tree node at {node}")));
    }
    let kind = at.u8(node + 4, "a B-tree node's type")?;
    if kind != 0 {
        return Err(bad(format!("a B-tree node of type {kind} in a group")));
    }
    let level = at.u8(node + 5, "a B-tree node's level")?;
    let used = at.uint(node + 6, 2, "a B-tree node's entries")?;
    // Signature, type, level, entries, two siblings; then key, child, key, ..., key.
    let mut p = node + 8 + 2 * WORD as u64;
    for _ in 0..used {
        let child = at.word(p + WORD as u64, "a B-tree child")?;
        if level > 0 {
            group_tree(at, child, depth + 1, out, seen)?;
        } else {
            symbols(at, child, out)?;
        }
        p += 2 * WORD as u64;
    }
    Ok(())
}

/// The symbol-table node at `node`: (name offset, object header address) of its entries.
fn symbols(at: &At, node: u64, out: &mut Vec<(u64, u64)>) -> Result<()> {
    if at.slice(node, 4, "a symbol-table node")? != b"SNOD" {
        return Err(bad(format!("no symbol-table node at {node}")));
    }
    let n = at.uint(node + 6, 2, "a symbol-table node's count")?;
    for i in 0..n {
        if out.len() >= MAX_SYMBOLS {
            return Err(bad(format!(
                "more than {MAX_SYMBOLS} objects in the root group"
            )));
        }
        // Each entry: name offset, header address, cache type, reserved, scratch-pad (40 bytes).
        let entry = node + 8 + i * 40;
        out.push((
            at.word(entry, "a symbol's name")?,
            at.word(entry + 8, "a symbol's header")?,
        ));
    }
    Ok(())
}

/// The messages of the version-1 object header at `header`: (type, body range).
fn messages(at: &At, header: u64) -> Result<Vec<(u16, u64, usize)>> {
    let version = at.u8(header, "an object header")?;
    if version != 1 {
        return Err(bad(format!(
            "an object header of version {version} (1 is read)"
        )));
    }
    let count = at.uint(header + 2, 2, "an object header's message count")? as usize;
    let size = at.uint(header + 8, 4, "an object header's size")?;
    // The 12-byte prefix is padded to 16.
    let mut blocks = vec![(header + 16, size)];
    let mut out = Vec::new();
    let mut continuations = 0;
    while let Some((start, len)) = blocks.pop() {
        let size = usize::try_from(len).map_err(|_| bad("an object header too large"))?;
        at.slice(start, size, "an object header block")?;
        let end = add(start, len)?;
        let mut p = start;
        while p + 8 <= end && out.len() < count.min(MAX_MESSAGES) {
            let kind = at.uint(p, 2, "a message's type")? as u16;
            let body = at.uint(p + 2, 2, "a message's size")? as usize;
            let data = p + 8;
            if add(data, body as u64)? > end {
                return Err(bad("a header message runs past its block"));
            }
            if kind == 0x10 {
                continuations += 1;
                if continuations > MAX_CONTINUATIONS {
                    return Err(bad("too many header continuation blocks"));
                }
                blocks.push((
                    at.word(data, "a continuation's address")?,
                    at.word(data + WORD as u64, "a continuation's length")?,
                ));
            }
            out.push((kind, data, body));
            p = data + body as u64;
        }
    }
    Ok(out)
}

/// The dataset whose object header is at `header`, or `None` for another kind of object (a
/// group).
fn object(at: &At, header: u64) -> Result<Option<H5Dataset>> {
    let (mut shape, mut dtype, mut data) = (None, None, None);
    for (kind, p, len) in messages(at, header)? {
        match kind {
            0x0001 => shape = Some(dataspace(at, p)?),
            0x0003 => dtype = Some(datatype(at, p)?),
            0x0008 => data = Some(layout(at, p, len)?),
            0x000B => return Err(bad("a filtered (compressed) dataset: not read")),
            _ => {}
        }
    }
    let (Some(shape), Some(dtype), Some(data)) = (shape, dtype, data) else {
        return Ok(None);
    };
    let n = shape
        .iter()
        .try_fold(dtype.size(), |a: usize, &d| a.checked_mul(d))
        .ok_or_else(|| bad("a dataset too large"))?;
    if data.len() != n {
        return Err(bad(format!(
            "a dataset of {shape:?} x {} bytes stored in {} bytes",
            dtype.size(),
            data.len()
        )));
    }
    Ok(Some(H5Dataset { shape, dtype, data }))
}

fn dataspace(at: &At, p: u64) -> Result<Vec<usize>> {
    let version = at.u8(p, "a dataspace")?;
    let rank = usize::from(at.u8(p + 1, "a dataspace's rank")?);
    let dims = match version {
        1 => p + 8,
        2 => p + 4,
        v => return Err(bad(format!("a dataspace message of version {v}"))),
    };
    (0..rank as u64)
        .map(|i| {
            let d = at.word(dims + i * WORD as u64, "a dimension")?;
            usize::try_from(d).map_err(|_| bad("a dimension too large"))
        })
        .collect()
}

fn datatype(at: &At, p: u64) -> Result<H5Type> {
    let class = at.u8(p, "a datatype")? & 0x0f;
    let bits = at.u8(p + 1, "a datatype's bit field")?;
    let size = at.uint(p + 4, 4, "a datatype's size")? as usize;
    match class {
        0 if matches!(size, 1 | 2 | 4 | 8) => Ok(H5Type::Int {
            size,
            signed: bits & 0x08 != 0,
            big_endian: bits & 0x01 != 0,
        }),
        3 if size > 0 => Ok(H5Type::Str { size }),
        c => Err(bad(format!("a datatype of class {c} and {size} bytes"))),
    }
}

/// The bytes a layout message at `p` (`len` bytes) points at.
fn layout(at: &At, p: u64, len: usize) -> Result<Range<usize>> {
    let version = at.u8(p, "a layout")?;
    if version != 3 {
        return Err(bad(format!(
            "a data layout message of version {version} (3 is read)"
        )));
    }
    let (start, size) = match at.u8(p + 1, "a layout's class")? {
        0 => {
            let size = at.uint(p + 2, 2, "a compact dataset's size")?;
            if 4 + size > len as u64 {
                return Err(bad("a compact dataset larger than its message"));
            }
            (p + 4, size)
        }
        1 => (
            at.word(p + 2, "a dataset's address")?,
            at.word(p + 2 + WORD as u64, "a dataset's size")?,
        ),
        c => {
            return Err(bad(format!(
                "a dataset of layout class {c} (chunked): not read"
            )))
        }
    };
    if start == UNDEFINED {
        // Allocated lazily and never written: no data.
        return Ok(0..0);
    }
    let len = usize::try_from(size).map_err(|_| bad("a dataset too large"))?;
    at.slice(start, len, "a dataset's data")?;
    let start = start as usize;
    Ok(start..start + len)
}
