//! Folding batch-norm into a convolution and quantising its weights to int8, exactly as the
//! backbone file's format says (all in f64 from the stored f32 values; an independent numpy
//! implementation gives the same bytes).

/// Batch-norm epsilon of EfficientNet-Lite (TensorFlow's default for it).
pub const BN_EPS: f64 = 1e-3;

/// A batch-norm layer's four vectors, one value per channel.
pub struct BatchNorm<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub mean: &'a [f32],
    pub var: &'a [f32],
}

/// Folds `bn` into `weights` (`[cout][rest]`, output channel outermost): each channel's weights
/// are multiplied by `s = gamma / sqrt(var + 1e-3)`; returns the folded weights and the bias
/// `beta - mean * s`. The four vectors must have `cout` values and `weights` a multiple of
/// `cout` (the caller checked the shapes).
pub fn fold_batch_norm(weights: &[f32], cout: usize, bn: &BatchNorm) -> (Vec<f64>, Vec<f64>) {
    let per = weights.len() / cout.max(1);
    let mut folded = Vec::with_capacity(weights.len());
    let mut bias = Vec::with_capacity(cout);
    for c in 0..cout {
        let s = f64::from(bn.gamma[c]) / (f64::from(bn.var[c]) + BN_EPS).sqrt();
        folded.extend(
            weights[c * per..(c + 1) * per]
                .iter()
                .map(|&w| f64::from(w) * s),
        );
        bias.push(f64::from(bn.beta[c]) - f64::from(bn.mean[c]) * s);
    }
    (folded, bias)
}

/// Symmetric int8 quantisation per output channel of `weights` (`[cout][rest]`):
/// `scale = max|w| / 127` (1 when the channel is all zeros), `q = round(w / scale)` (half away
/// from zero) clamped to [-127, 127]. Returns `q` in the same layout and the scales.
pub fn quantise(weights: &[f64], cout: usize) -> (Vec<i8>, Vec<f64>) {
    let per = weights.len() / cout.max(1);
    let mut q = Vec::with_capacity(weights.len());
    let mut scales = Vec::with_capacity(cout);
    for c in 0..cout {
        let channel = &weights[c * per..(c + 1) * per];
        let m = channel.iter().fold(0.0f64, |m, w| m.max(w.abs()));
        let scale = if m == 0.0 { 1.0 } else { m / 127.0 };
        // `as i8` saturates; the clamp makes the documented range explicit.
        q.extend(
            channel
                .iter()
                .map(|&w| (w / scale).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(scale);
    }
    (q, scales)
}

/// Reorders `[cout][cin][kh][kw]` (torch's OIHW) into `[kh][kw][cin][cout]`, output channel
/// last so that SIMD lanes run across output channels. With `kh = kw = 1` this is `[cin][cout]`;
/// with `cin = 1` (a depthwise conv) `[kh][kw][c]`.
pub fn oihw_to_hwio<T: Copy>(w: &[T], dims: [usize; 4]) -> Vec<T> {
    let [o, i, h, k] = dims;
    let mut out = Vec::with_capacity(w.len());
    for y in 0..h {
        for x in 0..k {
            for ci in 0..i {
                for co in 0..o {
                    out.push(w[((co * i + ci) * h + y) * k + x]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: gamma 2, var 3 - 1e-3 (so s = 2 / sqrt(3) = 1.1547005383792515, to the
    /// f32 rounding of var), mean 1, beta 0.5; the weights 1, -1/2, 1/4 scale exactly.
    #[test]
    fn folds_a_hand_worked_channel() {
        let bn = BatchNorm {
            gamma: &[2.0, 0.0],
            beta: &[0.5, -1.5],
            mean: &[1.0, 4.0],
            var: &[(3.0f64 - 1e-3) as f32, 1.0],
        };
        let (folded, bias) = fold_batch_norm(&[1.0, -0.5, 0.25, 7.0, 8.0, 9.0], 2, &bn);
        let s = folded[0];
        assert!((s - 1.154_700_538_379_251_5).abs() < 1e-7, "s = {s}");
        assert_eq!(folded[1..3], [-0.5 * s, 0.25 * s]);
        assert!((bias[0] - (0.5 - 1.154_700_538_379_251_5)).abs() < 1e-7);
        // gamma 0 zeroes the channel; its bias is beta.
        assert_eq!(folded[3..], [0.0, 0.0, 0.0]);
        assert_eq!(bias[1], -1.5);
    }

    /// Worked by hand: channel 0 has max |w| 127 (scale 1), channel 1 max 254 (scale 2),
    /// channel 2 is all zeros (scale 1). Halves round away from zero (0.5 -> 1, 2.5 -> 3, where
    /// rounding half to even would give 0 and 2).
    #[test]
    fn quantises_a_hand_worked_case() {
        let w = [
            127.0, -63.5, 31.75, 0.5, -0.5, //
            -254.0, 3.0, 5.0, -0.9, 253.0, //
            0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        let (q, scales) = quantise(&w, 3);
        assert_eq!(scales, vec![1.0, 2.0, 1.0]);
        assert_eq!(
            q,
            vec![127, -64, 32, 1, -1, -127, 2, 3, 0, 127, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn reorders_output_channel_last() {
        // O=2, I=1, H=1, W=2: torch [[[[a, b]]], [[[c, d]]]] -> [w][o] = a c b d.
        assert_eq!(oihw_to_hwio(&[1, 2, 3, 4], [2, 1, 1, 2]), vec![1, 3, 2, 4]);
        // 1x1: [O=2][I=3] -> [I][O].
        assert_eq!(
            oihw_to_hwio(&[1, 2, 3, 4, 5, 6], [2, 3, 1, 1]),
            vec![1, 4, 2, 5, 3, 6]
        );
    }
}
