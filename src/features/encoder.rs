//! The encoder: the whitening folded into the filters, a soft threshold, and pooling over the
//! four quadrants of the patch grid.

use super::{extract_patch, Whitening, HALF, PATCH_LEN, POSITIONS, THRESHOLD};
use crate::kernels::matmul_f32;

/// Filters with the whitening folded in: from a normalised patch `p` (108 values) the response
/// of filter `f` is `z_f = p·W[:, f] - bias[f]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoder {
    k: usize,
    /// `108 x k`, row-major.
    w: Vec<f32>,
    bias: Vec<f32>,
}

impl Encoder {
    /// `W = Wz Dᵀ` and `bias = mean·W`, computed in `f64` then rounded once to `f32`.
    pub fn new(whitening: &Whitening, dict: &[f64]) -> Self {
        let d = PATCH_LEN;
        let k = dict.len() / d;
        let mut w64 = vec![0.0f64; d * k];
        for i in 0..d {
            for f in 0..k {
                w64[i * k + f] = (0..d)
                    .map(|j| whitening.matrix[i * d + j] * dict[f * d + j])
                    .sum();
            }
        }
        let bias = (0..k)
            .map(|f| {
                (0..d)
                    .map(|i| whitening.mean[i] * w64[i * k + f])
                    .sum::<f64>() as f32
            })
            .collect();
        Encoder {
            k,
            w: w64.iter().map(|&v| v as f32).collect(),
            bias,
        }
    }

    /// Number of filters.
    pub fn filters(&self) -> usize {
        self.k
    }

    /// True when every weight and bias is finite (a model file's whitening and filters may
    /// fold into values beyond `f32`).
    pub(crate) fn is_finite(&self) -> bool {
        self.w.iter().chain(&self.bias).all(|v| v.is_finite())
    }

