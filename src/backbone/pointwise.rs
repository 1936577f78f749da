//! 1x1 convolutions as matrix products: `rows` NHWC positions of `cin` channels times the
//! `[cin, cout]` weights. Every output is summed in the order of the definition,
//! `((0 + x_0 w_0c) + x_1 w_1c) + ...`, then `+ bias[c]`, then the [`Epilogue`]; no fused
//! multiply-add. The SIMD parallelism (and the register tile) runs across output channels and
//! neighbouring rows, never inside one sum, so every target rounds the same way.

use super::relu6;

/// Output channels of a panel: two 4-lane vectors (every layer of the network has a multiple
/// of 8 channels; a last partial panel is zero-padded).
const PANEL: usize = 8;
/// Rows of a register tile: 4 rows x 8 channels are 8 accumulators, which fit in the 16
/// vector registers of x86-64 (where a browser's JIT runs the simd128 code) beside the
/// operands; a 3 x 16 tile was measured slower (its 12 accumulators spill to the stack).
const ROWS: usize = 4;

/// Input values of a block of rows: 24 KiB, half a small L1 data cache.
const L1_FLOATS: usize = 6144;

/// What is done to `sum + bias` before it is stored.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// Stored as is.
    Linear,
    /// `min(max(v, 0), 6)`.
    Relu6,
    /// `v + residual[r][c]` (a block's input, `[rows, cout]`).
    Residual(&'a [f32]),
}

/// A 1x1 convolution's weights, packed in panels of output channels: for panel `p` of width
/// `W` starting at channel `c0`, `packed[start_p + k * W + j] = w[k][c0 + j]` (zero beyond
/// `cout`), so that the kernel reads each panel contiguously.
pub struct Pointwise {
    cin: usize,
    cout: usize,
    packed: Vec<f32>,
    bias: Vec<f32>,
}

impl Pointwise {
    /// Packs row-major `w` `[cin, cout]`; `bias` has `cout` values (the caller checked both).
    pub fn new(cin: usize, cout: usize, w: &[f32], bias: Vec<f32>) -> Pointwise {
        let mut packed = Vec::with_capacity(cin * (cout + PANEL));
        for (c0, width) in panels(cout) {
            for k in 0..cin {
                for j in 0..width {
                    let c = c0 + j;
                    packed.push(if c < cout { w[k * cout + c] } else { 0.0 });
                }
            }
        }
        Pointwise {
            cin,
            cout,
            packed,
            bias,
        }
    }

    /// Input channels.
    pub fn cin(&self) -> usize {
        self.cin
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        self.cout
    }

    /// `out[r][c] = epilogue(sum_k x[r][k] w[k][c] + bias[c])` for row-major `x` `[rows, cin]`
    /// and `out` `[rows, cout]`. Nothing is written when a slice is too short for the shapes.
    pub fn apply(&self, x: &[f32], rows: usize, epilogue: Epilogue, out: &mut [f32]) {
        let (cin, cout) = (self.cin, self.cout);
        let short = match epilogue {
            Epilogue::Residual(res) => res.len() < rows * cout,
            _ => false,
        };
        if short || x.len() < rows * cin || out.len() < rows * cout || self.bias.len() < cout {
            return;
        }
        // Blocks of rows whose inputs stay in the L1 cache while every panel passes over them.
        let block = (L1_FLOATS / cin.max(1)).max(ROWS) / ROWS * ROWS;
        let mut b0 = 0;
        while b0 < rows {
            let b1 = (b0 + block).min(rows);
            let mut start = 0;
            for (c0, width) in panels(cout) {
                let panel = &self.packed[start..start + cin * width];
                start += cin * width;
                let valid = width.min(cout - c0);
                let mut r = b0;
                while r < b1 {
                    let n = if r + ROWS <= b1 { ROWS } else { 1 };
                    if n == ROWS {
                        self.tile_out::<ROWS>(x, r, c0, valid, panel, epilogue, out);
                    } else {
                        self.tile_out::<1>(x, r, c0, valid, panel, epilogue, out);
                    }
                    r += n;
                }
            }
            b0 = b1;
        }
    }

