//! Image and patch operations: the 32x32 downscaled image, its mirror, and normalised 6x6x3
//! patches.

use super::{NORM_EPSILON, PATCH, SMALL};
use crate::preprocess::SIDE;

/// A 64x64x3 image (bytes, row-major) averaged over 2x2 blocks into a 32x32x3 `f32` image with
/// values in [0, 1]. Panics if `image` holds fewer than 12288 bytes.
pub fn downscale(image: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0f32; SMALL * SMALL * 3];
    for r in 0..SMALL {
        for c in 0..SMALL {
            for ch in 0..3 {
                let at = |rr: usize, cc: usize| u32::from(image[(rr * SIDE + cc) * 3 + ch]);
                let s = at(2 * r, 2 * c)
                    + at(2 * r, 2 * c + 1)
                    + at(2 * r + 1, 2 * c)
                    + at(2 * r + 1, 2 * c + 1);
                // One rounding: the integer sum (exact) divided once.
                out[(r * SMALL + c) * 3 + ch] = s as f32 / 1020.0;
            }
        }
    }
    out
}

/// The left-right mirror image of a 32x32x3 image.
pub fn mirror(small: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; small.len()];
    for r in 0..SMALL {
        for c in 0..SMALL {
            let (src, dst) = ((r * SMALL + c) * 3, (r * SMALL + SMALL - 1 - c) * 3);
            out[dst..dst + 3].copy_from_slice(&small[src..src + 3]);
        }
    }
    out
}

/// Copies the 6x6x3 patch whose top-left corner is at `(row, col)` of a 32x32x3 image into `out`
/// (108 values, row-major (row, column, channel)) and normalises it ([`normalise_patch`]).
pub fn extract_patch(small: &[f32], row: usize, col: usize, out: &mut [f32]) {
    for dr in 0..PATCH {
        let src = ((row + dr) * SMALL + col) * 3;
        out[dr * PATCH * 3..(dr + 1) * PATCH * 3].copy_from_slice(&small[src..src + PATCH * 3]);
    }
    normalise_patch(out);
}

/// Subtracts the mean of `patch` and divides by `sqrt(variance + 0.01)` (variance over the
/// values, without Bessel's correction), in place.
pub fn normalise_patch(patch: &mut [f32]) {
    let n = patch.len() as f32;
    let mean = patch.iter().sum::<f32>() / n;
    let var = patch.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let scale = 1.0 / (var + NORM_EPSILON).sqrt();
    for v in patch {
        *v = (*v - mean) * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::PATCH_LEN;
    use crate::preprocess::PIXELS;

    #[test]
    fn downscale_averages_2x2_blocks_and_mirror_flips_columns() {
        let mut img = vec![0u8; PIXELS];
        // Block (0, 0), red: 0, 255, 255, 0 -> 510 / 1020 = 0.5.
        img[3] = 255; // (0, 1)
        img[SIDE * 3] = 255; // (1, 0)
                             // Block (0, 1), green: all 255 -> 1.
        for (r, c) in [(0, 2), (0, 3), (1, 2), (1, 3)] {
            img[(r * SIDE + c) * 3 + 1] = 255;
        }
        let small = downscale(&img);
        assert_eq!(small[0], 0.5);
        assert_eq!(small[3 + 1], 1.0);
        assert_eq!(small.iter().filter(|&&v| v != 0.0).count(), 2);
        let m = mirror(&small);
        assert_eq!(m[(SMALL - 1) * 3], 0.5);
        assert_eq!(m[(SMALL - 2) * 3 + 1], 1.0);
        assert_eq!(mirror(&m), small);
    }

    #[test]
    fn patch_normalisation_by_hand() {
        // Alternating 0, 1: mean 0.5, variance 0.25, so each value becomes ±0.5 / sqrt(0.26).
        let mut p: Vec<f32> = (0..PATCH_LEN).map(|i| (i % 2) as f32).collect();
        normalise_patch(&mut p);
        let want = 0.5 / 0.26f32.sqrt();
        for (i, v) in p.iter().enumerate() {
            let w = if i % 2 == 0 { -want } else { want };
            assert!((v - w).abs() < 1e-6, "{i}: {v} vs {w}");
        }
        // A flat patch becomes zero (the +0.01 keeps the division finite).
        let mut flat = vec![0.7f32; PATCH_LEN];
        normalise_patch(&mut flat);
        assert!(flat.iter().all(|&v| v.abs() < 1e-6));
    }
}
