//! `f64` kernels of the network trainer: dot products in 4 fixed lanes, and the matrix product
//! over column panels.

/// `byte / 255` for every byte value: the model's input scaling, as a table (exactly the
/// quotients, so results are unchanged) because a division per pixel is slow in WebAssembly.
pub static UNIT: [f64; 256] = {
    let mut t = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as f64 / 255.0;
        i += 1;
    }
    t
};

/// Writes `UNIT[bytes[i]]` into `out[i]` over the common length.
pub fn unit_scale(bytes: &[u8], out: &mut [f64]) {
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = UNIT[usize::from(b)];
    }
}

/// `Σ a[i] b[i]` over the common length, in a fixed summation order (see [`crate::kernels`]).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    dot_1x2(a, b, b)[0]
}

/// The four dot products `[a0·b0, a0·b1, a1·b0, a1·b1]` over the common length of all four
/// slices, each bit-identical to [`dot`] of the same pair.
pub fn dot_2x2(a0: &[f64], a1: &[f64], b0: &[f64], b1: &[f64]) -> [f64; 4] {
    let n = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
    let body = n - n % 4;
    let mut s = lanes_2x2(&a0[..body], &a1[..body], &b0[..body], &b1[..body]);
    for i in body..n {
        let k = i % 4;
        s[0][k] += a0[i] * b0[i];
        s[1][k] += a0[i] * b1[i];
        s[2][k] += a1[i] * b0[i];
        s[3][k] += a1[i] * b1[i];
    }
    s.map(|l| (l[0] + l[1]) + (l[2] + l[3]))
}

/// The two dot products `[a·b0, a·b1]` over the common length of the three slices, each
/// bit-identical to [`dot`] of the same pair: [`dot_2x2`] for one row of weights against two
/// images, without computing each product twice.
pub fn dot_1x2(a: &[f64], b0: &[f64], b1: &[f64]) -> [f64; 2] {
    let n = a.len().min(b0.len()).min(b1.len());
    let body = n - n % 4;
    let mut s = lanes_1x2(&a[..body], &b0[..body], &b1[..body]);
    for i in body..n {
        let k = i % 4;
        s[0][k] += a[i] * b0[i];
        s[1][k] += a[i] * b1[i];
    }
    s.map(|l| (l[0] + l[1]) + (l[2] + l[3]))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn lanes_1x2(a: &[f64], b0: &[f64], b1: &[f64]) -> [[f64; 4]; 2] {
    let (mut s0, mut s1) = ([0.0; 4], [0.0; 4]);
    let n = a.len() - a.len() % 4;
    let (a, b0, b1) = (&a[..n], &b0[..n], &b1[..n]);
    let mut i = 0;
    while i < n {
        for k in 0..4 {
            s0[k] += a[i + k] * b0[i + k];
            s1[k] += a[i + k] * b1[i + k];
        }
        i += 4;
    }
    [s0, s1]
}

#[allow(clippy::needless_range_loop)]
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn lanes_1x2(a: &[f64], b0: &[f64], b1: &[f64]) -> [[f64; 4]; 2] {
    use core::arch::wasm32::*;
    let z = f64x2_splat(0.0);
    // acc[p][h]: product p (a·b0, a·b1), half h (lanes 0-1 or 2-3).
    let mut acc = [[z; 2]; 2];
    let n = a.len() - a.len() % 4;
    assert!(n <= b0.len() && n <= b1.len());
    let mut i = 0;
    while i < n {
        for h in 0..2 {
            let o = i + 2 * h;
            // SAFETY: o + 2 <= n <= the length of every slice; v128_load allows unaligned reads.
            let (x, y0, y1) = unsafe {
                (
                    v128_load(a.as_ptr().add(o) as *const v128),
                    v128_load(b0.as_ptr().add(o) as *const v128),
                    v128_load(b1.as_ptr().add(o) as *const v128),
                )
            };
            acc[0][h] = f64x2_add(acc[0][h], f64x2_mul(x, y0));
            acc[1][h] = f64x2_add(acc[1][h], f64x2_mul(x, y1));
        }
        i += 4;
    }
    acc.map(lanes_of)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn lanes_2x2(a0: &[f64], a1: &[f64], b0: &[f64], b1: &[f64]) -> [[f64; 4]; 4] {
    // Four separate accumulators (not an array of arrays) keep LLVM's vectoriser on the fast path.
    let (mut s00, mut s01, mut s10, mut s11) = ([0.0; 4], [0.0; 4], [0.0; 4], [0.0; 4]);
    let n = a0.len() - a0.len() % 4;
    let (a0, a1, b0, b1) = (&a0[..n], &a1[..n], &b0[..n], &b1[..n]);
    let mut i = 0;
    while i < n {
        for k in 0..4 {
            let (x0, x1, y0, y1) = (a0[i + k], a1[i + k], b0[i + k], b1[i + k]);
            s00[k] += x0 * y0;
            s01[k] += x0 * y1;
            s10[k] += x1 * y0;
            s11[k] += x1 * y1;
        }
        i += 4;
    }
    [s00, s01, s10, s11]
}

// `h` indexes the same half of all four accumulators: an iterator would hide that.
#[allow(clippy::needless_range_loop)]
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn lanes_2x2(a0: &[f64], a1: &[f64], b0: &[f64], b1: &[f64]) -> [[f64; 4]; 4] {
    use core::arch::wasm32::*;
    let z = f64x2_splat(0.0);
    // acc[p][h]: product p (00, 01, 10, 11), half h (lanes 0-1 or 2-3).
    let mut acc = [[z; 2]; 4];
    let n = a0.len() - a0.len() % 4;
    let mut i = 0;
    while i < n {
        for h in 0..2 {
            let o = i + 2 * h;
            // SAFETY: o + 2 <= n <= the length of every slice; v128_load allows unaligned reads.
            let (x0, x1, y0, y1) = unsafe {
                (
                    v128_load(a0.as_ptr().add(o) as *const v128),
                    v128_load(a1.as_ptr().add(o) as *const v128),
                    v128_load(b0.as_ptr().add(o) as *const v128),
                    v128_load(b1.as_ptr().add(o) as *const v128),
                )
            };
            acc[0][h] = f64x2_add(acc[0][h], f64x2_mul(x0, y0));
            acc[1][h] = f64x2_add(acc[1][h], f64x2_mul(x0, y1));
            acc[2][h] = f64x2_add(acc[2][h], f64x2_mul(x1, y0));
            acc[3][h] = f64x2_add(acc[3][h], f64x2_mul(x1, y1));
        }
        i += 4;
    }
    acc.map(lanes_of)
}

/// The four lanes of a sum held in two `f64x2` registers (lanes 0-1, then 2-3).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn lanes_of([lo, hi]: [core::arch::wasm32::v128; 2]) -> [f64; 4] {
    use core::arch::wasm32::f64x2_extract_lane;
    [
        f64x2_extract_lane::<0>(lo),
        f64x2_extract_lane::<1>(lo),
        f64x2_extract_lane::<0>(hi),
        f64x2_extract_lane::<1>(hi),
    ]
}

/// Columns per panel of [`Panels`].
const PANEL: usize = 16;

/// A matrix `B` `(m, n)` stored for repeated products `A B` ([`matmul`]): as column panels of
/// [`PANEL`] columns, each `m x PANEL` and contiguous (zero-padded past column `n`). A product
/// then reads each panel (27 KB for `m` = 209) front to back, instead of 16 columns out of
/// every row of `B`, which made the 209 x 209 Gram product almost twice as fast.
#[derive(Debug, Clone)]
pub struct Panels {
    data: Vec<f64>,
    m: usize,
    n: usize,
}

impl Panels {
    /// From row-major `b` `(m, n)` (missing values read as zero).
    pub fn new(b: &[f64], m: usize, n: usize) -> Panels {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0.0; panels * m * PANEL];
        for (p, panel) in data.chunks_exact_mut(m * PANEL).enumerate() {
            for (k, row) in panel.chunks_exact_mut(PANEL).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    let j = p * PANEL + c;
                    if j < n {
                        *v = b.get(k * n + j).copied().unwrap_or(0.0);
                    }
                }
            }
        }
        Panels { data, m, n }
    }

    /// `(m, n)`.
    pub fn dim(&self) -> (usize, usize) {
        (self.m, self.n)
    }
}