    /// Rows `r0..r0+R` times one panel, then bias, epilogue and the store of `valid` channels.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn tile_out<const R: usize>(
        &self,
        x: &[f32],
        r0: usize,
        c0: usize,
        valid: usize,
        panel: &[f32],
        epilogue: Epilogue,
        out: &mut [f32],
    ) {
        let acc = tile::<R, PANEL>(x, self.cin, r0, panel);
        self.finish(&acc, r0, c0, valid, epilogue, out);
    }

    /// The same with explicit simd128 operations (the same operations in the same order, so
    /// the same bits): two 4-lane accumulators a row, the epilogue on vectors.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn tile_out<const R: usize>(
        &self,
        x: &[f32],
        r0: usize,
        c0: usize,
        valid: usize,
        panel: &[f32],
        epilogue: Epilogue,
        out: &mut [f32],
    ) {
        use core::arch::wasm32::*;
        let (cin, cout) = (self.cin, self.cout);
        assert!(
            cin > 0
                && (r0 + R) * cin <= x.len()
                && cin * PANEL <= panel.len()
                && (r0 + R) * cout <= out.len()
                && c0 + valid <= self.bias.len()
        );
        let mut lo = [f32x4_splat(0.0); R];
        let mut hi = [f32x4_splat(0.0); R];
        // SAFETY: the assert above bounds every index read here; loads may be unaligned.
        unsafe {
            let xp = x.as_ptr().add(r0 * cin);
            let mut wp = panel.as_ptr();
            for k in 0..cin {
                let w_lo = v128_load(wp as *const v128);
                let w_hi = v128_load(wp.add(4) as *const v128);
                wp = wp.add(PANEL);
                for i in 0..R {
                    let a = f32x4_splat(*xp.add(i * cin + k));
                    lo[i] = f32x4_add(lo[i], f32x4_mul(a, w_lo));
                    hi[i] = f32x4_add(hi[i], f32x4_mul(a, w_hi));
                }
            }
        }
        if valid < PANEL {
            let mut acc = [[0.0f32; PANEL]; R];
            for i in 0..R {
                // SAFETY: `acc[i]` holds 8 floats; stores may be unaligned.
                unsafe {
                    v128_store(acc[i].as_mut_ptr() as *mut v128, lo[i]);
                    v128_store(acc[i].as_mut_ptr().add(4) as *mut v128, hi[i]);
                }
            }
            self.finish(&acc, r0, c0, valid, epilogue, out);
            return;
        }
        let (zero, six) = (f32x4_splat(0.0), f32x4_splat(6.0));
        // SAFETY: `c0 + 8 <= bias.len()` and `(r0 + R) * cout <= out.len()` (asserted), and the
        // residual was checked by `apply` to hold `rows * cout` values.
        unsafe {
            let bp = self.bias.as_ptr().add(c0);
            let (b_lo, b_hi) = (
                v128_load(bp as *const v128),
                v128_load(bp.add(4) as *const v128),
            );
            for i in 0..R {
                let at = (r0 + i) * cout + c0;
                let mut v_lo = f32x4_add(lo[i], b_lo);
                let mut v_hi = f32x4_add(hi[i], b_hi);
                match epilogue {
                    Epilogue::Linear => {}
                    // pmax(0, v) = 0 < v ? v : 0 and pmin(6, v) = v < 6 ? v : 6: `relu6`.
                    Epilogue::Relu6 => {
                        v_lo = f32x4_pmin(six, f32x4_pmax(zero, v_lo));
                        v_hi = f32x4_pmin(six, f32x4_pmax(zero, v_hi));
                    }
                    Epilogue::Residual(res) => {
                        let rp = res.as_ptr().add(at);
                        v_lo = f32x4_add(v_lo, v128_load(rp as *const v128));
                        v_hi = f32x4_add(v_hi, v128_load(rp.add(4) as *const v128));
                    }
                }
                let op = out.as_mut_ptr().add(at);
                v128_store(op as *mut v128, v_lo);
                v128_store(op.add(4) as *mut v128, v_hi);
            }
        }
    }

    /// Adds the bias, applies the epilogue and stores `valid` channels of each tile row.
    #[inline(always)]
    fn finish<const R: usize, const W: usize>(
        &self,
        acc: &[[f32; W]; R],
        r0: usize,
        c0: usize,
        valid: usize,
        epilogue: Epilogue,
        out: &mut [f32],
    ) {
        let cout = self.cout;
        let bias = &self.bias[c0..c0 + valid];
        for (i, acc_i) in acc.iter().enumerate() {
            let at = (r0 + i) * cout + c0;
            let dst = &mut out[at..at + valid];
            match epilogue {
                Epilogue::Linear => {
                    for ((d, &a), &b) in dst.iter_mut().zip(acc_i).zip(bias) {
                        *d = a + b;
                    }
                }
                Epilogue::Relu6 => {
                    for ((d, &a), &b) in dst.iter_mut().zip(acc_i).zip(bias) {
                        *d = relu6(a + b);
                    }
                }
                Epilogue::Residual(res) => {
                    let res = &res[at..at + valid];
                    for (((d, &a), &b), &s) in dst.iter_mut().zip(acc_i).zip(bias).zip(res) {
                        *d = (a + b) + s;
                    }
                }
            }
        }
    }
}

