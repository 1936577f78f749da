//! The pretrained backbone, EfficientNet-Lite0 (batch norm folded, weights int8 per output
//! channel): a photo's 1280 pooled features, its last feature map (for heat maps) and the 1000
//! ImageNet logits. The file format is backbone.safetensors version 1 (see [`load`]).
//!
//! - [`load`]: parsing and checking a backbone file against the block table below.
//! - [`pointwise`], [`spatial`]: the 1x1 convolutions (matrix products) and the stem and
//!   depthwise convolutions, NHWC `f32`, each summed in a documented fixed order with SIMD lanes
//!   across output channels only, so native and wasm builds give the same bits.
//! - [`resize`]: the RGB `u8` image to the network's input (bilinear, half-pixel centres).
//! - [`forward`]: the whole pass, with a reusable [`Scratch`].
//! - [`imagenet`]: the classification with no training: ImageNet's cat classes, a heat map.
//! - [`bench`]: timing the pass and its layers, for the benchmarks.

pub mod bench;
pub mod forward;
pub mod imagenet;
pub mod load;
pub mod pointwise;
pub mod resize;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
pub mod spatial;

pub use forward::{Features, Scratch};

use pointwise::Pointwise;
use spatial::Spatial;

/// One inverted-residual block: optional 1x1 expansion (`cin -> cin * expand`, ReLU6), a
/// `kernel x kernel` depthwise convolution of `stride` (ReLU6), a 1x1 projection to `cout`
/// (no activation), plus the input when `stride == 1 && cin == cout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSpec {
    pub kernel: usize,
    pub stride: usize,
    pub expand: usize,
    pub cin: usize,
    pub cout: usize,
}

impl BlockSpec {
    /// Channels inside the block (after the expansion).
    pub const fn mid(&self) -> usize {
        self.cin * self.expand
    }

    /// Whether the block adds its input to its output.
    pub const fn residual(&self) -> bool {
        self.stride == 1 && self.cin == self.cout
    }
}

const fn b(kernel: usize, stride: usize, expand: usize, cin: usize, cout: usize) -> BlockSpec {
    BlockSpec {
        kernel,
        stride,
        expand,
        cin,
        cout,
    }
}

/// EfficientNet-Lite0's 16 blocks (checked against the tensor shapes of the .pth).
pub const BLOCKS: [BlockSpec; 16] = [
    b(3, 1, 1, 32, 16),
    b(3, 2, 6, 16, 24),
    b(3, 1, 6, 24, 24),
    b(5, 2, 6, 24, 40),
    b(5, 1, 6, 40, 40),
    b(3, 2, 6, 40, 80),
    b(3, 1, 6, 80, 80),
    b(3, 1, 6, 80, 80),
    b(5, 1, 6, 80, 112),
    b(5, 1, 6, 112, 112),
    b(5, 1, 6, 112, 112),
    b(5, 2, 6, 112, 192),
    b(5, 1, 6, 192, 192),
    b(5, 1, 6, 192, 192),
    b(5, 1, 6, 192, 192),
    b(3, 1, 6, 192, 320),
];

/// Channels out of the stem (3x3, stride 2, from RGB).
pub const STEM_CHANNELS: usize = 32;
/// Pooled features per image (the head's channels).
pub const FEATURES: usize = 1280;
/// ImageNet classes of the classifier.
pub const CLASSES: usize = 1000;
/// ImageNet's domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian).
pub const CAT_CLASSES: std::ops::RangeInclusive<usize> = 281..=285;
/// The network's input side by default, in pixels (catvnoncat's 64 px images are resized up).
pub const INPUT_SIDE: usize = 128;
/// The smallest and largest input sides accepted (224 is the network's native size).
pub const MIN_INPUT_SIDE: usize = 32;
pub const MAX_INPUT_SIDE: usize = 512;

/// The weights of one block.
pub(crate) struct Block {
    pub spec: BlockSpec,
    pub expand: Option<Pointwise>,
    pub depthwise: Spatial,
    pub project: Pointwise,
}

/// A loaded backbone: dequantised `f32` weights laid out for the kernels.
pub struct Backbone {
    pub(crate) stem: Spatial,
    pub(crate) blocks: Vec<Block>,
    pub(crate) head: Pointwise,
    pub(crate) classifier: Pointwise,
    sha256: String,
}

impl Backbone {
    /// Hex sha256 of the whole backbone file: the identity a model file records.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// ReLU6, `min(max(x, 0), 6)`, written with comparisons so that every target gives the same
/// bits (NaN and -0 become +0).
#[inline(always)]
pub(crate) fn relu6(x: f32) -> f32 {
    let x = if x > 0.0 { x } else { 0.0 };
    if x < 6.0 {
        x
    } else {
        6.0
    }
}

/// TF "SAME" padding of one axis: `(out, pad_before)` for input `n`, kernel `k`, stride `s`.
pub(crate) fn same_padding(n: usize, k: usize, s: usize) -> (usize, usize) {
    let out = n.div_ceil(s);
    let total = ((out - 1) * s + k).saturating_sub(n);
    (out, total / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_smaller_half_first() {
        // Worked by hand from out = ceil(n / s), total = max((out - 1) s + k - n, 0).
        assert_eq!(same_padding(128, 3, 2), (64, 0)); // total 1: 0 before, 1 after
        assert_eq!(same_padding(7, 3, 2), (4, 1)); // total 2
        assert_eq!(same_padding(16, 5, 2), (8, 1)); // total 3
        assert_eq!(same_padding(8, 5, 1), (8, 2));
        assert_eq!(same_padding(1, 3, 1), (1, 1));
    }

    #[test]
    fn relu6_clamps_and_maps_nan_to_zero() {
        assert_eq!(relu6(-1.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(relu6(-0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(relu6(f32::NAN).to_bits(), 0.0f32.to_bits());
        assert_eq!(relu6(2.5), 2.5);
        assert_eq!(relu6(6.5), 6.0);
    }

    #[test]
    fn the_block_table_chains() {
        let mut c = STEM_CHANNELS;
        for spec in BLOCKS {
            assert_eq!(spec.cin, c);
            assert_eq!(spec.expand == 1, spec.cin == STEM_CHANNELS);
            c = spec.cout;
        }
        assert_eq!(c, 320);
    }
}
