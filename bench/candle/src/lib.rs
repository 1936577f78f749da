//! EfficientNet-Lite0 with candle (`candle-core` + `candle-nn`), from a `backbone.safetensors`
//! in Purrceptron's format (version 1: int8 weights, output channel last, f32 scale and folded
//! bias per output channel). See README.md.

pub mod run;
#[cfg(target_arch = "wasm32")]
mod wasm;

use candle_core::{Device, Module, Tensor};
use safetensors::{Dtype, SafeTensors};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// (kernel, stride, expand ratio, cin, cout) of the 16 blocks (backbone-format.md).
const BLOCKS: [(usize, usize, usize, usize, usize); 16] = [
    (3, 1, 1, 32, 16),
    (3, 2, 6, 16, 24),
    (3, 1, 6, 24, 24),
    (5, 2, 6, 24, 40),
    (5, 1, 6, 40, 40),
    (3, 2, 6, 40, 80),
    (3, 1, 6, 80, 80),
    (3, 1, 6, 80, 80),
    (5, 1, 6, 80, 112),
    (5, 1, 6, 112, 112),
    (5, 1, 6, 112, 112),
    (5, 2, 6, 112, 192),
    (5, 1, 6, 192, 192),
    (5, 1, 6, 192, 192),
    (5, 1, 6, 192, 192),
    (3, 1, 6, 192, 320),
];

/// Multiply-adds of one image at 128 px (backbone.md), for GFLOP/s.
pub const MULTIPLY_ADDS_128: f64 = 125e6;

#[derive(Clone, Copy, PartialEq)]
pub enum Depthwise {
    /// `conv2d` with `groups = channels` (candle splits it into one convolution per channel).
    Groups,
    /// A sum of `k * k` shifted slices times per-channel weights (tensor ops only).
    Shifts,
}

/// One convolution: OIHW weights (for depthwise also the `[1, C, 1, 1]` per-tap weights of the
/// shifts form), bias `[1, C, 1, 1]`, kernel and stride.
struct Conv {
    weight: Tensor,
    taps: Vec<Tensor>,
    bias: Tensor,
    k: usize,
    stride: usize,
    groups: usize,
}

/// TF "SAME": (before, after) padding of one axis of `size` pixels.
fn same_pad(size: usize, k: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + k).saturating_sub(size);
    (total / 2, total - total / 2)
}

impl Conv {
    fn forward(&self, x: &Tensor, depthwise: Depthwise) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let (top, bottom) = same_pad(h, self.k, self.stride);
        let (left, right) = same_pad(w, self.k, self.stride);
        let y = if self.groups > 1 && depthwise == Depthwise::Shifts {
            let x = x
                .pad_with_zeros(2, top, bottom)?
                .pad_with_zeros(3, left, right)?;
            let (oh, ow) = (h.div_ceil(self.stride), w.div_ceil(self.stride));
            let mut acc: Option<Tensor> = None;
            for dy in 0..self.k {
                for dx in 0..self.k {
                    let mut s = x.narrow(2, dy, (oh - 1) * self.stride + 1)?;
                    s = s.narrow(3, dx, (ow - 1) * self.stride + 1)?;
                    if self.stride > 1 {
                        // Every stride-th row and column.
                        let (n, c, sh, sw) = s.dims4()?;
                        s = s
                            .pad_with_zeros(2, 0, self.stride - 1)?
                            .pad_with_zeros(3, 0, self.stride - 1)?
                            .reshape((
                                n,
                                c,
                                (sh + self.stride - 1) / self.stride,
                                self.stride,
                                (sw + self.stride - 1) / self.stride,
                                self.stride,
                            ))?
                            .narrow(3, 0, 1)?
                            .narrow(5, 0, 1)?
                            .reshape((n, c, oh, ow))?;
                    }
                    let term = s.broadcast_mul(&self.taps[dy * self.k + dx])?;
                    acc = Some(match acc {
                        None => term,
                        Some(a) => (a + term)?,
                    });
                }
            }
            acc.ok_or("empty kernel")?
        } else if top == bottom && left == right {
            x.conv2d(&self.weight, top, self.stride, 1, self.groups)?
        } else {
            let x = x
                .pad_with_zeros(2, top, bottom)?
                .pad_with_zeros(3, left, right)?;
            x.conv2d(&self.weight, 0, self.stride, 1, self.groups)?
        };
        Ok(y.broadcast_add(&self.bias)?)
    }
}

fn relu6(x: &Tensor) -> Result<Tensor> {
    Ok(x.clamp(0f32, 6f32)?)
}

pub struct Net {
    stem: Conv,
    blocks: Vec<(Option<Conv>, Conv, Conv, bool)>,
    head: Conv,
    classifier: candle_nn::Linear,
}

/// The f32 weights `q * scale[c]` of tensor `name` (c = last index) and its shape.
fn dequantised(st: &SafeTensors, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let w = st.tensor(&format!("{name}.weight"))?;
    if w.dtype() != Dtype::I8 {
        return Err(format!("{name}.weight is {:?}, not I8", w.dtype()).into());
    }
    let scale = f32s(st, &format!("{name}.scale"))?;
    let cout = *w.shape().last().ok_or("scalar weight")?;
    if scale.len() != cout {
        return Err(format!(
            "{name}.scale has {} values for {cout} channels",
            scale.len()
        )
        .into());
    }
    let values = w
        .data()
        .iter()
        .enumerate()
        .map(|(i, &q)| f32::from(q as i8) * scale[i % cout])
        .collect();
    Ok((values, w.shape().to_vec()))
}

