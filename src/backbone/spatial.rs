//! The convolutions with a spatial kernel, NHWC `f32`, TF "SAME" padding, each followed by
//! `+ bias` and ReLU6: the stem (`3x3`, stride 2, 3 -> 32 channels) and the depthwise `k x k`
//! convolutions (stride 1 or 2, one filter per channel).
//!
//! Every output channel is summed from 0 over the kernel taps in row-major order (`dy`, then
//! `dx`, then for the stem the input channel), taps outside the image skipped (they are zeros:
//! adding `+-0` to a sum leaves it unchanged, so skipping gives the same bits), then `+ bias`,
//! then ReLU6. No fused multiply-add; vector lanes run across output channels only.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use super::relu6;
use super::same_padding;

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
        for oy in 0..oh {
            let dys = tap_range(oy, stride, pt, k, h);
            for ox in 0..ow {
                let dxs = tap_range(ox, stride, pl, k, w);
                let win = Window {
                    iy0: oy * stride + dys.start - pt,
                    ix0: ox * stride + dxs.start - pl,
                    ny: dys.len(),
                    nx: dxs.len(),
                    tap0: dys.start * k + dxs.start,
                    k,
                    w,
                };
                let dst = &mut out[(oy * ow + ox) * cout..(oy * ow + ox + 1) * cout];
                stem_pixel(x, cin, &self.weight, &self.bias, &win, dst);
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
            let dys = tap_range(oy, stride, pt, k, h);
            let mut ox = 0;
            while ox < ow {
                let dxs = tap_range(ox, stride, pl, k, w);
                // Two neighbours whose taps are the same (inside the image) share the weights.
                let n = if ox + 1 < ow && tap_range(ox + 1, stride, pl, k, w) == dxs {
                    2
                } else {
                    1
                };
                let win = Window {
                    iy0: oy * stride + dys.start - pt,
                    ix0: ox * stride + dxs.start - pl,
                    ny: dys.len(),
                    nx: dxs.len(),
                    tap0: dys.start * k + dxs.start,
                    k,
                    w,
                };
                let dst = &mut out[(oy * ow + ox) * c..(oy * ow + ox + n) * c];
                depthwise_pixels(x, &self.weight, bias, &win, stride, dst);
                ox += n;
            }
        }
    }
}

/// The taps of one output pixel that fall inside the image: tap `(a, b)` (`a < ny`,
/// `b < nx`) reads input pixel `(iy0 + a, ix0 + b)` (of a `w`-wide image) with kernel tap
/// `tap0 + a * k + b`.
#[derive(Clone, Copy)]
pub(super) struct Window {
    pub iy0: usize,
    pub ix0: usize,
    pub ny: usize,
    pub nx: usize,
    pub tap0: usize,
    pub k: usize,
    pub w: usize,
}

impl Window {
    /// `(input pixel, kernel tap)` of tap `(a, b)`.
    #[inline(always)]
    pub fn at(&self, a: usize, b: usize) -> (usize, usize) {
        (
            (self.iy0 + a) * self.w + self.ix0 + b,
            self.tap0 + a * self.k + b,
        )
    }
}

/// One output pixel of the stem: `dst[co] = relu6(sum over taps (a, b), then input channels,
/// of x * weight, + bias[co])`, each group of output channels summed in registers.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn stem_pixel(x: &[f32], cin: usize, weight: &[f32], bias: &[f32], win: &Window, dst: &mut [f32]) {
    let cout = dst.len();
    let groups = cout / GROUP * GROUP;
    for g in (0..groups).step_by(GROUP) {
        let mut acc = [0.0f32; GROUP];
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                for (ci, &v) in x[p * cin..(p + 1) * cin].iter().enumerate() {
                    let wt = lanes(weight, (t * cin + ci) * cout + g);
                    for j in 0..GROUP {
                        acc[j] += v * wt[j];
                    }
                }
            }
        }
        for ((d, &s), &bv) in dst[g..g + GROUP].iter_mut().zip(&acc).zip(&bias[g..]) {
            *d = relu6(s + bv);
        }
    }
    for (co, d) in dst.iter_mut().enumerate().skip(groups) {
        let mut acc = 0.0f32;
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                for ci in 0..cin {
                    acc += x[p * cin + ci] * weight[(t * cin + ci) * cout + co];
                }
            }
        }
        *d = relu6(acc + bias[co]);
    }
}

/// `n` neighbouring output pixels of a depthwise convolution of `c = bias.len()` channels,
/// `dst` `[n, c]`: pixel `i` has the window `win` moved right by `i * step` input pixels.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn depthwise_pixels(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    win: &Window,
    step: usize,
    dst: &mut [f32],
) {
    for (i, px) in dst.chunks_exact_mut(bias.len().max(1)).enumerate() {
        let moved = Window {
            ix0: win.ix0 + i * step,
            ..*win
        };
        depthwise_pixel(x, weight, bias, &moved, px);
    }
}

/// One output pixel of a depthwise convolution of `c = dst.len()` channels:
/// `dst[ch] = relu6(sum over taps (a, b) of x * weight, + bias[ch])`.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn depthwise_pixel(x: &[f32], weight: &[f32], bias: &[f32], win: &Window, dst: &mut [f32]) {
    let c = dst.len();
    let groups = c / GROUP * GROUP;
    for g in (0..groups).step_by(GROUP) {
        let mut acc = [0.0f32; GROUP];
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                let (xv, wt) = (lanes(x, p * c + g), lanes(weight, t * c + g));
                for j in 0..GROUP {
                    acc[j] += xv[j] * wt[j];
                }
            }
        }
        for ((d, &s), &bv) in dst[g..g + GROUP].iter_mut().zip(&acc).zip(&bias[g..]) {
            *d = relu6(s + bv);
        }
    }
    for (ch, d) in dst.iter_mut().enumerate().skip(groups) {
        let mut acc = 0.0f32;
        for a in 0..win.ny {
            for b in 0..win.nx {
                let (p, t) = win.at(a, b);
                acc += x[p * c + ch] * weight[t * c + ch];
            }
        }
        *d = relu6(acc + bias[ch]);
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::simd::{depthwise_pixels, stem_pixel};

/// Channels summed together in registers natively by the depthwise convolution: two 4-lane vectors
/// (every depthwise layer of the network has a multiple of 8 channels).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
const GROUP: usize = 8;

/// `GROUP` values of `v` from `at` (the caller stays inside `v`).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn lanes(v: &[f32], at: usize) -> &[f32; GROUP] {
    let s = &v[at..at + GROUP];
    s.try_into().unwrap_or(&[0.0; GROUP])
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