    /// Features of a 32x32x3 image: `[quadrant][sign][filter]` with quadrants in row-major order
    /// (top-left, top-right, bottom-left, bottom-right), sign 0 = `max(0, z - 0.25)` and
    /// 1 = `max(0, -z - 0.25)`, each the mean over the quadrant's positions. `8k` values.
    pub fn encode(&self, small: &[f32]) -> Vec<f32> {
        let k = self.k;
        let npos = POSITIONS * POSITIONS;
        let mut patches = vec![0.0f32; npos * PATCH_LEN];
        for r in 0..POSITIONS {
            for c in 0..POSITIONS {
                let at = (r * POSITIONS + c) * PATCH_LEN;
                extract_patch(small, r, c, &mut patches[at..at + PATCH_LEN]);
            }
        }
        let mut z = vec![0.0f32; npos * k];
        matmul_f32(&patches, &self.w, &mut z, npos, PATCH_LEN, k);
        let mut sums = vec![0.0f32; 8 * k];
        for r in 0..POSITIONS {
            for c in 0..POSITIONS {
                let q = 2 * usize::from(r >= HALF) + usize::from(c >= HALF);
                let row = &z[(r * POSITIONS + c) * k..(r * POSITIONS + c + 1) * k];
                let (pos, neg) = sums[q * 2 * k..(q + 1) * 2 * k].split_at_mut(k);
                for f in 0..k {
                    let v = row[f] - self.bias[f];
                    pos[f] += (v - THRESHOLD).max(0.0);
                    neg[f] += (-v - THRESHOLD).max(0.0);
                }
            }
        }
        for q in 0..4 {
            let rows = if q < 2 { HALF } else { POSITIONS - HALF };
            let cols = if q % 2 == 0 { HALF } else { POSITIONS - HALF };
            let count = (rows * cols) as f32;
            for v in &mut sums[q * 2 * k..(q + 1) * 2 * k] {
                *v /= count;
            }
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::kmeans::normalise_rows;
    use crate::features::{downscale, PATCH, SMALL};
    use crate::preprocess::PIXELS;
    use crate::rng::Mt19937;

    /// Identity whitening with mean `mean`, and the first `k` unit vectors as filters.
    fn simple_encoder(mean: Vec<f64>, k: usize) -> Encoder {
        let mut matrix = vec![0.0; PATCH_LEN * PATCH_LEN];
        for i in 0..PATCH_LEN {
            matrix[i * PATCH_LEN + i] = 1.0;
        }
        let mut dict = vec![0.0; k * PATCH_LEN];
        for f in 0..k {
            dict[f * PATCH_LEN + f] = 1.0;
        }
        Encoder::new(&Whitening { mean, matrix }, &dict)
    }

    #[test]
    fn encoding_a_flat_image_by_hand() {
        // Every patch of a flat image normalises to zero, so z = -bias = -mean·d_f everywhere:
        // with mean_0 = 1 and mean_1 = -0.5, z = (-1, 0.5): positive parts (0, 0.25), negative
        // parts (0.75, 0), the same in every quadrant.
        let mut mean = vec![0.0; PATCH_LEN];
        mean[0] = 1.0;
        mean[1] = -0.5;
        let enc = simple_encoder(mean, 2);
        let f = enc.encode(&vec![0.3f32; SMALL * SMALL * 3]);
        assert_eq!(f.len(), 16);
        for q in 0..4 {
            // Means of ~190 f32 terms: equal up to f32 rounding.
            for (g, w) in f[q * 4..q * 4 + 4].iter().zip([0.0, 0.25, 0.75, 0.0]) {
                assert!(
                    (g - w).abs() < 1e-5,
                    "quadrant {q}: {:?}",
                    &f[q * 4..q * 4 + 4]
                );
            }
        }
    }

    #[test]
    fn encoding_matches_a_direct_f64_computation() {
        // Random whitening and filters; the reference computes every position's whitened patch
        // and its dot with each filter in f64, without folding, then thresholds and pools.
        let mut rng = Mt19937::new(3);
        let mut r = |s: f64| (rng.next_f64() - 0.5) * s;
        let k = 9;
        let mean: Vec<f64> = (0..PATCH_LEN).map(|_| r(0.2)).collect();
        let matrix: Vec<f64> = (0..PATCH_LEN * PATCH_LEN).map(|_| r(0.3)).collect();
        let mut dict: Vec<f64> = (0..k * PATCH_LEN).map(|_| r(1.0)).collect();
        normalise_rows(&mut dict, PATCH_LEN, None);
        let whitening = Whitening { mean, matrix };
        let enc = Encoder::new(&whitening, &dict);
        let img: Vec<u8> = (0..PIXELS).map(|i| ((i * 7919) % 251) as u8).collect();
        let small = downscale(&img);
        let got = enc.encode(&small);

        let mut want = vec![0.0f64; 8 * k];
        for row in 0..POSITIONS {
            for col in 0..POSITIONS {
                let mut p = vec![0.0f64; PATCH_LEN];
                for dr in 0..PATCH {
                    for j in 0..PATCH * 3 {
                        p[dr * PATCH * 3 + j] =
                            f64::from(small[((row + dr) * SMALL + col) * 3 + j]);
                    }
                }
                let mu = p.iter().sum::<f64>() / PATCH_LEN as f64;
                let var = p.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / PATCH_LEN as f64;
                let n: Vec<f64> = p.iter().map(|v| (v - mu) / (var + 0.01).sqrt()).collect();
                let centred: Vec<f64> = n.iter().zip(&whitening.mean).map(|(a, b)| a - b).collect();
                let white: Vec<f64> = (0..PATCH_LEN)
                    .map(|j| {
                        (0..PATCH_LEN)
                            .map(|i| centred[i] * whitening.matrix[i * PATCH_LEN + j])
                            .sum()
                    })
                    .collect();
                let q = 2 * usize::from(row >= 14) + usize::from(col >= 14);
                let count = [196.0, 182.0, 182.0, 169.0][q];
                for f in 0..k {
                    let z: f64 = (0..PATCH_LEN)
                        .map(|j| white[j] * dict[f * PATCH_LEN + j])
                        .sum();
                    want[q * 2 * k + f] += (z - 0.25).max(0.0) / count;
                    want[q * 2 * k + k + f] += (-z - 0.25).max(0.0) / count;
                }
            }
        }
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            scale > 0.1,
            "a test whose features are all ~0 would check little"
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(*g) - w).abs() < 1e-4 * scale,
                "feature {i}: {g} vs {w}"
            );
        }
    }
}