fn f32s(st: &SafeTensors, name: &str) -> Result<Vec<f32>> {
    let t = st.tensor(name)?;
    if t.dtype() != Dtype::F32 {
        return Err(format!("{name} is {:?}, not F32", t.dtype()).into());
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// A conv layer `name` whose stored layout is `[..., cin_per_group, cout]` with spatial dims
/// first (`[kh, kw, cin, cout]`, `[cin, cout]` for 1x1, `[kh, kw, c]` for depthwise).
fn conv(
    st: &SafeTensors,
    name: &str,
    stride: usize,
    depthwise: bool,
    dev: &Device,
) -> Result<Conv> {
    let (w, shape) = dequantised(st, name)?;
    let (k, cin, cout) = match (shape.as_slice(), depthwise) {
        (&[kh, kw, c], true) if kh == kw => (kh, 1, c),
        (&[kh, kw, cin, cout], false) if kh == kw => (kh, cin, cout),
        (&[cin, cout], false) => (1, cin, cout),
        _ => return Err(format!("{name}: unexpected shape {shape:?}").into()),
    };
    // [kh, kw, cin, cout] -> OIHW [cout, cin, kh, kw].
    let hwio = Tensor::from_vec(w, (k, k, cin, cout), dev)?;
    let weight = hwio.permute((3, 2, 0, 1))?.contiguous()?;
    let taps = if depthwise {
        (0..k * k)
            .map(|t| {
                hwio.reshape((k * k, cout))?
                    .narrow(0, t, 1)?
                    .reshape((1, cout, 1, 1))
            })
            .collect::<candle_core::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    let bias = Tensor::from_vec(f32s(st, &format!("{name}.bias"))?, (1, cout, 1, 1), dev)?;
    Ok(Conv {
        weight,
        taps,
        bias,
        k,
        stride,
        groups: if depthwise { cout } else { 1 },
    })
}

impl Net {
    pub fn load(bytes: &[u8], dev: &Device) -> Result<Net> {
        let st = SafeTensors::deserialize(bytes)?;
        let stem = conv(&st, "stem", 2, false, dev)?;
        let mut blocks = Vec::new();
        for (i, &(_, stride, expand, cin, cout)) in BLOCKS.iter().enumerate() {
            let expand = (expand != 1)
                .then(|| conv(&st, &format!("blocks.{i}.expand"), 1, false, dev))
                .transpose()?;
            let dw = conv(&st, &format!("blocks.{i}.depthwise"), stride, true, dev)?;
            let project = conv(&st, &format!("blocks.{i}.project"), 1, false, dev)?;
            blocks.push((expand, dw, project, stride == 1 && cin == cout));
        }
        let head = conv(&st, "head", 1, false, dev)?;
        let (w, shape) = dequantised(&st, "classifier")?;
        // [in, out] -> candle_nn::Linear's [out, in].
        let weight = Tensor::from_vec(w, (shape[0], shape[1]), dev)?
            .t()?
            .contiguous()?;
        let bias = Tensor::from_vec(f32s(&st, "classifier.bias")?, shape[1], dev)?;
        Ok(Net {
            stem,
            blocks,
            head,
            classifier: candle_nn::Linear::new(weight, Some(bias)),
        })
    }

    /// `x`: NCHW f32 `(v - 127) / 128`. Returns the pooled features `[N, 1280]`.
    pub fn features(&self, x: &Tensor, dw: Depthwise) -> Result<Tensor> {
        let mut x = relu6(&self.stem.forward(x, dw)?)?;
        for (expand, depthwise, project, residual) in &self.blocks {
            let input = x.clone();
            if let Some(e) = expand {
                x = relu6(&e.forward(&x, dw)?)?;
            }
            x = relu6(&depthwise.forward(&x, dw)?)?;
            x = project.forward(&x, dw)?;
            if *residual {
                x = (x + input)?;
            }
        }
        let x = relu6(&self.head.forward(&x, dw)?)?;
        Ok(x.mean((2, 3))?)
    }

    pub fn logits(&self, features: &Tensor) -> Result<Tensor> {
        Ok(self.classifier.forward(features)?)
    }
}

/// Synthetic image `k` (HWC u8): `(7x + 13y + 29c + 31k) mod 256`.
pub fn synthetic(k: usize, side: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            for c in 0..3 {
                v.push(((7 * x + 13 * y + 29 * c + 31 * k) % 256) as u8);
            }
        }
    }
    v
}

/// HWC u8 images -> NCHW f32 `(v - 127) / 128`.
pub fn batch(images: &[Vec<u8>], side: usize, dev: &Device) -> Result<Tensor> {
    let data: Vec<f32> = images
        .iter()
        .flatten()
        .map(|&v| (f32::from(v) - 127.0) / 128.0)
        .collect();
    let nhwc = Tensor::from_vec(data, (images.len(), side, side, 3), dev)?;
    Ok(nhwc.permute((0, 3, 1, 2))?.contiguous()?)
}

pub fn name(dw: Depthwise) -> &'static str {
    match dw {
        Depthwise::Groups => "depthwise=groups",
        Depthwise::Shifts => "depthwise=shifts",
    }
}