/// `A B` for row-major `a` `(r, m)` and `b` `(m, n)`, as a row-major `(r, n)` vector.
///
/// Every entry is summed in the same order, `((0 + a_i0 b_0j) + a_i1 b_1j) + ...`, whatever the
/// platform, with a separate multiply and add: the SIMD parallelism runs across independent
/// entries (register tiles of 4 rows x 4 columns, or 1 row x 16 columns, that the compiler
/// vectorises natively and that use simd128 in WebAssembly), never inside one sum. A single row
/// gets the wide tile because each sum is a chain of dependent additions: 8 chains side by side
/// keep the adder busy, 2 would not.
pub fn matmul(a: &[f64], b: &Panels, r: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * b.n];
    matmul_into(a, b, r, &mut out);
    out
}

/// [`matmul`] written into `out` (`r * n` values, all zeros if `a` is shorter than `r * m` or
/// `out` than `r * n`), for a caller that repeats a product and keeps its buffer.
pub fn matmul_into(a: &[f64], b: &Panels, r: usize, out: &mut [f64]) {
    let (m, n) = b.dim();
    let len = (r * n).min(out.len());
    let out = &mut out[..len];
    if a.len() < r * m || m == 0 || len < r * n {
        out.fill(0.0);
        return;
    }
    let mut put = |i: usize, j0: usize, vals: &[f64]| {
        for (c, &v) in vals.iter().enumerate().take(n.saturating_sub(j0)) {
            out[i * n + j0 + c] = v;
        }
    };
    let mut i0 = 0;
    while i0 < r {
        // Tiles of 4 rows while there are 4 left, then single rows.
        let rows = if i0 + 4 <= r { 4 } else { 1 };
        for (p, panel) in b.data.chunks_exact(m * PANEL).enumerate() {
            if rows == 4 {
                // Sub-tiles wholly in the zero padding are skipped.
                for sub in (0..PANEL).step_by(4).take_while(|&sub| p * PANEL + sub < n) {
                    let t = tile::<4, 2>(&a[i0 * m..(i0 + 4) * m], &panel[sub..], m);
                    for (ii, t_i) in t.iter().enumerate() {
                        put(i0 + ii, p * PANEL + sub, t_i.as_flattened());
                    }
                }
            } else if (p + 1) * PANEL <= n {
                let t = tile::<1, 8>(&a[i0 * m..(i0 + 1) * m], panel, m);
                put(i0, p * PANEL, t[0].as_flattened());
            } else {
                // The last, partial panel: pairs of columns, none wholly in the padding (for
                // the 209 x 209 Gram matrix, 1 column instead of 16).
                for sub in (0..PANEL).step_by(2).take_while(|&sub| p * PANEL + sub < n) {
                    let t = tile::<1, 1>(&a[i0 * m..(i0 + 1) * m], &panel[sub..], m);
                    put(i0, p * PANEL + sub, t[0].as_flattened());
                }
            }
        }
        i0 += rows;
    }
}

