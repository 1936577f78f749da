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
                        let acc = tile::<ROWS, PANEL>(x, cin, r, panel);
                        self.finish(&acc, r, c0, valid, epilogue, out);
                    } else {
                        let acc = tile::<1, PANEL>(x, cin, r, panel);
                        self.finish(&acc, r, c0, valid, epilogue, out);
                    }
                    r += n;
                }
            }
            b0 = b1;
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
/// across `j` natively and in wasm (simd128); lanes never meet inside one sum.
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
