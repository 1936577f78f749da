//! The whole pass: an RGB image -> the last feature map, its global average (the 1280
//! features a classifier learns on), and the ImageNet logits.

use super::pointwise::Epilogue;
use super::resize::to_input;
use super::{
    Backbone, CAT_CLASSES, CLASSES, FEATURES, INPUT_SIDE, MAX_INPUT_SIDE, MIN_INPUT_SIDE,
    STEM_CHANNELS,
};
use crate::{math, Error, Result};

/// One image's features.
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// The global average of [`Features::map`]: [`FEATURES`] values in `0..=6`.
    pub pooled: Vec<f32>,
    /// The head's output before pooling, row-major `[side, side, FEATURES]` (after ReLU6), for
    /// class-activation heat maps.
    pub map: Vec<f32>,
    /// The side of [`Features::map`] (the input side / 32, rounded up).
    pub side: usize,
}

/// Buffers reused from one image to the next, so that extracting many images allocates nothing
/// per layer once they have grown to the largest layer.
#[derive(Default)]
pub struct Scratch {
    input: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    d: Vec<f32>,
}

/// `v` resized to `n` (its values are about to be overwritten).
fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    v.resize(n, 0.0);
    &mut v[..n]
}

impl Backbone {
    /// The features of `rgb` (`side x side` RGB, row-major, 3 bytes a pixel) resized to the
    /// default input side [`INPUT_SIDE`].
    pub fn features(&self, rgb: &[u8], side: usize) -> Result<Features> {
        self.features_with(rgb, side, INPUT_SIDE, &mut Scratch::default())
    }

    /// The features of `rgb` (`side x side` RGB) resized to `input` pixels a side
    /// ([`MIN_INPUT_SIDE`]..=[`MAX_INPUT_SIDE`]), reusing `scratch`.
    pub fn features_with(
        &self,
        rgb: &[u8],
        side: usize,
        input: usize,
        scratch: &mut Scratch,
    ) -> Result<Features> {
        if side == 0 || side.checked_mul(side * 3) != Some(rgb.len()) {
            return Err(Error::Shape(format!(
                "an RGB image of side {side} has {} bytes, not {}",
                side.saturating_mul(side).saturating_mul(3),
                rgb.len()
            )));
        }
        if !(MIN_INPUT_SIDE..=MAX_INPUT_SIDE).contains(&input) {
            return Err(Error::InvalidParameter {
                name: "input side",
                value: input.to_string(),
                expected: "32 to 512 pixels",
            });
        }
        let Scratch {
            input: x,
            a,
            b,
            c,
            d,
        } = scratch;
        to_input(rgb, side, input, x);

        let mut n = self.stem.out_side(input, 2);
        self.stem
            .conv(x, input, input, 2, sized(a, n * n * STEM_CHANNELS));
        for block in &self.blocks {
            let spec = block.spec;
            let mid = spec.mid();
            let rows = n * n;
            // a: the block's input; b: expanded; c: depthwise; d: projected (then swapped).
            let expanded: &[f32] = match &block.expand {
                Some(expand) => {
                    let out = sized(b, rows * mid);
                    expand.apply(a, rows, Epilogue::Relu6, out);
                    out
                }
                None => a,
            };
            let m = block.depthwise.out_side(n, spec.stride);
            let dw = sized(c, m * m * mid);
            block.depthwise.depthwise(expanded, n, n, spec.stride, dw);
            let proj = sized(d, m * m * spec.cout);
            let epilogue = if spec.residual() {
                Epilogue::Residual(a)
            } else {
                Epilogue::Linear
            };
            block.project.apply(dw, m * m, epilogue, proj);
            std::mem::swap(a, d);
            n = m;
        }
        let mut map = vec![0.0f32; n * n * FEATURES];
        self.head.apply(a, n * n, Epilogue::Relu6, &mut map);
        let pooled = average_pool(&map, FEATURES);
        Ok(Features {
            pooled,
            map,
            side: n,
        })
    }

    /// The 1000 ImageNet logits of `pooled` ([`FEATURES`] values; an empty vector otherwise).
    pub fn logits(&self, pooled: &[f32]) -> Vec<f32> {
        if pooled.len() != FEATURES {
            return Vec::new();
        }
        let mut out = vec![0.0f32; CLASSES];
        self.classifier.apply(pooled, 1, Epilogue::Linear, &mut out);
        out
    }
}

/// The mean over positions of a row-major `[positions, channels]` map: each channel summed in
/// position order (in `f32`), then divided by the count.
pub fn average_pool(map: &[f32], channels: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; channels];
    let mut count = 0usize;
    for row in map.chunks_exact(channels.max(1)) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += v;
        }
        count += 1;
    }
    let count = count.max(1) as f32;
    sum.iter_mut().for_each(|s| *s /= count);
    sum
}

/// The probability of a domestic cat: the softmax of `logits` summed over [`CAT_CLASSES`], in
/// `f64` (the exponentials summed in class order). 0 when `logits` is not [`CLASSES`] long.
pub fn cat_probability(logits: &[f32]) -> f64 {
    if logits.len() != CLASSES {
        return 0.0;
    }
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
    let mut total = 0.0f64;
    let mut cats = 0.0f64;
    for (i, &l) in logits.iter().enumerate() {
        let e = math::exp(f64::from(l) - max);
        total += e;
        if CAT_CLASSES.contains(&i) {
            cats += e;
        }
    }
    cats / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_pool_sums_in_position_order() {
        let map = [1.0, 2.0, 3.0, 4.0, 5.0, 9.0];
        assert_eq!(average_pool(&map, 2), [3.0, 5.0]);
    }

    #[test]
    fn cat_probability_is_the_softmax_mass_of_the_cat_classes() {
        // All logits equal: 5 of 1000 classes.
        assert!((cat_probability(&[0.5; CLASSES]) - 0.005).abs() < 1e-15);
        // One dominant cat logit.
        let mut l = vec![0.0f32; CLASSES];
        l[283] = 50.0;
        assert!(cat_probability(&l) > 0.999_999);
        assert_eq!(cat_probability(&[1.0; 3]), 0.0);
    }
}