/// The panels of `cout` output channels: `(first channel, width)`.
fn panels(cout: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..cout.div_ceil(PANEL)).map(|p| (p * PANEL, PANEL))
}

/// Rows `r0..r0+R` of `x` (`[.., cin]`) times one packed panel `[cin, W]`: `R x W` sums, each
/// in the order of `k`. Portable code that the compiler turns into 4-lane vector operations
/// across `j`; lanes never meet inside one sum.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn tile<const R: usize, const W: usize>(
    x: &[f32],
    cin: usize,
    r0: usize,
    panel: &[f32],
) -> [[f32; W]; R] {
    let mut acc = [[0.0f32; W]; R];
    let rows: [&[f32]; R] = std::array::from_fn(|i| &x[(r0 + i) * cin..(r0 + i + 1) * cin]);
    for (k, wk) in panel.chunks_exact(W).enumerate().take(cin) {
        let a: [f32; R] = std::array::from_fn(|i| rows[i][k]);
        for i in 0..R {
            for j in 0..W {
                acc[i][j] += a[i] * wk[j];
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, written out: sum in `k` order from 0, then bias, then the epilogue.
    fn scalar(
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        (rows, cin, cout): (usize, usize, usize),
        mode: u8,
        res: &[f32],
    ) -> Vec<f32> {
        let mut out = vec![0.0; rows * cout];
        for r in 0..rows {
            for c in 0..cout {
                let mut s = 0.0f32;
                for k in 0..cin {
                    s += x[r * cin + k] * w[k * cout + c];
                }
                let v = s + bias[c];
                out[r * cout + c] = match mode {
                    0 => v,
                    1 => v.clamp(0.0, 6.0),
                    _ => v + res[r * cout + c],
                };
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_bit_for_bit() {
        // Shapes: whole and partial row tiles, one and many panels, a zero-padded tail
        // (cout % 8 != 0), one row (the classifier), and the network's own shapes.
        for (rows, cin, cout) in [
            (7, 5, 3),
            (9, 16, 24),
            (10, 33, 40),
            (1, 64, 1000),
            (4, 1, 17),
            (64, 96, 24),
            (16, 320, 1280),
            (0, 4, 8),
        ] {
            let x: Vec<f32> = (0..rows * cin)
                .map(|i| ((i as f32) * 0.37).sin() * 3.0)
                .collect();
            let w: Vec<f32> = (0..cin * cout).map(|i| ((i as f32) * 0.11).cos()).collect();
            let bias: Vec<f32> = (0..cout).map(|c| (c as f32) * 0.01 - 0.2).collect();
            let res: Vec<f32> = (0..rows * cout).map(|i| (i as f32) * 1e-3).collect();
            let pw = Pointwise::new(cin, cout, &w, bias.clone());
            for mode in 0..3u8 {
                let epilogue = match mode {
                    0 => Epilogue::Linear,
                    1 => Epilogue::Relu6,
                    _ => Epilogue::Residual(&res),
                };
                let mut out = vec![f32::NAN; rows * cout];
                pw.apply(&x, rows, epilogue, &mut out);
                let want = scalar(&x, &w, &bias, (rows, cin, cout), mode, &res);
                let same = out
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{rows}x{cin}x{cout} mode {mode}");
            }
        }
    }
}