/// The `R x 2H` block `A_rows P` for `a_rows` `(R, m)` and the first `2H` columns of `p`, a
/// panel (row `k` at `p[k * PANEL..]`).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn tile<const R: usize, const H: usize>(a_rows: &[f64], p: &[f64], m: usize) -> [[[f64; 2]; H]; R] {
    let mut acc = [[[0.0f64; 2]; H]; R];
    for k in 0..m {
        let pk = &p[k * PANEL..k * PANEL + 2 * H];
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            let av = a_rows[ii * m + k];
            for (acc_ih, pkh) in acc_i.iter_mut().zip(pk.chunks_exact(2)) {
                acc_ih[0] += av * pkh[0];
                acc_ih[1] += av * pkh[1];
            }
        }
    }
    acc
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile<const R: usize, const H: usize>(a_rows: &[f64], p: &[f64], m: usize) -> [[[f64; 2]; H]; R] {
    use core::arch::wasm32::*;
    assert!(R * m <= a_rows.len() && m > 0 && (m - 1) * PANEL + 2 * H <= p.len());
    let mut acc = [[f64x2_splat(0.0); H]; R];
    for k in 0..m {
        // SAFETY: the assert above bounds every index read here; loads may be unaligned.
        unsafe {
            let pk = p.as_ptr().add(k * PANEL);
            let b: [v128; H] = core::array::from_fn(|h| v128_load(pk.add(2 * h) as *const v128));
            for (ii, acc_i) in acc.iter_mut().enumerate() {
                let av = f64x2_splat(*a_rows.as_ptr().add(ii * m + k));
                for (acc_ih, &bh) in acc_i.iter_mut().zip(&b) {
                    *acc_ih = f64x2_add(*acc_ih, f64x2_mul(av, bh));
                }
            }
        }
    }
    acc.map(|row| row.map(|v| [f64x2_extract_lane::<0>(v), f64x2_extract_lane::<1>(v)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values of a sine wave of amplitude 1000 starting at phase `seed`: inputs whose
    /// products and sums round.
    fn v(seed: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i as f64 + seed) * 0.7).sin() * 1e3)
            .collect()
    }

    #[test]
    fn dot_2x2_is_four_dots_bit_for_bit() {
        for n in [0, 3, 4, 5, 209, 12288] {
            let (a0, a1, b0, b1) = (v(1.0, n), v(2.0, n), v(3.0, n), v(4.0, n));
            let r = dot_2x2(&a0, &a1, &b0, &b1);
            let want = [dot(&a0, &b0), dot(&a0, &b1), dot(&a1, &b0), dot(&a1, &b1)];
            assert_eq!(r.map(f64::to_bits), want.map(f64::to_bits), "n = {n}");
        }
    }

    #[test]
    fn dot_1x2_is_two_dots_bit_for_bit() {
        for n in [0, 3, 4, 5, 209, 12288] {
            let (a, b0, b1) = (v(1.0, n), v(3.0, n), v(4.0, n));
            let r = dot_1x2(&a, &b0, &b1);
            let want = [dot(&a, &b0), dot(&a, &b1)];
            assert_eq!(r.map(f64::to_bits), want.map(f64::to_bits), "n = {n}");
        }
    }

    #[test]
    fn dot_matches_a_plain_sum_and_handles_tails() {
        for n in [0, 1, 7, 8, 9, 17, 100] {
            let a: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
            let b: Vec<f64> = (0..n).map(|i| 1.0 / (i as f64 + 1.0)).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-12, "n = {n}");
        }
    }

    #[test]
    fn unit_table_holds_the_exact_quotients() {
        for b in 0..=255u8 {
            assert_eq!(
                UNIT[usize::from(b)].to_bits(),
                (f64::from(b) / 255.0).to_bits()
            );
        }
    }
}
