//! The convolutions with a spatial kernel, NHWC `f32`, TF "SAME" padding, each followed by
//! `+ bias` and ReLU6: the stem (`3x3`, stride 2, 3 -> 32 channels) and the depthwise `k x k`
//! convolutions (stride 1 or 2, one filter per channel).
//!
//! Every output channel is summed from 0 over the kernel taps in row-major order (`dy`, then
//! `dx`, then for the stem the input channel), taps outside the image skipped (they are zeros:
//! adding `+-0` to a sum leaves it unchanged, so skipping gives the same bits), then `+ bias`,
//! then ReLU6. No fused multiply-add; vector lanes run across output channels only.

use super::{relu6, same_padding};

/// A spatial convolution's weights `[k, k, cin, cout]` (`cin` = 1 for a depthwise one, whose
/// `cout` is its channel count) and bias `[cout]`.
pub struct Spatial {
    k: usize,
    cin: usize,
    cout: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Spatial {
    /// `weight` is `[k, k, cin, cout]` row-major and `bias` `[cout]` (the caller checked both).
    pub fn new(k: usize, cin: usize, cout: usize, weight: Vec<f32>, bias: Vec<f32>) -> Spatial {
        Spatial {
            k,
            cin,
            cout,
            weight,
            bias,
        }
    }

    /// The output side for an input side `n` at `stride`.
    pub fn out_side(&self, n: usize, stride: usize) -> usize {
        same_padding(n, self.k, stride).0
    }

    /// The full convolution (the stem): `x` `[h, w, cin]` -> `out` `[oh, ow, cout]`.
    /// Nothing is written when a slice is too short.
    pub fn conv(&self, x: &[f32], h: usize, w: usize, stride: usize, out: &mut [f32]) {
        let (k, cin, cout) = (self.k, self.cin, self.cout);
        let (oh, pt) = same_padding(h, k, stride);
        let (ow, pl) = same_padding(w, k, stride);
        if x.len() < h * w * cin
            || out.len() < oh * ow * cout
            || self.weight.len() < k * k * cin * cout
        {
            return;
        }
        let mut acc = vec![0.0f32; cout];
        for oy in 0..oh {
            for ox in 0..ow {
                acc.fill(0.0);
                for dy in 0..k {
                    let Some(iy) = (oy * stride + dy).checked_sub(pt).filter(|&v| v < h) else {
                        continue;
                    };
                    for dx in 0..k {
                        let Some(ix) = (ox * stride + dx).checked_sub(pl).filter(|&v| v < w) else {
                            continue;
                        };
                        let px = &x[(iy * w + ix) * cin..(iy * w + ix + 1) * cin];
                        let taps = &self.weight[(dy * k + dx) * cin * cout..][..cin * cout];
                        for (&v, wc) in px.iter().zip(taps.chunks_exact(cout)) {
                            for (a, &wv) in acc.iter_mut().zip(wc) {
                                *a += v * wv;
                            }
                        }
                    }
                }
                let dst = &mut out[(oy * ow + ox) * cout..(oy * ow + ox + 1) * cout];
                for ((d, &a), &b) in dst.iter_mut().zip(&acc).zip(&self.bias) {
                    *d = relu6(a + b);
                }
            }
        }
    }

    /// The depthwise convolution: `x` `[h, w, c]` -> `out` `[oh, ow, c]`.
    /// Nothing is written when a slice is too short.
    pub fn depthwise(&self, x: &[f32], h: usize, w: usize, stride: usize, out: &mut [f32]) {
        let (k, c) = (self.k, self.cout);
        let (oh, pt) = same_padding(h, k, stride);
        let (ow, pl) = same_padding(w, k, stride);
        if x.len() < h * w * c || out.len() < oh * ow * c || self.weight.len() < k * k * c {
            return;
        }
        let bias = &self.bias[..c];
        for oy in 0..oh {
            // The output row is the accumulator: each tap (in dy, dx order) is added to every
            // output pixel it reaches, contiguous runs of `c` channels that vectorise.
            let row = &mut out[oy * ow * c..(oy + 1) * ow * c];
            row.fill(0.0);
            for dy in tap_range(oy, stride, pt, k, h) {
                let iy = oy * stride + dy - pt;
                let xrow = &x[iy * w * c..(iy + 1) * w * c];
                for dx in 0..k {
                    let taps = &self.weight[(dy * k + dx) * c..(dy * k + dx + 1) * c];
                    // Outputs ox with 0 <= ox * stride + dx - pl < w.
                    let first = (pl.saturating_sub(dx)).div_ceil(stride);
                    let end = (w + pl).saturating_sub(dx).div_ceil(stride).min(ow);
                    for ox in first..end {
                        let ix = ox * stride + dx - pl;
                        let xv = &xrow[ix * c..(ix + 1) * c];
                        let acc = &mut row[ox * c..(ox + 1) * c];
                        for ((a, &v), &t) in acc.iter_mut().zip(xv).zip(taps) {
                            *a += v * t;
                        }
                    }
                }
            }
            for px in row.chunks_exact_mut(c) {
                for (a, &b) in px.iter_mut().zip(bias) {
                    *a = relu6(*a + b);
                }
            }
        }
    }
}

/// The kernel offsets `d` (`0..k`) for which output `o` reads an input inside `0..n`:
/// `0 <= o * stride + d - pad < n`.
fn tap_range(o: usize, stride: usize, pad: usize, k: usize, n: usize) -> std::ops::Range<usize> {
    let first = pad.saturating_sub(o * stride);
    let last = (n + pad).saturating_sub(o * stride).min(k);
    first..last.max(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, written out with explicit zero padding: a padded input, every tap in
    /// row-major order, then bias and ReLU6.
    fn scalar(
        s: &Spatial,
        x: &[f32],
        h: usize,
        w: usize,
        stride: usize,
        depthwise: bool,
    ) -> Vec<f32> {
        let (k, cin, cout) = (s.k, s.cin, s.cout);
        let xc = if depthwise { cout } else { cin };
        let (oh, pt) = same_padding(h, k, stride);
        let (ow, pl) = same_padding(w, k, stride);
        let mut out = vec![0.0; oh * ow * cout];
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let mut acc = 0.0f32;
                    for dy in 0..k {
                        for dx in 0..k {
                            let iy = (oy * stride + dy) as isize - pt as isize;
                            let ix = (ox * stride + dx) as isize - pl as isize;
                            let inside =
                                iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                            let (iy, ix) = (iy.max(0) as usize, ix.max(0) as usize);
                            if depthwise {
                                let v = if inside {
                                    x[(iy * w + ix) * xc + co]
                                } else {
                                    0.0
                                };
                                acc += v * s.weight[(dy * k + dx) * cout + co];
                            } else {
                                for ci in 0..cin {
                                    let v = if inside {
                                        x[(iy * w + ix) * xc + ci]
                                    } else {
                                        0.0
                                    };
                                    acc += v * s.weight[((dy * k + dx) * cin + ci) * cout + co];
                                }
                            }
                        }
                    }
                    out[(oy * ow + ox) * cout + co] = (acc + s.bias[co]).clamp(0.0, 6.0);
                }
            }
        }
        out
    }

    fn layer(k: usize, cin: usize, cout: usize) -> Spatial {
        let w = (0..k * k * cin * cout)
            .map(|i| ((i as f32) * 0.23).sin() * 0.7)
            .collect();
        let b = (0..cout).map(|c| (c as f32) * 0.05 - 0.3).collect();
        Spatial::new(k, cin, cout, w, b)
    }

    #[test]
    fn stem_matches_the_definition_bit_for_bit() {
        let s = layer(3, 3, 32);
        for (h, w) in [(16, 16), (7, 9), (1, 1)] {
            let x: Vec<f32> = (0..h * w * 3).map(|i| ((i as f32) * 0.41).cos()).collect();
            let (oh, ow) = (s.out_side(h, 2), s.out_side(w, 2));
            let mut out = vec![f32::NAN; oh * ow * 32];
            s.conv(&x, h, w, 2, &mut out);
            let want = scalar(&s, &x, h, w, 2, false);
            assert!(out
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn depthwise_matches_the_definition_bit_for_bit() {
        // Kernels 3 and 5, strides 1 and 2, odd and even sides (uneven padding), a channel
        // count with a remainder after the 8-lane groups, and images smaller than the kernel.
        for (k, c, h, w, stride) in [
            (3, 16, 8, 8, 1),
            (3, 24, 8, 8, 2),
            (5, 20, 7, 7, 2),
            (5, 8, 9, 6, 1),
            (5, 11, 3, 2, 1),
            (3, 5, 1, 1, 2),
        ] {
            let s = layer(k, 1, c);
            let x: Vec<f32> = (0..h * w * c)
                .map(|i| ((i as f32) * 0.29).sin() * 2.0)
                .collect();
            let (oh, ow) = (s.out_side(h, stride), s.out_side(w, stride));
            let mut out = vec![f32::NAN; oh * ow * c];
            s.depthwise(&x, h, w, stride, &mut out);
            let want = scalar(&s, &x, h, w, stride, true);
            let same = out
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "k {k} c {c} {h}x{w} stride {stride}");
        }
    }

    #[test]
    fn tap_ranges_keep_the_taps_inside() {
        // Output 0 of a 5x5 kernel with 2 pixels of padding reads taps 2..5 (inputs 0..3).
        assert_eq!(tap_range(0, 1, 2, 5, 8), 2..5);
        assert_eq!(tap_range(7, 1, 2, 5, 8), 0..3);
        assert_eq!(tap_range(3, 1, 2, 5, 8), 0..5);
        // A 2-pixel image under a 5x5 kernel.
        assert_eq!(tap_range(0, 1, 2, 5, 2), 2..4);
    }
}
