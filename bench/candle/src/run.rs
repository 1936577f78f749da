//! What the native binary and the wasm module both run: the features of one image, and the
//! forward pass over many images in batches.

use candle_core::{Device, D};

use crate::{batch, name, Depthwise, Net, Result};

/// One line: the first 8 pooled features of `image` (HWC u8, `side` a side), their sum and the
/// top ImageNet class.
pub fn first_features(net: &Net, image: &[u8], side: usize, dw: Depthwise) -> Result<String> {
    let dev = Device::Cpu;
    let f = net.features(&batch(&[image.to_vec()], side, &dev)?, dw)?;
    let values: Vec<f32> = f.flatten_all()?.to_vec1()?;
    let logits: Vec<f32> = net.logits(&f)?.flatten_all()?.to_vec1()?;
    let top = logits
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
    Ok(format!(
        "{} features[0..8] {:?} sum {:.6} | logits argmax {} ({:.4})",
        name(dw),
        values.get(..8).unwrap_or(&values),
        values.iter().map(|&v| f64::from(v)).sum::<f64>(),
        top.0,
        top.1
    ))
}

/// The pooled features of every image, `batch_size` at a time (each result read back, so that
/// nothing is left undone). Returns the number of images.
pub fn features_in_batches(
    net: &Net,
    images: &[Vec<u8>],
    side: usize,
    batch_size: usize,
    dw: Depthwise,
) -> Result<usize> {
    let dev = Device::Cpu;
    let mut done = 0;
    for chunk in images.chunks(batch_size.max(1)) {
        let f = net.features(&batch(chunk, side, &dev)?, dw)?;
        let _ = f.sum(D::Minus1)?.to_vec1::<f32>()?;
        done += chunk.len();
    }
    Ok(done)
}
